//! Tasks (module `tasks`) and their comments.

use std::borrow::Cow;

use async_graphql::{Context, Enum, ID, Object};

use super::admin::ExternalUser;
use super::connection::{self, Connection, Node};
use super::loaders::{
    CommentCountOf, CommentsOf, ExternalUserId, ProjectId, StaffId, TaskId, joined_or_load,
};
use super::projects::{Project, project_tasks};
use super::scalars::{Date, DateTime};
use super::users::{CommentAuthor, User};
use super::{ContextExt, parse_id};
use crate::access::catalog::{field, relation};
use crate::access::{Grant, Grants, Module};
use crate::db::models;
use crate::db::queries;
use crate::error::{Error, Result};

const DESCRIPTION: Grant = field(Module::Tasks, "description");
const STATUS: Grant = field(Module::Tasks, "status");
const PRIORITY: Grant = field(Module::Tasks, "priority");
const DUE_DATE: Grant = field(Module::Tasks, "due_date");
const ESTIMATED_HOURS: Grant = field(Module::Tasks, "estimated_hours");
const CREATED_AT: Grant = field(Module::Tasks, "created_at");
const COMPLETED_AT: Grant = field(Module::Tasks, "completed_at");
const ASSIGNEE: Grant = relation(Module::Tasks, "assignee");
const OWNER: Grant = relation(Module::Tasks, "owner");
const PROJECT: Grant = relation(Module::Tasks, "project");
const COMMENTS: Grant = relation(Module::Tasks, "comments");

/// Where a task stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Not started.
    Open,
    /// Being worked on.
    InProgress,
    /// Finished.
    Done,
    /// Dropped.
    Cancelled,
}

/// How urgent a task is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum TaskPriority {
    /// When there is time.
    Low,
    /// The default.
    Normal,
    /// Before normal work.
    High,
    /// Now.
    Urgent,
}

impl TaskStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "OPEN",
            TaskStatus::InProgress => "IN_PROGRESS",
            TaskStatus::Done => "DONE",
            TaskStatus::Cancelled => "CANCELLED",
        }
    }

    fn parse(s: &str) -> Option<TaskStatus> {
        match s {
            "OPEN" => Some(TaskStatus::Open),
            "IN_PROGRESS" => Some(TaskStatus::InProgress),
            "DONE" => Some(TaskStatus::Done),
            "CANCELLED" => Some(TaskStatus::Cancelled),
            _ => None,
        }
    }
}

