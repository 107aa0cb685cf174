//! Money between the ledger and parents: top-up payments at the provider,
//! and payout requests the office pays to a bank account. Money moves on
//! the card only through [`super::entries::money_entry_in`], in the same
//! transaction as the payment's or the request's new state.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;
// Dynamic SQL here only splices the column-list constants, never input.
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use super::auto_topup::{self, Pause};
use super::clubs::Scope;
use super::entries::{Movement, money_entry_in};
use super::mail::MailKind;
use super::office_log::{self, Action, Actor, Change};
use super::{Amount, ChildKey, DbError, Paged, Result, Window, money};
use crate::Settings;
use crate::api::EntryRecord;
use klubkasse_core::domain::{ChildId, Money};

/// A payment as the portal keeps it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Payment {
    pub id: Uuid,
    #[sqlx(rename = "person_id")]
    pub person: Uuid,
    #[sqlx(rename = "child_id", try_from = "ChildKey")]
    pub child: ChildId,
    #[sqlx(try_from = "Amount")]
    pub amount: Money,
    pub provider_ref: String,
    pub status: String,
    /// Started by a fall below a payer's threshold, off-session.
    pub automatic: bool,
}

const PAYMENT_COLUMNS: &str = "id, person_id, child_id, amount, provider_ref, status, automatic";

/// How long an open payment holds room under the cap: a pay page left
/// unfinished stops holding it then (paid later, it still lands).
const OPEN_HOLDS_ROOM: &str = "30 minutes";

/// The room under `cap` for a new top-up: the cap less the balance and
/// the payments still open (started in the last 30 minutes, or automatic:
/// those are charged however late their worker comes).
pub async fn room(conn: &mut PgConnection, child: ChildId, cap: Money) -> Result<Money> {
    let (balance, open): (Decimal, Decimal) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT c.balance, coalesce((SELECT sum(p.amount) FROM payments p
                                     WHERE p.child_id = c.id AND p.status = 'started'
                                       AND (p.automatic
                                            OR p.created_at > now() - interval '{OPEN_HOLDS_ROOM}')), 0)
         FROM children c WHERE c.id = $1"
    )))
    .bind(child.0)
    .fetch_one(conn)
    .await?;
    Ok((cap - money(balance) - money(open)).max(Money::ZERO))
}

/// Records a payment about to start at the provider, if it fits under
/// `cap` with the payments still open: the child's row is locked, so
/// top-ups started at once are counted one after the other and together
/// never pass the cap. Refused: `balance_cap`. The provider's reference
/// comes with [`payment_started`].
pub async fn reserve_payment(
    pool: &PgPool,
    payment: &Payment,
    provider: &str,
    cap: Money,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM children WHERE id = $1 FOR UPDATE")
        .bind(payment.child.0)
        .execute(&mut *tx)
        .await?;
    let room = room(&mut tx, payment.child, cap).await?;
    if payment.amount > room {
        return Err(DbError::conflict(
            "balance_cap",
            format!(
                "with the payments still open, at most {} fits under the cap",
                room.to_plain_string()
            ),
        ));
    }
    sqlx::query(
        "INSERT INTO payments (id, person_id, child_id, amount, provider, provider_ref, status)
         VALUES ($1, $2, $3, $4, $5, '', 'started')",
    )
    .bind(payment.id)
    .bind(payment.person)
    .bind(payment.child.0)
    .bind(payment.amount.decimal())
    .bind(provider)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The provider took the payment: its reference, to ask it later.
pub async fn payment_started(pool: &PgPool, id: Uuid, reference: &str) -> Result<()> {
    sqlx::query("UPDATE payments SET provider_ref = $2 WHERE id = $1")
        .bind(id)
        .bind(reference)
        .execute(pool)
        .await?;
    Ok(())
}

/// The provider could not start it: it holds no room any more.
pub async fn payment_not_started(pool: &PgPool, id: Uuid) -> Result<()> {
    sqlx::query("UPDATE payments SET status = 'failed' WHERE id = $1 AND provider_ref = ''")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn payment(pool: &PgPool, id: Uuid) -> Result<Option<Payment>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// A person's payments still open.
pub async fn open_payments(pool: &PgPool, person: Uuid) -> Result<Vec<Payment>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE person_id = $1 AND status = 'started'
         ORDER BY created_at"
    )))
    .bind(person)
    .fetch_all(pool)
    .await?)
}

/// Marks a started payment paid, with its deposit (the payment's id is
/// the entry's: settled twice, one deposit), or failed (`paid` false).
pub async fn settle_payment(pool: &PgPool, payment: &Payment, paid: bool) -> Result<()> {
    let failed = (!paid).then_some(Pause::Failed);
    settle_payment_as(pool, payment, failed).await
}

