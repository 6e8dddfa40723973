//! Every SQL statement of the read path. Scoped queries take an [`access::Scope`] and
//! bind it as `$1..$5` (workspace, staff, project ids, account, workspace-named), so the
//! scope predicates below are the only description of scope (docs/permissions.md) in SQL.
//!
//! Batched queries take many parent ids (`= ANY($6)`) and page per parent (a `LATERAL`
//! page cut at its `LIMIT`, or a window function), so a request's statement count
//! depends on its depth, not on its rows.

use diesel::pg::Pg;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryResult, QueryableByName, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::*;
use crate::access::Scope;

/// Projects in scope (alias `p`): members' projects, and projects shared with the
/// caller's account when workspace roles name the module; never archived ones.
const PROJECT_SCOPE: &str = "p.workspace_id = $1 AND ($2 OR (NOT p.archived AND \
     (p.id = ANY($3) OR ($5 AND p.shared_with_account AND p.account_id = $4))))";

/// Tasks in scope (alias `t`, joined to `p`): of in-scope projects, never internal.
const TASK_SCOPE: &str = "($2 OR NOT t.internal)";

/// Comments in scope (alias `c`): of in-scope tasks, never internal.
const COMMENT_SCOPE: &str = "($2 OR NOT c.internal)";

/// Invoices in scope (alias `i`): the caller's account's, never drafts; those of a
/// project count through that project's role when no workspace role names invoices.
const INVOICE_SCOPE: &str = "i.workspace_id = $1 AND ($2 OR (i.account_id = $4 \
     AND i.status <> 'DRAFT' AND ($5 OR i.project_id = ANY($3))))";

/// The caller's own account only (alias `a`).
const ACCOUNT_SCOPE: &str = "a.workspace_id = $1 AND ($2 OR ($5 AND a.id = $4))";

/// Articles published to the portal (alias `k`).
const ARTICLE_SCOPE: &str = "k.workspace_id = $1 AND ($2 OR ($5 AND k.published))";

/// Staff users of the caller's workspace (alias `u`; `$1`, the workspace, as in every
/// scope): the targets of `owner`, `assignee` and `author`, whose fields the gate hides.
const STAFF_SCOPE: &str = "u.workspace_id = $1";

/// A staff user joined to a row as [`JoinedStaff`]'s columns, and its absence.
const STAFF_COLUMNS: &str = "u.id AS staff_id, u.workspace_id AS staff_workspace_id, \
    u.email AS staff_email, u.name AS staff_name, u.is_admin AS staff_is_admin";
const NO_STAFF: &str = "NULL::uuid AS staff_id, NULL::uuid AS staff_workspace_id, \
    NULL::text AS staff_email, NULL::text AS staff_name, NULL::bool AS staff_is_admin";

/// An account joined to a row as [`JoinedAccount`]'s columns, and its absence.
const ACCOUNT_COLUMNS: &str = "a.id AS acct_id, a.workspace_id AS acct_workspace_id, \
    a.name AS acct_name, a.email AS acct_email, a.phone AS acct_phone, \
    a.website AS acct_website, a.address AS acct_address, a.industry AS acct_industry, \
    a.description AS acct_description, a.owner_id AS acct_owner_id";
const NO_ACCOUNT: &str = "NULL::uuid AS acct_id, NULL::uuid AS acct_workspace_id, \
    NULL::text AS acct_name, NULL::text AS acct_email, NULL::text AS acct_phone, \
    NULL::text AS acct_website, NULL::text AS acct_address, NULL::text AS acct_industry, \
    NULL::text AS acct_description, NULL::uuid AS acct_owner_id";

/// The columns and the join of a staff user that `id` (a column) points at, in scope;
/// or null columns and no join.
fn staff_joined(id: &str, join: bool) -> (&'static str, String) {
    if join {
        (
            STAFF_COLUMNS,
            format!("LEFT JOIN staff_users u ON u.id = {id} AND {STAFF_SCOPE}"),
        )
    } else {
        (NO_STAFF, String::new())
    }
}

/// A scoped statement: the scope bound as `$1..$5`. Its text is fixed per kind of
/// caller (`$2`, "is staff", is written into it as a constant), so PostgreSQL can keep
/// one good generic plan for each and the statement is prepared once per connection.
fn scoped<'a>(sql: String, scope: &'a Scope) -> Prepared<'a> {
    let constant = if scope.staff { "(true OR " } else { "(false OR " };
    Prepared(
        sql_query(sql.replace("($2 OR ", constant))
            .into_boxed()
            .bind::<SqlUuid, _>(scope.workspace_id)
            .bind::<Bool, _>(scope.staff)
            .bind::<Array<SqlUuid>, _>(&scope.project_ids)
            .bind::<Nullable<SqlUuid>, _>(scope.account_id)
            .bind::<Bool, _>(scope.workspace_named),
    )
}

/// A raw statement that is safe to prepare once per connection and reuse: its text
/// never contains values, only placeholders. (Diesel assumes raw SQL is not.)
pub struct Prepared<'a>(BoxedSqlQuery<'a, Pg, diesel::query_builder::SqlQuery>);

impl<'a> Prepared<'a> {
    fn bind<ST, V>(self, value: V) -> Self
    where
        Pg: diesel::sql_types::HasSqlType<ST>,
        V: diesel::serialize::ToSql<ST, Pg> + Send + 'a,
        ST: Send + 'a,
    {
        Prepared(self.0.bind::<ST, V>(value))
    }
}

impl diesel::query_builder::QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, pass: diesel::query_builder::AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl diesel::query_builder::QueryId for Prepared<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Prepared<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

