//! Automatic top-up (migration 0017): a payer's saved card and rule ("when
//! the balance falls below Y, top up X"), the falls that start an
//! automatic payment, and the worker's queue of them.
//!
//! Why it never charges twice for one fall: the fall is recorded as the
//! automatic payment itself, in the transaction of the entry that caused
//! it, with the child's row locked. Its `trigger_entry` is unique (a
//! retried push records no new entry, so no new fall) and a partial
//! unique index allows one open automatic payment per child (two counters
//! pushing at once: the second waits for the first's lock and then finds
//! it open). The provider is called after the commit, by a worker that
//! claims the payment ([`claim_due`]) and sends the payment's id as the
//! idempotency key: a call retried after a crash or a lost answer is
//! answered with the first call's PaymentIntent. The deposit's id is the
//! payment's, as for every top-up ([`super::payments::settle_payment`]).

use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::mail::MailKind;
use super::{Amount, ChildKey, Result, money};
use crate::Settings;
use klubkasse_core::domain::{ChildId, Money};

/// How many automatic top-ups a child may get in a calendar month unless
/// `serve --auto-topups-per-month` says otherwise.
pub const PER_MONTH: u32 = 4;

/// Why automatic top-up stopped until the parent acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// The card was declined.
    Declined,
    /// The bank asks the parent to authenticate (3-D Secure): it cannot be
    /// done while they are away.
    AuthenticationRequired,
    /// The provider refused it otherwise, or it was cancelled.
    Failed,
}

impl Pause {
    pub fn as_str(self) -> &'static str {
        match self {
            Pause::Declined => "declined",
            Pause::AuthenticationRequired => "authentication_required",
            Pause::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Pause> {
        [
            Pause::Declined,
            Pause::AuthenticationRequired,
            Pause::Failed,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }

    fn mail(self) -> MailKind {
        match self {
            Pause::AuthenticationRequired => MailKind::AutoTopupAuthentication,
            Pause::Declined | Pause::Failed => MailKind::AutoTopupDeclined,
        }
    }
}

/// "When the balance falls below `threshold`, top up `amount`."
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub threshold: Money,
    pub amount: Money,
}

/// What is known when a balance moved, for [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Situation {
    pub before: Money,
    pub after: Money,
    pub cap: Money,
    /// Top-ups of the child still open (they hold room under the cap).
    pub open: Money,
    /// Whether one of them is automatic.
    pub open_automatic: bool,
    /// Automatic top-ups of the child this calendar month, paid or open.
    pub this_month: u32,
    pub per_month: u32,
    pub paused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Start,
    /// The balance did not go from at least the threshold to below it.
    NoFall,
    Paused,
    /// One is on its way already.
    AlreadyOpen,
    MonthlyMax,
    /// The balance after it (with the open top-ups) would pass the cap.
    WouldCrossCap,
}

/// Whether a move of the balance starts an automatic top-up: only a fall
/// from at least the threshold to below it, not paused, none open, fewer
/// than the month's maximum so far, and room under the cap for the amount
/// with the top-ups still open.
pub fn decide(rule: Rule, s: &Situation) -> Decision {
    if !(s.before >= rule.threshold && s.after < rule.threshold) {
        Decision::NoFall
    } else if s.paused {
        Decision::Paused
    } else if s.open_automatic {
        Decision::AlreadyOpen
    } else if s.this_month >= s.per_month {
        Decision::MonthlyMax
    } else if s.after + s.open + rule.amount > s.cap {
        Decision::WouldCrossCap
    } else {
        Decision::Start
    }
}

/// An entry that lowered a child's balance (the last of a push's for the
/// child): the balance before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fall {
    pub child: ChildId,
    pub before: Money,
    pub after: Money,
    pub entry: Uuid,
}

