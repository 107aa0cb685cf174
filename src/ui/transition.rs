//! What a screen's `update` gets and gives back. It reads a [`Context`]
//! and changes only its own state; everything else it wants (another
//! screen, effects, a notice, quitting) it returns as a [`Transition`],
//! which [`crate::ui::update`] applies in one place.

use chrono::{DateTime, Utc};

use crate::config::Menu;
use crate::ui::app::{Screen, Settings};
use crate::ui::effect::Effect;
use klubkasse_core::domain::{CardUid, ChildId, Connection, PinGuard};

/// What screens may read of the kiosk while they update.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub settings: &'a Settings,
    pub menu: &'a Menu,
    /// Now: standalone, online or offline.
    pub connection: Connection,
    pub pin_guard: &'a PinGuard,
    pub now: DateTime<Utc>,
    /// The terminal's size, if there is one: how much of a list fits.
    pub size: Option<ratatui::layout::Size>,
}

impl Context<'_> {
    /// The effect that looks a tapped card up.
    pub fn lookup(&self, uid: CardUid) -> Effect {
        Effect::LookupCard {
            uid,
            connection: self.connection,
        }
    }

    /// The effect that loads a child found by name, for a sale without
    /// the card.
    pub fn sell_to(&self, child: ChildId) -> Effect {
        Effect::LookupChild {
            child,
            connection: self.connection,
        }
    }

    /// The effect that loads a child's balance and today's entries.
    pub fn account(&self, child: ChildId) -> Effect {
        Effect::LoadAccount {
            child,
            connection: self.connection,
        }
    }
}

/// A passing message on the idle screen, put in words when drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    CardUnreadable,
    /// The staff key was pressed, but there is no PIN to open the menu with.
    NoPin,
    /// From outside the screens (a failed backup, a failed closing),
    /// already in words.
    Text(String),
}

/// What a screen asks of the kiosk beyond its own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Notice(Notice),
    ClearNotice,
    /// A PIN was tried: the guard as it is now.
    PinGuard(PinGuard),
    Quit,
}

/// The outcome of one screen update.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Transition {
    /// The screen to show next; `None` keeps the current one (as updated).
    pub next: Option<Screen>,
    pub effects: Vec<Effect>,
    pub requests: Vec<Request>,
}

impl Transition {
    pub fn stay() -> Transition {
        Transition::default()
    }

    pub fn go(screen: Screen) -> Transition {
        Transition {
            next: Some(screen),
            ..Transition::default()
        }
    }

    pub fn effect(mut self, effect: Effect) -> Transition {
        self.effects.push(effect);
        self
    }

    pub fn effects(mut self, effects: impl IntoIterator<Item = Effect>) -> Transition {
        self.effects.extend(effects);
        self
    }

    pub fn request(mut self, request: Request) -> Transition {
        self.requests.push(request);
        self
    }
}