/// A fixed statement, prepared once per connection.
fn prepared<'a>(sql: impl Into<String>) -> Prepared<'a> {
    Prepared(sql_query(sql).into_boxed())
}

/// `select` (a statement of table alias `alias`, ending in its `WHERE`) cut to a page:
/// its rows after the cursor (`cursor`, its placeholders, the first of them text and
/// bound `NULL` when the page has none: `after`) in `key` order, at most `$8` of them.
///
/// For staff, whose scope is the whole workspace, written so that PostgreSQL plans it
/// once per statement, as [`scoped`] intends:
/// - The page's size is bound, as `$8`, under a literal ceiling of its own (a power of
///   two, 16 at least, above it). PostgreSQL prices a bound `LIMIT` at a tenth of the
///   rows beneath it: a tenth of the workspace's projects, without the ceiling, so the
///   generic plan lost to each custom one and a staff page of projects was planned again
///   on every request (0.2 ms of PostgreSQL's CPU per dashboard). The ceiling is a few
///   statements per list, not one per size: each kept statement costs a connection
///   about 130 KB of PostgreSQL's memory. Rows are read as the outer `LIMIT` asks, so
///   the ceiling is never read up to.
/// - Without a cursor there is no comparison. `$6 IS NULL OR (…) > ($6, $7)` was a
///   filter no index could serve in a generic plan, so a late page read every row
///   before it; `(…) > ($6, $7)` alone bounds the index scan.
///
/// External users' statements stay as they were: their scope names a few records, and
/// priced for a few rows, their plan walked the whole workspace in `key` order to find
/// them (4,196 buffers for a dashboard's page instead of about 60).
fn page_of(
    scope: &Scope,
    select: &str,
    alias: &str,
    key: &str,
    cursor: &str,
    after: bool,
    first: i64,
) -> String {
    if !scope.staff {
        let text = cursor.split(',').next().unwrap_or(cursor).trim();
        return format!(
            "{select} AND ({text}::text IS NULL OR ({key}) > ({cursor})) ORDER BY {key} LIMIT $8"
        );
    }
    let after = if after {
        format!("AND ({key}) > ({cursor}) ")
    } else {
        String::new()
    };
    let ceiling = u64::try_from(first).unwrap_or(0).max(16).next_power_of_two();
    format!(
        "SELECT * FROM ({select} {after}ORDER BY {key} LIMIT {ceiling}) {alias} \
         ORDER BY {key} LIMIT $8"
    )
}

/// A page request: how many, and after which sort key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Page<K> {
    pub first: i64,
    pub after: Option<K>,
}

// ---------------------------------------------------------------- callers

/// The statement of [`external_caller`], with `$extra` columns selected before the
/// role's.
macro_rules! external_caller_sql {
    ($extra:literal) => {
        concat!(
            "WITH RECURSIVE caller AS ( \
                 SELECT u.*, w.disabled_modules FROM external_users u \
                 JOIN workspaces w ON w.id = u.workspace_id WHERE u.id = $1 AND u.workspace_id = $2 \
             ), org(project_id, role_id) AS ( \
                 SELECT pm.project_id, pm.role_id FROM project_members pm \
                 JOIN projects p ON p.id = pm.project_id \
                 WHERE pm.external_user_id = $1 AND p.workspace_id = $2 \
                   AND (p.parent_id IS NULL OR p.own_organization) \
               UNION ALL \
                 SELECT c.id, org.role_id FROM projects c JOIN org ON c.parent_id = org.project_id \
                 WHERE NOT c.own_organization \
             ), held AS ( \
                 SELECT NULL::uuid AS project_id, ra.role_id FROM role_assignments ra \
                 WHERE ra.external_user_id = $1 \
               UNION ALL SELECT project_id, role_id FROM org \
             ) \
             SELECT caller.*, ",
            $extra,
            " held.project_id, r.id AS role_id, r.active, r.expires_at, g.module, \
                    g.fields, g.relations, g.actions, g.notifications \
             FROM caller LEFT JOIN held ON true \
             LEFT JOIN roles r ON r.id = held.role_id AND r.workspace_id = $2 \
             LEFT JOIN role_grants g ON g.role_id = r.id"
        )
    };
}

/// An external user, their workspace's switched-off modules, and every role they hold, in
/// one statement: workspace-wide assignments (`project_id` null) and the role of each
/// effective project membership (docs/permissions.md#project-organizations: a sub-project
/// uses its parent's organization, recursively, until it has its own).
pub async fn external_caller(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    workspace_id: Uuid,
) -> QueryResult<Option<(ExternalCallerRow, Vec<CallerRoleRow>)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(embed)]
        caller: ExternalCallerRow,
        #[diesel(embed)]
        role: CallerRoleRow,
    }
    let rows: Vec<Row> = prepared(external_caller_sql!(""))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(workspace_id)
        .load(conn)
        .await?;
    Ok(caller_roles(rows.into_iter().map(|r| (r.caller, r.role))))
}

/// The caller and their roles from the rows of [`external_caller_sql`].
fn caller_roles(
    rows: impl Iterator<Item = (ExternalCallerRow, CallerRoleRow)>,
) -> Option<(ExternalCallerRow, Vec<CallerRoleRow>)> {
    let mut rows = rows.peekable();
    let caller = rows.peek()?.0.clone();
    let mut roles: Vec<CallerRoleRow> = rows.map(|(_, role)| role).collect();
    // A caller holding nothing has one row of nulls.
    roles.retain(|r| r.project_id.is_some() || r.role_id.is_some());
    Some((caller, roles))
}

