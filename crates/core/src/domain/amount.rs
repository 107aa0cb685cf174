//! Amounts typed by a person at the counter, read the Danish way: `.`
//! groups thousands, `,` starts the øre. The screen writes `1.234,50 kr.`,
//! so `2.000` typed back is two thousand, never two.
//!
//! What could mean two things is refused, not guessed: `12.50` (English
//! decimals, or a thousands dot in the wrong place?), `1,500` (Danish
//! 1,5 kr. with a stray zero, or English 1.500?), and in a field where øre
//! are common, `1.500` (1.500 kr., or 1,50 kr. written the English way?).

use rust_decimal::Decimal;

use super::Money;

/// What kind of amount a field holds, which decides whether `1.500` is
/// clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountField {
    /// Mostly whole kroner (a cash top-up, the cash in the drawer):
    /// `1.500` is one thousand five hundred.
    Kroner,
    /// Øre are common (a price): `1.500` is refused; `1.500,00` or `1500`
    /// is clear.
    WithOre,
}

/// Why a typed amount is not taken. Each has its own hint on screen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("nothing typed")]
    Empty,
    #[error("«{0}» is not an amount")]
    NotANumber(String),
    /// `12.50`, `1,500`, or `1.500` where øre are common.
    #[error(
        "«{0}» could mean two amounts: write øre after a comma (12,50), thousands with a dot (2.000)"
    )]
    Ambiguous(String),
    /// Thousands dots not three digits apart (`1.23.456`, `12.3456`).
    #[error("«{0}» has a dot where no thousands begin")]
    Misgrouped(String),
    #[error("«{0}» has more than two decimals (øre is the smallest unit)")]
    TooPrecise(String),
    #[error("«{0}» is too large")]
    TooLarge(String),
}

