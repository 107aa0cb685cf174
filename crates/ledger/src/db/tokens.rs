//! Bearer tokens, stored by their SHA-256 only (`crate::auth` hashes),
//! each with a label to know it by.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
// Dynamic SQL here only splices the column-list constant, never input.
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use super::office_log::{self, Action, Actor, Change};
use super::{DbError, Paged, Result, Window};

/// A token that exists and is not revoked.
#[derive(sqlx::FromRow)]
pub struct TokenRow {
    pub id: Uuid,
    pub label: String,
    /// `admin`, `office`, `kiosk` or `parent` (the table's CHECK allows
    /// nothing else).
    pub role: String,
    /// The counter a kiosk token speaks for.
    pub kiosk: Option<String>,
    pub expired: bool,
    /// The children a parent token may see.
    pub children: Vec<Uuid>,
    /// The clubs an office token may see.
    pub clubs: Vec<String>,
}

/// The token of this hash, noting that it was used.
///
/// `last_used_at` is written only when it is a minute old or more, not on
/// every request: a counter pulls every few seconds, and a write per
/// request would put a new row version, WAL and a row lock on the token
/// for each of them, and make a counter's concurrent requests wait for one
/// another on that lock. To the minute is what `token list` needs to tell
/// a token in use from one forgotten.
pub async fn by_hash(pool: &PgPool, hash: &[u8]) -> Result<Option<TokenRow>> {
    Ok(sqlx::query_as(
        "WITH found AS (
             SELECT t.id, t.label, t.role, t.kiosk, coalesce(t.expires_at <= now(), false) AS expired,
                    t.last_used_at,
                    ARRAY(SELECT child_id FROM token_children c WHERE c.token_id = t.id) AS children,
                    ARRAY(SELECT club FROM token_clubs k WHERE k.token_id = t.id ORDER BY club)
                        AS clubs
             FROM tokens t WHERE t.hash = $1 AND t.revoked_at IS NULL),
         touched AS (
             UPDATE tokens SET last_used_at = now()
             WHERE id IN (SELECT id FROM found WHERE NOT expired)
               AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute'))
         SELECT id, label, role, kiosk, expired, children, clubs FROM found",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await?)
}

/// A token to store; `lifetime`: it expires that long from now.
pub struct NewTokenRow<'a> {
    pub id: Uuid,
    pub hash: &'a [u8],
    pub label: &'a str,
    pub role: &'a str,
    pub kiosk: Option<&'a str>,
    pub lifetime: Option<TimeDelta>,
    pub children: &'a [Uuid],
    pub clubs: &'a [String],
}

/// Why a token was not stored.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("no child with id {0}")]
    UnknownChild(Uuid),
    #[error("there is no club «{0}»")]
    UnknownClub(String),
    #[error("a token labelled «{0}» exists and is not revoked; choose another label")]
    LabelTaken(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for InsertError {
    fn from(error: sqlx::Error) -> InsertError {
        InsertError::Db(error.into())
    }
}

/// Stores a token with its children or clubs, and logs it; nothing is
/// stored if a child or club does not exist or the label is taken.
pub async fn insert(
    pool: &PgPool,
    actor: &Actor,
    token: &NewTokenRow<'_>,
) -> Result<(), InsertError> {
    let mut tx = pool.begin().await?;
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM tokens WHERE label = $1 AND revoked_at IS NULL)",
    )
    .bind(token.label)
    .fetch_one(&mut *tx)
    .await?;
    if taken {
        return Err(InsertError::LabelTaken(token.label.to_string()));
    }
    let expires_at: Option<DateTime<Utc>> = sqlx::query_scalar(
        "INSERT INTO tokens (id, hash, label, role, kiosk, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + $6) RETURNING expires_at",
    )
    .bind(token.id)
    .bind(token.hash)
    .bind(token.label)
    .bind(token.role)
    .bind(token.kiosk)
    .bind(token.lifetime)
    .fetch_one(&mut *tx)
    .await?;
    for child in token.children {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM children WHERE id = $1)")
                .bind(child)
                .fetch_one(&mut *tx)
                .await?;
        if !known {
            return Err(InsertError::UnknownChild(*child));
        }
        sqlx::query(
            "INSERT INTO token_children (token_id, child_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(token.id)
        .bind(child)
        .execute(&mut *tx)
        .await?;
    }
    for club in token.clubs {
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM clubs WHERE name = $1)")
            .bind(club)
            .fetch_one(&mut *tx)
            .await?;
        if !known {
            return Err(InsertError::UnknownClub(club.clone()));
        }
        sqlx::query(
            "INSERT INTO token_clubs (token_id, club) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(token.id)
        .bind(club)
        .execute(&mut *tx)
        .await?;
    }
    let after = json!({
        "token": token.id, "label": token.label, "role": token.role, "kiosk": token.kiosk,
        "children": token.children, "clubs": token.clubs, "expires_at": expires_at,
    });
    office_log::write(
        &mut tx,
        actor,
        Change::new(Action::TokenCreate).after(after),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A token as `token list` shows it (never the token itself: only its
/// hash is stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: Uuid,
    pub label: String,
    pub role: String,
    pub kiosk: Option<String>,
    pub clubs: Vec<String>,
    /// How many children a parent token may see.
    pub children: i64,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const INFO: &str = "SELECT t.id, t.label, t.role, t.kiosk,
                ARRAY(SELECT club FROM token_clubs k WHERE k.token_id = t.id ORDER BY club) AS clubs,
                (SELECT count(*) FROM token_children c WHERE c.token_id = t.id) AS children,
                t.created_at, t.last_used_at, t.expires_at, t.revoked_at
     FROM tokens t";

/// Every token, live ones first, then by label.
pub async fn list(pool: &PgPool, window: Window) -> Result<Paged<TokenInfo>> {
    let rows = sqlx::query_as(AssertSqlSafe(format!(
        "{INFO} ORDER BY t.revoked_at IS NOT NULL, t.label, t.created_at, t.id
         OFFSET $1 LIMIT $2"
    )))
    .bind(window.offset)
    .bind(window.limit())
    .fetch_all(pool)
    .await?;
    Ok(window.cut(rows))
}

/// Revokes the token with this id, or the live token with this label
/// (again: harmless, and not logged again). None if there is no such token.
pub async fn revoke(pool: &PgPool, actor: &Actor, label_or_id: &str) -> Result<Option<TokenInfo>> {
    let mut tx = pool.begin().await?;
    let id: Option<Uuid> = match Uuid::parse_str(label_or_id) {
        Ok(id) => {
            sqlx::query_scalar("SELECT id FROM tokens WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
        }
        // A label is unique among live tokens; a revoked one is revoked.
        Err(_) => {
            sqlx::query_scalar("SELECT id FROM tokens WHERE label = $1 AND revoked_at IS NULL")
                .bind(label_or_id)
                .fetch_optional(&mut *tx)
                .await?
        }
    };
    let Some(id) = id else {
        return Ok(None);
    };
    let newly =
        sqlx::query("UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
    let info: TokenInfo = sqlx::query_as(AssertSqlSafe(format!("{INFO} WHERE t.id = $1")))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if newly {
        let before = json!({ "token": id, "label": info.label, "role": info.role });
        let change = Change::new(Action::TokenRevoke)
            .before(before)
            .after(json!({ "revoked_at": info.revoked_at }));
        office_log::write(&mut tx, actor, change).await?;
    }
    tx.commit().await?;
    Ok(Some(info))
}
