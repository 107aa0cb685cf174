//! The statements of a counter's push ([`crate::push`] holds its rules).
//! Each reads or writes the whole batch at once, so a batch costs a fixed
//! handful of statements whatever its size.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
// Dynamic SQL here only splices the column-list constant, never input.
use sqlx::{AssertSqlSafe, PgConnection};
use uuid::Uuid;

use super::children::{LOCK_COLUMNS, Locked, LockedRow};
use super::entries::{KindColumns, flag_name, flags_of};
use super::{DbError, Result, money, state_of};
use klubkasse_core::domain::{CardState, ChildId, Entry, Money};
use klubkasse_core::protocol::Flag;

/// Card UID → owner and state.
pub(crate) type Cards = HashMap<String, (Uuid, CardState)>;
/// Entry id → its flags and the balance right after it.
pub(crate) type Recorded = HashMap<Uuid, (Vec<Flag>, Money)>;

/// The children, locked, in id order. `NO KEY`: a push changes their
/// balance, never their key, so foreign-key checks on them (key share)
/// need not wait.
pub(crate) async fn lock_children(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<BTreeMap<ChildId, Locked>> {
    let rows: Vec<LockedRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {LOCK_COLUMNS} FROM children WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE"
    )))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let locked = Locked::from(row);
            (locked.id, locked)
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct ChildCardRow {
    id: Uuid,
    change_seq: i64,
    uid: Option<String>,
    state: Option<String>,
}

/// The children's change numbers and their cards. A card another child
/// owns is not among them, and a sale with it is flagged as with an
/// unknown card either way.
pub(crate) async fn cards_of(
    conn: &mut PgConnection,
    children: &[Uuid],
) -> Result<(HashMap<ChildId, i64>, Cards)> {
    let mut change_seq = HashMap::new();
    let mut cards = HashMap::new();
    // A join with the ids, not `= ANY($1)`: on a small table the generic
    // plan scans it and tests every row against every id.
    let rows: Vec<ChildCardRow> = sqlx::query_as(
        "SELECT ch.id, ch.change_seq, c.uid, c.state
         FROM unnest($1::uuid[]) AS t(id) JOIN children ch ON ch.id = t.id
         LEFT JOIN cards c ON c.child_id = ch.id",
    )
    .bind(children)
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        change_seq.insert(ChildId(row.id), row.change_seq);
        if let Some(uid) = row.uid {
            cards.insert(uid, (row.id, state_of(row.state.as_deref().unwrap_or(""))));
        }
    }
    Ok((change_seq, cards))
}

#[derive(sqlx::FromRow)]
struct RecordedRow {
    id: Uuid,
    flags: Vec<String>,
    balance_after: Decimal,
}

/// Which of these entries are recorded, with their first result.
pub(crate) async fn recorded(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Recorded> {
    let rows: Vec<RecordedRow> =
        sqlx::query_as("SELECT id, flags, balance_after FROM entries WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.id, (flags_of(&row.flags), money(row.balance_after))))
        .collect())
}

/// A sale or refund as the refund rules need it.
pub(crate) struct Booked {
    pub(crate) child: ChildId,
    pub(crate) is_sale: bool,
    pub(crate) amount: Money,
}

#[derive(sqlx::FromRow)]
struct BookedRow {
    id: Uuid,
    child_id: Uuid,
    kind: String,
    amount: Decimal,
}

#[derive(sqlx::FromRow)]
struct RefundedRow {
    refund_of: Uuid,
    refunded: Decimal,
}

/// The sales that refunds name, and what has been refunded of each.
pub(crate) async fn sales_and_refunds(
    conn: &mut PgConnection,
    sales: &[Uuid],
) -> Result<(HashMap<Uuid, Booked>, HashMap<Uuid, Money>)> {
    if sales.is_empty() {
        return Ok(Default::default());
    }
    let booked: Vec<BookedRow> =
        sqlx::query_as("SELECT id, child_id, kind, amount FROM entries WHERE id = ANY($1)")
            .bind(sales)
            .fetch_all(&mut *conn)
            .await?;
    let refunded: Vec<RefundedRow> = sqlx::query_as(
        "SELECT refund_of, sum(amount) AS refunded FROM entries
         WHERE refund_of = ANY($1) GROUP BY refund_of",
    )
    .bind(sales)
    .fetch_all(&mut *conn)
    .await?;
    Ok((
        booked
            .into_iter()
            .map(|row| {
                let booked = Booked {
                    child: ChildId(row.child_id),
                    is_sale: row.kind == "sale",
                    amount: money(row.amount),
                };
                (row.id, booked)
            })
            .collect(),
        refunded
            .into_iter()
            .map(|row| (row.refund_of, money(row.refunded)))
            .collect(),
    ))
}

/// Each time's day in the time zone, in the same order.
pub(crate) async fn local_days(
    conn: &mut PgConnection,
    times: &[DateTime<Utc>],
    time_zone: &str,
) -> Result<Vec<NaiveDate>> {
    Ok(sqlx::query_scalar(
        "SELECT (t.at AT TIME ZONE $2)::date FROM unnest($1::timestamptz[]) WITH ORDINALITY AS t(at, n)
         ORDER BY t.n",
    )
    .bind(times)
    .bind(time_zone)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(sqlx::FromRow)]
struct SpentRow {
    child_id: Uuid,
    day: NaiveDate,
    spent: Decimal,
}

/// What these children spent on these local days, sales minus refunds.
pub(crate) async fn spent(
    conn: &mut PgConnection,
    children: &[Uuid],
    days: &[NaiveDate],
    time_zone: &str,
) -> Result<HashMap<(ChildId, NaiveDate), Money>> {
    let rows: Vec<SpentRow> = sqlx::query_as(
        "SELECT child_id, (at AT TIME ZONE $3)::date AS day, -sum(amount) AS spent FROM entries
         WHERE child_id = ANY($1) AND kind IN ('sale', 'refund')
           AND (at AT TIME ZONE $3)::date = ANY($2)
         GROUP BY 1, 2",
    )
    .bind(children)
    .bind(days)
    .bind(time_zone)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ((ChildId(row.child_id), row.day), money(row.spent)))
        .collect())
}

