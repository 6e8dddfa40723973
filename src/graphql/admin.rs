//! The admin API (docs/api.md): roles, external users, portal access, project
//! organizations, switches, and the audit log. Admins only; everyone else (staff,
//! external users, previews) gets `FORBIDDEN`.

use super::scalars::DateTime;
use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use uuid::Uuid;

use super::connection::{self, Connection, Node};
use super::crm::CrmAccount;
use super::loaders::{AccountId, ExternalUserId, GrantsOf, ProjectId, RoleId, RolesOf, StaffId};
use super::mutations::Tx;
use super::projects::Project;
use super::users::User;
use super::viewer::GrantSet;
use super::{ContextExt, parse_id};
use crate::access::{GrantKind, Grants, Module};
use crate::db::{models, writes};
use crate::error::{Error, Result};

fn admin_workspace(ctx: &Context<'_>) -> Result<Uuid> {
    let access = ctx.access()?;
    access.admin_only()?;
    Ok(access.caller().workspace_id())
}

/// A role, as admins see it.
#[derive(Clone)]
pub struct Role(pub models::Role);

/// A role: per module, the fields and relations its holders may view, the actions they may
/// take and the notifications they receive. Held workspace-wide or in a project's
/// organization. Admins only.
#[Object]
impl Role {
    /// The role's id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The role's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What the role is for, in the admin's words.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// An inactive role counts for nothing.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// Past this moment the role counts for nothing.
    async fn expires_at(&self) -> Option<DateTime> {
        self.0.expires_at.map(DateTime)
    }

    /// The modules the role names, with their four lists.
    async fn grants(&self, ctx: &Context<'_>) -> Result<Vec<GrantSet>> {
        let rows = ctx
            .loader()
            .load_one(GrantsOf(self.0.id))
            .await?
            .unwrap_or_default();
        let merged = rows.iter().fold(Grants::NONE, |acc, r| {
            let lists = [
                &r.fields[..],
                &r.relations[..],
                &r.actions[..],
                &r.notifications[..],
            ];
            match Module::parse(&r.module).map(|m| Grants::from_lists(m, lists, "stored")) {
                Some(Ok(g)) => acc.union(g),
                _ => acc,
            }
        });
        Ok(GrantSet::all(&merged))
    }
}

/// An external user (a client's contact): `id` and `name`; the rest for staff only.
#[derive(Clone)]
pub struct ExternalUser(pub models::ExternalUser);

impl ExternalUser {
    /// An external user resolved into a response outside the admin API (a comment's
    /// author, `viewer.user`, `node(id)`): noted for the audit, as staff `User`s are.
    pub fn new(ctx: &Context<'_>, row: models::ExternalUser) -> ExternalUser {
        ctx.note_returned(row.id);
        ExternalUser(row)
    }
}

/// An external user (a client's contact). Whoever reaches them (admins, staff through
/// comments, the user themselves as `viewer.user`) sees `id` and `name`; `email`,
/// `portalAccess` and `account` are for staff only, `roles` for admins only.
#[Object(name = "ExternalUser")]
impl ExternalUser {
    /// The user's id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The user's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The user's e-mail address, unique in the workspace. Staff callers only: `null`
    /// for anyone else.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(staff_caller(ctx)?.then_some(self.0.email.as_str()))
    }

    /// Whether they may use the portal at all; revoking it holds from their next request.
    /// Staff callers only: `null` for anyone else.
    async fn portal_access(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        Ok(staff_caller(ctx)?.then_some(self.0.portal_access))
    }

    /// The client account they belong to. Staff callers only: `null` for anyone else.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<CrmAccount>> {
        if !staff_caller(ctx)? {
            return Ok(None);
        }
        let row = ctx.loader().load_one(AccountId(self.0.account_id)).await?;
        row.map(|r| CrmAccount::new(ctx, r)).transpose()
    }

    /// Workspace-wide roles assigned to them; `null` for anyone but an admin.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Option<Vec<Role>>> {
        if !ctx.access()?.may_see_roles() {
            return Ok(None);
        }
        let roles = ctx
            .loader()
            .load_one(RolesOf(self.0.id))
            .await?
            .unwrap_or_default();
        Ok(Some(roles.into_iter().map(Role).collect()))
    }
}

