//! One GraphQL request through the whole gateway but the network, repeated: the router
//! of `serve` (CORS, compression, metrics, token, rate limit, audit, the schema) and its
//! pool, driven in-process, so that `valgrind --tool=callgrind` counts the gateway's
//! instructions per request and nothing else (PostgreSQL is another process). Run by
//! `make instructions` (bench/run.py, see BENCHMARKS.md), which runs it twice with
//! different request counts and takes the difference, so start-up cancels out.
//!
//! ```sh
//! instructions <body.json> <tokens.txt> <warm-up requests> <measured requests>
//! ```
//!
//! The configuration is the server's (`DATABASE_URL`, `JWT_SECRET`, …); the driver is
//! `support/dashboard.rs`, shared with `allocations`. Prints one JSON line: requests,
//! statements and answer bytes of the measured phase.

#[path = "support/dashboard.rs"]
mod dashboard;

/// The server's allocator, so that allocation costs what it costs in `serve`.
#[global_allocator]
static GLOBAL: portal_gateway::alloc::Mimalloc = portal_gateway::alloc::Mimalloc;

fn main() -> anyhow::Result<()> {
    let m = dashboard::main("instructions", |_| {})?;
    println!(
        "{}",
        serde_json::json!({ "requests": m.requests, "statements": m.statements, "answer_bytes": m.answer_bytes })
    );
    Ok(())
}
