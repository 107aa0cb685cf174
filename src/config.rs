//! The kiosk's config and menu files: parsed with errors that name the
//! file, the line and what is wrong, and checked against each other.
//!
//! Over 400 lines: the config and the menu are checked against each other
//! (hotkeys, the keymap), so their parsers and tests stay in one file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ratatui::crossterm::event::KeyCode;
use serde::Deserialize;
use toml::Spanned;

use crate::i18n::Language;
use crate::keymap::{Key, Keymap};
use crate::source_error::{FileError, FileErrors, from_toml_all, in_file_order};
use crate::store::{ItemChange, MenuChanges};
use crate::ui::big_text::BigText;
use crate::ui::theme::ThemeName;
use klubkasse_core::domain::{MenuItem, Money};

/// Where card taps come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReaderKind {
    /// A USB PC/SC reader through pcscd.
    Pcsc,
    /// F1–F8 tap the demo children's cards: for trying things out.
    Demo,
}

/// Everything the kiosk needs to run, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub counter: String,
    pub data_dir: PathBuf,
    pub reader: ReaderKind,
    /// Only readers whose name contains this (PC/SC).
    pub reader_name: Option<String>,
    pub menu: Menu,
    pub keymap: Keymap,
    pub language: Language,
    /// Dark (the default) or light: the kiosk paints its own background.
    pub theme: ThemeName,
    /// Which glyphs the big letters are made of.
    pub big_text: BigText,
    /// argon2 PHC string; no hash means the staff menu stays closed.
    pub staff_pin_hash: Option<String>,
    /// A sale left alone this long is cancelled.
    pub sale_timeout: Duration,
    /// How long "Betalt" or a refusal stays on screen.
    pub result_time: Duration,
    /// How old the last sale may be for "undo" (older: refund).
    pub undo_window: Duration,
    /// Connected mode, offline: most a child may buy beyond what the ledger confirmed.
    pub offline_allowance: Money,
    /// Connected mode: the central ledger. Without it the counter stands alone.
    pub ledger: Option<LedgerConfig>,
    /// The reserve file kept in the data folder for recovery (MB).
    pub disk_reserve_mb: u64,
}

/// Where the ledger is and how this counter proves who it is.
#[derive(Clone)]
pub struct LedgerConfig {
    pub url: String,
    /// The counter's bearer token, read from `token_file`.
    pub token: String,
    pub token_file: PathBuf,
    /// How often to pull changes when nothing else happens.
    pub pull_every: Duration,
    /// How long one request may take before the ledger counts as away.
    pub timeout: Duration,
    /// A certificate authority (PEM) to trust for the ledger instead of
    /// the system's: for a ledger with a certificate of its own.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for LedgerConfig {
    // Never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerConfig")
            .field("url", &self.url)
            .field("token_file", &self.token_file)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLedger {
    url: Spanned<String>,
    token_file: PathBuf,
    pull_seconds: Option<Spanned<u64>>,
    timeout_seconds: Option<Spanned<u64>>,
    ca_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    // Optional here so that a missing one is one mistake among the others.
    counter: Option<Spanned<String>>,
    data_dir: Option<Spanned<PathBuf>>,
    #[serde(default = "default_reader")]
    reader: ReaderKind,
    reader_name: Option<String>,
    menu: Option<PathBuf>,
    keymap: Option<PathBuf>,
    #[serde(default)]
    language: Language,
    #[serde(default)]
    theme: ThemeName,
    #[serde(default)]
    big_text: BigText,
    staff_pin_hash: Option<Spanned<String>>,
    sale_timeout_seconds: Option<Spanned<u64>>,
    result_seconds: Option<Spanned<u64>>,
    undo_minutes: Option<Spanned<u64>>,
    offline_allowance: Option<Spanned<Money>>,
    disk_reserve_mb: Option<Spanned<u64>>,
    ledger: Option<RawLedger>,
}

fn default_reader() -> ReaderKind {
    ReaderKind::Pcsc
}

/// The per-user folder for the store when the config names none.
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("dk", "klubkasse", "klubkasse")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("klubkasse-data"))
}

impl Config {
    /// Reads the config, then the menu and keymap it names (relative
    /// paths are relative to the config file). Every mistake in them, not
    /// just the first.
    pub fn load(path: &Path) -> Result<Config, FileErrors> {
        Config::parse(path, &FileError::read(path)?)
    }

