//! Big letters for what the child reads from arm's length (the name, the
//! amounts, "Betalt"), made of the block glyphs the config's `big_text`
//! allows: fonts differ in which they have, and a glyph the font lacks is
//! a box where a letter should be.

use embedded_graphics::Drawable;
use embedded_graphics::mono_font::iso_8859_1::{FONT_4X6, FONT_5X7};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::{DrawTarget, OriginDimensions, Pixel, Point, Size as EgSize};
use embedded_graphics::text::{Baseline, Text};
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
/// allows the glyphs and fonts of the ones before it and more; the kiosk
/// picks the largest font that fits, and plain bold letters where none
/// does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BigText {
    /// No big letters: plain bold text.
    Plain,
    /// Half blocks ▀ ▄ █: in every desktop terminal font. Not in Debian's
    /// Linux console fonts (console-setup's Lat15 and Uni2 have only █):
    /// there, `Plain`.
    #[default]
    Blocks,
    /// Quadrants ▖ ▗ ▘ ▝ ▚ ▞ ▙ ▛ ▜ ▟ ▌ ▐ besides: most desktop fonts.
    Quadrants,
    /// Sextants (U+1FB00–U+1FB3B, Unicode 13) besides: newer fonts only.
    Sextants,
}

/// The fonts big letters are drawn in.
#[derive(Debug, Clone, Copy)]
enum Font {
    /// The 8×8 font, a cell a pixel wide and two high (▀ ▄ █): 8 columns
    /// a letter.
    HalfHeight,
    /// The misc-fixed 5×7 font in the same cells: 5 columns a letter, so
    /// that names and amounts still fit big at 80 columns.
    Fixed5x7,
    /// The misc-fixed 4×6 font: 4 columns and 3 rows a letter.
    Fixed4x6,
    /// The 8×8 font, a cell of 2×2 pixels: 4 columns a letter.
    Quadrant,
    /// The 8×8 font, a cell of 2×3 pixels: 4 columns and 3 rows a letter.
    Sextant,
}

impl Font {
    /// (columns per character at most, rows per line)
    fn cells(self) -> (u16, u16) {
        match self {
            Font::HalfHeight => (8, 4),
            Font::Fixed5x7 => (5, 4),
            Font::Fixed4x6 | Font::Sextant => (4, 3),
            Font::Quadrant => (4, 4),
        }
    }

    /// Columns `text` takes in this font.
    fn width(self, text: &str) -> u16 {
        match self {
            Font::Fixed5x7 => Pixels::of(text, &FONT_5X7).width as u16,
            Font::Fixed4x6 => Pixels::of(text, &FONT_4X6).width as u16,
            _ => u16::try_from(text.chars().count())
                .unwrap_or(u16::MAX)
                .saturating_mul(self.cells().0),
        }
    }

    /// Does `text` fit in `area` in this font, every letter drawn?
    fn fits(self, area: Rect, text: &str) -> bool {
        self.draws(text) && self.width(text) <= area.width && self.cells().1 <= area.height
    }

