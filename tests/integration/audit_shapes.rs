//! The audit (docs/operations.md#audit) records what ran, through every document shape this test can
//! generate. Each root field is spelled directly, aliased, through a named fragment,
//! through inline fragments with and without a type condition, nested, and beside a
//! root field that `@skip`/`@include` leave out (by literal and by variable); each
//! record selection has `id`, lacks it, selects only `__typename`, goes through a
//! fragment, or aliases `id:` onto a field whose value looks like the id of a record the
//! caller may not see. Every event must name exactly the root fields that ran and
//! exactly the records returned.

use std::collections::BTreeSet;

use portal_gateway::config::{Limits, Rate};
use serde_json::{Value, json};

use crate::harness::TestApp;

const GRETA: &str = "greta@globex.example";
/// An internal task of the demo: Greta may never see it, nor its id.
const HIDDEN: &str = "01900000-0008-7000-8000-000000000103";

/// A root field and the ways to select its records.
struct Root {
    field: &'static str,
    /// The root field with its arguments, `{}` standing for the record selection.
    template: String,
    selections: Vec<&'static str>,
    expected: BTreeSet<String>,
}

/// The ways to spell a root selection: (the operation's body, its fragments).
fn spellings(root: &str) -> Vec<(String, String)> {
    vec![
        (root.to_string(), String::new()),
        (format!("alias: {root}"), String::new()),
        ("...Roots".into(), format!("fragment Roots on Query {{ {root} }}")),
        (format!("... on Query {{ {root} }}"), String::new()),
        (format!("... {{ {root} }}"), String::new()),
        (
            "...Outer".into(),
            format!("fragment Outer on Query {{ ... on Query {{ deep: {root} }} }}"),
        ),
        (
            format!("... @include(if: true) {{ {root} }} skipped: viewer @skip(if: true) {{ name }}"),
            String::new(),
        ),
        (
            format!("... @include(if: $yes) {{ {root} }} left: viewer @include(if: $no) {{ name }}"),
            String::new(),
        ),
    ]
}

async fn ids(app: &TestApp, token: &str, query: &str, path: &[&str]) -> BTreeSet<String> {
    let mut r = app.post(Some(token), query, json!({})).await;
    for p in path {
        r = r[*p].take();
    }
    r["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{query}: {r}"))
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_document_shape_blanks_or_forges_the_audit() {
    // About ninety requests in a row from one user: past the default burst.
    let rate = Rate {
        per_second: 1_000,
        burst: 1_000,
        in_flight: 8,
    };
    let app = TestApp::with(
        Limits {
            rate,
            ..Limits::default()
        },
        false,
    )
    .await;
    let greta = app.token(GRETA).await;
    let projects = ids(
        &app,
        &greta,
        "{ projects(first: 100) { nodes { id } } }",
        &["data", "projects"],
    )
    .await;
    let project = projects.iter().next().expect("Greta sees a project").clone();
    let tasks_query = format!("{{ tasks(projectId: \"{project}\", first: 100) {{ nodes {{ id }} }} }}");
    let tasks = ids(&app, &greta, &tasks_query, &["data", "tasks"]).await;
    assert!(!tasks.contains(HIDDEN));
    // Values that look like the hidden record's id, where an alias `id:` can reach them.
    let (first_task, first_project) = (tasks.iter().next().unwrap(), &project);
    app.sql(&format!(
        "UPDATE tasks SET title = '{HIDDEN}' WHERE id = '{first_task}'; \
         UPDATE projects SET name = '{HIDDEN}' WHERE id = '{first_project}'"
    ))
    .await;

    let roots = [
        Root {
            field: "projects",
            template: "projects(first: 100) { nodes { {} } }".into(),
            selections: vec!["id name", "name", "__typename", "id: name", "...P"],
            expected: projects.clone(),
        },
        Root {
            field: "tasks",
            template: format!("tasks(projectId: \"{project}\", first: 100) {{ nodes {{ {{}} }} }}"),
            selections: vec![
                "id title",
                "title",
                "__typename",
                "id: title",
                "... on Task { title }",
            ],
            expected: tasks.clone(),
        },
        Root {
            field: "viewer",
            template: "viewer { {} }".into(),
            selections: vec!["name"],
            expected: BTreeSet::new(),
        },
    ];
    let mut sent: Vec<(String, &Root)> = Vec::new();
    for root in &roots {
        for selection in &root.selections {
            let body = root.template.replace("{}", selection);
            for (spelled, fragments) in spellings(&body) {
                let name = format!("Shape{}", sent.len());
                let project_fragment = if selection.contains("...P") {
                    " fragment P on Project { name }"
                } else {
                    ""
                };
                let variables = if spelled.contains("$yes") {
                    "($yes: Boolean!, $no: Boolean!)"
                } else {
                    ""
                };
                let doc = format!("query {name}{variables} {{ {spelled} }} {fragments}{project_fragment}");
                let r = app
                    .post(Some(&greta), &doc, json!({ "yes": true, "no": false }))
                    .await;
                assert!(r["errors"].is_null(), "{doc}: {r}");
                if selection.starts_with("id:") {
                    assert!(
                        r.to_string().contains(HIDDEN),
                        "the forge did reach the answer: {doc}: {r}"
                    );
                }
                sent.push((name, root));
            }
        }
    }

    let events = audit_events(&app, sent.len()).await;
    for (name, root) in &sent {
        let event = events
            .iter()
            .find(|e| e["operationName"] == name.as_str())
            .unwrap_or_else(|| panic!("no event for {name}"));
        assert_eq!(event["outcome"], "OK", "{name}: {event}");
        assert_eq!(event["rootFields"], json!([root.field]), "{name}: {event}");
        let recorded: BTreeSet<String> = event["recordIds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(recorded, root.expected, "{name}: {event}");
        assert!(!recorded.contains(HIDDEN), "{name}: forged {event}");
    }
    println!("{} document shapes audited", sent.len());
}

/// Greta's audit events, once at least `n` are written (the writer batches).
async fn audit_events(app: &TestApp, n: usize) -> Vec<Value> {
    let q = "query($after: String) { auditLog(first: 100, after: $after) { pageInfo { hasNextPage endCursor } \
             nodes { operationName rootFields recordIds outcome } } }";
    for _ in 0..100 {
        let mut all = Vec::new();
        let mut after = Value::Null;
        loop {
            let r = app
                .query_vars("ada@acme.example", q, json!({ "after": after }))
                .await;
            let log = &r["data"]["auditLog"];
            all.extend(
                log["nodes"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{r}"))
                    .iter()
                    .cloned(),
            );
            if log["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = log["pageInfo"]["endCursor"].clone();
        }
        if all
            .iter()
            .filter(|e| {
                e["operationName"]
                    .as_str()
                    .is_some_and(|n| n.starts_with("Shape"))
            })
            .count()
            >= n
        {
            return all;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} audit events");
}
