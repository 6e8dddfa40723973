//! Actions (docs/api.md): what external users may do when the action is in the merged
//! grants of the record (else `FORBIDDEN`, nothing changed), and what staff do to run
//! the workspace. Every answer is loaded again through the caller's scope, so it is
//! filtered exactly as a query would be.

use async_graphql::{Context, ID, InputObject, Object};
use uuid::Uuid;

use super::crm::CrmAccount;
use super::invoices::{Invoice, InvoiceStatus};
use super::knowledge_base::KbArticle;
use super::loaders::{AccountId, ArticleId, InvoiceId, ProjectId, TaskId};
use super::mutations::Tx;
use super::projects::Project;
use super::scalars::Date;
use super::tasks::{Comment, Task, TaskPriority, TaskStatus};
use super::{ContextExt, parse_id};
use crate::access::catalog::{action, field};
use crate::access::{Access, Caller, Grant, Grants, Module};
use crate::db::{DbConn, models, queries, writes};
use crate::error::{Error, Result};

const CREATE_TASK: Grant = action(Module::Tasks, "create");
const COMMENT: Grant = action(Module::Tasks, "comment");
const UPDATE_CONTACT_DETAILS: Grant = action(Module::Crm, "update_contact_details");
const ACCEPT_ESTIMATE: Grant = action(Module::Invoices, "accept_estimate");
const CONVERT_ESTIMATE: Grant = action(Module::Invoices, "convert_estimate");
const INVOICE_STATUS: Grant = field(Module::Invoices, "status");

/// A new task.
#[derive(InputObject)]
pub struct CreateTaskInput {
    /// The task's title.
    pub title: String,
    /// What the task is about.
    pub description: Option<String>,
    /// How urgent it is; `NORMAL` when absent.
    pub priority: Option<TaskPriority>,
    /// When it is due.
    pub due_date: Option<Date>,
}

/// Changes to a task; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateTaskInput {
    /// A new title.
    pub title: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new status.
    pub status: Option<TaskStatus>,
    /// A new priority.
    pub priority: Option<TaskPriority>,
    /// A new due date.
    pub due_date: Option<Date>,
    /// A new estimate, in hours.
    pub estimated_hours: Option<f64>,
    /// The staff member to assign.
    pub assignee_id: Option<ID>,
    /// Whether the task is internal (hidden from external users).
    pub internal: Option<bool>,
}

/// New contact details of the caller's own account; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateAccountContactDetailsInput {
    /// A new e-mail address.
    pub email: Option<String>,
    /// A new phone number.
    pub phone: Option<String>,
    /// A new website.
    pub website: Option<String>,
    /// A new postal address.
    pub address: Option<String>,
}

fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(Error::bad_input(field, format!("must be 1 to {max} characters")));
    }
    Ok(v.to_string())
}

fn optional_text(field: &str, value: Option<&String>, max: usize) -> Result<Option<String>> {
    value.map(|v| text(field, v, max)).transpose()
}

