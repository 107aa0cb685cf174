//! The office's import of a club's children from a spreadsheet, and the
//! check of one child enrolled on the office's page: the same rules for
//! both. Pure: the file is read with [`klubkasse_core::sheet`] (what Danish
//! Excel and municipal systems save), every mistake of every line is
//! collected before anything is written, and [`crate::db::children::enrol_all`]
//! writes all rows in one transaction.
//!
//! Columns (header row required, any order, names case-insensitive, in
//! Danish or English; see README «Office»):
//!
//! | Danish | English | |
//! | --- | --- | --- |
//! | `navn` | `name` | required |
//! | `fødselsdato` | `birth_date` | optional: `24-12-2015` or `2015-12-24` |
//! | `betaler1_navn`, `betaler1_email` | `payer1_name`, `payer1_email` | optional |
//! | `betaler2_navn`, `betaler2_email` | `payer2_name`, `payer2_email` | optional |
//! | `betaler1_cpr`, `betaler2_cpr` | `payer1_cpr`, `payer2_cpr` | optional: a custody holder's CPR number, with CPR match on and from the command line only (kept as a keyed hash, [`crate::cpr`]) |
//!
//! A `saldo` column is refused: money comes to an account only with a
//! payment, never with an import.

use chrono::NaiveDate;

use crate::api::MAX_NAME;
use crate::cpr::{Cpr, CprKey};
use crate::db::children::Enrolment;
use crate::db::payers::NewPayer;
use klubkasse_core::i18n::{Language, fill};
use klubkasse_core::sheet::{self, Column, DateFault, Sheet, SheetError, SheetFault};

pub const NAME: &str = "name";
pub const BIRTH_DATE: &str = "birth_date";
/// Each payer's name and e-mail columns.
pub const PAYERS: [(&str, &str); 2] = [
    ("payer1_name", "payer1_email"),
    ("payer2_name", "payer2_email"),
];
/// Each payer's CPR column, beside [`PAYERS`].
pub const CUSTODY: [&str; 2] = ["payer1_cpr", "payer2_cpr"];
const OPENING_BALANCE: &str = "opening_balance";

/// Longest e-mail address (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

/// Every column the file may have, with its Danish name and other names
/// people give it; `saldo` only to refuse it by name.
pub const COLUMNS: [Column; 9] = [
    Column::new(NAME, "navn", &["barn", "child", "barnets_navn"], true),
    Column::new(
        BIRTH_DATE,
        "fødselsdato",
        &["født", "fødselsdag", "date_of_birth", "birthday"],
        false,
    ),
    Column::new(
        "payer1_name",
        "betaler1_navn",
        &["betaler_navn", "betaler", "payer_name", "payer"],
        false,
    ),
    Column::new(
        "payer1_email",
        "betaler1_email",
        &[
            "betaler1_e_mail",
            "betaler_email",
            "betaler_e_mail",
            "payer_email",
        ],
        false,
    ),
    Column::new("payer2_name", "betaler2_navn", &["payer_2_name"], false),
    Column::new(
        "payer2_email",
        "betaler2_email",
        &["betaler2_e_mail", "payer_2_email"],
        false,
    ),
    Column::new(
        "payer1_cpr",
        "betaler1_cpr",
        &["betaler_cpr", "payer_cpr"],
        false,
    ),
    Column::new("payer2_cpr", "betaler2_cpr", &[], false),
    Column::new(
        OPENING_BALANCE,
        "saldo",
        &["startsaldo", "balance", "beløb", "amount"],
        false,
    ),
];

/// One thing wrong with a cell, a line or the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Sheet(SheetFault),
    NameEmpty,
    NameTooLong,
    NameControl,
    Date {
        text: String,
        fault: DateFault,
    },
    BornInFuture {
        text: String,
    },
    EmailInvalid {
        text: String,
    },
    /// An e-mail without a name to go with it.
    PayerWithoutName,
    /// Money comes only with payments.
    NoBalance,
    /// Not ten digits (the cell is never repeated: it may be a number).
    CprInvalid,
    CprWithoutName,
    /// CPR numbers with CPR match off, or through a page (which would
    /// show them back): only `import-children --cpr-secret-file` takes them.
    CprNotHere,
}

