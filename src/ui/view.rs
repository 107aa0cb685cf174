//! Drawing: a pure function of the state. It reads `App`, never changes it.

use chrono::Local;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::i18n::fill;
use crate::reader::ReaderStatus;
use crate::store::disk::{Space, whole_megabytes};
use crate::sync::SyncStatus;
use crate::ui::app::{App, Screen};
use crate::ui::screens::{idle, result, sale, staff};
use crate::ui::{Action, theme};
use klubkasse_core::domain::Connection;

/// Smallest terminal the screens are laid out for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
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
                .style(theme::WARNING)
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
    draw_status(app, frame, status);
}

/// Header, the screen's body, status bar.
fn layout(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(10),
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

fn draw_header(app: &App, frame: &mut Frame, area: Rect) {
    let clock = app.now.with_timezone(&Local).format("%H:%M").to_string();
    let [left, right] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(6)]).areas(area);
    frame.render_widget(
        Paragraph::new(Span::styled(app.settings.counter.clone(), theme::HEADER)),
        left,
    );
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(clock, theme::HEADER)).right_aligned()),
        right,
    );
}

/// Card source, mode, and the keys that matter on this screen.
fn draw_status(app: &App, frame: &mut Frame, area: Rect) {
    let t = &app.texts().status;
    let reader = match &app.reader {
        ReaderStatus::Demo => Span::raw(fill(&t.reader_demo, &[("keys", &app.demo.keys_label())])),
        ReaderStatus::Ready { name } => Span::raw(format!("{} ({name})", t.reader_ready)),
        ReaderStatus::Missing => Span::styled(t.reader_missing.clone(), theme::BAD),
    };
    let mode = match (&app.sync, app.connection) {
        (_, Connection::Standalone) => t.standalone.clone(),
        (None, _) => t.connecting.clone(),
        (Some(SyncStatus::Online { last_sync, .. }), _) => {
            let time = last_sync
                .with_timezone(&Local)
                .format("%H:%M:%S")
                .to_string();
            fill(&t.online, &[("time", &time)])
        }
        (Some(SyncStatus::Offline { waiting, .. }), _) => {
            fill(&t.offline, &[("count", &waiting.to_string())])
        }
        (Some(SyncStatus::Refused { waiting, .. }), _) => {
            fill(&t.refused, &[("count", &waiting.to_string())])
        }
    };
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
    let mut spans = vec![reader, Span::raw(" │ "), Span::raw(mode), Span::raw(" │ ")];
    let disk = match app.disk {
        Space::Ok => None,
        Space::Low { free } => Some(fill(
            &t.disk_low,
            &[("mb", &whole_megabytes(free).to_string())],
        )),
        Space::Full { .. } => Some(t.disk_full.clone()),
    };
    if let Some(disk) = disk {
        spans.splice(0..0, [Span::styled(disk, theme::BAD), Span::raw(" │ ")]);
    }
    for (key, what) in hints {
        if !key.is_empty() {
            spans.push(Span::styled(key, theme::KEY));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::raw(format!("{what}  ")));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme::STATUS_BAR),
        area,
    );
}
