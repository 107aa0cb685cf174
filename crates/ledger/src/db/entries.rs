//! Entries: the office's and parents' deposits and withdrawals, the
//! office's corrections (a sale refunded, an adjustment), a child's
//! history, and how an entry's kind is stored.

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;
// Dynamic SQL here only splices the column-list constants, never input.
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use super::children::{Locked, bump_change, lock_child, no_child};
use super::office_log::{self, Action, Actor, Change};
use super::{Amount, DbError, Result, decode, money, uid_of};
use crate::Settings;
use crate::api::EntryRecord;
use klubkasse_core::domain::{ChildId, Entry, EntryKind, Money, SaleLine};
use klubkasse_core::protocol::Flag;

/// Every flag a counter's push can set, in the order lists show them.
pub const FLAGS: [Flag; 6] = [
    Flag::Overdraft,
    Flag::CardBlocked,
    Flag::DailyLimitExceeded,
    Flag::CategoryBlocked,
    Flag::UnknownCard,
    Flag::RefundExceedsSale,
];

pub fn flag_name(flag: Flag) -> &'static str {
    match flag {
        Flag::Overdraft => "overdraft",
        Flag::CardBlocked => "card_blocked",
        Flag::DailyLimitExceeded => "daily_limit_exceeded",
        Flag::CategoryBlocked => "category_blocked",
        Flag::UnknownCard => "unknown_card",
        Flag::RefundExceedsSale => "refund_exceeds_sale",
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
     lines::text AS lines, flags, balance_after, recorded_at, receipt, reason";

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
    receipt: Option<String>,
    reason: Option<String>,
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
            "adjustment" => EntryKind::Adjustment,
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
            receipt: row.receipt,
            reason: row.reason,
        })
    }
}

pub(super) async fn find_entry(conn: &mut PgConnection, id: Uuid) -> Result<Option<EntryRecord>> {
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

/// What the office writes with an entry: the paper receipt of cash at
/// the office, the reason of a correction.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Notes<'a> {
    pub(super) receipt: Option<&'a str>,
    pub(super) reason: Option<&'a str>,
}

/// Writes an entry for a locked child and moves the balance with it.
/// False: an entry with this id exists already; nothing was written.
pub(super) async fn insert_entry(
    conn: &mut PgConnection,
    child: &mut Locked,
    entry: &Entry,
    notes: Notes<'_>,
) -> Result<bool> {
    let after = child.balance + entry.amount;
    let KindColumns {
        card,
        refund_of,
        lines,
    } = kind_columns(&entry.kind)?;
    let inserted = sqlx::query(
        "INSERT INTO entries (id, child_id, kind, amount, at, counter, club, card_uid,
                              refund_of, lines, balance_after, receipt, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13)
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
    .bind(notes.receipt)
    .bind(notes.reason)
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
    /// The office's paper receipt for cash at the office (validated).
    pub receipt: Option<&'a str>,
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
    let mut tx = pool.begin().await?;
    let cap = Some(settings.balance_cap);
    let made = money_entry_in(&mut tx, cap, child, movement).await?;
    let (record, new) = &made;
    if *new {
        let action = if movement.deposit {
            Action::MoneyDeposit
        } else {
            Action::MoneyWithdrawal
        };
        let before = record.balance_after - record.entry.amount;
        let mut after = json!({
            "entry": record.entry.id, "amount": record.entry.amount,
            "balance": record.balance_after,
        });
        // Only cash at the office has a receipt to name.
        if let Some(receipt) = &record.receipt {
            after["receipt"] = json!(receipt);
        }
        let change = Change::child(action, child)
            .before(json!({ "balance": before }))
            .after(after);
        office_log::write(&mut tx, actor, change).await?;
        if !movement.deposit {
            let fall = super::auto_topup::Fall {
                child,
                before,
                after: record.balance_after,
                entry: record.entry.id,
            };
            Box::pin(super::auto_topup::queue_fall(&mut tx, settings, fall)).await?;
        }
    }
    tx.commit().await?;
    Ok(made)
}

