//! Children: enrolment, a child's detail and settings, the row lock every
//! change of money takes, and the change numbers counters pull by.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;
// Dynamic SQL here only splices the column-list constants, never input.
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use super::cards::{CardRow, ORDER_COLUMNS, OrderRow};
use super::clubs::{Scope, known_club};
use super::office_log::{self, Action, Actor, Change};
use super::payers::{self, NewPayer};
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
    closed_at: Option<DateTime<Utc>>,
}

/// A locked child as the rules need it.
pub(crate) struct Locked {
    pub(crate) id: ChildId,
    pub(crate) club: String,
    pub(crate) balance: Money,
    pub(crate) daily_limit: Option<Money>,
    pub(crate) blocked_categories: Vec<String>,
    pub(crate) change_seq: i64,
    /// The child has left ([`close`]): its cards are blocked and it takes
    /// no new money.
    pub(crate) closed: bool,
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
            closed: row.closed_at.is_some(),
        }
    }
}

pub(super) const LOCK_COLUMNS: &str =
    "id, club, balance, daily_limit, blocked_categories, change_seq, closed_at";

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

impl Locked {
    /// Refuses what a child that has left may not get: new money, cards,
    /// orders (`account_closed`). A counter's push is recorded anyway.
    pub(crate) fn open(&self) -> Result<()> {
        if self.closed {
            return Err(closed(self.id));
        }
        Ok(())
    }
}

/// The child has left: its account takes nothing new.
pub(crate) fn closed(child: ChildId) -> DbError {
    DbError::conflict(
        "account_closed",
        format!("the child {child} has left: the account is closed"),
    )
}

pub(crate) fn no_child(child: ChildId) -> DbError {
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

/// A child to enrol, checked already (see [`crate::import::check`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub payers: Vec<NewPayer>,
}

/// Enrols a child in a club that exists and is within `scope` (else
/// `unknown_club`, the same for both), with the first card ordered.
pub async fn enrol(
    pool: &PgPool,
    actor: &Actor,
    scope: &Scope,
    name: &str,
    club: &str,
) -> Result<ChildDetail> {
    let enrolment = Enrolment {
        name: name.to_string(),
        birth_date: None,
        payers: Vec::new(),
    };
    enrol_one(pool, actor, scope, club, &enrolment).await
}

/// [`enrol`] with a birth date and payers (the office's page).
pub async fn enrol_one(
    pool: &PgPool,
    actor: &Actor,
    scope: &Scope,
    club: &str,
    child: &Enrolment,
) -> Result<ChildDetail> {
    let mut tx = pool.begin().await?;
    known_club(&mut tx, scope, club).await?;
    let id = enrol_in(&mut tx, actor, club, child).await?;
    let detail = child_detail(&mut tx, id).await?;
    tx.commit().await?;
    Ok(detail)
}

/// What [`enrol_all`] did (or, on a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    /// The new children, in the order given.
    pub children: Vec<ChildId>,
    /// Whether it was written: false on a dry run.
    pub written: bool,
}

/// Enrols every child in `club` (within `scope`, else `unknown_club`) in
/// ONE transaction: all or none. Each child gets its free first card
/// order, its payers and its own log row; the import one more, with
/// `source` (e.g. the file's name and hash). `dry_run`: everything is
/// done and checked as for real, then rolled back.
pub async fn enrol_all(
    pool: &PgPool,
    actor: &Actor,
    scope: &Scope,
    club: &str,
    children: &[Enrolment],
    source: serde_json::Value,
    dry_run: bool,
) -> Result<Enrolled> {
    let mut tx = pool.begin().await?;
    known_club(&mut tx, scope, club).await?;
    let mut ids = Vec::with_capacity(children.len());
    for child in children {
        ids.push(enrol_in(&mut tx, actor, club, child).await?);
    }
    let change = Change::club(Action::ChildImport, club)
        .after(json!({ "children": children.len(), "source": source }));
    office_log::write(&mut tx, actor, change).await?;
    if dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(Enrolled {
        children: ids,
        written: !dry_run,
    })
}

