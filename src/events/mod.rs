//! Live (docs/api.md#subscriptions): what PostgreSQL announces reaches this instance
//! through one listener ([`listener`]), which keeps the grants cache honest and hands
//! portal events to the [`hub`], which fans them out to the WebSocket subscriptions of
//! this instance.

pub mod hub;
pub mod listener;

use uuid::Uuid;

/// What the listener passes on, in the order PostgreSQL delivered it (commit order):
/// a change of grants committed before an event is passed on before that event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// The listener is listening (again): whatever was announced while it was not has
    /// been missed.
    Listening,
    /// The listener lost its connection; it reconnects by itself.
    Lost,
    /// Grants changed in a workspace: for one external user of it, or (`None`) for
    /// any number of its users.
    Grants {
        workspace_id: Uuid,
        user_id: Option<Uuid>,
    },
    /// A portal event was committed.
    Event(Uuid),
}