/// [`settle_payment`]: paid (`failed` None) or failed, and why. An
/// automatic payment's payer gets a mail, and a failed one pauses their
/// automatic top-up, in the same transaction as the payment leaving
/// `started`: once, whoever settles it first (the worker, the webhook).
pub async fn settle_payment_as(
    pool: &PgPool,
    payment: &Payment,
    failed: Option<Pause>,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let entry = if failed.is_none() {
        // No cap now: the money is taken, and the cap was checked when
        // the payment started.
        let movement = Movement {
            deposit: true,
            amount: payment.amount,
            id: Some(payment.id),
            counter: "parent",
            receipt: None,
        };
        let (entry, _) = money_entry_in(&mut tx, None, payment.child, movement).await?;
        Some(entry)
    } else {
        None
    };
    let entry_id = entry.as_ref().map(|e| e.entry.id);
    let changed = set_payment_status(&mut tx, payment.id, entry_id, failed).await?;
    if changed && payment.automatic {
        match (&entry, failed) {
            (Some(entry), _) => {
                auto_topup::paid_mail(
                    &mut tx,
                    payment.person,
                    payment.child,
                    payment.amount,
                    entry.balance_after,
                )
                .await?
            }
            (None, Some(why)) => {
                auto_topup::paused_by(&mut tx, payment.person, payment.child, payment.amount, why)
                    .await?
            }
            (None, None) => {}
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The payment's new state; false if it had left `started` already.
async fn set_payment_status(
    conn: &mut PgConnection,
    id: Uuid,
    entry: Option<Uuid>,
    failed: Option<Pause>,
) -> Result<bool> {
    let status = if entry.is_some() { "paid" } else { "failed" };
    let changed = sqlx::query(
        "UPDATE payments SET status = $2, entry_id = $3, updated_at = now(),
                failure = CASE WHEN automatic THEN $4 END
         WHERE id = $1 AND status = 'started'",
    )
    .bind(id)
    .bind(status)
    .bind(entry)
    .bind(failed.map(Pause::as_str))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Who a payout goes to: the parent asking, or (a child leaving) one of
/// the child's payers, who is not a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payee {
    Person(Uuid),
    Payer(Uuid),
}

/// Takes money off the card at once (so it cannot be spent too) and asks
/// the office to pay it to the parent's bank account: both or neither.
/// `id` comes with the form: the same form sent twice asks once.
/// The person asking is `actor`, the parent the request is for the
/// payout's payee.
pub async fn request_payout(
    pool: &PgPool,
    settings: &Settings,
    actor: &Actor,
    id: Uuid,
    child: ChildId,
    payout: PayoutTo<'_>,
) -> Result<Uuid> {
    let mut tx = pool.begin().await?;
    let amount = payout.amount;
    if let Some(entry) = request_payout_in(&mut tx, actor, id, child, &payout, "parent").await? {
        super::mail::queue_low_balance_of(&mut tx, child).await?;
        let fall = super::auto_topup::Fall {
            child,
            before: entry.balance_after + amount,
            after: entry.balance_after,
            entry: entry.entry.id,
        };
        Box::pin(super::auto_topup::queue_fall(&mut tx, settings, fall)).await?;
        tx.commit().await?;
    }
    Ok(id)
}

/// A payout to ask for: to whom, how much, to which account.
#[derive(Debug, Clone, Copy)]
pub struct PayoutTo<'a> {
    pub payee: Payee,
    pub amount: Money,
    pub bank_account: &'a str,
}

/// [`request_payout`] inside the caller's transaction (a child leaving),
/// the withdrawal naming `counter`: its entry; None if `id` asked already.
pub(super) async fn request_payout_in(
    tx: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    child: ChildId,
    payout: &PayoutTo<'_>,
    counter: &str,
) -> Result<Option<EntryRecord>> {
    let movement = Movement {
        deposit: false,
        amount: payout.amount,
        id: Some(id),
        counter,
        receipt: None,
    };
    let (entry, new) = money_entry_in(tx, None, child, movement).await?;
    if !new {
        return Ok(None);
    }
    let change = Change::child(Action::PayoutRequest, child).after(json!({
        "payout": id, "amount": payout.amount, "entry": entry.entry.id, "balance": entry.balance_after,
    }));
    office_log::write(tx, actor, change).await?;
    let (person, payer) = match payout.payee {
        Payee::Person(id) => (Some(id), None),
        Payee::Payer(id) => (None, Some(id)),
    };
    sqlx::query(
        "INSERT INTO payout_requests
             (id, person_id, payer_id, child_id, amount, bank_account, status, withdrawal_entry)
         VALUES ($1, $2, $3, $4, $5, $6, 'requested', $7)",
    )
    .bind(id)
    .bind(person)
    .bind(payer)
    .bind(child.0)
    .bind(payout.amount.decimal())
    .bind(payout.bank_account)
    .bind(entry.entry.id)
    .execute(&mut *tx)
    .await?;
    Ok(Some(entry))
}

/// A payout request as the parent and the office see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Payout {
    pub id: Uuid,
    pub child_name: String,
    pub parent_name: String,
    #[sqlx(try_from = "Amount")]
    pub amount: Money,
    pub bank_account: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

// The payee: the parent who asked, or the payer a leaving child's
// balance goes to.
const PAYOUT_SELECT: &str = "SELECT r.id, c.name AS child_name,
        coalesce(p.name, y.name) AS parent_name, r.amount, r.bank_account, r.status, r.created_at
    FROM payout_requests r JOIN children c ON c.id = r.child_id
         LEFT JOIN people p ON p.id = r.person_id LEFT JOIN payers y ON y.id = r.payer_id";

/// A child's payout requests, newest first.
/// A parent's own payout requests for the child: a payer never sees
/// another payer's.
pub async fn payouts_of(pool: &PgPool, child: ChildId, person: Uuid) -> Result<Vec<Payout>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "{PAYOUT_SELECT} WHERE r.child_id = $1 AND r.person_id = $2 ORDER BY r.created_at DESC"
    )))
    .bind(child.0)
    .bind(person)
    .fetch_all(pool)
    .await?)
}

