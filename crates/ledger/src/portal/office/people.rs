//! The municipality's page for who works where: the clubs (add, rename)
//! and the office's staff (add, their clubs, their role, removing them
//! from the office). Only the municipality ([`Municipality`]) sees it;
//! office staff of some clubs and parents get "not found". Every change
//! goes through `db::people` or `db::clubs`, which log it.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::super::layout::{self, Lang};
use super::super::session::{Municipality, Posted};
use super::super::{PortalError, portal};
use crate::api::MAX_NAME;
use crate::db::people::{self, PersonRole, PersonSpec};
use crate::db::{self, DbError, Scope};
use crate::{AppState, validate};

const PAGE: &str = "/portal/office/people";

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    who: Municipality,
) -> Result<Response, PortalError> {
    draw(&state, lang, &who, None).await
}

fn role_text(lang: Lang, role: &PersonRole) -> &'static str {
    match role {
        PersonRole::Parent => lang.t("portal.people.not_in_the_office"),
        PersonRole::Office(_) => lang.t("portal.people.office"),
        PersonRole::Municipality => lang.t("portal.people.municipality"),
    }
}

/// The role's fields of a form: a choice of role and a box per club.
fn role_fields(
    lang: Lang,
    id: &str,
    clubs: &[db::clubs::Club],
    role: &PersonRole,
    removable: bool,
) -> maud::Markup {
    let has = |club: &str| matches!(role, PersonRole::Office(c) if c.contains(club));
    html! {
        label for={ "role-" (id) } { (lang.t("portal.people.role")) }
        select id={ "role-" (id) } name="role" {
            option value="office" selected[matches!(role, PersonRole::Office(_))] { (lang.t("portal.people.office")) }
            option value="municipality" selected[*role == PersonRole::Municipality] { (lang.t("portal.people.municipality")) }
            @if removable {
                option value="none" { (lang.t("portal.people.remove_from_the_office")) }
            }
        }
        fieldset {
            legend { (lang.t("portal.people.clubs_for_office_staff")) }
            @for club in clubs {
                label {
                    input type="checkbox" name="clubs" value=(club.name) checked[has(&club.name)];
                    " " (club.name)
                }
            }
        }
    }
}

async fn draw(
    state: &AppState,
    lang: Lang,
    who: &Municipality,
    problem: Option<&str>,
) -> Result<Response, PortalError> {
    let session = &who.session;
    let clubs = db::clubs::list(&state.pool, &Scope::All).await?;
    let staff = people::staff(&state.pool).await?;
    let issuer = portal(state)?.oidc.issuer();
    let title = lang.t("portal.people.people_and_clubs");
    let body = html! {
        (layout::problem(problem))
        section.card #clubs {
            h2 { (lang.t("portal.people.clubs")) }
            table {
                thead { tr {
                    th { (lang.t("portal.office_children.club")) }
                    th.amount { (lang.t("portal.people.children")) }
                    th { (lang.t("portal.people.new_name")) }
                } }
                tbody { @for club in &clubs {
                    tr data-club=(club.name) {
                        td { (club.name) }
                        td.amount { (club.children) }
                        td {
                            form method="post" action="/portal/office/clubs/rename" {
                                (layout::csrf(session))
                                input type="hidden" name="old" value=(club.name);
                                input name="new" required maxlength="100" aria-label=(lang.t("portal.people.new_name"));
                                " " button.secondary type="submit" { (lang.t("portal.office_children.rename")) }
                            }
                        }
                    }
                } }
            }
            form method="post" action="/portal/office/clubs" #add-club {
                (layout::csrf(session))
                label for="club-name" { (lang.t("portal.people.a_new_club")) }
                input #club-name name="name" required maxlength="100";
                div.actions { button.primary type="submit" { (lang.t("portal.people.add_club")) } }
            }
        }
        section.card #staff {
            h2 { (lang.t("portal.people.office_staff")) }
            @if staff.is_empty() { p.muted { (lang.t("portal.office.none")) } }
            @for person in &staff {
                div data-person=(person.id) {
                    p {
                        strong { (person.name) }
                        @if let Some(email) = &person.email { " · " (email) }
                        " · " (role_text(lang, &person.role))
                        @if let PersonRole::Office(own) = &person.role {
                            ": " (own.iter().cloned().collect::<Vec<_>>().join(", "))
                        }
                    }
                    @if person.id == session.person {
                        p.muted { (lang.t("portal.people.your_own_role")) }
                    } @else {
                        form method="post" action={ "/portal/office/people/" (person.id) "/role" } {
                            (layout::csrf(session))
                            (role_fields(lang, &person.id.to_string(), &clubs, &person.role, true))
                            div.actions { button.secondary type="submit" { (lang.t("portal.limits.save")) } }
                        }
                    }
                }
            }
        }
        section.card #add-person {
            h2 { (lang.t("portal.people.add_office_staff")) }
            p.muted { (lang.t("portal.people.identity_explained")) }
            form method="post" action=(PAGE) {
                (layout::csrf(session))
                label for="name" { (lang.t("portal.office_children.name")) }
                input #name name="name" required maxlength="100";
                label for="email" { (lang.t("portal.people.email")) }
                input #email name="email" type="email" maxlength="254";
                label for="issuer" { (lang.t("portal.people.issuer")) }
                input #issuer name="issuer" required maxlength="300" value=(issuer);
                label for="subject" { (lang.t("portal.people.subject")) }
                input #subject name="subject" required maxlength="300" autocomplete="off";
                (role_fields(lang, "new", &clubs, &PersonRole::Office(BTreeSet::new()), false))
                div.actions { button.primary type="submit" { (lang.t("portal.people.add")) } }
            }
        }
        p { a href="/portal/office/tokens" { (lang.t("portal.tokens.counter_tokens")) } }
        p { a href="/portal/office" { (lang.t("portal.office_log.back_to_the_office")) } }
    };
    Ok(layout::page(lang, session, title, body).into_response())
}