/// Whether the caller runs the workspace: an external user's contact data is theirs.
fn staff_caller(ctx: &Context<'_>) -> Result<bool> {
    Ok(ctx.access()?.staff_only().is_ok())
}

/// A member of a project's organization.
#[derive(Clone)]
pub struct ProjectMember(pub models::ProjectMember);

/// A member of a project's organization: the project is in their scope, and their
/// project-specific role (if any) adds grants for the project's records.
#[Object]
impl ProjectMember {
    /// The member.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<ExternalUser>> {
        Ok(ctx
            .loader()
            .load_one(ExternalUserId(self.0.external_user_id))
            .await?
            .map(ExternalUser))
    }

    /// The project-specific role, if any; `null` for anyone but an admin.
    async fn role(&self, ctx: &Context<'_>) -> Result<Option<Role>> {
        let Some(id) = self
            .0
            .role_id
            .filter(|_| ctx.access().is_ok_and(|a| a.may_see_roles()))
        else {
            return Ok(None);
        };
        Ok(ctx.loader().load_one(RoleId(id)).await?.map(Role))
    }
}

/// The type of a GraphQL operation.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OperationType {
    /// A read.
    Query,
    /// A change.
    Mutation,
    /// A stream of events.
    Subscription,
}

impl OperationType {
    fn as_str(self) -> &'static str {
        match self {
            OperationType::Query => "QUERY",
            OperationType::Mutation => "MUTATION",
            OperationType::Subscription => "SUBSCRIPTION",
        }
    }
}

/// One audited request of an external user or of a preview.
#[derive(Clone)]
pub struct AuditEvent(pub(crate) models::AuditEvent);

impl Node for AuditEvent {
    fn cursor(&self) -> String {
        connection::encode_id("e", self.0.id)
    }

    fn record_id(&self) -> uuid::Uuid {
        self.0.id
    }
}

/// One audited request of an external user or of a preview.
#[Object]
impl AuditEvent {
    /// The event's id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// When the request was made.
    async fn at(&self) -> DateTime {
        DateTime(self.0.at)
    }

    /// The external user who made the request, or was previewed; absent for a role-set
    /// preview, or once the user is deleted.
    async fn external_user(&self, ctx: &Context<'_>) -> Result<Option<ExternalUser>> {
        let Some(id) = self.0.external_user_id else {
            return Ok(None);
        };
        Ok(ctx.loader().load_one(ExternalUserId(id)).await?.map(ExternalUser))
    }

    /// The admin who previewed, for a preview; `null` otherwise.
    async fn preview_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.preview_by else {
            return Ok(None);
        };
        Ok(ctx
            .loader()
            .load_one(StaffId(id))
            .await?
            .map(|u| User::new(ctx, u, true)))
    }

    /// The client account of the user (or of a role-set preview).
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<CrmAccount>> {
        let Some(id) = self.0.account_id else {
            return Ok(None);
        };
        let row = ctx.loader().load_one(AccountId(id)).await?;
        row.map(|r| CrmAccount::new(ctx, r)).transpose()
    }

    /// The operation's name, when the document gave one.
    async fn operation_name(&self) -> Option<&str> {
        self.0.operation_name.as_deref()
    }

    /// Query, mutation or subscription.
    async fn operation_type(&self) -> OperationType {
        match self.0.operation_type.as_str() {
            "MUTATION" => OperationType::Mutation,
            "SUBSCRIPTION" => OperationType::Subscription,
            _ => OperationType::Query,
        }
    }

    /// The schema names of the root fields the operation ran (aliases resolved).
    async fn root_fields(&self) -> &[String] {
        &self.0.root_fields
    }

    /// The ids of the records returned or changed, selected `id` or not.
    async fn record_ids(&self) -> Vec<ID> {
        self.0.record_ids.iter().map(|id| ID(id.to_string())).collect()
    }

    /// `OK`, or the error code of the request (e.g. `FORBIDDEN`, `RATE_LIMITED`).
    async fn outcome(&self) -> &str {
        &self.0.outcome
    }
}