pub type Problem = sheet::Problem<Fault>;

impl Fault {
    pub fn text(&self, language: Language) -> String {
        let say = |key: &str, values: &[(&str, &str)]| say(language, key, values);
        match self {
            Fault::Sheet(fault) => fault.text(language, &COLUMNS),
            Fault::NameEmpty => say("name_empty", &[]),
            Fault::NameTooLong => say("name_too_long", &[("max", &MAX_NAME.to_string())]),
            Fault::NameControl => say("name_control", &[]),
            Fault::Date { text, fault } => fault.text(language, text),
            Fault::BornInFuture { text } => say("born_in_future", &[("text", text)]),
            Fault::EmailInvalid { text } => say("email_invalid", &[("text", text)]),
            Fault::PayerWithoutName => say("payer_without_name", &[]),
            Fault::NoBalance => say("no_balance", &[]),
            Fault::CprInvalid => say("cpr_invalid", &[]),
            Fault::CprWithoutName => say("cpr_without_name", &[]),
            Fault::CprNotHere => say("cpr_not_here", &[]),
        }
    }
}

/// The text under `ledger_import.KEY`, filled; Danish where the language
/// has none.
pub fn say(language: Language, key: &str, values: &[(&str, &str)]) -> String {
    let key = format!("ledger_import.{key}");
    let template = language
        .text(&key)
        .or_else(|| Language::DA.text(&key))
        .unwrap_or(&key);
    fill(template, values)
}

/// One checked line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub line: u64,
    pub enrolment: Enrolment,
}

/// Why nothing of a file can be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Sheet(SheetError),
    /// Every problem of every line, so one round of fixing is enough.
    #[error("{} problems", .0.len())]
    Invalid(Vec<Problem>),
}

impl ImportError {
    /// Each problem on its own line (for a page's list), in `language`.
    pub fn lines(&self, language: Language, file: &str) -> Vec<String> {
        match self {
            ImportError::Sheet(SheetError::Header(problems)) => problems
                .iter()
                .map(|p| p.message(language, file, &p.fault.text(language, &COLUMNS)))
                .collect(),
            ImportError::Sheet(e) => vec![e.message(language, file, &COLUMNS)],
            ImportError::Invalid(problems) => problems
                .iter()
                .map(|p| p.message(language, file, &p.fault.text(language)))
                .collect(),
        }
    }

    /// All of it, for the command line.
    pub fn message(&self, language: Language, file: &str) -> String {
        let lines = self.lines(language, file);
        let mut out = say(
            language,
            "problems",
            &[("count", &lines.len().to_string()), ("file", file)],
        );
        for line in lines {
            out.push_str("\n  ");
            out.push_str(&line);
        }
        out
    }
}

/// The file's SHA-256 in hex: what the office's confirmation carries, and
/// what the log keeps of the file.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// The import's own log row's source: the file's name and digest.
pub fn source(file: &str, bytes: &[u8]) -> serde_json::Value {
    serde_json::json!({ "file": file, "sha256": digest(bytes) })
}

/// The enrolments of checked rows, in the file's order.
pub fn enrolments(rows: &[ImportRow]) -> Vec<Enrolment> {
    rows.iter().map(|r| r.enrolment.clone()).collect()
}

/// Reads and checks the whole file (bytes as saved: see
/// [`sheet::decode`]); `today` in the clubs' time zone, for birth dates.
/// `cpr`: the secret custody holders' CPR numbers are hashed with; None:
/// a CPR cell is refused.
pub fn parse(
    bytes: &[u8],
    today: NaiveDate,
    cpr: Option<&CprKey>,
) -> Result<Vec<ImportRow>, ImportError> {
    parse_text(&canonical(bytes), today, cpr)
}

