//! Count the cash at closing: staff type what is in the drawer; the page
//! shows what the day's report expects there and the difference, and the
//! count is kept for the day's report.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::amount::{money_char, read_amount};
use super::{Message, Step, input};
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use klubkasse_core::domain::{AmountField, Money};

/// More than any club's drawer: beyond it is a typo.
const MAX_DRAWER_KRONER: i64 = 1_000_000;

#[derive(Debug, Clone, Default)]
pub struct CashCountPage {
    pub input: String,
    /// The cash the day's report expects; `None` while it loads.
    pub expected: Option<Money>,
}

impl CashCountPage {
    pub(super) fn update(&mut self, action: Action) -> Step {
        if input::typed(&mut self.input, &action, money_char, 12) {
            return Step::Stay;
        }
        match action {
            Action::ReportLoaded(report) => {
                self.expected = Some(report.expected_cash());
                Step::Stay
            }
            // The expected amount is shown before anything is kept.
            Action::Confirm if self.expected.is_none() => Step::Stay,
            Action::Confirm => {
                match read_amount(
                    &self.input,
                    AmountField::WithOre,
                    true,
                    Money::kroner(MAX_DRAWER_KRONER),
                ) {
                    Ok(counted) => Step::Run(Effect::CountCash(counted)),
                    Err(e) => Step::Say(Message::BadAmount(e)),
                }
            }
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff;
        let shown = |m: Option<Money>| m.map(|m| m.to_string()).unwrap_or_default();
        let label = |text: &str| Span::styled(format!("{text}: "), app.theme().label);
        let counted = read_amount(
            &self.input,
            AmountField::WithOre,
            true,
            Money::kroner(MAX_DRAWER_KRONER),
        )
        .ok();
        let difference = counted.zip(self.expected).map(|(c, e)| c - e);
        let lines = vec![
            Line::from(Span::styled(t.cash_count.clone(), app.theme().name)),
            Line::from(vec![
                label(&t.expected_cash),
                Span::styled(shown(self.expected), app.theme().amount),
            ]),
            Line::from(""),
            Line::from(t.count_prompt.clone()),
            Line::from(Span::styled(
                format!("{}_ kr.", self.input),
                app.theme().amount,
            )),
            Line::from(vec![
                label(&t.difference),
                Span::styled(shown(difference), app.theme().amount),
            ]),
        ];
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use klubkasse_core::domain::DayReport;

    #[test]
    fn waits_for_the_expected_amount_then_keeps_the_count() {
        let mut page = CashCountPage::default();
        for c in "1.250,50".chars() {
            page.update(Action::Input(c));
        }
        assert!(matches!(page.update(Action::Confirm), Step::Stay));
        let report = DayReport {
            cash_deposits_total: Money::kroner(1300),
            ..DayReport::default()
        };
        page.update(Action::ReportLoaded(report));
        assert_eq!(page.expected, Some(Money::kroner(1300)));
        match page.update(Action::Confirm) {
            Step::Run(Effect::CountCash(counted)) => {
                assert_eq!(counted, Money::from_ore(125050))
            }
            other => panic!("{other:?}"),
        }
    }
}
