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

#[Object]
impl KbArticle {
    pub(crate) async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    async fn title(&self) -> &str {
        &self.row.title
    }

    async fn body(&self) -> Option<&str> {
        self.grants.reveal(BODY, self.row.body.as_str())
    }

    async fn category(&self) -> Option<&str> {
        self.grants
            .reveal(CATEGORY, self.row.category.as_deref())
            .flatten()
    }

    async fn updated_at(&self) -> Option<DateTime> {
        self.grants.reveal(UPDATED_AT, self.row.updated_at).map(DateTime)
    }

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

    /// Staff only.
    async fn published(&self) -> Option<bool> {
        self.grants.staff_only(self.row.published)
    }
}

#[derive(Default)]
pub struct KnowledgeBaseQuery;

#[Object]
impl KnowledgeBaseQuery {
    /// Articles published to the portal, by title.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
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
        let nodes = rows
            .into_iter()
            .map(|r| KbArticle::listed(ctx, r))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Connection::page(nodes, &page, total)))
    }

    async fn article(&self, ctx: &Context<'_>, id: ID) -> Result<Option<KbArticle>> {
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