    /// The config in `text`, read from `path`: the files it names are read
    /// relative to `path`'s folder.
    pub fn parse(path: &Path, text: &str) -> Result<Config, FileErrors> {
        let (raw, mut problems) = from_toml_all::<RawConfig>(path, text);
        let Some(raw) = raw else {
            return Err(FileErrors(problems));
        };
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let invalid = |span, message: String| FileError::at(path, text, Some(span), message);

        let counter = raw
            .counter
            .as_ref()
            .map(|c| c.get_ref().trim().to_string())
            .unwrap_or_default();
        if counter.is_empty() {
            let span = raw.counter.as_ref().map(Spanned::span);
            problems.push(FileError::at(
                path,
                text,
                span,
                "`counter` must name the counter",
            ));
        }
        if let Some(hash) = &raw.staff_pin_hash
            && let Err(e) = argon2::PasswordHash::new(hash.get_ref())
        {
            problems.push(invalid(
                hash.span(),
                format!(
                    "staff_pin_hash is not an argon2 hash ({e}); make one with `klubkasse pin-hash`"
                ),
            ));
        }
        // A value out of range is a mistake; the default stands in for it
        // so that the rest is still checked.
        let mut seconds = |field: &Option<Spanned<u64>>,
                           name: &str,
                           default: u64,
                           range: std::ops::RangeInclusive<u64>| {
            match field {
                None => default,
                Some(v) if range.contains(v.get_ref()) => *v.get_ref(),
                Some(v) => {
                    problems.push(invalid(
                        v.span(),
                        format!(
                            "{name} must be between {} and {}",
                            range.start(),
                            range.end()
                        ),
                    ));
                    default
                }
            }
        };
        let sale_timeout = seconds(
            &raw.sale_timeout_seconds,
            "sale_timeout_seconds",
            60,
            5..=3600,
        );
        let result_time = seconds(&raw.result_seconds, "result_seconds", 4, 1..=60);
        let undo_minutes = seconds(&raw.undo_minutes, "undo_minutes", 5, 0..=120);
        let disk_reserve_mb = seconds(&raw.disk_reserve_mb, "disk_reserve_mb", 8, 0..=1024);
        let (pull_seconds, timeout_seconds) = match &raw.ledger {
            Some(l) => (
                seconds(&l.pull_seconds, "pull_seconds", 5, 1..=600),
                seconds(&l.timeout_seconds, "timeout_seconds", 5, 1..=60),
            ),
            None => (5, 5),
        };
        let offline_allowance = match raw.offline_allowance {
            None => Money::kroner(50),
            Some(m) if m.get_ref().is_negative() => {
                problems.push(invalid(
                    m.span(),
                    "offline_allowance cannot be negative".into(),
                ));
                Money::ZERO
            }
            Some(m) => m.into_inner(),
        };
        let data_dir = match &raw.data_dir {
            Some(dir) => {
                let resolved = resolve(dir.get_ref());
                if resolved.exists() && !resolved.is_dir() {
                    problems.push(invalid(
                        dir.span(),
                        format!(
                            "data_dir {} is a file; it must be a folder (or not there yet)",
                            resolved.display()
                        ),
                    ));
                }
                resolved
            }
            None => default_data_dir(),
        };

        let ledger = match raw.ledger {
            None => None,
            Some(l) => {
                let url = l.url.get_ref().trim().trim_end_matches('/').to_string();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    problems.push(invalid(
                        l.url.span(),
                        format!("ledger url «{url}» must start with http:// or https://"),
                    ));
                }
                let token_file = resolve(&l.token_file);
                let token = match FileError::read(&token_file) {
                    Ok(token) => {
                        let token = token.trim().to_string();
                        if token.is_empty() || token.contains(char::is_whitespace) {
                            problems.push(FileError::at(
                                &token_file,
                                "",
                                None,
                                "the file must hold the counter's token and nothing else",
                            ));
                        }
                        token
                    }
                    Err(e) => {
                        problems.push(e);
                        String::new()
                    }
                };
                let ca_pem = match &l.ca_file {
                    None => None,
                    Some(file) => {
                        let path = resolve(file);
                        match FileError::read(&path) {
                            Ok(pem) if pem.contains("-----BEGIN CERTIFICATE-----") => {
                                Some(pem.into_bytes())
                            }
                            Ok(pem) => {
                                problems.push(FileError::at(
                                    &path,
                                    &pem,
                                    None,
                                    "not a PEM certificate (-----BEGIN CERTIFICATE-----)",
                                ));
                                None
                            }
                            Err(e) => {
                                problems.push(e);
                                None
                            }
                        }
                    }
                };
                Some(LedgerConfig {
                    url,
                    token,
                    token_file,
                    ca_pem,
                    pull_every: Duration::from_secs(pull_seconds),
                    timeout: Duration::from_secs(timeout_seconds),
                })
            }
        };
        let keymap = match Keymap::load(raw.keymap.as_deref().map(resolve).as_deref()) {
            Ok(keymap) => Some(keymap),
            Err(errors) => {
                problems.extend(errors.0);
                None
            }
        };
        let menu = match &raw.menu {
            None => {
                problems.push(FileError::at(
                    path,
                    text,
                    None,
                    "`menu` is missing: name the menu file (menu = \"menu.toml\")",
                ));
                None
            }
            // Against the built-in keymap when the user's is wrong: the
            // menu's own mistakes are still found.
            Some(menu) => match keymap.clone().map_or_else(|| Keymap::load(None), Ok) {
                Ok(against) => match Menu::load(&resolve(menu), &against) {
                    Ok(menu) => Some(menu),
                    Err(errors) => {
                        problems.extend(errors.0);
                        None
                    }
                },
                Err(errors) => {
                    problems.extend(errors.0);
                    None
                }
            },
        };
        match (keymap, menu) {
            (Some(keymap), Some(menu)) if problems.is_empty() => Ok(Config {
                counter,
                data_dir,
                reader: raw.reader,
                reader_name: raw.reader_name.filter(|n| !n.trim().is_empty()),
                menu,
                keymap,
                language: raw.language,
                theme: raw.theme,
                big_text: raw.big_text,
                staff_pin_hash: raw.staff_pin_hash.map(Spanned::into_inner),
                sale_timeout: Duration::from_secs(sale_timeout),
                result_time: Duration::from_secs(result_time),
                undo_window: Duration::from_secs(undo_minutes * 60),
                offline_allowance,
                ledger,
                disk_reserve_mb,
            }),
            _ => Err(FileErrors(in_file_order(problems))),
        }
    }
}

