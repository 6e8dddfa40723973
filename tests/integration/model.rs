//! Model-based property test of docs/permissions.md: for random roles, assignments and
//! data, an external user's `projects` answer holds exactly what a plain reference model
//! says is visible — no hidden value, no missing visible one.
//!
//! One server and one database for the whole test; every case builds a brand-new workspace
//! (fresh ids) in it with SQL, asks as that workspace's external user, and compares the
//! answer with [`expect_projects`] and [`expect_viewer_grants`], which implement the
//! documented rules directly from the generated [`Case`] (nothing of the server's `access`
//! module is used).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::harness::{TestApp, codes};

// ------------------------------------------------------------------ the catalog (§2)

/// The modules the test varies; the others are named by no role.
const CRM: usize = 0;
const PROJECTS: usize = 1;
const TASKS: usize = 2;

struct CatalogModule {
    name: &'static str,
    /// fields, relations, actions, notifications
    lists: [&'static [&'static str]; 4],
}

/// docs/permissions.md's catalog table, for `crm`, `projects` and `tasks`.
const CATALOG: [CatalogModule; 3] = [
    CatalogModule {
        name: "crm",
        lists: [
            &["email", "phone", "website", "address", "industry", "description"],
            &["owner"],
            &["update_contact_details"],
            &[],
        ],
    },
    CatalogModule {
        name: "projects",
        lists: [
            &["description", "status", "start_date", "end_date", "progress"],
            &[
                "stage",
                "owner",
                "budget",
                "account",
                "parent",
                "subprojects",
                "tasks",
            ],
            &[],
            &["stage_changed"],
        ],
    },
    CatalogModule {
        name: "tasks",
        lists: [
            &[
                "description",
                "status",
                "priority",
                "due_date",
                "estimated_hours",
                "created_at",
                "completed_at",
            ],
            &["assignee", "owner", "project", "comments"],
            &["create", "comment"],
            &["created", "status_changed", "comment_added"],
        ],
    },
];

// ------------------------------------------------------------------ generated cases

/// One module's four lists in a role.
#[derive(Clone, Debug)]
struct ModuleGrant {
    lists: [Vec<&'static str>; 4],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    Never,
    Past,
    Future,
}

#[derive(Clone, Debug)]
struct RoleSpec {
    active: bool,
    expiry: Expiry,
    /// Per module of [`CATALOG`]: named (maybe with empty lists) or not.
    grants: [Option<ModuleGrant>; 3],
    /// Assigned workspace-wide to the querying user.
    to_viewer: bool,
    /// Assigned workspace-wide to the other external user of the account.
    to_other: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AccountOf {
    A,
    B,
    Nobody,
}

#[derive(Clone, Debug)]
struct CommentSpec {
    internal: bool,
    body: &'static str,
}

#[derive(Clone, Debug)]
struct TaskSpec {
    internal: bool,
    title: &'static str,
    description: &'static str,
    status: &'static str,
    priority: &'static str,
    due_day: u32,
    hours_quarters: u32,
    created_secs: u32,
    completed_secs: u32,
    comments: Vec<CommentSpec>,
}

#[derive(Clone, Debug)]
struct ProjectSpec {
    name: &'static str,
    account: AccountOf,
    shared: bool,
    archived: bool,
    /// A project with a parent is a sub-project of an earlier project.
    parent: Option<Index>,
    own_organization: bool,
    /// A `project_members` row of the querying user, with an optional project role.
    viewer_member: Option<Option<Index>>,
    /// A `project_members` row of the other user.
    other_member: Option<Option<Index>>,
    /// amount (cents), spent (cents), currency, client access
    budget: Option<(i64, i64, &'static str, bool)>,
    description: &'static str,
    status: &'static str,
    start_day: u32,
    end_day: u32,
    progress: i32,
    with_stage: bool,
    tasks: Vec<TaskSpec>,
}

#[derive(Clone, Debug)]
struct Case {
    /// A module switched off in the workspace.
    disabled: Option<&'static str>,
    roles: Vec<RoleSpec>,
    projects: Vec<ProjectSpec>,
}

impl Case {
    fn role_index(&self, i: Index) -> usize {
        i.index(self.roles.len())
    }

