//! Colours and emphasis, in one place. Every style sets both foreground and
//! background, so the screen looks the same whatever the terminal's own
//! theme is; green is paid, red is refused, and both also say so in words
//! and a symbol (never colour alone).
//!
//! Colours come from the 256-colour palette's cube and grey ramp (16–255),
//! whose RGB values are the same in every terminal that has the palette;
//! the first 16 are the terminal theme's own and are never used.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The config's `theme`: what the screen's background is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
}

/// Every style the kiosk draws with.
#[derive(Debug)]
pub struct Theme {
    /// The screen: its background, and ordinary text.
    pub normal: Style,
    pub label: Style,
    pub amount: Style,
    pub name: Style,
    pub key: Style,
    /// Sold out, blocked, an empty basket: there, but not for now.
    pub dimmed: Style,
    pub selected: Style,
    pub warning: Style,
    pub bad: Style,
    pub good: Style,
    /// The whole result screen when a sale went through.
    pub paid: Style,
    /// The whole result screen, or the refusal line, when it did not.
    pub refused: Style,
    pub header: Style,
    pub status_bar: Style,
    pub status_key: Style,
    /// A warning in the status bar (no reader, a full disk).
    pub status_bad: Style,
}

const fn on(fg: u8, bg: u8) -> Style {
    Style::new().fg(Color::Indexed(fg)).bg(Color::Indexed(bg))
}

const fn bold(style: Style) -> Style {
    style.add_modifier(Modifier::BOLD)
}

// Palette indices, named by what they look like.
const BLACK: u8 = 16;
const WHITE: u8 = 231;
const GREY_23: u8 = 236;
const GREY_27: u8 = 238;
const GREY_42: u8 = 242;
const GREY_54: u8 = 245;
const GREY_74: u8 = 250;
const GREY_85: u8 = 253;
const SKY: u8 = 117;
const NAVY: u8 = 18;
const GOLD: u8 = 221;
const BROWN: u8 = 94;
const SALMON: u8 = 203;
const DARK_RED: u8 = 124;
const MINT: u8 = 120;
const DARK_GREEN: u8 = 22;
const GREEN: u8 = 40;
const BLUE: u8 = 25;
const ORANGE_BROWN: u8 = 130;

static DARK: Theme = Theme {
    normal: on(GREY_85, BLACK),
    label: on(GREY_74, BLACK),
    amount: bold(on(WHITE, BLACK)),
    name: bold(on(SKY, BLACK)),
    key: bold(on(GOLD, BLACK)),
    dimmed: on(GREY_54, BLACK),
    selected: on(WHITE, BLUE),
    warning: bold(on(GOLD, BLACK)),
    bad: bold(on(SALMON, BLACK)),
    good: bold(on(MINT, BLACK)),
    paid: on(BLACK, GREEN),
    refused: on(WHITE, DARK_RED),
    header: bold(on(WHITE, GREY_23)),
    status_bar: on(WHITE, GREY_27),
    status_key: bold(on(GOLD, GREY_27)),
    status_bad: bold(on(WHITE, DARK_RED)),
};

static LIGHT: Theme = Theme {
    normal: on(BLACK, WHITE),
    label: on(GREY_27, WHITE),
    amount: bold(on(BLACK, WHITE)),
    name: bold(on(NAVY, WHITE)),
    key: bold(on(BROWN, WHITE)),
    dimmed: on(GREY_42, WHITE),
    selected: on(WHITE, BLUE),
    warning: bold(on(ORANGE_BROWN, WHITE)),
    bad: bold(on(DARK_RED, WHITE)),
    good: bold(on(DARK_GREEN, WHITE)),
    paid: on(WHITE, DARK_GREEN),
    refused: on(WHITE, DARK_RED),
    header: bold(on(BLACK, GREY_85)),
    status_bar: on(BLACK, GREY_85),
    status_key: bold(on(NAVY, GREY_85)),
    status_bad: bold(on(WHITE, DARK_RED)),
};

