//! The staff menu, behind the PIN: a sale or the balance without the card,
//! undo, today's activity and refunds, top-up, children, cards, prices and
//! sold out, the day report, quit; what is hard to take back asks first
//! (`confirm`). One module per page; this one holds what the
//! pages share (the message line, a task under way) and routes to them.

mod activity;
mod amount;
mod balance;
mod cash_count;
mod confirm;
mod day_report;
mod input;
mod menu;
mod message;
mod name;
mod pick_child;
mod pin;
mod prices;
mod reverse;
mod unblock;
mod wait_card;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{
    Block, Borders, HighlightSpacing, List, ListItem, ListState, Paragraph, Wrap,
};

use crate::store::local_day;
use crate::ui::Action;
use crate::ui::app::{App, Screen};
use crate::ui::effect::Effect;
use crate::ui::screens::result;
use crate::ui::screens::sale::SaleScreen;
use crate::ui::transition::{Context, Notice, Request, Transition};

pub use activity::ActivityPage;
pub use amount::{AmountError, AmountPage};
pub use balance::BalancePage;
pub use cash_count::CashCountPage;
pub use confirm::{ConfirmPage, Question, Then};
pub use day_report::ReportPage;
pub use menu::{MenuPage, Task};
pub use message::{Message, outcome_text};
pub use name::NamePage;
pub use pick_child::{PickChildPage, Purpose};
pub use pin::PinPage;
pub use prices::{ItemDone, ItemPage, PricesPage};
pub use reverse::ReversePage;
pub use unblock::UnblockPage;
pub use wait_card::WaitCardPage;

#[derive(Debug, Clone)]
pub struct StaffScreen {
    pub page: Page,
    /// The outcome of the last task, shown until the next.
    pub message: Option<Message>,
    /// Waiting for an effect to finish.
    pub pending: bool,
}

#[derive(Debug, Clone)]
pub enum Page {
    Pin(PinPage),
    Menu(MenuPage),
    Activity(ActivityPage),
    PickChild(PickChildPage),
    Balance(BalancePage),
    Prices(PricesPage),
    Item(ItemPage),
    Amount(AmountPage),
    Name(NamePage),
    WaitCard(WaitCardPage),
    Report(ReportPage),
    Unblock(UnblockPage),
    Confirm(ConfirmPage),
    CashCount(CashCountPage),
    Reverse(ReversePage),
}

/// What a page asks of the staff screen after an action.
#[derive(Debug)]
enum Step {
    /// Nothing beyond what the page changed in itself.
    Stay,
    Say(Message),
    /// What was said no longer holds (a question replaces a hint).
    Unsay,
    /// Start a task: keys wait until its outcome comes back.
    Run(Effect),
    /// Another page (the message stays), with what it needs loaded.
    Open(Page, Option<Effect>),
    /// Back to the menu, saying this.
    Menu(Option<Message>),
    /// A task chosen in the menu: what was said before goes.
    Start(Task),
    /// Out of the staff screen.
    Leave,
    Quit,
    /// Not an action of this page: Esc goes back to the menu, the rest
    /// does nothing.
    Pass,
}

/// The staff key: ask for the PIN, unless there is none or it is locked.
pub fn open(ctx: &Context) -> Transition {
    if !ctx.settings.has_pin {
        return Transition::go(Screen::Idle).request(Request::Notice(Notice::NoPin));
    }
    let mut s = StaffScreen::at(Page::Pin(PinPage::default()));
    s.message = pin::locked(ctx.pin_guard, ctx.now);
    Transition::go(Screen::Staff(s))
}

impl StaffScreen {
    fn at(page: Page) -> StaffScreen {
        StaffScreen {
            page,
            message: None,
            pending: false,
        }
    }

    pub fn wants_text(&self) -> bool {
        matches!(
            self.page,
            Page::Pin(_)
                | Page::PickChild(_)
                | Page::Amount(_)
                | Page::Name(_)
                | Page::Activity(_)
                | Page::Item(_)
                | Page::CashCount(_)
        )
    }

    pub fn busy(&self) -> bool {
        self.pending
    }

