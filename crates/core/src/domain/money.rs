//! Kroner and øre: a `Decimal` that always has two decimals. Never a float.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of Danish kroner with exactly two decimals (øre).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

/// Why a text is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("«{0}» is not an amount (write kroner like \"12.50\")")]
    NotANumber(String),
    #[error("«{0}» has more than two decimals (øre is the smallest unit)")]
    TooPrecise(String),
    #[error("«{0}» is too large")]
    TooLarge(String),
}

/// Characters of the longest text read as an amount: more than any amount
/// within [`MAX_KRONER`] needs, written any way. Longer text is refused
/// before it is parsed: rust_decimal's parser recurses a digit at a time,
/// so a megabyte of zeros in a body would overflow a thread's stack and
/// abort the whole process.
pub const LONGEST_AMOUNT: usize = 40;

/// A refused text as an error message shows it: its start, not all of it.
pub(crate) fn shortened(text: &str) -> String {
    match text.char_indices().nth(20) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The largest amount the counter will ever hold or charge: far above any
/// real balance, far below where decimal arithmetic could overflow.
const MAX_KRONER: i64 = 1_000_000_000;

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Whole kroner.
    pub fn kroner(kr: i64) -> Money {
        Money(Decimal::new(kr * 100, 2))
    }

    /// An amount in øre (1/100 kr).
    pub fn from_ore(ore: i64) -> Money {
        Money(Decimal::new(ore, 2))
    }

    /// The amount in øre; exact because an amount has two decimals.
    pub fn ore(self) -> i64 {
        let scaled = self.0 * Decimal::ONE_HUNDRED;
        i64::try_from(scaled).unwrap_or(if scaled.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn is_positive(self) -> bool {
        self.0.is_sign_positive() && !self.0.is_zero()
    }

    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    /// Parses a config or CSV amount: `12`, `12.5`, `12.50`, `1234,50` (a
    /// Danish decimal comma is accepted too), at most two decimals.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        let trimmed = text.trim();
        if trimmed.len() > LONGEST_AMOUNT {
            return Err(MoneyError::TooLarge(shortened(trimmed)));
        }
        let normalised = trimmed.replace(',', ".");
        // Exact: `from_str` rounds past 28 decimals, so "1.000…0001"
        // would pass as 1.00 instead of being refused as too precise.
        let value = Decimal::from_str_exact(&normalised).map_err(|_| {
            if Decimal::from_str(&normalised).is_ok() {
                MoneyError::TooPrecise(trimmed.to_string())
            } else {
                MoneyError::NotANumber(trimmed.to_string())
            }
        })?;
        if value.normalize().scale() > 2 {
            return Err(MoneyError::TooPrecise(trimmed.to_string()));
        }
        if value.abs() > Decimal::from(MAX_KRONER) {
            return Err(MoneyError::TooLarge(trimmed.to_string()));
        }
        Ok(Money::from_decimal_exact(value))
    }

    fn from_decimal_exact(mut value: Decimal) -> Money {
        value.rescale(2);
        Money(value)
    }

    /// The machine form used in files: `1234.50`.
    pub fn to_plain_string(self) -> String {
        format!("{:.2}", self.0)
    }

    /// The Danish display without the currency: `1.234,50`.
    pub fn danish_number(self) -> String {
        let ore = self.0.abs() * Decimal::ONE_HUNDRED;
        let ore = ore.trunc().mantissa().unsigned_abs();
        let kroner = (ore / 100).to_string();
        let mut grouped = String::with_capacity(kroner.len() + kroner.len() / 3);
        for (i, digit) in kroner.chars().enumerate() {
            if i > 0 && (kroner.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(digit);
        }
        let sign = if self.is_negative() { "-" } else { "" };
        format!("{sign}{grouped},{:02}", ore % 100)
    }
}

/// Shown the Danish way everywhere a person reads it: `1.234,50 kr.`
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} kr.", self.danish_number())
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        // Never a "-0.00" in a file: zero has no sign.
        if self.0.is_zero() {
            return Money::ZERO;
        }
        Money(-self.0)
    }
}

