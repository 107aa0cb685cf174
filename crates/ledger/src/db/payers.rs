//! A child's payers: name and e-mail, written with the child's enrolment.
//! Not logins (issue 16 links them to people).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::Result;
use klubkasse_core::domain::ChildId;

/// A payer to add; checked already (see `crate::import`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayer {
    pub name: String,
    pub email: Option<String>,
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
        "INSERT INTO payers (id, child_id, name, email) VALUES ($1, $2, $3, $4)
         RETURNING id, child_id, name, email, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(child.0)
    .bind(&payer.name)
    .bind(&payer.email)
    .fetch_one(conn)
    .await?)
}

/// The child's payers, first added first. The caller has checked the
/// child's scope.
pub async fn for_child<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    child: ChildId,
) -> Result<Vec<Payer>> {
    Ok(sqlx::query_as(
        "SELECT id, child_id, name, email, created_at FROM payers
         WHERE child_id = $1 ORDER BY created_at, id",
    )
    .bind(child.0)
    .fetch_all(executor)
    .await?)
}
