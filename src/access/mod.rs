//! What a caller may see: the one visibility gate of portal-gateway.
//!
//! Pure and synchronous: rows come in (from `db`), decisions go out. Resolvers ask
//! [`Access`] for the grants of the record at hand and never compare roles themselves.
//! Scope (docs/permissions.md#scope-which-records-exist) leaves here as a [`Scope`], which
//! `db` turns into SQL predicates, so an out-of-scope row is never loaded on an external
//! request.

pub mod catalog;
pub mod grants;

use foldhash::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use catalog::{Grant, GrantKind, Module};
pub use grants::{Grants, RoleGrants, UnknownGrant};

/// Who is calling, once authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Staff {
        id: Uuid,
        workspace_id: Uuid,
        admin: bool,
    },
    External {
        id: Uuid,
        workspace_id: Uuid,
        account_id: Uuid,
    },
}

impl Caller {
    pub fn workspace_id(&self) -> Uuid {
        match self {
            Caller::Staff { workspace_id, .. } | Caller::External { workspace_id, .. } => *workspace_id,
        }
    }

    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::Staff { admin: true, .. })
    }
}

/// One effective project membership (docs/permissions.md#project-organizations): the
/// project, and the caller's project-specific role in its organization, if any.
#[derive(Clone, Debug)]
pub struct Membership {
    pub project_id: Uuid,
    pub role: Option<RoleGrants>,
}

/// The caller's visibility for one request: merged once, at the request's moment.
#[derive(Clone, Debug)]
pub struct Access {
    caller: Caller,
    /// Merged workspace-wide roles (all of everything for staff).
    workspace: Grants,
    /// Effective memberships: project → merged grants of the project-specific role.
    projects: HashMap<Uuid, Grants>,
    /// Modules switched off in the workspace, as a bitmask of [`Module`]s.
    disabled: u8,
    /// The admin previewing this access (docs/permissions.md#preview): read-only.
    preview_by: Option<Uuid>,
}

/// The record sets a query may load, for one module. Turned into SQL by `db::scope`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    pub workspace_id: Uuid,
    /// Staff see the whole workspace; every other predicate is ignored.
    pub staff: bool,
    /// Projects the caller is an effective member of, whose grants name the module.
    pub project_ids: Vec<Uuid>,
    /// The caller's own CRM account.
    pub account_id: Option<Uuid>,
    /// Whether the workspace-wide roles name the module (so records reached without a
    /// membership, such as projects shared with the account, count).
    pub workspace_named: bool,
}

/// Why a root field refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// The module is switched off or no role of the caller names it.
    ModuleForbidden(Module),
    /// Staff-only or admin-only.
    NotAllowed,
    /// A mutation under preview.
    ReadOnly,
    /// The action is not in the merged grants of the record.
    ActionNotGranted(Grant),
}

impl Access {
    pub fn staff(id: Uuid, workspace_id: Uuid, admin: bool) -> Access {
        Access {
            caller: Caller::Staff {
                id,
                workspace_id,
                admin,
            },
            workspace: Grants::staff(),
            projects: HashMap::default(),
            disabled: 0,
            preview_by: None,
        }
    }

    /// An external caller's access: every role judged at `now`, switched-off modules
    /// made inert.
    pub fn external(
        caller: Caller,
        disabled_modules: &[String],
        workspace_roles: &[RoleGrants],
        memberships: &[Membership],
        now: DateTime<Utc>,
    ) -> Access {
        let disabled = disabled_modules
            .iter()
            .filter_map(|m| Module::parse(m))
            .fold(0u8, |acc, m| acc | m.bit());
        let workspace = grants::merge(workspace_roles, now).without_modules(disabled);
        let mut projects: HashMap<Uuid, Grants> = HashMap::default();
        for m in memberships {
            let role = grants::merge(m.role.as_ref(), now).without_modules(disabled);
            let entry = projects.entry(m.project_id).or_default();
            *entry = entry.union(role);
        }
        Access {
            caller,
            workspace,
            projects,
            disabled,
            preview_by: None,
        }
    }

    /// The same access, as previewed by an admin: what the caller would see, read-only.
    pub fn previewed_by(mut self, admin: Uuid) -> Access {
        self.preview_by = Some(admin);
        self
    }

