//! People as relation targets: staff (`User`) and external users (`ExternalUser`).
//! They follow the relation that leads to them: `id` and `name`, `email` for staff only.

use async_graphql::{Context, ID, Object, Union};

use super::ContextExt;

use super::admin::ExternalUser;
use crate::db::models::StaffUser;

#[derive(Clone)]
pub struct User {
    row: StaffUser,
    staff_caller: bool,
}

impl User {
    /// A staff member resolved into the response (noted for the audit).
    pub fn new(ctx: &Context<'_>, row: StaffUser, staff_caller: bool) -> User {
        ctx.note_returned(row.id);
        User { row, staff_caller }
    }
}

/// A staff member of the workspace, as the target of a relation (`owner`, `assignee`,
/// `author`): `id` and `name` show whenever the relation does.
#[Object]
impl User {
    /// The staff member's id.
    pub(crate) async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// The staff member's name.
    async fn name(&self) -> &str {
        &self.row.name
    }

    /// The staff member's e-mail address. Staff callers only: `null` for external users.
    async fn email(&self) -> Option<&str> {
        self.staff_caller.then_some(self.row.email.as_str())
    }
}

/// A person the caller may know: a staff member (`User`) or an external user
/// (`ExternalUser`).
#[derive(Union, Clone)]
pub enum Person {
    User(User),
    ExternalUser(ExternalUser),
}

/// Who wrote a comment: a staff member (`User`) or an external user (`ExternalUser`).
#[derive(Union, Clone)]
pub enum CommentAuthor {
    User(User),
    ExternalUser(ExternalUser),
}
