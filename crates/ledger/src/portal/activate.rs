//! A payer's way in (issue 16): after the MitID login, the code from the
//! activation letter (and the child's birth date when the office has it)
//! links the person to the child as that payer.
//!
//! The letter's QR code is `/portal/activate?code=…`: the code waits in a
//! cookie (through the login when logged out) and comes back filled in.
//! It is checked when the person presses the button, never by the
//! address alone, and links only after the person has seen which child
//! and club it is for: a link someone else sends, with their code, links
//! nobody to a stranger's child unawares.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use chrono::{NaiveDate, TimeDelta, Utc};
use maud::html;
use serde::Deserialize;

use klubkasse_core::i18n::fill;

use super::PortalError;
use super::code::ActivationCode;
use super::layout::{self, Lang};
use super::session::{self, Asked, ClientAddress, Posted, Role, Session};
use crate::AppState;
use crate::db::activation::{self, Redeem, Refusal};

/// Holds a QR code's activation code while the browser is at the broker.
pub const CODE_COOKIE: &str = "kk_code";
/// As long as a login may take.
const CODE_WAIT: TimeDelta = TimeDelta::minutes(10);

#[derive(Debug, Default, Deserialize)]
pub struct CodeQuery {
    code: Option<String>,
}

/// The form. The letter's address with its code puts the code in a
/// cookie and sends the browser on to an address without it (through the
/// login when logged out), so that the code stays in no further address,
/// history or log; the form then comes filled in from the cookie.
pub async fn page(
    lang: Lang,
    ParentOrNobody(session): ParentOrNobody,
    jar: CookieJar,
    Asked(query): Asked<CodeQuery>,
) -> Result<Response, PortalError> {
    if let Some(code) = query.code.as_deref() {
        let jar = match ActivationCode::parse(code) {
            Some(code) => jar.add(session::cookie(CODE_COOKIE, code.grouped(), CODE_WAIT)),
            None => jar,
        };
        let next = if session.is_some() {
            "/portal/activate"
        } else {
            "/portal/login"
        };
        return Ok((jar, Redirect::to(next)).into_response());
    }
    let session = session.ok_or(PortalError::LoginNeeded)?;
    let typed = jar
        .get(CODE_COOKIE)
        .and_then(|c| ActivationCode::parse(c.value()))
        .map(|c| c.grouped())
        .unwrap_or_default();
    let jar = jar.remove(session::removal(CODE_COOKIE));
    Ok((jar, form(lang, &session, &typed, "", None)).into_response())
}

/// Only parents become payers: office staff are "not found" here.
fn parent(session: &Session) -> Result<(), PortalError> {
    match session.role {
        Role::Parent => Ok(()),
        Role::Office(_) => Err(PortalError::NotFound),
    }
}

/// A parent's session, or none (logged out: the QR address before the
/// login), taken before the query: staff are "not found" whatever it holds.
pub struct ParentOrNobody(Option<Session>);

impl FromRequestParts<AppState> for ParentOrNobody {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ParentOrNobody, PortalError> {
        match ParentSession::from_request_parts(parts, state).await {
            Ok(ParentSession(session)) => Ok(ParentOrNobody(Some(session))),
            Err(PortalError::LoginNeeded) => Ok(ParentOrNobody(None)),
            Err(e) => Err(e),
        }
    }
}

/// A parent's session, taken before the form: staff are "not found"
/// whatever the form holds (a control character, a field of the wrong
/// kind), as on every page the role comes before the body.
pub struct ParentSession(Session);

impl FromRequestParts<AppState> for ParentSession {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ParentSession, PortalError> {
        let session = Session::from_request_parts(parts, state).await?;
        parent(&session)?;
        Ok(ParentSession(session))
    }
}

fn form(
    lang: Lang,
    session: &Session,
    code: &str,
    born: &str,
    problem: Option<&str>,
) -> maud::Markup {
    let body = html! {
        (layout::problem(problem))
        p { (lang.t("portal.activate.intro")) }
        form method="post" action="/portal/activate" #activate {
            (layout::csrf(session))
            label for="code" { (lang.t("portal.activate.code")) }
            input #code name="code" value=(code) required maxlength="40"
                autocomplete="off" autocapitalize="characters" placeholder="K7QF-2M9X-PT4D";
            label for="born" { (lang.t("portal.activate.birth_date")) }
            input #born name="born" value=(born) maxlength="20" inputmode="numeric"
                autocomplete="off" placeholder=(lang.t("portal.activate.date_format"));
            p.muted { (lang.t("portal.activate.birth_date_if_asked")) }
            div.actions { button.primary type="submit" { (lang.t("portal.activate.check_the_code")) } }
        }
        p { a href="/portal/support" { (lang.t("portal.overview.ask_the_office_for_help")) } }
    };
    layout::page(lang, session, lang.t("portal.activate.title"), body)
}

