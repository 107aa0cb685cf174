//! Waiting for a card: "Hold dit kort på læseren", a passing notice, and
//! in the demo which key taps which child's card.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::i18n::fill;
use crate::ui::Action;
use crate::ui::app::{App, Screen};
use crate::ui::big_text;
use crate::ui::screens::sale::SaleScreen;
use crate::ui::screens::{big_alike, big_name, result, staff};
use crate::ui::transition::{Context, Notice, Request, Transition};

/// `text` cut at the space nearest its middle, if it has one.
fn split_in_two(text: &str) -> Option<(&str, &str)> {
    let middle = text.len() / 2;
    let (at, _) = text
        .char_indices()
        .filter(|(_, c)| *c == ' ')
        .min_by_key(|(i, _)| i.abs_diff(middle))?;
    Some((&text[..at], &text[at + 1..]))
}

/// A tap starts a sale, the staff key asks for the PIN.
pub fn update(ctx: &Context, action: Action) -> Transition {
    match action {
        Action::CardTapped(uid) => Transition::stay()
            .request(Request::ClearNotice)
            .effect(ctx.lookup(uid)),
        Action::AccountLoaded(Ok(view)) => Transition::go(Screen::Sale(SaleScreen::new(view))),
        Action::AccountLoaded(Err(refusal)) => result::refused(refusal),
        Action::SaleFailed(error) => result::failed(error),
        Action::Staff => staff::open(ctx),
        _ => Transition::stay(),
    }
}

pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.texts().idle;
    // The demo's cards, under a line that may take two rows.
    let legend_height = if app.demo.is_empty() {
        0
    } else {
        app.demo.legend().count() as u16 + 3
    };
    // The prompt on two lines where one is too wide for the tallest
    // letters, if the screen has the rows ("Hold dit kort" / "på læseren").
    let rows = big_text::height(app.settings.big_text);
    let one_line = Rect {
        height: rows,
        ..area
    };
    let halves = split_in_two(&t.tap_card);
    let two_lines = !big_text::fits_full_height(app.settings.big_text, one_line, &t.tap_card)
        && halves.is_some()
        && area.height >= 2 * rows + 3 + legend_height;
    let [_, prompt, notice_area, legend] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(if two_lines { 2 * rows } else { rows }),
        Constraint::Length(2),
        Constraint::Length(legend_height),
    ])
    .areas(area);
    match halves.filter(|_| two_lines) {
        Some((first, second)) => {
            let [top, bottom] = Layout::vertical([Constraint::Length(rows); 2]).areas(prompt);
            let style = app.theme().name;
            big_alike(app, frame, &[(top, first, style), (bottom, second, style)]);
        }
        None => big_name(app, frame, prompt, &t.tap_card, app.theme().name),
    }
    if let Some(notice) = &app.notice {
        let text = match notice {
            Notice::CardUnreadable => &app.texts().status.card_unreadable,
            Notice::NoPin => &app.texts().staff.no_pin,
            Notice::Text(text) => text,
        };
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(text.clone(), app.theme().warning)).centered()),
            notice_area,
        );
    }
    if !app.demo.is_empty() {
        let staff_key = app.keymap.hint(&Action::Staff);
        let intro = match app.demo.pin_hint() {
            Some(pin) => fill(&t.demo_keys, &[("staff_key", &staff_key), ("pin", pin)]),
            None => fill(&t.demo_keys_no_pin, &[("staff_key", &staff_key)]),
        };
        let mut lines = vec![Line::from(Span::styled(intro, app.theme().label)).centered()];
        lines.extend(app.demo.legend().map(|(key, name)| {
            Line::from(vec![
                Span::styled(format!("{key:>3}  "), app.theme().key),
                Span::raw(format!("{name:<24}")),
            ])
            .centered()
        }));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), legend);
    }
}
