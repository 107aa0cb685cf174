//! The office's reports: a day or a month, every club or one; what sold
//! per item and price, the totals per club, counter and kind, charts of
//! the same, and each table as CSV for Danish Excel (the API's CSV is
//! this one too: [`csv`]).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::api::{ItemRow, Report, ReportTable};
use crate::db::{self, portal as queries, reports};
use crate::portal::PortalError;
use crate::portal::layout::{self, Column, Lang};
use crate::portal::session::{Asked, Office};
use klubkasse_core::domain::Money;
use klubkasse_core::people_csv::{Cell, PeopleCsv};

/// What the office asked for, from the page's form (every field may be
/// missing or wrong in a typed address: this month, every club).
#[derive(Debug, Default, Deserialize)]
pub struct Choice {
    /// `day`, or `month` (the default).
    period: Option<String>,
    /// A day in the period, YYYY-MM-DD; today if none.
    date: Option<String>,
    /// One club; none or empty: every club.
    club: Option<String>,
    /// A table as CSV: `items` or `totals`.
    csv: Option<String>,
}

/// A kind of entry as the office says it (a parent's history says
/// "purchase" where the office says "sale"); a kind this build has no
/// word for, as it is stored.
fn kind_text(lang: Lang, kind: &str) -> &str {
    match kind {
        "sale" => lang.t("portal.reports.kind_sale"),
        "refund" => lang.t("portal.reports.kind_refund"),
        "deposit" => lang.t("portal.reports.kind_deposit"),
        "withdrawal" => lang.t("portal.reports.kind_withdrawal"),
        "card_fee" => lang.t("portal.reports.kind_card_fee"),
        "adjustment" => lang.t("portal.reports.kind_adjustment"),
        other => other,
    }
}

/// How a period is written in a file name and a CSV: `2025-03-14` for a
/// day, `2025-03` for a calendar month.
fn period_label(from: NaiveDate, to: NaiveDate) -> String {
    if from == to {
        from.format("%Y-%m-%d").to_string()
    } else if reports::month_of(from) == (from, to) {
        from.format("%Y-%m").to_string()
    } else {
        format!("{}_{}", from.format("%Y-%m-%d"), to.format("%Y-%m-%d"))
    }
}

/// An item as a person reads it: its name, or what a refund of part of a
/// sale is.
fn item_name(lang: Lang, item: &ItemRow) -> &str {
    item.name
        .as_deref()
        .unwrap_or(lang.t("portal.reports.refunds_without_items"))
}

/// The file a table is saved as: `klubkasse-varer-2025-03-solsikken.csv`.
pub fn csv_file_name(lang: Lang, report: &Report, table: ReportTable) -> String {
    let what = match table {
        ReportTable::Items => lang.t("portal.reports.file_items"),
        ReportTable::Totals => lang.t("portal.reports.file_totals"),
    };
    let club = report
        .club
        .as_deref()
        .map(|c| format!("-{c}"))
        .unwrap_or_default();
    format!(
        "klubkasse-{what}-{}{club}.csv",
        period_label(report.from, report.to)
    )
}

/// One table of the report for Danish Excel, in the reader's words, the
/// period in every row (so that months pasted together still say which).
pub fn csv(lang: Lang, report: &Report, table: ReportTable) -> String {
    let period = period_label(report.from, report.to);
    let mut csv = PeopleCsv::new();
    let t = |key| Cell::Text(lang.t(key));
    match table {
        ReportTable::Items => {
            csv.row(&[
                t("portal.reports.period"),
                t("portal.reports.item"),
                t("portal.reports.unit_price"),
                t("portal.reports.count"),
                t("portal.reports.amount"),
            ]);
            for item in &report.items {
                csv.row(&[
                    Cell::Text(&period),
                    Cell::Text(item_name(lang, item)),
                    item.unit_price.map_or(Cell::Empty, Cell::Amount),
                    Cell::Count(item.count),
                    Cell::Amount(item.amount),
                ]);
            }
        }
        ReportTable::Totals => {
            csv.row(&[
                t("portal.reports.period"),
                t("portal.reports.club"),
                t("portal.reports.counter"),
                t("portal.reports.kind"),
                t("portal.reports.count"),
                t("portal.reports.amount"),
            ]);
            for row in &report.rows {
                csv.row(&[
                    Cell::Text(&period),
                    Cell::Text(&row.club),
                    Cell::Text(&row.counter),
                    Cell::Text(kind_text(lang, &row.kind)),
                    Cell::Count(row.count),
                    Cell::Amount(row.total),
                ]);
            }
        }
    }
    csv.finish()
}

