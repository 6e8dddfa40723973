//! What the cost of docs/operations.md needs to know of the schema: for each field of each
//! type, how it multiplies the records below it. Read once from async-graphql's registry,
//! so that lists, connections and relations are told apart by their types, not by names.

use std::collections::HashMap;

use async_graphql::registry::{MetaType, MetaTypeName, Registry};

use crate::access::Module;

/// The page a connection or list gives when `first` is absent (docs/api.md).
pub const DEFAULT_PAGE: u64 = 50;

/// Lists with one item per module at most, whatever the data: a role's grants, the
/// merged grants, the catalog. They count their real bound, not a page.
const BY_MODULE: [&str; 2] = ["GrantSet", "CatalogModule"];

/// How a field counts the records it can return, per one parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A scalar or an enum (or a list of them): no record.
    Leaf,
    /// One record per parent: a single relation, `__schema`, `ofType`.
    Single,
    /// Part of a page already counted at its connection field: a connection's `nodes`,
    /// `edges` and `pageInfo`, an edge's `node`.
    Same,
    /// A connection or list that takes `first`: that many records per parent (the
    /// default page when absent).
    Paged,
    /// A list without `first`: this many records per parent (an introspection list at
    /// its real length, a data list at the default page).
    List(u64),
}

#[derive(Clone, Debug)]
pub struct FieldShape {
    pub kind: Kind,
    /// The named type of the field (lists and non-null stripped).
    pub ty: String,
}

/// Per type, per field: its [`FieldShape`]; and the root types.
#[derive(Debug, Default)]
pub struct Shape {
    fields: HashMap<String, HashMap<String, FieldShape>>,
    pub query: String,
    pub mutation: Option<String>,
    pub subscription: Option<String>,
}

impl Shape {
    pub fn field(&self, ty: &str, field: &str) -> Option<&FieldShape> {
        self.fields.get(ty)?.get(field)
    }

    pub fn from_registry(registry: &Registry) -> Shape {
        let lengths = IntrospectionLengths::of(registry);
        let is_list = |ty: &str| ty.trim_end_matches('!').starts_with('[');
        let connections: Vec<&str> = registry
            .types
            .values()
            .filter(|t| {
                let list = |name| t.field_by_name(name).is_some_and(|f| is_list(&f.ty));
                matches!(t, MetaType::Object { .. }) && list("nodes") && list("edges")
            })
            .map(MetaType::name)
            .collect();
        let edges: Vec<&str> = connections
            .iter()
            .filter_map(|c| registry.types.get(*c)?.field_by_name("edges"))
            .map(|f| MetaTypeName::concrete_typename(&f.ty))
            .collect();
        let composite = |name: &str| registry.types.get(name).is_some_and(MetaType::is_composite);

        let mut fields = HashMap::new();
        for t in registry.types.values() {
            let Some(meta_fields) = t.fields() else { continue };
            let parent = t.name();
            let mut shapes = HashMap::new();
            for f in meta_fields.values() {
                let ty = MetaTypeName::concrete_typename(&f.ty);
                let kind = if !composite(ty) {
                    Kind::Leaf
                } else if connections.contains(&parent)
                    && matches!(f.name.as_str(), "nodes" | "edges" | "pageInfo")
                    || edges.contains(&parent) && f.name == "node"
                {
                    Kind::Same
                } else if f.args.contains_key("first") {
                    Kind::Paged
                } else if is_list(&f.ty) {
                    Kind::List(lengths.length(parent, &f.name, ty))
                } else if connections.contains(&ty) {
                    Kind::List(DEFAULT_PAGE)
                } else {
                    Kind::Single
                };
                shapes.insert(
                    f.name.clone(),
                    FieldShape {
                        kind,
                        ty: ty.to_string(),
                    },
                );
            }
            fields.insert(parent.to_string(), shapes);
        }
        Shape {
            fields,
            query: registry.query_type.clone(),
            mutation: registry.mutation_type.clone(),
            subscription: registry.subscription_type.clone(),
        }
    }
}

/// The real lengths of introspection's lists in this schema. A list nested under
/// another counts its average length per parent (rounded up), so that `types { fields
/// { args } }` counts as many fields and arguments as the schema has: at the largest
/// length for every parent, GraphiQL's own introspection query would cost 81,000.
struct IntrospectionLengths {
    types: u64,
    directives: u64,
    fields: u64,
    args: u64,
    directive_args: u64,
    interfaces: u64,
    possible_types: u64,
    enum_values: u64,
    input_fields: u64,
}

/// `total / parents`, rounded up, at least 1 when there is anything.
fn average(total: usize, parents: usize) -> u64 {
    let len = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    len(total).div_ceil(len(parents).max(1))
}

impl IntrospectionLengths {
    fn of(registry: &Registry) -> IntrospectionLengths {
        let types = registry.types.len();
        let total = |f: &dyn Fn(&MetaType) -> usize| registry.types.values().map(f).sum::<usize>();
        let fields = total(&|t| t.fields().map_or(0, |f| f.len()));
        IntrospectionLengths {
            types: average(types, 1),
            directives: average(registry.directives.len(), 1),
            fields: average(fields, types),
            args: average(
                total(&|t| t.fields().map_or(0, |f| f.values().map(|f| f.args.len()).sum())),
                fields,
            ),
            directive_args: average(
                registry.directives.values().map(|d| d.args.len()).sum(),
                registry.directives.len(),
            ),
            interfaces: average(registry.implements.values().map(|i| i.len()).sum(), types),
            possible_types: average(total(&|t| t.possible_types().map_or(0, |p| p.len())), types),
            enum_values: average(
                total(&|t| match t {
                    MetaType::Enum { enum_values, .. } => enum_values.len(),
                    _ => 0,
                }),
                types,
            ),
            input_fields: average(
                total(&|t| match t {
                    MetaType::InputObject { input_fields, .. } => input_fields.len(),
                    _ => 0,
                }),
                types,
            ),
        }
    }

    /// The length of the list `field` of `parent`: introspection's at their real
    /// length, any other at the default page.
    fn length(&self, parent: &str, field: &str, element: &str) -> u64 {
        match (parent, field) {
            ("__Schema", "types") => self.types,
            ("__Schema", "directives") => self.directives,
            ("__Type", "fields") => self.fields,
            ("__Type", "interfaces") => self.interfaces,
            ("__Type", "possibleTypes") => self.possible_types,
            ("__Type", "enumValues") => self.enum_values,
            ("__Type", "inputFields") => self.input_fields,
            ("__Field", "args") => self.args,
            ("__Directive", "args") => self.directive_args,
            _ if BY_MODULE.contains(&element) => Module::ALL.len() as u64,
            _ => DEFAULT_PAGE,
        }
    }
}