impl Money {
    /// Reads an amount typed the Danish way: `2000`, `2.000`, `12,50`,
    /// `1.234,50`, `-5`, with or without ` kr.` after it (so what the screen
    /// shows reads back). See the module for what is refused.
    pub fn parse_danish(text: &str, field: AmountField) -> Result<Money, AmountError> {
        let trimmed = text.trim();
        let body = trimmed
            .strip_suffix("kr.")
            .or_else(|| trimmed.strip_suffix("kr"))
            .unwrap_or(trimmed)
            .trim_end();
        let owned = || trimmed.to_string();
        if trimmed.len() > super::money::LONGEST_AMOUNT {
            return Err(AmountError::TooLarge(super::money::shortened(trimmed)));
        }
        if body.is_empty() {
            return Err(AmountError::Empty);
        }
        let (negative, unsigned) = match body.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, body),
        };
        let (whole, ore) = match unsigned.split_once(',') {
            Some((whole, ore)) => (whole, Some(ore)),
            None => (unsigned, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if let Some(ore) = ore {
            // `1,234.50`: English grouping, a comma before a dot.
            if ore.contains('.') {
                return Err(AmountError::Ambiguous(owned()));
            }
            if !digits(ore) {
                return Err(AmountError::NotANumber(owned()));
            }
            // Three digits after a comma read as English thousands too.
            if ore.len() == 3 && !whole.contains('.') {
                return Err(AmountError::Ambiguous(owned()));
            }
            if ore.len() > 2 {
                return Err(AmountError::TooPrecise(owned()));
            }
        }
        let groups: Vec<&str> = whole.split('.').collect();
        if !groups.iter().all(|g| digits(g)) {
            return Err(AmountError::NotANumber(owned()));
        }
        if groups.len() > 1 {
            let (first, rest) = (groups[0], &groups[1..]);
            // `0.500`: no one groups thousands of nothing; English 0,5.
            if first.starts_with('0') {
                return Err(AmountError::Ambiguous(owned()));
            }
            let grouped = first.len() <= 3 && rest.iter().all(|g| g.len() == 3);
            if !grouped {
                // One dot and one or two digits after it: English decimals.
                return Err(if rest.len() == 1 && rest[0].len() <= 2 {
                    AmountError::Ambiguous(owned())
                } else {
                    AmountError::Misgrouped(owned())
                });
            }
            if field == AmountField::WithOre && ore.is_none() && rest.len() == 1 {
                return Err(AmountError::Ambiguous(owned()));
            }
        }
        let plain = format!(
            "{}{}.{}",
            if negative { "-" } else { "" },
            groups.concat(),
            ore.unwrap_or("0")
        );
        let value = Decimal::from_str_exact(&plain).map_err(|_| AmountError::TooLarge(owned()))?;
        Money::parse(&value.to_string()).map_err(|_| AmountError::TooLarge(owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kroner(text: &str) -> Result<Money, AmountError> {
        Money::parse_danish(text, AmountField::Kroner)
    }

    #[test]
    fn a_megabyte_of_digits_typed_is_refused_without_parsing_it() {
        let refused = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(|| kroner(&"9".repeat(1_000_000)))
            .expect("a thread")
            .join()
            .expect("no overflow");
        assert!(
            matches!(refused, Err(AmountError::TooLarge(_))),
            "{refused:?}"
        );
    }

    #[test]
    fn danish_forms() {
        assert_eq!(kroner("2.000"), Ok(Money::kroner(2000)));
        assert_eq!(kroner("2000"), Ok(Money::kroner(2000)));
        assert_eq!(kroner("12,50"), Ok(Money::from_ore(1250)));
        assert_eq!(kroner("12,5"), Ok(Money::from_ore(1250)));
        assert_eq!(kroner("1.234,50"), Ok(Money::from_ore(123450)));
        assert_eq!(kroner("1.234.567,05"), Ok(Money::from_ore(123456705)));
        assert_eq!(kroner(" 50 "), Ok(Money::kroner(50)));
        assert_eq!(kroner("1.234,50 kr."), Ok(Money::from_ore(123450)));
        assert_eq!(kroner("50 kr"), Ok(Money::kroner(50)));
        assert_eq!(kroner("-45,00"), Ok(Money::kroner(-45)));
        assert_eq!(kroner("0"), Ok(Money::ZERO));
        assert_eq!(kroner("1.500"), Ok(Money::kroner(1500)));
    }

    #[test]
    fn what_could_mean_two_things_is_refused() {
        let ambiguous = |text: &str, field| {
            assert_eq!(
                Money::parse_danish(text, field),
                Err(AmountError::Ambiguous(text.into())),
                "{text}"
            )
        };
        ambiguous("12.50", AmountField::Kroner);
        ambiguous("12.5", AmountField::Kroner);
        ambiguous("1,500", AmountField::Kroner);
        ambiguous("1.500", AmountField::WithOre);
        ambiguous("1,234.50", AmountField::Kroner);
        ambiguous("0.500", AmountField::Kroner);
        // Clear even where øre are common.
        assert_eq!(
            Money::parse_danish("1.500,00", AmountField::WithOre),
            Ok(Money::kroner(1500))
        );
        assert_eq!(
            Money::parse_danish("12,50", AmountField::WithOre),
            Ok(Money::from_ore(1250))
        );
    }

    #[test]
    fn junk_is_refused_with_its_reason() {
        assert_eq!(kroner(""), Err(AmountError::Empty));
        assert_eq!(kroner("  kr."), Err(AmountError::Empty));
        assert_eq!(kroner(","), Err(AmountError::NotANumber(",".into())));
        assert_eq!(kroner("tolv"), Err(AmountError::NotANumber("tolv".into())));
        assert_eq!(kroner("12,"), Err(AmountError::NotANumber("12,".into())));
        assert_eq!(kroner(".500"), Err(AmountError::NotANumber(".500".into())));
        assert_eq!(kroner("1e3"), Err(AmountError::NotANumber("1e3".into())));
        assert_eq!(
            kroner("1.23.456"),
            Err(AmountError::Misgrouped("1.23.456".into()))
        );
        assert_eq!(
            kroner("12.3456"),
            Err(AmountError::Misgrouped("12.3456".into()))
        );
        assert_eq!(
            kroner("1234.500"),
            Err(AmountError::Misgrouped("1234.500".into()))
        );
        assert_eq!(
            kroner("12,5050"),
            Err(AmountError::TooPrecise("12,5050".into()))
        );
        assert_eq!(
            kroner("99999999999"),
            Err(AmountError::TooLarge("99999999999".into()))
        );
    }

    proptest! {
        /// What the screen shows (`1.234,50 kr.`, or without `kr.`) reads
        /// back as the same amount, in either kind of field.
        #[test]
        fn display_round_trip(ore in -100_000_000_000i64..100_000_000_000) {
            let m = Money::from_ore(ore);
            for field in [AmountField::Kroner, AmountField::WithOre] {
                prop_assert_eq!(Money::parse_danish(&m.to_string(), field), Ok(m));
                prop_assert_eq!(Money::parse_danish(&m.danish_number(), field), Ok(m));
            }
        }

        /// Whole kroner typed as plain digits or with thousands dots.
        #[test]
        fn whole_kroner_with_or_without_dots(kr in 0i64..1_000_000_000) {
            let m = Money::kroner(kr);
            prop_assert_eq!(kroner(&kr.to_string()), Ok(m));
            let dotted = m.danish_number();
            let dotted = dotted.trim_end_matches(",00");
            prop_assert_eq!(kroner(dotted), Ok(m));
        }

        /// Whatever is typed, the reader answers (never panics), and an
        /// amount it takes has at most two decimals.
        #[test]
        fn any_text_is_an_answer(text in "[0-9.,\\- kr]{0,16}") {
            if let Ok(m) = kroner(&text) {
                prop_assert_eq!(Money::from_ore(m.ore()), m);
            }
        }
    }
}