    pub fn update(&mut self, ctx: &Context, action: Action) -> Transition {
        // Outcomes of effects first: they arrive whatever the page.
        match action {
            Action::StaffDone(outcome) => {
                self.pending = false;
                self.message = Some(Message::Done(outcome));
                match &self.page {
                    Page::Report(_) => {}
                    // A refund confirmed from the list: the list again, as
                    // it is now.
                    Page::Confirm(asked) if matches!(*asked.back, Page::Activity(_)) => {
                        self.page = (*asked.back).clone();
                        self.pending = true;
                        return Transition::stay().effect(Effect::LoadActivity);
                    }
                    _ => self.page = Page::Menu(MenuPage::default()),
                }
                return Transition::stay();
            }
            // A child found by name (or the card tapped after all): the
            // sale screen, as after a tap.
            Action::AccountLoaded(Ok(view)) => {
                return Transition::go(Screen::Sale(SaleScreen::new(view)));
            }
            Action::AccountLoaded(Err(refusal)) => return result::refused(refusal),
            Action::SaleFailed(error) => return result::failed(error),
            Action::MenuChanged(_) => {
                self.pending = false;
                if let Page::Item(item) = &self.page {
                    let (page, message) = item.done(ctx);
                    self.page = page;
                    self.message = message;
                }
                return Transition::stay();
            }
            Action::PinChecked { ok, guard } => {
                if ok {
                    *self = StaffScreen::at(Page::Menu(MenuPage::default()));
                } else {
                    self.pending = false;
                    self.message = Some(pin::refused(&guard, ctx.now));
                }
                return Transition::stay().request(Request::PinGuard(guard));
            }
            Action::StaffCard { .. }
            | Action::UndoFound(_)
            | Action::BlockedCardsLoaded(_)
            | Action::ChildrenLoaded(_)
            | Action::ActivityLoaded(_)
            | Action::ChildAccount(_)
            | Action::ReportLoaded(_)
            | Action::BalanceLoaded { .. }
            | Action::TopUpsLoaded(_) => self.pending = false,
            // While a task runs, keys wait: no second refund by a double Enter.
            _ if self.pending => return Transition::stay(),
            _ => {}
        }
        let cancel = action == Action::Cancel;
        let step = match &mut self.page {
            Page::Pin(page) => page.update(ctx, action),
            Page::Menu(page) => page.update(ctx, action),
            Page::Activity(page) => page.update(action),
            Page::PickChild(page) => page.update(ctx, action),
            Page::Balance(page) => page.update(action),
            Page::Prices(page) => page.update(ctx, action),
            Page::Item(page) => page.update(ctx, action),
            Page::Amount(page) => page.update(action),
            Page::Name(page) => page.update(action),
            Page::WaitCard(page) => page.update(action),
            Page::Report(page) => page.update(action),
            Page::Unblock(page) => page.update(action),
            Page::Confirm(page) => page.update(action),
            Page::CashCount(page) => page.update(action),
            Page::Reverse(page) => page.update(action),
        };
        self.apply(ctx, step, cancel)
    }

    fn apply(&mut self, ctx: &Context, step: Step, cancel: bool) -> Transition {
        match step {
            Step::Stay => {}
            Step::Say(message) => self.message = Some(message),
            Step::Unsay => self.message = None,
            Step::Run(effect) => {
                self.pending = true;
                return Transition::stay().effect(effect);
            }
            Step::Open(page, load) => {
                self.page = page;
                return Transition::stay().effects(load);
            }
            Step::Menu(message) => {
                *self = StaffScreen {
                    message,
                    ..StaffScreen::at(Page::Menu(MenuPage::default()))
                }
            }
            Step::Start(task) => {
                self.message = None;
                let menu = match &self.page {
                    Page::Menu(menu) => menu.clone(),
                    _ => MenuPage::default(),
                };
                let step = task.start(local_day(ctx.now), &menu);
                return self.apply(ctx, step, false);
            }
            Step::Leave => return Transition::go(Screen::Idle),
            Step::Quit => return Transition::go(Screen::Idle).request(Request::Quit),
            Step::Pass if cancel => {
                let message = self.message.take();
                return self.apply(ctx, Step::Menu(message), false);
            }
            Step::Pass => {}
        }
        Transition::stay()
    }
}

pub fn draw(app: &App, s: &StaffScreen, frame: &mut Frame, area: Rect) {
    let t = &app.texts().staff;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(t.title.clone(), app.theme().header));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // Rows for a message only when there is one: a small screen needs them.
    let message_rows = if s.message.is_some() { 2 } else { 0 };
    let [body, message_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(message_rows)]).areas(inner);
    match &s.page {
        Page::Pin(page) => page.draw(app, frame, body),
        Page::Menu(page) => page.draw(app, frame, body),
        Page::Activity(page) => page.draw(app, frame, body),
        Page::PickChild(page) => page.draw(app, frame, body),
        Page::Balance(page) => page.draw(app, frame, body),
        Page::Prices(page) => page.draw(app, frame, body),
        Page::Item(page) => page.draw(app, frame, body),
        Page::Amount(page) => page.draw(app, frame, body),
        Page::Name(page) => page.draw(app, frame, body),
        Page::WaitCard(page) => page.draw(app, frame, body),
        Page::Report(page) => page.draw(app, frame, body),
        Page::Unblock(page) => page.draw(app, frame, body),
        Page::Confirm(page) => page.draw(app, frame, body),
        Page::CashCount(page) => page.draw(app, frame, body),
        Page::Reverse(page) => page.draw(app, frame, body),
    }
    if let Some(message) = &s.message {
        let style = if message.is_good() {
            app.theme().good
        } else {
            app.theme().bad
        };
        frame.render_widget(
            Paragraph::new(Span::styled(message.text(t), style)).wrap(Wrap { trim: true }),
            message_area,
        );
    }
}

/// A page's list, with the selected row (if any) marked.
fn draw_list(
    app: &App,
    frame: &mut Frame,
    area: Rect,
    items: Vec<ListItem>,
    selected: Option<usize>,
    title: Option<String>,
) {
    let mut list = List::new(items)
        .highlight_style(app.theme().selected)
        .highlight_symbol("▶ ")
        // Aligned alike with or without a row chosen (a fresh menu has none).
        .highlight_spacing(HighlightSpacing::Always);
    if let Some(title) = title {
        list = list.block(Block::default().title(title));
    }
    let mut state = ListState::default().with_selected(selected);
    frame.render_stateful_widget(list, area, &mut state);
}

pub fn hints(app: &App, s: &StaffScreen) -> Vec<(String, String)> {
    let k = &app.keymap;
    let t = &app.texts().staff;
    match s.page {
        Page::Report(_) => vec![(k.hint(&Action::ExportReport), t.export_hint.clone())],
        Page::Activity(_) => vec![(String::new(), t.tools.activity_hint.clone())],
        // The page says its answers itself.
        Page::Confirm(_) => vec![],
        _ => vec![(String::new(), t.hint.clone())],
    }
}
