//! Invoices and estimates (module `invoices`): the caller's account's, never drafts.

use async_graphql::{Context, Enum, ID, Object};

use super::connection::{self, Connection, Node};
use super::crm::CrmAccount;
use super::loaders::{AccountId, InvoiceId, LinesOf, ProjectId};
use super::projects::Project;
use super::scalars::{Date, Decimal};
use super::{ContextExt, parse_id};
use crate::access::catalog::{field, relation};
use crate::access::{Grant, Grants, Module};
use crate::db::{models, queries};
use crate::error::{Error, Result};

const STATUS: Grant = field(Module::Invoices, "status");
const ISSUE_DATE: Grant = field(Module::Invoices, "issue_date");
const DUE_DATE: Grant = field(Module::Invoices, "due_date");
const TOTAL: Grant = field(Module::Invoices, "total");
const CURRENCY: Grant = field(Module::Invoices, "currency");
const PAID_AMOUNT: Grant = field(Module::Invoices, "paid_amount");
const ACCOUNT: Grant = relation(Module::Invoices, "account");
const PROJECT: Grant = relation(Module::Invoices, "project");
const LINES: Grant = relation(Module::Invoices, "lines");

/// Whether a document bills or offers.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceKind {
    /// An invoice: asks for payment.
    Invoice,
    /// An estimate: an offer the client may accept, and that may become an invoice.
    Estimate,
}

impl InvoiceKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            InvoiceKind::Invoice => "INVOICE",
            InvoiceKind::Estimate => "ESTIMATE",
        }
    }
}

/// Where an invoice or estimate stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Being prepared; never shown to external users.
    Draft,
    /// Issued to the client.
    Sent,
    /// An estimate the client accepted.
    Accepted,
    /// Paid in full.
    Paid,
    /// Past its due date and not paid.
    Overdue,
    /// Withdrawn.
    Cancelled,
}

impl InvoiceStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "DRAFT",
            InvoiceStatus::Sent => "SENT",
            InvoiceStatus::Accepted => "ACCEPTED",
            InvoiceStatus::Paid => "PAID",
            InvoiceStatus::Overdue => "OVERDUE",
            InvoiceStatus::Cancelled => "CANCELLED",
        }
    }

    fn parse(s: &str) -> Option<InvoiceStatus> {
        match s {
            "DRAFT" => Some(InvoiceStatus::Draft),
            "SENT" => Some(InvoiceStatus::Sent),
            "ACCEPTED" => Some(InvoiceStatus::Accepted),
            "PAID" => Some(InvoiceStatus::Paid),
            "OVERDUE" => Some(InvoiceStatus::Overdue),
            "CANCELLED" => Some(InvoiceStatus::Cancelled),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct Invoice {
    row: models::Invoice,
    grants: Grants,
}

impl Invoice {
    /// A single record resolved into the response (noted for the audit).
    pub(crate) fn new(ctx: &Context<'_>, row: models::Invoice) -> Result<Invoice> {
        Ok(ctx.returned(Invoice::listed(ctx, row)?))
    }

    /// An invoice loaded in scope, with the grants of its project (if any).
    pub(crate) fn listed(ctx: &Context<'_>, row: models::Invoice) -> Result<Invoice> {
        let grants = ctx.access()?.project_grants(row.project_id);
        Ok(Invoice { row, grants })
    }
}

impl Node for Invoice {
    fn cursor(&self) -> String {
        connection::encode_number(&self.row.number)
    }

    fn record_id(&self) -> uuid::Uuid {
        self.row.id
    }
}

/// An invoice or an estimate of a client account (module `invoices`). External users see
/// their own account's, never drafts.
#[Object]
impl Invoice {
    /// The invoice's id. Always visible.
    pub(crate) async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }

    /// The invoice's number, e.g. `INV-2026-001`. Always visible.
    async fn number(&self) -> &str {
        &self.row.number
    }

    /// Invoice or estimate. Always visible.
    async fn kind(&self) -> InvoiceKind {
        if self.row.kind == "ESTIMATE" {
            InvoiceKind::Estimate
        } else {
            InvoiceKind::Invoice
        }
    }

    /// Where the invoice stands. Visible to external users whose grants include
    /// `invoices.fields: status`.
    async fn status(&self) -> Option<InvoiceStatus> {
        self.grants
            .reveal(STATUS, &self.row.status)
            .and_then(|s| InvoiceStatus::parse(s))
    }

    /// When the invoice was issued. Visible to external users whose grants include
    /// `invoices.fields: issue_date`.
    async fn issue_date(&self) -> Option<Date> {
        self.grants
            .reveal(ISSUE_DATE, self.row.issue_date)
            .flatten()
            .map(Date)
    }

    /// When payment is due. Visible to external users whose grants include
    /// `invoices.fields: due_date`.
    async fn due_date(&self) -> Option<Date> {
        self.grants
            .reveal(DUE_DATE, self.row.due_date)
            .flatten()
            .map(Date)
    }

    /// The amount billed, exactly. Visible to external users whose grants include
    /// `invoices.fields: total`.
    async fn total(&self) -> Option<Decimal> {
        self.grants
            .reveal(TOTAL, self.row.total_cents)
            .map(Decimal::from_cents)
    }

    /// The currency of the amounts (ISO 4217). Visible to external users whose grants
    /// include `invoices.fields: currency`.
    async fn currency(&self) -> Option<&str> {
        self.grants.reveal(CURRENCY, self.row.currency.as_str())
    }

    /// The amount paid so far, exactly. Visible to external users whose grants include
    /// `invoices.fields: paid_amount`.
    async fn paid_amount(&self) -> Option<Decimal> {
        self.grants
            .reveal(PAID_AMOUNT, self.row.paid_cents)
            .map(Decimal::from_cents)
    }

    /// The client account billed. Visible to external users whose grants include
    /// `invoices.relations: account` and access to `crm` (from workspace-wide roles).
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Box<CrmAccount>>> {
        if !self.grants.allows(ACCOUNT) {
            return Ok(None);
        }
        let row = ctx.loader().load_one(AccountId(self.row.account_id)).await?;
        row.map(|r| CrmAccount::new(ctx, r).map(Box::new)).transpose()
    }

    /// The project billed, if any. Visible to external users whose grants include
    /// `invoices.relations: project`, and only when the project is in their scope with
    /// access to `projects`.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Box<Project>>> {
        let Some(id) = self.grants.reveal(PROJECT, self.row.project_id).flatten() else {
            return Ok(None);
        };
        let row = ctx.loader().load_one(ProjectId(id)).await?;
        row.map(|r| Project::new(ctx, r).map(Box::new)).transpose()
    }

    /// The invoice's lines. Visible to external users whose grants include
    /// `invoices.relations: lines`; otherwise empty.
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<InvoiceLine>> {
        if !self.grants.allows(LINES) {
            return Ok(Vec::new());
        }
        let lines = ctx.loader().load_one(LinesOf(self.row.id)).await?;
        Ok(lines.unwrap_or_default().into_iter().map(InvoiceLine).collect())
    }
}

