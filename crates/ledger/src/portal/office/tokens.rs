//! The municipality's page for bearer tokens: every token with its label,
//! role, counter or clubs, when made, last used and when it expires; a
//! new counter's (or a script's) token made here and shown once; revoking
//! one. Only the municipality ([`Municipality`]) sees it: a kiosk token
//! speaks for a counter of any club, so making one is not an office's of
//! some clubs to do.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::super::PortalError;
use super::super::layout::{self, Lang, PageAsked};
use super::super::session::{Asked, Municipality, NoFields, Posted};
use crate::AppState;
use crate::auth::{self, TokenError, TokenRole, TokenSpec};
use crate::db::tokens::InsertError;
use crate::db::{self, Scope};

const PAGE: &str = "/portal/office/tokens";

/// How long a new token stays valid, as the form offers it.
const LIFETIMES: [(&str, &str); 4] = [
    ("", "portal.tokens.never"),
    ("30d", "portal.tokens.thirty_days"),
    ("90d", "portal.tokens.ninety_days"),
    ("365d", "portal.tokens.one_year"),
];

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    who: Municipality,
    Asked(pages): Asked<PageAsked>,
) -> Result<Response, PortalError> {
    draw(&state, lang, &who, None, pages).await
}

fn when(at: Option<DateTime<Utc>>, lang: Lang, none: &'static str) -> String {
    at.map_or_else(
        || lang.t(none).to_string(),
        |at| at.format("%d.%m.%Y %H:%M").to_string(),
    )
}

