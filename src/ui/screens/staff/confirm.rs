//! The second look before a step that is hard to take back: what will
//! happen, in words, then Enter to do it or Esc to go back where staff
//! came from. One page for every task that asks.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{Page, Step};
use crate::i18n::{StaffTexts, fill};
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use klubkasse_core::domain::{CardUid, Money};

/// What staff are asked to confirm, in values; words when drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    Undo { name: String, amount: Money },
    Refund { name: String, amount: Money },
    BlockChild { name: String },
    BlockCard { uid: CardUid, name: String },
    Unblock { uid: CardUid, name: String },
    Quit,
}

impl Question {
    pub fn text(&self, t: &StaffTexts) -> String {
        let card = |template: &str, uid: &CardUid, name: &str| {
            fill(template, &[("uid", uid.as_str()), ("name", name)])
        };
        match self {
            Question::Undo { name, amount } => fill(
                &t.confirm_undo,
                &[("name", name), ("amount", &amount.to_string())],
            ),
            Question::Refund { name, amount } => fill(
                &t.confirm_refund,
                &[("name", name), ("amount", &amount.to_string())],
            ),
            Question::BlockChild { name } => fill(&t.confirm_block_child, &[("name", name)]),
            Question::BlockCard { uid, name } => card(&t.confirm_block_card, uid, name),
            Question::Unblock { uid, name } => card(&t.confirm_unblock, uid, name),
            Question::Quit => t.confirm_quit.clone(),
        }
    }
}

/// What a yes does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    Run(Effect),
    Quit,
}

#[derive(Debug, Clone)]
pub struct ConfirmPage {
    pub question: Question,
    pub then: Then,
    /// Where a no goes back to, as staff left it.
    pub back: Box<Page>,
}

impl ConfirmPage {
    /// The step that asks `question` before `then`, coming from `back`.
    pub(super) fn ask(question: Question, then: Then, back: Page) -> Step {
        let page = ConfirmPage {
            question,
            then,
            back: Box::new(back),
        };
        Step::Open(Page::Confirm(page), None)
    }

    pub(super) fn update(&mut self, action: Action) -> Step {
        match action {
            Action::Confirm => match &self.then {
                Then::Run(effect) => Step::Run(effect.clone()),
                Then::Quit => Step::Quit,
            },
            Action::Cancel => Step::Open((*self.back).clone(), None),
            // Anything else (a tap, a stray key) neither says yes nor no.
            _ => Step::Stay,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff;
        let keys = fill(
            &t.confirm_keys,
            &[
                ("yes_key", &app.keymap.hint(&Action::Confirm)),
                ("no_key", &app.keymap.hint(&Action::Cancel)),
            ],
        );
        let [_, question, _, answer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(area);
        frame.render_widget(
            Paragraph::new(Span::styled(self.question.text(t), app.theme().warning))
                .wrap(Wrap { trim: true }),
            question,
        );
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(keys, app.theme().key))),
            answer,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Language, Texts};

    #[test]
    fn each_question_says_what_will_happen() {
        let t = &Texts::of(Language::DA).staff;
        let uid = CardUid::parse("04C3D4E5").unwrap();
        let name = || "Anna".to_string();
        let cases = [
            (
                Question::Undo {
                    name: name(),
                    amount: Money::kroner(12),
                },
                "Fortryd salget til Anna: 12,00 kr.?",
            ),
            (
                Question::Refund {
                    name: name(),
                    amount: Money::from_ore(750),
                },
                "Betal 7,50 kr. tilbage til Anna?",
            ),
            (
                Question::BlockChild { name: name() },
                "Spær alle kort for Anna?",
            ),
            (
                Question::BlockCard {
                    uid: uid.clone(),
                    name: name(),
                },
                "Spær kort 04C3D4E5 (Anna)?",
            ),
            (
                Question::Unblock { uid, name: name() },
                "Ophæv spærringen af kort 04C3D4E5 (Anna)?",
            ),
            (Question::Quit, "Luk kassen?"),
        ];
        for (question, words) in cases {
            assert_eq!(question.text(t), words);
        }
    }

    #[test]
    fn enter_says_yes_esc_goes_back_and_nothing_else_answers() {
        let back = Page::Menu(super::super::MenuPage::default());
        let mut page = ConfirmPage {
            question: Question::Quit,
            then: Then::Run(Effect::LoadActivity),
            back: Box::new(back),
        };
        for other in [
            Action::Down,
            Action::Input('j'),
            Action::CardTapped(CardUid::parse("04C3D4E5").unwrap()),
        ] {
            assert!(matches!(page.update(other), Step::Stay));
        }
        assert!(matches!(
            page.update(Action::Cancel),
            Step::Open(Page::Menu(_), None)
        ));
        assert!(matches!(
            page.update(Action::Confirm),
            Step::Run(Effect::LoadActivity)
        ));
        page.then = Then::Quit;
        assert!(matches!(page.update(Action::Confirm), Step::Quit));
    }
}