/// Which audit events to list; every condition given must hold.
#[derive(InputObject)]
pub struct AuditFilter {
    /// Only this external user's events (including previews of them).
    pub external_user_id: Option<ID>,
    /// Only events at or after this moment.
    pub from: Option<DateTime>,
    /// Only events before this moment.
    pub to: Option<DateTime>,
    /// Only events of this operation type.
    pub operation_type: Option<OperationType>,
}

/// One module's grants in a role input; names as in `permissionCatalog`.
#[derive(InputObject)]
pub struct GrantInput {
    /// The module: `crm`, `projects`, `tasks`, `knowledge_base` or `invoices`. Naming it,
    /// even with four empty lists, shows its records' always-visible fields.
    pub module: String,
    /// Fields to show, from the catalog's `fields` of the module.
    #[graphql(default)]
    pub fields: Vec<String>,
    /// Relations to show, from the catalog's `relations` of the module.
    #[graphql(default)]
    pub relations: Vec<String>,
    /// Actions to allow, from the catalog's `actions` of the module.
    #[graphql(default)]
    pub actions: Vec<String>,
    /// Notifications to deliver, from the catalog's `notifications` of the module.
    #[graphql(default)]
    pub notifications: Vec<String>,
}

/// A new role. A name outside the catalog is `BAD_USER_INPUT` naming its place, and
/// nothing is saved.
#[derive(InputObject)]
pub struct CreateRoleInput {
    /// The role's name.
    pub name: String,
    /// What the role is for.
    pub description: Option<String>,
    /// Whether the role counts; an inactive role grants nothing.
    #[graphql(default = true)]
    pub active: bool,
    /// When the role stops counting; never when absent.
    pub expires_at: Option<DateTime>,
    /// The modules the role names, each with its four lists.
    #[graphql(default)]
    pub grants: Vec<GrantInput>,
}

/// Changes to a role; absent fields stay, `grants` (when given) replaces all of them.
#[derive(InputObject)]
pub struct UpdateRoleInput {
    /// A new name.
    pub name: Option<String>,
    /// A new description; `null` removes it.
    pub description: MaybeUndefined<String>,
    /// Activates or deactivates the role.
    pub active: Option<bool>,
    /// A new expiry; `null` removes it.
    pub expires_at: MaybeUndefined<DateTime>,
    /// Replaces every grant of the role.
    pub grants: Option<Vec<GrantInput>>,
}

/// A workspace's module switch (a plan or add-on).
#[derive(SimpleObject)]
pub struct ModuleSwitch {
    /// The module's name.
    pub module: String,
    /// Whether the module is on; when off, no external user sees it and its root fields
    /// answer `FORBIDDEN`.
    pub enabled: bool,
}

/// Checks grant inputs against the catalog; the first unknown name is refused with
/// its place (`input.grants[1].fields`), and nothing is saved.
fn checked_grants(grants: &[GrantInput]) -> Result<Vec<(String, [Vec<String>; 4])>> {
    let mut out: Vec<(String, [Vec<String>; 4])> = Vec::new();
    for (i, g) in grants.iter().enumerate() {
        let path = format!("input.grants[{i}]");
        let module = Module::parse(&g.module).ok_or_else(|| {
            Error::bad_input(format!("{path}.module"), format!("unknown module `{}`", g.module))
        })?;
        if out.iter().any(|(m, _)| m == module.name()) {
            return Err(Error::bad_input(format!("{path}.module"), "module listed twice"));
        }
        let lists = [
            &g.fields[..],
            &g.relations[..],
            &g.actions[..],
            &g.notifications[..],
        ];
        let grants = Grants::from_lists(module, lists, &path)
            .map_err(|e| Error::bad_input(e.path, format!("`{}` is not in the catalog", e.name)))?;
        let kept = GrantKind::ALL.map(|k| grants.list(module, k).into_iter().map(String::from).collect());
        out.push((module.name().to_string(), kept));
    }
    Ok(out)
}

fn checked_name(field: &str, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(Error::bad_input(field, "must be 1 to 200 characters"));
    }
    Ok(name.to_string())
}

