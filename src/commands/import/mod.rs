//! `klubkasse import-children`: children and their cards from a CSV file.
//!
//! The whole file is checked before anything is written, so a file with a
//! mistake on line 40 does not leave 39 children behind. The card UID is
//! what identifies a child: a row whose card the store knows updates that
//! card's owner, any other row adds a new child.
//!
//! Columns (header row required, any order, names case-insensitive, in
//! English or Danish):
//!
//! | column | Danish | | |
//! | --- | --- | --- | --- |
//! | `name` | `navn` | required | non-empty |
//! | `card_uid` | `kort` | required | hex, 4, 7 or 10 bytes |
//! | `opening_balance` | `saldo` | optional | kroner ≥ 0, paid in for new children only |
//! | `daily_limit` | `dagsgrænse` | optional | kroner ≥ 0, empty = no limit |
//! | `blocked_categories` | `spærrede_kategorier` | optional | separated by `;` or `|` |
//! | `note` | `note` | optional | shown to staff at the counter |
//! | `card_state` | `kortstatus` | optional | `active`/`aktiv` or `blocked`/`spærret`; empty = leave as is |
//!
//! An optional column left out of the file leaves that field of an existing
//! child as it is; present but empty clears it. What Danish Excel saves is
//! read as it is: Windows-1252 or UTF-8 (with or without a byte-order
//! mark), `;`, `,` or tab between cells (the header's decides), amounts
//! like `1.000,00` (see [`klubkasse_core::sheet`], shared with the
//! ledger's import). What the import says is
//! in the language asked for (`[import]` in `assets/i18n/`).

mod rows;
mod words;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::store::{Store, StoreError};
use klubkasse_core::domain::{CardState, CardUid, Child, ChildId, Money};
use klubkasse_core::i18n::Language;
use klubkasse_core::sheet::{self, Column, Sheet, SheetError};

pub use self::words::Fault;
use self::words::say;

/// The demo children, also a sample of the import format.
pub const DEMO_CHILDREN_CSV: &str = include_str!("../../../assets/demo-children.csv");

/// The counter name on the opening-balance deposits of the demo children.
const DEMO_COUNTER: &str = "demo";

const NAME: &str = "name";
const CARD_UID: &str = "card_uid";
const OPENING_BALANCE: &str = "opening_balance";
const DAILY_LIMIT: &str = "daily_limit";
const BLOCKED_CATEGORIES: &str = "blocked_categories";
const NOTE: &str = "note";
const CARD_STATE: &str = "card_state";

/// Every column the file may have, in the order the sample file uses,
/// with its Danish name and other names people give it.
pub const COLUMNS: [Column; 7] = [
    Column::new(NAME, "navn", &["barn", "child", "barnets_navn"], true),
    Column::new(
        CARD_UID,
        "kort",
        &["kort_uid", "kortnummer", "card", "uid"],
        true,
    ),
    Column::new(OPENING_BALANCE, "saldo", &["startsaldo", "balance"], false),
    Column::new(DAILY_LIMIT, "dagsgrænse", &["grænse", "limit"], false),
    Column::new(
        BLOCKED_CATEGORIES,
        "spærrede_kategorier",
        &["spærret_for", "blocked"],
        false,
    ),
    Column::new(NOTE, "note", &["bemærkning", "notat"], false),
    Column::new(CARD_STATE, "kortstatus", &["status", "state"], false),
];

/// One checked row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRow {
    /// Where the row starts in the file (the header is line 1).
    pub line: u64,
    pub name: String,
    pub card_uid: CardUid,
    /// Paid in for a new child; never for one the store already has.
    pub opening_balance: Money,
    pub daily_limit: Option<Money>,
    /// Lower case, no empties.
    pub blocked_categories: Vec<String>,
    pub note: Option<String>,
    /// `None`: the cell was empty or the column left out. A new card is then
    /// active and an existing card keeps its state, so a lost card is never
    /// unblocked by accident.
    pub card_state: Option<CardState>,
    /// Which optional columns the file has: those it lacks are left as they
    /// are on an existing child.
    pub given: GivenColumns,
}

/// Which optional columns a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GivenColumns {
    pub daily_limit: bool,
    pub blocked_categories: bool,
    pub note: bool,
}

/// One thing wrong in the file, with where it is.
pub type Problem = sheet::Problem<Fault>;

/// Why a file cannot be imported. Shown in Danish; [`ImportError::message`]
/// says it in another language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// Every problem in the file, not just the first, so that one round of
    /// fixing is enough.
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
    Empty {
        file: String,
    },
    Unreadable {
        file: String,
        detail: String,
    },
    CannotOpen {
        file: String,
        /// Said in words for the usual kinds; the system's words otherwise.
        kind: std::io::ErrorKind,
        detail: String,
    },
}

impl std::error::Error for ImportError {}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Language::DA))
    }
}

impl ImportError {
    /// The problems, if the error is about the file's content.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ImportError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }

