//! A child leaving the club: what is left on the card asked as a payout to
//! one of its payers (the same request a parent's withdrawal makes, so the
//! office's payout list pays or rejects it), every card blocked and the
//! account closed, all in one transaction. The history stays; a closed
//! account takes no new money ([`super::children::Locked::open`]), and a
//! counter's later push of an offline sale is still recorded, flagged.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::children::{bump_change, lock_child};
use super::office_log::{self, Action, Actor, Change};
use super::payments::{Payee, PayoutTo, request_payout_in};
use super::{DbError, Result};
use klubkasse_core::domain::{ChildId, Money};

/// Where the balance goes: one of the child's payers, to this account.
#[derive(Debug, Clone, Copy)]
pub struct PayTo<'a> {
    pub payer: Uuid,
    pub bank_account: &'a str,
}

/// What leaving did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    /// The payout asked for; None when nothing was left.
    pub payout: Option<Uuid>,
    pub amount: Money,
    /// The cards blocked now (blocked ones stay blocked).
    pub blocked: Vec<String>,
}

/// Closes the account of `child` (its scope checked by the caller) as
/// `actor`. A balance above zero needs `pay_to` (else `payer_needed`), a
/// payer of this child (another's is not found); zero or below closes
/// without a payout (a debt stays on the closed account for the office).
/// `payout` is the form's id for the request. A closed account with money
/// on it again (its payout rejected) asks that payout only; one without:
/// `account_closed`.
pub async fn leave(
    pool: &PgPool,
    actor: &Actor,
    child: ChildId,
    pay_to: Option<PayTo<'_>>,
    payout: Uuid,
) -> Result<Left> {
    let mut tx = pool.begin().await?;
    let locked = lock_child(&mut tx, child).await?;
    let amount = locked.balance;
    // Money back on a closed account (its payout rejected, a counter's
    // late refund) is paid out the same way; nothing else is done again.
    let closed = locked.closed;
    if closed && amount <= Money::ZERO {
        locked.open()?;
    }
    let mut asked = None;
    if amount > Money::ZERO {
        let Some(pay_to) = pay_to else {
            return Err(DbError::conflict(
                "payer_needed",
                "the balance is paid out to one of the child's payers: choose one",
            ));
        };
        let payer: Option<Uuid> = sqlx::query_scalar(
            "SELECT id FROM payers WHERE id = $1 AND child_id = $2 AND removed_at IS NULL",
        )
        .bind(pay_to.payer)
        .bind(child.0)
        .fetch_optional(&mut *tx)
        .await?;
        let payer = payer.ok_or_else(|| DbError::not_found("no such payer of the child"))?;
        let to = PayoutTo {
            payee: Payee::Payer(payer),
            amount,
            bank_account: pay_to.bank_account,
        };
        // The form's id names a new payout: one used before (another
        // entry, or this child's earlier withdrawal) would close the
        // account with the money still on it.
        if request_payout_in(&mut tx, actor, payout, child, &to, "office")
            .await?
            .is_none()
        {
            return Err(DbError::conflict(
                "id_in_use",
                "this form's id is already used for another entry; load the page again",
            ));
        }
        asked = Some(payout);
    }
    let blocked = if closed {
        Vec::new()
    } else {
        close(&mut tx, actor, child).await?
    };
    let change = Change::child(Action::ChildLeft, child)
        .before(json!({ "balance": amount, "closed": closed }))
        .after(json!({
            "closed": true, "payout": asked, "amount": amount.max(Money::ZERO),
            "payer": pay_to.map(|p| p.payer), "cards_blocked": blocked,
        }));
    office_log::write(&mut tx, actor, change).await?;
    tx.commit().await?;
    Ok(Left {
        payout: asked,
        amount,
        blocked,
    })
}

/// Blocks the child's active cards and closes its account: the cards
/// blocked now.
async fn close(tx: &mut sqlx::PgConnection, actor: &Actor, child: ChildId) -> Result<Vec<String>> {
    let blocked: Vec<String> = sqlx::query_scalar(
        "UPDATE cards SET state = 'blocked', blocked_at = now()
         WHERE child_id = $1 AND state = 'active' RETURNING uid",
    )
    .bind(child.0)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("UPDATE children SET closed_at = now(), closed_by = $2 WHERE id = $1")
        .bind(child.0)
        .bind(actor.name())
        .execute(&mut *tx)
        .await?;
    // The counters pull the blocked cards with the child's new number.
    bump_change(tx, child).await?;
    Ok(blocked)
}
