//! The day's facts outside sled: an append-only, fsynced file per local
//! day, `DATA_DIR/journal/YYYY-MM-DD.jsonl`, from which a store that sled
//! can no longer read is rebuilt (with the newest backup).
//!
//! Why: sled can be left unreadable for good by a write that fails on a
//! full disk followed by a stop (`tests/disk_full.rs` shows it, with no
//! guard in front of sled). The free-space guard makes that rare; this
//! makes it harmless.
//!
//! Every entry (sale, top-up, refund), child and card the store writes is
//! also written here, after sled has flushed it and before the caller
//! hears "saved". The file grows in preallocated steps and each line is
//! written into room already allocated, room made *before* sled is
//! written: so a full disk refuses a sale before anything is written, and
//! never between sled and the journal. The unused tail is zeros; a line
//! cut short by a stop is the last one, and is skipped on reading.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StoreError;
use klubkasse_core::domain::{Card, CardUid, Child, ChildId, Entry};

/// The room a day's file grows by.
const STEP: u64 = 256 * 1024;
/// How many days' files are kept (as many as backups, and more).
const KEEP_DAYS: usize = 15;

/// One fact, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// `outbox`: it waits for the ledger (connected mode).
    Entry {
        entry: Entry,
        outbox: bool,
    },
    Child {
        child: Child,
    },
    Card {
        card: Card,
    },
}

/// The open day file: where the next line goes, and how far it is
/// allocated.
#[derive(Debug)]
struct DayFile {
    day: NaiveDate,
    file: File,
    end: u64,
    allocated: u64,
}

#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    open: std::sync::Mutex<Option<DayFile>>,
}

/// A line made ready by [`Journal::make_room`], to be written once sled
/// has the same facts.
#[must_use]
pub struct Ready(Vec<u8>);

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::File {
        path: path.to_path_buf(),
        source,
    }
}

impl Journal {
    pub fn in_data_dir(data_dir: &Path) -> Journal {
        Journal {
            dir: data_dir.join("journal"),
            open: std::sync::Mutex::new(None),
        }
    }

    fn path(&self, day: NaiveDate) -> PathBuf {
        self.dir.join(format!("{day}.jsonl"))
    }

    /// Makes room in the day's file for `lines`: the one step that can
    /// fail for want of space, taken before sled is written.
    pub fn make_room(&self, day: NaiveDate, lines: &[Line]) -> Result<Ready, StoreError> {
        let mut bytes = Vec::new();
        for line in lines {
            serde_json::to_writer(&mut bytes, line).map_err(|e| StoreError::Corrupt {
                what: "journal line".into(),
                detail: e.to_string(),
            })?;
            bytes.push(b'\n');
        }
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.as_ref().is_none_or(|f| f.day != day) {
            *open = Some(self.open_day(day)?);
        }
        let Some(file) = open.as_mut() else {
            unreachable!("opened above")
        };
        let need = file.end + bytes.len() as u64;
        if need > file.allocated {
            let to = need.div_ceil(STEP) * STEP;
            fs2::FileExt::allocate(&file.file, to)
                .and_then(|()| file.file.sync_all())
                .map_err(|e| {
                    if e.raw_os_error() == Some(28) {
                        StoreError::DiskFull {
                            free: 0,
                            need: to - file.allocated,
                        }
                    } else {
                        io(&self.path(day))(e)
                    }
                })?;
            file.allocated = to;
        }
        Ok(Ready(bytes))
    }

    /// Writes what [`Journal::make_room`] made room for, durably.
    pub fn write(&self, day: NaiveDate, ready: Ready) -> Result<(), StoreError> {
        let path = self.path(day);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let file = open
            .as_mut()
            .filter(|f| f.day == day && f.end + ready.0.len() as u64 <= f.allocated)
            .ok_or_else(|| StoreError::Corrupt {
                what: "journal".into(),
                detail: "a line was written without room made for it".into(),
            })?;
        file.file
            .write_all_at(&ready.0, file.end)
            .and_then(|()| file.file.sync_data())
            .map_err(io(&path))?;
        file.end += ready.0.len() as u64;
        Ok(())
    }

    /// Opens (or makes) a day's file, after the last whole line; and
    /// forgets days older than [`KEEP_DAYS`] files back.
    fn open_day(&self, day: NaiveDate) -> Result<DayFile, StoreError> {
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let path = self.path(day);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        let bytes = fs::read(&path).map_err(io(&path))?;
        let end = whole_lines(&bytes).len() as u64;
        // A line cut short is zeroed, so that the next one starts clean.
        let used = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len()) as u64;
        if used > end {
            file.write_all_at(&vec![0; (used - end) as usize], end)
                .map_err(io(&path))?;
        }
        // A new file's name must be durable before a line in it counts.
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        let days = self.days()?;
        for old in days.iter().take(days.len().saturating_sub(KEEP_DAYS)) {
            let _ = fs::remove_file(self.path(*old));
        }
        Ok(DayFile {
            day,
            file,
            end,
            allocated: bytes.len() as u64,
        })
    }

    /// The days with a file, oldest first.
    pub fn days(&self) -> Result<Vec<NaiveDate>, StoreError> {
        let read = match fs::read_dir(&self.dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        let mut days: Vec<NaiveDate> = read
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".jsonl")?
                    .parse()
                    .ok()
            })
            .collect();
        days.sort();
        Ok(days)
    }

    /// Every line of every day kept, oldest first.
    pub fn read_all(&self) -> Result<Vec<Line>, StoreError> {
        let mut lines = Vec::new();
        for day in self.days()? {
            let path = self.path(day);
            let bytes = fs::read(&path).map_err(io(&path))?;
            lines.extend(parse(whole_lines(&bytes)));
        }
        Ok(lines)
    }
}

