//! Refund one of today's sales at this counter.

use chrono::Local;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::ListItem;

use super::{ConfirmPage, Message, Page, Question, Step, Then, draw_list, input};
use crate::ui::app::App;
use crate::ui::effect::Effect;
use crate::ui::{Action, SaleRow, theme};
use klubkasse_core::domain::EntryKind;

#[derive(Debug, Clone, Default)]
pub struct RefundPage {
    /// Today's sales, newest first; `None` while they load.
    pub rows: Option<Vec<SaleRow>>,
    pub selected: usize,
}

impl RefundPage {
    pub(super) fn update(&mut self, action: Action) -> Step {
        match action {
            Action::Up | Action::Down => {
                let len = self.rows.as_ref().map_or(0, Vec::len);
                self.selected = input::step(self.selected, len, &action);
                Step::Stay
            }
            Action::SalesLoaded(rows) if rows.is_empty() => Step::Menu(Some(Message::NoSalesToday)),
            Action::SalesLoaded(rows) => {
                self.rows = Some(rows);
                self.selected = 0;
                Step::Stay
            }
            Action::Confirm => match &self.rows {
                None => Step::Stay,
                Some(rows) => match rows.get(self.selected) {
                    Some(row) if !row.refunded => ConfirmPage::ask(
                        Question::Refund {
                            name: row.child_name.clone(),
                            amount: -row.sale.amount,
                        },
                        Then::Run(Effect::Refund(row.sale.id)),
                        Page::Refund(self.clone()),
                    ),
                    _ => Step::Say(Message::AlreadyRefunded),
                },
            },
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff;
        let items: Vec<ListItem> = self
            .rows
            .iter()
            .flatten()
            .map(|row| {
                let time = row.sale.at.with_timezone(&Local).format("%H:%M");
                let what: Vec<String> = match &row.sale.kind {
                    EntryKind::Sale { lines, .. } => lines
                        .iter()
                        .map(|l| format!("{}×{}", l.quantity, l.name))
                        .collect(),
                    _ => vec![],
                };
                let mut text = format!(
                    "{time}  {:<20} {:>13}  {}",
                    row.child_name,
                    (-row.sale.amount).to_string(),
                    what.join(", ")
                );
                if row.refunded {
                    text.push_str(&format!("  ({})", t.already_refunded));
                }
                ListItem::new(text).style(if row.refunded {
                    theme::DIMMED
                } else {
                    theme::NORMAL
                })
            })
            .collect();
        draw_list(frame, area, items, Some(self.selected), None);
    }
}