#[derive(Clone)]
pub struct InvoiceLine(models::InvoiceLine);

/// A line of an invoice; all fields show whenever the `lines` relation does.
#[Object]
impl InvoiceLine {
    /// What is billed.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// How many units.
    async fn quantity(&self) -> f64 {
        self.0.quantity
    }

    /// The price of one unit, exactly.
    async fn unit_price(&self) -> Decimal {
        Decimal::from_cents(self.0.unit_price_cents)
    }

    /// The line's amount, exactly: quantity times unit price.
    async fn amount(&self) -> Decimal {
        Decimal::from_cents(self.0.amount_cents)
    }
}

#[derive(Default)]
pub struct InvoicesQuery;

#[Object]
impl InvoicesQuery {
    /// Invoices and estimates in the caller's scope, ordered by number (external users:
    /// their own account's, never drafts).
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only invoices, or only estimates; both when absent.")] kind: Option<InvoiceKind>,
        #[graphql(desc = "How many items to return: 50 when absent, at most 100; 0 gives an empty page.")]
        first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page; the page starts after it.")] after: Option<
            String,
        >,
    ) -> Result<Option<Connection<Invoice>>> {
        let access = ctx.access()?;
        access.root(Module::Invoices)?;
        let page = connection::number_page(ctx, first, after.as_deref())?;
        let scope = access.scope(Module::Invoices);
        let kind = kind.map(InvoiceKind::as_str);
        let wanted = connection::wanted(ctx);
        let mut conn = ctx.pool()?.get().await?;
        let rows = if wanted.page {
            queries::invoices_page(&mut conn, &scope, kind, &connection::plus_one(&page)).await?
        } else {
            Vec::new()
        };
        let total = if wanted.count {
            queries::invoices_count(&mut conn, &scope, kind).await?
        } else {
            0
        };
        drop(conn);
        let nodes = connection::wrap(rows, |r| Invoice::listed(ctx, r))?;
        Ok(Some(Connection::page(nodes, &page, total)))
    }

    /// One invoice or estimate by id; `NOT_FOUND` when it does not exist or is out of the
    /// caller's scope.
    async fn invoice(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invoice's id.")] id: ID,
    ) -> Result<Option<Invoice>> {
        ctx.access()?.root(Module::Invoices)?;
        let id = parse_id("id", &id)?;
        let row = ctx
            .loader()
            .load_one(InvoiceId(id))
            .await?
            .ok_or(Error::NotFound)?;
        Invoice::new(ctx, row).map(Some)
    }
}

super::connection::connection_types! {
    Invoice => "InvoiceConnection", "InvoiceEdge";
}
