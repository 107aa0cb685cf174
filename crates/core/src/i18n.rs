//! What people read, in every language: one TOML catalogue per language in
//! `assets/i18n/` (`da.toml`, `en.toml`, …), embedded at build time, with
//! the kiosk's texts under `[kiosk]` and the portal's under `[portal]`.
//! Adding a language is adding a file; the tests check that every key of
//! the Danish catalogue is in every other with the same `{placeholders}`,
//! and nothing more.

use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));

/// A language there is a catalogue for, by its code ("da", "en").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language(&'static str);

impl Language {
    /// Danish: the default, and what a missing text falls back to.
    pub const DA: Language = Language("da");
    pub const EN: Language = Language("en");

    /// The language with this code, if there is a catalogue for it.
    pub fn parse(code: &str) -> Option<Language> {
        CATALOGUES
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(code.trim()))
            .map(|(c, _)| Language(c))
    }

    /// Every language there is a catalogue for, by code.
    pub fn all() -> impl Iterator<Item = Language> {
        CATALOGUES.iter().map(|(code, _)| Language(code))
    }

    pub fn code(self) -> &'static str {
        self.0
    }

    /// The language's name in itself ("Dansk", "English").
    pub fn name(self) -> &'static str {
        self.text("language_name").unwrap_or(self.0)
    }

    /// The whole catalogue, parsed once.
    pub fn catalogue(self) -> &'static toml::Table {
        static TABLES: OnceLock<Vec<toml::Table>> = OnceLock::new();
        let tables = TABLES.get_or_init(|| {
            CATALOGUES
                .iter()
                // Embedded and checked by the tests below: a broken file
                // fails the build's tests, never a screen.
                .map(|(code, source)| {
                    toml::from_str(source)
                        .unwrap_or_else(|e| panic!("assets/i18n/{code}.toml: {e}"))
                })
                .collect()
        });
        let index = CATALOGUES
            .iter()
            .position(|(code, _)| *code == self.0)
            .unwrap_or(0);
        &tables[index]
    }

    /// The text under a dotted key ("portal.card.title").
    pub fn text(self, key: &str) -> Option<&'static str> {
        let mut parts = key.split('.');
        let last = parts.next_back()?;
        let mut table = self.catalogue();
        for part in parts {
            table = table.get(part)?.as_table()?;
        }
        table.get(last)?.as_str()
    }
}

impl Default for Language {
    fn default() -> Language {
        Language::DA
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// The codes there are catalogues for, for messages: "da, en".
pub fn codes() -> String {
    Language::all()
        .map(Language::code)
        .collect::<Vec<_>>()
        .join(", ")
}

impl<'de> serde::Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Language, D::Error> {
        let code = String::deserialize(de)?;
        Language::parse(&code).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "«{code}» is not a language here (choose {})",
                codes()
            ))
        })
    }
}

/// Replaces each `{key}` in `template` with its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

/// Every text's dotted key with its placeholders, sorted.
pub fn keys_and_placeholders(table: &toml::Table) -> Vec<(String, Vec<String>)> {
    fn collect(table: &toml::Table, prefix: &str, out: &mut Vec<(String, Vec<String>)>) {
        for (key, value) in table {
            let path = format!("{prefix}{key}");
            match value {
                toml::Value::Table(t) => collect(t, &format!("{path}."), out),
                toml::Value::String(s) => {
                    let mut names: Vec<String> = s
                        .split('{')
                        .skip(1)
                        .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
                        .collect();
                    names.sort();
                    out.push((path, names));
                }
                _ => out.push((path, vec!["(not a text)".into()])),
            }
        }
    }
    let mut out = Vec::new();
    collect(table, "", &mut out);
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn danish_and_english_are_there_and_named_in_themselves() {
        assert_eq!(Language::parse("da"), Some(Language::DA));
        assert_eq!(Language::parse("EN"), Some(Language::EN));
        assert_eq!(Language::parse("xx"), None);
        assert_eq!(Language::DA.name(), "Dansk");
        assert_eq!(Language::EN.name(), "English");
        assert_eq!(Language::default(), Language::DA);
    }

    #[test]
    fn every_language_has_every_key_with_the_same_placeholders() {
        let danish = keys_and_placeholders(Language::DA.catalogue());
        for language in Language::all() {
            let theirs = keys_and_placeholders(language.catalogue());
            let missing: Vec<_> = danish.iter().filter(|k| !theirs.contains(k)).collect();
            let extra: Vec<_> = theirs.iter().filter(|k| !danish.contains(k)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "assets/i18n/{language}.toml: missing or different {missing:?}, not in da.toml {extra:?}"
            );
        }
    }

    #[test]
    fn a_dotted_key_finds_its_text() {
        assert_eq!(
            Language::DA.text("kiosk.idle.tap_card"),
            Some("Hold dit kort på læseren")
        );
        assert_eq!(Language::EN.text("kiosk.nothing.here"), None);
    }

    #[test]
    fn fill_replaces_every_placeholder() {
        assert_eq!(
            fill(
                "Ikke penge nok — du har {available}",
                &[("available", "12,50 kr.")]
            ),
            "Ikke penge nok — du har 12,50 kr."
        );
    }
}
