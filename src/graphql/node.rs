//! Relay's `Node` (client conventions, docs/api.md): every type with an id implements it,
//! and `node(id)` finds a record through the same gate and loaders as its typed lookup
//! (`project(id)`, `task(id)`, …), so an id out of scope answers `null` exactly like
//! one that does not exist, and a record found shows exactly the fields it shows there.
//! Ids are UUIDs, unique across types.

use async_graphql::dataloader::Loader;
use async_graphql::{Context, ID, Interface, Object};

use super::admin::{AuditEvent, ExternalUser, Role};
use super::crm::CrmAccount;
use super::invoices::Invoice;
use super::knowledge_base::KbArticle;
use super::loaders::{
    AccountId, ArticleId, CommentId, ExternalUserId, Fetch, InvoiceId, ProjectId, RoleId, StaffId, TaskId,
};
use super::projects::{Project, ProjectStage};
use super::tasks::{Comment, Task};
use super::users::User;
use super::{ContextExt, parse_id};
use crate::access::Module;
use crate::db::writes;
use crate::error::{Error, Result};

/// A record with an id unique across types; `node(id)` finds it again.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The record's id, unique across types."))]
pub enum Node {
    AuditEvent(AuditEvent),
    Comment(Comment),
    CrmAccount(CrmAccount),
    ExternalUser(ExternalUser),
    Invoice(Invoice),
    KbArticle(KbArticle),
    Project(Project),
    ProjectStage(ProjectStage),
    Role(Role),
    Task(Task),
    User(User),
}

/// Loads `key` when the gate lets the caller look there at all; `None` otherwise.
async fn load_if<K, V>(ctx: &Context<'_>, allowed: bool, key: K) -> Result<Option<V>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
    Fetch: Loader<K, Value = V, Error = Error>,
{
    if !allowed {
        return Ok(None);
    }
    ctx.loader().load_one(key).await
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any record the caller may see, by id; `null` for an id that does not exist or
    /// is out of the caller's scope, alike.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The record's id, of any type that implements `Node`.")] id: ID,
    ) -> Result<Option<Node>> {
        let access = ctx.access()?;
        let identity = ctx.identity()?;
        let id = parse_id("id", &id)?;
        let module = |m| access.root(m).is_ok();
        let staff = access.staff_only().is_ok();
        let admin = access.admin_only().is_ok();
        let (project, task, comment, invoice, article, account, staff_user, external_user, role) = futures_util::try_join!(
            load_if(ctx, module(Module::Projects), ProjectId(id)),
            load_if(ctx, module(Module::Tasks), TaskId(id)),
            load_if(ctx, module(Module::Tasks), CommentId(id)),
            load_if(ctx, module(Module::Invoices), InvoiceId(id)),
            load_if(ctx, module(Module::KnowledgeBase), ArticleId(id)),
            load_if(ctx, module(Module::Crm), AccountId(id)),
            // People are relation targets: staff find any of them, an external caller
            // only themselves.
            load_if(ctx, staff, StaffId(id)),
            load_if(ctx, staff || identity.id == id, ExternalUserId(id)),
            load_if(ctx, access.may_see_roles(), RoleId(id)),
        )?;
        if let Some(row) = project {
            return Project::new(ctx, row).map(|p| Some(Node::Project(p)));
        }
        if let Some(row) = task {
            return Task::new(ctx, row).map(|t| Some(Node::Task(t)));
        }
        if let Some(row) = comment {
            let grants = access.project_grants(Some(row.project_id));
            return Ok(Comment::of_task(grants, row.comment).map(|c| Node::Comment(ctx.returned(c))));
        }
        if let Some(row) = invoice {
            return Invoice::new(ctx, row).map(|i| Some(Node::Invoice(i)));
        }
        if let Some(row) = article {
            return KbArticle::new(ctx, row).map(|a| Some(Node::KbArticle(a)));
        }
        if let Some(row) = account {
            return CrmAccount::new(ctx, row).map(|a| Some(Node::CrmAccount(a)));
        }
        if let Some(row) = staff_user {
            return Ok(Some(Node::User(User::new(ctx, row, staff))));
        }
        if let Some(row) = external_user {
            return Ok(Some(Node::ExternalUser(ExternalUser::new(ctx, row))));
        }
        if let Some(row) = role {
            return Ok(Some(Node::Role(Role(row))));
        }
        if !staff {
            return Ok(None);
        }
        let ws = access.caller().workspace_id();
        let mut conn = ctx.pool()?.get().await?;
        if let Some(row) = writes::project_stage(&mut conn, ws, id).await? {
            return Ok(Some(Node::ProjectStage(ProjectStage(row))));
        }
        if !admin {
            return Ok(None);
        }
        Ok(writes::audit_event(&mut conn, ws, id)
            .await?
            .map(|e| Node::AuditEvent(AuditEvent(e))))
    }
}
