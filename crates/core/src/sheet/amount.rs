//! Amounts as people and Danish spreadsheets write them.

use crate::domain::{Money, MoneyError};
use crate::i18n::Language;

/// Why a cell is not an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountFault {
    NotANumber,
    /// One `.` or `,` before exactly three digits: `1.500` is 1500 kr.
    /// written the Danish way and 1,50 kr. written the English way.
    Ambiguous,
    TooPrecise,
    TooLarge,
}

impl AmountFault {
    /// Why `text` is not an amount, in `language`.
    pub fn text(self, language: Language, text: &str) -> String {
        let key = match self {
            AmountFault::NotANumber => "not_an_amount",
            AmountFault::Ambiguous => "ambiguous_amount",
            AmountFault::TooPrecise => "too_precise",
            AmountFault::TooLarge => "too_large",
        };
        let whole: String = text.chars().filter(char::is_ascii_digit).collect();
        super::say(language, key, &[("text", text), ("whole", &whole)])
    }
}

/// Reads `1.000,00`, `116,00`, `116.00`, `1,000.50`, `1.000.000`,
/// `1 000`, `50 kr.`, `-5`: whatever can mean one amount only. The last
/// `.` or `,` is the decimal mark when both are there; alone, it is the
/// decimal mark unless three digits follow it (ambiguous, refused);
/// repeated, it groups thousands.
pub fn read_amount(text: &str) -> Result<Money, AmountFault> {
    let text = text.trim();
    let text = text
        .strip_suffix("kr.")
        .or_else(|| text.strip_suffix("kr"))
        .unwrap_or(text)
        .trim_end();
    let (sign, text) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest.trim_start()),
        None => ("", text),
    };
    // Spaces, also the no-break ones spreadsheets use, group thousands.
    let number: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    if !number.starts_with(|c: char| c.is_ascii_digit())
        || !number
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(AmountFault::NotANumber);
    }
    let dots = number.matches('.').count();
    let commas = number.matches(',').count();
    let (whole, decimals, grouping) = match (dots, commas) {
        (0, 0) => (number.as_str(), "", None),
        (_, 0) | (0, _) => {
            let mark = if dots > 0 { '.' } else { ',' };
            let (whole, decimals) = number.rsplit_once(mark).unwrap_or((&number, ""));
            if dots + commas > 1 {
                // Repeated, the mark groups: no decimals.
                (number.as_str(), "", Some(mark))
            } else if decimals.len() == 3 {
                return Err(AmountFault::Ambiguous);
            } else {
                (whole, decimals, None)
            }
        }
        _ => {
            let mark = if number.rfind('.') > number.rfind(',') {
                '.'
            } else {
                ','
            };
            let group = if mark == '.' { ',' } else { '.' };
            let (whole, decimals) = number.rsplit_once(mark).unwrap_or((&number, ""));
            if whole.contains(mark) {
                return Err(AmountFault::NotANumber);
            }
            (whole, decimals, Some(group))
        }
    };
    let whole: String = match grouping {
        None => whole.to_string(),
        Some(group) => {
            let groups: Vec<&str> = whole.split(group).collect();
            let well_grouped = groups.first().is_some_and(|g| (1..=3).contains(&g.len()))
                && groups[1..].iter().all(|g| g.len() == 3);
            if !well_grouped {
                return Err(AmountFault::NotANumber);
            }
            groups.concat()
        }
    };
    if whole.is_empty() || (!decimals.is_empty() && !decimals.chars().all(|c| c.is_ascii_digit())) {
        return Err(AmountFault::NotANumber);
    }
    if decimals.len() > 2 {
        return Err(AmountFault::TooPrecise);
    }
    let plain = if decimals.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{decimals}")
    };
    Money::parse(&plain).map_err(|e| match e {
        MoneyError::NotANumber(_) => AmountFault::NotANumber,
        MoneyError::TooPrecise(_) => AmountFault::TooPrecise,
        MoneyError::TooLarge(_) => AmountFault::TooLarge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ore(text: &str) -> Result<i64, AmountFault> {
        read_amount(text).map(Money::ore)
    }

    #[test]
    fn danish_english_and_plain() {
        for (text, expected) in [
            ("116", 11600),
            ("116,00", 11600),
            ("116.00", 11600),
            ("12,5", 1250),
            ("12.5", 1250),
            ("1.000,00", 100_000),
            ("1,000.00", 100_000),
            ("1.234.567,89", 123_456_789),
            ("1.000.000", 100_000_000),
            ("1 000,50", 100_050),
            ("1\u{a0}000", 100_000),
            ("50 kr.", 5000),
            ("50kr", 5000),
            ("  7  ", 700),
            ("0", 0),
            ("-5", -500),
            ("- 5,50", -550),
        ] {
            assert_eq!(ore(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn what_could_mean_two_things_or_nothing_is_refused() {
        use AmountFault::*;
        for (text, fault) in [
            ("1.000", Ambiguous),
            ("1,000", Ambiguous),
            ("12.005", Ambiguous),
            ("12,3456", TooPrecise),
            ("1.000,505", TooPrecise),
            ("", NotANumber),
            ("tolv", NotANumber),
            ("12a", NotANumber),
            (",50", NotANumber),
            ("1.00.0", NotANumber),
            ("10.00,00", NotANumber),
            ("1.000.00,5", NotANumber),
            ("1,000,00.5", NotANumber),
            ("1,2.3,4", NotANumber),
            ("1e5", NotANumber),
            ("99999999999", TooLarge),
        ] {
            assert_eq!(ore(text), Err(fault), "{text}");
        }
    }

    proptest! {
        /// Every amount written the Danish way, grouped or not, the English
        /// way with two decimals, or plain, reads back as itself.
        #[test]
        fn written_amounts_read_back(ore in 0i64..100_000_000_000) {
            let money = Money::from_ore(ore);
            let danish = money.danish_number();
            prop_assert_eq!(read_amount(&danish), Ok(money));
            prop_assert_eq!(read_amount(&format!("{money}")), Ok(money));
            prop_assert_eq!(read_amount(&money.to_plain_string()), Ok(money));
            prop_assert_eq!(read_amount(&danish.replace('.', "")), Ok(money));
            let english = danish.replace('.', "_").replace(',', ".").replace('_', ",");
            prop_assert_eq!(read_amount(&english), Ok(money));
        }
    }
}
