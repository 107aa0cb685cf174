//! A day's report as a table for people (`klubkasse report`) or CSV for
//! spreadsheets (the same command, and the staff screen's export).

use chrono::{Local, NaiveDate};
use unicode_width::UnicodeWidthStr;

use crate::i18n::{Language, ReportTexts, Texts, fill};
use klubkasse_core::domain::{CashCount, DayReport, Money};
use klubkasse_core::people_csv::{Cell, PeopleCsv};

/// The longest bar in the item section, in characters.
const BAR_WIDTH: i64 = 20;
/// Between columns.
const GAP: &str = "  ";
/// Count columns between the name and the amount: items have sold,
/// returned and net; the others use the last one.
const COUNTS: usize = 3;

/// How wide a text looks in a terminal: "Søren" is five columns, even
/// though "ø" is two bytes.
fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

fn pad_right(text: &str, to: usize) -> String {
    format!("{text}{}", " ".repeat(to.saturating_sub(width(text))))
}

fn pad_left(text: &str, to: usize) -> String {
    format!("{}{text}", " ".repeat(to.saturating_sub(width(text))))
}

/// A bar as long as `amount` is of `largest`, rounded; never empty for a
/// positive amount, so a small seller still shows.
fn bar(amount: Money, largest: Money) -> String {
    let (ore, most) = (amount.ore(), largest.ore());
    if ore <= 0 || most <= 0 {
        return String::new();
    }
    let len = (i128::from(ore) * i128::from(BAR_WIDTH) + i128::from(most) / 2) / i128::from(most);
    "█".repeat(usize::try_from(len.clamp(1, i128::from(BAR_WIDTH))).unwrap_or(1))
}

/// One row of the table: a name, count columns, maybe an amount, a bar.
struct Row {
    name: String,
    counts: [String; COUNTS],
    amount: Option<Money>,
    bar: String,
}

impl Row {
    /// A row with one count (in the last count column) or none.
    fn new(name: &str, count: Option<u32>, amount: Option<Money>) -> Row {
        Row {
            name: name.to_string(),
            counts: [
                String::new(),
                String::new(),
                count.map(|c| c.to_string()).unwrap_or_default(),
            ],
            amount,
            bar: String::new(),
        }
    }

    fn cells(&self) -> Vec<String> {
        let mut cells = vec![self.name.clone()];
        cells.extend(self.counts.iter().cloned());
        cells.push(self.amount.map(|a| a.to_string()).unwrap_or_default());
        cells
    }
}

/// A heading, a header row and rows.
struct Section {
    heading: String,
    header: Vec<String>,
    rows: Vec<Row>,
}

/// The time of day a count was made, on this machine's clock.
fn time_of(count: &CashCount) -> String {
    count.at.with_timezone(&Local).format("%H:%M").to_string()
}

/// The money section: cash over this counter, what is expected in the
/// drawer, each count against it, and opening balances apart.
fn money_rows(report: &DayReport, t: &ReportTexts) -> Vec<Row> {
    let mut rows = vec![
        Row::new(
            &t.deposits,
            Some(report.cash_deposits),
            Some(report.cash_deposits_total),
        ),
        Row::new(
            &t.reversals,
            Some(report.reversals),
            Some(-report.reversals_total),
        ),
        Row::new(&t.expected_cash, None, Some(report.expected_cash())),
    ];
    for count in &report.cash_counts {
        let title = fill(&t.cash_count, &[("time", &time_of(count))]);
        rows.push(Row::new(&title, None, None));
        rows.push(Row::new(
            &format!("  {}", t.counted),
            None,
            Some(count.counted),
        ));
        rows.push(Row::new(
            &format!("  {}", t.expected_cash),
            None,
            Some(count.expected),
        ));
        rows.push(Row::new(
            &format!("  {}", t.difference),
            None,
            Some(count.difference()),
        ));
    }
    rows.push(Row::new(
        &t.openings,
        Some(report.openings),
        Some(report.openings_total),
    ));
    rows
}

/// Whether the day moved money at all, beyond sales.
fn has_money(report: &DayReport) -> bool {
    report.cash_deposits + report.reversals + report.openings > 0 || !report.cash_counts.is_empty()
}