#[derive(sqlx::FromRow)]
struct Candidate {
    person_id: Uuid,
    #[sqlx(try_from = "ChildKey")]
    child_id: ChildId,
    provider: String,
    customer: String,
    payment_method: String,
    #[sqlx(try_from = "Amount")]
    threshold: Money,
    #[sqlx(try_from = "Amount")]
    amount: Money,
    this_month: i64,
    open: Decimal,
    open_automatic: bool,
}

/// Records the automatic top-ups these falls start, in the caller's
/// transaction (the entries', the children locked): at most one per child,
/// the first payer's whose rule it meets (still a payer, the account not
/// closed). The ids of those recorded; the worker calls the provider
/// after the commit.
pub(crate) async fn queue_falls(
    conn: &mut PgConnection,
    settings: &Settings,
    falls: &[Fall],
) -> Result<Vec<Uuid>> {
    let falls: Vec<&Fall> = falls.iter().filter(|f| f.after < f.before).collect();
    if falls.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = falls.iter().map(|f| f.child.0).collect();
    let candidates: Vec<Candidate> = sqlx::query_as(
        "SELECT a.person_id, a.child_id, a.provider, c.customer, a.payment_method,
                a.threshold, a.amount,
                (SELECT count(*) FROM payments p
                 WHERE p.child_id = a.child_id AND p.automatic AND p.status <> 'failed'
                   AND date_trunc('month', p.created_at AT TIME ZONE $2)
                       = date_trunc('month', now() AT TIME ZONE $2)) AS this_month,
                coalesce((SELECT sum(p.amount) FROM payments p
                          WHERE p.child_id = a.child_id AND p.status = 'started'
                            AND (p.automatic OR p.created_at > now() - interval '30 minutes')),
                         0) AS open,
                EXISTS (SELECT 1 FROM payments p WHERE p.child_id = a.child_id
                        AND p.automatic AND p.status = 'started') AS open_automatic
         FROM auto_topups a JOIN payment_customers c ON c.person_id = a.person_id
         JOIN parent_children pc ON pc.person_id = a.person_id AND pc.child_id = a.child_id
         JOIN children ch ON ch.id = a.child_id AND ch.closed_at IS NULL
         WHERE a.child_id = ANY($1) AND a.enabled AND a.paused_reason IS NULL
           AND a.payment_method IS NOT NULL AND a.threshold IS NOT NULL AND a.amount IS NOT NULL
         ORDER BY a.child_id, a.created_at, a.person_id",
    )
    .bind(&ids)
    .bind(&settings.time_zone)
    .fetch_all(&mut *conn)
    .await?;
    let mut started = Vec::new();
    for fall in falls {
        let mine = candidates.iter().filter(|c| c.child_id == fall.child);
        for candidate in mine {
            let rule = Rule {
                threshold: candidate.threshold,
                amount: candidate.amount,
            };
            let situation = Situation {
                before: fall.before,
                after: fall.after,
                cap: settings.balance_cap,
                open: money(candidate.open),
                open_automatic: candidate.open_automatic,
                this_month: u32::try_from(candidate.this_month).unwrap_or(u32::MAX),
                per_month: settings.auto_topups_per_month,
                paused: false,
            };
            let decision = decide(rule, &situation);
            if decision != Decision::Start {
                if decision != Decision::NoFall {
                    tracing::info!(child = %fall.child, ?decision, "no automatic top-up");
                }
                continue;
            }
            let id = Uuid::now_v7();
            let inserted = sqlx::query(
                "INSERT INTO payments (id, person_id, child_id, amount, provider, provider_ref,
                                       status, automatic, trigger_entry, customer, payment_method,
                                       next_attempt_at)
                 VALUES ($1, $2, $3, $4, $5, '', 'started', true, $6, $7, $8, now())
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(candidate.person_id)
            .bind(fall.child.0)
            .bind(candidate.amount.decimal())
            .bind(&candidate.provider)
            .bind(fall.entry)
            .bind(&candidate.customer)
            .bind(&candidate.payment_method)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted == 1 {
                tracing::info!(child = %fall.child, payment = %id, "an automatic top-up is due");
                started.push(id);
            }
            // One per fall, whoever's rule it was.
            break;
        }
    }
    Ok(started)
}

