//! `klubkasse import-children`: children and their cards from a CSV file.
//!
//! The whole file is checked before anything is written, so a file with a
//! mistake on line 40 does not leave 39 children behind. The card UID is
//! what identifies a child: a row whose card the store knows updates that
//! card's owner, any other row adds a new child.
//!
//! Columns (header row required, any order, names case-insensitive):
//!
//! | column | | |
//! | --- | --- | --- |
//! | `name` | required | non-empty |
//! | `card_uid` | required | hex, 4, 7 or 10 bytes |
//! | `opening_balance` | optional | kroner ≥ 0, paid in for new children only |
//! | `daily_limit` | optional | kroner ≥ 0, empty = no limit |
//! | `blocked_categories` | optional | separated by `;` or `|` |
//! | `note` | optional | shown to staff at the counter |
//! | `card_state` | optional | `active` or `blocked`; empty = leave as is |
//!
//! An optional column left out of the file leaves that field of an existing
//! child as it is; present but empty clears it. Comma- or semicolon-separated
//! files are both read (Danish spreadsheets save with `;`).

mod header;
mod rows;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::store::{Store, StoreError};
use klubkasse_core::domain::{CardState, CardUid, Child, ChildId, Money};

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

/// Every column the file may have, in the order the sample file uses.
pub const COLUMNS: [&str; 7] = [
    NAME,
    CARD_UID,
    OPENING_BALANCE,
    DAILY_LIMIT,
    BLOCKED_CATEGORIES,
    NOTE,
    CARD_STATE,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    /// `None` when the problem is the whole line (e.g. too many fields).
    pub column: Option<String>,
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Every problem in the file, not just the first, so that one round of
    /// fixing is enough.
    #[error("{}", list_problems(.file, .problems))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
    #[error("{file}: the file is empty; the first line must name the columns ({})", COLUMNS.join(","))]
    Empty { file: String },
    #[error("{file}: not readable as CSV: {detail}")]
    Unreadable { file: String, detail: String },
    #[error("{file} cannot be read: {detail}")]
    CannotOpen { file: String, detail: String },
    #[error(
        "{file} is not UTF-8 text. In Excel, save it as «CSV UTF-8»; in LibreOffice, choose the character set Unicode (UTF-8)"
    )]
    NotUtf8 { file: String },
}

impl ImportError {
    /// The problems, if the error is about the file's content.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ImportError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn problem_line(file: &str, p: &Problem) -> String {
    match &p.column {
        Some(column) => format!("{file} line {}, column {column}: {}", p.line, p.what),
        None => format!("{file} line {}: {}", p.line, p.what),
    }
}

fn list_problems(file: &str, problems: &[Problem]) -> String {
    match problems {
        [one] => format!("{}\nNothing was imported.", problem_line(file, one)),
        many => {
            let mut out = format!("{} problems in {file}; nothing was imported:", many.len());
            for p in many {
                out.push_str("\n  ");
                out.push_str(&problem_line(file, p));
            }
            out
        }
    }
}

/// Reads a children file as text, with a plain word for the usual trouble:
/// spreadsheets that save in an old Windows character set.
pub fn read_children_file(path: &Path) -> Result<String, ImportError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| ImportError::CannotOpen {
        file: file.clone(),
        detail: e.to_string(),
    })?;
    String::from_utf8(bytes).map_err(|_| ImportError::NotUtf8 { file })
}

/// Reads and checks every row; the first problem does not stop the check.
pub fn parse_children_csv(text: &str, source: &Path) -> Result<Vec<ChildRow>, ImportError> {
    let file = source.display().to_string();
    // Spreadsheets like to start a UTF-8 file with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The csv crate counts a record after a CRLF as starting on the line
    // before; Windows files would get every line number wrong.
    let text = text.replace("\r\n", "\n");
    let Some(first_line) = text.lines().find(|l| !l.trim().is_empty()) else {
        return Err(ImportError::Empty { file });
    };
    let delimiter = if !first_line.contains(',') && first_line.contains(';') {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        // Rows with the wrong number of fields are reported with the others.
        .flexible(true)
        .from_reader(text.as_bytes());
    let unreadable = |e: csv::Error| ImportError::Unreadable {
        file: file.clone(),
        detail: e.to_string(),
    };

    let header = reader.headers().map_err(unreadable)?.clone();
    let header_line = header.position().map_or(1, csv::Position::line);
    // Cells cannot be read against a header that is wrong.
    let index = header::columns(&header, header_line).map_err(|problems| ImportError::Invalid {
        file: file.clone(),
        problems,
    })?;

    let given = GivenColumns {
        daily_limit: index.contains_key(DAILY_LIMIT),
        blocked_categories: index.contains_key(BLOCKED_CATEGORIES),
        note: index.contains_key(NOTE),
    };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut first_line_of: HashMap<CardUid, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(unreadable)?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != header.len() {
            problems.push(Problem {
                line,
                column: None,
                what: format!(
                    "{} fields, but the header has {}",
                    record.len(),
                    header.len()
                ),
            });
            continue;
        }
        match rows::row(&record, line, &index, given, &mut first_line_of) {
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

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} added, {} updated", self.added, self.updated)?;
        if self.unchanged > 0 {
            write!(f, ", {} unchanged", self.unchanged)?;
        }
        if !self.opening_balances_ignored.is_empty() {
            write!(
                f,
                "; opening balance not paid in again for {} existing {}:",
                self.opening_balances_ignored.len(),
                if self.opening_balances_ignored.len() == 1 {
                    "child"
                } else {
                    "children"
                }
            )?;
            for ignored in &self.opening_balances_ignored {
                write!(
                    f,
                    "\n  line {}: {} ({}), {}",
                    ignored.line, ignored.name, ignored.card_uid, ignored.amount
                )?;
            }
        }
        Ok(())
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
    #[error(
        "this counter is connected to a ledger: there the office enrols children, and they \
         reach the counter at its next pull (a child only the counter knew would hold back \
         every sale it sends). Nothing was imported."
    )]
    Connected,
    #[error(transparent)]
    Invalid(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
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
