//! Opening a store: creating it on a true first start only, refusing one that
//! cannot be read, moving an older format on, and fresh files when due.

use super::{
    Archive, NaiveDate, Path, SCHEMA_VERSION, Store, StoreError, Utc, backup, compact, disk, files,
    id_day, journal, local_day, newest_backup,
};

impl Store {
    /// Opens the store under `data_dir`, creating it only on a true first
    /// start. A missing store with backups beside it, or a store that cannot
    /// be read, is an error: never a silent fresh start.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        compact::finish_interrupted(data_dir)?;
        let dir = data_dir.join("store");
        if !dir.exists()
            && let Some(newest) = newest_backup(data_dir)
        {
            return Err(StoreError::MissingWithBackups {
                dir,
                data_dir: data_dir.to_path_buf(),
                newest,
            });
        }
        let fresh = !dir.exists();
        match Store::open_dir(data_dir, fresh) {
            Err(StoreError::Unreadable { detail, .. })
                if !fresh && !journal::Journal::in_data_dir(data_dir).days()?.is_empty() =>
            {
                Store::rebuild(data_dir, &detail)
            }
            other => other,
        }
    }

    /// sled's files cannot be read: a new store from the newest backup and
    /// the journal, which has every fact written since. The old files are
    /// set aside as they are, for whoever wants to look at them.
    fn rebuild(data_dir: &Path, why: &str) -> Result<Store, StoreError> {
        let dir = data_dir.join("store");
        let cannot = |detail: String| StoreError::Unreadable {
            dir: dir.clone(),
            detail: format!("{why}; and it cannot be rebuilt: {detail}"),
            hint: String::new(),
        };
        let mut facts = match newest_backup(data_dir) {
            Some(path) => backup::read_backup(&path).map_err(|e| cannot(e.to_string()))?,
            None => backup::Backup::empty(),
        };
        journal::merge_into(
            &mut facts,
            journal::Journal::in_data_dir(data_dir).read_all()?,
        );
        let problems = backup::check(&facts);
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(cannot(list.join("; ")));
        }
        let aside = backup::aside_name(data_dir, "damaged", Utc::now());
        std::fs::rename(&dir, &aside).map_err(|source| StoreError::File {
            path: aside.clone(),
            source,
        })?;
        let store = Store::create(data_dir)?;
        store.import(&facts)?;
        tracing::warn!(
            damaged = %aside.display(), why,
            children = facts.children.len(), entries = facts.entries.len(),
            "the store could not be read and was rebuilt from the newest backup and the journal"
        );
        Ok(store)
    }

    /// Opens a store that must already exist: for the tools (report,
    /// import, check), which have no business creating one.
    pub fn open_existing(data_dir: &Path) -> Result<Store, StoreError> {
        compact::finish_interrupted(data_dir)?;
        let dir = data_dir.join("store");
        if !dir.exists() {
            return match newest_backup(data_dir) {
                Some(newest) => Err(StoreError::MissingWithBackups {
                    dir,
                    data_dir: data_dir.to_path_buf(),
                    newest,
                }),
                None => Err(StoreError::Missing { dir }),
            };
        }
        Store::open(data_dir)
    }

    /// Makes a new, empty store; refuses if one is there already.
    pub fn create(data_dir: &Path) -> Result<Store, StoreError> {
        let dir = data_dir.join("store");
        if dir.exists() {
            return Err(StoreError::Unreadable {
                dir,
                detail: "a store is already there".into(),
                hint: String::new(),
            });
        }
        Store::open_dir(data_dir, true)
    }

    /// Opens the files; a failure is put down to its cause (see
    /// [`diagnose`]): only real damage is told to restore.
    pub(super) fn open_dir(data_dir: &Path, fresh: bool) -> Result<Store, StoreError> {
        let dir = data_dir.join("store");
        room_to_open(data_dir, &dir)?;
        Store::open_files(data_dir, fresh).map_err(|e| diagnose(&dir, e))
    }

    fn open_files(data_dir: &Path, fresh: bool) -> Result<Store, StoreError> {
        let dir = data_dir.join("store");
        let hint = match newest_backup(data_dir) {
            Some(b) => format!(" (newest: {})", b.display()),
            None => String::new(),
        };
        let unreadable = |detail: String| StoreError::Unreadable {
            dir: dir.clone(),
            detail,
            hint: hint.clone(),
        };
        if !fresh && !dir.join("conf").exists() {
            return Err(unreadable("its files are missing".into()));
        }
        let config = files::sled_config(&dir);
        // sled has been seen to panic on damaged files rather than say so.
        let db = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| config.open()))
            .map_err(|_| unreadable("the storage engine failed on its files".into()))?
            .map_err(|e| match e {
                // sled takes an exclusive file lock and says so only in words.
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::InUse { dir: dir.clone() }
                }
                other => unreadable(other.to_string()),
            })?;
        let open = |name: &str| db.open_tree(name).map_err(|e| unreadable(e.to_string()));
        let archive = Archive::in_data_dir(data_dir);
        let store = Store {
            meta: open("meta")?,
            children: open("children")?,
            cards: open("cards")?,
            balances: open("balances")?,
            refunds: open("refunds")?,
            outbox: open("outbox")?,
            pending: open("pending")?,
            card_outbox: open("card_outbox")?,
            menu_changes: open("menu_changes")?,
            reserve: None,
            journal: journal::Journal::in_data_dir(data_dir),
            db,
            _released: files::Released::watch(&dir),
            dir: dir.clone(),
            lock: std::sync::Mutex::new(archive.days()?.into_iter().collect()),
            archive,
            failed: std::sync::atomic::AtomicBool::new(false),
        };
        match store
            .meta
            .get("schema_version")
            .map_err(|e| unreadable(e.to_string()))?
        {
            Some(v) if v.as_ref() == SCHEMA_VERSION.to_string().as_bytes() => {}
            Some(v) if v.as_ref() == b"1" => store.move_to_day_trees()?,
            Some(v) if v.as_ref() == b"2" => {
                store
                    .meta
                    .insert("schema_version", SCHEMA_VERSION.to_string().as_bytes())?;
                store.db.flush()?;
            }
            Some(v) => {
                return Err(StoreError::WrongVersion {
                    dir,
                    found: String::from_utf8_lossy(&v).into_owned(),
                });
            }
            None if fresh => {
                store
                    .meta
                    .insert("schema_version", SCHEMA_VERSION.to_string().as_bytes())?;
                store.db.flush()?;
                tracing::info!(dir = %store.dir.display(), "created a new store");
            }
            None => return Err(unreadable("it has no format version".into())),
        }
        store.finish_sale_journal()?;
        let size = store.db.size_on_disk()?;
        let compacted = store
            .meta
            .get(compact::SIZE_KEY)?
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok())
            .unwrap_or(0);
        let days_left = store.meta.contains_key(compact::DAYS_LEFT_KEY)?;
        if compact::due(size, compacted, days_left, compact::FLOOR_BYTES) {
            store.compact()?;
            return Store::open_dir(data_dir, false);
        }
        Ok(store)
    }

    /// Copies the store into fresh files and swaps them in (see
    /// [`compact`]); the store must be opened again afterwards.
    pub(super) fn compact(self) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let before = self.db.size_on_disk()?;
        let data_dir = self.dir.parent().unwrap_or(Path::new(".")).to_path_buf();
        let after = compact::copy(&data_dir, &self.db, files::sled_config)?;
        // The old files must be let go before the folders are swapped.
        drop(self);
        compact::swap(&data_dir)?;
        tracing::info!(
            before,
            after,
            ms = started.elapsed().as_millis() as u64,
            "gave the store fresh files"
        );
        Ok(())
    }

    /// Version 1 kept every entry in one `entries` tree and all spending
    /// in one `spent` tree: move them into their days' trees, a day at a
    /// time, then mark the store version 2.
    /// A crash part way leaves version 1 and entries in both, and the
    /// next open moves the rest (inserting an entry twice is harmless).
    pub(super) fn move_to_day_trees(&self) -> Result<(), StoreError> {
        let old = self.db.open_tree("entries")?;
        let mut day: Option<(NaiveDate, sled::Batch)> = None;
        for item in old.iter() {
            let (key, value) = item?;
            let this_day = id_day(&key);
            if day.as_ref().is_none_or(|(d, _)| *d != this_day)
                && let Some((d, batch)) = day.replace((this_day, sled::Batch::default()))
            {
                self.day_tree(d)?.apply_batch(batch)?;
            }
            if let Some((_, batch)) = day.as_mut() {
                batch.insert(key, value);
            }
        }
        if let Some((d, batch)) = day {
            self.day_tree(d)?.apply_batch(batch)?;
        }
        // Spending was keyed child id + `YYYY-MM-DD`; only today's is kept.
        let old_spent = self.db.open_tree("spent")?;
        let today = local_day(Utc::now());
        for item in old_spent.iter() {
            let (key, value) = item?;
            let day = key
                .get(16..)
                .and_then(|d| std::str::from_utf8(d).ok()?.parse::<NaiveDate>().ok());
            if let (Some(day), Some(child)) = (day, key.get(..16))
                && day >= today
            {
                self.spent_tree(day)?.insert(child, value)?;
            }
        }
        self.flush()?;
        self.meta
            .insert("schema_version", SCHEMA_VERSION.to_string().as_bytes())?;
        self.db.drop_tree("entries")?;
        self.db.drop_tree("spent")?;
        self.flush()?;
        tracing::info!(dir = %self.dir.display(), "moved the store's entries into one tree per day");
        Ok(())
    }
}