/// [`queue_falls`] for one entry of a child whose balance went from
/// `before` to `after`.
pub(crate) async fn queue_fall(
    conn: &mut PgConnection,
    settings: &Settings,
    fall: Fall,
) -> Result<Vec<Uuid>> {
    queue_falls(conn, settings, &[fall]).await
}

/// A payer's automatic top-up of a child, as the portal shows it.
#[derive(Debug, Clone)]
pub struct AutoTopup {
    pub provider: String,
    pub setup_ref: Option<String>,
    pub payment_method: Option<String>,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub threshold: Option<Money>,
    pub amount: Option<Money>,
    pub enabled: bool,
    pub paused: Option<Pause>,
}

#[derive(sqlx::FromRow)]
struct AutoTopupRow {
    provider: String,
    setup_ref: Option<String>,
    payment_method: Option<String>,
    card_brand: Option<String>,
    card_last4: Option<String>,
    threshold: Option<Decimal>,
    amount: Option<Decimal>,
    enabled: bool,
    paused_reason: Option<String>,
}

pub async fn setting(pool: &PgPool, person: Uuid, child: ChildId) -> Result<Option<AutoTopup>> {
    let row: Option<AutoTopupRow> = sqlx::query_as(
        "SELECT provider, setup_ref, payment_method, card_brand, card_last4, threshold, amount,
                enabled, paused_reason
         FROM auto_topups WHERE person_id = $1 AND child_id = $2",
    )
    .bind(person)
    .bind(child.0)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| AutoTopup {
        provider: row.provider,
        setup_ref: row.setup_ref,
        payment_method: row.payment_method,
        card_brand: row.card_brand,
        card_last4: row.card_last4,
        threshold: row.threshold.map(money),
        amount: row.amount.map(money),
        enabled: row.enabled,
        paused: row.paused_reason.as_deref().and_then(Pause::parse),
    }))
}

/// The person's customer at the provider, if made.
pub async fn customer(pool: &PgPool, person: Uuid) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT customer FROM payment_customers WHERE person_id = $1")
            .bind(person)
            .fetch_optional(pool)
            .await?,
    )
}

/// Keeps the person's customer; one made at the same time by another of
/// their tabs loses, and the one kept is returned.
pub async fn keep_customer(
    pool: &PgPool,
    person: Uuid,
    provider: &str,
    customer: &str,
) -> Result<String> {
    sqlx::query(
        "INSERT INTO payment_customers (person_id, provider, customer) VALUES ($1, $2, $3)
         ON CONFLICT (person_id) DO NOTHING",
    )
    .bind(person)
    .bind(provider)
    .bind(customer)
    .execute(pool)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT customer FROM payment_customers WHERE person_id = $1")
            .bind(person)
            .fetch_one(pool)
            .await?,
    )
}

/// A card is being saved: the provider's SetupIntent.
pub async fn setup_started(
    pool: &PgPool,
    person: Uuid,
    child: ChildId,
    provider: &str,
    setup: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO auto_topups (person_id, child_id, provider, setup_ref)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (person_id, child_id)
         DO UPDATE SET setup_ref = $4, provider = $3, updated_at = now()",
    )
    .bind(person)
    .bind(child.0)
    .bind(provider)
    .bind(setup)
    .execute(pool)
    .await?;
    Ok(())
}

/// What identifies a saved card to the parent; its number is never ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCard {
    pub method: String,
    pub brand: Option<String>,
    pub last4: Option<String>,
}

