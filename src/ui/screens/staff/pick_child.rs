//! Choose a child by typing part of the name: for a top-up, a card to
//! hand out, or cards to block (or tap the card to block).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::ListItem;

use super::{AmountPage, Page, Step, draw_list, input};
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use klubkasse_core::domain::{CardUid, Child};

/// Why staff are choosing a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    TopUp,
    HandOut(CardUid),
    Block,
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

    pub(super) fn update(&mut self, action: Action) -> Step {
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
                Some(child) => match &self.purpose {
                    Purpose::TopUp => Step::Open(
                        Page::Amount(AmountPage::new(child.clone())),
                        Some(Effect::LoadBalance(child.id)),
                    ),
                    Purpose::HandOut(uid) => Step::Run(Effect::BindCard {
                        uid: uid.clone(),
                        child: child.id,
                    }),
                    Purpose::Block => Step::Run(Effect::BlockChildCards(child.id)),
                },
            },
            Action::CardTapped(uid) if self.purpose == Purpose::Block => {
                Step::Run(Effect::BlockCard(uid))
            }
            _ => Step::Pass,
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
            Purpose::Block => &t.tap_card_to_block,
            _ => &t.pick_child,
        };
        let items: Vec<ListItem> = self
            .matching()
            .map(|c| ListItem::new(c.name.clone()))
            .collect();
        let title = format!("{title}   › {}_", self.filter);
        draw_list(frame, area, items, self.selected, Some(title));
    }
}