#[derive(Default)]
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Every role of the workspace. Admins only.
    async fn roles(&self, ctx: &Context<'_>) -> Result<Option<Vec<Role>>> {
        let ws = admin_workspace(ctx)?;
        let rows = writes::roles(&mut *ctx.pool()?.get().await?, ws).await?;
        Ok(Some(rows.into_iter().map(Role).collect()))
    }

    /// One role by id. Admins only.
    async fn role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role's id.")] id: ID,
    ) -> Result<Option<Role>> {
        admin_workspace(ctx)?;
        let id = parse_id("id", &id)?;
        let row = ctx.loader().load_one(RoleId(id)).await?.ok_or(Error::NotFound)?;
        Ok(Some(Role(row)))
    }

    /// Every external user of the workspace. Admins only.
    #[graphql(name = "externalUsers")]
    async fn external_users(&self, ctx: &Context<'_>) -> Result<Option<Vec<ExternalUser>>> {
        let ws = admin_workspace(ctx)?;
        let rows = writes::external_users(&mut *ctx.pool()?.get().await?, ws).await?;
        Ok(Some(rows.into_iter().map(ExternalUser).collect()))
    }

    /// Audit events of external users and previews, newest first. Admins only.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which events to list; all when absent.")] filter: Option<AuditFilter>,
        #[graphql(desc = "How many items to return: 50 when absent, at most 100; 0 gives an empty page.")]
        first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page; the page starts after it.")] after: Option<
            String,
        >,
    ) -> Result<Option<Connection<AuditEvent>>> {
        let ws = admin_workspace(ctx)?;
        let page = connection::id_page(ctx, "e", first, after.as_deref())?;
        let filter = filter.unwrap_or(AuditFilter {
            external_user_id: None,
            from: None,
            to: None,
            operation_type: None,
        });
        let f = writes::AuditFilter {
            external_user_id: filter
                .external_user_id
                .as_ref()
                .map(|id| parse_id("filter.externalUserId", id))
                .transpose()?,
            from: filter.from.map(|t| t.0),
            to: filter.to.map(|t| t.0),
            operation_type: filter.operation_type.map(OperationType::as_str),
        };
        let wanted = connection::wanted(ctx);
        let mut conn = ctx.pool()?.get().await?;
        let rows = if wanted.page {
            writes::audit_events(&mut conn, ws, &f, &connection::plus_one(&page)).await?
        } else {
            Vec::new()
        };
        let total = if wanted.count {
            writes::audit_count(&mut conn, ws, &f).await?
        } else {
            0
        };
        Ok(Some(Connection::page(
            rows.into_iter().map(AuditEvent).collect(),
            &page,
            total,
        )))
    }
}

#[derive(Default)]
pub struct AdminMutation;

/// Runs an admin mutation in its transaction; `NOT_FOUND` when nothing matched.
macro_rules! found {
    ($n:expr) => {
        if $n == 0 { Err(Error::NotFound) } else { Ok(()) }
    };
}

