//! The portal's own queries: logins, people, payments, and what a parent's
//! pages show. Money moves only through [`crate::db`], so every
//! entry keeps the balance and the counters' change numbers in step.

use chrono::TimeDelta;
use rust_decimal::Decimal;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::oidc::{Identity, Started};
use super::session::sha256;
use crate::db::money;
use klubkasse_core::domain::{CardState, ChildId, Money};

/// What the callback needs back from [`begin_login`].
pub struct PendingLogin {
    pub nonce: String,
    pub pkce_verifier: String,
}

pub async fn begin_login(pool: &PgPool, started: &Started) -> Result<(), sqlx::Error> {
    // Abandoned logins go as new ones come: after ten minutes a callback
    // is refused anyway (login::LOGIN_TIME).
    sqlx::query("DELETE FROM portal_logins WHERE created_at < now() - interval '10 minutes'")
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO portal_logins (state_hash, nonce, pkce_verifier) VALUES ($1, $2, $3)")
        .bind(sha256(&started.state))
        .bind(&started.nonce)
        .bind(&started.pkce_verifier)
        .execute(pool)
        .await
        .map(drop)
}

/// The login of this state, once: a second callback with it finds nothing.
pub async fn take_login(
    pool: &PgPool,
    state: &str,
    within: TimeDelta,
) -> Result<Option<PendingLogin>, sqlx::Error> {
    let row = sqlx::query(
        "DELETE FROM portal_logins WHERE state_hash = $1
         RETURNING nonce, pkce_verifier, created_at > now() - make_interval(secs => $2) AS fresh",
    )
    .bind(sha256(state))
    .bind(within.num_seconds() as f64)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) if row.try_get::<bool, _>("fresh")? => Ok(Some(PendingLogin {
            nonce: row.try_get("nonce")?,
            pkce_verifier: row.try_get("pkce_verifier")?,
        })),
        _ => Ok(None),
    }
}

/// The person the broker's identity belongs to, if the office added them.
pub async fn person_of(pool: &PgPool, identity: &Identity) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM people WHERE issuer = $1 AND subject = $2")
        .bind(&identity.issuer)
        .bind(&identity.subject)
        .fetch_optional(pool)
        .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonRole {
    Parent,
    Office,
}

/// Adds someone who may log in (the office does this); a parent is linked
/// to their children. Adding the same identity again links more children.
pub async fn add_person(
    pool: &PgPool,
    issuer: &str,
    subject: &str,
    role: PersonRole,
    name: &str,
    email: Option<&str>,
    children: &[ChildId],
) -> Result<Uuid, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let role = match role {
        PersonRole::Parent => "parent",
        PersonRole::Office => "office",
    };
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO people (id, issuer, subject, role, name, email) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (issuer, subject) DO UPDATE SET name = excluded.name,
             role = excluded.role, email = coalesce(excluded.email, people.email)
         RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(issuer)
    .bind(subject)
    .bind(role)
    .bind(name)
    .bind(email)
    .fetch_one(&mut *tx)
    .await?;
    let ids: Vec<Uuid> = children.iter().map(|c| c.0).collect();
    sqlx::query(
        "INSERT INTO parent_children (person_id, child_id) SELECT $1, unnest($2::uuid[])
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
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

/// The children, by name, with what the overview shows of each.
pub async fn overview(
    pool: &PgPool,
    children: &[ChildId],
    time_zone: &str,
) -> Result<Vec<ChildCard>, sqlx::Error> {
    let ids: Vec<Uuid> = children.iter().map(|c| c.0).collect();
    let rows = sqlx::query(
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
    rows.iter()
        .map(|row| {
            let cards: Vec<String> = row.try_get("cards")?;
            Ok(ChildCard {
                id: ChildId(row.try_get("id")?),
                name: row.try_get("name")?,
                balance: money(row.try_get::<Decimal, _>("balance")?),
                spent_today: money(row.try_get::<Decimal, _>("spent_today")?),
                cards: cards
                    .iter()
                    .filter_map(|c| c.split_once(':'))
                    .map(|(uid, state)| {
                        let state = if state == "blocked" {
                            CardState::Blocked
                        } else {
                            CardState::Active
                        };
                        (uid.to_string(), state)
                    })
                    .collect(),
            })
        })
        .collect()
}

/// A payment as the portal keeps it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub id: Uuid,
    pub person: Uuid,
    pub child: ChildId,
    pub amount: Money,
    pub provider_ref: String,
    pub status: String,
}

pub async fn add_payment(
    pool: &PgPool,
    payment: &Payment,
    provider: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payments (id, person_id, child_id, amount, provider, provider_ref, status)
         VALUES ($1, $2, $3, $4, $5, $6, 'started')",
    )
    .bind(payment.id)
    .bind(payment.person)
    .bind(payment.child.0)
    .bind(payment.amount.decimal())
    .bind(provider)
    .bind(&payment.provider_ref)
    .execute(pool)
    .await
    .map(drop)
}

