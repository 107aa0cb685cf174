//! The kiosk's entry points: what `klubkasse demo` and `klubkasse run`
//! start, and what the tests and benchmarks start too, so that none of
//! them assembles a kiosk its own way.
//!
//! [`Kiosk::demo`] and [`Kiosk::from_config`] gather what a kiosk starts
//! with; a test may change a field before [`Kiosk::into_app`] (the state
//! and the effects' context, driven by actions without a terminal) or
//! [`Kiosk::run`] (the taps' source, the sync task and the event loop).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::commands::import::{self, ImportError, ImportRunError};
use crate::config::{Config, LedgerConfig, Menu, ReaderKind};
use crate::i18n::Language;
use crate::keymap::Keymap;
use crate::pin::PinError;
use crate::reader::{CardEvent, DEMO_PIN, DemoCards, PcscSource};
use crate::source_error::FileErrors;
use crate::store::disk::Limits;
use crate::store::{Store, StoreError, local_day, write_daily_backup};
use crate::sync::{LedgerClient, SyncError, SyncTask};
use crate::ui::big_text::BigText;
use crate::ui::runtime::{self, RuntimeError};
use crate::ui::theme::ThemeName;
use crate::ui::{Action, App, EffectContext, Settings};
use klubkasse_core::domain::{Connection, Money};

/// Where a kiosk's taps come from.
#[derive(Debug)]
pub enum Cards {
    /// Function keys tap these children's cards.
    Demo(DemoCards),
    /// A PC/SC card reader through pcscd.
    Pcsc(PcscSource),
}

/// Where a kiosk shows itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// Full screen in the terminal.
    Terminal,
    /// No terminal: commands on stdin, what the screen shows as JSON lines
    /// on stdout (see `ui::headless`).
    Headless,
}