/// The SetupIntent `setup` succeeded: its card is the one used from now
/// on, and a pause ends (saving a card is the parent acting). The card it
/// replaces, to be forgotten at the provider; None if `setup` is not the
/// one being saved (a return page loaded twice).
pub async fn card_saved(
    pool: &PgPool,
    person: Uuid,
    child: ChildId,
    setup: &str,
    card: &SavedCard,
) -> Result<Option<Option<String>>> {
    let mut tx = pool.begin().await?;
    let old: Option<Option<String>> = sqlx::query_scalar(
        "SELECT payment_method FROM auto_topups
         WHERE person_id = $1 AND child_id = $2 AND setup_ref = $3 FOR UPDATE",
    )
    .bind(person)
    .bind(child.0)
    .bind(setup)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(old) = old else {
        return Ok(None);
    };
    let last4 = card
        .last4
        .as_deref()
        .filter(|l| l.len() == 4 && l.bytes().all(|b| b.is_ascii_digit()));
    let brand: Option<String> = card.brand.as_deref().map(|b| b.chars().take(40).collect());
    sqlx::query(
        "UPDATE auto_topups SET payment_method = $3, card_brand = $4, card_last4 = $5,
                setup_ref = NULL, paused_reason = NULL, paused_at = NULL, updated_at = now()
         WHERE person_id = $1 AND child_id = $2",
    )
    .bind(person)
    .bind(child.0)
    .bind(&card.method)
    .bind(brand)
    .bind(last4)
    .execute(&mut *tx)
    .await?;
    // A fall recorded for the old card and not yet sent charges the new
    // one (the old is forgotten at the provider, which would refuse it).
    // One sent already keeps its card: asked again, the same key must
    // come with the same request.
    sqlx::query(
        "UPDATE payments SET payment_method = $3, updated_at = now()
         WHERE person_id = $1 AND child_id = $2 AND automatic AND status = 'started'
           AND provider_ref = '' AND attempts = 0",
    )
    .bind(person)
    .bind(child.0)
    .bind(&card.method)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(old.filter(|old| *old != card.method)))
}

/// The rule, and on or off. Turned on, a pause ends. False if there is no
/// saved card to charge.
pub async fn save_rule(
    pool: &PgPool,
    person: Uuid,
    child: ChildId,
    rule: Rule,
    enabled: bool,
) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let changed = sqlx::query(
        "UPDATE auto_topups SET threshold = $3, amount = $4, enabled = $5,
                paused_reason = CASE WHEN $5 THEN NULL ELSE paused_reason END,
                paused_at = CASE WHEN $5 THEN NULL ELSE paused_at END, updated_at = now()
         WHERE person_id = $1 AND child_id = $2 AND payment_method IS NOT NULL",
    )
    .bind(person)
    .bind(child.0)
    .bind(rule.threshold.decimal())
    .bind(rule.amount.decimal())
    .bind(enabled)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 1 && !enabled {
        not_wanted(&mut tx, person, child).await?;
    }
    tx.commit().await?;
    Ok(changed == 1)
}

/// The person is no longer the child's parent: their automatic top-up of
/// it is off (the card kept, for them to remove), and a fall not yet sent
/// is not charged ([`not_wanted`]).
pub(crate) async fn switch_off(
    conn: &mut PgConnection,
    person: Uuid,
    child: ChildId,
) -> Result<()> {
    sqlx::query(
        "UPDATE auto_topups SET enabled = false, updated_at = now()
         WHERE person_id = $1 AND child_id = $2",
    )
    .bind(person)
    .bind(child.0)
    .execute(&mut *conn)
    .await?;
    not_wanted(conn, person, child).await
}

