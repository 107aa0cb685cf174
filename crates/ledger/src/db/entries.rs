//! Entries: the office's and parents' deposits and withdrawals, a child's
//! history, and how an entry's kind is stored.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;
// Dynamic SQL here only splices the column-list constants, never input.
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use super::children::{Locked, bump_change, lock_child, no_child};
use super::office_log::{self, Action, Actor, Change};
use super::{DbError, Result, decode, money, uid_of};
use crate::Settings;
use crate::api::EntryRecord;
use klubkasse_core::domain::{ChildId, Entry, EntryKind, Money, SaleLine};
use klubkasse_core::protocol::Flag;

/// Every flag a counter's push can set, in the order lists show them.
pub const FLAGS: [Flag; 5] = [
    Flag::Overdraft,
    Flag::CardBlocked,
    Flag::DailyLimitExceeded,
    Flag::CategoryBlocked,
    Flag::UnknownCard,
];

pub fn flag_name(flag: Flag) -> &'static str {
    match flag {
        Flag::Overdraft => "overdraft",
        Flag::CardBlocked => "card_blocked",
        Flag::DailyLimitExceeded => "daily_limit_exceeded",
        Flag::CategoryBlocked => "category_blocked",
        Flag::UnknownCard => "unknown_card",
    }
}

/// The flags stored as names; a name this build does not know is dropped.
pub(super) fn flags_of(names: &[String]) -> Vec<Flag> {
    names
        .iter()
        .filter_map(|name| FLAGS.into_iter().find(|f| flag_name(*f) == name))
        .collect()
}

const ENTRY_COLUMNS: &str = "id, child_id, kind, amount, at, counter, card_uid, refund_of, \
     lines::text AS lines, flags, balance_after, recorded_at";

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: Uuid,
    child_id: Uuid,
    kind: String,
    amount: Decimal,
    at: DateTime<Utc>,
    counter: String,
    card_uid: Option<String>,
    refund_of: Option<Uuid>,
    lines: Option<String>,
    flags: Vec<String>,
    balance_after: Decimal,
    recorded_at: DateTime<Utc>,
}

impl TryFrom<EntryRow> for EntryRecord {
    type Error = sqlx::Error;

    fn try_from(row: EntryRow) -> Result<EntryRecord, sqlx::Error> {
        let kind = match row.kind.as_str() {
            "deposit" => EntryKind::Deposit,
            "withdrawal" => EntryKind::Withdrawal,
            "sale" => {
                let lines: Vec<SaleLine> = match row.lines {
                    Some(text) => serde_json::from_str(&text).map_err(decode)?,
                    None => Vec::new(),
                };
                EntryKind::Sale {
                    card: row.card_uid.as_deref().map(uid_of).transpose()?,
                    lines,
                }
            }
            "refund" => EntryKind::Refund {
                sale: row.refund_of.unwrap_or_default(),
            },
            _ => EntryKind::CardFee,
        };
        Ok(EntryRecord {
            entry: Entry {
                id: row.id,
                child: ChildId(row.child_id),
                at: row.at,
                amount: money(row.amount),
                kind,
                counter: row.counter,
            },
            flags: flags_of(&row.flags),
            balance_after: money(row.balance_after),
            recorded_at: row.recorded_at,
        })
    }
}

async fn find_entry(conn: &mut PgConnection, id: Uuid) -> Result<Option<EntryRecord>> {
    let row: Option<EntryRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM entries WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(TryInto::try_into).transpose()?)
}

/// Every entry of a child, oldest first.
pub async fn history(pool: &PgPool, id: ChildId) -> Result<Vec<EntryRecord>> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM children WHERE id = $1)")
        .bind(id.0)
        .fetch_one(pool)
        .await?;
    if !exists {
        return Err(no_child(id));
    }
    let rows: Vec<EntryRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM entries WHERE child_id = $1 ORDER BY at, id"
    )))
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(TryInto::try_into)
        .collect::<Result<_, _>>()?)
}

/// The balance of a child as the sum of its entries, for checks.
pub async fn sum_of_entries(pool: &PgPool, child: ChildId) -> Result<Money> {
    let sum: Option<Decimal> =
        sqlx::query_scalar("SELECT sum(amount) FROM entries WHERE child_id = $1")
            .bind(child.0)
            .fetch_one(pool)
            .await?;
    Ok(sum.map(money).unwrap_or(Money::ZERO))
}

/// The columns an entry's kind fills: the card and the lines (JSON) of a
/// sale, the sale a refund gives back.
pub(crate) struct KindColumns {
    pub(super) card: Option<String>,
    pub(super) refund_of: Option<Uuid>,
    pub(super) lines: Option<String>,
}

pub(crate) fn kind_columns(kind: &EntryKind) -> Result<KindColumns, sqlx::Error> {
    let (card, refund_of, lines) = match kind {
        EntryKind::Sale { card, lines } => (
            card.as_ref().map(|c| c.as_str().to_string()),
            None,
            Some(serde_json::to_string(lines).map_err(decode)?),
        ),
        EntryKind::Refund { sale } => (None, Some(*sale), None),
        _ => (None, None, None),
    };
    Ok(KindColumns {
        card,
        refund_of,
        lines,
    })
}