async fn draw(
    state: &AppState,
    lang: Lang,
    who: &Municipality,
    problem: Option<&str>,
    pages: PageAsked,
) -> Result<Response, PortalError> {
    let session = &who.session;
    let tokens = db::tokens::list(&state.pool, pages.window()).await?;
    let clubs = db::clubs::names(&state.pool, &Scope::All).await?;
    let title = lang.t("portal.tokens.counter_tokens");
    let body = html! {
        (layout::problem(problem))
        section.card #new-token {
            h2 { (lang.t("portal.tokens.new_token")) }
            p.muted { (lang.t("portal.tokens.shown_once")) }
            form method="post" action=(PAGE) {
                (layout::csrf(session))
                label for="label" { (lang.t("portal.tokens.label")) }
                input #label name="label" required maxlength="100" placeholder=(lang.t("portal.tokens.label_example"));
                label for="role" { (lang.t("portal.people.role")) }
                select #role name="role" {
                    option value="kiosk" { (lang.t("portal.tokens.role_kiosk")) }
                    option value="office" { (lang.t("portal.tokens.role_office")) }
                    option value="admin" { (lang.t("portal.tokens.role_admin")) }
                }
                label for="kiosk" { (lang.t("portal.tokens.counter_id")) }
                input #kiosk name="kiosk" maxlength="100" autocomplete="off";
                fieldset {
                    legend { (lang.t("portal.tokens.clubs_of_an_office_token")) }
                    @for club in &clubs {
                        label { input type="checkbox" name="clubs" value=(club); " " (club) }
                    }
                }
                label for="expires" { (lang.t("portal.tokens.expires")) }
                select #expires name="expires" {
                    @for (value, key) in LIFETIMES { option value=(value) { (lang.t(key)) } }
                }
                div.actions { button.primary type="submit" { (lang.t("portal.tokens.make_token")) } }
            }
        }
        section.card #tokens {
            h2 { (lang.t("portal.tokens.tokens")) }
            @if tokens.rows.is_empty() { p.muted { (lang.t("portal.office.none")) } }
            @else {
                table {
                    thead { tr {
                        th { (lang.t("portal.tokens.label")) }
                        th { (lang.t("portal.people.role")) }
                        th { (lang.t("portal.tokens.for")) }
                        th { (lang.t("portal.tokens.made")) }
                        th { (lang.t("portal.tokens.last_used")) }
                        th { (lang.t("portal.tokens.expires")) }
                        th {}
                    } }
                    tbody { @for token in &tokens.rows {
                        tr data-token=(token.id) data-label=(token.label) {
                            td { (token.label) }
                            td { (token.role) }
                            td {
                                @if let Some(kiosk) = &token.kiosk { (kiosk) }
                                (token.clubs.join(", "))
                                @if token.children > 0 { (token.children) " " (lang.t("portal.people.children")) }
                            }
                            td { (when(Some(token.created_at), lang, "portal.tokens.never")) }
                            td { (when(token.last_used_at, lang, "portal.tokens.not_yet")) }
                            td { (when(token.expires_at, lang, "portal.tokens.never")) }
                            td {
                                @if let Some(revoked) = token.revoked_at {
                                    span.muted { (lang.t("portal.tokens.revoked")) " " (revoked.format("%d.%m.%Y")) }
                                } @else {
                                    form method="post" action={ "/portal/office/tokens/" (token.id) "/revoke" } {
                                        (layout::csrf(session))
                                        button.secondary type="submit" { (lang.t("portal.tokens.revoke")) }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
            (layout::pager(lang, pages.number(), tokens.more, |page| {
                layout::search_link(PAGE, &[("page", Some(&page.to_string()))])
            }))
        }
        p { a href="/portal/office/people" { (lang.t("portal.people.people_and_clubs")) } }
        p { a href="/portal/office" { (lang.t("portal.office_log.back_to_the_office")) } }
    };
    Ok(layout::page(lang, session, title, body).into_response())
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    label: String,
    role: String,
    #[serde(default)]
    kiosk: String,
    #[serde(default)]
    clubs: Vec<String>,
    #[serde(default)]
    expires: String,
}

/// What a refused token says on the redrawn page.
fn problem_key(error: &TokenError) -> Option<&'static str> {
    Some(match error {
        TokenError::LabelNeeded => "portal.tokens.a_label",
        TokenError::KioskIdNeeded => "portal.tokens.a_counter_id",
        TokenError::KioskIdNotAllowed => "portal.tokens.counter_id_only_for_kiosk",
        TokenError::ClubNeeded => "portal.tokens.an_office_token_needs_a_club",
        TokenError::ClubNotAllowed => "portal.tokens.clubs_only_for_office",
        TokenError::Insert(InsertError::LabelTaken(_)) => "portal.tokens.label_taken",
        TokenError::Insert(InsertError::UnknownClub(_)) => "portal.office_children.no_such_club",
        TokenError::Lifetime(_) => "portal.tokens.a_lifetime",
        _ => return None,
    })
}

pub async fn create(
    State(state): State<AppState>,
    lang: Lang,
    who: Municipality,
    Posted(form): Posted<TokenForm>,
) -> Result<Response, PortalError> {
    let role = match form.role.as_str() {
        "kiosk" => TokenRole::Kiosk,
        "office" => TokenRole::Office,
        "admin" => TokenRole::Admin,
        // A parent's token is made for a parent's script, by command.
        _ => return Err(PortalError::BadForm(format!("role {}", form.role))),
    };
    let kiosk = Some(form.kiosk.trim()).filter(|k| !k.is_empty());
    let clubs: Vec<String> = form
        .clubs
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let lifetime = match form.expires.trim() {
        "" => Ok(None),
        text => auth::parse_lifetime(text).map(Some),
    };
    let made = match lifetime {
        Ok(lifetime) => {
            let spec = TokenSpec {
                label: &form.label,
                role,
                kiosk,
                children: &[],
                clubs: &clubs,
                lifetime,
            };
            auth::create_token(&state.pool, &who.session.actor(), &spec).await
        }
        Err(e) => Err(e.into()),
    };
    let token = match made {
        Ok(made) => made,
        Err(e) => {
            return match problem_key(&e) {
                Some(key) => {
                    draw(&state, lang, &who, Some(lang.t(key)), PageAsked::default()).await
                }
                None => Err(PortalError::Internal(e.to_string())),
            };
        }
    };
    let title = lang.t("portal.tokens.the_new_token");
    let body = html! {
        section.card {
            p { (lang.t("portal.tokens.copy_it_now")) }
            p { code #token data-token=(token.token) { (token.token) } }
            @if role == TokenRole::Kiosk {
                p { (lang.t("portal.tokens.on_the_counter")) }
                pre data-config { "counter = \"" (kiosk.unwrap_or_default()) "\"\n\n[ledger]\ntoken_file = \"kiosk.token\"\n" }
            }
        }
        p { a href=(PAGE) { (lang.t("portal.tokens.counter_tokens")) } }
    };
    let page = layout::page(lang, &who.session, title, body);
    // Shown once: neither the browser's cache nor its history keeps it.
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

pub async fn revoke(
    State(state): State<AppState>,
    who: Municipality,
    Path(id): Path<Uuid>,
    Posted(NoFields {}): Posted<NoFields>,
) -> Result<Response, PortalError> {
    match auth::revoke_token(&state.pool, &who.session.actor(), &id.to_string()).await {
        Ok(_) => Ok(Redirect::to(PAGE).into_response()),
        Err(TokenError::UnknownToken(_)) => Err(PortalError::NotFound),
        Err(e) => Err(PortalError::Internal(e.to_string())),
    }
}
