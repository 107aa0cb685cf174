//! A child's balance and today's purchases without the card: what staff
//! tell a child who asks and has no card on them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, Paragraph};

use super::Step;
use super::activity::describe;
use crate::i18n::fill;
use crate::ui::app::App;
use crate::ui::{Action, ChildAccount};
use klubkasse_core::domain::{Child, Money};

#[derive(Debug, Clone)]
pub struct BalancePage {
    pub child: Child,
    /// `None` while it loads.
    pub account: Option<Box<ChildAccount>>,
}

impl BalancePage {
    pub fn new(child: Child) -> BalancePage {
        BalancePage {
            child,
            account: None,
        }
    }

    pub(super) fn update(&mut self, action: Action) -> Step {
        match action {
            Action::ChildAccount(account) => {
                self.account = Some(account);
                Step::Stay
            }
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let staff = &app.texts().staff;
        let t = &staff.tools;
        let [head, list_area] =
            Layout::vertical([Constraint::Length(5), Constraint::Min(1)]).areas(area);
        let mut lines = vec![Line::from(Span::styled(
            self.child.name.clone(),
            app.theme().name,
        ))];
        let Some(account) = &self.account else {
            frame.render_widget(Paragraph::new(lines), head);
            return;
        };
        let view = &account.view;
        lines.push(Line::from(Span::styled(
            fill(&t.balance, &[("balance", &view.balance.to_string())]),
            app.theme().amount,
        )));
        lines.push(Line::from(fill(
            &t.spent_today,
            &[("amount", &view.spent_today.to_string())],
        )));
        if let Some(limit) = view.child.daily_limit {
            let left = (limit - view.spent_today).max(Money::ZERO);
            lines.push(Line::from(fill(
                &t.daily_limit,
                &[("limit", &limit.to_string()), ("left", &left.to_string())],
            )));
        }
        frame.render_widget(Paragraph::new(lines), head);
        let block = Block::default().title(t.purchases_today.clone());
        if account.today.is_empty() {
            let none = Paragraph::new(Span::styled(t.nothing_today.clone(), app.theme().dimmed));
            frame.render_widget(none.block(block), list_area);
            return;
        }
        let items: Vec<ListItem> = account
            .today
            .iter()
            .map(|row| ListItem::new(describe(row, t, &staff.already_refunded)))
            .collect();
        frame.render_widget(List::new(items).block(block), list_area);
    }
}