    fn parent(&self, p: usize) -> Option<usize> {
        if p == 0 {
            return None;
        }
        self.projects[p].parent.map(|i| i.index(p))
    }
}

fn module_grant(m: usize) -> impl Strategy<Value = ModuleGrant> {
    // Each catalog name independently, mostly granted (shrinking drops names).
    let list = |k: usize| {
        let all = CATALOG[m].lists[k];
        prop::collection::vec(prop::bool::weighted(0.6), all.len()).prop_map(move |keep| {
            all.iter()
                .zip(keep)
                .filter_map(|(name, keep)| keep.then_some(*name))
                .collect::<Vec<_>>()
        })
    };
    (list(0), list(1), list(2), list(3)).prop_map(|(f, r, a, n)| ModuleGrant { lists: [f, r, a, n] })
}

fn role() -> impl Strategy<Value = RoleSpec> {
    (
        prop::bool::weighted(0.8),
        prop_oneof![
            3 => Just(Expiry::Never),
            1 => Just(Expiry::Past),
            1 => Just(Expiry::Future),
        ],
        prop::option::weighted(0.4, module_grant(CRM)),
        prop::option::weighted(0.75, module_grant(PROJECTS)),
        prop::option::weighted(0.7, module_grant(TASKS)),
        prop::bool::weighted(0.8),
        any::<bool>(),
    )
        .prop_map(
            |(active, expiry, crm, projects, tasks, to_viewer, to_other)| RoleSpec {
                active,
                expiry,
                grants: [crm, projects, tasks],
                to_viewer,
                to_other,
            },
        )
}

fn task() -> impl Strategy<Value = TaskSpec> {
    (
        prop::bool::weighted(0.3),
        prop::sample::select(&["Draft", "Review", "Deploy"][..]),
        prop::sample::select(&["short", "long text", "details"][..]),
        prop::sample::select(&["OPEN", "IN_PROGRESS", "DONE", "CANCELLED"][..]),
        prop::sample::select(&["LOW", "NORMAL", "HIGH", "URGENT"][..]),
        0u32..400,
        0u32..400,
        0u32..10_000_000,
        0u32..10_000_000,
        prop::collection::vec(
            (
                prop::bool::weighted(0.3),
                prop::sample::select(&["ok", "see notes"][..]),
            )
                .prop_map(|(internal, body)| CommentSpec { internal, body }),
            0..=2,
        ),
    )
        .prop_map(
            |(
                internal,
                title,
                description,
                status,
                priority,
                due_day,
                hours,
                created,
                completed,
                comments,
            )| {
                TaskSpec {
                    internal,
                    title,
                    description,
                    status,
                    priority,
                    due_day,
                    hours_quarters: hours,
                    created_secs: created,
                    completed_secs: completed,
                    comments,
                }
            },
        )
}

fn project() -> impl Strategy<Value = ProjectSpec> {
    let membership = prop::option::weighted(0.5, prop::option::weighted(0.7, any::<Index>()));
    (
        (
            prop::sample::select(&["Apollo", "Borealis", "Cygnus"][..]),
            prop_oneof![4 => Just(AccountOf::A), 2 => Just(AccountOf::B), 1 => Just(AccountOf::Nobody)],
            prop::bool::weighted(0.6),
            prop::bool::weighted(0.2),
            prop::option::weighted(0.5, any::<Index>()),
            any::<bool>(),
            membership.clone(),
            membership,
        ),
        (
            prop::option::weighted(
                0.8,
                (
                    0i64..10_000_000,
                    0i64..10_000_000,
                    prop::sample::select(&["EUR", "USD"][..]),
                    any::<bool>(),
                ),
            ),
            prop::sample::select(&["first", "second", "third"][..]),
            prop::sample::select(&["ACTIVE", "ON_HOLD", "COMPLETED"][..]),
            0u32..400,
            0u32..400,
            0i32..=100,
            any::<bool>(),
            prop::collection::vec(task(), 1..=4),
        ),
    )
        .prop_map(
            |(
                (name, account, shared, archived, parent, own_organization, viewer_member, other_member),
                (budget, description, status, start_day, end_day, progress, with_stage, tasks),
            )| ProjectSpec {
                name,
                account,
                shared,
                archived,
                parent,
                own_organization,
                viewer_member,
                other_member,
                budget,
                description,
                status,
                start_day,
                end_day,
                progress,
                with_stage,
                tasks,
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![
            5 => Just(None),
            1 => Just(Some("projects")),
            1 => Just(Some("tasks")),
            1 => Just(Some("crm")),
        ],
        prop::collection::vec(role(), 2..=4),
        prop::collection::vec(project(), 3..=6),
        // Sometimes the user holds project roles only (§3: "a client whose only
        // `projects` grant comes from a project role sees exactly those projects").
        prop::bool::weighted(0.8),
    )
        .prop_map(|(disabled, mut roles, projects, workspace_roles)| {
            if !workspace_roles {
                roles.iter_mut().for_each(|r| r.to_viewer = false);
            }
            Case {
                disabled,
                roles,
                projects,
            }
        })
}

// ------------------------------------------------------------------ the data, in SQL

/// Fresh ids for one case, so that every case (and every shrinking step) has its own
/// workspace. Tasks and comments get ids in creation order (UUIDv7).
struct Ids {
    workspace: Uuid,
    staff: [Uuid; 2],
    accounts: [Uuid; 2],
    viewer: Uuid,
    other: Uuid,
    stage: Uuid,
    roles: Vec<Uuid>,
    projects: Vec<Uuid>,
    tasks: Vec<Vec<Uuid>>,
    comments: Vec<Vec<Vec<Uuid>>>,
}

impl Ids {
    fn new(case: &Case) -> Ids {
        let id = Uuid::now_v7;
        Ids {
            workspace: id(),
            staff: [id(), id()],
            accounts: [id(), id()],
            viewer: id(),
            other: id(),
            stage: id(),
            roles: case.roles.iter().map(|_| id()).collect(),
            projects: case.projects.iter().map(|_| id()).collect(),
            tasks: case
                .projects
                .iter()
                .map(|p| p.tasks.iter().map(|_| id()).collect())
                .collect(),
            comments: case
                .projects
                .iter()
                .map(|p| {
                    p.tasks
                        .iter()
                        .map(|t| t.comments.iter().map(|_| id()).collect())
                        .collect()
                })
                .collect(),
        }
    }
}

fn date(day: u32) -> String {
    (NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Days::new(day.into()))
        .format("%Y-%m-%d")
        .to_string()
}

fn stamp(secs: u32) -> String {
    DateTime::<Utc>::from_timestamp(1_767_225_600 + i64::from(secs), 0)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn array(items: &[&str]) -> String {
    format!("{{{}}}", items.join(","))
}

const ACCOUNT_A: [(&str, &str); 6] = [
    ("email", "hello@a.example"),
    ("phone", "+1 555 0100"),
    ("website", "https://a.example"),
    ("address", "1 Main Street"),
    ("industry", "Retail"),
    ("description", "Account A"),
];

fn setup_sql(case: &Case, ids: &Ids) -> String {
    let ws = ids.workspace;
    let disabled = array(&case.disabled.into_iter().collect::<Vec<_>>());
    let [owner, assignee] = ids.staff;
    let [a, b] = ids.accounts;
    let mut sql = format!(
        "INSERT INTO workspaces (id, name, disabled_modules) VALUES ('{ws}', 'Model {ws}', '{disabled}');\n\
         INSERT INTO staff_users (id, workspace_id, email, name) VALUES \
           ('{owner}', '{ws}', 'owner-{owner}@staff.example', 'Owner'), \
           ('{assignee}', '{ws}', 'assignee-{assignee}@staff.example', 'Assignee');\n\
         INSERT INTO accounts (id, workspace_id, name, email, phone, website, address, industry, description, owner_id) VALUES \
           ('{a}', '{ws}', 'Account A', '{}', '{}', '{}', '{}', '{}', '{}', '{owner}'), \
           ('{b}', '{ws}', 'Account B', 'b@b.example', '2', 'https://b.example', 'B road', 'Mining', 'Account B', '{owner}');\n\
         INSERT INTO external_users (id, workspace_id, account_id, email, name) VALUES \
           ('{}', '{ws}', '{a}', 'viewer-{}@a.example', 'Viewer'), \
           ('{}', '{ws}', '{a}', 'other-{}@a.example', 'Other');\n\
         INSERT INTO project_stages (id, workspace_id, name, position) VALUES ('{}', '{ws}', 'Build', 3);\n",
        ACCOUNT_A[0].1,
        ACCOUNT_A[1].1,
        ACCOUNT_A[2].1,
        ACCOUNT_A[3].1,
        ACCOUNT_A[4].1,
        ACCOUNT_A[5].1,
        ids.viewer,
        ids.viewer,
        ids.other,
        ids.other,
        ids.stage,
    );
    for (i, r) in case.roles.iter().enumerate() {
        let id = ids.roles[i];
        let expires = match r.expiry {
            Expiry::Never => "NULL",
            Expiry::Past => "now() - interval '1 hour'",
            Expiry::Future => "now() + interval '1 hour'",
        };
        writeln!(
            sql,
            "INSERT INTO roles (id, workspace_id, name, active, expires_at) VALUES ('{id}', '{ws}', 'Role {i}', {}, {expires});",
            r.active
        )
        .unwrap();
        for (m, g) in r.grants.iter().enumerate() {
            if let Some(g) = g {
                writeln!(
                    sql,
                    "INSERT INTO role_grants (role_id, module, fields, relations, actions, notifications) \
                     VALUES ('{id}', '{}', '{}', '{}', '{}', '{}');",
                    CATALOG[m].name,
                    array(&g.lists[0]),
                    array(&g.lists[1]),
                    array(&g.lists[2]),
                    array(&g.lists[3]),
                )
                .unwrap();
            }
        }
        for (assigned, user) in [(r.to_viewer, ids.viewer), (r.to_other, ids.other)] {
            if assigned {
                writeln!(
                    sql,
                    "INSERT INTO role_assignments (role_id, external_user_id) VALUES ('{id}', '{user}');"
                )
                .unwrap();
            }
        }
    }
    for (p, spec) in case.projects.iter().enumerate() {
        let id = ids.projects[p];
        let account = match spec.account {
            AccountOf::A => format!("'{a}'"),
            AccountOf::B => format!("'{b}'"),
            AccountOf::Nobody => "NULL".into(),
        };
        let parent = case
            .parent(p)
            .map_or("NULL".into(), |q| format!("'{}'", ids.projects[q]));
        let stage = if spec.with_stage {
            format!("'{}'", ids.stage)
        } else {
            "NULL".into()
        };
        writeln!(
            sql,
            "INSERT INTO projects (id, workspace_id, account_id, parent_id, name, description, status, \
               start_date, end_date, progress, stage_id, owner_id, own_organization, shared_with_account, archived) \
             VALUES ('{id}', '{ws}', {account}, {parent}, '{}', '{}', '{}', '{}', '{}', {}, {stage}, '{owner}', {}, {}, {});",
            spec.name,
            spec.description,
            spec.status,
            date(spec.start_day),
            date(spec.end_day),
            spec.progress,
            spec.own_organization,
            spec.shared,
            spec.archived,
        )
        .unwrap();
        for (member, user) in [(spec.viewer_member, ids.viewer), (spec.other_member, ids.other)] {
            if let Some(role) = member {
                let role = role.map_or("NULL".into(), |r| format!("'{}'", ids.roles[case.role_index(r)]));
                writeln!(
                    sql,
                    "INSERT INTO project_members (project_id, external_user_id, role_id) VALUES ('{id}', '{user}', {role});"
                )
                .unwrap();
            }
        }
        if let Some((amount, spent, currency, client_access)) = spec.budget {
            writeln!(
                sql,
                "INSERT INTO budgets (project_id, amount_cents, spent_cents, currency, client_access) \
                 VALUES ('{id}', {amount}, {spent}, '{currency}', {client_access});"
            )
            .unwrap();
        }
        for (t, task) in spec.tasks.iter().enumerate() {
            let tid = ids.tasks[p][t];
            writeln!(
                sql,
                "INSERT INTO tasks (id, workspace_id, project_id, title, description, status, priority, due_date, \
                   estimated_hours, created_at, completed_at, assignee_id, owner_id, internal) \
                 VALUES ('{tid}', '{ws}', '{id}', '{}', '{}', '{}', '{}', '{}', {}, '{}', '{}', '{assignee}', '{owner}', {});",
                task.title,
                task.description,
                task.status,
                task.priority,
                date(task.due_day),
                f64::from(task.hours_quarters) / 4.0,
                stamp(task.created_secs),
                stamp(task.completed_secs),
                task.internal,
            )
            .unwrap();
            for (c, comment) in task.comments.iter().enumerate() {
                writeln!(
                    sql,
                    "INSERT INTO comments (id, workspace_id, task_id, body, created_at, internal, author_staff_id) \
                     VALUES ('{}', '{ws}', '{tid}', '{}', '{}', {}, '{assignee}');",
                    ids.comments[p][t][c],
                    comment.body,
                    stamp(task.created_secs + 60),
                    comment.internal,
                )
                .unwrap();
            }
        }
    }
    sql
}

// ------------------------------------------------------------------ the reference model

/// Merged grants: per named module, its four lists.
type Grants = BTreeMap<usize, [BTreeSet<&'static str>; 4]>;

/// §3: a role applies only while active and not past its expiry (expiries are an hour
/// away from the request, either way).
fn applies(role: &RoleSpec) -> bool {
    role.active && role.expiry != Expiry::Past
}

/// Adds an applicable role to merged grants; a switched-off module's grants are inert (§2).
fn merge_into(grants: &mut Grants, case: &Case, role: &RoleSpec) {
    if !applies(role) {
        return;
    }
    for (m, g) in role.grants.iter().enumerate() {
        let Some(g) = g else { continue };
        if case.disabled == Some(CATALOG[m].name) {
            continue;
        }
        let entry = grants.entry(m).or_default();
        for (merged, list) in entry.iter_mut().zip(&g.lists) {
            merged.extend(list.iter().copied());
        }
    }
}

fn names(grants: &Grants, m: usize) -> bool {
    grants.contains_key(&m)
}

fn has(grants: &Grants, m: usize, kind: usize, name: &str) -> bool {
    grants.get(&m).is_some_and(|g| g[kind].contains(name))
}

fn field(grants: &Grants, m: usize, name: &str) -> bool {
    has(grants, m, 0, name)
}

fn relation(grants: &Grants, m: usize, name: &str) -> bool {
    has(grants, m, 1, name)
}

struct Model<'a> {
    case: &'a Case,
    /// Merged workspace-wide roles of the querying user.
    workspace: Grants,
}

impl<'a> Model<'a> {
    fn new(case: &'a Case) -> Model<'a> {
        let mut workspace = Grants::new();
        for r in case.roles.iter().filter(|r| r.to_viewer) {
            merge_into(&mut workspace, case, r);
        }
        Model { case, workspace }
    }

    /// §5: the project whose organization `p` uses — itself, unless it is a
    /// sub-project without its own organization, which uses its parent's (recursively).
    fn organization(&self, mut p: usize) -> usize {
        while let Some(parent) = self.case.parent(p) {
            if self.case.projects[p].own_organization {
                break;
            }
            p = parent;
        }
        p
    }

    /// The querying user's membership of `p`'s organization: `Some(role)` if a member.
    fn membership(&self, p: usize) -> Option<Option<&'a RoleSpec>> {
        let org = self.organization(p);
        self.case.projects[org]
            .viewer_member
            .map(|role| role.map(|r| &self.case.roles[self.case.role_index(r)]))
    }

    /// §4: members' projects and the own account's shared ones; archived never.
    fn in_scope(&self, p: usize) -> bool {
        let spec = &self.case.projects[p];
        !spec.archived && (self.membership(p).is_some() || (spec.account == AccountOf::A && spec.shared))
    }

    /// §3: workspace roles ∪ the project role in `p`'s organization.
    fn grants(&self, p: usize) -> Grants {
        let mut grants = self.workspace.clone();
        if let Some(Some(role)) = self.membership(p) {
            merge_into(&mut grants, self.case, role);
        }
        grants
    }

    /// §3: listed by `projects` — in scope, and the merged grants name `projects`.
    fn listed(&self, p: usize) -> bool {
        self.in_scope(p) && names(&self.grants(p), PROJECTS)
    }

    /// §3: `projects` answers FORBIDDEN when the module is off or no applicable role of
    /// the user — workspace-wide or held in the organization of one of their projects —
    /// names it.
    fn projects_forbidden(&self) -> bool {
        if self.case.disabled == Some("projects") {
            return true;
        }
        let by_project_role = (0..self.case.projects.len())
            .filter(|&p| self.organization(p) == p)
            .filter_map(|p| self.case.projects[p].viewer_member.flatten())
            .map(|r| &self.case.roles[self.case.role_index(r)])
            .any(|r| applies(r) && r.grants[PROJECTS].is_some());
        !names(&self.workspace, PROJECTS) && !by_project_role
    }
}

fn grant_sets(grants: &Grants, modules: &[usize]) -> Value {
    Value::Array(
        grants
            .iter()
            .filter(|(m, _)| modules.contains(m))
            .map(|(m, lists)| {
                let list = |k: usize| json!(lists[k].iter().collect::<Vec<_>>());
                json!({
                    "module": CATALOG[*m].name,
                    "fields": list(0),
                    "relations": list(1),
                    "actions": list(2),
                    "notifications": list(3),
                })
            })
            .collect(),
    )
}

fn shown<T: Into<Value>>(visible: bool, value: T) -> Value {
    if visible { value.into() } else { Value::Null }
}

fn connection(nodes: Vec<Value>) -> Value {
    json!({ "totalCount": nodes.len(), "nodes": nodes })
}

fn stripped() -> Value {
    connection(Vec::new())
}

fn expect_viewer_grants(model: &Model) -> Value {
    grant_sets(&model.workspace, &[CRM, PROJECTS, TASKS])
}

/// The expected `data.projects`, or `None` for FORBIDDEN.
fn expect_projects(case: &Case, ids: &Ids) -> Option<Value> {
    let model = Model::new(case);
    if model.projects_forbidden() {
        return None;
    }
    let mut listed: Vec<usize> = (0..case.projects.len()).filter(|&p| model.listed(p)).collect();
    // §6: projects by name, then id.
    listed.sort_by_key(|&p| (case.projects[p].name, ids.projects[p]));
    let nodes = listed.iter().map(|&p| expect_project(&model, ids, p)).collect();
    Some(connection(nodes))
}

fn user(id: Uuid, name: &str) -> Value {
    // §2: a User shows id and name; email only to staff.
    json!({ "id": id.to_string(), "name": name, "email": null })
}

fn expect_project(model: &Model, ids: &Ids, p: usize) -> Value {
    let case = model.case;
    let spec = &case.projects[p];
    let g = model.grants(p);
    let f = |name| field(&g, PROJECTS, name);
    let rel = |name| relation(&g, PROJECTS, name);
    let budget =
        spec.budget
            .filter(|b| rel("budget") && b.3)
            .map_or(Value::Null, |(amount, spent, currency, _)| {
                json!({
                    "amount": format!("{}.{:02}", amount / 100, amount % 100),
                    "spent": format!("{}.{:02}", spent / 100, spent % 100),
                    "currency": currency,
                })
            });
    // The account: relation granted, the target in scope (only the user's own account
    // exists, §4) and `crm` accessible for it — workspace roles only (§3); its fields
    // follow those roles' `crm` grants.
    let account = if rel("account") && spec.account == AccountOf::A && names(&model.workspace, CRM) {
        let mut a = Map::new();
        a.insert("id".into(), json!(ids.accounts[0].to_string()));
        a.insert("name".into(), json!("Account A"));
        for (name, value) in ACCOUNT_A {
            a.insert(name.into(), shown(field(&model.workspace, CRM, name), value));
        }
        Value::Object(a)
    } else {
        Value::Null
    };
    // §2: a parent project shows when the relation is granted and the parent is one the
    // user can see (in scope, with `projects` access for it).
    let parent = match case.parent(p) {
        Some(q) if rel("parent") && model.listed(q) => {
            json!({ "id": ids.projects[q].to_string(), "name": case.projects[q].name })
        }
        _ => Value::Null,
    };
    let subprojects = if rel("subprojects") {
        let mut children: Vec<usize> = (0..case.projects.len())
            .filter(|&c| case.parent(c) == Some(p) && model.listed(c))
            .collect();
        children.sort_by_key(|&c| (case.projects[c].name, ids.projects[c]));
        connection(
            children
                .iter()
                .map(|&c| json!({ "id": ids.projects[c].to_string() }))
                .collect(),
        )
    } else {
        stripped()
    };
    let stage = if rel("stage") && spec.with_stage {
        json!({ "id": ids.stage.to_string(), "name": "Build", "position": 3 })
    } else {
        Value::Null
    };
    // §2/§6: `Project.tasks` needs the relation and `tasks` access for this project.
    let tasks = if rel("tasks") && names(&g, TASKS) {
        connection(
            spec.tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| !t.internal)
                .map(|(t, task)| expect_task(model, ids, &g, p, t, task))
                .collect(),
        )
    } else {
        stripped()
    };
    json!({
        "id": ids.projects[p].to_string(),
        "name": spec.name,
        "description": shown(f("description"), spec.description),
        "status": shown(f("status"), spec.status),
        "startDate": shown(f("start_date"), date(spec.start_day)),
        "endDate": shown(f("end_date"), date(spec.end_day)),
        "progress": shown(f("progress"), spec.progress),
        "stage": stage,
        "owner": if rel("owner") { user(ids.staff[0], "Owner") } else { Value::Null },
        "budget": budget,
        "account": account,
        "parent": parent,
        "subprojects": subprojects,
        "myGrants": grant_sets(&g, &[PROJECTS, TASKS]),
        "archived": null,
        "sharedWithAccount": null,
        "ownOrganization": null,
        "tasks": tasks,
    })
}

fn expect_task(model: &Model, ids: &Ids, g: &Grants, p: usize, t: usize, task: &TaskSpec) -> Value {
    let f = |name| field(g, TASKS, name);
    let rel = |name| relation(g, TASKS, name);
    let comments = if rel("comments") {
        connection(
            task.comments
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.internal)
                .map(|(c, comment)| {
                    json!({
                        "id": ids.comments[p][t][c].to_string(),
                        "body": comment.body,
                        "createdAt": stamp(task.created_secs + 60),
                        "internal": null,
                    })
                })
                .collect(),
        )
    } else {
        stripped()
    };
    // The task's project is the listed project it was reached through.
    debug_assert!(model.listed(p));
    json!({
        "id": ids.tasks[p][t].to_string(),
        "title": task.title,
        "description": shown(f("description"), task.description),
        "status": shown(f("status"), task.status),
        "priority": shown(f("priority"), task.priority),
        "dueDate": shown(f("due_date"), date(task.due_day)),
        "estimatedHours": shown(f("estimated_hours"), f64::from(task.hours_quarters) / 4.0),
        "createdAt": shown(f("created_at"), stamp(task.created_secs)),
        "completedAt": shown(f("completed_at"), stamp(task.completed_secs)),
        "assignee": if rel("assignee") { user(ids.staff[1], "Assignee") } else { Value::Null },
        "owner": if rel("owner") { user(ids.staff[0], "Owner") } else { Value::Null },
        "project": if rel("project") { json!({ "id": ids.projects[p].to_string() }) } else { Value::Null },
        "internal": null,
        "comments": comments,
    })
}

// ------------------------------------------------------------------ the queries

/// `first` covers every generated list (≤ 6 projects, ≤ 4 tasks, ≤ 2 comments) and
/// keeps the complexity well under 10,000.
const PROJECTS_QUERY: &str = "{ projects(first: 10) { totalCount nodes { \
    id name description status startDate endDate progress \
    stage { id name position } owner { id name email } \
    budget { amount spent currency } \
    account { id name email phone website address industry description } \
    parent { id name } subprojects(first: 10) { totalCount nodes { id } } \
    myGrants { module fields relations actions notifications } \
    archived sharedWithAccount ownOrganization \
    tasks(first: 5) { totalCount nodes { \
      id title description status priority dueDate estimatedHours createdAt completedAt \
      assignee { id name email } owner { id name email } project { id } internal \
      comments(first: 3) { totalCount nodes { id body createdAt internal } } } } } } }";

const VIEWER_QUERY: &str = "{ viewer { grants { module fields relations actions notifications } } }";

/// Makes an answer comparable: grant lists sorted (timestamps are compared as served:
/// RFC 3339 in UTC with milliseconds, docs/api.md), and only
/// the modules the model describes in `myGrants` (crm is left out there: whether a
/// project role's `crm` names show in `myGrants` is not for the documented model to say).
fn normalize(v: &mut Value, key: &str) {
    match v {
        Value::Array(items) if ["fields", "relations", "actions", "notifications"].contains(&key) => {
            items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
        Value::Array(items) => {
            if key == "myGrants" {
                items.retain(|g| g["module"] == "projects" || g["module"] == "tasks");
            }
            if key == "myGrants" || key == "grants" {
                items.sort_by(|a, b| a["module"].as_str().cmp(&b["module"].as_str()));
                // keep only the modules the test varies (none else is ever named)
            }
            for item in items {
                normalize(item, key);
            }
        }
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                normalize(child, k);
            }
        }
        _ => {}
    }
}

/// Paths where `actual` differs from `expected`.
fn diff(expected: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => diff(ev, av, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: expected {ev}, missing")),
                }
            }
            for k in a.keys().filter(|k| !e.contains_key(*k)) {
                out.push(format!("{path}.{k}: unexpected {}", a[k]));
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                diff(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        _ if expected == actual => {}
        _ => out.push(format!("{path}: expected {expected}, got {actual}")),
    }
}

/// The case spelled out with resolved indices, for a failure message.
fn describe(case: &Case, ids: &Ids) -> String {
    let mut s = format!("workspace {} (disabled: {:?})\n", ids.workspace, case.disabled);
    for (i, r) in case.roles.iter().enumerate() {
        let grants: Vec<String> = r
            .grants
            .iter()
            .enumerate()
            .filter_map(|(m, g)| g.as_ref().map(|g| format!("{}: {:?}", CATALOG[m].name, g.lists)))
            .collect();
        writeln!(
            s,
            "  role {i}: active={} expiry={:?} viewer={} other={} grants={grants:?}",
            r.active, r.expiry, r.to_viewer, r.to_other
        )
        .unwrap();
    }
    for (p, spec) in case.projects.iter().enumerate() {
        let member = |m: Option<Option<Index>>| m.map(|r| r.map(|r| case.role_index(r)));
        writeln!(
            s,
            "  project {p} {} '{}': account={:?} shared={} archived={} parent={:?} own_org={} \
             viewer_member={:?} other_member={:?} budget={:?} tasks(internal)={:?}",
            ids.projects[p],
            spec.name,
            spec.account,
            spec.shared,
            spec.archived,
            case.parent(p),
            spec.own_organization,
            member(spec.viewer_member),
            member(spec.other_member),
            spec.budget,
            spec.tasks.iter().map(|t| t.internal).collect::<Vec<_>>(),
        )
        .unwrap();
    }
    s
}

/// What the generated cases reached, per the model (printed with `--no-capture`), so
/// that a generator change that stops reaching a rule shows.
#[derive(Default)]
struct Coverage {
    cases: u32,
    forbidden: u32,
    listed: u32,
    /// Listed through a membership alone (not a shared project of the account).
    by_membership_only: u32,
    /// Listed through a membership of an ancestor's organization.
    through_parent_organization: u32,
    /// Listed although no workspace role names `projects`.
    by_project_role_only: u32,
    /// Per `Type.field`: how often shown, how often hidden.
    fields: BTreeMap<String, (u32, u32)>,
}

impl Coverage {
    fn record(&mut self, case: &Case, expected: Option<&Value>) {
        self.cases += 1;
        let Some(expected) = expected else {
            self.forbidden += 1;
            return;
        };
        let model = Model::new(case);
        for p in (0..case.projects.len()).filter(|&p| model.listed(p)) {
            self.listed += 1;
            let shared = case.projects[p].account == AccountOf::A && case.projects[p].shared;
            self.by_membership_only += u32::from(!shared);
            self.through_parent_organization += u32::from(model.organization(p) != p);
            self.by_project_role_only += u32::from(!names(&model.workspace, PROJECTS));
        }
        let mut count = |ty: &str, node: &Value| {
            for (k, v) in node.as_object().unwrap() {
                let shown = match v {
                    Value::Null => false,
                    Value::Object(o) if o.contains_key("totalCount") => o["totalCount"] != 0,
                    _ => true,
                };
                let entry = self.fields.entry(format!("{ty}.{k}")).or_default();
                if shown {
                    entry.0 += 1;
                } else {
                    entry.1 += 1;
                }
            }
        };
        for project in expected["nodes"].as_array().unwrap() {
            count("Project", project);
            for task in project["tasks"]["nodes"].as_array().unwrap() {
                count("Task", task);
            }
        }
    }

