//! The kiosk's state and the one place it changes: [`update`].

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Size;

use crate::config::Menu;
use crate::i18n::{Language, Texts};
use crate::keymap::{Key, Keymap};
use crate::reader::{DemoCards, ReaderStatus};
use crate::store::disk::Space;
use crate::store::local_day;
use crate::sync::SyncStatus;
use crate::ui::Action;
use crate::ui::big_text::BigText;
use crate::ui::effect::Effect;
use crate::ui::screens::{idle, result, sale, staff};
use crate::ui::theme::{Theme, ThemeName};
use crate::ui::transition::{Context, Notice, Request, Transition};
use crate::ui::view::Fit;
use klubkasse_core::domain::{Connection, Money, PinGuard};

/// What the kiosk is configured to be, fixed while it runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub counter: String,
    pub language: Language,
    /// Standalone, or connected (then the kiosk starts offline until the
    /// ledger answers).
    pub connection: Connection,
    /// Connected and offline: the most a child may buy beyond what the
    /// ledger confirmed.
    pub offline_allowance: Money,
    pub sale_timeout: Duration,
    pub result_time: Duration,
    pub has_pin: bool,
    pub theme: ThemeName,
    pub big_text: BigText,
}

/// How long the staff menu stays open with nobody touching it.
const STAFF_TIMEOUT: Duration = Duration::from_secs(120);
/// How often free space is looked at (and the backup considered): often,
/// as a filling disk must show before a sale is refused (statvfs is cheap).
pub const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// A standalone kiosk's backup is at most this old, plus the idle wait.
pub const BACKUP_EVERY: Duration = Duration::from_secs(3600);
/// The backup waits for this long without a key or a tap: not mid-queue.
pub const IDLE_BEFORE_BACKUP: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub enum Screen {
    Idle,
    Sale(sale::SaleScreen),
    Result(result::ResultScreen),
    Staff(staff::StaffScreen),
}

#[derive(Debug, Clone)]
pub struct App {
    pub settings: Settings,
    pub menu: Menu,
    pub keymap: Keymap,
    pub demo: DemoCards,
    pub screen: Screen,
    pub reader: ReaderStatus,
    /// Now: standalone, online or offline.
    pub connection: Connection,
    /// The last word from the sync task (connected mode).
    pub sync: Option<SyncStatus>,
    /// A passing message on the idle screen (e.g. a card that could not be read).
    pub notice: Option<Notice>,
    pub pin_guard: PinGuard,
    pub now: DateTime<Utc>,
    /// When someone last did something: for the timeouts.
    pub last_activity: DateTime<Utc>,
    /// The last day whose closing (archive, backup) was asked for.
    pub closed_day: Option<NaiveDate>,
    /// A step of that closing is running: ask for the next when it ends.
    pub closing: bool,
    /// What free space allows, as the last upkeep found it.
    pub disk: Space,
    /// When the upkeep (free space, the hourly backup) is next asked for.
    pub next_upkeep: DateTime<Utc>,
    /// When the backup was last written (at start: the day's closing).
    pub last_backup: DateTime<Utc>,
    pub quit: bool,
    /// The terminal's size; `None` without one (headless): then every
    /// screen counts as fitting.
    pub size: Option<Size>,
}

impl App {
    pub fn new(
        settings: Settings,
        menu: Menu,
        keymap: Keymap,
        demo: DemoCards,
        pin_guard: PinGuard,
        now: DateTime<Utc>,
    ) -> App {
        let reader = if demo.is_empty() {
            ReaderStatus::Missing
        } else {
            ReaderStatus::Demo
        };
        App {
            connection: settings.connection,
            settings,
            menu,
            keymap,
            demo,
            screen: Screen::Idle,
            reader,
            sync: None,
            notice: None,
            pin_guard,
            now,
            last_activity: now,
            closed_day: None,
            closing: false,
            disk: Space::Ok,
            next_upkeep: now,
            last_backup: now,
            quit: false,
            size: None,
        }
    }

