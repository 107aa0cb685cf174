//! The counters' pull: the accounts changed since a cursor.

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use super::cards::CardRow;
use super::children::{CHILD_COLUMNS, ChildRow};
use super::{Result, money};
use klubkasse_core::domain::{Card, ChildId};
use klubkasse_core::protocol::{AccountState, Changes};

/// The accounts changed since a cursor, oldest change first.
pub async fn changes(pool: &PgPool, since: i64, limit: i64) -> Result<Changes> {
    // The column list is a constant.
    let mut rows: Vec<ChildRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CHILD_COLUMNS} FROM children WHERE change_seq > $1 ORDER BY change_seq LIMIT $2"
    )))
    .bind(since)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let card_rows: Vec<CardRow> = sqlx::query_as(
        "SELECT uid, child_id, state FROM cards WHERE child_id = ANY($1)
         ORDER BY handed_out_at, uid",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let mut cards: BTreeMap<ChildId, Vec<Card>> = BTreeMap::new();
    for row in card_rows {
        let card = Card::try_from(row)?;
        cards.entry(card.child).or_default().push(card);
    }
    let cursor = rows.last().map_or(since, |r| r.change_seq);
    let accounts = rows
        .into_iter()
        .map(|row| {
            let child = row.child();
            AccountState {
                cards: cards.remove(&child.id).unwrap_or_default(),
                balance: money(row.balance),
                child,
                changed_at: row.changed_at,
            }
        })
        .collect();
    Ok(Changes {
        cursor,
        more,
        accounts,
    })
}
