//! The frame every portal page is drawn in, the reader's language, and
//! small pieces the pages share.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use klubkasse_core::i18n::Language;

use super::session::Session;

pub const LANG_COOKIE: &str = "kk_lang";

/// The reader's language: Danish unless they chose another (a cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang(pub Language);

impl Lang {
    pub const DA: Lang = Lang(Language::DA);
    pub const EN: Lang = Lang(Language::EN);

    /// The text under `key` in the reader's language (Danish where a
    /// catalogue lacks it; the tests see that none does).
    pub fn t(self, key: &'static str) -> &'static str {
        self.0
            .text(key)
            .or_else(|| Language::DA.text(key))
            .unwrap_or(key)
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Lang, Infallible> {
        let jar = CookieJar::from_headers(&parts.headers);
        let chosen = jar
            .get(LANG_COOKIE)
            .and_then(|c| Language::parse(c.value()));
        Ok(Lang(chosen.unwrap_or_default()))
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
                    @for other in Language::all().filter(|l| *l != lang.0) {
                        form method="post" action="/portal/language" {
                            input type="hidden" name="csrf" value=(session.csrf);
                            input type="hidden" name="lang" value=(other.code());
                            button type="submit" lang=(other.code()) { (other.name()) }
                        }
                        " "
                    }
                    form method="post" action="/portal/logout" {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button type="submit" { (lang.t("portal.layout.log_out")) }
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use klubkasse_core::i18n::{Language, keys_and_placeholders};

    /// Every catalogue key in the portal's sources: each string literal
    /// that starts with `portal.`.
    fn keys_in_the_sources() -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/portal");
        let mut keys = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for (at, _) in source.match_indices("\"portal.") {
                let rest = &source[at + 1..];
                let key = &rest[..rest.find('"').unwrap()];
                // Whole keys only, not the prefix this test looks for.
                if key.split('.').all(|part| !part.is_empty()) {
                    keys.insert(key.to_string());
                }
            }
        }
        keys
    }

    #[test]
    fn every_text_a_page_asks_for_is_in_the_catalogue_and_no_other() {
        let used = keys_in_the_sources();
        assert!(used.len() > 100, "{} keys found", used.len());
        let catalogued: BTreeSet<String> = keys_and_placeholders(Language::DA.catalogue())
            .into_iter()
            .map(|(key, _)| key)
            .filter(|key| key.starts_with("portal."))
            .collect();
        let missing: Vec<_> = used.difference(&catalogued).collect();
        let unused: Vec<_> = catalogued.difference(&used).collect();
        assert!(
            missing.is_empty(),
            "not in assets/i18n/da.toml: {missing:?}"
        );
        assert!(
            unused.is_empty(),
            "in assets/i18n/da.toml but used by no page: {unused:?}"
        );
    }
}
