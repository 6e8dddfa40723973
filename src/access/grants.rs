//! Grant sets and their merge (docs/permissions.md#merging-grants): a role's lists become
//! bitmasks, and the effective grants are the bitwise union of every role that applies.
//! There are no deny rules, so union is the whole algebra.

use chrono::{DateTime, Utc};

use super::catalog::{CATALOG, Grant, GrantKind, Module};

/// One module's four lists as bitmasks over the catalog's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModuleGrants {
    lists: [u32; 4],
}

impl ModuleGrants {
    fn union(self, other: Self) -> Self {
        let mut lists = self.lists;
        for (mine, theirs) in lists.iter_mut().zip(other.lists) {
            *mine |= theirs;
        }
        Self { lists }
    }
}

/// The merged grants that apply to one record (or to the workspace), for one caller.
/// `Copy` and a few words long: carried with every record without allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// Modules named by at least one applying role.
    named: u8,
    modules: [ModuleGrants; 5],
    /// Staff see every record and field of their workspace, staff-only fields included.
    staff: bool,
}

/// A name in a role input that the catalog does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownGrant {
    /// Where it was, as `grants[2].fields` or `grants[0].module`.
    pub path: String,
    pub name: String,
}

impl Grants {
    /// What an external caller without roles gets.
    pub const NONE: Grants = Grants {
        named: 0,
        modules: [ModuleGrants { lists: [0; 4] }; 5],
        staff: false,
    };

    /// Everything: what staff get, for every record of their workspace.
    pub const fn staff() -> Grants {
        let mut modules = [ModuleGrants { lists: [0; 4] }; 5];
        let mut m = 0;
        while m < 5 {
            let mut k = 0;
            while k < 4 {
                let n = CATALOG[m].names(GrantKind::ALL[k]).len() as u32;
                modules[m].lists[k] = if n == 32 { u32::MAX } else { (1 << n) - 1 };
                k += 1;
            }
            m += 1;
        }
        Grants {
            named: 0b1_1111,
            modules,
            staff: true,
        }
    }

    /// The grants of one role for one module, from the lists stored with the role.
    /// Names outside the catalog are refused with the first one's place.
    pub fn from_lists(module: Module, lists: [&[String]; 4], path: &str) -> Result<Grants, UnknownGrant> {
        let mut grants = Grants::NONE;
        grants.named = module.bit();
        for (kind, names) in GrantKind::ALL.into_iter().zip(lists) {
            let catalog = module.spec().names(kind);
            for name in names {
                let Some(bit) = super::catalog::position(catalog, name) else {
                    return Err(UnknownGrant {
                        path: format!("{path}.{}", kind.name()),
                        name: name.clone(),
                    });
                };
                grants.modules[module as usize].lists[kind as usize] |= 1 << bit;
            }
        }
        Ok(grants)
    }

    /// The union: the rule that allows wins.
    pub fn union(self, other: Grants) -> Grants {
        let mut modules = self.modules;
        for (mine, theirs) in modules.iter_mut().zip(other.modules) {
            *mine = mine.union(theirs);
        }
        Grants {
            named: self.named | other.named,
            modules,
            staff: self.staff || other.staff,
        }
    }

    /// Drops every module in `disabled` (a bitmask of [`Module`]s): a switched-off module's
    /// grants are inert. Staff keep theirs
    /// (docs/permissions.md#modules-and-the-grant-catalog).
    pub fn without_modules(mut self, disabled: u8) -> Grants {
        if self.staff {
            return self;
        }
        self.named &= !disabled;
        for m in Module::ALL {
            if disabled & m.bit() != 0 {
                self.modules[m as usize] = ModuleGrants::default();
            }
        }
        self
    }

    pub fn names(&self, module: Module) -> bool {
        self.named & module.bit() != 0
    }

    /// Whether this grant is held. A module not named grants nothing.
    pub fn allows(&self, grant: Grant) -> bool {
        self.names(grant.module)
            && self.modules[grant.module as usize].lists[grant.kind as usize] & (1 << grant.bit) != 0
    }

    pub fn is_staff(&self) -> bool {
        self.staff
    }

    /// `value` if the grant is held, else nothing: how a grantable field leaves a
    /// resolver.
    pub fn reveal<T>(&self, grant: Grant, value: T) -> Option<T> {
        self.allows(grant).then_some(value)
    }

    /// `value` for staff, nothing for anyone else, whatever their grants.
    pub fn staff_only<T>(&self, value: T) -> Option<T> {
        self.staff.then_some(value)
    }

    /// The names held in one list of one module, in catalog order.
    pub fn list(&self, module: Module, kind: GrantKind) -> Vec<&'static str> {
        let bits = self.modules[module as usize].lists[kind as usize];
        module
            .spec()
            .names(kind)
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// The modules named, in catalog order.
    pub fn modules(&self) -> impl Iterator<Item = Module> + '_ {
        Module::ALL.into_iter().filter(|m| self.names(*m))
    }
}

/// A role as the merge sees it: its lifecycle and its grants.
#[derive(Clone, Debug)]
pub struct RoleGrants {
    pub active: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub grants: Grants,
}

