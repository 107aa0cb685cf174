//! `klubkasse`: the counter kiosk and its tools. Argument parsing and wiring only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use chrono::Utc;
use clap::Parser;

use klubkasse::cli::{Cli, Command, ReaderArg, StorePlace};
use klubkasse::commands::{check, import, readers};
use klubkasse::config::{Config, default_data_dir};
use klubkasse::i18n::Language;
use klubkasse::kiosk::{Display, Kiosk};
use klubkasse::report;
use klubkasse::store::{Store, local_day, restore_backup};

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
            let (dir, _) = data_dir(&place)?;
            let store = Store::open_existing(&dir)?;
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
            let pin = klubkasse::pin::read_new_pin()?;
            println!("{}", klubkasse::pin::hash(&pin)?);
            Ok(())
        }
        Command::ImportChildren { file, place } => {
            let (dir, configured_ledger) = data_dir(&place)?;
            let summary =
                import::import_children_file(&file, &dir, configured_ledger, "import", Utc::now())?;
            println!("{summary}");
            Ok(())
        }
        Command::Restore { file, place } => {
            let (dir, _) = data_dir(&place)?;
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
                if !restored.dropped.is_empty() {
                    println!(
                        "{} entries made after the backup are not in the restored store \
                         (they stay in {}):",
                        restored.dropped.len(),
                        aside.display()
                    );
                }
                for entry in &restored.dropped {
                    println!(
                        "  {}  {}  {}",
                        entry
                            .at
                            .with_timezone(&chrono::Local)
                            .format("%Y-%m-%d %H:%M:%S"),
                        entry.amount,
                        entry.id
                    );
                }
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
    let _log = klubkasse::logging::init(&dir)?;
    let pcsc = matches!(reader, ReaderArg::Pcsc);
    Kiosk::demo(&dir, language, pcsc)?.run(Display::Terminal)?;
    Ok(())
}

fn run(config_path: &Path, headless: bool) -> Result<()> {
    let config = Config::load(config_path)?;
    let _log = klubkasse::logging::init(&config.data_dir)?;
    let display = if headless {
        Display::Headless
    } else {
        Display::Terminal
    };
    Kiosk::from_config(config)?.run(display)?;
    Ok(())
}

/// The data folder given, or the one the config names; and whether that
/// config connects the counter to a ledger.
fn data_dir(place: &StorePlace) -> Result<(PathBuf, bool)> {
    match (&place.data_dir, &place.config) {
        (Some(dir), _) => Ok((dir.clone(), false)),
        (None, Some(config)) => {
            let config = Config::load(config)?;
            Ok((config.data_dir, config.ledger.is_some()))
        }
        (None, None) => bail!("give --data-dir or --config"),
    }
}
