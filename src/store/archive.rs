//! Closed days, out of sled: one JSON-lines file per day under
//! `DATA_DIR/archive/YYYY/YYYY-MM-DD.jsonl`, entries in id (time) order.
//!
//! Why: sled keeps metadata for every page in memory and reads it all at
//! open, so a store that held every sale ever made would open slower and
//! use more memory each day (86 MB and 25× an empty store's open time at a
//! million sales). The counter sells from today's state; a closed day is
//! only read again for a report. So each day, once closed, moves here and
//! the store stays the size of a day.
//!
//! A day file is written whole next to its name, synced, renamed and the
//! folder synced, before its entries leave sled: a crash leaves an entry in
//! both places, never in neither, and every read merges the two by id.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use uuid::Uuid;

use super::StoreError;
use super::codec::{decode, encode};
use klubkasse_core::domain::Entry;

#[derive(Debug, Clone)]
pub struct Archive {
    dir: PathBuf,
}

impl Archive {
    pub fn in_data_dir(data_dir: &Path) -> Archive {
        Archive {
            dir: data_dir.join("archive"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, day: NaiveDate) -> PathBuf {
        self.dir
            .join(day.format("%Y").to_string())
            .join(format!("{day}.jsonl"))
    }

    pub fn has(&self, day: NaiveDate) -> bool {
        self.path(day).exists()
    }

    /// The day's archived entries, oldest first; none if it has no file.
    pub fn read_day(&self, day: NaiveDate) -> Result<Vec<Entry>, StoreError> {
        let path = self.path(day);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StoreError::File { path, source }),
        };
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.is_empty())
            .map(|(n, line)| {
                decode(
                    line.as_bytes(),
                    &format!("entry in {}, line {}", path.display(), n + 1),
                )
            })
            .collect()
    }

    /// One archived entry, looked up in the day its id was made on.
    pub fn find(&self, day: NaiveDate, id: Uuid) -> Result<Option<Entry>, StoreError> {
        Ok(self.read_day(day)?.into_iter().find(|e| e.id == id))
    }

    /// Every day with a file, oldest first.
    pub fn days(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let mut days = Vec::new();
        for year in read_dir_sorted(&self.dir)? {
            for file in read_dir_sorted(&year)? {
                let day = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".jsonl"))
                    .and_then(|n| n.parse::<NaiveDate>().ok());
                days.extend(day);
            }
        }
        Ok(days)
    }

    /// Adds `entries` to the day's file (merged with what it holds, by id),
    /// durably: when this returns, the file is on disk under its name.
    pub fn add_to_day(&self, day: NaiveDate, entries: &[Entry]) -> Result<(), StoreError> {
        let mut all: BTreeMap<Uuid, Entry> =
            self.read_day(day)?.into_iter().map(|e| (e.id, e)).collect();
        all.extend(entries.iter().map(|e| (e.id, e.clone())));
        let mut text = Vec::with_capacity(all.len() * 320);
        for entry in all.values() {
            text.extend_from_slice(&encode(entry));
            text.push(b'\n');
        }
        let path = self.path(day);
        write_durably(&path, &text).map_err(|source| StoreError::File { path, source })
    }
}

/// Entries of the folder, sorted by name; a missing folder has none.
fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StoreError::File {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut paths: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

/// Temp file, sync, rename, sync the folder: after a crash the file is
/// whole under its name or absent, never half written.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(folder)?;
    let tmp = path.with_extension("jsonl.tmp");
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    fs::File::open(folder)?.sync_all()?;
    // The year's folder may be new: its name must be durable too.
    match folder.parent() {
        Some(up) => fs::File::open(up)?.sync_all(),
        None => Ok(()),
    }
}