/// The file's text with every line ending `\n`: what the office's page
/// shows and carries to its confirmation (a browser sends a form's line
/// breaks as CRLF), so that the confirmed text is the one checked.
pub fn canonical(bytes: &[u8]) -> String {
    sheet::decode(bytes)
        .replace("\r\n", "\n")
        .replace('\r', "\n")
}

/// [`parse`] of a [`canonical`] text.
pub fn parse_text(
    text: &str,
    today: NaiveDate,
    cpr: Option<&CprKey>,
) -> Result<Vec<ImportRow>, ImportError> {
    let sheet = Sheet::read(text, &COLUMNS).map_err(ImportError::Sheet)?;
    if sheet.has(OPENING_BALANCE) {
        return Err(ImportError::Invalid(vec![Problem {
            line: sheet.header_line(),
            column: None,
            fault: Fault::NoBalance,
        }]));
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for row in sheet.rows() {
        match row {
            Err(problem) => problems.push(problem.map(Fault::Sheet)),
            Ok(row) => match check(|key| row.cell(key), today, cpr) {
                Ok(enrolment) => rows.push(ImportRow {
                    line: row.line,
                    enrolment,
                }),
                Err(faults) => problems.extend(
                    faults
                        .into_iter()
                        .map(|(key, fault)| row.problem(key, fault)),
                ),
            },
        }
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(ImportError::Invalid(problems))
    }
}

/// One child from its fields (`cell` by column key, empty for none): the
/// import's row and the office's form alike. Every fault, with its column.
pub fn check<'a>(
    cell: impl Fn(&str) -> &'a str,
    today: NaiveDate,
    cpr: Option<&CprKey>,
) -> Result<Enrolment, Vec<(&'static str, Fault)>> {
    let mut faults = Vec::new();
    let name = person_name(cell(NAME)).unwrap_or_else(|fault| {
        faults.push((NAME, fault));
        String::new()
    });
    let birth_text = cell(BIRTH_DATE).trim();
    let birth_date = if birth_text.is_empty() {
        None
    } else {
        match sheet::read_date(birth_text) {
            Ok(day) if day > today => {
                faults.push((
                    BIRTH_DATE,
                    Fault::BornInFuture {
                        text: birth_text.to_string(),
                    },
                ));
                None
            }
            Ok(day) => Some(day),
            Err(fault) => {
                faults.push((
                    BIRTH_DATE,
                    Fault::Date {
                        text: birth_text.to_string(),
                        fault,
                    },
                ));
                None
            }
        }
    };
    let mut payers = Vec::new();
    for ((name_key, email_key), cpr_key) in PAYERS.into_iter().zip(CUSTODY) {
        let custody = cell(cpr_key).trim();
        match payer(cell(name_key), cell(email_key)) {
            Ok(None) if !custody.is_empty() => faults.push((cpr_key, Fault::CprWithoutName)),
            Ok(Some(mut found)) if !custody.is_empty() => {
                match (cpr, Cpr::parse(custody)) {
                    (None, _) => faults.push((cpr_key, Fault::CprNotHere)),
                    (Some(_), None) => faults.push((cpr_key, Fault::CprInvalid)),
                    (Some(key), Some(number)) => found.custody = Some(key.hash(&number)),
                }
                payers.push(found);
            }
            Ok(found) => payers.extend(found),
            Err(wrong) => faults.extend(wrong.into_iter().map(|(field, fault)| {
                let key = match field {
                    PayerField::Name => name_key,
                    PayerField::Email => email_key,
                };
                (key, fault)
            })),
        }
    }
    if faults.is_empty() {
        Ok(Enrolment {
            name,
            birth_date,
            payers,
        })
    } else {
        Err(faults)
    }
}

/// Which of a payer's two fields a fault is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayerField {
    Name,
    Email,
}

