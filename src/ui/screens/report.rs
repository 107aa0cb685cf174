//! The day report on screen: a bar per item, the totals beside it.

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Paragraph};

use crate::i18n::fill;
use crate::ui::app::App;
use crate::ui::theme;
use klubkasse_core::domain::DayReport;

pub fn draw(app: &App, report: &DayReport, date: NaiveDate, frame: &mut Frame, area: Rect) {
    let t = &app.texts().report;
    let [chart_area, totals_area] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(40)]).areas(area);
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
                let label = format!(
                    "{:<width$} {:>3} × {:>13} ",
                    item.name,
                    item.quantity,
                    item.amount.to_string()
                );
                Bar::default()
                    .label(Line::from(label))
                    .value(item.amount.ore().max(0) as u64)
                    .text_value(String::new())
                    .style(theme::GOOD)
            })
            .collect();
        let chart = BarChart::default()
            .block(Block::default().title(format!("{title} — {}", t.items)))
            .direction(Direction::Horizontal)
            .bar_width(1)
            .bar_gap(0)
            .data(BarGroup::default().bars(&bars));
        frame.render_widget(chart, chart_area);
    }
    let row = |label: String, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<20}"), theme::LABEL),
            Span::styled(format!("{value:>16}"), theme::AMOUNT),
        ])
    };
    let lines = vec![
        row(t.sales.clone(), report.sales.to_string()),
        row(t.sales_total.clone(), report.sales_total.to_string()),
        row(
            format!("{} ({})", t.refunds, report.refunds),
            report.refunds_total.to_string(),
        ),
        row(t.net.clone(), report.net().to_string()),
        row(t.deposits.clone(), report.deposits_total.to_string()),
    ];
    frame.render_widget(Paragraph::new(lines), totals_area);
}