/// The day report as a plain-text table: per item, per child, totals,
/// money. All sections share their columns, so amounts line up.
pub fn report_text(report: &DayReport, date: NaiveDate, lang: Language) -> String {
    let t = &Texts::of(lang).report;
    let title = fill(&t.title, &[("date", &date.format("%Y-%m-%d").to_string())]);
    let mut out = format!("{title}\n{}\n", "=".repeat(width(&title)));

    let empty = report.items.is_empty() && report.children.is_empty();
    let mut sections: Vec<Section> = Vec::new();
    if !empty {
        let largest = report
            .items
            .iter()
            .map(|i| i.net_amount())
            .max()
            .unwrap_or(Money::ZERO);
        sections.push(Section {
            heading: t.items.clone(),
            header: vec![
                t.item.clone(),
                t.sold.clone(),
                t.returned.clone(),
                t.net_quantity.clone(),
                t.amount.clone(),
            ],
            rows: report
                .items
                .iter()
                .map(|i| Row {
                    name: i.name.clone(),
                    counts: [
                        i.sold.to_string(),
                        i.refunded.to_string(),
                        i.net_quantity().to_string(),
                    ],
                    amount: Some(i.net_amount()),
                    bar: bar(i.net_amount(), largest),
                })
                .collect(),
        });
        sections.push(Section {
            heading: t.children.clone(),
            header: vec![
                t.child.clone(),
                String::new(),
                String::new(),
                t.sales.clone(),
                t.amount.clone(),
            ],
            rows: report
                .children
                .iter()
                .map(|c| Row::new(&c.name, Some(c.sales), Some(c.amount)))
                .collect(),
        });
        sections.push(Section {
            heading: String::new(),
            header: Vec::new(),
            rows: vec![
                Row::new(&t.sales_total, Some(report.sales), Some(report.sales_total)),
                Row::new(&t.refunds, Some(report.refunds), Some(report.refunds_total)),
                Row::new(&t.net, None, Some(report.net())),
            ],
        });
    }
    // Cash is worth knowing even on a day without sales.
    if !empty || has_money(report) {
        sections.push(Section {
            heading: t.money.clone(),
            header: Vec::new(),
            rows: money_rows(report, t),
        });
    }

    // Column widths over every row and header, so all sections align.
    let mut widths = [0usize; COUNTS + 2];
    for section in &sections {
        let cells = section.rows.iter().map(Row::cells);
        for row in cells.chain([section.header.clone()]) {
            for (w, cell) in widths.iter_mut().zip(&row) {
                *w = (*w).max(width(cell));
            }
        }
    }
    let line = |cells: &[String], bar: &str| {
        let mut text = pad_right(&cells[0], widths[0]);
        for (cell, w) in cells[1..].iter().zip(&widths[1..]) {
            // An empty count column takes no room in a row without counts.
            text.push_str(GAP);
            text.push_str(&pad_left(cell, *w));
        }
        text.push_str(GAP);
        text.push_str(bar);
        format!("{}\n", text.trim_end())
    };

    if empty {
        out.push('\n');
        out.push_str(&t.no_sales);
        out.push('\n');
    }
    for section in &sections {
        out.push('\n');
        if section.heading.is_empty() {
            let total: usize = widths.iter().sum::<usize>() + (widths.len() - 1) * width(GAP);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        } else {
            out.push_str(&section.heading);
            out.push('\n');
        }
        if !section.header.is_empty() {
            out.push_str(&line(&section.header, ""));
        }
        for row in &section.rows {
            out.push_str(&line(&row.cells(), &row.bar));
        }
    }
    out
}

