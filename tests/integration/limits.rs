//! SPEC §11 limits and §7 paging arguments: each refused with a clear error, never a
//! crash, and counts and cursors that reveal nothing hidden.

use serde_json::{Value, json};

use crate::harness::{TestApp, codes, names};

const GRETA: &str = "greta@globex.example";

fn message(r: &Value) -> String {
    r["errors"][0]["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn depth_aliases_complexity_body_and_batch_are_limited() {
    let app = TestApp::demo().await;
    // depth 13 > 12
    let deep = "{ projects(first: 1) { nodes { parent { parent { parent { parent { parent { parent { parent { parent { parent { parent { name } } } } } } } } } } } } }";
    let r = app.query_as(GRETA, deep).await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    assert!(message(&r).contains("nested too deep"), "{r}");

    // The same depth through fragments is still too deep.
    let fragments = "fragment P on Project { parent { parent { parent { parent { parent { name } } } } } } \
        { projects(first: 1) { nodes { parent { parent { parent { parent { parent { ...P } } } } } } } }";
    let r = app.query_as(GRETA, fragments).await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    // Introspection is not data: GraphiQL's deep introspection query passes.
    let introspection = "{ __schema { types { name fields { name type { kind name ofType { kind name ofType { kind name \
        ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } } } }";
    let r = app.post(None, introspection, json!({})).await;
    assert!(r["errors"].is_null(), "{r}");

    let aliases: String = (0..31).map(|i| format!("a{i}: viewer {{ name }} ")).collect();
    let r = app.query_as(GRETA, &format!("{{ {aliases} }}")).await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    assert!(message(&r).contains("too many aliases"), "{r}");
    let ok: String = (0..30).map(|i| format!("a{i}: viewer {{ name }} ")).collect();
    let r = app.query_as(GRETA, &format!("{{ {ok} }}")).await;
    assert_eq!(r["data"]["a29"]["name"], "Greta", "{r}");

    let r = app
        .query_as(
            GRETA,
            "{ projects(first: 100) { nodes { tasks(first: 100) { nodes { title } } } } }",
        )
        .await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"]);
    assert!(message(&r).contains("too complex"), "{r}");

    let token = app.token(GRETA).await;
    let big = format!("{{ viewer {{ name }} }} # {}", "x".repeat(1 << 20));
    let res = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&token)
        .json(&json!({ "query": big }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(codes(&body), ["BAD_USER_INPUT"]);

    let batch: Vec<Value> = (0..11)
        .map(|_| json!({ "query": "{ viewer { name } }" }))
        .collect();
    let res = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&token)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(message(&body).contains("at most 10"), "{body}");
    let batch: Vec<Value> = (0..10)
        .map(|_| json!({ "query": "{ viewer { name } }" }))
        .collect();
    let res: Value = app
        .http
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&token)
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res.as_array().unwrap().len(), 10);
    assert_eq!(res[9]["data"]["viewer"]["name"], "Greta");

    let res = app
        .http
        .post(format!("{}/graphql", app.base))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn first_and_after_are_checked_and_name_the_argument() {
    let app = TestApp::demo().await;
    for first in [101, -1] {
        let r = app
            .query_vars(
                GRETA,
                "query($n: Int) { projects(first: $n) { totalCount } }",
                json!({ "n": first }),
            )
            .await;
        assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], "first");
    }
    for cursor in ["garbage", "dDpub3QtYS11dWlk", ""] {
        let r = app
            .query_vars(
                GRETA,
                "query($c: String) { projects(after: $c) { totalCount } }",
                json!({ "c": cursor }),
            )
            .await;
        assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{cursor}: {r}");
        assert_eq!(r["errors"][0]["extensions"]["field"], "after");
    }
    let r = app
        .query_as(GRETA, "{ project(id: \"not-a-uuid\") { name } }")
        .await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"]);
    assert_eq!(r["errors"][0]["extensions"]["field"], "id");
    // first: 0 is an empty page with the full count.
    let r = app
        .query_as(
            GRETA,
            "{ projects(first: 0) { totalCount nodes { name } pageInfo { hasNextPage } } }",
        )
        .await;
    assert_eq!(
        r["data"]["projects"],
        json!({ "totalCount": 3, "nodes": [], "pageInfo": { "hasNextPage": true } })
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_through_a_list_sees_exactly_the_visible_rows_and_counts_nothing_else() {
    let app = TestApp::demo().await;
    let project = app.id_of("projects", "name", "Website Relaunch").await;
    let q = "query($p: ID!, $after: String) { tasks(projectId: $p, first: 1, after: $after) { \
             totalCount edges { cursor node { id title } } pageInfo { hasNextPage endCursor } } }";
    let mut after = Value::Null;
    let mut seen = Vec::new();
    let mut totals = Vec::new();
    loop {
        let r = app
            .query_vars(GRETA, q, json!({ "p": project, "after": after }))
            .await;
        let conn = &r["data"]["tasks"];
        totals.push(conn["totalCount"].as_i64().unwrap());
        for e in conn["edges"].as_array().unwrap() {
            seen.push(e["node"]["title"].as_str().unwrap().to_string());
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    let staff = app
        .query_vars(
            "sam@acme.example",
            "query($p: ID!) { tasks(projectId: $p) { nodes { title internal } } }",
            json!({ "p": project }),
        )
        .await;
    let visible: Vec<String> = staff["data"]["tasks"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["internal"] == false)
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, visible, "pages in creation order, internal tasks nowhere");
    assert!(totals.iter().all(|t| *t == visible.len() as i64), "{totals:?}");
    let all = names(&staff["data"]["tasks"], "title");
    assert!(all.len() > visible.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_of_a_hidden_row_reveals_nothing_more_than_a_made_up_one() {
    let app = TestApp::demo().await;
    // A cursor built from an id the caller cannot see answers like any other position:
    // the page after it, of visible rows only.
    use base64::Engine;
    let internal = app
        .id_where(
            "tasks",
            "internal AND project_id = (SELECT id FROM projects WHERE name = 'Website Relaunch')",
        )
        .await;
    let project = app.id_of("projects", "name", "Website Relaunch").await;
    let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("t:{internal}"));
    let q = "query($p: ID!, $c: String) { tasks(projectId: $p, after: $c) { totalCount nodes { title } } }";
    let r = app
        .query_vars(GRETA, q, json!({ "p": project, "c": cursor }))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    for t in r["data"]["tasks"]["nodes"].as_array().unwrap() {
        assert_ne!(t["title"], "Set up staging server");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_follow_the_order_of_the_selection_every_time() {
    let app = TestApp::demo().await;
    let token = app.token(GRETA).await;
    let q = "fragment T on Task { title id } { zz: viewer { name } invoices(first: 5) { totalCount } \
             projects(first: 5) { nodes { tasks(first: 3) { nodes { ...T status } } name id } totalCount } \
             articles(first: 2) { totalCount } a: account { name id } }";
    let mut bodies = std::collections::BTreeSet::new();
    for _ in 0..12 {
        let (_, body) = app.post_raw(Some(&token), q, json!({}), &[]).await;
        bodies.insert(body);
    }
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    let body = bodies.into_iter().next().unwrap();
    let at = |k: &str| body.find(k).unwrap_or_else(|| panic!("{k} in {body}"));
    assert!(
        at("\"zz\"") < at("\"invoices\"")
            && at("\"invoices\"") < at("\"projects\"")
            && at("\"projects\"") < at("\"articles\"")
            && at("\"articles\"") < at("\"a\":")
    );
    assert!(
        body.contains("{\"title\":\"Kick-off workshop\",\"id\":"),
        "{body}"
    );
}
