//! "Betalt" with the new balance, or why not, in a child's words.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::i18n::{Texts, fill};
use crate::ui::Action;
use crate::ui::app::{App, Screen};
use crate::ui::big_text;
use crate::ui::effect::Effect;
use crate::ui::screens::{big_name, staff};
use crate::ui::transition::{Context, Transition};
use klubkasse_core::domain::{Money, Refusal};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultScreen {
    Paid {
        name: String,
        total: Money,
        balance: Money,
    },
    Refused(Refusal),
    /// The store could not save the sale: nothing was charged.
    NotSaved(String),
}

pub fn paid(name: &str, total: Money, balance: Money) -> Transition {
    Transition::go(Screen::Result(ResultScreen::Paid {
        name: name.to_string(),
        total,
        balance,
    }))
}

pub fn refused(refusal: Refusal) -> Transition {
    Transition::go(Screen::Result(ResultScreen::Refused(refusal))).effect(Effect::Bell)
}

pub fn failed(error: String) -> Transition {
    Transition::go(Screen::Result(ResultScreen::NotSaved(error))).effect(Effect::Bell)
}

impl ResultScreen {
    pub fn update(&self, ctx: &Context, action: Action) -> Transition {
        match action {
            // The next child need not wait for the message to go away.
            Action::CardTapped(uid) => Transition::go(Screen::Idle).effect(ctx.lookup(uid)),
            Action::Confirm | Action::Cancel => Transition::go(Screen::Idle),
            Action::Staff => staff::open(ctx),
            _ => Transition::stay(),
        }
    }
}

/// The sentence a child reads when the card may not pay.
pub fn refusal_text(t: &Texts, refusal: &Refusal) -> String {
    let r = &t.refusal;
    match refusal {
        Refusal::UnknownCard { .. } => r.unknown_card.clone(),
        Refusal::CardBlocked { .. } => r.card_blocked.clone(),
        Refusal::NotEnoughMoney { available } => fill(
            &r.not_enough_money,
            &[("available", &available.to_string())],
        ),
        // "Reached" only when nothing is left: else what may still be bought.
        Refusal::DailyLimitReached { limit, left } if left.is_positive() => fill(
            &r.daily_limit,
            &[("limit", &limit.to_string()), ("left", &left.to_string())],
        ),
        Refusal::DailyLimitReached { limit, .. } => {
            fill(&r.daily_limit_used, &[("limit", &limit.to_string())])
        }
        Refusal::CategoryBlocked { category } => {
            fill(&r.category_blocked, &[("category", category)])
        }
        Refusal::OfflineAllowanceUsed { allowance } => fill(
            &r.offline_allowance,
            &[("allowance", &allowance.to_string())],
        ),
    }
}

pub fn draw(app: &App, r: &ResultScreen, frame: &mut Frame, area: Rect) {
    let t = app.texts();
    let (headline, detail, style): (String, Vec<String>, Style) = match r {
        ResultScreen::Paid {
            name,
            total,
            balance,
        } => (
            t.result.paid.clone(),
            vec![
                format!("{name}: -{total}"),
                fill(&t.result.new_balance, &[("balance", &balance.to_string())]),
            ],
            app.theme().paid,
        ),
        ResultScreen::Refused(refusal) => {
            let mut lines = vec![refusal_text(t, refusal)];
            match refusal {
                Refusal::CardBlocked { name } => lines.insert(0, name.clone()),
                // Staff need the UID to hand the card out.
                Refusal::UnknownCard { uid } => lines.extend([String::new(), uid.to_string()]),
                _ => {}
            }
            (t.result.refused.clone(), lines, app.theme().refused)
        }
        // The child reads the first line; staff read the cause below it.
        ResultScreen::NotSaved(error) => (
            t.result.refused.clone(),
            vec![t.result.not_saved.clone(), String::new(), error.clone()],
            app.theme().refused,
        ),
    };
    frame.render_widget(Block::default().style(style), area);
    // A symbol says it too, beside the words: never colour alone.
    let symbol = match r {
        ResultScreen::Paid { .. } => "✓",
        _ => "✗",
    };
    let [_, big, text, _] = Layout::vertical([
        Constraint::Percentage(20),
        Constraint::Length(big_text::height(app.settings.big_text) + 1),
        Constraint::Min(3),
        Constraint::Percentage(10),
    ])
    .areas(area);
    big_name(app, frame, big, &headline, style);
    let bold = style.add_modifier(ratatui::style::Modifier::BOLD);
    let lines: Vec<Line> = detail
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let l = if i == 0 { format!("{symbol} {l}") } else { l };
            Line::from(l).style(bold).centered()
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;
    use klubkasse_core::domain::Money;

    #[test]
    fn the_daily_limit_says_reached_only_when_nothing_is_left() {
        let t = Texts::of(Language::DA);
        let limit = Money::kroner(20);
        assert_eq!(
            refusal_text(
                t,
                &Refusal::DailyLimitReached {
                    limit,
                    left: Money::kroner(2)
                }
            ),
            "Det er mere end din grænse for i dag (20,00 kr.). Du kan bruge 2,00 kr. mere i dag."
        );
        assert_eq!(
            refusal_text(
                t,
                &Refusal::DailyLimitReached {
                    limit,
                    left: Money::ZERO
                }
            ),
            "Du har brugt hele din grænse for i dag (20,00 kr.)."
        );
    }
}