/// The bytes up to the end of the last whole line.
fn whole_lines(bytes: &[u8]) -> &[u8] {
    let used = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    let end = bytes[..used]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |n| n + 1);
    &bytes[..end]
}

/// Lines that do not parse are skipped: only a stop mid-write makes them,
/// and what they held was never reported saved.
fn parse(bytes: &[u8]) -> impl Iterator<Item = Line> + '_ {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
}

/// The facts of the journal on top of those of a backup: the newest word
/// on a child or card wins, entries by id.
pub fn merge_into(backup: &mut super::Backup, lines: Vec<Line>) {
    let mut children: BTreeMap<ChildId, Child> = std::mem::take(&mut backup.children)
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut cards: BTreeMap<CardUid, Card> = std::mem::take(&mut backup.cards)
        .into_iter()
        .map(|c| (c.uid.clone(), c))
        .collect();
    let mut entries: BTreeMap<Uuid, Entry> = std::mem::take(&mut backup.entries)
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    for line in lines {
        match line {
            Line::Child { child } => {
                children.insert(child.id, child);
            }
            Line::Card { card } => {
                cards.insert(card.uid.clone(), card);
            }
            Line::Entry { entry, outbox } => {
                if outbox && !entries.contains_key(&entry.id) {
                    backup.outbox.push(entry.id);
                }
                entries.insert(entry.id, entry);
            }
        }
    }
    backup.children = children.into_values().collect();
    backup.cards = cards.into_values().collect();
    backup.entries = entries.into_values().collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use klubkasse_core::domain::{EntryKind, Money};

    fn entry(child: ChildId) -> Entry {
        Entry::new(
            child,
            EntryKind::Deposit,
            Money::kroner(5),
            "test",
            chrono::Utc::now(),
        )
    }

    #[test]
    fn lines_written_are_read_back_and_a_cut_line_is_skipped() {
        let dir = tempfile::TempDir::new().unwrap();
        let journal = Journal::in_data_dir(dir.path());
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let child = ChildId::new();
        let lines: Vec<Line> = (0..3)
            .map(|_| Line::Entry {
                entry: entry(child),
                outbox: false,
            })
            .collect();
        for line in &lines {
            let ready = journal.make_room(day, std::slice::from_ref(line)).unwrap();
            journal.write(day, ready).unwrap();
        }
        assert_eq!(journal.read_all().unwrap(), lines);
        // The room is allocated ahead, in steps.
        let path = journal.path(day);
        assert_eq!(fs::metadata(&path).unwrap().len(), STEP);
        // A stop mid-line: the cut line is skipped, and after a reopen the
        // next line starts clean where the whole ones end.
        let text = fs::read(&path).unwrap();
        let end = whole_lines(&text).len();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .write_all_at(b"{\"kind\":\"entry\",\"ent", end as u64)
            .unwrap();
        assert_eq!(journal.read_all().unwrap(), lines);
        let again = Journal::in_data_dir(dir.path());
        let last = Line::Entry {
            entry: entry(child),
            outbox: true,
        };
        let ready = again.make_room(day, std::slice::from_ref(&last)).unwrap();
        again.write(day, ready).unwrap();
        let mut all = lines.clone();
        all.push(last);
        assert_eq!(again.read_all().unwrap(), all);
    }

    #[test]
    fn the_journal_s_word_is_the_newest() {
        let child = Child {
            id: ChildId::new(),
            name: "Før".into(),
            daily_limit: None,
            blocked_categories: vec![],
            note: None,
        };
        let old = entry(child.id);
        let mut backup = super::super::Backup {
            children: vec![child.clone()],
            entries: vec![old.clone()],
            ..super::super::Backup::empty()
        };
        let renamed = Child {
            name: "Efter".into(),
            ..child
        };
        let new = entry(renamed.id);
        merge_into(
            &mut backup,
            vec![
                Line::Child {
                    child: renamed.clone(),
                },
                Line::Entry {
                    entry: old.clone(),
                    outbox: false,
                },
                Line::Entry {
                    entry: new.clone(),
                    outbox: true,
                },
            ],
        );
        assert_eq!(backup.children, vec![renamed]);
        assert_eq!(backup.entries.len(), 2);
        assert_eq!(backup.outbox, vec![new.id]);
    }
}
