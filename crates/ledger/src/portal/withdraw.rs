//! Withdraw all or part of a balance to the parent's bank account: the
//! money leaves the card at once, and the office pays it out.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::PortalError;
use super::layout::{self, Lang};
use super::session::{OwnChild, Posted, Session};
use crate::db::{DbError, payments};
use crate::{AppState, db, validate};
use klubkasse_core::domain::{ChildId, Money};

struct Filled<'a> {
    /// The request's id, made with the form: sent twice, it asks once.
    request: Uuid,
    amount: &'a str,
    account: &'a str,
    problem: Option<String>,
}

async fn draw(
    state: &AppState,
    lang: Lang,
    session: &Session,
    child: ChildId,
    filled: Filled<'_>,
) -> Result<Response, PortalError> {
    let detail = db::detail(&state.pool, child).await?;
    let payouts = payments::payouts_of(&state.pool, child, session.person).await?;
    let balance = detail.balance.max(Money::ZERO);
    let title = lang.t("portal.withdraw.withdraw_money");
    let body = html! {
        (layout::problem(filled.problem.as_deref()))
        p { strong { (detail.child.name) } " · " (lang.t("portal.withdraw.balance")) (balance) }
        @if balance.is_positive() {
            form method="post" {
                (layout::csrf(session))
                input type="hidden" name="request" value=(filled.request);
                label for="amount" { (lang.t("portal.withdraw.amount_in_kr")) }
                input #amount name="amount" inputmode="decimal" required value=(filled.amount)
                    placeholder=(balance.danish_number());
                p.muted { (lang.t("portal.withdraw.at_most_the_balance")) (balance) }
                label for="account" { (lang.t("portal.withdraw.your_bank_account_reg_no_and")) }
                input #account name="account" required maxlength="40" value=(filled.account)
                    placeholder="1234 12345678";
                div.actions {
                    button.primary type="submit" { (lang.t("portal.withdraw.withdraw")) }
                    button.secondary type="submit" name="all" value="yes" formnovalidate {
                        (lang.t("portal.withdraw.withdraw_all"))
                    }
                    a.button.secondary href="/portal" { (lang.t("portal.withdraw.cancel")) }
                }
            }
        } @else {
            p { (lang.t("portal.withdraw.there_is_no_money_to_withdraw")) }
        }
        @if !payouts.is_empty() {
            h2 { (lang.t("portal.withdraw.withdrawals")) }
            table { tbody {
                @for p in &payouts {
                    tr {
                        td { (p.created_at.format("%d.%m.%Y")) }
                        td.amount { (p.amount) }
                        td { (match p.status.as_str() {
                            "paid" => lang.t("portal.withdraw.paid_out"),
                            "rejected" => lang.t("portal.withdraw.rejected"),
                            _ => lang.t("portal.withdraw.waiting_for_the_office"),
                        }) }
                    }
                }
            } }
        }
    };
    Ok(layout::page(lang, session, title, body).into_response())
}

pub async fn form(
    State(state): State<AppState>,
    lang: Lang,
    OwnChild { session, child }: OwnChild,
) -> Result<Response, PortalError> {
    let filled = Filled {
        request: Uuid::now_v7(),
        amount: "",
        account: "",
        problem: None,
    };
    draw(&state, lang, &session, child, filled).await
}

#[derive(Debug, Deserialize)]
pub struct WithdrawForm {
    request: Uuid,
    #[serde(default)]
    amount: String,
    account: String,
    /// "Withdraw all": the balance as it is when the request arrives.
    #[serde(default)]
    all: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    lang: Lang,
    OwnChild { session, child }: OwnChild,
    Posted(form): Posted<WithdrawForm>,
) -> Result<Response, PortalError> {
    let refuse = |problem: String| Filled {
        request: form.request,
        amount: &form.amount,
        account: &form.account,
        problem: Some(problem),
    };
    let account = form.account.trim();
    let amount = match form.all {
        // Sent again after it took everything: what it took then, so that
        // it is the same request, not another (nor nothing) with its id.
        Some(_) => match payments::payouts_of(&state.pool, child, session.person)
            .await?
            .into_iter()
            .find(|p| p.id == form.request)
        {
            Some(asked) => Some(asked.amount),
            None => Some(db::detail(&state.pool, child).await?.balance),
        },
        None => validate::typed_kroner(&form.amount),
    };
    let amount = match amount {
        Some(amount) if amount.is_positive() => amount,
        _ => {
            let problem = lang.t("portal.withdraw.write_the_amount_as_a_number");
            return draw(&state, lang, &session, child, refuse(problem.into())).await;
        }
    };
    let Some(account) = validate::bank_account(account) else {
        let problem = lang.t("portal.withdraw.write_your_account_number");
        return draw(&state, lang, &session, child, refuse(problem.into())).await;
    };
    match payments::request_payout(
        &state.pool,
        &state.settings,
        &session.actor(),
        form.request,
        child,
        payments::PayoutTo {
            payee: payments::Payee::Person(session.person),
            amount,
            bank_account: account,
        },
    )
    .await
    {
        Ok(_) => Ok(Redirect::to("/portal?done=withdrawn").into_response()),
        Err(DbError::Conflict {
            code: "insufficient_funds",
            ..
        }) => {
            let balance = db::detail(&state.pool, child)
                .await?
                .balance
                .max(Money::ZERO);
            let problem = format!(
                "{} {} {} {}.",
                lang.t("portal.withdraw.you_cannot_withdraw"),
                amount,
                lang.t("portal.withdraw.the_balance_is_only"),
                balance
            );
            draw(&state, lang, &session, child, refuse(problem)).await
        }
        Err(e) => Err(e.into()),
    }
}
