//! Logging in and out, and the language switch.

use std::time::Instant;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use chrono::TimeDelta;
use maud::html;
use serde::Deserialize;

use klubkasse_core::i18n::Language;

use super::activate::CODE_COOKIE;
use super::code::ActivationCode;
use super::layout::{self, LANG_COOKIE, Lang};
use super::session::{
    self, Asked, ClientAddress, LOGIN_COOKIE, NoFields, Posted, SESSION_COOKIE, Session, sha256,
};
use super::throttle::Limited;
use super::{PortalError, portal};
use crate::AppState;
use crate::db::activation;
use crate::db::people::{self, LoginIdentity, PendingLogin};

/// How long the browser may stay at the broker.
const LOGIN_TIME: TimeDelta = TimeDelta::minutes(10);

/// Sends the browser to the broker, remembering what must come back:
/// as often as the limits let this address, and while fewer than the cap
/// of logins are under way.
pub async fn start(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    jar: CookieJar,
) -> Result<Response, PortalError> {
    let portal = portal(&state)?;
    let per_minute = portal.limits.logins_per_minute;
    if !portal
        .login_starts
        .allow(address, per_minute, Instant::now())
    {
        return Err(PortalError::TooMany(Limited::Logins));
    }
    let started = portal.oidc.start().await?;
    let login = PendingLogin {
        nonce: started.nonce,
        pkce_verifier: started.pkce_verifier,
    };
    let hash = sha256(&started.state);
    let most = portal.limits.pending_logins;
    if !people::begin_login(&state.pool, &hash, &login, LOGIN_TIME, most).await? {
        tracing::warn!(
            most,
            "logins under way are at the cap; a new one is refused"
        );
        return Err(PortalError::TooMany(Limited::Logins));
    }
    let jar = jar.add(session::cookie(LOGIN_COOKIE, started.state, LOGIN_TIME));
    Ok((jar, Redirect::to(&started.url)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The broker sent the browser back: check it is the same browser and
/// login, trade the code for the identity, and start a session. Someone
/// the ledger does not know yet gets one too, with no children: they
/// link to a child with their activation letter's code.
pub async fn callback(
    State(state): State<AppState>,
    lang: Lang,
    jar: CookieJar,
    Asked(back): Asked<Callback>,
) -> Result<Response, PortalError> {
    let portal = portal(&state)?;
    let theirs = jar.get(LOGIN_COOKIE).map(|c| c.value().to_string());
    let jar = jar.remove(session::removal(LOGIN_COOKIE));
    let (Some(code), Some(returned), Some(ours)) = (back.code, back.state, theirs) else {
        let why = back.error.unwrap_or_default();
        tracing::info!(%why, "a login came back without a code or from another browser");
        return Ok((jar, login_failed(lang)).into_response());
    };
    if sha256(&returned) != sha256(&ours) {
        return Ok((jar, login_failed(lang)).into_response());
    }
    let Some(pending) = people::take_login(&state.pool, &sha256(&returned), LOGIN_TIME).await?
    else {
        return Ok((jar, login_failed(lang)).into_response());
    };
    let identity = portal
        .oidc
        .finish(code, pending.nonce, pending.pkce_verifier)
        .await?;
    let login = LoginIdentity {
        issuer: &identity.issuer,
        subject: &identity.subject,
        name: identity.name.as_deref().unwrap_or_default(),
        email: identity.email.as_deref(),
        stable_id: identity.stable_id.as_deref(),
    };
    let person = match people::person_for_login(&state.pool, &login).await? {
        Ok(person) => person,
        Err(refused) => {
            // Never the identities themselves: they name a person.
            tracing::warn!(?refused, issuer = %identity.issuer, "a login was refused");
            return Ok((jar, identity_refused(lang)).into_response());
        }
    };
    // CPR match: a custody holder the import named is linked at once.
    if let (Some(key), Some(cpr)) = (&portal.cpr_key, &identity.cpr) {
        activation::link_custody(&state.pool, person, &key.hash(cpr)).await?;
    }
    let id = session::begin(&state.pool, person).await?;
    let jar = jar.add(session::cookie(SESSION_COOKIE, id, session::LIFETIME));
    // Arrived from a letter's QR code: the code page reads it from its
    // cookie, filled in, to be checked.
    let next = match jar
        .get(CODE_COOKIE)
        .and_then(|c| ActivationCode::parse(c.value()))
    {
        Some(_) => "/portal/activate",
        None => "/portal",
    };
    Ok((jar, Redirect::to(next)).into_response())
}

/// The broker's login names someone the ledger will not take it as
/// (see [`people::LoginRefused`]): the office sorts it out.
fn identity_refused(lang: Lang) -> Response {
    let page = layout::bare(
        lang,
        lang.t("portal.login.login"),
        html! {
            p.problem { (lang.t("portal.login.identity_refused")) }
        },
    );
    (StatusCode::FORBIDDEN, page).into_response()
}

fn login_failed(lang: Lang) -> maud::Markup {
    layout::bare(
        lang,
        lang.t("portal.login.login"),
        html! {
            p.problem { (lang.t("portal.login.the_login_was_not_completed_or")) }
            p { a.button href="/portal/login" { (lang.t("portal.login.log_in_with_mitid")) } }
        },
    )
}

pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    jar: CookieJar,
    Posted(NoFields {}): Posted<NoFields>,
) -> Result<Response, PortalError> {
    session.end(&state.pool).await?;
    let jar = jar.remove(session::removal(SESSION_COOKIE));
    Ok((jar, Redirect::to("/portal")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    lang: String,
}

/// The language switch, on every page, for anyone: a preference cookie,
/// nothing else. Logged in, the form carries the session's token as every
/// form does; logged out there is no session a forged form could use.
pub async fn language(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, PortalError> {
    let (mut parts, body) = request.into_parts();
    let person = match Session::from_request_parts(&mut parts, &state).await {
        Ok(session) => Some(session.person),
        Err(PortalError::LoginNeeded) => None,
        Err(other) => return Err(other),
    };
    let logged_in = person.is_some();
    let request = Request::from_parts(parts, body);
    let form: LanguageForm = if logged_in {
        Posted::from_request(request, &state).await?.0
    } else {
        session::form(request.into_body()).await?
    };
    let language = Language::parse(&form.lang).unwrap_or_default();
    // The person's mail is written in it too.
    if let Some(person) = person {
        people::set_language(&state.pool, person, language.code()).await?;
    }
    let jar = CookieJar::new().add(session::cookie(
        LANG_COOKIE,
        language.code().to_string(),
        TimeDelta::days(365),
    ));
    Ok((jar, Redirect::to("/portal")).into_response())
}
