//! GraphiQL, bundled: the page and its assets are compiled into the binary from
//! `playground/` (npm packages pinned by `playground/package-lock.json`, installed by
//! `build.rs` when missing), so the playground works with no network. Each asset is
//! served under a name carrying a hash of its content (`app.3f0c….js`), so that it can be
//! cached for good: a new build changes the name, and the page, which is never cached
//! long, names the new one.

use std::hash::{DefaultHasher, Hasher};
use std::sync::LazyLock;

const PAGE: &str = include_str!("../playground/index.html");

/// The page, naming the assets by their fingerprinted names.
pub static INDEX: LazyLock<String> = LazyLock::new(|| {
    FINGERPRINTED.iter().fold(PAGE.to_string(), |page, (public, i)| {
        page.replace(
            &format!("\"/playground/{}\"", ASSETS[*i].0),
            &format!("\"/playground/{public}\""),
        )
    })
});

/// Each asset's public name (`<stem>.<hash>.<extension>`) and its index in [`ASSETS`].
static FINGERPRINTED: LazyLock<Vec<(String, usize)>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .enumerate()
        .map(|(i, (name, _, body))| {
            let mut hasher = DefaultHasher::new();
            hasher.write(body);
            let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
            (format!("{stem}.{:016x}.{extension}", hasher.finish()), i)
        })
        .collect()
});

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

/// A bundled asset by its public (fingerprinted) name: content type and bytes.
pub fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    FINGERPRINTED
        .iter()
        .find(|(public, _)| public == name)
        .map(|(_, i)| (ASSETS[*i].1, ASSETS[*i].2))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_names_every_asset_by_its_fingerprint() {
        for (public, i) in super::FINGERPRINTED.iter() {
            assert!(
                super::INDEX.contains(&format!("\"/playground/{public}\"")),
                "{public}"
            );
            assert!(super::asset(public).is_some());
            assert!(super::asset(super::ASSETS[*i].0).is_none());
        }
    }
}
