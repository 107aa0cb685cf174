//! Money at the office, on a child's page: cash paid in or out over the
//! office's desk with the number of its paper receipt, and corrections
//! with a reason (a counter's sale refunded, an adjustment). Each form
//! carries a one-time id made when the page was drawn, which becomes the
//! entry's id: a reload or a second tab moves the money once. The checks
//! (the cap, never below zero, never more back than was paid) are the
//! `db` functions'; what they refuse is said on the page again.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::super::PortalError;
use super::super::layout::{self, Lang};
use super::super::limits::optional_money;
use super::super::session::{Office, OfficeChild, Posted, Session};
use super::children::{page_of, refused};
use crate::db::{self, Adjustment, DbError, Movement, Refund, RefundableSale};
use crate::{AppState, validate};
use klubkasse_core::domain::{ChildId, Money};
use klubkasse_core::i18n::fill;

/// What happened, for the notice on the page after a form.
#[derive(Debug, Clone, Copy)]
enum Done {
    Deposit,
    Withdrawal,
    Refund,
    Adjustment,
    /// The form's id was used before: nothing moved again.
    Repeat,
}

impl Done {
    fn code(self) -> &'static str {
        match self {
            Done::Deposit => "deposit",
            Done::Withdrawal => "withdrawal",
            Done::Refund => "refund",
            Done::Adjustment => "adjustment",
            Done::Repeat => "repeat",
        }
    }
}

/// The notice for `?done=` on the child's page; None for anything else.
pub(super) fn done_text(lang: Lang, code: &str) -> Option<&'static str> {
    let key = match code {
        "deposit" => "portal.office_money.deposit_done",
        "withdrawal" => "portal.office_money.withdrawal_done",
        "refund" => "portal.office_money.refund_done",
        "adjustment" => "portal.office_money.adjustment_done",
        "repeat" => "portal.office_money.repeat_done",
        _ => return None,
    };
    Some(lang.t(key))
}

/// Back to the child's page saying what happened, so a reload posts
/// nothing again.
fn done(child: ChildId, new: bool, what: Done) -> Response {
    let what = if new { what } else { Done::Repeat };
    Redirect::to(&format!("{}?done={}", page_of(child), what.code())).into_response()
}

/// The forms of cash and corrections on the child's page.
pub(super) fn forms(
    lang: Lang,
    session: &Session,
    child: ChildId,
    sales: &[RefundableSale],
) -> Markup {
    let action = |tail: &str| format!("{}/{tail}", page_of(child));
    html! {
        section.card #cash {
            h2 { (lang.t("portal.office_money.cash_at_the_office")) }
            form method="post" action=(action("cash")) {
                (layout::csrf(session))
                input type="hidden" name="id" value=(Uuid::now_v7());
                label for="cash-amount" { (lang.t("portal.office_money.amount_kr")) }
                input #cash-amount name="amount" required inputmode="decimal" autocomplete="off";
                label for="receipt" { (lang.t("portal.office_money.receipt_number")) }
                input #receipt name="receipt" required maxlength=(validate::MAX_RECEIPT) autocomplete="off";
                div.actions {
                    button.primary type="submit" name="direction" value="deposit" { (lang.t("portal.office_money.pay_in")) }
                    " "
                    button.secondary type="submit" name="direction" value="withdrawal" { (lang.t("portal.office_money.pay_out")) }
                }
            }
        }
        section.card #corrections {
            h2 { (lang.t("portal.office_money.corrections")) }
            h3 { (lang.t("portal.office_money.refund_a_purchase")) }
            @if sales.is_empty() {
                p.muted { (lang.t("portal.office_money.no_purchases_to_refund")) }
            } @else {
                form method="post" action=(action("refund")) #refund {
                    (layout::csrf(session))
                    input type="hidden" name="id" value=(Uuid::now_v7());
                    label for="sale" { (lang.t("portal.office_money.purchase")) }
                    select #sale name="sale" required {
                        @for sale in sales {
                            option value=(sale.id) {
                                (sale.local_at.format("%d.%m. %H:%M")) " · " (sale.items()) " · " (sale.paid)
                                @if sale.left != sale.paid { " (" (lang.t("portal.office_money.left")) " " (sale.left) ")" }
                            }
                        }
                    }
                    label for="refund-amount" { (lang.t("portal.office_money.amount_empty_is_all")) }
                    input #refund-amount name="amount" inputmode="decimal" autocomplete="off";
                    label for="refund-reason" { (lang.t("portal.office_money.reason")) }
                    input #refund-reason name="reason" required maxlength=(validate::MAX_REASON);
                    div.actions { button.primary type="submit" { (lang.t("portal.office_money.refund")) } }
                }
            }
            h3 { (lang.t("portal.office_money.correct_the_balance")) }
            form method="post" action=(action("adjustment")) #adjustment {
                (layout::csrf(session))
                input type="hidden" name="id" value=(Uuid::now_v7());
                label for="adjust-amount" { (lang.t("portal.office_money.signed_amount_kr")) }
                input #adjust-amount name="amount" required inputmode="decimal" autocomplete="off";
                label for="adjust-reason" { (lang.t("portal.office_money.reason")) }
                input #adjust-reason name="reason" required maxlength=(validate::MAX_REASON)
                    placeholder=(lang.t("portal.office_money.reason_example"));
                div.actions { button.secondary type="submit" { (lang.t("portal.office_money.correct_the_balance")) } }
            }
        }
    }
}

