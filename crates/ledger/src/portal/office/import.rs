//! The office imports a club's children from a file: the upload shows
//! what will be imported, or every mistake with its line, and nothing is
//! written; its confirm button sends back exactly the text shown, with a
//! digest keyed by the session, the club and the file's name, so that
//! what is imported is what was shown, into the club shown, by the person
//! it was shown to.
//! Then all rows in one transaction ([`db::enrol_all`]), and a page of
//! what was imported.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::db::{self, DbError, portal as queries};
use crate::import::{self, ImportRow};
use crate::portal::PortalError;
use crate::portal::layout::{self, Lang};
use crate::portal::session::{Office, Session};
use klubkasse_core::i18n::fill;

/// The largest file taken: a municipality's list of 10,000 children is
/// well under it, and the confirmation carries the text back within the
/// server's 2 MB limit on a body.
pub const FILE_BYTES: usize = 900 * 1024;

/// The upload's or the confirmation's fields.
#[derive(Default)]
struct Upload {
    csrf: String,
    club: String,
    file_name: String,
    /// The file's bytes as uploaded, or the confirmed text.
    content: Vec<u8>,
    /// Set on a confirmation: the digest the preview gave.
    digest: Option<String>,
}

/// What the preview's digest binds: this session, this club, this file's
/// name (for the log) and text.
fn digest(session: &Session, club: &str, file_name: &str, text: &str) -> String {
    let mut hash = Sha256::new();
    for part in [session.csrf.as_str(), club, file_name, text] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())
}

/// Reads the multipart form; `Err(true)` when it is too large.
async fn read(mut form: Multipart) -> Result<Upload, bool> {
    let mut upload = Upload::default();
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| e.status() == StatusCode::PAYLOAD_TOO_LARGE)?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            upload.file_name = field.file_name().unwrap_or("").to_string();
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| e.status() == StatusCode::PAYLOAD_TOO_LARGE)?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > 2 * FILE_BYTES {
                return Err(true);
            }
        }
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf" => upload.csrf = text(),
            "club" => upload.club = text().trim().to_string(),
            "file_name" => upload.file_name = text(),
            "digest" => upload.digest = Some(text()),
            "file" | "content" => {
                if name == "file" && bytes.len() > FILE_BYTES {
                    return Err(true);
                }
                upload.content = bytes;
            }
            _ => {}
        }
    }
    Ok(upload)
}

pub async fn upload(
    State(state): State<AppState>,
    lang: Lang,
    Office { session, scope }: Office,
    form: Multipart,
) -> Result<Response, PortalError> {
    let upload = match read(form).await {
        Ok(upload) => upload,
        Err(too_large) => {
            let said = if too_large {
                fill(
                    lang.t("portal.enrol.too_large"),
                    &[("kb", &(FILE_BYTES / 1024).to_string())],
                )
            } else {
                lang.t("portal.error.bad_form").to_string()
            };
            let status = if too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let body = html! { (layout::problem(Some(&said))) p { a href="/portal/office/enrol" { (lang.t("portal.enrol.title")) } } };
            return Ok((
                status,
                layout::page(lang, &session, lang.t("portal.enrol.title"), body),
            )
                .into_response());
        }
    };
    session.check_csrf(&upload.csrf)?;
    let clubs = super::enrol::own_clubs(&state, &scope).await?;
    // Another club's is not found, as for every office form.
    if !clubs.contains(&upload.club) {
        return Err(PortalError::NotFound);
    }
    // A browser sends the confirmation's text with CRLF: canonical again.
    let text = import::canonical(&upload.content);
    let file_name = if upload.file_name.trim().is_empty() {
        "CSV".to_string()
    } else {
        upload.file_name.trim().to_string()
    };
    let today = queries::today(&state.pool, &state.settings.time_zone).await?;
    let title = lang.t("portal.enrol.import_file");
    let rows = match import::parse_text(&text, today, None) {
        Ok(rows) => rows,
        Err(e) => {
            let body = html! {
                p { a href="/portal/office/enrol" { (lang.t("portal.enrol.title")) } }
                p.problem role="alert" { (lang.t("portal.enrol.nothing_imported")) }
                ul.problem data-problems { @for line in e.lines(lang.0, &file_name) { li { (line) } } }
            };
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                layout::page(lang, &session, title, body),
            )
                .into_response());
        }
    };
    let expected = digest(&session, &upload.club, &file_name, &text);
    match &upload.digest {
        None => Ok(preview(
            lang,
            &session,
            &upload.club,
            &file_name,
            &text,
            &expected,
            &rows,
        )
        .into_response()),
        Some(given) if *given == expected => {
            let source = serde_json::json!({ "file": file_name, "sha256": import::digest(text.as_bytes()), "by": "portal" });
            match db::enrol_all(
                &state.pool,
                &session.actor(),
                &scope,
                &upload.club,
                &import::enrolments(&rows),
                source,
                false,
            )
            .await
            {
                Ok(_) => Ok(done(lang, &session, &upload.club, &rows).into_response()),
                Err(DbError::Refused {
                    code: "unknown_club",
                    ..
                }) => Err(PortalError::NotFound),
                Err(e) => Err(e.into()),
            }
        }
        // Not the text that was shown, or not to this person, or not for this club.
        Some(_) => Err(PortalError::BadForm(
            "the import's digest does not match".into(),
        )),
    }
}

