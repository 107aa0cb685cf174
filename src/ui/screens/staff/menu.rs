//! The menu of staff tasks, and where each task starts.

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::ListItem;

use super::{
    CashCountPage, NamePage, Page, PickChildPage, Purpose, RefundPage, ReportPage, ReversePage,
    Step, WaitCardPage, draw_list, input,
};
use crate::i18n::StaffTexts;
use crate::ui::Action;
use crate::ui::app::{App, Settings};
use crate::ui::effect::Effect;
use crate::ui::transition::Context;
use klubkasse_core::domain::Connection;

#[derive(Debug, Clone, Default)]
pub struct MenuPage {
    pub selected: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    UndoLast,
    Refund,
    TopUp,
    AddChild,
    HandOut,
    Block,
    Report,
    Quit,
    ReverseTopUp,
    CashCount,
}

impl Task {
    pub const ALL: [Task; 10] = [
        Task::UndoLast,
        Task::Refund,
        Task::TopUp,
        Task::AddChild,
        Task::HandOut,
        Task::Block,
        Task::Report,
        Task::ReverseTopUp,
        Task::CashCount,
        Task::Quit,
    ];

    fn label(self, t: &StaffTexts) -> &str {
        match self {
            Task::UndoLast => &t.undo_last,
            Task::Refund => &t.refund,
            Task::TopUp => &t.top_up,
            Task::AddChild => &t.add_child,
            Task::HandOut => &t.hand_out_card,
            Task::Block => &t.block_card,
            Task::Report => &t.report,
            Task::Quit => &t.quit,
            Task::ReverseTopUp => &t.reverse_top_up,
            Task::CashCount => &t.cash_count,
        }
    }

    /// The page the task opens, or the effect it runs; `today` is the
    /// report's day.
    pub(super) fn start(self, today: NaiveDate) -> Step {
        let pick = |purpose| Page::PickChild(PickChildPage::new(purpose));
        match self {
            Task::UndoLast => Step::Run(Effect::UndoLast),
            Task::Refund => {
                Step::Open(Page::Refund(RefundPage::default()), Some(Effect::LoadSales))
            }
            Task::TopUp => Step::Open(pick(Purpose::TopUp), Some(Effect::LoadChildren)),
            Task::AddChild => Step::Open(Page::Name(NamePage::default()), None),
            Task::HandOut => Step::Open(Page::WaitCard(WaitCardPage), None),
            Task::Block => Step::Open(pick(Purpose::Block), Some(Effect::LoadChildren)),
            Task::Report => Step::Open(
                Page::Report(ReportPage::new(today)),
                Some(Effect::LoadReport(today)),
            ),
            Task::Quit => Step::Quit,
            Task::ReverseTopUp => Step::Open(
                Page::Reverse(ReversePage::default()),
                Some(Effect::LoadTopUps),
            ),
            Task::CashCount => Step::Open(
                Page::CashCount(CashCountPage::default()),
                Some(Effect::LoadReport(today)),
            ),
        }
    }
}

/// The tasks this counter offers. Connected, children and their money
/// belong to the ledger: cash top-up (and so its reversal and the cash
/// count) and new children are the office's.
fn tasks(settings: &Settings) -> Vec<Task> {
    let connected = settings.connection != Connection::Standalone;
    Task::ALL
        .into_iter()
        .filter(|t| {
            !(connected
                && matches!(
                    t,
                    Task::TopUp | Task::AddChild | Task::ReverseTopUp | Task::CashCount
                ))
        })
        .collect()
}

impl MenuPage {
    pub(super) fn update(&mut self, ctx: &Context, action: Action) -> Step {
        let tasks = tasks(ctx.settings);
        match action {
            Action::Cancel => Step::Leave,
            Action::Up | Action::Down => {
                self.selected = input::step(self.selected, tasks.len(), &action);
                Step::Stay
            }
            Action::Confirm => Step::Start(tasks[self.selected.min(tasks.len() - 1)]),
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff;
        let items: Vec<ListItem> = tasks(&app.settings)
            .iter()
            .map(|task| ListItem::new(task.label(t)))
            .collect();
        draw_list(frame, area, items, self.selected, None);
    }
}
