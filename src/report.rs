//! A day's sales as a table for people (`klubkasse report`) or CSV for
//! spreadsheets (the same command, and the staff screen's export).

use chrono::NaiveDate;
use unicode_width::UnicodeWidthStr;

use crate::i18n::{Language, Texts, fill};
use klubkasse_core::domain::{DayReport, Money};

/// The longest bar in the item section, in characters.
const BAR_WIDTH: i64 = 20;
/// Between columns.
const GAP: &str = "  ";

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
/// non-zero amount, so a small seller still shows.
fn bar(amount: Money, largest: Money) -> String {
    let (ore, most) = (amount.ore(), largest.ore());
    if ore <= 0 || most <= 0 {
        return String::new();
    }
    let len = (i128::from(ore) * i128::from(BAR_WIDTH) + i128::from(most) / 2) / i128::from(most);
    "█".repeat(usize::try_from(len.clamp(1, i128::from(BAR_WIDTH))).unwrap_or(1))
}

/// One row of the table: a name, maybe a count, maybe an amount, maybe a bar.
struct Row {
    name: String,
    count: Option<u32>,
    amount: Option<Money>,
    bar: String,
}

impl Row {
    fn cells(&self) -> [String; 3] {
        [
            self.name.clone(),
            self.count.map(|c| c.to_string()).unwrap_or_default(),
            self.amount.map(|a| a.to_string()).unwrap_or_default(),
        ]
    }

    fn new(name: &str, count: Option<u32>, amount: Option<Money>) -> Row {
        Row {
            name: name.to_string(),
            count,
            amount,
            bar: String::new(),
        }
    }
}

/// A heading, a header row (name, count, amount) and rows.
struct Section<'a> {
    heading: &'a str,
    header: [&'a String; 3],
    rows: Vec<Row>,
}

/// The day report as a plain-text table: per item, per child, totals. All
/// sections share their columns, so the amounts line up down the page.
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
            .map(|i| i.amount)
            .max()
            .unwrap_or(Money::ZERO);
        sections.push(Section {
            heading: &t.items,
            header: [&t.item, &t.quantity, &t.amount],
            rows: report
                .items
                .iter()
                .map(|i| Row {
                    bar: bar(i.amount, largest),
                    ..Row::new(&i.name, Some(i.quantity), Some(i.amount))
                })
                .collect(),
        });
        sections.push(Section {
            heading: &t.children,
            header: [&t.child, &t.sales, &t.amount],
            rows: report
                .children
                .iter()
                .map(|c| Row::new(&c.name, Some(c.sales), Some(c.amount)))
                .collect(),
        });
    }
    let mut totals = Vec::new();
    if !empty {
        totals.push(Row::new(
            &t.sales_total,
            Some(report.sales),
            Some(report.sales_total),
        ));
        totals.push(Row::new(
            &t.refunds,
            Some(report.refunds),
            Some(report.refunds_total),
        ));
        totals.push(Row::new(&t.net, None, Some(report.net())));
    }
    // Cash paid in is worth knowing even on a day without sales.
    if !empty || report.deposits_total != Money::ZERO {
        totals.push(Row::new(&t.deposits, None, Some(report.deposits_total)));
    }

    // Column widths over every row and header, so all sections align.
    let mut widths = [0usize; 3];
    let rows = sections.iter().flat_map(|s| &s.rows).chain(&totals);
    for row in rows {
        let [name, count, amount] = row.cells();
        for (w, cell) in widths.iter_mut().zip([&name, &count, &amount]) {
            *w = (*w).max(width(cell));
        }
    }
    for section in &sections {
        for (w, cell) in widths.iter_mut().zip(section.header) {
            *w = (*w).max(width(cell));
        }
    }
    let [name_w, count_w, amount_w] = widths;
    let line = |[name, count, amount]: [&str; 3], bar: &str| {
        let text = format!(
            "{}{GAP}{}{GAP}{}{GAP}{bar}",
            pad_right(name, name_w),
            pad_left(count, count_w),
            pad_left(amount, amount_w),
        );
        format!("{}\n", text.trim_end())
    };
    let row_line = |row: &Row| {
        let [name, count, amount] = row.cells();
        line([&name, &count, &amount], &row.bar)
    };

    if empty {
        out.push('\n');
        out.push_str(&t.no_sales);
        out.push('\n');
    }
    for section in &sections {
        out.push('\n');
        out.push_str(section.heading);
        out.push('\n');
        out.push_str(&line(section.header.map(String::as_str), ""));
        for row in &section.rows {
            out.push_str(&row_line(row));
        }
    }
    if !totals.is_empty() {
        out.push('\n');
        if !empty {
            out.push_str(&"-".repeat(name_w + count_w + amount_w + 2 * width(GAP)));
            out.push('\n');
        }
        for row in &totals {
            out.push_str(&row_line(row));
        }
    }
    out
}

