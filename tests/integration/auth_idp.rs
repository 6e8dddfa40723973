//! Tokens from an identity provider (docs/api.md#tokens), RS256 / ES256 verified against its JWKS.
//! Each test generates its own keys and serves its own JWKS
//! from a small server that counts how often the gateway fetches it.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portal_gateway::config::IdentityProvider;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{SECRET, TestApp, codes};

const VIEWER: &str = "{ viewer { name } }";
const ISSUER: &str = "https://idp.example/";
const AUDIENCE: &str = "portal-gateway";

/// A signing key of the identity provider: RSA made by the `openssl` command, P-256 by ring.
struct Key {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portal-idp-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl command");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Key {
    fn rsa(kid: &str) -> Key {
        let dir = scratch();
        let pem = dir.join("rsa.pem");
        let pem = pem.to_str().unwrap();
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            pem,
        ]);
        // jsonwebtoken signs with a PKCS#1 DER key; the JWK needs the modulus.
        let der = openssl(&["rsa", "-in", pem, "-traditional", "-outform", "DER"]);
        let modulus = String::from_utf8(openssl(&["rsa", "-in", pem, "-noout", "-modulus"])).unwrap();
        let hex = modulus.trim().trim_start_matches("Modulus=");
        let n: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        Key {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(&der),
            jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(&n), "e": "AQAB"}),
        }
    }

    fn p256(kid: &str) -> Key {
        use ring::rand::SystemRandom;
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        // The uncompressed point 04 ‖ x ‖ y.
        let point = pair.public_key().as_ref();
        assert_eq!((point.len(), point[0]), (65, 4));
        Key {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
                        "x": b64(&point[1..33]), "y": b64(&point[33..])}),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// Signed by this key, but naming `kid` in the header.
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