/// The grants cache's fence (docs/operations.md#grants-cache): the version that every
/// change of what decisions read bumps, in the changing transaction. `None` if the
/// one row is missing, which no cached entry may match.
pub async fn grants_version(conn: &mut AsyncPgConnection) -> QueryResult<Option<i64>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows: Vec<Row> = prepared("SELECT n FROM grants_version").load(conn).await?;
    Ok(match rows.as_slice() {
        [one] => Some(one.n),
        _ => None,
    })
}

/// [`external_caller`] and the grants version it was read at, in one statement (one
/// snapshot), for the grants cache. A missing version row reads as `-1`, which no
/// fence matches.
pub async fn external_caller_versioned(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    workspace_id: Uuid,
) -> QueryResult<Option<(ExternalCallerRow, Vec<CallerRoleRow>, i64)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(embed)]
        caller: ExternalCallerRow,
        #[diesel(sql_type = BigInt)]
        grants_version: i64,
        #[diesel(embed)]
        role: CallerRoleRow,
    }
    let rows: Vec<Row> = prepared(external_caller_sql!(
        "coalesce((SELECT v.n FROM grants_version v), -1) AS grants_version,"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(workspace_id)
    .load(conn)
    .await?;
    let Some(version) = <[Row]>::first(&rows).map(|r| r.grants_version) else {
        return Ok(None);
    };
    Ok(caller_roles(rows.into_iter().map(|r| (r.caller, r.role))).map(|(c, roles)| (c, roles, version)))
}

/// [`staff_user`] and the grants version it was read at, in one statement.
pub async fn staff_user_versioned(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    workspace_id: Uuid,
) -> QueryResult<Option<(StaffUser, i64)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(embed)]
        user: StaffUser,
        #[diesel(sql_type = BigInt)]
        grants_version: i64,
    }
    let row: Option<Row> = prepared(
        "SELECT s.*, coalesce((SELECT v.n FROM grants_version v), -1) AS grants_version \
         FROM staff_users s WHERE s.id = $1 AND s.workspace_id = $2",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(workspace_id)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| (r.user, r.grants_version)))
}

pub async fn staff_user(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    workspace_id: Uuid,
) -> QueryResult<Option<StaffUser>> {
    prepared("SELECT s.* FROM staff_users s WHERE s.id = $1 AND s.workspace_id = $2")
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(workspace_id)
        .get_result(conn)
        .await
        .optional()
}

/// The one user with this e-mail (any case): `(id, workspace, is staff)`. `None` when
/// no user has it, or when several do: an external user's e-mail is unique per
/// workspace only (docs/permissions.md#callers), so an e-mail alone may not name one user.
pub async fn user_id_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Option<(Uuid, Uuid, bool)>> {
    let mut users = users_by_email(conn, email).await?;
    Ok(if users.len() == 1 { users.pop() } else { None })
}

/// Every user with this e-mail (any case), staff and external, in every workspace:
/// `(id, workspace, is staff)`. For the token command, which a developer runs.
pub async fn users_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Vec<(Uuid, Uuid, bool)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        workspace_id: Uuid,
        #[diesel(sql_type = Bool)]
        staff: bool,
    }
    let rows: Vec<Row> = sql_query(
        "SELECT id, workspace_id, true AS staff FROM staff_users WHERE lower(email) = lower($1) \
         UNION ALL SELECT id, workspace_id, false FROM external_users WHERE lower(email) = lower($1)",
    )
    .bind::<Text, _>(email)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.workspace_id, r.staff))
        .collect())
}

/// Roles as [`external_caller`] answers them, for a set of roles held workspace-wide
/// (a role-set preview).
pub async fn roles_as_held(conn: &mut AsyncPgConnection, roles: &[Uuid]) -> QueryResult<Vec<CallerRoleRow>> {
    prepared(
        "SELECT NULL::uuid AS project_id, r.id AS role_id, r.active, r.expires_at, g.module, g.fields, \
                g.relations, g.actions, g.notifications \
         FROM roles r LEFT JOIN role_grants g ON g.role_id = r.id WHERE r.id = ANY($1)",
    )
    .bind::<Array<SqlUuid>, _>(roles)
    .load(conn)
    .await
}

