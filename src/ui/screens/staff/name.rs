//! The name of a new child.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{Step, input};
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;

#[derive(Debug, Clone, Default)]
pub struct NamePage {
    pub input: String,
}

impl NamePage {
    pub(super) fn update(&mut self, action: Action) -> Step {
        if input::typed(&mut self.input, &action, |c| !c.is_control(), 40) {
            return Step::Stay;
        }
        let name = self.input.trim();
        match action {
            Action::Confirm if !name.is_empty() => Step::Run(Effect::AddChild {
                name: name.to_string(),
            }),
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let lines = vec![
            Line::from(app.texts().staff.name_prompt.clone()),
            Line::from(""),
            Line::from(Span::styled(format!("{}_", self.input), app.theme().amount)),
        ];
        frame.render_widget(Paragraph::new(lines), area);
    }
}
