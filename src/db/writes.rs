//! Every SQL statement that changes data, and the admin's reads of roles, users and
//! audit events. Each takes the workspace and touches nothing outside it; "not in this
//! workspace" and "does not exist" are the same answer (`Ok(0)` rows / `None`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Date, Double, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryResult, sql_query};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::models::*;
use super::queries::Page;

// ---------------------------------------------------------------- roles

pub async fn roles(conn: &mut AsyncPgConnection, ws: Uuid) -> QueryResult<Vec<Role>> {
    sql_query("SELECT * FROM roles WHERE workspace_id = $1 ORDER BY name, id")
        .bind::<SqlUuid, _>(ws)
        .load(conn)
        .await
}

pub async fn roles_by_ids(conn: &mut AsyncPgConnection, ws: Uuid, ids: &[Uuid]) -> QueryResult<Vec<Role>> {
    sql_query("SELECT * FROM roles WHERE workspace_id = $1 AND id = ANY($2) ORDER BY name, id")
        .bind::<SqlUuid, _>(ws)
        .bind::<Array<SqlUuid>, _>(ids)
        .load(conn)
        .await
}

pub async fn role_grants(conn: &mut AsyncPgConnection, role_ids: &[Uuid]) -> QueryResult<Vec<RoleGrantRow>> {
    sql_query("SELECT * FROM role_grants WHERE role_id = ANY($1) ORDER BY role_id, module")
        .bind::<Array<SqlUuid>, _>(role_ids)
        .load(conn)
        .await
}

/// The roles assigned workspace-wide to each of these users.
pub async fn assignments(conn: &mut AsyncPgConnection, users: &[Uuid]) -> QueryResult<Vec<(Uuid, Uuid)>> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        role_id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        external_user_id: Uuid,
    }
    let rows: Vec<Row> =
        sql_query("SELECT role_id, external_user_id FROM role_assignments WHERE external_user_id = ANY($1)")
            .bind::<Array<SqlUuid>, _>(users)
            .load(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.external_user_id, r.role_id))
        .collect())
}

