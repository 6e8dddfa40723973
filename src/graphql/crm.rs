//! CRM accounts (module `crm`). An external caller's only account is their own.

use async_graphql::{Context, ID, Object};

use super::connection::{self, Connection, Node};
use super::loaders::{AccountId, StaffId};
use super::users::User;
use super::{ContextExt, parse_id};
use crate::access::catalog::{field, relation};
use crate::access::{Caller, Grant, Grants, Module};
use crate::db::{models, queries};
use crate::error::{Error, Result};

const EMAIL: Grant = field(Module::Crm, "email");
const PHONE: Grant = field(Module::Crm, "phone");
const WEBSITE: Grant = field(Module::Crm, "website");
const ADDRESS: Grant = field(Module::Crm, "address");
const INDUSTRY: Grant = field(Module::Crm, "industry");
const DESCRIPTION: Grant = field(Module::Crm, "description");
const OWNER: Grant = relation(Module::Crm, "owner");

#[derive(Clone)]
pub struct CrmAccount {
    row: models::Account,
    grants: Grants,
}

impl CrmAccount {
    /// A single record resolved into the response (noted for the audit).
    pub fn new(ctx: &Context<'_>, row: models::Account) -> Result<CrmAccount> {
        Ok(ctx.returned(CrmAccount::listed(ctx, row)?))
    }

    /// An account loaded in scope; project roles never apply to it (SPEC §3).
    pub fn listed(ctx: &Context<'_>, row: models::Account) -> Result<CrmAccount> {
        let grants = ctx.access()?.workspace_grants();
        Ok(CrmAccount { row, grants })
    }
}

impl Node for CrmAccount {
    fn cursor(&self) -> String {
        connection::encode_name_id("a", &self.row.name, self.row.id)
    }

    fn record_id(&self) -> uuid::Uuid {
        self.row.id
    }
}

/// A client account.
#[Object]
impl CrmAccount {
    pub(crate) async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.row.name
    }

    async fn email(&self) -> Option<&str> {
        self.grants.reveal(EMAIL, self.row.email.as_deref()).flatten()
    }

    async fn phone(&self) -> Option<&str> {
        self.grants.reveal(PHONE, self.row.phone.as_deref()).flatten()
    }

    async fn website(&self) -> Option<&str> {
        self.grants.reveal(WEBSITE, self.row.website.as_deref()).flatten()
    }

    async fn address(&self) -> Option<&str> {
        self.grants.reveal(ADDRESS, self.row.address.as_deref()).flatten()
    }

    async fn industry(&self) -> Option<&str> {
        self.grants
            .reveal(INDUSTRY, self.row.industry.as_deref())
            .flatten()
    }

    async fn description(&self) -> Option<&str> {
        self.grants
            .reveal(DESCRIPTION, self.row.description.as_deref())
            .flatten()
    }

    /// The account manager.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.grants.reveal(OWNER, self.row.owner_id).flatten() else {
            return Ok(None);
        };
        let staff = self.grants.is_staff();
        Ok(ctx
            .loader()
            .load_one(StaffId(id))
            .await?
            .map(|u| User::new(ctx, u, staff)))
    }
}

#[derive(Default)]
pub struct CrmQuery;

#[Object]
impl CrmQuery {
    /// External callers: their own account (`id` optional; any other id is not found).
    /// Staff: any account of the workspace, by id.
    async fn account(&self, ctx: &Context<'_>, id: Option<ID>) -> Result<Option<CrmAccount>> {
        let access = ctx.access()?;
        access.root(Module::Crm)?;
        let id = id.as_ref().map(|id| parse_id("id", id)).transpose()?;
        let id = match (access.caller(), id) {
            (Caller::External { account_id, .. }, None) => *account_id,
            (_, Some(id)) => id,
            (Caller::Staff { .. }, None) => return Err(Error::bad_input("id", "required for staff")),
        };
        let row = ctx
            .loader()
            .load_one(AccountId(id))
            .await?
            .ok_or(Error::NotFound)?;
        CrmAccount::new(ctx, row).map(Some)
    }

    /// Every account of the workspace, by name (staff only).
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<Connection<CrmAccount>>> {
        let access = ctx.access()?;
        access.staff_only()?;
        let page = connection::name_id_page(ctx, "a", first, after.as_deref())?;
        let scope = access.scope(Module::Crm);
        let wanted = connection::wanted(ctx);
        let mut conn = ctx.pool()?.get().await?;
        let rows = if wanted.page {
            queries::accounts_page(&mut conn, &scope, &connection::plus_one(&page)).await?
        } else {
            Vec::new()
        };
        let total = if wanted.count {
            queries::accounts_count(&mut conn, &scope).await?
        } else {
            0
        };
        drop(conn);
        let nodes = rows
            .into_iter()
            .map(|r| CrmAccount::listed(ctx, r))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Connection::page(nodes, &page, total)))
    }
}
