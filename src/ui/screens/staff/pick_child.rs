//! Choose a child by typing part of the name, or by tapping the child's
//! card: for a top-up, a card to hand out, cards to block (a tap blocks
//! that card; a block asks first), a sale without the card (a tap sells
//! with it after all) or the balance.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{ListItem, Paragraph};

use super::{
    AmountPage, BalancePage, ConfirmPage, Message, Page, Question, Step, Then, draw_list, input,
};
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use crate::ui::transition::Context;
use klubkasse_core::domain::{CardUid, Child};

/// Why staff are choosing a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    TopUp,
    HandOut(CardUid),
    Block,
    /// The child forgot the card: the sale screen, by name.
    Sell,
    Balance,
}

#[derive(Debug, Clone)]
pub struct PickChildPage {
    pub purpose: Purpose,
    /// `None` while they load.
    pub children: Option<Vec<Child>>,
    pub filter: String,
    /// Among the children the filter matches.
    pub selected: usize,
}

impl PickChildPage {
    pub fn new(purpose: Purpose) -> PickChildPage {
        PickChildPage {
            purpose,
            children: None,
            filter: String::new(),
            selected: 0,
        }
    }

    pub(super) fn update(&mut self, ctx: &Context, action: Action) -> Step {
        if input::typed(&mut self.filter, &action, |c| !c.is_control(), 24) {
            self.selected = 0;
            return Step::Stay;
        }
        match action {
            Action::ChildrenLoaded(children) => {
                self.children = Some(children);
                self.selected = 0;
                Step::Stay
            }
            Action::Up | Action::Down => {
                let len = self.matching().count();
                self.selected = input::step(self.selected, len, &action);
                Step::Stay
            }
            Action::Confirm => match self.matching().nth(self.selected).cloned() {
                None => Step::Stay,
                Some(child) => self.pick(ctx, child),
            },
            // The card is here after all: the sale a tap starts.
            Action::CardTapped(uid) if self.purpose == Purpose::Sell => Step::Run(ctx.lookup(uid)),
            // Whose card it is first: to pick them, or to name them in the
            // question before a block.
            Action::CardTapped(uid) => Step::Run(Effect::IdentifyCard(uid)),
            Action::StaffCard {
                uid,
                owner: Some(owner),
            } if self.purpose == Purpose::Block => ConfirmPage::ask(
                Question::BlockCard {
                    uid: uid.clone(),
                    name: owner.name,
                },
                Then::Run(Effect::BlockCard(uid)),
                Page::PickChild(self.clone()),
            ),
            Action::StaffCard {
                owner: Some(child), ..
            } => self.pick(ctx, child),
            Action::StaffCard { uid, owner: None } => Step::Say(Message::CardUnknown { uid }),
            _ => Step::Pass,
        }
    }

    fn pick(&self, ctx: &Context, child: Child) -> Step {
        match &self.purpose {
            Purpose::TopUp => {
                let load = Effect::LoadBalance(child.id);
                Step::Open(Page::Amount(AmountPage::new(child)), Some(load))
            }
            Purpose::HandOut(uid) => Step::Run(Effect::BindCard {
                uid: uid.clone(),
                child: child.id,
            }),
            Purpose::Block => ConfirmPage::ask(
                Question::BlockChild {
                    name: child.name.clone(),
                },
                Then::Run(Effect::BlockChildCards(child.id)),
                Page::PickChild(self.clone()),
            ),
            Purpose::Sell => Step::Run(ctx.sell_to(child.id)),
            Purpose::Balance => {
                let load = ctx.account(child.id);
                Step::Open(Page::Balance(BalancePage::new(child)), Some(load))
            }
        }
    }

    /// Children whose name contains the filter, ignoring case.
    fn matching(&self) -> impl Iterator<Item = &Child> {
        let filter = self.filter.to_lowercase();
        self.children
            .iter()
            .flatten()
            .filter(move |c| c.name.to_lowercase().contains(&filter))
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff;
        let title = match self.purpose {
            Purpose::Block => t.tap_card_to_block.clone(),
            _ => format!("{} — {}", t.pick_child, t.tools.or_tap),
        };
        let items: Vec<ListItem> = self
            .matching()
            .map(|c| ListItem::new(c.name.clone()))
            .collect();
        let field = format!("› {}_", self.filter);
        let whole = format!("{title}   {field}");
        // Too narrow for both on one row: the question above, the field
        // as the list's title, never cut.
        if whole.chars().count() > usize::from(area.width) {
            let [question, list] =
                Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
            frame.render_widget(Paragraph::new(title), question);
            draw_list(app, frame, list, items, Some(self.selected), Some(field));
        } else {
            draw_list(app, frame, area, items, Some(self.selected), Some(whole));
        }
    }
}