    pub fn preview_by(&self) -> Option<Uuid> {
        self.preview_by
    }

    /// Mutations refuse under preview.
    pub fn writable(&self) -> Result<(), Denial> {
        if self.preview_by.is_some() {
            Err(Denial::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// Whether the caller may take `action` on a record with these grants.
    pub fn may(&self, grants: &Grants, action: Grant) -> Result<(), Denial> {
        self.writable()?;
        if grants.allows(action) {
            Ok(())
        } else {
            Err(Denial::ActionNotGranted(action))
        }
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    pub fn is_staff(&self) -> bool {
        self.workspace.is_staff()
    }

    pub fn is_admin(&self) -> bool {
        self.caller.is_admin()
    }

    /// Grants for records of no project: the CRM account, knowledge-base articles,
    /// and `viewer.grants`.
    pub fn workspace_grants(&self) -> Grants {
        self.workspace
    }

    /// Grants for a record associated with `project` (docs/permissions.md#merging-grants):
    /// the workspace roles and the caller's role in that project's organization.
    pub fn project_grants(&self, project: Option<Uuid>) -> Grants {
        match project.and_then(|p| self.projects.get(&p)) {
            Some(role) => self.workspace.union(*role),
            None => self.workspace,
        }
    }

    /// Whether a root field of `module` may answer at all
    /// (docs/permissions.md#merging-grants): the module is on and some role of the caller
    /// names it. Project roles count only for modules whose records belong to projects.
    pub fn root(&self, module: Module) -> Result<(), Denial> {
        if self.is_staff() {
            return Ok(());
        }
        let project_bound = !matches!(module, Module::Crm | Module::KnowledgeBase);
        let named = self.workspace.names(module)
            || (project_bound && self.projects.values().any(|g| g.names(module)));
        if self.disabled & module.bit() != 0 || !named {
            return Err(Denial::ModuleForbidden(module));
        }
        Ok(())
    }

    /// Role definitions, their grants and who holds them belong to the admin API
    /// (docs/api.md): staff who are not admins reach none of it, by any path (a member's
    /// `role` and `ExternalUser.roles` answer `null` for them).
    pub fn may_see_roles(&self) -> bool {
        self.is_admin()
    }

    /// Staff-only root fields (`accounts`).
    pub fn staff_only(&self) -> Result<(), Denial> {
        if self.is_staff() {
            Ok(())
        } else {
            Err(Denial::NotAllowed)
        }
    }

    /// Admin-only root fields.
    pub fn admin_only(&self) -> Result<(), Denial> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Denial::NotAllowed)
        }
    }

    /// Records of `module` the caller may load: in scope
    /// (docs/permissions.md#scope-which-records-exist) and with merged grants naming the
    /// module.
    pub fn scope(&self, module: Module) -> Scope {
        self.scope_where(|g| g.names(module), self.workspace.names(module))
    }

    /// The external user whose inbox the caller reads (docs/permissions.md#notifications);
    /// `None` for staff, who have none.
    pub fn inbox_owner(&self) -> Option<Uuid> {
        match &self.caller {
            Caller::External { id, .. } if !self.is_staff() => Some(*id),
            _ => None,
        }
    }

    /// The records whose events of `notification` reach the caller
    /// (docs/permissions.md#notifications): in scope as for the grant's module, and with
    /// merged grants that include the notification. A project counts when its merged
    /// grants include it; records of no project, or shared without a membership, count
    /// when the workspace roles include it.
    pub fn notification_scope(&self, notification: Grant) -> Scope {
        self.scope_where(|g| g.allows(notification), self.workspace.allows(notification))
    }

    /// The projects that exist for the caller, whatever their grants name: used where
    /// "in scope but not named" must differ from "does not exist" (`tasks(projectId)`).
    pub fn project_existence(&self) -> Scope {
        self.scope_where(|_| true, true)
    }

    fn scope_where(&self, keep: impl Fn(&Grants) -> bool, workspace_named: bool) -> Scope {
        let (staff, account_id) = match &self.caller {
            Caller::Staff { .. } => (true, None),
            Caller::External { account_id, .. } => (false, Some(*account_id)),
        };
        let mut project_ids: Vec<Uuid> = self
            .projects
            .iter()
            .filter(|(_, role)| keep(&self.workspace.union(**role)))
            .map(|(id, _)| *id)
            .collect();
        project_ids.sort_unstable();
        Scope {
            workspace_id: self.caller.workspace_id(),
            staff,
            project_ids,
            account_id,
            workspace_named,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::catalog::field;

    fn role(module: Module, fields: &[&str], active: bool) -> RoleGrants {
        let fields: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        RoleGrants {
            active,
            expires_at: None,
            grants: Grants::from_lists(module, [&fields, &[], &[], &[]], "r").unwrap(),
        }
    }

    fn external() -> Caller {
        Caller::External {
            id: Uuid::nil(),
            workspace_id: Uuid::nil(),
            account_id: Uuid::max(),
        }
    }

    #[test]
    fn project_roles_apply_to_their_project_only() {
        let p = Uuid::now_v7();
        let other = Uuid::now_v7();
        let access = Access::external(
            external(),
            &[],
            &[role(Module::Tasks, &[], true)],
            &[Membership {
                project_id: p,
                role: Some(role(Module::Tasks, &["due_date"], true)),
            }],
            Utc::now(),
        );
        let due = field(Module::Tasks, "due_date");
        assert!(access.project_grants(Some(p)).allows(due));
        assert!(!access.project_grants(Some(other)).allows(due));
        assert!(!access.workspace_grants().allows(due));
    }

    #[test]
    fn a_module_named_only_by_a_project_role_opens_the_root_field_for_that_project() {
        let p = Uuid::now_v7();
        let access = Access::external(
            external(),
            &[],
            &[],
            &[Membership {
                project_id: p,
                role: Some(role(Module::Projects, &[], true)),
            }],
            Utc::now(),
        );
        assert_eq!(access.root(Module::Projects), Ok(()));
        let scope = access.scope(Module::Projects);
        assert_eq!(scope.project_ids, vec![p]);
        assert!(!scope.workspace_named);
        assert_eq!(
            access.root(Module::Crm),
            Err(Denial::ModuleForbidden(Module::Crm))
        );
    }

    #[test]
    fn a_notification_of_a_project_role_reaches_that_project_only() {
        let p = Uuid::now_v7();
        let other = Uuid::now_v7();
        let mut reviewer = role(Module::Tasks, &[], true);
        reviewer.grants = Grants::from_lists(
            Module::Tasks,
            [&[], &[], &[], &["status_changed".to_string()]],
            "r",
        )
        .unwrap();
        let access = Access::external(
            external(),
            &[],
            &[role(Module::Tasks, &[], true)],
            &[
                Membership {
                    project_id: p,
                    role: Some(reviewer),
                },
                Membership {
                    project_id: other,
                    role: None,
                },
            ],
            Utc::now(),
        );
        let status_changed = catalog::notification(Module::Tasks, "status_changed");
        let scope = access.notification_scope(status_changed);
        assert_eq!(scope.project_ids, vec![p]);
        assert!(!scope.workspace_named);
        assert_eq!(access.inbox_owner(), Some(Uuid::nil()));
        assert_eq!(Access::staff(Uuid::nil(), Uuid::nil(), false).inbox_owner(), None);
    }

    #[test]
    fn a_switched_off_module_is_forbidden_and_inert() {
        let access = Access::external(
            external(),
            &["tasks".to_string()],
            &[role(Module::Tasks, &["due_date"], true)],
            &[],
            Utc::now(),
        );
        assert_eq!(
            access.root(Module::Tasks),
            Err(Denial::ModuleForbidden(Module::Tasks))
        );
        assert!(!access.workspace_grants().names(Module::Tasks));
    }

    #[test]
    fn an_inactive_project_role_keeps_the_membership_but_grants_nothing() {
        let p = Uuid::now_v7();
        let access = Access::external(
            external(),
            &[],
            &[],
            &[Membership {
                project_id: p,
                role: Some(role(Module::Projects, &[], false)),
            }],
            Utc::now(),
        );
        assert!(access.root(Module::Projects).is_err());
        assert_eq!(access.project_existence().project_ids, vec![p]);
    }
}