/// Below this much free space a store that fails to open is put down to
/// the full disk: sled needs room to open (a segment, its config).
const ROOM_TO_OPEN: u64 = 4 * 1024 * 1024;

/// sled writes as it opens (its recovery, a segment): a write that fails
/// there, on a full disk, was seen to leave the files unreadable for good.
/// So below that much room sled is not touched; the reserve file, which
/// is there for this, is let go first.
fn room_to_open(data_dir: &Path, dir: &Path) -> Result<(), StoreError> {
    let ask = || fs2::available_space(data_dir).ok();
    let Some(mut free) = ask() else {
        return Ok(());
    };
    let reserve = data_dir.join(disk::RESERVE_FILE);
    if free < ROOM_TO_OPEN && reserve.exists() {
        match std::fs::remove_file(&reserve) {
            Ok(()) => tracing::warn!("the disk is full: let the reserve file go to open the store"),
            Err(e) => tracing::error!(error = %e, "could not let the reserve file go"),
        }
        free = ask().unwrap_or(free);
    }
    if free < ROOM_TO_OPEN {
        return Err(StoreError::NoSpace {
            dir: dir.to_path_buf(),
            free,
            need: ROOM_TO_OPEN - free,
        });
    }
    Ok(())
}

/// What an open that failed is put down to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cause {
    NoAccess,
    NoSpace {
        free: u64,
    },
    /// Neither: the files themselves (or the error as it was).
    AsItSays,
}

