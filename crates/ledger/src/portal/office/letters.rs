//! Activation letters (issue 16): one A4 page per payer, a whole club at
//! once or one child's payers, printed from the browser; or one payer's
//! sent by e-mail. Each letter makes the payer a new code (the old one is
//! void) and shows it as text and as a QR code of the activation address.
//! The codes exist only in the response that shows them: it is not
//! cached, and the ledger keeps their SHA-256. Within the office's clubs
//! only: another club, child or payer is "not found".

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use uuid::Uuid;

use klubkasse_core::i18n::{Language, fill};

use super::super::code::ActivationCode;
use super::super::layout::Lang;
use super::super::session::{Office, OfficeChild, Posted};
use super::super::{PortalError, portal};
use super::children::{back, refused};
use crate::AppState;
use crate::db::activation::{self, LetterFor, LetterPayer, Sent};

#[derive(Debug, Deserialize)]
pub struct ClubLetters {
    club: String,
    #[serde(default)]
    lang: String,
}

/// Every payer's letter of a club.
pub async fn club(
    State(state): State<AppState>,
    office: Office,
    Posted(form): Posted<ClubLetters>,
) -> Result<Response, PortalError> {
    if !office.scope.has(&form.club) {
        return Err(PortalError::NotFound);
    }
    print(&state, &office, LetterFor::Club(form.club), &form.lang).await
}

#[derive(Debug, Deserialize)]
pub struct ChildLetters {
    /// One payer's letter; none: every payer's of the child.
    #[serde(default)]
    payer: Option<Uuid>,
    #[serde(default)]
    lang: String,
}

/// The letters of one child's payers, or of one of them.
pub async fn child(
    State(state): State<AppState>,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<ChildLetters>,
) -> Result<Response, PortalError> {
    let target = match form.payer {
        Some(payer) => LetterFor::Payer(child, payer),
        None => LetterFor::Child(child),
    };
    print(&state, &office, target, &form.lang).await
}

/// Makes the codes and draws their letters; a payer named that is not
/// there (removed, another child's) is "not found".
async fn print(
    state: &AppState,
    office: &Office,
    target: LetterFor,
    lang: &str,
) -> Result<Response, PortalError> {
    let lang = Lang(Language::parse(lang).unwrap_or_default());
    let payers = activation::letter_payers(&state.pool, &office.scope, &target).await?;
    if payers.is_empty() && matches!(target, LetterFor::Payer(..)) {
        return Err(PortalError::NotFound);
    }
    let codes: Vec<ActivationCode> = payers.iter().map(|_| ActivationCode::new()).collect();
    let hashed: Vec<(&LetterPayer, Vec<u8>)> = payers
        .iter()
        .zip(&codes)
        .map(|(p, c)| (p, c.hash()))
        .collect();
    let expires = activation::issue_codes(
        &state.pool,
        &office.session.actor(),
        &hashed,
        state.settings.code_lifetime,
        Sent::Printed,
    )
    .await?;
    let portal_url = &portal(state)?.public_url;
    let fee = state.settings.card_fee.to_string();
    let page = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                title { (lang.t("portal.letter.letters")) " · klubkasse" }
                style { (PreEscaped(PRINT_STYLE)) }
            }
            body {
                div.screen {
                    p { a href="/portal/office" { (lang.t("portal.letter.back_to_the_office")) } }
                    p { (fill(lang.t("portal.letter.print_these"), &[("count", &payers.len().to_string())])) }
                    @if payers.is_empty() { p { (lang.t("portal.letter.no_payers")) } }
                }
                @for (payer, code) in payers.iter().zip(&codes) {
                    (letter(lang, portal_url, &fee, expires, payer, code))
                }
            }
        }
    };
    // The codes are in this page only: no cache may keep it.
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

/// The letters' language, Danish first.
pub fn language_choice(lang: Lang) -> Markup {
    html! {
        select name="lang" aria-label=(lang.t("portal.letter.language")) {
            @for language in Language::all() {
                option value=(language.code()) { (language.name()) }
            }
        }
    }
}

/// The address the QR code holds: the code checked after the login.
fn activation_url(portal_url: &str, code: &ActivationCode) -> String {
    format!("{portal_url}/portal/activate?code={}", code.grouped())
}

