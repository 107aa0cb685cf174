//! Hand out a card: tap it (it must belong to nobody), then choose the
//! child.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use super::{Message, Page, PickChildPage, Purpose, Step};
use crate::ui::Action;
use crate::ui::app::App;
use crate::ui::effect::Effect;

#[derive(Debug, Clone, Default)]
pub struct WaitCardPage;

impl WaitCardPage {
    pub(super) fn update(&mut self, action: Action) -> Step {
        match action {
            Action::CardTapped(uid) => Step::Run(Effect::IdentifyCard(uid)),
            Action::StaffCard {
                owner: Some(owner), ..
            } => Step::Say(Message::CardTaken { owner: owner.name }),
            Action::StaffCard { uid, owner: None } => Step::Open(
                Page::PickChild(PickChildPage::new(Purpose::HandOut(uid))),
                Some(Effect::LoadChildren),
            ),
            _ => Step::Pass,
        }
    }

    pub(super) fn draw(&self, app: &App, frame: &mut Frame, area: Rect) {
        let text = app.texts().staff.tap_new_card.clone();
        frame.render_widget(
            Paragraph::new(Span::styled(text, app.theme().warning)),
            area,
        );
    }
}
