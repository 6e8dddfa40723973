//! Bearer tokens (docs/api.md#tokens): HS256 with a shared secret (development, the `token`
//! command), and RS256 / ES256 from an identity provider, verified against its JWKS. The
//! header's `alg` picks the path; `alg: none` and any algorithm not configured are
//! `invalid_token`. Lifetime and leeway rules are the same on both paths; `iss` and
//! `aud` are the identity provider's and are checked on its tokens only.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::jwks::{Jwks, JwksSetupError};
use crate::config::{Config, IdentityProvider};
use crate::error::AuthFailure;

/// Clock skew tolerated between the token's issuer and us (docs/api.md#tokens).
pub const LEEWAY_SECS: u64 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    External,
    Staff,
}

/// The claims of a token (docs/api.md#tokens). `iat` is required: without it a token's lifetime cannot be
/// bounded, so a token that lacks it does not deserialize (and is `invalid_token`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub kind: TokenKind,
    pub ws: Uuid,
    pub iat: i64,
    pub exp: i64,
}

impl Claims {
    /// Claims issued now, valid for `lifetime`.
    pub fn issued_now(sub: Uuid, kind: TokenKind, ws: Uuid, lifetime: chrono::Duration) -> Claims {
        let now = Utc::now();
        Claims {
            sub,
            kind,
            ws,
            iat: now.timestamp(),
            exp: (now + lifetime).timestamp(),
        }
    }
}

/// Verifies tokens on the paths configured, and mints HS256 ones when a secret is.
#[derive(Clone)]
pub struct Tokens {
    hs256: Option<Hs256>,
    idp: Option<Idp>,
    /// The longest `exp - iat` accepted (`TOKEN_MAX_LIFETIME`).
    max_lifetime: Duration,
}

#[derive(Clone)]
struct Hs256 {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

#[derive(Clone)]
struct Idp {
    keys: Arc<Jwks>,
    rs256: Validation,
    es256: Validation,
}

/// The checks jsonwebtoken makes for one algorithm: `exp` with leeway, `sub`.
fn validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = LEEWAY_SECS;
    v.set_required_spec_claims(&["exp", "sub"]);
    v
}

impl Idp {
    fn new(config: &IdentityProvider) -> Result<Idp, JwksSetupError> {
        let with_claims = |alg| {
            let mut v = validation(alg);
            let mut required = vec!["exp", "sub"];
            if let Some(iss) = &config.issuer {
                v.set_issuer(&[iss]);
                required.push("iss");
            }
            match &config.audience {
                Some(aud) => {
                    v.set_audience(&[aud]);
                    required.push("aud");
                }
                // Unconfigured, an `aud` is not ours to judge (jsonwebtoken would refuse it).
                None => v.validate_aud = false,
            }
            v.set_required_spec_claims(&required);
            v
        };
        Ok(Idp {
            keys: Arc::new(Jwks::new(config)?),
            rs256: with_claims(Algorithm::RS256),
            es256: with_claims(Algorithm::ES256),
        })
    }
}

impl Tokens {
    /// HS256 tokens that may live at most 24 h (see [`Tokens::max_lifetime`]).
    pub fn hs256(secret: &str) -> Tokens {
        Tokens {
            hs256: Some(Hs256 {
                encoding: EncodingKey::from_secret(secret.as_bytes()),
                decoding: DecodingKey::from_secret(secret.as_bytes()),
                validation: validation(Algorithm::HS256),
            }),
            idp: None,
            max_lifetime: Duration::from_secs(86_400),
        }
    }

    /// The paths the configuration names: HS256 with `JWT_SECRET`, the identity
    /// provider with `JWT_JWKS_URL`, either or both.
    pub fn from_config(config: &Config) -> Result<Tokens, JwksSetupError> {
        let mut tokens = match &config.jwt_secret {
            Some(secret) => Tokens::hs256(&secret.0),
            None => Tokens {
                hs256: None,
                idp: None,
                max_lifetime: Duration::from_secs(86_400),
            },
        };
        tokens.idp = config.identity_provider.as_ref().map(Idp::new).transpose()?;
        Ok(tokens.max_lifetime(config.token_max_lifetime))
    }

    /// Refuses tokens minted to live longer than `max` (`exp - iat`), however far their
    /// `exp` is: a leaked long-lived token must not outlast the policy.
    pub fn max_lifetime(mut self, max: Duration) -> Tokens {
        self.max_lifetime = max;
        self
    }

    /// An HS256 token; empty (and refused by everyone) when no secret is configured.
    pub fn mint(&self, claims: &Claims) -> String {
        // Encoding HS256 with a valid key cannot fail; an empty token is refused later.
        self.hs256
            .as_ref()
            .and_then(|hs| jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &hs.encoding).ok())
            .unwrap_or_default()
    }

    /// The claims of a valid, unexpired token, or why it fails: `ExpiredToken` past
    /// `exp` (with [`LEEWAY_SECS`]), `InvalidToken` for anything else (malformed, an
    /// algorithm not configured or `alg: none`, an unknown `kid`, a wrong signature,
    /// issuer or audience, no `iat`, `iat` in the future, or a lifetime over the
    /// maximum). Only an identity provider's `kid` may wait, on a JWKS refresh.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthFailure> {
        use jsonwebtoken::errors::ErrorKind;
        // `alg: none` (and any unknown name) does not even parse as a header.
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthFailure::InvalidToken)?;
        let decoded = match (header.alg, &self.hs256, &self.idp) {
            (Algorithm::HS256, Some(hs), _) => {
                jsonwebtoken::decode::<Claims>(token, &hs.decoding, &hs.validation)
            }
            (alg @ (Algorithm::RS256 | Algorithm::ES256), _, Some(idp)) => {
                let kid = header.kid.as_deref().ok_or(AuthFailure::InvalidToken)?;
                let key = idp.keys.key(kid, alg).await.ok_or(AuthFailure::InvalidToken)?;
                let validation = if alg == Algorithm::RS256 {
                    &idp.rs256
                } else {
                    &idp.es256
                };
                jsonwebtoken::decode::<Claims>(token, &key, validation)
            }
            _ => return Err(AuthFailure::InvalidToken),
        };
        let claims = decoded
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthFailure::ExpiredToken,
                _ => AuthFailure::InvalidToken,
            })?
            .claims;
        let leeway = LEEWAY_SECS as i64;
        let max = i64::try_from(self.max_lifetime.as_secs()).unwrap_or(i64::MAX);
        if claims.iat > Utc::now().timestamp().saturating_add(leeway)
            || claims.exp.saturating_sub(claims.iat) > max
        {
            return Err(AuthFailure::InvalidToken);
        }
        Ok(claims)
    }
}
