//! The amount of a cash top-up for the chosen child: the balance before
//! and after, and a second Enter to pay it in. Also how every staff page
//! reads a typed amount ([`read_amount`]).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{Message, Page, Step, input};
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use klubkasse_core::domain::{AmountField, Child, Money};

/// Largest cash top-up in one go: a typo must not put 50.000 kr. on a card.
const MAX_TOP_UP_KRONER: i64 = 2_000;

#[derive(Debug, Clone)]
pub struct AmountPage {
    pub child: Child,
    pub input: String,
    /// `None` while it loads.
    pub balance: Option<Money>,
    /// Enter was pressed on this amount: the next Enter pays it in.
    pub confirming: Option<Money>,
}

/// Why a typed amount is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    Unreadable(klubkasse_core::domain::AmountError),
    /// Nothing where something must be paid.
    Zero,
    TooMuch {
        max: Money,
    },
}

/// Reads what staff typed the Danish way (`2.000` is two thousand; where
/// `field` expects øre, as a price or the drawer's count does, `1.500` could
/// mean two things and is refused), from 0 (if `zero` is allowed) to `max`.
pub(super) fn read_amount(
    input: &str,
    field: AmountField,
    zero: bool,
    max: Money,
) -> Result<Money, AmountError> {
    let amount = Money::parse_danish(input, field).map_err(AmountError::Unreadable)?;
    if amount.is_negative() || !zero && amount == Money::ZERO {
        return Err(AmountError::Zero);
    }
    if amount > max {
        return Err(AmountError::TooMuch { max });
    }
    Ok(amount)
}

/// What a money field takes: digits and the Danish separators.
pub(super) fn money_char(c: char) -> bool {
    c.is_ascii_digit() || c == ',' || c == '.'
}

impl AmountPage {
    pub fn new(child: Child) -> AmountPage {
        AmountPage {
            child,
            input: String::new(),
            balance: None,
            confirming: None,
        }
    }

    pub(super) fn update(&mut self, action: Action) -> Step {
        if input::typed(&mut self.input, &action, money_char, 12) {
            // A changed amount must be confirmed again.
            self.confirming = None;
            return Step::Stay;
        }
        match action {
            Action::BalanceLoaded { child, balance } if child == self.child.id => {
                self.balance = Some(balance);
                Step::Stay
            }
            Action::Confirm => match self.confirming {
                Some(amount) => Step::Run(Effect::Deposit {
                    child: self.child.id,
                    amount,
                }),
                None => match read_amount(
                    &self.input,
                    AmountField::Kroner,
                    false,
                    Money::kroner(MAX_TOP_UP_KRONER),
                ) {
                    Ok(amount) => {
                        self.confirming = Some(amount);
                        // The question replaces any hint about the amount.
                        Step::Unsay
                    }
                    Err(e) => Step::Say(Message::BadAmount(e)),
                },
            },
            // A tap while typing: the top-up is for that card's child.
            Action::CardTapped(uid) => Step::Run(Effect::IdentifyCard(uid)),
            Action::StaffCard {
                owner: Some(child), ..
            } => {
                // What was typed stays; the balance is the new child's.
                let load = Effect::LoadBalance(child.id);
                self.child = child;
                self.balance = None;
                self.confirming = None;
                Step::Open(Page::Amount(self.clone()), Some(load))
            }
            Action::StaffCard { uid, owner: None } => Step::Say(Message::CardUnknown { uid }),
            // Esc at the question goes back to the amount, not the menu.
            Action::Cancel if self.confirming.is_some() => {
                self.confirming = None;
                Step::Stay
            }
            _ => Step::Pass,
        }
    }

    /// The amount typed so far, if it reads.
    fn typed(&self) -> Option<Money> {
        read_amount(
            &self.input,
            AmountField::Kroner,
            false,
            Money::kroner(MAX_TOP_UP_KRONER),
        )
        .ok()
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let t = &app.texts().staff;
        let shown = |m: Option<Money>| m.map(|m| m.to_string()).unwrap_or_default();
        let label = |text: &str| Span::styled(format!("{text}: "), app.theme().label);
        let mut lines = vec![
            Line::from(Span::styled(self.child.name.clone(), app.theme().name)),
            Line::from(vec![
                label(&t.balance_now),
                Span::styled(shown(self.balance), app.theme().amount),
            ]),
            Line::from(""),
            Line::from(t.amount_prompt.clone()),
            Line::from(Span::styled(
                format!("{}_ kr.", self.input),
                app.theme().amount,
            )),
        ];
        let after = self
            .typed()
            .zip(self.balance)
            .map(|(amount, balance)| balance + amount);
        lines.push(Line::from(vec![
            label(&t.balance_after),
            Span::styled(shown(after), app.theme().amount),
        ]));
        if let Some(amount) = self.confirming {
            lines.push(Line::from(""));
            let question = crate::i18n::fill(
                &t.confirm_top_up,
                &[("amount", &amount.to_string()), ("name", &self.child.name)],
            );
            lines.push(Line::from(Span::styled(question, app.theme().selected)));
        }
        // Wrapped: at 80 columns the question is longer than a line.
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use klubkasse_core::domain::{AmountError as Read, ChildId};

    fn page() -> AmountPage {
        AmountPage::new(Child {
            id: ChildId::new(),
            name: "Freja".into(),
            daily_limit: None,
            blocked_categories: vec![],
            note: None,
        })
    }

    fn typing(page: &mut AmountPage, text: &str) {
        for c in text.chars() {
            assert!(matches!(page.update(Action::Input(c)), Step::Stay));
        }
    }

    #[test]
    fn two_thousand_is_two_thousand_and_asks_first() {
        let mut page = page();
        typing(&mut page, "2.000");
        // The first Enter only asks.
        assert!(matches!(page.update(Action::Confirm), Step::Unsay));
        assert_eq!(page.confirming, Some(Money::kroner(2000)));
        match page.update(Action::Confirm) {
            Step::Run(Effect::Deposit { amount, .. }) => assert_eq!(amount, Money::kroner(2000)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn esc_at_the_question_and_typing_take_it_back() {
        let mut page = page();
        typing(&mut page, "50");
        page.update(Action::Confirm);
        assert!(matches!(page.update(Action::Cancel), Step::Stay));
        assert_eq!(page.confirming, None);
        page.update(Action::Confirm);
        typing(&mut page, "0");
        assert_eq!(page.confirming, None, "a changed amount asks again");
        // Esc without a question goes back to the menu.
        assert!(matches!(page.update(Action::Cancel), Step::Pass));
    }

    #[test]
    fn what_could_mean_two_things_is_not_paid() {
        let mut page = page();
        typing(&mut page, "12.50");
        match page.update(Action::Confirm) {
            Step::Say(Message::BadAmount(AmountError::Unreadable(Read::Ambiguous(text)))) => {
                assert_eq!(text, "12.50")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(page.confirming, None);
    }

    #[test]
    fn read_amount_limits() {
        let max = Money::kroner(2000);
        assert_eq!(
            read_amount("0", AmountField::Kroner, false, max),
            Err(AmountError::Zero)
        );
        assert_eq!(
            read_amount("0", AmountField::Kroner, true, max),
            Ok(Money::ZERO)
        );
        assert_eq!(
            read_amount("2.000,01", AmountField::Kroner, false, max),
            Err(AmountError::TooMuch { max })
        );
        assert_eq!(
            read_amount("", AmountField::Kroner, false, max),
            Err(AmountError::Unreadable(Read::Empty))
        );
    }
}