/// The things on sale, in the order of the menu file, as sold now: the
/// file's items with staff's changes at the counter applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// With the prices charged now.
    pub items: Vec<MenuItem>,
    /// The menu file's items, the default the changes apply to.
    file: Vec<MenuItem>,
    changes: MenuChanges,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMenu {
    #[serde(default)]
    item: Vec<RawItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    key: Spanned<String>,
    name: Spanned<String>,
    price: Spanned<Money>,
    category: String,
}

/// Most items a menu may hold: more do not fit the grid on a laptop.
pub const MAX_ITEMS: usize = 36;

impl Menu {
    pub fn load(path: &Path, keymap: &Keymap) -> Result<Menu, FileErrors> {
        let text = FileError::read(path)?;
        Menu::parse(path, &text, keymap)
    }

    /// The menu in `text`, with every mistake in it.
    pub fn parse(path: &Path, text: &str, keymap: &Keymap) -> Result<Menu, FileErrors> {
        let (raw, mut problems) = from_toml_all::<RawMenu>(path, text);
        let Some(raw) = raw else {
            return Err(FileErrors(problems));
        };
        let invalid = |span, message: String| FileError::at(path, text, Some(span), message);
        if raw.item.is_empty() && problems.is_empty() {
            problems.push(FileError::at(path, text, None, "the menu has no [[item]]"));
        }
        if raw.item.len() > MAX_ITEMS {
            problems.push(FileError::at(
                path,
                text,
                None,
                format!(
                    "the menu has {} items; at most {MAX_ITEMS} fit",
                    raw.item.len()
                ),
            ));
        }
        let mut items: Vec<MenuItem> = Vec::new();
        for item in raw.item {
            let before = problems.len();
            let key_text = item.key.get_ref();
            let mut chars = key_text.chars();
            let key = match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_whitespace() && !c.is_control() => Some(c),
                _ => {
                    problems.push(invalid(
                        item.key.span(),
                        format!("key «{key_text}» must be exactly one character"),
                    ));
                    None
                }
            };
            if let Some(key) = key {
                if keymap.is_bound(Key::plain(KeyCode::Char(key))) {
                    problems.push(invalid(
                        item.key.span(),
                        format!("key «{key}» is already used by the keymap; choose another"),
                    ));
                } else if let Some(first) = items
                    .iter()
                    .find(|i| i.key.to_lowercase().eq(key.to_lowercase()))
                {
                    problems.push(invalid(
                        item.key.span(),
                        format!("key «{key}» is already used by «{}»", first.name),
                    ));
                }
            }
            let name = item.name.get_ref().trim();
            if name.is_empty() || name.chars().count() > 24 {
                problems.push(invalid(
                    item.name.span(),
                    "name must be 1 to 24 characters".into(),
                ));
            }
            if !item.price.get_ref().is_positive() {
                problems.push(invalid(
                    item.price.span(),
                    "price must be more than 0".into(),
                ));
            }
            if let Some(key) = key
                && problems.len() == before
            {
                items.push(MenuItem {
                    key,
                    name: name.to_string(),
                    price: *item.price.get_ref(),
                    category: item.category.trim().to_lowercase(),
                });
            }
        }
        FileErrors::or(
            problems,
            Menu {
                file: items.clone(),
                items,
                changes: MenuChanges::new(),
            },
        )
    }

    /// The item on `key`, at the price charged now (sold out or not).
    pub fn item(&self, key: char) -> Option<&MenuItem> {
        self.items.iter().find(|i| i.key == key)
    }

    /// The menu file's items with `changes` (from the store) applied in
    /// place of any before. A change to an item no longer in the file
    /// is kept in the store but changes nothing here.
    pub fn with_changes(&self, changes: MenuChanges) -> Menu {
        let items = self
            .file
            .iter()
            .map(|item| MenuItem {
                // A price below zero would make a sale pay money in: never
                // taken, whatever the store holds.
                price: changes
                    .get(&item.name)
                    .and_then(|c| c.price)
                    .filter(|price| !price.is_negative())
                    .unwrap_or(item.price),
                ..item.clone()
            })
            .collect();
        Menu {
            items,
            file: self.file.clone(),
            changes,
        }
    }

    /// What staff changed about the item on `key`.
    pub fn change(&self, key: char) -> ItemChange {
        self.item(key)
            .and_then(|item| self.changes.get(&item.name))
            .copied()
            .unwrap_or_default()
    }

    pub fn is_sold_out(&self, key: char) -> bool {
        self.change(key).sold_out
    }

    /// The price the menu file gives the item on `key`.
    pub fn file_price(&self, key: char) -> Option<Money> {
        self.file.iter().find(|i| i.key == key).map(|i| i.price)
    }

    /// The sample menu shipped in `assets/menu.toml`.
    pub fn sample(keymap: &Keymap) -> Result<Menu, FileErrors> {
        Menu::parse(
            Path::new("assets/menu.toml (built in)"),
            SAMPLE_MENU,
            keymap,
        )
    }
}

