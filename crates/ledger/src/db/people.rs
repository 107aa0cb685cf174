//! Who may log in to the portal, their logins on the way through the
//! broker, and their sessions. Secrets arrive hashed (`portal::session`
//! hashes); the database never sees a cookie's or a state's value.

use std::collections::BTreeSet;

use chrono::TimeDelta;
use serde_json::json;
// Dynamic SQL here only splices the column-list constant, never input.
use sqlx::{AssertSqlSafe, PgPool};
use uuid::Uuid;

use super::office_log::{self, Action, Actor, Change};
use super::{DbError, Result};
use klubkasse_core::domain::ChildId;

/// A login on its way through the broker, as the callback needs it back.
#[derive(sqlx::FromRow)]
pub struct PendingLogin {
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Records a login on its way to the broker, unless `most` are under
/// way already (false: nothing written).
pub async fn begin_login(
    pool: &PgPool,
    state_hash: &[u8],
    login: &PendingLogin,
    lifetime: TimeDelta,
    most: u32,
) -> Result<bool> {
    // Abandoned logins go as new ones come: after `lifetime` a callback
    // is refused anyway.
    sqlx::query("DELETE FROM portal_logins WHERE created_at < now() - make_interval(secs => $1)")
        .bind(lifetime.num_seconds() as f64)
        .execute(pool)
        .await?;
    // Counted in the same statement: a flood sent at once may pass the
    // cap by the few counted at the same moment, not by thousands.
    let added = sqlx::query(
        "INSERT INTO portal_logins (state_hash, nonce, pkce_verifier)
         SELECT $1, $2, $3 WHERE (SELECT count(*) FROM portal_logins) < $4",
    )
    .bind(state_hash)
    .bind(&login.nonce)
    .bind(&login.pkce_verifier)
    .bind(i64::from(most))
    .execute(pool)
    .await?
    .rows_affected();
    Ok(added == 1)
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

/// The issuer as the ledger keeps it: without a trailing slash, which
/// brokers and people typing it add or leave out for the same broker.
pub fn normal_issuer(issuer: &str) -> &str {
    issuer.trim_end_matches('/')
}

/// The person the broker's issuer and subject belong to, if the office
/// added them.
pub async fn person_of(pool: &PgPool, issuer: &str, subject: &str) -> Result<Option<Uuid>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM people WHERE issuer = $1 AND subject = $2")
            .bind(normal_issuer(issuer))
            .bind(subject)
            .fetch_optional(pool)
            .await?,
    )
}

/// Who the broker says logged in, as [`person_for_login`] needs it.
#[derive(Debug, Clone)]
pub struct LoginIdentity<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub name: &'a str,
    pub email: Option<&'a str>,
    /// The MitID person id, the same whatever the broker's subject.
    pub stable_id: Option<&'a str>,
}

/// A login the ledger will not take as anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefused {
    /// The broker's subject is a person kept with another stable MitID
    /// id: the broker now says someone else owns this subject.
    StableIdChanged,
    /// A new subject whose stable id is office staff's: staff are moved
    /// to a new broker by the municipality (`person`), never by a claim.
    StaffElsewhere,
}