    /// Is the terminal smaller than the screens are laid out for? Then
    /// the too-small notice is all there is, and keys must not act unseen.
    pub fn too_small(&self) -> bool {
        self.fit() == Fit::TooSmall
    }

    /// The layout for the terminal's size (full until it is known).
    pub fn fit(&self) -> Fit {
        self.size.map_or(Fit::Full, crate::ui::view::fit)
    }

    pub fn theme(&self) -> &'static Theme {
        Theme::of(self.settings.theme)
    }

    pub fn texts(&self) -> &'static Texts {
        Texts::of(self.settings.language)
    }

    fn idle_for(&self) -> Duration {
        (self.now - self.last_activity).to_std().unwrap_or_default()
    }

    /// Does the current screen take typed text (PIN, name, amount, search)?
    fn wants_text(&self) -> bool {
        matches!(&self.screen, Screen::Staff(s) if s.wants_text())
    }

    /// Turns a key press into an action, in the light of the screen: typed
    /// text in a text field, item hotkeys in a sale, the keymap elsewhere.
    pub fn key_to_action(&self, event: KeyEvent) -> Option<Action> {
        if self.too_small() {
            let bound = self.keymap.action(Key::from_event(&event));
            return (bound == Some(&Action::Quit)).then_some(Action::Quit);
        }
        if let KeyCode::F(n) = event.code
            && event.modifiers.is_empty()
            && let Some(uid) = self.demo.card(n)
        {
            return Some(Action::CardTapped(uid.clone()));
        }
        let key = Key::from_event(&event);
        let bound = self.keymap.action(key).cloned();
        if self.wants_text() {
            match (&bound, event.code) {
                (Some(Action::RemoveLine), _) | (_, KeyCode::Backspace) => {
                    return Some(Action::DeleteChar);
                }
                (Some(Action::Confirm | Action::Cancel | Action::Up | Action::Down), _) => {
                    return bound;
                }
                (_, KeyCode::Char(c))
                    if !event
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
                {
                    return Some(Action::Input(c));
                }
                _ => return bound,
            }
        }
        if bound.is_some() {
            return bound;
        }
        match (&self.screen, event.code) {
            (Screen::Sale(_), KeyCode::Char(c))
                if event.modifiers.difference(KeyModifiers::SHIFT).is_empty() =>
            {
                self.menu.item(c).map(|_| Action::AddItem(c))
            }
            _ => None,
        }
    }
}

