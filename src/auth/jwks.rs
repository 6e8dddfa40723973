//! The identity provider's public keys (a JWKS, docs/api.md#tokens), fetched from a URL or read from
//! a file, cached, and refreshed without letting a caller make us hammer the provider.
//!
//! - The set is loaded on first use and again once it is older than the cache TTL; while
//!   a refresh runs, callers whose key is cached keep using it instead of waiting.
//! - A `kid` the set does not hold refreshes it, but at most once per `min_refresh`:
//!   tokens with random `kid`s cost the provider one fetch per interval, not one each.
//! - A fetch gives up after `fetch_timeout`; a failed one keeps the cached set serving
//!   and is not retried before `min_refresh` has passed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::config::IdentityProvider;

/// A JWKS body larger than this is refused (a provider's set is a few KiB).
const MAX_BODY_BYTES: usize = 1 << 20;

/// Where the set comes from.
#[derive(Debug)]
enum Source {
    Url(reqwest::Url),
    File(PathBuf),
}

/// The set could not be set up (at startup, never per request).
#[derive(Debug, thiserror::Error)]
pub enum JwksSetupError {
    #[error("JWT_JWKS_URL {0:?} is not a valid URL")]
    Url(String),
    #[error("HTTP client for JWT_JWKS_URL: {0}")]
    Client(#[from] reqwest::Error),
}

/// Signature keys by `kid` and the algorithm they verify: an RSA key verifies RS256
/// only, a P-256 key ES256 only, so a token cannot pick another use for a key.
type Keys = HashMap<(String, Algorithm), Arc<DecodingKey>>;

#[derive(Default)]
struct Cached {
    keys: Arc<Keys>,
    /// The last successful fetch.
    fetched_at: Option<Instant>,
    /// After a failed fetch: none before this.
    retry_at: Option<Instant>,
    /// The last refresh for a `kid` the set did not hold.
    unknown_kid_refresh_at: Option<Instant>,
    /// Fetch attempts so far: a caller that waited for another's fetch does not repeat it.
    attempts: u64,
}

pub struct Jwks {
    source: Source,
    client: reqwest::Client,
    ttl: Duration,
    min_refresh: Duration,
    timeout: Duration,
    cached: Mutex<Cached>,
    /// Held while fetching: one fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl Jwks {
    /// `http(s)://…` is fetched, `file://…` or anything else is a file path.
    pub fn new(idp: &IdentityProvider) -> Result<Jwks, JwksSetupError> {
        let location = idp.jwks_url.trim();
        let lower = location.to_ascii_lowercase();
        let source = if lower.starts_with("http://") || lower.starts_with("https://") {
            Source::Url(reqwest::Url::parse(location).map_err(|_| JwksSetupError::Url(location.into()))?)
        } else {
            Source::File(PathBuf::from(
                location.strip_prefix("file://").unwrap_or(location),
            ))
        };
        let client = reqwest::Client::builder()
            .timeout(idp.fetch_timeout)
            .connect_timeout(idp.fetch_timeout)
            .build()?;
        Ok(Jwks {
            source,
            client,
            ttl: idp.cache_ttl,
            min_refresh: idp.min_refresh,
            timeout: idp.fetch_timeout,
            cached: Mutex::new(Cached::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// The key with this `kid` for this algorithm, refreshing the set when it is stale
    /// or does not hold the `kid` (each within the limits of the module doc).
    pub async fn key(&self, kid: &str, alg: Algorithm) -> Option<Arc<DecodingKey>> {
        let now = Instant::now();
        let (found, stale, refresh_for_kid, attempts) = {
            let c = self.lock();
            let may_fetch = c.retry_at.is_none_or(|t| now >= t);
            let found = c.keys.get(&(kid.to_owned(), alg)).cloned();
            let stale = may_fetch && c.fetched_at.is_none_or(|t| now.duration_since(t) >= self.ttl);
            let refresh_for_kid = may_fetch
                && found.is_none()
                && c.unknown_kid_refresh_at
                    .is_none_or(|t| now.duration_since(t) >= self.min_refresh);
            (found, stale, refresh_for_kid, c.attempts)
        };
        if let Some(key) = &found {
            if !stale {
                return found;
            }
            // Stale but held: one caller refreshes (within the timeout); the others
            // keep using the held key instead of queueing behind it.
            if let Ok(_fetching) = self.fetching.try_lock() {
                if self.lock().attempts == attempts {
                    self.refresh(attempts, false).await;
                }
                return self.lookup(kid, alg);
            }
            return Some(key.clone());
        }
        if !stale && !refresh_for_kid {
            return None;
        }
        let _fetching = self.fetching.lock().await;
        // Someone fetched while we waited: their set is as new as ours would be.
        if self.lock().attempts == attempts {
            self.refresh(attempts, !stale).await;
        }
        self.lookup(kid, alg)
    }

    fn lookup(&self, kid: &str, alg: Algorithm) -> Option<Arc<DecodingKey>> {
        self.lock().keys.get(&(kid.to_owned(), alg)).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cached> {
        // A panic while holding the lock cannot leave `Cached` half-written (each field
        // is assigned whole), so a poisoned lock is still a usable one.
        self.cached.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fetches the set (the caller holds `fetching`); on failure the cached set stays.
    async fn refresh(&self, attempts: u64, for_unknown_kid: bool) {
        let result = tokio::time::timeout(self.timeout, self.fetch()).await;
        let now = Instant::now();
        let mut c = self.lock();
        c.attempts = attempts + 1;
        if for_unknown_kid {
            c.unknown_kid_refresh_at = Some(now);
        }
        match result {
            Ok(Ok(keys)) => {
                tracing::debug!(keys = keys.len(), "JWKS loaded");
                c.keys = Arc::new(keys);
                c.fetched_at = Some(now);
                c.retry_at = None;
            }
            Ok(Err(why)) => {
                tracing::warn!(source = ?self.source, "JWKS not refreshed, the cached set stays: {why}");
                c.retry_at = Some(now + self.min_refresh);
            }
            Err(_) => {
                tracing::warn!(source = ?self.source, timeout = ?self.timeout, "JWKS fetch timed out, the cached set stays");
                c.retry_at = Some(now + self.min_refresh);
            }
        }
    }

    async fn fetch(&self) -> Result<Keys, String> {
        let body = match &self.source {
            Source::File(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || std::fs::read(&path))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?
            }
            Source::Url(url) => {
                let mut response = self
                    .client
                    .get(url.clone())
                    .header(reqwest::header::ACCEPT, "application/json")
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("HTTP {}", response.status()));
                }
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(format!("larger than {MAX_BODY_BYTES} bytes"));
                    }
                    body.extend_from_slice(&chunk);
                }
                body
            }
        };
        parse(&body)
    }
}

/// The usable signature keys of a JWKS document. A key we cannot use (another type,
/// curve or algorithm, an encryption key, no `kid`) is skipped, not fatal: providers
/// publish keys for other clients too.
fn parse(body: &[u8]) -> Result<Keys, String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = serde_json::from_slice(body).map_err(|e| format!("not a JWKS: {e}"))?;
    Ok(set
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
        .filter_map(|jwk| signature_key(&jwk))
        .collect())
}

fn signature_key(jwk: &Jwk) -> Option<((String, Algorithm), Arc<DecodingKey>)> {
    let kid = jwk.common.key_id.clone()?;
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    let (alg, named) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        _ => return None,
    };
    // A key that names its algorithm is used for that one only.
    if jwk.common.key_algorithm.is_some_and(|a| a != named) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(((kid, alg), Arc::new(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_usable_signature_keys() {
        let body = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "r", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "sXch", "e": "AQAB"},
            {"kty": "RSA", "n": "sXch", "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kty": "who-knows", "kid": "future"},
        ]});
        let keys = parse(body.to_string().as_bytes()).unwrap();
        let kids: Vec<_> = keys.keys().collect();
        assert_eq!(kids, [&("r".to_string(), Algorithm::RS256)]);
    }

    #[test]
    fn refuses_what_is_not_a_jwks() {
        assert!(parse(b"<html>").is_err());
        assert!(parse(b"{\"keys\": 3}").is_err());
    }
}
