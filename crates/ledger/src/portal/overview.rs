//! The front page: logged out, the way in; logged in, each child with the
//! balance, the card and what was spent today.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::PortalError;
use super::layout::{self, Lang};
use super::session::{Role, Session};
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
        "paid" => lang.t(
            "Betalingen er modtaget, og pengene er sat ind på kortet.",
            "The payment was received and the money is on the card.",
        ),
        "not-paid" => lang.t(
            "Betalingen blev ikke gennemført. Der er ikke trukket penge.",
            "The payment was not completed. No money was taken.",
        ),
        "withdrawn" => lang.t(
            "Pengene er trukket fra kortet. Kontoret overfører dem til din bankkonto.",
            "The money has left the card. The office transfers it to your bank account.",
        ),
        _ => return None,
    })
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    session: Result<Session, PortalError>,
    Query(notice): Query<Notice>,
) -> Result<Response, PortalError> {
    let session = match session {
        Ok(session) => session,
        Err(PortalError::LoginNeeded) => return Ok(front(lang).into_response()),
        Err(e) => return Err(e),
    };
    if session.role == Role::Office {
        return Ok(axum::response::Redirect::to("/portal/office").into_response());
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
    let body = html! {
        (layout::notice(notice))
        @if children.is_empty() {
            p { (lang.t(
                "Der er ikke knyttet nogen børn til dig endnu. Kontakt klubbens kontor.",
                "No children are linked to you yet. Contact the club office."
            )) }
        }
        p { a href="/portal/support" { (lang.t("Spørg kontoret om hjælp", "Ask the office for help")) } }
        @for child in &children {
            section.card data-child=(child.id) {
                h2 { (child.name) }
                p.balance data-balance { (child.balance) }
                p.muted {
                    (lang.t("Brugt i dag: ", "Spent today: ")) (child.spent_today)
                }
                p.muted {
                    (lang.t("Kort: ", "Card: "))
                    @match child.cards.first() {
                        None => { (lang.t("intet kort endnu", "no card yet")) }
                        Some((uid, CardState::Active)) => { (uid) " · " (lang.t("aktivt", "active")) }
                        Some((uid, CardState::Blocked)) => {
                            (uid) " · " span.state-blocked { (lang.t("spærret", "blocked")) }
                        }
                    }
                }
                div.actions {
                    a.button href={ "/portal/children/" (child.id) "/top-up" } {
                        (lang.t("Sæt penge ind", "Top up"))
                    }
                    a.button.secondary href={ "/portal/children/" (child.id) "/history" } {
                        (lang.t("Historik", "History"))
                    }
                    a.button.secondary href={ "/portal/children/" (child.id) "/withdraw" } {
                        (lang.t("Udbetal", "Withdraw"))
                    }
                    a.button.secondary href={ "/portal/children/" (child.id) "/card" } {
                        (lang.t("Kort", "Card"))
                    }
                    a.button.secondary href={ "/portal/children/" (child.id) "/limits" } {
                        (lang.t("Grænser", "Limits"))
                    }
                }
            }
        }
    };
    let title = lang.t("Mine børn", "My children");
    Ok(layout::page(lang, &session, title, body).into_response())
}

fn front(lang: Lang) -> maud::Markup {
    layout::bare(
        lang,
        lang.t("Forældreportal", "Parents' portal"),
        html! {
            h1 { (lang.t("Forældreportal", "Parents' portal")) }
            p { (lang.t(
                "Se saldo og køb, sæt penge ind på dit barns kort, spær et mistet kort og bestil et nyt.",
                "See the balance and what was bought, top up your child's card, block a lost card and order a new one."
            )) }
            p { a.button href="/portal/login" { (lang.t("Log ind med MitID", "Log in with MitID")) } }
        },
    )
}
