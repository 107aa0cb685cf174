//! A kiosk driven without a terminal: actions in, effects run for real
//! against a real sled store on disk, their outcomes fed back in.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use klubkasse::i18n::Language;
use klubkasse::kiosk::Cards;
use klubkasse::reader::{DEMO_PIN, DemoCards};
use klubkasse::store::Store;
use klubkasse::ui::screens::staff::{Task, tasks};
use klubkasse::ui::{Action, App, Effect, EffectContext, update};
use klubkasse_core::domain::CardUid;

pub struct Kiosk {
    pub app: App,
    pub ctx: EffectContext,
    /// Every effect `update()` asked for, in order.
    pub effects: Vec<Effect>,
    _dir: Option<tempfile::TempDir>,
}

pub const FREJA: &str = "04A1B2C3"; // 250 kr.
pub const OSCAR: &str = "04B2C3D4"; // 3,50 kr.
pub const IDA: &str = "04C3D4E5"; // blocked card
pub const WILLIAM: &str = "04D4E5F6"; // daily limit 20 kr.
pub const ALMA: &str = "04E5F6A7"; // slik blocked
pub const NOAH: &str = "04F6A7B8"; // note: nøddeallergi
pub const SOREN: &str = "04112233445566"; // æ, ø, å

pub fn uid(hex: &str) -> CardUid {
    CardUid::parse(hex).unwrap()
}

/// A fixed moment, so that screens and reports do not depend on the clock.
pub fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

/// Opens a store, also one this process had open a moment ago (a dropped
/// store has let go of its files when the drop returns).
pub fn open_store(data_dir: &Path) -> Store {
    Store::open(data_dir).expect("the store opens")
}

impl Kiosk {
    /// The demo kiosk (sample menu, demo children) on a fresh store.
    pub fn demo() -> Kiosk {
        let dir = tempfile::TempDir::new().unwrap();
        let mut kiosk = Kiosk::open(dir.path(), Language::DA);
        kiosk._dir = Some(dir);
        kiosk
    }

    /// The demo kiosk through the binary's own entry point, named
    /// "Testklubben" and with seven of the demo cards on F1–F7.
    pub fn open(data_dir: &Path, language: Language) -> Kiosk {
        let mut start = klubkasse::kiosk::Kiosk::demo(data_dir, language, false).unwrap();
        start.settings.counter = "Testklubben".into();
        let cards: Vec<_> = [FREJA, OSCAR, IDA, WILLIAM, ALMA, NOAH, SOREN]
            .iter()
            .map(|hex| {
                let card = start.store.card(&uid(hex)).unwrap().unwrap();
                (card.uid, start.store.child(card.child).unwrap().unwrap())
            })
            .collect();
        start.cards = Cards::Demo(DemoCards::new(&cards));
        let (app, ctx) = start.into_app().unwrap();
        Kiosk {
            app,
            ctx,
            effects: Vec::new(),
            _dir: None,
        }
    }

    pub fn store(&self) -> &Store {
        &self.ctx.store
    }

    /// Applies an action and runs every effect it leads to, to the end.
    pub fn send(&mut self, action: Action) {
        let mut queue = vec![action];
        while let Some(action) = queue.pop() {
            self.app.now = Utc::now();
            for effect in update(&mut self.app, action) {
                self.effects.push(effect.clone());
                if let Some(outcome) = self.ctx.execute(effect) {
                    queue.push(outcome);
                }
            }
        }
    }

    /// Applies an action without running its effects: for what the
    /// screen shows while an effect is still under way.
    pub fn send_only(&mut self, action: Action) -> Vec<Effect> {
        update(&mut self.app, action)
    }

    pub fn tap(&mut self, hex: &str) {
        self.send(Action::CardTapped(uid(hex)));
    }

    pub fn keys(&mut self, items: &str) {
        for c in items.chars() {
            self.send(Action::AddItem(c));
        }
    }

    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.send(Action::Input(c));
        }
    }

    pub fn staff_login(&mut self) {
        self.send(Action::Staff);
        self.type_text(DEMO_PIN);
        self.send(Action::Confirm);
    }

    /// From the staff menu (nothing chosen yet): move to `task` and open it.
    pub fn open_task(&mut self, task: Task) {
        let index = tasks(&self.app.settings)
            .iter()
            .position(|t| *t == task)
            .unwrap_or_else(|| panic!("{task:?} is not in this kiosk's staff menu"));
        for _ in 0..index {
            self.send(Action::Down);
        }
        self.send(Action::Confirm);
    }

    pub fn balance(&self, hex: &str) -> klubkasse_core::domain::Money {
        let card = self.store().card(&uid(hex)).unwrap().unwrap();
        self.store().balance(card.child).unwrap()
    }
}
