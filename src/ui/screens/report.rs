//! The day report on screen: a bar per item, the totals beside it.

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Block, Paragraph};

use crate::domain::DayReport;
use crate::i18n::fill;
use crate::ui::app::App;
use crate::ui::theme;

pub fn draw(app: &App, report: &DayReport, date: NaiveDate, frame: &mut Frame, area: Rect) {
    let t = &app.texts().report;
    let [chart_area, totals_area] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(34)]).areas(area);
    let title = fill(&t.title, &[("date", &date.format("%d-%m-%Y").to_string())]);
    if report.items.is_empty() {
        frame.render_widget(
            Paragraph::new(t.no_sales.clone()).block(Block::default().title(title)),
            chart_area,
        );
    } else {
        // Horizontal bars: item names are long, and a list reads top-down.
        let bars: Vec<Bar> = report
            .items
            .iter()
            .map(|item| {
                Bar::default()
                    .label(Line::from(item.name.clone()))
                    .value(item.amount.ore().max(0) as u64)
                    .text_value(format!("{} × {}", item.quantity, item.amount))
                    .style(theme::GOOD)
                    .value_style(theme::STATUS_BAR)
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
    let row = |label: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<14}"), theme::LABEL),
            Span::styled(format!("{value:>18}"), theme::AMOUNT),
        ])
    };
    let lines = vec![
        row(&t.sales, report.sales.to_string()),
        row(&t.sales_total, report.sales_total.to_string()),
        row(
            &format!("{} ({})", t.refunds, report.refunds),
            report.refunds_total.to_string(),
        ),
        row(&t.net, report.net().to_string()),
        row(&t.deposits, report.deposits_total.to_string()),
    ];
    frame.render_widget(Paragraph::new(lines), totals_area);
}