/// The person who logged in: known by issuer and subject; or by the
/// stable MitID id (a new broker, a new subject: the person now goes by
/// these); or new, a parent with no children, who links to a child by
/// an activation letter's code. A stable id not kept yet is kept, unless
/// another person has it. Each new person and changed identity is in
/// the office log, made by the person.
pub async fn person_for_login(
    pool: &PgPool,
    login: &LoginIdentity<'_>,
) -> Result<std::result::Result<Uuid, LoginRefused>> {
    let issuer = normal_issuer(login.issuer);
    let stable = login
        .stable_id
        .map(|s| s.chars().take(200).collect::<String>());
    let mut tx = pool.begin().await?;
    let known: Option<(Uuid, Option<String>, String)> = sqlx::query_as(
        "SELECT id, stable_id, name FROM people WHERE issuer = $1 AND subject = $2 FOR UPDATE",
    )
    .bind(issuer)
    .bind(login.subject)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((id, kept, _)) = known {
        match (&kept, &stable) {
            (Some(kept), Some(stable)) if kept != stable => {
                tx.rollback().await?;
                return Ok(Err(LoginRefused::StableIdChanged));
            }
            (None, Some(_)) => {
                // A new subject with the same stable id may log in at this
                // moment and keep it first: then this person goes on
                // without it, as when it was kept before.
                sqlx::query("SAVEPOINT stable_id").execute(&mut *tx).await?;
                let kept = sqlx::query(
                    "UPDATE people SET stable_id = $2 WHERE id = $1
                     AND NOT EXISTS (SELECT 1 FROM people WHERE stable_id = $2)",
                )
                .bind(id)
                .bind(&stable)
                .execute(&mut *tx)
                .await;
                match kept {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        sqlx::query("ROLLBACK TO SAVEPOINT stable_id")
                            .execute(&mut *tx)
                            .await?;
                    }
                    other => {
                        other?;
                    }
                }
            }
            _ => {}
        }
        tx.commit().await?;
        return Ok(Ok(id));
    }
    let by_stable: Option<(Uuid, String, String, String, String)> = match &stable {
        Some(stable) => {
            sqlx::query_as(
                "SELECT id, issuer, subject, name, role FROM people WHERE stable_id = $1
                 FOR UPDATE",
            )
            .bind(stable)
            .fetch_optional(&mut *tx)
            .await?
        }
        None => None,
    };
    let id = match by_stable {
        Some((.., role)) if role != "parent" => {
            tx.rollback().await?;
            return Ok(Err(LoginRefused::StaffElsewhere));
        }
        Some((id, old_issuer, old_subject, name, _)) => {
            sqlx::query("UPDATE people SET issuer = $2, subject = $3 WHERE id = $1")
                .bind(id)
                .bind(issuer)
                .bind(login.subject)
                .execute(&mut *tx)
                .await?;
            let change = Change::new(Action::PersonUpdate)
                .before(json!({ "person": id, "identity": { "issuer": old_issuer, "subject": old_subject } }))
                .after(json!({ "identity": { "issuer": issuer, "subject": login.subject }, "matched_by": "stable_id" }));
            let actor = Actor::Person { id, name };
            office_log::write(&mut tx, &actor, change).await?;
            id
        }
        None => {
            let id = Uuid::now_v7();
            let name: String = login.name.trim().chars().take(100).collect();
            let name = if name.is_empty() {
                "MitID".to_string()
            } else {
                name
            };
            // An address, not whatever a broker put in the claim.
            let email = login
                .email
                .filter(|e| e.contains('@') && (3..=200).contains(&e.chars().count()));
            let inserted = sqlx::query(
                "INSERT INTO people (id, issuer, subject, role, name, email, stable_id)
                 VALUES ($1, $2, $3, 'parent', $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(issuer)
            .bind(login.subject)
            .bind(&name)
            .bind(email)
            .bind(&stable)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                // Another login of the same person (a second tab) made the
                // row meanwhile: it is found now.
                tx.rollback().await?;
                return Box::pin(person_for_login(pool, login)).await;
            }
            let mut after = PersonRole::Parent.json();
            after["person"] = json!(id);
            after["identity"] = json!({ "issuer": issuer, "subject": login.subject });
            after["details"] = json!({ "name": name, "email": email, "by": "first login" });
            let actor = Actor::Person { id, name };
            office_log::write(&mut tx, &actor, Change::new(Action::PersonAdd).after(after)).await?;
            id
        }
    };
    tx.commit().await?;
    Ok(Ok(id))
}

/// What someone may do in the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonRole {
    /// Their own children (linked with `--child`).
    Parent,
    /// The office of these clubs: their children, payouts, orders, questions.
    Office(BTreeSet<String>),
    /// Every club's office.
    Municipality,
}

