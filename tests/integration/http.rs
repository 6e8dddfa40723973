//! GraphQL over HTTP (docs/api.md#requests) and errors a client developer can act on (docs/api.md#errors):
//! media types and statuses, GET, bodies over the limit over raw TCP, CORS, compression
//! and caching headers, every message of a corpus of malformed requests, and
//! graphql-http's own audits against the real server.

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use portal_gateway::config::Limits;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::TestApp;

const GQL: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// No rate limit: these tests send many requests from one address.
async fn unthrottled() -> TestApp {
    let mut limits = Limits::default();
    limits.rate.per_second = 0;
    TestApp::with(limits, false).await
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn errors(&self) -> Vec<&Value> {
        match &self.body {
            Value::Array(items) => items
                .iter()
                .flat_map(|i| i["errors"].as_array().into_iter().flatten())
                .collect(),
            body => body["errors"].as_array().into_iter().flatten().collect(),
        }
    }
}

/// Sends a request; `body` is sent as is with `content_type` (when any).
async fn send(
    app: &TestApp,
    method: &str,
    query_string: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let url = format!("{}/graphql{query_string}", app.base);
    let mut req = app
        .http
        .request(method.parse().unwrap(), url)
        .timeout(Duration::from_secs(20));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(body) = body {
        req = req.body(body.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: not JSON: {text:?}"));
    Answer {
        status,
        headers,
        body,
    }
}

async fn post(app: &TestApp, accept: &str, body: &str, token: Option<&str>) -> Answer {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", JSON), ("accept", accept)];
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    send(app, "POST", "", &headers, Some(body)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn http_media_type_and_status_follow_accept() {
    let app = unthrottled().await;
    let sam = app.token("sam@acme.example").await;
    let ok = r#"{"query":"{ __typename }"}"#;
    for (accept, media) in [
        (None, JSON),
        (Some("*/*"), JSON),
        (Some("application/json"), JSON),
        (Some(GQL), GQL),
        (Some("application/graphql-response+json, application/json"), JSON),
        (
            Some("application/json;q=0.5, application/graphql-response+json"),
            GQL,
        ),
    ] {
        let mut headers = vec![("content-type", JSON)];
        if let Some(a) = accept {
            headers.push(("accept", a));
        }
        let r = send(&app, "POST", "", &headers, Some(ok)).await;
        assert_eq!(r.status, 200, "{accept:?}");
        assert!(
            r.header("content-type").unwrap().starts_with(media),
            "{accept:?}: {:?}",
            r.headers
        );
        assert_eq!(r.body["data"]["__typename"], "Query");
    }

    // Request errors: 400 without data under the new type, 200 with `data: null` under
    // the old one; one error each.
    let projects = r#"query($p: ID!){ project(id: $p) { name } }"#;
    for body in [
        json!({ "query": "{" }),
        json!({ "query": "{ nosuchfield }" }),
        json!({ "query": "query A { __typename } query B { __typename }", "operationName": "C" }),
        json!({ "query": "query A { __typename } query B { __typename }" }),
        json!({ "query": projects, "variables": {} }),
        json!({ "query": projects, "variables": { "p": null } }),
        json!({ "query": "query($f: Int){ projects(first: $f) { totalCount } }", "variables": { "f": "x" } }),
    ] {
        let body = body.to_string();
        let r = post(&app, GQL, &body, Some(&sam)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.get("data").is_none(), "{body}: {}", r.body);
        assert_eq!(r.errors().len(), 1, "{body}: {}", r.body);
        assert!(r.header("content-type").unwrap().starts_with(GQL));
        let r = post(&app, JSON, &body, Some(&sam)).await;
        assert_eq!(r.status, 200, "{body}: {}", r.body);
        assert!(r.body["data"].is_null());
        assert_eq!(r.errors().len(), 1, "{body}: {}", r.body);
        assert!(r.header("content-type").unwrap().starts_with(JSON));
    }
    // An executed operation is 200 with data, errors and all.
    let r = post(
        &app,
        GQL,
        r#"{"query":"{ projects(first: 1) { totalCount } }"}"#,
        Some(&sam),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["data"]["projects"]["totalCount"].is_number());

    // Malformed requests are 400 under either type, in that type.
    for accept in [GQL, JSON] {
        for body in [
            r#"{"query":"#,
            r#"{"qeury":"{ __typename }"}"#,
            r#"{"query":"{ __typename }","variables":"x"}"#,
        ] {
            let r = post(&app, accept, body, None).await;
            assert_eq!(r.status, 400, "{body}");
            assert!(r.header("content-type").unwrap().starts_with(accept));
        }
    }

    // A failing token: 401 with a challenge under the new type; legacy 200 under the old.
    let r = post(&app, GQL, ok, Some("not-a-token")).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer error="invalid_token""#)
    );
    assert_eq!(r.body["errors"][0]["extensions"]["reason"], "invalid_token");
    assert!(r.body.get("data").is_none());
    let r = post(&app, JSON, ok, Some("not-a-token")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["errors"][0]["extensions"]["reason"], "invalid_token");

    // 406, 415, 405.
    let r = send(
        &app,
        "POST",
        "",
        &[("content-type", JSON), ("accept", "text/html")],
        Some(ok),
    )
    .await;
    assert_eq!(r.status, 406);
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
    ] {
        let headers: Vec<(&str, &str)> = content_type.map(|c| ("content-type", c)).into_iter().collect();
        let r = send(&app, "POST", "", &headers, Some(ok)).await;
        assert_eq!(r.status, 415, "{content_type:?}");
    }
    let r = send(
        &app,
        "GET",
        "?query=mutation%20%7B%20__typename%20%7D",
        &[("accept", GQL)],
        None,
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
    let r = send(&app, "PUT", "", &[("content-type", JSON)], Some(ok)).await;
    assert_eq!(r.status, 405);

    // GET reads all four parameters: operationName picks the second operation.
    let doc = "query A { a: __typename } query B($n: String!) { __type(name: $n) { name } }";
    let qs = format!(
        "?query={}&operationName=B&variables={}&extensions={}",
        urlencode(doc),
        urlencode(r#"{"n":"Project"}"#),
        urlencode(r#"{"some":"value"}"#)
    );
    let r = send(&app, "GET", &qs, &[("accept", GQL)], None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({ "data": { "__type": { "name": "Project" } } }));
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What a raw HTTP/1.1 exchange gave: the response as read, or the I/O error.
async fn exchange(
    base: &str,
    head: String,
    body: Vec<Vec<u8>>,
    wait_before_body: bool,
) -> Result<String, String> {
    let addr = base.trim_start_matches("http://");
    let mut socket = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut received = Vec::new();
    let run = async {
        socket
            .write_all(head.as_bytes())
            .await
            .map_err(|e| format!("writing the head: {e}"))?;
        if wait_before_body {
            // A client that sent `Expect: 100-continue` waits for the server's word.
            socket
                .read_to_end(&mut received)
                .await
                .map_err(|e| format!("reading: {e}"))?;
            return Ok(());
        }
        for part in &body {
            socket
                .write_all(part)
                .await
                .map_err(|e| format!("writing the body: {e}"))?;
        }
        socket
            .read_to_end(&mut received)
            .await
            .map_err(|e| format!("reading: {e}"))?;
        Ok::<(), String>(())
    };
    match tokio::time::timeout(Duration::from_secs(15), run).await {
        Ok(Ok(())) => Ok(String::from_utf8_lossy(&received).into_owned()),
        Ok(Err(e)) => Err(format!("{e} (after {} bytes of answer)", received.len())),
        Err(_) => Err("no answer within 15 s".into()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn http_oversized_bodies_always_get_their_413() {
    let app = unthrottled().await;
    let host = app.base.trim_start_matches("http://").to_string();
    let five_mb = {
        let mut body = br#"{"query":"{ __typename }","pad":""#.to_vec();
        body.resize(5_000_000 - 2, b'x');
        body.extend_from_slice(b"\"}");
        body
    };
    let tries = 20;
    let mut passed = [0; 3];
    let mut failures = Vec::new();
    for _ in 0..tries {
        // 5 MB with its Content-Length, head and body in one write.
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            five_mb.len()
        );
        let mut whole = head.into_bytes();
        whole.extend_from_slice(&five_mb);
        match exchange(&app.base, String::new(), vec![whole], false).await {
            Ok(r) if r.starts_with("HTTP/1.1 413") => passed[0] += 1,
            other => failures.push(format!("5 MB in one write: {other:?}")),
        }
        // 2 MB chunked, in 64 KiB chunks.
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        let chunk = vec![b' '; 64 << 10];
        let mut parts: Vec<Vec<u8>> = (0..32)
            .map(|_| {
                let mut part = format!("{:x}\r\n", chunk.len()).into_bytes();
                part.extend_from_slice(&chunk);
                part.extend_from_slice(b"\r\n");
                part
            })
            .collect();
        parts.push(b"0\r\n\r\n".to_vec());
        match exchange(&app.base, head, parts, false).await {
            Ok(r) if r.starts_with("HTTP/1.1 413") => passed[1] += 1,
            other => failures.push(format!("2 MB chunked: {other:?}")),
        }
        // 5 MB announced with `Expect: 100-continue`: 413 at once, never `100 Continue`.
        let head = format!(
            "POST /graphql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            five_mb.len()
        );
        match exchange(&app.base, head, Vec::new(), true).await {
            Ok(r) if r.starts_with("HTTP/1.1 413") => passed[2] += 1,
            other => failures.push(format!("Expect: 100-continue: {other:?}")),
        }
    }
    println!(
        "413 received: 5 MB in one write {}/{tries}, 2 MB chunked {}/{tries}, Expect: 100-continue {}/{tries}",
        passed[0], passed[1], passed[2]
    );
    assert!(failures.is_empty(), "{failures:#?}");
    // The server still answers after all that.
    let r = app.post(None, "{ __typename }", json!({})).await;
    assert_eq!(r["data"]["__typename"], "Query");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_cors_compression_and_caching_headers() {
    let app =
        TestApp::configured(|c| c.cors_allowed_origins = vec!["https://portal.example.com".into()]).await;
    let url = format!("{}/graphql", app.base);
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight("https://portal.example.com").await.unwrap();
    assert!(allowed.status().is_success());
    let h = allowed.headers();
    assert_eq!(h["access-control-allow-origin"], "https://portal.example.com");
    assert!(
        h["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        h["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    let r = app
        .http
        .post(&url)
        .header("origin", "https://portal.example.com")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://portal.example.com"
    );
    assert!(
        r.headers().get("cache-control").is_none(),
        "anonymous answers may be cached"
    );
    // Same-origin only by default.
    let plain = TestApp::demo().await;
    let r = plain
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", plain.base))
        .header("origin", "https://portal.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());

    // nosniff on every answer; no-store on authenticated ones.
    let token = app.token("sam@acme.example").await;
    for path in ["/healthz", "/nothing-here", "/schema.graphql", "/"] {
        let r = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
    }
    let r = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({ "query": "{ viewer { name } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let r = app
        .http
        .post(&url)
        .bearer_auth("bad")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");

    // Compression of answers of 1 KiB or more, when accepted.
    let big = json!({ "query": "{ __schema { types { name description } } }" });
    for (encoding, header) in [("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br")] {
        let r = app
            .http
            .post(&url)
            .header("accept-encoding", encoding)
            .json(&big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-encoding"], header, "{encoding}");
        if header == "gzip" {
            let bytes = r.bytes().await.unwrap();
            let mut text = String::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .unwrap();
            assert!(text.len() >= 1024);
            let v: Value = serde_json::from_str(&text).unwrap();
            assert!(v["data"]["__schema"]["types"].is_array());
        }
    }
    let r = app
        .http
        .post(&url)
        .header("accept-encoding", "gzip")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("content-encoding").is_none(),
        "small answers stay as they are"
    );
    let r = app.http.post(&url).json(&big).send().await.unwrap();
    assert!(
        r.headers().get("content-encoding").is_none(),
        "nothing compressed unasked"
    );

    // The playground's assets under fingerprinted names, cached for good; the page not.
    let page = app.http.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let html = page.text().await.unwrap();
    let assets: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("/playground/"))
        .collect();
    assert_eq!(assets.len(), 5, "{assets:?}");
    for asset in assets {
        let name = asset.trim_start_matches("/playground/");
        let parts: Vec<&str> = name.split('.').collect();
        assert!(parts.len() == 3 && parts[1].len() == 16, "fingerprinted: {name}");
        let r = app.http.get(format!("{}{asset}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{asset}");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let plain = format!("{}/playground/{}.{}", app.base, parts[0], parts[2]);
        let r = app.http.get(plain).send().await.unwrap();
        assert_eq!(r.status(), 404);
        assert!(r.headers().get("cache-control").is_none());
    }
}

/// A malformed request: what it is, method, query string, content type, body, and
/// whether it carries Sam's token.
type Malformed<'a> = (&'a str, &'a str, String, Option<&'a str>, Option<String>, bool);

/// Words that name Rust or its libraries rather than GraphQL or HTTP.
const RUST_WORDS: [&str; 24] = [
    "NaiveDate",
    "NaiveDateTime",
    "DateTime<",
    "Utc",
    "Uuid",
    "i32",
    "i64",
    "u64",
    "usize",
    "f64",
    "Vec<",
    "Option<",
    "HashMap",
    "BatchRequest",
    "untagged",
    "variant",
    "invalid type:",
    "serde",
    "async_graphql",
    "ConstValue",
    "struct ",
    "Bytes",
    "-->",
    "::",
];

#[tokio::test(flavor = "multi_thread")]
async fn http_every_error_message_is_one_actionable_line() {
    let app = unthrottled().await;
    let sam = format!("Bearer {}", app.token("sam@acme.example").await);
    let project = app.id_of("projects", "name", "Website Relaunch").await;
    let create = "mutation($p: ID!, $i: CreateTaskInput!) { createTask(projectId: $p, input: $i) { id } }";
    let two_mb = format!(
        r#"{{"query":"{{ __typename }}","pad":"{}"}}"#,
        "x".repeat(2 << 20)
    );
    let eleven: Vec<Value> = (0..11).map(|_| json!({ "query": "{ __typename }" })).collect();
    let eleven = Value::from(eleven).to_string();
    // (what, method, query string, content type, body, authenticated)
    let corpus: Vec<Malformed> = vec![
        ("bad JSON", "POST", String::new(), Some(JSON), Some(r#"{"query": "{ __typename }"#.into()), false),
        ("trailing garbage", "POST", String::new(), Some(JSON), Some(r#"{"query":"{ __typename }"} x"#.into()), false),
        ("empty body", "POST", String::new(), Some(JSON), Some(String::new()), false),
        ("a string body", "POST", String::new(), Some(JSON), Some(r#""{ __typename }""#.into()), false),
        ("a number body", "POST", String::new(), Some(JSON), Some("5".into()), false),
        ("query a number", "POST", String::new(), Some(JSON), Some(r#"{"query":5}"#.into()), false),
        ("query an object", "POST", String::new(), Some(JSON), Some(r#"{"query":{"a":1}}"#.into()), false),
        ("query an array", "POST", String::new(), Some(JSON), Some(r#"{"query":["{ a }"]}"#.into()), false),
        ("no query", "POST", String::new(), Some(JSON), Some("{}".into()), false),
        ("misspelt query", "POST", String::new(), Some(JSON), Some(r#"{"qeury":"{ __typename }"}"#.into()), false),
        ("variables a string", "POST", String::new(), Some(JSON), Some(r#"{"query":"{ __typename }","variables":"{}"}"#.into()), false),
        ("variables an array", "POST", String::new(), Some(JSON), Some(r#"{"query":"{ __typename }","variables":[1]}"#.into()), false),
        ("operationName a number", "POST", String::new(), Some(JSON), Some(r#"{"query":"{ __typename }","operationName":5}"#.into()), false),
        ("extensions a string", "POST", String::new(), Some(JSON), Some(r#"{"query":"{ __typename }","extensions":"x"}"#.into()), false),
        ("variable of the wrong type", "POST", String::new(), Some(JSON),
            Some(json!({ "query": "query($f: Int){ projects(first: $f) { totalCount } }", "variables": { "f": "x" } }).to_string()), true),
        ("variable not an integer", "POST", String::new(), Some(JSON),
            Some(json!({ "query": "query($f: Int){ projects(first: $f) { totalCount } }", "variables": { "f": 1.5 } }).to_string()), true),
        ("required variable missing", "POST", String::new(), Some(JSON),
            Some(json!({ "query": "query($p: ID!){ project(id: $p) { name } }", "variables": {} }).to_string()), true),
        ("required variable null", "POST", String::new(), Some(JSON),
            Some(json!({ "query": "query($p: ID!){ project(id: $p) { name } }", "variables": { "p": null } }).to_string()), true),
        ("literal argument of the wrong type", "POST", String::new(), Some(JSON),
            Some(json!({ "query": "{ projects(first: \"a\") { totalCount } }" }).to_string()), true),
        ("bad date", "POST", String::new(), Some(JSON),
            Some(json!({ "query": create, "variables": { "p": project, "i": { "title": "t", "dueDate": "next week" } } }).to_string()), true),
        ("bad enum", "POST", String::new(), Some(JSON),
            Some(json!({ "query": create, "variables": { "p": project, "i": { "title": "t", "priority": "SOON" } } }).to_string()), true),
        ("bad id", "POST", String::new(), Some(JSON),
            Some(json!({ "query": "{ project(id: \"nope\") { name } }" }).to_string()), true),
        ("unknown operation", "POST", String::new(), Some(JSON),
            Some(json!({ "query": "query A { __typename }", "operationName": "B" }).to_string()), false),
        ("operation not chosen", "POST", String::new(), Some(JSON),
            Some(json!({ "query": "query A { __typename } query B { __typename }" }).to_string()), false),
        ("unclosed selection", "POST", String::new(), Some(JSON),
            Some(json!({ "query": "{ projects(first: 1) { totalCount }" }).to_string()), true),
        ("missing argument value", "POST", String::new(), Some(JSON), Some(json!({ "query": "{ projects(first: ) { totalCount } }" }).to_string()), true),
        ("stray brace", "POST", String::new(), Some(JSON), Some(json!({ "query": "}" }).to_string()), false),
        ("long line parse error", "POST", String::new(), Some(JSON),
            Some(json!({ "query": format!("{{ {} projects(first: 1) {{ totalCount }} ]", "__typename ".repeat(30)) }).to_string()), true),
        ("unknown field", "POST", String::new(), Some(JSON), Some(json!({ "query": "{ nosuchfield }" }).to_string()), true),
        ("unknown argument", "POST", String::new(), Some(JSON), Some(json!({ "query": "{ projects(last: 1) { totalCount } }" }).to_string()), true),
        ("PUT", "PUT", String::new(), Some(JSON), Some(r#"{"query":"{ __typename }"}"#.into()), false),
        ("DELETE", "DELETE", String::new(), None, None, false),
        ("mutation over GET", "GET", "?query=mutation%7B__typename%7D".into(), None, None, false),
        ("GET without query", "GET", String::new(), None, None, false),
        ("GET variables not JSON", "GET", "?query=%7B__typename%7D&variables=%7B".into(), None, None, false),
        ("GET query twice", "GET", "?query=%7B__typename%7D&query=%7B__typename%7D".into(), None, None, false),
        ("no content type", "POST", String::new(), None, Some(r#"{"query":"{ __typename }"}"#.into()), false),
        ("text/plain", "POST", String::new(), Some("text/plain"), Some(r#"{"query":"{ __typename }"}"#.into()), false),
        ("a form", "POST", String::new(), Some("application/x-www-form-urlencoded"), Some("query=%7B__typename%7D".into()), false),
        ("latin-1 JSON", "POST", String::new(), Some("application/json; charset=iso-8859-1"), Some(r#"{"query":"{ __typename }"}"#.into()), false),
        ("oversized", "POST", String::new(), Some(JSON), Some(two_mb), false),
        ("empty batch", "POST", String::new(), Some(JSON), Some("[]".into()), false),
        ("batch of numbers", "POST", String::new(), Some(JSON), Some("[1, 2]".into()), false),
        ("batch element without query", "POST", String::new(), Some(JSON), Some(r#"[{"query":"{ __typename }"}, {}]"#.into()), false),
        ("batch too long", "POST", String::new(), Some(JSON), Some(eleven), false),
        ("batch with a parse error", "POST", String::new(), Some(JSON), Some(r#"[{"query":"{"}, {"query":"{ __typename }"}]"#.into()), false),
        ("invalid token", "POST", String::new(), Some(JSON), Some(r#"{"query":"{ __typename }"}"#.into()), false),
    ];
    let mut problems = Vec::new();
    let mut checked = 0;
    for (what, method, qs, content_type, body, authenticated) in &corpus {
        for accept in [GQL, JSON] {
            let mut headers: Vec<(&str, &str)> = vec![("accept", accept)];
            if let Some(c) = content_type {
                headers.push(("content-type", c));
            }
            if *authenticated {
                headers.push(("authorization", &sam));
            }
            if *what == "invalid token" {
                headers.push(("authorization", "Bearer nope"));
            }
            let r = send(&app, method, qs, &headers, body.as_deref()).await;
            // One problem, one error (a batch: per operation, at most one).
            let answers: Vec<&Value> = match &r.body {
                Value::Array(items) => items.iter().collect(),
                body => vec![body],
            };
            let expected = if answers.len() > 1 { answers.len() - 1 } else { 1 };
            if r.errors().len() != expected {
                problems.push(format!(
                    "{what} ({accept}): {} errors: {}",
                    r.errors().len(),
                    r.body
                ));
            }
            for error in r.errors() {
                checked += 1;
                let message = error["message"].as_str().unwrap_or_default();
                let bad_word = RUST_WORDS.iter().find(|w| message.contains(*w));
                if message.is_empty() || message.contains('\n') || bad_word.is_some() {
                    problems.push(format!("{what} ({accept}): {message:?} ({bad_word:?})"));
                }
                if !error["extensions"]["code"].is_string() {
                    problems.push(format!("{what} ({accept}): no code: {error}"));
                }
            }
            if accept == GQL && r.status == 200 && r.body.get("data").is_none() && !r.body.is_array() {
                problems.push(format!("{what}: 200 without data"));
            }
            if accept == GQL && r.status >= 400 && r.body.get("data").is_some() {
                problems.push(format!("{what}: {} with data", r.status));
            }
        }
    }
    println!("{} requests, {checked} error messages checked", corpus.len() * 2);
    assert!(problems.is_empty(), "{problems:#?}");
}

/// graphql-http's server audits (pinned in tests/http-audit, installed by `make test`)
/// against the real server: every MUST and every SHOULD passes.
#[tokio::test(flavor = "multi_thread")]
async fn http_graphql_http_audit_passes_every_must_and_should() {
    let app = unthrottled().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/http-audit/audit.mjs");
    let url = format!("{}/graphql", app.base);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args([script, &url])
            .output()
            .expect("node runs (make test installs tests/http-audit's packages)")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for level in ["MUST", "SHOULD"] {
        assert_eq!(counts[level]["failed"], 0, "{counts}");
        assert!(counts[level]["ok"].as_u64().unwrap() > 0, "{counts}");
    }
}