/// What a balance may become: never below zero, and a rise never above
/// the cap (`None`: no cap, for money already taken from a parent). A
/// fall may leave a balance above a cap lowered since.
pub fn check_balance(balance: Money, signed: Money, cap: Option<Money>) -> Result<()> {
    let after = balance + signed;
    if after.is_negative() {
        return Err(DbError::conflict(
            "insufficient_funds",
            format!(
                "cannot take {} off: the balance is {}",
                (-signed).to_plain_string(),
                balance.max(Money::ZERO).to_plain_string()
            ),
        ));
    }
    if let Some(cap) = cap
        && signed.is_positive()
        && after > cap
    {
        return Err(DbError::conflict(
            "balance_cap",
            format!(
                "{} more would take the balance to {}, above the cap of {}; \
                 at most {} can be put on now",
                signed.to_plain_string(),
                after.to_plain_string(),
                cap.to_plain_string(),
                (cap - balance).max(Money::ZERO).to_plain_string()
            ),
        ));
    }
    Ok(())
}

/// What a request with a caller's id asks for, to tell a repeat (the
/// same again: answered with the first entry) from another request that
/// reuses the id (refused, `id_in_use`).
#[derive(Debug, Clone, Copy)]
struct Asked<'a> {
    id: Option<Uuid>,
    child: ChildId,
    kind: &'a EntryKind,
    /// Signed, as the entry moves the balance; None: whatever it came to
    /// (a refund of all that was left).
    amount: Option<Money>,
}

/// The entry a repeated id made before, if it was made by the same
/// request: this child, this kind, this amount. Any other is another
/// request, and the id is taken.
async fn repeated(conn: &mut PgConnection, asked: Asked<'_>) -> Result<Option<EntryRecord>> {
    let Some(id) = asked.id else { return Ok(None) };
    let Some(existing) = find_entry(conn, id).await? else {
        // A card order's id names that order, not this entry.
        return match super::cards::is_order(conn, id).await? {
            true => Err(id_in_use()),
            false => Ok(None),
        };
    };
    let same = existing.entry.child == asked.child
        && existing.entry.kind == *asked.kind
        && asked.amount.is_none_or(|a| a == existing.entry.amount);
    if !same {
        return Err(id_in_use());
    }
    Ok(Some(existing))
}

/// An id a caller chose that an earlier, different request has: nothing
/// is done.
pub(super) fn id_in_use() -> DbError {
    DbError::conflict(
        "id_in_use",
        "this id is already used for another request; nothing was done",
    )
}

/// [`money_entry`] inside the caller's transaction, for what must be
/// written with it (a parent's payout request). `cap`: no deposit takes
/// the balance above it; None for money already taken from a parent (a
/// paid top-up, checked against the cap when it started).
pub async fn money_entry_in(
    tx: &mut PgConnection,
    cap: Option<Money>,
    child: ChildId,
    movement: Movement<'_>,
) -> Result<(EntryRecord, bool)> {
    let tx = &mut *tx;
    let Movement {
        deposit,
        amount,
        id,
        counter,
        receipt,
    } = movement;
    let kind = if deposit {
        EntryKind::Deposit
    } else {
        EntryKind::Withdrawal
    };
    let signed = if deposit { amount } else { -amount };
    let mut locked = lock_child(tx, child).await?;
    let asked = Asked {
        id,
        child,
        kind: &kind,
        amount: Some(signed),
    };
    if let Some(existing) = repeated(tx, asked).await? {
        return Ok((existing, false));
    }
    // A closed account takes back only money that was the child's already
    // (a rejected payout, a top-up paid before it closed: no cap), so no
    // money is lost, and gives out only all that is on it (that money's
    // payout); nothing else.
    let takes_back = deposit && cap.is_none();
    let pays_out_all = !deposit && amount == locked.balance;
    if !(takes_back || pays_out_all) {
        locked.open()?;
    }
    check_balance(locked.balance, signed, cap)?;
    let mut entry = Entry::new(child, kind, signed, counter, Utc::now());
    if let Some(id) = id {
        entry.id = id;
    }
    let notes = Notes {
        receipt,
        reason: None,
    };
    write_entry(tx, &mut locked, &entry, notes).await
}

/// Inserts a checked entry for a locked child, tells the counters, and
/// reads the entry back as recorded.
async fn write_entry(
    tx: &mut PgConnection,
    locked: &mut Locked,
    entry: &Entry,
    notes: Notes<'_>,
) -> Result<(EntryRecord, bool)> {
    insert_entry(tx, locked, entry, notes).await?;
    bump_change(tx, entry.child).await?;
    let record = find_entry(tx, entry.id)
        .await?
        .ok_or_else(|| DbError::not_found("the entry vanished"))?;
    Ok((record, true))
}