pub const SAMPLE_MENU: &str = include_str!("../assets/menu.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn menu_err(text: &str) -> String {
        Menu::parse(Path::new("menu.toml"), text, &Keymap::load(None).unwrap())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn sample_menu_loads() {
        let menu = Menu::sample(&Keymap::load(None).unwrap()).unwrap();
        assert_eq!(menu.items.len(), 9);
        assert_eq!(menu.item('1').unwrap().price, Money::kroner(12));
    }

    #[test]
    fn changes_at_the_counter_apply_over_the_file_and_go_back() {
        let file = Menu::sample(&Keymap::load(None).unwrap()).unwrap();
        let toast = |price: Option<i64>, sold_out| ItemChange {
            price: price.map(Money::kroner),
            sold_out,
        };
        let changes = MenuChanges::from([
            ("Toast".to_string(), toast(Some(10), false)),
            ("Frugt".to_string(), toast(None, true)),
            ("Not on the menu".to_string(), toast(Some(1), true)),
        ]);
        let menu = file.with_changes(changes);
        assert_eq!(menu.item('1').unwrap().price, Money::kroner(10));
        assert_eq!(menu.file_price('1'), Some(Money::kroner(12)));
        assert!(!menu.is_sold_out('1'));
        assert_eq!(menu.item('2').unwrap().price, Money::kroner(4));
        assert!(menu.is_sold_out('2'));
        assert_eq!(menu.change('3'), ItemChange::default());
        assert_eq!(menu.items.len(), file.items.len());
        // Changed back: the file's menu again, whatever was applied before.
        assert_eq!(menu.with_changes(MenuChanges::new()), file);
    }

    #[test]
    fn menu_errors_point_at_the_line() {
        let item = |key: &str, price: &str| {
            format!(
                "[[item]]\nkey = \"{key}\"\nname = \"X\"\nprice = \"{price}\"\ncategory = \"mad\"\n"
            )
        };
        let two = format!("{}{}", item("1", "5"), item("1", "6"));
        assert!(
            menu_err(&two).starts_with("menu.toml:7:7: key «1» is already used by «X»"),
            "{}",
            menu_err(&two)
        );
        assert!(
            menu_err(&item("12", "5"))
                .starts_with("menu.toml:2:7: key «12» must be exactly one character")
        );
        assert!(menu_err(&item("+", "5")).contains("already used by the keymap"));
        assert!(
            menu_err(&item("1", "5.001")).starts_with("menu.toml:4:9:"),
            "{}",
            menu_err(&item("1", "5.001"))
        );
        assert!(menu_err(&item("1", "5.001")).contains("more than two decimals"));
        assert!(menu_err(&item("1", "0")).contains("price must be more than 0"));
        assert!(menu_err("").contains("no [[item]]"));
        assert!(menu_err("[[item]]\nkey = \"1\"\nname = \"X\"\nprice = \"1\"\ncategory = \"m\"\ncolour = \"red\"\n").contains("menu.toml:6:1"));
    }
}
