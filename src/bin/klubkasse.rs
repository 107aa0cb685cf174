//! `klubkasse`: the counter kiosk and its tools. Argument parsing and wiring only.

use std::io::Write;
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
use klubkasse::store::{Store, local_day, plan_restore, restore_backup};
use klubkasse::ui::big_text::BigText;
use klubkasse::ui::theme::ThemeName;

/// Errors are printed as one plain message (file, line, what), never as a
/// backtrace: the people reading them run a club, not a debugger.
fn main() -> ExitCode {
    klubkasse::logging::plain_panics();
    match dispatch(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        // `klubkasse report | head -1`: the reader has all it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Not eprintln!, which panics where stderr is gone.
            let _ = writeln!(std::io::stderr(), "klubkasse: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes to stdout; unlike `print!`, a closed pipe is an error, not a panic.
fn out(text: impl std::fmt::Display) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{text}")?;
    stdout.flush()?;
    Ok(())
}

fn dispatch(command: Command) -> Result<()> {
    match command {
        Command::Demo {
            data_dir,
            language,
            reader,
            theme,
            big_text,
        } => demo(data_dir, &language, reader, theme, big_text),
        Command::Run { config, headless } => run(&config, headless),
        Command::Check { config } => out(check::check(&config)?),
        Command::Report { date, csv, place } => {
            let (dir, _) = data_dir(&place)?;
            let store = Store::open_existing(&dir)?;
            let date = date.unwrap_or_else(|| local_day(Utc::now()));
            let day = store.day_report(date)?;
            if csv {
                out(report::report_csv(&day, date, Language::DA))
            } else {
                out(report::report_text(&day, date, Language::DA))
            }
        }
        Command::Readers { reader_name } => Ok(readers::watch(reader_name, std::io::stdout())?),
        Command::PinHash => {
            let pin = klubkasse::pin::read_new_pin()?;
            out(format_args!("{}\n", klubkasse::pin::hash(&pin)?))
        }
        Command::ImportChildren {
            file,
            language,
            place,
        } => {
            let (dir, config) = data_dir(&place)?;
            let language = match language {
                Some(code) => parse_language(&code)?,
                None => config.as_ref().map_or(Language::DA, |c| c.language),
            };
            let configured_ledger = config.is_some_and(|c| c.ledger.is_some());
            match import::import_children_file(&file, &dir, configured_ledger, "import", Utc::now())
            {
                Ok(summary) => out(format_args!("{}\n", summary.message(language))),
                Err(e) => bail!("{}", e.message(language)),
            }
        }
        Command::Restore {
            file,
            place,
            dry_run,
        } => {
            let (dir, _) = data_dir(&place)?;
            if dry_run {
                let plan = plan_restore(&file, &dir)?;
                println!(
                    "{} is sound: {} children, {} entries. Nothing was changed.",
                    file.display(),
                    plan.backup.children.len(),
                    plan.backup.entries.len()
                );
                if !plan.dropped.is_empty() {
                    println!(
                        "A restore would leave out {} entries made after the backup \
                         (they would stay in the store set aside):",
                        plan.dropped.len()
                    );
                }
                print_entries(&plan.dropped);
                return Ok(());
            }
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
                print_entries(&restored.dropped);
            }
            Ok(())
        }
    }
}

/// Entries for a person reading a restore's output: time, amount, id.
fn print_entries(entries: &[klubkasse_core::domain::Entry]) {
    for entry in entries {
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

fn parse_language(code: &str) -> Result<Language> {
    match Language::parse(code) {
        Some(language) => Ok(language),
        None => bail!(
            "--language {code}: choose {}",
            klubkasse_core::i18n::codes()
        ),
    }
}

fn demo(
    data_dir: Option<PathBuf>,
    language: &str,
    reader: ReaderArg,
    theme: ThemeName,
    big_text: BigText,
) -> Result<()> {
    let language = parse_language(language)?;
    let dir = data_dir.unwrap_or_else(|| default_data_dir().join("demo"));
    let _log = log_to(&dir);
    let pcsc = matches!(reader, ReaderArg::Pcsc);
    let mut kiosk = Kiosk::demo(&dir, language, pcsc)?;
    kiosk.settings.theme = theme;
    kiosk.settings.big_text = big_text;
    kiosk.run(Display::Terminal)?;
    Ok(())
}

/// The log in `data_dir`; where it cannot be written, the kiosk runs
/// without one, and says so on stderr (seen before the kiosk's screen
/// opens and after it closes).
fn log_to(data_dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    match klubkasse::logging::init(data_dir) {
        Ok(guard) => Some(guard),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "klubkasse: {e}; the kiosk runs without a log"
            );
            None
        }
    }
}

fn run(config_path: &Path, headless: bool) -> Result<()> {
    let config = Config::load(config_path)?;
    let _log = log_to(&config.data_dir);
    let display = if headless {
        Display::Headless
    } else {
        Display::Terminal
    };
    Kiosk::from_config(config)?.run(display)?;
    Ok(())
}

/// The data folder given, or the one the config names; and that config.
fn data_dir(place: &StorePlace) -> Result<(PathBuf, Option<Config>)> {
    match (&place.data_dir, &place.config) {
        (Some(dir), _) => Ok((dir.clone(), None)),
        (None, Some(config)) => {
            let config = Config::load(config)?;
            Ok((config.data_dir.clone(), Some(config)))
        }
        (None, None) => bail!("give --data-dir or --config"),
    }
}