impl TaskPriority {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TaskPriority::Low => "LOW",
            TaskPriority::Normal => "NORMAL",
            TaskPriority::High => "HIGH",
            TaskPriority::Urgent => "URGENT",
        }
    }

    fn parse(s: &str) -> Option<TaskPriority> {
        match s {
            "LOW" => Some(TaskPriority::Low),
            "NORMAL" => Some(TaskPriority::Normal),
            "HIGH" => Some(TaskPriority::High),
            "URGENT" => Some(TaskPriority::Urgent),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct Task {
    row: models::Task,
    grants: Grants,
    /// Its comments in scope, when its page counted them.
    comment_count: Option<i64>,
    /// Its assignee, when its page joined them.
    assignee: models::Joined<models::StaffUser>,
    /// Whether `row` holds only a [`models::TaskHead`]'s columns (see [`Task::full`]).
    lean: bool,
}

impl Task {
    /// A single record resolved into the response (noted for the audit).
    pub fn new(ctx: &Context<'_>, row: models::Task) -> Result<Task> {
        Ok(ctx.returned(Task::listed(ctx, row)?))
    }

    /// Wraps a row loaded in scope with its project's merged grants.
    pub fn listed(ctx: &Context<'_>, row: models::Task) -> Result<Task> {
        let grants = ctx.access()?.project_grants(Some(row.project_id));
        Ok(Task {
            row,
            grants,
            comment_count: None,
            assignee: None,
            lean: false,
        })
    }

    /// The task's row with every column: its own, or, when its page read only a
    /// [`models::TaskHead`]'s, loaded by id (in scope, as every task is). A page reads
    /// every column whenever its items are asked a field beyond those
    /// (`projects::project_tasks`), so this load is only a fallback.
    async fn full(&self, ctx: &Context<'_>) -> Result<Cow<'_, models::Task>> {
        if !self.lean {
            return Ok(Cow::Borrowed(&self.row));
        }
        let row = ctx.loader().load_one(TaskId(self.row.id)).await?;
        row.map(Cow::Owned).ok_or(Error::NotFound)
    }

    /// `read` of the task's full row, when the gate reveals `grant`.
    async fn detail<T>(
        &self,
        ctx: &Context<'_>,
        grant: Grant,
        read: impl FnOnce(&models::Task) -> T,
    ) -> Result<Option<T>> {
        if !self.grants.allows(grant) {
            return Ok(None);
        }
        Ok(Some(read(&*self.full(ctx).await?)))
    }

    /// A task of a page, with its comment count when the page counted them.
    pub fn counted(ctx: &Context<'_>, listed: models::ListedTask) -> Result<Task> {
        Ok(Task {
            comment_count: listed.comment_count,
            assignee: listed.assignee,
            lean: listed.lean,
            ..Task::listed(ctx, listed.task)?
        })
    }
}

impl Node for Task {
    fn cursor(&self) -> String {
        connection::encode_id("t", self.row.id)
    }

    fn record_id(&self) -> uuid::Uuid {
        self.row.id
    }
}

/// A task of a project (module `tasks`). External users see the tasks of projects in their
/// scope, never internal ones.
#[Object]
impl Task {
    /// The task's id. Always visible.
    pub(crate) async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// The task's title. Always visible.
    async fn title(&self) -> &str {
        &self.row.title
    }

    /// What the task is about. Visible to external users whose grants include
    /// `tasks.fields: description`.
    async fn description(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self
            .detail(ctx, DESCRIPTION, |t| t.description.clone())
            .await?
            .flatten())
    }

    /// Where the task stands. Visible to external users whose grants include
    /// `tasks.fields: status`.
    async fn status(&self) -> Option<TaskStatus> {
        self.grants
            .reveal(STATUS, &self.row.status)
            .and_then(|s| TaskStatus::parse(s))
    }

    /// How urgent the task is. Visible to external users whose grants include
    /// `tasks.fields: priority`.
    async fn priority(&self, ctx: &Context<'_>) -> Result<Option<TaskPriority>> {
        Ok(self
            .detail(ctx, PRIORITY, |t| TaskPriority::parse(&t.priority))
            .await?
            .flatten())
    }

    /// When the task is due. Visible to external users whose grants include
    /// `tasks.fields: due_date`.
    async fn due_date(&self, ctx: &Context<'_>) -> Result<Option<Date>> {
        Ok(self
            .detail(ctx, DUE_DATE, |t| t.due_date)
            .await?
            .flatten()
            .map(Date))
    }

    /// The work estimated, in hours. Visible to external users whose grants include
    /// `tasks.fields: estimated_hours`.
    async fn estimated_hours(&self, ctx: &Context<'_>) -> Result<Option<f64>> {
        Ok(self
            .detail(ctx, ESTIMATED_HOURS, |t| t.estimated_hours)
            .await?
            .flatten())
    }

    /// When the task was created. Visible to external users whose grants include
    /// `tasks.fields: created_at`.
    async fn created_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime>> {
        Ok(self
            .detail(ctx, CREATED_AT, |t| t.created_at)
            .await?
            .map(DateTime))
    }

    /// When the task was done. Visible to external users whose grants include
    /// `tasks.fields: completed_at`.
    async fn completed_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime>> {
        Ok(self
            .detail(ctx, COMPLETED_AT, |t| t.completed_at)
            .await?
            .flatten()
            .map(DateTime))
    }

    /// The staff member working on the task. Visible to external users whose grants include
    /// `tasks.relations: assignee`.
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.grants.reveal(ASSIGNEE, self.row.assignee_id).flatten() else {
            return Ok(None);
        };
        let staff = self.grants.is_staff();
        Ok(joined_or_load(ctx.loader(), self.assignee.as_ref(), StaffId(id))
            .await?
            .map(|u| User::new(ctx, u, staff)))
    }

    /// The staff member responsible for the task. Visible to external users whose grants
    /// include `tasks.relations: owner`.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.detail(ctx, OWNER, |t| t.owner_id).await?.flatten() else {
            return Ok(None);
        };
        let staff = self.grants.is_staff();
        Ok(ctx
            .loader()
            .load_one(StaffId(id))
            .await?
            .map(|u| User::new(ctx, u, staff)))
    }

    /// The task's project. Visible to external users whose grants include
    /// `tasks.relations: project` and access to `projects` for that project.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Box<Project>>> {
        if !self.grants.allows(PROJECT) {
            return Ok(None);
        }
        let row = ctx.loader().load_one(ProjectId(self.row.project_id)).await?;
        row.map(|r| Project::new(ctx, r).map(Box::new)).transpose()
    }

    /// The task's comments, oldest first; never internal ones for external users. Visible
    /// to external users whose grants include `tasks.relations: comments`; otherwise empty.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn comments(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items to return: 50 when absent, at most 100; 0 gives an empty page.")]
        first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page; the page starts after it.")] after: Option<
            String,
        >,
    ) -> Result<Connection<Comment>> {
        let page = connection::id_page(ctx, "c", first, after.as_deref())?;
        if !self.grants.allows(COMMENTS) {
            return Ok(Connection::empty());
        }
        let key = CommentsOf(self.row.id, connection::plus_one(&page));
        let (rows, total) = match self.comment_count {
            Some(total) => (connection::nested_page(ctx, key).await?, total),
            None => connection::nested(ctx, key, CommentCountOf(self.row.id)).await?,
        };
        let grants = self.grants;
        let nodes = rows
            .into_iter()
            .map(|r| Comment {
                row: r.comment,
                grants,
            })
            .collect();
        Ok(Connection::page(nodes, &page, total))
    }

    /// Whether the task is internal (never shown to external users). Staff only: `null` for
    /// external users whatever their grants.
    async fn internal(&self) -> Option<bool> {
        self.grants.staff_only(self.row.internal)
    }
}

