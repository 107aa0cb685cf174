//! Opening a store: creating it on a true first start only, refusing one that
//! cannot be read, moving an older format on, and fresh files when due.

use super::{
    Archive, NaiveDate, Path, SCHEMA_VERSION, Store, StoreError, Utc, compact, files, id_day,
    local_day, newest_backup,
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
        Store::open_dir(data_dir, fresh)
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

    pub(super) fn open_dir(data_dir: &Path, fresh: bool) -> Result<Store, StoreError> {
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