impl PersonRole {
    fn name(&self) -> &'static str {
        match self {
            PersonRole::Parent => "parent",
            PersonRole::Office(_) => "office",
            PersonRole::Municipality => "municipality",
        }
    }

    fn clubs(&self) -> Vec<&str> {
        match self {
            PersonRole::Office(clubs) => clubs.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    fn from_row(role: &str, clubs: Vec<String>) -> PersonRole {
        match role {
            "office" => PersonRole::Office(clubs.into_iter().collect()),
            "municipality" => PersonRole::Municipality,
            _ => PersonRole::Parent,
        }
    }

    fn json(&self) -> serde_json::Value {
        json!({ "role": self.name(), "clubs": self.clubs() })
    }
}

/// Someone to add, or to update if the broker's identity is known.
#[derive(Debug, Clone)]
pub struct PersonSpec<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub name: &'a str,
    /// None keeps the address there is.
    pub email: Option<&'a str>,
    /// Children to link (a parent's); those linked already stay.
    pub children: &'a [ChildId],
    /// Only when someone says so: None makes a new person a parent and
    /// leaves an existing one's role and clubs as they are.
    pub role: Option<PersonRole>,
}

/// What [`add_person`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSaved {
    pub id: Uuid,
    pub created: bool,
    /// The role the person has now.
    pub role: PersonRole,
}

#[derive(sqlx::FromRow)]
struct PersonRow {
    id: Uuid,
    role: String,
    name: String,
    email: Option<String>,
    clubs: Vec<String>,
}

/// Adds someone who may log in, or updates them: the name, the e-mail if
/// given, more children linked; the role and an office's clubs only if
/// `role` says so. Each change goes to the office log.
pub async fn add_person(
    pool: &PgPool,
    actor: &Actor,
    person: &PersonSpec<'_>,
) -> Result<PersonSaved> {
    let issuer = normal_issuer(person.issuer);
    let mut tx = pool.begin().await?;
    if let Some(PersonRole::Office(clubs)) = &person.role {
        if clubs.is_empty() {
            return Err(DbError::refused(
                "office staff need at least one club (--club)",
            ));
        }
        super::clubs::missing(&mut tx, clubs).await?;
    }
    let existing: Option<PersonRow> = sqlx::query_as(
        "SELECT id, role, name, email,
                ARRAY(SELECT club FROM office_clubs o WHERE o.person_id = p.id ORDER BY club) AS clubs
         FROM people p WHERE issuer = $1 AND subject = $2 FOR UPDATE",
    )
    .bind(issuer)
    .bind(person.subject)
    .fetch_optional(&mut *tx)
    .await?;
    let before = existing
        .as_ref()
        .map(|row| PersonRole::from_row(&row.role, row.clubs.clone()));
    let role = person
        .role
        .clone()
        .or_else(|| before.clone())
        .unwrap_or(PersonRole::Parent);
    // The row's id, whoever made it: another `person` may have added the
    // same identity since it was looked for.
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO people (id, issuer, subject, role, name, email) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (issuer, subject) DO UPDATE SET name = excluded.name,
             role = excluded.role, email = coalesce(excluded.email, people.email)
         RETURNING id",
    )
    .bind(existing.as_ref().map_or_else(Uuid::now_v7, |row| row.id))
    .bind(issuer)
    .bind(person.subject)
    .bind(role.name())
    .bind(person.name)
    .bind(person.email)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM office_clubs WHERE person_id = $1 AND NOT (club = ANY($2))")
        .bind(id)
        .bind(role.clubs())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO office_clubs (person_id, club) SELECT $1, unnest($2::text[])
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(role.clubs())
    .execute(&mut *tx)
    .await?;
    let ids: Vec<Uuid> = person.children.iter().map(|c| c.0).collect();
    let unknown: Option<Uuid> = sqlx::query_scalar(
        "SELECT t.wanted FROM unnest($1::uuid[]) AS t(wanted)
         WHERE NOT EXISTS (SELECT 1 FROM children c WHERE c.id = t.wanted) LIMIT 1",
    )
    .bind(&ids)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(child) = unknown {
        return Err(DbError::not_found(format!("no child with id {child}")));
    }
    let linked: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO parent_children (person_id, child_id) SELECT $1, unnest($2::uuid[])
         ON CONFLICT DO NOTHING RETURNING child_id",
    )
    .bind(id)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let who = json!({ "issuer": issuer, "subject": person.subject });
    let email = person
        .email
        .or(existing.as_ref().and_then(|r| r.email.as_deref()));
    let details = json!({ "name": person.name, "email": email, "children_linked": linked });
    match &existing {
        None => {
            let mut after = role.json();
            after["person"] = json!(id);
            after["identity"] = who;
            after["details"] = details;
            office_log::write(&mut tx, actor, Change::new(Action::PersonAdd).after(after)).await?;
        }
        Some(row) => {
            let same_details = row.name == person.name
                && person.email.is_none_or(|e| Some(e) == row.email.as_deref())
                && linked.is_empty();
            if !same_details {
                let before = json!({ "person": id, "name": row.name, "email": row.email });
                let change = Change::new(Action::PersonUpdate)
                    .before(before)
                    .after(details);
                office_log::write(&mut tx, actor, change).await?;
            }
            if before.as_ref() != Some(&role) {
                let mut was = before.as_ref().map(PersonRole::json).unwrap_or_default();
                was["person"] = json!(id);
                let change = Change::new(Action::PersonRole)
                    .before(was)
                    .after(role.json());
                office_log::write(&mut tx, actor, change).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(PersonSaved {
        id,
        created: existing.is_none(),
        role,
    })
}

/// A person who works in the office, as the municipality's page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub issuer: String,
    pub subject: String,
    pub role: PersonRole,
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: Uuid,
    name: String,
    email: Option<String>,
    issuer: String,
    subject: String,
    role: String,
    clubs: Vec<String>,
}

const STAFF: &str = "SELECT id, name, email, issuer, subject, role,
            ARRAY(SELECT club FROM office_clubs o WHERE o.person_id = p.id ORDER BY club) AS clubs
     FROM people p";

impl From<StaffRow> for Staff {
    fn from(row: StaffRow) -> Staff {
        Staff {
            role: PersonRole::from_row(&row.role, row.clubs),
            id: row.id,
            name: row.name,
            email: row.email,
            issuer: row.issuer,
            subject: row.subject,
        }
    }
}

/// Everyone with the office's or the municipality's role, by name.
pub async fn staff(pool: &PgPool) -> Result<Vec<Staff>> {
    let rows: Vec<StaffRow> = sqlx::query_as(AssertSqlSafe(format!(
        "{STAFF} WHERE role IN ('office', 'municipality') ORDER BY name, id"
    )))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Staff::from).collect())
}

