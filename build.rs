//! Installs the playground's pinned npm packages (GraphiQL, React) when they are
//! missing, so that `cargo build` alone can embed them.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=playground/package-lock.json");
    println!("cargo:rerun-if-changed=playground/node_modules/graphiql/graphiql.min.js");
    if Path::new("playground/node_modules/graphiql/graphiql.min.js").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix", "playground"])
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`npm ci --prefix playground` failed ({s}); it installs the bundled GraphiQL"),
        Err(e) => panic!("cannot run npm ({e}); it installs the bundled GraphiQL into playground/"),
    }
}
