//! What a child's money went on: the entries of a date range with the
//! items bought, a chart of spending per week, and the same as CSV for
//! Danish Excel.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, TimeDelta};
use maud::{Markup, html};
use serde::Deserialize;

use super::PortalError;
use super::layout::{self, Column, Lang};
use super::session::{Asked, OwnChild};
use crate::db::portal::{self as queries, HistoryLine};
use crate::{AppState, db};
use klubkasse_core::domain::Money;
use klubkasse_core::people_csv::{Cell, PeopleCsv};

#[derive(Debug, Default, Deserialize)]
pub struct Range {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    format: Option<String>,
}

pub(crate) fn kind_text(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "deposit" => lang.t("portal.history.top_up"),
        "withdrawal" => lang.t("portal.history.withdrawal"),
        "sale" => lang.t("portal.history.purchase"),
        "refund" => lang.t("portal.history.refunded_purchase"),
        "card_fee" => lang.t("portal.history.new_card"),
        "adjustment" => lang.t("portal.history.correction"),
        _ => lang.t("portal.history.other"),
    }
}

pub(crate) fn items_text(line: &HistoryLine) -> String {
    line.items
        .iter()
        .map(|i| format!("{} × {}", i.quantity, i.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the office wrote with an entry: "Kvittering 1234", the reason of
/// a correction.
pub(crate) fn notes_text(lang: Lang, line: &HistoryLine) -> Option<String> {
    let receipt = line
        .receipt
        .as_ref()
        .map(|r| format!("{} {r}", lang.t("portal.history.receipt")));
    let notes: Vec<String> = receipt.into_iter().chain(line.reason.clone()).collect();
    (!notes.is_empty()).then(|| notes.join(" · "))
}

/// The longest period one page shows: a year of weeks is a readable chart.
const LONGEST: TimeDelta = TimeDelta::days(366);

/// The days to show: the last four weeks unless asked for others, in
/// order, and never more than [`LONGEST`] (counted back from `to`).
pub fn period(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> (NaiveDate, NaiveDate) {
    let back = |day: NaiveDate, by: TimeDelta| day.checked_sub_signed(by).unwrap_or(NaiveDate::MIN);
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| back(to, TimeDelta::days(27)));
    let (from, to) = (from.min(to), from.max(to));
    (from.max(back(to, LONGEST)), to)
}

/// What was spent (sales less refunds) in each week that has a day in
/// the range, by the week's Monday.
pub fn spending_per_week(
    lines: &[HistoryLine],
    from: NaiveDate,
    to: NaiveDate,
) -> BTreeMap<NaiveDate, Money> {
    // Checked: the calendar's ends are reachable from the address bar.
    let monday = |d: NaiveDate| {
        d.checked_sub_signed(TimeDelta::days(d.weekday().num_days_from_monday().into()))
            .unwrap_or(d)
    };
    let mut weeks = BTreeMap::new();
    let mut week = Some(monday(from));
    while let Some(day) = week.filter(|day| *day <= to) {
        weeks.insert(day, Money::ZERO);
        week = day.checked_add_signed(TimeDelta::days(7));
    }
    for line in lines
        .iter()
        .filter(|l| l.kind == "sale" || l.kind == "refund")
    {
        *weeks.entry(monday(line.at.date())).or_insert(Money::ZERO) -= line.amount;
    }
    weeks
}

/// Spending per week as columns, with the highest week written out.
fn chart(lang: Lang, weeks: &BTreeMap<NaiveDate, Money>) -> Markup {
    let most = weeks.values().copied().max().unwrap_or(Money::ZERO);
    let columns: Vec<Column> = weeks
        .iter()
        .map(|(monday, spent)| {
            let week = monday.iso_week().week();
            Column {
                label: week.to_string(),
                title: format!("{}{week}: {spent}", lang.t("portal.history.week")),
                value: *spent,
            }
        })
        .collect();
    html! {
        figure {
            (layout::columns(lang.t("portal.history.spending_per_week"), &columns, lang.t("portal.history.week_2")))
            figcaption.muted {
                (lang.t("portal.history.spending_per_week_highest_week"))
                (most)
            }
        }
    }
}

/// The lines for a spreadsheet, in the reader's words.
fn csv(lang: Lang, lines: &[HistoryLine]) -> String {
    let mut csv = PeopleCsv::new();
    csv.row(&[
        Cell::Text(lang.t("portal.history.when")),
        Cell::Text(lang.t("portal.history.what")),
        Cell::Text(lang.t("portal.history.items")),
        Cell::Text(lang.t("portal.history.note")),
        Cell::Text(lang.t("portal.history.amount")),
        Cell::Text(lang.t("portal.history.balance")),
    ]);
    for line in lines {
        csv.row(&[
            Cell::Text(&line.at.format("%Y-%m-%d %H:%M").to_string()),
            Cell::Text(kind_text(lang, &line.kind)),
            Cell::Text(&items_text(line)),
            Cell::Text(&notes_text(lang, line).unwrap_or_default()),
            Cell::Amount(line.amount),
            Cell::Amount(line.balance_after),
        ]);
    }
    csv.finish()
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    OwnChild { session, child }: OwnChild,
    Asked(range): Asked<Range>,
) -> Result<Response, PortalError> {
    let today = queries::today(&state.pool, &state.settings.time_zone).await?;
    let (from, to) = period(range.from, range.to, today);
    let lines = queries::history(&state.pool, child, from, to, &state.settings.time_zone).await?;
    let name = db::detail(&state.pool, child).await?.child.name;
    if range.format.as_deref() == Some("csv") {
        let file = format!("klubkasse-{name}-{from}-{to}.csv");
        return Ok(layout::csv_download(&file, csv(lang, &lines)));
    }
    let weeks = spending_per_week(&lines, from, to);
    let title = lang.t("portal.history.history");
    let body = html! {
        p { strong { (name) } }
        form method="get" {
            label for="from" { (lang.t("portal.history.from")) }
            input #from type="date" name="from" value=(from);
            label for="to" { (lang.t("portal.history.to")) }
            input #to type="date" name="to" value=(to);
            div.actions {
                button.primary type="submit" { (lang.t("portal.history.show")) }
                a.button.secondary href={ "?from=" (from) "&to=" (to) "&format=csv" } {
                    (lang.t("portal.history.download_csv"))
                }
            }
        }
        section.card { (chart(lang, &weeks)) }
        @if lines.is_empty() {
            p { (lang.t("portal.history.nothing_in_this_period")) }
        } @else {
            table {
                thead { tr {
                    th { (lang.t("portal.history.when")) }
                    th { (lang.t("portal.history.what")) }
                    th.amount { (lang.t("portal.history.amount")) }
                    th.amount { (lang.t("portal.history.balance")) }
                } }
                tbody {
                    @for line in lines.iter().rev() {
                        tr {
                            td { (line.at.format("%d.%m. %H:%M")) }
                            td {
                                (kind_text(lang, &line.kind))
                                @if !line.items.is_empty() { br; span.muted { (items_text(line)) } }
                                @if let Some(notes) = notes_text(lang, line) { br; span.muted data-note { (notes) } }
                            }
                            td.amount { (line.amount) }
                            td.amount { (line.balance_after) }
                        }
                    }
                }
            }
        }
        p { a href="/portal" { (lang.t("portal.history.back")) } }
    };
    Ok(layout::page(lang, &session, title, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(day: &str, kind: &str, kroner: i64) -> HistoryLine {
        HistoryLine {
            at: NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap(),
            kind: kind.into(),
            amount: Money::kroner(kroner),
            balance_after: Money::ZERO,
            items: vec![],
            flags: vec![],
            receipt: None,
            reason: None,
            handling: None,
        }
    }

    #[test]
    fn a_period_is_ordered_at_most_a_year_and_never_overflows() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let today = d("2026-11-30");
        assert_eq!(period(None, None, today), (d("2026-11-03"), today));
        assert_eq!(
            period(Some(today), Some(d("2026-11-01")), today),
            (d("2026-11-01"), today)
        );
        let (from, to) = period(Some(NaiveDate::MIN), Some(NaiveDate::MAX), today);
        assert_eq!((to - from).num_days(), 366);
        let (from, to) = period(None, Some(NaiveDate::MIN), today);
        assert_eq!(to, NaiveDate::MIN);
        assert!(spending_per_week(&[], from, to).len() <= 1);
        let (from, to) = period(Some(NaiveDate::MAX), None, today);
        assert!(spending_per_week(&[], from, to).len() <= 54);
    }

    #[test]
    fn weeks_sum_sales_less_refunds_and_show_empty_weeks() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let lines = [
            line("2026-11-02", "sale", -12),
            line("2026-11-04", "sale", -8),
            line("2026-11-04", "refund", 8),
            line("2026-11-05", "deposit", 100),
            line("2026-11-18", "sale", -30),
        ];
        let weeks = spending_per_week(&lines, d("2026-11-01"), d("2026-11-20"));
        assert_eq!(
            weeks.into_iter().collect::<Vec<_>>(),
            vec![
                (d("2026-10-26"), Money::ZERO),
                (d("2026-11-02"), Money::kroner(12)),
                (d("2026-11-09"), Money::ZERO),
                (d("2026-11-16"), Money::kroner(30)),
            ]
        );
    }
}
