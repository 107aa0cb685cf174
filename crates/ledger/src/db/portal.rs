//! What the parents' and the office's pages read, and the settings only
//! the portal has (support requests, low-balance e-mails). Money moves
//! only through [`super::entries`] and [`super::payments`].

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;
// Dynamic SQL here only splices the query constants, never input.
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use super::clubs::Scope;
use super::mail::MailKind;
use super::office_log::{self, Action, Actor, Change};
use super::{Amount, ChildKey, Paged, Result, Window, money, state_of};
use klubkasse_core::domain::{CardState, ChildId, Money, SaleLine};

/// Today in the clubs' time zone.
pub async fn today(pool: &PgPool, time_zone: &str) -> Result<NaiveDate> {
    Ok(sqlx::query_scalar("SELECT (now() AT TIME ZONE $1)::date")
        .bind(time_zone)
        .fetch_one(pool)
        .await?)
}

/// A moment in the clubs' time zone, for a page.
pub async fn local_time(
    pool: &PgPool,
    at: DateTime<Utc>,
    time_zone: &str,
) -> Result<NaiveDateTime> {
    Ok(sqlx::query_scalar("SELECT $1::timestamptz AT TIME ZONE $2")
        .bind(at)
        .bind(time_zone)
        .fetch_one(pool)
        .await?)
}

/// One child as the overview shows it.
#[derive(Debug, Clone)]
pub struct ChildCard {
    pub id: ChildId,
    pub name: String,
    pub balance: Money,
    pub spent_today: Money,
    /// The child's cards, newest first.
    pub cards: Vec<(String, CardState)>,
}

#[derive(sqlx::FromRow)]
struct ChildCardRow {
    #[sqlx(try_from = "ChildKey")]
    id: ChildId,
    name: String,
    #[sqlx(try_from = "Amount")]
    balance: Money,
    #[sqlx(try_from = "Amount")]
    spent_today: Money,
    /// `uid:state`, newest first.
    cards: Vec<String>,
}

/// The children, by name, with what the overview shows of each.
pub async fn overview(
    pool: &PgPool,
    children: &[ChildId],
    time_zone: &str,
) -> Result<Vec<ChildCard>> {
    let ids: Vec<Uuid> = children.iter().map(|c| c.0).collect();
    let rows: Vec<ChildCardRow> = sqlx::query_as(
        "SELECT c.id, c.name, c.balance,
                coalesce((SELECT -sum(e.amount) FROM entries e
                          WHERE e.child_id = c.id AND e.kind IN ('sale', 'refund')
                            AND (e.at AT TIME ZONE $2)::date = (now() AT TIME ZONE $2)::date), 0)
                    AS spent_today,
                coalesce((SELECT array_agg(k.uid || ':' || k.state ORDER BY k.handed_out_at DESC)
                          FROM cards k WHERE k.child_id = c.id), '{}') AS cards
         FROM children c WHERE c.id = ANY($1) ORDER BY c.name",
    )
    .bind(&ids)
    .bind(time_zone)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ChildCard {
            id: row.id,
            name: row.name,
            balance: row.balance,
            spent_today: row.spent_today,
            cards: row
                .cards
                .iter()
                .filter_map(|c| c.split_once(':'))
                .map(|(uid, state)| (uid.to_string(), state_of(state)))
                .collect(),
        })
        .collect())
}

/// One line of a child's history, in the clubs' local time.
#[derive(Debug, Clone)]
pub struct HistoryLine {
    pub at: NaiveDateTime,
    pub kind: String,
    pub amount: Money,
    pub balance_after: Money,
    /// What was bought, for a sale: "2 × Toast".
    pub items: Vec<SaleLine>,
    /// What the counter noticed (an overdraft, a blocked card), by name.
    pub flags: Vec<String>,
    /// The office's paper receipt, for cash at the office.
    pub receipt: Option<String>,
    /// Why the office corrected the balance.
    pub reason: Option<String>,
    /// How the office dealt with the flags, once it has.
    pub handling: Option<super::flags::Handling>,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    local_at: NaiveDateTime,
    kind: String,
    #[sqlx(try_from = "Amount")]
    amount: Money,
    #[sqlx(try_from = "Amount")]
    balance_after: Money,
    lines: Option<String>,
    flags: Vec<String>,
    receipt: Option<String>,
    reason: Option<String>,
    comment: Option<String>,
    handled_by: Option<String>,
    handled_at: Option<NaiveDateTime>,
}