/// The office refunds (what is left of) a counter's sale.
#[derive(Debug, Clone, Copy)]
pub struct Refund<'a> {
    /// The form's one-time id, the refund entry's: sent twice, one refund.
    pub id: Uuid,
    pub sale: Uuid,
    /// None: everything not refunded yet.
    pub amount: Option<Money>,
    /// Why (validated, required).
    pub reason: &'a str,
}

/// Refunds a sale of this child, never more than was paid for it in all
/// (the counters' refunds count too), in the office log with the
/// balance before and after. The child's row is locked first, as for
/// every entry of the child, so two refunds of one sale never both pass.
pub async fn refund_sale(
    pool: &PgPool,
    actor: &Actor,
    child: ChildId,
    refund: Refund<'_>,
) -> Result<(EntryRecord, bool)> {
    let mut tx = pool.begin().await?;
    let mut locked = lock_child(&mut tx, child).await?;
    let asked = Asked {
        id: Some(refund.id),
        child,
        kind: &EntryKind::Refund { sale: refund.sale },
        amount: refund.amount,
    };
    if let Some(existing) = repeated(&mut tx, asked).await? {
        return Ok((existing, false));
    }
    // The child has left: its account takes no correction either.
    locked.open()?;
    let sale: Option<(Decimal, Decimal, String)> = sqlx::query_as(
        "SELECT -s.amount, coalesce((SELECT sum(r.amount) FROM entries r
                                     WHERE r.refund_of = s.id AND r.kind = 'refund'), 0), s.club
         FROM entries s WHERE s.id = $1 AND s.child_id = $2 AND s.kind = 'sale'",
    )
    .bind(refund.sale)
    .bind(child.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((paid, refunded, sold_in)) = sale else {
        return Err(DbError::conflict(
            "unknown_sale",
            "no such sale of this child",
        ));
    };
    // The refund counts in the club that sold, also after the child has
    // moved: that club's sales come out right.
    locked.club = sold_in;
    let (paid, refunded) = (money(paid), money(refunded));
    let amount = refundable(paid, refunded, refund.amount)?;
    let mut entry = Entry::new(
        child,
        EntryKind::Refund { sale: refund.sale },
        amount,
        "office",
        Utc::now(),
    );
    entry.id = refund.id;
    let before = locked.balance;
    let notes = Notes {
        receipt: None,
        reason: Some(refund.reason),
    };
    let made = write_entry(&mut tx, &mut locked, &entry, notes).await?;
    let change = Change::child(Action::CorrectionRefund, child)
        .before(json!({ "balance": before, "refunded": refunded }))
        .after(json!({
            "entry": entry.id, "sale": refund.sale, "amount": amount,
            "balance": made.0.balance_after, "reason": refund.reason,
        }));
    office_log::write(&mut tx, actor, change).await?;
    tx.commit().await?;
    Ok(made)
}

/// What a refund of a sale `paid` with `refunded` given back already may
/// give: `asked`, or all that is left; never more than is left, never
/// nothing.
pub fn refundable(paid: Money, refunded: Money, asked: Option<Money>) -> Result<Money> {
    let left = paid - refunded;
    if !left.is_positive() {
        return Err(DbError::conflict(
            "already_refunded",
            "this sale is refunded already",
        ));
    }
    match asked {
        Some(asked) if !asked.is_positive() => {
            Err(DbError::refused("a refund's amount must be more than 0.00"))
        }
        Some(asked) if asked > left => Err(DbError::conflict(
            "refund_too_large",
            format!(
                "the sale was {}, {} is refunded already: at most {} is left",
                paid.to_plain_string(),
                refunded.to_plain_string(),
                left.to_plain_string()
            ),
        )),
        Some(asked) => Ok(asked),
        None => Ok(left),
    }
}

/// An adjustment by the office: a signed amount with a reason, never
/// taking the balance below zero or a rise above the cap.
#[derive(Debug, Clone, Copy)]
pub struct Adjustment<'a> {
    /// The form's one-time id, the entry's.
    pub id: Uuid,
    /// Not zero: plus puts money on, minus takes it off.
    pub amount: Money,
    pub reason: &'a str,
}

