//! What counters flagged (an overdraft, a blocked card, …) as the office
//! works through it: the flagged entries of the office's clubs, and each
//! marked handled with a comment. The handling is a row of its own: a
//! counter's entry stays as the counter sent it.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::clubs::Scope;
use super::office_log::{self, Action, Actor, Change};
use super::{Amount, ChildKey, DbError, Result};
use klubkasse_core::domain::{ChildId, Money, SaleLine};

/// The longest comment on a handled flag.
pub const MAX_COMMENT: usize = 500;

/// What the office wrote when it dealt with a flag.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Handling {
    pub comment: String,
    pub by: String,
    /// In the clubs' time zone.
    pub at: NaiveDateTime,
}

impl Handling {
    /// From the columns of a LEFT JOIN with `flag_handlings`.
    pub(super) fn joined(
        comment: Option<String>,
        by: Option<String>,
        at: Option<NaiveDateTime>,
    ) -> Option<Handling> {
        Some(Handling {
            comment: comment?,
            by: by?,
            at: at?,
        })
    }
}

/// Which flagged entries to list.
#[derive(Debug, Clone, Default)]
pub struct FlagFilter<'a> {
    /// One flag's name ([`super::flag_name`]).
    pub flag: Option<&'a str>,
    /// The child's club (of now).
    pub club: Option<&'a str>,
    pub counter: Option<&'a str>,
    /// Local days, both included.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The handled ones rather than those still to handle.
    pub handled: bool,
    pub offset: i64,
}

/// A flagged entry as the office's list shows it.
#[derive(Debug, Clone)]
pub struct Flagged {
    pub entry: Uuid,
    pub child: ChildId,
    pub child_name: String,
    pub club: String,
    pub counter: String,
    pub at: NaiveDateTime,
    pub amount: Money,
    pub flags: Vec<String>,
    pub items: Vec<SaleLine>,
    pub handling: Option<Handling>,
}

#[derive(sqlx::FromRow)]
struct FlaggedRow {
    id: Uuid,
    #[sqlx(try_from = "ChildKey")]
    child_id: ChildId,
    child_name: String,
    club: String,
    counter: String,
    local_at: NaiveDateTime,
    #[sqlx(try_from = "Amount")]
    amount: Money,
    flags: Vec<String>,
    lines: Option<String>,
    comment: Option<String>,
    handled_by: Option<String>,
    handled_at: Option<NaiveDateTime>,
}

/// The flagged entries of children within `scope`, newest first, `limit`
/// of them and whether there are more. The filters read the small table
/// of flagged entries (`flagged_entries`, migration 0016), never all
/// entries; the amounts and items of the page's rows come by key. Planned
/// for each call's filters (not `persistent`): a plan made once for
/// every filter would read the whole table for one club's overdrafts.
pub async fn list(
    pool: &PgPool,
    time_zone: &str,
    scope: &Scope,
    filter: &FlagFilter<'_>,
    limit: i64,
) -> Result<(Vec<Flagged>, bool)> {
    let rows: Vec<FlaggedRow> = sqlx::query_as(
        "WITH page AS MATERIALIZED (
             SELECT f.entry_id, f.child_id, c.name AS child_name, c.club, f.counter, f.at, f.flags
             FROM flagged_entries f JOIN children c ON c.id = f.child_id
                  LEFT JOIN flag_handlings h ON h.entry_id = f.entry_id
             WHERE club_in_scope(c.club, $1)
               AND ($3::text IS NULL OR $3 = ANY(f.flags))
               AND ($4::text IS NULL OR c.club = $4)
               AND ($5::text IS NULL OR f.counter = $5)
               AND ($6::date IS NULL OR f.at >= ($6::date::timestamp AT TIME ZONE $2))
               AND ($7::date IS NULL OR f.at < (($7::date + 1)::timestamp AT TIME ZONE $2))
               AND (h.entry_id IS NOT NULL) = $8
             ORDER BY f.at DESC, f.entry_id DESC OFFSET $9 LIMIT $10)
         SELECT p.entry_id AS id, p.child_id, p.child_name, p.club, p.counter,
                p.at AT TIME ZONE $2 AS local_at, e.amount, p.flags, e.lines::text AS lines,
                h.comment, h.handled_by, h.handled_at AT TIME ZONE $2 AS handled_at
         FROM page p JOIN entries e ON e.id = p.entry_id
              LEFT JOIN flag_handlings h ON h.entry_id = p.entry_id
         ORDER BY p.at DESC, p.entry_id DESC",
    )
    .persistent(false)
    .bind(scope.clubs())
    .bind(time_zone)
    .bind(filter.flag)
    .bind(filter.club)
    .bind(filter.counter)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.handled)
    .bind(filter.offset)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let flagged = rows
        .into_iter()
        .take(limit as usize)
        .map(|row| Flagged {
            entry: row.id,
            child: row.child_id,
            child_name: row.child_name,
            club: row.club,
            counter: row.counter,
            at: row.local_at,
            amount: row.amount,
            flags: row.flags,
            items: row
                .lines
                .and_then(|l| serde_json::from_str(&l).ok())
                .unwrap_or_default(),
            handling: Handling::joined(row.comment, row.handled_by, row.handled_at),
        })
        .collect();
    Ok((flagged, more))
}

