//! Drawing: a pure function of the state. It reads `App`, never changes it.

use chrono::Local;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::i18n::fill;
use crate::reader::ReaderStatus;
use crate::store::disk::{Space, whole_megabytes};
use crate::sync::SyncStatus;
use crate::ui::Action;
use crate::ui::app::{App, Screen};
use crate::ui::screens::{idle, result, sale, staff};
use klubkasse_core::domain::Connection;

/// The smallest terminal a sale can be made in: the compact layout.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// From this size on, the full layout with big letters: 80×24 less a row
/// for a tab bar or tmux's status line.
pub const FULL_WIDTH: u16 = 80;
pub const FULL_HEIGHT: u16 = 23;

/// Which layout a terminal of some size gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Big letters for the child, everything for staff.
    Full,
    /// Name and amounts in ordinary bold letters; the basket, the menu.
    Compact,
    /// Only a notice to make the window larger.
    TooSmall,
}

pub fn fit(size: ratatui::layout::Size) -> Fit {
    if size.width < MIN_WIDTH || size.height < MIN_HEIGHT {
        Fit::TooSmall
    } else if size.width < FULL_WIDTH || size.height < FULL_HEIGHT {
        Fit::Compact
    } else {
        Fit::Full
    }
}

pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    // Every cell gets the theme's background: the terminal's own is not
    // known, and a light one made the dark theme's text unreadable.
    frame.render_widget(Block::new().style(app.theme().normal), area);
    if fit(area.as_size()) == Fit::TooSmall {
        // Keys do nothing here but quit (`App::key_to_action`): the notice
        // says which.
        let text = fill(
            &app.texts().too_small,
            &[
                ("width", &area.width.to_string()),
                ("height", &area.height.to_string()),
                ("min_width", &MIN_WIDTH.to_string()),
                ("min_height", &MIN_HEIGHT.to_string()),
                ("quit_key", &app.keymap.hint(&Action::Quit)),
            ],
        );
        frame.render_widget(
            Paragraph::new(text)
                .style(app.theme().warning)
                .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let [header, body, status] = layout(area);
    draw_header(app, frame, header);
    match &app.screen {
        Screen::Idle => idle::draw(app, frame, body),
        Screen::Sale(s) => sale::draw(app, s, frame, body),
        Screen::Result(r) => result::draw(app, r, frame, body),
        Screen::Staff(s) => staff::draw(app, s, frame, body),
    }
    draw_keys(app, frame, status);
}

/// Header (where, and in what state), the screen's body, the keys.
fn layout(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where a screen is drawn in a terminal of `size`: for screens whose
/// `update` must know how much fits (a menu's pages).
pub fn body(size: ratatui::layout::Size) -> Rect {
    let [_, body, _] = layout(Rect::new(0, 0, size.width, size.height));
    body
}

/// A part of a one-row bar: what it says, shorter if need be, and whether
/// it may be left out when even the short forms do not fit.
struct Part {
    spans: Vec<Span<'static>>,
    short: Option<Vec<Span<'static>>>,
    may_drop: bool,
}

impl Part {
    fn new(spans: Vec<Span<'static>>) -> Part {
        Part {
            spans,
            short: None,
            may_drop: false,
        }
    }

    fn short(mut self, spans: Vec<Span<'static>>) -> Part {
        self.short = Some(spans);
        self
    }

    fn may_drop(mut self) -> Part {
        self.may_drop = true;
        self
    }

    fn width(&self) -> usize {
        self.spans.iter().map(Span::width).sum()
    }
}

/// The parts that fit in `width` columns with `gap` between them: the
/// last parts are the least important, so they are shortened first, then
/// left out if they may be; a part is never cut in the middle of a word,
/// except the first, which gets an ellipsis when nothing else can give.
fn fit_parts(mut parts: Vec<Part>, gap: &str, width: usize) -> Vec<Span<'static>> {
    let gap_width = Span::raw(gap).width();
    let total = |parts: &[Part]| {
        parts.iter().map(Part::width).sum::<usize>() + gap_width * parts.len().saturating_sub(1)
    };
    for i in (0..parts.len()).rev() {
        if total(&parts) <= width {
            break;
        }
        if let Some(short) = parts[i].short.take() {
            parts[i].spans = short;
        }
    }
    for i in (0..parts.len()).rev() {
        if total(&parts) <= width {
            break;
        }
        if parts[i].may_drop {
            parts.remove(i);
        }
    }
    let overflow = total(&parts).saturating_sub(width);
    if overflow > 0
        && let Some(first) = parts.first_mut()
    {
        let keep = first.width().saturating_sub(overflow + 1);
        let text: String = first.spans.iter().map(|s| s.content.as_ref()).collect();
        let style = first.spans.first().map(|s| s.style).unwrap_or_default();
        // Columns, not characters: a wide character takes two.
        let mut used = 0;
        let cut: String = text
            .chars()
            .take_while(|c| {
                used += unicode_width::UnicodeWidthChar::width(*c).unwrap_or(0);
                used <= keep
            })
            .collect();
        first.spans = vec![Span::styled(format!("{cut}…"), style)];
    }
    let mut spans = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(gap.to_string()));
        }
        spans.extend(part.spans);
    }
    spans
}

