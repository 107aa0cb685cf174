//! One row: every cell checked, every problem of the row at once.

use std::collections::HashMap;

use klubkasse_core::domain::{CardState, CardUid, Money};

use super::{
    BLOCKED_CATEGORIES, CARD_STATE, CARD_UID, ChildRow, DAILY_LIMIT, GivenColumns, NAME, NOTE,
    OPENING_BALANCE, Problem,
};

/// The child on `line`; or its problems. `first_line_of`: where each card
/// was first seen in the file (one card, one child).
pub(super) fn row(
    record: &csv::StringRecord,
    line: u64,
    index: &HashMap<&'static str, usize>,
    given: GivenColumns,
    first_line_of: &mut HashMap<CardUid, u64>,
) -> Result<ChildRow, Vec<Problem>> {
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
