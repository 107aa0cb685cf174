//! One module per screen: its state, its part of `update()`, its drawing.

pub mod idle;
pub mod report;
pub mod result;
pub mod sale;
pub mod staff;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::ui::app::App;
use crate::ui::big_text;

/// `text` as large as fits in `area`, of the glyphs the config allows.
pub fn big_name(app: &App, frame: &mut Frame, area: Rect, text: &str, style: Style) {
    big_text::draw(frame, area, text, style, app.settings.big_text);
}

/// Texts side by side, as large as fits, all in the same letters.
pub fn big_alike(app: &App, frame: &mut Frame, texts: &[(Rect, &str, Style)]) {
    big_text::draw_alike(frame, texts, app.settings.big_text);
}
