//! docs/api.md: role definitions, their grants and who holds them are the admin API's;
//! staff who are not admins reach none of it, by any path. The paths are found by
//! introspection, so a new field that leads to a role is covered without editing this.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::TestApp;

/// The types that are role data.
const ROLE_TYPES: [&str; 1] = ["Role"];
const ROLE_SELECTION: &str = "{ id name description active grants { module fields relations actions } }";

const TYPE_REF: &str = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";

#[derive(Debug)]
struct FieldInfo {
    name: String,
    /// Required arguments: name, named type, whether a list.
    args: Vec<(String, String, bool)>,
    /// Takes `first`: asked for a small page, so that paths stay within the cost limit.
    pages: bool,
    type_name: String,
}

#[derive(Debug, Default)]
struct TypeInfo {
    kind: String,
    fields: Vec<FieldInfo>,
    possible: Vec<String>,
    enum_values: Vec<String>,
    /// Required input fields: name, named type, whether a list.
    input_fields: Vec<(String, String, bool)>,
}

/// The named type of a type reference, and whether it is required and a list.
fn unwrap(t: &Value) -> (String, bool, bool) {
    let required = t["kind"] == "NON_NULL";
    let mut list = false;
    let mut t = t;
    while t["name"].is_null() {
        list |= t["kind"] == "LIST";
        t = &t["ofType"];
    }
    (t["name"].as_str().unwrap_or_default().to_string(), required, list)
}

fn required(values: &Value) -> Vec<(String, String, bool)> {
    values
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| {
            let (name, required, list) = unwrap(&a["type"]);
            required.then(|| (a["name"].as_str().unwrap_or_default().to_string(), name, list))
        })
        .collect()
}

async fn schema(app: &TestApp, token: &str) -> (BTreeMap<String, TypeInfo>, String, String) {
    let q = format!(
        "{{ __schema {{ queryType {{ name }} mutationType {{ name }} types {{ name kind possibleTypes {{ name }} \
         enumValues {{ name }} inputFields {{ name type {{ {TYPE_REF} }} }} \
         fields {{ name args {{ name type {{ {TYPE_REF} }} }} type {{ {TYPE_REF} }} }} }} }} }}"
    );
    let r = app.post(Some(token), &q, json!({})).await;
    let s = &r["data"]["__schema"];
    let mut types = BTreeMap::new();
    for t in s["types"].as_array().unwrap_or_else(|| panic!("{r}")) {
        let fields = t["fields"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|f| FieldInfo {
                name: f["name"].as_str().unwrap_or_default().to_string(),
                args: required(&f["args"]),
                pages: f["args"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|arg| arg["name"] == "first")),
                type_name: unwrap(&f["type"]).0,
            })
            .collect();
        let names = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default()
                .iter()
                .filter_map(|x| x["name"].as_str().map(String::from))
                .collect()
        };
        let info = TypeInfo {
            kind: t["kind"].as_str().unwrap_or_default().to_string(),
            fields,
            possible: names(&t["possibleTypes"]),
            enum_values: names(&t["enumValues"]),
            input_fields: required(&t["inputFields"]),
        };
        types.insert(t["name"].as_str().unwrap_or_default().to_string(), info);
    }
    let name = |k: &str| s[k]["name"].as_str().unwrap_or_default().to_string();
    (types, name("queryType"), name("mutationType"))
}

/// One step of a path: a field (with its arguments) or a type condition.
#[derive(Clone, Debug)]
enum Step {
    Field { name: String, args: String },
    On(String),
}

