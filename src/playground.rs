//! GraphiQL, bundled: the page and its assets are compiled into the binary from
//! `playground/` (npm packages pinned by `playground/package-lock.json`, installed by
//! `build.rs` when missing), so the playground works with no network.

pub const INDEX: &str = include_str!("../playground/index.html");

const ASSETS: [(&str, &str, &[u8]); 5] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../playground/app.js"),
    ),
    (
        "react.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../playground/node_modules/react/umd/react.production.min.js"),
    ),
    (
        "react-dom.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../playground/node_modules/react-dom/umd/react-dom.production.min.js"),
    ),
    (
        "graphiql.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../playground/node_modules/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.css",
        "text/css; charset=utf-8",
        include_bytes!("../playground/node_modules/graphiql/graphiql.min.css"),
    ),
];

/// The page's content security policy: nothing but this origin (GraphiQL injects
/// inline styles, and its fonts are `data:` URLs).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A bundled asset by its public name: content type and bytes.
pub fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, mime, body)| (*mime, *body))
}