/// The task, if the caller may see it (staff: any of the workspace).
async fn task_in_scope(conn: &mut DbConn, access: &Access, id: Uuid) -> Result<models::Task> {
    queries::tasks_by_ids(conn, &access.scope(Module::Tasks), &[id])
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

/// The invoice, if the caller may see it, locked for the change.
async fn invoice_in_scope(conn: &mut DbConn, access: &Access, id: Uuid) -> Result<models::Invoice> {
    queries::invoices_by_ids(conn, &access.scope(Module::Invoices), &[id])
        .await?
        .pop()
        .ok_or(Error::NotFound)?;
    writes::invoice_for_update(conn, access.caller().workspace_id(), id)
        .await?
        .ok_or(Error::NotFound)
}

/// An estimate refusing an action, in words built only from what the caller may see
/// (docs/api.md): its status is named only when their grants for it show `status`.
fn estimate_conflict(grants: &Grants, refused: &str, status: &str) -> Error {
    match grants.reveal(INVOICE_STATUS, status) {
        Some(status) => Error::Conflict(format!("the estimate cannot be {refused}: it is {status}")),
        None => Error::Conflict(format!("the estimate cannot be {refused}")),
    }
}

async fn task_answer(ctx: &Context<'_>, id: Uuid) -> Result<Option<Task>> {
    ctx.loader()
        .load_one(TaskId(id))
        .await?
        .map(|r| Task::new(ctx, r))
        .transpose()
}

async fn invoice_answer(ctx: &Context<'_>, id: Uuid) -> Result<Option<Invoice>> {
    ctx.loader()
        .load_one(InvoiceId(id))
        .await?
        .map(|r| Invoice::new(ctx, r))
        .transpose()
}

#[derive(Default)]
pub struct ActionsMutation;

#[Object]
impl ActionsMutation {
    /// Creates a task in a project. External users need `tasks.actions: create` in their
    /// grants for the project, else `FORBIDDEN`; the answer shows what their grants show.
    async fn create_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project to add the task to.")] project_id: ID,
        #[graphql(desc = "The task.")] input: CreateTaskInput,
    ) -> Result<Option<Task>> {
        let project = parse_id("projectId", &project_id)?;
        let mut tx = Tx::begin(ctx).await?;
        let access = tx.access.clone();
        let result = async {
            access.root(Module::Tasks)?;
            let conn = tx.conn()?;
            if queries::projects_by_ids(conn, &access.project_existence(), &[project])
                .await?
                .is_empty()
            {
                return Err(Error::NotFound);
            }
            access.may(&access.project_grants(Some(project)), CREATE_TASK)?;
            let title = text("input.title", &input.title, 500)?;
            let description = optional_text("input.description", input.description.as_ref(), 20_000)?;
            let (created_by_external, owner) = match access.caller() {
                Caller::External { id, .. } => (Some(*id), None),
                Caller::Staff { id, .. } => (None, Some(*id)),
            };
            let new = writes::NewTask {
                title: &title,
                description: description.as_deref(),
                priority: input.priority.unwrap_or(TaskPriority::Normal).as_str(),
                due_date: input.due_date.map(|d| d.0),
                created_by_external,
                owner,
            };
            let ws = access.caller().workspace_id();
            let id = writes::insert_task(conn, ws, project, &new).await?;
            Ok((id, vec![id]))
        }
        .await;
        let id = tx.finish(ctx, result).await?;
        task_answer(ctx, id).await
    }

    /// Changes a task. Staff only.
    async fn update_task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task's id.")] id: ID,
        #[graphql(desc = "What to change.")] input: UpdateTaskInput,
    ) -> Result<Option<Task>> {
        let task = parse_id("id", &id)?;
        let mut tx = Tx::begin(ctx).await?;
        let access = tx.access.clone();
        let result = async {
            access.staff_only()?;
            let ws = access.caller().workspace_id();
            let conn = tx.conn()?;
            let mut row = writes::task_for_update(conn, ws, task)
                .await?
                .ok_or(Error::NotFound)?;
            if let Some(t) = &input.title {
                row.title = text("input.title", t, 500)?;
            }
            if let Some(d) = &input.description {
                row.description = Some(d.clone());
            }
            if let Some(s) = input.status {
                row.completed_at = match s {
                    TaskStatus::Done => row.completed_at.or(Some(chrono::Utc::now())),
                    _ => None,
                };
                row.status = s.as_str().to_string();
            }
            if let Some(p) = input.priority {
                row.priority = p.as_str().to_string();
            }
            if input.due_date.is_some() {
                row.due_date = input.due_date.map(|d| d.0);
            }
            if let Some(h) = input.estimated_hours {
                if !(0.0..=100_000.0).contains(&h) {
                    return Err(Error::bad_input(
                        "input.estimatedHours",
                        "must be between 0 and 100000",
                    ));
                }
                row.estimated_hours = Some(h);
            }
            if let Some(a) = &input.assignee_id {
                let a = parse_id("input.assigneeId", a)?;
                if !writes::staff_exists(conn, ws, a).await? {
                    return Err(Error::bad_input("input.assigneeId", "no such staff member"));
                }
                row.assignee_id = Some(a);
            }
            if let Some(i) = input.internal {
                row.internal = i;
            }
            writes::update_task(conn, &row).await?;
            Ok(((), vec![task]))
        }
        .await;
        tx.finish(ctx, result).await?;
        task_answer(ctx, task).await
    }

    /// Comments on a task. External users need `tasks.actions: comment` in their grants for
    /// the task's project, else `FORBIDDEN`, and never write internal comments.
    async fn add_task_comment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task to comment on.")] task_id: ID,
        #[graphql(desc = "The comment's text.")] body: String,
        #[graphql(desc = "Staff only: whether the comment is internal (hidden from external users).")]
        internal: Option<bool>,
    ) -> Result<Option<Comment>> {
        let task = parse_id("taskId", &task_id)?;
        let mut tx = Tx::begin(ctx).await?;
        let access = tx.access.clone();
        let result = async {
            access.root(Module::Tasks)?;
            let conn = tx.conn()?;
            let row = task_in_scope(conn, &access, task).await?;
            let grants = access.project_grants(Some(row.project_id));
            access.may(&grants, COMMENT)?;
            let internal = internal.unwrap_or(false);
            if internal && !access.is_staff() {
                return Err(Error::Forbidden("internal comments are for staff".into()));
            }
            let body = text("body", &body, 20_000)?;
            let (author_staff, author_external) = match access.caller() {
                Caller::External { id, .. } => (None, Some(*id)),
                Caller::Staff { id, .. } => (Some(*id), None),
            };
            let new = writes::NewComment {
                body: &body,
                internal,
                author_staff,
                author_external,
            };
            let id = writes::insert_comment(conn, access.caller().workspace_id(), task, &new).await?;
            let comment = models::Comment {
                id,
                workspace_id: access.caller().workspace_id(),
                task_id: task,
                body,
                created_at: chrono::Utc::now(),
                internal,
                author_staff_id: author_staff,
                author_external_id: author_external,
            };
            Ok((
                Comment::of_task(grants, comment).map(|c| ctx.returned(c)),
                vec![id],
            ))
        }
        .await;
        tx.finish(ctx, result).await
    }

    /// Updates the contact details of the caller's own account. External users need
    /// `crm.actions: update_contact_details` in their grants, else `FORBIDDEN`.
    async fn update_account_contact_details(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new details.")] input: UpdateAccountContactDetailsInput,
    ) -> Result<Option<CrmAccount>> {
        let mut tx = Tx::begin(ctx).await?;
        let access = tx.access.clone();
        let result = async {
            let Caller::External { account_id, .. } = access.caller() else {
                return Err(Error::Forbidden("for external users".into()));
            };
            access.root(Module::Crm)?;
            access.may(&access.workspace_grants(), UPDATE_CONTACT_DETAILS)?;
            let email = optional_text("input.email", input.email.as_ref(), 320)?;
            if email.as_deref().is_some_and(|e| !e.contains('@')) {
                return Err(Error::bad_input("input.email", "not an e-mail address"));
            }
            let phone = optional_text("input.phone", input.phone.as_ref(), 100)?;
            let website = optional_text("input.website", input.website.as_ref(), 500)?;
            let address = optional_text("input.address", input.address.as_ref(), 1000)?;
            let details = writes::ContactDetails {
                email: email.as_deref(),
                phone: phone.as_deref(),
                website: website.as_deref(),
                address: address.as_deref(),
            };
            writes::update_contact_details(tx.conn()?, access.caller().workspace_id(), *account_id, &details)
                .await?;
            Ok((*account_id, vec![*account_id]))
        }
        .await;
        let account = tx.finish(ctx, result).await?;
        ctx.loader()
            .load_one(AccountId(account))
            .await?
            .map(|r| CrmAccount::new(ctx, r))
            .transpose()
    }

    /// Accepts an estimate that was sent (`SENT`; otherwise `CONFLICT`). External users
    /// need `invoices.actions: accept_estimate` in their grants for it, else `FORBIDDEN`.
    async fn accept_estimate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The estimate's id.")] id: ID,
    ) -> Result<Option<Invoice>> {
        let estimate = parse_id("id", &id)?;
        let mut tx = Tx::begin(ctx).await?;
        let access = tx.access.clone();
        let result = async {
            access.root(Module::Invoices)?;
            let conn = tx.conn()?;
            let row = invoice_in_scope(conn, &access, estimate).await?;
            let grants = access.project_grants(row.project_id);
            access.may(&grants, ACCEPT_ESTIMATE)?;
            if row.kind != "ESTIMATE" {
                return Err(Error::bad_input("id", "not an estimate"));
            }
            if row.status != "SENT" {
                return Err(estimate_conflict(&grants, "accepted", &row.status));
            }
            writes::set_invoice_status(conn, estimate, "ACCEPTED").await?;
            Ok(((), vec![estimate]))
        }
        .await;
        tx.finish(ctx, result).await?;
        invoice_answer(ctx, estimate).await
    }

    /// Makes an invoice of a sent estimate, once; again is `CONFLICT`. External users need
    /// `invoices.actions: convert_estimate` in their grants for it, else `FORBIDDEN`.
    async fn convert_estimate_to_invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The estimate's id.")] id: ID,
    ) -> Result<Option<Invoice>> {
        let estimate = parse_id("id", &id)?;
        let mut tx = Tx::begin(ctx).await?;
        let access = tx.access.clone();
        let result = async {
            access.root(Module::Invoices)?;
            let conn = tx.conn()?;
            let row = invoice_in_scope(conn, &access, estimate).await?;
            let grants = access.project_grants(row.project_id);
            access.may(&grants, CONVERT_ESTIMATE)?;
            if row.kind != "ESTIMATE" {
                return Err(Error::bad_input("id", "not an estimate"));
            }
            // Only while it is sent (docs/api.md): an accepted estimate has had its answer.
            if row.status != "SENT" {
                return Err(estimate_conflict(&grants, "converted", &row.status));
            }
            // Converting once is the caller's own action's contract (docs/api.md), not a
            // hidden value: saying so reveals no field.
            let invoice = writes::convert_estimate(conn, &row)
                .await
                .map_err(|e| match Error::from(e) {
                    Error::Conflict(_) => Error::Conflict("the estimate was already converted".into()),
                    other => other,
                })?;
            Ok((invoice, vec![estimate, invoice]))
        }
        .await;
        let invoice = tx.finish(ctx, result).await?;
        invoice_answer(ctx, invoice).await
    }

    /// Moves a project to another stage of the pipeline. Staff only.
    async fn set_project_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project.")] project_id: ID,
        #[graphql(desc = "The stage to move it to.")] stage_id: ID,
    ) -> Result<Option<Project>> {
        let project = parse_id("projectId", &project_id)?;
        let stage = parse_id("stageId", &stage_id)?;
        let mut tx = Tx::begin(ctx).await?;
        let access = tx.access.clone();
        let result = async {
            access.staff_only()?;
            if writes::set_project_stage(tx.conn()?, access.caller().workspace_id(), project, stage).await?
                == 0
            {
                return Err(Error::NotFound);
            }
            Ok(((), vec![project]))
        }
        .await;
        tx.finish(ctx, result).await?;
        ctx.loader()
            .load_one(ProjectId(project))
            .await?
            .map(|r| Project::new(ctx, r))
            .transpose()
    }

    /// Issues a draft invoice or estimate: `DRAFT` becomes `SENT`. Staff only.
    async fn issue_invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The draft's id.")] id: ID,
    ) -> Result<Option<Invoice>> {
        set_status(ctx, id, InvoiceStatus::Sent, Some("DRAFT")).await
    }

    /// Sets an invoice's status. Staff only.
    async fn set_invoice_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invoice's id.")] id: ID,
        #[graphql(desc = "The new status.")] status: InvoiceStatus,
    ) -> Result<Option<Invoice>> {
        set_status(ctx, id, status, None).await
    }

    /// Publishes an article to the portal. Staff only.
    async fn publish_article(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The article's id.")] id: ID,
    ) -> Result<Option<KbArticle>> {
        let article = parse_id("id", &id)?;
        let mut tx = Tx::begin(ctx).await?;
        let access = tx.access.clone();
        let result = async {
            access.staff_only()?;
            if writes::publish_article(tx.conn()?, access.caller().workspace_id(), article).await? == 0 {
                return Err(Error::NotFound);
            }
            Ok(((), vec![article]))
        }
        .await;
        tx.finish(ctx, result).await?;
        ctx.loader()
            .load_one(ArticleId(article))
            .await?
            .map(|r| KbArticle::new(ctx, r))
            .transpose()
    }
}

async fn set_status(
    ctx: &Context<'_>,
    id: ID,
    status: InvoiceStatus,
    from: Option<&str>,
) -> Result<Option<Invoice>> {
    let invoice = parse_id("id", &id)?;
    let mut tx = Tx::begin(ctx).await?;
    let access = tx.access.clone();
    let result = async {
        access.staff_only()?;
        let conn = tx.conn()?;
        let row = invoice_in_scope(conn, &access, invoice).await?;
        if let Some(from) = from
            && row.status != from
        {
            return Err(Error::Conflict(format!("the invoice is {}", row.status)));
        }
        writes::set_invoice_status(conn, invoice, status.as_str()).await?;
        Ok(((), vec![invoice]))
    }
    .await;
    tx.finish(ctx, result).await?;
    invoice_answer(ctx, invoice).await
}
