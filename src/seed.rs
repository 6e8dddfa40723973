//! The demo workspace (`portal-gateway seed demo`; docs/operations.md#the-demo).

use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

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

/// Acme Studio, the demo workspace whose presence means "the demo is there".
pub const DEMO_WORKSPACE: Uuid = Uuid::from_u128(0x01900000_0001_7000_8000_000000000100);

/// Whether to keep what is there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seed {
    /// Load the demo only when its workspace is missing: what users created stays.
    IfMissing,
    /// Replace the demo workspaces by a fresh copy (what users created in them goes).
    Reset,
}

/// Loads the demo as `seed` says; whether it loaded it. All of it or nothing, in one
/// transaction, under an advisory lock (two servers starting at once seed once).
pub async fn demo(url: &str, seed: Seed) -> anyhow::Result<bool> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    // Dropped on an error with the transaction open: PostgreSQL rolls it back.
    queries::run_sql(&mut conn, "BEGIN; SELECT pg_advisory_xact_lock(727275)").await?;
    if seed == Seed::IfMissing && queries::workspace_exists(&mut conn, DEMO_WORKSPACE).await? {
        queries::run_sql(&mut conn, "COMMIT").await?;
        return Ok(false);
    }
    queries::run_sql(&mut conn, DEMO_SQL).await?;
    queries::run_sql(&mut conn, "COMMIT").await?;
    Ok(true)
}
