//! Projects (module `projects`), with their stage, budget and sub-projects.

use async_graphql::{Context, Enum, ID, Object};
use uuid::Uuid;

use super::connection::{self, Connection, Node};
use super::crm::CrmAccount;
use super::loaders::{
    AccountId, ProjectId, StaffId, SubprojectCountOf, SubprojectsOf, TaskCountOf, TasksOf, joined_or_load,
};
use super::scalars::{Date, Decimal};
use super::tasks::Task;
use super::users::User;
use super::viewer::GrantSet;
use super::{ContextExt, parse_id};
use crate::access::catalog::{field, relation};
use crate::access::{Grant, Grants, Module};
use crate::db::models;
use crate::db::queries::{self, Page, ProjectJoins, TaskPage};
use crate::error::{Error, Result};

const DESCRIPTION: Grant = field(Module::Projects, "description");
const STATUS: Grant = field(Module::Projects, "status");
const START_DATE: Grant = field(Module::Projects, "start_date");
const END_DATE: Grant = field(Module::Projects, "end_date");
const PROGRESS: Grant = field(Module::Projects, "progress");
const STAGE: Grant = relation(Module::Projects, "stage");
const OWNER: Grant = relation(Module::Projects, "owner");
const BUDGET: Grant = relation(Module::Projects, "budget");
const ACCOUNT: Grant = relation(Module::Projects, "account");
const PARENT: Grant = relation(Module::Projects, "parent");
const SUBPROJECTS: Grant = relation(Module::Projects, "subprojects");
const TASKS: Grant = relation(Module::Projects, "tasks");

/// Where a project stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ProjectStatus {
    /// Work is under way.
    Active,
    /// Paused.
    OnHold,
    /// Finished.
    Completed,
}

impl ProjectStatus {
    fn parse(s: &str) -> Option<ProjectStatus> {
        match s {
            "ACTIVE" => Some(ProjectStatus::Active),
            "ON_HOLD" => Some(ProjectStatus::OnHold),
            "COMPLETED" => Some(ProjectStatus::Completed),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct Project {
    row: models::Project,
    /// The parts that follow the project, loaded with it.
    stage: Option<models::ProjectStage>,
    budget: Option<models::Budget>,
    /// Its owner and account, when its page joined them (the account boxed: it is most
    /// of a project's size).
    owner: models::Joined<models::StaffUser>,
    account: Option<Box<Option<models::Account>>>,
    grants: Grants,
}

impl Project {
    /// A single record resolved into the response (noted for the audit).
    pub fn new(ctx: &Context<'_>, row: models::ProjectView) -> Result<Project> {
        Ok(ctx.returned(Project::listed(ctx, row)?))
    }

    /// Wraps a row loaded in scope with the grants merged for it.
    pub fn listed(ctx: &Context<'_>, row: models::ProjectView) -> Result<Project> {
        let grants = ctx.access()?.project_grants(Some(row.project.id));
        let (stage, budget) = (row.stage(), row.budget());
        Ok(Project {
            row: row.project,
            stage,
            budget,
            owner: None,
            account: None,
            grants,
        })
    }

    /// A project of a page, with the relations the page joined.
    pub fn joined(ctx: &Context<'_>, listed: models::ListedProject) -> Result<Project> {
        Ok(Project {
            owner: listed.owner,
            account: listed.account.map(Box::new),
            ..Project::listed(ctx, listed.view)?
        })
    }
}

impl Node for Project {
    fn cursor(&self) -> String {
        connection::encode_name_id("p", &self.row.name, self.row.id)
    }

    fn record_id(&self) -> uuid::Uuid {
        self.row.id
    }
}

/// A project of the workspace (module `projects`). External users see the projects they
/// are members of and their own account's projects shared with it; never archived ones.
#[Object]
impl Project {
    /// The project's id. Always visible.
    pub(crate) async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// The project's name. Always visible.
    async fn name(&self) -> &str {
        &self.row.name
    }

    /// What the project is about. Visible to external users whose grants include
    /// `projects.fields: description`.
    async fn description(&self) -> Option<&str> {
        self.grants
            .reveal(DESCRIPTION, self.row.description.as_deref())
            .flatten()
    }

    /// Where the project stands. Visible to external users whose grants include
    /// `projects.fields: status`.
    async fn status(&self) -> Option<ProjectStatus> {
        self.grants
            .reveal(STATUS, &self.row.status)
            .and_then(|s| ProjectStatus::parse(s))
    }

    /// When work starts. Visible to external users whose grants include
    /// `projects.fields: start_date`.
    async fn start_date(&self) -> Option<Date> {
        self.grants
            .reveal(START_DATE, self.row.start_date)
            .flatten()
            .map(Date)
    }

    /// When work is planned to end. Visible to external users whose grants include
    /// `projects.fields: end_date`.
    async fn end_date(&self) -> Option<Date> {
        self.grants
            .reveal(END_DATE, self.row.end_date)
            .flatten()
            .map(Date)
    }

    /// Percent complete (0–100). Visible to external users whose grants include
    /// `projects.fields: progress`.
    async fn progress(&self) -> Option<i32> {
        self.grants.reveal(PROGRESS, self.row.progress).flatten()
    }

    /// The project's stage in the workspace's pipeline. Visible to external users whose
    /// grants include `projects.relations: stage`.
    async fn stage(&self) -> Option<ProjectStage> {
        self.grants
            .reveal(STAGE, self.stage.clone())
            .flatten()
            .map(ProjectStage)
    }

    /// The staff member responsible for the project. Visible to external users whose grants
    /// include `projects.relations: owner`.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.grants.reveal(OWNER, self.row.owner_id).flatten() else {
            return Ok(None);
        };
        let staff = self.grants.is_staff();
        Ok(joined_or_load(ctx.loader(), self.owner.as_ref(), StaffId(id))
            .await?
            .map(|u| User::new(ctx, u, staff)))
    }

    /// The project's budget. Visible to external users whose grants include
    /// `projects.relations: budget`, and only while the budget's client access is on (staff
    /// switch it).
    async fn budget(&self) -> Option<Box<Budget>> {
        let budget = self.grants.reveal(BUDGET, self.budget.clone()).flatten()?;
        (budget.client_access || self.grants.is_staff()).then(|| {
            Box::new(Budget {
                row: budget,
                grants: self.grants,
            })
        })
    }

    /// The client account of the project. Visible to external users whose grants include
    /// `projects.relations: account` and access to `crm`; only the caller's own account
    /// exists for an external caller.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Box<CrmAccount>>> {
        let Some(id) = self.grants.reveal(ACCOUNT, self.row.account_id).flatten() else {
            return Ok(None);
        };
        let row = joined_or_load(ctx.loader(), self.account.as_deref(), AccountId(id)).await?;
        row.map(|r| CrmAccount::new(ctx, r).map(Box::new)).transpose()
    }