/// What the books refused, in the office's words: the cap and the
/// balance with their amounts; None for what is no refusal of a form.
async fn refusal_text(
    state: &AppState,
    lang: Lang,
    child: ChildId,
    error: &DbError,
) -> Result<Option<String>, PortalError> {
    let code = match error {
        DbError::Conflict { code, .. } | DbError::Refused { code, .. } => *code,
        _ => return Ok(None),
    };
    let balance = || async { Ok::<_, PortalError>(db::detail(&state.pool, child).await?.balance) };
    let text = match code {
        "balance_cap" => {
            let cap = state.settings.balance_cap;
            let room = (cap - balance().await?).max(Money::ZERO);
            let (cap, room) = (cap.to_string(), room.to_string());
            fill(
                lang.t("portal.office_money.above_the_cap"),
                &[("cap", &cap), ("room", &room)],
            )
        }
        "insufficient_funds" => fill(
            lang.t("portal.office_money.not_enough_money"),
            &[("balance", &balance().await?.to_string())],
        ),
        "already_refunded" => lang.t("portal.office_money.already_refunded").into(),
        "refund_too_large" => lang.t("portal.office_money.refund_too_large").into(),
        "unknown_sale" => lang.t("portal.office_money.choose_a_purchase").into(),
        "id_in_use" => lang.t("portal.office_money.form_used").into(),
        _ => return Ok(None),
    };
    Ok(Some(text))
}

/// A refusal of the books as the page again with its reason; anything
/// else is the error it is.
async fn refused_by_books(
    state: &AppState,
    lang: Lang,
    office: &Office,
    child: ChildId,
    error: DbError,
) -> Result<Response, PortalError> {
    match refusal_text(state, lang, child, &error).await? {
        Some(problem) => refused(state, lang, office, child, &problem).await,
        None => Err(error.into()),
    }
}

/// An amount above zero as typed ("50", "12,50").
fn positive(text: &str) -> Option<Money> {
    optional_money(text)
        .ok()
        .flatten()
        .filter(|m| m.is_positive())
}

#[derive(Debug, Deserialize)]
pub struct CashForm {
    id: Uuid,
    amount: String,
    receipt: String,
    /// The button pressed: "deposit" or "withdrawal".
    direction: String,
}

