//! Who is calling: a bearer JWT becomes an [`Access`] (or nobody). No policy here beyond
//! "is this a live user of this workspace with portal access"; what they see is
//! `access`'s business.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod preview;

use crate::access::{Access, Caller, Grants, Membership, Module, RoleGrants};
use crate::db::models::{CallerRoleRow, ExternalCallerRow};
use crate::db::{DbConn, queries};
use crate::error::{AuthFailure, Result};

/// Clock skew tolerated between the token's issuer and us (docs/api.md#tokens).
pub const LEEWAY_SECS: u64 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    External,
    Staff,
}

/// The claims of a token (docs/api.md#tokens). `iat` is required: without it a token's
/// lifetime cannot be bounded, so a token that lacks it does not deserialize (and is
/// `invalid_token`).
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

/// Signs and verifies tokens (HS256 only: `alg: none` and every other algorithm fail).
#[derive(Clone)]
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// The longest `exp - iat` accepted (`TOKEN_MAX_LIFETIME`).
    max_lifetime: std::time::Duration,
}

impl Tokens {
    /// HS256 tokens that may live at most 24 h (see [`Tokens::max_lifetime`]).
    pub fn hs256(secret: &str) -> Tokens {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Tokens {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            max_lifetime: std::time::Duration::from_secs(86_400),
        }
    }

    /// Refuses tokens minted to live longer than `max` (`exp - iat`), however far their
    /// `exp` is: a leaked long-lived token must not outlast the policy.
    pub fn max_lifetime(mut self, max: std::time::Duration) -> Tokens {
        self.max_lifetime = max;
        self
    }

    pub fn mint(&self, claims: &Claims) -> String {
        // Encoding HS256 with a valid key cannot fail; an empty token is refused later.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).unwrap_or_default()
    }

    /// The claims of a valid, unexpired token, or why it fails: `ExpiredToken` past
    /// `exp` (with [`LEEWAY_SECS`]), `InvalidToken` for anything else (malformed, another
    /// algorithm or `alg: none`, a wrong signature, no `iat`, `iat` in the future, or a
    /// lifetime over the maximum).
    pub fn verify(&self, token: &str) -> Result<Claims, AuthFailure> {
        use jsonwebtoken::errors::ErrorKind;
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
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

/// The `Authorization: Bearer …` value, if any.
pub fn bearer(value: Option<&str>) -> Option<&str> {
    let v = value?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Who the caller is, for `viewer`.
#[derive(Clone, Debug)]
pub struct Identity {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub account_id: Option<Uuid>,
}

/// The access of a verified token's user, judged now: `None` for an unknown user, a
/// user of another workspace, or one whose portal access is revoked.
pub async fn authenticate(conn: &mut DbConn, claims: &Claims) -> Result<Option<(Access, Identity)>> {
    match claims.kind {
        TokenKind::Staff => {
            let Some(user) = queries::staff_user(conn, claims.sub, claims.ws).await? else {
                return Ok(None);
            };
            let identity = Identity {
                id: user.id,
                name: user.name,
                email: user.email,
                account_id: None,
            };
            Ok(Some((
                Access::staff(user.id, user.workspace_id, user.is_admin),
                identity,
            )))
        }
        TokenKind::External => {
            let Some((row, roles)) = queries::external_caller(conn, claims.sub, claims.ws).await? else {
                return Ok(None);
            };
            Ok(external_access(row, roles, Utc::now()))
        }
    }
}

/// An external user's access judged at `now`; `None` while their portal access is
/// revoked or ended.
pub fn external_access(
    row: ExternalCallerRow,
    roles: Vec<CallerRoleRow>,
    now: chrono::DateTime<Utc>,
) -> Option<(Access, Identity)> {
    let user = row.user;
    if !user.portal_access || user.access_ends_at.is_some_and(|t| t <= now) {
        return None;
    }
    let (workspace_roles, memberships) = held_roles(roles);
    let caller = Caller::External {
        id: user.id,
        workspace_id: user.workspace_id,
        account_id: user.account_id,
    };
    let access = Access::external(caller, &row.disabled_modules, &workspace_roles, &memberships, now);
    let identity = Identity {
        id: user.id,
        name: user.name,
        email: user.email,
        account_id: Some(user.account_id),
    };
    Some((access, identity))
}

/// Groups role rows into workspace-wide roles and project memberships. A stored name
/// the catalog does not know grants nothing (fail closed).
pub fn held_roles(rows: Vec<CallerRoleRow>) -> (Vec<RoleGrants>, Vec<Membership>) {
    use std::collections::BTreeMap;
    // (project, role) → role grants; a role without a row is a membership without role.
    let mut roles: BTreeMap<(Option<Uuid>, Option<Uuid>), Option<RoleGrants>> = BTreeMap::new();
    for row in rows {
        let entry = roles.entry((row.project_id, row.role_id)).or_default();
        let (Some(active), Some(_)) = (row.active, row.role_id) else {
            continue;
        };
        let role = entry.get_or_insert(RoleGrants {
            active,
            expires_at: row.expires_at,
            grants: Grants::NONE,
        });
        let Some(module) = row.module.as_deref().and_then(Module::parse) else {
            continue;
        };
        let lists = [
            row.fields.unwrap_or_default(),
            row.relations.unwrap_or_default(),
            row.actions.unwrap_or_default(),
            row.notifications.unwrap_or_default(),
        ];
        if let Ok(g) = Grants::from_lists(module, [&lists[0], &lists[1], &lists[2], &lists[3]], "stored") {
            role.grants = role.grants.union(g);
        }
    }
    let mut workspace = Vec::new();
    let mut memberships = Vec::new();
    for ((project, _), role) in roles {
        match project {
            None => workspace.extend(role),
            Some(project_id) => memberships.push(Membership { project_id, role }),
        }
    }
    (workspace, memberships)
}
