//! Today's activity: sales, top-ups and refunds with names and times,
//! newest first, narrowed by typing part of a name or an item; Enter
//! refunds the chosen sale, after a second look. The one list of the
//! day's sales.

use chrono::Local;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{ListItem, Paragraph};

use super::{ConfirmPage, Message, Page, Question, Step, Then, draw_list, input};
use crate::i18n::ToolsTexts;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use crate::ui::{Action, ActivityRow};
use klubkasse_core::domain::EntryKind;

#[derive(Debug, Clone, Default)]
pub struct ActivityPage {
    /// Today's entries, newest first; `None` while they load.
    pub rows: Option<Vec<ActivityRow>>,
    pub filter: String,
    /// Among the rows the filter matches.
    pub selected: usize,
}

/// Whether the row is about `filter` (lower case): the child's name or
/// an item sold.
fn matches(row: &ActivityRow, filter: &str) -> bool {
    let hit = |text: &str| text.to_lowercase().contains(filter);
    hit(&row.child_name)
        || matches!(&row.entry.kind, EntryKind::Sale { lines, .. }
            if lines.iter().any(|l| hit(&l.name)))
}

/// One row in words: time, what, who, how much, the items.
pub fn describe(row: &ActivityRow, t: &ToolsTexts, refunded: &str) -> String {
    let entry = &row.entry;
    let time = entry.at.with_timezone(&Local).format("%H:%M");
    let (kind, detail) = match &entry.kind {
        EntryKind::Sale { card, lines } => {
            // The marks first: a long basket must not push them off screen.
            let mut marks = Vec::new();
            if row.refunded {
                marks.push(format!("({refunded})"));
            }
            if card.is_none() {
                marks.push(format!("({})", t.without_card));
            }
            let items: Vec<String> = lines
                .iter()
                .map(|l| format!("{}×{}", l.quantity, l.name))
                .collect();
            marks.push(items.join(", "));
            (&t.sale, marks.join(" "))
        }
        EntryKind::Deposit => (&t.deposit, String::new()),
        EntryKind::Refund { .. } => (&t.refund, String::new()),
        EntryKind::Withdrawal => (&t.withdrawal, String::new()),
        EntryKind::CardFee => (&t.card_fee, String::new()),
        EntryKind::OpeningBalance => (&t.opening_balance, String::new()),
        EntryKind::DepositReversal { .. } => (&t.deposit_reversal, String::new()),
        EntryKind::Adjustment => (&t.adjustment, String::new()),
    };
    format!(
        "{time}  {kind:<16} {:<20} {:>13}  {detail}",
        row.child_name,
        entry.amount.to_string()
    )
}

impl ActivityPage {
    fn matching(&self) -> impl Iterator<Item = &ActivityRow> {
        let filter = self.filter.to_lowercase();
        self.rows
            .iter()
            .flatten()
            .filter(move |row| matches(row, &filter))
    }

    pub(super) fn update(&mut self, action: Action) -> Step {
        if input::typed(&mut self.filter, &action, |c| !c.is_control(), 24) {
            self.selected = 0;
            return Step::Stay;
        }
        match action {
            Action::ActivityLoaded(rows) if rows.is_empty() => {
                Step::Menu(Some(Message::NoActivityToday))
            }
            // Loaded again after a refund: the selection stays where it was.
            Action::ActivityLoaded(rows) => {
                self.rows = Some(rows);
                self.selected = self.selected.min(self.matching().count().saturating_sub(1));
                Step::Stay
            }
            Action::Up | Action::Down => {
                let len = self.matching().count();
                self.selected = input::step(self.selected, len, &action);
                Step::Stay
            }
            Action::Confirm => match self.matching().nth(self.selected) {
                None => Step::Stay,
                Some(row) if !row.entry.is_sale() => Step::Say(Message::OnlySalesRefund),
                Some(row) if row.refunded => Step::Say(Message::AlreadyRefunded),
                Some(row) => ConfirmPage::ask(
                    Question::Refund {
                        name: row.child_name.clone(),
                        amount: -row.entry.amount,
                    },
                    Then::Run(Effect::Refund(row.entry.id)),
                    Page::Activity(self.clone()),
                ),
            },
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let staff = &app.texts().staff;
        let t = &staff.tools;
        let title = format!("{}   › {}_", t.search, self.filter);
        let items: Vec<ListItem> = self
            .matching()
            .map(|row| {
                let style = if row.refunded {
                    app.theme().dimmed
                } else {
                    app.theme().normal
                };
                ListItem::new(describe(row, t, &staff.already_refunded)).style(style)
            })
            .collect();
        if items.is_empty() && self.rows.is_some() {
            let [title_area, rest] = ratatui::layout::Layout::vertical([
                ratatui::layout::Constraint::Length(1),
                ratatui::layout::Constraint::Min(0),
            ])
            .areas(area);
            frame.render_widget(Paragraph::new(title), title_area);
            frame.render_widget(
                Paragraph::new(Span::styled(t.nothing_found.clone(), app.theme().dimmed)),
                rest,
            );
            return;
        }
        draw_list(app, frame, area, items, Some(self.selected), Some(title));
    }
}
