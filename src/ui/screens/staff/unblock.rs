//! Unblock a card that was found again: choose it from the blocked cards,
//! or tap it; then confirm.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::ListItem;

use super::{ConfirmPage, Message, Page, Question, Step, Then, draw_list, input};
use crate::action::BlockedCard;
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;

#[derive(Debug, Clone, Default)]
pub struct UnblockPage {
    /// The blocked cards, by owner's name; `None` while they load.
    pub cards: Option<Vec<BlockedCard>>,
    pub selected: usize,
}

impl UnblockPage {
    pub(super) fn update(&mut self, action: Action) -> Step {
        match action {
            Action::BlockedCardsLoaded(cards) if cards.is_empty() => {
                Step::Menu(Some(Message::NoBlockedCards))
            }
            Action::BlockedCardsLoaded(cards) => {
                self.cards = Some(cards);
                self.selected = 0;
                Step::Stay
            }
            Action::Up | Action::Down => {
                let len = self.cards.as_ref().map_or(0, Vec::len);
                self.selected = input::step(self.selected, len, &action);
                Step::Stay
            }
            Action::Confirm => match self.cards.iter().flatten().nth(self.selected) {
                Some(card) => self.ask(card.clone()),
                None => Step::Stay,
            },
            Action::CardTapped(uid) => Step::Run(Effect::IdentifyCard(uid)),
            Action::StaffCard { uid, owner } => {
                let listed = self.cards.iter().flatten().find(|c| c.uid == uid);
                match (listed, owner) {
                    (Some(card), _) => self.ask(card.clone()),
                    (None, Some(owner)) => Step::Say(Message::CardNotBlocked {
                        uid,
                        name: owner.name,
                    }),
                    (None, None) => Step::Say(Message::CardUnknown { uid }),
                }
            }
            _ => Step::Pass,
        }
    }

    fn ask(&self, card: BlockedCard) -> Step {
        ConfirmPage::ask(
            Question::Unblock {
                uid: card.uid.clone(),
                name: card.child_name,
            },
            Then::Run(Effect::UnblockCard(card.uid)),
            Page::Unblock(self.clone()),
        )
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff;
        let items: Vec<ListItem> = self
            .cards
            .iter()
            .flatten()
            .map(|c| ListItem::new(format!("{:<28} {}", c.child_name, c.uid)))
            .collect();
        draw_list(
            app,
            frame,
            area,
            items,
            Some(self.selected),
            Some(t.pick_blocked_card.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use klubkasse_core::domain::{CardUid, Child, ChildId};

    fn card(hex: &str, name: &str) -> BlockedCard {
        BlockedCard {
            uid: CardUid::parse(hex).unwrap(),
            child_name: name.into(),
        }
    }

    #[test]
    fn a_listed_card_or_its_tap_asks_and_an_active_or_unknown_one_says_why_not() {
        let mut page = UnblockPage::default();
        let ida = card("04C3D4E5", "Ida Jensen");
        page.update(Action::BlockedCardsLoaded(vec![
            card("0A0B0C0D", "Alma Larsen"),
            ida.clone(),
        ]));
        page.update(Action::Down);
        let asks_for_ida = |step: Step| match step {
            Step::Open(Page::Confirm(c), None) => {
                assert_eq!(
                    c.question,
                    Question::Unblock {
                        uid: ida.uid.clone(),
                        name: ida.child_name.clone()
                    }
                );
                assert_eq!(c.then, Then::Run(Effect::UnblockCard(ida.uid.clone())));
            }
            other => panic!("{other:?}"),
        };
        asks_for_ida(page.update(Action::Confirm));
        asks_for_ida(page.update(Action::StaffCard {
            uid: ida.uid.clone(),
            owner: None,
        }));
        let freja = Child {
            id: ChildId::new(),
            name: "Freja Nielsen".into(),
            daily_limit: None,
            blocked_categories: vec![],
            note: None,
        };
        let active = CardUid::parse("04A1B2C3").unwrap();
        assert!(matches!(
            page.update(Action::StaffCard {
                uid: active,
                owner: Some(freja)
            }),
            Step::Say(Message::CardNotBlocked { .. })
        ));
        let unknown = CardUid::parse("DEADBEEF").unwrap();
        assert!(matches!(
            page.update(Action::StaffCard {
                uid: unknown,
                owner: None
            }),
            Step::Say(Message::CardUnknown { .. })
        ));
    }

    #[test]
    fn no_blocked_cards_goes_back_to_the_menu_saying_so() {
        assert!(matches!(
            UnblockPage::default().update(Action::BlockedCardsLoaded(vec![])),
            Step::Menu(Some(Message::NoBlockedCards))
        ));
    }
}