/// A child's entries on the local days `from..=to`, oldest first.
pub async fn history(
    pool: &PgPool,
    child: ChildId,
    from: NaiveDate,
    to: NaiveDate,
    time_zone: &str,
) -> Result<Vec<HistoryLine>> {
    let rows: Vec<HistoryRow> = sqlx::query_as(
        "SELECT e.at AT TIME ZONE $4 AS local_at, e.kind, e.amount, e.balance_after,
                e.lines::text AS lines, e.flags, e.receipt, e.reason,
                h.comment, h.handled_by, h.handled_at AT TIME ZONE $4 AS handled_at
         FROM entries e LEFT JOIN flag_handlings h ON h.entry_id = e.id
         WHERE e.child_id = $1 AND (e.at AT TIME ZONE $4)::date BETWEEN $2 AND $3
         ORDER BY e.at, e.id",
    )
    .bind(child.0)
    .bind(from)
    .bind(to)
    .bind(time_zone)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| HistoryLine {
            at: row.local_at,
            kind: row.kind,
            amount: row.amount,
            balance_after: row.balance_after,
            items: row
                .lines
                .and_then(|l| serde_json::from_str(&l).ok())
                .unwrap_or_default(),
            flags: row.flags,
            receipt: row.receipt,
            reason: row.reason,
            handling: super::flags::Handling::joined(row.comment, row.handled_by, row.handled_at),
        })
        .collect())
}

/// A parent of a child, as the office sees them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Parent {
    pub name: String,
    pub email: Option<String>,
}

/// The people linked to a child as its parents, by name.
pub async fn parents_of(pool: &PgPool, child: ChildId) -> Result<Vec<Parent>> {
    Ok(sqlx::query_as(
        "SELECT p.name, p.email FROM parent_children pc JOIN people p ON p.id = pc.person_id
         WHERE pc.child_id = $1 ORDER BY p.name, p.id",
    )
    .bind(child.0)
    .fetch_all(pool)
    .await?)
}

/// A support request and its answer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Support {
    pub id: Uuid,
    pub parent_name: String,
    pub child_name: Option<String>,
    pub subject: String,
    pub body: String,
    pub answer: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Records a person's question for the office, unless they sent
/// `per_hour` in the last hour already (None: nothing written). Counted
/// under the person's row lock, so a flood sent at once is counted too.
pub async fn add_support(
    pool: &PgPool,
    person: Uuid,
    child: Option<ChildId>,
    subject: &str,
    body: &str,
    per_hour: u32,
) -> Result<Option<Uuid>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM people WHERE id = $1 FOR UPDATE")
        .bind(person)
        .execute(&mut *tx)
        .await?;
    let sent: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM support_requests
         WHERE person_id = $1 AND created_at > now() - interval '1 hour'",
    )
    .bind(person)
    .fetch_one(&mut *tx)
    .await?;
    if sent >= i64::from(per_hour) {
        return Ok(None);
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO support_requests (id, person_id, child_id, subject, body)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(person)
    .bind(child.map(|c| c.0))
    .bind(subject)
    .bind(body)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

const SUPPORT_SELECT: &str = "SELECT s.id, p.name AS parent_name, c.name AS child_name, s.subject,
        s.body, s.answer, s.created_at
    FROM support_requests s JOIN people p ON p.id = s.person_id
         LEFT JOIN children c ON c.id = s.child_id";

/// A parent's requests, unanswered first, a page at a time.
pub async fn support_of(pool: &PgPool, person: Uuid, window: Window) -> Result<Paged<Support>> {
    let rows = sqlx::query_as(AssertSqlSafe(format!(
        "{SUPPORT_SELECT} WHERE s.person_id = $1
         ORDER BY s.answer IS NOT NULL, s.created_at DESC, s.id DESC OFFSET $2 LIMIT $3"
    )))
    .bind(person)
    .bind(window.offset)
    .bind(window.limit())
    .fetch_all(pool)
    .await?;
    Ok(window.cut(rows))
}

/// The children a support request is about: its child, or for a general
/// question all of the parent's children (any of their clubs may answer).
const SUPPORT_CHILDREN: &str = "CASE WHEN s.child_id IS NOT NULL THEN ARRAY[s.child_id]
         ELSE ARRAY(SELECT pc.child_id FROM parent_children pc WHERE pc.person_id = s.person_id)
    END";

/// The requests within `scope`, unanswered first, a page at a time.
pub async fn support_for_office(
    pool: &PgPool,
    scope: &Scope,
    window: Window,
) -> Result<Paged<Support>> {
    let rows = sqlx::query_as(AssertSqlSafe(format!(
        "{SUPPORT_SELECT}
         WHERE $1::text[] IS NULL
            OR EXISTS (SELECT 1 FROM children k
                       WHERE k.id = ANY({SUPPORT_CHILDREN}) AND club_in_scope(k.club, $1))
         ORDER BY s.answer IS NOT NULL, s.created_at DESC, s.id DESC OFFSET $2 LIMIT $3"
    )))
    .bind(scope.clubs())
    .bind(window.offset)
    .bind(window.limit())
    .fetch_all(pool)
    .await?;
    Ok(window.cut(rows))
}

/// The children a support request is about (see [`SUPPORT_CHILDREN`]);
/// None if there is no such request.
pub async fn support_children(pool: &PgPool, id: Uuid) -> Result<Option<Vec<ChildId>>> {
    let children: Option<Vec<Uuid>> = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT {SUPPORT_CHILDREN} FROM support_requests s WHERE s.id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(children.map(|ids| ids.into_iter().map(ChildId).collect()))
}

/// The office answers a request (again: the new answer replaces it).
pub async fn answer_support(pool: &PgPool, actor: &Actor, id: Uuid, answer: &str) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let before: Option<(Option<Uuid>, Option<String>, Uuid, String)> = sqlx::query_as(
        "SELECT child_id, answer, person_id, subject FROM support_requests WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((child, earlier, person, subject)) = before else {
        return Ok(false);
    };
    sqlx::query("UPDATE support_requests SET answer = $2, answered_at = now() WHERE id = $1")
        .bind(id)
        .bind(answer)
        .execute(&mut *tx)
        .await?;
    let mut change = Change::new(Action::SupportAnswer)
        .before(json!({ "request": id, "answer": earlier }))
        .after(json!({ "request": id, "answer": answer }));
    change.child = child.map(ChildId);
    office_log::write(&mut tx, actor, change).await?;
    let vars = json!({ "subject": subject });
    super::mail::queue_to_person(&mut tx, person, MailKind::SupportAnswered, vars).await?;
    tx.commit().await?;
    Ok(true)
}

