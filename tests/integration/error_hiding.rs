//! docs/api.md: an error message never carries a value hidden from the caller. Every action
//! (and every staff and admin mutation, tried by an external user) runs against records
//! whose hidden fields hold distinctive sentinels, and no sentinel may come back.

use serde_json::{Value, json};

use crate::harness::{TestApp, codes};

const FRANK: &str = "frank@globex.example";

/// Values Frank may not see, arranged below; none may appear in any answer to him.
const SENTINELS: [&str; 10] = [
    "SENTINEL",
    "OVERDUE",
    "CANCELLED",
    "URGENT",
    "IN_PROGRESS",
    "ON_HOLD",
    "1999-12-31",
    "424242.5",
    "987654.",
    "XTS",
];

/// The one id a subquery answers (test setup only).
async fn one(app: &TestApp, select: &str) -> String {
    app.id_where(&format!("({select} LIMIT 1) AS x"), "true")
        .await
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_action_names_a_value_hidden_from_the_caller() {
    let app = TestApp::demo().await;
    // Frank holds one role that allows every external action and shows no field.
    app.sql(
        "DELETE FROM role_assignments WHERE external_user_id = (SELECT id FROM external_users WHERE email = 'frank@globex.example');
         DELETE FROM project_members WHERE external_user_id = (SELECT id FROM external_users WHERE email = 'frank@globex.example');
         INSERT INTO roles (id, workspace_id, name, description)
           SELECT '01900000-0005-7000-8000-0000000001ff', workspace_id, 'SENTINEL role', 'SENTINEL'
           FROM external_users WHERE email = 'frank@globex.example';
         INSERT INTO role_assignments (role_id, external_user_id)
           SELECT '01900000-0005-7000-8000-0000000001ff', id FROM external_users WHERE email = 'frank@globex.example';
         INSERT INTO role_grants (role_id, module, fields, relations, actions, notifications) VALUES
           ('01900000-0005-7000-8000-0000000001ff', 'crm', '{}', '{}', '{update_contact_details}', '{}'),
           ('01900000-0005-7000-8000-0000000001ff', 'projects', '{}', '{tasks}', '{}', '{}'),
           ('01900000-0005-7000-8000-0000000001ff', 'tasks', '{}', '{project,comments}', '{create,comment}', '{}'),
           ('01900000-0005-7000-8000-0000000001ff', 'invoices', '{}', '{}', '{accept_estimate,convert_estimate}', '{}');
         UPDATE accounts SET description = 'SENTINEL account', industry = 'SENTINEL industry',
           email = 'sentinel@globex.example', phone = '+1 SENTINEL', website = 'https://sentinel.example',
           address = 'SENTINEL street' WHERE name = 'Globex';
         UPDATE projects SET description = 'SENTINEL project', status = 'ON_HOLD';
         UPDATE tasks SET description = 'SENTINEL task', status = 'IN_PROGRESS', priority = 'URGENT',
           due_date = '1999-12-31', estimated_hours = 424242.5;
         UPDATE tasks SET title = 'SENTINEL internal task' WHERE internal;
         UPDATE comments SET body = 'SENTINEL internal comment' WHERE internal;
         UPDATE invoices SET status = 'OVERDUE', total_cents = 98765432, currency = 'XTS',
           due_date = '1999-12-31', issue_date = '1999-12-31' WHERE kind = 'ESTIMATE';
         UPDATE invoices SET total_cents = 98765400, currency = 'XTS' WHERE kind = 'INVOICE';
         UPDATE kb_articles SET body = 'SENTINEL article' WHERE NOT published;",
    )
    .await;
    let wr = app
        .id_of("projects", "name", "Website Relaunch")
        .await
        .to_string();
    let hidden_project = app
        .id_of("projects", "name", "Globex Internal Audit")
        .await
        .to_string();
    let task = one(
        &app,
        "SELECT t.id FROM tasks t JOIN projects p ON p.id = t.project_id \
         WHERE p.name = 'Website Relaunch' AND NOT t.internal ORDER BY t.id",
    )
    .await;
    let internal_task = one(
        &app,
        "SELECT t.id FROM tasks t JOIN projects p ON p.id = t.project_id \
         WHERE p.name = 'Website Relaunch' AND t.internal ORDER BY t.id",
    )
    .await;
    let estimate = app.id_of("invoices", "number", "EST-2026-001").await.to_string();
    let invoice = one(
        &app,
        "SELECT id FROM invoices WHERE number = 'INV-2026-001' ORDER BY id",
    )
    .await;
    let draft = app.id_of("invoices", "number", "INV-2026-003").await.to_string();
    let stage = one(&app, "SELECT s.id FROM project_stages s JOIN projects p ON p.workspace_id = s.workspace_id WHERE p.name = 'Website Relaunch' ORDER BY s.id").await;
    let article = app
        .id_of("kb_articles", "title", "Upcoming pricing")
        .await
        .to_string();
    let globex = app.id_of("accounts", "name", "Globex").await.to_string();
    let frank = app.id_of("external_users", "email", FRANK).await.to_string();
    let role = "01900000-0005-7000-8000-0000000001ff";

    let task_fields =
        "id title description status priority dueDate estimatedHours project { name description status }";
    let invoice_fields = "id number kind status issueDate dueDate total currency";
    let actions: Vec<(&str, String, Option<&str>)> = vec![
        ("createTask", format!("mutation {{ createTask(projectId: \"{wr}\", input: {{ title: \"mine\", description: \"mine\" }}) {{ {task_fields} }} }}"), None),
        ("createTask", format!("mutation {{ createTask(projectId: \"{wr}\", input: {{ title: \" \" }}) {{ id }} }}"), Some("BAD_USER_INPUT")),
        ("createTask", format!("mutation {{ createTask(projectId: \"{wr}\", input: {{ title: \"{}\" }}) {{ id }} }}", "t".repeat(501)), Some("BAD_USER_INPUT")),
        ("createTask", format!("mutation {{ createTask(projectId: \"{hidden_project}\", input: {{ title: \"t\" }}) {{ id }} }}"), Some("NOT_FOUND")),
        ("addTaskComment", format!("mutation {{ addTaskComment(taskId: \"{task}\", body: \"hello\") {{ id body }} }}"), None),
        ("addTaskComment", format!("mutation {{ addTaskComment(taskId: \"{task}\", body: \"hello\", internal: true) {{ id }} }}"), Some("FORBIDDEN")),
        ("addTaskComment", format!("mutation {{ addTaskComment(taskId: \"{task}\", body: \"\") {{ id }} }}"), Some("BAD_USER_INPUT")),
        ("addTaskComment", format!("mutation {{ addTaskComment(taskId: \"{internal_task}\", body: \"x\") {{ id }} }}"), Some("NOT_FOUND")),
        ("updateAccountContactDetails", "mutation { updateAccountContactDetails(input: { phone: \"+1 555 0101\" }) { name email phone website address description industry } }".into(), None),
        ("updateAccountContactDetails", "mutation { updateAccountContactDetails(input: { email: \"no-at-sign\" }) { name } }".into(), Some("BAD_USER_INPUT")),
        ("acceptEstimate", format!("mutation {{ acceptEstimate(id: \"{estimate}\") {{ {invoice_fields} }} }}"), Some("CONFLICT")),
        ("convertEstimateToInvoice", format!("mutation {{ convertEstimateToInvoice(id: \"{estimate}\") {{ {invoice_fields} }} }}"), Some("CONFLICT")),
        ("acceptEstimate", format!("mutation {{ acceptEstimate(id: \"{invoice}\") {{ {invoice_fields} }} }}"), Some("BAD_USER_INPUT")),
        ("convertEstimateToInvoice", format!("mutation {{ convertEstimateToInvoice(id: \"{draft}\") {{ id }} }}"), Some("NOT_FOUND")),
        // Staff mutations, tried by an external user.
        ("updateTask", format!("mutation {{ updateTask(id: \"{task}\", input: {{ title: \"x\" }}) {{ {task_fields} }} }}"), Some("FORBIDDEN")),
        ("setProjectStage", format!("mutation {{ setProjectStage(projectId: \"{wr}\", stageId: \"{stage}\") {{ name description }} }}"), Some("FORBIDDEN")),
        ("issueInvoice", format!("mutation {{ issueInvoice(id: \"{draft}\") {{ {invoice_fields} }} }}"), Some("FORBIDDEN")),
        ("setInvoiceStatus", format!("mutation {{ setInvoiceStatus(id: \"{estimate}\", status: SENT) {{ {invoice_fields} }} }}"), Some("FORBIDDEN")),
        ("publishArticle", format!("mutation {{ publishArticle(id: \"{article}\") {{ title body }} }}"), Some("FORBIDDEN")),
        // Admin mutations, tried by an external user.
        ("createRole", "mutation { createRole(input: { name: \"SENTINEL role\" }) { id } }".into(), Some("FORBIDDEN")),
        ("assignRole", format!("mutation {{ assignRole(roleId: \"{role}\", externalUserId: \"{frank}\") {{ id }} }}"), Some("FORBIDDEN")),
        ("addProjectMember", format!("mutation {{ addProjectMember(projectId: \"{hidden_project}\", externalUserId: \"{frank}\") {{ id }} }}"), Some("FORBIDDEN")),
        ("createExternalUser", format!("mutation {{ createExternalUser(accountId: \"{globex}\", email: \"{FRANK}\", name: \"x\") {{ id }} }}"), Some("FORBIDDEN")),
    ];
    let token = app.token(FRANK).await;
    let sweep = |status: &'static str| {
        let actions = &actions;
        let app = &app;
        let token = token.clone();
        async move {
            for (action, query, code) in actions {
                let r = app.post(Some(&token), query, json!({})).await;
                match code {
                    Some(code) => assert_eq!(codes(&r), [*code], "{action} ({status}): {r}"),
                    None => assert!(
                        r.get("errors").is_none() && !r["data"][action].is_null(),
                        "{action}: {r}"
                    ),
                }
                let text = r.to_string();
                for sentinel in SENTINELS {
                    assert!(
                        !text.contains(sentinel),
                        "{action} ({status}) answered the hidden {sentinel}: {text}"
                    );
                }
            }
        }
    };
    sweep("OVERDUE").await;
    // Another status that refuses both actions.
    app.sql("UPDATE invoices SET status = 'CANCELLED' WHERE kind = 'ESTIMATE'")
        .await;
    sweep("CANCELLED").await;

    // Whoever may see the status is told it.
    let r = app
        .query_as(
            "ada@acme.example",
            &format!("mutation {{ acceptEstimate(id: \"{estimate}\") {{ id }} }}"),
        )
        .await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    let message = r["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("cannot be accepted") && message.contains("CANCELLED"),
        "{r}"
    );
}