pub async fn workspace(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Workspace>> {
    sql_query("SELECT * FROM workspaces WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

// ---------------------------------------------------------------- plain lookups

/// Staff users by id, within the workspace.
pub async fn staff_by_ids(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<StaffUser>> {
    prepared(format!(
        "SELECT u.* FROM staff_users u WHERE {STAFF_SCOPE} AND u.id = ANY($2)"
    ))
    .bind::<SqlUuid, _>(workspace_id)
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

/// External users by id, within the workspace (comment authors).
pub async fn external_users_by_ids(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<ExternalUser>> {
    prepared("SELECT * FROM external_users WHERE workspace_id = $1 AND id = ANY($2)")
        .bind::<SqlUuid, _>(workspace_id)
        .bind::<Array<SqlUuid>, _>(ids)
        .load(conn)
        .await
}

// ---------------------------------------------------------------- projects

/// A project with its stage and budget, which follow it
/// (docs/permissions.md#modules-and-the-grant-catalog): loaded in the same statement, so
/// showing them costs no statement of its own.
const PROJECT_VIEW: &str = "p.*, s.name AS stage_name, s.position AS stage_position, \
    b.amount_cents AS budget_amount_cents, b.spent_cents AS budget_spent_cents, \
    b.currency AS budget_currency, b.client_access AS budget_client_access";
/// The budget is looked up per project (its key is the project): joined plainly, the
/// planner hashed the whole budgets table for a page of twenty.
const PROJECT_PARTS: &str = "LEFT JOIN project_stages s ON s.id = p.stage_id \
    LEFT JOIN LATERAL (SELECT * FROM budgets b WHERE b.project_id = p.id LIMIT 1) b ON true";

pub async fn projects_by_ids(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    ids: &[Uuid],
) -> QueryResult<Vec<ProjectView>> {
    scoped(
        format!(
            "SELECT {PROJECT_VIEW} FROM projects p {PROJECT_PARTS} WHERE {PROJECT_SCOPE} AND p.id = ANY($6)"
        ),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

/// What a page of projects comes with: each project's owner (in [`STAFF_SCOPE`]) and
/// its account (in [`ACCOUNT_SCOPE`] for the scope given, the caller's scope of `crm`),
/// joined as their loaders read them, so that showing them costs no statement of
/// their own.
#[derive(Clone, Copy, Default)]
pub struct ProjectJoins<'a> {
    pub owners: bool,
    pub accounts: Option<&'a Scope>,
}

/// Projects in scope, by name then id, after `(name, id)`; with `count`, each row also
/// carries the full count of projects in scope (so a page and its `totalCount` are one
/// statement). Without it the count is not taken: for staff it reads every project of
/// the workspace, the larger part of the statement.
pub async fn projects_page(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    page: &Page<(String, Uuid)>,
    count: bool,
    joins: ProjectJoins<'_>,
) -> QueryResult<(Vec<ListedProject>, Option<i64>)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(embed)]
        project: ProjectView,
        #[diesel(sql_type = Nullable<BigInt>)]
        total_count: Option<i64>,
        #[diesel(embed)]
        owner: JoinedStaff,
        #[diesel(embed)]
        account: JoinedAccount,
    }
    let (name, id) = page.after.clone().unzip();
    let total_count = if count {
        format!("(SELECT count(*) FROM projects p WHERE {PROJECT_SCOPE})")
    } else {
        "NULL::bigint".to_owned()
    };
    // The page is cut before its stages and budgets are joined: joined first, the
    // planner hashed the whole budgets table for every page (a sequential scan of all
    // budgets, a third of the statement's time for an external dashboard).
    let page_sql = page_of(
        scope,
        &format!("SELECT p.*, {total_count} AS total_count FROM projects p WHERE {PROJECT_SCOPE}"),
        "p",
        "p.name, p.id",
        "$6, $7",
        page.after.is_some(),
        page.first,
    );
    let (owner, owner_join) = staff_joined("p.owner_id", joins.owners);
    // The account's scope is the caller's scope of `crm`: the same workspace, kind of
    // caller and account (`$1`, `$2`, `$4`) as every module's, and its own `$5`, bound
    // as `$9`.
    let (account, account_join) = match joins.accounts {
        Some(_) => (
            ACCOUNT_COLUMNS,
            format!(
                "LEFT JOIN accounts a ON a.id = p.account_id AND {}",
                ACCOUNT_SCOPE.replace("$5", "$9")
            ),
        ),
        None => (NO_ACCOUNT, String::new()),
    };
    let mut statement = scoped(
        format!(
            "SELECT {PROJECT_VIEW}, {owner}, {account} FROM ({page_sql}) p {PROJECT_PARTS} \
             {owner_join} {account_join} ORDER BY p.name, p.id"
        ),
        scope,
    )
    .bind::<Nullable<Text>, _>(name)
    .bind::<Nullable<SqlUuid>, _>(id)
    .bind::<BigInt, _>(page.first);
    if let Some(crm) = joins.accounts {
        debug_assert!(
            (crm.workspace_id, crm.staff, crm.account_id)
                == (scope.workspace_id, scope.staff, scope.account_id)
        );
        statement = statement.bind::<Bool, _>(crm.workspace_named);
    }
    let rows: Vec<Row> = statement.load(conn).await?;
    let total = rows.as_slice().first().and_then(|r| r.total_count);
    let rows = rows
        .into_iter()
        .map(|r| ListedProject {
            view: r.project,
            owner: r.owner.user(joins.owners),
            account: r.account.account(joins.accounts.is_some()),
        })
        .collect();
    Ok((rows, total))
}

pub async fn projects_count(conn: &mut AsyncPgConnection, scope: &Scope) -> QueryResult<i64> {
    let c: Count = scoped(
        format!("SELECT count(*) AS n FROM projects p WHERE {PROJECT_SCOPE}"),
        scope,
    )
    .get_result(conn)
    .await?;
    Ok(c.n)
}

/// Sub-projects of many parents, a page per parent.
pub async fn subprojects_pages(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    parents: &[Uuid],
    page: &Page<(String, Uuid)>,
) -> QueryResult<Vec<ProjectView>> {
    let (name, id) = page.after.clone().unzip();
    scoped(
        format!(
            "SELECT * FROM (SELECT {PROJECT_VIEW}, row_number() OVER (PARTITION BY p.parent_id \
               ORDER BY p.name, p.id) AS page_rank FROM projects p {PROJECT_PARTS} \
               WHERE {PROJECT_SCOPE} AND p.parent_id = ANY($6) \
               AND ($7::text IS NULL OR (p.name, p.id) > ($7, $8))) s \
             WHERE page_rank <= $9 ORDER BY name, id"
        ),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(parents)
    .bind::<Nullable<Text>, _>(name)
    .bind::<Nullable<SqlUuid>, _>(id)
    .bind::<BigInt, _>(page.first)
    .load(conn)
    .await
}

pub async fn subprojects_counts(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    parents: &[Uuid],
) -> QueryResult<Vec<ChildCount>> {
    scoped(
        format!(
            "SELECT p.parent_id, count(*) AS n FROM projects p \
             WHERE {PROJECT_SCOPE} AND p.parent_id = ANY($6) GROUP BY p.parent_id"
        ),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(parents)
    .load(conn)
    .await
}

// ---------------------------------------------------------------- tasks and comments

pub async fn tasks_by_ids(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    ids: &[Uuid],
) -> QueryResult<Vec<Task>> {
    scoped(
        format!(
            "SELECT t.* FROM tasks t JOIN projects p ON p.id = t.project_id \
             WHERE {PROJECT_SCOPE} AND {TASK_SCOPE} AND t.id = ANY($6)"
        ),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

/// A page of tasks, and whether each task comes with its count of comments in scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TaskPage {
    pub page: Page<Uuid>,
    pub comment_counts: bool,
    /// Whether each task comes with its assignee (in [`STAFF_SCOPE`]).
    pub assignees: bool,
    /// Whether only the columns of a [`TaskHead`] are read.
    pub lean: bool,
}

/// The columns of a [`TaskHead`] (alias `t`).
const TASK_HEAD: &str = "t.id, t.workspace_id, t.project_id, t.title, t.status, t.assignee_id, t.internal";

/// Tasks of many projects, a page per project, in creation order: each in-scope
/// project's page is read from `tasks_project_idx` and cut at its `LIMIT`, so a project
/// with many tasks costs its page, not all its tasks (a window over every task of the
/// batch read twice the rows and buffers).
///
/// With `comment_counts`, each task is counted its comments in scope from the comments
/// index. A task of the page is in scope already, so this costs one index probe per
/// task; counted apart (`comments_counts`), each task's scope was checked again, and it
/// was a statement of its own.
///
/// With `assignees`, each task comes with its assignee, joined in [`STAFF_SCOPE`] as
/// [`staff_by_ids`] reads them: loaded apart, they were a statement of their own and a
/// batched load per task.
///
/// With `lean`, each task is read as a [`TaskHead`] only.
pub async fn tasks_pages(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    projects: &[Uuid],
    page: &TaskPage,
) -> QueryResult<Vec<ListedTask>> {
    /// A row of the statement, its task whole (`Task`) or lean (`TaskHead`).
    #[derive(QueryableByName)]
    struct Row<T> {
        #[diesel(embed)]
        task: T,
        #[diesel(sql_type = Nullable<BigInt>)]
        comment_count: Option<i64>,
        #[diesel(embed)]
        assignee: JoinedStaff,
    }
    fn listed<T: Into<Task>>(rows: Vec<Row<T>>, page: &TaskPage) -> Vec<ListedTask> {
        rows.into_iter()
            .map(|r| ListedTask {
                task: r.task.into(),
                comment_count: r.comment_count,
                assignee: r.assignee.user(page.assignees),
                lean: page.lean,
            })
            .collect()
    }
    let comment_count = if page.comment_counts {
        format!("(SELECT count(*) FROM comments c WHERE c.task_id = t.id AND {COMMENT_SCOPE})")
    } else {
        "NULL::bigint".to_owned()
    };
    let columns = if page.lean { TASK_HEAD } else { "t.*" };
    // The assignees are joined to the whole batch (`OFFSET 0` keeps the pages apart):
    // joined beside each project's page, PostgreSQL hashed the staff table once per
    // project.
    let (assignee, assignee_join) = staff_joined("t.assignee_id", page.assignees);
    let statement = scoped(
        format!(
            "SELECT t.*, {assignee} FROM ( \
               SELECT t.*, {comment_count} AS comment_count FROM projects p CROSS JOIN LATERAL ( \
                 SELECT {columns} FROM tasks t WHERE t.project_id = p.id AND {TASK_SCOPE} \
                   AND ($7::uuid IS NULL OR t.id > $7) ORDER BY t.id LIMIT $8 \
               ) t WHERE {PROJECT_SCOPE} AND p.id = ANY($6) OFFSET 0 \
             ) t {assignee_join}"
        ),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(projects)
    .bind::<Nullable<SqlUuid>, _>(page.page.after)
    .bind::<BigInt, _>(page.page.first);
    let mut rows = if page.lean {
        listed::<TaskHead>(statement.load(conn).await?, page)
    } else {
        listed::<Task>(statement.load(conn).await?, page)
    };
    // Each project's page comes in order (its `LATERAL`'s `ORDER BY`), one project after
    // another; this sort only makes that a promise (it finds the runs already there).
    // Sorted by PostgreSQL, every row of the batch was copied once more: a fifth of
    // the statement's CPU.
    rows.sort_by_key(|r| (r.task.project_id, r.task.id));
    Ok(rows)
}

pub async fn tasks_counts(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    projects: &[Uuid],
) -> QueryResult<Vec<ChildCount>> {
    scoped(
        format!(
            "SELECT t.project_id AS parent_id, count(*) AS n FROM tasks t \
             JOIN projects p ON p.id = t.project_id \
             WHERE {PROJECT_SCOPE} AND {TASK_SCOPE} AND t.project_id = ANY($6) AND p.id = ANY($6) \
             GROUP BY t.project_id"
        ),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(projects)
    .load(conn)
    .await
}

/// Comments by id, in scope as on their tasks' lists (`node(id)`).
pub async fn comments_by_ids(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    ids: &[Uuid],
) -> QueryResult<Vec<ProjectComment>> {
    scoped(
        format!(
            "SELECT c.*, t.project_id FROM comments c JOIN tasks t ON t.id = c.task_id \
             JOIN projects p ON p.id = t.project_id \
             WHERE {PROJECT_SCOPE} AND {TASK_SCOPE} AND {COMMENT_SCOPE} AND c.id = ANY($6)"
        ),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

/// Comments of many tasks, a page per task, with their tasks' projects.
pub async fn comments_pages(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    tasks: &[Uuid],
    page: &Page<Uuid>,
) -> QueryResult<Vec<ProjectComment>> {
    scoped(
        format!(
            "SELECT * FROM (SELECT c.*, t.project_id, row_number() OVER (PARTITION BY c.task_id \
               ORDER BY c.id) AS page_rank FROM comments c JOIN tasks t ON t.id = c.task_id \
               JOIN projects p ON p.id = t.project_id \
               WHERE {PROJECT_SCOPE} AND {TASK_SCOPE} AND {COMMENT_SCOPE} AND c.task_id = ANY($6) \
               AND ($7::uuid IS NULL OR c.id > $7)) s \
             WHERE page_rank <= $8 ORDER BY id"
        ),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(tasks)
    .bind::<Nullable<SqlUuid>, _>(page.after)
    .bind::<BigInt, _>(page.first)
    .load(conn)
    .await
}

/// How many comments in scope each of many tasks has (tasks without any are absent).
///
/// The scope is the same for both kinds of caller, the join differs. An external
/// caller's projects are few, so their visible tasks are hashed and each comment is
/// matched to one. Staff see every project of the workspace: that join looked up each
/// comment's task and project (600 pairs of index probes for 200 tasks, 4,800 buffers), so
/// for staff each task's scope is checked once and its comments counted from the index.
pub async fn comments_counts(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    tasks: &[Uuid],
) -> QueryResult<Vec<ChildCount>> {
    let sql = if scope.staff {
        format!(
            "SELECT t.id AS parent_id, c.n FROM tasks t JOIN projects p ON p.id = t.project_id \
             CROSS JOIN LATERAL (SELECT count(*) AS n FROM comments c \
               WHERE c.task_id = t.id AND {COMMENT_SCOPE}) c \
             WHERE {PROJECT_SCOPE} AND {TASK_SCOPE} AND t.id = ANY($6) AND c.n > 0"
        )
    } else {
        format!(
            "SELECT c.task_id AS parent_id, count(*) AS n FROM comments c \
             JOIN tasks t ON t.id = c.task_id JOIN projects p ON p.id = t.project_id \
             WHERE {PROJECT_SCOPE} AND {TASK_SCOPE} AND {COMMENT_SCOPE} AND c.task_id = ANY($6) \
             GROUP BY c.task_id"
        )
    };
    scoped(sql, scope)
        .bind::<Array<SqlUuid>, _>(tasks)
        .load(conn)
        .await
}

// ---------------------------------------------------------------- accounts

pub async fn accounts_by_ids(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    ids: &[Uuid],
) -> QueryResult<Vec<Account>> {
    scoped(
        format!("SELECT a.* FROM accounts a WHERE {ACCOUNT_SCOPE} AND a.id = ANY($6)"),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

pub async fn accounts_page(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    page: &Page<(String, Uuid)>,
) -> QueryResult<Vec<Account>> {
    let (name, id) = page.after.clone().unzip();
    scoped(
        page_of(
            scope,
            &format!("SELECT a.* FROM accounts a WHERE {ACCOUNT_SCOPE}"),
            "a",
            "a.name, a.id",
            "$6, $7",
            page.after.is_some(),
            page.first,
        ),
        scope,
    )
    .bind::<Nullable<Text>, _>(name)
    .bind::<Nullable<SqlUuid>, _>(id)
    .bind::<BigInt, _>(page.first)
    .load(conn)
    .await
}

pub async fn accounts_count(conn: &mut AsyncPgConnection, scope: &Scope) -> QueryResult<i64> {
    let c: Count = scoped(
        format!("SELECT count(*) AS n FROM accounts a WHERE {ACCOUNT_SCOPE}"),
        scope,
    )
    .get_result(conn)
    .await?;
    Ok(c.n)
}

// ---------------------------------------------------------------- invoices

pub async fn invoices_by_ids(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    ids: &[Uuid],
) -> QueryResult<Vec<Invoice>> {
    scoped(
        format!("SELECT i.* FROM invoices i WHERE {INVOICE_SCOPE} AND i.id = ANY($6)"),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

pub async fn invoices_page(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    kind: Option<&str>,
    page: &Page<String>,
) -> QueryResult<Vec<Invoice>> {
    scoped(
        page_of(
            scope,
            &format!(
                "SELECT i.* FROM invoices i WHERE {INVOICE_SCOPE} AND ($6::text IS NULL OR i.kind = $6)"
            ),
            "i",
            "i.number",
            "$7",
            page.after.is_some(),
            page.first,
        ),
        scope,
    )
    .bind::<Nullable<Text>, _>(kind)
    .bind::<Nullable<Text>, _>(page.after.as_deref())
    .bind::<BigInt, _>(page.first)
    .load(conn)
    .await
}

pub async fn invoices_count(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    kind: Option<&str>,
) -> QueryResult<i64> {
    let c: Count = scoped(
        format!(
            "SELECT count(*) AS n FROM invoices i WHERE {INVOICE_SCOPE} \
             AND ($6::text IS NULL OR i.kind = $6)"
        ),
        scope,
    )
    .bind::<Nullable<Text>, _>(kind)
    .get_result(conn)
    .await?;
    Ok(c.n)
}

pub async fn lines_by_invoices(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    invoices: &[Uuid],
) -> QueryResult<Vec<InvoiceLine>> {
    scoped(
        format!(
            "SELECT l.* FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
             WHERE {INVOICE_SCOPE} AND l.invoice_id = ANY($6) ORDER BY l.invoice_id, l.position, l.id"
        ),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(invoices)
    .load(conn)
    .await
}

// ---------------------------------------------------------------- knowledge base

pub async fn articles_by_ids(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    ids: &[Uuid],
) -> QueryResult<Vec<KbArticle>> {
    scoped(
        format!("SELECT k.* FROM kb_articles k WHERE {ARTICLE_SCOPE} AND k.id = ANY($6)"),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

pub async fn articles_page(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    page: &Page<(String, Uuid)>,
) -> QueryResult<Vec<KbArticle>> {
    let (title, id) = page.after.clone().unzip();
    scoped(
        page_of(
            scope,
            &format!("SELECT k.* FROM kb_articles k WHERE {ARTICLE_SCOPE}"),
            "k",
            "k.title, k.id",
            "$6, $7",
            page.after.is_some(),
            page.first,
        ),
        scope,
    )
    .bind::<Nullable<Text>, _>(title)
    .bind::<Nullable<SqlUuid>, _>(id)
    .bind::<BigInt, _>(page.first)
    .load(conn)
    .await
}

pub async fn articles_count(conn: &mut AsyncPgConnection, scope: &Scope) -> QueryResult<i64> {
    let c: Count = scoped(
        format!("SELECT count(*) AS n FROM kb_articles k WHERE {ARTICLE_SCOPE}"),
        scope,
    )
    .get_result(conn)
    .await?;
    Ok(c.n)
}

// ---------------------------------------------------------------- notifications

/// The kinds of `portal_events`, in the order of [`Inbox::kinds`].
pub const EVENT_KINDS: [&str; 7] = [
    "TASK_CREATED",
    "TASK_STATUS_CHANGED",
    "COMMENT_ADDED",
    "PROJECT_STAGE_CHANGED",
    "INVOICE_ISSUED",
    "INVOICE_STATUS_CHANGED",
    "ARTICLE_PUBLISHED",
];

/// An external user's inbox (docs/permissions.md#notifications): for each kind of
/// [`EVENT_KINDS`], the scope of the records whose events of that kind reach them.
pub struct Inbox {
    pub user_id: Uuid,
    pub kinds: [Scope; 7],
}

/// A scope predicate renumbered for the inbox statement: the workspace stays `$1`, the
/// account becomes `$3`, the kind's project ids and workspace flag become `$ids` and
/// `$named`; "is staff" is false (staff have no inbox).
fn renumber(predicate: &str, ids: usize, named: usize) -> String {
    let mut out = String::with_capacity(predicate.len());
    let mut chars = predicate.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut n = 0u32;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d;
            chars.next();
        }
        match n {
            2 => out.push_str("false"),
            3 => out.push_str(&format!("${ids}")),
            4 => out.push_str("$3"),
            5 => out.push_str(&format!("${named}")),
            n => out.push_str(&format!("${n}")),
        }
    }
    out
}

/// The events of the inbox (alias `e`), as a condition on `$1..$17`: `$1` workspace,
/// `$2` user, `$3` account, then per kind its project ids and workspace flag. An event
/// shows when its record is in the kind's scope now, and it happened after the user
/// was created.
fn inbox_condition() -> String {
    let (p, t, c, i, k) = (
        PROJECT_SCOPE,
        TASK_SCOPE,
        COMMENT_SCOPE,
        INVOICE_SCOPE,
        ARTICLE_SCOPE,
    );
    let task = format!(
        "EXISTS (SELECT 1 FROM tasks t JOIN projects p ON p.id = t.project_id \
         WHERE t.id = e.task_id AND {p} AND {t})"
    );
    let records = [
        task.clone(),
        task,
        format!(
            "EXISTS (SELECT 1 FROM comments c JOIN tasks t ON t.id = c.task_id \
             JOIN projects p ON p.id = t.project_id WHERE c.id = e.comment_id AND {p} AND {t} AND {c})"
        ),
        format!("EXISTS (SELECT 1 FROM projects p WHERE p.id = e.project_id AND {p})"),
        format!("EXISTS (SELECT 1 FROM invoices i WHERE i.id = e.invoice_id AND {i})"),
        format!("EXISTS (SELECT 1 FROM invoices i WHERE i.id = e.invoice_id AND {i})"),
        format!("EXISTS (SELECT 1 FROM kb_articles k WHERE k.id = e.article_id AND {k})"),
    ];
    let kinds: Vec<String> = EVENT_KINDS
        .iter()
        .zip(records)
        .enumerate()
        .map(|(n, (kind, record))| {
            format!(
                "(e.kind = '{kind}' AND {})",
                renumber(&record, 4 + 2 * n, 5 + 2 * n)
            )
        })
        .collect();
    format!(
        "e.workspace_id = $1 AND e.occurred_at >= \
           (SELECT u.created_at FROM external_users u WHERE u.id = $2 AND u.workspace_id = $1) \
         AND ({})",
        kinds.join(" OR ")
    )
}

/// An inbox statement: its condition bound as `$1..$17`.
fn inbox<'a>(sql: String, inbox: &'a Inbox) -> Prepared<'a> {
    let first = &inbox.kinds[0];
    let mut q = Prepared(sql_query(sql).into_boxed())
        .bind::<SqlUuid, _>(first.workspace_id)
        .bind::<SqlUuid, _>(inbox.user_id)
        .bind::<Nullable<SqlUuid>, _>(first.account_id);
    for scope in &inbox.kinds {
        q = q
            .bind::<Array<SqlUuid>, _>(&scope.project_ids)
            .bind::<Bool, _>(scope.workspace_named);
    }
    q
}

/// A page of the inbox, newest first, after the event `after`.
pub async fn inbox_page(
    conn: &mut AsyncPgConnection,
    scope: &Inbox,
    page: &Page<Uuid>,
) -> QueryResult<Vec<InboxEvent>> {
    inbox(
        format!(
            "SELECT e.*, r.read_at FROM portal_events e LEFT JOIN notification_reads r \
               ON r.event_id = e.id AND r.external_user_id = $2 \
             WHERE {} AND ($18::uuid IS NULL OR e.seq < \
               (SELECT a.seq FROM portal_events a WHERE a.id = $18)) \
             ORDER BY e.seq DESC LIMIT $19",
            inbox_condition()
        ),
        scope,
    )
    .bind::<Nullable<SqlUuid>, _>(page.after)
    .bind::<BigInt, _>(page.first)
    .load(conn)
    .await
}

/// How many events the inbox holds, or only its unread ones.
pub async fn inbox_count(conn: &mut AsyncPgConnection, scope: &Inbox, unread: bool) -> QueryResult<i64> {
    let c: Count = inbox(
        format!(
            "SELECT count(*) AS n FROM portal_events e WHERE {} AND (NOT $18 OR NOT EXISTS \
               (SELECT 1 FROM notification_reads r WHERE r.event_id = e.id AND r.external_user_id = $2))",
            inbox_condition()
        ),
        scope,
    )
    .bind::<Bool, _>(unread)
    .get_result(conn)
    .await?;
    Ok(c.n)
}

/// Marks the events `ids` of the inbox read (those already read keep their time), and
/// answers those of them that are in the inbox, newest first. The one write of this
/// file: it shares the inbox's condition.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    scope: &Inbox,
    ids: &[Uuid],
) -> QueryResult<Vec<InboxEvent>> {
    let condition = inbox_condition();
    inbox(
        format!(
            "WITH marked AS (INSERT INTO notification_reads (external_user_id, event_id) \
               SELECT $2, e.id FROM portal_events e WHERE {condition} AND e.id = ANY($18) \
               ON CONFLICT DO NOTHING RETURNING event_id, read_at) \
             SELECT e.*, COALESCE(r.read_at, m.read_at) AS read_at FROM portal_events e \
             LEFT JOIN marked m ON m.event_id = e.id \
             LEFT JOIN notification_reads r ON r.event_id = e.id AND r.external_user_id = $2 \
             WHERE {condition} AND e.id = ANY($18) ORDER BY e.seq DESC"
        ),
        scope,
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

/// The inbox's events after the event numbered `after`, oldest first: what a client
/// resuming a subscription missed.
pub async fn inbox_after(
    conn: &mut AsyncPgConnection,
    scope: &Inbox,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<PortalEvent>> {
    inbox(
        format!(
            "SELECT e.* FROM portal_events e WHERE {} AND e.seq > $18 ORDER BY e.seq LIMIT $19",
            inbox_condition()
        ),
        scope,
    )
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Whether the event `id` is in the inbox now: whether it reaches its owner.
pub async fn inbox_holds(conn: &mut AsyncPgConnection, scope: &Inbox, id: Uuid) -> QueryResult<bool> {
    let c: Count = inbox(
        format!(
            "SELECT count(*) AS n FROM portal_events e WHERE {} AND e.id = $18",
            inbox_condition()
        ),
        scope,
    )
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await?;
    Ok(c.n > 0)
}

/// The number of the workspace's event `id`, while it is kept.
pub async fn event_seq(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<i64>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        seq: i64,
    }
    let row: Option<Row> = prepared("SELECT seq FROM portal_events WHERE id = $1 AND workspace_id = $2")
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(workspace_id)
        .get_result(conn)
        .await
        .optional()?;
    Ok(row.map(|r| r.seq))
}

/// One event, as committed.
pub async fn event(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PortalEvent>> {
    prepared("SELECT * FROM portal_events WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

/// Every workspace's events after the number `after`, oldest first: what an instance
/// whose listener was down missed.
pub async fn events_after(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<PortalEvent>> {
    prepared("SELECT * FROM portal_events WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await
}

/// The number of the latest committed event (0 when there is none).
pub async fn last_event_seq(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    let c: Count = prepared("SELECT coalesce(max(seq), 0) AS n FROM portal_events")
        .get_result(conn)
        .await?;
    Ok(c.n)
}

/// Drops events that happened before `before` (the inbox's retention), with their read
/// marks; answers how many.
pub async fn sweep_events(
    conn: &mut AsyncPgConnection,
    before: chrono::DateTime<chrono::Utc>,
) -> QueryResult<usize> {
    sql_query("DELETE FROM portal_events WHERE occurred_at < $1")
        .bind::<diesel::sql_types::Timestamptz, _>(before)
        .execute(conn)
        .await
}

// ---------------------------------------------------------------- admin, setup

pub async fn run_sql(conn: &mut AsyncPgConnection, sql: &str) -> QueryResult<()> {
    diesel_async::SimpleAsyncConnection::batch_execute(conn, sql).await
}

/// Whether the workspace exists (the seed's question: is the demo there?).
pub async fn workspace_exists(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Bool)]
        present: bool,
    }
    let row: Row = sql_query("SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = $1) AS present")
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await?;
    Ok(row.present)
}

pub async fn ping(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    sql_query("SELECT 1").execute(conn).await.map(|_| ())
}

#[derive(QueryableByName)]
struct Lsn {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    lsn: Option<i64>,
}

async fn lsn(conn: &mut AsyncPgConnection, sql: &str) -> Option<u64> {
    let rows: Vec<Lsn> = sql_query(sql).load(conn).await.ok()?;
    rows.into_iter().next()?.lsn.and_then(|n| u64::try_from(n).ok())
}

/// A primary's WAL position: where its next record goes, so at or past the end of every
/// transaction committed before the call (docs/operations.md#read-replica).
pub async fn primary_lsn(conn: &mut AsyncPgConnection) -> Option<u64> {
    lsn(
        conn,
        "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS lsn",
    )
    .await
}

/// A replica's replay position; `None` from a server that is not in recovery.
pub async fn replay_lsn(conn: &mut AsyncPgConnection) -> Option<u64> {
    lsn(
        conn,
        "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS lsn",
    )
    .await
}
