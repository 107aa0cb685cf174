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
//! (Only the store's own handles can hold that lock: sled's lock keeps any
//! other store, here or in another process, from opening the same files.)

use std::fs::{File, TryLockError};
use std::path::Path;

use super::{CACHE_BYTES, StoreError};

/// No background flush: durability comes only from our explicit flushes,
/// so nothing is made durable behind the store's back after a failure.
/// (sled also cleans its log only from that flusher: see `compact`.)
pub fn sled_config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .cache_capacity(CACHE_BYTES)
        .flush_every_ms(None)
}

/// Waits, when dropped, until sled has let go of the files it watches: a
/// store's last field, so that it is dropped after every sled handle.
///
/// It holds its own handle on `store/db`, opened with the store, and takes
/// the lock through that handle: the same file even if the folder has been
/// renamed since (a restore sets the old store aside), so a dropped store
/// never waits for another store's lock.
#[derive(Debug)]
pub struct Released(Option<File>);

impl Released {
    /// Watches the files of the sled db in `dir`, which must be open.
    pub fn watch(dir: &Path) -> Released {
        let path = dir.join("db");
        match File::open(&path) {
            Ok(file) => Released(Some(file)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot watch the store's files; a reopen may find them in use");
                Released(None)
            }
        }
    }
}

impl Drop for Released {
    fn drop(&mut self) {
        let Some(file) = &self.0 else { return };
        // Same lock as sled's (flock, exclusive): granted once sled's handle
        // is closed. Then let go of it explicitly: a child process forked
        // meanwhile (another thread spawning a program) shares our handle
        // until it execs, and closing ours alone would leave it locked.
        if let Err(e) = file.lock().and_then(|()| file.unlock()) {
            tracing::warn!(error = %e, "could not wait for the store's files to close");
        }
    }
}

/// sled's lock on the store in `dir`, held for as long as this is kept, so
/// that no kiosk opens the store meanwhile (a restore moving it aside).
#[derive(Debug)]
pub struct Hold(File);

impl Hold {
    /// Takes the lock; `InUse` while a store has it open, `None` when
    /// there are no store files to lock.
    pub fn take(dir: &Path) -> Result<Option<Hold>, StoreError> {
        let path = dir.join("db");
        let Ok(file) = File::open(&path) else {
            return Ok(None);
        };
        match file.try_lock() {
            Ok(()) => Ok(Some(Hold(file))),
            Err(TryLockError::WouldBlock) => Err(StoreError::InUse {
                dir: dir.to_path_buf(),
            }),
            Err(TryLockError::Error(source)) => Err(StoreError::File { path, source }),
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        // Explicitly, for the reason `Released` gives.
        let _ = self.0.unlock();
    }
}

/// Drops `db`, the last handle on the sled db in `dir`, and waits until
/// its files are let go.
pub fn close(db: sled::Db, dir: &Path) {
    let released = Released::watch(dir);
    drop(db);
    drop(released);
}