/// The refusal's words follow the caller's grants: the status is named while `status`
/// is granted, and not once it is taken away.
#[tokio::test(flavor = "multi_thread")]
async fn the_estimate_conflict_names_the_status_only_to_those_who_see_it() {
    let app = TestApp::demo().await;
    app.sql("UPDATE invoices SET status = 'OVERDUE' WHERE number = 'EST-2026-001'")
        .await;
    let estimate = app.id_of("invoices", "number", "EST-2026-001").await;
    let q = format!("mutation {{ acceptEstimate(id: \"{estimate}\") {{ id }} }}");
    // Greta's Clients role shows invoice status and allows accepting.
    let r: Value = app.query_as("greta@globex.example", &q).await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    assert_eq!(
        r["errors"][0]["message"], "the estimate cannot be accepted: it is OVERDUE",
        "{r}"
    );
    // Without `status` in her grants, the same refusal says no more than that.
    app.sql("UPDATE role_grants SET fields = array_remove(fields, 'status') WHERE module = 'invoices'")
        .await;
    let r: Value = app.query_as("greta@globex.example", &q).await;
    assert_eq!(codes(&r), ["CONFLICT"], "{r}");
    assert_eq!(
        r["errors"][0]["message"], "the estimate cannot be accepted",
        "{r}"
    );
}
