//! Integration tests: the real server over HTTP against a real PostgreSQL database per
//! test.

mod harness;

mod actions;
mod admin;
mod audit;
mod auth;
mod clients;
mod deny_by_default;
mod edge;
mod error_hiding;
mod fixtures;
mod fuzz;
mod hiding;
mod limits;
mod model;
mod preview;
mod role_data;
mod roles;
mod scope;
mod served;
mod statements;