const PAYMENT_COLUMNS: &str = "id, person_id, child_id, amount, provider_ref, status";

fn payment_of(row: &sqlx::postgres::PgRow) -> Result<Payment, sqlx::Error> {
    Ok(Payment {
        id: row.try_get("id")?,
        person: row.try_get("person_id")?,
        child: ChildId(row.try_get("child_id")?),
        amount: money(row.try_get::<Decimal, _>("amount")?),
        provider_ref: row.try_get("provider_ref")?,
        status: row.try_get("status")?,
    })
}

pub async fn payment(pool: &PgPool, id: Uuid) -> Result<Option<Payment>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(payment_of)
    .transpose()
}

/// Marks a payment paid (with its deposit) or failed; only a started one.
pub async fn settle_payment(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    entry: Option<Uuid>,
) -> Result<(), sqlx::Error> {
    let status = if entry.is_some() { "paid" } else { "failed" };
    sqlx::query(
        "UPDATE payments SET status = $2, entry_id = $3, updated_at = now()
         WHERE id = $1 AND status = 'started'",
    )
    .bind(id)
    .bind(status)
    .bind(entry)
    .execute(conn)
    .await
    .map(drop)
}

/// One line of a child's history, in the clubs' local time.
#[derive(Debug, Clone)]
pub struct HistoryLine {
    pub at: chrono::NaiveDateTime,
    pub kind: String,
    pub amount: Money,
    pub balance_after: Money,
    /// What was bought, for a sale: "2 × Toast".
    pub items: Vec<klubkasse_core::domain::SaleLine>,
}

