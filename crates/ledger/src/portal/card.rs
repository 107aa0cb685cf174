//! A lost card: block it at once, then order a new one to an address the
//! parent types, with the fee shown before it is confirmed (the first
//! card is free), and the orders' status and expected arrival.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::TimeDelta;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::PortalError;
use super::layout::{self, Lang};
use super::session::{OwnChild, Posted, Role, Session};
use crate::api::OrderStatus;
use crate::db::{Actor, DbError, NewOrder};
use crate::{AppState, db};
use klubkasse_core::domain::{CardState, CardUid, ChildId, Money};

/// What an entry made from the portal names as its counter.
fn counter_label(session: &Session) -> &'static str {
    match session.role {
        Role::Parent => "parent",
        Role::Office(_) => "office",
    }
}

/// How long a posted card takes to arrive.
pub const DELIVERY: TimeDelta = TimeDelta::days(14);

async fn draw(
    state: &AppState,
    lang: Lang,
    session: &Session,
    child: ChildId,
    address: &str,
    problem: Option<String>,
) -> Result<Response, PortalError> {
    let detail = db::detail(&state.pool, child).await?;
    let fee = if detail.orders.is_empty() {
        Money::ZERO
    } else {
        state.settings.card_fee
    };
    let active: Vec<&CardUid> = detail
        .cards
        .iter()
        .filter(|c| c.state == CardState::Active)
        .map(|c| &c.uid)
        .collect();
    let title = lang.t("portal.card.card");
    let body = html! {
        (layout::problem(problem.as_deref()))
        p { strong { (detail.child.name) } }
        section.card {
            h2 { (lang.t("portal.card.lost_card")) }
            @if active.is_empty() {
                p { (lang.t("portal.card.there_is_no_active_card_a")) }
            } @else {
                p { (lang.t("portal.card.block_the_card_at_once_so")) }
                @for uid in &active {
                    form method="post" action={ "/portal/children/" (child) "/card/block" } {
                        (layout::csrf(session))
                        input type="hidden" name="uid" value=(uid);
                        button.primary type="submit" { (lang.t("portal.card.block_card")) (uid) }
                    }
                }
            }
        }
        section.card {
            h2 { (lang.t("portal.card.order_a_new_card")) }
            p { (lang.t("portal.card.the_card_is_posted_to_the"))
                (lang.t("portal.card.ordering_blocks_the_old_card")) }
            p data-fee {
                (lang.t("portal.card.price")) strong { (fee) }
                @if fee == Money::ZERO { " " (lang.t("portal.card.the_first_card_is_free")) }
            }
            form method="post" action={ "/portal/children/" (child) "/card/order" } {
                (layout::csrf(session))
                input type="hidden" name="fee" value=(fee.to_plain_string());
                input type="hidden" name="order" value=(Uuid::now_v7());
                label for="address" { (lang.t("portal.card.address")) }
                textarea #address name="address" rows="3" required maxlength="300" { (address) }
                div.actions {
                    button.primary type="submit" {
                        (lang.t("portal.card.order_for")) (fee)
                    }
                }
            }
        }
        @if !detail.orders.is_empty() {
            h2 { (lang.t("portal.card.orders")) }
            table { tbody {
                @for order in &detail.orders {
                    tr {
                        td { (order.created_at.format("%d.%m.%Y")) }
                        td { (match order.status {
                            OrderStatus::Ordered => lang.t("portal.card.ordered"),
                            OrderStatus::Sent => lang.t("portal.card.sent"),
                            OrderStatus::HandedOut => lang.t("portal.card.handed_out"),
                        }) }
                        td {
                            @if order.status != OrderStatus::HandedOut {
                                (lang.t("portal.card.expected"))
                                ((order.created_at + DELIVERY).format("%d.%m.%Y"))
                            }
                        }
                        td.amount { (order.fee) }
                    }
                }
            } }
        }
    };
    Ok(layout::page(lang, session, title, body).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    OwnChild { session, child }: OwnChild,
) -> Result<Response, PortalError> {
    draw(&state, lang, &session, child, "", None).await
}

#[derive(Debug, Deserialize)]
pub struct BlockForm {
    uid: String,
}

pub async fn block(
    State(state): State<AppState>,
    OwnChild { session, child }: OwnChild,
    Posted(form): Posted<BlockForm>,
) -> Result<Response, PortalError> {
    let uid = CardUid::parse(&form.uid).map_err(|_| PortalError::NotFound)?;
    // Only a card of this child: a forged uid must not block another's.
    if db::card_owner(&state.pool, &uid).await? != Some(child) {
        return Err(PortalError::NotFound);
    }
    db::block_card(&state.pool, &session.actor(), &uid).await?;
    Ok(Redirect::to(&format!("/portal/children/{child}/card")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct OrderForm {
    /// Made with the form: sent twice, it orders once.
    order: Uuid,
    address: String,
    /// The fee the person was shown: if it is not the fee now, ask again.
    fee: String,
}

/// Why a card order from a form was not made.
pub(super) enum OrderRefused {
    /// No address, or a longer one than a letter takes.
    Address,
    /// Less on the card than the fee.
    NotEnough(Money),
    /// The fee is not the one shown.
    FeeChanged,
}

/// A card ordered from a parent's or the office's form, as `actor`, the
/// order naming `counter`; a low balance after the fee warns the parents.
pub(super) async fn order_from(
    state: &AppState,
    actor: &Actor,
    child: ChildId,
    form: &OrderForm,
    counter: &str,
) -> Result<Result<(), OrderRefused>, PortalError> {
    let address = form.address.trim();
    if address.is_empty() || address.chars().count() > 300 {
        return Ok(Err(OrderRefused::Address));
    }
    let Ok(fee) = Money::parse(&form.fee) else {
        return Err(PortalError::BadForm("the fee shown".into()));
    };
    let new = NewOrder {
        address,
        id: Some(form.order),
        counter,
        shown: Some(fee),
    };
    match db::order_card(&state.pool, &state.settings, actor, child, &new).await {
        Ok(_) => Ok(Ok(())),
        Err(DbError::Conflict {
            code: "insufficient_funds",
            ..
        }) => Ok(Err(OrderRefused::NotEnough(fee))),
        Err(DbError::Conflict {
            code: "fee_changed",
            ..
        }) => Ok(Err(OrderRefused::FeeChanged)),
        Err(e) => Err(e.into()),
    }
}

pub async fn order(
    State(state): State<AppState>,
    lang: Lang,
    OwnChild { session, child }: OwnChild,
    Posted(form): Posted<OrderForm>,
) -> Result<Response, PortalError> {
    let counter = counter_label(&session);
    let problem = match order_from(&state, &session.actor(), child, &form, counter).await? {
        Ok(()) => {
            return Ok(Redirect::to(&format!("/portal/children/{child}/card")).into_response());
        }
        Err(OrderRefused::Address) => lang.t("portal.card.write_the_address_to_post_the").into(),
        Err(OrderRefused::NotEnough(fee)) => format!(
            "{} {}. {}",
            lang.t("portal.card.there_is_not_enough_money_on"),
            fee,
            lang.t("portal.card.top_up_first_the_card_can"),
        ),
        Err(OrderRefused::FeeChanged) => lang.t("portal.card.the_price_has_changed_see_the").into(),
    };
    draw(
        &state,
        lang,
        &session,
        child,
        form.address.trim(),
        Some(problem),
    )
    .await
}
