//! A spreadsheet's CSV as people save it, for every import (the counter's
//! `import-children`, the ledger's): the bytes decoded in the character set
//! they were saved in ([`decode`]), the separator the header uses, the
//! header's names read by their English, Danish or other usual names
//! ([`Column`]), amounts ([`read_amount`]) and dates ([`read_date`]) as
//! Danish Excel writes them, and every mistake with its line ([`Problem`]).
//! What a row means is the importer's; no I/O here.

mod amount;
mod date;
mod text;

use std::collections::HashMap;

use crate::i18n::{Language, fill};

pub use self::amount::{AmountFault, read_amount};
pub use self::date::{DateFault, read_date};
pub use self::text::{decode, separator};

/// A column an import knows: its name in the file format (English), its
/// Danish name and other names people give it (normalised: lower case,
/// `_` for spaces and dashes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub key: &'static str,
    pub danish: &'static str,
    pub others: &'static [&'static str],
    pub required: bool,
}

impl Column {
    /// A column of a file: the key is also its English name; `others` are
    /// more names it is known by.
    pub const fn new(
        key: &'static str,
        danish: &'static str,
        others: &'static [&'static str],
        required: bool,
    ) -> Column {
        Column {
            key,
            danish,
            others,
            required,
        }
    }

    /// The column's name as `language` calls it: the Danish name in
    /// Danish, the file format's (English) name otherwise.
    pub fn name(&self, language: Language) -> &'static str {
        if language == Language::DA {
            self.danish
        } else {
            self.key
        }
    }
}

/// A label as people type it: `Card UID`, `card-uid` and `card_uid` are one.
fn normalise(label: &str) -> String {
    label.trim().to_lowercase().replace([' ', '-'], "_")
}

/// The known column a label names, in English, Danish or another usual name.
pub fn known(columns: &[Column], label: &str) -> Option<&'static str> {
    let label = normalise(label);
    columns
        .iter()
        .find(|c| c.key == label || c.danish == label || c.others.contains(&label.as_str()))
        .map(|c| c.key)
}

/// The columns a file may have, in `language`.
pub fn column_list(language: Language, columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| c.name(language))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is wrong with the sheet as a sheet, whatever its rows mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetFault {
    UnknownColumn,
    ColumnTwice,
    ColumnMissing,
    FieldCount { got: usize, want: usize },
}

impl SheetFault {
    /// The fault in `language`; `columns` are the ones the file may have.
    pub fn text(&self, language: Language, columns: &[Column]) -> String {
        match self {
            SheetFault::UnknownColumn => say(
                language,
                "unknown_column",
                &[("columns", &column_list(language, columns))],
            ),
            SheetFault::ColumnTwice => say(language, "column_twice", &[]),
            SheetFault::ColumnMissing => say(language, "column_missing", &[]),
            SheetFault::FieldCount { got, want } => say(
                language,
                "field_count",
                &[("got", &got.to_string()), ("want", &want.to_string())],
            ),
        }
    }
}

/// One thing wrong in the file, with where it is; `F` is the importer's
/// kind of fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem<F> {
    /// The header is line 1 (or where it is, after empty lines).
    pub line: u64,
    /// The column as the file's header names it; `None` when the problem
    /// is the whole line (e.g. too many fields).
    pub column: Option<String>,
    pub fault: F,
}

impl<F> Problem<F> {
    /// The same problem with the importer's kind of fault.
    pub fn map<G>(self, f: impl FnOnce(F) -> G) -> Problem<G> {
        Problem {
            line: self.line,
            column: self.column,
            fault: f(self.fault),
        }
    }

    /// `file line 3, column saldo: what`, in `language`; `what` is the
    /// fault in words.
    pub fn message(&self, language: Language, file: &str, what: &str) -> String {
        let line = self.line.to_string();
        match &self.column {
            Some(column) => say(
                language,
                "at_column",
                &[
                    ("file", file),
                    ("line", &line),
                    ("column", column),
                    ("what", what),
                ],
            ),
            None => say(
                language,
                "at_line",
                &[("file", file), ("line", &line), ("what", what)],
            ),
        }
    }
}

/// Why a text is not a sheet to read rows from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    /// Not even a header line.
    #[error("the file is empty")]
    Empty,
    #[error("not readable as CSV: {detail}")]
    Unreadable { detail: String },
    /// Every problem of the header at once; its cells cannot be read.
    #[error("{} problems in the header", .0.len())]
    Header(Vec<Problem<SheetFault>>),
}

