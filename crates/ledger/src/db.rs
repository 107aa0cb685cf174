//! The ledger's queries. Every change of money is an entry written in the
//! same transaction as the child's balance, with the child's row locked
//! (`SELECT … FOR UPDATE`), so many counters and offices can work at once.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
// Dynamic SQL here only splices the column-list constants above, never input.
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};
use uuid::Uuid;

use super::Settings;
use super::api::{
    CardOrder, ChildDetail, ChildSummary, EntryRecord, OrderStatus, Report, ReportRow,
    SettingsPatch,
};
use super::error::{LedgerError, Result};
use klubkasse_core::domain::{
    Card, CardState, CardUid, Child, ChildId, Entry, EntryKind, Money, SaleLine,
};
use klubkasse_core::protocol::{AccountState, CardAction, Changes, Flag};

pub(super) fn money(value: Decimal) -> Money {
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

pub(super) fn state_of(text: &str) -> CardState {
    if text == "active" {
        CardState::Active
    } else {
        CardState::Blocked
    }
}

pub fn flag_name(flag: Flag) -> &'static str {
    match flag {
        Flag::Overdraft => "overdraft",
        Flag::CardBlocked => "card_blocked",
        Flag::DailyLimitExceeded => "daily_limit_exceeded",
        Flag::CategoryBlocked => "category_blocked",
        Flag::UnknownCard => "unknown_card",
    }
}

pub(super) fn flag_of(text: &str) -> Option<Flag> {
    [
        Flag::Overdraft,
        Flag::CardBlocked,
        Flag::DailyLimitExceeded,
        Flag::CategoryBlocked,
        Flag::UnknownCard,
    ]
    .into_iter()
    .find(|f| flag_name(*f) == text)
}

/// A child's row, locked for the rest of the transaction.
pub(super) struct Locked {
    pub(super) id: ChildId,
    pub(super) club: String,
    pub(super) balance: Money,
    pub(super) daily_limit: Option<Money>,
    pub(super) blocked_categories: Vec<String>,
    pub(super) change_seq: i64,
}

pub(super) fn locked_of(row: &PgRow) -> Result<Locked, sqlx::Error> {
    Ok(Locked {
        id: ChildId(row.try_get("id")?),
        club: row.try_get("club")?,
        balance: money(row.try_get("balance")?),
        daily_limit: row.try_get::<Option<Decimal>, _>("daily_limit")?.map(money),
        blocked_categories: row.try_get("blocked_categories")?,
        change_seq: row.try_get("change_seq")?,
    })
}

pub(super) const LOCK_COLUMNS: &str =
    "id, club, balance, daily_limit, blocked_categories, change_seq";

async fn lock_child(conn: &mut PgConnection, child: ChildId) -> Result<Locked> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {LOCK_COLUMNS} FROM children WHERE id = $1 FOR UPDATE"
    )))
    .bind(child.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| LedgerError::not_found(format!("no child with id {child}")))?;
    Ok(locked_of(&row)?)
}

