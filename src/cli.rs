//! The `klubkasse` command line: what each command takes, as `--help`
//! shows it. The binary parses it and calls the library for each command.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::ui::big_text::BigText;
use crate::ui::theme::ThemeName;

#[derive(Parser)]
#[command(
    name = "klubkasse",
    version,
    about = "The counter kiosk for children's clubs with prepaid cards"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        /// The screen's colours, as the config's `theme`.
        #[arg(long, value_enum, default_value = "dark")]
        theme: ThemeName,
        /// The glyphs of the big letters, as the config's `big_text`.
        #[arg(long, value_enum, default_value = "blocks")]
        big_text: BigText,
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
    /// Adds or updates children from a CSV file (all rows or none): what
    /// Excel saves, `;` or `,`, Windows-1252 or UTF-8, Danish or English
    /// column names.
    ImportChildren {
        file: PathBuf,
        /// Language of the messages: da, en or another of assets/i18n/
        /// (default: the config's, else da).
        #[arg(long)]
        language: Option<String>,
        #[command(flatten)]
        place: StorePlace,
    },
    /// Replaces the store with a backup file (the old store is kept aside).
    Restore {
        file: PathBuf,
        #[command(flatten)]
        place: StorePlace,
        /// Check the backup and list what the restore would drop; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ReaderArg {
    Demo,
    Pcsc,
}

/// Which store a tool works on: a data folder, or the one a config names.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct StorePlace {
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub config: Option<PathBuf>,
}
