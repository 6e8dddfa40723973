//! The client conventions (docs/api.md): real clients against the demo, and `node(id)` held to the
//! same gate as the typed lookups.

use std::process::Command;

use serde_json::{Value, json};

use crate::harness::TestApp;

const GRETA: &str = "greta@globex.example";
const FRANK: &str = "frank@globex.example";
const IVAN: &str = "ivan@initech.example";
const SAM: &str = "sam@acme.example";

/// Apollo Client 4 (normalised cache, relayStylePagination) as Greta and Sam,
/// relay-compiler over `schema.graphql` and relay-runtime running what it compiled, and
/// the SDL printed from introspection against the file: `tests/clients/check.mjs`,
/// whose packages `tests/clients/package-lock.json` pins (`make test` runs `npm ci`).
#[tokio::test(flavor = "multi_thread")]
async fn apollo_and_relay_clients_work_against_the_demo() {
    let app = TestApp::demo().await;
    let tokens = json!({ "greta": app.token(GRETA).await, "sam": app.token(SAM).await });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/check.mjs");
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args([script, &base])
            .env("TOKENS", tokens.to_string())
            .output()
            .expect("node runs (make test installs tests/clients with npm ci)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("clients: ok"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const PROJECT: &str = "id name description status startDate endDate progress stage { id name position } \
    owner { id name email } budget { amount spent currency clientAccess } account { id name } parent { id } \
    archived sharedWithAccount ownOrganization myGrants { module fields relations actions } \
    members { user { id } } tasks(first: 20) { totalCount nodes { id title } } subprojects { totalCount nodes { id } }";
const TASK: &str = "id title description status priority dueDate estimatedHours createdAt completedAt \
    assignee { id name email } owner { id } project { id name } internal \
    comments(first: 20) { totalCount nodes { id body createdAt internal author { __typename \
    ... on User { id name email } ... on ExternalUser { id name email portalAccess account { id } roles { id } } } } }";
const INVOICE: &str = "id number kind status issueDate dueDate total currency paidAmount account { id name } \
    project { id } lines { description quantity unitPrice amount }";
const ARTICLE: &str = "id title body category updatedAt author { id name email } published";
const ACCOUNT: &str = "id name email phone website address industry description owner { id name }";

/// Every id a staff member sees in the demo, by typed lookup field and selection.
async fn every_id(app: &TestApp) -> Vec<(&'static str, &'static str, String)> {
    let r = app
        .query_as(
            SAM,
            "{ projects(first: 20) { nodes { id tasks(first: 20) { nodes { id comments(first: 20) { nodes { id } } } } } } \
             invoices(first: 20) { nodes { id } } articles(first: 20) { nodes { id } } accounts(first: 20) { nodes { id } } }",
        )
        .await;
    let ids = |v: &Value| -> Vec<String> {
        v["nodes"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_string())
            .collect()
    };
    let mut out = Vec::new();
    for p in r["data"]["projects"]["nodes"].as_array().unwrap() {
        out.push(("project", PROJECT, p["id"].as_str().unwrap().to_string()));
        for t in p["tasks"]["nodes"].as_array().unwrap() {
            out.push(("task", TASK, t["id"].as_str().unwrap().to_string()));
            for c in ids(&t["comments"]) {
                out.push(("comment", "id", c));
            }
        }
    }
    out.extend(
        ids(&r["data"]["invoices"])
            .into_iter()
            .map(|i| ("invoice", INVOICE, i)),
    );
    out.extend(
        ids(&r["data"]["articles"])
            .into_iter()
            .map(|i| ("article", ARTICLE, i)),
    );
    out.extend(
        ids(&r["data"]["accounts"])
            .into_iter()
            .map(|i| ("account", ACCOUNT, i)),
    );
    assert!(out.len() > 20, "{r}");
    out
}

/// `node(id)` answers exactly what the typed lookup answers, field by field, and for an
/// id out of scope the very answer of an id that does not exist: for every record of
/// the demo and every external persona.
#[tokio::test(flavor = "multi_thread")]
async fn node_hiding_and_scope_are_the_typed_lookups() {
    let app = TestApp::demo().await;
    let records = every_id(&app).await;
    let missing = uuid::Uuid::now_v7().to_string();
    for email in [GRETA, FRANK, IVAN, SAM] {
        let token = app.token(email).await;
        let absent = app
            .post(
                Some(&token),
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": missing }),
            )
            .await;
        assert_eq!(absent, json!({ "data": { "node": null } }), "{email}");
        let (mut seen, mut hidden) = (0, 0);
        for (field, selection, id) in &records {
            let vars = json!({ "id": id });
            let node = app
                .post(
                    Some(&token),
                    &format!(
                        "query($id: ID!) {{ node(id: $id) {{ __typename id ... on Node {{ id }} {} }} }}",
                        on_type(field, selection)
                    ),
                    vars.clone(),
                )
                .await;
            assert!(node.get("errors").is_none(), "{email} {field} {id}: {node}");
            if node["data"]["node"].is_null() {
                // Out of scope: exactly the answer for an id that does not exist.
                assert_eq!(node, absent, "{email} {field} {id}");
                hidden += 1;
                if *field != "comment" {
                    let typed = app
                        .post(
                            Some(&token),
                            &format!("query($id: ID!) {{ {field}(id: $id) {{ id }} }}"),
                            vars,
                        )
                        .await;
                    assert!(
                        typed["data"][field].is_null(),
                        "{email} {field} {id} is null by node but not by {field}(id): {typed}"
                    );
                }
                continue;
            }
            seen += 1;
            if *field == "comment" {
                continue;
            }
            let typed = app
                .post(
                    Some(&token),
                    &format!("query($id: ID!) {{ {field}(id: $id) {{ {selection} }} }}"),
                    vars,
                )
                .await;
            let mut found = node["data"]["node"].clone();
            found.as_object_mut().unwrap().remove("__typename");
            assert_eq!(
                found, typed["data"][field],
                "{email} {field} {id}: node(id) shows what {field}(id) shows"
            );
        }
        if email == SAM {
            assert_eq!(hidden, 0, "staff find every record by id");
        } else {
            assert!(
                seen > 0 && hidden > 0,
                "{email}: {seen} found, {hidden} out of scope"
            );
        }
    }
}

fn on_type(field: &str, selection: &str) -> String {
    let ty = match field {
        "project" => "Project",
        "task" => "Task",
        "comment" => "Comment",
        "invoice" => "Invoice",
        "article" => "KbArticle",
        _ => "CrmAccount",
    };
    format!("... on {ty} {{ {selection} }}")
}

/// A comment found by `node(id)` is the comment its task lists, and only while the
/// task's grants show comments.
#[tokio::test(flavor = "multi_thread")]
async fn node_hiding_of_comments_follows_the_task() {
    let app = TestApp::demo().await;
    let mut checked = 0;
    for email in [GRETA, FRANK, IVAN] {
        let r = app
            .query_as(
                email,
                "{ projects(first: 20) { nodes { tasks(first: 20) { nodes { id comments(first: 20) { nodes { id body createdAt internal author { __typename } } } } } } } }",
            )
            .await;
        let listed: Vec<Value> = r["data"]["projects"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["tasks"]["nodes"].as_array().unwrap().clone())
            .flat_map(|t| t["comments"]["nodes"].as_array().unwrap().clone())
            .collect();
        for c in &listed {
            let found = app
                .query_vars(
                    email,
                    "query($id: ID!) { node(id: $id) { ... on Comment { id body createdAt internal author { __typename } } } }",
                    json!({ "id": c["id"] }),
                )
                .await;
            assert_eq!(&found["data"]["node"], c, "{email}");
            checked += 1;
        }
    }
    assert!(checked > 0, "the demo shows some comment to an external persona");
}

/// The refused root field is null on its own: the rest of the answer stands, and the
/// viewer is a record of its own type, with no id of its own.
#[tokio::test(flavor = "multi_thread")]
async fn clients_see_a_refusal_null_alone_and_the_viewer_as_its_user() {
    let app = TestApp::demo().await;
    let r = app
        .query_as(
            GRETA,
            "{ viewer { name user { __typename ... on ExternalUser { id name email } } } accounts { totalCount } roles { id } \
               permissionCatalog { module } projects(first: 1) { totalCount } }",
        )
        .await;
    assert_eq!(r["data"]["accounts"], Value::Null, "{r}");
    assert_eq!(r["data"]["roles"], Value::Null, "{r}");
    assert_eq!(r["data"]["permissionCatalog"], Value::Null, "{r}");
    assert_eq!(r["data"]["projects"]["totalCount"], 3, "{r}");
    let user = &r["data"]["viewer"]["user"];
    assert_eq!(user["__typename"], "ExternalUser", "{r}");
    assert_eq!(user["name"], "Greta", "{r}");
    let by_node = app
        .query_vars(
            GRETA,
            "query($id: ID!) { node(id: $id) { __typename id } }",
            json!({ "id": user["id"] }),
        )
        .await;
    assert_eq!(by_node["data"]["node"]["__typename"], "ExternalUser", "{by_node}");
    let staff = app
        .query_as(SAM, "{ viewer { user { __typename ... on User { id email } } } }")
        .await;
    assert_eq!(staff["data"]["viewer"]["user"]["__typename"], "User", "{staff}");
    assert_eq!(staff["data"]["viewer"]["user"]["email"], SAM, "{staff}");
}

/// Money is an exact decimal string and instants carry milliseconds in UTC; a bad
/// scalar input names the GraphQL type, never a Rust one.
#[tokio::test(flavor = "multi_thread")]
async fn clients_get_one_text_form_for_money_and_dates() {
    let app = TestApp::demo().await;
    let r = app
        .query_as(
            SAM,
            "{ invoices(first: 20) { nodes { total paidAmount lines { unitPrice amount } } } \
               projects(first: 20) { nodes { startDate budget { amount spent } tasks { nodes { createdAt } } } } }",
        )
        .await;
    let text = r.to_string();
    assert!(r.get("errors").is_none(), "{text}");
    assert!(text.contains(r#""amount":"50000.00""#), "{text}");
    for inv in r["data"]["invoices"]["nodes"].as_array().unwrap() {
        for v in [&inv["total"], &inv["paidAmount"]] {
            let s = v.as_str().unwrap_or_else(|| panic!("{v} is not a string"));
            assert!(s.split_once('.').is_some_and(|(_, f)| f.len() == 2), "{s}");
        }
    }
    let created = r["data"]["projects"]["nodes"][0]["tasks"]["nodes"][0]["createdAt"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        created.ends_with('Z') && created.len() == "2026-01-06T10:00:00.000Z".len(),
        "{created}"
    );
    let ada = app.token("ada@acme.example").await;
    let bad = app
        .post(
            Some(&ada),
            "mutation { createRole(input: { name: \"x\", expiresAt: \"tomorrow\" }) { id } }",
            json!({}),
        )
        .await;
    let message = bad["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("DateTime") && !message.contains("chrono") && !message.contains("Utc"),
        "{bad}"
    );
}
