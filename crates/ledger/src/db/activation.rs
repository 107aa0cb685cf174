//! Activation letters and their codes (issue 16): the office makes a
//! letter per payer, which gives the payer a new code and voids the one
//! before; a person who logged in types it and becomes that payer. Codes
//! arrive here hashed (`portal::code`); wrong ones are counted per person
//! and per client address, and five lock further tries for a time that
//! doubles with every lock.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::mail::MailKind;
use super::office_log::{self, Action, Actor, Change};
use super::{Result, Scope};
use crate::cpr::CprHash;
use crate::portal::throttle::counted_address;
use klubkasse_core::domain::ChildId;

/// Whose letters to make: a club's payers, one child's, or one payer's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LetterFor {
    Club(String),
    Child(ChildId),
    Payer(ChildId, Uuid),
}

/// What a letter says about its payer and child.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LetterPayer {
    pub payer: Uuid,
    pub payer_name: String,
    pub email: Option<String>,
    pub child: Uuid,
    pub child_name: String,
    pub club: String,
    /// The code asks for the child's birth date too.
    pub birth_date_asked: bool,
}

/// The payers (not removed) of open accounts whose letters `target`
/// asks for, within `scope`, by club, child and payer. A club or child
/// outside the scope has none: the caller says "not found".
pub async fn letter_payers(
    pool: &PgPool,
    scope: &Scope,
    target: &LetterFor,
) -> Result<Vec<LetterPayer>> {
    let (club, child, payer) = match target {
        LetterFor::Club(club) => (Some(club.as_str()), None, None),
        LetterFor::Child(child) => (None, Some(child.0), None),
        LetterFor::Payer(child, payer) => (None, Some(child.0), Some(*payer)),
    };
    Ok(sqlx::query_as(
        "SELECT p.id AS payer, p.name AS payer_name, p.email, c.id AS child,
                c.name AS child_name, c.club, c.birth_date IS NOT NULL AS birth_date_asked
         FROM payers p JOIN children c ON c.id = p.child_id
         WHERE p.removed_at IS NULL AND c.closed_at IS NULL
           AND club_in_scope(c.club, $1)
           AND ($2::text IS NULL OR c.club = $2)
           AND ($3::uuid IS NULL OR c.id = $3)
           AND ($4::uuid IS NULL OR p.id = $4)
           -- A club's or a child's letters skip payers someone already
           -- is: a reprint must not hand an active account to whoever
           -- opens the letter. One payer's letter, asked by name, may.
           AND ($4::uuid IS NOT NULL OR p.person_id IS NULL)
         ORDER BY c.name, c.id, p.created_at, p.id",
    )
    .bind(scope.clubs())
    .bind(club)
    .bind(child)
    .bind(payer)
    .fetch_all(pool)
    .await?)
}

/// The payers of `child` that a person is, by their letter's code. The
/// caller has checked the child's scope.
pub async fn activated(pool: &PgPool, child: ChildId) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM payers WHERE child_id = $1 AND person_id IS NOT NULL
         AND removed_at IS NULL",
    )
    .bind(child.0)
    .fetch_all(pool)
    .await?)
}

/// How a letter reaches its payer.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    Printed,
    /// To this address, queued with the code in the same transaction (a
    /// code is never valid without its mail, nor a mail sent with a code
    /// that was not kept). `vars` fill the mail; `date`, the code's last
    /// day, is added here.
    Mailed {
        to: String,
        vars: serde_json::Value,
    },
}

