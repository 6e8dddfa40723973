//! People as relation targets: staff (`User`) and external users (`PortalUser`).
//! They follow the relation that leads to them: `id` and `name`, `email` for staff only.

use async_graphql::{Context, ID, Object, Union};

use super::ContextExt;

use crate::db::models::{ExternalUser, StaffUser};

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
    async fn id(&self) -> ID {
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

#[derive(Clone)]
pub struct PortalUser {
    row: ExternalUser,
    staff_caller: bool,
}

impl PortalUser {
    /// An external user resolved into the response (noted for the audit).
    pub fn new(ctx: &Context<'_>, row: ExternalUser, staff_caller: bool) -> PortalUser {
        ctx.note_returned(row.id);
        PortalUser { row, staff_caller }
    }
}

/// An external user (a client's contact), as the author of a comment.
#[Object]
impl PortalUser {
    /// The user's id.
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// The user's name.
    async fn name(&self) -> &str {
        &self.row.name
    }

    /// The user's e-mail address. Staff callers only: `null` for external users.
    async fn email(&self) -> Option<&str> {
        self.staff_caller.then_some(self.row.email.as_str())
    }
}

/// Who wrote a comment: a staff member (`User`) or an external user (`PortalUser`).
#[derive(Union, Clone)]
pub enum CommentAuthor {
    User(User),
    PortalUser(PortalUser),
}