/// One child, inside the caller's transaction, which has checked `club`
/// ([`known_club`]).
async fn enrol_in(
    tx: &mut PgConnection,
    actor: &Actor,
    club: &str,
    child: &Enrolment,
) -> Result<ChildId> {
    let id = ChildId::new();
    // A new child takes the next change number.
    let seq: i64 =
        sqlx::query_scalar("UPDATE change_counter SET value = value + 1 RETURNING value")
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query(
        "INSERT INTO children (id, name, club, change_seq, birth_date) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.0)
    .bind(&child.name)
    .bind(club)
    .bind(seq)
    .bind(child.birth_date)
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
    for payer in &child.payers {
        payers::add(&mut *tx, id, payer).await?;
    }
    let mut after = json!({ "name": child.name, "club": club });
    if let Some(day) = child.birth_date {
        after["birth_date"] = json!(day);
    }
    if !child.payers.is_empty() {
        after["payers"] = child
            .payers
            .iter()
            .map(|p| json!({ "name": p.name, "email": p.email }))
            .collect();
    }
    office_log::write(
        &mut *tx,
        actor,
        Change::child(Action::ChildEnrol, id).after(after),
    )
    .await?;
    Ok(id)
}

/// Moves a child to another club; both clubs must be within `scope`. The
/// move is kept in `child_club_changes` and the office log. Moving to the
/// club the child is in changes nothing.
pub async fn move_child(
    pool: &PgPool,
    actor: &Actor,
    scope: &Scope,
    child: ChildId,
    to: &str,
) -> Result<ChildDetail> {
    let mut tx = pool.begin().await?;
    let locked = lock_child(&mut tx, child).await?;
    if !super::clubs::child_in_scope(&mut *tx, scope, child).await? {
        return Err(no_child(child));
    }
    known_club(&mut tx, scope, to).await?;
    if locked.club != to {
        sqlx::query("UPDATE children SET club = $2 WHERE id = $1")
            .bind(child.0)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO child_club_changes (child_id, from_club, to_club, by_name)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(child.0)
        .bind(&locked.club)
        .bind(to)
        .bind(actor.name())
        .execute(&mut *tx)
        .await?;
        // The row keeps the old club: its staff see that the child left,
        // the new club's see it as their child's.
        let change = Change::child(Action::ChildMove, child)
            .in_club(&locked.club)
            .before(json!({ "club": locked.club }))
            .after(json!({ "club": to }));
        office_log::write(&mut tx, actor, change).await?;
    }
    let detail = child_detail(&mut tx, child).await?;
    tx.commit().await?;
    Ok(detail)
}

/// A move of a child from one club to another.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClubChange {
    pub from_club: String,
    pub to_club: String,
    pub at: DateTime<Utc>,
    /// Who moved the child, as the office log names them.
    pub by_name: String,
}

/// A child's moves between clubs, oldest first.
pub async fn club_changes(pool: &PgPool, child: ChildId) -> Result<Vec<ClubChange>> {
    Ok(sqlx::query_as(
        "SELECT from_club, to_club, at, by_name FROM child_club_changes
         WHERE child_id = $1 ORDER BY at, id",
    )
    .bind(child.0)
    .fetch_all(pool)
    .await?)
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    name: String,
    club: String,
    balance: Decimal,
    closed_at: Option<DateTime<Utc>>,
}

/// The children within `scope`, of one club if asked.
pub async fn list_children(
    pool: &PgPool,
    scope: &Scope,
    club: Option<&str>,
) -> Result<Vec<ChildSummary>> {
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT id, name, club, balance, closed_at FROM children
         WHERE ($1::text IS NULL OR club = $1) AND club_in_scope(club, $2)
         ORDER BY club, name, id",
    )
    .bind(club)
    .bind(scope.clubs())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ChildSummary {
            id: ChildId(row.id),
            name: row.name,
            club: row.club,
            balance: money(row.balance),
            closed_at: row.closed_at,
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
    closed_at: Option<DateTime<Utc>>,
    closed_by: Option<String>,
}

pub(super) const CHILD_COLUMNS: &str = "id, name, club, balance, daily_limit, blocked_categories, \
     note, change_seq, changed_at, closed_at, closed_by";

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
        closed_at: row.closed_at,
        closed_by: row.closed_by,
    })
}

pub async fn detail(pool: &PgPool, id: ChildId) -> Result<ChildDetail> {
    let mut conn = pool.acquire().await?;
    child_detail(&mut conn, id).await
}