/// Writes an entry for a locked child and moves the balance with it.
/// False: an entry with this id exists already; nothing was written.
pub(super) async fn insert_entry(
    conn: &mut PgConnection,
    child: &mut Locked,
    entry: &Entry,
) -> Result<bool> {
    let after = child.balance + entry.amount;
    let KindColumns {
        card,
        refund_of,
        lines,
    } = kind_columns(&entry.kind)?;
    let inserted = sqlx::query(
        "INSERT INTO entries (id, child_id, kind, amount, at, counter, club, card_uid,
                              refund_of, lines, balance_after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(entry.id)
    .bind(child.id.0)
    .bind(entry.kind.label())
    .bind(entry.amount.decimal())
    .bind(entry.at)
    .bind(&entry.counter)
    .bind(&child.club)
    .bind(card)
    .bind(refund_of)
    .bind(lines)
    .bind(after.decimal())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        sqlx::query("UPDATE children SET balance = $2 WHERE id = $1")
            .bind(child.id.0)
            .bind(after.decimal())
            .execute(&mut *conn)
            .await?;
        child.balance = after;
    }
    Ok(inserted)
}

/// Money onto or off a card, by the office or a parent.
#[derive(Debug, Clone, Copy)]
pub struct Movement<'a> {
    /// True for a deposit, false for a withdrawal.
    pub deposit: bool,
    pub amount: Money,
    /// The caller's id for the entry: the same id moves the money once.
    pub id: Option<Uuid>,
    /// What the entry names as its counter ("office", "parent").
    pub counter: &'a str,
}

/// A deposit or withdrawal from the office or a parent, in the office log.
/// Returns the entry and whether it is new (false: the id was used before).
pub async fn money_entry(
    pool: &PgPool,
    settings: &Settings,
    actor: &Actor,
    child: ChildId,
    movement: Movement<'_>,
) -> Result<(EntryRecord, bool)> {
    let Movement {
        deposit,
        amount,
        id,
        counter,
    } = movement;
    let mut tx = pool.begin().await?;
    let cap = Some(settings.balance_cap);
    let made = money_entry_in(&mut tx, cap, child, deposit, amount, id, counter).await?;
    let (record, new) = &made;
    if *new {
        let action = if deposit {
            Action::MoneyDeposit
        } else {
            Action::MoneyWithdrawal
        };
        let before = record.balance_after - record.entry.amount;
        let change = Change::child(action, child)
            .before(json!({ "balance": before }))
            .after(json!({
                "entry": record.entry.id, "amount": record.entry.amount,
                "balance": record.balance_after,
            }));
        office_log::write(&mut tx, actor, change).await?;
    }
    tx.commit().await?;
    Ok(made)
}

/// [`money_entry`] inside the caller's transaction, for what must be
/// written with it (a parent's payout request). `cap`: no deposit takes
/// the balance above it; None for money already taken from a parent (a
/// paid top-up, checked against the cap when it started).
pub async fn money_entry_in(
    tx: &mut PgConnection,
    cap: Option<Money>,
    child: ChildId,
    deposit: bool,
    amount: Money,
    id: Option<Uuid>,
    counter: &str,
) -> Result<(EntryRecord, bool)> {
    let tx = &mut *tx;
    let mut locked = lock_child(tx, child).await?;
    // A closed account takes back only money that was the child's already
    // (a rejected payout, a top-up paid before it closed: no cap), so no
    // money is lost; nothing else.
    if !(deposit && cap.is_none()) {
        locked.open()?;
    }
    if let Some(id) = id
        && let Some(existing) = find_entry(tx, id).await?
    {
        // A repeated client id must name the same child, or it is another request.
        if existing.entry.child != child {
            return Err(DbError::conflict(
                "id_in_use",
                "this id is already used for another entry",
            ));
        }
        return Ok((existing, false));
    }
    let signed = if deposit {
        if let Some(cap) = cap
            && locked.balance + amount > cap
        {
            return Err(DbError::conflict(
                "balance_cap",
                format!(
                    "a deposit of {} would take the balance to {}, above the cap of {}; \
                     at most {} can be deposited now",
                    amount.to_plain_string(),
                    (locked.balance + amount).to_plain_string(),
                    cap.to_plain_string(),
                    (cap - locked.balance).max(Money::ZERO).to_plain_string()
                ),
            ));
        }
        amount
    } else {
        if amount > locked.balance {
            return Err(DbError::conflict(
                "insufficient_funds",
                format!(
                    "cannot withdraw {}: the balance is {}",
                    amount.to_plain_string(),
                    locked.balance.max(Money::ZERO).to_plain_string()
                ),
            ));
        }
        -amount
    };
    let kind = if deposit {
        EntryKind::Deposit
    } else {
        EntryKind::Withdrawal
    };
    let mut entry = Entry::new(child, kind, signed, counter, Utc::now());
    if let Some(id) = id {
        entry.id = id;
    }
    insert_entry(tx, &mut locked, &entry).await?;
    bump_change(tx, child).await?;
    let record = find_entry(tx, entry.id)
        .await?
        .ok_or_else(|| DbError::not_found("the entry vanished"))?;
    Ok((record, true))
}