/// A child's entries on the local days `from..=to`, oldest first.
pub async fn history(
    pool: &PgPool,
    child: ChildId,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    time_zone: &str,
) -> Result<Vec<HistoryLine>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT at AT TIME ZONE $4 AS local_at, kind, amount, balance_after, lines::text AS lines
         FROM entries
         WHERE child_id = $1 AND (at AT TIME ZONE $4)::date BETWEEN $2 AND $3
         ORDER BY at, id",
    )
    .bind(child.0)
    .bind(from)
    .bind(to)
    .bind(time_zone)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let lines: Option<String> = row.try_get("lines")?;
            Ok(HistoryLine {
                at: row.try_get("local_at")?,
                kind: row.try_get("kind")?,
                amount: money(row.try_get::<Decimal, _>("amount")?),
                balance_after: money(row.try_get::<Decimal, _>("balance_after")?),
                items: lines
                    .and_then(|l| serde_json::from_str(&l).ok())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Today in the clubs' time zone.
pub async fn today(pool: &PgPool, time_zone: &str) -> Result<chrono::NaiveDate, sqlx::Error> {
    sqlx::query_scalar("SELECT (now() AT TIME ZONE $1)::date")
        .bind(time_zone)
        .fetch_one(pool)
        .await
}

/// Takes money off the card at once (so it cannot be spent too) and asks
/// the office to pay it to the parent's bank account: both or neither.
/// `id` comes with the form: the same form sent twice asks once.
pub async fn request_payout(
    pool: &PgPool,
    id: Uuid,
    person: Uuid,
    child: ChildId,
    amount: Money,
    bank_account: &str,
) -> Result<Uuid, crate::error::LedgerError> {
    let mut tx = pool.begin().await?;
    let (entry, new) =
        crate::db::money_entry_in(&mut tx, None, child, false, amount, Some(id), "parent").await?;
    if !new {
        return Ok(id);
    }
    sqlx::query(
        "INSERT INTO payout_requests
             (id, person_id, child_id, amount, bank_account, status, withdrawal_entry)
         VALUES ($1, $2, $3, $4, $5, 'requested', $6)",
    )
    .bind(id)
    .bind(person)
    .bind(child.0)
    .bind(amount.decimal())
    .bind(bank_account)
    .bind(entry.entry.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A payout request as the parent and the office see it.
#[derive(Debug, Clone)]
pub struct Payout {
    pub id: Uuid,
    pub child_name: String,
    pub parent_name: String,
    pub amount: Money,
    pub bank_account: String,
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Payout requests: a child's (`Some`), or all still waiting (`None`).
pub async fn payouts(pool: &PgPool, child: Option<ChildId>) -> Result<Vec<Payout>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT r.id, c.name AS child_name, p.name AS parent_name, r.amount, r.bank_account,
                r.status, r.created_at
         FROM payout_requests r JOIN children c ON c.id = r.child_id
              JOIN people p ON p.id = r.person_id
         WHERE CASE WHEN $1::uuid IS NULL THEN r.status = 'requested' ELSE r.child_id = $1 END
         ORDER BY r.created_at DESC",
    )
    .bind(child.map(|c| c.0))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Payout {
                id: row.try_get("id")?,
                child_name: row.try_get("child_name")?,
                parent_name: row.try_get("parent_name")?,
                amount: money(row.try_get::<Decimal, _>("amount")?),
                bank_account: row.try_get("bank_account")?,
                status: row.try_get("status")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// The office cannot pay it out (a wrong account, say): the money goes
/// back on the card, with the request's new state, in one transaction.
/// Only a request still waiting; false if it was not.
pub async fn reject_payout(pool: &PgPool, id: Uuid) -> Result<bool, crate::error::LedgerError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query(
        "SELECT child_id, amount FROM payout_requests WHERE id = $1 AND status = 'requested'
         FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let child = ChildId(row.try_get("child_id")?);
    let amount = money(row.try_get::<Decimal, _>("amount")?);
    // Back whatever the cap: it was the card's money a moment ago.
    let (entry, _) =
        crate::db::money_entry_in(&mut tx, None, child, true, amount, None, "office").await?;
    sqlx::query(
        "UPDATE payout_requests SET status = 'rejected', reversal_entry = $2, decided_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(entry.entry.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The office paid it out.
pub async fn mark_payout_paid(pool: &PgPool, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payout_requests SET status = 'paid', decided_at = now()
         WHERE id = $1 AND status = 'requested'",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A support request and its answer.
#[derive(Debug, Clone)]
pub struct Support {
    pub id: Uuid,
    pub parent_name: String,
    pub child_name: Option<String>,
    pub subject: String,
    pub body: String,
    pub answer: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn add_support(
    pool: &PgPool,
    person: Uuid,
    child: Option<ChildId>,
    subject: &str,
    body: &str,
) -> Result<Uuid, sqlx::Error> {
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
    .execute(pool)
    .await?;
    Ok(id)
}

/// A parent's requests (`Some`), or every request for the office (`None`),
/// unanswered first.
pub async fn support(pool: &PgPool, person: Option<Uuid>) -> Result<Vec<Support>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.id, p.name AS parent_name, c.name AS child_name, s.subject, s.body, s.answer,
                s.created_at
         FROM support_requests s JOIN people p ON p.id = s.person_id
              LEFT JOIN children c ON c.id = s.child_id
         WHERE $1::uuid IS NULL OR s.person_id = $1
         ORDER BY s.answer IS NOT NULL, s.created_at DESC",
    )
    .bind(person)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Support {
                id: row.try_get("id")?,
                parent_name: row.try_get("parent_name")?,
                child_name: row.try_get("child_name")?,
                subject: row.try_get("subject")?,
                body: row.try_get("body")?,
                answer: row.try_get("answer")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

pub async fn answer_support(pool: &PgPool, id: Uuid, answer: &str) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE support_requests SET answer = $2, answered_at = now() WHERE id = $1")
            .bind(id)
            .bind(answer)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// A parent's low-balance e-mail setting for a child.
pub async fn low_balance(
    pool: &PgPool,
    person: Uuid,
    child: ChildId,
) -> Result<(Option<Money>, Option<String>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT pc.low_balance, p.email FROM parent_children pc JOIN people p ON p.id = pc.person_id
         WHERE pc.person_id = $1 AND pc.child_id = $2",
    )
    .bind(person)
    .bind(child.0)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => Ok((
            row.try_get::<Option<Decimal>, _>("low_balance")?.map(money),
            row.try_get("email")?,
        )),
        None => Ok((None, None)),
    }
}

pub async fn set_low_balance(
    pool: &PgPool,
    person: Uuid,
    child: ChildId,
    threshold: Option<Money>,
    email: Option<&str>,
) -> Result<(), sqlx::Error> {
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
    tx.commit().await
}

/// A low-balance e-mail to send: to whom, about which child.
#[derive(Debug, Clone)]
pub struct LowBalance {
    pub person: Uuid,
    pub child: ChildId,
    pub email: String,
    pub child_name: String,
    pub balance: Money,
    pub threshold: Money,
}

/// Claims the low-balance e-mails now due for these children: a balance
/// below a parent's threshold with no e-mail since it went below. A
/// balance back at or above the threshold makes the next fall count again.
pub async fn claim_low_balance(
    pool: &PgPool,
    children: &[ChildId],
) -> Result<Vec<LowBalance>, sqlx::Error> {
    let ids: Vec<Uuid> = children.iter().map(|c| c.0).collect();
    sqlx::query(
        "UPDATE parent_children pc SET low_balance_sent_at = NULL FROM children c
         WHERE c.id = pc.child_id AND pc.child_id = ANY($1)
           AND pc.low_balance_sent_at IS NOT NULL AND c.balance >= pc.low_balance",
    )
    .bind(&ids)
    .execute(pool)
    .await?;
    let rows = sqlx::query(
        "UPDATE parent_children pc SET low_balance_sent_at = now()
         FROM children c, people p
         WHERE c.id = pc.child_id AND p.id = pc.person_id AND pc.child_id = ANY($1)
           AND pc.low_balance IS NOT NULL AND c.balance < pc.low_balance
           AND pc.low_balance_sent_at IS NULL AND p.email IS NOT NULL
         RETURNING pc.person_id, pc.child_id, p.email, c.name, c.balance, pc.low_balance",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(LowBalance {
                person: row.try_get("person_id")?,
                child: ChildId(row.try_get("child_id")?),
                email: row.try_get("email")?,
                child_name: row.try_get("name")?,
                balance: money(row.try_get::<Decimal, _>("balance")?),
                threshold: money(row.try_get::<Decimal, _>("low_balance")?),
            })
        })
        .collect()
}

/// The categories of what the child has bought.
/// The ledger's list of categories.
pub async fn categories(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM categories ORDER BY name")
        .fetch_all(pool)
        .await
}

pub async fn categories_bought(pool: &PgPool, child: ChildId) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT line->>'category' FROM entries, jsonb_array_elements(lines) AS line
         WHERE child_id = $1 AND kind = 'sale' AND line->>'category' IS NOT NULL",
    )
    .bind(child.0)
    .fetch_all(pool)
    .await
}

/// A card order the office still has to act on.
#[derive(Debug, Clone)]
pub struct OpenOrder {
    pub id: Uuid,
    pub child_name: String,
    pub address: Option<String>,
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn open_orders(pool: &PgPool) -> Result<Vec<OpenOrder>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT o.id, c.name, o.address, o.status, o.created_at
         FROM card_orders o JOIN children c ON c.id = o.child_id
         WHERE o.status <> 'handed_out' ORDER BY o.created_at",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(OpenOrder {
                id: row.try_get("id")?,
                child_name: row.try_get("name")?,
                address: row.try_get("address")?,
                status: row.try_get("status")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// A person's payments still open.
pub async fn open_payments(pool: &PgPool, person: Uuid) -> Result<Vec<Payment>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE person_id = $1 AND status = 'started'
         ORDER BY created_at"
    )))
    .bind(person)
    .fetch_all(pool)
    .await?
    .iter()
    .map(payment_of)
    .collect()
}