    /// The main project of a sub-project. Visible to external users whose grants include
    /// `projects.relations: parent`, and only when that project is in their scope.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Box<Project>>> {
        let Some(id) = self.grants.reveal(PARENT, self.row.parent_id).flatten() else {
            return Ok(None);
        };
        let row = ctx.loader().load_one(ProjectId(id)).await?;
        row.map(|r| Project::new(ctx, r).map(Box::new)).transpose()
    }

    /// The project's sub-projects in the caller's scope, by name. Visible to external users
    /// whose grants include `projects.relations: subprojects`; otherwise empty.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn subprojects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items to return: 50 when absent, at most 100; 0 gives an empty page.")]
        first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page; the page starts after it.")] after: Option<
            String,
        >,
    ) -> Result<Connection<Project>> {
        let page = connection::name_id_page(ctx, "p", first, after.as_deref())?;
        if !self.grants.allows(SUBPROJECTS) {
            return Ok(Connection::empty());
        }
        let key = SubprojectsOf(self.row.id, connection::plus_one(&page));
        let (rows, total) = connection::nested(ctx, key, SubprojectCountOf(self.row.id)).await?;
        let nodes = connection::wrap(rows, |r| Project::listed(ctx, r))?;
        Ok(Connection::page(nodes, &page, total))
    }

    /// The project's tasks, in creation order. Visible to external users whose grants
    /// include `projects.relations: tasks` and access to `tasks` for this project;
    /// otherwise empty.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items to return: 50 when absent, at most 100; 0 gives an empty page.")]
        first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page; the page starts after it.")] after: Option<
            String,
        >,
    ) -> Result<Connection<Task>> {
        let page = connection::id_page(ctx, "t", first, after.as_deref())?;
        if !self.grants.allows(TASKS) || !self.grants.names(Module::Tasks) {
            return Ok(Connection::empty());
        }
        project_tasks(ctx, self.row.id, page).await
    }

    /// The merged grants for this project: workspace roles and the caller's role in
    /// the project's organization, so that a frontend can tell "hidden" from "empty".
    async fn my_grants(&self) -> Vec<GrantSet> {
        GrantSet::all(&self.grants)
    }

    /// Whether the project is archived (never shown to external users). Staff only: `null`
    /// for external users whatever their grants.
    async fn archived(&self) -> Option<bool> {
        self.grants.staff_only(self.row.archived)
    }

    /// Whether the project is shared with every portal user of its account. Staff only:
    /// `null` for external users whatever their grants.
    async fn shared_with_account(&self) -> Option<bool> {
        self.grants.staff_only(self.row.shared_with_account)
    }

    /// The members of the project's organization (a sub-project without its own lists its
    /// parent's). Staff only: `null` for external users; `role` is shown to admins only.
    async fn members(&self, ctx: &Context<'_>) -> Result<Option<Vec<super::admin::ProjectMember>>> {
        if !self.grants.is_staff() {
            return Ok(None);
        }
        let rows = ctx
            .loader()
            .load_one(super::loaders::MembersOf(self.row.id))
            .await?
            .unwrap_or_default();
        Ok(Some(rows.into_iter().map(super::admin::ProjectMember).collect()))
    }

    /// Whether this sub-project has its own organization instead of its parent's. Staff
    /// only: `null` for external users whatever their grants.
    async fn own_organization(&self) -> Option<bool> {
        self.grants.staff_only(self.row.own_organization)
    }
}

