//! docs/operations.md#grants-cache: each instance caches callers' grants, fenced by
//! `grants_version` and invalidated through `LISTEN/NOTIFY`; a change made through any
//! instance, or in plain SQL, holds on every instance's next request, and while an
//! instance's listener is down it decides without its cache.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{TestApp, codes};

const GRETA: &str = "greta@globex.example";
const ADA: &str = "ada@acme.example";
/// Inactive Extras, held by Greta, shows budgets when active.
const BUDGETS: &str = "{ projects { nodes { name budget { amount } } } }";

fn budget_shown(r: &Value) -> bool {
    let project = r["data"]["projects"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .find(|p| p["name"] == "Website Relaunch")
        .unwrap_or_else(|| panic!("Website Relaunch not in {r}"));
    !project["budget"].is_null()
}

/// How many lookups of the grants cache ended this way (`hit`, `miss`, `bypass`).
async fn lookups(app: &TestApp, result: &str) -> f64 {
    let series = format!("portal_grants_cache_lookups_total{{result=\"{result}\"}} ");
    app.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Asks until an answer comes from the cache (its listener listens and the entry is
/// warm); the last answer.
async fn until_cached(app: &TestApp, token: &str, query: &str) -> Value {
    for _ in 0..200 {
        let hits = lookups(app, "hit").await;
        let r = app.post(Some(token), query, json!({})).await;
        if lookups(app, "hit").await > hits {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the grants cache never answered");
}

/// The listeners' backend pids on this test's database.
async fn listener_pids(app: &TestApp) -> Vec<i32> {
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    use diesel_async::AsyncConnection;
    let mut conn = diesel_async::AsyncPgConnection::establish(&app.url)
        .await
        .unwrap();
    let rows: Vec<Pid> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'portal-gateway-listener' \
             AND datname = current_database()",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    rows.into_iter().map(|r| r.pid).collect()
}

async fn listeners(app: &TestApp) -> usize {
    listener_pids(app).await.len()
}

/// The listener's backend pid, if it is connected (one server on the database).
async fn listener_pid(app: &TestApp) -> Option<i32> {
    let pids = listener_pids(app).await;
    assert!(pids.len() <= 1, "one listener per server");
    pids.first().copied()
}

async fn set_inactive_extras(app: &TestApp, admin: &str, active: bool) {
    let role = app.id_of("roles", "name", "Inactive Extras").await;
    let r = app
        .post(
            Some(admin),
            "mutation($id: ID!, $active: Boolean!) { updateRole(id: $id, input: { active: $active }) { id active } }",
            json!({ "id": role, "active": active }),
        )
        .await;
    assert_eq!(r["data"]["updateRole"]["active"], active, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_change_through_one_instance_holds_on_the_next_request_of_another() {
    let a = TestApp::demo().await;
    let b = a.beside().await;
    let ada = a.token(ADA).await;
    let greta = b.token(GRETA).await;
    let r = until_cached(&b, &greta, BUDGETS).await;
    assert!(!budget_shown(&r), "{r}");
    for i in 0..20 {
        let active = i % 2 == 0;
        set_inactive_extras(&a, &ada, active).await;
        let r = b.post(Some(&greta), BUDGETS, json!({})).await;
        assert_eq!(budget_shown(&r), active, "change {i}: {r}");
        // Asked again, from the cache this time as often as not: the same answer.
        let r = b.post(Some(&greta), BUDGETS, json!({})).await;
        assert_eq!(budget_shown(&r), active, "change {i}, asked again: {r}");
    }
    assert!(lookups(&b, "hit").await >= 2.0, "the cache was used");
}

/// A TCP proxy to PostgreSQL that holds back what the server sends by `delay`: a
/// listener behind it hears every notification late.
async fn slow_proxy(url: &str, delay: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (user, host) = authority
        .rsplit_once('@')
        .map_or(("", authority), |(u, h)| (u, h));
    let target = host.to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&target).await else {
                continue;
            };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            tokio::spawn(async move { tokio::io::copy(&mut client_read, &mut server_write).await });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n) = server_read.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    tokio::time::sleep(delay).await;
                    if client_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    format!("{scheme}://{user}{addr}/{path}")
}

/// Notifications reach an instance asynchronously: even when they are late, a change
/// made through another instance holds on this one's next request (the fence).
#[tokio::test(flavor = "multi_thread")]
async fn a_change_holds_on_the_next_request_before_its_notification_arrives() {
    let a = TestApp::demo().await;
    let late = slow_proxy(&a.url, Duration::from_millis(600)).await;
    let b = a.beside_configured(|c| c.database_listen_url = Some(late)).await;
    let ada = a.token(ADA).await;
    let greta = b.token(GRETA).await;
    until_cached(&b, &greta, BUDGETS).await;
    for i in 0..4 {
        let active = i % 2 == 0;
        set_inactive_extras(&a, &ada, active).await;
        let r = b.post(Some(&greta), BUDGETS, json!({})).await;
        assert_eq!(budget_shown(&r), active, "change {i}: {r}");
        until_cached(&b, &greta, BUDGETS).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_portal_access_through_one_instance_refuses_the_next_request_of_another() {
    let a = TestApp::demo().await;
    let b = a.beside().await;
    let ada = a.token(ADA).await;
    let greta = b.token(GRETA).await;
    until_cached(&b, &greta, BUDGETS).await;
    let id = a.id_of("external_users", "email", GRETA).await;
    let r = a
        .post(
            Some(&ada),
            "mutation($u: ID!) { revokePortalAccess(externalUserId: $u) { portalAccess } }",
            json!({ "u": id }),
        )
        .await;
    assert_eq!(r["data"]["revokePortalAccess"]["portalAccess"], false, "{r}");
    let r = b.post(Some(&greta), BUDGETS, json!({})).await;
    assert!(r["data"].is_null(), "{r}");
    assert_eq!(codes(&r), ["UNAUTHENTICATED"], "{r}");
    assert_eq!(r["errors"][0]["extensions"]["reason"], "access_revoked", "{r}");
    // Granted again through B, Greta is back on A at once.
    let r = b
        .post(
            Some(&b.token(ADA).await),
            "mutation($u: ID!) { grantPortalAccess(externalUserId: $u) { portalAccess } }",
            json!({ "u": id }),
        )
        .await;
    assert_eq!(r["data"]["grantPortalAccess"]["portalAccess"], true, "{r}");
    let r = a.post(Some(&greta), BUDGETS, json!({})).await;
    assert!(r["errors"].is_null(), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_in_plain_sql_holds_on_the_next_request() {
    let app = TestApp::demo().await;
    let greta = app.token(GRETA).await;
    let r = until_cached(&app, &greta, BUDGETS).await;
    assert!(!budget_shown(&r), "{r}");
    let changes = [
        (
            "UPDATE roles SET active = true WHERE name = 'Inactive Extras'",
            true,
        ),
        (
            "DELETE FROM role_assignments WHERE role_id = (SELECT id FROM roles WHERE name = 'Inactive Extras')",
            false,
        ),
        (
            "INSERT INTO role_assignments (role_id, external_user_id) SELECT r.id, u.id FROM roles r, external_users u \
             WHERE r.name = 'Inactive Extras' AND u.email = 'greta@globex.example'",
            true,
        ),
        (
            "UPDATE role_grants SET relations = '{}' WHERE role_id = (SELECT id FROM roles WHERE name = 'Inactive Extras')",
            false,
        ),
    ];
    for (sql, shown) in changes {
        app.sql(sql).await;
        let r = app.post(Some(&greta), BUDGETS, json!({})).await;
        assert_eq!(budget_shown(&r), shown, "after {sql}: {r}");
        until_cached(&app, &greta, BUDGETS).await;
    }
    // Switching a module off for the workspace hides it from the very next request.
    let invoices = "{ invoices { totalCount } }";
    let r = until_cached(&app, &greta, invoices).await;
    assert!(
        r["data"]["invoices"]["totalCount"].as_i64().unwrap_or(0) > 0,
        "{r}"
    );
    app.sql("UPDATE workspaces SET disabled_modules = '{invoices}'")
        .await;
    let r = app.post(Some(&greta), invoices, json!({})).await;
    assert_eq!(r["data"]["invoices"], Value::Null, "{r}");
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_that_expires_while_cached_stops_applying_with_nothing_announced() {
    let app = TestApp::demo().await;
    let greta = app.token(GRETA).await;
    app.sql(
        "UPDATE roles SET active = true, expires_at = now() + interval '3 seconds' WHERE name = 'Inactive Extras'",
    )
    .await;
    let r = until_cached(&app, &greta, BUDGETS).await;
    assert!(budget_shown(&r), "the role applies before its expiry: {r}");
    // Wait for the expiry, then ask until the answer comes from the cache.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = until_cached(&app, &greta, BUDGETS).await;
    assert!(!budget_shown(&r), "the expired role no longer applies: {r}");
}

/// A change that the triggers never see (a bulk load's `session_replication_role =
/// replica`): only a cache that dropped its entries misses nothing of it.
const SILENTLY_ACTIVE: &str = "SET session_replication_role = replica; \
     UPDATE roles SET active = true WHERE name = 'Inactive Extras'; \
     RESET session_replication_role";

/// Waits until the listener has a session other than `old`'s.
async fn reconnected(app: &TestApp, old: i32) -> i32 {
    for _ in 0..200 {
        if let Some(pid) = listener_pid(app).await.filter(|pid| *pid != old) {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the listener did not reconnect");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_listener_reconnects_by_itself_and_decisions_stay_right_while_it_is_down() {
    let app = TestApp::demo().await;
    let greta = app.token(GRETA).await;
    until_cached(&app, &greta, BUDGETS).await;
    app.sql(SILENTLY_ACTIVE).await;
    let r = app.post(Some(&greta), BUDGETS, json!({})).await;
    assert!(!budget_shown(&r), "the cached rows decided: {r}");

    // Its session killed, the listener comes back by itself, and nothing cached before
    // the loss is used again (what was announced meanwhile was missed).
    let first = listener_pid(&app).await.expect("the listener is connected");
    app.sql(&format!("SELECT pg_terminate_backend({first})")).await;
    let second = reconnected(&app, first).await;
    let r = app.post(Some(&greta), BUDGETS, json!({})).await;
    assert!(budget_shown(&r), "no entry from before the loss: {r}");

    // While it is down, a change holds on the next request.
    app.sql(&format!(
        "SELECT pg_terminate_backend({second}); UPDATE roles SET active = false WHERE name = 'Inactive Extras'"
    ))
    .await;
    let r = app.post(Some(&greta), BUDGETS, json!({})).await;
    assert!(
        !budget_shown(&r),
        "the change holds while the listener is away: {r}"
    );
    reconnected(&app, second).await;

    // The cache is used again, and still right.
    let r = until_cached(&app, &greta, BUDGETS).await;
    assert!(!budget_shown(&r), "{r}");
    app.sql("UPDATE roles SET active = true WHERE name = 'Inactive Extras'")
        .await;
    let r = app.post(Some(&greta), BUDGETS, json!({})).await;
    assert!(budget_shown(&r), "{r}");
}

/// The statements one request runs (while it is the only one).
async fn statements(app: &TestApp, token: &str) -> u64 {
    let before = app.statements().await;
    let r = app.post(Some(token), BUDGETS, json!({})).await;
    assert!(r["errors"].is_null(), "{r}");
    app.statements().await - before
}

/// With the cache warm, a request runs the fence instead of the caller query: as many
/// statements as without the cache, and a change that bypasses the triggers (a bulk
/// load's `session_replication_role = replica`) is not seen, as no caller query ran.
#[tokio::test(flavor = "multi_thread")]
async fn a_warm_cache_costs_the_fence_instead_of_the_caller_query() {
    let cached = TestApp::demo().await;
    let uncached = TestApp::configured(|c| c.grants_cache = false).await;
    let greta = cached.token(GRETA).await;
    until_cached(&cached, &greta, BUDGETS).await;
    let hits = lookups(&cached, "hit").await;
    let with_cache = statements(&cached, &greta).await;
    assert_eq!(
        lookups(&cached, "hit").await,
        hits + 1.0,
        "answered from the cache"
    );
    let without = statements(&uncached, &greta).await;
    assert_eq!(with_cache, without, "the fence replaces the caller query");
    assert_eq!(
        lookups(&uncached, "hit").await,
        0.0,
        "GRANTS_CACHE=false caches nothing"
    );

    cached.sql(SILENTLY_ACTIVE).await;
    uncached.sql(SILENTLY_ACTIVE).await;
    let r = cached.post(Some(&greta), BUDGETS, json!({})).await;
    assert!(!budget_shown(&r), "the cached rows decided: {r}");
    let r = uncached
        .post(Some(&uncached.token(GRETA).await), BUDGETS, json!({}))
        .await;
    assert!(budget_shown(&r), "the caller query sees the change: {r}");
}

/// Tests start many servers in one process: a server's listener ends with it.
#[tokio::test(flavor = "multi_thread")]
async fn the_listener_ends_with_its_server() {
    let a = TestApp::demo().await;
    let b = a.beside().await;
    let greta = b.token(GRETA).await;
    until_cached(&b, &greta, BUDGETS).await;
    until_cached(&a, &greta, BUDGETS).await;
    assert_eq!(listeners(&a).await, 2);
    drop(b);
    for _ in 0..200 {
        if listeners(&a).await == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the dropped server's listener is still connected");
}
