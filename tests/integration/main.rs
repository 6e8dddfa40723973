//! Integration tests: the real server over HTTP against a real PostgreSQL database per
//! test.

mod harness;

mod actions;
mod admin;
mod audit;
mod audit_shapes;
mod auth;
mod auth_idp;
mod clients;
mod cluster;
mod deny_by_default;
mod descriptions;
mod edge;
mod error_hiding;
mod fixtures;
mod fuzz;
mod grants_cache;
mod hiding;
mod http;
mod limits;
mod live;
mod metrics;
mod model;
mod notifications;
mod persisted;
mod pgbouncer;
mod preview;
mod replica;
mod role_data;
mod roles;
mod run;
mod scope;
mod served;
mod statements;