/// The fields of a task that its [`models::TaskHead`] answers.
const TASK_HEAD_FIELDS: &[&str] = &[
    "__typename",
    "id",
    "title",
    "status",
    "assignee",
    "project",
    "comments",
    "internal",
];

/// A page of a project's tasks, known to be visible. When the page's tasks are asked
/// their comments' `totalCount`, the counts come with the page.
pub async fn project_tasks(ctx: &Context<'_>, project: Uuid, page: Page<Uuid>) -> Result<Connection<Task>> {
    let key = TasksOf(
        project,
        TaskPage {
            page: connection::plus_one(&page),
            comment_counts: connection::in_nodes(ctx, &["comments", "totalCount"]),
            assignees: connection::in_nodes(ctx, &["assignee"]),
            lean: connection::nodes_ask_only(ctx, TASK_HEAD_FIELDS),
        },
    );
    let (rows, total) = connection::nested(ctx, key, TaskCountOf(project)).await?;
    let nodes = connection::wrap(rows, |r| Task::counted(ctx, r))?;
    Ok(Connection::page(nodes, &page, total))
}

#[derive(Clone)]
pub struct ProjectStage(pub(crate) models::ProjectStage);

/// A stage of the workspace's project pipeline; all fields show whenever the `stage`
/// relation does.
#[Object]
impl ProjectStage {
    /// The stage's id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The stage's name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The stage's place in the pipeline; lower comes first.
    async fn position(&self) -> i32 {
        self.0.position
    }
}

#[derive(Clone)]
pub struct Budget {
    row: models::Budget,
    grants: Grants,
}

/// A project's budget; all fields show whenever the `budget` relation does.
#[Object]
impl Budget {
    /// The budgeted amount, exactly.
    async fn amount(&self) -> Decimal {
        Decimal::from_cents(self.row.amount_cents)
    }

    /// The amount spent so far, exactly.
    async fn spent(&self) -> Decimal {
        Decimal::from_cents(self.row.spent_cents)
    }

    /// The currency of both amounts (ISO 4217).
    async fn currency(&self) -> &str {
        &self.row.currency
    }

    /// Whether external users may see the budget at all. Staff only: `null` for external
    /// users whatever their grants.
    async fn client_access(&self) -> Option<bool> {
        self.grants.staff_only(self.row.client_access)
    }
}

#[derive(Default)]
pub struct ProjectsQuery;

#[Object]
impl ProjectsQuery {
    /// The projects in the caller's scope whose merged grants name `projects`, ordered by
    /// name then id. `FORBIDDEN` when no role of the caller names `projects`.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items to return: 50 when absent, at most 100; 0 gives an empty page.")]
        first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page; the page starts after it.")] after: Option<
            String,
        >,
    ) -> Result<Option<Connection<Project>>> {
        let access = ctx.access()?;
        access.root(Module::Projects)?;
        let page = connection::name_id_page(ctx, "p", first, after.as_deref())?;
        let scope = access.scope(Module::Projects);
        let wanted = connection::wanted(ctx);
        let mut conn = ctx.pool()?.get().await?;
        let (rows, counted) = if wanted.page {
            let crm = access.scope(Module::Crm);
            let joins = ProjectJoins {
                owners: connection::in_nodes(ctx, &["owner"]),
                accounts: connection::in_nodes(ctx, &["account"]).then_some(&crm),
            };
            let page = connection::plus_one(&page);
            queries::projects_page(&mut conn, &scope, &page, wanted.count, joins).await?
        } else {
            (Vec::new(), None)
        };
        let total = match counted {
            Some(n) => n,
            None if wanted.count => queries::projects_count(&mut conn, &scope).await?,
            None => 0,
        };
        drop(conn);
        let nodes = connection::wrap(rows, |r| Project::joined(ctx, r))?;
        Ok(Some(Connection::page(nodes, &page, total)))
    }

    /// One project by id; `NOT_FOUND` when it does not exist or is out of the caller's
    /// scope.
    async fn project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project's id.")] id: ID,
    ) -> Result<Option<Project>> {
        ctx.access()?.root(Module::Projects)?;
        let id = parse_id("id", &id)?;
        let row = ctx
            .loader()
            .load_one(ProjectId(id))
            .await?
            .ok_or(Error::NotFound)?;
        Project::new(ctx, row).map(Some)
    }
}

super::connection::connection_types! {
    Project => "ProjectConnection", "ProjectEdge";
}
