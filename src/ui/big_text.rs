//! Big letters for what the child reads from arm's length (the name, the
//! amounts, "Betalt"), made of the block glyphs the config's `big_text`
//! allows: fonts differ in which they have, and a glyph the font lacks is
//! a box where a letter should be.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::symbols::bar;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};
use serde::Deserialize;
use tui_big_text::{BigText as BigTextWidget, PixelSize};

/// The config's `big_text`: which glyphs big letters are made of. Each
/// allows those of the ones before it; the kiosk picks the largest size
/// that fits, and plain bold letters where none does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BigText {
    /// No big letters: plain bold text.
    Plain,
    /// Half blocks ▀ ▄ █: in every terminal font, the Linux console's too.
    #[default]
    Blocks,
    /// Quadrants ▖ ▗ ▘ ▝ ▚ ▞ ▙ ▛ ▜ ▟ ▌ ▐ besides: most desktop fonts.
    Quadrants,
    /// Sextants (U+1FB00–U+1FB3B, Unicode 13) besides: newer fonts only.
    Sextants,
}

/// The fonts big letters are drawn in, from 8×8-pixel glyphs.
#[derive(Debug, Clone, Copy)]
enum Font {
    /// A cell a pixel wide and two high (▀ ▄ █): 8 columns a letter.
    HalfHeight,
    /// The same cells, the glyph squeezed to 4 pixels wide: 4 columns a
    /// letter, so that names and amounts still fit at 80 columns.
    NarrowHalfHeight,
    /// A cell of 2×2 pixels: 4 columns a letter, the glyph whole.
    Quadrant,
    /// A cell of 2×3 pixels: 4 columns and 3 rows a letter.
    Sextant,
}

impl Font {
    /// (columns per character, rows per line)
    fn cells(self) -> (u16, u16) {
        match self {
            Font::HalfHeight => (8, 4),
            Font::NarrowHalfHeight | Font::Quadrant => (4, 4),
            Font::Sextant => (4, 3),
        }
    }
}

const BLOCK_GLYPHS: &str = "▀▄█";
const QUADRANT_GLYPHS: &str = "▀▄█▖▗▘▝▚▞▙▛▜▟▌▐";

impl BigText {
    pub const ALL: [BigText; 4] = [
        BigText::Plain,
        BigText::Blocks,
        BigText::Quadrants,
        BigText::Sextants,
    ];

    /// The name the config uses.
    pub fn name(self) -> &'static str {
        match self {
            BigText::Plain => "plain",
            BigText::Blocks => "blocks",
            BigText::Quadrants => "quadrants",
            BigText::Sextants => "sextants",
        }
    }

    /// The fonts it draws with, largest first.
    fn fonts(self) -> &'static [Font] {
        match self {
            BigText::Plain => &[],
            BigText::Blocks => &[Font::HalfHeight, Font::NarrowHalfHeight],
            BigText::Quadrants => &[Font::HalfHeight, Font::Quadrant],
            BigText::Sextants => &[Font::HalfHeight, Font::Quadrant, Font::Sextant],
        }
    }

    /// Every block glyph the kiosk may draw with this setting (the day
    /// report's bars included); besides them only ordinary text.
    pub fn glyphs(self) -> Vec<char> {
        let mut glyphs: Vec<char> = match self {
            BigText::Plain => vec![],
            BigText::Blocks => BLOCK_GLYPHS.chars().collect(),
            BigText::Quadrants | BigText::Sextants => QUADRANT_GLYPHS.chars().collect(),
        };
        if self == BigText::Sextants {
            glyphs.extend(('\u{1FB00}'..='\u{1FB3B}').filter(|c| !c.is_whitespace()));
        }
        glyphs
    }

    /// The bars of a chart (the day report's, drawn across in whole
    /// cells): full blocks, or `#` where no block glyph may be drawn.
    pub fn bar_set(self) -> bar::Set<'static> {
        let full = if self == BigText::Plain { "#" } else { "█" };
        bar::Set {
            full,
            seven_eighths: full,
            three_quarters: full,
            five_eighths: full,
            half: " ",
            three_eighths: " ",
            one_quarter: " ",
            one_eighth: " ",
            empty: " ",
        }
    }
}