/// Ids of the demo records that make every path answer something for an admin: Data
/// Warehouse has its own organization with Greta as Project Reviewer.
struct Ids(BTreeMap<&'static str, String>);

impl Ids {
    fn id_for(&self, owner: &str, field: &str, arg: &str) -> String {
        let key = match (arg, field) {
            ("projectId", _) => "project",
            ("stageId", _) => "stage",
            ("taskId", _) => "task",
            ("roleId" | "ids", _) => "role",
            ("externalUserId", _) => "greta",
            ("accountId", _) => "account",
            ("id", "project") => "project",
            ("id", "task" | "updateTask") => "task",
            (
                "id",
                "invoice"
                | "acceptEstimate"
                | "convertEstimateToInvoice"
                | "issueInvoice"
                | "setInvoiceStatus",
            ) => "estimate",
            ("id", "article" | "publishArticle") => "article",
            ("id", "account") => "account",
            ("id", "role" | "updateRole" | "node") => "role",
            ("id", "deleteExternalUser") => "greta",
            _ => panic!("no id known for {owner}.{field}({arg}): teach this test which record to use"),
        };
        format!("\"{}\"", self.0[key])
    }
}

fn literal(
    types: &BTreeMap<String, TypeInfo>,
    ids: &Ids,
    owner: &str,
    field: &str,
    arg: &str,
    ty: &str,
    list: bool,
) -> String {
    let one = match ty {
        "ID" => ids.id_for(owner, field, arg),
        "String" => "\"role-data-probe\"".to_string(),
        "Boolean" => "false".to_string(),
        "Int" => "1".to_string(),
        "Float" => "1.0".to_string(),
        _ => match types.get(ty) {
            Some(t) if t.kind == "ENUM" => t.enum_values.first().cloned().unwrap_or_default(),
            Some(t) if t.kind == "INPUT_OBJECT" => {
                let fields: Vec<String> = t
                    .input_fields
                    .iter()
                    .map(|(n, ft, l)| format!("{n}: {}", literal(types, ids, owner, field, n, ft, *l)))
                    .collect();
                format!("{{ {} }}", fields.join(", "))
            }
            _ => panic!("no literal for {ty}"),
        },
    };
    if list { format!("[{one}]") } else { one }
}

/// Every field of a role type reachable from `root`'s fields, by the shortest path
/// from each root field: (root field, steps ending in the field that yields the role).
fn role_paths(types: &BTreeMap<String, TypeInfo>, ids: &Ids, root: &str) -> Vec<(String, Vec<Step>)> {
    let mut out = Vec::new();
    let args_of = |owner: &str, f: &FieldInfo| -> String {
        let mut args: Vec<String> = f
            .args
            .iter()
            .map(|(n, t, l)| format!("{n}: {}", literal(types, ids, owner, &f.name, n, t, *l)))
            .collect();
        if f.pages {
            args.push("first: 5".into());
        }
        if args.is_empty() {
            return String::new();
        }
        format!("({})", args.join(", "))
    };
    for root_field in &types[root].fields {
        if root_field.name.starts_with("__") {
            continue;
        }
        let first = vec![Step::Field {
            name: root_field.name.clone(),
            args: args_of(root, root_field),
        }];
        if ROLE_TYPES.contains(&root_field.type_name.as_str()) {
            out.push((root_field.name.clone(), first));
            continue;
        }
        let mut seen = HashSet::from([root_field.type_name.clone()]);
        let mut queue = VecDeque::from([(root_field.type_name.clone(), first)]);
        while let Some((ty, path)) = queue.pop_front() {
            let Some(info) = types.get(&ty) else { continue };
            if matches!(info.kind.as_str(), "INTERFACE" | "UNION") {
                for p in &info.possible {
                    if seen.insert(p.clone()) {
                        let mut next = path.clone();
                        next.push(Step::On(p.clone()));
                        queue.push_back((p.clone(), next));
                    }
                }
                continue;
            }
            for f in &info.fields {
                let mut next = path.clone();
                next.push(Step::Field {
                    name: f.name.clone(),
                    args: args_of(&ty, f),
                });
                if ROLE_TYPES.contains(&f.type_name.as_str()) {
                    out.push((root_field.name.clone(), next));
                } else if types
                    .get(&f.type_name)
                    .is_some_and(|t| !t.fields.is_empty() || !t.possible.is_empty())
                    && !f.type_name.starts_with("__")
                    && seen.insert(f.type_name.clone())
                {
                    queue.push_back((f.type_name.clone(), next));
                }
            }
        }
    }
    out
}

fn document(operation: &str, path: &[Step]) -> String {
    let mut open = String::new();
    let mut close = String::new();
    for step in path {
        match step {
            Step::Field { name, args } => open.push_str(&format!("{name}{args} {{ ")),
            Step::On(t) => open.push_str(&format!("... on {t} {{ ")),
        }
        close.push_str(" }");
    }
    // The last step's own braces hold the role selection.
    open.truncate(open.len() - 2);
    close.truncate(close.len() - 2);
    format!("{operation} {{ {open} {ROLE_SELECTION} {close} }}")
}

/// The values found at the end of the path in `data` (lists flattened).
fn at_path<'a>(value: &'a Value, path: &[Step], out: &mut Vec<&'a Value>) {
    match (value, path.split_first()) {
        (Value::Array(items), _) => items.iter().for_each(|v| at_path(v, path, out)),
        (_, None) => out.push(value),
        (Value::Object(_), Some((Step::On(_), rest))) => at_path(value, rest, out),
        (Value::Object(map), Some((Step::Field { name, .. }, rest))) => {
            if let Some(v) = map.get(name) {
                at_path(v, rest, out)
            }
        }
        _ => {}
    }
}