    /// The error in `language`.
    pub fn message(&self, language: Language) -> String {
        match self {
            ImportError::Invalid { file, problems } => list_problems(language, file, problems),
            ImportError::Empty { file } => SheetError::Empty.message(language, file, &COLUMNS),
            ImportError::Unreadable { file, detail } => SheetError::Unreadable {
                detail: detail.clone(),
            }
            .message(language, file, &COLUMNS),
            ImportError::CannotOpen { file, kind, detail } => {
                let key = match kind {
                    std::io::ErrorKind::NotFound => "no_such_file",
                    std::io::ErrorKind::IsADirectory => "a_folder",
                    std::io::ErrorKind::PermissionDenied => "no_permission",
                    _ => "cannot_open",
                };
                say(language, key, &[("file", file), ("detail", detail)])
            }
        }
    }
}

fn problem_line(language: Language, file: &str, p: &Problem) -> String {
    p.message(language, file, &p.fault.text(language))
}

fn list_problems(language: Language, file: &str, problems: &[Problem]) -> String {
    match problems {
        [one] => format!(
            "{}\n{}",
            problem_line(language, file, one),
            say(language, "nothing_imported", &[])
        ),
        many => {
            let mut out = say(
                language,
                "problems",
                &[("count", &many.len().to_string()), ("file", file)],
            );
            for p in many {
                out.push_str("\n  ");
                out.push_str(&problem_line(language, file, p));
            }
            out
        }
    }
}

/// Reads a children file as text, in the character set it was saved in.
pub fn read_children_file(path: &Path) -> Result<String, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::CannotOpen {
        file: path.display().to_string(),
        kind: e.kind(),
        detail: e.to_string(),
    })?;
    Ok(sheet::decode(&bytes))
}

/// Reads and checks every row; the first problem does not stop the check.
pub fn parse_children_csv(text: &str, source: &Path) -> Result<Vec<ChildRow>, ImportError> {
    let file = source.display().to_string();
    let sheet = Sheet::read(text, &COLUMNS).map_err(|e| match e {
        SheetError::Empty => ImportError::Empty { file: file.clone() },
        SheetError::Unreadable { detail } => ImportError::Unreadable {
            file: file.clone(),
            detail,
        },
        // Cells cannot be read against a header that is wrong.
        SheetError::Header(problems) => ImportError::Invalid {
            file: file.clone(),
            problems: problems.into_iter().map(|p| p.map(Fault::Sheet)).collect(),
        },
    })?;
    let given = GivenColumns {
        daily_limit: sheet.has(DAILY_LIMIT),
        blocked_categories: sheet.has(BLOCKED_CATEGORIES),
        note: sheet.has(NOTE),
    };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut first_line_of: HashMap<CardUid, u64> = HashMap::new();
    for record in sheet.rows() {
        let record = match record {
            Ok(record) => record,
            Err(problem) => {
                problems.push(problem.map(Fault::Sheet));
                continue;
            }
        };
        match rows::row(&record, given, &mut first_line_of) {
            Ok(row) => rows.push(row),
            Err(mut row_problems) => problems.append(&mut row_problems),
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(ImportError::Invalid { file, problems })
    }
}

/// An opening balance that was not paid in, because the child was there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredBalance {
    pub line: u64,
    pub name: String,
    pub card_uid: CardUid,
    pub amount: Money,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub added: usize,
    /// Existing children (or cards) that the file changed.
    pub updated: usize,
    /// Existing children the file names exactly as they are.
    pub unchanged: usize,
    /// Money must never change silently: a non-zero opening balance for an
    /// existing child is not paid in again, and said so here.
    pub opening_balances_ignored: Vec<IgnoredBalance>,
}

impl ImportSummary {
    /// What the import did, in `language`.
    pub fn message(&self, language: Language) -> String {
        let mut out = say(
            language,
            "summary",
            &[
                ("added", &self.added.to_string()),
                ("updated", &self.updated.to_string()),
            ],
        );
        if self.unchanged > 0 {
            out.push_str(&say(
                language,
                "summary_unchanged",
                &[("count", &self.unchanged.to_string())],
            ));
        }
        if !self.opening_balances_ignored.is_empty() {
            out.push_str(&say(
                language,
                "summary_not_paid_in",
                &[("count", &self.opening_balances_ignored.len().to_string())],
            ));
            for ignored in &self.opening_balances_ignored {
                out.push_str("\n  ");
                out.push_str(&say(
                    language,
                    "summary_not_paid_in_line",
                    &[
                        ("line", &ignored.line.to_string()),
                        ("name", &ignored.name),
                        ("uid", &ignored.card_uid.to_string()),
                        ("amount", &ignored.amount.to_string()),
                    ],
                ));
            }
        }
        out
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Language::DA))
    }
}

