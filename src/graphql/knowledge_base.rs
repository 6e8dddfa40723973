//! Knowledge-base articles (module `knowledge_base`): published ones only for externals.

use async_graphql::{Context, ID, Object};

use super::connection::{self, Connection, Node};
use super::loaders::{ArticleId, StaffId};
use super::scalars::DateTime;
use super::users::User;
use super::{ContextExt, parse_id};
use crate::access::catalog::{field, relation};
use crate::access::{Grant, Grants, Module};
use crate::db::{models, queries};
use crate::error::{Error, Result};

const BODY: Grant = field(Module::KnowledgeBase, "body");
const CATEGORY: Grant = field(Module::KnowledgeBase, "category");
const UPDATED_AT: Grant = field(Module::KnowledgeBase, "updated_at");
const AUTHOR: Grant = relation(Module::KnowledgeBase, "author");

#[derive(Clone)]
pub struct KbArticle {
    row: models::KbArticle,
    grants: Grants,
}

impl KbArticle {
    /// A single record resolved into the response (noted for the audit).
    pub(crate) fn new(ctx: &Context<'_>, row: models::KbArticle) -> Result<KbArticle> {
        Ok(ctx.returned(KbArticle::listed(ctx, row)?))
    }

    pub(crate) fn listed(ctx: &Context<'_>, row: models::KbArticle) -> Result<KbArticle> {
        let grants = ctx.access()?.workspace_grants();
        Ok(KbArticle { row, grants })
    }
}

impl Node for KbArticle {
    fn cursor(&self) -> String {
        connection::encode_name_id("k", &self.row.title, self.row.id)
    }

    fn record_id(&self) -> uuid::Uuid {
        self.row.id
    }
}

/// A knowledge-base article (module `knowledge_base`). External users see the articles
/// published to the portal.
#[Object]
impl KbArticle {
    /// The article's id. Always visible.
    pub(crate) async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// The article's title. Always visible.
    async fn title(&self) -> &str {
        &self.row.title
    }

    /// The article's text. Visible to external users whose grants include
    /// `knowledge_base.fields: body`.
    async fn body(&self) -> Option<&str> {
        self.grants.reveal(BODY, self.row.body.as_str())
    }

    /// The article's category. Visible to external users whose grants include
    /// `knowledge_base.fields: category`.
    async fn category(&self) -> Option<&str> {
        self.grants
            .reveal(CATEGORY, self.row.category.as_deref())
            .flatten()
    }

    /// When the article last changed. Visible to external users whose grants include
    /// `knowledge_base.fields: updated_at`.
    async fn updated_at(&self) -> Option<DateTime> {
        self.grants.reveal(UPDATED_AT, self.row.updated_at).map(DateTime)
    }

    /// The staff member who wrote the article. Visible to external users whose grants
    /// include `knowledge_base.relations: author`.
    async fn author(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.grants.reveal(AUTHOR, self.row.author_id).flatten() else {
            return Ok(None);
        };
        let staff = self.grants.is_staff();
        Ok(ctx
            .loader()
            .load_one(StaffId(id))
            .await?
            .map(|u| User::new(ctx, u, staff)))
    }

    /// Whether the article is published to the portal. Staff only: `null` for external
    /// users whatever their grants.
    async fn published(&self) -> Option<bool> {
        self.grants.staff_only(self.row.published)
    }
}

#[derive(Default)]
pub struct KnowledgeBaseQuery;

#[Object]
impl KnowledgeBaseQuery {
    /// Articles in the caller's scope (external users: published to the portal), ordered by
    /// title.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many items to return: 50 when absent, at most 100; 0 gives an empty page.")]
        first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page; the page starts after it.")] after: Option<
            String,
        >,
    ) -> Result<Option<Connection<KbArticle>>> {
        let access = ctx.access()?;
        access.root(Module::KnowledgeBase)?;
        let page = connection::name_id_page(ctx, "k", first, after.as_deref())?;
        let scope = access.scope(Module::KnowledgeBase);
        let wanted = connection::wanted(ctx);
        let mut conn = ctx.pool()?.get().await?;
        let rows = if wanted.page {
            queries::articles_page(&mut conn, &scope, &connection::plus_one(&page)).await?
        } else {
            Vec::new()
        };
        let total = if wanted.count {
            queries::articles_count(&mut conn, &scope).await?
        } else {
            0
        };
        drop(conn);
        let nodes = connection::wrap(rows, |r| KbArticle::listed(ctx, r))?;
        Ok(Some(Connection::page(nodes, &page, total)))
    }

    /// One article by id; `NOT_FOUND` when it does not exist or is out of the caller's
    /// scope.
    async fn article(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The article's id.")] id: ID,
    ) -> Result<Option<KbArticle>> {
        ctx.access()?.root(Module::KnowledgeBase)?;
        let id = parse_id("id", &id)?;
        let row = ctx
            .loader()
            .load_one(ArticleId(id))
            .await?
            .ok_or(Error::NotFound)?;
        KbArticle::new(ctx, row).map(Some)
    }
}

super::connection::connection_types! {
    KbArticle => "KbArticleConnection", "KbArticleEdge";
}
