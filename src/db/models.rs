//! Row structs: one per table, read by name so that `SELECT t.*` and batched page
//! queries (with extra ranking columns) map onto them. No GraphQL here.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::*;

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = workspaces, check_for_backend(diesel::pg::Pg))]
pub struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub disabled_modules: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = staff_users, check_for_backend(diesel::pg::Pg))]
pub struct StaffUser {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = external_users, check_for_backend(diesel::pg::Pg))]
pub struct ExternalUser {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub account_id: Uuid,
    pub email: String,
    pub name: String,
    pub portal_access: bool,
    pub access_ends_at: Option<DateTime<Utc>>,
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct Account {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    pub industry: Option<String>,
    pub description: Option<String>,
    pub owner_id: Option<Uuid>,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = roles, check_for_backend(diesel::pg::Pg))]
pub struct Role {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = role_grants, check_for_backend(diesel::pg::Pg))]
pub struct RoleGrantRow {
    pub role_id: Uuid,
    pub module: String,
    pub fields: Vec<String>,
    pub relations: Vec<String>,
    pub actions: Vec<String>,
    pub notifications: Vec<String>,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = project_stages, check_for_backend(diesel::pg::Pg))]
pub struct ProjectStage {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub position: i32,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub struct Project {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub account_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub description: Option<String>,
    pub status: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub progress: Option<i32>,
    pub stage_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub own_organization: bool,
    pub shared_with_account: bool,
    pub archived: bool,
    pub created_at: DateTime<Utc>,
}

/// A project with its stage and budget (parts that follow it), from one statement.
#[derive(Clone, Debug, QueryableByName)]
pub struct ProjectView {
    #[diesel(embed)]
    pub project: Project,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub stage_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Int4>)]
    pub stage_position: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub budget_amount_cents: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub budget_spent_cents: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub budget_currency: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    pub budget_client_access: Option<bool>,
}

impl ProjectView {
    pub fn stage(&self) -> Option<ProjectStage> {
        Some(ProjectStage {
            id: self.project.stage_id?,
            workspace_id: self.project.workspace_id,
            name: self.stage_name.clone()?,
            position: self.stage_position?,
        })
    }

    pub fn budget(&self) -> Option<Budget> {
        Some(Budget {
            project_id: self.project.id,
            amount_cents: self.budget_amount_cents?,
            spent_cents: self.budget_spent_cents?,
            currency: self.budget_currency.clone()?,
            client_access: self.budget_client_access?,
        })
    }
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = project_members, check_for_backend(diesel::pg::Pg))]
pub struct ProjectMember {
    pub project_id: Uuid,
    pub external_user_id: Uuid,
    pub role_id: Option<Uuid>,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = budgets, check_for_backend(diesel::pg::Pg))]
pub struct Budget {
    pub project_id: Uuid,
    pub amount_cents: i64,
    pub spent_cents: i64,
    pub currency: String,
    pub client_access: bool,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub struct Task {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub project_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
    pub priority: String,
    pub due_date: Option<NaiveDate>,
    pub estimated_hours: Option<f64>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub created_by_external_id: Option<Uuid>,
    pub internal: bool,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = comments, check_for_backend(diesel::pg::Pg))]
pub struct Comment {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub task_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub internal: bool,
    pub author_staff_id: Option<Uuid>,
    pub author_external_id: Option<Uuid>,
}

/// A comment with the project its task belongs to (the comment's grants are that
/// project's).
#[derive(Clone, Debug, QueryableByName)]
pub struct ProjectComment {
    #[diesel(embed)]
    pub comment: Comment,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub project_id: Uuid,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = invoices, check_for_backend(diesel::pg::Pg))]
pub struct Invoice {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub account_id: Uuid,
    pub project_id: Option<Uuid>,
    pub number: String,
    pub kind: String,
    pub status: String,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub total_cents: i64,
    pub currency: String,
    pub paid_cents: i64,
    pub converted_from_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = invoice_lines, check_for_backend(diesel::pg::Pg))]
pub struct InvoiceLine {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub position: i32,
    pub description: String,
    pub quantity: f64,
    pub unit_price_cents: i64,
    pub amount_cents: i64,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = kb_articles, check_for_backend(diesel::pg::Pg))]
pub struct KbArticle {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub title: String,
    pub body: String,
    pub category: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub author_id: Option<Uuid>,
    pub published: bool,
}

/// One role that applies to an external user, with one module's lists (absent when
/// the role names no module), and the project it is held in (absent for workspace-wide
/// roles).
#[derive(Clone, Debug, QueryableByName)]
pub struct CallerRoleRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub project_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub role_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    pub active: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub module: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Text>>)]
    pub fields: Option<Vec<String>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Text>>)]
    pub relations: Option<Vec<String>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Text>>)]
    pub actions: Option<Vec<String>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Text>>)]
    pub notifications: Option<Vec<String>>,
}

