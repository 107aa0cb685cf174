//! The counter's memory, on sled. All sled use lives in this module.
//!
//! Trees:
//! - `meta`: schema version, PIN lock state, sync cursor, the journal of
//!   the sale being written ([`sale`])
//! - `children`: child id → [`Child`]
//! - `cards`: card UID → [`Card`]
//! - `entries/YYYY-MM-DD`, one tree per local day that is not yet in the
//!   archive: entry id (UUIDv7, so time-ordered) → [`Entry`]. The day is
//!   the one the id was made on.
//! - `balances`: child id → [`Money`], the sum of the child's entries
//! - `spent/YYYY-MM-DD`, one tree per local day since the last closing:
//!   child id → what the child spent that day (daily limits ask only
//!   for today's; past days' trees are dropped whole)
//! - `refunds`: sale id → the refund's id (a sale is refunded once)
//! - `outbox`: entry id → nothing, for sales and refunds the ledger has not
//!   confirmed (connected mode only: standalone there is nobody to tell)
//! - `pending`: child id → the sum of the child's entries in the outbox
//! - `card_outbox`: staff card actions (hand out, block) for the ledger
//! - `menu_changes`: item name → [`ItemChange`], a price or sold out set
//!   by staff at the counter ([`menu`])
//! - `cash_counts`: count id (UUIDv7) → [`klubkasse_core::domain::CashCount`],
//!   made at the first count ([`days`]); never archived (a few a day)
//!
//! Closed days move out of sled into day files ([`archive`]) and their
//! tree is dropped whole, so the store stays the size of about a day;
//! entry reads merge the two.
//!
//! Standalone, a balance is the sum of the child's entries. Connected, it
//! is the balance the ledger last confirmed plus `pending`: what this
//! counter sold that the ledger has not yet confirmed.
//!
//! An entry and everything derived from it are written together (a sled
//! transaction, or for a sale, the faster journal of [`sale`]) and flushed
//! before the caller hears "saved".
//!
//! `Store`'s methods are cut by concern: [`open`] (opening, migration, fresh
//! files), [`accounts`] (children and cards), [`money`] (balances, entries,
//! refunds), [`sale`] (the durable sale), [`days`] (day trees and closing),
//! [`sync`] (outbox and the ledger's changes), [`pin_guard`], [`backup`].

mod accounts;
mod archive;
mod backup;
mod codec;
mod compact;
mod days;
pub mod disk;
mod files;
mod journal;
mod menu;
mod money;
mod open;
mod pin_guard;
mod sale;
mod sync;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use uuid::Uuid;

pub use archive::Archive;
pub use backup::{
    Backup, BackupError, Problem, Restored, backup_dir, check as check_backup, dropped_by,
    newest_backup, plan_restore, read_backup, restore_backup, write_daily_backup,
};
use codec::{decode, encode};
use klubkasse_core::domain::{
    AccountView, Card, CardState, CardUid, Child, ChildId, Connection, DayReport, Entry, EntryKind,
    Money, PinGuard, Refusal,
};
use klubkasse_core::protocol::CardAction;
pub use menu::{ItemChange, MAX_PRICE_KRONER, MenuChanges};

/// Bump when the stored format changes; an older binary must not guess.
/// 2: entries in one tree per day (1 had them all in `entries`; opening
/// a version 1 store moves them, once).
/// 3: entry kinds an older binary cannot read (opening balances, top-up
/// reversals); a version 2 store is read as it is and marked 3.
pub const SCHEMA_VERSION: u32 = 3;

/// The day trees: entries, and what each child spent, per local day.
const DAY_TREE_PREFIX: &str = "entries/";
const SPENT_TREE_PREFIX: &str = "spent/";

fn day_tree_name(day: NaiveDate) -> String {
    format!("{DAY_TREE_PREFIX}{day}")
}

fn spent_tree_name(day: NaiveDate) -> String {
    format!("{SPENT_TREE_PREFIX}{day}")
}

