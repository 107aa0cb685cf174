//! The PIN that opens the staff menu, and its lock after wrong tries.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Message, Step, input};
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;
use crate::ui::transition::Context;
use klubkasse_core::domain::{PinCheck, PinGuard};

#[derive(Debug, Clone, Default)]
pub struct PinPage {
    pub entered: String,
}

impl PinPage {
    pub(super) fn update(&mut self, ctx: &Context, action: Action) -> Step {
        if input::typed(&mut self.entered, &action, |c| c.is_ascii_digit(), 12) {
            return Step::Stay;
        }
        match action {
            Action::Cancel => Step::Leave,
            Action::Confirm => {
                let entered = std::mem::take(&mut self.entered);
                match locked(ctx.pin_guard, ctx.now) {
                    Some(locked) => Step::Say(locked),
                    None if entered.is_empty() => Step::Stay,
                    None => Step::Run(Effect::CheckPin {
                        pin: entered,
                        guard: ctx.pin_guard.clone(),
                    }),
                }
            }
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let lines = vec![
            Line::from(app.texts().staff.pin_prompt.clone()),
            Line::from(""),
            Line::from(Span::styled(
                format!("{}_", "●".repeat(self.entered.len())),
                app.theme().amount,
            )),
        ];
        frame.render_widget(Paragraph::new(lines), area);
    }
}

/// While the PIN is locked: for how long.
pub(super) fn locked(guard: &PinGuard, now: DateTime<Utc>) -> Option<Message> {
    match guard.state(now) {
        PinCheck::Locked { remaining } => Some(Message::PinLocked {
            seconds: remaining.as_secs().max(1),
        }),
        PinCheck::Open { .. } => None,
    }
}

/// After a wrong PIN: locked now, or how many tries are left.
pub(super) fn refused(guard: &PinGuard, now: DateTime<Utc>) -> Message {
    locked(guard, now).unwrap_or_else(|| Message::PinWrong {
        tries: match guard.state(now) {
            PinCheck::Open { tries_left } => tries_left,
            PinCheck::Locked { .. } => 0,
        },
    })
}