/// A payer from a name and an e-mail as typed (a file's cells, the
/// office's form): none if both are empty; an e-mail needs a name.
pub fn payer(name: &str, email: &str) -> Result<Option<NewPayer>, Vec<(PayerField, Fault)>> {
    let (name, email) = (name.trim(), email.trim());
    let mut faults = Vec::new();
    let email = if email.is_empty() {
        None
    } else if is_email(email) {
        Some(email.to_string())
    } else {
        faults.push((
            PayerField::Email,
            Fault::EmailInvalid {
                text: email.to_string(),
            },
        ));
        None
    };
    let name = if name.is_empty() {
        if email.is_some() || !faults.is_empty() {
            faults.push((PayerField::Name, Fault::PayerWithoutName));
        }
        None
    } else {
        person_name(name)
            .map_err(|fault| faults.push((PayerField::Name, fault)))
            .ok()
    };
    match (faults.is_empty(), name) {
        (true, Some(name)) => Ok(Some(NewPayer {
            name,
            email,
            custody: None,
        })),
        (true, None) => Ok(None),
        (false, _) => Err(faults),
    }
}

/// A child's or a payer's name: trimmed, 1 to [`MAX_NAME`] characters, no
/// line break (it would break every table it is shown in).
fn person_name(text: &str) -> Result<String, Fault> {
    let name = text.trim();
    if name.is_empty() {
        Err(Fault::NameEmpty)
    } else if name.chars().count() > MAX_NAME {
        Err(Fault::NameTooLong)
    } else if name.chars().any(char::is_control) {
        Err(Fault::NameControl)
    } else {
        Ok(name.to_string())
    }
}

