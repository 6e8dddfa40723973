//! Deny by default: walk every field of every record type in the served schema; an
//! external user whose role names every module with empty lists gets nothing beyond
//! the always-visible fields. And a user holding every catalog name still gets no
//! staff-only field.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::fixtures::{client_with_role, projects_for};
use crate::harness::{TestApp, codes};

/// The catalog's always-visible fields (and `myGrants`, which describes the caller).
const ALWAYS: &[(&str, &[&str])] = &[
    ("CrmAccount", &["id", "name"]),
    ("Project", &["id", "name", "myGrants"]),
    ("Task", &["id", "title"]),
    ("KbArticle", &["id", "title"]),
    ("Invoice", &["id", "number", "kind"]),
];

/// The staff-only fields, null for external callers whatever their grants.
const STAFF_ONLY: &[(&str, &str)] = &[
    ("Project", "archived"),
    ("Project", "sharedWithAccount"),
    ("Project", "ownOrganization"),
    ("Budget", "clientAccess"),
    ("Task", "internal"),
    ("Comment", "internal"),
    ("KbArticle", "published"),
    ("User", "email"),
    ("ExternalUser", "email"),
];

type Fields = BTreeMap<String, Vec<(String, Value)>>;

/// Every object type's fields, with their type references, from introspection.
async fn schema_fields(app: &TestApp) -> Fields {
    let q = "{ __schema { types { name kind fields { name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let r = app.post(None, q, json!({})).await;
    let mut out = Fields::new();
    for t in r["data"]["__schema"]["types"].as_array().unwrap() {
        if t["kind"] != "OBJECT" || t["name"].as_str().unwrap().starts_with("__") {
            continue;
        }
        let fields = t["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["name"].as_str().unwrap().to_string(), f["type"].clone()))
            .collect();
        out.insert(t["name"].as_str().unwrap().to_string(), fields);
    }
    out
}

fn named(mut t: &Value) -> (String, String) {
    while t["name"].is_null() {
        t = &t["ofType"];
    }
    (
        t["kind"].as_str().unwrap().to_string(),
        t["name"].as_str().unwrap().to_string(),
    )
}

/// A selection of every field of `type_name`, `depth` levels deep.
fn selection(fields: &Fields, type_name: &str, depth: usize) -> String {
    let mut out = String::from("__typename ");
    for (name, ty) in &fields[type_name] {
        let (kind, target) = named(ty);
        match kind.as_str() {
            "SCALAR" | "ENUM" => out.push_str(&format!("{name} ")),
            "UNION" if depth > 0 => out.push_str(&format!(
                "{name} {{ __typename ... on User {{ {} }} ... on ExternalUser {{ {} }} }} ",
                selection(fields, "User", 0),
                selection(fields, "ExternalUser", 0)
            )),
            // Lists page with `first`; two items are enough to see every field.
            "OBJECT" if depth > 0 && target.ends_with("Connection") => out.push_str(&format!(
                "{name}(first: 2) {{ {} }} ",
                selection(fields, &target, depth - 1)
            )),
            "OBJECT" if depth > 0 => out.push_str(&format!(
                "{name} {{ {} }} ",
                selection(fields, &target, depth - 1)
            )),
            _ => {}
        }
    }
    out
}

const ROOTS: &[(&str, &str)] = &[
    ("projects", "Project"),
    ("invoices", "Invoice"),
    ("articles", "KbArticle"),
];

/// A server whose cost limit lets [`record_query`] through: it walks every field four
/// levels deep, each plain list at the default page, far over the cost of
/// docs/operations.md by design.
async fn exhaustive_app() -> TestApp {
    let limits = portal_gateway::config::Limits {
        max_cost: u64::MAX,
        ..Default::default()
    };
    TestApp::with(limits, false).await
}

fn record_query(fields: &Fields) -> String {
    let mut q = String::from("{ ");
    for (root, ty) in ROOTS {
        q.push_str(&format!(
            "{root}(first: 3) {{ totalCount nodes {{ {} }} }} ",
            selection(fields, ty, 4)
        ));
    }
    q.push_str(&format!(
        "account {{ {} }} }}",
        selection(fields, "CrmAccount", 4)
    ));
    q
}

/// Walks a response: every object with a `__typename` is checked against `allowed`.
fn walk(v: &Value, path: &str, check: &mut dyn FnMut(&str, &str, &str, &Value)) {
    match v {
        Value::Object(map) => {
            let ty = map.get("__typename").and_then(Value::as_str).unwrap_or("");
            for (k, child) in map {
                if k != "__typename" {
                    check(ty, k, &format!("{path}.{k}"), child);
                    walk(child, &format!("{path}.{k}"), check);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, c)| walk(c, &format!("{path}[{i}]"), check)),
        _ => {}
    }
}

fn is_hidden(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.get("totalCount") == Some(&json!(0)) && o.get("nodes") == Some(&json!([])),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_whose_roles_name_every_module_with_empty_lists_sees_only_always_visible_fields() {
    let app = exhaustive_app().await;
    let empty = ("{}", "{}", "{}", "{}");
    let modules = ["crm", "projects", "tasks", "knowledge_base", "invoices"];
    let grants: Vec<_> = modules
        .iter()
        .map(|m| (*m, empty.0, empty.1, empty.2, empty.3))
        .collect();
    app.sql(&client_with_role("bare", &grants)).await;
    app.sql(&projects_for("bare", 2, 2)).await;
    app.sql(
        "INSERT INTO invoices (id, workspace_id, account_id, number, kind, status, total_cents) \
         SELECT gen_random_uuid(), workspace_id, account_id, 'BARE-1', 'INVOICE', 'SENT', 100 \
         FROM external_users WHERE email = 'bare@clients.example'",
    )
    .await;
    let fields = schema_fields(&app).await;
    let q = record_query(&fields);
    let r = app.query_as("bare@clients.example", &q).await;
    assert!(r["errors"].is_null(), "{r}");
    // The walk saw records of every kind.
    assert_eq!(r["data"]["projects"]["totalCount"], 2, "{r}");
    assert!(r["data"]["invoices"]["totalCount"].as_i64().unwrap() >= 1);
    assert!(r["data"]["articles"]["totalCount"].as_i64().unwrap() >= 1);
    assert_eq!(r["data"]["account"]["name"], "Account bare");

    let always: BTreeMap<&str, &[&str]> = ALWAYS.iter().copied().collect();
    let mut checked = 0;
    let mut leaks = Vec::new();
    walk(&r["data"], "data", &mut |ty, field, path, value| {
        let Some(visible) = always.get(ty) else { return };
        checked += 1;
        if !visible.contains(&field) && !is_hidden(value) {
            leaks.push(format!("{path} = {value}"));
        }
    });
    assert!(
        leaks.is_empty(),
        "visible beyond the always-visible fields: {leaks:#?}"
    );
    // Every field of every record type was asked for and looked at.
    for (ty, _) in ALWAYS {
        assert!(fields[*ty].len() > 3, "{ty}");
    }
    assert!(checked > 50, "{checked}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_holding_every_catalog_name_still_gets_no_staff_only_field() {
    let app = exhaustive_app().await;
    let catalog = app
        .query_as(
            "ada@acme.example",
            "{ permissionCatalog { module fields relations actions notifications } }",
        )
        .await;
    let array = |v: &Value| {
        format!(
            "{{{}}}",
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let grants: Vec<(String, String, String, String, String)> = catalog["data"]["permissionCatalog"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["module"].as_str().unwrap().to_string(),
                array(&m["fields"]),
                array(&m["relations"]),
                array(&m["actions"]),
                array(&m["notifications"]),
            )
        })
        .collect();
    let refs: Vec<_> = grants
        .iter()
        .map(|(a, b, c, d, e)| (a.as_str(), b.as_str(), c.as_str(), d.as_str(), e.as_str()))
        .collect();
    app.sql(&client_with_role("full", &refs)).await;
    app.sql(&projects_for("full", 1, 2)).await;
    let fields = schema_fields(&app).await;
    let r = app.query_as("full@clients.example", &record_query(&fields)).await;
    assert!(r["errors"].is_null(), "{r}");
    let staff_only: Vec<(&str, &str)> = STAFF_ONLY.to_vec();
    let mut seen = std::collections::BTreeSet::new();
    let mut leaks = Vec::new();
    walk(&r["data"], "data", &mut |ty, field, path, value| {
        if staff_only.contains(&(ty, field)) {
            seen.insert((ty.to_string(), field.to_string()));
            if !value.is_null() {
                leaks.push(format!("{path} = {value}"));
            }
        }
    });
    assert!(leaks.is_empty(), "{leaks:#?}");
    // Budgets, comments and users were reached, so their staff-only fields were checked.
    for (ty, field) in [
        ("Budget", "clientAccess"),
        ("Comment", "internal"),
        ("User", "email"),
        ("Project", "archived"),
        ("Task", "internal"),
    ] {
        assert!(
            seen.contains(&(ty.to_string(), field.to_string())),
            "{ty}.{field} not reached: {r}"
        );
    }
    // The same walk as staff shows them.
    let staff = app.query_as("sam@acme.example", &record_query(&fields)).await;
    assert!(
        staff["data"]["projects"]["nodes"][0]["archived"].is_boolean(),
        "{staff}"
    );
    let _ = codes;
}