#[derive(sqlx::FromRow)]
struct LowBalanceSetting {
    low_balance: Option<Decimal>,
    email: Option<String>,
}

/// A parent's low-balance e-mail setting for a child: the threshold and
/// the address.
pub async fn low_balance(
    pool: &PgPool,
    person: Uuid,
    child: ChildId,
) -> Result<(Option<Money>, Option<String>)> {
    let row: Option<LowBalanceSetting> = sqlx::query_as(
        "SELECT pc.low_balance, p.email FROM parent_children pc JOIN people p ON p.id = pc.person_id
         WHERE pc.person_id = $1 AND pc.child_id = $2",
    )
    .bind(person)
    .bind(child.0)
    .fetch_optional(pool)
    .await?;
    Ok(row.map_or((None, None), |row| (row.low_balance.map(money), row.email)))
}

pub async fn set_low_balance(
    pool: &PgPool,
    person: Uuid,
    child: ChildId,
    threshold: Option<Money>,
    email: Option<&str>,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "UPDATE parent_children SET low_balance = $3, low_balance_sent_at = NULL
         WHERE person_id = $1 AND child_id = $2",
    )
    .bind(person)
    .bind(child.0)
    .bind(threshold.map(Money::decimal))
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE people SET email = coalesce($2, email) WHERE id = $1")
        .bind(person)
        .bind(email)
        .execute(&mut *tx)
        .await?;
    // Already below the new threshold: the mail is due now.
    super::mail::queue_low_balance_of(&mut tx, child).await?;
    tx.commit().await?;
    Ok(())
}

/// The ledger's list of categories.
pub async fn categories(pool: &PgPool) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM categories ORDER BY name")
            .fetch_all(pool)
            .await?,
    )
}

/// The categories of what the child has bought.
pub async fn categories_bought(pool: &PgPool, child: ChildId) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT line->>'category' FROM entries, jsonb_array_elements(lines) AS line
         WHERE child_id = $1 AND kind = 'sale' AND line->>'category' IS NOT NULL",
    )
    .bind(child.0)
    .fetch_all(pool)
    .await?)
}

/// A card order the office still has to act on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenOrder {
    pub id: Uuid,
    pub child_id: Uuid,
    #[sqlx(rename = "name")]
    pub child_name: String,
    pub address: Option<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// The card orders still open, of the children within `scope`.
pub async fn open_orders(pool: &PgPool, scope: &Scope, window: Window) -> Result<Paged<OpenOrder>> {
    let rows = sqlx::query_as(
        "SELECT o.id, o.child_id, c.name, o.address, o.status, o.created_at
         FROM card_orders o JOIN children c ON c.id = o.child_id
         WHERE o.status <> 'handed_out' AND club_in_scope(c.club, $1)
           -- A child that has left gets no card: its orders are not to post.
           AND c.closed_at IS NULL
         ORDER BY o.created_at, o.id OFFSET $2 LIMIT $3",
    )
    .bind(scope.clubs())
    .bind(window.offset)
    .bind(window.limit())
    .fetch_all(pool)
    .await?;
    Ok(window.cut(rows))
}
