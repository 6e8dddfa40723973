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

    /// An account loaded in scope; project roles never apply to it (docs/permissions.md,
    /// "Merging grants").
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

/// A client account of the workspace (module `crm`). An external user sees only their
/// own account.
#[Object]
impl CrmAccount {
    /// The account's id. Always visible.
    pub(crate) async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// The account's name. Always visible.
    async fn name(&self) -> &str {
        &self.row.name
    }

    /// The account's e-mail address. Visible to external users whose grants include
    /// `crm.fields: email`.
    async fn email(&self) -> Option<&str> {
        self.grants.reveal(EMAIL, self.row.email.as_deref()).flatten()
    }

    /// The account's phone number. Visible to external users whose grants include
    /// `crm.fields: phone`.
    async fn phone(&self) -> Option<&str> {
        self.grants.reveal(PHONE, self.row.phone.as_deref()).flatten()
    }

    /// The account's website. Visible to external users whose grants include
    /// `crm.fields: website`.
    async fn website(&self) -> Option<&str> {
        self.grants.reveal(WEBSITE, self.row.website.as_deref()).flatten()
    }

    /// The account's postal address. Visible to external users whose grants include
    /// `crm.fields: address`.
    async fn address(&self) -> Option<&str> {
        self.grants.reveal(ADDRESS, self.row.address.as_deref()).flatten()
    }

    /// The account's industry. Visible to external users whose grants include
    /// `crm.fields: industry`.
    async fn industry(&self) -> Option<&str> {
        self.grants
            .reveal(INDUSTRY, self.row.industry.as_deref())
            .flatten()
    }

    /// Notes about the account. Visible to external users whose grants include
    /// `crm.fields: description`.
    async fn description(&self) -> Option<&str> {
        self.grants
            .reveal(DESCRIPTION, self.row.description.as_deref())
            .flatten()
    }

    /// The account manager, a staff member. Visible to external users whose grants include
    /// `crm.relations: owner`.
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
    async fn account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account; optional for external callers (their own), required for staff.")]
        id: Option<ID>,
    ) -> Result<Option<CrmAccount>> {
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

    /// Every account of the workspace, ordered by name. Staff only: `FORBIDDEN` for
    /// external users.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items to return: 50 when absent, at most 100; 0 gives an empty page.")]
        first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page; the page starts after it.")] after: Option<
            String,
        >,
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
        let nodes = connection::wrap(rows, |r| CrmAccount::listed(ctx, r))?;
        Ok(Some(Connection::page(nodes, &page, total)))
    }
}

super::connection::connection_types! {
    CrmAccount => "CrmAccountConnection", "CrmAccountEdge";
}
