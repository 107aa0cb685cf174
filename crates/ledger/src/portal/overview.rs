//! The front page: logged out, the way in; logged in, each child with the
//! balance, the card and what was spent today.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::PortalError;
use super::layout::{self, Lang};
use super::session::{Asked, Role, Session};
use crate::AppState;
use crate::db::{payments, portal as queries};
use klubkasse_core::domain::CardState;

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    /// A message after an action, by name (never text from the URL).
    done: Option<String>,
}

fn notice_text(lang: Lang, done: &str) -> Option<&'static str> {
    Some(match done {
        "paid" => lang.t("portal.overview.the_payment_was_received_and_the"),
        "not-paid" => lang.t("portal.overview.the_payment_was_not_completed_no"),
        "withdrawn" => lang.t("portal.overview.the_money_has_left_the_card"),
        "linked" => lang.t("portal.overview.the_code_was_right"),
        _ => return None,
    })
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    session: Result<Session, PortalError>,
    Asked(notice): Asked<Notice>,
) -> Result<Response, PortalError> {
    let session = match session {
        Ok(session) => session,
        Err(PortalError::LoginNeeded) => return Ok(front(lang).into_response()),
        Err(e) => return Err(e),
    };
    if let Role::Office(_) = session.role {
        return Ok(axum::response::Redirect::to("/portal/office").into_response());
    }
    // Someone no child is linked to yet has a letter's code to type.
    if session.children.is_empty() {
        return Ok(axum::response::Redirect::to("/portal/activate").into_response());
    }
    for payment in payments::open_payments(&state.pool, session.person).await? {
        // A provider that does not answer now is asked again next time.
        if let Err(e) = super::topup::settle(&state, &payment).await {
            tracing::warn!(payment = %payment.id, error = %e, "an open payment could not be settled");
        }
    }
    let children =
        queries::overview(&state.pool, &session.children, &state.settings.time_zone).await?;
    let notice = notice.done.as_deref().and_then(|d| notice_text(lang, d));
    let paused = crate::db::auto_topup::paused_of(&state.pool, session.person).await?;
    let body = html! {
        (layout::notice(notice))
        p {
            a href="/portal/support" { (lang.t("portal.overview.ask_the_office_for_help")) }
            " · "
            a href="/portal/activate" { (lang.t("portal.overview.another_letter")) }
            " · "
            a href="/portal/me" { (lang.t("portal.me.title")) }
        }
        @for child in &children {
            section.card data-child=(child.id) {
                h2 { (child.name) }
                p.balance data-balance { (child.balance) }
                p.muted {
                    (lang.t("portal.overview.spent_today")) (child.spent_today)
                }
                p.muted {
                    (lang.t("portal.overview.card"))
                    @match child.cards.first() {
                        None => { (lang.t("portal.overview.no_card_yet")) }
                        Some((uid, CardState::Active)) => { (uid) " · " (lang.t("portal.overview.active")) }
                        Some((uid, CardState::Blocked)) => {
                            (uid) " · " span.state-blocked { (lang.t("portal.overview.blocked")) }
                        }
                    }
                }
                @if let Some((_, pause)) = paused.iter().find(|(c, _)| *c == child.id) {
                    p.problem role="alert" data-paused=(pause.as_str()) {
                        (lang.t("portal.auto_topup.paused")) " "
                        (super::auto_topup::pause_text(lang, *pause)) " "
                        a href={ "/portal/children/" (child.id) "/auto-top-up" } {
                            (lang.t("portal.auto_topup.title"))
                        }
                    }
                }
                div.actions {
                    a.button href={ "/portal/children/" (child.id) "/top-up" } {
                        (lang.t("portal.overview.top_up"))
                    }
                    a.button.secondary href={ "/portal/children/" (child.id) "/history" } {
                        (lang.t("portal.overview.history"))
                    }
                    a.button.secondary href={ "/portal/children/" (child.id) "/withdraw" } {
                        (lang.t("portal.overview.withdraw"))
                    }
                    a.button.secondary href={ "/portal/children/" (child.id) "/card" } {
                        (lang.t("portal.overview.card_2"))
                    }
                    a.button.secondary href={ "/portal/children/" (child.id) "/limits" } {
                        (lang.t("portal.overview.limits"))
                    }
                    a.button.secondary href={ "/portal/children/" (child.id) "/auto-top-up" } {
                        (lang.t("portal.auto_topup.title"))
                    }
                }
            }
        }
    };
    let title = lang.t("portal.overview.my_children");
    Ok(layout::page(lang, &session, title, body).into_response())
}

fn front(lang: Lang) -> maud::Markup {
    layout::bare(
        lang,
        lang.t("portal.overview.parents_portal"),
        html! {
            h1 { (lang.t("portal.overview.parents_portal")) }
            p { (lang.t("portal.overview.see_the_balance_and_what_was")) }
            p { a.button href="/portal/login" { (lang.t("portal.overview.log_in_with_mitid")) } }
        },
    )
}
