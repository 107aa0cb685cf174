//! Key bindings: `keymaps/default.toml` built in, a user file on top.
//!
//! As in gitui and yazi, the user's file patches only the actions it names.
//! The reverse map (action → keys) feeds the hints on screen, so what the
//! screen says is always what the keys do.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use serde::de::value::StrDeserializer;
use toml::Spanned;

use crate::action::Action;
use crate::source_error::{FileError, FileErrors, from_toml_all};

pub const DEFAULT_KEYMAP: &str = include_str!("../keymaps/default.toml");
const DEFAULT_NAME: &str = "keymaps/default.toml (built in)";

/// One key with its modifiers, as staff press it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    /// The binding a key press looks up. Shift is part of the character
    /// itself ("+" is Shift-= on many keyboards), so it is not compared.
    pub fn from_event(event: &KeyEvent) -> Key {
        Key {
            code: match event.code {
                KeyCode::Char(c) if event.modifiers.contains(KeyModifiers::CONTROL) => {
                    KeyCode::Char(c.to_ascii_lowercase())
                }
                other => other,
            },
            modifiers: event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT),
        }
    }

    pub fn parse(text: &str) -> Option<Key> {
        let mut modifiers = KeyModifiers::NONE;
        let mut rest = text;
        loop {
            if let Some(r) = strip_prefix_ci(rest, "ctrl-") {
                modifiers |= KeyModifiers::CONTROL;
                rest = r;
            } else if let Some(r) = strip_prefix_ci(rest, "alt-") {
                modifiers |= KeyModifiers::ALT;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if modifiers.is_empty() {
                c
            } else {
                c.to_ascii_lowercase()
            }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" => KeyCode::Enter,
                "esc" => KeyCode::Esc,
                "backspace" => KeyCode::Backspace,
                "tab" => KeyCode::Tab,
                "space" => KeyCode::Char(' '),
                "delete" => KeyCode::Delete,
                "insert" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pageup" => KeyCode::PageUp,
                "pagedown" => KeyCode::PageDown,
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return None,
                },
                _ => return None,
            },
        };
        Some(Key { code, modifiers })
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    (text.len() > prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &text[prefix.len()..])
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "F{n}"),
            KeyCode::Backspace => f.write_str("⌫"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::Delete => f.write_str("Delete"),
            KeyCode::Insert => f.write_str("Insert"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PageUp"),
            KeyCode::PageDown => f.write_str("PageDown"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Keymap {
    by_key: HashMap<Key, Action>,
    by_action: BTreeMap<String, (Action, Vec<Key>)>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

/// Actions the screens cannot do without, and what would be lost.
const REQUIRED: [(&str, &str); 4] = [
    ("confirm", "nothing could be paid or chosen"),
    ("cancel", "a sale could not be left"),
    ("up", "the staff menu could not be moved in"),
    ("down", "the staff menu could not be moved in"),
];

impl Keymap {
    /// The built-in keymap with the user's file, if any, on top.
    pub fn load(user_file: Option<&Path>) -> Result<Keymap, FileErrors> {
        let user_text = match user_file {
            Some(path) => Some((path, FileError::read(path)?)),
            None => None,
        };
        Keymap::parse(
            user_text
                .as_ref()
                .map(|(path, text)| (*path, text.as_str())),
        )
    }

    /// The built-in keymap with the user's file (its path and text) on
    /// top; every mistake in it.
    pub fn parse(user_file: Option<(&Path, &str)>) -> Result<Keymap, FileErrors> {
        let mut problems = Vec::new();
        let mut bindings = parse(
            Path::new(DEFAULT_NAME),
            DEFAULT_KEYMAP,
            false,
            &mut problems,
        );
        if let Some((path, text)) = user_file {
            for (name, binding) in parse(path, text, true, &mut problems) {
                bindings.insert(name, binding);
            }
        }
        // Where a binding was written: the user's file or the built-in one.
        let at = |binding: &Binding, span: std::ops::Range<usize>, message: String| match (
            user_file,
            binding.from_user,
        ) {
            (Some((path, text)), true) => FileError::at(path, text, Some(span), message),
            _ => FileError::at(Path::new(DEFAULT_NAME), DEFAULT_KEYMAP, Some(span), message),
        };
        let mut by_key: HashMap<Key, (String, Action)> = HashMap::new();
        let mut by_action = BTreeMap::new();
        for (name, binding) in bindings {
            for &(key, ref span) in &binding.keys {
                if let Some((other, _)) = by_key.get(&key)
                    && *other != name
                {
                    let message = format!("key {key} is bound to both «{other}» and «{name}»");
                    problems.push(at(&binding, span.clone(), message));
                    continue;
                }
                by_key.insert(key, (name.clone(), binding.action.clone()));
            }
            if binding.none_written
                && let Some((_, lost)) = REQUIRED.iter().find(|(required, _)| *required == name)
            {
                let message = format!(
                    "«{name}» has no key, and without one {lost}; give it one (e.g. {name} = [\"{}\"])",
                    default_key(&name)
                );
                problems.push(at(&binding, binding.span.clone(), message));
            }
            let keys = binding.keys.iter().map(|(k, _)| *k).collect();
            by_action.insert(name, (binding.action, keys));
        }
        FileErrors::or(
            problems,
            Keymap {
                by_key: by_key.into_iter().map(|(k, (_, a))| (k, a)).collect(),
                by_action,
            },
        )
    }

    pub fn action(&self, key: Key) -> Option<&Action> {
        self.by_key.get(&key)
    }

    pub fn is_bound(&self, key: Key) -> bool {
        self.by_key.contains_key(&key)
    }

    /// The first key for an action, for hints ("Enter betal"); "—" if none.
    pub fn hint(&self, action: &Action) -> String {
        self.by_action
            .values()
            .find(|(a, _)| a == action)
            .and_then(|(_, keys)| keys.first())
            .map_or_else(|| "—".to_string(), Key::to_string)
    }
}

struct Binding {
    action: Action,
    keys: Vec<(Key, std::ops::Range<usize>)>,
    /// Where the list of keys is.
    span: std::ops::Range<usize>,
    /// Written as `[]`: unbound on purpose, not for a mistake.
    none_written: bool,
    from_user: bool,
}

/// The built-in key of an action, for a hint.
fn default_key(action: &str) -> String {
    DEFAULT_KEYMAP
        .lines()
        .find_map(|line| line.strip_prefix(action)?.trim_start().strip_prefix('='))
        .and_then(|keys| keys.split('"').nth(1))
        .unwrap_or("…")
        .to_string()
}

/// The bindings of one file; its mistakes go to `problems`, and the
/// bindings with none are kept.
fn parse(
    path: &Path,
    text: &str,
    from_user: bool,
    problems: &mut Vec<FileError>,
) -> BTreeMap<String, Binding> {
    let (table, errors) = from_toml_all::<BTreeMap<Spanned<String>, Spanned<KeyList>>>(path, text);
    problems.extend(errors.into_iter().map(|mut err| {
        if let FileError::Invalid { message, .. } = &mut err {
            message.push_str(" (write: action = [\"Key\", …])");
        }
        err
    }));
    let mut out = BTreeMap::new();
    for (name, keys) in table.unwrap_or_default() {
        let de: StrDeserializer<'_, serde::de::value::Error> =
            name.get_ref().as_str().into_deserializer();
        let Ok(action) = Action::deserialize(de) else {
            problems.push(FileError::at(
                path,
                text,
                Some(name.span()),
                format!(
                    "unknown action «{}»; known: {}",
                    name.get_ref(),
                    Action::BINDABLE.join(", ")
                ),
            ));
            continue;
        };
        let span = keys.span();
        let list = match keys.into_inner() {
            KeyList::One(k) => vec![k],
            KeyList::Many(ks) => ks,
        };
        let none_written = list.is_empty();
        let mut parsed = Vec::new();
        for k in list {
            match Key::parse(&k) {
                Some(key) => parsed.push((key, span.clone())),
                None => problems.push(FileError::at(
                    path,
                    text,
                    Some(span.clone()),
                    format!("unknown key «{k}» for «{}»", name.get_ref()),
                )),
            }
        }
        out.insert(
            name.into_inner(),
            Binding {
                action,
                keys: parsed,
                span,
                none_written,
                from_user,
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn user_file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn default_binds_every_action() {
        let km = Keymap::load(None).unwrap();
        assert_eq!(
            km.action(Key::plain(KeyCode::Enter)),
            Some(&Action::Confirm)
        );
        assert_eq!(
            km.action(Key::plain(KeyCode::Char('+'))),
            Some(&Action::QuantityUp)
        );
        let ctrl_p = Key::from_event(&KeyEvent::new(
            KeyCode::Char('P'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        ));
        assert_eq!(km.action(ctrl_p), Some(&Action::Staff));
        for name in Action::BINDABLE {
            assert!(
                km.by_action.contains_key(*name),
                "{name} is not bound by default"
            );
        }
        assert_eq!(km.hint(&Action::Confirm), "Enter");
    }

    #[test]
    fn user_file_patches_only_what_it_names() {
        let f = user_file("confirm = \"Tab\"\nstaff = []\n");
        let km = Keymap::load(Some(f.path())).unwrap();
        assert_eq!(km.action(Key::plain(KeyCode::Tab)), Some(&Action::Confirm));
        assert_eq!(km.action(Key::plain(KeyCode::Enter)), None);
        assert_eq!(km.action(Key::plain(KeyCode::F(9))), None);
        assert_eq!(km.action(Key::plain(KeyCode::Esc)), Some(&Action::Cancel));
        assert_eq!(km.hint(&Action::Staff), "—");
    }

    #[test]
    fn errors_name_line_and_what() {
        let f = user_file("confirm = [\"Enter\"]\nfly = [\"x\"]\n");
        let err = Keymap::load(Some(f.path())).unwrap_err().to_string();
        assert!(err.contains(":2:1: unknown action «fly»"), "{err}");

        let f = user_file("\n\ncancel = [\"Escape-ish\"]\n");
        let err = Keymap::load(Some(f.path())).unwrap_err().to_string();
        assert!(
            err.contains(":3:10: unknown key «Escape-ish» for «cancel»"),
            "{err}"
        );

        let f = user_file("cancel = [\"Esc\"]\nconfirm = [\"Esc\"]\n");
        let err = Keymap::load(Some(f.path())).unwrap_err().to_string();
        assert!(err.contains("key Esc is bound to both"), "{err}");
        assert!(err.contains(&f.path().display().to_string()), "{err}");

        let f = user_file("confirm = 5\n");
        let err = Keymap::load(Some(f.path())).unwrap_err().to_string();
        assert!(err.contains(":1:11:"), "{err}");
    }

    #[test]
    fn key_names_round_trip() {
        for name in [
            "Enter", "Esc", "F9", "Ctrl-p", "+", "a", "Space", "PageDown",
        ] {
            let key = Key::parse(name).unwrap();
            assert_eq!(
                Key::parse(&key.to_string().replace('↑', "Up")),
                Some(key),
                "{name}"
            );
        }
        assert_eq!(Key::parse("F13"), None);
        assert_eq!(Key::parse("Ctrl-"), None);
    }
}