/// The parent switched it off or removed the card: a fall recorded but
/// never sent to the provider is not charged. One the worker has sent
/// (claimed: `attempts` > 0) is settled as it is, and paid it still
/// lands: the provider may have charged it with its answer lost, so it is
/// asked again with the same key rather than given up (given up, the
/// money would be taken with no deposit, the webhook ignoring it as the
/// worker's).
async fn not_wanted(conn: &mut PgConnection, person: Uuid, child: ChildId) -> Result<()> {
    sqlx::query(
        "UPDATE payments SET status = 'failed', failure = 'failed', updated_at = now()
         WHERE person_id = $1 AND child_id = $2 AND automatic AND status = 'started'
           AND provider_ref = '' AND attempts = 0",
    )
    .bind(person)
    .bind(child.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the saved card and the rule: the card to forget at the
/// provider, if there was one.
pub async fn remove(pool: &PgPool, person: Uuid, child: ChildId) -> Result<Option<String>> {
    let mut tx = pool.begin().await?;
    let removed: Option<Option<String>> = sqlx::query_scalar(
        "DELETE FROM auto_topups WHERE person_id = $1 AND child_id = $2 RETURNING payment_method",
    )
    .bind(person)
    .bind(child.0)
    .fetch_optional(&mut *tx)
    .await?;
    not_wanted(&mut tx, person, child).await?;
    tx.commit().await?;
    Ok(removed.flatten())
}

/// The person's children whose automatic top-up is paused, and why.
pub async fn paused_of(pool: &PgPool, person: Uuid) -> Result<Vec<(ChildId, Pause)>> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT child_id, paused_reason FROM auto_topups
         WHERE person_id = $1 AND paused_reason IS NOT NULL",
    )
    .bind(person)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(child, why)| Some((ChildId(child), Pause::parse(&why)?)))
        .collect())
}

/// A person's saved cards, for what the ledger keeps about them: the
/// child's name, the brand and the last four digits.
pub async fn cards_of(
    pool: &PgPool,
    person: Uuid,
) -> Result<Vec<(String, Option<String>, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT c.name, a.card_brand, a.card_last4 FROM auto_topups a
         JOIN children c ON c.id = a.child_id
         WHERE a.person_id = $1 AND a.payment_method IS NOT NULL ORDER BY c.name",
    )
    .bind(person)
    .fetch_all(pool)
    .await?)
}

/// Whether another of the person's children still uses this card.
pub async fn card_in_use(pool: &PgPool, person: Uuid, method: &str) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM auto_topups WHERE person_id = $1 AND payment_method = $2)",
    )
    .bind(person)
    .bind(method)
    .fetch_one(pool)
    .await?)
}

/// An automatic payment the worker is to charge, or (`reference` set)
/// to ask about.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Due {
    pub id: Uuid,
    #[sqlx(rename = "child_id", try_from = "ChildKey")]
    pub child: ChildId,
    #[sqlx(try_from = "Amount")]
    pub amount: Money,
    pub customer: String,
    pub payment_method: String,
    #[sqlx(rename = "provider_ref")]
    pub reference: String,
    /// Tries so far, this one included.
    pub attempts: i32,
}

/// Whether the automatic payment `p` is still wanted (see [`claim_due`]).
const WANTED: &str = "EXISTS (SELECT 1 FROM auto_topups a
         JOIN parent_children pc ON pc.person_id = a.person_id AND pc.child_id = a.child_id
         JOIN children ch ON ch.id = a.child_id AND ch.closed_at IS NULL
         WHERE a.person_id = p.person_id AND a.child_id = p.child_id AND a.enabled
           AND a.paused_reason IS NULL AND a.payment_method IS NOT NULL)";