/// Gives each child a new change number, the highest yet, and the balance
/// given with it (a push: each child's row is written once). The counter
/// row stays locked until commit, so numbers become visible in commit
/// order: every other writer waits from this statement to the commit,
/// so it comes as late as it can.
///
/// Every change to a child's entries or cards comes with this: a push
/// relies on it to know what changed while it waited for the lock.
pub(super) async fn bump_changes(
    conn: &mut PgConnection,
    children: &BTreeMap<ChildId, Option<Money>>,
) -> Result<()> {
    if children.is_empty() {
        return Ok(());
    }
    let (ids, balances): (Vec<Uuid>, Vec<Option<Decimal>>) = children
        .iter()
        .map(|(id, balance)| (id.0, balance.map(Money::decimal)))
        .unzip();
    sqlx::query(
        "WITH top AS (UPDATE change_counter SET value = value + $3 RETURNING value)
         UPDATE children AS c SET change_seq = top.value - $3 + t.ord, changed_at = now(),
                                  balance = coalesce(t.balance, c.balance)
         FROM top, unnest($1::uuid[], $2::numeric[]) WITH ORDINALITY AS t(id, balance, ord)
         WHERE c.id = t.id",
    )
    .bind(&ids)
    .bind(&balances)
    .bind(ids.len() as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const ENTRY_COLUMNS: &str = "id, child_id, kind, amount, at, counter, card_uid, refund_of, \
     lines::text AS lines, flags, balance_after, recorded_at";

fn entry_of(row: &PgRow) -> Result<EntryRecord, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let kind = match kind.as_str() {
        "deposit" => EntryKind::Deposit,
        "withdrawal" => EntryKind::Withdrawal,
        "sale" => {
            let card: Option<String> = row.try_get("card_uid")?;
            let lines: Option<String> = row.try_get("lines")?;
            let lines: Vec<SaleLine> = match lines {
                Some(text) => serde_json::from_str(&text).map_err(decode)?,
                None => Vec::new(),
            };
            EntryKind::Sale {
                card: uid_of(card.as_deref().unwrap_or_default())?,
                lines,
            }
        }
        "refund" => EntryKind::Refund {
            sale: row
                .try_get::<Option<Uuid>, _>("refund_of")?
                .unwrap_or_default(),
        },
        _ => EntryKind::CardFee,
    };
    let flags: Vec<String> = row.try_get("flags")?;
    Ok(EntryRecord {
        entry: Entry {
            id: row.try_get("id")?,
            child: ChildId(row.try_get("child_id")?),
            at: row.try_get("at")?,
            amount: money(row.try_get("amount")?),
            kind,
            counter: row.try_get("counter")?,
        },
        flags: flags.iter().filter_map(|f| flag_of(f)).collect(),
        balance_after: money(row.try_get("balance_after")?),
        recorded_at: row.try_get("recorded_at")?,
    })
}

async fn find_entry(conn: &mut PgConnection, id: Uuid) -> Result<Option<EntryRecord>> {
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM entries WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(entry_of).transpose()?)
}

/// The columns an entry's kind fills: the card and the lines (JSON) of a
/// sale, the sale a refund gives back.
pub(super) struct KindColumns {
    pub(super) card: Option<String>,
    pub(super) refund_of: Option<Uuid>,
    pub(super) lines: Option<String>,
}