/// Whether the values hold any role data: a role object, or a non-empty list of them.
fn holds_roles(values: &[&Value]) -> bool {
    values.iter().any(|v| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        _ => true,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn role_data_reaches_admins_only_by_every_path_of_the_schema() {
    let app = TestApp::demo().await;
    let (greta, _, _) = app.user_id("greta@globex.example").await;
    let ids = Ids(BTreeMap::from([
        ("project", app.id_where("projects", "name = 'Data Warehouse'").await.to_string()),
        ("task", first_id(&app, "tasks t JOIN projects p ON p.id = t.project_id WHERE p.name = 'Data Warehouse'").await),
        ("stage", first_id(&app, "project_stages s JOIN projects p ON p.workspace_id = s.workspace_id WHERE p.name = 'Data Warehouse'").await),
        ("role", app.id_where("roles", "name = 'Project Reviewer'").await.to_string()),
        ("greta", greta.to_string()),
        ("account", app.id_where("accounts", "name = 'Globex'").await.to_string()),
        ("estimate", app.id_where("invoices", "number = 'EST-2026-001'").await.to_string()),
        ("article", first_id(&app, "kb_articles t JOIN workspaces w ON w.id = t.workspace_id WHERE w.name = 'Acme Studio'").await),
    ]));
    let sam = app.token("sam@acme.example").await;
    let ada = app.token("ada@acme.example").await;
    let (types, query_root, mutation_root) = schema(&app, &sam).await;

    let queries = role_paths(&types, &ids, &query_root);
    let mutations = role_paths(&types, &ids, &mutation_root);
    for must in [
        "projects",
        "project",
        "externalUsers",
        "roles",
        "role",
        "auditLog",
    ] {
        assert!(
            queries.iter().any(|(root, _)| root == must),
            "no path to a role from `{must}`: {queries:?}"
        );
    }
    for must in ["setProjectStage", "assignRole", "addProjectMember", "createRole"] {
        assert!(
            mutations.iter().any(|(root, _)| root == must),
            "no path to a role from `{must}`"
        );
    }

    // Sam (staff, not an admin) gets nothing of a role by any path: null, empty or FORBIDDEN.
    let mut answered = HashSet::new();
    for (operation, paths) in [("query", &queries), ("mutation", &mutations)] {
        for (root, path) in paths.iter() {
            let doc = document(operation, path);
            let r = app.post(Some(&sam), &doc, json!({})).await;
            let mut found = Vec::new();
            at_path(&r["data"], path, &mut found);
            assert!(!holds_roles(&found), "Sam reached role data by {doc}: {r}");
            if !r["data"][root].is_null() {
                answered.insert(root.clone());
            }
        }
    }
    // The paths through what Sam may use did answer (the check above was not vacuous).
    for root in ["projects", "project", "tasks", "setProjectStage"] {
        assert!(
            answered.contains(root),
            "`{root}` answered nothing to Sam: {answered:?}"
        );
    }

    // In the words of docs/api.md: the members are listed, each with `role` null, and
    // `ExternalUser.roles` is null.
    let q = format!(
        "{{ project(id: {}) {{ members {{ user {{ email roles {{ id }} }} role {{ id }} }} }} }}",
        ids.id_for("QueryRoot", "project", "id")
    );
    let r = app.post(Some(&sam), &q, json!({})).await;
    let members = r["data"]["project"]["members"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        members
            .iter()
            .any(|m| m["user"]["email"] == "greta@globex.example"),
        "{r}"
    );
    for m in members {
        assert!(m["role"].is_null() && m["user"]["roles"].is_null(), "{r}");
    }
    assert!(r.get("errors").is_none(), "{r}");

    // Ada, an admin, gets the role data by the same query paths.
    let mut reached = HashSet::new();
    for (root, path) in &queries {
        let doc = document("query", path);
        let r = app.post(Some(&ada), &doc, json!({})).await;
        let mut found = Vec::new();
        at_path(&r["data"], path, &mut found);
        if holds_roles(&found) {
            reached.insert(root.clone());
        }
    }
    for root in ["projects", "project", "externalUsers", "roles", "role"] {
        assert!(
            reached.contains(root),
            "Ada got no role data through `{root}`: {reached:?}"
        );
    }
}

async fn first_id(app: &TestApp, from_where: &str) -> String {
    let table_alias = from_where.split_whitespace().nth(1).unwrap_or("t");
    let id: Uuid = app
        .id_where(
            &format!("(SELECT {table_alias}.id FROM {from_where} ORDER BY {table_alias}.id LIMIT 1) AS x"),
            "true",
        )
        .await;
    id.to_string()
}