/// Gives a person known by id another role (office staff: which clubs),
/// through [`add_person`], so the change is logged as any other. Nobody
/// changes their own role: the last municipality person could lock
/// everyone out of these pages.
pub async fn set_role(pool: &PgPool, actor: &Actor, id: Uuid, role: PersonRole) -> Result<Staff> {
    if matches!(actor, Actor::Person { id: own, .. } if *own == id) {
        return Err(DbError::conflict(
            "own_role",
            "nobody changes their own role",
        ));
    }
    let row: Option<StaffRow> = sqlx::query_as(AssertSqlSafe(format!("{STAFF} WHERE id = $1")))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    let person = row
        .map(Staff::from)
        .ok_or_else(|| DbError::not_found(format!("no person with id {id}")))?;
    let spec = PersonSpec {
        issuer: &person.issuer,
        subject: &person.subject,
        name: &person.name,
        email: None,
        children: &[],
        role: Some(role.clone()),
    };
    add_person(pool, actor, &spec).await?;
    Ok(Staff { role, ..person })
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
    /// `parent`, `office` or `municipality`.
    pub role: String,
    pub name: String,
    pub csrf: String,
    /// A parent's children, in id order.
    pub children: Vec<Uuid>,
    /// An office person's clubs.
    pub clubs: Vec<String>,
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
                         WHERE pc.person_id = p.id ORDER BY child_id) AS children,
                   ARRAY(SELECT club FROM office_clubs o
                         WHERE o.person_id = p.id ORDER BY club) AS clubs",
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

/// How long a parent may be known without becoming a parent or payer of
/// any child, counted from when they were first known.
pub const UNLINKED_KEPT: TimeDelta = TimeDelta::days(30);

