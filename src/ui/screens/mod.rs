//! One module per screen: its state, its part of `update()`, its drawing.

pub mod idle;
pub mod report;
pub mod result;
pub mod sale;
pub mod staff;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use tui_big_text::{BigText, PixelSize};

/// Draws `text` as large as fits in `area`: big letters for names and
/// "Betalt", plain bold where even the smallest big font is too wide.
pub fn big_name(frame: &mut Frame, area: Rect, text: &str, style: Style) {
    let chars = text.chars().count() as u16;
    // (pixel size, columns per character, rows per line)
    let sizes = [
        (PixelSize::HalfHeight, 8, 4),
        (PixelSize::Quadrant, 4, 4),
        (PixelSize::Sextant, 4, 3),
    ];
    match sizes
        .iter()
        .find(|(_, w, h)| chars * w <= area.width && *h <= area.height)
    {
        Some((size, _, h)) => {
            let big = BigText::builder()
                .pixel_size(*size)
                .style(style)
                .lines(vec![Line::from(text.to_string())])
                .centered()
                .build();
            let area = Rect { height: *h, ..area };
            frame.render_widget(big, area);
        }
        None => {
            let line = Line::from(text.to_string()).style(style).centered();
            frame.render_widget(Paragraph::new(line), area);
        }
    }
}
