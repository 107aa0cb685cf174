//! Every query of the ledger, by concern. Every change of money is an
//! entry written in the same transaction as the child's balance, with the
//! child's row locked (`SELECT … FOR UPDATE`), so many counters and
//! offices can work at once; and every change to a child's entries or
//! cards gives the child a new change number ([`children::bump_changes`]).
//!
//! Rows are read into `sqlx::FromRow` structs, through [`Amount`] and
//! [`ChildKey`] for the domain's money and ids; a row whose shape is not
//! the domain's (an entry's kind, a card's UID) has a struct of its own,
//! turned into the domain's type here. Failures are [`DbError`]s,
//! which say what went wrong with the books, not which HTTP status that
//! is: `crate::error` and the portal decide that.
//!
//! - [`children`]: enrolment (one child or a whole import), a child's detail and settings, moving it to
//!   another club, change numbers
//! - [`clubs`]: clubs, and the [`Scope`] of what office staff may see
//!   ([`clubs::in_scope`], the one check)
//! - [`office_log`]: who changed what ([`office_log::write`], in the
//!   change's own transaction)
//! - [`entries`]: deposits and withdrawals, the entry columns
//! - [`flags`]: counters' flags as the office lists and handles them
//! - [`push`]: the statements of a counter's push
//! - [`cards`]: cards and card orders
//! - [`reports`], [`changes`]: the office's totals, the counters' pull
//! - [`tokens`], [`people`]: bearer tokens; portal logins, people, sessions
//! - [`leaving`]: a child leaving: payout, cards blocked, account closed
//! - [`payers`]: a child's payers (name, e-mail), each linked to the
//!   person who typed their letter's code ([`activation`])
//! - [`payments`]: top-ups and payout requests
//! - [`auto_topup`]: saved cards, "below Y top up X", and the falls that
//!   start an automatic payment
//! - [`portal`]: what the parents' and the office's pages read

pub mod activation;
pub mod auto_topup;
pub mod cards;
pub mod changes;
pub mod children;
pub mod clubs;
pub mod entries;
pub mod flags;
pub mod leaving;
pub mod mail;
pub mod office_log;
pub mod payers;
pub mod payments;
pub mod people;
pub mod portal;
pub mod push;
pub mod reports;
pub mod tokens;

use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use klubkasse_core::domain::{CardState, CardUid, ChildId, Money};

/// One page of a list: at most `rows` rows after the first `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: i64,
    pub rows: i64,
}

impl Window {
    /// Page `page` (the first is 1) of `rows` rows each.
    pub fn page(page: i64, rows: i64) -> Window {
        Window {
            offset: (page.max(1) - 1).saturating_mul(rows),
            rows,
        }
    }

    /// All rows at once (the command line's lists).
    pub fn everything() -> Window {
        Window {
            offset: 0,
            rows: i64::MAX - 1,
        }
    }

    /// What a query asks for: one row more than the page holds, to know
    /// whether another page follows.
    fn limit(self) -> i64 {
        self.rows + 1
    }

    /// The page's rows of those fetched with [`Window::limit`], and
    /// whether more follow.
    fn cut<T>(self, mut rows: Vec<T>) -> Paged<T> {
        let more = rows.len() as i64 > self.rows;
        rows.truncate(self.rows.max(0) as usize);
        Paged { rows, more }
    }
}

/// A page of a list, and whether more follow.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub rows: Vec<T>,
    pub more: bool,
}

pub use cards::{
    NewOrder, block_card, card_action, card_owner, hand_out, order_card, set_order_status,
};
pub use changes::changes;
pub use children::{
    ChildSearch, Enrolment, detail, enrol, enrol_all, list_children, move_child, rename_child,
    search_children, update_settings,
};
pub use clubs::{Scope, child_in_scope, in_scope};
pub use entries::{
    Adjustment, Movement, Refund, RefundableSale, adjust, flag_name, history, money_entry,
    money_entry_in, refund_sale, refundable_sales, sum_of_entries,
};
pub use office_log::Actor;
pub use reports::report;

/// Why a query did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// What the request names is not in the books.
    #[error("{0}")]
    NotFound(String),
    /// The request is well formed but the state of the books forbids it;
    /// `code` says why, for machines.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// An entry the books cannot take (a counter's push): nothing written.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

impl DbError {
    pub(crate) fn not_found(message: impl Into<String>) -> DbError {
        DbError::NotFound(message.into())
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> DbError {
        DbError::Conflict {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn refused(message: impl Into<String>) -> DbError {
        DbError::Refused {
            code: "invalid_value",
            message: message.into(),
        }
    }
}

/// A `numeric(12,2)` column, for a row's `Money` field:
/// `#[sqlx(try_from = "Amount")]`.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct Amount(Decimal);

impl From<Amount> for Money {
    fn from(amount: Amount) -> Money {
        money(amount.0)
    }
}

/// A child's id column, for a row's `ChildId` field:
/// `#[sqlx(try_from = "ChildKey")]`.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct ChildKey(Uuid);

impl From<ChildKey> for ChildId {
    fn from(key: ChildKey) -> ChildId {
        ChildId(key.0)
    }
}

pub(crate) fn money(value: Decimal) -> Money {
    // numeric(12,2) has two decimals, so this is exact øre, and at most
    // 10^12 øre, so it always fits an i64: the fallback cannot happen.
    let ore = (value * Decimal::ONE_HUNDRED).trunc();
    Money::from_ore(i64::try_from(ore).unwrap_or(i64::MAX))
}

fn decode<E: std::error::Error + Send + Sync + 'static>(error: E) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(error))
}

fn uid_of(text: &str) -> Result<CardUid, sqlx::Error> {
    CardUid::parse(text).map_err(decode)
}

fn state_of(text: &str) -> CardState {
    if text == "active" {
        CardState::Active
    } else {
        CardState::Blocked
    }
}

/// Whether the database answers (the health check).
pub async fn ping(pool: &PgPool) -> Result<()> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}

/// Why a time zone cannot be the clubs'.
#[derive(Debug, thiserror::Error)]
pub enum TimeZoneError {
    #[error("PostgreSQL does not know it: {0}")]
    Unknown(sqlx::Error),
    /// Reports add up sums per UTC hour (`report_hours`): a zone half an
    /// hour off would put the sales of half an hour in the wrong day.
    #[error("its offset from UTC is not a whole number of hours at all times since 2000")]
    NotWholeHours,
}

/// Checks that PostgreSQL knows this time zone and that its offset from
/// UTC has been and will be whole hours (weekly from 2000 to 2050, which
/// catches every change of summer time and of a zone's rules).
pub async fn check_time_zone(pool: &PgPool, time_zone: &str) -> Result<(), TimeZoneError> {
    let off: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM generate_series(timestamptz '2000-01-01 00:00Z',
                                              timestamptz '2050-01-01 00:00Z', interval '7 days') t
         WHERE extract(epoch FROM (t AT TIME ZONE $1) - (t AT TIME ZONE 'UTC'))::bigint % 3600 <> 0",
    )
    .bind(time_zone)
    .fetch_one(pool)
    .await
    .map_err(TimeZoneError::Unknown)?;
    if off > 0 {
        return Err(TimeZoneError::NotWholeHours);
    }
    Ok(())
}

/// Whether every migration of `migrator` has been applied (the ledger
/// refuses to serve on an older schema). No migrations table: none applied.
pub async fn schema_is_current(pool: &PgPool, migrator: &sqlx::migrate::Migrator) -> bool {
    let wanted = migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
        .count() as i64;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(pool)
        .await
        .unwrap_or(0);
    applied >= wanted
}
