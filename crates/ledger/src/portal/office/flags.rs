//! What the counters flagged (an overdraft, a blocked card, …), for the
//! office to go through: the flagged entries of the office's clubs,
//! newest first, a page at a time, by flag, club, counter, days and
//! whether handled (those still to handle unless asked); each marked
//! handled with a required comment ([`db::flags::handle`], in the office
//! log). Another club's entry is "not found", also by a forged form.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::super::PortalError;
use super::super::layout::{self, Lang, filled};
use super::super::session::{Asked, Office, Posted};
use super::children::{flag_text, page_of};
use crate::AppState;
use crate::db::{self, flags::FlagFilter};
use klubkasse_core::domain::SaleLine;

/// Flagged entries on one page.
const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct FlagQuery {
    flag: Option<String>,
    club: Option<String>,
    counter: Option<String>,
    /// Empty fields of the form come as "", not as no date.
    from: Option<String>,
    to: Option<String>,
    /// "1": the handled ones.
    handled: Option<String>,
    page: Option<i64>,
    /// After a form: what was wrong with it.
    problem: Option<String>,
}

impl FlagQuery {
    fn handled(&self) -> bool {
        filled(&self.handled) == Some("1")
    }

    /// The address of this list with another page (and no problem).
    fn link(&self, page: i64) -> String {
        let page = page.to_string();
        layout::search_link(
            "/portal/office/flags",
            &[
                ("flag", filled(&self.flag)),
                ("club", filled(&self.club)),
                ("counter", filled(&self.counter)),
                ("from", filled(&self.from)),
                ("to", filled(&self.to)),
                ("handled", filled(&self.handled)),
                ("page", Some(page.as_str())),
            ],
        )
    }
}

fn items(items: &[SaleLine]) -> String {
    items
        .iter()
        .map(|i| format!("{} × {}", i.quantity, i.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the office dealt with a flag: comment, who, when.
pub(super) fn handling(lang: Lang, handling: &db::flags::Handling) -> Markup {
    html! {
        span.muted data-handled {
            (lang.t("portal.flags.handled_by")) " " (handling.by) ", "
            (handling.at.format("%d.%m.%Y %H:%M")) ": " (handling.comment)
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    office: Office,
    Asked(query): Asked<FlagQuery>,
) -> Result<Response, PortalError> {
    let clubs = db::clubs::names(&state.pool, &office.scope).await?;
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
    let filter = FlagFilter {
        flag: filled(&query.flag),
        club: filled(&query.club),
        counter: filled(&query.counter),
        from: layout::search_day(&query.from),
        to: layout::search_day(&query.to),
        handled: query.handled(),
        offset: (page - 1) * PAGE,
    };
    let time_zone = &state.settings.time_zone;
    let (flagged, more) =
        db::flags::list(&state.pool, time_zone, &office.scope, &filter, PAGE).await?;
    let problem = filled(&query.problem).map(|_| lang.t("portal.flags.write_a_comment"));
    let session = &office.session;
    let back = query.link(page);
    let title = lang.t("portal.flags.flags");
    let body = html! {
        (layout::problem(problem))
        form.card method="get" action="/portal/office/flags" {
            label for="flag" { (lang.t("portal.flags.flag")) }
            select #flag name="flag" {
                option value="" { (lang.t("portal.flags.every_flag")) }
                @for flag in db::entries::FLAGS {
                    @let name = db::flag_name(flag);
                    option value=(name) selected[filter.flag == Some(name)] { (flag_text(lang, name)) }
                }
            }
            label for="club" { (lang.t("portal.office_children.club")) }
            select #club name="club" {
                option value="" { (lang.t("portal.office_children.every_club")) }
                @for club in &clubs {
                    option value=(club) selected[filter.club == Some(club.as_str())] { (club) }
                }
            }
            label for="counter" { (lang.t("portal.flags.counter")) }
            input #counter name="counter" maxlength="100" value=(filter.counter.unwrap_or(""));
            label for="from" { (lang.t("portal.history.from")) }
            input #from type="date" name="from" value=(filter.from.map(|d| d.to_string()).unwrap_or_default());
            label for="to" { (lang.t("portal.history.to")) }
            input #to type="date" name="to" value=(filter.to.map(|d| d.to_string()).unwrap_or_default());
            label for="handled" { (lang.t("portal.flags.show")) }
            select #handled name="handled" {
                option value="" { (lang.t("portal.flags.not_handled")) }
                option value="1" selected[filter.handled] { (lang.t("portal.flags.handled")) }
            }
            div.actions { button.primary type="submit" { (lang.t("portal.office_children.search")) } }
        }
        @if flagged.is_empty() {
            p.muted { (lang.t("portal.flags.no_flags")) }
        } @else {
            table {
                thead { tr {
                    th { (lang.t("portal.history.when")) }
                    th { (lang.t("portal.office_children.name")) }
                    th { (lang.t("portal.flags.flag")) }
                    th.amount { (lang.t("portal.history.amount")) }
                    th { (lang.t("portal.flags.handling")) }
                } }
                tbody {
                    @for f in &flagged {
                        tr data-flagged=(f.entry) {
                            td { (f.at.format("%d.%m.%Y %H:%M")) br; span.muted { (f.club) " · " (f.counter) } }
                            td {
                                a href=(page_of(f.child)) { (f.child_name) }
                                @if !f.items.is_empty() { br; span.muted data-items { (items(&f.items)) } }
                            }
                            td { @for flag in &f.flags { span.notice data-flag=(flag) { (flag_text(lang, flag)) } br; } }
                            td.amount { (f.amount) }
                            td {
                                @match &f.handling {
                                    Some(h) => { (handling(lang, h)) }
                                    None => {
                                        form method="post" action={ "/portal/office/flags/" (f.entry) "/handle" } {
                                            (layout::csrf(session))
                                            input type="hidden" name="back" value=(back);
                                            label for={ "comment-" (f.entry) } { (lang.t("portal.flags.comment")) }
                                            input id={ "comment-" (f.entry) } name="comment" required maxlength="500";
                                            button.secondary type="submit" { (lang.t("portal.flags.mark_handled")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (layout::pager(lang, page, more, |page| query.link(page)))
        p { a href="/portal/office" { (lang.t("portal.office_log.back_to_the_office")) } }
    };
    Ok(layout::page(lang, session, title, body).into_response())
}

#[derive(Debug, Deserialize)]
pub struct HandleForm {
    comment: String,
    /// The list to return to (this portal's flags list only).
    #[serde(default)]
    back: String,
}

pub async fn handle(
    State(state): State<AppState>,
    office: Office,
    Path(entry): Path<Uuid>,
    Posted(form): Posted<HandleForm>,
) -> Result<Response, PortalError> {
    // Our lists' links are encoded: printable ASCII only, so a forged
    // one with spaces or line breaks can never make a bad header.
    let ours = form.back.starts_with("/portal/office/flags?")
        && form.back.bytes().all(|b| b.is_ascii_graphic());
    let back = if ours {
        form.back.as_str()
    } else {
        "/portal/office/flags?"
    };
    let Some(comment) = db::flags::comment(&form.comment) else {
        // Not found before refused: another club's entry says nothing.
        db::flags::find(&state.pool, &office.scope, entry)
            .await?
            .ok_or(PortalError::NotFound)?;
        return Ok(Redirect::to(&format!("{back}&problem=comment")).into_response());
    };
    let actor = office.session.actor();
    // Handled already: the first comment stays, the list shows it.
    db::flags::handle(&state.pool, &actor, &office.scope, entry, comment).await?;
    Ok(Redirect::to(back).into_response())
}
