//! The frame every portal page is drawn in, the reader's language, and
//! small pieces the pages share.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use klubkasse_core::domain::Money;
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
header form,form.inline{display:inline}
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
input[type=checkbox]{width:auto}
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
                    (languages(lang, Some(session)))
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

/// The switch to each other language; a logged-in person's carries the
/// session's token, as every form does.
fn languages(lang: Lang, session: Option<&Session>) -> Markup {
    html! {
        @for other in Language::all().filter(|l| *l != lang.0) {
            form method="post" action="/portal/language" {
                @if let Some(session) = session { (csrf(session)) }
                input type="hidden" name="lang" value=(other.code());
                button type="submit" lang=(other.code()) { (other.name()) }
            }
            " "
        }
    }
}

/// A page for someone not logged in (the front page, errors), with the
/// language switch.
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    frame(
        lang,
        title,
        html! {
            header {
                a href="/portal" { strong { "klubkasse" } }
                span { (languages(lang, None)) }
            }
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
/// A field of a search form as typed: trimmed; None when empty, or with
/// a NUL in it (no text in the books has one; PostgreSQL takes none).
pub fn filled(field: &Option<String>) -> Option<&str> {
    field
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty() && !v.contains('\0'))
}

/// A day field of a search form, `YYYY-MM-DD`, in the years a timestamp
/// holds (1900 to 9999); anything else is no day.
pub fn search_day(field: &Option<String>) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    filled(field)
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .filter(|d| (1900..=9999).contains(&d.year()))
}

/// `path` with a search's fields in its query, those without a value
/// left out: the address of another page of the same search.
pub fn search_link(path: &str, fields: &[(&str, Option<&str>)]) -> String {
    let given: Vec<(&str, &str)> = fields
        .iter()
        .filter_map(|(name, value)| value.map(|v| (*name, v)))
        .collect();
    let query = serde_html_form::to_string(given).unwrap_or_default();
    format!("{path}?{query}")
}

/// Rows of a list shown a page at a time.
pub const PAGE_ROWS: i64 = 50;

/// `?page=N` of a list shown a page at a time.
#[derive(Debug, Default, Clone, Copy, serde::Deserialize)]
pub struct PageAsked {
    pub page: Option<i64>,
}

impl PageAsked {
    /// The page asked for, the first is 1.
    pub fn number(self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 100_000)
    }

    pub fn window(self) -> crate::db::Window {
        crate::db::Window::page(self.number(), PAGE_ROWS)
    }
}

/// "Previous" and "next" under a list shown a page at a time: `link`
/// makes a page's address; nothing when all fits on one.
pub fn pager(lang: Lang, page: i64, more: bool, link: impl Fn(i64) -> String) -> Markup {
    html! {
        @if page > 1 || more {
            div.actions.pager {
                @if page > 1 { a.button.secondary href=(link(page - 1)) { (lang.t("portal.office_children.previous")) } }
                @if more { a.button.secondary href=(link(page + 1)) { (lang.t("portal.office_children.next")) } }
            }
        }
    }
}

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

/// The width of `value`'s bar in a chart whose longest is `most`, in
/// hundredths of the longest; nothing for what is not above zero.
fn share(value: Money, most: Money) -> i64 {
    if most.is_positive() {
        value.ore().max(0) * 100 / most.ore()
    } else {
        0
    }
}

/// Horizontal bars, one a row: the label, the bar, the amount. Drawn
/// with CSS, so they need no script and read as a table without style.
pub fn bars<'a>(rows: impl IntoIterator<Item = (&'a str, Money)>) -> Markup {
    let rows: Vec<(&str, Money)> = rows.into_iter().collect();
    let most = rows.iter().map(|(_, m)| *m).max().unwrap_or(Money::ZERO);
    html! {
        table {
            @for (label, total) in &rows {
                tr {
                    td { (label) }
                    td style="width:60%" {
                        div style={ "background:#1f4e79;height:1rem;width:" (share(*total, most)) "%" } {}
                    }
                    td.amount { (total) }
                }
            }
        }
    }
}

/// One column of [`columns`]: what is written under it, what it says
/// when pointed at, its amount.
pub struct Column {
    pub label: String,
    pub title: String,
    pub value: Money,
}

/// Columns as inline SVG (no script, readable on a phone), with `unit`
/// written under the labels.
pub fn columns(name: &str, columns: &[Column], unit: &str) -> Markup {
    let most = columns.iter().map(|c| c.value).max().unwrap_or(Money::ZERO);
    // Narrower columns the more there are (a month's days), so that a
    // phone need not shrink them past reading; never so narrow that a
    // two-digit label spills into the next.
    let step = (480 / columns.len().max(1)).clamp(16, 36);
    let (bar, gap, height) = (step * 3 / 4, step - step * 3 / 4, 120);
    let width = columns.len() * step;
    html! {
        // As wide as it needs, narrower on a narrow screen (a month's 31 days).
        svg role="img" aria-label=(name) style="max-width:100%;height:auto"
            width=(width) height=(height + 34) viewBox={ "0 0 " (width) " " (height + 34) } {
            @for (i, column) in columns.iter().enumerate() {
                @let h = share(column.value, most) as usize * height / 100;
                @let x = i * (bar + gap) + gap / 2;
                rect x=(x) y=(height - h) width=(bar) height=(h) fill="#1f4e79" {
                    title { (column.title) }
                }
                text x=(x + bar / 2) y=(height + 14) font-size="11" text-anchor="middle" {
                    (column.label)
                }
            }
            text x="0" y=(height + 30) font-size="11" { (unit) }
        }
    }
}

/// A CSV for people as a download (see [`klubkasse_core::people_csv`]),
/// saved under `file_name`.
pub fn csv_download(file_name: &str, text: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", file_part(file_name)),
            ),
        ],
        text,
    )
        .into_response()
}

/// A part of a file name every system keeps: lower case ASCII letters and
/// digits, Danish letters spelt out (`Ørsted` → `oersted`), anything else
/// one `-`.
pub fn file_part(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let spelt = match c {
            'æ' => "ae",
            'ø' => "oe",
            'å' => "aa",
            '.' if !out.is_empty() => ".",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "-",
        };
        if spelt == "-" && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push_str(spelt);
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::file_part;

    #[test]
    fn file_names_every_system_keeps() {
        assert_eq!(file_part("Solsikken Ørsted"), "solsikken-oersted");
        assert_eq!(file_part("Åbo / Ærø!"), "aabo-aeroe");
        assert_eq!(
            file_part("klubkasse-varer-2025-03.csv"),
            "klubkasse-varer-2025-03.csv"
        );
        assert_eq!(file_part("\"../x\""), "x");
        assert_eq!(file_part("../etc"), "etc");
        assert_eq!(file_part("..."), "");
    }

    use klubkasse_core::i18n::{Language, keys_and_placeholders};

    /// The portal's source files, in its folders too.
    fn sources(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(sources(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    /// Every catalogue key in the portal's sources: each string literal
    /// that starts with `portal.`.
    fn keys_in_the_sources() -> BTreeSet<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/portal");
        let mut keys = BTreeSet::new();
        for path in sources(&dir) {
            let source = std::fs::read_to_string(path).unwrap();
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
