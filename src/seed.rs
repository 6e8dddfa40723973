//! The demo workspace of SPEC §11 (`portal-gateway seed demo`).

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::queries;

/// The demo personas offered by the playground in development: email, name, kind, and
/// the roles that count for them (as the demo data assigns them), for the label.
pub const PERSONAS: [(&str, &str, &str, &str); 5] = [
    ("ada@acme.example", "Ada", "admin", "workspace admin"),
    ("sam@acme.example", "Sam", "staff", "staff"),
    (
        "greta@globex.example",
        "Greta",
        "external",
        "Clients; Project Reviewer on Data Warehouse",
    ),
    (
        "frank@globex.example",
        "Frank",
        "external",
        "Clients, Freelancers; Project Reviewer on Mobile App",
    ),
    ("ivan@initech.example", "Ivan", "external", "Initech Portal"),
];

/// The demo data, as plain SQL with fixed ids (so tests and docs can name records).
pub const DEMO_SQL: &str = include_str!("db/demo.sql");

/// Replaces the demo workspaces by a fresh copy. The script is sent as one simple
/// query, which PostgreSQL runs as one implicit transaction: all of it or nothing.
pub async fn demo(url: &str) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    queries::run_sql(&mut conn, DEMO_SQL).await?;
    Ok(())
}