/// Sales less refunds per club, from the totals.
fn sold_per_club(report: &Report) -> BTreeMap<&str, Money> {
    let mut clubs = BTreeMap::new();
    for row in report
        .rows
        .iter()
        .filter(|r| r.kind == "sale" || r.kind == "refund")
    {
        *clubs.entry(row.club.as_str()).or_insert(Money::ZERO) -= row.total;
    }
    clubs
}

/// A column for every day of the period, with or without sales.
fn day_columns(
    per_day: &BTreeMap<NaiveDate, Money>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Column> {
    from.iter_days()
        .take_while(|day| *day <= to)
        .map(|day| {
            let sold = per_day.get(&day).copied().unwrap_or(Money::ZERO);
            Column {
                label: day.format("%-d").to_string(),
                title: format!("{}: {sold}", day.format("%d.%m.%Y")),
                value: sold,
            }
        })
        .collect()
}

/// The address of this report's page with `csv` added: a table's download.
fn csv_link(choice: &[(&str, &str)], table: &str) -> Result<String, PortalError> {
    let mut fields = choice.to_vec();
    fields.push(("csv", table));
    let query =
        serde_html_form::to_string(&fields).map_err(|e| PortalError::Internal(e.to_string()))?;
    Ok(format!("/portal/office/reports?{query}"))
}

fn items_table(lang: Lang, items: &[ItemRow]) -> Markup {
    let total: Money = items.iter().map(|i| i.amount).sum();
    html! {
        table data-items {
            thead { tr {
                th { (lang.t("portal.reports.item")) }
                th.amount { (lang.t("portal.reports.unit_price")) }
                th.amount { (lang.t("portal.reports.count")) }
                th.amount { (lang.t("portal.reports.amount")) }
            } }
            tbody {
                @for item in items {
                    tr {
                        td { (item_name(lang, item)) }
                        td.amount { @if let Some(price) = item.unit_price { (price) } }
                        td.amount { (item.count) }
                        td.amount { (item.amount) }
                    }
                }
            }
            tfoot { tr {
                th colspan="3" { (lang.t("portal.reports.total")) }
                th.amount { (total) }
            } }
        }
    }
}

fn totals_table(lang: Lang, report: &Report) -> Markup {
    html! {
        // Five columns: on a phone, the table scrolls, not the page.
        div style="overflow-x:auto" { table data-totals {
            thead { tr {
                th { (lang.t("portal.reports.club")) }
                th { (lang.t("portal.reports.counter")) }
                th { (lang.t("portal.reports.kind")) }
                th.amount { (lang.t("portal.reports.count")) }
                th.amount { (lang.t("portal.reports.amount")) }
            } }
            tbody {
                @for row in &report.rows {
                    tr {
                        td { (row.club) }
                        td { (row.counter) }
                        td { (kind_text(lang, &row.kind)) }
                        td.amount { (row.count) }
                        td.amount { (row.total) }
                    }
                }
            }
        } }
        p.muted { (lang.t("portal.reports.as_balances_change")) }
    }
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    Office { session, scope }: Office,
    Asked(choice): Asked<Choice>,
) -> Result<Response, PortalError> {
    let today = queries::today(&state.pool, &state.settings.time_zone).await?;
    let by_month = choice.period.as_deref() != Some("day");
    let day = choice
        .date
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or(today);
    let (from, to) = if by_month {
        reports::month_of(day)
    } else {
        (day, day)
    };
    let club = choice.club.as_deref().filter(|c| !c.is_empty());
    let clubs = scope.narrowed(club);
    let report = db::report(&state.pool, &state.settings, from, to, clubs.as_ref()).await?;
    let table = match choice.csv.as_deref() {
        None => None,
        Some("items") => Some(ReportTable::Items),
        Some("totals") => Some(ReportTable::Totals),
        Some(_) => return Err(PortalError::NotFound),
    };
    if let Some(table) = table {
        let file = csv_file_name(lang, &report, table);
        return Ok(layout::csv_download(&file, csv(lang, &report, table)));
    }
    let per_day = match by_month {
        true => {
            reports::sales_per_day(&state.pool, &state.settings, from, to, clubs.as_ref()).await?
        }
        false => BTreeMap::new(),
    };
    // The choice of clubs: only those the person works for.
    let every_club: Vec<String> = reports::clubs(&state.pool)
        .await?
        .into_iter()
        .filter(|c| scope.has(c))
        .collect();
    let date = day.format("%Y-%m-%d").to_string();
    let asked = [
        ("period", if by_month { "month" } else { "day" }),
        ("date", date.as_str()),
        ("club", club.unwrap_or("")),
    ];
    let per_club = sold_per_club(&report);
    let sold: Money = per_club.values().copied().sum();
    let items_csv = csv_link(&asked, "items")?;
    let totals_csv = csv_link(&asked, "totals")?;
    let item_bars = report.items.iter().map(|item| match item.unit_price {
        Some(price) => (format!("{} ({price})", item_name(lang, item)), item.amount),
        None => (item_name(lang, item).to_string(), item.amount),
    });
    let item_bars: Vec<(String, Money)> = item_bars.collect();
    let title = lang.t("portal.reports.reports");
    let body = html! {
        form method="get" action="/portal/office/reports" {
            label for="period" { (lang.t("portal.reports.period")) }
            select #period name="period" {
                option value="month" selected[by_month] { (lang.t("portal.reports.month")) }
                option value="day" selected[!by_month] { (lang.t("portal.reports.day")) }
            }
            label for="date" { (lang.t("portal.reports.date")) }
            input #date type="date" name="date" value=(date);
            label for="club" { (lang.t("portal.reports.club")) }
            select #club name="club" {
                option value="" { (lang.t("portal.reports.all_clubs")) }
                @for name in &every_club {
                    option value=(name) selected[club == Some(name.as_str())] { (name) }
                }
            }
            div.actions { button.primary type="submit" { (lang.t("portal.reports.show")) } }
        }
        section.card data-summary {
            h2 {
                (from.format("%d.%m.%Y"))
                @if from != to { " – " (to.format("%d.%m.%Y")) }
                " · " (club.unwrap_or(lang.t("portal.reports.all_clubs")))
            }
            p.muted { (lang.t("portal.reports.sold_net")) }
            p.balance { (sold) }
        }
        @if by_month && !per_day.is_empty() {
            section.card {
                h2 { (lang.t("portal.reports.sales_per_day")) }
                (layout::columns(lang.t("portal.reports.sales_per_day"), &day_columns(&per_day, from, to), lang.t("portal.reports.day_of_the_month")))
            }
        }
        @if per_club.len() > 1 {
            section.card {
                h2 { (lang.t("portal.reports.sales_per_club")) }
                (layout::bars(per_club.iter().map(|(club, sold)| (*club, *sold))))
            }
        }
        section.card {
            h2 { (lang.t("portal.reports.per_item")) }
            @if report.items.is_empty() {
                p.muted { (lang.t("portal.reports.nothing_in_this_period")) }
            } @else {
                (layout::bars(item_bars.iter().map(|(label, amount)| (label.as_str(), *amount))))
                (items_table(lang, &report.items))
                div.actions { a.button.secondary href=(items_csv) { (lang.t("portal.reports.download_csv")) } }
            }
        }
        section.card {
            h2 { (lang.t("portal.reports.per_club_counter_and_kind")) }
            @if report.rows.is_empty() {
                p.muted { (lang.t("portal.reports.nothing_in_this_period")) }
            } @else {
                (totals_table(lang, &report))
                div.actions { a.button.secondary href=(totals_csv) { (lang.t("portal.reports.download_csv")) } }
            }
        }
        p { a href="/portal/office" { (lang.t("portal.reports.back_to_the_office")) } }
    };
    Ok(layout::page(lang, &session, title, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ReportRow;
    use klubkasse_core::people_csv::{danish_number, read_as_danish_excel};

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn report() -> Report {
        Report {
            from: d("2025-03-01"),
            to: d("2025-03-31"),
            time_zone: "Europe/Copenhagen".into(),
            club: Some("Solsikken Ørsted".into()),
            rows: vec![ReportRow {
                club: "=Solsikken".into(),
                counter: "k1".into(),
                kind: "sale".into(),
                count: 120,
                total: Money::from_ore(-123450),
            }],
            items: vec![
                ItemRow {
                    name: Some("Toast".into()),
                    unit_price: Some(Money::kroner(12)),
                    count: 100,
                    amount: Money::kroner(1200),
                },
                ItemRow {
                    name: Some("-Saft; \"stor\"".into()),
                    unit_price: Some(Money::from_ore(350)),
                    count: 10,
                    amount: Money::from_ore(3450),
                },
                ItemRow {
                    name: None,
                    unit_price: None,
                    count: -1,
                    amount: Money::kroner(-5),
                },
            ],
        }
    }

    #[test]
    fn periods_and_file_names() {
        assert_eq!(period_label(d("2025-03-14"), d("2025-03-14")), "2025-03-14");
        assert_eq!(period_label(d("2025-02-01"), d("2025-02-28")), "2025-02");
        assert_eq!(
            period_label(d("2025-02-01"), d("2025-02-27")),
            "2025-02-01_2025-02-27"
        );
        let report = report();
        assert_eq!(
            csv_file_name(Lang::DA, &report, ReportTable::Items),
            "klubkasse-varer-2025-03-Solsikken Ørsted.csv"
        );
        assert_eq!(
            layout::file_part(&csv_file_name(Lang::EN, &report, ReportTable::Totals)),
            "klubkasse-totals-2025-03-solsikken-oersted.csv"
        );
    }

    #[test]
    fn each_table_opens_in_danish_excel() {
        let report = report();
        let items = read_as_danish_excel(&csv(Lang::DA, &report, ReportTable::Items)).unwrap();
        assert_eq!(items[0], ["Periode", "Vare", "Stykpris", "Antal", "Beløb"]);
        assert_eq!(items[1], ["2025-03", "Toast", "12,00", "100", "1200,00"]);
        assert_eq!(items[2][1], "'-Saft; \"stor\"");
        assert_eq!(danish_number(&items[2][2]), Some(Money::from_ore(350)));
        assert_eq!(items[3][1], "Delvise refusioner (uden varer)");
        assert_eq!((&*items[3][2], &*items[3][3]), ("", "-1"));
        let sum: Money = items[1..]
            .iter()
            .map(|r| danish_number(&r[4]).unwrap())
            .sum();
        assert_eq!(sum, Money::from_ore(122950));
        let totals = read_as_danish_excel(&csv(Lang::EN, &report, ReportTable::Totals)).unwrap();
        assert_eq!(
            totals[0],
            ["Period", "Club", "Counter", "Kind", "Count", "Amount"]
        );
        assert_eq!(
            totals[1],
            ["2025-03", "'=Solsikken", "k1", "Sale", "120", "-1234,50"]
        );
    }

    #[test]
    fn a_month_has_a_column_for_every_day() {
        let per_day = BTreeMap::from([(d("2025-02-03"), Money::kroner(40))]);
        let columns = day_columns(&per_day, d("2025-02-01"), d("2025-02-28"));
        assert_eq!(columns.len(), 28);
        assert_eq!(columns[2].label, "3");
        assert_eq!(columns[2].title, "03.02.2025: 40,00 kr.");
        assert_eq!(columns[0].value, Money::ZERO);
    }
}
