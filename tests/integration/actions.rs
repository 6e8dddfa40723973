//! docs/api.md actions: allowed only by the action in the merged grants of the record,
//! else FORBIDDEN with nothing changed; the answer filtered like a query.

use serde_json::{Value, json};

use crate::harness::{TestApp, codes};

const GRETA: &str = "greta@globex.example";
const FRANK: &str = "frank@globex.example";
const SAM: &str = "sam@acme.example";

async fn tasks_of(app: &TestApp, project: &str) -> i64 {
    let id = app.id_of("projects", "name", project).await;
    let r = app
        .query_vars(
            SAM,
            "query($p: ID!) { tasks(projectId: $p) { totalCount } }",
            json!({ "p": id }),
        )
        .await;
    r["data"]["tasks"]["totalCount"].as_i64().unwrap()
}

const CREATE: &str = "mutation($p: ID!, $t: String!) { createTask(projectId: $p, input: { title: $t, priority: HIGH }) \
    { id title priority estimatedHours createdAt internal } }";

#[tokio::test(flavor = "multi_thread")]
async fn frank_may_create_tasks_and_greta_may_not() {
    let app = TestApp::demo().await;
    let wr = app.id_of("projects", "name", "Website Relaunch").await;
    let before = tasks_of(&app, "Website Relaunch").await;
    let r = app
        .query_vars(GRETA, CREATE, json!({ "p": wr, "t": "Greta's idea" }))
        .await;
    assert_eq!(r["data"]["createTask"], Value::Null);
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    assert_eq!(tasks_of(&app, "Website Relaunch").await, before);

    let r = app
        .query_vars(FRANK, CREATE, json!({ "p": wr, "t": "  Frank's idea  " }))
        .await;
    let task = &r["data"]["createTask"];
    assert_eq!(task["title"], "Frank's idea", "{r}");
    // Filtered as a query: `created_at` comes from Freelancers; `internal` is
    // staff-only whatever the grants.
    assert!(task["createdAt"].is_string());
    assert_eq!(task["priority"], "HIGH");
    assert_eq!(task["internal"], Value::Null);
    let greta_view = app
        .query_vars(
            GRETA,
            "query($id: ID!) { task(id: $id) { title createdAt } }",
            json!({ "id": task["id"] }),
        )
        .await;
    assert_eq!(
        greta_view["data"]["task"],
        json!({ "title": "Frank's idea", "createdAt": null }),
        "{greta_view}"
    );
    assert_eq!(tasks_of(&app, "Website Relaunch").await, before + 1);

    // Out of scope is not found; bad input names the field.
    let audit = app.id_of("projects", "name", "Globex Internal Audit").await;
    let r = app
        .query_vars(FRANK, CREATE, json!({ "p": audit, "t": "x" }))
        .await;
    assert_eq!(codes(&r), ["NOT_FOUND"]);
    let r = app
        .query_vars(FRANK, CREATE, json!({ "p": wr, "t": "   " }))
        .await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"]);
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.title");
    // Staff create anywhere in the workspace.
    let r = app
        .query_vars(SAM, CREATE, json!({ "p": audit, "t": "Staff task" }))
        .await;
    assert_eq!(r["data"]["createTask"]["priority"], "HIGH", "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn comments_need_the_comment_action_for_that_tasks_project() {
    let app = TestApp::demo().await;
    let wr_task = app.id_of("tasks", "title", "Design new homepage").await;
    let dw_task = app
        .id_where(
            "tasks",
            "NOT internal AND project_id = (SELECT id FROM projects WHERE name = 'Data Warehouse')",
        )
        .await;
    let q = "mutation($t: ID!, $b: String!, $i: Boolean) { addTaskComment(taskId: $t, body: $b, internal: $i) { id body author { __typename ... on ExternalUser { name } } } }";
    // Greta: no `comment` in her workspace roles …
    let r = app
        .query_vars(GRETA, q, json!({ "t": wr_task, "b": "hello" }))
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"], "{r}");
    // … but her project role on Data Warehouse has it.
    let r = app
        .query_vars(GRETA, q, json!({ "t": dw_task, "b": "on it" }))
        .await;
    assert_eq!(r["data"]["addTaskComment"]["body"], "on it", "{r}");
    assert_eq!(r["data"]["addTaskComment"]["author"]["name"], "Greta");
    // Frank (Freelancers) may comment, but never internally.
    let r = app
        .query_vars(FRANK, q, json!({ "t": wr_task, "b": "internal?", "i": true }))
        .await;
    assert_eq!(codes(&r), ["FORBIDDEN"]);
    let r = app
        .query_vars(FRANK, q, json!({ "t": wr_task, "b": "public" }))
        .await;
    assert!(r["data"]["addTaskComment"]["id"].is_string(), "{r}");
    // Staff write internal comments, which clients never see.
    let r = app
        .query_vars(SAM, q, json!({ "t": wr_task, "b": "staff only", "i": true }))
        .await;
    assert!(r["data"]["addTaskComment"]["id"].is_string());
    let r = app
        .query_vars(
            GRETA,
            "query($t: ID!) { task(id: $t) { comments { nodes { body } } } }",
            json!({ "t": wr_task }),
        )
        .await;
    let bodies: Vec<&str> = r["data"]["task"]["comments"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies.contains(&"public") && !bodies.contains(&"staff only"),
        "{bodies:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn estimates_are_accepted_once_and_converted_once_even_when_raced() {
    let app = TestApp::demo().await;
    let est = app
        .id_where(
            "invoices",
            "number = 'EST-2026-002' AND account_id = (SELECT id FROM accounts WHERE name = 'Initech')",
        )
        .await;
    let accept = "mutation($id: ID!) { acceptEstimate(id: $id) { number status } }";
    // Not Greta's account: as if it did not exist.
    assert_eq!(
        codes(&app.query_vars(GRETA, accept, json!({ "id": est })).await),
        ["NOT_FOUND"]
    );
    let globex_est = app
        .id_where(
            "invoices",
            "number = 'EST-2026-001' AND account_id = (SELECT id FROM accounts WHERE name = 'Globex')",
        )
        .await;
    let r = app.query_vars(GRETA, accept, json!({ "id": globex_est })).await;
    assert_eq!(r["data"]["acceptEstimate"]["status"], "ACCEPTED", "{r}");
    assert_eq!(
        codes(&app.query_vars(GRETA, accept, json!({ "id": globex_est })).await),
        ["CONFLICT"]
    );
    let invoice = app
        .id_where(
            "invoices",
            "number = 'INV-2026-001' AND account_id = (SELECT id FROM accounts WHERE name = 'Globex')",
        )
        .await;
    assert_eq!(
        codes(&app.query_vars(GRETA, accept, json!({ "id": invoice })).await),
        ["BAD_USER_INPUT"]
    );

    let convert = "mutation($id: ID!) { convertEstimateToInvoice(id: $id) { number kind } }";
    assert_eq!(
        codes(&app.query_vars(GRETA, convert, json!({ "id": globex_est })).await),
        ["FORBIDDEN"]
    );
    app.sql(
        "INSERT INTO role_grants (role_id, module, actions) SELECT id, 'invoices', '{convert_estimate}' \
         FROM roles WHERE name = 'Freelancers'",
    )
    .await;
    let token = app.token(FRANK).await;
    // The estimate was accepted above: it converts only while it is sent.
    assert_eq!(
        codes(&app.post(Some(&token), convert, json!({ "id": globex_est })).await),
        ["CONFLICT"]
    );
    app.sql(&format!(
        "UPDATE invoices SET status = 'SENT' WHERE id = '{globex_est}'"
    ))
    .await;
    let (a, b) = tokio::join!(
        app.post(Some(&token), convert, json!({ "id": globex_est })),
        app.post(Some(&token), convert, json!({ "id": globex_est })),
    );
    let mut outcomes = vec![codes(&a), codes(&b)];
    outcomes.sort();
    assert_eq!(outcomes, [vec![], vec!["CONFLICT".to_string()]], "{a} {b}");
    let ok = if codes(&a).is_empty() { &a } else { &b };
    assert_eq!(ok["data"]["convertEstimateToInvoice"]["kind"], "INVOICE", "{ok}");
    let n = app
        .id_where("invoices", &format!("converted_from_id = '{globex_est}'"))
        .await;
    let _ = n;
    assert_eq!(
        codes(&app.post(Some(&token), convert, json!({ "id": globex_est })).await),
        ["CONFLICT"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn contact_details_need_the_action_and_the_answer_is_filtered() {
    let app = TestApp::demo().await;
    let q = "mutation { updateAccountContactDetails(input: { phone: \"+49 1\", address: \"Elm St 1\" }) { name phone address } }";
    assert_eq!(codes(&app.query_as(GRETA, q).await), ["FORBIDDEN"]);
    app.sql("UPDATE role_grants SET actions = '{update_contact_details}' FROM roles WHERE roles.id = role_grants.role_id AND roles.name = 'Clients' AND module = 'crm' AND roles.workspace_id = (SELECT workspace_id FROM staff_users WHERE email = 'ada@acme.example')").await;
    let r = app.query_as(GRETA, q).await;
    // Clients shows the phone, not the address.
    assert_eq!(
        r["data"]["updateAccountContactDetails"],
        json!({ "name": "Globex", "phone": "+49 1", "address": null }),
        "{r}"
    );
    let staff = app.query_as(SAM, "{ accounts { nodes { name address } } }").await;
    assert!(
        staff["data"]["accounts"]["nodes"]
            .as_array()
            .unwrap()
            .contains(&json!({ "name": "Globex", "address": "Elm St 1" }))
    );
    let r = app
        .query_as(
            GRETA,
            "mutation { updateAccountContactDetails(input: { email: \"nope\" }) { name } }",
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.email");
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_run_the_workspace_and_clients_cannot() {
    let app = TestApp::demo().await;
    let task = app.id_of("tasks", "title", "Write launch copy").await;
    let draft = app.id_of("invoices", "status", "DRAFT").await;
    let article = app.id_of("kb_articles", "title", "Upcoming pricing").await;
    let wr = app.id_of("projects", "name", "Website Relaunch").await;
    let review = app.id_of("project_stages", "name", "Review").await;
    let ada = app.id_of("staff_users", "email", "ada@acme.example").await;
    let v = json!({ "t": task, "d": draft, "a": article, "p": wr, "s": review, "ada": ada });
    let ops = [
        "mutation($t: ID!, $ada: ID) { updateTask(id: $t, input: { status: DONE, assigneeId: $ada }) { status completedAt assignee { name } } }",
        "mutation($d: ID!) { issueInvoice(id: $d) { status } }",
        "mutation($d: ID!) { setInvoiceStatus(id: $d, status: PAID) { status } }",
        "mutation($a: ID!) { publishArticle(id: $a) { title published } }",
        "mutation($p: ID!, $s: ID!) { setProjectStage(projectId: $p, stageId: $s) { stage { name } } }",
    ];
    for q in ops {
        assert_eq!(
            codes(&app.query_vars(FRANK, q, v.clone()).await),
            ["FORBIDDEN"],
            "{q}"
        );
    }
    let r = app.query_vars(SAM, ops[0], v.clone()).await;
    assert_eq!(r["data"]["updateTask"]["status"], "DONE", "{r}");
    assert!(r["data"]["updateTask"]["completedAt"].is_string());
    assert_eq!(r["data"]["updateTask"]["assignee"]["name"], "Ada");
    let r = app.query_vars(SAM, ops[1], v.clone()).await;
    assert_eq!(r["data"]["issueInvoice"]["status"], "SENT");
    assert_eq!(codes(&app.query_vars(SAM, ops[1], v.clone()).await), ["CONFLICT"]);
    assert_eq!(
        app.query_vars(SAM, ops[2], v.clone()).await["data"]["setInvoiceStatus"]["status"],
        "PAID"
    );
    assert_eq!(
        app.query_vars(SAM, ops[3], v.clone()).await["data"]["publishArticle"]["published"],
        true
    );
    assert_eq!(
        app.query_vars(SAM, ops[4], v.clone()).await["data"]["setProjectStage"]["stage"]["name"],
        "Review"
    );
    // Clients see the effects.
    let r = app.query_as(GRETA, "{ articles { totalCount } }").await;
    assert_eq!(r["data"]["articles"]["totalCount"], 4);
    let bad = app.query_vars(SAM, "mutation($t: ID!) { updateTask(id: $t, input: { assigneeId: \"01900000-0000-7000-8000-000000000000\" }) { id } }", v.clone()).await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "input.assigneeId");
}