/// Gives each payer the code hashed beside it, valid for `lifetime`, and
/// voids the codes they had, in one transaction with a log row each.
/// Returns when the codes expire. A payer removed meanwhile gets none.
pub async fn issue_codes(
    pool: &PgPool,
    actor: &Actor,
    codes: &[(&LetterPayer, Vec<u8>)],
    lifetime: TimeDelta,
    sent: Sent,
) -> Result<DateTime<Utc>> {
    let mut tx = pool.begin().await?;
    let expires: DateTime<Utc> = sqlx::query_scalar("SELECT now() + make_interval(secs => $1)")
        .bind(lifetime.num_seconds() as f64)
        .fetch_one(&mut *tx)
        .await?;
    for (payer, hash) in codes {
        let live: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM payers WHERE id = $1 AND removed_at IS NULL FOR UPDATE",
        )
        .bind(payer.payer)
        .fetch_optional(&mut *tx)
        .await?;
        if live.is_none() {
            continue;
        }
        let voided = sqlx::query(
            "UPDATE activation_codes SET voided_at = now()
             WHERE payer_id = $1 AND used_at IS NULL AND voided_at IS NULL",
        )
        .bind(payer.payer)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // A letter by e-mail not sent yet carries a code voided now: it
        // never leaves.
        sqlx::query(
            "DELETE FROM mail_outbox WHERE kind = 'activation_letter' AND sent_at IS NULL
             AND vars->>'payer_id' = $1::text",
        )
        .bind(payer.payer)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO activation_codes (id, payer_id, code_hash, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(Uuid::now_v7())
        .bind(payer.payer)
        .bind(hash)
        .bind(expires)
        .execute(&mut *tx)
        .await?;
        let how = match &sent {
            Sent::Printed => "printed",
            Sent::Mailed { to, vars } => {
                let mut vars = vars.clone();
                vars["date"] = json!(expires.format("%d.%m.%Y").to_string());
                super::mail::queue_on(&mut tx, to, MailKind::ActivationLetter, "da", vars).await?;
                "mailed"
            }
        };
        let change = Change::child(Action::PayerLetter, ChildId(payer.child)).after(json!({
            "payer": payer.payer,
            "name": payer.payer_name,
            "sent": how,
            "expires_at": expires,
            "codes_voided": voided,
        }));
        office_log::write(&mut tx, actor, change).await?;
    }
    tx.commit().await?;
    Ok(expires)
}

/// Why a code did not link anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No code is this: a typo or a guess (counted).
    Wrong,
    /// The child's birth date, which the office has, was not the one typed (counted).
    WrongBirthDate,
    /// The code is right; the child's birth date is asked too.
    BirthDateNeeded,
    Used,
    Expired,
    /// A newer letter replaced it, or the payer was removed.
    Voided,
    /// The person is another payer of the code's child already: the code
    /// is another payer's, left for them.
    AlreadyPayer,
    /// Too many wrong tries from this person or address: until then.
    Locked(DateTime<Utc>),
}

/// A payer the person is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    pub child: ChildId,
    pub child_name: String,
    pub club: String,
}

/// Wrong tries before a lock: of one person, and of one code's birth date.
pub const TRIES: i32 = 5;
/// Wrong tries from one address (an IPv6 address by its /64) before a lock.
pub const ADDRESS_TRIES: i32 = 20;
/// The first lock; each further one doubles, up to [`LONGEST_LOCK`].
pub const FIRST_LOCK: TimeDelta = TimeDelta::minutes(15);
pub const LONGEST_LOCK: TimeDelta = TimeDelta::hours(24);

#[derive(sqlx::FromRow)]
struct CodeRow {
    id: Uuid,
    payer: Uuid,
    payer_name: String,
    child: Uuid,
    child_name: String,
    club: String,
    birth_date: Option<NaiveDate>,
    expired: bool,
    used_by: Option<Uuid>,
    /// Who the payer is now: the code's user, unless a newer letter for
    /// the payer handed it over.
    payer_person: Option<Uuid>,
    voided: bool,
}

/// The keys wrong tries are counted under.
fn keys(person: Uuid, address: IpAddr) -> [String; 2] {
    [
        format!("person:{person}"),
        format!("address:{}", counted_address(address)),
    ]
}

/// Wrong tries a key takes before it locks. An address is shared (a
/// school's network, a mobile carrier's NAT): one parent's five typos
/// lock that parent only, while a guesser with many MitID logins behind
/// one address still meets a lock after [`ADDRESS_TRIES`].
fn tries_for(key: &str) -> i32 {
    if key.starts_with("address:") {
        ADDRESS_TRIES
    } else {
        TRIES
    }
}