/// sled's cache is only a hint and defaults to 1 GB; a kiosk needs little.
const CACHE_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no store in {dir}, but backups exist (newest: {newest}).\n\
         The counter will not start empty over lost data. Restore it with:\n  \
         klubkasse restore {newest} --data-dir {data_dir}"
    )]
    MissingWithBackups {
        dir: PathBuf,
        data_dir: PathBuf,
        newest: PathBuf,
    },
    #[error(
        "the store in {dir} is in use by a running klubkasse; close it first \
         (the day report is also in the kiosk's staff menu)"
    )]
    InUse { dir: PathBuf },
    #[error("there is no store in {dir} (is the data folder right?)")]
    Missing { dir: PathBuf },
    #[error(
        "the store in {dir} cannot be read: {detail}.\n\
         Nothing was changed. Restore the newest backup with `klubkasse restore FILE`{hint}"
    )]
    Unreadable {
        dir: PathBuf,
        detail: String,
        hint: String,
    },
    #[error(
        "the disk holding {dir} is full ({} MB free): free at least {} MB on it, then \
         start again. Nothing is damaged and nothing was changed: do not restore a backup",
        disk::whole_megabytes(*free), disk::megabytes(*need)
    )]
    NoSpace { dir: PathBuf, free: u64, need: u64 },
    #[error(
        "klubkasse may not write in {dir} (the folder belongs to user id {owner}): ask the \
         folder's owner or the computer's administrator to let this user write there, then \
         start again. Nothing is damaged and nothing was changed: do not restore a backup"
    )]
    NoAccess { dir: PathBuf, owner: u32 },
    #[error(
        "the store in {dir} has format version {found}; this klubkasse reads version {SCHEMA_VERSION}"
    )]
    WrongVersion { dir: PathBuf, found: String },
    #[error("{path} cannot be used: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("stored {what} is damaged: {detail}")]
    Corrupt { what: String, detail: String },
    #[error(
        "the disk is almost full: free at least {} MB; nothing was written",
        disk::megabytes(*need)
    )]
    DiskFull { free: u64, need: u64 },
    #[error("could not write to the store: {0} (is the disk full?)")]
    Write(#[from] sled::Error),
    #[error(
        "an earlier write to the store failed (is the disk full?); nothing more is \
         sold until klubkasse is restarted, which reloads what was safely saved"
    )]
    Failed,
    #[error("no child with id {0}")]
    NoSuchChild(ChildId),
    #[error("no card {0}")]
    NoSuchCard(CardUid),
    #[error("card {uid} already belongs to {owner}")]
    CardTaken { uid: CardUid, owner: String },
    #[error("no sale with id {0}")]
    NoSuchSale(Uuid),
    #[error("sale {0} was already refunded")]
    AlreadyRefunded(Uuid),
    #[error("amount must be more than zero")]
    NotPositive,
    #[error("no cash top-up with id {0}")]
    NoSuchDeposit(Uuid),
    #[error("top-up {0} was not made today at this counter")]
    NotReversible(Uuid),
    #[error("top-up {0} was already taken back")]
    AlreadyReversed(Uuid),
    #[error("the balance ({balance}) is less than the top-up ({amount}): refund sales first")]
    SpentSinceTopUp { balance: Money, amount: Money },
}

/// What became of a sale handed to [`Store::record_sale`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Written and flushed; the child's balance is now this.
    Saved {
        balance: Money,
    },
    /// This very sale was saved before (a retry): nothing charged again.
    AlreadySaved {
        balance: Money,
    },
    Refused(Refusal),
}

/// What one [`Store::close_day`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Closed {
    /// The day moved to the archive, if one was.
    pub day: Option<NaiveDate>,
    pub entries: usize,
    /// Call again: more closed days or old spending wait.
    pub more: bool,
}

pub struct Store {
    dir: PathBuf,
    archive: Archive,
    /// One writer at a time, and no day tree dropped under a reader: held
    /// by every write and by whatever reads the day trees (a sale reads,
    /// checks and writes its keys without a sled transaction: see
    /// [`sale`]). It holds the days the archive has, which only a holder
    /// changes.
    lock: std::sync::Mutex<BTreeSet<NaiveDate>>,
    /// Set when a write failed: what is in memory may then differ from what
    /// is on disk, so the store answers nothing more until it is reopened.
    failed: std::sync::atomic::AtomicBool,
    db: sled::Db,
    meta: Tree,
    children: Tree,
    cards: Tree,
    balances: Tree,
    refunds: Tree,
    outbox: Tree,
    pending: Tree,
    card_outbox: Tree,
    menu_changes: Tree,
    /// The kiosk's free-space guard; the tools write without one.
    reserve: Option<disk::Reserve>,
    /// Every fact written, outside sled too (see [`journal`]).
    journal: journal::Journal,
    /// Last, so dropped after every sled handle above: waits until sled
    /// has closed the files, so that the store can be opened again at once
    /// (see [`files`]).
    _released: files::Released,
}

/// This counter's sales the ledger has not confirmed, from the sum of the
/// child's outbox entries. Standalone there is no ledger to wait for.
fn unconfirmed(connection: Connection, pending: Money) -> Money {
    match connection {
        Connection::Standalone => Money::ZERO,
        Connection::Online | Connection::Offline { .. } => (-pending).max(Money::ZERO),
    }
}

/// The local calendar day an instant falls on: reports and daily limits
/// follow the clock on the club's wall.
pub fn local_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Local).date_naive()
}

/// The instants of one local day, as [start, end).
pub fn day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of = |d: NaiveDate| {
        Local
            .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
    };
    (start_of(day), start_of(day.succ_opt().unwrap_or(day)))
}

