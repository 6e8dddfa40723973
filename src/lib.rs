//! portal-gateway: a GraphQL server for client portals that decides, per caller and per
//! field, what is visible. See `README.md` and `docs/`.
//!
//! A request goes `http` → `auth` (who) → `graphql` (resolvers) → `access` (what they
//! may see) → `db` (scoped SQL).

pub mod access;
pub mod alloc;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod playground;
pub mod rate;
pub mod seed;