    /// Does this font have a glyph for every character of `text`?
    fn draws(self, text: &str) -> bool {
        match self {
            // ISO 8859-1: Danish, and most of western Europe's letters.
            Font::Fixed5x7 | Font::Fixed4x6 => text
                .chars()
                .all(|c| matches!(c, ' '..='~' | '\u{A0}'..='\u{FF}')),
            _ => has_big_glyphs(text),
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
            BigText::Blocks => &[Font::HalfHeight, Font::Fixed5x7, Font::Fixed4x6],
            BigText::Quadrants => &[
                Font::HalfHeight,
                Font::Fixed5x7,
                Font::Quadrant,
                Font::Fixed4x6,
            ],
            // A sextant letter is 3 rows: it is drawn where 4 are not free.
            BigText::Sextants => &[
                Font::HalfHeight,
                Font::Fixed5x7,
                Font::Quadrant,
                Font::Sextant,
                Font::Fixed4x6,
            ],
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
    draw_alike(frame, &[(area, text, style)], setting);
}

/// Draws each text in its area, all in the one font that fits every one
/// of them (the balance and the balance after alike), or all plain.
pub fn draw_alike(frame: &mut Frame, texts: &[(Rect, &str, Style)], setting: BigText) {
    let font = setting
        .fonts()
        .iter()
        .copied()
        .find(|font| texts.iter().all(|(area, text, _)| font.fits(*area, text)));
    for (area, text, style) in texts {
        match font {
            Some(font) => draw_in(frame, *area, text, *style, font),
            None => draw_plain(frame, *area, text, *style),
        }
    }
}

/// Does `text` fit in `area` in one of the setting's fonts of full
/// height ([`height`] rows), not only in a smaller one?
pub fn fits_full_height(setting: BigText, area: Rect, text: &str) -> bool {
    setting
        .fonts()
        .iter()
        .filter(|font| font.cells().1 == height(setting))
        .any(|font| font.fits(area, text))
}

/// Plain letters sit in the middle of the rows the big ones would have
/// taken.
fn draw_plain(frame: &mut Frame, area: Rect, text: &str, style: Style) {
    let middle = Rect {
        y: area.y + area.height.saturating_sub(1) / 2,
        height: area.height.min(1),
        ..area
    };
    let line = Line::from(text.to_string())
        .style(style.add_modifier(Modifier::BOLD))
        .centered();
    frame.render_widget(Paragraph::new(line), middle);
}

fn draw_in(frame: &mut Frame, area: Rect, text: &str, style: Style, font: Font) {
    let area = Rect {
        height: font.cells().1,
        ..area
    };
    let pixel_size = match font {
        Font::HalfHeight => PixelSize::HalfHeight,
        Font::Quadrant => PixelSize::Quadrant,
        Font::Sextant => PixelSize::Sextant,
        Font::Fixed5x7 => return frame.render_widget(Fixed::new(text, style, &FONT_5X7), area),
        Font::Fixed4x6 => return frame.render_widget(Fixed::new(text, style, &FONT_4X6), area),
    };
    let big = BigTextWidget::builder()
        .pixel_size(pixel_size)
        .style(style)
        .lines(vec![Line::from(text.to_string())])
        .centered()
        .build();
    frame.render_widget(big, area);
}

/// Rows `draw` takes for one line with `setting`, at most.
pub fn height(setting: BigText) -> u16 {
    setting.fonts().first().map_or(1, |font| font.cells().1)
}

/// One line in a misc-fixed font, of half blocks, centred.
struct Fixed {
    pixels: Pixels,
    style: Style,
}

impl Fixed {
    fn new(text: &str, style: Style, font: &MonoFont<'_>) -> Fixed {
        Fixed {
            pixels: Pixels::of(text, font),
            style,
        }
    }
}

impl Widget for Fixed {
    fn render(self, area: Rect, buf: &mut Buffer) {
        buf.set_style(area, self.style);
        let Pixels { width, height, .. } = self.pixels;
        let left = area.x + area.width.saturating_sub(width as u16) / 2;
        for row in 0..(height.div_ceil(2) as u16).min(area.height) {
            for x in 0..(width as u16).min(area.width) {
                let pixel = |y: u16| self.pixels.get(usize::from(x), usize::from(y));
                let symbol = match (pixel(2 * row), pixel(2 * row + 1)) {
                    (false, false) => " ",
                    (true, false) => "▀",
                    (false, true) => "▄",
                    (true, true) => "█",
                };
                buf[(left + x, area.y + row)].set_symbol(symbol);
            }
        }
    }
}

/// A bitmap in memory that embedded-graphics draws text into.
struct Pixels {
    width: usize,
    height: usize,
    on: Vec<bool>,
}

impl Pixels {
    fn new(width: usize, height: usize) -> Pixels {
        Pixels {
            width,
            height,
            on: vec![false; width * height],
        }
    }

    /// `text` in `font`, each letter as wide as its ink and one column
    /// apart, a space two: "250,00 kr." fits in half of 80 columns.
    fn of(text: &str, font: &MonoFont<'_>) -> Pixels {
        let cell = (font.character_size.width + font.character_spacing) as usize;
        let height = font.character_size.height as usize;
        let mut mono = Pixels::new(cell * text.chars().count(), height);
        let style = MonoTextStyle::new(font, BinaryColor::On);
        // Drawing into memory cannot fail (the error type is Infallible).
        let _ = Text::with_baseline(text, Point::zero(), style, Baseline::Top).draw(&mut mono);
        let mono = &mono;
        let column = |x: usize| (0..height).map(move |y| mono.get(x, y));
        let mut columns: Vec<Vec<bool>> = Vec::new();
        for letter in 0..text.chars().count() {
            let inked: Vec<usize> = (letter * cell..(letter + 1) * cell)
                .filter(|x| column(*x).any(|on| on))
                .collect();
            match (inked.first(), inked.last()) {
                (Some(first), Some(last)) => {
                    columns.extend((*first..=*last).map(|x| column(x).collect()));
                    columns.push(vec![false; height]);
                }
                _ => columns.extend([vec![false; height], vec![false; height]]),
            }
        }
        columns.pop();
        let mut pixels = Pixels::new(columns.len(), height);
        for (x, column) in columns.iter().enumerate() {
            for (y, on) in column.iter().enumerate() {
                pixels.on[y * pixels.width + x] = *on;
            }
        }
        pixels
    }

    /// Off outside the bitmap (the row under an odd-height font).
    fn get(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.on[y * self.width + x]
    }
}

impl OriginDimensions for Pixels {
    fn size(&self) -> EgSize {
        EgSize::new(self.width as u32, self.height as u32)
    }
}

impl DrawTarget for Pixels {
    type Color = BinaryColor;
    type Error = std::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<BinaryColor>>,
    {
        for Pixel(point, color) in pixels {
            if let (Ok(x), Ok(y)) = (usize::try_from(point.x), usize::try_from(point.y))
                && x < self.width
                && y < self.height
            {
                self.on[y * self.width + x] = color.is_on();
            }
        }
        Ok(())
    }
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
    fn fixed_letters_are_latin_1_and_drawn_in_half_blocks() {
        assert!(Font::Fixed5x7.draws("Søren Ærø Zoë 12,50 kr."));
        assert!(!Font::Fixed5x7.draws("Łukasz"));
        // 13 letters at 5 columns: 65 of 70.
        let screen = drawn("Noah Sørensen", 70, 4, BigText::Blocks);
        assert!(!screen.concat().contains("Noah"), "{screen:?}");
        assert!(screen.iter().all(|row| row.chars().count() == 70));
        assert!(screen[1].contains('█'), "{screen:?}");
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