fn rows_table(lang: Lang, rows: &[ImportRow]) -> maud::Markup {
    html! {
        table data-rows {
            thead { tr {
                th { (lang.t("portal.enrol.line")) }
                th { (lang.t("portal.enrol.name")) }
                th { (lang.t("portal.enrol.birth_date")) }
                th { (lang.t("portal.enrol.payers")) }
            } }
            tbody { @for row in rows { tr {
                td { (row.line) }
                td { (row.enrolment.name) }
                td { @if let Some(day) = row.enrolment.birth_date { (day.format("%d-%m-%Y")) } }
                td { @for (i, p) in row.enrolment.payers.iter().enumerate() {
                    @if i > 0 { "; " }
                    (p.name) @if let Some(email) = &p.email { " <" (email) ">" }
                } }
            } } }
        }
    }
}

fn preview(
    lang: Lang,
    session: &Session,
    club: &str,
    file_name: &str,
    text: &str,
    digest: &str,
    rows: &[ImportRow],
) -> maud::Markup {
    let count = rows.len().to_string();
    let body = html! {
        p { a href="/portal/office/enrol" { (lang.t("portal.enrol.title")) } }
        p data-preview { (fill(lang.t("portal.enrol.will_import"), &[("count", &count), ("club", club), ("file", file_name)])) }
        form method="post" action="/portal/office/import" enctype="multipart/form-data" data-confirm {
            (layout::csrf(session))
            input type="hidden" name="club" value=(club);
            input type="hidden" name="file_name" value=(file_name);
            input type="hidden" name="digest" value=(digest);
            // The HTML parser drops a textarea's first line break: this one.
            textarea name="content" hidden { "\n" (text) }
            button type="submit" { (lang.t("portal.enrol.confirm")) }
        }
        (rows_table(lang, rows))
    };
    layout::page(lang, session, lang.t("portal.enrol.import_file"), body)
}

fn done(lang: Lang, session: &Session, club: &str, rows: &[ImportRow]) -> maud::Markup {
    let count = rows.len().to_string();
    let body = html! {
        p { a href="/portal/office/enrol" { (lang.t("portal.enrol.title")) } }
        p.notice role="status" data-imported { (fill(lang.t("portal.enrol.imported"), &[("count", &count), ("club", club)])) }
        (rows_table(lang, rows))
    };
    layout::page(lang, session, lang.t("portal.enrol.import_file"), body)
}
