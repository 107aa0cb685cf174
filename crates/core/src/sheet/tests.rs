use super::*;
use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;

const COLUMNS: [Column; 3] = [
    Column {
        key: "name",
        danish: "navn",
        others: &["barn"],
        required: true,
    },
    Column {
        key: "card_uid",
        danish: "kort",
        others: &["kortnummer"],
        required: false,
    },
    Column {
        key: "opening_balance",
        danish: "saldo",
        others: &[],
        required: false,
    },
];

#[test]
fn danish_and_english_names_in_any_case_and_spelling() {
    for (label, key) in [
        ("name", "name"),
        (" NAVN ", "name"),
        ("Barn", "name"),
        ("Card UID", "card_uid"),
        ("card-uid", "card_uid"),
        ("Kortnummer", "card_uid"),
        ("Saldo", "opening_balance"),
    ] {
        assert_eq!(known(&COLUMNS, label), Some(key), "{label}");
    }
    assert_eq!(known(&COLUMNS, "farve"), None);
}

#[test]
fn a_danish_sheet_with_its_lines() {
    let text = "\u{feff}Navn;Kort\r\nAlma;04E5F6A7\r\n\"Bo\r\nBent\";\r\nIda\r\n";
    let sheet = Sheet::read(text, &COLUMNS).unwrap();
    assert!(sheet.has("card_uid") && !sheet.has("opening_balance"));
    let rows: Vec<_> = sheet.rows().collect();
    let alma = rows[0].as_ref().unwrap();
    assert_eq!(
        (alma.line, alma.cell("name"), alma.cell("card_uid")),
        (2, "Alma", "04E5F6A7")
    );
    assert_eq!(alma.cell("opening_balance"), "");
    assert_eq!(rows[1].as_ref().unwrap().line, 3);
    let short = rows[2].as_ref().unwrap_err();
    assert_eq!(short.line, 5);
    assert_eq!(short.fault, SheetFault::FieldCount { got: 1, want: 2 });
    let p = alma.problem("card_uid", ());
    assert_eq!(p.column.as_deref(), Some("Kort"));
    assert_eq!(
        p.message(Language::EN, "f.csv", "bad"),
        "f.csv line 2, column Kort: bad"
    );
}

#[test]
fn every_header_problem_at_once() {
    let err = Sheet::read("kort,farve,kort\n", &COLUMNS).unwrap_err();
    let SheetError::Header(problems) = &err else {
        panic!("{err:?}")
    };
    let faults: Vec<_> = problems
        .iter()
        .map(|p| (p.column.as_deref().unwrap(), p.fault.clone()))
        .collect();
    assert_eq!(
        faults,
        [
            ("farve", SheetFault::UnknownColumn),
            ("kort", SheetFault::ColumnTwice),
            ("name", SheetFault::ColumnMissing),
        ]
    );
    assert!(
        err.message(Language::DA, "f.csv", &COLUMNS)
            .contains("ukendt kolonne (kolonnerne er navn, kort, saldo)")
    );
    assert_eq!(
        Sheet::read(" \n\n", &COLUMNS).unwrap_err(),
        SheetError::Empty
    );
}

#[test]
fn dates_as_excel_and_iso_write_them() {
    let day = NaiveDate::from_ymd_opt(2015, 12, 24).unwrap();
    for text in [
        "24-12-2015",
        "24.12.2015",
        "24/12/2015",
        "2015-12-24",
        " 24-12-2015 ",
    ] {
        assert_eq!(read_date(text), Ok(day), "{text}");
    }
    assert_eq!(
        read_date("3-5-2015"),
        NaiveDate::from_ymd_opt(2015, 5, 3).ok_or(DateFault::NotADate)
    );
    for text in [
        "",
        "24-12-15",
        "2015/12/24",
        "24-12",
        "24-12-2015-1",
        "a-b-cdef",
        "24 12 2015",
    ] {
        assert_eq!(read_date(text), Err(DateFault::NotADate), "{text}");
    }
    assert_eq!(read_date("31-02-2015"), Err(DateFault::NoSuchDay));
}

#[test]
fn every_fault_has_its_words_in_every_language() {
    for language in Language::all() {
        let mut texts = vec![
            DateFault::NotADate.text(language, "x"),
            DateFault::NoSuchDay.text(language, "x"),
            SheetError::Empty.message(language, "f", &COLUMNS),
            SheetError::Unreadable { detail: "d".into() }.message(language, "f", &COLUMNS),
        ];
        for fault in [
            AmountFault::NotANumber,
            AmountFault::Ambiguous,
            AmountFault::TooPrecise,
            AmountFault::TooLarge,
        ] {
            texts.push(fault.text(language, "1.500"));
        }
        for fault in [
            SheetFault::UnknownColumn,
            SheetFault::ColumnTwice,
            SheetFault::ColumnMissing,
            SheetFault::FieldCount { got: 1, want: 2 },
        ] {
            texts.push(fault.text(language, &COLUMNS));
        }
        for text in texts {
            assert!(
                !text.contains("sheet.") && !text.contains('{'),
                "{language}: {text}"
            );
        }
    }
}

/// A cell as a spreadsheet writes it: quoted when it holds the separator,
/// a quote or a line break.
fn cell(text: &str, separator: char) -> String {
    if text.contains([separator, '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

proptest! {
    /// Whatever the names, written with either separator, Windows or Unix
    /// line ends, with or without a byte-order mark, each reads back on
    /// its line.
    #[test]
    fn written_sheets_read_back(
        names in proptest::collection::vec("[a-zA-ZæøåÆØÅ ,;\"]{1,12}", 1..20),
        semicolon: bool,
        crlf: bool,
        bom: bool,
    ) {
        let separator = if semicolon { ';' } else { ',' };
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = String::from(if bom { "\u{feff}" } else { "" });
        text.push_str(&format!("navn{separator}saldo{end}"));
        for (i, name) in names.iter().enumerate() {
            text.push_str(&format!("{}{separator}{}{end}", cell(name, separator), cell(&format!("{i},50"), separator)));
        }
        let sheet = Sheet::read(&text, &COLUMNS).unwrap();
        let rows: Vec<_> = sheet.rows().map(Result::unwrap).collect();
        prop_assert_eq!(rows.len(), names.len());
        for (i, (row, name)) in rows.iter().zip(&names).enumerate() {
            prop_assert_eq!(row.cell("name"), name.trim());
            prop_assert_eq!(row.line, i as u64 + 2);
            prop_assert_eq!(read_amount(row.cell("opening_balance")).map(|m| m.ore()), Ok(i as i64 * 100 + 50));
        }
    }

    /// Every day written the Danish or the ISO way reads back as itself.
    #[test]
    fn written_dates_read_back(days in 0i64..200_000) {
        let day = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Days::new(days as u64);
        prop_assert_eq!(read_date(&day.format("%d-%m-%Y").to_string()), Ok(day));
        prop_assert_eq!(read_date(&day.format("%d.%m.%Y").to_string()), Ok(day));
        prop_assert_eq!(read_date(&day.format("%Y-%m-%d").to_string()), Ok(day));
        prop_assert_eq!(read_date(&format!("{}-{}-{}", day.day(), day.month(), day.year())), Ok(day));
    }

    /// No text makes the readers panic.
    #[test]
    fn any_text_is_read_or_refused(text in "\\PC{0,40}") {
        let _ = read_date(&text);
        let _ = read_amount(&text);
        if let Ok(sheet) = Sheet::read(&text, &COLUMNS) {
            let _ = sheet.rows().count();
        }
    }
}