/// A role's fields as stored; grants are replaced separately.
pub struct RoleFields<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub active: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_role(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    id: Uuid,
    f: &RoleFields<'_>,
) -> QueryResult<()> {
    sql_query("INSERT INTO roles (id, workspace_id, name, description, active, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(ws)
        .bind::<Text, _>(f.name)
        .bind::<Nullable<Text>, _>(f.description)
        .bind::<Bool, _>(f.active)
        .bind::<Nullable<Timestamptz>, _>(f.expires_at)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn update_role(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    id: Uuid,
    f: &RoleFields<'_>,
) -> QueryResult<usize> {
    sql_query(
        "UPDATE roles SET name = $3, description = $4, active = $5, expires_at = $6 \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(f.name)
    .bind::<Nullable<Text>, _>(f.description)
    .bind::<Bool, _>(f.active)
    .bind::<Nullable<Timestamptz>, _>(f.expires_at)
    .execute(conn)
    .await
}

/// Replaces a role's grants by these rows (module, then the four lists).
pub async fn replace_grants(
    conn: &mut AsyncPgConnection,
    role: Uuid,
    grants: &[(String, [Vec<String>; 4])],
) -> QueryResult<()> {
    sql_query("DELETE FROM role_grants WHERE role_id = $1")
        .bind::<SqlUuid, _>(role)
        .execute(conn)
        .await?;
    for (module, [fields, relations, actions, notifications]) in grants {
        sql_query(
            "INSERT INTO role_grants (role_id, module, fields, relations, actions, notifications) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind::<SqlUuid, _>(role)
        .bind::<Text, _>(module)
        .bind::<Array<Text>, _>(fields)
        .bind::<Array<Text>, _>(relations)
        .bind::<Array<Text>, _>(actions)
        .bind::<Array<Text>, _>(notifications)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Deletes roles with their assignments; members keep their membership without the
/// role. Answers the ids deleted.
pub async fn delete_roles(conn: &mut AsyncPgConnection, ws: Uuid, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    sql_query("UPDATE project_members SET role_id = NULL WHERE role_id IN (SELECT id FROM roles WHERE workspace_id = $1 AND id = ANY($2))")
        .bind::<SqlUuid, _>(ws)
        .bind::<Array<SqlUuid>, _>(ids)
        .execute(conn)
        .await?;
    let rows: Vec<Row> = sql_query("DELETE FROM roles WHERE workspace_id = $1 AND id = ANY($2) RETURNING id")
        .bind::<SqlUuid, _>(ws)
        .bind::<Array<SqlUuid>, _>(ids)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Assigns (or unassigns) a role of the workspace to an external user of it. Answers
/// whether both exist.
pub async fn set_assignment(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    role: Uuid,
    user: Uuid,
    assigned: bool,
) -> QueryResult<bool> {
    let exists: Option<i64> = count_of(
        conn,
        "SELECT count(*) AS n FROM roles r, external_users u WHERE r.id = $2 AND u.id = $3 \
         AND r.workspace_id = $1 AND u.workspace_id = $1",
        ws,
        &[role, user],
    )
    .await?;
    if exists != Some(1) {
        return Ok(false);
    }
    let sql = if assigned {
        "INSERT INTO role_assignments (role_id, external_user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM role_assignments WHERE role_id = $1 AND external_user_id = $2"
    };
    sql_query(sql)
        .bind::<SqlUuid, _>(role)
        .bind::<SqlUuid, _>(user)
        .execute(conn)
        .await?;
    Ok(true)
}

async fn count_of(
    conn: &mut AsyncPgConnection,
    sql: &str,
    ws: Uuid,
    ids: &[Uuid],
) -> QueryResult<Option<i64>> {
    let mut q = sql_query(sql).into_boxed().bind::<SqlUuid, _>(ws);
    for id in ids {
        q = q.bind::<SqlUuid, _>(*id);
    }
    let c: Option<Count> = q.get_result(conn).await.optional()?;
    Ok(c.map(|c| c.n))
}

// ---------------------------------------------------------------- external users

pub async fn external_users(conn: &mut AsyncPgConnection, ws: Uuid) -> QueryResult<Vec<ExternalUser>> {
    sql_query("SELECT * FROM external_users WHERE workspace_id = $1 ORDER BY email")
        .bind::<SqlUuid, _>(ws)
        .load(conn)
        .await
}

pub async fn external_user(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    id: Uuid,
) -> QueryResult<Option<ExternalUser>> {
    sql_query("SELECT * FROM external_users WHERE workspace_id = $1 AND id = $2")
        .bind::<SqlUuid, _>(ws)
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

pub async fn insert_external_user(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    account: Uuid,
    email: &str,
    name: &str,
) -> QueryResult<Option<Uuid>> {
    let id = Uuid::now_v7();
    let n = sql_query(
        "INSERT INTO external_users (id, workspace_id, account_id, email, name) \
         SELECT $1, $2, a.id, $4, $5 FROM accounts a WHERE a.workspace_id = $2 AND a.id = $3",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(account)
    .bind::<Text, _>(email)
    .bind::<Text, _>(name)
    .execute(conn)
    .await?;
    Ok((n == 1).then_some(id))
}

/// Removes an external user with their assignments and memberships (their audit
/// events stay).
pub async fn delete_external_user(conn: &mut AsyncPgConnection, ws: Uuid, id: Uuid) -> QueryResult<usize> {
    sql_query("DELETE FROM external_users WHERE workspace_id = $1 AND id = $2")
        .bind::<SqlUuid, _>(ws)
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await
}

pub async fn set_portal_access(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    id: Uuid,
    access: bool,
) -> QueryResult<usize> {
    sql_query("UPDATE external_users SET portal_access = $3 WHERE workspace_id = $1 AND id = $2")
        .bind::<SqlUuid, _>(ws)
        .bind::<SqlUuid, _>(id)
        .bind::<Bool, _>(access)
        .execute(conn)
        .await
}

// ---------------------------------------------------------------- projects

pub async fn members(conn: &mut AsyncPgConnection, projects: &[Uuid]) -> QueryResult<Vec<ProjectMember>> {
    sql_query(
        "SELECT * FROM project_members WHERE project_id = ANY($1) ORDER BY project_id, external_user_id",
    )
    .bind::<Array<SqlUuid>, _>(projects)
    .load(conn)
    .await
}

/// Adds a member (or changes their role); project, user and role must be of `ws`.
pub async fn add_member(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    project: Uuid,
    user: Uuid,
    role: Option<Uuid>,
) -> QueryResult<usize> {
    sql_query(
        "INSERT INTO project_members (project_id, external_user_id, role_id) \
         SELECT p.id, u.id, $4 FROM projects p, external_users u \
         WHERE p.id = $2 AND u.id = $3 AND p.workspace_id = $1 AND u.workspace_id = $1 \
           AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM roles r WHERE r.id = $4 AND r.workspace_id = $1)) \
         ON CONFLICT (project_id, external_user_id) DO UPDATE SET role_id = EXCLUDED.role_id",
    )
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(project)
    .bind::<SqlUuid, _>(user)
    .bind::<Nullable<SqlUuid>, _>(role)
    .execute(conn)
    .await
}

pub async fn remove_member(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    project: Uuid,
    user: Uuid,
) -> QueryResult<usize> {
    sql_query(
        "DELETE FROM project_members m USING projects p WHERE p.id = m.project_id \
         AND p.workspace_id = $1 AND m.project_id = $2 AND m.external_user_id = $3",
    )
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(project)
    .bind::<SqlUuid, _>(user)
    .execute(conn)
    .await
}

pub async fn project(conn: &mut AsyncPgConnection, ws: Uuid, id: Uuid) -> QueryResult<Option<Project>> {
    sql_query("SELECT * FROM projects WHERE workspace_id = $1 AND id = $2 FOR UPDATE")
        .bind::<SqlUuid, _>(ws)
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

/// Gives a sub-project its own organization, copying the effective members of its
/// parent (docs/permissions.md#project-organizations).
pub async fn copy_parent_organization(
    conn: &mut AsyncPgConnection,
    project: Uuid,
    parent: Uuid,
) -> QueryResult<()> {
    sql_query(
        "WITH RECURSIVE up(id, parent_id, own) AS ( \
             SELECT id, parent_id, own_organization FROM projects WHERE id = $2 \
           UNION ALL \
             SELECT p.id, p.parent_id, p.own_organization FROM projects p JOIN up ON p.id = up.parent_id \
             WHERE NOT up.own AND up.parent_id IS NOT NULL \
         ), org AS ( \
             SELECT id FROM up WHERE own OR parent_id IS NULL LIMIT 1 \
         ) \
         INSERT INTO project_members (project_id, external_user_id, role_id) \
         SELECT $1, m.external_user_id, m.role_id FROM project_members m JOIN org ON m.project_id = org.id \
         ON CONFLICT (project_id, external_user_id) DO UPDATE SET role_id = EXCLUDED.role_id",
    )
    .bind::<SqlUuid, _>(project)
    .bind::<SqlUuid, _>(parent)
    .execute(conn)
    .await
    .map(|_| ())
}

pub async fn drop_members(conn: &mut AsyncPgConnection, project: Uuid) -> QueryResult<()> {
    sql_query("DELETE FROM project_members WHERE project_id = $1")
        .bind::<SqlUuid, _>(project)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Sets one of a project's boolean switches (`own_organization`, `shared_with_account`).
pub async fn set_project_flag(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    id: Uuid,
    column: ProjectFlag,
    value: bool,
) -> QueryResult<usize> {
    let sql = match column {
        ProjectFlag::OwnOrganization => {
            "UPDATE projects SET own_organization = $3 WHERE workspace_id = $1 AND id = $2"
        }
        ProjectFlag::SharedWithAccount => {
            "UPDATE projects SET shared_with_account = $3 WHERE workspace_id = $1 AND id = $2"
        }
    };
    sql_query(sql)
        .bind::<SqlUuid, _>(ws)
        .bind::<SqlUuid, _>(id)
        .bind::<Bool, _>(value)
        .execute(conn)
        .await
}

#[derive(Clone, Copy)]
pub enum ProjectFlag {
    OwnOrganization,
    SharedWithAccount,
}

/// Sets a budget's client access (creating an empty budget when there is none).
pub async fn set_budget_client_access(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    project: Uuid,
    enabled: bool,
) -> QueryResult<usize> {
    sql_query(
        "INSERT INTO budgets (project_id, client_access) SELECT id, $3 FROM projects WHERE workspace_id = $1 AND id = $2 \
         ON CONFLICT (project_id) DO UPDATE SET client_access = EXCLUDED.client_access",
    )
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(project)
    .bind::<Bool, _>(enabled)
    .execute(conn)
    .await
}

pub async fn set_project_stage(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    project: Uuid,
    stage: Uuid,
) -> QueryResult<usize> {
    sql_query(
        "UPDATE projects SET stage_id = s.id FROM project_stages s \
         WHERE projects.workspace_id = $1 AND projects.id = $2 AND s.id = $3 AND s.workspace_id = $1",
    )
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(project)
    .bind::<SqlUuid, _>(stage)
    .execute(conn)
    .await
}

pub async fn set_module(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    module: &str,
    enabled: bool,
) -> QueryResult<Vec<String>> {
    let w: Workspace = sql_query(
        "UPDATE workspaces SET disabled_modules = CASE WHEN $3 THEN array_remove(disabled_modules, $2) \
           ELSE array_append(array_remove(disabled_modules, $2), $2) END \
         WHERE id = $1 RETURNING *",
    )
    .bind::<SqlUuid, _>(ws)
    .bind::<Text, _>(module)
    .bind::<Bool, _>(enabled)
    .get_result(conn)
    .await?;
    Ok(w.disabled_modules)
}

// ---------------------------------------------------------------- tasks and comments

pub struct NewTask<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub priority: &'a str,
    pub due_date: Option<NaiveDate>,
    pub created_by_external: Option<Uuid>,
    pub owner: Option<Uuid>,
}

pub async fn insert_task(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    project: Uuid,
    t: &NewTask<'_>,
) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    sql_query(
        "INSERT INTO tasks (id, workspace_id, project_id, title, description, priority, due_date, \
           created_by_external_id, owner_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(project)
    .bind::<Text, _>(t.title)
    .bind::<Nullable<Text>, _>(t.description)
    .bind::<Text, _>(t.priority)
    .bind::<Nullable<Date>, _>(t.due_date)
    .bind::<Nullable<SqlUuid>, _>(t.created_by_external)
    .bind::<Nullable<SqlUuid>, _>(t.owner)
    .execute(conn)
    .await?;
    Ok(id)
}

pub async fn task_for_update(conn: &mut AsyncPgConnection, ws: Uuid, id: Uuid) -> QueryResult<Option<Task>> {
    sql_query("SELECT * FROM tasks WHERE workspace_id = $1 AND id = $2 FOR UPDATE")
        .bind::<SqlUuid, _>(ws)
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

/// Writes every editable column of a task (the caller merged the input into the row).
pub async fn update_task(conn: &mut AsyncPgConnection, t: &Task) -> QueryResult<usize> {
    sql_query(
        "UPDATE tasks SET title = $2, description = $3, status = $4, priority = $5, due_date = $6, \
           estimated_hours = $7, assignee_id = $8, internal = $9, completed_at = $10 WHERE id = $1",
    )
    .bind::<SqlUuid, _>(t.id)
    .bind::<Text, _>(&t.title)
    .bind::<Nullable<Text>, _>(t.description.as_deref())
    .bind::<Text, _>(&t.status)
    .bind::<Text, _>(&t.priority)
    .bind::<Nullable<Date>, _>(t.due_date)
    .bind::<Nullable<Double>, _>(t.estimated_hours)
    .bind::<Nullable<SqlUuid>, _>(t.assignee_id)
    .bind::<Bool, _>(t.internal)
    .bind::<Nullable<Timestamptz>, _>(t.completed_at)
    .execute(conn)
    .await
}

pub async fn staff_exists(conn: &mut AsyncPgConnection, ws: Uuid, id: Uuid) -> QueryResult<bool> {
    Ok(count_of(
        conn,
        "SELECT count(*) AS n FROM staff_users WHERE workspace_id = $1 AND id = $2",
        ws,
        &[id],
    )
    .await?
        == Some(1))
}

pub struct NewComment<'a> {
    pub body: &'a str,
    pub internal: bool,
    pub author_staff: Option<Uuid>,
    pub author_external: Option<Uuid>,
}

pub async fn insert_comment(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    task: Uuid,
    c: &NewComment<'_>,
) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    sql_query(
        "INSERT INTO comments (id, workspace_id, task_id, body, internal, author_staff_id, author_external_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(task)
    .bind::<Text, _>(c.body)
    .bind::<Bool, _>(c.internal)
    .bind::<Nullable<SqlUuid>, _>(c.author_staff)
    .bind::<Nullable<SqlUuid>, _>(c.author_external)
    .execute(conn)
    .await?;
    Ok(id)
}

// ---------------------------------------------------------------- accounts, invoices, articles

pub struct ContactDetails<'a> {
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub website: Option<&'a str>,
    pub address: Option<&'a str>,
}

/// Updates the contact details given (absent ones stay as they are).
pub async fn update_contact_details(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    account: Uuid,
    d: &ContactDetails<'_>,
) -> QueryResult<usize> {
    sql_query(
        "UPDATE accounts SET email = coalesce($3, email), phone = coalesce($4, phone), \
           website = coalesce($5, website), address = coalesce($6, address) \
         WHERE workspace_id = $1 AND id = $2",
    )
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(account)
    .bind::<Nullable<Text>, _>(d.email)
    .bind::<Nullable<Text>, _>(d.phone)
    .bind::<Nullable<Text>, _>(d.website)
    .bind::<Nullable<Text>, _>(d.address)
    .execute(conn)
    .await
}

pub async fn invoice_for_update(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    id: Uuid,
) -> QueryResult<Option<Invoice>> {
    sql_query("SELECT * FROM invoices WHERE workspace_id = $1 AND id = $2 FOR UPDATE")
        .bind::<SqlUuid, _>(ws)
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

pub async fn set_invoice_status(conn: &mut AsyncPgConnection, id: Uuid, status: &str) -> QueryResult<usize> {
    sql_query("UPDATE invoices SET status = $2, issue_date = CASE WHEN $2 = 'SENT' THEN coalesce(issue_date, current_date) ELSE issue_date END WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(status)
        .execute(conn)
        .await
}

/// Makes an invoice of an estimate, with its lines. The estimate's id is unique among
/// `converted_from_id`, so a second conversion fails with a unique violation.
pub async fn convert_estimate(conn: &mut AsyncPgConnection, estimate: &Invoice) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    sql_query(
        "INSERT INTO invoices (id, workspace_id, account_id, project_id, number, kind, status, issue_date, \
           due_date, total_cents, currency, converted_from_id) \
         SELECT $1, workspace_id, account_id, project_id, 'INV-' || number, 'INVOICE', 'SENT', current_date, \
           due_date, total_cents, currency, id FROM invoices WHERE id = $2",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(estimate.id)
    .execute(conn)
    .await?;
    sql_query(
        "INSERT INTO invoice_lines (id, invoice_id, position, description, quantity, unit_price_cents, amount_cents) \
         SELECT gen_random_uuid(), $1, position, description, quantity, unit_price_cents, amount_cents \
         FROM invoice_lines WHERE invoice_id = $2",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(estimate.id)
    .execute(conn)
    .await?;
    Ok(id)
}

pub async fn publish_article(conn: &mut AsyncPgConnection, ws: Uuid, id: Uuid) -> QueryResult<usize> {
    sql_query(
        "UPDATE kb_articles SET published = true, updated_at = now() WHERE workspace_id = $1 AND id = $2",
    )
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(id)
    .execute(conn)
    .await
}

// ---------------------------------------------------------------- audit

pub async fn insert_audit_events(conn: &mut AsyncPgConnection, events: &[AuditEvent]) -> QueryResult<()> {
    diesel::insert_into(super::schema::audit_events::table)
        .values(events)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Filters of `auditLog`.
pub struct AuditFilter {
    pub external_user_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub operation_type: Option<&'static str>,
}

const AUDIT_FILTER: &str = "workspace_id = $1 AND ($2::uuid IS NULL OR external_user_id = $2) \
    AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at <= $4) \
    AND ($5::text IS NULL OR operation_type = $5)";

/// Audit events, newest first, before the cursor's id.
pub async fn audit_events(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    f: &AuditFilter,
    page: &Page<Uuid>,
) -> QueryResult<Vec<AuditEvent>> {
    sql_query(format!(
        "SELECT * FROM audit_events WHERE {AUDIT_FILTER} AND ($6::uuid IS NULL OR id < $6) ORDER BY id DESC LIMIT $7"
    ))
    .bind::<SqlUuid, _>(ws)
    .bind::<Nullable<SqlUuid>, _>(f.external_user_id)
    .bind::<Nullable<Timestamptz>, _>(f.from)
    .bind::<Nullable<Timestamptz>, _>(f.to)
    .bind::<Nullable<Text>, _>(f.operation_type)
    .bind::<Nullable<SqlUuid>, _>(page.after)
    .bind::<BigInt, _>(page.first)
    .load(conn)
    .await
}

pub async fn audit_count(conn: &mut AsyncPgConnection, ws: Uuid, f: &AuditFilter) -> QueryResult<i64> {
    let c: Count = sql_query(format!(
        "SELECT count(*) AS n FROM audit_events WHERE {AUDIT_FILTER}"
    ))
    .bind::<SqlUuid, _>(ws)
    .bind::<Nullable<SqlUuid>, _>(f.external_user_id)
    .bind::<Nullable<Timestamptz>, _>(f.from)
    .bind::<Nullable<Timestamptz>, _>(f.to)
    .bind::<Nullable<Text>, _>(f.operation_type)
    .get_result(conn)
    .await?;
    Ok(c.n)
}

// ---------------------------------------------------------------- transactions

pub async fn begin(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel_async::SimpleAsyncConnection::batch_execute(conn, "BEGIN").await
}

pub async fn commit(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel_async::SimpleAsyncConnection::batch_execute(conn, "COMMIT").await
}

pub async fn rollback(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel_async::SimpleAsyncConnection::batch_execute(conn, "ROLLBACK").await
}

/// One audit event of the workspace, by id (admins' `node(id)`).
pub async fn audit_event(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    id: Uuid,
) -> QueryResult<Option<AuditEvent>> {
    sql_query("SELECT * FROM audit_events WHERE workspace_id = $1 AND id = $2")
        .bind::<SqlUuid, _>(ws)
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

/// One stage of the workspace's pipeline, by id (staff's `node(id)`).
pub async fn project_stage(
    conn: &mut AsyncPgConnection,
    ws: Uuid,
    id: Uuid,
) -> QueryResult<Option<ProjectStage>> {
    sql_query("SELECT * FROM project_stages WHERE workspace_id = $1 AND id = $2")
        .bind::<SqlUuid, _>(ws)
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}
