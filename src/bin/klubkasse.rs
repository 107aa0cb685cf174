//! `klubkasse`: the counter kiosk and its tools. Argument parsing and wiring only.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    },
    /// The kiosk as configured.
    Run {
        #[arg(long)]
        config: PathBuf,
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
        date: Option<chrono::NaiveDate>,
        /// CSV instead of a table.
        #[arg(long)]
        csv: bool,
        #[command(flatten)]
        place: StorePlace,
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

/// Which store a tool works on: a data folder, or the one a config names.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct StorePlace {
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    config: Option<PathBuf>,
}

fn main() -> Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