/// Is `c` one of the block glyphs some terminal fonts lack (block
/// elements, and the sextants and octants of Unicode 13 and 16)?
pub fn is_block_glyph(c: char) -> bool {
    matches!(c, '\u{2580}'..='\u{259F}' | '\u{1FB00}'..='\u{1FBFF}' | '\u{1CC00}'..='\u{1CEBF}')
}

/// Draws `text` as large as fits in `area` with `setting`'s glyphs: big
/// letters for names and "Betalt", plain bold where even the smallest big
/// font is too wide, or where the big font has no glyph for a letter
/// (Cyrillic, Arabic, emoji): a name is never left blank.
pub fn draw(frame: &mut Frame, area: Rect, text: &str, style: Style, setting: BigText) {
    let chars = text.chars().count() as u16;
    let fits = |font: &&Font| {
        let (w, h) = font.cells();
        chars * w <= area.width && h <= area.height
    };
    let font = setting
        .fonts()
        .iter()
        .find(fits)
        .filter(|_| has_big_glyphs(text));
    let pixel_size = match font {
        Some(Font::HalfHeight) => PixelSize::HalfHeight,
        Some(Font::Quadrant) => PixelSize::Quadrant,
        Some(Font::Sextant) => PixelSize::Sextant,
        Some(Font::NarrowHalfHeight) => {
            let area = Rect { height: 4, ..area };
            frame.render_widget(NarrowHalfHeight { text, style }, area);
            return;
        }
        None => {
            // Plain letters sit in the middle of the rows the big ones
            // would have taken.
            let middle = Rect {
                y: area.y + area.height.saturating_sub(1) / 2,
                height: area.height.min(1),
                ..area
            };
            let line = Line::from(text.to_string())
                .style(style.add_modifier(Modifier::BOLD))
                .centered();
            frame.render_widget(Paragraph::new(line), middle);
            return;
        }
    };
    let (_, rows) = font.map_or((1, 1), |f| f.cells());
    let big = BigTextWidget::builder()
        .pixel_size(pixel_size)
        .style(style)
        .lines(vec![Line::from(text.to_string())])
        .centered()
        .build();
    frame.render_widget(
        big,
        Rect {
            height: rows,
            ..area
        },
    );
}

/// Rows `draw` takes for one line with `setting`, at most.
pub fn height(setting: BigText) -> u16 {
    setting.fonts().first().map_or(1, |font| font.cells().1)
}

/// One line in `Font::NarrowHalfHeight`, centred.
struct NarrowHalfHeight<'a> {
    text: &'a str,
    style: Style,
}

impl Widget for NarrowHalfHeight<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        buf.set_style(area, self.style);
        let glyphs: Vec<[u8; 8]> = self.text.chars().filter_map(glyph).map(narrow).collect();
        let width = glyphs.len() as u16 * 4;
        let left = area.x + area.width.saturating_sub(width) / 2;
        for (i, glyph) in glyphs.iter().enumerate() {
            for row in 0..4u16.min(area.height) {
                for col in 0..4u16 {
                    let x = left + i as u16 * 4 + col;
                    if x >= area.right() {
                        continue;
                    }
                    let pixel = |r: u16| glyph[usize::from(r)] & (1 << col) != 0;
                    let symbol = match (pixel(2 * row), pixel(2 * row + 1)) {
                        (false, false) => " ",
                        (true, false) => "▀",
                        (false, true) => "▄",
                        (true, true) => "█",
                    };
                    buf[(x, area.y + row)].set_symbol(symbol);
                }
            }
        }
    }
}