/// An external caller as authentication needs them: the user and their workspace's
/// switched-off modules.
#[derive(Clone, Debug, QueryableByName)]
pub struct ExternalCallerRow {
    #[diesel(embed)]
    pub user: ExternalUser,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    pub disabled_modules: Vec<String>,
}

/// A task of a page, with how many comments in scope it has when the page was asked
/// for them (so a list of tasks and their comment counts are one statement), and its
/// assignee when the page was asked for them. `lean`: the page read only a
/// [`TaskHead`], so `task` holds those columns and the rest empty.
#[derive(Clone, Debug)]
pub struct ListedTask {
    pub task: Task,
    pub comment_count: Option<i64>,
    pub assignee: Joined<StaffUser>,
    pub lean: bool,
}

/// The columns of a task that a list's items are usually asked about. A page whose
/// items are asked nothing else reads these alone: a task's other columns were two
/// thirds of what the gateway decoded for a dashboard.
#[derive(Clone, Debug, QueryableByName)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub struct TaskHead {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub project_id: Uuid,
    pub title: String,
    pub status: String,
    pub assignee_id: Option<Uuid>,
    pub internal: bool,
}

/// A [`Task`] of a head's columns, every other one empty: only for a page whose items
/// are not asked them (`graphql::tasks::Task::full` reads the whole row otherwise).
impl From<TaskHead> for Task {
    fn from(head: TaskHead) -> Task {
        Task {
            id: head.id,
            workspace_id: head.workspace_id,
            project_id: head.project_id,
            title: head.title,
            description: None,
            status: head.status,
            priority: String::new(),
            due_date: None,
            estimated_hours: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            completed_at: None,
            assignee_id: head.assignee_id,
            owner_id: None,
            created_by_external_id: None,
            internal: head.internal,
        }
    }
}

/// The row a relation points at, when its parent's statement joined it in the scope
/// the relation's loader reads with: `Some(None)` when joined and nothing in scope was
/// there, `None` when not joined (then the loader reads it).
pub type Joined<T> = Option<Option<T>>;

/// A staff user joined to another row (owner, assignee), as columns named `staff_*`:
/// all null when the join found none in scope.
#[derive(Clone, Debug, QueryableByName)]
pub struct JoinedStaff {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub staff_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub staff_workspace_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub staff_email: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub staff_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    pub staff_is_admin: Option<bool>,
}

impl JoinedStaff {
    /// The user, when the statement joined one (`joined`) and found it.
    pub fn user(self, joined: bool) -> Joined<StaffUser> {
        joined.then(|| {
            Some(StaffUser {
                id: self.staff_id?,
                workspace_id: self.staff_workspace_id?,
                email: self.staff_email?,
                name: self.staff_name?,
                is_admin: self.staff_is_admin?,
            })
        })
    }
}

/// How many visible children a parent has (for `totalCount` of nested connections).
#[derive(Clone, Debug, QueryableByName)]
pub struct ChildCount {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub parent_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

#[derive(Clone, Debug, QueryableByName)]
pub struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
pub struct AuditEvent {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub at: DateTime<Utc>,
    pub external_user_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub preview_by: Option<Uuid>,
    pub operation_name: Option<String>,
    pub operation_type: String,
    pub root_fields: Vec<String>,
    pub record_ids: Vec<Uuid>,
    pub outcome: String,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = portal_events, check_for_backend(diesel::pg::Pg))]
pub struct PortalEvent {
    pub seq: i64,
    pub id: Uuid,
    pub kind: String,
    pub workspace_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub project_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub comment_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub article_id: Option<Uuid>,
}

/// An event of a user's inbox, with when they read it.
#[derive(Clone, Debug, QueryableByName)]
pub struct InboxEvent {
    #[diesel(embed)]
    pub event: PortalEvent,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub read_at: Option<DateTime<Utc>>,
}

/// A project of a page, with its owner and its account when the page was asked for them.
#[derive(Clone, Debug)]
pub struct ListedProject {
    pub view: ProjectView,
    pub owner: Joined<StaffUser>,
    pub account: Joined<Account>,
}

/// An account joined to another row (a project's), as columns named `acct_*`: all null
/// when the join found none in scope.
#[derive(Clone, Debug, QueryableByName)]
pub struct JoinedAccount {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub acct_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub acct_workspace_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub acct_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub acct_email: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub acct_phone: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub acct_website: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub acct_address: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub acct_industry: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub acct_description: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub acct_owner_id: Option<Uuid>,
}

impl JoinedAccount {
    /// The account, when the statement joined one (`joined`) and found it.
    pub fn account(self, joined: bool) -> Joined<Account> {
        joined.then(|| {
            Some(Account {
                id: self.acct_id?,
                workspace_id: self.acct_workspace_id?,
                name: self.acct_name?,
                email: self.acct_email,
                phone: self.acct_phone,
                website: self.acct_website,
                address: self.acct_address,
                industry: self.acct_industry,
                description: self.acct_description,
                owner_id: self.acct_owner_id,
            })
        })
    }
}
