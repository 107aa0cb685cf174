//! The header line: which known column each field is, every problem
//! with it at once.

use std::collections::HashMap;

use super::{CARD_UID, COLUMNS, NAME, Problem};

/// Where each known column is; or every problem of the header (unknown,
/// twice, a required one missing).
pub(super) fn columns(
    header: &csv::StringRecord,
    header_line: u64,
) -> Result<HashMap<&'static str, usize>, Vec<Problem>> {
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
    if problems.is_empty() {
        Ok(index)
    } else {
        Err(problems)
    }
}
