//! Notifications (docs/permissions.md#notifications): the persisted inbox of an external
//! user. Events come from `portal_events`, which triggers fill in the transaction of each
//! change; the inbox is filtered whenever it is read, with the caller's grants at that
//! moment, and each event's records load through the same scoped loaders and wrappers
//! as a query.

use std::sync::Mutex;

use async_graphql::{Context, Enum, ID, Object, Subscription};
use futures_util::stream::{self, BoxStream, StreamExt};
use uuid::Uuid;

use super::connection::{self, Connection, Node};
use super::invoices::Invoice;
use super::knowledge_base::KbArticle;
use super::loaders::{ArticleId, CommentId, InvoiceId, ProjectId, TaskId};
use super::mutations::Tx;
use super::projects::Project;
use super::scalars::DateTime;
use super::tasks::{Comment, Task};
use super::{ContextExt, parse_id};
use crate::access::catalog::notification;
use crate::access::{Access, Denial, Grant, Module};
use crate::db::models;
use crate::db::queries::{self, EVENT_KINDS, Inbox};
use crate::error::Error;
use crate::error::Result;
use crate::events::hub::Event;

/// The notification grant of each kind of [`EVENT_KINDS`], in that order.
const GRANTS: [Grant; 7] = [
    notification(Module::Tasks, "created"),
    notification(Module::Tasks, "status_changed"),
    notification(Module::Tasks, "comment_added"),
    notification(Module::Projects, "stage_changed"),
    notification(Module::Invoices, "issued"),
    notification(Module::Invoices, "status_changed"),
    notification(Module::KnowledgeBase, "published"),
];

/// The caller's inbox; `None` for staff, who have none.
pub(crate) fn inbox(access: &Access) -> Option<Inbox> {
    Some(Inbox {
        user_id: access.inbox_owner()?,
        kinds: GRANTS.map(|g| access.notification_scope(g)),
    })
}

/// What happened.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PortalEventKind {
    /// A task was created (`tasks.notifications: created`).
    TaskCreated,
    /// A task's status changed (`tasks.notifications: status_changed`).
    TaskStatusChanged,
    /// A comment was added to a task (`tasks.notifications: comment_added`).
    CommentAdded,
    /// A project moved to another stage (`projects.notifications: stage_changed`).
    ProjectStageChanged,
    /// An invoice was sent (`invoices.notifications: issued`).
    InvoiceIssued,
    /// An invoice's status changed otherwise (`invoices.notifications: status_changed`).
    InvoiceStatusChanged,
    /// A knowledge-base article was published (`knowledge_base.notifications: published`).
    ArticlePublished,
}

impl PortalEventKind {
    const ALL: [PortalEventKind; 7] = [
        PortalEventKind::TaskCreated,
        PortalEventKind::TaskStatusChanged,
        PortalEventKind::CommentAdded,
        PortalEventKind::ProjectStageChanged,
        PortalEventKind::InvoiceIssued,
        PortalEventKind::InvoiceStatusChanged,
        PortalEventKind::ArticlePublished,
    ];

    fn parse(s: &str) -> Option<PortalEventKind> {
        EVENT_KINDS
            .iter()
            .position(|k| *k == s)
            .map(|i| PortalEventKind::ALL[i])
    }
}

#[derive(Clone)]
pub struct PortalEvent(Event);

/// Something that happened to records of the workspace. Its records show as a query
/// shows them now: hidden fields `null`, a record out of the caller's scope `null`.
#[Object]
impl PortalEvent {
    /// The event's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// What happened.
    async fn kind(&self) -> Option<PortalEventKind> {
        PortalEventKind::parse(&self.0.kind)
    }

    /// When it happened.
    async fn occurred_at(&self) -> DateTime {
        DateTime(self.0.occurred_at)
    }

    /// The project concerned (of the task, comment or invoice), when visible.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Box<Project>>> {
        let Some(id) = self.0.project_id else {
            return Ok(None);
        };
        let row = ctx.loader().load_one(ProjectId(id)).await?;
        row.map(|r| Project::new(ctx, r).map(Box::new)).transpose()
    }

    /// The task concerned, when visible.
    async fn task(&self, ctx: &Context<'_>) -> Result<Option<Box<Task>>> {
        let Some(id) = self.0.task_id else { return Ok(None) };
        let row = ctx.loader().load_one(TaskId(id)).await?;
        row.map(|r| Task::new(ctx, r).map(Box::new)).transpose()
    }

    /// The comment added, when visible (as on its task's `comments`).
    async fn comment(&self, ctx: &Context<'_>) -> Result<Option<Comment>> {
        let Some(id) = self.0.comment_id else {
            return Ok(None);
        };
        let Some(row) = ctx.loader().load_one(CommentId(id)).await? else {
            return Ok(None);
        };
        let grants = ctx.access()?.project_grants(Some(row.project_id));
        Ok(Comment::of_task(grants, row.comment).map(|c| ctx.returned(c)))
    }

    /// The invoice concerned, when visible.
    async fn invoice(&self, ctx: &Context<'_>) -> Result<Option<Box<Invoice>>> {
        let Some(id) = self.0.invoice_id else {
            return Ok(None);
        };
        let row = ctx.loader().load_one(InvoiceId(id)).await?;
        row.map(|r| Invoice::new(ctx, r).map(Box::new)).transpose()
    }

    /// The article published, when visible.
    async fn article(&self, ctx: &Context<'_>) -> Result<Option<Box<KbArticle>>> {
        let Some(id) = self.0.article_id else {
            return Ok(None);
        };
        let row = ctx.loader().load_one(ArticleId(id)).await?;
        row.map(|r| KbArticle::new(ctx, r).map(Box::new)).transpose()
    }
}