/// A glyph 4 pixels wide: each pair of columns made one, at whichever of
/// the two pairings leaves fewer pixels set, so that strokes two pixels
/// apart stay apart (the font's strokes are mostly two pixels wide).
fn narrow(glyph: [u8; 8]) -> [u8; 8] {
    let squeeze = |shift: u32| {
        let mut out = [0u8; 8];
        for (row, bits) in glyph.iter().enumerate() {
            let bits = u16::from(*bits) << shift;
            for col in 0..5 {
                if bits & (0b11 << (2 * col)) != 0 {
                    out[row] |= 1 << col.min(3);
                }
            }
        }
        out
    };
    let set = |g: &[u8; 8]| g.iter().map(|b| b.count_ones()).sum::<u32>();
    let (even, odd) = (squeeze(0), squeeze(1));
    if set(&odd) < set(&even) { odd } else { even }
}

/// The 8×8 glyph of `c` from the fonts the big letters use.
fn glyph(c: char) -> Option<[u8; 8]> {
    FONTS.iter().find_map(|font| font.get(c))
}

const FONTS: [&dyn font8x8::UnicodeFonts; 8] = [
    &font8x8::BASIC_FONTS,
    &font8x8::LATIN_FONTS,
    &font8x8::HIRAGANA_FONTS,
    &font8x8::GREEK_FONTS,
    &font8x8::BLOCK_FONTS,
    &font8x8::BOX_FONTS,
    &font8x8::MISC_FONTS,
    &font8x8::SGA_FONTS,
];

/// Does the big font draw every character of `text`? It draws one glyph
/// per character, from these fonts (tui-big-text's own list), and nothing
/// for a character they lack, or for a combining mark.
fn has_big_glyphs(text: &str) -> bool {
    text.chars().all(|c| !c.is_control() && glyph(c).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    fn drawn(text: &str, width: u16, height: u16, setting: BigText) -> Vec<String> {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|f| draw(f, f.area(), text, Style::new(), setting))
            .unwrap();
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect())
            .collect()
    }

    #[test]
    fn a_cyrillic_name_is_on_screen_in_plain_letters() {
        let screen = drawn("Анна Иванова", 40, 4, BigText::Sextants).concat();
        assert!(screen.contains("Анна Иванова"), "{screen}");
    }

    #[test]
    fn plain_writes_the_name_as_it_is() {
        let screen = drawn("Freja", 40, 4, BigText::Plain);
        assert!(screen[1].contains("Freja"), "{screen:?}");
    }

    #[test]
    fn a_name_too_wide_for_half_blocks_is_drawn_narrower() {
        // 12 letters: 96 columns in half blocks, 48 in the narrower fonts.
        let name = "Freja Hansen";
        for setting in [BigText::Blocks, BigText::Quadrants, BigText::Sextants] {
            let screen = drawn(name, 60, 4, setting).concat();
            assert!(!screen.contains(name), "{setting:?} draws it big: {screen}");
        }
        let plain = drawn(name, 40, 4, BigText::Blocks).concat();
        assert!(plain.contains(name), "too wide even narrow: plain letters");
    }

    #[test]
    fn narrow_letters_keep_their_strokes_apart() {
        // «H»: two uprights and a bar, 2 pixels wide each in the font.
        let h = narrow(glyph('H').unwrap());
        assert_eq!(h[0], 0b101, "{h:?}");
        assert_eq!(h[3], 0b111, "{h:?}");
    }

    proptest! {
        /// Whatever the text and the room, only the setting's glyphs.
        #[test]
        fn only_the_settings_glyphs_are_drawn(
            text in "[A-Za-zÆØÅæøå0-9 ,.\\-]{1,14}",
            width in 10u16..120,
            height in 1u16..6,
            index in 0usize..4,
        ) {
            let setting = BigText::ALL[index];
            let allowed = setting.glyphs();
            for row in drawn(&text, width, height, setting) {
                for c in row.chars().filter(|c| is_block_glyph(*c)) {
                    prop_assert!(allowed.contains(&c), "{c} with {setting:?}");
                }
            }
        }
    }
}
