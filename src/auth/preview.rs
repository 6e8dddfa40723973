//! Preview (docs/permissions.md#preview): an admin sees exactly what a user, or a user of
//! an account holding a set of roles, would see; read-only, and audited under the previewed
//! user.

use axum::http::HeaderMap;
use chrono::Utc;
use uuid::Uuid;

use super::{Identity, external_access};
use crate::access::{Access, Caller};
use crate::db::{DbConn, queries, writes};
use crate::error::{Error, Result};

pub const USER: &str = "x-preview-user";
pub const ROLES: &str = "x-preview-roles";
pub const ACCOUNT: &str = "x-preview-account";

/// What an admin asked to preview.
#[derive(Debug, PartialEq, Eq)]
pub enum Preview {
    User(Uuid),
    Roles { roles: Vec<Uuid>, account: Uuid },
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(str::trim)
                .map_err(|_| Error::bad_input(name, "not text"))
        })
        .transpose()
}

fn uuid(name: &str, v: &str) -> Result<Uuid> {
    Uuid::parse_str(v.trim()).map_err(|_| Error::bad_input(name, "not a valid id"))
}

/// Whether the request carries any preview header, however written: decided before the
/// headers are parsed, so that only an admin's malformed preview is told what is wrong.
pub fn asked(headers: &HeaderMap) -> bool {
    [USER, ROLES, ACCOUNT]
        .iter()
        .any(|name| headers.contains_key(*name))
}

/// The preview a request asks for, if any. Parse it only for an admin ([`asked`]).
pub fn requested(headers: &HeaderMap) -> Result<Option<Preview>> {
    let (user, roles, account) = (
        header(headers, USER)?,
        header(headers, ROLES)?,
        header(headers, ACCOUNT)?,
    );
    match (user, roles, account) {
        (None, None, None) => Ok(None),
        (Some(u), None, None) => Ok(Some(Preview::User(uuid(USER, u)?))),
        (None, Some(r), Some(a)) => {
            let roles = r
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| uuid(ROLES, s))
                .collect::<Result<Vec<_>>>()?;
            Ok(Some(Preview::Roles {
                roles,
                account: uuid(ACCOUNT, a)?,
            }))
        }
        (None, Some(_), None) => Err(Error::bad_input(ACCOUNT, "required with x-preview-roles")),
        (None, None, Some(_)) => Err(Error::bad_input(ROLES, "required with x-preview-account")),
        (Some(_), _, _) => Err(Error::bad_input(USER, "either a user or roles with an account")),
    }
}

/// The previewed access, for an admin; `FORBIDDEN` for anyone else, whoever they are.
pub async fn access(
    conn: &mut DbConn,
    admin: &Access,
    preview: Preview,
) -> Result<Option<(Access, Identity)>> {
    let Caller::Staff {
        id: admin_id,
        workspace_id: ws,
        admin: true,
    } = *admin.caller()
    else {
        return Err(Error::Forbidden("preview is for admins".into()));
    };
    match preview {
        Preview::User(user) => {
            let (row, roles) = queries::external_caller(conn, user, ws)
                .await?
                .ok_or(Error::NotFound)?;
            Ok(external_access(row, roles, Utc::now()).map(|(a, i)| (a.previewed_by(admin_id), i)))
        }
        Preview::Roles { roles, account } => {
            let scope = Access::staff(admin_id, ws, true).scope(crate::access::Module::Crm);
            let account_row = queries::accounts_by_ids(conn, &scope, &[account])
                .await?
                .pop()
                .ok_or(Error::NotFound)?;
            let found = writes::roles_by_ids(conn, ws, &roles).await?;
            if found.len() != roles.len() {
                return Err(Error::bad_input(ROLES, "no such role"));
            }
            let rows = queries::roles_as_held(conn, &roles).await?;
            let (workspace_roles, _) = super::held_roles(rows);
            let workspace = queries::workspace(conn, ws).await?.ok_or(Error::NotFound)?;
            let caller = Caller::External {
                id: Uuid::nil(),
                workspace_id: ws,
                account_id: account,
            };
            let access = Access::external(
                caller,
                &workspace.disabled_modules,
                &workspace_roles,
                &[],
                Utc::now(),
            )
            .previewed_by(admin_id);
            let identity = Identity {
                id: Uuid::nil(),
                name: format!("Preview of {}", account_row.name),
                email: String::new(),
                account_id: Some(account),
            };
            Ok(Some((access, identity)))
        }
    }
}