/// What a right code does: shows whose it is, or links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeem {
    /// Checks the code and says which child it is for, using nothing: a
    /// code planted by someone else (a link they sent) is seen to be for
    /// a child not the person's own before it links them.
    Check,
    Link,
}

/// Links `person` to the payer whose code hashes to `hash`, once: the
/// person becomes a parent of the payer's child, as that payer (a person
/// the payer was before loses the child, unless they are another of its
/// payers). `address` is the client's, for counting wrong tries.
pub async fn redeem(
    pool: &PgPool,
    actor: &Actor,
    person: Uuid,
    address: IpAddr,
    hash: Option<&[u8]>,
    birth_date: Option<NaiveDate>,
    what: Redeem,
) -> Result<std::result::Result<Linked, Refusal>> {
    let keys = keys(person, address);
    let mut tx = pool.begin().await?;
    // The person's and the address's rows locked for the whole try:
    // tries sent at once are counted one after the other, so a burst of
    // them gets no more than the lock allows.
    sqlx::query("INSERT INTO code_tries (who) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING")
        .bind(keys.as_slice())
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(String, Option<DateTime<Utc>>, i32, i32)> = sqlx::query_as(
        "SELECT who, locked_until, failures, locks FROM code_tries WHERE who = ANY($1)
         ORDER BY who FOR UPDATE",
    )
    .bind(keys.as_slice())
    .fetch_all(&mut *tx)
    .await?;
    // A person with no wrong try of their own gets through a locked
    // address: one guesser with a few MitID logins behind a carrier's NAT
    // must not lock every parent there out of their right code. The
    // guesser's next identities each get one try there, not five.
    let clean = rows
        .iter()
        .any(|(who, _, failures, locks)| *who == keys[0] && *failures == 0 && *locks == 0);
    if let Some(until) = rows
        .iter()
        .filter(|(who, ..)| *who == keys[0] || !clean)
        .filter_map(|(_, until, ..)| *until)
        .filter(|u| *u > Utc::now())
        .max()
    {
        tx.rollback().await?;
        return Ok(Err(Refusal::Locked(until)));
    }
    let Some(hash) = hash else {
        // Not even the shape of a code: counted as a wrong one.
        let locked = count_wrong(&mut tx, keys.as_slice()).await?;
        tx.commit().await?;
        return Ok(Err(locked.map_or(Refusal::Wrong, Refusal::Locked)));
    };
    let row: Option<CodeRow> = sqlx::query_as(
        "SELECT a.id, p.id AS payer, p.name AS payer_name, c.id AS child,
                c.name AS child_name, c.club, c.birth_date,
                a.expires_at <= now() AS expired, a.used_by, p.person_id AS payer_person,
                (a.voided_at IS NOT NULL OR p.removed_at IS NOT NULL
                 OR c.closed_at IS NOT NULL) AS voided
         FROM activation_codes a JOIN payers p ON p.id = a.payer_id
         JOIN children c ON c.id = p.child_id
         WHERE a.code_hash = $1 FOR UPDATE OF a, p",
    )
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?;
    let refusal = match &row {
        None => Some(Refusal::Wrong),
        Some(row) if row.voided => Some(Refusal::Voided),
        // A second click, a reload: the person is that payer already.
        Some(row) if row.used_by == Some(person) && row.payer_person == Some(person) => {
            tx.rollback().await?;
            return Ok(Ok(Linked {
                child: ChildId(row.child),
                child_name: row.child_name.clone(),
                club: row.club.clone(),
            }));
        }
        Some(row) if row.used_by.is_some() => Some(Refusal::Used),
        Some(row) if row.expired => Some(Refusal::Expired),
        Some(CodeRow {
            birth_date: Some(born),
            ..
        }) => match birth_date {
            None => Some(Refusal::BirthDateNeeded),
            Some(typed) if typed != *born => Some(Refusal::WrongBirthDate),
            Some(_) => None,
        },
        Some(_) => None,
    };
    let (Some(row), None) = (row, refusal.clone()) else {
        let refusal = refusal.unwrap_or(Refusal::Wrong);
        // A wrong birth date counts against the code too, whoever and
        // wherever tries it: a letter's holder cannot guess the date.
        let code_key = format!("code:{}", hex::encode(hash));
        let counted: Vec<String> = match refusal {
            Refusal::Wrong => keys.to_vec(),
            Refusal::WrongBirthDate => [keys.as_slice(), std::slice::from_ref(&code_key)].concat(),
            _ => Vec::new(),
        };
        let locked = if counted.is_empty() {
            None
        } else {
            count_wrong(&mut tx, &counted).await?
        };
        tx.commit().await?;
        return Ok(Err(locked.map_or(refusal, Refusal::Locked)));
    };
    // The code's own count: locked, it takes no birth date at all.
    let code_locked: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT locked_until FROM code_tries WHERE who = $1 AND locked_until > now()",
    )
    .bind(format!("code:{}", hex::encode(hash)))
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    if let Some(until) = code_locked {
        tx.rollback().await?;
        return Ok(Err(Refusal::Locked(until)));
    }
    // One person is one payer of a child: both letters came to one home,
    // and the other payer's code stays theirs to type.
    let already: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM payers WHERE child_id = $1 AND person_id = $2
                        AND removed_at IS NULL AND id <> $3)",
    )
    .bind(row.child)
    .bind(person)
    .bind(row.payer)
    .fetch_one(&mut *tx)
    .await?;
    if already {
        tx.rollback().await?;
        return Ok(Err(Refusal::AlreadyPayer));
    }
    if what == Redeem::Check {
        tx.rollback().await?;
        return Ok(Ok(Linked {
            child: ChildId(row.child),
            child_name: row.child_name,
            club: row.club,
        }));
    }
    sqlx::query("UPDATE activation_codes SET used_at = now(), used_by = $2 WHERE id = $1")
        .bind(row.id)
        .bind(person)
        .execute(&mut *tx)
        .await?;
    let before: Option<Uuid> = sqlx::query_scalar(
        "UPDATE payers p SET person_id = $2 FROM payers old
         WHERE p.id = $1 AND old.id = p.id RETURNING old.person_id",
    )
    .bind(row.payer)
    .bind(person)
    .fetch_one(&mut *tx)
    .await?;
    // The payer was someone else (the office printed this payer's letter
    // again, by name): they are no longer, as if removed, with their
    // withdrawals still waiting and their sessions.
    if let Some(before) = before.filter(|b| *b != person) {
        super::payers::person_leaves(&mut tx, actor, ChildId(row.child), row.payer, Some(before))
            .await?;
    }
    sqlx::query(
        "INSERT INTO parent_children (person_id, child_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(person)
    .bind(row.child)
    .execute(&mut *tx)
    .await?;
    let change = Change::child(Action::PayerLink, ChildId(row.child))
        .before(json!({ "payer": row.payer, "person": before }))
        .after(json!({ "payer": row.payer, "name": row.payer_name, "person": person }));
    office_log::write(&mut tx, actor, change).await?;
    // The right code ends the person's count of wrong tries (not the
    // address's: one good code must not buy a guesser there more tries),
    // not how often they were locked.
    sqlx::query("UPDATE code_tries SET failures = 0 WHERE who = $1")
        .bind(&keys[0])
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(Linked {
        child: ChildId(row.child),
        child_name: row.child_name,
        club: row.club,
    }))
}

