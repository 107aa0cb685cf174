//! `klubkasse check`: the config, menu and keymap checked, and the store's
//! balances against their entries, without starting the kiosk.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{Config, ReaderKind};
use crate::source_error::FileErrors;
use crate::store::{Store, StoreError};
use crate::ui::big_text::BigText;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    /// Every mistake in the config, menu and keymap.
    Files(#[from] FileErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0} children's balances differ from the sum of their entries")]
    Balances(usize),
}

/// What a good config sets up, for the person checking it.
#[derive(Debug)]
pub struct CheckReport {
    path: PathBuf,
    config: Config,
    /// The number of children, or `None` before the first start.
    children: Option<usize>,
}

/// Loads the config at `path` and reads its store, if there is one yet.
pub fn check(path: &Path) -> Result<CheckReport, CheckError> {
    let config = Config::load(path)?;
    let children = match Store::open_existing(&config.data_dir) {
        Ok(store) => {
            let wrong = store.balance_mismatches()?;
            if !wrong.is_empty() {
                return Err(CheckError::Balances(wrong.len()));
            }
            Some(store.children()?.len())
        }
        Err(StoreError::Missing { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(CheckReport {
        path: path.to_path_buf(),
        config,
        children,
    })
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.config;
        writeln!(f, "{}: OK", self.path.display())?;
        writeln!(f, "  counter: {}", config.counter)?;
        writeln!(f, "  menu: {} items", config.menu.items.len())?;
        let reader: &ReaderKind = &config.reader;
        writeln!(f, "  reader: {reader:?}")?;
        let pin = match config.staff_pin_hash {
            Some(_) => "set",
            None => "NOT set (staff menu closed)",
        };
        writeln!(f, "  staff PIN: {pin}")?;
        writeln!(f, "  data: {}", config.data_dir.display())?;
        match &config.ledger {
            Some(ledger) => writeln!(
                f,
                "  ledger: {} (token from {}), offline allowance {}",
                ledger.url,
                ledger.token_file.display(),
                config.offline_allowance
            )?,
            None => writeln!(f, "  ledger: none (standalone)")?,
        }
        match self.children {
            Some(n) => writeln!(f, "  store: {n} children, balances match their entries")?,
            None => writeln!(f, "  store: not created yet (made at first start)")?,
        }
        writeln!(f, "  theme: {}", config.theme.name())?;
        write_big_text(f, config.big_text)
    }
}

/// Each `big_text` choice with the glyphs it needs, drawn here: one that
/// shows as a box or a question mark in this terminal is missing from its
/// font.
fn write_big_text(f: &mut fmt::Formatter<'_>, chosen: BigText) -> fmt::Result {
    writeln!(
        f,
        "  big letters (big_text): {} (▸ below); each choice and the glyphs it needs:",
        chosen.name()
    )?;
    for choice in BigText::ALL {
        let fonts = match choice {
            BigText::Plain => "no block glyphs: ordinary bold letters, every font",
            BigText::Blocks => "desktop terminal fonts; not Debian's Linux console fonts",
            BigText::Quadrants => "most desktop fonts (DejaVu Sans Mono)",
            BigText::Sextants => "newer fonts only (Unicode 13: GNU Unifont, Cascadia Code)",
        };
        let mark = if choice == chosen { "▸" } else { " " };
        writeln!(f, "  {mark} {:<10} {fonts}", choice.name())?;
        // 20 a row: the sextants' 60 would wrap at 80 columns.
        for row in choice.glyphs().chunks(20) {
            let glyphs: Vec<String> = row.iter().map(char::to_string).collect();
            writeln!(f, "      {}", glyphs.join(" "))?;
        }
    }
    writeln!(
        f,
        "    A glyph above that shows as a box or «?» is missing from this terminal's font:\n    \
         choose a line where none does. On the Linux console: big_text = \"plain\", theme = \"dark\"."
    )
}
