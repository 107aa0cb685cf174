//! `klubkasse`: the counter kiosk and its tools. Argument parsing and wiring only.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};

use klubkasse::commands::import;
use klubkasse::config::{Config, LedgerConfig, Menu, ReaderKind, default_data_dir};
use klubkasse::i18n::Language;
use klubkasse::keymap::Keymap;
use klubkasse::reader::{CardEvent, DEMO_PIN, DemoCards, PcscSource, ReaderStatus};
use klubkasse::report;
use klubkasse::store::{Store, local_day, restore_backup};
use klubkasse::sync::{LedgerClient, SyncTask};
use klubkasse::ui::{Action, App, EffectContext, Settings, runtime};
use klubkasse_core::domain::{Connection, Money, PinGuard};

#[derive(Parser)]
#[command(
    name = "klubkasse",
    version,
    about = "The counter kiosk for children's clubs with prepaid cards"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The kiosk with sample children and menu, demo cards on F1–F8.
    Demo {
        /// Where the demo's store lives (default: a per-user data folder).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Language of the screens: da or en.
        #[arg(long, default_value = "da")]
        language: String,
        /// Where taps come from: demo (F1–F8) or pcsc (a card reader).
        #[arg(long, value_enum, default_value = "demo")]
        reader: ReaderArg,
    },
    /// The kiosk as configured.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// No terminal: read `tap UID`, `key KEY` and `quit` lines on stdin
        /// and write what the screen would show as JSON lines on stdout,
        /// for driving the kiosk from another program.
        #[arg(long)]
        headless: bool,
    },
    /// Checks config, menu and keymap without starting the kiosk.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Prints a day's sales: per item, per child, total, refunds.
    Report {
        /// The day (YYYY-MM-DD); today if left out.
        #[arg(long)]
        date: Option<NaiveDate>,
        /// CSV instead of a table.
        #[arg(long)]
        csv: bool,
        #[command(flatten)]
        place: StorePlace,
    },
    /// Lists card readers, then prints each tap and removal (Ctrl-C ends).
    Readers {
        /// Only readers whose name contains this.
        #[arg(long)]
        reader_name: Option<String>,
    },
    /// Reads a PIN and prints its argon2 hash for the config's `staff_pin_hash`.
    PinHash,
    /// Adds or updates children from a CSV file (all rows or none).
    ImportChildren {
        file: PathBuf,
        #[command(flatten)]
        place: StorePlace,
    },
    /// Replaces the store with a backup file (the old store is kept aside).
    Restore {
        file: PathBuf,
        #[command(flatten)]
        place: StorePlace,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ReaderArg {
    Demo,
    Pcsc,
}

/// Which store a tool works on: a data folder, or the one a config names.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct StorePlace {
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    config: Option<PathBuf>,
}

impl StorePlace {
    fn data_dir(&self) -> Result<PathBuf> {
        match (&self.data_dir, &self.config) {
            (Some(dir), _) => Ok(dir.clone()),
            (None, Some(config)) => Ok(Config::load(config)?.data_dir),
            (None, None) => bail!("give --data-dir or --config"),
        }
    }
}

/// Errors are printed as one plain message (file, line, what), never as a
/// backtrace: the people reading them run a club, not a debugger.
fn main() -> ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("klubkasse: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Demo {
            data_dir,
            language,
            reader,
        } => demo(data_dir, &language, reader),
        Command::Run { config, headless } => run(&config, headless),
        Command::Check { config } => check(&config),
        Command::Report { date, csv, place } => {
            let store = Store::open_existing(&place.data_dir()?)?;
            let date = date.unwrap_or_else(|| local_day(Utc::now()));
            let day = store.day_report(date)?;
            if csv {
                print!("{}", report::report_csv(&day, date)?);
            } else {
                print!("{}", report::report_text(&day, date, Language::Da));
            }
            Ok(())
        }
        Command::Readers { reader_name } => readers(reader_name),
        Command::PinHash => {
            let pin = read_pin()?;
            println!("{}", klubkasse::pin::hash(&pin)?);
            Ok(())
        }
        Command::ImportChildren { file, place } => {
            let dir = place.data_dir()?;
            let text = import::read_children_file(&file)?;
            // Rows are checked before the store is touched; a tool never
            // creates a store (a mistyped folder is an error).
            let rows = import::parse_children_csv(&text, &file)?;
            let store = Store::open_existing(&dir)?;
            let summary = import::import_children(&store, &rows, "import", Utc::now())?;
            println!("{summary}");
            Ok(())
        }
        Command::Restore { file, place } => {
            let dir = place.data_dir()?;
            let restored = restore_backup(&file, &dir)?;
            println!(
                "Restored {} children and {} entries from {} into {}",
                restored.children,
                restored.entries,
                file.display(),
                restored.store.dir().display()
            );
            if let Some(aside) = restored.set_aside {
                println!("The store that was there is kept in {}", aside.display());
            }
            Ok(())
        }
    }
}