/// The batch's new entries, column by column, for `unnest`.
#[derive(Default)]
pub(crate) struct Columns {
    id: Vec<Uuid>,
    pub(crate) child: Vec<Uuid>,
    kind: Vec<&'static str>,
    amount: Vec<Decimal>,
    at: Vec<DateTime<Utc>>,
    counter: Vec<String>,
    club: Vec<String>,
    card: Vec<Option<String>>,
    refund_of: Vec<Option<Uuid>>,
    lines: Vec<Option<String>>,
    flags: Vec<String>,
    balance_after: Vec<Decimal>,
}

impl Columns {
    pub(crate) fn add(
        &mut self,
        entry: &Entry,
        kind: KindColumns,
        club: &str,
        flags: &[Flag],
        balance_after: Money,
    ) {
        let flags: Vec<&str> = flags.iter().map(|f| flag_name(*f)).collect();
        self.id.push(entry.id);
        self.child.push(entry.child.0);
        self.kind.push(entry.kind.label());
        self.amount.push(entry.amount.decimal());
        self.at.push(entry.at);
        self.counter.push(entry.counter.clone());
        self.club.push(club.to_string());
        self.card.push(kind.card);
        self.refund_of.push(kind.refund_of);
        self.lines.push(kind.lines);
        self.flags.push(flags.join(","));
        self.balance_after.push(balance_after.decimal());
    }
}

/// One INSERT for all of the batch's new entries.
pub(crate) async fn insert_rows(conn: &mut PgConnection, columns: &Columns) -> Result<()> {
    if columns.id.is_empty() {
        return Ok(());
    }
    let inserted = sqlx::query(
        "INSERT INTO entries (id, child_id, kind, amount, at, counter, club, card_uid,
                              refund_of, lines, flags, balance_after)
         SELECT t.id, t.child_id, t.kind, t.amount, t.at, t.counter, t.club, t.card_uid,
                t.refund_of, t.lines::jsonb,
                coalesce(string_to_array(nullif(t.flags, ''), ','), '{}'), t.balance_after
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::numeric[], $5::timestamptz[],
                     $6::text[], $7::text[], $8::text[], $9::uuid[], $10::text[], $11::text[],
                     $12::numeric[])
           AS t(id, child_id, kind, amount, at, counter, club, card_uid, refund_of, lines,
                flags, balance_after)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&columns.id)
    .bind(&columns.child)
    .bind(&columns.kind)
    .bind(&columns.amount)
    .bind(&columns.at)
    .bind(&columns.counter)
    .bind(&columns.club)
    .bind(&columns.card)
    .bind(&columns.refund_of)
    .bind(&columns.lines)
    .bind(&columns.flags)
    .bind(&columns.balance_after)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // Every id was looked up with its child locked, or before the lock
    // with the child's change number the same under it (none of its entries
    // recorded in between); one that appeared since belongs to another
    // child's entry, pushed under the same id.
    if inserted != columns.id.len() as u64 {
        return Err(DbError::refused(
            "an entry id in this batch is already used for another entry",
        ));
    }
    Ok(())
}
