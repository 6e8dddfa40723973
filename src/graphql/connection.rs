//! Relay-style connections (docs/api.md). Cursors are opaque, and built only from the sort
//! key of the list, which is always visible (ids, names, titles, numbers): they reveal
//! nothing a caller could not see.

use async_graphql::{Context, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use async_graphql::dataloader::Loader;

use super::ContextExt;
use super::loaders::Fetch;
use crate::db::queries::Page;
use crate::error::{Error, Result};

/// Something listed in a connection: it knows its cursor, and the id of its record (for
/// the audit: every record resolved into a response is noted, selected `id` or not).
pub trait Node {
    fn cursor(&self) -> String;
    fn record_id(&self) -> Uuid;
}

/// Where a page sits in its list (Relay).
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct PageInfo {
    /// Whether more items follow this page: ask again with `after: endCursor`.
    pub has_next_page: bool,
    /// Whether items precede this page.
    pub has_previous_page: bool,
    /// The cursor of the page's first item; `null` for an empty page.
    pub start_cursor: Option<String>,
    /// The cursor of the page's last item; `null` for an empty page.
    pub end_cursor: Option<String>,
}

#[derive(Clone)]
pub struct Edge<N> {
    pub cursor: String,
    pub node: N,
}

/// A page of `N` with its full visible count. Edges and cursors are made only when
/// the query selects them (a dashboard asks for `nodes` alone).
pub struct Connection<N> {
    pub nodes: Vec<N>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
    /// The full count of what the caller may see, whatever the page.
    pub total_count: i64,
}

/// The GraphQL types `XConnection` and `XEdge` for one node type. Each node's module
/// declares its own, so that this shared mechanism knows none of its users.
macro_rules! connection_types {
    ($($node:ty => $connection:literal, $edge:literal;)*) => {$(
        /// A page of a list (Relay connection), with the full count of what the caller may
        /// see.
        #[async_graphql::Object(name = $connection)]
        impl $crate::graphql::connection::Connection<$node> {
            /// The items of this page.
            async fn nodes(&self, ctx: &async_graphql::Context<'_>) -> &[$node] {
                use $crate::graphql::{ContextExt as _, connection::Node as _};
                self.nodes.iter().for_each(|n| ctx.note_returned(n.record_id()));
                &self.nodes
            }

            /// The items of this page, each with its cursor.
            async fn edges(
                &self,
                ctx: &async_graphql::Context<'_>,
            ) -> Vec<$crate::graphql::connection::Edge<$node>> {
                use $crate::graphql::{ContextExt as _, connection::Node as _};
                self.nodes.iter().for_each(|n| ctx.note_returned(n.record_id()));
                self.edge_list()
            }

            /// Where this page sits in the list.
            async fn page_info(&self) -> $crate::graphql::connection::PageInfo {
                self.position()
            }

            /// Everything the caller may see in this list, on every page. One count per
            /// list, whatever `first`: it does not weigh with the page.
            #[graphql(complexity = 0)]
            async fn total_count(&self) -> i64 {
                self.total_count
            }
        }

        /// An item of a page, with its cursor.
        #[async_graphql::Object(name = $edge)]
        impl $crate::graphql::connection::Edge<$node> {
            /// An opaque position: pass it as `after` to continue after this item.
            async fn cursor(&self) -> &str {
                &self.cursor
            }

            /// The item.
            async fn node(&self) -> &$node {
                &self.node
            }
        }
    )*};
}

pub(crate) use connection_types;

impl<N: Node + Clone> Connection<N> {
    /// An empty connection: what a stripped list relation answers.
    pub fn empty() -> Self {
        Connection {
            nodes: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
            total_count: 0,
        }
    }

    /// A page from `rows` (fetched with one row more than asked, to tell whether a
    /// next page exists).
    pub fn page<K>(mut rows: Vec<N>, page: &Page<K>, total_count: i64) -> Self {
        let first = usize::try_from(page.first).unwrap_or(0);
        let has_next_page = rows.len() > first;
        rows.truncate(first);
        Connection {
            nodes: rows,
            has_next_page,
            has_previous_page: page.after.is_some(),
            total_count,
        }
    }

    /// The page's items with their cursors.
    pub fn edge_list(&self) -> Vec<Edge<N>> {
        self.nodes
            .iter()
            .map(|n| Edge {
                cursor: n.cursor(),
                node: n.clone(),
            })
            .collect()
    }

    /// Where the page sits in its list.
    pub fn position(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            start_cursor: self.nodes.first().map(Node::cursor),
            end_cursor: self.nodes.last().map(Node::cursor),
        }
    }
}

