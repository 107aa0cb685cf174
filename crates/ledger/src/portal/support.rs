//! Asking the club office for help: a parent writes, the office answers
//! in its view, and the parent sees the answer here.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Lang, PageAsked};
use super::session::{Asked, Posted, Session};
use super::throttle::Limited;
use super::{PortalError, portal};
use crate::AppState;
use crate::db::portal as queries;
use klubkasse_core::domain::ChildId;

async fn draw(
    state: &AppState,
    lang: Lang,
    session: &Session,
    problem: Option<&str>,
    asked: &SupportQuery,
) -> Result<Response, PortalError> {
    let pages = PageAsked { page: asked.page };
    let requests = queries::support_of(&state.pool, session.person, pages.window()).await?;
    let children =
        queries::overview(&state.pool, &session.children, &state.settings.time_zone).await?;
    let title = lang.t("portal.support.help");
    let body = html! {
        (layout::problem(problem))
        @if asked.sent.is_some() { (layout::notice(Some(lang.t("portal.support.sent_the_office_answers_here")))) }
        form method="post" {
            (layout::csrf(session))
            label for="child" { (lang.t("portal.support.about")) }
            select #child name="child" {
                option value="" { (lang.t("portal.support.general")) }
                @for child in &children { option value=(child.id) { (child.name) } }
            }
            label for="subject" { (lang.t("portal.support.subject")) }
            input #subject name="subject" required maxlength="200";
            label for="body" { (lang.t("portal.support.message")) }
            textarea #body name="body" rows="5" required maxlength="5000" {}
            div.actions { button.primary type="submit" { (lang.t("portal.support.send")) } }
        }
        @for request in &requests.rows {
            section.card data-support {
                h2 { (request.subject) }
                p.muted { (request.created_at.format("%d.%m.%Y %H:%M")) @if let Some(c) = &request.child_name { " · " (c) } }
                p { (request.body) }
                @match &request.answer {
                    Some(answer) => { p.notice { strong { (lang.t("portal.support.answer")) } (answer) } }
                    None => { p.muted { (lang.t("portal.support.waiting_for_an_answer")) } }
                }
            }
        }
        (layout::pager(lang, pages.number(), requests.more, |page| {
            layout::search_link("/portal/support", &[("page", Some(&page.to_string()))])
        }))
    };
    Ok(layout::page(lang, session, title, body).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct SupportQuery {
    sent: Option<String>,
    page: Option<i64>,
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    session: Session,
    Asked(asked): Asked<SupportQuery>,
) -> Result<Response, PortalError> {
    draw(&state, lang, &session, None, &asked).await
}

#[derive(Debug, Deserialize)]
pub struct SupportForm {
    child: String,
    subject: String,
    body: String,
}

pub async fn send(
    State(state): State<AppState>,
    lang: Lang,
    session: Session,
    Posted(form): Posted<SupportForm>,
) -> Result<Response, PortalError> {
    let child = match form.child.parse::<uuid::Uuid>() {
        Ok(id) => {
            session.may_see(&state.pool, ChildId(id)).await?;
            Some(ChildId(id))
        }
        Err(_) => None,
    };
    let (subject, body) = (form.subject.trim(), form.body.trim());
    if subject.is_empty()
        || body.is_empty()
        || subject.chars().count() > 200
        || body.chars().count() > 5000
    {
        let problem = lang.t("portal.support.write_a_subject_and_a_message");
        return draw(
            &state,
            lang,
            &session,
            Some(problem),
            &SupportQuery::default(),
        )
        .await;
    }
    let per_hour = portal(&state)?.limits.questions_per_hour;
    match queries::add_support(&state.pool, session.person, child, subject, body, per_hour).await? {
        Some(_) => Ok(Redirect::to("/portal/support?sent=1").into_response()),
        None => Err(PortalError::TooMany(Limited::Questions)),
    }
}
