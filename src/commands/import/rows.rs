//! One row: every cell checked, every problem of the row at once.

use std::collections::HashMap;

use klubkasse_core::domain::{CardState, CardUid, Money};
use klubkasse_core::sheet::{Row, read_amount};

use super::words::Fault;
use super::{
    BLOCKED_CATEGORIES, CARD_STATE, CARD_UID, ChildRow, DAILY_LIMIT, GivenColumns, NAME, NOTE,
    OPENING_BALANCE, Problem,
};

/// The child on `record`'s line; or its problems. `first_line_of`: where
/// each card was first seen in the file (one card, one child). Problems
/// name the column as the file's header does.
pub(super) fn row(
    record: &Row<'_>,
    given: GivenColumns,
    first_line_of: &mut HashMap<CardUid, u64>,
) -> Result<ChildRow, Vec<Problem>> {
    let line = record.line;
    let cell = |column: &str| record.cell(column);
    let mut row_problems = Vec::new();
    let mut wrong = |column: &str, fault: Fault| row_problems.push(record.problem(column, fault));

    let name = cell(NAME).trim().to_string();
    if name.is_empty() {
        wrong(NAME, Fault::NameEmpty);
    } else if name.chars().any(char::is_control) {
        // A line break in a name would break every table it is shown in.
        wrong(NAME, Fault::NameControl);
    }
    let uid_text = cell(CARD_UID).trim();
    let card_uid = if uid_text.is_empty() {
        wrong(CARD_UID, Fault::UidEmpty);
        None
    } else {
        match CardUid::parse(uid_text) {
            Ok(uid) => match first_line_of.get(&uid) {
                Some(&earlier) => {
                    wrong(
                        CARD_UID,
                        Fault::CardTwice {
                            uid: uid.to_string(),
                            earlier,
                        },
                    );
                    None
                }
                None => {
                    first_line_of.insert(uid.clone(), line);
                    Some(uid)
                }
            },
            Err(_) => {
                wrong(
                    CARD_UID,
                    Fault::UidInvalid {
                        text: uid_text.to_string(),
                    },
                );
                None
            }
        }
    };
    let mut amount = |column: &str| -> Option<Money> {
        let text = cell(column).trim();
        if text.is_empty() {
            return None;
        }
        let text = text.to_string();
        match read_amount(&text) {
            Ok(m) if m.is_negative() => {
                wrong(column, Fault::Negative { text });
                None
            }
            Ok(m) => Some(m),
            Err(fault) => {
                wrong(column, Fault::Amount { text, fault });
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
        "active" | "aktiv" | "aktivt" => Some(CardState::Active),
        "blocked" | "spærret" => Some(CardState::Blocked),
        _ => {
            wrong(
                CARD_STATE,
                Fault::CardState {
                    text: state_text.to_string(),
                },
            );
            None
        }
    };

    match card_uid {
        Some(card_uid) if row_problems.is_empty() => Ok(ChildRow {
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
        _ => Err(row_problems),
    }
}
