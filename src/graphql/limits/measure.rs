//! The figures of limits (docs/operations.md) on a parsed document, as expanded through
//! fragments: cost, depth, aliases and field selections. Pure: no async-graphql execution,
//! no I/O.
//!
//! Every figure is computed per one parent and is linear in the parent's count, so a
//! named fragment is measured once (memoised) and then multiplied wherever it is
//! spread: a document whose fragments spread each other twice, 2^26 fields when
//! expanded, is measured in 26 steps. All arithmetic saturates, so a huge `first`
//! (9223372036854775807, or 2^53 as a JSON float) can only make a figure larger.
//! A fragment met again while it is being measured (a cycle, which validation refuses
//! later) counts nothing.

use std::collections::HashMap;

use async_graphql::parser::types::{
    ExecutableDocument, Field, FragmentDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Number, Positioned, Variables};
use async_graphql_value::{ConstValue, Value};

use super::shape::{DEFAULT_PAGE, Kind, Shape};

/// The figures of a document (the largest of any operation or fragment in it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// Records the document can return.
    pub cost: u64,
    /// Nesting of data fields (introspection does not count).
    pub depth: u64,
    pub aliases: u64,
    pub selections: u64,
}

impl Figures {
    fn add(&mut self, other: Figures) {
        self.cost = self.cost.saturating_add(other.cost);
        self.depth = self.depth.max(other.depth);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.selections = self.selections.saturating_add(other.selections);
    }

    fn max(self, other: Figures) -> Figures {
        Figures {
            cost: self.cost.max(other.cost),
            depth: self.depth.max(other.depth),
            aliases: self.aliases.max(other.aliases),
            selections: self.selections.max(other.selections),
        }
    }
}

/// Measures every operation of `doc` and every fragment on its own (an unused one is
/// refused by validation, which must not be the one to expand it), and answers the
/// largest of each figure.
pub fn measure(doc: &ExecutableDocument, shape: &Shape, variables: &Variables) -> Figures {
    let mut walker = Walker {
        shape,
        doc,
        pages: pages(doc, variables),
        memo: HashMap::new(),
    };
    let mut figures = Figures::default();
    for (_, op) in doc.operations.iter() {
        let root = match op.node.ty {
            OperationType::Query => Some(&shape.query),
            OperationType::Mutation => shape.mutation.as_ref(),
            OperationType::Subscription => shape.subscription.as_ref(),
        };
        let root = root.map_or("", String::as_str);
        figures = figures.max(walker.set(&op.node.selection_set, root));
    }
    for name in doc.fragments.keys() {
        figures = figures.max(walker.fragment(name));
    }
    figures
}

/// The page size each variable gives as `first`: the request's value, else the largest
/// default any operation declares for it.
fn pages(doc: &ExecutableDocument, variables: &Variables) -> HashMap<Name, Option<u64>> {
    let mut pages: HashMap<Name, Option<u64>> = HashMap::new();
    for (_, op) in doc.operations.iter() {
        for def in &op.node.variable_definitions {
            let page = def.node.default_value.as_ref().and_then(|v| const_page(&v.node));
            let slot = pages.entry(def.node.name.node.clone()).or_default();
            *slot = (*slot).max(page);
        }
    }
    for (name, value) in variables.iter() {
        pages.insert(name.clone(), const_page(value));
    }
    pages
}

fn const_page(value: &ConstValue) -> Option<u64> {
    match value {
        ConstValue::Number(n) => Some(page_of(n)),
        _ => None,
    }
}

/// A `first` as a page size: negative is nothing (refused later), a float saturates
/// (`as` casts saturate).
fn page_of(n: &Number) -> u64 {
    n.as_u64()
        .or_else(|| n.as_i64().map(|_| 0))
        .or_else(|| n.as_f64().map(|f| f as u64))
        .unwrap_or(0)
}

struct Walker<'a> {
    shape: &'a Shape,
    doc: &'a ExecutableDocument,
    pages: HashMap<Name, Option<u64>>,
    /// Each fragment's figures per one parent; `None` while it is being measured.
    memo: HashMap<Name, Option<Figures>>,
}

impl Walker<'_> {
    fn set(&mut self, set: &Positioned<SelectionSet>, ty: &str) -> Figures {
        let mut figures = Figures::default();
        for item in &set.node.items {
            let one = match &item.node {
                Selection::Field(f) => self.field(&f.node, ty),
                Selection::InlineFragment(f) => {
                    let ty = f
                        .node
                        .type_condition
                        .as_ref()
                        .map_or(ty, |c| c.node.on.node.as_str());
                    self.set(&f.node.selection_set, ty)
                }
                Selection::FragmentSpread(s) => self.fragment(&s.node.fragment_name.node),
            };
            figures.add(one);
        }
        figures
    }

    fn field(&mut self, field: &Field, parent: &str) -> Figures {
        let name = field.name.node.as_str();
        let shape = self.shape.field(parent, name);
        let ty = shape.map_or("", |s| s.ty.as_str());
        let below = self.set(&field.selection_set, ty);
        let kind = match shape {
            Some(s) => s.kind,
            // Unknown (validation refuses it later): one record, if it has a selection.
            None if field.selection_set.node.items.is_empty() => Kind::Leaf,
            None => Kind::Single,
        };
        let per_record = below.cost.saturating_add(1);
        let cost = match kind {
            Kind::Leaf => 0,
            Kind::Same => below.cost,
            Kind::Single => per_record,
            Kind::Paged => self.first(field).saturating_mul(per_record),
            Kind::List(n) => n.saturating_mul(per_record),
        };
        Figures {
            cost,
            // Introspection is not data, wherever it starts (a fragment on `__Type`).
            depth: if name.starts_with("__") || parent.starts_with("__") {
                0
            } else {
                below.depth.saturating_add(1)
            },
            aliases: below.aliases.saturating_add(u64::from(field.alias.is_some())),
            selections: below.selections.saturating_add(1),
        }
    }

    /// The page a field asks for with `first` (literal or variable), else the default.
    fn first(&self, field: &Field) -> u64 {
        let page = field.get_argument("first").and_then(|v| match &v.node {
            Value::Variable(name) => self.pages.get(name).copied().flatten(),
            Value::Number(n) => Some(page_of(n)),
            _ => None,
        });
        page.unwrap_or(DEFAULT_PAGE)
    }

    fn fragment(&mut self, name: &Name) -> Figures {
        match self.memo.get(name) {
            Some(Some(figures)) => return *figures,
            Some(None) => return Figures::default(),
            None => {}
        }
        self.memo.insert(name.clone(), None);
        let figures = match self.doc.fragments.get(name) {
            Some(f) => self.definition(&f.node),
            None => Figures::default(),
        };
        self.memo.insert(name.clone(), Some(figures));
        figures
    }

    fn definition(&mut self, fragment: &FragmentDefinition) -> Figures {
        let ty = fragment.type_condition.node.on.node.clone();
        self.set(&fragment.selection_set, &ty)
    }
}
