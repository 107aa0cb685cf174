//! Dates as people and Danish spreadsheets write them.

use chrono::NaiveDate;

use crate::i18n::Language;

/// Why a cell is not a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateFault {
    /// Not day, month and year in one of the ways [`read_date`] reads.
    NotADate,
    /// Written right, but the calendar has no such day (`31-02-2015`).
    NoSuchDay,
}

impl DateFault {
    /// Why `text` is not a date, in `language`.
    pub fn text(self, language: Language, text: &str) -> String {
        let key = match self {
            DateFault::NotADate => "not_a_date",
            DateFault::NoSuchDay => "no_such_day",
        };
        super::say(language, key, &[("text", text)])
    }
}

/// Reads `24-12-2015` (Danish Excel), `24.12.2015`, `24/12/2015`, `3-5-2015`
/// and `2015-12-24` (ISO): day first unless the year is. Two-digit years
/// are refused: `15` could be 1915 or 2015.
pub fn read_date(text: &str) -> Result<NaiveDate, DateFault> {
    let text = text.trim();
    let separator = text
        .chars()
        .find(|c| matches!(c, '-' | '.' | '/'))
        .ok_or(DateFault::NotADate)?;
    let parts: Vec<&str> = text.split(separator).collect();
    let [a, b, c] = parts[..] else {
        return Err(DateFault::NotADate);
    };
    if ![a, b, c]
        .iter()
        .all(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_digit()))
    {
        return Err(DateFault::NotADate);
    }
    let (year, month, day) = match (a.len(), b.len(), c.len()) {
        (4, 1..=2, 1..=2) if separator == '-' => (a, b, c),
        (1..=2, 1..=2, 4) => (c, b, a),
        _ => return Err(DateFault::NotADate),
    };
    let number = |p: &str| p.parse::<u32>().map_err(|_| DateFault::NotADate);
    let year = i32::try_from(number(year)?).map_err(|_| DateFault::NotADate)?;
    NaiveDate::from_ymd_opt(year, number(month)?, number(day)?).ok_or(DateFault::NoSuchDay)
}