#[Object]
impl AdminMutation {
    /// Creates a role; its grant names are checked against the catalog. Admins only.
    async fn create_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role.")] input: CreateRoleInput,
    ) -> Result<Option<Role>> {
        let ws = admin_workspace(ctx)?;
        let mut tx = Tx::begin(ctx).await?;
        let id = Uuid::now_v7();
        let result = async {
            let name = checked_name("input.name", &input.name)?;
            let grants = checked_grants(&input.grants)?;
            let fields = writes::RoleFields {
                name: &name,
                description: input.description.as_deref(),
                active: input.active,
                expires_at: input.expires_at.map(|t| t.0),
            };
            let conn = tx.conn()?;
            writes::insert_role(conn, ws, id, &fields).await?;
            writes::replace_grants(conn, id, &grants).await?;
            Ok(((), vec![id]))
        }
        .await;
        tx.finish(ctx, result).await?;
        let row = ctx.loader().load_one(RoleId(id)).await?.ok_or(Error::NotFound)?;
        Ok(Some(Role(row)))
    }

    /// Changes a role; holders see the change on their next request. Admins only.
    async fn update_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role's id.")] id: ID,
        #[graphql(desc = "What to change.")] input: UpdateRoleInput,
    ) -> Result<Option<Role>> {
        let ws = admin_workspace(ctx)?;
        let id = parse_id("id", &id)?;
        let mut tx = Tx::begin(ctx).await?;
        let result = async {
            let conn = tx.conn()?;
            let current = writes::roles_by_ids(conn, ws, &[id])
                .await?
                .pop()
                .ok_or(Error::NotFound)?;
            let name = match &input.name {
                Some(n) => checked_name("input.name", n)?,
                None => current.name.clone(),
            };
            let grants = input.grants.as_deref().map(checked_grants).transpose()?;
            let description = match &input.description {
                MaybeUndefined::Undefined => current.description.clone(),
                MaybeUndefined::Null => None,
                MaybeUndefined::Value(d) => Some(d.clone()),
            };
            let expires_at = match input.expires_at {
                MaybeUndefined::Undefined => current.expires_at,
                MaybeUndefined::Null => None,
                MaybeUndefined::Value(t) => Some(t.0),
            };
            let fields = writes::RoleFields {
                name: &name,
                description: description.as_deref(),
                active: input.active.unwrap_or(current.active),
                expires_at,
            };
            writes::update_role(conn, ws, id, &fields).await?;
            if let Some(grants) = grants {
                writes::replace_grants(conn, id, &grants).await?;
            }
            Ok(((), vec![id]))
        }
        .await;
        tx.finish(ctx, result).await?;
        let row = ctx.loader().load_one(RoleId(id)).await?.ok_or(Error::NotFound)?;
        Ok(Some(Role(row)))
    }

    /// Deletes roles, their assignments and their uses in projects; answers the ids
    /// deleted. Admins only.
    async fn delete_roles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The roles to delete.")] ids: Vec<ID>,
    ) -> Result<Option<Vec<ID>>> {
        let ws = admin_workspace(ctx)?;
        let ids = ids
            .iter()
            .enumerate()
            .map(|(i, id)| parse_id(&format!("ids[{i}]"), id))
            .collect::<Result<Vec<_>>>()?;
        let mut tx = Tx::begin(ctx).await?;
        let result = async {
            let deleted = writes::delete_roles(tx.conn()?, ws, &ids).await?;
            Ok((deleted.clone(), deleted))
        }
        .await;
        let deleted = tx.finish(ctx, result).await?;
        Ok(Some(deleted.into_iter().map(|id| ID(id.to_string())).collect()))
    }

    /// Gives an external user a workspace-wide role. Admins only.
    async fn assign_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role.")] role_id: ID,
        #[graphql(desc = "The external user.")] external_user_id: ID,
    ) -> Result<Option<ExternalUser>> {
        set_assignment(ctx, role_id, external_user_id, true)
            .await
            .map(Some)
    }

    /// Takes a workspace-wide role from an external user. Admins only.
    async fn unassign_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role.")] role_id: ID,
        #[graphql(desc = "The external user.")] external_user_id: ID,
    ) -> Result<Option<ExternalUser>> {
        set_assignment(ctx, role_id, external_user_id, false)
            .await
            .map(Some)
    }

    /// Adds a contact of a client account as an external user, with portal access. An
    /// e-mail already used in the workspace is `CONFLICT`. Admins only.
    async fn create_external_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client account they belong to.")] account_id: ID,
        #[graphql(desc = "Their e-mail address, unique in the workspace (case-insensitively).")]
        email: String,
        #[graphql(desc = "Their name.")] name: String,
    ) -> Result<Option<ExternalUser>> {
        let ws = admin_workspace(ctx)?;
        let account = parse_id("accountId", &account_id)?;
        let mut tx = Tx::begin(ctx).await?;
        let result = async {
            let email = email.trim().to_lowercase();
            if !email.contains('@') || email.len() > 320 {
                return Err(Error::bad_input("email", "not an e-mail address"));
            }
            let name = checked_name("name", &name)?;
            // Unique per workspace (docs/permissions.md#callers): a conflict speaks of this
            // workspace only.
            let id = writes::insert_external_user(tx.conn()?, ws, account, &email, &name)
                .await
                .map_err(|e| match Error::from(e) {
                    Error::Conflict(_) => {
                        Error::Conflict("an external user of this workspace already has this e-mail".into())
                    }
                    other => other,
                })?
                .ok_or_else(|| Error::bad_input("accountId", "no such account"))?;
            Ok((id, vec![id]))
        }
        .await;
        let id = tx.finish(ctx, result).await?;
        external_user(ctx, ws, id).await.map(Some)
    }

    /// Removes the user's access, assignments and memberships; their audit events stay.
    /// Answers the id deleted. Admins only.
    async fn delete_external_user(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The external user.")] id: ID,
    ) -> Result<Option<ID>> {
        let ws = admin_workspace(ctx)?;
        let user = parse_id("id", &id)?;
        let mut tx = Tx::begin(ctx).await?;
        let result = async {
            found!(writes::delete_external_user(tx.conn()?, ws, user).await?)?;
            Ok(((), vec![user]))
        }
        .await;
        tx.finish(ctx, result).await?;
        Ok(Some(id))
    }

    /// Lets an external user use the portal again. Admins only.
    async fn grant_portal_access(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The external user.")] external_user_id: ID,
    ) -> Result<Option<ExternalUser>> {
        set_portal_access(ctx, external_user_id, true).await.map(Some)
    }

    /// Stops an external user from using the portal; takes effect on their next request,
    /// whatever their token says. Admins only.
    async fn revoke_portal_access(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The external user.")] external_user_id: ID,
    ) -> Result<Option<ExternalUser>> {
        set_portal_access(ctx, external_user_id, false).await.map(Some)
    }

    /// Makes an external user a member of a project's organization, optionally with a
    /// project-specific role. Admins only.
    async fn add_project_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "The external user.")] external_user_id: ID,
        #[graphql(desc = "Their project-specific role; none when absent.")] role_id: Option<ID>,
    ) -> Result<Option<Project>> {
        let ws = admin_workspace(ctx)?;
        let project = parse_id("projectId", &project_id)?;
        let user = parse_id("externalUserId", &external_user_id)?;
        let role = role_id.as_ref().map(|r| parse_id("roleId", r)).transpose()?;
        let mut tx = Tx::begin(ctx).await?;
        let result = async {
            found!(writes::add_member(tx.conn()?, ws, project, user, role).await?)?;
            Ok(((), vec![project, user]))
        }
        .await;
        tx.finish(ctx, result).await?;
        staff_project(ctx, project).await.map(Some)
    }

    /// Removes an external user from a project's organization. Admins only.
    async fn remove_project_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "The external user.")] external_user_id: ID,
    ) -> Result<Option<Project>> {
        let ws = admin_workspace(ctx)?;
        let project = parse_id("projectId", &project_id)?;
        let user = parse_id("externalUserId", &external_user_id)?;
        let mut tx = Tx::begin(ctx).await?;
        let result = async {
            found!(writes::remove_member(tx.conn()?, ws, project, user).await?)?;
            Ok(((), vec![project, user]))
        }
        .await;
        tx.finish(ctx, result).await?;
        staff_project(ctx, project).await.map(Some)
    }

    /// `own: true` gives a sub-project its own organization, copying its parent's
    /// effective members; `own: false` drops its members and inherits again. Admins only.
    async fn set_project_own_organization(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The sub-project.")] project_id: ID,
        #[graphql(desc = "`true`: its own organization; `false`: its parent's.")] own: bool,
    ) -> Result<Option<Project>> {
        let ws = admin_workspace(ctx)?;
        let project = parse_id("projectId", &project_id)?;
        let mut tx = Tx::begin(ctx).await?;
        let result = async {
            let conn = tx.conn()?;
            let row = writes::project(conn, ws, project).await?.ok_or(Error::NotFound)?;
            let Some(parent) = row.parent_id else {
                return Err(Error::bad_input(
                    "projectId",
                    "only a sub-project can use its main project's organization",
                ));
            };
            if own && !row.own_organization {
                writes::copy_parent_organization(conn, project, parent).await?;
            } else if !own {
                writes::drop_members(conn, project).await?;
            }
            writes::set_project_flag(conn, ws, project, writes::ProjectFlag::OwnOrganization, own).await?;
            Ok(((), vec![project]))
        }
        .await;
        tx.finish(ctx, result).await?;
        staff_project(ctx, project).await.map(Some)
    }

    /// Shares a project with every portal user of its account, or stops sharing it.
    /// Admins only.
    async fn set_project_shared_with_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "Whether to share it.")] shared: bool,
    ) -> Result<Option<Project>> {
        let ws = admin_workspace(ctx)?;
        let project = parse_id("projectId", &project_id)?;
        let mut tx = Tx::begin(ctx).await?;
        let result = async {
            found!(
                writes::set_project_flag(
                    tx.conn()?,
                    ws,
                    project,
                    writes::ProjectFlag::SharedWithAccount,
                    shared
                )
                .await?
            )?;
            Ok(((), vec![project]))
        }
        .await;
        tx.finish(ctx, result).await?;
        staff_project(ctx, project).await.map(Some)
    }

    /// Lets external users see a project's budget (where granted), or hides it from them.
    /// Admins only.
    async fn set_budget_client_access(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "Whether external users may see the budget.")] enabled: bool,
    ) -> Result<Option<Project>> {
        let ws = admin_workspace(ctx)?;
        let project = parse_id("projectId", &project_id)?;
        let mut tx = Tx::begin(ctx).await?;
        let result = async {
            found!(writes::set_budget_client_access(tx.conn()?, ws, project, enabled).await?)?;
            Ok(((), vec![project]))
        }
        .await;
        tx.finish(ctx, result).await?;
        staff_project(ctx, project).await.map(Some)
    }

    /// Switches a module on or off for the workspace (a plan or add-on change); answers
    /// every module's switch. Admins only.
    async fn set_workspace_module(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The module, as the catalog spells it.")] module: String,
        #[graphql(desc = "Whether the module is on.")] enabled: bool,
    ) -> Result<Option<Vec<ModuleSwitch>>> {
        let ws = admin_workspace(ctx)?;
        let m = Module::parse(&module)
            .ok_or_else(|| Error::bad_input("module", format!("unknown module `{module}`")))?;
        let mut tx = Tx::begin(ctx).await?;
        let result = async {
            let disabled = writes::set_module(tx.conn()?, ws, m.name(), enabled).await?;
            Ok((disabled, vec![ws]))
        }
        .await;
        let disabled = tx.finish(ctx, result).await?;
        Ok(Some(
            Module::ALL
                .iter()
                .map(|m| ModuleSwitch {
                    module: m.name().to_string(),
                    enabled: !disabled.iter().any(|d| d == m.name()),
                })
                .collect(),
        ))
    }
}