/// The rows of a nested list (a page for one parent, and that parent's full count),
/// through the request's loaders; each part is loaded only when selected.
pub async fn nested<K, C, R>(ctx: &Context<'_>, page_key: K, count_key: C) -> Result<(Vec<R>, i64)>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    C: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    R: Send + Sync + Clone + 'static,
    Fetch: Loader<K, Value = Vec<R>, Error = Error> + Loader<C, Value = i64, Error = Error>,
{
    // Boxed: every field future of the parent type is as large as its largest field, and
    // this join of two loads made the largest (a task's 1.3 KB); one allocation per
    // nested list spares each sibling field the difference (`make instructions`).
    Box::pin(async move {
        let wanted = wanted(ctx);
        let loader = ctx.loader();
        let rows = async {
            if !wanted.page {
                return Ok(Vec::new());
            }
            page_rows(ctx, page_key).await
        };
        let count = async {
            if !wanted.count {
                return Ok(0);
            }
            Ok(loader.load_one(count_key).await?.unwrap_or(0))
        };
        futures_util::try_join!(rows, count)
    })
    .await
}

/// A page's rows, each wrapped as its node (the vector sized at once: collected through
/// `Result`, it grew from empty).
pub fn wrap<R, T>(rows: Vec<R>, mut node: impl FnMut(R) -> Result<T>) -> Result<Vec<T>> {
    let mut nodes = Vec::with_capacity(rows.len());
    for r in rows {
        nodes.push(node(r)?);
    }
    Ok(nodes)
}

/// The page of a nested list whose parent already knows its count.
pub async fn nested_page<K, R>(ctx: &Context<'_>, page_key: K) -> Result<Vec<R>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    R: Send + Sync + Clone + 'static,
    Fetch: Loader<K, Value = Vec<R>, Error = Error>,
{
    if !wanted(ctx).page {
        return Ok(Vec::new());
    }
    // Boxed, as in `nested`: the load's state would otherwise size every field future
    // of the parent type; a count-only list (no page) allocates nothing.
    Box::pin(page_rows(ctx, page_key)).await
}

/// One parent's page of a nested list, through the request's loaders.
async fn page_rows<K, R>(ctx: &Context<'_>, page_key: K) -> Result<Vec<R>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    R: Send + Sync + Clone + 'static,
    Fetch: Loader<K, Value = Vec<R>, Error = Error>,
{
    Ok(ctx.loader().load_one(page_key).await?.unwrap_or_default())
}

/// Whether the connection's items are asked `path` (through `nodes` or `edges.node`).
pub fn in_nodes(ctx: &Context<'_>, path: &[&str]) -> bool {
    let look = ctx.look_ahead();
    [look.field("nodes"), look.field("edges").field("node")]
        .into_iter()
        .any(|item| path.iter().fold(item, |at, name| at.field(name)).exists())
}

/// Whether the connection's items (through `nodes` or `edges.node`, in every fragment)
/// are asked no field but those named.
pub fn nodes_ask_only(ctx: &Context<'_>, names: &[&str]) -> bool {
    let look = ctx.look_ahead();
    [look.field("nodes"), look.field("edges").field("node")]
        .iter()
        .flat_map(|items| items.selection_fields())
        .all(|item| item.selection_set().all(|field| names.contains(&field.name())))
}

/// Which parts of a connection the query selected, so that no page or count is loaded
/// for nothing.
pub struct Wanted {
    pub page: bool,
    pub count: bool,
}

pub fn wanted(ctx: &Context<'_>) -> Wanted {
    let look = ctx.look_ahead();
    Wanted {
        page: look.field("nodes").exists() || look.field("edges").exists() || look.field("pageInfo").exists(),
        count: look.field("totalCount").exists(),
    }
}

pub fn encode_id(tag: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tag}:{id}"))
}

pub fn encode_name_id(tag: &str, name: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tag}:{id}:{name}"))
}

pub fn encode_number(number: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("i:{number}"))
}

/// The text of a cursor after its tag; a NUL in it is malformed (PostgreSQL refuses
/// NUL in text, and a cursor of ours never holds one).
fn decode<'a>(raw: &'a [u8], tag: &str) -> Option<&'a str> {
    let s = std::str::from_utf8(raw).ok().filter(|s| !s.contains('\0'))?;
    s.strip_prefix(tag)?.strip_prefix(':')
}

fn bad_cursor() -> Error {
    Error::bad_input("after", "malformed cursor")
}

fn first(ctx: &Context<'_>, first: Option<i32>) -> Result<i64> {
    let max = ctx.limits().max_page;
    let n = i64::from(first.unwrap_or(50));
    if !(0..=max).contains(&n) {
        return Err(Error::bad_input("first", format!("must be between 0 and {max}")));
    }
    Ok(n)
}

/// A page ordered by id (`after` is a cursor of `tag`).
pub fn id_page(
    ctx: &Context<'_>,
    tag: &'static str,
    n: Option<i32>,
    after: Option<&str>,
) -> Result<Page<Uuid>> {
    let after = after
        .map(|c| {
            let raw = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad_cursor())?;
            decode(&raw, tag)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(bad_cursor)
        })
        .transpose()?;
    Ok(Page {
        first: first(ctx, n)?,
        after,
    })
}

/// A page ordered by `(name, id)`.
pub fn name_id_page(
    ctx: &Context<'_>,
    tag: &'static str,
    n: Option<i32>,
    after: Option<&str>,
) -> Result<Page<(String, Uuid)>> {
    let after = after
        .map(|c| {
            let raw = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad_cursor())?;
            let rest = decode(&raw, tag).ok_or_else(bad_cursor)?;
            let (id, name) = rest.split_at_checked(36).ok_or_else(bad_cursor)?;
            let name = name.strip_prefix(':').ok_or_else(bad_cursor)?;
            let id = Uuid::parse_str(id).map_err(|_| bad_cursor())?;
            Ok::<_, Error>((name.to_string(), id))
        })
        .transpose()?;
    Ok(Page {
        first: first(ctx, n)?,
        after,
    })
}

/// A page ordered by invoice number.
pub fn number_page(ctx: &Context<'_>, n: Option<i32>, after: Option<&str>) -> Result<Page<String>> {
    let after = after
        .map(|c| {
            let raw = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad_cursor())?;
            decode(&raw, "i").map(str::to_string).ok_or_else(bad_cursor)
        })
        .transpose()?;
    Ok(Page {
        first: first(ctx, n)?,
        after,
    })
}

/// The same page with one more row, to learn whether a next page exists.
pub fn plus_one<K: Clone>(page: &Page<K>) -> Page<K> {
    Page {
        first: page.first + 1,
        after: page.after.clone(),
    }
}
