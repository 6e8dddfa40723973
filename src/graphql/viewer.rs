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

/// One module's merged grants, as the catalog spells them.
#[derive(SimpleObject, Clone)]
pub struct GrantSet {
    pub module: String,
    pub fields: Vec<String>,
    pub relations: Vec<String>,
    pub actions: Vec<String>,
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

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    External,
    Staff,
    Admin,
}

pub struct Viewer;

/// The caller. It has no id of its own (normalised client caches key records by id):
/// the caller's own record is `user`.
#[Object]
impl Viewer {
    /// The caller as a record: a `User` for staff, an `ExternalUser` for external users
    /// (`null` for a role-set preview).
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let id = ctx.identity()?.id;
        let staff = ctx.access()?.staff_only().is_ok();
        Ok(if staff {
            let row = ctx.loader().load_one(StaffId(id)).await?;
            row.map(|u| Person::User(User::new(ctx, u, staff)))
        } else {
            let row = ctx.loader().load_one(ExternalUserId(id)).await?;
            row.map(|u| {
                ctx.note_returned(u.id);
                Person::ExternalUser(ExternalUser(u))
            })
        })
    }

    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(ctx.identity()?.name.clone())
    }

    async fn email(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(ctx.identity()?.email.clone())
    }

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

    /// Merged workspace-wide grants (project roles show in `project.myGrants`).
    async fn grants(&self, ctx: &Context<'_>) -> Result<Vec<GrantSet>> {
        Ok(GrantSet::all(&ctx.access()?.workspace_grants()))
    }
}

/// One module of the grant catalog.
#[derive(SimpleObject)]
pub struct CatalogModule {
    pub module: String,
    /// The GraphQL type the grants apply to.
    pub type_name: String,
    pub always_visible: Vec<String>,
    pub fields: Vec<String>,
    pub relations: Vec<String>,
    pub actions: Vec<String>,
    pub notifications: Vec<String>,
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Option<Viewer>> {
        ctx.access()?;
        Ok(Some(Viewer))
    }

    /// What roles can grant (admins only).
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