/// CPR match: `person`, whose login's CPR number hashes to `hash`, is
/// every live payer the import gave that hash and nobody else is yet,
/// and so a parent of each such child, in one transaction and the office
/// log (never the number, nor its hash). Returns the children linked now.
pub async fn link_custody(pool: &PgPool, person: Uuid, hash: &CprHash) -> Result<Vec<ChildId>> {
    let mut tx = pool.begin().await?;
    let name: String = sqlx::query_scalar("SELECT name FROM people WHERE id = $1")
        .bind(person)
        .fetch_one(&mut *tx)
        .await?;
    // Office staff are no payers, whatever their CPR number says.
    let linked: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
        "UPDATE payers p SET person_id = $1 FROM children c
         WHERE c.id = p.child_id AND p.cpr_hmac = $2 AND p.removed_at IS NULL
           AND c.closed_at IS NULL AND p.person_id IS NULL
           AND EXISTS (SELECT 1 FROM people WHERE id = $1 AND role = 'parent')
         RETURNING p.id, p.child_id, p.name",
    )
    .bind(person)
    .bind(&hash.0)
    .fetch_all(&mut *tx)
    .await?;
    let actor = Actor::Person { id: person, name };
    for (payer, child, payer_name) in &linked {
        sqlx::query(
            "INSERT INTO parent_children (person_id, child_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(person)
        .bind(child)
        .execute(&mut *tx)
        .await?;
        let change = Change::child(Action::PayerLink, ChildId(*child)).after(json!({
            "payer": payer, "name": payer_name, "person": person, "by": "cpr"
        }));
        office_log::write(&mut tx, &actor, change).await?;
    }
    tx.commit().await?;
    Ok(linked
        .into_iter()
        .map(|(_, child, _)| ChildId(child))
        .collect())
}