fn jwks(keys: &[&Key]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

/// The identity provider's JWKS endpoint: serves whatever set the test puts in it,
/// counts fetches, and can be made to hang.
struct Provider {
    url: String,
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    hanging: Arc<AtomicBool>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Served {
    jwks: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    hanging: Arc<AtomicBool>,
}

async fn serve_jwks(State(s): State<Served>) -> Response {
    s.fetches.fetch_add(1, Ordering::SeqCst);
    if s.hanging.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let body = s.jwks.lock().unwrap().clone();
    axum::Json(body).into_response()
}

impl Provider {
    async fn start(set: Value) -> Provider {
        let served = Served {
            jwks: Arc::new(Mutex::new(set)),
            fetches: Arc::default(),
            hanging: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/.well-known/jwks.json", axum::routing::get(serve_jwks))
            .with_state(served.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Provider {
            url,
            jwks: served.jwks,
            fetches: served.fetches,
            hanging: served.hanging,
            server,
        }
    }

    fn publish(&self, set: Value) {
        *self.jwks.lock().unwrap() = set;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A gateway trusting the provider at `jwks_url` (with `iss` and `aud` checks), and
/// HS256 only when `with_secret`.
async fn gateway(jwks_url: &str, with_secret: bool, adjust: impl FnOnce(&mut IdentityProvider)) -> TestApp {
    let mut idp = IdentityProvider::new(jwks_url);
    idp.issuer = Some(ISSUER.into());
    idp.audience = Some(AUDIENCE.into());
    adjust(&mut idp);
    TestApp::configured(|config| {
        config.identity_provider = Some(idp);
        if !with_secret {
            config.jwt_secret = None;
        }
    })
    .await
}

/// Greta's claims as the identity provider issues them, valid for an hour.
async fn greta(app: &TestApp) -> Value {
    let (id, ws, _) = app.user_id("greta@globex.example").await;
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": id, "kind": "external", "ws": ws, "iat": now, "exp": now + 3600,
            "iss": ISSUER, "aud": AUDIENCE })
}

async fn viewer(app: &TestApp, token: &str) -> Value {
    app.post(Some(token), VIEWER, json!({})).await
}

fn assert_greta(r: &Value, what: &str) {
    assert_eq!(r["data"]["viewer"]["name"], "Greta", "{what}: {r}");
}

/// The whole request refused: no data, one `UNAUTHENTICATED` error with this reason.
fn assert_refused(r: &Value, reason: &str, what: &str) {
    assert!(r["data"].is_null(), "{what}: nothing answered: {r}");
    assert_eq!(codes(r), ["UNAUTHENTICATED"], "{what}: {r}");
    assert_eq!(r["errors"][0]["extensions"]["reason"], reason, "{what}: {r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rs256_and_es256_tokens_verify_against_the_jwks_alongside_hs256() {
    let (rsa, ec) = (Key::rsa("rsa-1"), Key::p256("ec-1"));
    let idp = Provider::start(jwks(&[&rsa, &ec])).await;
    let app = gateway(&idp.url, true, |_| {}).await;
    let claims = greta(&app).await;

    assert_greta(&viewer(&app, &rsa.sign(&claims)).await, "RS256");
    assert_greta(&viewer(&app, &ec.sign(&claims)).await, "ES256");
    // The header's `alg` decides: the development secret still works beside the JWKS.
    assert_greta(
        &viewer(&app, &app.token("greta@globex.example").await).await,
        "HS256",
    );
    // The set is cached: one fetch served every token.
    for _ in 0..3 {
        assert_greta(&viewer(&app, &rsa.sign(&claims)).await, "RS256 again");
    }
    assert_eq!(idp.fetches(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn identity_provider_tokens_that_fail_are_refused_with_their_reason() {
    let (rsa, ec) = (Key::rsa("rsa-1"), Key::p256("ec-1"));
    let impostor = Key::rsa("rsa-1");
    let idp = Provider::start(jwks(&[&rsa, &ec])).await;
    let app = gateway(&idp.url, true, |_| {}).await;
    let good = greta(&app).await;
    let now = chrono::Utc::now().timestamp();
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    let without = |key: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(key);
        c
    };
    let header = |json: &str| b64(json.as_bytes());
    let payload = b64(good.to_string().as_bytes());
    // HS256 signed with the RSA key's public modulus as the secret (key confusion).
    let confused = {
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("rsa-1".into());
        let secret = rsa.jwk["n"].as_str().unwrap().as_bytes();
        jsonwebtoken::encode(&h, &good, &EncodingKey::from_secret(secret)).unwrap()
    };
    let cases = [
        ("wrong signature", impostor.sign(&good), "invalid_token"),
        (
            "wrong issuer",
            rsa.sign(&with("iss", json!("https://evil.example/"))),
            "invalid_token",
        ),
        ("no issuer", rsa.sign(&without("iss")), "invalid_token"),
        (
            "wrong audience",
            ec.sign(&with("aud", json!("another-app"))),
            "invalid_token",
        ),
        ("no audience", ec.sign(&without("aud")), "invalid_token"),
        ("no iat", rsa.sign(&without("iat")), "invalid_token"),
        (
            "expired",
            rsa.sign(&with("exp", json!(now - 120)).tap(|c| c["iat"] = json!(now - 3600))),
            "expired_token",
        ),
        (
            "over the lifetime",
            rsa.sign(&with("exp", json!(now + 86_400 + 3600))),
            "invalid_token",
        ),
        (
            "alg none",
            format!("{}.{payload}.", header(r#"{"alg":"none","kid":"rsa-1"}"#)),
            "invalid_token",
        ),
        (
            "RS384 not configured",
            format!("{}.{payload}.c2ln", header(r#"{"alg":"RS384","kid":"rsa-1"}"#)),
            "invalid_token",
        ),
        ("HS256 with the public key", confused, "invalid_token"),
        (
            "RSA key named by an EC kid",
            rsa.sign_as("ec-1", &good),
            "invalid_token",
        ),
        (
            "no kid",
            {
                let h = Header::new(Algorithm::RS256);
                jsonwebtoken::encode(&h, &good, &rsa.encoding).unwrap()
            },
            "invalid_token",
        ),
        ("malformed", "not.a.jwt".to_string(), "invalid_token"),
    ];
    for (what, token, reason) in cases {
        assert_refused(&viewer(&app, &token).await, reason, what);
    }
    // Within the 60 s leeway, an `exp` just passed still holds.
    let leeway = rsa.sign(&with("exp", json!(now - 30)).tap(|c| c["iat"] = json!(now - 600)));
    assert_greta(&viewer(&app, &leeway).await, "within leeway");
}

#[tokio::test(flavor = "multi_thread")]
async fn hs256_tokens_are_refused_when_only_a_jwks_is_configured() {
    let rsa = Key::rsa("rsa-1");
    let idp = Provider::start(jwks(&[&rsa])).await;
    let app = gateway(&idp.url, false, |_| {}).await;
    let claims = greta(&app).await;
    assert_greta(&viewer(&app, &rsa.sign(&claims)).await, "RS256");
    let hs256 = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    assert_refused(
        &viewer(&app, &hs256).await,
        "invalid_token",
        "HS256 without a secret",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_kid_refreshes_the_jwks_once() {
    let rsa = Key::rsa("rsa-1");
    let idp = Provider::start(jwks(&[&rsa])).await;
    let app = gateway(&idp.url, true, |_| {}).await;
    let claims = greta(&app).await;
    assert_greta(&viewer(&app, &rsa.sign(&claims)).await, "known kid");
    assert_eq!(idp.fetches(), 1);

    // Random kids, one after another and all at once: one refresh between them.
    for _ in 0..5 {
        let token = rsa.sign_as(&Uuid::now_v7().to_string(), &claims);
        assert_refused(&viewer(&app, &token).await, "invalid_token", "unknown kid");
    }
    let burst = (0..20).map(|_| {
        let token = rsa.sign_as(&Uuid::now_v7().to_string(), &claims);
        let app = &app;
        async move { viewer(app, &token).await }
    });
    for r in futures_util::future::join_all(burst).await {
        assert_refused(&r, "invalid_token", "unknown kid, concurrently");
    }
    assert_eq!(idp.fetches(), 2, "exactly one refresh for unknown kids");
    // The known key is untouched by it all.
    assert_greta(&viewer(&app, &rsa.sign(&claims)).await, "known kid after");
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn rotated_keys_work_after_one_refetch_and_removed_keys_stop_working() {
    let (old, new) = (Key::rsa("2024"), Key::p256("2025"));
    let idp = Provider::start(jwks(&[&old])).await;
    let ttl = Duration::from_millis(1500);
    let app = gateway(&idp.url, true, |c| c.cache_ttl = ttl).await;
    let claims = greta(&app).await;
    assert_greta(&viewer(&app, &old.sign(&claims)).await, "old key");
    assert_eq!(idp.fetches(), 1);

    // The provider publishes its next key: the first token signed by it refetches the
    // set, once; tokens of both keys work.
    idp.publish(jwks(&[&old, &new]));
    assert_greta(&viewer(&app, &new.sign(&claims)).await, "new key");
    assert_eq!(idp.fetches(), 2, "one refetch for the new kid");
    assert_greta(&viewer(&app, &new.sign(&claims)).await, "new key again");
    assert_greta(
        &viewer(&app, &old.sign(&claims)).await,
        "old key, still published",
    );
    assert_eq!(idp.fetches(), 2);

    // The old key is withdrawn: once the cached set has aged out, its tokens fail.
    idp.publish(jwks(&[&new]));
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_refused(
        &viewer(&app, &old.sign(&claims)).await,
        "invalid_token",
        "withdrawn key",
    );
    assert_eq!(
        idp.fetches(),
        3,
        "one fetch when the set aged out, none more for the withdrawn kid"
    );
    assert_greta(
        &viewer(&app, &new.sign(&claims)).await,
        "new key after the withdrawal",
    );
    assert_refused(
        &viewer(&app, &old.sign(&claims)).await,
        "invalid_token",
        "withdrawn key again",
    );
    assert_eq!(idp.fetches(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwks_file_verifies_tokens() {
    let (rsa, ec, stranger) = (Key::rsa("file-rsa"), Key::p256("file-ec"), Key::p256("elsewhere"));
    let dir = scratch();
    let path = dir.join("jwks.json");
    std::fs::write(&path, jwks(&[&rsa]).to_string()).unwrap();
    let app = gateway(path.to_str().unwrap(), false, |_| {}).await;
    let claims = greta(&app).await;
    assert_greta(&viewer(&app, &rsa.sign(&claims)).await, "RS256 from a file");

    // The file gains a key: its first token re-reads the file.
    std::fs::write(&path, jwks(&[&rsa, &ec]).to_string()).unwrap();
    assert_greta(
        &viewer(&app, &ec.sign(&claims)).await,
        "ES256 from the rewritten file",
    );
    assert_refused(
        &viewer(&app, &stranger.sign(&claims)).await,
        "invalid_token",
        "key not in the file",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwks_endpoint_that_hangs_neither_blocks_requests_nor_drops_the_cached_set() {
    let rsa = Key::rsa("rsa-1");
    let idp = Provider::start(jwks(&[&rsa])).await;
    let app = gateway(&idp.url, true, |c| {
        c.cache_ttl = Duration::from_millis(200);
        c.fetch_timeout = Duration::from_millis(300);
    })
    .await;
    let claims = greta(&app).await;
    assert_greta(&viewer(&app, &rsa.sign(&claims)).await, "fresh set");

    idp.hanging.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert_greta(
        &viewer(&app, &rsa.sign(&claims)).await,
        "stale set while the refresh hangs",
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(idp.fetches(), 2);
    // A failed fetch is not retried at once: no request waits on it again.
    let started = Instant::now();
    for _ in 0..3 {
        assert_greta(
            &viewer(&app, &rsa.sign(&claims)).await,
            "stale set after the failure",
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(idp.fetches(), 2);
}

trait Tap {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}

impl Tap for Value {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}
