//! The office enrols children: one at a time on this page (name, club,
//! birth date, payers), or a whole file ([`super::import`], whose upload
//! form is here too). Only the person's own clubs are offered, and a
//! forged club is refused by the database's scope check as "not found".

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::db::{self, DbError, Scope, portal as queries};
use crate::import::{self, BIRTH_DATE, NAME, PAYERS};
use crate::portal::PortalError;
use crate::portal::layout::{self, Lang};
use crate::portal::session::{Office, Posted, Session};
use klubkasse_core::i18n::fill;

/// The enrolment form's fields, named as the import's columns.
#[derive(Debug, Default, Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    club: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    payer1_name: String,
    #[serde(default)]
    payer1_email: String,
    #[serde(default)]
    payer2_name: String,
    #[serde(default)]
    payer2_email: String,
}

impl EnrolForm {
    fn field(&self, key: &str) -> &str {
        match key {
            NAME => &self.name,
            BIRTH_DATE => &self.birth_date,
            "payer1_name" => &self.payer1_name,
            "payer1_email" => &self.payer1_email,
            "payer2_name" => &self.payer2_name,
            "payer2_email" => &self.payer2_email,
            _ => "",
        }
    }
}

/// The clubs the person may enrol in, by name.
pub(super) async fn own_clubs(state: &AppState, scope: &Scope) -> Result<Vec<String>, PortalError> {
    Ok(db::clubs::names(&state.pool, scope).await?)
}

/// A select of `clubs`, `chosen` selected.
pub(super) fn club_select(lang: Lang, clubs: &[String], chosen: &str) -> Markup {
    html! {
        label { (lang.t("portal.enrol.club")) " "
            select name="club" required {
                @for club in clubs {
                    option value=(club) selected[club == chosen] { (club) }
                }
            }
        }
    }
}

/// The page: the form for one child, the upload for a file.
pub(super) fn enrol_page(
    lang: Lang,
    session: &Session,
    clubs: &[String],
    form: &EnrolForm,
    problems: &[String],
    notice: Option<&str>,
) -> Markup {
    let input = |key: &'static str, label: &'static str, kind: &'static str| {
        html! {
            label { (lang.t(label)) " "
                input type=(kind) name=(key) value=(form.field(key)) required[key == NAME];
            }
        }
    };
    let body = html! {
        p { a href="/portal/office" { (lang.t("portal.office_log.back_to_the_office")) } }
        (layout::notice(notice))
        section.card {
            h2 { (lang.t("portal.enrol.one_child")) }
            @if !problems.is_empty() {
                ul.problem role="alert" { @for p in problems { li { (p) } } }
            }
            form method="post" action="/portal/office/enrol" data-enrol {
                (layout::csrf(session))
                (club_select(lang, clubs, &form.club))
                (input(NAME, "portal.enrol.name", "text"))
                (input(BIRTH_DATE, "portal.enrol.birth_date", "text"))
                @for (i, (name, email)) in PAYERS.iter().enumerate() {
                    fieldset {
                        legend { (lang.t("portal.enrol.payer")) " " (i + 1) }
                        (input(name, "portal.enrol.payer_name", "text"))
                        (input(email, "portal.enrol.payer_email", "email"))
                    }
                }
                button type="submit" { (lang.t("portal.enrol.enrol")) }
            }
        }
        section.card {
            h2 { (lang.t("portal.enrol.import_file")) }
            p.muted { (lang.t("portal.enrol.columns")) }
            form method="post" action="/portal/office/import" enctype="multipart/form-data" data-import {
                (layout::csrf(session))
                (club_select(lang, clubs, &form.club))
                label { (lang.t("portal.enrol.file")) " " input type="file" name="file" accept=".csv,text/csv" required; }
                button type="submit" { (lang.t("portal.enrol.show_import")) }
            }
        }
    };
    layout::page(lang, session, lang.t("portal.enrol.title"), body)
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    Office { session, scope }: Office,
) -> Result<Response, PortalError> {
    let clubs = own_clubs(&state, &scope).await?;
    Ok(enrol_page(lang, &session, &clubs, &EnrolForm::default(), &[], None).into_response())
}

/// Enrols one child; the form again with every mistake otherwise.
pub async fn enrol(
    State(state): State<AppState>,
    lang: Lang,
    Office { session, scope }: Office,
    Posted(form): Posted<EnrolForm>,
) -> Result<Response, PortalError> {
    let today: NaiveDate = queries::today(&state.pool, &state.settings.time_zone).await?;
    let clubs = own_clubs(&state, &scope).await?;
    let checked = import::check(|key| form.field(key), today, None);
    let enrolment = match checked {
        Ok(enrolment) => enrolment,
        Err(faults) => {
            let problems: Vec<String> = faults.iter().map(|(_, f)| f.text(lang.0)).collect();
            let page = enrol_page(lang, &session, &clubs, &form, &problems, None);
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    match db::children::enrol_one(
        &state.pool,
        &session.actor(),
        &scope,
        form.club.trim(),
        &enrolment,
    )
    .await
    {
        Ok(child) => {
            let notice = fill(
                lang.t("portal.enrol.enrolled"),
                &[("name", &child.child.name), ("club", &child.club)],
            );
            Ok(enrol_page(
                lang,
                &session,
                &clubs,
                &EnrolForm {
                    club: child.club.clone(),
                    ..EnrolForm::default()
                },
                &[],
                Some(&notice),
            )
            .into_response())
        }
        // Another club's, or none: as for every office form, not found.
        Err(DbError::Refused {
            code: "unknown_club",
            ..
        }) => Err(PortalError::NotFound),
        Err(e) => Err(e.into()),
    }
}
