//! docs/operations.md limits and docs/api.md paging arguments: each refused with a clear
//! error, never a crash, and counts and cursors that reveal nothing hidden.

use serde_json::{Value, json};

use portal_gateway::config::Limits;

use crate::harness::{TestApp, codes, names};

const GRETA: &str = "greta@globex.example";

fn message(r: &Value) -> String {
    r["errors"][0]["message"].as_str().unwrap_or_default().to_string()
}

/// Asserts that `r` is the one refusal of a limit: its message, figure and limit.
fn assert_limit(r: &Value, what: &str, key: &str, limit: u64) -> u64 {
    assert_eq!(codes(r), ["BAD_USER_INPUT"], "{r}");
    assert!(r["data"].is_null(), "{r}");
    let figure = r["errors"][0]["extensions"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("extensions.{key} in {r}"));
    assert_eq!(r["errors"][0]["extensions"]["limit"], limit, "{r}");
    assert_eq!(
        message(r),
        format!("{what} {figure} exceeds the limit {limit}"),
        "{r}"
    );
    assert!(figure > limit, "{r}");
    figure
}

#[tokio::test(flavor = "multi_thread")]
async fn depth_aliases_body_and_batch_are_limited() {
    let app = TestApp::demo().await;
    // depth 13 > 12
    let deep = "{ projects(first: 1) { nodes { parent { parent { parent { parent { parent { parent { parent { parent { parent { parent { name } } } } } } } } } } } } }";
    let r = app.query_as(GRETA, deep).await;
    assert_eq!(assert_limit(&r, "query depth", "depth", 12), 13);

    // The same depth through fragments is still too deep.
    let fragments = "fragment P on Project { parent { parent { parent { parent { parent { name } } } } } } \
        { projects(first: 1) { nodes { parent { parent { parent { parent { parent { ...P } } } } } } } }";
    let r = app.query_as(GRETA, fragments).await;
    assert_eq!(assert_limit(&r, "query depth", "depth", 12), 13);
    // Introspection is not data: a deep introspection query passes.
    let introspection = "{ __schema { types { name fields { name type { kind name ofType { kind name ofType { kind name \
        ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } } } } }";
    let r = app.post(None, introspection, json!({})).await;
    assert!(r["errors"].is_null(), "{r}");

    let aliases: String = (0..31).map(|i| format!("a{i}: viewer {{ name }} ")).collect();
    let r = app.query_as(GRETA, &format!("{{ {aliases} }}")).await;
    assert_eq!(assert_limit(&r, "aliases", "aliases", 30), 31);
    let ok: String = (0..30).map(|i| format!("a{i}: viewer {{ name }} ")).collect();
    let r = app.query_as(GRETA, &format!("{{ {ok} }}")).await;
    assert_eq!(r["data"]["a29"]["name"], "Greta", "{r}");
    // Aliases are counted as expanded: 16 in a fragment spread twice are 32.
    let sixteen: String = (0..16).map(|i| format!("a{i}: name ")).collect();
    let r = app
        .query_as(
            GRETA,
            &format!("fragment V on Viewer {{ {sixteen} }} {{ viewer {{ ...V }} again: viewer {{ ...V }} }}"),
        )
        .await;
    assert_eq!(assert_limit(&r, "aliases", "aliases", 30), 33);

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
        .header("content-type", "application/json")
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

/// `count` fragments on Query, each spreading the next twice, the last selecting `tail`:
/// 2^count selections when expanded, in about 40 bytes a fragment.
fn fragment_bomb(count: usize, on: &str, tail: &str) -> String {
    let mut doc = String::from("{ ...F1 }\n");
    for i in 1..count {
        doc.push_str(&format!(
            "fragment F{i} on {on} {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    doc.push_str(&format!("fragment F{count} on {on} {{ {tail} }}\n"));
    doc
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cost_counts_records_and_a_100_by_100_dashboard_passes() {
    let app = TestApp::demo().await;
    let dashboard = "{ projects(first: 100) { totalCount nodes { id name tasks(first: 100) { totalCount nodes { id title status } } } } }";
    let r = app.query_as(GRETA, dashboard).await;
    assert!(r["errors"].is_null(), "{r}");
    assert!(!r["data"]["projects"]["nodes"].as_array().unwrap().is_empty());
    // 1000 projects of 100 tasks: refused on its cost before `first` is even checked.
    let r = app
        .query_as(
            GRETA,
            &dashboard.replace("projects(first: 100)", "projects(first: 1000)"),
        )
        .await;
    assert_eq!(assert_limit(&r, "query cost", "cost", 50_000), 101_000);
    // A third level multiplies again; edges and their nodes are the same records.
    let three = "{ projects(first: 100) { edges { node { tasks(first: 100) { edges { cursor node { \
                 comments { nodes { body } } } } } } } } }";
    let r = app.query_as(GRETA, three).await;
    assert_eq!(
        assert_limit(&r, "query cost", "cost", 50_000),
        100 * (1 + 100 * (1 + 50))
    );

    // The dashboard's own figure: 100 projects and 100 × 100 tasks.
    let tight = TestApp::with(
        Limits {
            max_cost: 10_099,
            ..Limits::default()
        },
        false,
    )
    .await;
    let r = tight.query_as(GRETA, dashboard).await;
    assert_eq!(assert_limit(&r, "query cost", "cost", 10_099), 10_100);
    // A single relation counts one per parent; through a fragment, the same.
    let r = tight
        .query_as(
            GRETA,
            "fragment T on Task { project { name } } { projects(first: 100) { nodes { tasks(first: 100) { nodes { ...T } } } } }",
        )
        .await;
    assert_eq!(
        assert_limit(&r, "query cost", "cost", 10_099),
        100 * (1 + 100 * 2)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_pages_saturate_the_cost_instead_of_wrapping_around() {
    let app = TestApp::demo().await;
    let q = "query($n: Int) { projects(first: $n) { nodes { tasks(first: $n) { nodes { comments(first: $n) { nodes { body } } } } } } }";
    for n in [
        json!(9_223_372_036_854_775_807_i64),
        json!(9_007_199_254_740_992.0_f64),
        json!(4_294_967_296_i64),
    ] {
        let r = app.query_vars(GRETA, q, json!({ "n": n })).await;
        assert_eq!(assert_limit(&r, "query cost", "cost", 50_000), u64::MAX, "{n}");
    }
    let literal = q
        .replace("query($n: Int) ", "")
        .replace("$n", "9223372036854775807");
    let r = app.query_as(GRETA, &literal).await;
    assert_eq!(assert_limit(&r, "query cost", "cost", 50_000), u64::MAX);
    // 2^32 at two levels is 2^64 + 2^32: wrapped around it would be 2^32.
    let r = app
        .query_as(
            GRETA,
            "{ projects(first: 4294967296) { nodes { tasks(first: 4294967296) { nodes { id } } } } }",
        )
        .await;
    assert_eq!(assert_limit(&r, "query cost", "cost", 50_000), u64::MAX);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fragment_bomb_is_refused_at_once_whether_or_not_it_is_valid() {
    let app = TestApp::demo().await;
    let token = app.token(GRETA).await;
    let bombs = [
        ("valid", fragment_bomb(26, "Query", "viewer { name }")),
        ("unknown field", fragment_bomb(26, "Query", "nope { name }")),
        ("unknown type", fragment_bomb(26, "Nope", "nope")),
    ];
    for (what, doc) in &bombs {
        assert!(doc.len() < 1200, "{what}: {} bytes", doc.len());
        let started = std::time::Instant::now();
        let r = app.post(Some(&token), doc, json!({})).await;
        println!(
            "{what} fragment bomb ({} bytes) refused in {:?}",
            doc.len(),
            started.elapsed()
        );
        let figure = assert_limit(&r, "field selections", "selections", 5_000);
        assert!(figure >= 1 << 25, "{what}: {r}");
    }
    let aliased = fragment_bomb(26, "Query", "a: viewer { n: name }");
    let started = std::time::Instant::now();
    let r = app.post(Some(&token), &aliased, json!({})).await;
    println!("aliased fragment bomb refused in {:?}", started.elapsed());
    assert!(assert_limit(&r, "aliases", "aliases", 30) >= 1 << 25);
    // Unused by any operation, it is refused all the same (validation would expand it).
    let unused = fragment_bomb(26, "Query", "viewer { name }").replace("{ ...F1 }", "{ viewer { name } }");
    let started = std::time::Instant::now();
    let r = app.post(Some(&token), &unused, json!({})).await;
    println!("unused fragment bomb refused in {:?}", started.elapsed());
    assert_limit(&r, "field selections", "selections", 5_000);
    // A cycle counts nothing here; validation refuses it.
    let r = app
        .post(
            Some(&token),
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A viewer { name } }",
            json!({}),
        )
        .await;
    assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{r}");
    assert!(r["errors"][0]["extensions"]["limit"].is_null(), "{r}");
    assert_eq!(
        app.query_as(GRETA, "{ viewer { name } }").await["data"]["viewer"]["name"],
        "Greta"
    );
}

const GRAPHIQL_INTROSPECTION: &str = include_str!("graphiql_introspection.graphql");

#[tokio::test(flavor = "multi_thread")]
async fn graphiql_introspection_passes_and_multiplying_it_does_not() {
    let app = TestApp::demo().await;
    let r = app.post(None, GRAPHIQL_INTROSPECTION, json!({})).await;
    assert!(r["errors"].is_null(), "{r}");
    assert!(r["data"]["__schema"]["types"].as_array().unwrap().len() > 40);
    let measured = TestApp::with(
        Limits {
            max_cost: 1,
            ..Limits::default()
        },
        false,
    )
    .await;
    let r = measured.post(None, GRAPHIQL_INTROSPECTION, json!({})).await;
    let cost = assert_limit(&r, "query cost", "cost", 1);
    println!("GraphiQL's introspection query costs {cost}");

    // The same, eight times over through aliases: refused on its cost.
    let copies: String = (0..7)
        .map(|i| format!("copy{i}: __schema {{ types {{ ...FullType }} }} "))
        .collect();
    let multiplied = GRAPHIQL_INTROSPECTION.replacen("__schema {", &format!("{copies} __schema {{"), 1);
    let r = app.post(None, &multiplied, json!({})).await;
    let figure = assert_limit(&r, "query cost", "cost", 50_000);
    assert!(figure > 7 * cost, "{figure}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_aliased_introspection_fragments_gets_a_small_answer() {
    let app = TestApp::demo().await;
    let aliases: String = (0..30)
        .map(|i| format!("introspection{i}: __schema {{ types {{ ...T }} }} "))
        .collect();
    let op = format!(
        "fragment T on __Type {{ name fields {{ name args {{ name type {{ ...R }} }} type {{ ...R }} }} }} \
         fragment R on __Type {{ name kind ofType {{ name kind ofType {{ name kind ofType {{ name kind }} }} }} }} \
         {{ {aliases} }}"
    );
    let batch: Vec<Value> = (0..10).map(|_| json!({ "query": op })).collect();
    let body = serde_json::to_string(&batch).unwrap();
    assert!(body.len() > 14_000, "{}", body.len());
    let started = std::time::Instant::now();
    let res = app
        .http
        .post(format!("{}/graphql", app.base))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    println!(
        "a {} byte batch of aliased introspection: {} bytes answered in {:?}",
        body.len(),
        text.len(),
        started.elapsed()
    );
    assert!(text.len() < 10_000, "{}", text.len());
    let answers: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(answers.len(), 10);
    for r in &answers {
        assert_limit(r, "query cost", "cost", 50_000);
    }
}

const SAM: &str = "sam@acme.example";

/// The demo's "Kick-off workshop" task, its row locked by an open transaction on the
/// returned connection (`ROLLBACK` on it lets go).
async fn hold_kick_off_task(app: &TestApp) -> (uuid::Uuid, diesel_async::AsyncPgConnection) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let task = app.id_of("tasks", "title", "Kick-off workshop").await;
    let mut holder = AsyncPgConnection::establish(&app.url).await.unwrap();
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM tasks WHERE id = '{task}' FOR UPDATE"
        ))
        .await
        .unwrap();
    (task, holder)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_past_its_time_is_a_timeout_and_its_mutation_leaves_nothing_behind() {
    use diesel_async::SimpleAsyncConnection;
    let app = TestApp::with(
        Limits {
            request_timeout: std::time::Duration::from_millis(700),
            ..Limits::default()
        },
        false,
    )
    .await;
    // Hold the task's row, so that the update waits for it.
    let (task, mut holder) = hold_kick_off_task(&app).await;
    let started = std::time::Instant::now();
    let r = app
        .query_vars(
            SAM,
            "mutation($id: ID!) { updateTask(id: $id, input: { title: \"Changed\" }) { title } }",
            json!({ "id": task }),
        )
        .await;
    println!("timed out after {:?}", started.elapsed());
    assert_eq!(codes(&r), ["TIMEOUT"], "{r}");
    assert!(r["data"].is_null(), "{r}");
    assert_eq!(r["errors"].as_array().unwrap().len(), 1, "{r}");
    holder.batch_execute("ROLLBACK").await.unwrap();

    // The server's transaction is gone once its row can be taken at once (its backend
    // may first run the update, but cannot commit it): then nothing has changed.
    let mut free = false;
    for _ in 0..100 {
        if holder
            .batch_execute(&format!(
                "BEGIN; SELECT 1 FROM tasks WHERE id = '{task}' FOR UPDATE NOWAIT; ROLLBACK"
            ))
            .await
            .is_ok()
        {
            free = true;
            break;
        }
        let _ = holder.batch_execute("ROLLBACK").await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(free, "the timed-out mutation still holds the row");
    let r = app
        .query_vars(
            SAM,
            "query($id: ID!) { task(id: $id) { title } }",
            json!({ "id": task }),
        )
        .await;
    assert_eq!(r["data"]["task"]["title"], "Kick-off workshop", "{r}");
    // And the server still answers, mutations included.
    let r = app
        .query_vars(
            SAM,
            "mutation($id: ID!) { updateTask(id: $id, input: { title: \"Changed\" }) { title } }",
            json!({ "id": task }),
        )
        .await;
    assert_eq!(r["data"]["updateTask"]["title"], "Changed", "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_over_the_size_limit_is_refused_whole() {
    let q = "{ projects(first: 100) { nodes { id name tasks(first: 100) { nodes { id title description status } } } } }";
    let app = TestApp::demo().await;
    let token = app.token(SAM).await;
    let (_, full) = app.post_raw(Some(&token), q, json!({}), &[]).await;
    assert!(full.len() > 2_000, "{full}");

    let tight = TestApp::with(
        Limits {
            max_response_bytes: 2_000,
            ..Limits::default()
        },
        false,
    )
    .await;
    let token = tight.token(SAM).await;
    let before = tight.statements().await;
    let (_, body) = tight.post_raw(Some(&token), q, json!({}), &[]).await;
    let r: Value = serde_json::from_str(&body).unwrap();
    println!("{} bytes refused with {} bytes: {body}", full.len(), body.len());
    let figure = assert_limit(&r, "response size in bytes", "responseBytes", 2_000);
    assert!(figure < full.len() as u64, "stopped before the end: {figure}");
    assert!(tight.statements().await > before);
    // A small answer passes.
    let r = tight.query_as(SAM, "{ viewer { name } }").await;
    assert_eq!(r["data"]["viewer"]["name"], "Sam", "{r}");
    // In a batch, only the operation over the limit is refused.
    let res: Value = tight
        .http
        .post(format!("{}/graphql", tight.base))
        .bearer_auth(&token)
        .json(&json!([{ "query": q }, { "query": "{ viewer { name } }" }]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_limit(&res[0], "response size in bytes", "responseBytes", 2_000);
    assert_eq!(res[1]["data"]["viewer"]["name"], "Sam", "{res}");
}

#[tokio::test(flavor = "multi_thread")]
async fn nul_characters_and_over_long_strings_are_bad_input_naming_their_place() {
    use base64::Engine;
    let app = TestApp::with(
        Limits {
            max_string_chars: 500,
            ..Limits::default()
        },
        false,
    )
    .await;
    let project = app.id_of("projects", "name", "Website Relaunch").await;
    let field = |r: &Value| {
        r["errors"][0]["extensions"]["field"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let cases = [
        (
            "mutation($p: ID!) { createTask(projectId: $p, input: { title: \"a\\u0000b\" }) { id } }",
            json!({ "p": project }),
            "createTask.input.title",
        ),
        (
            "mutation($p: ID!, $t: String!) { createTask(projectId: $p, input: { title: $t }) { id } }",
            json!({ "p": project, "t": "a\u{0}b" }),
            "$t",
        ),
        (
            "mutation($p: ID!, $i: CreateTaskInput!) { createTask(projectId: $p, input: $i) { id } }",
            json!({ "p": project, "i": { "title": "ok", "description": "x\u{0}" } }),
            "$i.description",
        ),
        (
            "mutation($p: ID!, $t: String!) { createTask(projectId: $p, input: { title: $t }) { id } }",
            json!({ "p": project, "t": "é".repeat(501) }),
            "$t",
        ),
        (
            "query($c: String) { projects(after: $c) { totalCount } }",
            json!({ "c": "cA\u{0}" }),
            "$c",
        ),
        (
            "{ projects(after: \"cA\\u0000\") { totalCount } }",
            json!({}),
            "projects.after",
        ),
        (
            "query($c: String) { projects(after: $c) { totalCount } }",
            json!({ "c": base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(format!("p:{project}:Web\u{0}site")) }),
            "after",
        ),
    ];
    for (query, variables, place) in cases {
        let r = app.query_vars(SAM, query, variables).await;
        assert_eq!(codes(&r), ["BAD_USER_INPUT"], "{query}: {r}");
        assert_eq!(field(&r), place, "{r}");
    }
    let r = app
        .query_vars(
            SAM,
            "mutation($p: ID!, $t: String!) { createTask(projectId: $p, input: { title: $t }) { id } }",
            json!({ "p": project, "t": "x".repeat(501) }),
        )
        .await;
    assert_eq!(
        message(&r),
        "invalid value for `$t`: is longer than 500 characters",
        "{r}"
    );
    // Nothing was created; a string at the limit passes.
    let r = app
        .query_vars(
            SAM,
            "mutation($p: ID!, $t: String!) { createTask(projectId: $p, input: { title: $t }) { title } }",
            json!({ "p": project, "t": "x".repeat(500) }),
        )
        .await;
    assert_eq!(
        r["data"]["createTask"]["title"].as_str().map(str::len),
        Some(500),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_bound_of_executions_a_request_waits_its_turn_and_then_answers() {
    use diesel_async::SimpleAsyncConnection;
    let app = TestApp::configured(|c| c.executions_in_flight = 1).await;
    // Hold the task's row: Sam's update takes the one turn and waits for the row.
    let (task, mut holder) = hold_kick_off_task(&app).await;
    let update = app.query_vars(
        SAM,
        "mutation($id: ID!) { updateTask(id: $id, input: { title: \"Turned\" }) { title } }",
        json!({ "id": task }),
    );
    let read = async {
        let waiting = "SELECT count(*) AS n FROM pg_stat_activity \
                       WHERE wait_event_type = 'Lock' AND datname = current_database()";
        let mut tries = 0;
        while app.count(waiting).await == 0 {
            tries += 1;
            assert!(tries < 200, "the update never reached the row");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        // Another caller's query cannot run while the update holds the only turn.
        let mut read = std::pin::pin!(app.query_as("greta@globex.example", "{ viewer { name } }"));
        let early = tokio::time::timeout(std::time::Duration::from_millis(500), read.as_mut()).await;
        assert!(early.is_err(), "answered without a turn: {early:?}");
        holder.batch_execute("ROLLBACK").await.unwrap();
        read.await
    };
    let (updated, read) = tokio::join!(update, read);
    assert_eq!(updated["data"]["updateTask"]["title"], "Turned", "{updated}");
    assert!(updated["errors"].is_null(), "{updated}");
    assert!(read["errors"].is_null(), "{read}");
    assert_eq!(read["data"]["viewer"]["name"], "Greta", "{read}");
}
