//! A counter's push: a batch of sales and refunds recorded in one
//! transaction, all of it or (on a rejected entry) none of it.
//!
//! A batch costs a fixed handful of statements whatever its size: a counter
//! back from an outage pushes hundreds of sales at once and must get them
//! through within its timeout, or it retries the same batch for ever. So
//! everything the checks need is read up front, the rules run in memory,
//! and the new entries and balances are written with one statement each.
//!
//! Pushes that share children wait for each other's row locks, so the
//! locked part is kept short: the entries' JSON, the children's cards and
//! which entries are recorded already are read before the locks. Every
//! change to a child's entries or cards gives the child a new change
//! number in the same transaction (`bump_changes`), so what was read
//! before is read again under the lock only for the children whose number
//! moved in between.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};
use uuid::Uuid;

use super::Settings;
use super::db::{
    KindColumns, LOCK_COLUMNS, Locked, bump_changes, flag_name, flag_of, kind_columns, locked_of,
    money, state_of,
};
use super::error::{LedgerError, Result};
use klubkasse_core::domain::{CardState, CardUid, ChildId, Entry, EntryKind, Money, SaleLine};
use klubkasse_core::protocol::{Flag, PushResult, Pushed};

/// Records a batch. Entries already recorded (an earlier push, or earlier
/// in this batch) answer with their first result. The children are locked
/// in id order, so two batches never wait for each other in a circle, and
/// a batch retried concurrently finds the first one's entries.
pub async fn push(pool: &PgPool, settings: &Settings, entries: &[Entry]) -> Result<PushResult> {
    let encoded = entries
        .iter()
        .map(|e| kind_columns(&e.kind))
        .collect::<Result<Vec<_>, _>>()?;
    let mut tx = pool.begin().await?;
    let seen = Seen::read(&mut tx, entries).await?;
    let mut children = lock_children(&mut tx, entries).await?;
    let mut known = Known::load(&mut tx, settings, entries, &children, seen).await?;
    let mut results = Vec::with_capacity(entries.len());
    let mut columns = Columns::default();
    for ((index, entry), kind) in entries.iter().enumerate().zip(encoded) {
        if let Some((flags, balance)) = known.recorded.get(&entry.id) {
            results.push(Pushed {
                id: entry.id,
                new: false,
                flags: flags.clone(),
                balance: *balance,
            });
            continue;
        }
        let Some(child) = children.get_mut(&entry.child) else {
            return Err(LedgerError::Invalid {
                code: "unknown_child",
                message: format!("entries[{index}]: no child with id {}", entry.child),
            });
        };
        let mut flags = match &entry.kind {
            EntryKind::Sale { card, lines } => known.sale_flags(child, index, entry, card, lines),
            EntryKind::Refund { sale } => {
                known.check_refund(index, entry, *sale)?;
                Vec::new()
            }
            // Checked before the transaction; kept here so nothing slips by.
            _ => {
                return Err(LedgerError::invalid(format!(
                    "entries[{index}]: a counter may push only sales and refunds"
                )));
            }
        };
        if entry.amount.is_negative() && (child.balance + entry.amount).is_negative() {
            flags.insert(0, Flag::Overdraft);
        }
        child.balance += entry.amount;
        known.recorded_now(index, entry, &flags, child.balance);
        columns.add(entry, kind, &child.club, &flags, child.balance);
        results.push(Pushed {
            id: entry.id,
            new: true,
            flags,
            balance: child.balance,
        });
    }
    insert_rows(&mut tx, &columns).await?;
    let balances: BTreeMap<ChildId, Option<Money>> = columns
        .child
        .iter()
        .filter_map(|id| children.get(&ChildId(*id)))
        .map(|c| (c.id, Some(c.balance)))
        .collect();
    // Last before the commit: it takes the one change counter row.
    bump_changes(&mut tx, &balances).await?;
    tx.commit().await?;
    Ok(PushResult { results })
}