/// The counter's name, the card reader, the ledger, any disk trouble, and
/// the clock: what staff glance at, on the top row.
fn draw_header(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let t = &app.texts().status;
    let clock = app.now.with_timezone(&Local).format("%H:%M").to_string();
    let [left, right] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(6)]).areas(area);
    let plain = |text: String| vec![Span::raw(text)];
    let bad = |text: String| vec![Span::styled(text, theme.status_bad)];
    let mut parts = vec![Part::new(vec![Span::styled(
        app.settings.counter.clone(),
        theme.header,
    )])];
    match app.disk {
        Space::Ok => {}
        Space::Low { free } => parts.push(Part::new(bad(fill(
            &t.disk_low,
            &[("mb", &whole_megabytes(free).to_string())],
        )))),
        Space::Full { .. } => parts.push(Part::new(bad(t.disk_full.clone()))),
    }
    parts.push(match &app.reader {
        ReaderStatus::Demo => Part::new(plain(fill(
            &t.reader_demo,
            &[("keys", &app.demo.keys_label())],
        ))),
        ReaderStatus::Ready { name } => Part::new(plain(format!("{} ({name})", t.reader_ready)))
            .short(plain(t.reader_ready.clone())),
        ReaderStatus::Missing => Part::new(bad(t.reader_missing.clone())),
    });
    parts.push(match (&app.sync, app.connection) {
        (_, Connection::Standalone) => {
            Part::new(plain(t.standalone.clone())).short(plain(t.standalone_short.clone()))
        }
        (None, _) => Part::new(plain(t.connecting.clone())),
        (Some(SyncStatus::Online { last_sync, .. }), _) => {
            let time = last_sync
                .with_timezone(&Local)
                .format("%H:%M:%S")
                .to_string();
            Part::new(plain(fill(&t.online, &[("time", &time)])))
                .short(plain(t.online_short.clone()))
        }
        (Some(SyncStatus::Offline { waiting, .. }), _) => {
            Part::new(bad(fill(&t.offline, &[("count", &waiting.to_string())])))
        }
        (Some(SyncStatus::Refused { waiting, .. }), _) => {
            Part::new(bad(fill(&t.refused, &[("count", &waiting.to_string())])))
        }
    });
    frame.render_widget(
        Paragraph::new(Line::from(fit_parts(parts, " │ ", usize::from(left.width))))
            .style(theme.header),
        left,
    );
    frame.render_widget(
        Paragraph::new(Line::from(clock).right_aligned()).style(theme.header),
        right,
    );
}

/// The keys that matter on this screen, the most important first: those
/// that do not fit are left out from the end.
fn draw_keys(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let hints = match &app.screen {
        Screen::Sale(_) => sale::hints(app),
        Screen::Staff(s) => staff::hints(app, s),
        Screen::Idle | Screen::Result(_) => {
            vec![(
                app.keymap.hint(&Action::Staff),
                app.texts().staff.title.clone(),
            )]
        }
    };
    let parts = hints
        .into_iter()
        .enumerate()
        .map(|(i, (key, what))| {
            let mut spans = Vec::new();
            if !key.is_empty() {
                spans.push(Span::styled(key, theme.status_key));
                spans.push(Span::raw(" "));
            }
            spans.push(Span::raw(what));
            let part = Part::new(spans);
            if i == 0 { part } else { part.may_drop() }
        })
        .collect();
    frame.render_widget(
        Paragraph::new(Line::from(fit_parts(parts, "  ", usize::from(area.width))))
            .style(theme.status_bar),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(spans: &[Span]) -> String {
        spans.iter().map(|s| s.content.as_ref()).collect()
    }

    fn parts() -> Vec<Part> {
        vec![
            Part::new(vec![Span::raw("Klub Kastanjen")]),
            Part::new(vec![Span::raw("Kortlæser klar (ACS ACR122U 00)")])
                .short(vec![Span::raw("Kortlæser klar")]),
            Part::new(vec![Span::raw("Alene-kasse (ingen server)")])
                .short(vec![Span::raw("Alene-kasse")])
                .may_drop(),
        ]
    }

    #[test]
    fn a_bar_that_fits_is_shown_whole() {
        assert_eq!(
            text(&fit_parts(parts(), " │ ", 80)),
            "Klub Kastanjen │ Kortlæser klar (ACS ACR122U 00) │ Alene-kasse (ingen server)"
        );
    }

    #[test]
    fn the_last_parts_are_shortened_first_then_left_out() {
        assert_eq!(
            text(&fit_parts(parts(), " │ ", 62)),
            "Klub Kastanjen │ Kortlæser klar (ACS ACR122U 00) │ Alene-kasse"
        );
        assert_eq!(
            text(&fit_parts(parts(), " │ ", 45)),
            "Klub Kastanjen │ Kortlæser klar │ Alene-kasse"
        );
        assert_eq!(
            text(&fit_parts(parts(), " │ ", 40)),
            "Klub Kastanjen │ Kortlæser klar"
        );
    }

    #[test]
    fn a_cut_counts_columns_not_characters() {
        let parts = vec![
            Part::new(vec![Span::raw("Caféen ☕☕☕☕☕☕☕☕ Kastanjen")]),
            Part::new(vec![Span::raw("Ingen kortlæser")]),
        ];
        let cut = text(&fit_parts(parts, " │ ", 30));
        assert!(cut.ends_with(" │ Ingen kortlæser"), "{cut}");
        assert!(Span::raw(cut.clone()).width() <= 30, "{cut}");
    }

    #[test]
    fn only_the_first_part_is_ever_cut_and_then_says_so() {
        let cut = text(&fit_parts(parts(), " │ ", 25));
        assert_eq!(cut, "Klub Ka… │ Kortlæser klar");
        assert_eq!(Span::raw(cut).width(), 25);
    }
}