/// Writes checked rows to the store. Parse with [`parse_children_csv`]
/// first: this only fails on the store itself (e.g. a full disk).
pub fn import_children(
    store: &Store,
    rows: &[ChildRow],
    counter: &str,
    now: DateTime<Utc>,
) -> Result<ImportSummary, StoreError> {
    let mut summary = ImportSummary::default();
    for row in rows {
        match store.card(&row.card_uid)? {
            Some(card) => {
                let Some(existing) = store.child(card.child)? else {
                    return Err(StoreError::Corrupt {
                        what: format!("card {}", row.card_uid),
                        detail: format!("it belongs to child {}, who is not stored", card.child),
                    });
                };
                let mut child = existing.clone();
                child.name = row.name.clone();
                if row.given.daily_limit {
                    child.daily_limit = row.daily_limit;
                }
                if row.given.blocked_categories {
                    child.blocked_categories = row.blocked_categories.clone();
                }
                if row.given.note {
                    child.note = row.note.clone();
                }
                let mut changed = false;
                if child != existing {
                    store.put_child(&child)?;
                    changed = true;
                }
                if let Some(state) = row.card_state
                    && state != card.state
                {
                    store.set_card_state(&row.card_uid, state, false)?;
                    changed = true;
                }
                if changed {
                    summary.updated += 1;
                } else {
                    summary.unchanged += 1;
                }
                if row.opening_balance != Money::ZERO {
                    summary.opening_balances_ignored.push(IgnoredBalance {
                        line: row.line,
                        name: child.name,
                        card_uid: row.card_uid.clone(),
                        amount: row.opening_balance,
                    });
                }
            }
            None => {
                let child = Child {
                    id: ChildId::new(),
                    name: row.name.clone(),
                    daily_limit: row.daily_limit,
                    blocked_categories: row.blocked_categories.clone(),
                    note: row.note.clone(),
                };
                // Card before money: were the deposit lost to a crash, a
                // second import finds the card and says the balance was
                // not paid in, instead of making a second child.
                store.put_child(&child)?;
                store.bind_card(&row.card_uid, child.id, false)?;
                if row.card_state == Some(CardState::Blocked) {
                    store.set_card_state(&row.card_uid, CardState::Blocked, false)?;
                }
                if row.opening_balance.is_positive() {
                    store.opening_balance(child.id, row.opening_balance, counter, now)?;
                }
                summary.added += 1;
            }
        }
    }
    Ok(summary)
}

/// Why [`import_children_csv`] or [`seed_demo`] did nothing, or not all.
#[derive(Debug, thiserror::Error)]
pub enum ImportRunError {
    /// A child only the counter knew would hold back every sale it sends.
    #[error("{}", say(Language::DA, "connected", &[]))]
    Connected,
    #[error(transparent)]
    Invalid(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportRunError {
    /// The error in `language` (the store's own errors are in English).
    pub fn message(&self, language: Language) -> String {
        match self {
            ImportRunError::Connected => say(language, "connected", &[]),
            ImportRunError::Invalid(e) => e.message(language),
            ImportRunError::Store(e) => e.to_string(),
        }
    }
}

/// Refuses a connected counter's store, whose children come from the
/// ledger: one whose config names a ledger (`configured_ledger`), or one
/// that has pulled from a ledger (for a store named by its folder alone).
fn refuse_if_connected(store: &Store, configured_ledger: bool) -> Result<(), ImportRunError> {
    if configured_ledger || store.sync_cursor()? > 0 {
        return Err(ImportRunError::Connected);
    }
    Ok(())
}

/// Checks the whole text, then writes it: the one call for the command.
pub fn import_children_csv(
    store: &Store,
    text: &str,
    source: &Path,
    counter: &str,
    now: DateTime<Utc>,
) -> Result<ImportSummary, ImportRunError> {
    let rows = parse_children_csv(text, source)?;
    Ok(import_children(store, &rows, counter, now)?)
}

/// `klubkasse import-children FILE`: reads and checks the whole file,
/// then opens the store in `data_dir` (never making one: a mistyped folder
/// is an error), refuses a connected counter's, and writes.
/// `configured_ledger`: the counter's config names a ledger.
pub fn import_children_file(
    path: &Path,
    data_dir: &Path,
    configured_ledger: bool,
    counter: &str,
    now: DateTime<Utc>,
) -> Result<ImportSummary, ImportRunError> {
    let text = read_children_file(path)?;
    let rows = parse_children_csv(&text, path)?;
    let store = Store::open_existing(data_dir)?;
    refuse_if_connected(&store, configured_ledger)?;
    Ok(import_children(&store, &rows, counter, now)?)
}

/// Puts the demo children in an empty store. `Ok(None)`: the store has
/// children already and is left alone, so a second start does not pay the
/// opening balances in twice.
pub fn seed_demo(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Option<ImportSummary>, ImportRunError> {
    if !store.children()?.is_empty() {
        return Ok(None);
    }
    let summary = import_children_csv(
        store,
        DEMO_CHILDREN_CSV,
        Path::new("demo-children.csv"),
        DEMO_COUNTER,
        now,
    )?;
    Ok(Some(summary))
}

#[cfg(test)]
mod tests;