/// Applies one action to the state and says which effects to run.
/// Time comes in through `app.now`, set by the caller: no clock in here.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    let is_input = !matches!(
        action,
        Action::Tick
            | Action::Resize(..)
            | Action::Upkept { .. }
            | Action::DayClosed { .. }
            | Action::Reader(_)
            | Action::Notice(_)
            | Action::Sync(_)
            | Action::ChildrenLoaded(_)
            | Action::ActivityLoaded(_)
            | Action::ChildAccount(_)
            | Action::MenuChanged(_)
            | Action::ReportLoaded(_)
    );
    if is_input {
        app.last_activity = app.now;
    }
    // Nothing starts unseen: a card on the reader while the window is too
    // small to show the sale is not taken (the bell says so).
    if app.too_small() && matches!(action, Action::CardTapped(_)) {
        return vec![Effect::Bell];
    }
    // A sale written or refused by the store: what the disk allows now,
    // at the next tick, not at the next round.
    if matches!(action, Action::SaleSaved { .. } | Action::SaleFailed(_)) {
        app.next_upkeep = app.now;
    }
    // The menu the sale screen uses; the staff page then says it is done.
    if let Action::MenuChanged(changes) = &action {
        app.menu = app.menu.with_changes(changes.clone());
    }
    match action {
        Action::Tick => return tick(app),
        Action::Reader(status) => {
            app.reader = status;
            return vec![];
        }
        Action::Resize(width, height) => {
            app.size = Some(Size::new(width, height));
            return vec![];
        }
        // Never while a sale is being saved: it must be shown as paid or not.
        Action::Quit => {
            let saving = matches!(&app.screen, Screen::Sale(s) if s.saving);
            app.quit = app.too_small() && !saving;
            return vec![];
        }
        Action::CardUnreadable => {
            app.notice = Some(Notice::CardUnreadable);
            return vec![];
        }
        Action::Notice(text) => {
            app.notice = Some(Notice::Text(text));
            return vec![];
        }
        Action::Upkept { space, backup } => {
            app.disk = space;
            match backup {
                Some(Ok(())) => app.last_backup = app.now,
                Some(Err(e)) => app.notice = Some(Notice::Text(e)),
                None => {}
            }
            return vec![];
        }
        Action::DayClosed { today, more } => {
            app.closing = false;
            match more {
                Ok(true) => app.closed_day = None,
                Ok(false) => app.closed_day = Some(today),
                Err(e) => app.notice = Some(Notice::Text(e)),
            }
            return vec![];
        }
        Action::Sync(status) => {
            app.connection = match status {
                SyncStatus::Online { .. } => Connection::Online,
                SyncStatus::Offline { .. } | SyncStatus::Refused { .. } => Connection::Offline {
                    allowance: app.settings.offline_allowance,
                },
            };
            app.sync = Some(status);
            return vec![];
        }
        _ => {}
    }
    let ctx = Context {
        settings: &app.settings,
        menu: &app.menu,
        connection: app.connection,
        pin_guard: &app.pin_guard,
        now: app.now,
        size: app.size,
    };
    let transition = match &mut app.screen {
        Screen::Idle => idle::update(&ctx, action),
        Screen::Sale(s) => s.update(&ctx, action),
        Screen::Result(r) => r.update(&ctx, action),
        Screen::Staff(s) => s.update(&ctx, action),
    };
    apply(app, transition)
}

/// The one place a screen's wishes change the rest of the kiosk.
fn apply(app: &mut App, transition: Transition) -> Vec<Effect> {
    for request in transition.requests {
        match request {
            Request::Notice(notice) => app.notice = Some(notice),
            Request::ClearNotice => app.notice = None,
            Request::PinGuard(guard) => app.pin_guard = guard,
            Request::Quit => app.quit = true,
        }
    }
    if let Some(next) = transition.next {
        app.screen = next;
    }
    transition.effects
}

fn tick(app: &mut App) -> Vec<Effect> {
    let idle_for = app.idle_for();
    let timed_out = match &app.screen {
        Screen::Sale(s) => !s.saving && idle_for >= app.settings.sale_timeout,
        Screen::Result(_) => idle_for >= app.settings.result_time,
        Screen::Staff(s) => !s.busy() && idle_for >= STAFF_TIMEOUT,
        Screen::Idle => {
            if idle_for >= app.settings.result_time * 2 {
                app.notice = None;
            }
            false
        }
    };
    if timed_out {
        app.screen = Screen::Idle;
    }
    let mut effects = Vec::new();
    if app.now >= app.next_upkeep {
        app.next_upkeep = app.now + UPKEEP_EVERY;
        let since_backup = (app.now - app.last_backup).to_std().unwrap_or_default();
        effects.push(Effect::Upkeep {
            backup: app.connection == Connection::Standalone
                && matches!(app.screen, Screen::Idle)
                && idle_for >= IDLE_BEFORE_BACKUP
                && since_backup >= BACKUP_EVERY,
        });
    }
    // Once a day, a step per tick so that sales go between the steps:
    // closed days to the archive, then (standalone, where the store is the
    // whole truth) the day's backup.
    let today = local_day(app.now);
    if app.closed_day != Some(today) && !app.closing {
        app.closed_day = Some(today);
        app.closing = true;
        effects.push(Effect::CloseDay {
            today,
            backup: app.connection == Connection::Standalone,
        });
    }
    effects
}
