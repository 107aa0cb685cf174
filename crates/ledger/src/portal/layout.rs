//! The frame every portal page is drawn in, the reader's language, and
//! small pieces the pages share.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::session::Session;

pub const LANG_COOKIE: &str = "kk_lang";

/// Danish unless the reader chose English (a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Da,
    En,
}

impl Lang {
    /// The text in the reader's language: both are written side by side
    /// where they are used, so neither can be forgotten.
    pub fn t(self, da: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Da => da,
            Lang::En => en,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Da => "da",
            Lang::En => "en",
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Infallible> {
        let jar = CookieJar::from_headers(&parts.headers);
        Ok(match jar.get(LANG_COOKIE).map(|c| c.value()) {
            Some("en") => Lang::En,
            _ => Lang::Da,
        })
    }
}

/// Small, readable on a phone, and legible without any script.
const STYLE: &str = r#"
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1c2430;line-height:1.45}
header{background:#1f4e79;color:#fff;padding:.7rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between}
header a{color:#fff}
header form{display:inline}
header button{background:transparent;color:#fff;border:1px solid #fff8;border-radius:.3rem;padding:.2rem .6rem;font-size:.9rem}
main{max-width:44rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
.card{background:#fff;border-radius:.5rem;padding:1rem;margin-bottom:1rem;box-shadow:0 1px 3px #0002}
.card h2{margin:0 0 .3rem;font-size:1.2rem}
.balance{font-size:2rem;font-weight:700;margin:.2rem 0}
.muted{color:#5b6775;font-size:.95rem}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin-top:.7rem}
.button,button.primary,button.secondary{display:inline-block;background:#1f4e79;color:#fff;border:0;border-radius:.4rem;padding:.55rem 1rem;font-size:1rem;text-decoration:none;cursor:pointer}
.button.secondary,button.secondary{background:#e4e9ef;color:#1c2430}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}
input,select,textarea{font-size:1rem;padding:.45rem;border:1px solid #9aa5b1;border-radius:.3rem;width:100%;max-width:20rem}
.notice{background:#e3f4e8;border-left:4px solid #2e8540;padding:.6rem .8rem;margin-bottom:1rem}
.problem{background:#fbe9e7;border-left:4px solid #c0392b;padding:.6rem .8rem;margin-bottom:1rem}
.state-blocked{color:#c0392b;font-weight:600}
table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.3rem .4rem;border-bottom:1px solid #e4e9ef}
td.amount,th.amount{text-align:right;white-space:nowrap}
"#;

/// A page with the header: who is logged in, the language, log out.
pub fn page(lang: Lang, session: &Session, title: &str, body: Markup) -> Markup {
    frame(
        lang,
        title,
        html! {
            header {
                a href="/portal" { strong { "klubkasse" } }
                span {
                    (session.name) " · "
                    form method="post" action="/portal/language" {
                        input type="hidden" name="csrf" value=(session.csrf);
                        input type="hidden" name="lang" value=(lang.t("en", "da"));
                        button type="submit" { (lang.t("English", "Dansk")) }
                    }
                    " "
                    form method="post" action="/portal/logout" {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button type="submit" { (lang.t("Log ud", "Log out")) }
                    }
                }
            }
            main { h1 { (title) } (body) }
        },
    )
}

/// A page for someone not logged in (the front page, errors).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    frame(
        lang,
        title,
        html! {
            header { a href="/portal" { strong { "klubkasse" } } }
            main { (body) }
        },
    )
}

fn frame(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · klubkasse" }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

/// The CSRF field every form carries.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A message above a page's content.
pub fn notice(text: Option<&str>) -> Markup {
    html! { @if let Some(text) = text { p.notice role="status" { (text) } } }
}

pub fn problem(text: Option<&str>) -> Markup {
    html! { @if let Some(text) = text { p.problem role="alert" { (text) } } }
}
