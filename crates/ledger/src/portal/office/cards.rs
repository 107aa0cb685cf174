//! A child's cards at the office: hand one out by typing its UID (or
//! marking an order handed out with it), block and unblock one, order a
//! replacement with the card fee. What a form names must be the child's
//! own card; the child must be of the office's clubs ([`OfficeChild`]).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::super::PortalError;
use super::super::card::{OrderForm, OrderRefused, order_from};
use super::super::layout::Lang;
use super::super::session::{Office, OfficeChild, Posted};
use super::children::{Range, back, draw, refused};
use crate::AppState;
use crate::api::OrderStatus;
use crate::db::{self, DbError};
use klubkasse_core::domain::{CardUid, ChildId};

/// A UID as staff type it: spaces around it and lower case do not matter.
pub fn typed_uid(text: &str) -> Option<CardUid> {
    CardUid::parse(&text.trim().to_uppercase()).ok()
}

/// Hands `typed` out to `child`, closing `order` (or the oldest open), or says on the child's page why not: a
/// UID that is not one, a blocked card, a card of another child (named
/// only if that child is of the office's clubs).
async fn hand_out(
    state: &AppState,
    lang: Lang,
    office: &Office,
    child: ChildId,
    typed: &str,
    order: Option<Uuid>,
) -> Result<Response, PortalError> {
    let Some(uid) = typed_uid(typed) else {
        let problem = lang.t("portal.office_children.not_a_card_uid");
        return refused(state, lang, office, child, problem).await;
    };
    let actor = office.session.actor();
    let problem = match db::cards::hand_out_for(&state.pool, &actor, child, &uid, order).await {
        Ok(_) => return Ok(back(child)),
        Err(DbError::Conflict {
            code: "card_blocked",
            ..
        }) => lang
            .t("portal.office_children.the_card_is_blocked")
            .to_string(),
        Err(DbError::Conflict {
            code: "card_taken", ..
        }) => {
            let owner = db::card_owner(&state.pool, &uid).await?;
            let seen = match owner {
                Some(owner) => db::child_in_scope(&state.pool, &office.scope, owner).await?,
                None => false,
            };
            match owner.filter(|_| seen) {
                Some(owner) => format!(
                    "{} {}",
                    lang.t("portal.office_children.the_card_is_in_use_by"),
                    db::detail(&state.pool, owner).await?.child.name
                ),
                None => lang
                    .t("portal.office_children.the_card_is_in_use")
                    .to_string(),
            }
        }
        Err(e) => return Err(e.into()),
    };
    refused(state, lang, office, child, &problem).await
}

#[derive(Debug, Deserialize)]
pub struct UidForm {
    uid: String,
}

pub async fn hand_out_card(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<UidForm>,
) -> Result<Response, PortalError> {
    hand_out(&state, lang, &office, child, &form.uid, None).await
}

/// The child's own card named by the form; a forged UID of another's card
/// is "not found".
async fn own_card(state: &AppState, child: ChildId, typed: &str) -> Result<CardUid, PortalError> {
    let uid = typed_uid(typed).ok_or(PortalError::NotFound)?;
    if db::card_owner(&state.pool, &uid).await? != Some(child) {
        return Err(PortalError::NotFound);
    }
    Ok(uid)
}

pub async fn block(
    State(state): State<AppState>,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<UidForm>,
) -> Result<Response, PortalError> {
    let uid = own_card(&state, child, &form.uid).await?;
    db::block_card(&state.pool, &office.session.actor(), &uid).await?;
    Ok(back(child))
}

pub async fn unblock(
    State(state): State<AppState>,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<UidForm>,
) -> Result<Response, PortalError> {
    let uid = own_card(&state, child, &form.uid).await?;
    db::cards::unblock_card(&state.pool, &office.session.actor(), &uid).await?;
    Ok(back(child))
}

pub async fn order(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<OrderForm>,
) -> Result<Response, PortalError> {
    let actor = office.session.actor();
    let problem = match order_from(&state, &actor, child, &form, "office").await? {
        Ok(()) => return Ok(back(child)),
        Err(OrderRefused::Address) => "portal.office_children.write_where_the_card_goes",
        Err(OrderRefused::NotEnough(_)) => "portal.office_children.not_enough_for_the_fee",
        Err(OrderRefused::FeeChanged) => "portal.card.the_price_has_changed_see_the",
    };
    let problem = Some(lang.t(problem));
    draw(&state, lang, &office, child, &Range::default(), problem).await
}

#[derive(Debug, Deserialize)]
pub struct OrderStatusForm {
    status: String,
    /// The card handed out, for `handed_out`.
    #[serde(default)]
    uid: String,
}

/// An order on the office page moved on: sent, or handed out with the
/// card typed next to it (which records the card and closes the order).
pub async fn order_status(
    State(state): State<AppState>,
    lang: Lang,
    office: Office,
    Path(id): Path<Uuid>,
    Posted(form): Posted<OrderStatusForm>,
) -> Result<Response, PortalError> {
    let child = db::cards::order_child(&state.pool, id).await?;
    office.may_see(&state.pool, child.map(|c| vec![c])).await?;
    let child = child.ok_or(PortalError::NotFound)?;
    match form.status.as_str() {
        "sent" => {
            let actor = office.session.actor();
            db::set_order_status(&state.pool, &actor, id, OrderStatus::Sent).await?;
            Ok(Redirect::to("/portal/office").into_response())
        }
        "handed_out" => hand_out(&state, lang, &office, child, &form.uid, Some(id)).await,
        _ => Err(PortalError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_uid_is_trimmed_and_upper_cased() {
        assert_eq!(
            typed_uid("  04a1b2c3 ").map(|u| u.as_str().to_string()),
            Some("04A1B2C3".to_string())
        );
        assert!(typed_uid("").is_none());
        assert!(typed_uid("nej").is_none());
    }
}
