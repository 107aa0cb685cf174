//! The sync contract between a counter and the ledger, as JSON types that
//! both sides use. See ARCHITECTURE.md, "The contracts".
//!
//! - `POST /api/v1/kiosk/entries` with [`PushBatch`]: the counter's sales
//!   and refunds, idempotent by entry id. The answer, [`PushResult`], has
//!   one [`Pushed`] per entry, in order: a repeat returns the first result.
//! - `GET /api/v1/kiosk/changes?since=CURSOR&limit=N`: [`Changes`] since
//!   a cursor, so the counter can authorize offline. Cursor 0 is "all".
//! - `POST /api/v1/kiosk/cards` with [`CardAction`]: staff at the counter
//!   hand out, block or unblock a card.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Card, CardUid, Child, ChildId, Entry, Money};

/// Most entries in one push; a longer outbox goes in several.
pub const MAX_BATCH: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushBatch {
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResult {
    pub results: Vec<Pushed>,
}

/// What the ledger did with one entry. A sale from an authenticated
/// counter is always recorded; what the office must look at is flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pushed {
    pub id: Uuid,
    /// `false`: this id was recorded before; nothing changed now.
    pub new: bool,
    pub flags: Vec<Flag>,
    /// The child's balance at the ledger after this entry.
    pub balance: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Overdraft,
    CardBlocked,
    DailyLimitExceeded,
    CategoryBlocked,
    UnknownCard,
    /// A counter's refund of more than is left of the sale: given back
    /// offline after the office had refunded it, say.
    RefundExceedsSale,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Changes {
    /// Pass this as `since` next time.
    pub cursor: i64,
    /// `true`: there is more; pull again at once.
    pub more: bool,
    pub accounts: Vec<AccountState>,
}

/// A child as the counter needs it, whole: applying it twice is harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountState {
    pub child: Child,
    pub balance: Money,
    pub cards: Vec<Card>,
    /// When the ledger last changed this account.
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum CardAction {
    HandOut {
        uid: CardUid,
        child: ChildId,
    },
    Block {
        uid: CardUid,
    },
    /// A blocked card found again: it pays once more.
    Unblock {
        uid: CardUid,
    },
}

/// The body of every 4xx and 5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// Stable, for programs: "invalid_body", "unauthorized", "forbidden",
    /// "not_found", "conflict", …
    pub error: String,
    /// For people: what is wrong, naming the field where there is one.
    pub message: String,
}