impl ThemeName {
    /// The name the config uses.
    pub fn name(self) -> &'static str {
        match self {
            ThemeName::Dark => "dark",
            ThemeName::Light => "light",
        }
    }
}

impl Theme {
    pub fn of(name: ThemeName) -> &'static Theme {
        match name {
            ThemeName::Dark => &DARK,
            ThemeName::Light => &LIGHT,
        }
    }

    /// Every style, with the contrast it must have at least: 7:1 where the
    /// child reads a name or an amount, 4.5:1 elsewhere (WCAG AA and AAA).
    pub fn styles(&self) -> [(&'static str, Style, f64); 16] {
        [
            ("normal", self.normal, 4.5),
            ("label", self.label, 4.5),
            ("amount", self.amount, 7.0),
            ("name", self.name, 7.0),
            ("key", self.key, 4.5),
            ("dimmed", self.dimmed, 4.5),
            ("selected", self.selected, 4.5),
            ("warning", self.warning, 4.5),
            ("bad", self.bad, 7.0),
            ("good", self.good, 7.0),
            ("paid", self.paid, 7.0),
            ("refused", self.refused, 7.0),
            ("header", self.header, 4.5),
            ("status_bar", self.status_bar, 4.5),
            ("status_key", self.status_key, 4.5),
            ("status_bad", self.status_bad, 4.5),
        ]
    }
}

/// The RGB of a colour of the 256-colour palette's cube or grey ramp (the
/// same in xterm, VTE, Konsole, tmux and Windows Terminal); `None` for
/// the terminal theme's own colours, whose look is not known.
pub fn rgb(color: Color) -> Option<[u8; 3]> {
    match color {
        Color::Rgb(r, g, b) => Some([r, g, b]),
        Color::Indexed(i @ 16..=231) => {
            let level = |n: u8| if n == 0 { 0 } else { 55 + 40 * n };
            let i = i - 16;
            Some([level(i / 36), level(i / 6 % 6), level(i % 6)])
        }
        Color::Indexed(i @ 232..=255) => {
            let grey = 8 + 10 * (i - 232);
            Some([grey; 3])
        }
        _ => None,
    }
}

/// WCAG 2's contrast ratio between two colours, from 1 to 21.
pub fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let luminance = |[r, g, b]: [u8; 3]| {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The contrast of a style's foreground on its background, when both are
/// colours whose look is known.
pub fn style_contrast(style: Style) -> Option<f64> {
    Some(contrast(rgb(style.fg?)?, rgb(style.bg?)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_palette_is_xterms() {
        assert_eq!(rgb(Color::Indexed(16)), Some([0, 0, 0]));
        assert_eq!(rgb(Color::Indexed(231)), Some([255, 255, 255]));
        assert_eq!(rgb(Color::Indexed(117)), Some([135, 215, 255]));
        assert_eq!(rgb(Color::Indexed(232)), Some([8, 8, 8]));
        assert_eq!(rgb(Color::Indexed(255)), Some([238, 238, 238]));
        assert_eq!(rgb(Color::Red), None);
        assert_eq!(rgb(Color::Reset), None);
    }

    #[test]
    fn contrast_is_wcags() {
        let black = [0, 0, 0];
        let white = [255, 255, 255];
        assert!((contrast(black, white) - 21.0).abs() < 1e-9);
        assert!((contrast(white, white) - 1.0).abs() < 1e-9);
        // WCAG's own example: #777777 on white is just under 4.5:1.
        let grey = contrast([0x77; 3], white);
        assert!((4.47..4.49).contains(&grey), "{grey}");
    }

    #[test]
    fn every_pair_of_both_themes_is_readable_at_arms_length() {
        for name in [ThemeName::Dark, ThemeName::Light] {
            for (what, style, least) in Theme::of(name).styles() {
                let ratio = style_contrast(style)
                    .unwrap_or_else(|| panic!("{name:?} {what}: a colour of unknown look"));
                assert!(
                    ratio >= least,
                    "{name:?} {what}: contrast {ratio:.2}:1, needs {least}:1"
                );
            }
        }
    }
}
