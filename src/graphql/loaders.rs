//! Every batched load, built per request for the caller: each query runs with the
//! caller's scope for its module, so a loader can only ever return visible rows.

use async_graphql::dataloader::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;

use crate::access::{Access, Module, Scope};
use crate::db::models::*;
use crate::db::queries::{self, Page, TaskPage};
use crate::db::{DbConn, DbPool, writes};
use crate::error::{AuthFailure, Error, Result};

pub struct Fetch {
    pool: DbPool,
    access: Option<Arc<Access>>,
}

impl Fetch {
    pub fn new(pool: DbPool, access: Option<Arc<Access>>) -> Fetch {
        Fetch { pool, access }
    }

    async fn conn(&self) -> Result<DbConn> {
        Ok(self.pool.get().await?)
    }

    fn access(&self) -> Result<&Access> {
        self.access
            .as_deref()
            .ok_or(Error::Unauthenticated(AuthFailure::MissingToken))
    }

    fn scope(&self, module: Module) -> Result<Scope> {
        Ok(self.access()?.scope(module))
    }

    fn workspace_id(&self) -> Result<Uuid> {
        Ok(self.access()?.caller().workspace_id())
    }

    /// The workspace whose roles the caller may load: none unless they may see role
    /// data, so that a role reached by a path the resolvers forgot still loads nothing.
    fn roles_workspace(&self) -> Result<Option<Uuid>> {
        let access = self.access()?;
        Ok(access.may_see_roles().then(|| access.caller().workspace_id()))
    }
}

/// The row a relation points at: the one its parent's statement joined (in the scope
/// the loader of `key` reads with, [`crate::db::queries`]), else loaded by `key`.
pub async fn joined_or_load<K, V>(
    loader: &DataLoader<Fetch>,
    joined: Option<&Option<V>>,
    key: K,
) -> Result<Option<V>>
where
    Fetch: Loader<K, Value = V, Error = Error>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
    V: Send + Sync + Clone + 'static,
{
    match joined {
        Some(row) => Ok(row.clone()),
        None => Ok(loader.load_one(key).await?),
    }
}

fn by_key<K: Hash + Eq, V>(rows: Vec<V>, key: impl Fn(&V) -> K) -> HashMap<K, V> {
    rows.into_iter().map(|r| (key(&r), r)).collect()
}

fn counts(rows: Vec<ChildCount>, keys: &[Uuid]) -> HashMap<Uuid, i64> {
    let mut out: HashMap<Uuid, i64> = keys.iter().map(|k| (*k, 0)).collect();
    // Each row's key is already in: inserting one by one replaces in place, where
    // `extend` would first reserve room for half as many again and rehash the table.
    for c in rows {
        out.insert(c.parent_id, c.n);
    }
    out
}

macro_rules! key {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct $name(pub Uuid);
    };
}

key!(/// A staff user (owner, assignee, author).
    StaffId);
key!(/// An external user (comment author).
    ExternalUserId);
key!(/// A project in scope whose grants name `projects`.
    ProjectId);
key!(/// The caller's own account (any account of the workspace for staff).
    AccountId);
key!(TaskId);
key!(/// A comment in scope (for `node(id)`; lists load pages).
    CommentId);
key!(InvoiceId);
key!(ArticleId);
key!(/// The lines of an invoice in scope.
    LinesOf);
key!(TaskCountOf);
key!(CommentCountOf);
key!(SubprojectCountOf);

/// A page of a project's tasks (with their comment counts when asked).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TasksOf(pub Uuid, pub TaskPage);
/// A page of a task's comments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommentsOf(pub Uuid, pub Page<Uuid>);
/// A page of a project's sub-projects.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SubprojectsOf(pub Uuid, pub Page<(String, Uuid)>);

macro_rules! by_id_loader {
    ($key:ident => $value:ty, |$this:ident, $conn:ident, $ids:ident| $query:expr, $($id:ident).+) => {
        impl Loader<$key> for Fetch {
            type Value = $value;
            type Error = Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>> {
                let $this = self;
                let $ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let mut $conn = self.conn().await?;
                let rows: Vec<$value> = $query.await?;
                Ok(by_key(rows, |r| $key(r.$($id).+)))
            }
        }
    };
}

by_id_loader!(StaffId => StaffUser, |this, conn, ids| queries::staff_by_ids(&mut conn, this.workspace_id()?, &ids), id);
by_id_loader!(ExternalUserId => ExternalUser, |this, conn, ids| queries::external_users_by_ids(&mut conn, this.workspace_id()?, &ids), id);
by_id_loader!(ProjectId => ProjectView, |this, conn, ids| queries::projects_by_ids(&mut conn, &this.scope(Module::Projects)?, &ids), project.id);
by_id_loader!(AccountId => Account, |this, conn, ids| queries::accounts_by_ids(&mut conn, &this.scope(Module::Crm)?, &ids), id);
by_id_loader!(TaskId => Task, |this, conn, ids| queries::tasks_by_ids(&mut conn, &this.scope(Module::Tasks)?, &ids), id);
by_id_loader!(CommentId => ProjectComment, |this, conn, ids| queries::comments_by_ids(&mut conn, &this.scope(Module::Tasks)?, &ids), comment.id);
by_id_loader!(InvoiceId => Invoice, |this, conn, ids| queries::invoices_by_ids(&mut conn, &this.scope(Module::Invoices)?, &ids), id);
by_id_loader!(ArticleId => KbArticle, |this, conn, ids| queries::articles_by_ids(&mut conn, &this.scope(Module::KnowledgeBase)?, &ids), id);

