//! The headless front end's language. In, one command a line:
//!
//! ```text
//! tap 04A1B2C3     a card on the reader
//! key enter        a key, named as in keymaps/*.toml (f1, esc, a, ctrl-q …)
//! quit             stop (so does the end of input)
//! ```
//!
//! Out, one JSON object a line, when the screen would change: `ready`,
//! `account` (a child's sale screen), `paid` (with the sale's id, written
//! only after the sale is on disk, as "Betalt" is), `refused`,
//! `not_saved`, `idle`, `sync`, `staff`, `notice` and `bad_line`.

use std::io::Write;
use std::mem::{Discriminant, discriminant};

use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::keymap::Key;
use crate::sync::SyncStatus;
use crate::ui::screens::result::{ResultScreen, refusal_text};
use crate::ui::screens::staff::outcome_text;
use crate::ui::{Action, App, Screen};
use klubkasse_core::domain::{CardUid, Money, Refusal};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Tap(CardUid),
    Key(Key),
    Quit,
    /// A blank line or a `#` comment.
    Nothing,
}

pub fn parse_command(line: &str) -> Result<Command, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Command::Nothing);
    }
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    match word {
        "tap" => CardUid::parse(rest)
            .map(Command::Tap)
            .map_err(|e| e.to_string()),
        "key" => Key::parse(rest)
            .map(Command::Key)
            .ok_or_else(|| format!("«{rest}» is not a key (e.g. enter, esc, f1, a, ctrl-q)")),
        "quit" if rest.is_empty() => Ok(Command::Quit),
        _ => Err(format!(
            "«{line}» is not a command: expected `tap UID`, `key KEY` or `quit`"
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Ready,
    Account {
        child: String,
        balance: Money,
    },
    Paid {
        sale: Option<Uuid>,
        child: String,
        total: Money,
        balance: Money,
    },
    Refused {
        reason: String,
    },
    NotSaved {
        message: String,
    },
    Idle,
    Sync {
        status: &'static str,
        waiting: usize,
    },
    Staff {
        ok: bool,
        message: String,
    },
    Notice {
        message: String,
    },
    BadLine {
        line: usize,
        message: String,
    },
}

pub fn bad_line(line: usize, message: &str) -> Event {
    Event::BadLine {
        line,
        message: message.to_string(),
    }
}

pub fn write_event(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    let json = serde_json::to_string(event).map_err(std::io::Error::other)?;
    writeln!(out, "{json}")?;
    out.flush()
}

/// What was on screen, and what the action carried, before `update()`:
/// enough to tell afterwards what changed.
pub struct Seen {
    screen: Discriminant<Screen>,
    /// The action may be answered by a refusal on the sale screen (which
    /// keeps the basket): every Enter is answered, again or not.
    may_refuse: bool,
    sale: Option<Uuid>,
    news: Option<Event>,
}

impl Seen {
    pub fn of(app: &App, action: &Action) -> Seen {
        let news = match action {
            Action::Sync(status) => Some(sync_event(status)),
            Action::StaffDone(done) => Some(Event::Staff {
                ok: done.succeeded(),
                message: outcome_text(&app.texts().staff, done),
            }),
            Action::Notice(message)
            | Action::DayClosed {
                more: Err(message), ..
            } => Some(Event::Notice {
                message: message.clone(),
            }),
            _ => None,
        };
        Seen {
            screen: discriminant(&app.screen),
            may_refuse: matches!(action, Action::Confirm | Action::SaleRefused(_)),
            sale: match action {
                Action::SaleSaved { sale, .. } => Some(sale.id),
                _ => None,
            },
            news,
        }
    }

    /// The event for what the action did, if anyone would see it.
    pub fn outcome(self, app: &App) -> Option<Event> {
        if self.news.is_some() {
            return self.news;
        }
        if let Some(refusal) = sale_refusal(app).filter(|_| self.may_refuse) {
            return Some(Event::Refused {
                reason: refusal_text(app.texts(), refusal),
            });
        }
        if discriminant(&app.screen) == self.screen {
            return None;
        }
        Some(match &app.screen {
            Screen::Idle => Event::Idle,
            Screen::Sale(sale) => Event::Account {
                child: sale.view.child.name.clone(),
                balance: sale.view.balance,
            },
            Screen::Result(ResultScreen::Paid {
                name,
                total,
                balance,
            }) => Event::Paid {
                sale: self.sale,
                child: name.clone(),
                total: *total,
                balance: *balance,
            },
            Screen::Result(ResultScreen::Refused(refusal)) => Event::Refused {
                reason: refusal_text(app.texts(), refusal),
            },
            Screen::Result(ResultScreen::NotSaved(message)) => Event::NotSaved {
                message: message.clone(),
            },
            Screen::Staff(_) => return None,
        })
    }
}

fn sale_refusal(app: &App) -> Option<&Refusal> {
    match &app.screen {
        Screen::Sale(sale) => sale.refusal.as_ref(),
        _ => None,
    }
}

fn sync_event(status: &SyncStatus) -> Event {
    let (status, waiting) = match status {
        SyncStatus::Online { waiting, .. } => ("online", *waiting),
        SyncStatus::Offline { waiting, .. } => ("offline", *waiting),
        SyncStatus::Refused { waiting, .. } => ("refused", *waiting),
    };
    Event::Sync { status, waiting }
}

/// Reads stdin on a thread of its own (a blocking read must not hold up
/// the runtime's shutdown): numbered lines, until the input ends.
pub fn spawn_stdin_reader() -> mpsc::UnboundedReceiver<(usize, String)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let spawned = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for (index, line) in std::io::stdin().lines().enumerate() {
                let Ok(line) = line else { break };
                if tx.send((index + 1, line)).is_err() {
                    break;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the stdin reader");
    }
    rx
}

#[cfg(test)]
mod tests {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    use super::*;

    #[test]
    fn commands_parse_and_mistakes_say_what() {
        assert_eq!(
            parse_command("tap 04 a1 b2 c3"),
            Ok(Command::Tap(CardUid::parse("04A1B2C3").unwrap()))
        );
        assert_eq!(
            parse_command("  key enter "),
            Ok(Command::Key(Key::plain(KeyCode::Enter)))
        );
        assert_eq!(
            parse_command("key ctrl-q"),
            Ok(Command::Key(Key {
                code: KeyCode::Char('q'),
                modifiers: KeyModifiers::CONTROL
            }))
        );
        assert_eq!(parse_command("quit"), Ok(Command::Quit));
        assert_eq!(parse_command("# a comment"), Ok(Command::Nothing));
        assert_eq!(parse_command(""), Ok(Command::Nothing));
        assert!(
            parse_command("tap 12")
                .unwrap_err()
                .contains("not a card UID")
        );
        assert!(
            parse_command("key nokey")
                .unwrap_err()
                .contains("not a key")
        );
        assert!(
            parse_command("dance")
                .unwrap_err()
                .contains("expected `tap UID`")
        );
        assert!(parse_command("quit now").is_err());
    }

    #[test]
    fn events_are_one_json_object_a_line() {
        let mut out = Vec::new();
        write_event(
            &mut out,
            &Event::Paid {
                sale: None,
                child: "Noah".into(),
                total: Money::kroner(12),
                balance: Money::kroner(88),
            },
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"event\":\"paid\",\"sale\":null,\"child\":\"Noah\",\"total\":\"12.00\",\"balance\":\"88.00\"}\n"
        );
    }

    /// A finished staff task is told in the counter's words, as before
    /// the outcomes were values: what a driving program reads is the same.
    #[test]
    fn staff_outcomes_are_told_in_words() {
        use crate::action::{StaffFailure, StaffOutcome};
        let keymap = crate::keymap::Keymap::load(None).unwrap();
        let settings = crate::ui::Settings {
            counter: "Testklubben".into(),
            language: crate::i18n::Language::DA,
            connection: klubkasse_core::domain::Connection::Standalone,
            offline_allowance: Money::ZERO,
            sale_timeout: std::time::Duration::from_secs(60),
            result_time: std::time::Duration::from_secs(4),
            has_pin: true,
            theme: Default::default(),
            big_text: Default::default(),
        };
        let app = App::new(
            settings,
            crate::config::Menu::sample(&keymap).unwrap(),
            keymap,
            crate::reader::DemoCards::default(),
            klubkasse_core::domain::PinGuard::default(),
            chrono::Utc::now(),
        );
        let told = |outcome| {
            let action = Action::StaffDone(outcome);
            Seen::of(&app, &action).outcome(&app)
        };
        assert_eq!(
            told(StaffOutcome::ChildAdded {
                name: "Æble Åsen".into()
            }),
            Some(Event::Staff {
                ok: true,
                message: "Æble Åsen er tilføjet.".into()
            })
        );
        assert_eq!(
            told(StaffOutcome::Failed(StaffFailure::Store(
                "disk full".into()
            ))),
            Some(Event::Staff {
                ok: false,
                message: "Fejl: disk full".into()
            })
        );
    }
}