/// One more wrong try under each key; the lock's end if one began. The
/// [`TRIES`]th wrong try locks the key and starts its count again.
async fn count_wrong(
    conn: &mut sqlx::PgConnection,
    keys: &[String],
) -> Result<Option<DateTime<Utc>>> {
    // Rows of tries long past go as new ones come; one that was locked
    // is kept a month, so the next lock still grows.
    sqlx::query(
        "DELETE FROM code_tries WHERE NOT (who = ANY($1))
         AND updated_at < now() - CASE WHEN locks > 0 THEN interval '30 days' ELSE interval '1 day' END
         AND (locked_until IS NULL OR locked_until < now())",
    )
    .bind(keys)
    .execute(&mut *conn)
    .await?;
    let mut locked = None;
    for key in keys {
        let until: Option<DateTime<Utc>> = sqlx::query_scalar(
            "INSERT INTO code_tries AS t (who, failures) VALUES ($1, 1)
             ON CONFLICT (who) DO UPDATE SET
                 failures = CASE WHEN t.failures + 1 >= $2 THEN 0 ELSE t.failures + 1 END,
                 locks = CASE WHEN t.failures + 1 >= $2 THEN t.locks + 1 ELSE t.locks END,
                 locked_until = CASE WHEN t.failures + 1 >= $2
                     THEN now() + least(make_interval(secs => $3) * power(2, t.locks),
                                        make_interval(secs => $4))
                     ELSE t.locked_until END,
                 updated_at = now()
             RETURNING CASE WHEN locked_until > now() THEN locked_until END",
        )
        .bind(key)
        .bind(tries_for(key))
        .bind(FIRST_LOCK.num_seconds() as f64)
        .bind(LONGEST_LOCK.num_seconds() as f64)
        .fetch_one(&mut *conn)
        .await?;
        locked = locked.max(until);
    }
    Ok(locked)
}

/// `person` is no longer a parent of `child` (a payer removed, or
/// another person became the payer they were) unless they are another
/// of its live payers; their settings for the child (the low-balance
/// e-mail) go with the link, and their automatic top-up of the child is
/// switched off (its card kept, so that they can remove it if they are
/// made a payer again; never charged without their turning it on), a
/// fall recorded for it and not yet sent to the provider not charged.
pub(crate) async fn unlink(
    conn: &mut sqlx::PgConnection,
    person: Uuid,
    child: ChildId,
) -> Result<()> {
    let unlinked = sqlx::query(
        "DELETE FROM parent_children pc WHERE pc.person_id = $1 AND pc.child_id = $2
         AND NOT EXISTS (SELECT 1 FROM payers p WHERE p.person_id = $1 AND p.child_id = $2
                         AND p.removed_at IS NULL)",
    )
    .bind(person)
    .bind(child.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if unlinked == 1 {
        super::auto_topup::switch_off(conn, person, child).await?;
    }
    Ok(())
}