/// The local day a UUIDv7 key was made on (its first 48 bits are Unix ms).
fn id_day(key: &[u8]) -> NaiveDate {
    let ms = key
        .iter()
        .take(6)
        .fold(0i64, |ms, b| ms << 8 | i64::from(*b));
    local_day(DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// Archived and live entries of one day, oldest first, each once (after a
/// crash mid-move an entry can be in both).
fn tree_entries(tree: &Tree) -> Result<Vec<Entry>, StoreError> {
    tree.iter().values().map(|v| decode(&v?, "entry")).collect()
}

fn merge(archived: Vec<Entry>, live: Vec<Entry>) -> Vec<Entry> {
    let mut by_id: std::collections::BTreeMap<Uuid, Entry> =
        archived.into_iter().map(|e| (e.id, e)).collect();
    by_id.extend(live.into_iter().map(|e| (e.id, e)));
    by_id.into_values().collect()
}

/// The amount stored under `key`; nothing stored is zero.
fn money_at(tree: &Tree, key: &[u8], what: &str) -> Result<Money, StoreError> {
    Ok(tree
        .get(key)?
        .map(|b| decode(&b, what))
        .transpose()?
        .unwrap_or(Money::ZERO))
}

/// Adds `delta` to the amount stored under `key`; returns the new amount.
fn tx_add(tree: &TransactionalTree, key: &[u8], delta: Money, what: &str) -> TxResult<Money> {
    let now = tx_get::<Money>(tree, key, what)?.unwrap_or(Money::ZERO) + delta;
    tree.insert(key, encode(&now))?;
    Ok(now)
}

fn abort<T>(e: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(e))
}

fn tx_get<T: serde::de::DeserializeOwned>(
    tree: &TransactionalTree,
    key: &[u8],
    what: &str,
) -> TxResult<Option<T>> {
    match tree.get(key)? {
        None => Ok(None),
        Some(bytes) => decode(&bytes, what).map(Some).or_else(abort),
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Store {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes everything written so far durable. The durability point.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.usable()?;
        self.db.flush().map_err(|e| self.write_failed(e))?;
        Ok(())
    }

    /// Keeps free space for sales with a reserve file (see [`disk`]):
    /// from now on a sale or top-up is refused before the disk is full.
    pub fn keep_reserve(&mut self, limits: disk::Limits) -> disk::Space {
        let data_dir = self.dir.parent().unwrap_or(Path::new("."));
        let reserve = disk::Reserve::new(data_dir, limits);
        let space = reserve.keep();
        self.reserve = Some(reserve);
        space
    }

    /// What free space allows now, laying the reserve file down or letting
    /// it go as the space says (the kiosk asks now and then).
    pub fn disk_space(&self) -> disk::Space {
        self.reserve
            .as_ref()
            .map_or(disk::Space::Ok, disk::Reserve::keep)
    }

    /// Refuses a write while the disk is nearly full: before a write can
    /// fail half-way, not after. The reserve goes at once, for recovery.
    fn room(&self) -> Result<(), StoreError> {
        let Some(reserve) = &self.reserve else {
            return Ok(());
        };
        match reserve.space() {
            disk::Space::Full { .. } => match reserve.keep() {
                disk::Space::Full { free, need } => Err(StoreError::DiskFull { free, need }),
                _ => Ok(()),
            },
            disk::Space::Ok | disk::Space::Low { .. } => Ok(()),
        }
    }

    /// Runs `write` (sled's writes and flush) with `lines` in the journal:
    /// room made before, the lines written once sled has them. A journal
    /// that fails then closes the store for the run, like a failed flush.
    fn journaled<T>(
        &self,
        lines: Vec<journal::Line>,
        write: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let day = local_day(Utc::now());
        let ready = self.journal.make_room(day, &lines)?;
        let done = write()?;
        self.journal
            .write(day, ready)
            .map_err(|e| self.failed_with(e))?;
        Ok(done)
    }

    fn failed_with(&self, e: StoreError) -> StoreError {
        tracing::error!(error = %e, "a write to the store failed; the store is closed for this run");
        self.failed.store(true, std::sync::atomic::Ordering::SeqCst);
        e
    }

    /// Refuses to go on after a failed write.
    fn usable(&self) -> Result<(), StoreError> {
        if self.failed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Failed);
        }
        Ok(())
    }

    fn write_failed(&self, e: sled::Error) -> StoreError {
        self.failed_with(StoreError::Write(e))
    }

    fn unwrap_tx<T>(
        &self,
        result: Result<T, TransactionError<StoreError>>,
    ) -> Result<T, StoreError> {
        result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => self.write_failed(e),
        })
    }

    /// The store's lock (see [`Store::lock`]), with the archive's days.
    /// A panic while the lock was held (mid-sale, say) may have left the
    /// trees half written in memory: the store then refuses more, like
    /// after a failed write, and the next start puts it right (the sale
    /// journal). The days set itself is only added to after its file is
    /// written, so it stays right.
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<NaiveDate>> {
        self.lock.lock().unwrap_or_else(|poisoned| {
            tracing::error!("a panic interrupted a store write; the store is closed for this run");
            self.failed.store(true, std::sync::atomic::Ordering::SeqCst);
            poisoned.into_inner()
        })
    }

    /// Entries waiting for the ledger.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }
}

#[cfg(test)]
mod tests;