impl RoleGrants {
    /// A role counts only while active and not past its expiry, judged at `now`.
    pub fn applies_at(&self, now: DateTime<Utc>) -> bool {
        self.active && self.expires_at.is_none_or(|t| t > now)
    }
}

/// The union of every role that applies at `now`.
pub fn merge<'a>(roles: impl IntoIterator<Item = &'a RoleGrants>, now: DateTime<Utc>) -> Grants {
    roles
        .into_iter()
        .filter(|r| r.applies_at(now))
        .fold(Grants::NONE, |acc, r| acc.union(r.grants))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;
    use crate::access::catalog::{field, relation};

    fn strings(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn role(module: Module, fields: &[&str]) -> Grants {
        Grants::from_lists(module, [&strings(fields), &[], &[], &[]], "grants[0]").unwrap()
    }

    #[test]
    fn unknown_names_are_refused_with_their_place() {
        let err = Grants::from_lists(
            Module::Tasks,
            [&strings(&["dueDate"]), &[], &[], &[]],
            "grants[1]",
        )
        .unwrap_err();
        assert_eq!(err.path, "grants[1].fields");
        assert_eq!(err.name, "dueDate");
    }

    #[test]
    fn a_module_named_with_empty_lists_grants_access_but_no_field() {
        let g = role(Module::Tasks, &[]);
        assert!(g.names(Module::Tasks));
        assert!(!g.allows(field(Module::Tasks, "due_date")));
    }

    #[test]
    fn expired_and_inactive_roles_do_not_count() {
        let now = Utc::now();
        let due = role(Module::Tasks, &["due_date"]);
        let roles = [
            RoleGrants {
                active: true,
                expires_at: Some(now - Duration::seconds(1)),
                grants: due,
            },
            RoleGrants {
                active: false,
                expires_at: None,
                grants: due,
            },
            RoleGrants {
                active: true,
                expires_at: Some(now + Duration::hours(1)),
                grants: role(Module::Crm, &[]),
            },
        ];
        let merged = merge(&roles, now);
        assert!(!merged.names(Module::Tasks));
        assert!(merged.names(Module::Crm));
    }

    #[test]
    fn disabled_modules_are_inert_for_externals_only() {
        let g = role(Module::Tasks, &["due_date"]).without_modules(Module::Tasks.bit());
        assert!(!g.names(Module::Tasks));
        assert!(Grants::staff().without_modules(0b1_1111).names(Module::Tasks));
    }

    #[test]
    fn staff_hold_every_name() {
        let s = Grants::staff();
        for spec in &CATALOG {
            for kind in GrantKind::ALL {
                assert_eq!(s.list(spec.module, kind), spec.names(kind).to_vec());
            }
        }
        assert!(s.allows(relation(Module::Projects, "tasks")));
    }

    fn arb_role() -> impl Strategy<Value = (usize, [Vec<bool>; 4], bool, i64)> {
        (
            0usize..5,
            [
                proptest::collection::vec(any::<bool>(), 7),
                proptest::collection::vec(any::<bool>(), 7),
                proptest::collection::vec(any::<bool>(), 2),
                proptest::collection::vec(any::<bool>(), 3),
            ],
            any::<bool>(),
            -2i64..3,
        )
    }

    proptest! {
        /// The merge equals the union, computed name by name, of the roles that apply.
        #[test]
        fn merge_is_the_union_of_applying_roles(roles in proptest::collection::vec(arb_role(), 0..6)) {
            let now = Utc::now();
            let mut expected: std::collections::BTreeSet<(usize, usize, &str)> = Default::default();
            let mut named = std::collections::BTreeSet::new();
            let built: Vec<RoleGrants> = roles.iter().map(|(m, picks, active, exp)| {
                let module = Module::ALL[*m];
                let lists: Vec<Vec<String>> = GrantKind::ALL.iter().zip(picks).map(|(k, pick)| {
                    module.spec().names(*k).iter().zip(pick).filter(|(_, p)| **p).map(|(n, _)| n.to_string()).collect()
                }).collect();
                let expires_at = (*exp != 0).then(|| now + Duration::hours(*exp));
                let applies = *active && expires_at.is_none_or(|t| t > now);
                if applies {
                    named.insert(*m);
                    for (k, list) in lists.iter().enumerate() {
                        for n in list {
                            let name: &str = module.spec().names(GrantKind::ALL[k]).iter().find(|c| **c == n).unwrap();
                            expected.insert((*m, k, name));
                        }
                    }
                }
                RoleGrants { active: *active, expires_at, grants: Grants::from_lists(module, [&lists[0], &lists[1], &lists[2], &lists[3]], "r").unwrap() }
            }).collect();
            let merged = merge(&built, now);
            for m in Module::ALL {
                prop_assert_eq!(merged.names(m), named.contains(&(m as usize)));
                for (k, kind) in GrantKind::ALL.into_iter().enumerate() {
                    let got: Vec<&str> = merged.list(m, kind);
                    let want: Vec<&str> = expected.iter().filter(|(mm, kk, _)| *mm == m as usize && *kk == k).map(|(_, _, n)| *n).collect();
                    let mut got_sorted = got.clone(); got_sorted.sort();
                    let mut want_sorted = want.clone(); want_sorted.sort();
                    prop_assert_eq!(got_sorted, want_sorted);
                }
            }
        }
    }
}