/// The QR code of `text` as inline SVG.
fn qr_svg(text: &str) -> Markup {
    let svg = qrcode::QrCode::new(text.as_bytes())
        .map(|qr| {
            qr.render::<qrcode::render::svg::Color>()
                .min_dimensions(160, 160)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default();
    // The XML declaration does not belong inside HTML.
    let svg = svg.find("<svg").map_or("", |at| &svg[at..]).to_string();
    PreEscaped(svg)
}

fn letter(
    lang: Lang,
    portal_url: &str,
    fee: &str,
    expires: DateTime<Utc>,
    payer: &LetterPayer,
    code: &ActivationCode,
) -> Markup {
    let date = expires.format("%d.%m.%Y").to_string();
    let values = [
        ("payer", payer.payer_name.as_str()),
        ("child", payer.child_name.as_str()),
        ("club", payer.club.as_str()),
        ("url", portal_url),
        ("fee", fee),
        ("date", date.as_str()),
    ];
    let t = |key: &'static str| fill(lang.t(key), &values);
    html! {
        section.letter data-payer=(payer.payer) data-child=(payer.child) {
            p.sender { (payer.club) br; (lang.t("portal.letter.the_club_office")) }
            p.to { (payer.payer_name) }
            h1 { (t("portal.letter.title")) }
            p { (t("portal.letter.dear")) }
            p { (t("portal.letter.what_the_card_is")) }
            p { (t("portal.letter.first_card_free")) }
            h2 { (lang.t("portal.letter.get_started")) }
            p { (t("portal.letter.how_to_start")) }
            div.code-box {
                div {
                    p { (lang.t("portal.letter.your_code")) }
                    p.code data-code { (code.grouped()) }
                    p.muted { (t("portal.letter.the_code_works_until")) }
                    @if payer.birth_date_asked { p.muted { (t("portal.letter.birth_date_asked")) } }
                    p.muted { (portal_url) "/portal/activate" }
                }
                div.qr aria-label=(lang.t("portal.letter.qr")) { (qr_svg(&activation_url(portal_url, code))) }
            }
            h2 { (lang.t("portal.letter.money")) }
            p { (t("portal.letter.top_up")) }
            p { (t("portal.letter.withdraw")) }
            h2 { (lang.t("portal.letter.lost_card")) }
            p { (t("portal.letter.lost")) }
            h2 { (lang.t("portal.letter.questions")) }
            p { (t("portal.letter.ask")) }
            p { (t("portal.letter.several_payers")) }
            p.signature { (lang.t("portal.letter.regards")) br; (payer.club) }
        }
    }
}

/// On screen: the letters one below the other; printed: one A4 page each.
const PRINT_STYLE: &str = r#"
@page{size:A4;margin:18mm 20mm}
body{font-family:Georgia,'Times New Roman',serif;margin:0;background:#e9ecef;color:#111;font-size:11pt;line-height:1.4}
.screen{font-family:system-ui,sans-serif;max-width:210mm;margin:1rem auto;padding:0 1rem}
.letter{background:#fff;width:210mm;min-height:297mm;margin:1rem auto;padding:18mm 20mm;box-sizing:border-box;page-break-after:always;break-after:page}
.sender{text-align:right;color:#333}
.to{margin:1.5rem 0 2rem;font-weight:bold}
h1{font-size:16pt;margin:0 0 1rem}
h2{font-size:12pt;margin:1rem 0 .3rem}
.code-box{display:flex;gap:1.5rem;align-items:center;border:1px solid #333;padding:.6rem 1rem;margin:.8rem 0}
.code{font-family:'DejaVu Sans Mono',monospace;font-size:20pt;letter-spacing:.08em;margin:.2rem 0}
.qr svg{width:38mm;height:38mm}
.muted{color:#444;font-size:9.5pt;margin:.2rem 0}
.signature{margin-top:1.5rem}
@media print{body{background:#fff}.screen{display:none}.letter{margin:0;padding:0;width:auto;min-height:0}}
"#;

#[derive(Debug, Deserialize)]
pub struct MailForm {
    payer: Uuid,
}

/// One payer's letter by e-mail, to the address the office has: a new
/// code, the old one void. A payer without an address: the child's page
/// says so, and no code is made.
pub async fn mail(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<MailForm>,
) -> Result<Response, PortalError> {
    let portal = portal(&state)?;
    let target = LetterFor::Payer(child, form.payer);
    let payers = activation::letter_payers(&state.pool, &office.scope, &target).await?;
    let payer = payers.first().ok_or(PortalError::NotFound)?;
    let Some(to) = payer.email.clone() else {
        let problem = lang.t("portal.letter.no_email");
        return refused(&state, lang, &office, child, problem).await;
    };
    if !portal.mail_server {
        let problem = lang.t("portal.letter.no_mail_server");
        return refused(&state, lang, &office, child, problem).await;
    }
    let code = ActivationCode::new();
    // The payer's language is not known: the letter is in Danish. Its
    // values leave the outbox once it is sent (the code with them); the
    // code's last day is filled in with the code's own.
    let vars = serde_json::json!({
        "payer_id": payer.payer,
        "payer": payer.payer_name, "child": payer.child_name, "club": payer.club,
        "fee": state.settings.card_fee.to_plain_string(),
        "link": activation_url(&portal.public_url, &code),
        "code": code.grouped(),
    });
    activation::issue_codes(
        &state.pool,
        &office.session.actor(),
        &[(payer, code.hash())],
        state.settings.code_lifetime,
        Sent::Mailed { to, vars },
    )
    .await?;
    Ok(back(child))
}
