//! Checks on values the ledger takes from outside: each failure is a 422
//! that names the field.

use super::api::MAX_AMOUNT_KRONER;
use super::error::{LedgerError, Result};
use crate::domain::{CardUid, Money};

/// Trimmed, 1 to `max` characters, no control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(LedgerError::invalid(format!("{field} must not be empty")));
    }
    if trimmed.chars().count() > max {
        return Err(LedgerError::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(LedgerError::invalid(format!(
            "{field} contains control characters"
        )));
    }
    Ok(trimmed.to_string())
}

/// More than zero and not absurd.
pub fn positive(field: &str, amount: Money) -> Result<Money> {
    if !amount.is_positive() {
        return Err(LedgerError::invalid(format!(
            "{field} must be more than 0.00"
        )));
    }
    not_absurd(field, amount)
}

pub fn not_absurd(field: &str, amount: Money) -> Result<Money> {
    if amount.abs() > Money::kroner(MAX_AMOUNT_KRONER) {
        return Err(LedgerError::invalid(format!(
            "{field} is larger than {MAX_AMOUNT_KRONER}.00"
        )));
    }
    Ok(amount)
}

/// A card UID as the counters write it (upper-case hex, 4, 7 or 10 bytes).
pub fn uid(field: &str, uid: &CardUid) -> Result<CardUid> {
    CardUid::parse(uid.as_str()).map_err(|e| LedgerError::invalid(format!("{field}: {e}")))
}
