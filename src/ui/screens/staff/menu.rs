//! The menu of staff tasks, and where each task starts.

use chrono::NaiveDate;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::ListItem;

use super::{
    ActivityPage, CashCountPage, ConfirmPage, Message, NamePage, Page, PickChildPage, PricesPage,
    Purpose, Question, ReportPage, ReversePage, Step, Then, UnblockPage, WaitCardPage, draw_list,
    input,
};
use crate::i18n::StaffTexts;
use crate::ui::Action;
use crate::ui::app::{App, Settings};
use crate::ui::effect::Effect;
use crate::ui::transition::Context;
use klubkasse_core::domain::Connection;

/// Nothing is chosen when the menu opens: a task that acts (undo,
/// quit) is never one Enter away.
#[derive(Debug, Clone, Default)]
pub struct MenuPage {
    pub selected: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    SellWithoutCard,
    Balance,
    UndoLast,
    Activity,
    TopUp,
    ReverseTopUp,
    AddChild,
    HandOut,
    Block,
    Unblock,
    Prices,
    Report,
    CashCount,
    Quit,
}

impl Task {
    pub const ALL: [Task; 14] = [
        Task::SellWithoutCard,
        Task::Balance,
        Task::UndoLast,
        Task::Activity,
        Task::TopUp,
        Task::ReverseTopUp,
        Task::AddChild,
        Task::HandOut,
        Task::Block,
        Task::Unblock,
        Task::Prices,
        Task::Report,
        Task::CashCount,
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
            Task::Unblock => &t.unblock_card,
            Task::Prices => &t.tools.prices,
            Task::Report => &t.report,
            Task::Quit => &t.quit,
            Task::ReverseTopUp => &t.reverse_top_up,
            Task::CashCount => &t.cash_count,
        }
    }

    /// The page the task opens, or the effect it runs; `today` is the
    /// report's day. Quitting asks first, and a no goes back to `menu`.
    pub(super) fn start(self, today: NaiveDate, menu: &MenuPage) -> Step {
        let pick = |purpose| Page::PickChild(PickChildPage::new(purpose));
        match self {
            Task::SellWithoutCard => Step::Open(pick(Purpose::Sell), Some(Effect::LoadChildren)),
            Task::Balance => Step::Open(pick(Purpose::Balance), Some(Effect::LoadChildren)),
            // The sale is found first, so that staff confirm that one.
            Task::UndoLast => Step::Run(Effect::FindUndo),
            Task::Activity => Step::Open(
                Page::Activity(ActivityPage::default()),
                Some(Effect::LoadActivity),
            ),
            Task::TopUp => Step::Open(pick(Purpose::TopUp), Some(Effect::LoadChildren)),
            Task::AddChild => Step::Open(Page::Name(NamePage::default()), None),
            Task::HandOut => Step::Open(Page::WaitCard(WaitCardPage), None),
            Task::Block => Step::Open(pick(Purpose::Block), Some(Effect::LoadChildren)),
            Task::Unblock => Step::Open(
                Page::Unblock(UnblockPage::default()),
                Some(Effect::LoadBlockedCards),
            ),
            Task::Prices => Step::Open(Page::Prices(PricesPage::default()), None),
            Task::Report => Step::Open(
                Page::Report(ReportPage::new(today)),
                Some(Effect::LoadReport(today)),
            ),
            Task::Quit => ConfirmPage::ask(Question::Quit, Then::Quit, Page::Menu(menu.clone())),
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

    /// The tasks this counter offers, in the menu's order. Connected,
    /// children and their money belong to the ledger: cash top-up (and so
    /// its reversal and the cash count) and new children are the office's.
    pub fn offered(settings: &Settings) -> Vec<Task> {
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
}

impl MenuPage {
    pub(super) fn update(&mut self, ctx: &Context, action: Action) -> Step {
        let tasks = Task::offered(ctx.settings);
        match action {
            Action::Cancel => Step::Leave,
            // From nothing chosen, Down takes the first task and Up the last.
            Action::Up | Action::Down => {
                self.selected = Some(match self.selected {
                    Some(i) => input::step(i, tasks.len(), &action),
                    None if action == Action::Up => tasks.len() - 1,
                    None => 0,
                });
                Step::Stay
            }
            Action::Confirm => match self.selected.and_then(|i| tasks.get(i)) {
                Some(task) => Step::Start(*task),
                None => Step::Say(Message::ChooseTask),
            },
            Action::UndoFound(row) => ConfirmPage::ask(
                Question::Undo {
                    name: row.child_name,
                    amount: -row.entry.amount,
                },
                Then::Run(Effect::Undo(row.entry.id)),
                Page::Menu(self.clone()),
            ),
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff;
        let items: Vec<ListItem> = Task::offered(&app.settings)
            .iter()
            .map(|task| ListItem::new(task.label(t)))
            .collect();
        draw_list(app, frame, area, items, self.selected, None);
    }
}