impl SheetError {
    /// The error in `language` for a file called `file`; the header's
    /// problems one a line.
    pub fn message(&self, language: Language, file: &str, columns: &[Column]) -> String {
        match self {
            SheetError::Empty => say(
                language,
                "empty",
                &[("file", file), ("columns", &column_list(language, columns))],
            ),
            SheetError::Unreadable { detail } => say(
                language,
                "unreadable",
                &[("file", file), ("detail", detail)],
            ),
            SheetError::Header(problems) => problems
                .iter()
                .map(|p| p.message(language, file, &p.fault.text(language, columns)))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// A sheet whose header names known columns; its rows not yet read.
#[derive(Debug, Clone)]
pub struct Sheet {
    header: csv::StringRecord,
    header_line: u64,
    index: HashMap<&'static str, usize>,
    records: Vec<csv::StringRecord>,
}

/// One line of a [`Sheet`] with as many fields as the header.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    sheet: &'a Sheet,
    record: &'a csv::StringRecord,
    pub line: u64,
}

impl Sheet {
    /// Reads `text` (see [`decode`] for bytes): the separator is the
    /// header's, every label must name one of `columns` once, and every
    /// required column must be there.
    pub fn read(text: &str, columns: &[Column]) -> Result<Sheet, SheetError> {
        // Spreadsheets like to start a UTF-8 file with a byte-order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // The csv crate counts a record after a CRLF as starting on the
        // line before; Windows files would get every line number wrong.
        let text = text.replace("\r\n", "\n");
        let Some(first_line) = text.lines().find(|l| !l.trim().is_empty()) else {
            return Err(SheetError::Empty);
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(separator(first_line))
            // Rows with the wrong number of fields are reported with the others.
            .flexible(true)
            .from_reader(text.as_bytes());
        let unreadable = |e: csv::Error| SheetError::Unreadable {
            detail: e.to_string(),
        };
        let header = reader.headers().map_err(unreadable)?.clone();
        let header_line = header.position().map_or(1, csv::Position::line);
        let mut problems = Vec::new();
        let mut index: HashMap<&'static str, usize> = HashMap::new();
        for (i, raw) in header.iter().enumerate() {
            let problem = |fault| Problem {
                line: header_line,
                column: Some(raw.trim().to_string()),
                fault,
            };
            match known(columns, raw) {
                None => problems.push(problem(SheetFault::UnknownColumn)),
                Some(key) if index.contains_key(key) => {
                    problems.push(problem(SheetFault::ColumnTwice))
                }
                Some(key) => {
                    index.insert(key, i);
                }
            }
        }
        for required in columns.iter().filter(|c| c.required) {
            if !index.contains_key(required.key) {
                problems.push(Problem {
                    line: header_line,
                    column: Some(required.key.into()),
                    fault: SheetFault::ColumnMissing,
                });
            }
        }
        if !problems.is_empty() {
            return Err(SheetError::Header(problems));
        }
        let records = reader
            .records()
            .collect::<Result<Vec<_>, _>>()
            .map_err(unreadable)?;
        Ok(Sheet {
            header,
            header_line,
            index,
            records,
        })
    }

    /// Where the header is: line 1, or later after empty lines.
    pub fn header_line(&self) -> u64 {
        self.header_line
    }

    /// Whether the file has the column `key`.
    pub fn has(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Every line after the header, or the problem that its number of
    /// fields is not the header's.
    pub fn rows(&self) -> impl Iterator<Item = Result<Row<'_>, Problem<SheetFault>>> {
        self.records.iter().map(move |record| {
            let line = record.position().map_or(0, csv::Position::line);
            if record.len() == self.header.len() {
                Ok(Row {
                    sheet: self,
                    record,
                    line,
                })
            } else {
                Err(Problem {
                    line,
                    column: None,
                    fault: SheetFault::FieldCount {
                        got: record.len(),
                        want: self.header.len(),
                    },
                })
            }
        })
    }
}

impl Row<'_> {
    /// The cell of column `key`, trimmed; empty when the file lacks it.
    pub fn cell(&self, key: &str) -> &str {
        self.sheet
            .index
            .get(key)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }

    /// A problem with the cell of column `key`, named as the header names it.
    pub fn problem<F>(&self, key: &str, fault: F) -> Problem<F> {
        let label = self
            .sheet
            .index
            .get(key)
            .and_then(|&i| self.sheet.header.get(i))
            .unwrap_or(key);
        Problem {
            line: self.line,
            column: Some(label.trim().to_string()),
            fault,
        }
    }
}

/// The text under `sheet.KEY`, filled; Danish where the language has none.
fn say(language: Language, key: &str, values: &[(&str, &str)]) -> String {
    let key = format!("sheet.{key}");
    let template = language
        .text(&key)
        .or_else(|| Language::DA.text(&key))
        .unwrap_or(&key);
    fill(template, values)
}

#[cfg(test)]
mod tests;