/// Forgets the parents known for longer than `kept` who never became a
/// parent or payer of any child (a code never typed, a stranger who
/// logged in) and are not logged in now: nothing of theirs is in the
/// books, and logging in again makes them anew. Their sessions (ended
/// ones) go with them. Returns how many went.
pub async fn forget_unlinked(pool: &PgPool, kept: TimeDelta) -> Result<u64> {
    let mut tx = pool.begin().await?;
    let gone: Vec<Uuid> = sqlx::query_scalar(
        "SELECT p.id FROM people p
         WHERE p.role = 'parent' AND p.created_at < now() - make_interval(secs => $1)
           AND NOT EXISTS (SELECT 1 FROM parent_children x WHERE x.person_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM payers x WHERE x.person_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM payments x WHERE x.person_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM payout_requests x WHERE x.person_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM support_requests x WHERE x.person_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM activation_codes x WHERE x.used_by = p.id)
           -- A customer at the payment provider (a card saved for
           -- automatic top-up): kept, its card is theirs there.
           AND NOT EXISTS (SELECT 1 FROM payment_customers x WHERE x.person_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM auto_topups x WHERE x.person_id = p.id)
           AND NOT EXISTS (SELECT 1 FROM portal_sessions x WHERE x.person_id = p.id
                           AND x.last_seen > now() - make_interval(secs => $1))
         FOR UPDATE OF p SKIP LOCKED",
    )
    .bind(kept.num_seconds() as f64)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM portal_sessions WHERE person_id = ANY($1)")
        .bind(&gone)
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM people WHERE id = ANY($1)")
        .bind(&gone)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(deleted)
}

/// The language a person chose in the portal: their mail's from now on.
pub async fn set_language(pool: &PgPool, person: Uuid, language: &str) -> Result<()> {
    sqlx::query("UPDATE people SET language = $2 WHERE id = $1")
        .bind(person)
        .bind(language)
        .execute(pool)
        .await?;
    Ok(())
}

/// What the ledger keeps about a person, as their own page shows it.
#[derive(Debug, Clone)]
pub struct OwnData {
    pub name: String,
    pub email: Option<String>,
    pub issuer: String,
    pub subject: String,
    pub stable_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub payers: Vec<OwnPayer>,
    /// Children linked without a payer (`klubkasse-ledger person --child`).
    pub children: Vec<(Uuid, String)>,
    pub payments: i64,
    pub payouts: i64,
    pub questions: i64,
}

/// A payer the person is, with what the office wrote for them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnPayer {
    pub child: Uuid,
    pub child_name: String,
    pub name: String,
    pub email: Option<String>,
}

#[derive(sqlx::FromRow)]
struct OwnRow {
    name: String,
    email: Option<String>,
    issuer: String,
    subject: String,
    stable_id: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    payments: i64,
    payouts: i64,
    questions: i64,
}

pub async fn own_data(pool: &PgPool, person: Uuid) -> Result<OwnData> {
    let row: OwnRow = sqlx::query_as(
        "SELECT name, email, issuer, subject, stable_id, created_at,
                (SELECT count(*) FROM payments WHERE person_id = p.id) AS payments,
                (SELECT count(*) FROM payout_requests WHERE person_id = p.id) AS payouts,
                (SELECT count(*) FROM support_requests WHERE person_id = p.id) AS questions
         FROM people p WHERE id = $1",
    )
    .bind(person)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| DbError::not_found(format!("no person {person}")))?;
    let payers: Vec<OwnPayer> = sqlx::query_as(
        "SELECT c.id AS child, c.name AS child_name, p.name, p.email
         FROM payers p JOIN children c ON c.id = p.child_id
         WHERE p.person_id = $1 AND p.removed_at IS NULL ORDER BY c.name, c.id",
    )
    .bind(person)
    .fetch_all(pool)
    .await?;
    let children: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT c.id, c.name FROM parent_children pc JOIN children c ON c.id = pc.child_id
         WHERE pc.person_id = $1 AND NOT EXISTS (SELECT 1 FROM payers p
             WHERE p.person_id = $1 AND p.child_id = c.id AND p.removed_at IS NULL)
         ORDER BY c.name, c.id",
    )
    .bind(person)
    .fetch_all(pool)
    .await?;
    Ok(OwnData {
        name: row.name,
        email: row.email,
        issuer: row.issuer,
        subject: row.subject,
        stable_id: row.stable_id,
        created_at: row.created_at,
        payers,
        children,
        payments: row.payments,
        payouts: row.payouts,
        questions: row.questions,
    })
}
