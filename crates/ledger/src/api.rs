//! The office and parent side of the ledger's JSON: requests and answers.
//! The counter side is [`klubkasse_core::protocol`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use klubkasse_core::domain::{Card, CardUid, Child, ChildId, Entry, Money};
use klubkasse_core::protocol::Flag;

pub const MAX_NAME: usize = 100;
pub const MAX_NOTE: usize = 500;
pub const MAX_ADDRESS: usize = 300;
pub const MAX_CATEGORY: usize = 50;
pub const MAX_CATEGORIES: usize = 50;
/// No single amount the ledger takes is larger than this (kroner).
pub const MAX_AMOUNT_KRONER: i64 = 1_000_000;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// 1 to 100 characters.
    pub name: String,
    /// The club the child belongs to, 1 to 100 characters.
    pub club: String,
}

/// A child as the office and parents see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChildDetail {
    pub child: Child,
    pub club: String,
    pub balance: Money,
    pub cards: Vec<Card>,
    pub orders: Vec<CardOrder>,
    pub changed_at: DateTime<Utc>,
    /// When the child left and who closed the account; None while open.
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChildSummary {
    pub id: ChildId,
    pub name: String,
    pub club: String,
    pub balance: Money,
    /// When the child left; None while open.
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only the children of this club.
    pub club: Option<String>,
}

/// A deposit or a withdrawal.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyRequest {
    /// Kroner as a string with at most two decimals, e.g. "100.00"; > 0.
    pub amount: Money,
    /// Optional id chosen by the caller (UUID): sending the same request
    /// again with the same id changes nothing and answers with the first
    /// entry; another request with it (another kind, amount or child) is
    /// 409 `id_in_use`.
    pub id: Option<Uuid>,
    /// Optional number of the office's paper receipt, at most 40 characters.
    #[serde(default)]
    pub receipt: Option<String>,
}

/// An entry as the ledger recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EntryRecord {
    pub entry: Entry,
    /// What the office should look at (sales that arrived from a counter).
    pub flags: Vec<Flag>,
    pub balance_after: Money,
    pub recorded_at: DateTime<Utc>,
    /// The office's paper receipt, for cash at the office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Why the office corrected the balance (a refund, an adjustment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOutRequest {
    /// The card's UID in hex, 4, 7 or 10 bytes.
    pub uid: CardUid,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// Where the card is posted, 1 to 300 characters.
    pub address: String,
    /// Optional id chosen by the caller: a repeat changes nothing;
    /// another order with it (another child or address) or an entry's id
    /// is 409 `id_in_use`.
    pub id: Option<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Ordered,
    Sent,
    HandedOut,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Ordered => "ordered",
            OrderStatus::Sent => "sent",
            OrderStatus::HandedOut => "handed_out",
        }
    }

    pub fn parse(text: &str) -> Option<OrderStatus> {
        match text {
            "ordered" => Some(OrderStatus::Ordered),
            "sent" => Some(OrderStatus::Sent),
            "handed_out" => Some(OrderStatus::HandedOut),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CardOrder {
    pub id: Uuid,
    pub child: ChildId,
    pub status: OrderStatus,
    /// None for the first card, which is handed out at the club.
    pub address: Option<String>,
    /// 0.00 for the first card.
    pub fee: Money,
    /// The card that fulfilled the order, once handed out.
    pub card: Option<CardUid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPatch {
    /// Only forward: ordered → sent → handed_out.
    pub status: OrderStatus,
    /// With `handed_out`, and only then: the card handed out, recorded
    /// as the child's (the counter knows it from then on).
    #[serde(default)]
    pub uid: Option<CardUid>,
}

/// Fields left out are left as they are; `null` clears a limit or note.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Money>)]
    pub daily_limit: Option<Option<Money>>,
    pub blocked_categories: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

/// Tells "absent" (outer None, by `default`) from "null" (Some(None)).
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Csv,
}

/// Which of a report's tables a CSV holds (JSON has both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportTable {
    /// Per club, counter and kind: `rows`.
    #[default]
    Totals,
    /// Per item and price: `items`.
    Items,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    /// The day on the club's wall clock, YYYY-MM-DD.
    pub date: NaiveDate,
    pub club: Option<String>,
    /// `json` (default), or `csv` as Danish Excel opens it (UTF-8 with a
    /// BOM, `;`, decimal comma, text that could run as a formula made safe).
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub format: Format,
    /// The table a CSV holds: `totals` (default) or `items`.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub table: ReportTable,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    /// YYYY-MM.
    pub month: String,
    pub club: Option<String>,
    /// `json` (default), or `csv` as Danish Excel opens it (UTF-8 with a
    /// BOM, `;`, decimal comma, text that could run as a formula made safe).
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub format: Format,
    /// The table a CSV holds: `totals` (default) or `items`.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub table: ReportTable,
}

/// Totals per club, counter and kind of entry over a period, and what
/// was sold per item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Report {
    /// First day, inclusive.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    pub time_zone: String,
    /// The one club reported on; null: more than one (every club, unless
    /// the reader sees only some).
    pub club: Option<String>,
    pub rows: Vec<ReportRow>,
    /// Per item and price charged, most money first; the row without a
    /// name (if any) last.
    pub items: Vec<ItemRow>,
}

/// What one item sold over a period at one price, net of what was given
/// back: an item sold at two prices is two rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ItemRow {
    /// The item's name as the counter sold it. Null: refunds of part of a
    /// sale, which do not say which items came back (their count is the
    /// number of such refunds, negative).
    pub name: Option<String>,
    /// The price charged for one; null with the name.
    pub unit_price: Option<Money>,
    /// Sold less given back.
    pub count: i64,
    /// What was sold less what was given back: positive is money the
    /// clubs took in (the entries' totals have the opposite sign).
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReportRow {
    pub club: String,
    pub counter: String,
    /// deposit, withdrawal, sale, refund or card_fee.
    pub kind: String,
    pub count: i64,
    /// Signed, as the entries change balances (sales are negative).
    pub total: Money,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// The cursor from the last answer; 0 for everything.
    #[serde(default)]
    pub since: i64,
    /// At most this many accounts (1 to 1000, default 500).
    pub limit: Option<i64>,
}