/// The day report for a spreadsheet (see [`klubkasse_core::people_csv`]): one row
/// per item, child, total and cash count, with the report's own words.
///
/// Columns: date, section, name, sold (or count), returned, amount.
/// Items: sold, returned, net amount. Children: sales not given back, what
/// they paid. Totals: the table's totals and money rows, in its order.
pub fn report_csv(report: &DayReport, date: NaiveDate, lang: Language) -> String {
    let t = &Texts::of(lang).report;
    let date = date.format("%Y-%m-%d").to_string();
    let mut csv = PeopleCsv::new();
    csv.row(&[
        Cell::Text(&t.date),
        Cell::Text(&t.section),
        Cell::Text(&t.name),
        Cell::Text(&t.quantity),
        Cell::Text(&t.returned),
        Cell::Text(&t.amount),
    ]);
    let row = |csv: &mut PeopleCsv, section: &str, name: &str, count: Cell, back: Cell, amount| {
        csv.row(&[
            Cell::Text(&date),
            Cell::Text(section),
            Cell::Text(name),
            count,
            back,
            Cell::Amount(amount),
        ])
    };
    let n = |v: u32| Cell::Count(i64::from(v));
    for item in &report.items {
        row(
            &mut csv,
            &t.item,
            &item.name,
            n(item.sold),
            n(item.refunded),
            item.net_amount(),
        );
    }
    for child in &report.children {
        row(
            &mut csv,
            &t.child,
            &child.name,
            n(child.sales),
            Cell::Empty,
            child.amount,
        );
    }
    let totals = [
        (&t.sales_total, Some(report.sales), report.sales_total),
        (&t.refunds, Some(report.refunds), report.refunds_total),
        (&t.net, None, report.net()),
        (
            &t.deposits,
            Some(report.cash_deposits),
            report.cash_deposits_total,
        ),
        (
            &t.reversals,
            Some(report.reversals),
            -report.reversals_total,
        ),
        (&t.expected_cash, None, report.expected_cash()),
        (&t.openings, Some(report.openings), report.openings_total),
    ];
    for (name, count, amount) in totals {
        let count = count.map_or(Cell::Empty, n);
        row(&mut csv, &t.total, name, count, Cell::Empty, amount);
    }
    for count in &report.cash_counts {
        let title = fill(&t.cash_count, &[("time", &time_of(count))]);
        for (what, amount) in [
            (&t.counted, count.counted),
            (&t.expected_cash, count.expected),
            (&t.difference, count.difference()),
        ] {
            row(&mut csv, &title, what, Cell::Empty, Cell::Empty, amount);
        }
    }
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::import::import_children_csv;
    use crate::store::Store;
    use crate::store::{Recorded, day_bounds};
    use chrono::{DateTime, Duration, Utc};
    use klubkasse_core::domain::{CardUid, Connection, Entry, SaleLine};
    use std::path::Path;
    use tempfile::TempDir;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 14).unwrap()
    }

    /// An instant on the report's day, `minutes` after 10:00 local time.
    fn at(minutes: i64) -> DateTime<Utc> {
        day_bounds(day()).0 + Duration::hours(10) + Duration::minutes(minutes)
    }

    fn line(name: &str, ore: i64, quantity: u32) -> SaleLine {
        SaleLine {
            name: name.into(),
            category: "mad".into(),
            unit_price: Money::from_ore(ore),
            quantity,
        }
    }

    fn sell(store: &Store, card: &str, lines: Vec<SaleLine>, minutes: i64) -> Entry {
        let uid = CardUid::parse(card).unwrap();
        let child = store.card(&uid).unwrap().unwrap().child;
        let sale = Entry::sale(child, uid, lines, "disk-1", at(minutes));
        let recorded = store.record_sale(&sale, Connection::Standalone).unwrap();
        assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
        sale
    }

    /// A day with sales to three children, one refund and some deposits,
    /// plus a sale the day before that must not show.
    fn busy_day(dir: &Path) -> Store {
        let store = Store::open(dir).unwrap();
        let children = "name,card_uid,opening_balance\n\
                        Freja Nielsen,04A1B2C3,1234.50\n\
                        Søren Ærø Østergård,04112233445566,100\n\
                        Bo,04B2C3D4,20\n";
        import_children_csv(&store, children, Path::new("c.csv"), "kontor", at(0)).unwrap();
        let yesterday = Entry::sale(
            store
                .card(&CardUid::parse("04B2C3D4").unwrap())
                .unwrap()
                .unwrap()
                .child,
            CardUid::parse("04B2C3D4").unwrap(),
            vec![line("Toast", 1200, 1)],
            "disk-1",
            at(0) - Duration::days(1),
        );
        store
            .record_sale(&yesterday, Connection::Standalone)
            .unwrap();
        sell(
            &store,
            "04A1B2C3",
            vec![line("Toast", 1200, 2), line("Saft", 500, 1)],
            5,
        );
        sell(&store, "04112233445566", vec![line("Toast", 1200, 1)], 6);
        let refunded = sell(&store, "04112233445566", vec![line("Kakao", 850, 1)], 7);
        store.refund(refunded.id, "disk-1", at(8), false).unwrap();
        sell(&store, "04B2C3D4", vec![line("Æblesaft", 750, 1)], 9);
        store
    }

    /// Whether a line of `text` has these words, however spaced.
    fn has_line(text: &str, words: &str) -> bool {
        let words: Vec<&str> = words.split_whitespace().collect();
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == words)
    }

    #[test]
    fn danish_table() {
        let tmp = TempDir::new().unwrap();
        let store = busy_day(tmp.path());
        let report = store.day_report(day()).unwrap();
        let text = report_text(&report, day(), Language::DA);
        insta::assert_snapshot!(text);

        assert!(text.contains("Salg i alt"));
        // The import's opening balances are not cash at this counter.
        assert!(
            has_line(&text, "Startsaldi fra import (ikke kontant) 3 1.354,50 kr."),
            "{text}"
        );
        assert!(text.contains("Kontant indbetalt her"), "{text}");
        // 24 + 5 + 12 + 8,50 + 7,50 sold, 8,50 back.
        assert_eq!(report.sales_total, Money::from_ore(5700));
        assert!(text.contains("57,00 kr.") && text.contains("48,50 kr."));
        // The refunded cocoa is sold 1, returned 1, net nothing.
        assert!(text.contains("Kakao"), "{text}");
        let kakao = text.lines().find(|l| l.starts_with("Kakao")).unwrap();
        assert_eq!(
            kakao.split_whitespace().collect::<Vec<_>>(),
            ["Kakao", "1", "1", "0", "0,00", "kr."]
        );

        // Every amount ends in the same terminal column, whatever the
        // letters before it.
        let ends: Vec<usize> = text
            .lines()
            .filter_map(|l| l.find("kr.").map(|i| width(&l[..i + 3])))
            .collect();
        assert_eq!(ends.len(), 4 + 3 + 3 + 4);
        assert!(ends.iter().all(|&e| e == ends[0]), "{text}");
        // The biggest seller has the full bar; Kakao, net nothing, none.
        let bars: Vec<usize> = text.lines().map(|l| l.matches('█').count()).collect();
        assert_eq!(bars.iter().max(), Some(&20));
        assert_eq!(bars.iter().filter(|&&b| b > 0).count(), 3);
    }

    #[test]
    fn english_and_empty_day() {
        let tmp = TempDir::new().unwrap();
        let store = busy_day(tmp.path());
        let report = store.day_report(day()).unwrap();
        let text = report_text(&report, day(), Language::EN);
        assert!(text.starts_with("Day report 2025-03-14\n"));
        assert!(text.contains("Sales in total") && text.contains("Søren Ærø Østergård"));

        let quiet = day().succ_opt().unwrap();
        let empty = store.day_report(quiet).unwrap();
        assert_eq!(
            report_text(&empty, quiet, Language::DA),
            "Dagsrapport 2025-03-15\n======================\n\nIngen salg denne dag.\n"
        );
        // Cash without sales still shows, with what the drawer should hold.
        let deposits_only = DayReport {
            cash_deposits: 1,
            cash_deposits_total: Money::kroner(50),
            ..DayReport::default()
        };
        let text = report_text(&deposits_only, quiet, Language::DA);
        assert!(text.contains("Ingen salg denne dag.\n\nPenge\n"), "{text}");
        assert!(
            has_line(&text, "Kontant indbetalt her 1 50,00 kr."),
            "{text}"
        );
        assert!(
            has_line(&text, "Forventet kontant i kassen 50,00 kr."),
            "{text}"
        );
    }

    /// A top-up, a reversal and a cash count show in the money section.
    #[test]
    fn cash_count_and_reversal_in_the_report() {
        let tmp = TempDir::new().unwrap();
        let store = busy_day(tmp.path());
        let child = store
            .card(&CardUid::parse("04B2C3D4").unwrap())
            .unwrap()
            .unwrap()
            .child;
        store
            .deposit(child, Money::kroner(200), "disk-1", at(20))
            .unwrap();
        let wrong = Entry::new(
            child,
            klubkasse_core::domain::EntryKind::Deposit,
            Money::kroner(2),
            "disk-1",
            at(21),
        );
        store.record_entry(&wrong).unwrap();
        store.reverse_deposit(wrong.id, "disk-1", at(22)).unwrap();
        store
            .record_cash_count(Money::kroner(190), "disk-1", at(30))
            .unwrap();
        let report = store.day_report(day()).unwrap();
        assert_eq!(report.expected_cash(), Money::kroner(200));
        assert_eq!(
            report.last_count().unwrap().difference(),
            Money::kroner(-10)
        );
        let text = report_text(&report, day(), Language::DA);
        for shown in [
            "Kontant indbetalt her",
            "Indbetalinger tilbageført",
            "-2,00 kr.",
            "Kasseoptælling kl. ",
            "Optalt",
            "190,00 kr.",
            "-10,00 kr.",
        ] {
            assert!(text.contains(shown), "{shown}: {text}");
        }
    }

    #[test]
    fn csv_reads_back_in_danish_excel_and_sums() {
        use klubkasse_core::people_csv::{danish_number, read_as_danish_excel};
        let tmp = TempDir::new().unwrap();
        let store = busy_day(tmp.path());
        let report = store.day_report(day()).unwrap();
        let text = report_csv(&report, day(), Language::DA);
        let rows = read_as_danish_excel(&text).unwrap();
        assert_eq!(
            rows[0],
            ["Dato", "Afsnit", "Navn", "Antal", "Retur", "Beløb"]
        );
        let rows = &rows[1..];
        assert!(rows.iter().all(|r| r[0] == "2025-03-14"));
        let amount = |r: &Vec<String>| danish_number(&r[5]).unwrap_or_else(|| panic!("{r:?}"));
        let sum =
            |section: &str| -> Money { rows.iter().filter(|r| r[1] == section).map(amount).sum() };
        let total = |name: &str| {
            let row = rows
                .iter()
                .find(|r| r[1] == "I alt" && r[2] == name)
                .unwrap();
            (row[3].clone(), amount(row))
        };
        // Items are net of what came back; so are the children.
        assert_eq!(
            total("Salg i alt (før retur)"),
            ("4".into(), Money::from_ore(5700))
        );
        assert_eq!(total("Tilbagebetalt"), ("1".into(), Money::from_ore(850)));
        assert_eq!(total("Solgt netto").1, sum("Vare"));
        assert_eq!(total("Solgt netto").1, sum("Barn"));
        assert_eq!(total("Solgt netto").1, Money::from_ore(4850));
        assert_eq!(
            total("Startsaldi fra import (ikke kontant)").1,
            Money::from_ore(135450)
        );
        assert_eq!(total("Kontant indbetalt her"), ("0".into(), Money::ZERO));
        // Decimal comma, no thousands dot, no currency.
        assert!(
            text.contains(";I alt;Startsaldi fra import (ikke kontant);3;;1354,50\r\n"),
            "{text}"
        );
        let soren = rows.iter().find(|r| r[2] == "Søren Ærø Østergård").unwrap();
        assert_eq!((&*soren[1], &*soren[3], &*soren[5]), ("Barn", "1", "12,00"));
        let toast = rows.iter().find(|r| r[2] == "Toast").unwrap();
        assert_eq!((&*toast[3], &*toast[4], &*toast[5]), ("3", "0", "36,00"));
        let kakao = rows.iter().find(|r| r[2] == "Kakao").unwrap();
        assert_eq!((&*kakao[3], &*kakao[4], &*kakao[5]), ("1", "1", "0,00"));
    }

    /// A child whose name a spreadsheet would run as a formula.
    #[test]
    fn csv_names_are_never_formulas() {
        use klubkasse_core::people_csv::read_as_danish_excel;
        let report = DayReport {
            children: vec![klubkasse_core::domain::ChildTotal {
                name: "=HYPERLINK(\"http://x\";\"ok\")".into(),
                sales: 1,
                amount: Money::kroner(5),
            }],
            ..DayReport::default()
        };
        let rows = read_as_danish_excel(&report_csv(&report, day(), Language::DA)).unwrap();
        assert_eq!(rows[1][2], "'=HYPERLINK(\"http://x\";\"ok\")");
    }
}