    fn report(&self) -> String {
        let mut s = format!(
            "model coverage: {} cases, {} FORBIDDEN, {} projects listed ({} by membership only, \
             {} through a parent's organization, {} by a project role only)\n",
            self.cases,
            self.forbidden,
            self.listed,
            self.by_membership_only,
            self.through_parent_organization,
            self.by_project_role_only,
        );
        for (field, (shown, hidden)) in &self.fields {
            writeln!(s, "  {field:<22} shown {shown:>4}, hidden {hidden:>4}").unwrap();
        }
        s
    }
}

async fn check(app: &TestApp, case: &Case, coverage: &RefCell<Coverage>) -> Result<(), TestCaseError> {
    let ids = Ids::new(case);
    app.sql(&setup_sql(case, &ids)).await;
    let token = app.mint(ids.viewer, ids.workspace, false, 3600);
    let mut problems = Vec::new();

    let mut viewer = app.post(Some(&token), VIEWER_QUERY, json!({})).await;
    normalize(&mut viewer, "");
    let model = Model::new(case);
    diff(
        &expect_viewer_grants(&model),
        &viewer["data"]["viewer"]["grants"],
        "viewer.grants",
        &mut problems,
    );

    let mut r = app.post(Some(&token), PROJECTS_QUERY, json!({})).await;
    normalize(&mut r, "");
    let expected = expect_projects(case, &ids);
    coverage.borrow_mut().record(case, expected.as_ref());
    match expected {
        None => {
            // §6: `null` and FORBIDDEN (the non-null connection nulls `data` itself).
            if !r["data"]["projects"].is_null() {
                problems.push(format!(
                    "projects: expected null (FORBIDDEN), got {}",
                    r["data"]["projects"]
                ));
            }
            if codes(&r) != ["FORBIDDEN"] {
                problems.push(format!("error codes: expected [FORBIDDEN], got {:?}", codes(&r)));
            }
        }
        Some(expected) => {
            if !r["errors"].is_null() {
                problems.push(format!("unexpected errors: {}", r["errors"]));
            }
            let ids_of = |v: &Value| -> Vec<String> {
                v["nodes"]
                    .as_array()
                    .map(|n| n.iter().map(|p| p["id"].to_string()).collect())
                    .unwrap_or_default()
            };
            let actual = &r["data"]["projects"];
            if ids_of(&expected) != ids_of(actual) {
                problems.push(format!(
                    "listed projects: expected {:?}, got {:?}",
                    ids_of(&expected),
                    ids_of(actual)
                ));
            } else {
                diff(&expected, actual, "projects", &mut problems);
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!(
            "{} disagreement(s) with the model:\n{}\n\ncase:\n{}\nresponse: {r}\nviewer: {viewer}",
            problems.len(),
            problems.join("\n"),
            describe(case, &ids),
        )))
    }
}

#[test]
fn responses_match_the_reference_model_for_random_roles_and_data() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(TestApp::demo());
    let cases = std::env::var("MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 512,
        // Never write regression files into the repository.
        failure_persistence: None,
        ..Config::default()
    });
    let coverage = RefCell::new(Coverage::default());
    let result = runner.run(&case(), |case| rt.block_on(check(&app, &case, &coverage)));
    drop(app);
    eprintln!("{}", coverage.borrow().report());
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            panic!("minimal failing case: {reason}\n\n{case:#?}")
        }
        Err(e) => panic!("{e}"),
    }
}
