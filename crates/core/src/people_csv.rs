//! CSV for people: the one writer of every CSV a person opens, at the
//! counter (the day report of `klubkasse report --csv` and the staff
//! screen's export) and at the ledger (the office's reports, a parent's
//! history). Made to open right in Danish Excel, which
//! - splits on `;` (a Danish list separator, since `,` is the decimal sign);
//! - reads `12,50` as a number, and `12.50` as a date or text;
//! - guesses a legacy code page unless the file starts with a UTF-8 BOM,
//!   and then shows "Søren" as "SÃ¸ren";
//! - runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or CR
//!   before one) as a formula: a child named `=HYPERLINK(…)` would be a
//!   link in the office's sheet. Such text gets a `'` in front, which
//!   Excel shows as text and does not print.
//!
//! A pure writer into a `String`: where the text goes is the caller's.

use crate::domain::{AmountField, Money};

/// What Excel needs first to read the file as UTF-8.
pub const BOM: &str = "\u{feff}";

/// One cell: text from people (made safe), or a number Excel should sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell<'a> {
    Text(&'a str),
    Count(i64),
    Amount(Money),
    Empty,
}

/// Rows in, one CSV text out: BOM, `;`, CRLF (as Excel writes), decimal
/// comma without thousands dots (`1234,50`: Danish Excel reads
/// `1.234,50` as well, but an Excel whose thousands sign is a space, as
/// the Swedish and Norwegian ones have, takes that for text).
#[derive(Debug, Clone)]
pub struct PeopleCsv {
    out: String,
}

impl Default for PeopleCsv {
    fn default() -> Self {
        PeopleCsv::new()
    }
}

impl PeopleCsv {
    pub fn new() -> PeopleCsv {
        PeopleCsv {
            out: BOM.to_string(),
        }
    }

    pub fn row(&mut self, cells: &[Cell]) {
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.out.push(';');
            }
            let text = cell_text(cell);
            // A row of one empty cell would be an empty line, which readers
            // skip: quoted, it is a row.
            if needs_quotes(&text) || (cells.len() == 1 && text.is_empty()) {
                self.out.push('"');
                self.out.push_str(&text.replace('"', "\"\""));
                self.out.push('"');
            } else {
                self.out.push_str(&text);
            }
        }
        self.out.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn needs_quotes(text: &str) -> bool {
    text.contains([';', '"', '\r', '\n'])
}

fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => safe_text(text),
        Cell::Count(n) => n.to_string(),
        Cell::Amount(m) => m.to_plain_string().replace('.', ","),
        Cell::Empty => String::new(),
    }
}

