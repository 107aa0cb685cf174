//! The header line: which known column each field is, every problem
//! with it at once.

use std::collections::HashMap;

use super::words::Fault;
use super::{ALIASES, CARD_UID, NAME, Problem};

/// A label as people type it: `Card UID`, `card-uid` and `card_uid` are one.
fn normalise(label: &str) -> String {
    label.trim().to_lowercase().replace([' ', '-'], "_")
}

/// The known column a label names, in English, Danish or another usual name.
fn known(label: &str) -> Option<&'static str> {
    let label = normalise(label);
    ALIASES
        .iter()
        .find(|(column, danish, others)| {
            *column == label || *danish == label || others.contains(&label.as_str())
        })
        .map(|(column, _, _)| *column)
}

/// Where each known column is; or every problem of the header (unknown,
/// twice, a required one missing).
pub(super) fn columns(
    header: &csv::StringRecord,
    header_line: u64,
) -> Result<HashMap<&'static str, usize>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, raw) in header.iter().enumerate() {
        let header_problem = |fault| Problem {
            line: header_line,
            column: Some(raw.trim().to_string()),
            fault,
        };
        match known(raw) {
            None => problems.push(header_problem(Fault::UnknownColumn)),
            Some(column) if index.contains_key(column) => {
                problems.push(header_problem(Fault::ColumnTwice))
            }
            Some(column) => {
                index.insert(column, i);
            }
        }
    }
    for required in [NAME, CARD_UID] {
        if !index.contains_key(required) {
            problems.push(Problem {
                line: header_line,
                column: Some(required.into()),
                fault: Fault::ColumnMissing,
            });
        }
    }
    if problems.is_empty() {
        Ok(index)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::import::{BLOCKED_CATEGORIES, CARD_STATE, DAILY_LIMIT, OPENING_BALANCE};

    #[test]
    fn danish_and_english_names_in_any_case_and_spelling() {
        for (label, column) in [
            ("name", NAME),
            ("Navn", NAME),
            (" NAVN ", NAME),
            ("kort", CARD_UID),
            ("Card UID", CARD_UID),
            ("card-uid", CARD_UID),
            ("Kortnummer", CARD_UID),
            ("saldo", OPENING_BALANCE),
            ("Balance", OPENING_BALANCE),
            ("opening_balance", OPENING_BALANCE),
            ("Dagsgrænse", DAILY_LIMIT),
            ("Spærrede kategorier", BLOCKED_CATEGORIES),
            ("Kortstatus", CARD_STATE),
            ("Bemærkning", crate::commands::import::NOTE),
        ] {
            assert_eq!(known(label), Some(column), "{label}");
        }
        assert_eq!(known("farve"), None);
    }
}