impl Mul<u32> for Money {
    type Output = Money;
    fn mul(self, quantity: u32) -> Money {
        Money(self.0 * Decimal::from(quantity))
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

// Stored and sent as a decimal string ("12.50"): exact, and readable in files.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_plain_string())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Money::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// In the API description: the same decimal string as on the wire.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^-?[0-9]+(\.[0-9]{1,2})?$"))
            .description(Some("Kroner with at most two decimals, as a string"))
            .examples([serde_json::json!("12.50")])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Money {
    fn name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_megabyte_of_digits_is_refused_without_parsing_it() {
        // On a thread with a small stack: the parser must not even start.
        let refused = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(|| Money::parse(&"0".repeat(1_000_000)))
            .expect("a thread")
            .join()
            .expect("no overflow");
        assert_eq!(
            refused,
            Err(MoneyError::TooLarge(format!("{}…", "0".repeat(20))))
        );
        let longest = format!("  {}1.50  ", "0".repeat(LONGEST_AMOUNT - 4));
        assert_eq!(Money::parse(&longest), Ok(Money::parse("1.50").unwrap()));
    }

    #[test]
    fn danish_display() {
        assert_eq!(Money::parse("1234.5").unwrap().to_string(), "1.234,50 kr.");
        assert_eq!(Money::parse("0").unwrap().to_string(), "0,00 kr.");
        assert_eq!(Money::parse("12.05").unwrap().to_string(), "12,05 kr.");
        assert_eq!(Money::parse("-45").unwrap().to_string(), "-45,00 kr.");
        assert_eq!(Money::parse("-0.5").unwrap().to_string(), "-0,50 kr.");
        assert_eq!(Money::kroner(1_000_000).to_string(), "1.000.000,00 kr.");
        assert_eq!(Money::kroner(100).to_string(), "100,00 kr.");
    }

    #[test]
    fn parse_accepts_comma_and_rejects_junk() {
        assert_eq!(Money::parse("12,50").unwrap(), Money::from_ore(1250));
        assert_eq!(Money::parse(" 7 ").unwrap(), Money::kroner(7));
        assert!(matches!(
            Money::parse("12.005"),
            Err(MoneyError::TooPrecise(_))
        ));
        // More decimals than a Decimal holds: refused, not rounded to 1.00
        // (found by the ledger's hostile-input property test).
        assert!(matches!(
            Money::parse("1.0000000000000000000000000000001"),
            Err(MoneyError::TooPrecise(_))
        ));
        assert!(matches!(
            Money::parse("tolv"),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(Money::parse(""), Err(MoneyError::NotANumber(_))));
        assert!(matches!(
            Money::parse("1e9999"),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            Money::parse("99999999999"),
            Err(MoneyError::TooLarge(_))
        ));
        // Trailing zeros beyond two decimals are still exact øre.
        assert_eq!(Money::parse("3.100").unwrap(), Money::from_ore(310));
    }

    #[test]
    fn serde_round_trip_is_a_string() {
        let json = serde_json::to_string(&Money::from_ore(123450)).unwrap();
        assert_eq!(json, "\"1234.50\"");
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Money::from_ore(123450));
        assert!(serde_json::from_str::<Money>("\"1.001\"").is_err());
    }

    proptest! {
        #[test]
        fn ore_round_trip(ore in -100_000_000_000i64..100_000_000_000) {
            let m = Money::from_ore(ore);
            prop_assert_eq!(m.ore(), ore);
            prop_assert_eq!(Money::parse(&m.to_plain_string()).unwrap(), m);
        }

        #[test]
        fn arithmetic_matches_integer_ore(a in -10_000_000i64..10_000_000, b in -10_000_000i64..10_000_000, q in 0u32..1000) {
            let (ma, mb) = (Money::from_ore(a), Money::from_ore(b));
            prop_assert_eq!((ma + mb).ore(), a + b);
            prop_assert_eq!((ma - mb).ore(), a - b);
            prop_assert_eq!((ma * q).ore(), a * i64::from(q));
            prop_assert_eq!((-ma).ore(), -a);
            prop_assert_eq!((-ma).to_plain_string(), Money::from_ore(-a).to_plain_string());
        }

        #[test]
        fn display_parses_back_through_danish_form(ore in -100_000_000_000i64..100_000_000_000) {
            let m = Money::from_ore(ore);
            let shown = m.danish_number().replace('.', "");
            prop_assert_eq!(Money::parse(&shown).unwrap(), m);
            prop_assert!(m.to_string().ends_with(" kr."));
        }
    }
}
