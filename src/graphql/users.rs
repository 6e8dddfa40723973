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

/// A staff member of the workspace.
#[Object]
impl User {
    pub(crate) async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    async fn name(&self) -> &str {
        &self.row.name
    }

    /// Staff callers only.
    async fn email(&self) -> Option<&str> {
        self.staff_caller.then_some(self.row.email.as_str())
    }
}

/// A person the caller may know: a staff member or an external user.
#[derive(Union, Clone)]
pub enum Person {
    User(User),
    ExternalUser(ExternalUser),
}

/// Who wrote a comment.
#[derive(Union, Clone)]
pub enum CommentAuthor {
    User(User),
    ExternalUser(ExternalUser),
}