/// Up to `limit` automatic payments due now, each held for `hold` (no
/// other worker takes it meanwhile; a worker that dies with it leaves it
/// to be tried again then) and its try counted.
///
/// One never sent yet is sent only if it is still wanted: its payer still
/// a payer of the child, the account open, automatic top-up on and not
/// paused, a card saved. One no longer wanted (the child left, the payer
/// removed, switched off) is given up here, with no mail: the office or
/// the parent did it. One sent before is asked again whatever happened
/// since (same key: the provider may have charged it).
pub async fn claim_due(pool: &PgPool, limit: i64, hold: Duration) -> Result<Vec<Due>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE payments p SET status = 'failed', failure = 'failed', updated_at = now()
         WHERE p.automatic AND p.status = 'started' AND p.attempts = 0 AND p.provider_ref = ''
           AND NOT {WANTED}"
    )))
    .execute(pool)
    .await?;
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE payments SET attempts = attempts + 1,
                next_attempt_at = now() + make_interval(secs => $2)
         WHERE id IN (SELECT id FROM payments p
                      WHERE automatic AND status = 'started' AND next_attempt_at <= now()
                        AND (attempts > 0 OR {WANTED})
                        -- Sent, never answered, and older than the provider
                        -- keeps an idempotency key (Stripe: 24 hours): sent
                        -- again it could be charged twice. It stays open for
                        -- the provider's webhook (retried for days) to settle.
                        AND NOT (attempts > 0 AND provider_ref = ''
                                 AND created_at < now() - make_interval(secs => $3))
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING id, child_id, amount, customer, payment_method, provider_ref, attempts"
    )))
    .bind(limit)
    .bind(hold.as_secs_f64())
    .bind(KEY_KEPT.as_secs_f64())
    .fetch_all(pool)
    .await?)
}

/// How long after its first try an unanswered charge may be sent again
/// with the same idempotency key: within the 24 hours Stripe keeps one.
pub const KEY_KEPT: Duration = Duration::from_secs(23 * 3600);

/// The provider answered with its PaymentIntent: kept, to ask about it
/// later (the webhook, the next round).
pub async fn charged(pool: &PgPool, id: Uuid, reference: &str) -> Result<()> {
    sqlx::query("UPDATE payments SET provider_ref = $2 WHERE id = $1 AND provider_ref = ''")
        .bind(id)
        .bind(reference)
        .execute(pool)
        .await?;
    Ok(())
}

/// Asked again after `retry_in` (the provider away, or the payment still
/// processing).
pub async fn retry_in(pool: &PgPool, id: Uuid, retry_in: Duration) -> Result<()> {
    sqlx::query(
        "UPDATE payments SET next_attempt_at = now() + make_interval(secs => $2)
         WHERE id = $1 AND status = 'started'",
    )
    .bind(id)
    .bind(retry_in.as_secs_f64())
    .execute(pool)
    .await?;
    Ok(())
}

/// An automatic payment that failed: automatic top-up paused for its
/// payer until they act, and a mail to them, in the caller's transaction
/// (the payment's change to failed, once).
pub(super) async fn paused_by(
    conn: &mut PgConnection,
    person: Uuid,
    child: ChildId,
    amount: Money,
    pause: Pause,
) -> Result<()> {
    sqlx::query(
        "UPDATE auto_topups SET paused_reason = $3, paused_at = now(), updated_at = now()
         WHERE person_id = $1 AND child_id = $2",
    )
    .bind(person)
    .bind(child.0)
    .bind(pause.as_str())
    .execute(&mut *conn)
    .await?;
    let name: String = sqlx::query_scalar("SELECT name FROM children WHERE id = $1")
        .bind(child.0)
        .fetch_one(&mut *conn)
        .await?;
    let vars = json!({"name": name, "amount": amount.to_plain_string()});
    super::mail::queue_to_person(conn, person, pause.mail(), vars).await
}