/// The cause from what was seen: a write refused, and free space (when
/// it could be asked). A permission problem comes first: freeing space
/// would not help.
pub(super) fn cause(denied: bool, free: Option<u64>) -> Cause {
    match (denied, free) {
        (true, _) => Cause::NoAccess,
        (false, Some(free)) if free < ROOM_TO_OPEN => Cause::NoSpace { free },
        _ => Cause::AsItSays,
    }
}

/// Looks at the folder, without writing to it: may this user write its
/// files, and how full is its disk? sled, out of room or refused, tends
/// to say "corrupted", and "restore a backup" would throw a healthy day away.
fn diagnose(dir: &Path, error: StoreError) -> StoreError {
    use std::os::unix::fs::MetadataExt;
    if matches!(
        error,
        StoreError::InUse { .. }
            | StoreError::WrongVersion { .. }
            | StoreError::Missing { .. }
            | StoreError::MissingWithBackups { .. }
    ) {
        return error;
    }
    let existing = if dir.exists() {
        dir
    } else {
        dir.parent().unwrap_or(dir)
    };
    // Opening for writing, without creating or truncating, changes nothing.
    let denied = [existing.join("db"), existing.join("conf")]
        .iter()
        .filter(|f| f.exists())
        .any(|f| {
            std::fs::OpenOptions::new()
                .append(true)
                .open(f)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
        })
        || std::fs::metadata(existing).is_ok_and(|m| m.permissions().readonly());
    match cause(denied, fs2::available_space(existing).ok()) {
        Cause::NoAccess => StoreError::NoAccess {
            dir: dir.to_path_buf(),
            owner: std::fs::metadata(existing).map_or(0, |m| m.uid()),
        },
        Cause::NoSpace { free } => StoreError::NoSpace {
            dir: dir.to_path_buf(),
            free,
            need: ROOM_TO_OPEN - free,
        },
        Cause::AsItSays => error,
    }
}

#[cfg(test)]
mod cause_tests {
    use super::*;

    #[test]
    fn a_refused_write_is_the_owner_s_business_even_on_a_full_disk() {
        assert_eq!(cause(true, Some(0)), Cause::NoAccess);
        assert_eq!(cause(true, None), Cause::NoAccess);
    }

    #[test]
    fn a_full_disk_is_room_to_make_not_damage() {
        assert_eq!(cause(false, Some(1000)), Cause::NoSpace { free: 1000 });
        assert_eq!(cause(false, Some(ROOM_TO_OPEN)), Cause::AsItSays);
        assert_eq!(cause(false, None), Cause::AsItSays);
    }
}
