//! Input hygiene (docs/api.md): a NUL character or a string longer than the limit, in any
//! argument literal or variable (at any depth) of a request, is `BAD_USER_INPUT` naming
//! where it stands (`$title`, `$input.title`, `createTask.input.title`), before
//! anything runs: PostgreSQL refuses NUL in text, which would otherwise surface as an
//! internal error. Cursors are strings too, so a raw NUL in `after` is caught here; a
//! NUL inside a cursor's decoded bytes is refused where cursors are decoded.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Positioned, Variables};
use async_graphql_value::{ConstValue, Value};

use crate::error::{Error, Result};

/// The first offending string of the request's variables or document, as an error.
pub fn check(doc: &ExecutableDocument, variables: &Variables, max_chars: usize) -> Result<()> {
    let check = Check { max_chars };
    for (name, value) in variables.iter() {
        check.constant(value, &format!("${name}"))?;
    }
    for (_, op) in doc.operations.iter() {
        for def in &op.node.variable_definitions {
            if let Some(default) = &def.node.default_value {
                check.constant(&default.node, &format!("${}", def.node.name.node))?;
            }
        }
        check.set(&op.node.selection_set)?;
    }
    for fragment in doc.fragments.values() {
        check.set(&fragment.node.selection_set)?;
    }
    Ok(())
}

struct Check {
    max_chars: usize,
}

impl Check {
    fn string(&self, s: &str, place: &str) -> Result<()> {
        if s.contains('\0') {
            return Err(Error::bad_input(place, "contains a NUL character"));
        }
        if s.len() > self.max_chars && s.chars().count() > self.max_chars {
            let max = self.max_chars;
            return Err(Error::bad_input(
                place,
                format!("is longer than {max} characters"),
            ));
        }
        Ok(())
    }

    fn constant(&self, value: &ConstValue, place: &str) -> Result<()> {
        match value {
            ConstValue::String(s) => self.string(s, place),
            ConstValue::List(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| self.constant(v, &format!("{place}[{i}]"))),
            ConstValue::Object(fields) => fields.iter().try_for_each(|(k, v)| {
                let place = format!("{place}.{k}");
                self.string(k, &place)?;
                self.constant(v, &place)
            }),
            _ => Ok(()),
        }
    }

    fn value(&self, value: &Value, place: &str) -> Result<()> {
        match value {
            Value::String(s) => self.string(s, place),
            Value::List(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| self.value(v, &format!("{place}[{i}]"))),
            Value::Object(fields) => fields
                .iter()
                .try_for_each(|(k, v)| self.value(v, &format!("{place}.{k}"))),
            _ => Ok(()),
        }
    }

    fn arguments(&self, owner: &str, arguments: &[(Positioned<Name>, Positioned<Value>)]) -> Result<()> {
        arguments
            .iter()
            .try_for_each(|(name, value)| self.value(&value.node, &format!("{owner}.{}", name.node)))
    }

    /// Every argument under `set`; fragments are checked once, as definitions.
    fn set(&self, set: &Positioned<SelectionSet>) -> Result<()> {
        for item in &set.node.items {
            match &item.node {
                Selection::Field(f) => {
                    self.arguments(&f.node.name.node, &f.node.arguments)?;
                    for d in &f.node.directives {
                        self.arguments(&format!("@{}", d.node.name.node), &d.node.arguments)?;
                    }
                    self.set(&f.node.selection_set)?;
                }
                Selection::InlineFragment(f) => self.set(&f.node.selection_set)?,
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }
}