pub async fn update_settings(
    pool: &PgPool,
    actor: &Actor,
    child: ChildId,
    patch: &SettingsPatch,
) -> Result<ChildDetail> {
    let mut tx = pool.begin().await?;
    lock_child(&mut tx, child).await?;
    let before = settings_json(&child_detail(&mut tx, child).await?);
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
    let after = settings_json(&detail);
    if after != before {
        let change = Change::child(Action::ChildSettings, child)
            .before(before)
            .after(after);
        office_log::write(&mut tx, actor, change).await?;
    }
    tx.commit().await?;
    Ok(detail)
}

/// What [`update_settings`] changes, for the office log.
fn settings_json(detail: &ChildDetail) -> serde_json::Value {
    json!({
        "daily_limit": detail.child.daily_limit,
        "blocked_categories": detail.child.blocked_categories,
        "note": detail.child.note,
    })
}

/// Renames a child; the counters get the new name at their next pull.
/// The same name changes nothing.
pub async fn rename_child(
    pool: &PgPool,
    actor: &Actor,
    child: ChildId,
    name: &str,
) -> Result<ChildDetail> {
    let mut tx = pool.begin().await?;
    lock_child(&mut tx, child).await?;
    let before: String = sqlx::query_scalar("SELECT name FROM children WHERE id = $1")
        .bind(child.0)
        .fetch_one(&mut *tx)
        .await?;
    if before != name {
        sqlx::query("UPDATE children SET name = $2 WHERE id = $1")
            .bind(child.0)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        bump_change(&mut tx, child).await?;
        let change = Change::child(Action::ChildRename, child)
            .before(json!({ "name": before }))
            .after(json!({ "name": name }));
        office_log::write(&mut tx, actor, change).await?;
    }
    let detail = child_detail(&mut tx, child).await?;
    tx.commit().await?;
    Ok(detail)
}

/// What the office looks for; every field left out matches every child.
#[derive(Debug, Clone, Default)]
pub struct ChildSearch<'a> {
    /// Part of the name (case-insensitive), or a card's whole UID.
    pub text: Option<&'a str>,
    pub club: Option<&'a str>,
    /// Children to skip: the earlier pages.
    pub offset: i64,
}

/// The children within `scope` that match, by name, a page of `limit`;
/// and whether there are more.
pub async fn search_children(
    pool: &PgPool,
    scope: &Scope,
    search: &ChildSearch<'_>,
    limit: i64,
) -> Result<(Vec<ChildSummary>, bool)> {
    // Two statements, not one with `$3 IS NULL OR …`: a text gets a plan
    // of its own, through the name's trigram index and the card's key.
    let (offset, rows_asked) = (search.offset.max(0), limit + 1);
    let rows: Vec<SummaryRow> = match search.text {
        Some(text) => {
            sqlx::query_as(
                "SELECT c.id, c.name, c.club, c.balance, c.closed_at FROM children c
                 WHERE c.id IN (SELECT id FROM children WHERE name ILIKE $3
                                UNION SELECT child_id FROM cards WHERE uid = $4)
                   AND club_in_scope(c.club, $1) AND ($2::text IS NULL OR c.club = $2)
                 ORDER BY c.name, c.club, c.id OFFSET $5 LIMIT $6",
            )
            .bind(scope.clubs())
            .bind(search.club)
            .bind(super::office_log::like(text))
            .bind(text.trim().to_uppercase())
            .bind(offset)
            .bind(rows_asked)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT c.id, c.name, c.club, c.balance, c.closed_at FROM children c
                 WHERE club_in_scope(c.club, $1) AND ($2::text IS NULL OR c.club = $2)
                 ORDER BY c.name, c.club, c.id OFFSET $3 LIMIT $4",
            )
            .bind(scope.clubs())
            .bind(search.club)
            .bind(offset)
            .bind(rows_asked)
            .fetch_all(pool)
            .await?
        }
    };
    let more = rows.len() as i64 > limit;
    Ok((
        rows.into_iter()
            .take(limit as usize)
            .map(|row| ChildSummary {
                id: ChildId(row.id),
                name: row.name,
                club: row.club,
                balance: money(row.balance),
                closed_at: row.closed_at,
            })
            .collect(),
        more,
    ))
}
