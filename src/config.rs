//! Configuration, read once from the environment (and a `.env` file, if present).
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `DATABASE_URL` | `postgres://postgres@127.0.0.1:5432/portal_gateway` | PostgreSQL to serve from |
//! | `JWT_SECRET` | a development secret (refused unless `DEV_MODE`) | HS256 key for bearer tokens |
//! | `LISTEN_ADDR` | `127.0.0.1:8080` | where `serve` listens |
//! | `DEV_MODE` | `false` | serve the demo personas' tokens to the playground |
//! | `DB_POOL_SIZE` | `16` | connections in the pool |
//! | `MAX_DEPTH` | `12` | deepest query accepted |
//! | `MAX_ALIASES` | `30` | most aliased fields in one document |
//! | `MAX_COMPLEXITY` | `10000` | costliest query accepted (list fields weigh `first`) |
//! | `MAX_BODY_BYTES` | `1048576` | largest request body |
//! | `MAX_BATCH` | `10` | operations per batched request |
//! | `MAX_PAGE` | `100` | largest `first` |

use std::net::SocketAddr;

use anyhow::{Context, bail};

pub const DEV_SECRET: &str = "portal-gateway-development-secret-change-me";

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    /// Never printed: `Debug` of `Config` is only used with this field redacted.
    pub jwt_secret: Secret,
    pub listen_addr: SocketAddr,
    pub dev_mode: bool,
    pub pool_size: usize,
    pub limits: Limits,
}

/// Limits against abuse (SPEC §11); each refused with a clear error.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_depth: usize,
    pub max_aliases: usize,
    pub max_complexity: usize,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub max_page: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 12,
            max_aliases: 30,
            max_complexity: 10_000,
            max_body_bytes: 1 << 20,
            max_batch: 10,
            max_page: 100,
        }
    }
}

/// A value that must not appear in logs.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parsed<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}")),
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let _ = dotenvy::dotenv();
        let dev_mode = parsed("DEV_MODE", false)?;
        let jwt_secret = match var("JWT_SECRET") {
            Some(s) => s,
            None if dev_mode => DEV_SECRET.to_string(),
            None => bail!("JWT_SECRET is not set (or set DEV_MODE=true for the development secret)"),
        };
        let defaults = Limits::default();
        Ok(Config {
            database_url: var("DATABASE_URL")
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/portal_gateway".into()),
            jwt_secret: Secret(jwt_secret),
            listen_addr: parsed("LISTEN_ADDR", "127.0.0.1:8080".parse().context("default")?)?,
            dev_mode,
            pool_size: parsed("DB_POOL_SIZE", 16)?,
            limits: Limits {
                max_depth: parsed("MAX_DEPTH", defaults.max_depth)?,
                max_aliases: parsed("MAX_ALIASES", defaults.max_aliases)?,
                max_complexity: parsed("MAX_COMPLEXITY", defaults.max_complexity)?,
                max_body_bytes: parsed("MAX_BODY_BYTES", defaults.max_body_bytes)?,
                max_batch: parsed("MAX_BATCH", defaults.max_batch)?,
                max_page: parsed("MAX_PAGE", defaults.max_page)?,
            },
        })
    }
}
