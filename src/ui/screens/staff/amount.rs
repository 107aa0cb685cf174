//! The amount of a cash top-up for the chosen child.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Message, Step, input};
use crate::ui::app::App;
use crate::ui::effect::Effect;
use crate::ui::{Action, theme};
use klubkasse_core::domain::{Child, Money, MoneyError};

/// Largest cash top-up in one go: a typo must not put 50.000 kr. on a card.
const MAX_TOP_UP_KRONER: i64 = 2_000;

#[derive(Debug, Clone)]
pub struct AmountPage {
    pub child: Child,
    pub input: String,
}

/// Why a typed top-up is not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    NotAnAmount(MoneyError),
    /// Nothing, or more than `max`.
    OutOfRange {
        max: Money,
    },
}

impl AmountPage {
    pub fn new(child: Child) -> AmountPage {
        AmountPage {
            child,
            input: String::new(),
        }
    }

    pub(super) fn update(&mut self, action: Action) -> Step {
        let accepts = |c: char| c.is_ascii_digit() || c == ',' || c == '.';
        if input::typed(&mut self.input, &action, accepts, 9) {
            return Step::Stay;
        }
        match action {
            Action::Confirm => match parse(&self.input, Money::kroner(MAX_TOP_UP_KRONER)) {
                Ok(amount) => Step::Run(Effect::Deposit {
                    child: self.child.id,
                    amount,
                }),
                Err(e) => Step::Say(Message::BadAmount(e)),
            },
            // A tap while typing: the top-up is for that card's child.
            Action::CardTapped(uid) => Step::Run(Effect::IdentifyCard(uid)),
            Action::StaffCard {
                owner: Some(child), ..
            } => {
                self.child = child;
                Step::Stay
            }
            Action::StaffCard { uid, owner: None } => Step::Say(Message::CardUnknown { uid }),
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let lines = vec![
            Line::from(Span::styled(self.child.name.clone(), theme::NAME)),
            Line::from(app.texts().staff.amount_prompt.clone()),
            Line::from(""),
            Line::from(Span::styled(format!("{}_ kr.", self.input), theme::AMOUNT)),
        ];
        frame.render_widget(Paragraph::new(lines), area);
    }
}

/// A typed amount of money, more than zero and at most `max`.
pub(super) fn parse(input: &str, max: Money) -> Result<Money, AmountError> {
    let amount = Money::parse(input).map_err(AmountError::NotAnAmount)?;
    if !amount.is_positive() || amount > max {
        return Err(AmountError::OutOfRange { max });
    }
    Ok(amount)
}