fn demo(data_dir: Option<PathBuf>, language: &str, reader: ReaderArg) -> Result<()> {
    let language = match language {
        "da" => Language::Da,
        "en" => Language::En,
        other => bail!("--language {other}: choose da or en"),
    };
    let dir = data_dir.unwrap_or_else(|| default_data_dir().join("demo"));
    let _log = init_logging(&dir)?;
    let store = Store::open(&dir)?;
    import::seed_demo(&store, Utc::now())?;
    let cards = match reader {
        ReaderArg::Demo => {
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
            Cards::Demo(DemoCards::new(&cards))
        }
        ReaderArg::Pcsc => Cards::Pcsc(PcscSource::default()),
    };
    let keymap = Keymap::load(None)?;
    let menu = Menu::sample(&keymap)?;
    let settings = Settings {
        counter: "Demo — Klub Kastanjen".into(),
        language,
        connection: Connection::Standalone,
        offline_allowance: Money::ZERO,
        sale_timeout: Duration::from_secs(60),
        result_time: Duration::from_secs(4),
        has_pin: true,
    };
    let pin_hash = klubkasse::pin::hash(DEMO_PIN)?;
    kiosk(Kiosk {
        store,
        data_dir: dir,
        settings,
        menu,
        keymap,
        cards,
        pin_hash: Some(pin_hash),
        undo_window: Duration::from_secs(300),
        ledger: None,
        headless: false,
    })
}

