//! The mail outbox (migration 0015): a mail is queued in the transaction
//! of what caused it, and [`crate::portal::mail::Sender`] claims, sends
//! and marks it. A claim holds a mail for a while ([`claim`]'s `hold`):
//! a sender that dies with it leaves it to be sent again when the hold
//! runs out, so a mail is never lost and sent twice only when a sender
//! died between the mail server's yes and its mark.

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use super::Result;
use klubkasse_core::domain::{ChildId, Money};

/// What a mail is about; its texts are the catalogue's `portal.mail.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// The balance fell below a parent's threshold.
    LowBalance,
    PayoutPaid,
    PayoutRejected,
    /// The replacement card is in the post.
    CardOrderSent,
    SupportAnswered,
    /// A payer's activation letter with their personal code.
    ActivationLetter,
    /// An automatic top-up was paid.
    AutoTopupDone,
    /// An automatic top-up was declined: paused.
    AutoTopupDeclined,
    /// The bank asked the parent to authenticate an automatic top-up:
    /// paused.
    AutoTopupAuthentication,
}

impl MailKind {
    pub const ALL: [MailKind; 9] = [
        MailKind::LowBalance,
        MailKind::PayoutPaid,
        MailKind::PayoutRejected,
        MailKind::CardOrderSent,
        MailKind::SupportAnswered,
        MailKind::ActivationLetter,
        MailKind::AutoTopupDone,
        MailKind::AutoTopupDeclined,
        MailKind::AutoTopupAuthentication,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::LowBalance => "low_balance",
            MailKind::PayoutPaid => "payout_paid",
            MailKind::PayoutRejected => "payout_rejected",
            MailKind::CardOrderSent => "card_order_sent",
            MailKind::SupportAnswered => "support_answered",
            MailKind::ActivationLetter => "activation_letter",
            MailKind::AutoTopupDone => "auto_topup_done",
            MailKind::AutoTopupDeclined => "auto_topup_declined",
            MailKind::AutoTopupAuthentication => "auto_topup_authentication",
        }
    }

    pub fn parse(text: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A mail claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Queued {
    pub id: i64,
    pub to_address: String,
    pub kind: String,
    pub language: String,
    pub vars: Value,
    /// Tries so far, this one included.
    pub attempts: i32,
}

/// Queues a mail to an address the office has (a payer's), in the
/// transaction of what it tells.
pub async fn queue_on(
    conn: &mut PgConnection,
    to: &str,
    kind: MailKind,
    language: &str,
    vars: Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_outbox (to_address, kind, language, vars) VALUES ($1, $2, $3, $4)",
    )
    .bind(to)
    .bind(kind.as_str())
    .bind(language)
    .bind(vars)
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues a mail to a person, in their language, if the ledger has their
/// e-mail address; nothing otherwise. `vars` fill the kind's texts.
pub async fn queue_to_person(
    conn: &mut PgConnection,
    person: Uuid,
    kind: MailKind,
    vars: Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_outbox (to_address, kind, language, vars)
         SELECT email, $2, coalesce(language, 'da'), $3 FROM people
         WHERE id = $1 AND email IS NOT NULL AND char_length(email) >= 3",
    )
    .bind(person)
    .bind(kind.as_str())
    .bind(vars)
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues a mail to every parent of the child whose address the ledger
/// has, each in their language.
pub async fn queue_to_parents(
    conn: &mut PgConnection,
    child: Uuid,
    kind: MailKind,
    vars: Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_outbox (to_address, kind, language, vars)
         SELECT p.email, $2, coalesce(p.language, 'da'), $3
         FROM parent_children pc JOIN people p ON p.id = pc.person_id
         WHERE pc.child_id = $1 AND p.email IS NOT NULL AND char_length(p.email) >= 3",
    )
    .bind(child)
    .bind(kind.as_str())
    .bind(vars)
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues a mail about a payout (paid, rejected) to whom it pays: the
/// parent who asked, or the payer a leaving child's balance goes to.
pub async fn queue_about_payout(
    conn: &mut PgConnection,
    payout: Uuid,
    kind: MailKind,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO mail_outbox (to_address, kind, language, vars)
         SELECT coalesce(p.email, y.email), $2, coalesce(p.language, 'da'),
                jsonb_build_object('name', c.name, 'amount', r.amount::text)
         FROM payout_requests r JOIN children c ON c.id = r.child_id
              LEFT JOIN people p ON p.id = r.person_id
              LEFT JOIN payers y ON y.id = r.payer_id
         WHERE r.id = $1 AND char_length(coalesce(p.email, y.email)) >= 3",
    )
    .bind(payout)
    .bind(kind.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Queues the low-balance mails now due for these children: a balance
/// below a parent's threshold with no mail since it went below. A balance
/// back at or above the threshold makes the next fall count again. In the
/// caller's transaction; each child's balance as given, or as written
/// already (None), as for [`super::children::bump_changes`].
pub async fn queue_low_balance(
    conn: &mut PgConnection,
    children: &BTreeMap<ChildId, Option<Money>>,
) -> Result<()> {
    let (ids, balances): (Vec<Uuid>, Vec<Option<Decimal>>) = children
        .iter()
        .map(|(id, balance)| (id.0, balance.map(Money::decimal)))
        .unzip();
    let now = "SELECT c.id, c.name, coalesce(t.balance, c.balance) AS balance
               FROM unnest($1::uuid[], $2::numeric[]) AS t(id, balance)
               JOIN children c ON c.id = t.id";
    sqlx::query(AssertSqlSafe(format!(
        "WITH now AS ({now})
         UPDATE parent_children pc SET low_balance_sent_at = NULL FROM now
         WHERE now.id = pc.child_id AND pc.low_balance_sent_at IS NOT NULL
           AND now.balance >= pc.low_balance"
    )))
    .bind(&ids)
    .bind(&balances)
    .execute(&mut *conn)
    .await?;
    sqlx::query(AssertSqlSafe(format!(
        "WITH now AS ({now}),
         due AS (
             UPDATE parent_children pc SET low_balance_sent_at = now()
             FROM now, people p
             WHERE now.id = pc.child_id AND p.id = pc.person_id
               AND pc.low_balance IS NOT NULL AND now.balance < pc.low_balance
               AND pc.low_balance_sent_at IS NULL AND p.email IS NOT NULL
             RETURNING p.email, coalesce(p.language, 'da') AS language, now.name, now.balance,
                       pc.low_balance)
         INSERT INTO mail_outbox (to_address, kind, language, vars)
         SELECT email, 'low_balance', language,
                jsonb_build_object('name', name, 'balance', balance::text,
                                   'threshold', low_balance::text)
         FROM due"
    )))
    .bind(&ids)
    .bind(&balances)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// [`queue_low_balance`] for one child whose balance is written already.
pub async fn queue_low_balance_of(conn: &mut PgConnection, child: ChildId) -> Result<()> {
    queue_low_balance(conn, &BTreeMap::from([(child, None)])).await
}

/// Up to `limit` mails that are due, oldest first, each held for `hold`
/// (no other sender takes it meanwhile) and its try counted.
pub async fn claim(pool: &PgPool, limit: i64, hold: Duration) -> Result<Vec<Queued>> {
    Ok(sqlx::query_as(
        "UPDATE mail_outbox SET attempts = attempts + 1,
                next_attempt_at = now() + make_interval(secs => $2)
         WHERE id IN (SELECT id FROM mail_outbox
                      WHERE sent_at IS NULL AND next_attempt_at <= now()
                      ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, to_address, kind, language, vars, attempts",
    )
    .bind(limit)
    .bind(hold.as_secs_f64())
    .fetch_all(pool)
    .await?)
}

/// The mail server took it. Its values go (an activation letter's code
/// among them): what was sent is the mail server's and the reader's.
pub async fn mark_sent(pool: &PgPool, id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE mail_outbox SET sent_at = now(), last_error = NULL, vars = '{}' WHERE id = $1",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// It could not be sent: tried again after `retry_in`.
pub async fn mark_failed(pool: &PgPool, id: i64, error: &str, retry_in: Duration) -> Result<()> {
    sqlx::query(
        "UPDATE mail_outbox SET last_error = $2,
                next_attempt_at = now() + make_interval(secs => $3)
         WHERE id = $1 AND sent_at IS NULL",
    )
    .bind(id)
    .bind(error.chars().take(500).collect::<String>())
    .bind(retry_in.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

/// How many mails wait to be sent (the office's start page shows it).
pub async fn waiting(pool: &PgPool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL")
            .fetch_one(pool)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in MailKind::ALL {
            assert_eq!(MailKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MailKind::parse("spam"), None);
    }
}
