//! Who may log in to the portal, their logins on the way through the
//! broker, and their sessions. Secrets arrive hashed (`portal::session`
//! hashes); the database never sees a cookie's or a state's value.

use chrono::TimeDelta;
use sqlx::PgPool;
use uuid::Uuid;

use super::Result;
use klubkasse_core::domain::ChildId;

/// A login on its way through the broker, as the callback needs it back.
#[derive(sqlx::FromRow)]
pub struct PendingLogin {
    pub nonce: String,
    pub pkce_verifier: String,
}

pub async fn begin_login(
    pool: &PgPool,
    state_hash: &[u8],
    login: &PendingLogin,
    lifetime: TimeDelta,
) -> Result<()> {
    // Abandoned logins go as new ones come: after `lifetime` a callback
    // is refused anyway.
    sqlx::query("DELETE FROM portal_logins WHERE created_at < now() - make_interval(secs => $1)")
        .bind(lifetime.num_seconds() as f64)
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO portal_logins (state_hash, nonce, pkce_verifier) VALUES ($1, $2, $3)")
        .bind(state_hash)
        .bind(&login.nonce)
        .bind(&login.pkce_verifier)
        .execute(pool)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct TakenLogin {
    #[sqlx(flatten)]
    login: PendingLogin,
    fresh: bool,
}

/// The login of this state, once: a second callback with it finds nothing.
pub async fn take_login(
    pool: &PgPool,
    state_hash: &[u8],
    within: TimeDelta,
) -> Result<Option<PendingLogin>> {
    let taken: Option<TakenLogin> = sqlx::query_as(
        "DELETE FROM portal_logins WHERE state_hash = $1
         RETURNING nonce, pkce_verifier, created_at > now() - make_interval(secs => $2) AS fresh",
    )
    .bind(state_hash)
    .bind(within.num_seconds() as f64)
    .fetch_optional(pool)
    .await?;
    Ok(taken.filter(|t| t.fresh).map(|t| t.login))
}

/// The person the broker's issuer and subject belong to, if the office
/// added them.
pub async fn person_of(pool: &PgPool, issuer: &str, subject: &str) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM people WHERE issuer = $1 AND subject = $2")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(pool)
            .await?,
    )
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
) -> Result<Uuid> {
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

/// Starts a session for a person, with its CSRF token. Sessions older
/// than `lifetime` or ended go as new ones come.
pub async fn begin_session(
    pool: &PgPool,
    id_hash: &[u8],
    person: Uuid,
    csrf: &str,
    lifetime: TimeDelta,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM portal_sessions
         WHERE ended_at IS NOT NULL OR created_at < now() - make_interval(secs => $1)",
    )
    .bind(lifetime.num_seconds() as f64)
    .execute(pool)
    .await?;
    sqlx::query("INSERT INTO portal_sessions (id_hash, person_id, csrf) VALUES ($1, $2, $3)")
        .bind(id_hash)
        .bind(person)
        .bind(csrf)
        .execute(pool)
        .await?;
    Ok(())
}

/// A live session's person.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub person: Uuid,
    /// `parent` or `office`.
    pub role: String,
    pub name: String,
    pub csrf: String,
    /// A parent's children, in id order.
    pub children: Vec<Uuid>,
}

/// The session of this hash, if it is live: used within `idle` and begun
/// within `lifetime`. Finding it touches it, which keeps it live.
pub async fn find_session(
    pool: &PgPool,
    id_hash: &[u8],
    idle: TimeDelta,
    lifetime: TimeDelta,
) -> Result<Option<SessionRow>> {
    Ok(sqlx::query_as(
        "UPDATE portal_sessions s SET last_seen = now()
         FROM people p
         WHERE s.id_hash = $1 AND p.id = s.person_id AND s.ended_at IS NULL
           AND s.last_seen > now() - make_interval(secs => $2)
           AND s.created_at > now() - make_interval(secs => $3)
         RETURNING p.id AS person, p.role, p.name, s.csrf,
                   ARRAY(SELECT child_id FROM parent_children pc
                         WHERE pc.person_id = p.id ORDER BY child_id) AS children",
    )
    .bind(id_hash)
    .bind(idle.num_seconds() as f64)
    .bind(lifetime.num_seconds() as f64)
    .fetch_optional(pool)
    .await?)
}

pub async fn end_session(pool: &PgPool, id_hash: &[u8]) -> Result<()> {
    sqlx::query("UPDATE portal_sessions SET ended_at = now() WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}