/// An automatic payment paid: a mail to its payer with the new balance.
pub(super) async fn paid_mail(
    conn: &mut PgConnection,
    person: Uuid,
    child: ChildId,
    amount: Money,
    balance: Money,
) -> Result<()> {
    let name: String = sqlx::query_scalar("SELECT name FROM children WHERE id = $1")
        .bind(child.0)
        .fetch_one(&mut *conn)
        .await?;
    let vars = json!({"name": name, "amount": amount.to_plain_string(),
                      "balance": balance.to_plain_string()});
    super::mail::queue_to_person(conn, person, MailKind::AutoTopupDone, vars).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kr(n: i64) -> Money {
        Money::kroner(n)
    }

    fn situation(before: i64, after: i64) -> Situation {
        Situation {
            before: kr(before),
            after: kr(after),
            cap: kr(1000),
            open: Money::ZERO,
            open_automatic: false,
            this_month: 0,
            per_month: PER_MONTH,
            paused: false,
        }
    }

    fn rule(threshold: i64, amount: i64) -> Rule {
        Rule {
            threshold: kr(threshold),
            amount: kr(amount),
        }
    }

    #[test]
    fn only_a_fall_through_the_threshold_starts_one() {
        let r = rule(30, 100);
        assert_eq!(decide(r, &situation(40, 25)), Decision::Start);
        assert_eq!(decide(r, &situation(30, 29)), Decision::Start);
        // Below already, above still, or a rise.
        assert_eq!(decide(r, &situation(29, 10)), Decision::NoFall);
        assert_eq!(decide(r, &situation(50, 30)), Decision::NoFall);
        assert_eq!(decide(r, &situation(10, 40)), Decision::NoFall);
    }

    #[test]
    fn paused_open_monthly_max_and_cap_stop_it() {
        let r = rule(30, 100);
        let fall = situation(40, 25);
        let paused = Situation {
            paused: true,
            ..fall
        };
        assert_eq!(decide(r, &paused), Decision::Paused);
        let open = Situation {
            open_automatic: true,
            ..fall
        };
        assert_eq!(decide(r, &open), Decision::AlreadyOpen);
        let month = Situation {
            this_month: 4,
            ..fall
        };
        assert_eq!(decide(r, &month), Decision::MonthlyMax);
        let three = Situation {
            this_month: 3,
            ..fall
        };
        assert_eq!(decide(r, &three), Decision::Start);
        // 25 + 900 open + 100 > 1000.
        let crowded = Situation {
            open: kr(900),
            ..fall
        };
        assert_eq!(decide(r, &crowded), Decision::WouldCrossCap);
        // Exactly at the cap is within it.
        let full = Situation {
            open: kr(875),
            ..fall
        };
        assert_eq!(decide(r, &full), Decision::Start);
    }

    #[test]
    fn a_pause_reads_back_from_its_name() {
        for pause in [
            Pause::Declined,
            Pause::AuthenticationRequired,
            Pause::Failed,
        ] {
            assert_eq!(Pause::parse(pause.as_str()), Some(pause));
        }
        assert_eq!(Pause::parse("tired"), None);
    }

    proptest! {
        /// Whatever the numbers: a start is always a fall through the
        /// threshold, never paused, never beside an open one, within the
        /// month's maximum, and never takes the balance past the cap.
        #[test]
        fn a_start_keeps_every_promise(
            before in 0i64..200_000, after in 0i64..200_000,
            threshold in 1i64..100_000, amount in 1i64..100_000,
            cap in 0i64..200_000, open in 0i64..100_000,
            this_month in 0u32..8, per_month in 0u32..8,
            paused: bool, open_automatic: bool,
        ) {
            let r = Rule { threshold: Money::from_ore(threshold), amount: Money::from_ore(amount) };
            let s = Situation {
                before: Money::from_ore(before), after: Money::from_ore(after),
                cap: Money::from_ore(cap), open: Money::from_ore(open),
                open_automatic, this_month, per_month, paused,
            };
            let fell = s.before >= r.threshold && s.after < r.threshold;
            let start = decide(r, &s) == Decision::Start;
            prop_assert_eq!(start, fell && !paused && !open_automatic && this_month < per_month
                && s.after + s.open + r.amount <= s.cap);
            if start {
                prop_assert!(s.after + r.amount <= s.cap);
            }
            // The same balance moving again from below starts nothing.
            let again = Situation { before: s.after, ..s };
            prop_assert_ne!(decide(r, &again), Decision::Start);
        }
    }
}
