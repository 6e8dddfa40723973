//! docs/permissions.md#notifications: events recorded with the change that causes them,
//! and an inbox filtered again on every read with the caller's grants at that moment.

use serde_json::{Value, json};

use crate::harness::{TestApp, codes};

const GRETA: &str = "greta@globex.example";
const FRANK: &str = "frank@globex.example";
const IVAN: &str = "ivan@initech.example";
const SAM: &str = "sam@acme.example";

const INBOX: &str = "{ viewer { unreadNotifications } notifications { totalCount nodes { id readAt \
    event { id kind occurredAt task { title status estimatedHours createdAt internal } project { name } \
    invoice { number status } } } } }";

const MARK: &str = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { id readAt event { kind } } }";

async fn inbox(app: &TestApp, email: &str) -> Value {
    let r = app.query_as(email, INBOX).await;
    assert!(r["errors"].is_null(), "{r}");
    r["data"].clone()
}

fn kinds(inbox: &Value) -> Vec<String> {
    inbox["notifications"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["event"]["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn set_status(app: &TestApp, title: &str, status: &str) {
    let id = app.id_of("tasks", "title", title).await;
    let r = app
        .query_vars(
            SAM,
            &format!(
                "mutation($t: ID!) {{ updateTask(id: $t, input: {{ status: {status} }}) {{ status }} }}"
            ),
            json!({ "t": id }),
        )
        .await;
    assert_eq!(r["data"]["updateTask"]["status"], status, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_staff_change_reaches_greta_filtered_as_a_query_and_never_ivan() {
    let app = TestApp::demo().await;
    assert_eq!(inbox(&app, GRETA).await["notifications"]["totalCount"], 0);
    set_status(&app, "Write launch copy", "DONE").await;
    // An internal task's change never reaches an external user.
    set_status(&app, "Set up staging server", "DONE").await;

    let greta = inbox(&app, GRETA).await;
    assert_eq!(greta["viewer"]["unreadNotifications"], 1, "{greta}");
    let node = &greta["notifications"]["nodes"][0];
    assert_eq!(node["readAt"], Value::Null);
    assert_eq!(node["event"]["kind"], "TASK_STATUS_CHANGED");
    assert!(node["event"]["occurredAt"].is_string());
    assert_eq!(node["id"], node["event"]["id"]);
    // Hidden fields are null exactly as a query shows them.
    assert_eq!(
        node["event"]["task"],
        json!({ "title": "Write launch copy", "status": "DONE", "estimatedHours": null,
                "createdAt": null, "internal": null })
    );
    assert_eq!(node["event"]["project"]["name"], "Website Relaunch");
    assert_eq!(node["event"]["invoice"], Value::Null);

    let ivan = inbox(&app, IVAN).await;
    assert_eq!(ivan["notifications"]["totalCount"], 0, "{ivan}");
    assert_eq!(ivan["viewer"]["unreadNotifications"], 0);

    // Staff have no inbox.
    let sam = app.query_as(SAM, INBOX).await;
    assert_eq!(sam["data"]["notifications"], Value::Null, "{sam}");
    assert_eq!(sam["data"]["viewer"]["unreadNotifications"], Value::Null);
    let r = app.query_vars(SAM, MARK, json!({ "ids": [node["id"]] })).await;
    assert_eq!(r["data"]["markNotificationsRead"], Value::Null, "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_in_plain_sql_have_events_and_rolled_back_ones_none() {
    let app = TestApp::demo().await;
    app.sql("BEGIN; UPDATE tasks SET status = 'DONE' WHERE title = 'Design new homepage'; ROLLBACK;")
        .await;
    assert_eq!(inbox(&app, GRETA).await["notifications"]["totalCount"], 0);

    app.sql("UPDATE tasks SET status = 'DONE' WHERE title = 'Design new homepage'")
        .await;
    app.sql("UPDATE tasks SET status = 'DONE' WHERE internal").await;
    app.sql(
        "UPDATE invoices SET status = 'SENT' WHERE number = 'INV-2026-003' \
         AND workspace_id = '01900000-0001-7000-8000-000000000100'",
    )
    .await;
    let greta = inbox(&app, GRETA).await;
    assert_eq!(
        kinds(&greta),
        ["INVOICE_ISSUED", "TASK_STATUS_CHANGED"],
        "{greta}"
    );
    let nodes = &greta["notifications"]["nodes"];
    assert_eq!(nodes[0]["event"]["invoice"]["number"], "INV-2026-003");
    assert_eq!(nodes[0]["event"]["task"], Value::Null);
    assert_eq!(nodes[1]["event"]["task"]["title"], "Design new homepage");
    // Ivan's account is another: nothing of Globex.
    assert_eq!(inbox(&app, IVAN).await["notifications"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn marking_read_counts_and_touches_only_the_callers_own() {
    let app = TestApp::demo().await;
    set_status(&app, "Write launch copy", "DONE").await;
    set_status(&app, "Kick-off workshop", "OPEN").await;
    let greta = inbox(&app, GRETA).await;
    assert_eq!(greta["viewer"]["unreadNotifications"], 2, "{greta}");
    let newest = greta["notifications"]["nodes"][0]["id"].clone();

    // Ivan cannot mark Greta's, nor see it.
    let r = app.query_vars(IVAN, MARK, json!({ "ids": [newest] })).await;
    assert_eq!(r["data"]["markNotificationsRead"], json!([]), "{r}");
    // Frank has the same event in his own inbox: marking it marks his, not Greta's.
    let r = app.query_vars(FRANK, MARK, json!({ "ids": [newest] })).await;
    assert_eq!(r["data"]["markNotificationsRead"][0]["id"], newest, "{r}");
    assert_eq!(inbox(&app, GRETA).await["viewer"]["unreadNotifications"], 2);

    let r = app.query_vars(GRETA, MARK, json!({ "ids": [newest] })).await;
    let marked = &r["data"]["markNotificationsRead"];
    assert_eq!(marked.as_array().map(Vec::len), Some(1), "{r}");
    assert!(marked[0]["readAt"].is_string());
    assert_eq!(marked[0]["event"]["kind"], "TASK_STATUS_CHANGED");
    let greta = inbox(&app, GRETA).await;
    assert_eq!(greta["viewer"]["unreadNotifications"], 1);
    assert!(greta["notifications"]["nodes"][0]["readAt"].is_string());
    assert_eq!(greta["notifications"]["nodes"][1]["readAt"], Value::Null);

    let r = app.query_vars(GRETA, MARK, json!({ "ids": ["not an id"] })).await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"]);

    // Paging, newest first.
    let page = app
        .query_as(
            GRETA,
            "{ notifications(first: 1) { nodes { id } pageInfo { hasNextPage endCursor } } }",
        )
        .await;
    let conn = &page["data"]["notifications"];
    assert_eq!(conn["nodes"][0]["id"], newest, "{page}");
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    let next = app
        .query_vars(
            GRETA,
            "query($a: String) { notifications(first: 1, after: $a) { nodes { id } pageInfo { hasNextPage } } }",
            json!({ "a": conn["pageInfo"]["endCursor"] }),
        )
        .await;
    let conn = &next["data"]["notifications"];
    assert_eq!(
        conn["nodes"][0]["id"], greta["notifications"]["nodes"][1]["id"],
        "{next}"
    );
    assert_eq!(conn["pageInfo"]["hasNextPage"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_notification_grant_hides_the_event_on_the_next_read() {
    let app = TestApp::demo().await;
    set_status(&app, "Write launch copy", "DONE").await;
    assert_eq!(kinds(&inbox(&app, GRETA).await), ["TASK_STATUS_CHANGED"]);
    app.sql(
        "UPDATE role_grants SET notifications = '{}' WHERE module = 'tasks' \
         AND role_id = (SELECT id FROM roles WHERE name = 'Clients' \
           AND workspace_id = '01900000-0001-7000-8000-000000000100')",
    )
    .await;
    let greta = inbox(&app, GRETA).await;
    assert_eq!(greta["notifications"]["totalCount"], 0, "{greta}");
    assert_eq!(greta["viewer"]["unreadNotifications"], 0);
}

const ACME: &str = "'01900000-0001-7000-8000-000000000100'";

#[tokio::test(flavor = "multi_thread")]
async fn comments_stages_and_articles_reach_those_whose_grants_name_them() {
    let app = TestApp::demo().await;
    // The demo's own records are not news.
    assert_eq!(inbox(&app, FRANK).await["notifications"]["totalCount"], 0);
    app.sql(&format!(
        "INSERT INTO comments (id, workspace_id, task_id, body, internal) \
         SELECT gen_random_uuid(), {ACME}, t.id, b.body, b.internal FROM tasks t, \
           (VALUES ('Looks good', false), ('Staff only', true)) AS b(body, internal) \
         WHERE t.title = 'Write launch copy'"
    ))
    .await;
    // Frank (Freelancers) receives comments, Greta does not; never the internal one.
    let q = "{ notifications { nodes { event { kind comment { body } task { title } } } } }";
    let frank = app.query_as(FRANK, q).await;
    assert_eq!(
        frank["data"]["notifications"]["nodes"],
        json!([{ "event": { "kind": "COMMENT_ADDED", "comment": { "body": "Looks good" },
                            "task": { "title": "Write launch copy" } } }]),
        "{frank}"
    );
    assert_eq!(inbox(&app, GRETA).await["notifications"]["totalCount"], 0);

    app.sql(&format!(
        "UPDATE projects SET stage_id = (SELECT id FROM project_stages WHERE name = 'Review' \
           AND workspace_id = {ACME}) WHERE name = 'Website Relaunch'"
    ))
    .await;
    let greta = inbox(&app, GRETA).await;
    assert_eq!(kinds(&greta), ["PROJECT_STAGE_CHANGED"], "{greta}");
    assert_eq!(
        greta["notifications"]["nodes"][0]["event"]["project"]["name"],
        "Website Relaunch"
    );

    // Nobody's role names `published` in the demo: granted here, then the article is
    // published, then withdrawn (out of scope again: the event disappears).
    app.sql(&format!(
        "UPDATE role_grants SET notifications = '{{published}}' WHERE module = 'knowledge_base' \
         AND role_id = (SELECT id FROM roles WHERE name = 'Clients' AND workspace_id = {ACME}); \
         UPDATE kb_articles SET published = true WHERE title = 'Upcoming pricing'"
    ))
    .await;
    let q = "{ notifications { nodes { event { kind article { title } } } } }";
    let r = app.query_as(GRETA, q).await;
    assert_eq!(
        r["data"]["notifications"]["nodes"][0]["event"],
        json!({ "kind": "ARTICLE_PUBLISHED", "article": { "title": "Upcoming pricing" } }),
        "{r}"
    );
    app.sql("UPDATE kb_articles SET published = false WHERE title = 'Upcoming pricing'")
        .await;
    assert_eq!(kinds(&inbox(&app, GRETA).await), ["PROJECT_STAGE_CHANGED"]);
}

async fn statements_for(app: &TestApp, email: &str) -> (u64, Value) {
    let token = app.token(email).await;
    let before = app.statements().await;
    let r = app.post(Some(&token), INBOX, json!({})).await;
    (app.statements().await - before, r)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_inbox_runs_as_many_statements_for_ten_events_as_for_one() {
    let app = TestApp::demo().await;
    set_status(&app, "Write launch copy", "DONE").await;
    let (one, r) = statements_for(&app, GRETA).await;
    assert_eq!(r["data"]["notifications"]["totalCount"], 1, "{r}");
    app.sql(
        "UPDATE tasks SET status = CASE WHEN status = 'DONE' THEN 'OPEN' ELSE 'DONE' END \
         WHERE NOT internal AND project_id = (SELECT id FROM projects WHERE name = 'Website Relaunch'); \
         UPDATE tasks SET status = CASE WHEN status = 'DONE' THEN 'OPEN' ELSE 'DONE' END \
         WHERE NOT internal AND project_id = (SELECT id FROM projects WHERE name = 'Website Relaunch')",
    )
    .await;
    let (many, r) = statements_for(&app, GRETA).await;
    assert_eq!(r["data"]["notifications"]["totalCount"], 9, "{r}");
    assert_eq!(one, many);
}
