//! Bearer tokens, stored by their SHA-256 only (`crate::auth` hashes).

use chrono::TimeDelta;
use sqlx::PgPool;
use uuid::Uuid;

use super::Result;

/// A token that exists and is not revoked.
#[derive(sqlx::FromRow)]
pub struct TokenRow {
    pub id: Uuid,
    /// `admin`, `kiosk` or `parent` (the table's CHECK allows nothing else).
    pub role: String,
    /// The counter a kiosk token speaks for.
    pub kiosk: Option<String>,
    pub expired: bool,
    /// The children a parent token may see.
    pub children: Vec<Uuid>,
}

pub async fn by_hash(pool: &PgPool, hash: &[u8]) -> Result<Option<TokenRow>> {
    Ok(sqlx::query_as(
        "SELECT t.id, t.role, t.kiosk, coalesce(t.expires_at <= now(), false) AS expired,
                ARRAY(SELECT child_id FROM token_children c WHERE c.token_id = t.id) AS children
         FROM tokens t WHERE t.hash = $1 AND t.revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await?)
}

/// A token to store; `lifetime`: it expires that long from now.
pub struct NewTokenRow<'a> {
    pub id: Uuid,
    pub hash: &'a [u8],
    pub role: &'a str,
    pub kiosk: Option<&'a str>,
    pub lifetime: Option<TimeDelta>,
    pub children: &'a [Uuid],
}

/// Stores a token with its children. `Some(child)`: that child does not
/// exist, and nothing is stored.
pub async fn insert(pool: &PgPool, token: &NewTokenRow<'_>) -> Result<Option<Uuid>> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO tokens (id, hash, role, kiosk, expires_at)
         VALUES ($1, $2, $3, $4, now() + $5)",
    )
    .bind(token.id)
    .bind(token.hash)
    .bind(token.role)
    .bind(token.kiosk)
    .bind(token.lifetime)
    .execute(&mut *tx)
    .await?;
    for child in token.children {
        let known: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM children WHERE id = $1)")
                .bind(child)
                .fetch_one(&mut *tx)
                .await?;
        if !known {
            return Ok(Some(*child));
        }
        sqlx::query(
            "INSERT INTO token_children (token_id, child_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(token.id)
        .bind(child)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(None)
}

/// Revokes a token (again: harmless); false if there is none with this id.
pub async fn revoke(pool: &PgPool, id: Uuid) -> Result<bool> {
    let done =
        sqlx::query("UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}