/// The batch's children, locked. `NO KEY`: a push changes their balance,
/// never their key, so foreign-key checks on them (key share) need not wait.
async fn lock_children(
    conn: &mut PgConnection,
    entries: &[Entry],
) -> Result<BTreeMap<ChildId, Locked>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {LOCK_COLUMNS} FROM children WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE"
    )))
    .bind(child_ids(entries))
    .fetch_all(&mut *conn)
    .await?;
    let mut children = BTreeMap::new();
    for row in &rows {
        let locked = locked_of(row)?;
        children.insert(locked.id, locked);
    }
    Ok(children)
}

/// The batch's children, each once, in id order.
fn child_ids(entries: &[Entry]) -> Vec<Uuid> {
    entries
        .iter()
        .map(|e| e.child.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Card UID → owner and state.
type Cards = HashMap<String, (Uuid, CardState)>;
/// Entry id → its flags and the balance right after it.
type Recorded = HashMap<Uuid, (Vec<Flag>, Money)>;

/// What was read before the children were locked, with the change number
/// each child had then.
struct Seen {
    change_seq: HashMap<ChildId, i64>,
    cards: Cards,
    recorded: Recorded,
}

impl Seen {
    async fn read(conn: &mut PgConnection, entries: &[Entry]) -> Result<Seen> {
        let (change_seq, cards) = cards_of(conn, &child_ids(entries)).await?;
        let ids: Vec<Uuid> = entries.iter().map(|e| e.id).collect();
        let recorded = recorded(conn, &ids).await?;
        Ok(Seen {
            change_seq,
            cards,
            recorded,
        })
    }

    /// Brought up to date for the children whose change number moved since
    /// (or that were not there): their cards, and their entries that were
    /// not recorded then (a concurrent push of the same batch).
    async fn recheck(
        mut self,
        conn: &mut PgConnection,
        entries: &[Entry],
        children: &BTreeMap<ChildId, Locked>,
    ) -> Result<(Cards, Recorded)> {
        let moved: BTreeSet<ChildId> = children
            .values()
            .filter(|c| self.change_seq.get(&c.id) != Some(&c.change_seq))
            .map(|c| c.id)
            .collect();
        if moved.is_empty() {
            return Ok((self.cards, self.recorded));
        }
        let ids: Vec<Uuid> = moved.iter().map(|c| c.0).collect();
        let (_, cards) = cards_of(conn, &ids).await?;
        self.cards
            .retain(|_, (owner, _)| !moved.contains(&ChildId(*owner)));
        self.cards.extend(cards);
        let unseen: Vec<Uuid> = entries
            .iter()
            .filter(|e| moved.contains(&e.child) && !self.recorded.contains_key(&e.id))
            .map(|e| e.id)
            .collect();
        if !unseen.is_empty() {
            self.recorded.extend(recorded(conn, &unseen).await?);
        }
        Ok((self.cards, self.recorded))
    }
}

/// The children's change numbers and their cards. A card another child
/// owns is not among them, and a sale with it is flagged as with an
/// unknown card either way.
async fn cards_of(
    conn: &mut PgConnection,
    children: &[Uuid],
) -> Result<(HashMap<ChildId, i64>, Cards)> {
    let mut change_seq = HashMap::new();
    let mut cards = HashMap::new();
    // A join with the ids, not `= ANY($1)`: on a small table the generic
    // plan scans it and tests every row against every id.
    for row in sqlx::query(
        "SELECT ch.id, ch.change_seq, c.uid, c.state
         FROM unnest($1::uuid[]) AS t(id) JOIN children ch ON ch.id = t.id
         LEFT JOIN cards c ON c.child_id = ch.id",
    )
    .bind(children)
    .fetch_all(&mut *conn)
    .await?
    {
        let child: Uuid = row.try_get("id")?;
        change_seq.insert(ChildId(child), row.try_get("change_seq")?);
        if let Some(uid) = row.try_get::<Option<String>, _>("uid")? {
            let state: String = row.try_get("state")?;
            cards.insert(uid, (child, state_of(&state)));
        }
    }
    Ok((change_seq, cards))
}

async fn recorded(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Recorded> {
    let mut recorded = HashMap::new();
    for row in sqlx::query("SELECT id, flags, balance_after FROM entries WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?
    {
        let flags: Vec<String> = row.try_get("flags")?;
        recorded.insert(
            row.try_get("id")?,
            (
                flags.iter().filter_map(|f| flag_of(f)).collect(),
                money(row.try_get("balance_after")?),
            ),
        );
    }
    Ok(recorded)
}

/// A sale or refund as the refund rules need it.
struct Booked {
    child: ChildId,
    is_sale: bool,
    amount: Money,
}

/// What the rules need to know, read once for the whole batch and kept up
/// to date as the batch's own entries are recorded.
struct Known {
    recorded: Recorded,
    cards: Cards,
    /// Sales refunds name, from the database and from this batch.
    booked: HashMap<Uuid, Booked>,
    /// Sale id → what has been refunded of it so far.
    refunded: HashMap<Uuid, Money>,
    /// Entry index → its day in the clubs' time zone (limited children only).
    day_of: HashMap<usize, NaiveDate>,
    /// (child, day) → spent that day, sales minus refunds.
    spent: HashMap<(ChildId, NaiveDate), Money>,
}

impl Known {
    /// With the children locked: what was seen before, brought up to date,
    /// and what only the lock keeps still (refunds, the day's spending).
    async fn load(
        conn: &mut PgConnection,
        settings: &Settings,
        entries: &[Entry],
        children: &BTreeMap<ChildId, Locked>,
        seen: Seen,
    ) -> Result<Known> {
        let (cards, recorded) = seen.recheck(conn, entries, children).await?;

        let sales: Vec<Uuid> = entries
            .iter()
            .filter_map(|e| match e.kind {
                EntryKind::Refund { sale } => Some(sale),
                _ => None,
            })
            .collect();
        let mut booked = HashMap::new();
        let mut refunded = HashMap::new();
        if !sales.is_empty() {
            for row in
                sqlx::query("SELECT id, child_id, kind, amount FROM entries WHERE id = ANY($1)")
                    .bind(&sales)
                    .fetch_all(&mut *conn)
                    .await?
            {
                let kind: String = row.try_get("kind")?;
                booked.insert(
                    row.try_get("id")?,
                    Booked {
                        child: ChildId(row.try_get("child_id")?),
                        is_sale: kind == "sale",
                        amount: money(row.try_get("amount")?),
                    },
                );
            }
            for row in sqlx::query(
                "SELECT refund_of, sum(amount) AS refunded FROM entries
                 WHERE refund_of = ANY($1) GROUP BY refund_of",
            )
            .bind(&sales)
            .fetch_all(&mut *conn)
            .await?
            {
                refunded.insert(row.try_get("refund_of")?, money(row.try_get("refunded")?));
            }
        }

        let (day_of, spent) = spending(conn, settings, entries, children).await?;
        Ok(Known {
            recorded,
            cards,
            booked,
            refunded,
            day_of,
            spent,
        })
    }

    fn sale_flags(
        &self,
        child: &Locked,
        index: usize,
        entry: &Entry,
        card: &CardUid,
        lines: &[SaleLine],
    ) -> Vec<Flag> {
        let mut flags = Vec::new();
        match self.cards.get(card.as_str()) {
            Some((owner, _)) if *owner != child.id.0 => flags.push(Flag::UnknownCard),
            Some((_, CardState::Blocked)) => flags.push(Flag::CardBlocked),
            Some(_) => {}
            None => flags.push(Flag::UnknownCard),
        }
        if let (Some(limit), Some(day)) = (child.daily_limit, self.day_of.get(&index)) {
            let spent = self
                .spent
                .get(&(child.id, *day))
                .copied()
                .unwrap_or(Money::ZERO);
            if spent - entry.amount > limit {
                flags.push(Flag::DailyLimitExceeded);
            }
        }
        if lines.iter().any(|line| {
            child
                .blocked_categories
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&line.category))
        }) {
            flags.push(Flag::CategoryBlocked);
        }
        flags
    }

    /// A refund gives back (part of) a recorded sale of the same child, and
    /// all refunds of a sale together never exceed it.
    fn check_refund(&self, index: usize, entry: &Entry, sale: Uuid) -> Result<()> {
        let Some(booked) = self.booked.get(&sale) else {
            return Err(LedgerError::Invalid {
                code: "unknown_sale",
                message: format!("entries[{index}]: no sale with id {sale}; push the sale first"),
            });
        };
        if !booked.is_sale || booked.child != entry.child {
            return Err(LedgerError::invalid(format!(
                "entries[{index}]: {sale} is not a sale to this child"
            )));
        }
        let sold = -booked.amount;
        let refunded = self.refunded.get(&sale).copied().unwrap_or(Money::ZERO);
        if refunded + entry.amount > sold {
            return Err(LedgerError::Invalid {
                code: "refund_too_large",
                message: format!(
                    "entries[{index}]: the sale was {}, {} is refunded already",
                    sold.to_plain_string(),
                    refunded.to_plain_string()
                ),
            });
        }
        Ok(())
    }

    /// The batch's own entry is recorded: later entries see it, as they
    /// would had it come in an earlier push.
    fn recorded_now(&mut self, index: usize, entry: &Entry, flags: &[Flag], balance: Money) {
        self.recorded.insert(entry.id, (flags.to_vec(), balance));
        if let EntryKind::Refund { sale } = entry.kind {
            *self.refunded.entry(sale).or_insert(Money::ZERO) += entry.amount;
        }
        self.booked.insert(
            entry.id,
            Booked {
                child: entry.child,
                is_sale: matches!(entry.kind, EntryKind::Sale { .. }),
                amount: entry.amount,
            },
        );
        if let Some(day) = self.day_of.get(&index) {
            *self.spent.entry((entry.child, *day)).or_insert(Money::ZERO) -= entry.amount;
        }
    }
}

/// For the children with a daily limit: each of their entries' day in the
/// clubs' time zone, and what they had spent on those days before.
async fn spending(
    conn: &mut PgConnection,
    settings: &Settings,
    entries: &[Entry],
    children: &BTreeMap<ChildId, Locked>,
) -> Result<(
    HashMap<usize, NaiveDate>,
    HashMap<(ChildId, NaiveDate), Money>,
)> {
    let limited: Vec<(usize, DateTime<Utc>)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            children
                .get(&e.child)
                .is_some_and(|c| c.daily_limit.is_some())
        })
        .map(|(i, e)| (i, e.at))
        .collect();
    if limited.is_empty() {
        return Ok((HashMap::new(), HashMap::new()));
    }
    let times: Vec<DateTime<Utc>> = limited.iter().map(|(_, at)| *at).collect();
    let days: Vec<NaiveDate> = sqlx::query_scalar(
        "SELECT (t.at AT TIME ZONE $2)::date FROM unnest($1::timestamptz[]) WITH ORDINALITY AS t(at, n)
         ORDER BY t.n",
    )
    .bind(&times)
    .bind(&settings.time_zone)
    .fetch_all(&mut *conn)
    .await?;
    let day_of: HashMap<usize, NaiveDate> = limited.iter().map(|(i, _)| *i).zip(days).collect();
    let child_ids: Vec<Uuid> = limited
        .iter()
        .map(|(i, _)| entries[*i].child.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let wanted: Vec<NaiveDate> = day_of
        .values()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut spent = HashMap::new();
    for row in sqlx::query(
        "SELECT child_id, (at AT TIME ZONE $3)::date AS day, -sum(amount) AS spent FROM entries
         WHERE child_id = ANY($1) AND kind IN ('sale', 'refund')
           AND (at AT TIME ZONE $3)::date = ANY($2)
         GROUP BY 1, 2",
    )
    .bind(&child_ids)
    .bind(&wanted)
    .bind(&settings.time_zone)
    .fetch_all(&mut *conn)
    .await?
    {
        let spent_that_day: Decimal = row.try_get("spent")?;
        spent.insert(
            (ChildId(row.try_get("child_id")?), row.try_get("day")?),
            money(spent_that_day),
        );
    }
    Ok((day_of, spent))
}

/// One INSERT for all of the batch's new entries.
async fn insert_rows(conn: &mut PgConnection, columns: &Columns) -> Result<()> {
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
        return Err(LedgerError::invalid(
            "an entry id in this batch is already used for another entry",
        ));
    }
    Ok(())
}

/// The batch's new entries, column by column, for `unnest`.
#[derive(Default)]
struct Columns {
    id: Vec<Uuid>,
    child: Vec<Uuid>,
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
    fn add(
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
