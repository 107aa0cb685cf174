//! `klubkasse`: the counter kiosk and its tools. Argument parsing and wiring only.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};

use klubkasse::commands::{check, import, readers};
use klubkasse::config::{Config, default_data_dir};
use klubkasse::i18n::Language;
use klubkasse::kiosk::{Display, Kiosk};
use klubkasse::report;
use klubkasse::store::{Store, local_day, restore_backup};

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
        /// Language of the screens: da, en or another of assets/i18n/.
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
        Command::Check { config } => {
            print!("{}", check::check(&config)?);
            Ok(())
        }
        Command::Report { date, csv, place } => {
            let store = Store::open_existing(&place.data_dir()?)?;
            let date = date.unwrap_or_else(|| local_day(Utc::now()));
            let day = store.day_report(date)?;
            if csv {
                print!("{}", report::report_csv(&day, date)?);
            } else {
                print!("{}", report::report_text(&day, date, Language::DA));
            }
            Ok(())
        }
        Command::Readers { reader_name } => Ok(readers::watch(reader_name, std::io::stdout())?),
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
    let Some(language) = Language::parse(language) else {
        bail!(
            "--language {language}: choose {}",
            klubkasse_core::i18n::codes()
        );
    };
    let dir = data_dir.unwrap_or_else(|| default_data_dir().join("demo"));
    let _log = init_logging(&dir)?;
    let pcsc = matches!(reader, ReaderArg::Pcsc);
    Kiosk::demo(&dir, language, pcsc)?.run(Display::Terminal)?;
    Ok(())
}

fn run(config_path: &Path, headless: bool) -> Result<()> {
    let config = Config::load(config_path)?;
    let _log = init_logging(&config.data_dir)?;
    let display = if headless {
        Display::Headless
    } else {
        Display::Terminal
    };
    Kiosk::from_config(config)?.run(display)?;
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