/// Everything a kiosk is started with.
#[derive(Debug)]
pub struct Kiosk {
    pub store: Store,
    pub data_dir: PathBuf,
    pub settings: Settings,
    pub menu: Menu,
    pub keymap: Keymap,
    pub cards: Cards,
    pub pin_hash: Option<String>,
    pub undo_window: Duration,
    pub ledger: Option<LedgerConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum KioskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    File(#[from] FileErrors),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Seed(#[from] ImportRunError),
    #[error(transparent)]
    Pin(#[from] PinError),
    #[error(transparent)]
    Ledger(#[from] SyncError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("the card reader could not be watched: {0}")]
    Reader(std::io::Error),
    #[error("the kiosk could not start its worker threads: {0}")]
    Threads(std::io::Error),
    #[error("the kiosk needs a terminal")]
    NoTerminal,
}

/// The demo reader's cards are the first eight children with a card: for
/// trying a set-up. Eight are enough, and a scan of every card per child
/// would keep a kiosk with thousands of children from starting.
fn first_cards(store: &Store, keymap: &Keymap) -> Result<DemoCards, StoreError> {
    let mut cards = Vec::new();
    for child in store.children()? {
        if cards.len() == 8 {
            break;
        }
        if let Some(card) = store.cards_of(child.id)?.into_iter().next() {
            cards.push((card.uid, child));
        }
    }
    Ok(DemoCards::new(&cards, keymap))
}

impl Kiosk {
    /// The demo: sample children (paid in once) and menu in `data_dir`,
    /// the PIN 1234; `pcsc`: taps from a card reader instead of function keys.
    pub fn demo(data_dir: &Path, language: Language, pcsc: bool) -> Result<Kiosk, KioskError> {
        let mut store = Store::open(data_dir)?;
        store.keep_reserve(Limits::default());
        import::seed_demo(&store, Utc::now())?;
        let keymap = Keymap::load(None)?;
        let cards = if pcsc {
            Cards::Pcsc(PcscSource::default())
        } else {
            // The demo children in the file's order: F1 is always Freja.
            let rows = import::parse_children_csv(
                import::DEMO_CHILDREN_CSV,
                Path::new("demo-children.csv"),
            )?;
            let mut cards = Vec::new();
            for row in rows {
                if let Some(card) = store.card(&row.card_uid)?
                    && let Some(child) = store.child(card.child)?
                {
                    cards.push((row.card_uid, child));
                }
            }
            Cards::Demo(DemoCards::new(&cards, &keymap).with_pin_hint(DEMO_PIN))
        };
        let menu = Menu::sample(&keymap)?;
        Ok(Kiosk {
            store,
            data_dir: data_dir.to_path_buf(),
            settings: Settings {
                counter: "Demo — Klub Kastanjen".into(),
                language,
                connection: Connection::Standalone,
                offline_allowance: Money::ZERO,
                sale_timeout: Duration::from_secs(60),
                result_time: Duration::from_secs(4),
                has_pin: true,
                theme: ThemeName::default(),
                big_text: BigText::default(),
            },
            menu,
            keymap,
            cards,
            pin_hash: Some(crate::pin::hash(DEMO_PIN)?),
            undo_window: Duration::from_secs(300),
            ledger: None,
        })
    }

    /// The kiosk a config describes.
    pub fn from_config(config: Config) -> Result<Kiosk, KioskError> {
        let mut store = Store::open(&config.data_dir)?;
        store.keep_reserve(Limits::with_reserve_mb(config.disk_reserve_mb));
        let cards = match config.reader {
            ReaderKind::Demo => {
                let cards = first_cards(&store, &config.keymap)?;
                // The hint only where it is true: a configured PIN may be anything.
                let demo_pin = config
                    .staff_pin_hash
                    .as_deref()
                    .is_some_and(|hash| crate::pin::verify(DEMO_PIN, hash));
                Cards::Demo(if demo_pin {
                    cards.with_pin_hint(DEMO_PIN)
                } else {
                    cards
                })
            }
            ReaderKind::Pcsc => Cards::Pcsc(PcscSource {
                reader_name: config.reader_name.clone(),
            }),
        };
        let settings = Settings {
            counter: config.counter.clone(),
            language: config.language,
            // Connected, the counter counts as offline until the ledger answers.
            connection: match config.ledger {
                Some(_) => Connection::Offline {
                    allowance: config.offline_allowance,
                },
                None => Connection::Standalone,
            },
            offline_allowance: config.offline_allowance,
            sale_timeout: config.sale_timeout,
            result_time: config.result_time,
            has_pin: config.staff_pin_hash.is_some(),
            theme: config.theme,
            big_text: config.big_text,
        };
        Ok(Kiosk {
            store,
            data_dir: config.data_dir,
            settings,
            menu: config.menu,
            keymap: config.keymap,
            cards,
            pin_hash: config.staff_pin_hash,
            undo_window: config.undo_window,
            ledger: config.ledger,
        })
    }

    /// The state the kiosk starts in and the context its effects run in,
    /// with the demo cards (none for a card reader): nothing runs yet.
    pub fn into_app(self) -> Result<(App, EffectContext), KioskError> {
        let demo = match &self.cards {
            Cards::Demo(demo) => demo.clone(),
            Cards::Pcsc(_) => DemoCards::default(),
        };
        // The menu file, with the prices and sold-out marks staff set.
        let menu = self.menu.with_changes(self.store.menu_changes()?);
        let app = App::new(
            self.settings.clone(),
            menu,
            self.keymap,
            demo,
            self.store.pin_guard()?,
            Utc::now(),
        );
        let ctx = EffectContext {
            store: Arc::new(self.store),
            counter: self.settings.counter,

            connected: self.ledger.is_some(),
            pin_hash: self.pin_hash,
            undo_window: self.undo_window,
            export_dir: self.data_dir.join("reports"),
            data_dir: self.data_dir,
            language: self.settings.language,
        };
        Ok((app, ctx))
    }

    /// Runs the kiosk until staff quit: the card reader on its own thread,
    /// the sync task when connected, the event loop.
    pub fn run(self, display: Display) -> Result<(), KioskError> {
        if display == Display::Terminal && !std::io::stdout().is_terminal() {
            return Err(KioskError::NoTerminal);
        }
        let (taps_tx, taps_rx) = tokio::sync::mpsc::unbounded_channel();
        let reader = match &self.cards {
            Cards::Demo(_) => None,
            Cards::Pcsc(source) => {
                let source_tx = taps_tx.clone();
                let watch = source
                    .clone()
                    .spawn(move |event| {
                        let action = match event {
                            CardEvent::Tapped { uid, .. } => Action::CardTapped(uid),
                            CardEvent::Unreadable { .. } => Action::CardUnreadable,
                            CardEvent::Status(status) => Action::Reader(status),
                            CardEvent::Removed { .. } => return,
                        };
                        let _ = source_tx.send(action);
                    })
                    .map_err(KioskError::Reader)?;
                Some(watch)
            }
        };
        let ledger = self.ledger.clone();
        let connected = ledger.is_some();
        let data_dir = self.data_dir.clone();
        let (app, ctx) = self.into_app()?;
        let store = ctx.store.clone();
        tracing::info!(data_dir = %data_dir.display(), "kiosk starting");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(KioskError::Threads)?;
        let nudge = match ledger {
            Some(ledger) => {
                let client = LedgerClient::new(
                    &ledger.url,
                    ledger.token,
                    ledger.timeout,
                    ledger.ca_pem.as_deref(),
                )?;
                let (nudge_tx, nudge_rx) = tokio::sync::mpsc::unbounded_channel();
                let news = taps_tx.clone();
                let task = SyncTask {
                    store: ctx.store.clone(),
                    client,
                    pull_every: ledger.pull_every,
                    status: Box::new(move |status| {
                        let _ = news.send(Action::Sync(status));
                    }),
                };
                tracing::info!(ledger = %ledger.url, "syncing with the ledger");
                runtime.spawn(task.run(nudge_rx));
                Some(nudge_tx)
            }
            None => None,
        };
        let ran = match display {
            Display::Headless => runtime.block_on(runtime::run_headless(app, ctx, taps_rx, nudge)),
            Display::Terminal => runtime.block_on(runtime::run(app, ctx, taps_rx, nudge)),
        };
        if let Some(watch) = reader {
            watch.stop();
        }
        // Standalone the store is the whole truth: a backup as it stops,
        // today's sales in it.
        if !connected && let Err(e) = write_daily_backup(&store, &data_dir, local_day(Utc::now())) {
            tracing::error!(error = %e, "the backup at stopping failed");
        }
        // The log says how it ended, also when the terminal went away.
        match &ran {
            Ok(()) => tracing::info!("kiosk stopped"),
            Err(e) => {
                tracing::error!(error = %e, cause = ?std::error::Error::source(e), "kiosk stopped")
            }
        }
        Ok(ran?)
    }
}
