//! What the ledger keeps about the person logged in (issue 16): name,
//! e-mail, the identities it knows them by, the children they pay for,
//! and how much of their own it holds; each child's history downloads
//! from its history page. SECURITY.md says how long and why.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::PortalError;
use super::layout::{self, Lang};
use super::session::Session;
use crate::AppState;
use crate::db::people;

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    session: Session,
) -> Result<Response, PortalError> {
    let data = people::own_data(&state.pool, session.person).await?;
    let cards = crate::db::auto_topup::cards_of(&state.pool, session.person).await?;
    let none = lang.t("portal.me.none");
    let body = html! {
        p { (lang.t("portal.me.intro")) }
        section.card #me {
            h2 { (lang.t("portal.me.you")) }
            table { tbody {
                tr { th { (lang.t("portal.me.name")) } td { (data.name) } }
                tr { th { (lang.t("portal.me.email")) } td { (data.email.as_deref().unwrap_or(none)) } }
                tr { th { (lang.t("portal.me.since")) } td { (data.created_at.format("%d.%m.%Y")) } }
            } }
        }
        section.card #identities {
            h2 { (lang.t("portal.me.identities")) }
            p.muted { (lang.t("portal.me.identities_why")) }
            table { tbody {
                tr { th { (lang.t("portal.me.broker")) } td { (data.issuer) } }
                tr { th { (lang.t("portal.me.subject")) } td { (data.subject) } }
                tr { th { (lang.t("portal.me.stable_id")) } td { (data.stable_id.as_deref().unwrap_or(none)) } }
            } }
        }
        section.card #children {
            h2 { (lang.t("portal.me.children")) }
            @if data.payers.is_empty() && data.children.is_empty() { p.muted { (none) } }
            ul {
                @for payer in &data.payers {
                    li data-child=(payer.child) {
                        a href={ "/portal/children/" (payer.child) "/history" } { (payer.child_name) }
                        " · " (lang.t("portal.me.as_payer")) " " (payer.name)
                        @if let Some(email) = &payer.email { " · " (email) }
                    }
                }
                @for (child, name) in &data.children {
                    li data-child=(child) {
                        a href={ "/portal/children/" (child) "/history" } { (name) }
                    }
                }
            }
            p.muted { (lang.t("portal.me.history_download")) }
        }
        section.card #kept {
            h2 { (lang.t("portal.me.what_else")) }
            table { tbody {
                tr { th { (lang.t("portal.me.payments")) } td.amount { (data.payments) } }
                tr { th { (lang.t("portal.me.payouts")) } td.amount { (data.payouts) } }
                tr { th { (lang.t("portal.me.questions")) } td.amount { (data.questions) } }
            } }
            @if !cards.is_empty() {
                h2 { (lang.t("portal.me.saved_cards")) }
                ul #saved-cards {
                    @for (child, brand, last4) in &cards {
                        li {
                            (super::auto_topup::brand(brand.as_deref().unwrap_or(""))) " •••• "
                            (last4.as_deref().unwrap_or("····")) " · " (child)
                        }
                    }
                }
                p.muted { (lang.t("portal.me.saved_cards_why")) }
            }
            p.muted { (lang.t("portal.me.how_long")) }
        }
    };
    let page = layout::page(lang, &session, lang.t("portal.me.title"), body);
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}