pub(super) fn kind_columns(kind: &EntryKind) -> Result<KindColumns, sqlx::Error> {
    let (card, refund_of, lines) = match kind {
        EntryKind::Sale { card, lines } => (
            Some(card.as_str().to_string()),
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
/// `None`: an entry with this id exists already; nothing was written.
async fn insert_entry(conn: &mut PgConnection, child: &mut Locked, entry: &Entry) -> Result<bool> {
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

/// Takes the next change number for a new child.
async fn next_change(conn: &mut PgConnection) -> Result<i64> {
    Ok(
        sqlx::query_scalar("UPDATE change_counter SET value = value + 1 RETURNING value")
            .fetch_one(&mut *conn)
            .await?,
    )
}

pub async fn enrol(pool: &PgPool, name: &str, club: &str) -> Result<ChildDetail> {
    let id = ChildId::new();
    let mut tx = pool.begin().await?;
    let seq = next_change(&mut tx).await?;
    sqlx::query("INSERT INTO children (id, name, club, change_seq) VALUES ($1, $2, $3, $4)")
        .bind(id.0)
        .bind(name)
        .bind(club)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    // The first card is ordered with the enrolment, and it is free.
    sqlx::query(
        "INSERT INTO card_orders (id, child_id, status, address, fee)
         VALUES ($1, $2, 'ordered', NULL, 0)",
    )
    .bind(Uuid::now_v7())
    .bind(id.0)
    .execute(&mut *tx)
    .await?;
    let detail = child_detail(&mut tx, id).await?;
    tx.commit().await?;
    Ok(detail)
}

pub async fn list_children(pool: &PgPool, club: Option<&str>) -> Result<Vec<ChildSummary>> {
    let rows = sqlx::query(
        "SELECT id, name, club, balance FROM children
         WHERE $1::text IS NULL OR club = $1 ORDER BY club, name, id",
    )
    .bind(club)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ChildSummary {
                id: ChildId(row.try_get("id")?),
                name: row.try_get("name")?,
                club: row.try_get("club")?,
                balance: money(row.try_get("balance")?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

fn child_of(row: &PgRow) -> Result<Child, sqlx::Error> {
    Ok(Child {
        id: ChildId(row.try_get("id")?),
        name: row.try_get("name")?,
        daily_limit: row.try_get::<Option<Decimal>, _>("daily_limit")?.map(money),
        blocked_categories: row.try_get("blocked_categories")?,
        note: row.try_get("note")?,
    })
}

fn card_of(row: &PgRow) -> Result<Card, sqlx::Error> {
    Ok(Card {
        uid: uid_of(&row.try_get::<String, _>("uid")?)?,
        child: ChildId(row.try_get("child_id")?),
        state: state_of(&row.try_get::<String, _>("state")?),
    })
}

const ORDER_COLUMNS: &str = "id, child_id, status, address, fee, card_uid, created_at, updated_at";

fn order_of(row: &PgRow) -> Result<CardOrder, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(CardOrder {
        id: row.try_get("id")?,
        child: ChildId(row.try_get("child_id")?),
        status: OrderStatus::parse(&status).unwrap_or(OrderStatus::Ordered),
        address: row.try_get("address")?,
        fee: money(row.try_get("fee")?),
        card: row
            .try_get::<Option<String>, _>("card_uid")?
            .map(|t| uid_of(&t))
            .transpose()?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn child_detail(conn: &mut PgConnection, id: ChildId) -> Result<ChildDetail> {
    let row = sqlx::query(
        "SELECT id, name, club, balance, daily_limit, blocked_categories, note, changed_at
         FROM children WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| LedgerError::not_found(format!("no child with id {id}")))?;
    let cards = sqlx::query(
        "SELECT uid, child_id, state FROM cards WHERE child_id = $1 ORDER BY handed_out_at, uid",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    let orders = sqlx::query(AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM card_orders WHERE child_id = $1 ORDER BY created_at, id"
    )))
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ChildDetail {
        child: child_of(&row)?,
        club: row.try_get("club").map_err(LedgerError::from)?,
        balance: money(row.try_get("balance").map_err(LedgerError::from)?),
        cards: cards.iter().map(card_of).collect::<Result<_, _>>()?,
        orders: orders.iter().map(order_of).collect::<Result<_, _>>()?,
        changed_at: row.try_get("changed_at").map_err(LedgerError::from)?,
    })
}

pub async fn detail(pool: &PgPool, id: ChildId) -> Result<ChildDetail> {
    let mut conn = pool.acquire().await?;
    child_detail(&mut conn, id).await
}

pub async fn history(pool: &PgPool, id: ChildId) -> Result<Vec<EntryRecord>> {
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM children WHERE id = $1)")
        .bind(id.0)
        .fetch_one(pool)
        .await?;
    if !exists {
        return Err(LedgerError::not_found(format!("no child with id {id}")));
    }
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM entries WHERE child_id = $1 ORDER BY at, id"
    )))
    .bind(id.0)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(entry_of).collect::<Result<_, _>>()?)
}

/// A deposit or withdrawal from the office or a parent.
/// Returns the entry and whether it is new (false: the id was used before).
pub async fn money_entry(
    pool: &PgPool,
    settings: &Settings,
    child: ChildId,
    deposit: bool,
    amount: Money,
    id: Option<Uuid>,
    counter: &str,
) -> Result<(EntryRecord, bool)> {
    let mut tx = pool.begin().await?;
    let cap = Some(settings.balance_cap);
    let made = money_entry_in(&mut tx, cap, child, deposit, amount, id, counter).await?;
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
    if let Some(id) = id
        && let Some(existing) = find_entry(tx, id).await?
    {
        // A repeated client id must name the same child, or it is another request.
        if existing.entry.child != child {
            return Err(LedgerError::conflict(
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
            return Err(LedgerError::conflict(
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
            return Err(LedgerError::conflict(
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
    bump_changes(tx, &BTreeMap::from([(child, None)])).await?;
    let record = find_entry(tx, entry.id)
        .await?
        .ok_or_else(|| LedgerError::not_found("the entry vanished"))?;
    Ok((record, true))
}

/// Hands a card out to a child, and closes the child's oldest open order.
pub async fn hand_out(pool: &PgPool, child: ChildId, uid: &CardUid) -> Result<Card> {
    let mut tx = pool.begin().await?;
    lock_child(&mut tx, child).await?;
    let existing = sqlx::query("SELECT uid, child_id, state FROM cards WHERE uid = $1 FOR UPDATE")
        .bind(uid.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = existing {
        let card = card_of(&row)?;
        return match (card.child == child, card.state) {
            // Handing out the same card twice is harmless.
            (true, CardState::Active) => Ok(card),
            (true, CardState::Blocked) => Err(LedgerError::conflict(
                "card_blocked",
                format!("card {uid} is blocked and stays blocked; hand out a new card"),
            )),
            (false, _) => Err(LedgerError::conflict(
                "card_taken",
                format!("card {uid} belongs to another child"),
            )),
        };
    }
    sqlx::query("INSERT INTO cards (uid, child_id, state) VALUES ($1, $2, 'active')")
        .bind(uid.as_str())
        .bind(child.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE card_orders SET status = 'handed_out', card_uid = $2, updated_at = now()
         WHERE id = (SELECT id FROM card_orders WHERE child_id = $1 AND status <> 'handed_out'
                     ORDER BY created_at, id LIMIT 1)",
    )
    .bind(child.0)
    .bind(uid.as_str())
    .execute(&mut *tx)
    .await?;
    bump_changes(&mut tx, &BTreeMap::from([(child, None)])).await?;
    tx.commit().await?;
    Ok(Card {
        uid: uid.clone(),
        child,
        state: CardState::Active,
    })
}

/// Whose card this is, if the ledger knows it.
pub async fn card_owner(pool: &PgPool, uid: &CardUid) -> Result<Option<ChildId>> {
    let owner: Option<Uuid> = sqlx::query_scalar("SELECT child_id FROM cards WHERE uid = $1")
        .bind(uid.as_str())
        .fetch_optional(pool)
        .await?;
    Ok(owner.map(ChildId))
}

/// Blocks a card at once; blocking a blocked card is harmless.
pub async fn block_card(pool: &PgPool, uid: &CardUid) -> Result<Card> {
    let mut tx = pool.begin().await?;
    let owner = card_owner_in(&mut tx, uid).await?;
    lock_child(&mut tx, owner).await?;
    let row = sqlx::query(
        "UPDATE cards SET state = 'blocked', blocked_at = coalesce(blocked_at, now())
         WHERE uid = $1 RETURNING uid, child_id, state",
    )
    .bind(uid.as_str())
    .fetch_one(&mut *tx)
    .await?;
    bump_changes(&mut tx, &BTreeMap::from([(owner, None)])).await?;
    tx.commit().await?;
    Ok(card_of(&row)?)
}

async fn card_owner_in(conn: &mut PgConnection, uid: &CardUid) -> Result<ChildId> {
    let owner: Option<Uuid> = sqlx::query_scalar("SELECT child_id FROM cards WHERE uid = $1")
        .bind(uid.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    owner
        .map(ChildId)
        .ok_or_else(|| LedgerError::not_found(format!("no card with UID {uid}")))
}

/// Orders a replacement card: blocks the child's cards at once and charges
/// the card fee (nothing if this is the child's first order). `shown`: the
/// fee the orderer was shown; if it is not the fee now, nothing is done.
pub async fn order_card(
    pool: &PgPool,
    settings: &Settings,
    child: ChildId,
    address: &str,
    id: Option<Uuid>,
    counter: &str,
    shown: Option<Money>,
) -> Result<(CardOrder, bool)> {
    let mut tx = pool.begin().await?;
    let mut locked = lock_child(&mut tx, child).await?;
    if let Some(id) = id {
        let existing = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ORDER_COLUMNS} FROM card_orders WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = existing {
            let order = order_of(&row)?;
            if order.child != child {
                return Err(LedgerError::conflict(
                    "id_in_use",
                    "this id is already used for another order",
                ));
            }
            return Ok((order, false));
        }
    }
    let earlier: i64 = sqlx::query_scalar("SELECT count(*) FROM card_orders WHERE child_id = $1")
        .bind(child.0)
        .fetch_one(&mut *tx)
        .await?;
    let fee = if earlier == 0 {
        Money::ZERO
    } else {
        settings.card_fee
    };
    if shown.is_some_and(|shown| shown != fee) {
        return Err(LedgerError::conflict(
            "fee_changed",
            format!("the card fee is now {}", fee.to_plain_string()),
        ));
    }
    if fee > locked.balance {
        return Err(LedgerError::conflict(
            "insufficient_funds",
            format!(
                "the card fee is {} but the balance is {}; deposit first (the old card can be blocked on its own)",
                fee.to_plain_string(),
                locked.balance.max(Money::ZERO).to_plain_string()
            ),
        ));
    }
    sqlx::query(
        "UPDATE cards SET state = 'blocked', blocked_at = coalesce(blocked_at, now())
         WHERE child_id = $1 AND state = 'active'",
    )
    .bind(child.0)
    .execute(&mut *tx)
    .await?;
    let fee_entry = if fee.is_positive() {
        let entry = Entry::new(child, EntryKind::CardFee, -fee, counter, Utc::now());
        insert_entry(&mut tx, &mut locked, &entry).await?;
        Some(entry.id)
    } else {
        None
    };
    let order_id = id.unwrap_or_else(Uuid::now_v7);
    let row = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO card_orders (id, child_id, status, address, fee, fee_entry)
         VALUES ($1, $2, 'ordered', $3, $4, $5) RETURNING {ORDER_COLUMNS}"
    )))
    .bind(order_id)
    .bind(child.0)
    .bind(address)
    .bind(fee.decimal())
    .bind(fee_entry)
    .fetch_one(&mut *tx)
    .await?;
    bump_changes(&mut tx, &BTreeMap::from([(child, None)])).await?;
    tx.commit().await?;
    Ok((order_of(&row)?, true))
}

/// Moves an order forward: ordered → sent → handed_out.
pub async fn set_order_status(pool: &PgPool, id: Uuid, status: OrderStatus) -> Result<CardOrder> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query(AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM card_orders WHERE id = $1 FOR UPDATE"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| LedgerError::not_found(format!("no card order with id {id}")))?;
    let order = order_of(&row)?;
    let rank = |s: OrderStatus| s as u8;
    if rank(status) < rank(order.status) {
        return Err(LedgerError::conflict(
            "order_status",
            format!(
                "the order is {} and cannot go back to {}",
                order.status.as_str(),
                status.as_str()
            ),
        ));
    }
    let row = sqlx::query(AssertSqlSafe(format!(
        "UPDATE card_orders SET status = $2, updated_at = now() WHERE id = $1
         RETURNING {ORDER_COLUMNS}"
    )))
    .bind(id)
    .bind(status.as_str())
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(order_of(&row)?)
}

pub async fn order_child(pool: &PgPool, id: Uuid) -> Result<Option<ChildId>> {
    let child: Option<Uuid> = sqlx::query_scalar("SELECT child_id FROM card_orders WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(child.map(ChildId))
}

pub async fn update_settings(
    pool: &PgPool,
    child: ChildId,
    patch: &SettingsPatch,
) -> Result<ChildDetail> {
    let mut tx = pool.begin().await?;
    lock_child(&mut tx, child).await?;
    if let Some(limit) = &patch.daily_limit {
        sqlx::query("UPDATE children SET daily_limit = $2 WHERE id = $1")
            .bind(child.0)
            .bind(limit.map(Money::decimal))
            .execute(&mut *tx)
            .await?;
    }
    if let Some(categories) = &patch.blocked_categories {
        sqlx::query("UPDATE children SET blocked_categories = $2 WHERE id = $1")
            .bind(child.0)
            .bind(categories)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(note) = &patch.note {
        sqlx::query("UPDATE children SET note = $2 WHERE id = $1")
            .bind(child.0)
            .bind(note)
            .execute(&mut *tx)
            .await?;
    }
    bump_changes(&mut tx, &BTreeMap::from([(child, None)])).await?;
    let detail = child_detail(&mut tx, child).await?;
    tx.commit().await?;
    Ok(detail)
}

pub async fn report(
    pool: &PgPool,
    settings: &Settings,
    from: NaiveDate,
    to: NaiveDate,
    club: Option<&str>,
) -> Result<Report> {
    let rows = sqlx::query(
        "SELECT club, counter, kind, count(*) AS count, sum(amount) AS total FROM entries
         WHERE (at AT TIME ZONE $1)::date BETWEEN $2 AND $3
           AND ($4::text IS NULL OR club = $4)
         GROUP BY club, counter, kind ORDER BY club, counter, kind",
    )
    .bind(&settings.time_zone)
    .bind(from)
    .bind(to)
    .bind(club)
    .fetch_all(pool)
    .await?;
    let rows = rows
        .iter()
        .map(|row| {
            Ok(ReportRow {
                club: row.try_get("club")?,
                counter: row.try_get("counter")?,
                kind: row.try_get("kind")?,
                count: row.try_get("count")?,
                total: money(row.try_get("total")?),
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Report {
        from,
        to,
        time_zone: settings.time_zone.clone(),
        club: club.map(str::to_string),
        rows,
    })
}

/// The accounts changed since a cursor, oldest change first.
pub async fn changes(pool: &PgPool, since: i64, limit: i64) -> Result<Changes> {
    let rows = sqlx::query(
        "SELECT id, name, balance, daily_limit, blocked_categories, note, change_seq, changed_at
         FROM children WHERE change_seq > $1 ORDER BY change_seq LIMIT $2",
    )
    .bind(since)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let ids: Vec<Uuid> = rows
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<Result<_, _>>()?;
    let card_rows = sqlx::query(
        "SELECT uid, child_id, state FROM cards WHERE child_id = ANY($1)
         ORDER BY handed_out_at, uid",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut cards: BTreeMap<ChildId, Vec<Card>> = BTreeMap::new();
    for row in &card_rows {
        let card = card_of(row)?;
        cards.entry(card.child).or_default().push(card);
    }
    let mut cursor = since;
    let mut accounts = Vec::with_capacity(rows.len());
    for row in rows {
        let child = child_of(row)?;
        cursor = row.try_get("change_seq")?;
        let changed_at: DateTime<Utc> = row.try_get("changed_at")?;
        accounts.push(AccountState {
            cards: cards.remove(&child.id).unwrap_or_default(),
            balance: money(row.try_get("balance")?),
            child,
            changed_at,
        });
    }
    Ok(Changes {
        cursor,
        more,
        accounts,
    })
}

/// Staff at a counter hand out or block a card.
pub async fn card_action(pool: &PgPool, action: &CardAction) -> Result<Card> {
    match action {
        CardAction::HandOut { uid, child } => hand_out(pool, *child, uid).await,
        CardAction::Block { uid } => block_card(pool, uid).await,
    }
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
