//! One module per screen: its state, its part of `update()`, its drawing.

pub mod idle;
pub mod report;
pub mod result;
pub mod sale;
pub mod staff;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use tui_big_text::{BigText, PixelSize};

/// Draws `text` as large as fits in `area`: big letters for names and
/// "Betalt", plain bold where even the smallest big font is too wide, or
/// where the big font has no glyph for a letter (Cyrillic, Arabic, emoji):
/// a name is never left blank.
pub fn big_name(frame: &mut Frame, area: Rect, text: &str, style: Style) {
    let chars = text.chars().count() as u16;
    // (pixel size, columns per character, rows per line)
    let sizes = [
        (PixelSize::HalfHeight, 8, 4),
        (PixelSize::Quadrant, 4, 4),
        (PixelSize::Sextant, 4, 3),
    ];
    let fits = |(_, w, h): &&(PixelSize, u16, u16)| chars * w <= area.width && *h <= area.height;
    match sizes.iter().find(fits).filter(|_| has_big_glyphs(text)) {
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
            let line = Line::from(text.to_string())
                .style(style.add_modifier(Modifier::BOLD))
                .centered();
            frame.render_widget(Paragraph::new(line), area);
        }
    }
}

/// Does the big font draw every character of `text`? It draws one glyph
/// per character, from these fonts (tui-big-text's own list), and nothing
/// for a character they lack, or for a combining mark.
fn has_big_glyphs(text: &str) -> bool {
    use font8x8::UnicodeFonts;
    const FONTS: [&dyn UnicodeFonts; 8] = [
        &font8x8::BASIC_FONTS,
        &font8x8::LATIN_FONTS,
        &font8x8::HIRAGANA_FONTS,
        &font8x8::GREEK_FONTS,
        &font8x8::BLOCK_FONTS,
        &font8x8::BOX_FONTS,
        &font8x8::MISC_FONTS,
        &font8x8::SGA_FONTS,
    ];
    text.chars()
        .all(|c| !c.is_control() && FONTS.iter().any(|font| font.get(c).is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_big_font_cannot_draw_are_written_plainly() {
        for drawn in ["Søren Ærø Østergård", "Freja Nielsen", "12,50 kr.", "Zoë"] {
            assert!(has_big_glyphs(drawn), "{drawn}");
        }
        for plain in [
            "Анна Иванова",
            "فاطمة الزهراء",
            "Mia 🦄",
            "Zoe\u{308}",
            "李明",
        ] {
            assert!(!has_big_glyphs(plain), "{plain}");
        }
    }

    #[test]
    fn a_cyrillic_name_is_on_screen_in_plain_letters() {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(40, 4)).unwrap();
        terminal
            .draw(|f| big_name(f, f.area(), "Анна Иванова", Style::new()))
            .unwrap();
        let screen: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        assert!(screen.contains("Анна Иванова"), "{screen}");
    }
}