#[derive(Clone)]
pub struct Comment {
    row: models::Comment,
    grants: Grants,
}

impl Comment {
    /// A comment of a visible task, shown only when the task's grants show comments.
    pub(crate) fn of_task(task_grants: Grants, row: models::Comment) -> Option<Comment> {
        task_grants.allows(COMMENTS).then_some(Comment {
            row,
            grants: task_grants,
        })
    }
}

impl Node for Comment {
    fn cursor(&self) -> String {
        connection::encode_id("c", self.row.id)
    }

    fn record_id(&self) -> uuid::Uuid {
        self.row.id
    }
}

/// A comment on a task; all fields show whenever the `comments` relation does.
#[Object]
impl Comment {
    /// The comment's id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// The comment's text.
    async fn body(&self) -> &str {
        &self.row.body
    }

    /// When the comment was written.
    async fn created_at(&self) -> DateTime {
        DateTime(self.row.created_at)
    }

    /// Who wrote the comment: a staff member or an external user.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<CommentAuthor>> {
        let staff = self.grants.is_staff();
        if let Some(id) = self.row.author_staff_id {
            let user = ctx.loader().load_one(StaffId(id)).await?;
            return Ok(user.map(|u| CommentAuthor::User(User::new(ctx, u, staff))));
        }
        let Some(id) = self.row.author_external_id else {
            return Ok(None);
        };
        let user = ctx.loader().load_one(ExternalUserId(id)).await?;
        Ok(user.map(|u| CommentAuthor::ExternalUser(ExternalUser::new(ctx, u))))
    }

    /// Whether the comment is internal (never shown to external users). Staff only: `null`
    /// for external users whatever their grants.
    async fn internal(&self) -> Option<bool> {
        self.grants.staff_only(self.row.internal)
    }
}

#[derive(Default)]
pub struct TasksQuery;

#[Object]
impl TasksQuery {
    /// Tasks of a project in scope, in creation order; empty when the project's grants
    /// do not name `tasks`; `NOT_FOUND` when the project is out of scope.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project whose tasks to list.")] project_id: ID,
        #[graphql(desc = "How many items to return: 50 when absent, at most 100; 0 gives an empty page.")]
        first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page; the page starts after it.")] after: Option<
            String,
        >,
    ) -> Result<Option<Connection<Task>>> {
        let access = ctx.access()?;
        access.root(Module::Tasks)?;
        let project = parse_id("projectId", &project_id)?;
        let page = connection::id_page(ctx, "t", first, after.as_deref())?;
        let exists = {
            let mut conn = ctx.pool()?.get().await?;
            !queries::projects_by_ids(&mut conn, &access.project_existence(), &[project])
                .await?
                .is_empty()
        };
        if !exists {
            return Err(Error::NotFound);
        }
        if !access.project_grants(Some(project)).names(Module::Tasks) {
            return Ok(Some(Connection::empty()));
        }
        project_tasks(ctx, project, page).await.map(Some)
    }

    /// One task by id; `NOT_FOUND` when it does not exist, is internal or is out of the
    /// caller's scope.
    async fn task(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The task's id.")] id: ID,
    ) -> Result<Option<Task>> {
        ctx.access()?.root(Module::Tasks)?;
        let id = parse_id("id", &id)?;
        let row = ctx.loader().load_one(TaskId(id)).await?.ok_or(Error::NotFound)?;
        Task::new(ctx, row).map(Some)
    }
}

super::connection::connection_types! {
    Task => "TaskConnection", "TaskEdge";
    Comment => "CommentConnection", "CommentEdge";
}
