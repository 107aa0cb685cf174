//! A child's payers: name and e-mail, written with the child's enrolment
//! or by the office on the child's page, and removed there (kept, marked
//! removed). Not logins (issue 16 links them to people).

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::office_log::{self, Action, Actor, Change};
use super::{DbError, Result};
use crate::cpr::CprHash;
use klubkasse_core::domain::ChildId;

/// A payer to add; checked already (see `crate::import`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayer {
    pub name: String,
    pub email: Option<String>,
    /// A custody holder's CPR number, hashed (the import's `payer1_cpr`).
    pub custody: Option<CprHash>,
}

/// A payer as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Payer {
    pub id: Uuid,
    pub child_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Adds a payer of `child`, inside the caller's transaction (the child's
/// enrolment, or a change the office logs).
pub async fn add(conn: &mut PgConnection, child: ChildId, payer: &NewPayer) -> Result<Payer> {
    Ok(sqlx::query_as(
        "INSERT INTO payers (id, child_id, name, email, cpr_hmac) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, child_id, name, email, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(child.0)
    .bind(&payer.name)
    .bind(&payer.email)
    .bind(payer.custody.as_ref().map(|h| h.0.as_slice()))
    .fetch_one(conn)
    .await?)
}

/// The child's payers, first added first, not those removed. The caller
/// has checked the child's scope.
pub async fn for_child<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    child: ChildId,
) -> Result<Vec<Payer>> {
    Ok(sqlx::query_as(
        "SELECT id, child_id, name, email, created_at FROM payers
         WHERE child_id = $1 AND removed_at IS NULL ORDER BY created_at, id",
    )
    .bind(child.0)
    .fetch_all(executor)
    .await?)
}

/// A payer added by the office, in the office log.
pub async fn add_one(
    pool: &PgPool,
    actor: &Actor,
    child: ChildId,
    payer: &NewPayer,
) -> Result<Payer> {
    let mut tx = pool.begin().await?;
    let added = add(&mut tx, child, payer).await?;
    let change = Change::child(Action::PayerAdd, child)
        .after(json!({ "payer": added.id, "name": added.name, "email": added.email }));
    office_log::write(&mut tx, actor, change).await?;
    tx.commit().await?;
    Ok(added)
}

#[derive(sqlx::FromRow)]
struct Removed {
    #[sqlx(flatten)]
    payer: Payer,
    person_id: Option<Uuid>,
}

/// Removes a payer of `child` (kept, marked removed), in the office log.
/// Not found: no such payer of this child, or removed already. The
/// person who was this payer loses the child with their settings for it
/// (unless they are another of its payers), and their sessions end at
/// once: a custody change takes effect at their next click. The child's
/// money and history stay.
pub async fn remove(pool: &PgPool, actor: &Actor, child: ChildId, payer: Uuid) -> Result<()> {
    let mut tx = pool.begin().await?;
    let removed: Option<Removed> = sqlx::query_as(
        "UPDATE payers SET removed_at = now()
         WHERE id = $1 AND child_id = $2 AND removed_at IS NULL
         RETURNING id, child_id, name, email, created_at, person_id",
    )
    .bind(payer)
    .bind(child.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Removed {
        payer: removed,
        person_id: person,
    } = removed.ok_or_else(|| DbError::not_found(format!("no payer {payer}")))?;
    person_leaves(&mut tx, actor, child, removed.id, person).await?;
    let change = Change::child(Action::PayerRemove, child).before(
        json!({ "payer": removed.id, "name": removed.name, "email": removed.email, "person": person }),
    );
    office_log::write(&mut tx, actor, change).await?;
    tx.commit().await?;
    Ok(())
}

/// `person` (if any) is no longer `payer` of `child`: the payer was
/// removed, or another person typed the code of a newer letter for it.
/// Their withdrawals still waiting go back on the card (a payer who lost
/// custody is not paid from the child's money), they lose the child with
/// their settings for it (unless they are another of its payers), and
/// their sessions end at once.
pub(super) async fn person_leaves(
    tx: &mut PgConnection,
    actor: &Actor,
    child: ChildId,
    payer: Uuid,
    person: Option<Uuid>,
) -> Result<()> {
    let waiting: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM payout_requests WHERE child_id = $1 AND status = 'requested'
           AND (payer_id = $2 OR ($3::uuid IS NOT NULL AND person_id = $3
                AND NOT EXISTS (SELECT 1 FROM payers p WHERE p.person_id = $3
                                AND p.child_id = $1 AND p.removed_at IS NULL)))",
    )
    .bind(child.0)
    .bind(payer)
    .bind(person)
    .fetch_all(&mut *tx)
    .await?;
    for payout in waiting {
        super::payments::reject_payout_in(tx, actor, payout).await?;
    }
    if let Some(person) = person {
        super::activation::unlink(tx, person, child).await?;
        sqlx::query(
            "UPDATE portal_sessions SET ended_at = now() WHERE person_id = $1 AND ended_at IS NULL",
        )
        .bind(person)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
