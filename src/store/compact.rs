//! Fresh files for a store whose files have grown.
//!
//! sled cleans its log only from its background flusher, which the store
//! keeps off (see `sled_config`), and writes a few KB of log per key
//! written, so its files grow with every write ever made, and each open
//! reads more: after a year of a million sales, moved to the archive day
//! by day, the files of a store holding one day made the kiosk start in
//! 0.7 s at 95 MB, against 16 ms for an empty store. So when a start finds
//! that days have left for the archive since the last compaction, or the
//! files at [`GROWTH`] × their size after it, it copies what is in them
//! into fresh files beside them and swaps the folders:
//!
//! 1. `store.compact` is written whole and flushed;
//! 2. `store` → `store.before-compaction`;
//! 3. `store.compact` → `store`;
//! 4. `store.before-compaction` is removed.
//!
//! [`finish_interrupted`] puts a crash at any step right at the next start.

use std::fs;
use std::path::{Path, PathBuf};

use super::{StoreError, files};

/// Compact when the files are this many times their compacted size, or
/// days have left for the archive since…
const GROWTH: u64 = 3;
/// …and they are at least this big: below it, a start is quick anyway.
pub const FLOOR_BYTES: u64 = 16 * 1024 * 1024;
/// In `meta`: the files' size right after the last compaction.
pub const SIZE_KEY: &str = "compacted_size";
/// In `meta`, set by `close_day`: days left sled since the last compaction,
/// so most of what the files hold is garbage.
pub const DAYS_LEFT_KEY: &str = "days_left_since_compaction";

fn compact_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("store.compact")
}

fn before_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("store.before-compaction")
}

/// Whether files of `size` bytes, `compacted` after the last compaction,
/// are due for a compaction; `days_left`: days went to the archive since.
pub fn due(size: u64, compacted: u64, days_left: bool, floor: u64) -> bool {
    size >= floor && (days_left || size >= compacted.saturating_mul(GROWTH))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::File { path, source }
}

/// Undoes or completes a compaction a crash cut short.
pub fn finish_interrupted(data_dir: &Path) -> Result<(), StoreError> {
    let (store, compact, before) = (
        data_dir.join("store"),
        compact_dir(data_dir),
        before_dir(data_dir),
    );
    if !store.exists() && before.exists() {
        // Between steps 2 and 3: the fresh copy is whole (step 1 ended
        // before step 2 began), so finish.
        if compact.exists() {
            fs::rename(&compact, &store).map_err(io_error(&compact))?;
        } else {
            fs::rename(&before, &store).map_err(io_error(&before))?;
        }
        sync_dir(data_dir).map_err(io_error(data_dir))?;
    }
    if compact.exists() {
        // Cut short in step 1: the old store is intact and still in use.
        fs::remove_dir_all(&compact).map_err(io_error(&compact))?;
    }
    if before.exists() {
        fs::remove_dir_all(&before).map_err(io_error(&before))?;
    }
    Ok(())
}

/// Step 1: copies every tree of `old` into a fresh db made by `fresh` in
/// `store.compact`, records its size there, flushes and closes it.
pub fn copy(
    data_dir: &Path,
    old: &sled::Db,
    fresh: impl Fn(&Path) -> sled::Config,
) -> Result<u64, StoreError> {
    let target = compact_dir(data_dir);
    if target.exists() {
        fs::remove_dir_all(&target).map_err(io_error(&target))?;
    }
    let new = fresh(&target).open()?;
    for name in old.tree_names() {
        let (from, to) = (old.open_tree(&name)?, new.open_tree(&name)?);
        let mut batch = sled::Batch::default();
        for item in from.iter() {
            let (key, value) = item?;
            batch.insert(key, value);
        }
        to.apply_batch(batch)?;
    }
    new.flush()?;
    let size = new.size_on_disk()?;
    let meta = new.open_tree("meta")?;
    meta.insert(SIZE_KEY, size.to_string().as_bytes())?;
    meta.remove(DAYS_LEFT_KEY)?;
    new.flush()?;
    drop(meta);
    files::close(new, &target);
    Ok(size)
}

/// Steps 2 to 4: swaps the fresh copy in. Every handle on the old store
/// must have been dropped and its files let go.
pub fn swap(data_dir: &Path) -> Result<(), StoreError> {
    let (store, target, before) = (
        data_dir.join("store"),
        compact_dir(data_dir),
        before_dir(data_dir),
    );
    fs::rename(&store, &before).map_err(io_error(&store))?;
    fs::rename(&target, &store).map_err(io_error(&target))?;
    sync_dir(data_dir).map_err(io_error(data_dir))?;
    fs::remove_dir_all(&before).map_err(io_error(&before))?;
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_only_when_grown_and_big() {
        assert!(!due(10 << 20, 0, false, FLOOR_BYTES));
        assert!(!due(10 << 20, 0, true, FLOOR_BYTES));
        assert!(due(20 << 20, 0, false, FLOOR_BYTES));
        assert!(!due(20 << 20, 8 << 20, false, FLOOR_BYTES));
        assert!(due(20 << 20, 8 << 20, true, FLOOR_BYTES));
        assert!(due(24 << 20, 8 << 20, false, FLOOR_BYTES));
    }
}