async fn set_assignment(
    ctx: &Context<'_>,
    role_id: ID,
    external_user_id: ID,
    assigned: bool,
) -> Result<ExternalUser> {
    let ws = admin_workspace(ctx)?;
    let role = parse_id("roleId", &role_id)?;
    let user = parse_id("externalUserId", &external_user_id)?;
    let mut tx = Tx::begin(ctx).await?;
    let result = async {
        if !writes::set_assignment(tx.conn()?, ws, role, user, assigned).await? {
            return Err(Error::NotFound);
        }
        Ok(((), vec![role, user]))
    }
    .await;
    tx.finish(ctx, result).await?;
    external_user(ctx, ws, user).await
}

async fn set_portal_access(ctx: &Context<'_>, external_user_id: ID, access: bool) -> Result<ExternalUser> {
    let ws = admin_workspace(ctx)?;
    let user = parse_id("externalUserId", &external_user_id)?;
    let mut tx = Tx::begin(ctx).await?;
    let result = async {
        found!(writes::set_portal_access(tx.conn()?, ws, user, access).await?)?;
        Ok(((), vec![user]))
    }
    .await;
    tx.finish(ctx, result).await?;
    external_user(ctx, ws, user).await
}

async fn external_user(ctx: &Context<'_>, ws: Uuid, id: Uuid) -> Result<ExternalUser> {
    let row = writes::external_user(&mut *ctx.pool()?.get().await?, ws, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(ExternalUser(row))
}

/// A project after an admin change, through the same loader as any read.
async fn staff_project(ctx: &Context<'_>, id: Uuid) -> Result<Project> {
    let row = ctx
        .loader()
        .load_one(ProjectId(id))
        .await?
        .ok_or(Error::NotFound)?;
    Project::new(ctx, row)
}

super::connection::connection_types! {
    AuditEvent => "AuditEventConnection", "AuditEventEdge";
}