/// Marks a flagged entry of a child within `scope` handled, with the
/// office's comment (trimmed, 1 to [`MAX_COMMENT`] characters: the caller
/// checks), in the office log in the same transaction. Another club's
/// entry, or one without flags, is not found; false if it was handled
/// already (the first comment stays).
pub async fn handle(
    pool: &PgPool,
    actor: &Actor,
    scope: &Scope,
    entry: Uuid,
    comment: &str,
) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let Some((child, flags)) = flagged(&mut *tx, scope, entry).await? else {
        return Err(DbError::not_found(format!("no flagged entry {entry}")));
    };
    let inserted = sqlx::query(
        "INSERT INTO flag_handlings (entry_id, comment, handled_by) VALUES ($1, $2, $3)
         ON CONFLICT (entry_id) DO NOTHING",
    )
    .bind(entry)
    .bind(comment)
    .bind(actor.name())
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        let change = Change::child(Action::FlagHandled, child)
            .before(json!({ "entry": entry, "flags": flags }))
            .after(json!({ "entry": entry, "comment": comment }));
        office_log::write(&mut tx, actor, change).await?;
    }
    tx.commit().await?;
    Ok(inserted)
}

/// A flagged entry of a child within `scope`: the child and the flags.
async fn flagged<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    scope: &Scope,
    entry: Uuid,
) -> Result<Option<(ChildId, Vec<String>)>> {
    let row: Option<(Uuid, Vec<String>)> = sqlx::query_as(
        "SELECT e.child_id, e.flags FROM entries e JOIN children c ON c.id = e.child_id
         WHERE e.id = $1 AND e.flags <> '{}' AND club_in_scope(c.club, $2)",
    )
    .bind(entry)
    .bind(scope.clubs())
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|(child, flags)| (ChildId(child), flags)))
}

/// The child of a flagged entry within `scope`; None for another club's
/// entry, an entry without flags, or none.
pub async fn find(pool: &PgPool, scope: &Scope, entry: Uuid) -> Result<Option<ChildId>> {
    Ok(flagged(pool, scope, entry).await?.map(|(child, _)| child))
}

/// The comment as stored: trimmed, and None if empty or too long.
pub fn comment(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty() && text.chars().count() <= MAX_COMMENT).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_is_trimmed_and_needs_one_to_500_characters() {
        assert_eq!(comment("  ringede til mor "), Some("ringede til mor"));
        assert_eq!(comment(" \n "), None);
        assert_eq!(comment(&"æ".repeat(500)).map(str::len), Some(1000));
        assert_eq!(comment(&"æ".repeat(501)), None);
    }
}