pub async fn adjust(
    pool: &PgPool,
    settings: &Settings,
    actor: &Actor,
    child: ChildId,
    adjustment: Adjustment<'_>,
) -> Result<(EntryRecord, bool)> {
    if adjustment.amount == Money::ZERO {
        return Err(DbError::refused("an adjustment's amount must not be 0.00"));
    }
    let mut tx = pool.begin().await?;
    let mut locked = lock_child(&mut tx, child).await?;
    let asked = Asked {
        id: Some(adjustment.id),
        child,
        kind: &EntryKind::Adjustment,
        amount: Some(adjustment.amount),
    };
    if let Some(existing) = repeated(&mut tx, asked).await? {
        return Ok((existing, false));
    }
    // The child has left: its account takes no correction either.
    locked.open()?;
    check_balance(
        locked.balance,
        adjustment.amount,
        Some(settings.balance_cap),
    )?;
    let mut entry = Entry::new(
        child,
        EntryKind::Adjustment,
        adjustment.amount,
        "office",
        Utc::now(),
    );
    entry.id = adjustment.id;
    let before = locked.balance;
    let notes = Notes {
        receipt: None,
        reason: Some(adjustment.reason),
    };
    let made = write_entry(&mut tx, &mut locked, &entry, notes).await?;
    let change = Change::child(Action::CorrectionAdjustment, child)
        .before(json!({ "balance": before }))
        .after(json!({
            "entry": entry.id, "amount": adjustment.amount,
            "balance": made.0.balance_after, "reason": adjustment.reason,
        }));
    office_log::write(&mut tx, actor, change).await?;
    tx.commit().await?;
    Ok(made)
}

/// A sale the office may still refund, in the clubs' local time.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundableSale {
    pub id: Uuid,
    pub local_at: NaiveDateTime,
    #[sqlx(try_from = "Amount")]
    pub paid: Money,
    #[sqlx(try_from = "Amount")]
    pub left: Money,
    pub lines: Option<String>,
}

impl RefundableSale {
    /// What was bought: "2 × Toast, 1 × Saft".
    pub fn items(&self) -> String {
        let lines: Vec<SaleLine> = self
            .lines
            .as_deref()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or_default();
        lines
            .iter()
            .map(|l| format!("{} × {}", l.quantity, l.name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The child's newest sales with something left to refund, newest first.
pub async fn refundable_sales(
    pool: &PgPool,
    time_zone: &str,
    child: ChildId,
    limit: i64,
) -> Result<Vec<RefundableSale>> {
    Ok(sqlx::query_as(
        // Each sale's refunds by key (LATERAL): a join over all refunds
        // walked the refunds index from its start (70 ms at 10M entries).
        "SELECT s.id, s.at AT TIME ZONE $2 AS local_at, -s.amount AS paid,
                -s.amount - coalesce(r.refunded, 0) AS left, s.lines::text AS lines
         FROM entries s
              LEFT JOIN LATERAL (SELECT sum(amount) AS refunded FROM entries
                                 WHERE refund_of = s.id AND kind = 'refund') r ON true
         WHERE s.child_id = $1 AND s.kind = 'sale' AND -s.amount - coalesce(r.refunded, 0) > 0
         ORDER BY s.at DESC, s.id DESC LIMIT $3",
    )
    .bind(child.0)
    .bind(time_zone)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kr(kroner: i64) -> Money {
        Money::kroner(kroner)
    }

    fn code(result: Result<impl std::fmt::Debug>) -> &'static str {
        match result {
            Err(DbError::Conflict { code, .. } | DbError::Refused { code, .. }) => code,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_balance_never_goes_below_zero_nor_a_rise_above_the_cap() {
        let cap = Some(kr(500));
        assert!(check_balance(kr(10), kr(-10), cap).is_ok());
        assert_eq!(
            code(check_balance(kr(10), kr(-11), cap)),
            "insufficient_funds"
        );
        assert!(check_balance(kr(400), kr(100), cap).is_ok());
        assert_eq!(code(check_balance(kr(400), kr(101), cap)), "balance_cap");
        assert!(check_balance(kr(400), kr(101), None).is_ok());
        // A cap lowered since does not keep money from coming off.
        assert!(check_balance(kr(600), kr(-50), cap).is_ok());
    }

    #[test]
    fn a_refund_gives_back_at_most_what_is_left_of_the_sale() {
        assert_eq!(refundable(kr(30), kr(0), None).unwrap(), kr(30));
        assert_eq!(refundable(kr(30), kr(10), None).unwrap(), kr(20));
        assert_eq!(refundable(kr(30), kr(10), Some(kr(20))).unwrap(), kr(20));
        assert_eq!(
            code(refundable(kr(30), kr(10), Some(kr(21)))),
            "refund_too_large"
        );
        assert_eq!(code(refundable(kr(30), kr(30), None)), "already_refunded");
        assert_eq!(
            code(refundable(kr(30), kr(0), Some(kr(0)))),
            "invalid_value"
        );
    }
}
