//! CSV for people, the one writer of every CSV a person opens (the day
//! report from `klubkasse report --csv` and the staff screen's export):
//! made to open right in Danish Excel, which
//! - splits on `;` (a Danish list separator, since `,` is the decimal sign);
//! - reads `12,50` as a number, and `12.50` as a date or text;
//! - guesses a legacy code page unless the file starts with a UTF-8 BOM,
//!   and then shows "Søren" as "SÃ¸ren";
//! - runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or CR
//!   before one) as a formula: a child named `=HYPERLINK(…)` would be a
//!   link in the office's sheet. Such text gets a `'` in front, which
//!   Excel shows as text and does not print.

use klubkasse_core::domain::Money;

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
/// comma without thousands dots (`1234,50`, which every Excel locale that
/// uses a decimal comma reads as a number).
pub struct PeopleCsv {
    writer: csv::Writer<Vec<u8>>,
}

impl Default for PeopleCsv {
    fn default() -> Self {
        PeopleCsv::new()
    }
}

impl PeopleCsv {
    pub fn new() -> PeopleCsv {
        let writer = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .from_writer(BOM.as_bytes().to_vec());
        PeopleCsv { writer }
    }

    pub fn row(&mut self, cells: &[Cell]) -> Result<(), csv::Error> {
        self.writer.write_record(cells.iter().map(cell_text))
    }

    pub fn finish(self) -> Result<String, csv::Error> {
        let bytes = self
            .writer
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        // Every cell came from a `&str` or a number, so the bytes are UTF-8.
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
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

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Reads a CSV the way Danish Excel opens it: a BOM means UTF-8 (and
    /// is not part of the first cell), `;` splits cells, a cell of digits
    /// with a decimal comma is a number. `None` for a number: a cell Excel
    /// would take as text or a date.
    pub fn read_as_danish_excel(text: &str) -> Vec<Vec<String>> {
        let body = text
            .strip_prefix(BOM)
            .expect("without a BOM, Excel guesses a legacy code page");
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .has_headers(false)
            .flexible(false)
            .from_reader(body.as_bytes());
        reader
            .records()
            .map(|r| r.expect("one row").iter().map(str::to_string).collect())
            .collect()
    }

    /// A cell as Danish Excel takes it as a number: digits, maybe a minus
    /// and a decimal comma; `12.50` would be a date or text.
    pub fn danish_number(cell: &str) -> Option<Money> {
        let plain = cell.strip_prefix('-').unwrap_or(cell);
        let ok = !plain.is_empty()
            && !plain.contains('.')
            && plain.split(',').count() <= 2
            && plain.chars().all(|c| c.is_ascii_digit() || c == ',');
        ok.then(|| Money::parse(cell).ok()).flatten()
    }

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
        csv.row(&[Cell::Text("Navn"), Cell::Text("Beløb"), Cell::Text("Antal")])
            .unwrap();
        csv.row(&[
            Cell::Text("Søren; \"Ø\""),
            Cell::Amount(Money::from_ore(123450)),
            Cell::Count(3),
        ])
        .unwrap();
        csv.row(&[
            Cell::Text("=1+1"),
            Cell::Amount(Money::from_ore(-50)),
            Cell::Empty,
        ])
        .unwrap();
        let text = csv.finish().unwrap();
        assert!(text.starts_with(BOM) && text.contains("\r\n"));
        let rows = read_as_danish_excel(&text);
        assert_eq!(rows[0], ["Navn", "Beløb", "Antal"]);
        assert_eq!(rows[1][0], "Søren; \"Ø\"");
        assert_eq!(danish_number(&rows[1][1]), Some(Money::from_ore(123450)));
        assert_eq!(rows[1][1], "1234,50");
        assert_eq!(rows[2][0], "'=1+1");
        assert_eq!(danish_number(&rows[2][1]), Some(Money::from_ore(-50)));
        assert_eq!(rows[2][2], "");
    }
}
