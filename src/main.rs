//! The `portal-gateway` binary: parse the command line and configuration, then serve,
//! migrate, seed or mint a token. Nothing else lives here.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use portal_gateway::auth::{Claims, TokenKind, Tokens};
use portal_gateway::config::Config;
use portal_gateway::db::{self, StatementCounter, queries};
use portal_gateway::http::{self, AppState};
use portal_gateway::seed::{self, Seed};
use portal_gateway::{graphql, metrics};

/// The allocator: glibc's malloc took a third of the server's CPU under load
/// (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: portal_gateway::alloc::Mimalloc = portal_gateway::alloc::Mimalloc;

/// GraphQL gateway for client portals. Configuration comes from the environment
/// (see `.env.example`).
#[derive(Parser)]
#[command(name = "portal-gateway", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve GraphQL, GraphiQL and the health endpoints on LISTEN_ADDR, and metrics on
    /// METRICS_ADDR when set. Binds its ports before it touches any data.
    Serve {
        /// Apply pending migrations (after binding, before serving).
        #[arg(long)]
        migrate: bool,
        /// Load the demo when its workspace is missing (after binding and migrating);
        /// never replaces what is there.
        #[arg(long)]
        seed_demo: bool,
    },
    /// Apply pending migrations to DATABASE_URL.
    Migrate,
    /// Load data: `seed demo` loads the demo workspaces when they are missing and keeps
    /// them (and whatever was created in them) when they are there.
    Seed {
        /// What to load (only `demo`).
        dataset: String,
        /// Start over: replace the demo workspaces by a fresh copy, dropping whatever
        /// was created in them.
        #[arg(long)]
        reset: bool,
    },
    /// Mint a bearer token for a user, for development and tests.
    Token {
        /// The user's e-mail (staff or external).
        #[arg(long)]
        email: String,
        /// The workspace id, when the e-mail is used in several workspaces (an external
        /// user's e-mail is unique per workspace only).
        #[arg(long)]
        workspace: Option<uuid::Uuid>,
        /// Lifetime in hours (at most TOKEN_MAX_LIFETIME, or the token is refused).
        #[arg(long, default_value_t = 12)]
        hours: i64,
    },
    /// Print the GraphQL schema (SDL) that the server serves.
    Schema,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    if let Command::Schema = cli.command {
        print!("{}", graphql::sdl());
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Back near idle after a burst (src/alloc.rs).
        .on_thread_park(portal_gateway::alloc::on_park)
        .build()?;
    runtime.block_on(run(cli.command))
}

async fn run(command: Command) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    match command {
        Command::Serve { migrate, seed_demo } => serve(config, migrate, seed_demo).await,
        Command::Migrate => {
            let n = db::migrate(config.direct_url()).await?;
            println!("applied {n} migration(s)");
            Ok(())
        }
        Command::Seed { dataset, reset } => {
            if dataset != "demo" {
                bail!("unknown dataset {dataset:?} (only `demo`)");
            }
            let how = if reset { Seed::Reset } else { Seed::IfMissing };
            if seed::demo(config.direct_url(), how).await? {
                println!("seeded the demo workspace");
            } else {
                println!("the demo workspace is there: kept it (`seed demo --reset` starts over)");
            }
            Ok(())
        }
        Command::Token {
            email,
            workspace,
            hours,
        } => {
            let pool = db::pool_through(
                &config.database_url,
                config.pooler,
                1,
                config.acquire_timeout,
                &StatementCounter::default(),
            )?;
            let mut conn = pool.get().await.context("connecting to the database")?;
            let users: Vec<_> = queries::users_by_email(&mut conn, &email)
                .await?
                .into_iter()
                .filter(|(_, ws, _)| workspace.is_none_or(|w| w == *ws))
                .collect();
            let (id, ws, staff) = match users[..] {
                [] => bail!("no user with e-mail {email}"),
                [user] => user,
                _ => bail!("{email} is used in several workspaces: pass --workspace <id>"),
            };
            let kind = if staff {
                TokenKind::Staff
            } else {
                TokenKind::External
            };
            let claims = Claims::issued_now(id, kind, ws, chrono::Duration::hours(hours));
            let secret = config
                .jwt_secret
                .as_ref()
                .context("minting a token needs JWT_SECRET (the identity provider mints its own)")?;
            println!("{}", Tokens::hs256(&secret.0).mint(&claims));
            Ok(())
        }
        Command::Schema => Ok(()),
    }
}

/// Logs to stderr as `RUST_LOG` filters: text, coloured only on a terminal, or JSON
/// lines with `LOG_FORMAT=json`.
fn init_logging() {
    use std::io::IsTerminal;
    // `.env` may set LOG_FORMAT and RUST_LOG too; the configuration is read later.
    let _ = dotenvy::dotenv();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "portal_gateway=info,warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let json = std::env::var("LOG_FORMAT").is_ok_and(|f| f.trim().eq_ignore_ascii_case("json"));
    if json {
        builder.json().flatten_event(true).with_ansi(false).init();
    } else {
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        builder.with_ansi(colour).init();
    }
}

/// Binds first (so a second `make run` fails before touching data), then migrates and
/// seeds as asked, then serves until SIGINT or SIGTERM.
async fn serve(config: Config, migrate: bool, seed_demo: bool) -> anyhow::Result<()> {
    let listener = bind(config.listen_addr).await?;
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    if migrate {
        let n = db::migrate(config.direct_url()).await?;
        tracing::info!(applied = n, "migrations");
    }
    if seed_demo {
        if seed::demo(config.direct_url(), Seed::IfMissing).await? {
            tracing::info!("seeded the demo workspace");
        } else {
            tracing::info!("kept the demo workspace (`seed demo --reset` starts over)");
        }
    }
    let statements = StatementCounter::default();
    let pool = db::pool_through(
        &config.database_url,
        config.pooler,
        config.pool_size,
        config.acquire_timeout,
        &statements,
    )?;
    let addr = listener.local_addr()?;
    let (state, audit) = AppState::new(config, pool, statements)?;
    let metrics_server = match metrics_listener {
        Some(l) => {
            tracing::info!(addr = %l.local_addr()?, "serving metrics at /metrics");
            Some(tokio::spawn(metrics::serve(l, state.metrics.clone())))
        }
        None => None,
    };
    tracing::info!(%addr, dev_mode = state.config.dev_mode, "serving GraphiQL at http://{addr}/");
    // The client's address keys the rate limit of anonymous callers.
    let app = http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    if let Some(m) = metrics_server {
        m.abort();
    }
    // Every queued audit event is written before the process ends.
    audit.finish().await;
    Ok(())
}

async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

async fn shutdown() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