/// Text that a spreadsheet shows as it is and never runs as a formula.
pub fn safe_text(text: &str) -> String {
    let formula = text
        .trim_start_matches(['\t', '\r', ' '])
        .starts_with(['=', '+', '-', '@']);
    if formula || text.starts_with(['\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// Why a text is not a file Danish Excel opens as the writer meant it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("no UTF-8 BOM: Excel would guess a legacy code page")]
    NoBom,
    #[error("not CSV with `;`: {0}")]
    Csv(String),
}

/// The cells Danish Excel shows for a file: a BOM means UTF-8 (and is
/// not part of the first cell), `;` splits cells, quotes are taken off.
/// The check every package's tests make of what they wrote; it reads
/// with the `csv` crate, not with this module's own rules.
pub fn read_as_danish_excel(text: &str) -> Result<Vec<Vec<String>>, ReadError> {
    let body = text.strip_prefix(BOM).ok_or(ReadError::NoBom)?;
    csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|record| {
            record
                .map(|r| r.iter().map(str::to_string).collect())
                .map_err(|e| ReadError::Csv(e.to_string()))
        })
        .collect()
}

/// A cell as Danish Excel takes it for a number: digits, maybe a minus,
/// thousands dots and a decimal comma (`-1.234,50`, `1234,50`). `None`
/// for a cell it would take as text or a date (`12.50`, `12 kr.`).
pub fn danish_number(cell: &str) -> Option<Money> {
    let unsigned = cell.strip_prefix('-').unwrap_or(cell);
    let plain = !unsigned.is_empty()
        && unsigned
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',');
    plain
        .then(|| Money::parse_danish(cell, AmountField::WithOre).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formulas_are_text() {
        for bad in [
            "=HYPERLINK(\"x\")",
            "+45",
            "-1",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            " =1",
            "\tplain",
        ] {
            assert!(safe_text(bad).starts_with('\''), "{bad:?}");
        }
        for fine in ["Søren", "Æblesaft", "Bo-Erik", "", "12 kr."] {
            assert_eq!(safe_text(fine), fine);
        }
    }

    #[test]
    fn opens_in_danish_excel() {
        let mut csv = PeopleCsv::new();
        csv.row(&[Cell::Text("Navn"), Cell::Text("Beløb"), Cell::Text("Antal")]);
        csv.row(&[
            Cell::Text("Søren; \"Ø\""),
            Cell::Amount(Money::from_ore(123450)),
            Cell::Count(3),
        ]);
        csv.row(&[
            Cell::Text("=1+1"),
            Cell::Amount(Money::from_ore(-50)),
            Cell::Empty,
        ]);
        let text = csv.finish();
        assert!(text.starts_with(BOM) && text.contains("\r\n"));
        assert!(
            text.contains("\"Søren; \"\"Ø\"\"\";1234,50;3\r\n"),
            "{text}"
        );
        let rows = read_as_danish_excel(&text).unwrap();
        assert_eq!(rows[0], ["Navn", "Beløb", "Antal"]);
        assert_eq!(rows[1][0], "Søren; \"Ø\"");
        assert_eq!(danish_number(&rows[1][1]), Some(Money::from_ore(123450)));
        assert_eq!(rows[1][1], "1234,50");
        assert_eq!(rows[2][0], "'=1+1");
        assert_eq!(danish_number(&rows[2][1]), Some(Money::from_ore(-50)));
        assert_eq!(rows[2][2], "");
    }

    #[test]
    fn a_file_without_a_bom_is_not_read_as_excel_would_mean_it() {
        assert_eq!(read_as_danish_excel("a;b\r\n"), Err(ReadError::NoBom));
    }

    #[test]
    fn numbers_as_danish_excel_reads_them() {
        assert_eq!(danish_number("1.234,50"), Some(Money::from_ore(123450)));
        assert_eq!(danish_number("1234,50"), Some(Money::from_ore(123450)));
        assert_eq!(danish_number("-0,50"), Some(Money::from_ore(-50)));
        assert_eq!(danish_number("7"), Some(Money::kroner(7)));
        for text in ["12.50", "12 kr.", "", "-", "'=1", "1,2,3"] {
            assert_eq!(danish_number(text), None, "{text}");
        }
    }

    /// Text with what CSV and Excel treat specially, or any text at all.
    fn cell() -> impl Strategy<Value = (u8, String, i64)> {
        let text = prop_oneof!["[=+@\\-\t\r\n;\" a-zæøå0-9,.']{0,12}", any::<String>()];
        (0u8..4, text, any::<i64>())
    }

    proptest! {
        /// Whatever the text, each cell reads back as written (text made
        /// safe, numbers as Danish numbers), and no text cell is a formula.
        #[test]
        fn every_table_reads_back(
            width in 1usize..5,
            cells in proptest::collection::vec(cell(), 0..40),
        ) {
            let rows: Vec<Vec<Cell>> = cells
                .chunks(width)
                .filter(|chunk| chunk.len() == width)
                .map(|chunk| {
                    chunk
                        .iter()
                        .map(|(kind, text, n)| match kind {
                            0 => Cell::Text(text),
                            1 => Cell::Count(*n),
                            2 => Cell::Amount(Money::from_ore(*n % 100_000_000_000)),
                            _ => Cell::Empty,
                        })
                        .collect()
                })
                .collect();
            let mut csv = PeopleCsv::new();
            for row in &rows {
                csv.row(row);
            }
            let read = read_as_danish_excel(&csv.finish()).unwrap();
            prop_assert_eq!(read.len(), rows.len());
            for (row, back) in rows.iter().zip(&read) {
                prop_assert_eq!(back.len(), row.len());
                for (cell, text) in row.iter().zip(back) {
                    match cell {
                        Cell::Text(t) => {
                            prop_assert_eq!(text, &safe_text(t));
                            let formula = text.trim_start_matches(['\t', '\r', ' ']).starts_with(['=', '+', '-', '@']);
                            prop_assert!(!formula && !text.starts_with(['\t', '\r']));
                        }
                        Cell::Count(n) => prop_assert_eq!(text, &n.to_string()),
                        Cell::Amount(m) => prop_assert_eq!(danish_number(text), Some(*m)),
                        Cell::Empty => prop_assert_eq!(text, ""),
                    }
                }
            }
        }
    }
}