/// The day report for a spreadsheet: one row per item, per child and per
/// total; amounts with a decimal point and no currency, so they sum.
///
/// Columns: `date,section,name,quantity,count,amount`. `section` is `item`
/// (with `quantity`), `child` (with `count` = number of sales) or `total`
/// with `name` one of `sales_total` (count = sales), `refunds` (count =
/// refunds), `net`, `deposits`.
pub fn report_csv(report: &DayReport, date: NaiveDate) -> Result<String, csv::Error> {
    let date = date.format("%Y-%m-%d").to_string();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["date", "section", "name", "quantity", "count", "amount"])?;
    let n = |v: u32| v.to_string();
    for item in &report.items {
        w.write_record([
            date.as_str(),
            "item",
            &item.name,
            &n(item.quantity),
            "",
            &item.amount.to_plain_string(),
        ])?;
    }
    for child in &report.children {
        w.write_record([
            date.as_str(),
            "child",
            &child.name,
            "",
            &n(child.sales),
            &child.amount.to_plain_string(),
        ])?;
    }
    let totals = [
        ("sales_total", Some(report.sales), report.sales_total),
        ("refunds", Some(report.refunds), report.refunds_total),
        ("net", None, report.net()),
        ("deposits", None, report.deposits_total),
    ];
    for (name, count, amount) in totals {
        w.write_record([
            date.as_str(),
            "total",
            name,
            "",
            &count.map(n).unwrap_or_default(),
            &amount.to_plain_string(),
        ])?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    // Every field came from a `String`, so the bytes are UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
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

    #[test]
    fn danish_table() {
        let tmp = TempDir::new().unwrap();
        let store = busy_day(tmp.path());
        let report = store.day_report(day()).unwrap();
        let text = report_text(&report, day(), Language::DA);
        insta::assert_snapshot!(text);

        assert!(text.contains("Solgt i alt"));
        assert!(text.contains("1.354,50 kr."), "deposits: {text}");
        // 24 + 5 + 12 + 8,50 + 7,50 sold, 8,50 back.
        assert_eq!(report.sales_total, Money::from_ore(5700));
        assert!(text.contains("57,00 kr.") && text.contains("48,50 kr."));

        // Every amount ends in the same terminal column, whatever the
        // letters before it.
        let ends: Vec<usize> = text
            .lines()
            .filter_map(|l| l.find("kr.").map(|i| width(&l[..i + 3])))
            .collect();
        assert_eq!(ends.len(), 4 + 3 + 4);
        assert!(ends.iter().all(|&e| e == ends[0]), "{text}");
        // The biggest seller has the full bar, the others less.
        let bars: Vec<usize> = text.lines().map(|l| l.matches('█').count()).collect();
        assert_eq!(bars.iter().max(), Some(&20));
        assert_eq!(bars.iter().filter(|&&b| b > 0).count(), 4);
    }

    #[test]
    fn english_and_empty_day() {
        let tmp = TempDir::new().unwrap();
        let store = busy_day(tmp.path());
        let report = store.day_report(day()).unwrap();
        let text = report_text(&report, day(), Language::EN);
        assert!(text.starts_with("Day report 2025-03-14\n"));
        assert!(text.contains("Sold in total") && text.contains("Søren Ærø Østergård"));

        let quiet = day().succ_opt().unwrap();
        let empty = store.day_report(quiet).unwrap();
        assert_eq!(
            report_text(&empty, quiet, Language::DA),
            "Dagsrapport 2025-03-15\n======================\n\nIngen salg denne dag.\n"
        );
        // Deposits without sales still show.
        let deposits_only = DayReport {
            deposits_total: Money::kroner(50),
            ..DayReport::default()
        };
        let text = report_text(&deposits_only, quiet, Language::DA);
        assert!(
            text.ends_with("Ingen salg denne dag.\n\nIndbetalt    50,00 kr.\n"),
            "{text}"
        );
    }

    #[test]
    fn csv_reads_back_and_sums() {
        let tmp = TempDir::new().unwrap();
        let store = busy_day(tmp.path());
        let report = store.day_report(day()).unwrap();
        let text = report_csv(&report, day()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap(),
            vec!["date", "section", "name", "quantity", "count", "amount"]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert!(rows.iter().all(|r| &r[0] == "2025-03-14"));
        let amount = |r: &csv::StringRecord| Money::parse(&r[5]).unwrap();
        let sum =
            |section: &str| -> Money { rows.iter().filter(|r| &r[1] == section).map(amount).sum() };
        let total = |name: &str| {
            let row = rows
                .iter()
                .find(|r| &r[1] == "total" && &r[2] == name)
                .unwrap();
            (row[4].to_string(), amount(row))
        };
        // Items are what was sold; children pay net of refunds.
        assert_eq!(total("sales_total"), ("4".into(), sum("item")));
        assert_eq!(total("refunds"), ("1".into(), Money::from_ore(850)));
        assert_eq!(total("net").1, sum("child"));
        assert_eq!(total("net").1, Money::from_ore(4850));
        assert_eq!(total("deposits").1, Money::from_ore(135450));
        // Plain decimals with a dot, no currency, no thousands separator.
        assert!(text.contains(",total,deposits,,,1354.50\n"), "{text}");
        let soren = rows
            .iter()
            .find(|r| &r[2] == "Søren Ærø Østergård")
            .unwrap();
        assert_eq!((&soren[1], &soren[4], &soren[5]), ("child", "2", "12.00"));
        let toast = rows.iter().find(|r| &r[2] == "Toast").unwrap();
        assert_eq!((&toast[3], &toast[5]), ("3", "36.00"));
    }
}