impl Loader<LinesOf> for Fetch {
    type Value = Vec<InvoiceLine>;
    type Error = Error;

    async fn load(&self, keys: &[LinesOf]) -> Result<HashMap<LinesOf, Vec<InvoiceLine>>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = queries::lines_by_invoices(&mut *self.conn().await?, &self.scope(Module::Invoices)?, &ids)
            .await?;
        let mut out: HashMap<LinesOf, Vec<InvoiceLine>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for line in rows {
            out.entry(LinesOf(line.invoice_id)).or_default().push(line);
        }
        Ok(out)
    }
}

macro_rules! count_loader {
    ($key:ident, $module:expr, $query:path) => {
        impl Loader<$key> for Fetch {
            type Value = i64;
            type Error = Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, i64>> {
                let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
                let rows = $query(&mut *self.conn().await?, &self.scope($module)?, &ids).await?;
                Ok(counts(rows, &ids)
                    .into_iter()
                    .map(|(k, v)| ($key(k), v))
                    .collect())
            }
        }
    };
}

count_loader!(TaskCountOf, Module::Tasks, queries::tasks_counts);
count_loader!(CommentCountOf, Module::Tasks, queries::comments_counts);
count_loader!(SubprojectCountOf, Module::Projects, queries::subprojects_counts);

/// One query per distinct page among the keys, each for all the parents asking for
/// that page; rows are then handed to their parent.
macro_rules! page_loader {
    ($key:ident => $row:ty, $module:expr, $query:path, |$r:ident| $parent:expr) => {
        impl Loader<$key> for Fetch {
            type Value = Vec<$row>;
            type Error = Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Vec<$row>>> {
                let scope = self.scope($module)?;
                let mut conn = self.conn().await?;
                let mut groups: HashMap<_, Vec<Uuid>> = HashMap::default();
                for k in keys {
                    groups.entry(k.1.clone()).or_default().push(k.0);
                }
                let mut out: HashMap<$key, Vec<$row>> =
                    keys.iter().map(|k| (k.clone(), Vec::new())).collect();
                for (page, parents) in groups {
                    for $r in $query(&mut conn, &scope, &parents, &page).await? {
                        let parent: Uuid = $parent;
                        if let Some(list) = out.get_mut(&$key(parent, page.clone())) {
                            list.push($r);
                        }
                    }
                }
                Ok(out)
            }
        }
    };
}

page_loader!(TasksOf => ListedTask, Module::Tasks, queries::tasks_pages, |t| t.task.project_id);
page_loader!(CommentsOf => ProjectComment, Module::Tasks, queries::comments_pages, |c| c.comment.task_id);
page_loader!(SubprojectsOf => ProjectView, Module::Projects, queries::subprojects_pages, |p| p.project.parent_id.unwrap_or_default());

key!(/// The grant rows of a role (admin views).
    GrantsOf);
key!(/// The roles assigned workspace-wide to an external user (admin views).
    RolesOf);
key!(/// A role of the workspace (admin views).
    RoleId);
key!(/// The members of a project (staff views).
    MembersOf);

impl Loader<GrantsOf> for Fetch {
    type Value = Vec<RoleGrantRow>;
    type Error = Error;

    async fn load(&self, keys: &[GrantsOf]) -> Result<HashMap<GrantsOf, Vec<RoleGrantRow>>> {
        if self.roles_workspace()?.is_none() {
            return Ok(HashMap::default());
        }
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = writes::role_grants(&mut *self.conn().await?, &ids).await?;
        let mut out: HashMap<GrantsOf, Vec<RoleGrantRow>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for r in rows {
            out.entry(GrantsOf(r.role_id)).or_default().push(r);
        }
        Ok(out)
    }
}

impl Loader<RoleId> for Fetch {
    type Value = Role;
    type Error = Error;

    async fn load(&self, keys: &[RoleId]) -> Result<HashMap<RoleId, Role>> {
        let Some(ws) = self.roles_workspace()? else {
            return Ok(HashMap::default());
        };
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = writes::roles_by_ids(&mut *self.conn().await?, ws, &ids).await?;
        Ok(by_key(rows, |r| RoleId(r.id)))
    }
}

impl Loader<RolesOf> for Fetch {
    type Value = Vec<Role>;
    type Error = Error;

    async fn load(&self, keys: &[RolesOf]) -> Result<HashMap<RolesOf, Vec<Role>>> {
        let Some(ws) = self.roles_workspace()? else {
            return Ok(HashMap::default());
        };
        let users: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let mut conn = self.conn().await?;
        let pairs = writes::assignments(&mut conn, &users).await?;
        let role_ids: Vec<Uuid> = pairs.iter().map(|(_, r)| *r).collect();
        let roles = by_key(writes::roles_by_ids(&mut conn, ws, &role_ids).await?, |r| r.id);
        let mut out: HashMap<RolesOf, Vec<Role>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for (user, role) in pairs {
            if let (Some(list), Some(role)) = (out.get_mut(&RolesOf(user)), roles.get(&role)) {
                list.push(role.clone());
            }
        }
        out.values_mut()
            .for_each(|l| l.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id))));
        Ok(out)
    }
}

impl Loader<MembersOf> for Fetch {
    type Value = Vec<ProjectMember>;
    type Error = Error;

    async fn load(&self, keys: &[MembersOf]) -> Result<HashMap<MembersOf, Vec<ProjectMember>>> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = writes::members(&mut *self.conn().await?, &ids).await?;
        let mut out: HashMap<MembersOf, Vec<ProjectMember>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for m in rows {
            out.entry(MembersOf(m.project_id)).or_default().push(m);
        }
        Ok(out)
    }
}
