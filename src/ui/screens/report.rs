//! The day report on screen: a bar per item (net of returns), the totals
//! and the day's money beside it.

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Paragraph};

use crate::i18n::fill;
use crate::ui::app::App;
use klubkasse_core::domain::DayReport;

/// The totals column: labels, then amounts up to `-99.999,99 kr.`.
const LABEL_WIDTH: usize = 40;
const TOTALS_WIDTH: u16 = 54;
/// Columns between the chart and the totals beside it.
const GAP: u16 = 2;
/// A bar's label beside the item's name: sold, returned, amount.
const BAR_FIGURES_WIDTH: u16 = 23;

pub fn draw(app: &App, report: &DayReport, date: NaiveDate, frame: &mut Frame, area: Rect) {
    let t = &app.texts().report;
    let bars_width = report
        .items
        .iter()
        .map(|i| i.name.chars().count() as u16)
        .max()
        .unwrap_or(0)
        + BAR_FIGURES_WIDTH
        + 10;
    // Side by side where both fit; else the totals first (the money
    // staff count), the chart in the rows left below them.
    let [chart_area, totals_area] = if area.width >= bars_width + GAP + TOTALS_WIDTH {
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(TOTALS_WIDTH)])
            .spacing(GAP)
            .areas(area)
    } else {
        let totals_rows = 9 + 2 * u16::from(report.last_count().is_some());
        let [totals, chart] =
            Layout::vertical([Constraint::Length(totals_rows + 1), Constraint::Fill(1)])
                .areas(area);
        [chart, totals]
    };
    let title = fill(&t.title, &[("date", &date.format("%d-%m-%Y").to_string())]);
    if report.items.is_empty() {
        let empty = Paragraph::new(t.no_sales.clone()).block(Block::default().title(title));
        frame.render_widget(empty, chart_area);
    } else {
        // Horizontal bars: item names are long, and a list reads top-down.
        // The label carries the figures, so the bar itself needs no text.
        let width = report
            .items
            .iter()
            .map(|i| i.name.chars().count())
            .max()
            .unwrap_or(0);
        let bars: Vec<Bar> = report
            .items
            .iter()
            .map(|item| {
                // Sold, and what came back if anything did.
                let back = match item.refunded {
                    0 => String::new(),
                    n => format!("−{n}"),
                };
                let label = format!(
                    "{:<width$} {:>3} {:>3} {:>13} ",
                    item.name,
                    item.sold,
                    back,
                    item.net_amount().to_string()
                );
                Bar::default()
                    .label(Line::from(label))
                    .value(item.net_amount().ore().max(0) as u64)
                    .text_value(String::new())
                    .style(app.theme().good)
            })
            .collect();
        let chart = BarChart::default()
            .block(Block::default().title(format!("{title} — {}", t.items)))
            .direction(Direction::Horizontal)
            .bar_width(1)
            .bar_gap(0)
            .bar_set(app.settings.big_text.bar_set())
            .data(BarGroup::default().bars(&bars));
        frame.render_widget(chart, chart_area);
    }
    let row = |label: String, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<LABEL_WIDTH$}"), app.theme().label),
            Span::styled(format!("{value:>14}"), app.theme().amount),
        ])
    };
    let counted = |label: &str, n: u32| format!("{label} ({n})");
    let mut lines = vec![
        row(t.sales.clone(), report.sales.to_string()),
        row(t.sales_total.clone(), report.sales_total.to_string()),
        row(
            counted(&t.refunds, report.refunds),
            report.refunds_total.to_string(),
        ),
        row(t.net.clone(), report.net().to_string()),
        Line::from(""),
        row(
            counted(&t.deposits, report.cash_deposits),
            report.cash_deposits_total.to_string(),
        ),
        row(
            counted(&t.reversals, report.reversals),
            (-report.reversals_total).to_string(),
        ),
        row(t.expected_cash.clone(), report.expected_cash().to_string()),
    ];
    if let Some(count) = report.last_count() {
        let time = count.at.with_timezone(&chrono::Local).format("%H:%M");
        let title = fill(&t.cash_count, &[("time", &time.to_string())]);
        lines.push(row(
            format!("{title}: {}", t.counted),
            count.counted.to_string(),
        ));
        lines.push(row(
            format!("  {}", t.difference),
            count.difference().to_string(),
        ));
    }
    lines.push(row(
        counted(&t.openings, report.openings),
        report.openings_total.to_string(),
    ));
    frame.render_widget(Paragraph::new(lines), totals_area);
}
