//! Take back one of today's cash top-ups at this counter (a wrong amount,
//! the wrong child): choose it, Enter asks, a second Enter takes it back.

use chrono::Local;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{ListItem, Paragraph, Wrap};

use super::{Message, Step, draw_list, input};
use crate::i18n::fill;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use crate::ui::{Action, TopUpRow};

#[derive(Debug, Clone, Default)]
pub struct ReversePage {
    /// Today's top-ups, newest first; `None` while they load.
    pub rows: Option<Vec<TopUpRow>>,
    pub selected: usize,
    /// Enter was pressed on the selected top-up: the next Enter acts.
    pub confirming: bool,
}

impl ReversePage {
    pub(super) fn update(&mut self, action: Action) -> Step {
        match action {
            Action::Up | Action::Down => {
                let len = self.rows.as_ref().map_or(0, Vec::len);
                self.selected = input::step(self.selected, len, &action);
                self.confirming = false;
                Step::Stay
            }
            Action::TopUpsLoaded(rows) if rows.is_empty() => {
                Step::Menu(Some(Message::NoTopUpsToday))
            }
            Action::TopUpsLoaded(rows) => {
                self.rows = Some(rows);
                self.selected = 0;
                self.confirming = false;
                Step::Stay
            }
            Action::Confirm => match self.rows.as_ref().and_then(|r| r.get(self.selected)) {
                None => Step::Stay,
                Some(row) if row.reversed => Step::Say(Message::AlreadyReversed),
                Some(row) if self.confirming => Step::Run(Effect::ReverseTopUp(row.deposit.id)),
                Some(_) => {
                    self.confirming = true;
                    Step::Stay
                }
            },
            Action::Cancel if self.confirming => {
                self.confirming = false;
                Step::Stay
            }
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff;
        let rows = self.rows.iter().flatten();
        let items: Vec<ListItem> = rows
            .clone()
            .map(|row| {
                let time = row.deposit.at.with_timezone(&Local).format("%H:%M");
                let mut text = format!(
                    "{time}  {:<20} {:>13}",
                    row.child_name,
                    row.deposit.amount.to_string()
                );
                if row.reversed {
                    text.push_str(&format!("  ({})", t.already_reversed));
                }
                ListItem::new(text).style(if row.reversed {
                    app.theme().dimmed
                } else {
                    app.theme().normal
                })
            })
            .collect();
        let [list_area, question_area] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(area);
        draw_list(
            app,
            frame,
            list_area,
            items,
            Some(self.selected),
            Some(t.reverse_top_up.clone()),
        );
        if let Some(row) = rows.clone().nth(self.selected).filter(|_| self.confirming) {
            let question = fill(
                &t.confirm_reversal,
                &[
                    ("amount", &row.deposit.amount.to_string()),
                    ("name", &row.child_name),
                ],
            );
            frame.render_widget(
                Paragraph::new(Span::styled(question, app.theme().selected))
                    .wrap(Wrap { trim: true }),
                question_area,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use klubkasse_core::domain::{ChildId, Entry, EntryKind, Money};

    fn row(reversed: bool) -> TopUpRow {
        TopUpRow {
            deposit: Entry::new(
                ChildId::new(),
                EntryKind::Deposit,
                Money::kroner(20),
                "k",
                Utc::now(),
            ),
            child_name: "Bo".into(),
            reversed,
        }
    }

    #[test]
    fn one_enter_only_asks() {
        let mut page = ReversePage::default();
        let rows = vec![row(false), row(true)];
        let id = rows[0].deposit.id;
        page.update(Action::TopUpsLoaded(rows));
        assert!(matches!(page.update(Action::Confirm), Step::Stay));
        assert!(page.confirming);
        // Moving away takes the question back.
        page.update(Action::Down);
        assert!(!page.confirming);
        assert!(matches!(
            page.update(Action::Confirm),
            Step::Say(Message::AlreadyReversed)
        ));
        page.update(Action::Up);
        page.update(Action::Confirm);
        assert!(matches!(page.update(Action::Cancel), Step::Stay));
        page.update(Action::Confirm);
        match page.update(Action::Confirm) {
            Step::Run(Effect::ReverseTopUp(reversed)) => assert_eq!(reversed, id),
            other => panic!("{other:?}"),
        }
    }
}
