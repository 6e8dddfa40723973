//! Who is calling: a bearer JWT becomes an [`Access`] (or nobody). No policy here beyond
//! "is this a live user of this workspace with portal access"; what they see is
//! `access`'s business.

use chrono::Utc;
use uuid::Uuid;

pub mod cache;
pub mod jwks;
pub mod preview;
mod tokens;

pub use tokens::{Claims, LEEWAY_SECS, TokenKind, Tokens};

use crate::access::{Access, Caller, Grants, Membership, Module, RoleGrants};
use crate::db::models::{CallerRoleRow, ExternalCallerRow};
use crate::db::{DbConn, queries};
use crate::error::Result;

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
