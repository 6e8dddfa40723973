//! `viewer` (who is calling, and their merged workspace-wide grants) and the admin's
//! `permissionCatalog`.

use async_graphql::{Context, Enum, Object, SimpleObject};

use super::ContextExt;
use super::admin::ExternalUser;
use super::crm::CrmAccount;
use super::loaders::{AccountId, ExternalUserId, StaffId};
use super::users::{Person, User};
use crate::access::catalog::CATALOG;
use crate::access::{Caller, GrantKind, Grants, Module};
use crate::error::Result;

/// One module's grants, as the catalog spells them (see `permissionCatalog`).
#[derive(SimpleObject, Clone)]
pub struct GrantSet {
    /// The module: `crm`, `projects`, `tasks`, `knowledge_base` or `invoices`.
    pub module: String,
    /// The fields granted beyond the always-visible ones.
    pub fields: Vec<String>,
    /// The relations granted (a relation shows when its target module is accessible too).
    pub relations: Vec<String>,
    /// The actions granted.
    pub actions: Vec<String>,
    /// The notifications received.
    pub notifications: Vec<String>,
}

impl GrantSet {
    /// Every module the grants name, in catalog order.
    pub fn all(grants: &Grants) -> Vec<GrantSet> {
        grants
            .modules()
            .map(|m| {
                let list = |k| grants.list(m, k).into_iter().map(String::from).collect();
                GrantSet {
                    module: m.name().to_string(),
                    fields: list(GrantKind::Fields),
                    relations: list(GrantKind::Relations),
                    actions: list(GrantKind::Actions),
                    notifications: list(GrantKind::Notifications),
                }
            })
            .collect()
    }
}

/// What kind of caller the viewer is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// A client's contact with portal access: sees what their grants allow.
    External,
    /// Staff of the workspace: sees every record and field of it.
    Staff,
    /// Staff with the admin flag: also the admin API and preview.
    Admin,
}

pub struct Viewer;

/// The caller (under preview, the previewed user). It has no id of its own (normalised
/// client caches key records by id): the caller's own record is `user`.
#[Object]
impl Viewer {
    /// The caller as a record: a `User` for staff, an `ExternalUser` for external users
    /// (under preview, the previewed user); `null` for a role-set preview.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let id = ctx.identity()?.id;
        let staff = ctx.access()?.staff_only().is_ok();
        Ok(if staff {
            let row = ctx.loader().load_one(StaffId(id)).await?;
            row.map(|u| Person::User(User::new(ctx, u, staff)))
        } else {
            let row = ctx.loader().load_one(ExternalUserId(id)).await?;
            row.map(|u| Person::ExternalUser(ExternalUser::new(ctx, u)))
        })
    }

    /// The caller's name.
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(ctx.identity()?.name.clone())
    }

    /// The caller's e-mail address.
    async fn email(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(ctx.identity()?.email.clone())
    }

    /// External user, staff or admin.
    async fn kind(&self, ctx: &Context<'_>) -> Result<CallerKind> {
        Ok(match ctx.access()?.caller() {
            Caller::External { .. } => CallerKind::External,
            Caller::Staff { admin: true, .. } => CallerKind::Admin,
            Caller::Staff { .. } => CallerKind::Staff,
        })
    }

    /// An external caller's own account, when `crm` is accessible.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<CrmAccount>> {
        let Some(id) = ctx.identity()?.account_id else {
            return Ok(None);
        };
        let row = ctx.loader().load_one(AccountId(id)).await?;
        row.map(|r| CrmAccount::new(ctx, r)).transpose()
    }

    /// How many notifications of the caller's inbox are unread; `null` for staff, who
    /// have no inbox.
    async fn unread_notifications(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        super::notifications::unread(ctx).await
    }

    /// Merged workspace-wide grants (project roles show in `project.myGrants`).
    async fn grants(&self, ctx: &Context<'_>) -> Result<Vec<GrantSet>> {
        Ok(GrantSet::all(&ctx.access()?.workspace_grants()))
    }
}

/// One module of the grant catalog: every name a role can grant for it.
#[derive(SimpleObject)]
pub struct CatalogModule {
    /// The module's name, as role inputs spell it.
    pub module: String,
    /// The GraphQL type the grants apply to.
    pub type_name: String,
    /// Fields shown whenever a record of the module is visible at all (not grantable).
    pub always_visible: Vec<String>,
    /// The grantable fields (snake_case; the GraphQL field is their camelCase).
    pub fields: Vec<String>,
    /// The grantable relations.
    pub relations: Vec<String>,
    /// The grantable actions.
    pub actions: Vec<String>,
    /// The notifications a role can subscribe its holders to.
    pub notifications: Vec<String>,
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who is calling, and their merged workspace-wide grants. `UNAUTHENTICATED` without a
    /// token.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<Viewer>> {
        ctx.access()?;
        Ok(Some(Viewer))
    }

    /// Every name a role can grant, per module. Admins only: `null` with a `FORBIDDEN`
    /// error for anyone else.
    async fn permission_catalog(&self, ctx: &Context<'_>) -> Result<Option<Vec<CatalogModule>>> {
        ctx.access()?.admin_only()?;
        let strings = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Ok(Some(
            Module::ALL
                .iter()
                .map(|m| {
                    let spec = &CATALOG[*m as usize];
                    CatalogModule {
                        module: spec.name.to_string(),
                        type_name: spec.type_name.to_string(),
                        always_visible: strings(spec.always_visible),
                        fields: strings(spec.fields),
                        relations: strings(spec.relations),
                        actions: strings(spec.actions),
                        notifications: strings(spec.notifications),
                    }
                })
                .collect(),
        ))
    }
}