pub async fn cash(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<CashForm>,
) -> Result<Response, PortalError> {
    let deposit = match form.direction.as_str() {
        "deposit" => true,
        "withdrawal" => false,
        _ => return Err(PortalError::BadForm("direction".into())),
    };
    let Some(amount) = positive(&form.amount) else {
        let problem = lang.t("portal.office_money.write_an_amount");
        return refused(&state, lang, &office, child, problem).await;
    };
    let Ok(receipt) = validate::text("receipt", &form.receipt, validate::MAX_RECEIPT) else {
        let problem = lang.t("portal.office_money.write_a_receipt_number");
        return refused(&state, lang, &office, child, problem).await;
    };
    let movement = Movement {
        deposit,
        amount,
        id: Some(form.id),
        counter: "office",
        receipt: Some(&receipt),
    };
    let actor = office.session.actor();
    match db::money_entry(&state.pool, &state.settings, &actor, child, movement).await {
        Ok((_, new)) => {
            let what = if deposit {
                Done::Deposit
            } else {
                Done::Withdrawal
            };
            Ok(done(child, new, what))
        }
        Err(e) => refused_by_books(&state, lang, &office, child, e).await,
    }
}

/// The reason of a correction, or the page again asking for one.
fn reason_of(text: &str) -> Option<String> {
    validate::text("reason", text, validate::MAX_REASON).ok()
}

#[derive(Debug, Deserialize)]
pub struct RefundForm {
    id: Uuid,
    sale: Uuid,
    /// Empty: all that is left of the sale.
    #[serde(default)]
    amount: String,
    reason: String,
}

pub async fn refund(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<RefundForm>,
) -> Result<Response, PortalError> {
    let amount = match optional_money(&form.amount) {
        Ok(None) => None,
        Ok(Some(m)) if m.is_positive() => Some(m),
        _ => {
            let problem = lang.t("portal.office_money.write_an_amount_or_nothing");
            return refused(&state, lang, &office, child, problem).await;
        }
    };
    let Some(reason) = reason_of(&form.reason) else {
        let problem = lang.t("portal.office_money.write_a_reason");
        return refused(&state, lang, &office, child, problem).await;
    };
    let refund = Refund {
        id: form.id,
        sale: form.sale,
        amount,
        reason: &reason,
    };
    match db::refund_sale(&state.pool, &office.session.actor(), child, refund).await {
        Ok((_, new)) => Ok(done(child, new, Done::Refund)),
        Err(e) => refused_by_books(&state, lang, &office, child, e).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct AdjustmentForm {
    id: Uuid,
    amount: String,
    reason: String,
}

/// A signed amount as typed ("-12,50", "+50", "50"); not zero.
fn signed(text: &str) -> Option<Money> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix(['-', '−']) {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let amount = positive(digits)?;
    Some(if negative { -amount } else { amount })
}

pub async fn adjustment(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<AdjustmentForm>,
) -> Result<Response, PortalError> {
    let Some(amount) = signed(&form.amount) else {
        let problem = lang.t("portal.office_money.write_a_signed_amount");
        return refused(&state, lang, &office, child, problem).await;
    };
    let Some(reason) = reason_of(&form.reason) else {
        let problem = lang.t("portal.office_money.write_a_reason");
        return refused(&state, lang, &office, child, problem).await;
    };
    let adjustment = Adjustment {
        id: form.id,
        amount,
        reason: &reason,
    };
    let actor = office.session.actor();
    match db::adjust(&state.pool, &state.settings, &actor, child, adjustment).await {
        Ok((_, new)) => Ok(done(child, new, Done::Adjustment)),
        Err(e) => refused_by_books(&state, lang, &office, child, e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_amounts_read_as_typed_and_zero_is_none() {
        assert_eq!(signed("50"), Some(Money::kroner(50)));
        assert_eq!(signed("+50"), Some(Money::kroner(50)));
        assert_eq!(signed(" -12,50 "), Some(-Money::from_ore(1250)));
        assert_eq!(signed("−5"), Some(-Money::kroner(5)));
        assert_eq!(signed("0"), None);
        assert_eq!(signed("-0"), None);
        assert_eq!(signed("--5"), None);
        assert_eq!(signed(""), None);
        assert_eq!(signed("fem"), None);
    }
}
