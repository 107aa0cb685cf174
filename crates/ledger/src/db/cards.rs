//! Cards and card orders: handing out, blocking, ordering a replacement
//! (with its fee), and the order's way to the child.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;
// Dynamic SQL here only splices the column-list constants, never input.
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use super::children::{bump_change, lock_child};
use super::entries::{Notes, insert_entry};
use super::mail::MailKind;
use super::office_log::{self, Action, Actor, Change};
use super::{DbError, Result, money, state_of, uid_of};
use crate::Settings;
use crate::api::{CardOrder, OrderStatus};
use klubkasse_core::domain::{Card, CardState, CardUid, ChildId, Entry, EntryKind, Money};
use klubkasse_core::protocol::CardAction;

#[derive(sqlx::FromRow)]
pub(super) struct CardRow {
    uid: String,
    child_id: Uuid,
    state: String,
}

impl TryFrom<CardRow> for Card {
    type Error = sqlx::Error;

    fn try_from(row: CardRow) -> Result<Card, sqlx::Error> {
        Ok(Card {
            uid: uid_of(&row.uid)?,
            child: ChildId(row.child_id),
            state: state_of(&row.state),
        })
    }
}

pub(super) const ORDER_COLUMNS: &str =
    "id, child_id, status, address, fee, card_uid, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(super) struct OrderRow {
    id: Uuid,
    child_id: Uuid,
    status: String,
    address: Option<String>,
    fee: Decimal,
    card_uid: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<OrderRow> for CardOrder {
    type Error = sqlx::Error;

    fn try_from(row: OrderRow) -> Result<CardOrder, sqlx::Error> {
        Ok(CardOrder {
            id: row.id,
            child: ChildId(row.child_id),
            status: OrderStatus::parse(&row.status).unwrap_or(OrderStatus::Ordered),
            address: row.address,
            fee: money(row.fee),
            card: row.card_uid.as_deref().map(uid_of).transpose()?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Hands a card out to a child, and closes the child's oldest open order.
pub async fn hand_out(pool: &PgPool, actor: &Actor, child: ChildId, uid: &CardUid) -> Result<Card> {
    hand_out_for(pool, actor, child, uid, None).await
}

/// [`hand_out`], closing this open order of the child's (`None`: the
/// oldest): an order marked handed out records the card it was.
pub async fn hand_out_for(
    pool: &PgPool,
    actor: &Actor,
    child: ChildId,
    uid: &CardUid,
    order: Option<Uuid>,
) -> Result<Card> {
    let mut tx = pool.begin().await?;
    lock_child(&mut tx, child).await?.open()?;
    let existing: Option<CardRow> =
        sqlx::query_as("SELECT uid, child_id, state FROM cards WHERE uid = $1 FOR UPDATE")
            .bind(uid.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(row) = existing {
        let card = Card::try_from(row)?;
        return match (card.child == child, card.state) {
            // Handing out the same card twice is harmless.
            (true, CardState::Active) => Ok(card),
            (true, CardState::Blocked) => Err(DbError::conflict(
                "card_blocked",
                format!("card {uid} is blocked and stays blocked; hand out a new card"),
            )),
            (false, _) => Err(DbError::conflict(
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
    let order: Option<Uuid> = sqlx::query_scalar(
        "UPDATE card_orders SET status = 'handed_out', card_uid = $2, updated_at = now()
         WHERE id = (SELECT id FROM card_orders WHERE child_id = $1 AND status <> 'handed_out'
                       AND ($3::uuid IS NULL OR id = $3)
                     ORDER BY created_at, id LIMIT 1)
         RETURNING id",
    )
    .bind(child.0)
    .bind(uid.as_str())
    .bind(order)
    .fetch_optional(&mut *tx)
    .await?;
    bump_change(&mut tx, child).await?;
    let change = Change::child(Action::CardHandOut, child)
        .after(json!({ "uid": uid.as_str(), "order_handed_out": order }));
    office_log::write(&mut tx, actor, change).await?;
    tx.commit().await?;
    Ok(Card {
        uid: uid.clone(),
        child,
        state: CardState::Active,
    })
}

/// Whose card this is, if the ledger knows it.
pub async fn card_owner(pool: &PgPool, uid: &CardUid) -> Result<Option<ChildId>> {
    let mut conn = pool.acquire().await?;
    card_owner_in(&mut conn, uid).await
}

async fn card_owner_in(conn: &mut PgConnection, uid: &CardUid) -> Result<Option<ChildId>> {
    let owner: Option<Uuid> = sqlx::query_scalar("SELECT child_id FROM cards WHERE uid = $1")
        .bind(uid.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(owner.map(ChildId))
}

/// Blocks a card at once; blocking a blocked card is harmless.
pub async fn block_card(pool: &PgPool, actor: &Actor, uid: &CardUid) -> Result<Card> {
    change_card(
        pool,
        actor,
        uid,
        Action::CardBlock,
        "UPDATE cards SET state = 'blocked', blocked_at = coalesce(blocked_at, now())
         WHERE uid = $1 RETURNING uid, child_id, state",
    )
    .await
}

/// Unblocks a card staff found again; unblocking an active card is
/// harmless.
pub async fn unblock_card(pool: &PgPool, actor: &Actor, uid: &CardUid) -> Result<Card> {
    change_card(
        pool,
        actor,
        uid,
        Action::CardUnblock,
        "UPDATE cards SET state = 'active', blocked_at = NULL
         WHERE uid = $1 RETURNING uid, child_id, state",
    )
    .await
}

/// Runs `update` (which takes the UID as `$1` and returns the card) with
/// the owner locked, and gives the owner a new change number; logged as
/// `action` if the card's state changed.
async fn change_card(
    pool: &PgPool,
    actor: &Actor,
    uid: &CardUid,
    action: Action,
    update: &'static str,
) -> Result<Card> {
    let mut tx = pool.begin().await?;
    let owner = card_owner_in(&mut tx, uid)
        .await?
        .ok_or_else(|| DbError::not_found(format!("no card with UID {uid}")))?;
    let locked = lock_child(&mut tx, owner).await?;
    // A child that has left keeps its cards blocked.
    if action == Action::CardUnblock {
        locked.open()?;
    }
    let before: String = sqlx::query_scalar("SELECT state FROM cards WHERE uid = $1")
        .bind(uid.as_str())
        .fetch_one(&mut *tx)
        .await?;
    let row: CardRow = sqlx::query_as(update)
        .bind(uid.as_str())
        .fetch_one(&mut *tx)
        .await?;
    bump_change(&mut tx, owner).await?;
    if row.state != before {
        let change = Change::child(action, owner)
            .before(json!({ "uid": uid.as_str(), "state": before }))
            .after(json!({ "uid": uid.as_str(), "state": row.state }));
        office_log::write(&mut tx, actor, change).await?;
    }
    tx.commit().await?;
    Ok(row.try_into()?)
}

/// Staff at a counter hand out, block or unblock a card.
pub async fn card_action(pool: &PgPool, actor: &Actor, action: &CardAction) -> Result<Card> {
    match action {
        CardAction::HandOut { uid, child } => hand_out(pool, actor, *child, uid).await,
        CardAction::Block { uid } => block_card(pool, actor, uid).await,
        CardAction::Unblock { uid } => unblock_card(pool, actor, uid).await,
    }
}

/// The child a card order is for, if the order exists.
pub async fn order_child(pool: &PgPool, id: Uuid) -> Result<Option<ChildId>> {
    let child: Option<Uuid> = sqlx::query_scalar("SELECT child_id FROM card_orders WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(child.map(ChildId))
}

/// A card order as it is now.
pub async fn order(pool: &PgPool, id: Uuid) -> Result<Option<CardOrder>> {
    find_order(&mut *pool.acquire().await?, id, false).await
}

async fn find_order(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Option<CardOrder>> {
    let lock = if lock { "FOR UPDATE" } else { "" };
    let row: Option<OrderRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM card_orders WHERE id = $1 {lock}"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(TryInto::try_into).transpose()?)
}

/// A replacement card to order.
#[derive(Debug, Clone)]
pub struct NewOrder<'a> {
    /// Where the card is posted.
    pub address: &'a str,
    /// The caller's id for the order: the same id orders once.
    pub id: Option<Uuid>,
    /// What the fee's entry names as its counter.
    pub counter: &'a str,
    /// The fee the orderer was shown; if it is not the fee now, nothing
    /// is done.
    pub shown: Option<Money>,
}

/// Whether a card order has this id.
pub(super) async fn is_order(conn: &mut PgConnection, id: Uuid) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM card_orders WHERE id = $1)")
            .bind(id)
            .fetch_one(conn)
            .await?,
    )
}

/// Orders a replacement card: blocks the child's cards at once and charges
/// the card fee (nothing if this is the child's first order).
pub async fn order_card(
    pool: &PgPool,
    settings: &Settings,
    actor: &Actor,
    child: ChildId,
    new: &NewOrder<'_>,
) -> Result<(CardOrder, bool)> {
    let NewOrder {
        address,
        id,
        counter,
        shown,
    } = *new;
    let mut tx = pool.begin().await?;
    let mut locked = lock_child(&mut tx, child).await?;
    locked.open()?;
    if let Some(id) = id
        && let Some(order) = find_order(&mut tx, id, false).await?
    {
        // The same order again, or another that reuses its id.
        if order.child != child || order.address.as_deref() != Some(address) {
            return Err(super::entries::id_in_use());
        }
        return Ok((order, false));
    }
    // An entry's id (a deposit's, a withdrawal's) names that entry.
    if let Some(id) = id
        && super::entries::find_entry(&mut tx, id).await?.is_some()
    {
        return Err(super::entries::id_in_use());
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
        return Err(DbError::conflict(
            "fee_changed",
            format!("the card fee is now {}", fee.to_plain_string()),
        ));
    }
    if fee > locked.balance {
        return Err(DbError::conflict(
            "insufficient_funds",
            format!(
                "the card fee is {} but the balance is {}; deposit first (the old card can be blocked on its own)",
                fee.to_plain_string(),
                locked.balance.max(Money::ZERO).to_plain_string()
            ),
        ));
    }
    let blocked: Vec<String> = sqlx::query_scalar(
        "UPDATE cards SET state = 'blocked', blocked_at = coalesce(blocked_at, now())
         WHERE child_id = $1 AND state = 'active' RETURNING uid",
    )
    .bind(child.0)
    .fetch_all(&mut *tx)
    .await?;
    let fee_entry = if fee.is_positive() {
        let entry = Entry::new(child, EntryKind::CardFee, -fee, counter, Utc::now());
        let before = locked.balance;
        insert_entry(&mut tx, &mut locked, &entry, Notes::default()).await?;
        let fall = super::auto_topup::Fall {
            child,
            before,
            after: before - fee,
            entry: entry.id,
        };
        Box::pin(super::auto_topup::queue_fall(&mut tx, settings, fall)).await?;
        Some(entry.id)
    } else {
        None
    };
    let row: OrderRow = sqlx::query_as(AssertSqlSafe(format!(
        "INSERT INTO card_orders (id, child_id, status, address, fee, fee_entry)
         VALUES ($1, $2, 'ordered', $3, $4, $5) RETURNING {ORDER_COLUMNS}"
    )))
    .bind(id.unwrap_or_else(Uuid::now_v7))
    .bind(child.0)
    .bind(address)
    .bind(fee.decimal())
    .bind(fee_entry)
    .fetch_one(&mut *tx)
    .await?;
    bump_change(&mut tx, child).await?;
    let change = Change::child(Action::CardOrder, child).after(json!({
        "order": row.id, "address": address, "fee": fee, "cards_blocked": blocked,
    }));
    office_log::write(&mut tx, actor, change).await?;
    super::mail::queue_low_balance_of(&mut tx, child).await?;
    tx.commit().await?;
    Ok((row.try_into()?, true))
}

/// Moves an order forward: ordered → sent → handed_out.
pub async fn set_order_status(
    pool: &PgPool,
    actor: &Actor,
    id: Uuid,
    status: OrderStatus,
) -> Result<CardOrder> {
    let mut tx = pool.begin().await?;
    let order = find_order(&mut tx, id, true)
        .await?
        .ok_or_else(|| DbError::not_found(format!("no card order with id {id}")))?;
    let rank = |s: OrderStatus| s as u8;
    if rank(status) < rank(order.status) {
        return Err(DbError::conflict(
            "order_status",
            format!(
                "the order is {} and cannot go back to {}",
                order.status.as_str(),
                status.as_str()
            ),
        ));
    }
    let row: OrderRow = sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE card_orders SET status = $2, updated_at = now() WHERE id = $1
         RETURNING {ORDER_COLUMNS}"
    )))
    .bind(id)
    .bind(status.as_str())
    .fetch_one(&mut *tx)
    .await?;
    if status != order.status {
        let change = Change::child(Action::CardOrderStatus, order.child)
            .before(json!({ "order": id, "status": order.status.as_str() }))
            .after(json!({ "order": id, "status": status.as_str() }));
        office_log::write(&mut tx, actor, change).await?;
        if status == OrderStatus::Sent {
            let name: String = sqlx::query_scalar("SELECT name FROM children WHERE id = $1")
                .bind(order.child.0)
                .fetch_one(&mut *tx)
                .await?;
            let vars = json!({ "name": name });
            super::mail::queue_to_parents(&mut tx, order.child.0, MailKind::CardOrderSent, vars)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(row.try_into()?)
}
