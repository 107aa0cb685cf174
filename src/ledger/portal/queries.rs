//! The portal's own queries: logins, people, payments, and what a parent's
//! pages show. Money moves only through [`crate::ledger::db`], so every
//! entry keeps the balance and the counters' change numbers in step.

use chrono::TimeDelta;
use rust_decimal::Decimal;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::oidc::{Identity, Started};
use super::session::sha256;
use crate::domain::{CardState, ChildId, Money};
use crate::ledger::db::money;

/// What the callback needs back from [`begin_login`].
pub struct PendingLogin {
    pub nonce: String,
    pub pkce_verifier: String,
}

pub async fn begin_login(pool: &PgPool, started: &Started) -> Result<(), sqlx::Error> {
    // Old, abandoned logins go as new ones come.
    sqlx::query("DELETE FROM portal_logins WHERE created_at < now() - interval '1 day'")
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
             email = coalesce(excluded.email, people.email)
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

pub async fn payment(pool: &PgPool, id: Uuid) -> Result<Option<Payment>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, person_id, child_id, amount, provider_ref, status FROM payments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(Payment {
            id: row.try_get("id")?,
            person: row.try_get("person_id")?,
            child: ChildId(row.try_get("child_id")?),
            amount: money(row.try_get::<Decimal, _>("amount")?),
            provider_ref: row.try_get("provider_ref")?,
            status: row.try_get("status")?,
        })
    })
    .transpose()
}

/// Marks a payment paid (with its deposit) or failed; only a started one.
pub async fn settle_payment(
    pool: &PgPool,
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
    .execute(pool)
    .await
    .map(drop)
}
