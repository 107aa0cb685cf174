//! sled's files: how they are opened, and how a dropped store lets go of
//! them before anyone opens them again.
//!
//! sled takes an exclusive `flock` on `store/db` and it is released when
//! that file is closed, which is when the last holder of sled's file handle
//! lets go of it. Dropping the last `Db` and `Tree` is not that moment:
//! sled writes sealed log buffers and truncates segments on its own I/O
//! threads (`threadpool::spawn` in its `iobuf.rs`, `logger.rs`,
//! `segment.rs`), and each job holds the handle until it returns, a
//! moment after the drop has returned. On a busy machine that moment was
//! long enough for a reopen in the same process to be refused as "in use"
//! (sled's own tests block on the lock for this reason).
//!
//! So a [`Released`] guard, dropped after every sled handle of a store,
//! takes the same lock itself: it blocks until sled's handle is closed,
//! then lets go at once. Closing is then over when the drop returns.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::CACHE_BYTES;

/// No background flush: durability comes only from our explicit flushes,
/// so nothing is made durable behind the store's back after a failure.
/// (sled also cleans its log only from that flusher: see `compact`.)
pub fn sled_config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .cache_capacity(CACHE_BYTES)
        .flush_every_ms(None)
}

/// Blocks until no one holds sled's lock on the files in `dir`: after the
/// last handle on them was dropped, until sled's threads have closed them.
///
/// Only for a store this process has just dropped: a store another
/// process has open would be waited for until that process lets go.
pub fn wait_until_released(dir: &Path) {
    let path = dir.join("db");
    let file = match File::open(&path) {
        Ok(file) => file,
        // Never created, or moved away (compaction swaps folders): nothing
        // of ours can hold it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not wait for the store's files to close");
            return;
        }
    };
    // Same lock as sled's (flock, exclusive): granted once sled's file is
    // closed; released when `file` is closed at the end of this function.
    if let Err(e) = file.lock() {
        tracing::warn!(path = %path.display(), error = %e, "could not wait for the store's files to close");
    }
}

/// Drops `db`, its last handle, and waits until its files are let go.
pub fn close(db: sled::Db, dir: &Path) {
    drop(db);
    wait_until_released(dir);
}

/// Waits, when dropped, until the files in its folder are let go. A
/// store's last field, so that it is dropped after every sled handle.
#[derive(Debug)]
pub struct Released(pub PathBuf);

impl Drop for Released {
    fn drop(&mut self) {
        wait_until_released(&self.0);
    }
}
