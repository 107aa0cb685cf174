//! Children: enrolment, a child's detail and settings, the row lock every
//! change of money takes, and the change numbers counters pull by.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
// Dynamic SQL here only splices the column-list constants, never input.
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use super::cards::{CardRow, ORDER_COLUMNS, OrderRow};
use super::{DbError, Result, money};
use crate::api::{ChildDetail, ChildSummary, SettingsPatch};
use klubkasse_core::domain::{Child, ChildId, Money};

/// A child's row, locked for the rest of the transaction.
#[derive(sqlx::FromRow)]
pub(crate) struct LockedRow {
    id: Uuid,
    club: String,
    balance: Decimal,
    daily_limit: Option<Decimal>,
    blocked_categories: Vec<String>,
    change_seq: i64,
}

/// A locked child as the rules need it.
pub(crate) struct Locked {
    pub(crate) id: ChildId,
    pub(crate) club: String,
    pub(crate) balance: Money,
    pub(crate) daily_limit: Option<Money>,
    pub(crate) blocked_categories: Vec<String>,
    pub(crate) change_seq: i64,
}

impl From<LockedRow> for Locked {
    fn from(row: LockedRow) -> Locked {
        Locked {
            id: ChildId(row.id),
            club: row.club,
            balance: money(row.balance),
            daily_limit: row.daily_limit.map(money),
            blocked_categories: row.blocked_categories,
            change_seq: row.change_seq,
        }
    }
}

pub(super) const LOCK_COLUMNS: &str =
    "id, club, balance, daily_limit, blocked_categories, change_seq";

pub(super) async fn lock_child(conn: &mut PgConnection, child: ChildId) -> Result<Locked> {
    let row: LockedRow = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {LOCK_COLUMNS} FROM children WHERE id = $1 FOR UPDATE"
    )))
    .bind(child.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| no_child(child))?;
    Ok(row.into())
}

pub(super) fn no_child(child: ChildId) -> DbError {
    DbError::not_found(format!("no child with id {child}"))
}

/// Gives each child a new change number, the highest yet, and the balance
/// given with it (a push: each child's row is written once). The counter
/// row stays locked until commit, so numbers become visible in commit
/// order: every other writer waits from this statement to the commit,
/// so it comes as late as it can.
///
/// Every change to a child's entries or cards comes with this: a push
/// relies on it to know what changed while it waited for the lock.
pub(crate) async fn bump_changes(
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

/// [`bump_changes`] for one child whose balance is written already.
pub(super) async fn bump_change(conn: &mut PgConnection, child: ChildId) -> Result<()> {
    bump_changes(conn, &BTreeMap::from([(child, None)])).await
}

pub async fn enrol(pool: &PgPool, name: &str, club: &str) -> Result<ChildDetail> {
    let id = ChildId::new();
    let mut tx = pool.begin().await?;
    // A new child takes the next change number.
    let seq: i64 =
        sqlx::query_scalar("UPDATE change_counter SET value = value + 1 RETURNING value")
            .fetch_one(&mut *tx)
            .await?;
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

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    name: String,
    club: String,
    balance: Decimal,
}

pub async fn list_children(pool: &PgPool, club: Option<&str>) -> Result<Vec<ChildSummary>> {
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT id, name, club, balance FROM children
         WHERE $1::text IS NULL OR club = $1 ORDER BY club, name, id",
    )
    .bind(club)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ChildSummary {
            id: ChildId(row.id),
            name: row.name,
            club: row.club,
            balance: money(row.balance),
        })
        .collect())
}

/// A child's row as the office and the counters see it.
#[derive(sqlx::FromRow)]
pub(super) struct ChildRow {
    pub(super) id: Uuid,
    name: String,
    pub(super) club: String,
    pub(super) balance: Decimal,
    daily_limit: Option<Decimal>,
    blocked_categories: Vec<String>,
    note: Option<String>,
    pub(super) change_seq: i64,
    pub(super) changed_at: DateTime<Utc>,
}

pub(super) const CHILD_COLUMNS: &str =
    "id, name, club, balance, daily_limit, blocked_categories, note, change_seq, changed_at";

impl ChildRow {
    pub(super) fn child(&self) -> Child {
        Child {
            id: ChildId(self.id),
            name: self.name.clone(),
            daily_limit: self.daily_limit.map(money),
            blocked_categories: self.blocked_categories.clone(),
            note: self.note.clone(),
        }
    }
}

async fn child_detail(conn: &mut PgConnection, id: ChildId) -> Result<ChildDetail> {
    let row: ChildRow = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CHILD_COLUMNS} FROM children WHERE id = $1"
    )))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| no_child(id))?;
    let cards: Vec<CardRow> = sqlx::query_as(
        "SELECT uid, child_id, state FROM cards WHERE child_id = $1 ORDER BY handed_out_at, uid",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    let orders: Vec<OrderRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM card_orders WHERE child_id = $1 ORDER BY created_at, id"
    )))
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ChildDetail {
        child: row.child(),
        club: row.club,
        balance: money(row.balance),
        cards: cards
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_, _>>()?,
        orders: orders
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_, _>>()?,
        changed_at: row.changed_at,
    })
}

pub async fn detail(pool: &PgPool, id: ChildId) -> Result<ChildDetail> {
    let mut conn = pool.acquire().await?;
    child_detail(&mut conn, id).await
}

pub async fn update_settings(
    pool: &PgPool,
    child: ChildId,
    patch: &SettingsPatch,
) -> Result<ChildDetail> {
    let mut tx = pool.begin().await?;
    lock_child(&mut tx, child).await?;
    // One statement: a field the patch leaves out keeps its value.
    sqlx::query(
        "UPDATE children SET
             daily_limit = CASE WHEN $2 THEN $3 ELSE daily_limit END,
             blocked_categories = coalesce($4, blocked_categories),
             note = CASE WHEN $5 THEN $6 ELSE note END
         WHERE id = $1",
    )
    .bind(child.0)
    .bind(patch.daily_limit.is_some())
    .bind(patch.daily_limit.flatten().map(Money::decimal))
    .bind(&patch.blocked_categories)
    .bind(patch.note.is_some())
    .bind(patch.note.clone().flatten())
    .execute(&mut *tx)
    .await?;
    bump_change(&mut tx, child).await?;
    let detail = child_detail(&mut tx, child).await?;
    tx.commit().await?;
    Ok(detail)
}