/// The role a form asks for; None: an office role without a club.
fn asked_role(role: &str, clubs: Vec<String>) -> Option<PersonRole> {
    let clubs: BTreeSet<String> = clubs
        .into_iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    match role {
        "municipality" => Some(PersonRole::Municipality),
        "none" => Some(PersonRole::Parent),
        _ if clubs.is_empty() => None,
        _ => Some(PersonRole::Office(clubs)),
    }
}

/// What a refused change says on the redrawn page.
fn problem_of(lang: Lang, error: &DbError) -> Option<&'static str> {
    match error {
        DbError::Refused {
            code: "unknown_club",
            ..
        } => Some(lang.t("portal.office_children.no_such_club")),
        DbError::Conflict {
            code: "own_role", ..
        } => Some(lang.t("portal.people.your_own_role")),
        DbError::Conflict {
            code: "club_exists",
            ..
        } => Some(lang.t("portal.people.club_exists")),
        _ => None,
    }
}

/// After a change: the page again, or the page saying what was wrong.
async fn answer(
    state: &AppState,
    lang: Lang,
    who: &Municipality,
    done: Result<(), DbError>,
) -> Result<Response, PortalError> {
    match done {
        Ok(()) => Ok(Redirect::to(PAGE).into_response()),
        Err(e) => match problem_of(lang, &e) {
            Some(problem) => draw(state, lang, who, Some(problem)).await,
            None => Err(e.into()),
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: String,
    #[serde(default)]
    clubs: Vec<String>,
}

pub async fn set_role(
    State(state): State<AppState>,
    lang: Lang,
    who: Municipality,
    Path(id): Path<Uuid>,
    Posted(form): Posted<RoleForm>,
) -> Result<Response, PortalError> {
    let Some(role) = asked_role(&form.role, form.clubs) else {
        let problem = lang.t("portal.people.office_staff_need_a_club");
        return draw(&state, lang, &who, Some(problem)).await;
    };
    let actor = who.session.actor();
    let done = people::set_role(&state.pool, &actor, id, role).await;
    answer(&state, lang, &who, done.map(drop)).await
}

#[derive(Debug, Deserialize)]
pub struct PersonForm {
    name: String,
    email: String,
    issuer: String,
    subject: String,
    role: String,
    #[serde(default)]
    clubs: Vec<String>,
}

/// What the form asks for: the person's fields checked, or the catalogue
/// key of what is wrong.
struct NewStaff {
    role: PersonRole,
    name: String,
    issuer: String,
    subject: String,
    email: Option<String>,
}

fn new_staff(form: PersonForm) -> Result<NewStaff, &'static str> {
    let role =
        asked_role(&form.role, form.clubs).ok_or("portal.people.office_staff_need_a_club")?;
    let (Ok(name), Ok(issuer), Ok(subject)) = (
        validate::text("name", &form.name, MAX_NAME),
        validate::text("issuer", &form.issuer, 300),
        validate::text("subject", &form.subject, 300),
    ) else {
        return Err("portal.people.name_issuer_and_subject");
    };
    let email = match form.email.trim() {
        "" => None,
        e if e.contains('@') && validate::text("email", e, 254).is_ok() => Some(e.to_string()),
        _ => return Err("portal.people.an_email_address"),
    };
    Ok(NewStaff {
        role,
        name,
        issuer,
        subject,
        email,
    })
}

pub async fn add(
    State(state): State<AppState>,
    lang: Lang,
    who: Municipality,
    Posted(form): Posted<PersonForm>,
) -> Result<Response, PortalError> {
    let staff = match new_staff(form) {
        Ok(staff) => staff,
        Err(key) => return draw(&state, lang, &who, Some(lang.t(key))).await,
    };
    // Adding never changes a staff member's role on the side: theirs is
    // changed in the list, where nobody changes their own. (A parent made
    // office staff here is what the form says.)
    let known = people::person_of(&state.pool, &staff.issuer, &staff.subject).await?;
    let listed = people::staff(&state.pool).await?;
    if known.is_some_and(|id| id == who.session.person || listed.iter().any(|s| s.id == id)) {
        let problem = lang.t("portal.people.known_already");
        return draw(&state, lang, &who, Some(problem)).await;
    }
    let spec = PersonSpec {
        issuer: &staff.issuer,
        subject: &staff.subject,
        name: &staff.name,
        email: staff.email.as_deref(),
        children: &[],
        role: Some(staff.role),
    };
    let done = people::add_person(&state.pool, &who.session.actor(), &spec).await;
    answer(&state, lang, &who, done.map(drop)).await
}

#[derive(Debug, Deserialize)]
pub struct ClubForm {
    name: String,
}

pub async fn add_club(
    State(state): State<AppState>,
    lang: Lang,
    who: Municipality,
    Posted(form): Posted<ClubForm>,
) -> Result<Response, PortalError> {
    let Ok(name) = validate::text("name", &form.name, MAX_NAME) else {
        let problem = lang.t("portal.office_children.write_a_name");
        return draw(&state, lang, &who, Some(problem)).await;
    };
    let done = db::clubs::add(&state.pool, &who.session.actor(), &name).await;
    answer(&state, lang, &who, done).await
}

#[derive(Debug, Deserialize)]
pub struct RenameForm {
    old: String,
    new: String,
}

pub async fn rename_club(
    State(state): State<AppState>,
    lang: Lang,
    who: Municipality,
    Posted(form): Posted<RenameForm>,
) -> Result<Response, PortalError> {
    let Ok(new) = validate::text("name", &form.new, MAX_NAME) else {
        let problem = lang.t("portal.office_children.write_a_name");
        return draw(&state, lang, &who, Some(problem)).await;
    };
    let done = db::clubs::rename(&state.pool, &who.session.actor(), &form.old, &new).await;
    answer(&state, lang, &who, done).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_what_the_form_says_and_office_staff_need_a_club() {
        let clubs = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            asked_role("office", clubs(&["Kastanjen", " ", "Egen"])),
            Some(PersonRole::Office(BTreeSet::from([
                "Egen".to_string(),
                "Kastanjen".to_string()
            ])))
        );
        assert_eq!(asked_role("office", clubs(&[" "])), None);
        // A forged role is office, which then needs a club as any other.
        assert_eq!(asked_role("admin", clubs(&[])), None);
        assert_eq!(
            asked_role("municipality", clubs(&["Kastanjen"])),
            Some(PersonRole::Municipality)
        );
        assert_eq!(asked_role("none", clubs(&[])), Some(PersonRole::Parent));
    }
}