/// Every field may be missing (an empty code is a wrong one), so that the
/// role is checked before anything about the form is judged.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    born: String,
    /// `true`, sent by the confirmation's button: the person has seen
    /// whose child the code is for. Text, not a bool: anything else is
    /// "not yet", and read after the role.
    #[serde(default)]
    confirmed: String,
}

impl CodeForm {
    fn confirmed(&self) -> bool {
        self.confirmed == "true"
    }
}

/// The code is right: whose child it is for, before it links anyone.
fn confirmation(
    lang: Lang,
    session: &Session,
    typed: &CodeForm,
    linked: &activation::Linked,
) -> maud::Markup {
    let body = html! {
        p #confirm-child { (fill(lang.t("portal.activate.confirm_child"),
            &[("child", &linked.child_name), ("club", &linked.club)])) }
        p { (lang.t("portal.activate.confirm_why")) }
        form method="post" action="/portal/activate" {
            (layout::csrf(session))
            input type="hidden" name="code" value=(typed.code);
            input type="hidden" name="born" value=(typed.born);
            input type="hidden" name="confirmed" value="true";
            div.actions {
                button.primary type="submit" { (lang.t("portal.activate.yes_link_me")) }
                a.button.secondary href="/portal/support" { (lang.t("portal.activate.not_my_child")) }
            }
        }
    };
    layout::page(lang, session, lang.t("portal.activate.confirm_title"), body)
}

/// A birth date as typed: `dd-mm-åååå` (or with `.` or `/`), or as a
/// date field sends it, `åååå-mm-dd`.
fn birth_date(typed: &str) -> Option<NaiveDate> {
    let typed = typed.trim();
    ["%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(typed, f).ok())
}

pub async fn submit(
    State(state): State<AppState>,
    lang: Lang,
    ParentSession(session): ParentSession,
    ClientAddress(address): ClientAddress,
    Posted(typed): Posted<CodeForm>,
) -> Result<Response, PortalError> {
    let code = ActivationCode::parse(&typed.code);
    let hash = code.as_ref().map(ActivationCode::hash);
    let born = birth_date(&typed.born);
    if !typed.born.trim().is_empty() && born.is_none() {
        let problem = lang.t("portal.activate.birth_date_unreadable");
        return Ok(form(lang, &session, &typed.code, &typed.born, Some(problem)).into_response());
    }
    let answer = activation::redeem(
        &state.pool,
        &session.actor(),
        session.person,
        address,
        hash.as_deref(),
        born,
        if typed.confirmed() {
            Redeem::Link
        } else {
            Redeem::Check
        },
    )
    .await?;
    let refusal = match answer {
        Ok(linked) if !typed.confirmed() => {
            return Ok(confirmation(lang, &session, &typed, &linked).into_response());
        }
        Ok(linked) => {
            tracing::info!(person = %session.person, child = %linked.child, "a payer activated");
            return Ok(Redirect::to("/portal?done=linked").into_response());
        }
        Err(refusal) => refusal,
    };
    let (status, problem) = match refusal {
        // The form again, saying what to do (as every refused form of the portal).
        Refusal::Wrong if code.is_none() => (
            StatusCode::OK,
            lang.t("portal.activate.not_a_code").to_string(),
        ),
        Refusal::Wrong => (StatusCode::OK, lang.t("portal.activate.wrong").to_string()),
        Refusal::WrongBirthDate => (
            StatusCode::OK,
            lang.t("portal.activate.wrong_birth_date").to_string(),
        ),
        Refusal::BirthDateNeeded => (
            StatusCode::OK,
            lang.t("portal.activate.birth_date_needed").to_string(),
        ),
        Refusal::Used => (StatusCode::OK, lang.t("portal.activate.used").to_string()),
        Refusal::Expired => (
            StatusCode::OK,
            lang.t("portal.activate.expired").to_string(),
        ),
        Refusal::Voided => (StatusCode::OK, lang.t("portal.activate.voided").to_string()),
        Refusal::AlreadyPayer => (
            StatusCode::OK,
            lang.t("portal.activate.already_payer").to_string(),
        ),
        Refusal::Locked(until) => {
            let minutes = (until - Utc::now()).num_minutes().max(0) + 1;
            let text = fill(
                lang.t("portal.activate.locked"),
                &[("minutes", &minutes.to_string())],
            );
            (StatusCode::TOO_MANY_REQUESTS, text)
        }
    };
    let page = form(lang, &session, &typed.code, &typed.born, Some(&problem));
    Ok((status, page).into_response())
}

#[cfg(test)]
mod tests {
    use super::birth_date;
    use chrono::NaiveDate;

    #[test]
    fn a_birth_date_reads_the_danish_way_and_as_a_date_field_sends_it() {
        let day = NaiveDate::from_ymd_opt(2015, 3, 7);
        for typed in [
            "07-03-2015",
            "7.3.2015",
            "07/03/2015",
            "2015-03-07",
            " 07-03-2015 ",
        ] {
            assert_eq!(birth_date(typed), day, "{typed}");
        }
        assert_eq!(birth_date("31-02-2015"), None);
        assert_eq!(birth_date("marts"), None);
    }
}