/// The payout requests still waiting for the office, of the children
/// within `scope`, newest first, a page at a time.
pub async fn waiting_payouts(
    pool: &PgPool,
    scope: &Scope,
    window: Window,
) -> Result<Paged<Payout>> {
    let rows = sqlx::query_as(AssertSqlSafe(format!(
        "{PAYOUT_SELECT} WHERE r.status = 'requested' AND club_in_scope(c.club, $1)
         ORDER BY r.created_at DESC, r.id DESC OFFSET $2 LIMIT $3"
    )))
    .bind(scope.clubs())
    .bind(window.offset)
    .bind(window.limit())
    .fetch_all(pool)
    .await?;
    Ok(window.cut(rows))
}

/// The child a payout request is for, if the request exists.
pub async fn payout_child(pool: &PgPool, id: Uuid) -> Result<Option<ChildId>> {
    let child: Option<Uuid> =
        sqlx::query_scalar("SELECT child_id FROM payout_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(child.map(ChildId))
}

#[derive(sqlx::FromRow)]
struct Requested {
    #[sqlx(try_from = "ChildKey")]
    child_id: ChildId,
    #[sqlx(try_from = "Amount")]
    amount: Money,
}

/// The office cannot pay it out (a wrong account, say): the money goes
/// back on the card, with the request's new state, in one transaction.
/// Only a request still waiting; false if it was not.
pub async fn reject_payout(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let rejected = reject_payout_in(&mut tx, actor, id).await?;
    tx.commit().await?;
    Ok(rejected)
}

/// [`reject_payout`] inside the caller's transaction (a payer removed).
pub(super) async fn reject_payout_in(
    tx: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<bool> {
    let requested: Option<Requested> = sqlx::query_as(
        "SELECT child_id, amount FROM payout_requests WHERE id = $1 AND status = 'requested'
         FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(requested) = requested else {
        return Ok(false);
    };
    // Back whatever the cap: it was the card's money a moment ago.
    let movement = Movement {
        deposit: true,
        amount: requested.amount,
        id: None,
        counter: "office",
        receipt: None,
    };
    let (entry, _) = money_entry_in(tx, None, requested.child_id, movement).await?;
    sqlx::query(
        "UPDATE payout_requests SET status = 'rejected', reversal_entry = $2, decided_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(entry.entry.id)
    .execute(&mut *tx)
    .await?;
    let change = Change::child(Action::PayoutRejected, requested.child_id)
        .before(json!({ "payout": id, "status": "requested", "amount": requested.amount }))
        .after(
            json!({ "payout": id, "status": "rejected", "entry": entry.entry.id,
                       "balance": entry.balance_after }),
        );
    office_log::write(tx, actor, change).await?;
    super::mail::queue_about_payout(&mut *tx, id, MailKind::PayoutRejected).await?;
    Ok(true)
}

/// The office paid it out; false if it was not waiting.
pub async fn mark_payout_paid(pool: &PgPool, actor: &Actor, id: Uuid) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let paid: Option<Requested> = sqlx::query_as(
        "UPDATE payout_requests SET status = 'paid', decided_at = now()
         WHERE id = $1 AND status = 'requested' RETURNING child_id, amount",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(paid) = paid else {
        return Ok(false);
    };
    let change = Change::child(Action::PayoutPaid, paid.child_id)
        .before(json!({ "payout": id, "status": "requested", "amount": paid.amount }))
        .after(json!({ "payout": id, "status": "paid" }));
    office_log::write(&mut tx, actor, change).await?;
    super::mail::queue_about_payout(&mut tx, id, MailKind::PayoutPaid).await?;
    tx.commit().await?;
    Ok(true)
}