fn run(config_path: &Path, headless: bool) -> Result<()> {
    let config = Config::load(config_path)?;
    let _log = init_logging(&config.data_dir)?;
    let store = Store::open(&config.data_dir)?;
    let cards = match config.reader {
        // F1–F8 tap the first eight children's cards: for trying a set-up.
        ReaderKind::Demo => {
            // Eight are enough, and a scan of every card per child would
            // keep a kiosk with thousands of children from starting.
            let mut cards = Vec::new();
            for child in store.children()? {
                if cards.len() == 8 {
                    break;
                }
                if let Some(card) = store.cards_of(child.id)?.into_iter().next() {
                    cards.push((card.uid, child));
                }
            }
            Cards::Demo(DemoCards::new(&cards))
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
    };
    kiosk(Kiosk {
        store,
        data_dir: config.data_dir,
        settings,
        menu: config.menu,
        keymap: config.keymap,
        cards,
        pin_hash: config.staff_pin_hash,
        undo_window: config.undo_window,
        ledger: config.ledger,
        headless,
    })
}

/// Where the kiosk's taps come from.
enum Cards {
    Demo(DemoCards),
    Pcsc(PcscSource),
}

/// Everything a kiosk is started with.
struct Kiosk {
    store: Store,
    data_dir: PathBuf,
    settings: Settings,
    menu: Menu,
    keymap: Keymap,
    cards: Cards,
    pin_hash: Option<String>,
    undo_window: Duration,
    ledger: Option<LedgerConfig>,
    headless: bool,
}

fn kiosk(k: Kiosk) -> Result<()> {
    if !k.headless && !std::io::stdout().is_terminal() {
        bail!("the kiosk needs a terminal");
    }
    let pin_guard: PinGuard = k.store.pin_guard()?;
    let (taps_tx, taps_rx) = tokio::sync::mpsc::unbounded_channel();
    let source_tx = taps_tx.clone();
    let (demo, reader) = match k.cards {
        Cards::Demo(demo) => (demo, None),
        Cards::Pcsc(source) => {
            let watch = source.spawn(move |event| {
                let action = match event {
                    CardEvent::Tapped { uid, .. } => Action::CardTapped(uid),
                    CardEvent::Unreadable { .. } => Action::CardUnreadable,
                    CardEvent::Status(status) => Action::Reader(status),
                    CardEvent::Removed { .. } => return,
                };
                let _ = source_tx.send(action);
            })?;
            (DemoCards::default(), Some(watch))
        }
    };
    let app = App::new(
        k.settings.clone(),
        k.menu,
        k.keymap,
        demo,
        pin_guard,
        Utc::now(),
    );
    let ctx = EffectContext {
        store: Arc::new(k.store),
        counter: k.settings.counter,
        connected: k.ledger.is_some(),
        pin_hash: k.pin_hash,
        undo_window: k.undo_window,
        export_dir: k.data_dir.join("reports"),
        data_dir: k.data_dir.clone(),
    };
    tracing::info!(data_dir = %k.data_dir.display(), "kiosk starting");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let nudge = match k.ledger {
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
    if k.headless {
        runtime.block_on(runtime::run_headless(app, ctx, taps_rx, nudge))?;
    } else {
        runtime.block_on(runtime::run(app, ctx, taps_rx, nudge))?;
    }
    if let Some(watch) = reader {
        watch.stop();
    }
    tracing::info!("kiosk stopped");
    Ok(())
}

fn check(config_path: &Path) -> Result<()> {
    let config = Config::load(config_path)?;
    println!("{}: OK", config_path.display());
    println!("  counter: {}", config.counter);
    println!("  menu: {} items", config.menu.items.len());
    println!("  reader: {:?}", config.reader);
    println!(
        "  staff PIN: {}",
        if config.staff_pin_hash.is_some() {
            "set"
        } else {
            "NOT set (staff menu closed)"
        }
    );
    println!("  data: {}", config.data_dir.display());
    match &config.ledger {
        Some(ledger) => println!(
            "  ledger: {} (token from {}), offline allowance {}",
            ledger.url,
            ledger.token_file.display(),
            config.offline_allowance
        ),
        None => println!("  ledger: none (standalone)"),
    }
    match Store::open_existing(&config.data_dir) {
        Ok(store) => {
            let wrong = store.balance_mismatches()?;
            if !wrong.is_empty() {
                bail!(
                    "{} children's balances differ from the sum of their entries",
                    wrong.len()
                );
            }
            println!(
                "  store: {} children, balances match their entries",
                store.children()?.len()
            );
        }
        Err(klubkasse::store::StoreError::Missing { .. }) => {
            println!("  store: not created yet (made at first start)")
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Like `pcsc_scan`, in our terms: for staff setting up a counter.
fn readers(reader_name: Option<String>) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let _watch = PcscSource { reader_name }.spawn(move |event| {
        let _ = tx.send(event);
    })?;
    println!("Watching card readers (Ctrl-C to stop) …");
    for event in rx {
        let time = chrono::Local::now().format("%H:%M:%S");
        match event {
            CardEvent::Status(ReaderStatus::Ready { name }) => {
                println!("{time}  reader ready: {name}")
            }
            CardEvent::Status(ReaderStatus::Missing) => {
                println!("{time}  no card reader (is one plugged in, and is pcscd running?)")
            }
            CardEvent::Status(ReaderStatus::Demo) => {}
            CardEvent::Tapped { uid, reader } => println!("{time}  {reader}: card {uid}"),
            CardEvent::Removed { reader } => println!("{time}  {reader}: card removed"),
            CardEvent::Unreadable { reader, why } => {
                println!("{time}  {reader}: card could not be read ({why})")
            }
        }
    }
    Ok(())
}

/// Logs go to a file in the data folder, never to the kiosk's screen.
fn init_logging(data_dir: &Path) -> Result<tracing_appender::non_blocking::WorkerGuard> {
    let logs = data_dir.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let (writer, guard) =
        tracing_appender::non_blocking(tracing_appender::rolling::daily(&logs, "klubkasse.log"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KLUBKASSE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "panic");
        default_hook(info);
    }));
    Ok(guard)
}

/// Reads the PIN twice without echo at a terminal, once from a pipe.
fn read_pin() -> Result<String> {
    if std::io::stdin().is_terminal() {
        let pin = rpassword::prompt_password("New staff PIN (4–12 digits): ")?;
        let again = rpassword::prompt_password("The same PIN again: ")?;
        if pin != again {
            bail!("the two PINs differ");
        }
        Ok(pin)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim().to_string())
    }
}