/// Something a letter can be sent to: one `@`, a dot in the domain, no
/// spaces. The letter itself (issue 16) is the real check.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= MAX_EMAIL
        && !local.is_empty()
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|part| !part.is_empty())
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
    }

    fn lines(bytes: &[u8]) -> Vec<String> {
        parse(bytes, today(), None)
            .unwrap_err()
            .lines(Language::EN, "f.csv")
    }

    #[test]
    fn a_danish_excel_file_in_windows_1252() {
        let file =
            b"Navn;F\xf8dselsdato;Betaler1_navn;Betaler1_email;Betaler2_navn;Betaler2_email\r\n\
            S\xf8ren \xc6r\xf8;24-12-2015;Mette \xc6r\xf8;mette@example.dk;;\r\n\
            Ida Jensen;;;;Bo Jensen;\r\n";
        let rows = parse(file, today(), None).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[0].enrolment.name, "Søren Ærø");
        assert_eq!(
            rows[0].enrolment.birth_date,
            NaiveDate::from_ymd_opt(2015, 12, 24)
        );
        assert_eq!(
            rows[0].enrolment.payers,
            [NewPayer {
                name: "Mette Ærø".into(),
                email: Some("mette@example.dk".into()),
                custody: None,
            }]
        );
        assert_eq!(
            rows[1].enrolment.payers,
            [NewPayer {
                name: "Bo Jensen".into(),
                email: None,
                custody: None,
            }]
        );
        // English headers, commas, ISO dates.
        let rows = parse(b"name,birth_date\nAlma,2016-01-31\n", today(), None).unwrap();
        assert_eq!(
            rows[0].enrolment.birth_date,
            NaiveDate::from_ymd_opt(2016, 1, 31)
        );
    }

    #[test]
    fn every_mistake_with_its_line() {
        assert_eq!(
            lines(b"navn;fodselsdato\n"),
            [
                "f.csv line 1, column fodselsdato: unknown column (the columns are name, birth_date, payer1_name, payer1_email, payer2_name, payer2_email, payer1_cpr, payer2_cpr, opening_balance)"
            ]
        );
        assert_eq!(
            lines("navn;fødselsdato;betaler1_navn;betaler1_email\n;31-02-2015;;x@y.dk\nBo;24-12-2030;Al;nope\n".as_bytes()),
            [
                "f.csv line 2, column navn: the name is empty",
                "f.csv line 2, column fødselsdato: «31-02-2015» is not a day in the calendar",
                "f.csv line 2, column betaler1_navn: an e-mail needs the payer's name next to it",
                "f.csv line 3, column fødselsdato: «24-12-2030» is after today",
                "f.csv line 3, column betaler1_email: «nope» is not an e-mail address",
            ]
        );
        assert_eq!(
            lines(b"navn;saldo\nBo;1.000,00\n"),
            [
                "f.csv line 1: no balance column: money comes to an account only with a payment (remove the column)"
            ]
        );
        assert!(matches!(
            parse(b"", today(), None),
            Err(ImportError::Sheet(SheetError::Empty))
        ));
    }

    #[test]
    fn a_custody_holders_cpr_number_is_kept_hashed_and_never_said() {
        let key = CprKey::new(&[7; 32]).unwrap();
        let file = "navn,betaler1_navn,betaler1_cpr,betaler2_navn,betaler2_cpr\n\
                    Alma,Mette,010190-1234,Jonas,\n\
                    Bo,,,Mette,0101901234\n";
        let rows = parse(file.as_bytes(), today(), Some(&key)).unwrap();
        let mette = key.hash(&Cpr::parse("0101901234").unwrap());
        assert_eq!(rows[0].enrolment.payers[0].custody, Some(mette.clone()));
        assert_eq!(rows[0].enrolment.payers[1].custody, None);
        assert_eq!(rows[1].enrolment.payers[0].custody, Some(mette));
        // Without the secret (a page's upload), or wrong: refused, and the
        // number is in no message.
        let wrong =
            "navn,betaler1_navn,betaler1_cpr,betaler2_cpr\nAlma,Mette,010190-123,0101901234\n";
        for (text, key) in [(file, None), (wrong, Some(&key))] {
            let said = parse(text.as_bytes(), today(), key)
                .unwrap_err()
                .lines(Language::DA, "f.csv")
                .join("\n");
            assert!(said.contains("CPR"), "{said}");
            assert!(!said.contains("0101") && !said.contains("1234"), "{said}");
        }
    }

    #[test]
    fn every_fault_has_its_words_in_every_language() {
        let faults = [
            Fault::NameEmpty,
            Fault::NameTooLong,
            Fault::NameControl,
            Fault::BornInFuture { text: "x".into() },
            Fault::EmailInvalid { text: "x".into() },
            Fault::PayerWithoutName,
            Fault::NoBalance,
            Fault::CprInvalid,
            Fault::CprWithoutName,
            Fault::CprNotHere,
        ];
        for language in Language::all() {
            for fault in &faults {
                let text = fault.text(language);
                assert!(
                    !text.contains("ledger_import.") && !text.contains('{'),
                    "{language}: {text}"
                );
            }
            let err = ImportError::Invalid(vec![]).message(language, "f");
            assert!(!err.contains('{'), "{err}");
        }
    }

    #[test]
    fn emails() {
        for good in ["a@b.dk", "mette.aero+klub@example.co.uk"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "", "a", "a@b", "@b.dk", "a@@b.dk", "a@b..dk", "a b@c.dk", "a@.dk",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    proptest! {
        /// Any names and dates written the Danish way, in Windows-1252 with
        /// `;`, read back as written, each on its line.
        #[test]
        fn written_files_read_back(
            children in proptest::collection::vec(("[A-Za-zæøåÆØÅ][A-Za-zæøåÆØÅ ]{0,20}", 0i64..9000), 1..30),
        ) {
            let mut text = String::from("Navn;Fødselsdato\r\n");
            let base = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
            for (name, days) in &children {
                let day = base + chrono::Days::new(*days as u64);
                text.push_str(&format!("{name};{}\r\n", day.format("%d-%m-%Y")));
            }
            let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
            let rows = parse(&bytes, today(), None).unwrap();
            prop_assert_eq!(rows.len(), children.len());
            for (i, (row, (name, days))) in rows.iter().zip(&children).enumerate() {
                prop_assert_eq!(row.line, i as u64 + 2);
                prop_assert_eq!(&row.enrolment.name, name.trim());
                prop_assert_eq!(row.enrolment.birth_date, Some(base + chrono::Days::new(*days as u64)));
            }
        }
    }
}
