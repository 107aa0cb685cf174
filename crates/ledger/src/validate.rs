//! Checks on values the ledger takes from outside: each failure is a 422
//! that names the field.

use super::api::{
    MAX_AMOUNT_KRONER, MAX_CATEGORIES, MAX_CATEGORY, MAX_NAME, MAX_NOTE, SettingsPatch,
};
use super::error::{LedgerError, Result};
use klubkasse_core::domain::{AmountField, CardUid, Entry, EntryKind, Money, SaleLine};
use klubkasse_core::protocol::{CardAction, MAX_BATCH, PushBatch};

/// Most lines in one sale: far more than any basket.
const MAX_LINES: usize = 100;
const MAX_QUANTITY: u32 = 1000;

/// The longest receipt number of the office's paper receipt book.
pub const MAX_RECEIPT: usize = 40;

/// A bank account the office pays out to by hand, as typed: trimmed, 1
/// to 40 characters of letters, digits, spaces and `-./` (`1234 12345678`,
/// an IBAN). No control or direction characters, which would show the
/// office other digits than are stored.
pub fn bank_account(text: &str) -> Option<&str> {
    let text = text.trim();
    let fits = (1..=40).contains(&text.chars().count())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '.' | '/'));
    fits.then_some(text)
}
/// The longest reason for a correction.
pub const MAX_REASON: usize = 200;

/// An amount a person typed in a form, read as the portal shows amounts
/// (`1.234,50 kr.`): `1.000` is a thousand, `12,50` twelve fifty, and
/// what could mean two amounts (`12.50`) is no amount. Not negative.
pub fn typed_kroner(text: &str) -> Option<Money> {
    Money::parse_danish(text, AmountField::Kroner)
        .ok()
        .filter(|m| !m.is_negative())
}

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

/// A counter's push, before anything is stored: at most [`MAX_BATCH`]
/// entries, every one naming `counter` and passing [`check_entry`].
/// Card UIDs come back in their canonical form.
pub fn push_batch(counter: &str, batch: PushBatch) -> Result<Vec<Entry>> {
    if batch.entries.len() > MAX_BATCH {
        return Err(LedgerError::Body {
            status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            message: format!(
                "{} entries; at most {MAX_BATCH} in one batch",
                batch.entries.len()
            ),
        });
    }
    let mut entries = batch.entries;
    for (index, entry) in entries.iter_mut().enumerate() {
        if entry.counter != counter {
            return Err(LedgerError::forbidden(format!(
                "entries[{index}]: this token is for counter «{counter}», not «{}»",
                entry.counter
            )));
        }
        check_entry(index, &mut entry.kind, entry.amount)?;
    }
    Ok(entries)
}

/// A sale's amount is minus the sum of its lines; a refund gives money back.
fn check_entry(index: usize, kind: &mut EntryKind, amount: Money) -> Result<()> {
    let at = |what: String| LedgerError::invalid(format!("entries[{index}]: {what}"));
    not_absurd("amount", amount).map_err(|e| at(e.to_string()))?;
    match kind {
        EntryKind::Sale { card, lines } => {
            if let Some(card) = card {
                *card = uid("card", card).map_err(|e| at(e.to_string()))?;
            }
            if lines.is_empty() || lines.len() > MAX_LINES {
                return Err(at(format!("a sale has 1 to {MAX_LINES} lines")));
            }
            for line in lines.iter() {
                check_line(line).map_err(|e| at(e.to_string()))?;
            }
            let total: Money = lines.iter().map(SaleLine::total).sum();
            if amount != -total {
                return Err(at(format!(
                    "amount {} is not minus the sum of the lines ({})",
                    amount.to_plain_string(),
                    total.to_plain_string()
                )));
            }
            Ok(())
        }
        EntryKind::Refund { .. } if amount.is_positive() => Ok(()),
        EntryKind::Refund { .. } => Err(at("a refund's amount must be more than 0.00".into())),
        other => Err(at(format!(
            "a counter pushes only sales and refunds, not {}",
            other.label()
        ))),
    }
}

fn check_line(line: &SaleLine) -> Result<()> {
    text("name", &line.name, MAX_NAME)?;
    text("category", &line.category, MAX_NAME)?;
    if line.unit_price.is_negative() {
        return Err(LedgerError::invalid("unit_price must not be negative"));
    }
    not_absurd("unit_price", line.unit_price)?;
    if line.quantity == 0 || line.quantity > MAX_QUANTITY {
        return Err(LedgerError::invalid(format!(
            "quantity must be 1 to {MAX_QUANTITY}"
        )));
    }
    Ok(())
}

/// A card action from a counter, with its UID in canonical form.
pub fn card_action(action: CardAction) -> Result<CardAction> {
    Ok(match action {
        CardAction::HandOut { uid: card, child } => CardAction::HandOut {
            uid: uid("uid", &card)?,
            child,
        },
        CardAction::Block { uid: card } => CardAction::Block {
            uid: uid("uid", &card)?,
        },
        CardAction::Unblock { uid: card } => CardAction::Unblock {
            uid: uid("uid", &card)?,
        },
    })
}

/// A settings patch with its categories trimmed, lower-cased and without
/// repeats, and an empty note cleared.
pub fn settings_patch(mut patch: SettingsPatch) -> Result<SettingsPatch> {
    if let Some(Some(limit)) = patch.daily_limit {
        if limit.is_negative() {
            return Err(LedgerError::invalid("daily_limit must not be negative"));
        }
        not_absurd("daily_limit", limit)?;
    }
    if let Some(categories) = &mut patch.blocked_categories {
        if categories.len() > MAX_CATEGORIES {
            return Err(LedgerError::invalid(format!(
                "blocked_categories has more than {MAX_CATEGORIES} entries"
            )));
        }
        let mut clean = Vec::with_capacity(categories.len());
        for category in categories.iter() {
            let category = text("blocked_categories", category, MAX_CATEGORY)?.to_lowercase();
            if !clean.contains(&category) {
                clean.push(category);
            }
        }
        *categories = clean;
    }
    if let Some(note) = &mut patch.note {
        *note = match note.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(note) => Some(text("note", note, MAX_NOTE)?),
        };
    }
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bank_account_is_letters_digits_and_separators_only() {
        assert_eq!(bank_account(" 1234 12345678 "), Some("1234 12345678"));
        assert_eq!(
            bank_account("DK50 0040-0440/1162.43"),
            Some("DK50 0040-0440/1162.43")
        );
        for bad in [
            "",
            "   ",
            "1234\u{202E}5678",
            "1234\n5678",
            "12\u{0}34",
            "12\u{7}",
            "ø123",
        ] {
            assert_eq!(bank_account(bad), None, "{bad:?}");
        }
        assert_eq!(bank_account(&"1".repeat(41)), None);
    }
}
