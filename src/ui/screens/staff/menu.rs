//! The menu of staff tasks, and where each task starts.

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::ListItem;

use super::{
    ActivityPage, NamePage, Page, PickChildPage, PricesPage, Purpose, ReportPage, Step,
    WaitCardPage, draw_list, input,
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
    SellWithoutCard,
    Balance,
    UndoLast,
    Activity,
    TopUp,
    AddChild,
    HandOut,
    Block,
    Prices,
    Report,
    Quit,
}

impl Task {
    pub const ALL: [Task; 11] = [
        Task::SellWithoutCard,
        Task::Balance,
        Task::UndoLast,
        Task::Activity,
        Task::TopUp,
        Task::AddChild,
        Task::HandOut,
        Task::Block,
        Task::Prices,
        Task::Report,
        Task::Quit,
    ];

    fn label(self, t: &StaffTexts) -> &str {
        match self {
            Task::SellWithoutCard => &t.tools.sell_without_card,
            Task::Balance => &t.tools.show_balance,
            Task::UndoLast => &t.undo_last,
            Task::Activity => &t.tools.activity,
            Task::TopUp => &t.top_up,
            Task::AddChild => &t.add_child,
            Task::HandOut => &t.hand_out_card,
            Task::Block => &t.block_card,
            Task::Prices => &t.tools.prices,
            Task::Report => &t.report,
            Task::Quit => &t.quit,
        }
    }

    /// The page the task opens, or the effect it runs; `today` is the
    /// report's day.
    pub(super) fn start(self, today: NaiveDate) -> Step {
        let pick = |purpose| Page::PickChild(PickChildPage::new(purpose));
        match self {
            Task::SellWithoutCard => Step::Open(pick(Purpose::Sell), Some(Effect::LoadChildren)),
            Task::Balance => Step::Open(pick(Purpose::Balance), Some(Effect::LoadChildren)),
            Task::UndoLast => Step::Run(Effect::UndoLast),
            Task::Activity => Step::Open(
                Page::Activity(ActivityPage::default()),
                Some(Effect::LoadActivity),
            ),
            Task::TopUp => Step::Open(pick(Purpose::TopUp), Some(Effect::LoadChildren)),
            Task::AddChild => Step::Open(Page::Name(NamePage::default()), None),
            Task::HandOut => Step::Open(Page::WaitCard(WaitCardPage), None),
            Task::Block => Step::Open(pick(Purpose::Block), Some(Effect::LoadChildren)),
            Task::Prices => Step::Open(Page::Prices(PricesPage::default()), None),
            Task::Report => Step::Open(
                Page::Report(ReportPage::new(today)),
                Some(Effect::LoadReport(today)),
            ),
            Task::Quit => Step::Quit,
        }
    }
}

/// The tasks this counter offers. Connected, children and their money
/// belong to the ledger: cash top-up and new children are the office's.
pub fn tasks(settings: &Settings) -> Vec<Task> {
    let connected = settings.connection != Connection::Standalone;
    Task::ALL
        .into_iter()
        .filter(|t| !(connected && matches!(t, Task::TopUp | Task::AddChild)))
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
