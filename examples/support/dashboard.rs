//! The dashboard driver shared by `instructions` and `allocations`: the router of `serve`
//! (CORS, compression, metrics, token, rate limit, audit, the schema) and its pool,
//! driven in-process one request at a time. Request `i` carries token `i mod n`, in both
//! phases, so runs with different counts see the same callers in the same order. Every
//! answer must be `200` without errors.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use portal_gateway::config::Config;
use portal_gateway::db::{self, StatementCounter};
use portal_gateway::http::{self, AppState};
use tower::ServiceExt;

/// What the measured phase did.
pub struct Measured {
    pub requests: usize,
    pub statements: u64,
    pub answer_bytes: usize,
}

/// Reads `<body.json> <tokens.txt> <warm-up requests> <measured requests>` from the
/// command line and drives the dashboards on one thread (so that counts do not depend
/// on how work lands on workers); `around` is called before (`true`) and after
/// (`false`) each measured request.
pub fn main(usage: &str, around: impl FnMut(bool)) -> anyhow::Result<Measured> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [body, tokens, warmup, requests] = &args[..] else {
        bail!("usage: {usage} <body.json> <tokens.txt> <warm-up requests> <measured requests>");
    };
    let body = std::fs::read(body).context("reading the body")?;
    let tokens: Vec<String> = std::fs::read_to_string(tokens)
        .context("reading the tokens")?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if tokens.is_empty() {
        bail!("no tokens");
    }
    let warmup: usize = warmup.parse()?;
    let requests: usize = requests.parse()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(body, tokens, warmup, requests, around))
}

async fn run(
    body: Vec<u8>,
    tokens: Vec<String>,
    warmup: usize,
    requests: usize,
    mut around: impl FnMut(bool),
) -> anyhow::Result<Measured> {
    let config = Config::from_env()?;
    let statements = StatementCounter::default();
    let pool = db::pool(
        &config.database_url,
        config.pool_size,
        config.acquire_timeout,
        &statements,
    )?;
    let (state, audit) = AppState::new(config, pool, statements.clone())?;
    let router = http::router(state);
    let mut answer_bytes = 0;
    let mut before = 0;
    for i in 0..warmup + requests {
        if i == warmup {
            before = statements.get();
        }
        let measured = i >= warmup;
        if measured {
            around(true);
        }
        let n = one(&router, &body, &tokens[i % tokens.len()]).await?;
        if measured {
            around(false);
            answer_bytes += n;
        }
    }
    let statements = statements.get() - before;
    // Every audit event of the run is written before the count ends.
    drop(router);
    audit.finish().await;
    Ok(Measured {
        requests,
        statements,
        answer_bytes,
    })
}

/// One `POST /graphql` as `token`; the answer's size.
async fn one(router: &axum::Router, body: &[u8], token: &str) -> anyhow::Result<usize> {
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
        .body(Body::from(body.to_vec()))?;
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    // `str::contains` (SIMD) rather than a scan by windows, which cost 0.26 M
    // instructions per answer: the driver's own work is counted with the gateway's.
    let answered = std::str::from_utf8(&bytes).is_ok_and(|text| !text.contains("\"errors\":"));
    if status != StatusCode::OK || !answered {
        bail!(
            "answer {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        );
    }
    Ok(bytes.len())
}
