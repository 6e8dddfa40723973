//! The grant catalog (docs/permissions.md), as data. Everything else derives from this
//! table: the typed grant constants the resolvers use, `permissionCatalog`, the validation
//! of role inputs, and the tests that walk every field.

/// A module of the workspace. The order is the order of [`CATALOG`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Module {
    Crm = 0,
    Projects = 1,
    Tasks = 2,
    KnowledgeBase = 3,
    Invoices = 4,
}

impl Module {
    pub const ALL: [Module; 5] = [
        Module::Crm,
        Module::Projects,
        Module::Tasks,
        Module::KnowledgeBase,
        Module::Invoices,
    ];

    /// The catalog name (`knowledge_base`), as spelled in the API.
    pub const fn name(self) -> &'static str {
        CATALOG[self as usize].name
    }

    pub fn parse(name: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.name() == name)
    }

    pub const fn spec(self) -> &'static ModuleSpec {
        &CATALOG[self as usize]
    }

    pub(crate) const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The four lists a role holds per module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantKind {
    Fields = 0,
    Relations = 1,
    Actions = 2,
    Notifications = 3,
}

impl GrantKind {
    pub const ALL: [GrantKind; 4] = [
        GrantKind::Fields,
        GrantKind::Relations,
        GrantKind::Actions,
        GrantKind::Notifications,
    ];

    /// The list's name in role inputs and in `grants` answers.
    pub const fn name(self) -> &'static str {
        match self {
            GrantKind::Fields => "fields",
            GrantKind::Relations => "relations",
            GrantKind::Actions => "actions",
            GrantKind::Notifications => "notifications",
        }
    }
}

/// One module's row of the catalog table (docs/permissions.md).
#[derive(Debug)]
pub struct ModuleSpec {
    pub module: Module,
    pub name: &'static str,
    /// The GraphQL type whose fields these are.
    pub type_name: &'static str,
    /// Fields shown whenever the record is visible at all.
    pub always_visible: &'static [&'static str],
    pub fields: &'static [&'static str],
    pub relations: &'static [&'static str],
    pub actions: &'static [&'static str],
    pub notifications: &'static [&'static str],
}

impl ModuleSpec {
    pub const fn names(&self, kind: GrantKind) -> &'static [&'static str] {
        match kind {
            GrantKind::Fields => self.fields,
            GrantKind::Relations => self.relations,
            GrantKind::Actions => self.actions,
            GrantKind::Notifications => self.notifications,
        }
    }
}

pub const CATALOG: [ModuleSpec; 5] = [
    ModuleSpec {
        module: Module::Crm,
        name: "crm",
        type_name: "CrmAccount",
        always_visible: &["id", "name"],
        fields: &["email", "phone", "website", "address", "industry", "description"],
        relations: &["owner"],
        actions: &["update_contact_details"],
        notifications: &[],
    },
    ModuleSpec {
        module: Module::Projects,
        name: "projects",
        type_name: "Project",
        always_visible: &["id", "name"],
        fields: &["description", "status", "start_date", "end_date", "progress"],
        relations: &[
            "stage",
            "owner",
            "budget",
            "account",
            "parent",
            "subprojects",
            "tasks",
        ],
        actions: &[],
        notifications: &["stage_changed"],
    },
    ModuleSpec {
        module: Module::Tasks,
        name: "tasks",
        type_name: "Task",
        always_visible: &["id", "title"],
        fields: &[
            "description",
            "status",
            "priority",
            "due_date",
            "estimated_hours",
            "created_at",
            "completed_at",
        ],
        relations: &["assignee", "owner", "project", "comments"],
        actions: &["create", "comment"],
        notifications: &["created", "status_changed", "comment_added"],
    },
    ModuleSpec {
        module: Module::KnowledgeBase,
        name: "knowledge_base",
        type_name: "KbArticle",
        always_visible: &["id", "title"],
        fields: &["body", "category", "updated_at"],
        relations: &["author"],
        actions: &[],
        notifications: &["published"],
    },
    ModuleSpec {
        module: Module::Invoices,
        name: "invoices",
        type_name: "Invoice",
        always_visible: &["id", "number", "kind"],
        fields: &[
            "status",
            "issue_date",
            "due_date",
            "total",
            "currency",
            "paid_amount",
        ],
        relations: &["account", "project", "lines"],
        actions: &["accept_estimate", "convert_estimate"],
        notifications: &["issued", "status_changed"],
    },
];

/// One grantable name: a bit in a module's list. Built by [`grant`] at compile time, so
/// a resolver cannot ask for a name the catalog does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub module: Module,
    pub kind: GrantKind,
    pub bit: u32,
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The position of `name` in a catalog list, if it is there.
pub const fn position(list: &[&str], name: &str) -> Option<u32> {
    let mut i = 0;
    while i < list.len() {
        if str_eq(list[i], name) {
            return Some(i as u32);
        }
        i += 1;
    }
    None
}

/// The grant named `name`; used in `const` items, where a name outside the catalog
/// stops the build.
pub const fn grant(module: Module, kind: GrantKind, name: &str) -> Grant {
    match position(module.spec().names(kind), name) {
        Some(bit) => Grant { module, kind, bit },
        None => panic!("name is not in the grant catalog"),
    }
}

pub const fn field(module: Module, name: &str) -> Grant {
    grant(module, GrantKind::Fields, name)
}

pub const fn relation(module: Module, name: &str) -> Grant {
    grant(module, GrantKind::Relations, name)
}

pub const fn action(module: Module, name: &str) -> Grant {
    grant(module, GrantKind::Actions, name)
}

pub const fn notification(module: Module, name: &str) -> Grant {
    grant(module, GrantKind::Notifications, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_fits_in_a_bitmask() {
        for spec in &CATALOG {
            for kind in GrantKind::ALL {
                assert!(spec.names(kind).len() <= 32, "{} {}", spec.name, kind.name());
            }
        }
    }

    #[test]
    fn modules_are_in_catalog_order() {
        for (i, m) in Module::ALL.into_iter().enumerate() {
            assert_eq!(CATALOG[i].module, m);
            assert_eq!(Module::parse(m.name()), Some(m));
        }
        assert_eq!(Module::parse("knowledge-base"), None);
    }

    #[test]
    fn grant_finds_names() {
        let g = field(Module::Tasks, "due_date");
        assert_eq!((g.module, g.kind, g.bit), (Module::Tasks, GrantKind::Fields, 3));
    }
}
