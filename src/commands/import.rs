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

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::store::{Store, StoreError};
use klubkasse_core::domain::{CardState, CardUid, Child, ChildId, Money};

/// The demo children, also a sample of the import format.
pub const DEMO_CHILDREN_CSV: &str = include_str!("../../assets/demo-children.csv");

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
    let mut problems = Vec::new();
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, raw) in header.iter().enumerate() {
        let label = raw.trim().to_lowercase();
        let header_problem = |what: String| Problem {
            line: header_line,
            column: Some(raw.trim().to_string()),
            what,
        };
        match COLUMNS.iter().find(|c| **c == label) {
            None => problems.push(header_problem(format!(
                "unknown column (the columns are {})",
                COLUMNS.join(", ")
            ))),
            Some(known) if index.contains_key(known) => {
                problems.push(header_problem("the column is there twice".into()))
            }
            Some(known) => {
                index.insert(known, i);
            }
        }
    }
    for required in [NAME, CARD_UID] {
        if !index.contains_key(required) {
            problems.push(Problem {
                line: header_line,
                column: Some(required.into()),
                what: "this column is required and missing".into(),
            });
        }
    }
    // Cells cannot be read against a header that is wrong.
    if !problems.is_empty() {
        return Err(ImportError::Invalid { file, problems });
    }

    let given = GivenColumns {
        daily_limit: index.contains_key(DAILY_LIMIT),
        blocked_categories: index.contains_key(BLOCKED_CATEGORIES),
        note: index.contains_key(NOTE),
    };
    let mut rows = Vec::new();
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
        let cell = |column: &str| index.get(column).and_then(|&i| record.get(i)).unwrap_or("");
        let mut row_problems = Vec::new();
        let mut wrong = |column: &str, what: String| {
            row_problems.push(Problem {
                line,
                column: Some(column.into()),
                what,
            });
        };

        let name = cell(NAME).trim().to_string();
        if name.is_empty() {
            wrong(NAME, "the name is empty".into());
        } else if name.chars().any(char::is_control) {
            // A line break in a name would break every table it is shown in.
            wrong(NAME, "the name has a line break or tab in it".into());
        }
        let uid_text = cell(CARD_UID).trim();
        let card_uid = if uid_text.is_empty() {
            wrong(CARD_UID, "the card UID is empty".into());
            None
        } else {
            match CardUid::parse(uid_text) {
                Ok(uid) => match first_line_of.get(&uid) {
                    Some(&earlier) => {
                        wrong(
                            CARD_UID,
                            format!("card {uid} is on line {earlier} too (one card, one child)"),
                        );
                        None
                    }
                    None => {
                        first_line_of.insert(uid.clone(), line);
                        Some(uid)
                    }
                },
                Err(e) => {
                    wrong(CARD_UID, e.to_string());
                    None
                }
            }
        };
        let mut amount = |column: &str| -> Option<Money> {
            let text = cell(column).trim();
            if text.is_empty() {
                return None;
            }
            match Money::parse(text) {
                Ok(m) if m.is_negative() => {
                    wrong(
                        column,
                        format!("«{text}» is negative; it must be 0 or more"),
                    );
                    None
                }
                Ok(m) => Some(m),
                Err(e) => {
                    wrong(column, e.to_string());
                    None
                }
            }
        };
        let opening_balance = amount(OPENING_BALANCE).unwrap_or(Money::ZERO);
        let daily_limit = amount(DAILY_LIMIT);
        let mut blocked_categories: Vec<String> = Vec::new();
        for category in cell(BLOCKED_CATEGORIES).split([';', '|']) {
            let category = category.trim().to_lowercase();
            if !category.is_empty() && !blocked_categories.contains(&category) {
                blocked_categories.push(category);
            }
        }
        let note = Some(cell(NOTE).trim().to_string()).filter(|n| !n.is_empty());
        let state_text = cell(CARD_STATE).trim();
        let card_state = match state_text.to_lowercase().as_str() {
            "" => None,
            "active" => Some(CardState::Active),
            "blocked" => Some(CardState::Blocked),
            _ => {
                wrong(
                    CARD_STATE,
                    format!("«{state_text}» is not a card state (active or blocked)"),
                );
                None
            }
        };

        match card_uid {
            Some(card_uid) if row_problems.is_empty() => rows.push(ChildRow {
                line,
                name,
                card_uid,
                opening_balance,
                daily_limit,
                blocked_categories,
                note,
                card_state,
                given,
            }),
            _ => problems.append(&mut row_problems),
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
                    store.deposit(child.id, row.opening_balance, counter, now)?;
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
    #[error(transparent)]
    Invalid(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// `klubkasse import-children FILE`: reads, checks, writes.
pub fn import_children_file(
    store: &Store,
    path: &Path,
    counter: &str,
    now: DateTime<Utc>,
) -> Result<ImportSummary, ImportRunError> {
    let text = read_children_file(path)?;
    import_children_csv(store, &text, path, counter, now)
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
mod tests {
    use super::*;
    use tempfile::TempDir;

    const FILE: &str = "children.csv";

    fn run(store: &Store, text: &str) -> Result<ImportSummary, ImportRunError> {
        import_children_csv(store, text, Path::new(FILE), "office", Utc::now())
    }

    fn uid(hex: &str) -> CardUid {
        CardUid::parse(hex).unwrap()
    }

    fn owner(store: &Store, hex: &str) -> (Child, klubkasse_core::domain::Card) {
        let card = store.card(&uid(hex)).unwrap().unwrap();
        (store.child(card.child).unwrap().unwrap(), card)
    }

    fn problems(text: &str) -> Vec<String> {
        let err = parse_children_csv(text, Path::new(FILE)).unwrap_err();
        err.problems()
            .iter()
            .map(|p| problem_line(FILE, p))
            .collect()
    }

    const GOOD: &str = "\
name,card_uid,opening_balance,daily_limit,blocked_categories,note,card_state
Freja Nielsen,04A1B2C3,250.00,,,,active
  Søren Ærø  ,04:11:22:33:44:55:66,\"42,50\",20,Slik; Sodavand |,Nøddeallergi,
Ida Jensen,04c3d4e5,,,,,blocked
";

    #[test]
    fn good_file_adds_children_cards_and_balances() {
        let tmp = TempDir::new().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let summary = run(&store, GOOD).unwrap();
        assert_eq!(summary.added, 3);
        assert_eq!(summary.to_string(), "3 added, 0 updated");

        let (freja, card) = owner(&store, "04A1B2C3");
        assert_eq!(freja.name, "Freja Nielsen");
        assert_eq!(card.state, CardState::Active);
        assert_eq!(store.balance(freja.id).unwrap(), Money::kroner(250));

        let (soren, _) = owner(&store, "04112233445566");
        assert_eq!(soren.name, "Søren Ærø");
        assert_eq!(store.balance(soren.id).unwrap(), Money::from_ore(4250));
        assert_eq!(soren.daily_limit, Some(Money::kroner(20)));
        assert_eq!(soren.blocked_categories, vec!["slik", "sodavand"]);
        assert_eq!(soren.note.as_deref(), Some("Nøddeallergi"));

        let (ida, card) = owner(&store, "04C3D4E5");
        assert_eq!(card.state, CardState::Blocked);
        assert_eq!(store.balance(ida.id).unwrap(), Money::ZERO);
        // Only the two opening balances are entries; a zero is no deposit.
        assert_eq!(store.all_entries().unwrap().len(), 2);
        assert!(store.balance_mismatches().unwrap().is_empty());
    }

    #[test]
    fn semicolon_file_from_a_danish_spreadsheet() {
        let text = "\u{feff}Name;Card_UID;Opening_Balance\r\nAlma;04E5F6A7;1.234,50\r\n";
        let rows = parse_children_csv(text, Path::new(FILE));
        // "1.234,50" is a thousands dot: refused, not read as 1,23450 kr.
        assert_eq!(
            problems(text),
            vec![
                "children.csv line 2, column opening_balance: «1.234,50» is not an amount (write kroner like \"12.50\")"
            ]
        );
        assert!(rows.is_err());
        let rows = parse_children_csv(
            "Name;Card_UID;Opening_Balance\nAlma;04E5F6A7;1234,50\n",
            Path::new(FILE),
        )
        .unwrap();
        assert_eq!(rows[0].opening_balance, Money::from_ore(123450));
        assert_eq!(rows[0].name, "Alma");
    }

    #[test]
    fn each_kind_of_mistake_names_line_and_column() {
        let header = "name,card_uid,opening_balance\n";
        let cases = [
            (
                "Freja,04A1B2C3,10\nBo,NOTAUID,5\n",
                "children.csv line 3, column card_uid: «NOTAUID» is not a card UID (4, 7 or 10 bytes in hex, e.g. 04A1B2C3)",
            ),
            (
                "Freja,04A1B2C3,10\nBo,04B2C3D4,5\nIda,04C3D4E5,12.005\n",
                "children.csv line 4, column opening_balance: «12.005» has more than two decimals (øre is the smallest unit)",
            ),
            (
                "  ,04A1B2C3,10\n",
                "children.csv line 2, column name: the name is empty",
            ),
            (
                "Freja,,10\n",
                "children.csv line 2, column card_uid: the card UID is empty",
            ),
            (
                "Freja,04A1B2C3,-5\n",
                "children.csv line 2, column opening_balance: «-5» is negative; it must be 0 or more",
            ),
            (
                "Freja,04A1B2C3,10\nBo,04 a1 b2 c3,5\n",
                "children.csv line 3, column card_uid: card 04A1B2C3 is on line 2 too (one card, one child)",
            ),
            (
                "Freja,04A1B2C3\n",
                "children.csv line 2: 2 fields, but the header has 3",
            ),
        ];
        for (body, expected) in cases {
            let text = format!("{header}{body}");
            assert_eq!(problems(&text), vec![expected.to_string()], "{body}");
            // Windows line ends give the same line numbers.
            let crlf = text.replace('\n', "\r\n");
            assert_eq!(problems(&crlf), vec![expected.to_string()], "{body}");
            // The binary's path: nothing at all reaches the store.
            let tmp = TempDir::new().unwrap();
            let store = Store::open(tmp.path()).unwrap();
            assert!(matches!(
                run(&store, &text),
                Err(ImportRunError::Invalid(_))
            ));
            assert!(store.children().unwrap().is_empty());
            assert!(store.cards().unwrap().is_empty());
            assert!(store.all_entries().unwrap().is_empty());
        }
    }

    #[test]
    fn file_on_disk_latin1_and_control_characters() {
        let tmp = TempDir::new().unwrap();
        let store = Store::open(&tmp.path().join("data")).unwrap();
        let path = tmp.path().join("children.csv");
        std::fs::write(&path, "name,card_uid\nS\u{f8}ren,04A1B2C3\n").unwrap();
        let summary = import_children_file(&store, &path, "office", Utc::now()).unwrap();
        assert_eq!(summary.added, 1);
        // "Søren" saved by a Danish Excel in Windows-1252.
        std::fs::write(&path, b"name,card_uid\nS\xf8ren,04B2C3D4\n").unwrap();
        let err = import_children_file(&store, &path, "office", Utc::now()).unwrap_err();
        assert!(err.to_string().contains("is not UTF-8 text"), "{err}");
        let missing = tmp.path().join("nope.csv");
        assert!(matches!(
            import_children_file(&store, &missing, "office", Utc::now()),
            Err(ImportRunError::Invalid(ImportError::CannotOpen { .. }))
        ));
        assert_eq!(
            problems("name,card_uid\n\"Bo\nBo\",04B2C3D4\n"),
            vec!["children.csv line 2, column name: the name has a line break or tab in it"]
        );
        assert_eq!(store.children().unwrap().len(), 1);
    }

    #[test]
    fn header_mistakes() {
        assert_eq!(
            problems("name,card_uid,balance\nFreja,04A1B2C3,5\n"),
            vec![
                "children.csv line 1, column balance: unknown column (the columns are name, card_uid, opening_balance, daily_limit, blocked_categories, note, card_state)"
            ]
        );
        assert_eq!(
            problems("name,note\nFreja,hi\n"),
            vec!["children.csv line 1, column card_uid: this column is required and missing"]
        );
        assert_eq!(
            problems("name,card_uid,Name\n"),
            vec!["children.csv line 1, column Name: the column is there twice"]
        );
        assert!(matches!(
            parse_children_csv(" \n", Path::new(FILE)),
            Err(ImportError::Empty { .. })
        ));
        // A header alone is a valid, empty file.
        assert_eq!(
            parse_children_csv("name,card_uid\n", Path::new(FILE)).unwrap(),
            vec![]
        );
    }

    #[test]
    fn every_bad_row_is_listed_and_nothing_is_written() {
        let text = "name,card_uid,opening_balance,daily_limit,card_state\n\
                    Freja,04A1B2C3,250,,active\n\
                    ,04B2C3D4,tolv,-1,lost\n\
                    Ida,04C3D4E5,80,,\n\
                    Bo,04A1B2C3,1,,\n";
        let tmp = TempDir::new().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let err = run(&store, text).unwrap_err();
        let shown = err.to_string();
        assert_eq!(
            shown,
            "5 problems in children.csv; nothing was imported:\n  \
             children.csv line 3, column name: the name is empty\n  \
             children.csv line 3, column opening_balance: «tolv» is not an amount (write kroner like \"12.50\")\n  \
             children.csv line 3, column daily_limit: «-1» is negative; it must be 0 or more\n  \
             children.csv line 3, column card_state: «lost» is not a card state (active or blocked)\n  \
             children.csv line 5, column card_uid: card 04A1B2C3 is on line 2 too (one card, one child)"
        );
        assert!(store.children().unwrap().is_empty());
        assert!(store.all_entries().unwrap().is_empty());
    }

    #[test]
    fn reimport_updates_without_paying_in_again() {
        let tmp = TempDir::new().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        run(&store, GOOD).unwrap();
        let entries_before = store.all_entries().unwrap().len();

        // Freja's card now names "Freja N." (the card identifies), Søren's
        // row is as before, Ida's card is unblocked on purpose.
        let again = "\
name,card_uid,opening_balance,daily_limit,blocked_categories,note,card_state
Freja N.,04A1B2C3,250.00,30,,,
  Søren Ærø  ,04:11:22:33:44:55:66,0,20,Slik; Sodavand |,Nøddeallergi,
Ida Jensen,04c3d4e5,,,,,active
Bo Nyholm,04B2C3D4,15,,,,
";
        let summary = run(&store, again).unwrap();
        assert_eq!(
            (summary.added, summary.updated, summary.unchanged),
            (1, 2, 1)
        );
        assert_eq!(
            summary.to_string(),
            "1 added, 2 updated, 1 unchanged; opening balance not paid in again for 1 existing child:\n  \
             line 2: Freja N. (04A1B2C3), 250,00 kr."
        );
        let (freja, _) = owner(&store, "04A1B2C3");
        assert_eq!(freja.name, "Freja N.");
        assert_eq!(freja.daily_limit, Some(Money::kroner(30)));
        assert_eq!(store.balance(freja.id).unwrap(), Money::kroner(250));
        assert_eq!(owner(&store, "04C3D4E5").1.state, CardState::Active);
        assert_eq!(store.children().unwrap().len(), 4);
        // Only Bo's opening balance is new.
        assert_eq!(store.all_entries().unwrap().len(), entries_before + 1);
        assert!(store.balance_mismatches().unwrap().is_empty());
    }

    #[test]
    fn columns_left_out_and_empty_state_keep_what_is_stored() {
        let tmp = TempDir::new().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        run(&store, GOOD).unwrap();
        // A bare roster must not wipe limits or unblock a lost card.
        let summary = run(
            &store,
            "name,card_uid,card_state\nSøren Ærø,04112233445566,\nIda Jensen,04C3D4E5,\n",
        )
        .unwrap();
        assert_eq!((summary.updated, summary.unchanged), (0, 2));
        let (soren, _) = owner(&store, "04112233445566");
        assert_eq!(soren.daily_limit, Some(Money::kroner(20)));
        assert_eq!(soren.blocked_categories, vec!["slik", "sodavand"]);
        assert_eq!(soren.note.as_deref(), Some("Nøddeallergi"));
        assert_eq!(owner(&store, "04C3D4E5").1.state, CardState::Blocked);
        // Present but empty clears.
        run(
            &store,
            "name,card_uid,daily_limit,note\nSøren Ærø,04112233445566,,\n",
        )
        .unwrap();
        let (soren, _) = owner(&store, "04112233445566");
        assert_eq!((soren.daily_limit, soren.note), (None, None));
    }

    #[test]
    fn demo_seed_once() {
        let tmp = TempDir::new().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let summary = seed_demo(&store, Utc::now()).unwrap().unwrap();
        assert_eq!(summary.added, 8);
        assert_eq!(store.children().unwrap().len(), 8);

        // Every balance and state as the CSV says, read with the csv crate
        // independently of the importer.
        let mut reader = csv::Reader::from_reader(DEMO_CHILDREN_CSV.as_bytes());
        let mut blocked = 0;
        for record in reader.records() {
            let record = record.unwrap();
            let (child, card) = owner(&store, &record[1]);
            assert_eq!(child.name, &record[0]);
            assert_eq!(
                store.balance(child.id).unwrap(),
                Money::parse(&record[2]).unwrap()
            );
            let state = if &record[6] == "blocked" {
                CardState::Blocked
            } else {
                CardState::Active
            };
            assert_eq!(card.state, state);
            blocked += usize::from(state == CardState::Blocked);
        }
        assert_eq!(blocked, 1);
        assert_eq!(owner(&store, "04C3D4E5").0.name, "Ida Jensen");
        assert_eq!(
            owner(&store, "04D4E5F6").0.daily_limit,
            Some(Money::kroner(20))
        );
        assert_eq!(owner(&store, "04E5F6A7").0.blocked_categories, vec!["slik"]);

        let entries = store.all_entries().unwrap().len();
        assert_eq!(seed_demo(&store, Utc::now()).unwrap(), None);
        assert_eq!(store.children().unwrap().len(), 8);
        assert_eq!(store.all_entries().unwrap().len(), entries);
        assert!(store.balance_mismatches().unwrap().is_empty());
    }
}