#[derive(Clone)]
pub struct Notification(models::InboxEvent);

impl Node for Notification {
    fn cursor(&self) -> String {
        connection::encode_id("n", self.0.event.id)
    }

    fn record_id(&self) -> Uuid {
        self.0.event.id
    }
}

/// An event in the caller's inbox, with whether they have read it.
#[Object]
impl Notification {
    /// The notification's id: its event's id (what `markNotificationsRead` takes).
    async fn id(&self) -> ID {
        ID(self.0.event.id.to_string())
    }

    /// The event.
    async fn event(&self) -> PortalEvent {
        PortalEvent(std::sync::Arc::new(self.0.event.clone()))
    }

    /// When the caller marked it read; `null` while unread.
    async fn read_at(&self) -> Option<DateTime> {
        self.0.read_at.map(DateTime)
    }
}

/// The unread count of the caller's inbox; `None` for staff.
pub(crate) async fn unread(ctx: &Context<'_>) -> Result<Option<i64>> {
    let Some(inbox) = inbox(ctx.access()?) else {
        return Ok(None);
    };
    let mut conn = ctx.pool()?.get().await?;
    Ok(Some(queries::inbox_count(&mut conn, &inbox, true).await?))
}

#[derive(Default)]
pub struct NotificationsQuery;

#[Object]
impl NotificationsQuery {
    /// The caller's inbox, newest first: the events whose records they may see now and
    /// whose notifications their grants for those records include now (what became
    /// hidden disappears). `null` for staff, who have no inbox.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items to return: 50 when absent, at most 100; 0 gives an empty page.")]
        first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page; the page starts after it.")] after: Option<
            String,
        >,
    ) -> Result<Option<Connection<Notification>>> {
        let page = connection::id_page(ctx, "n", first, after.as_deref())?;
        let Some(inbox) = inbox(ctx.access()?) else {
            return Ok(None);
        };
        let wanted = connection::wanted(ctx);
        let mut conn = ctx.pool()?.get().await?;
        let rows = if wanted.page {
            queries::inbox_page(&mut conn, &inbox, &connection::plus_one(&page)).await?
        } else {
            Vec::new()
        };
        let total = if wanted.count {
            queries::inbox_count(&mut conn, &inbox, false).await?
        } else {
            0
        };
        let nodes = rows.into_iter().map(Notification).collect();
        Ok(Some(Connection::page(nodes, &page, total)))
    }
}

#[derive(Default)]
pub struct NotificationsMutation;

#[Object]
impl NotificationsMutation {
    /// Marks notifications of the caller's inbox read, and answers them, newest first;
    /// ids that are not in the caller's inbox now are ignored. `null` for staff, who have
    /// no inbox.
    async fn mark_notifications_read(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The notifications' ids.")] ids: Vec<ID>,
    ) -> Result<Option<Vec<Notification>>> {
        let ids = ids
            .iter()
            .map(|id| parse_id("ids", id))
            .collect::<Result<Vec<Uuid>>>()?;
        let mut tx = Tx::begin(ctx).await?;
        let Some(inbox) = inbox(tx.access) else {
            return tx.finish(ctx, Ok((None, Vec::new()))).await;
        };
        let result = queries::mark_read(tx.conn()?, &inbox, &ids)
            .await
            .map_err(Into::into);
        let result = result.map(|rows: Vec<models::InboxEvent>| {
            let changed = rows.iter().map(|r| r.event.id).collect();
            (Some(rows.into_iter().map(Notification).collect()), changed)
        });
        tx.finish(ctx, result).await
    }
}

super::connection::connection_types! {
    Notification => "NotificationConnection", "NotificationEdge";
}

/// What starting a subscription leaves for its connection: the number of the event to
/// resume after, once `after` is known to be a kept event of the caller's workspace.
#[derive(Clone, Default)]
pub struct Start(std::sync::Arc<Mutex<Option<i64>>>);

impl Start {
    /// The number to resume after, if `after` was given.
    pub fn after(&self) -> Option<i64> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The one event a delivery resolves, already decided to reach the caller.
pub struct Delivery(pub Event);

#[derive(Default)]
pub struct SubscriptionRoot;

/// Live events (docs/api.md#subscriptions), over graphql-transport-ws at `/graphql/ws`.
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The caller's portal events as they happen: each event whose record they may see
    /// and whose notification their grants for it include at the moment it is
    /// delivered, shown as a query would show it then. With `after`, first what they
    /// missed since that event (from their inbox, as it is now), then live events, with
    /// no gap and no duplicate. External users only: staff have no portal events.
    async fn portal_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The id of the last event the client saw; an id that is unknown or no longer kept is refused (reload the inbox instead)."
        )]
        after: Option<ID>,
    ) -> Result<BoxStream<'static, PortalEvent>> {
        let access = ctx.access()?;
        if access.inbox_owner().is_none() {
            return Err(Error::from(Denial::NotAllowed));
        }
        if let Some(Delivery(event)) = ctx.data_opt::<Delivery>() {
            return Ok(stream::once(std::future::ready(PortalEvent(event.clone()))).boxed());
        }
        let after = match after {
            None => None,
            Some(id) => {
                let id = parse_id("after", &id)?;
                let mut conn = ctx.pool()?.get().await?;
                let seq = queries::event_seq(&mut conn, access.caller().workspace_id(), id).await?;
                Some(seq.ok_or_else(|| {
                    Error::bad_input("after", "is not an event that is kept: reload the inbox instead")
                })?)
            }
        };
        if let Some(start) = ctx.data_opt::<Start>() {
            *start.0.lock().unwrap_or_else(|p| p.into_inner()) = after;
        }
        Ok(stream::empty().boxed())
    }
}
