//! The schema documents itself: every type, field, argument, enum value and input field
//! of the served schema has a description, and every grantable field's description names
//! the grant that reveals it (docs/permissions.md). The repository cites its own `docs/`,
//! never a specification it does not ship.

use serde_json::Value;

use crate::harness::TestApp;

const ADA: &str = "ada@acme.example";

/// Every named thing of the schema, with its description.
const INTROSPECTION: &str = "query Descriptions { __schema { types { kind name description \
    fields(includeDeprecated: true) { name description args { name description } } \
    inputFields { name description } enumValues(includeDeprecated: true) { name description } } } }";

const BUILT_IN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn described(v: &Value) -> bool {
    v["description"].as_str().is_some_and(|d| !d.trim().is_empty())
}

fn name(v: &Value) -> &str {
    v["name"].as_str().unwrap_or_default()
}

/// The types of the served schema, without introspection's own and the built-in scalars.
async fn schema_types(app: &TestApp) -> Vec<Value> {
    let r = app.query_as(ADA, INTROSPECTION).await;
    let types = list(&r["data"]["__schema"]["types"]).to_vec();
    assert!(!types.is_empty(), "{r}");
    types
        .into_iter()
        .filter(|t| !name(t).starts_with("__") && !BUILT_IN_SCALARS.contains(&name(t)))
        .collect()
}

/// `due_date` → `dueDate`: the schema's spelling of a catalog name.
fn camel_case(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_schema_element_has_docs() {
    let app = TestApp::demo().await;
    let mut missing = Vec::new();
    for t in schema_types(&app).await {
        let ty = name(&t);
        if !described(&t) {
            missing.push(format!("type {ty}"));
        }
        for f in list(&t["fields"]) {
            if !described(f) {
                missing.push(format!("field {ty}.{}", name(f)));
            }
            for a in list(&f["args"]) {
                if !described(a) {
                    missing.push(format!("argument {ty}.{}({})", name(f), name(a)));
                }
            }
        }
        for f in list(&t["inputFields"]) {
            if !described(f) {
                missing.push(format!("input field {ty}.{}", name(f)));
            }
        }
        for v in list(&t["enumValues"]) {
            if !described(v) {
                missing.push(format!("enum value {ty}.{}", name(v)));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} schema elements have no description (a doc comment, or `desc` on an argument):\n{}",
        missing.len(),
        missing.join("\n")
    );
}

/// Each grantable field says which grant reveals it (`tasks.fields: due_date`), each
/// always-visible field says so, and each action names the grant it needs: all taken
/// from `permissionCatalog`, so a new catalog entry needs its words in the schema.
#[tokio::test(flavor = "multi_thread")]
async fn grantable_fields_docs_name_their_grant() {
    let app = TestApp::demo().await;
    let types = schema_types(&app).await;
    let catalog = app
        .query_as(
            ADA,
            "{ permissionCatalog { module typeName alwaysVisible fields relations actions } }",
        )
        .await;
    let modules = list(&catalog["data"]["permissionCatalog"]);
    assert_eq!(modules.len(), 5, "{catalog}");
    let field_doc = |ty: &str, field: &str| -> Option<String> {
        let t = types.iter().find(|t| name(t) == ty)?;
        let f = list(&t["fields"]).iter().find(|f| name(f) == field)?;
        Some(f["description"].as_str().unwrap_or_default().to_string())
    };
    let mutation_docs: Vec<String> = types
        .iter()
        .filter(|t| name(t) == "Mutation")
        .flat_map(|t| list(&t["fields"]))
        .map(|f| f["description"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut wrong = Vec::new();
    for m in modules {
        let module = m["module"].as_str().unwrap_or_default();
        let ty = m["typeName"].as_str().unwrap_or_default();
        for kind in ["fields", "relations"] {
            for grant in list(&m[kind]).iter().filter_map(Value::as_str) {
                let field = camel_case(grant);
                let wanted = format!("`{module}.{kind}: {grant}`");
                match field_doc(ty, &field) {
                    None => wrong.push(format!("{ty}.{field}: not in the schema")),
                    Some(doc) if !doc.contains(&wanted) => {
                        wrong.push(format!("{ty}.{field}: does not name {wanted}: {doc:?}"))
                    }
                    Some(_) => {}
                }
            }
        }
        for always in list(&m["alwaysVisible"]).iter().filter_map(Value::as_str) {
            let field = camel_case(always);
            match field_doc(ty, &field) {
                Some(doc) if doc.contains("Always visible") => {}
                doc => wrong.push(format!("{ty}.{field}: does not say \"Always visible\": {doc:?}")),
            }
        }
        for action in list(&m["actions"]).iter().filter_map(Value::as_str) {
            let wanted = format!("`{module}.actions: {action}`");
            if !mutation_docs.iter().any(|d| d.contains(&wanted)) {
                wrong.push(format!("no mutation names {wanted}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Code, tests and docs point to `docs/`; the repository ships no specification file to cite.
#[test]
fn docs_not_a_missing_spec_are_cited() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cited = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = ["src", "tests", "docs", "bench", "scripts", "playground/e2e"]
        .iter()
        .map(|d| root.join(d))
        .chain(
            ["README.md", "BENCHMARKS.md", "Makefile", ".env.example"]
                .iter()
                .map(|f| root.join(f)),
        )
        .collect();
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.file_name().is_some_and(|n| n != "node_modules") {
                    stack.push(p);
                }
            }
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            if cites_spec(line) {
                cited.push(format!(
                    "{}:{}: {}",
                    path.strip_prefix(root).unwrap_or(&path).display(),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(cited.is_empty(), "cite docs/ instead:\n{}", cited.join("\n"));
}

/// The upper-case word for the specification, standing alone (a word such as
/// `UNSPECIFIED` does not count). Spelled in two halves so that this file does not cite it.
fn cites_spec(line: &str) -> bool {
    let spec = concat!("SP", "EC");
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    line.match_indices(spec)
        .any(|(i, _)| !word(line[..i].chars().next_back()) && !word(line[i + spec.len()..].chars().next()))
}
