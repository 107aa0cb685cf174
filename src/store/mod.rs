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

mod archive;
mod backup;
mod codec;
mod compact;
mod files;
mod sale;
mod sync;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::{Transactional, Tree};
use uuid::Uuid;

pub use archive::Archive;
pub use backup::{
    Backup, BackupError, Restored, backup_dir, newest_backup, read_backup, restore_backup,
    write_daily_backup,
};
use codec::{decode, encode};
use klubkasse_core::domain::{
    AccountView, Card, CardState, CardUid, Child, ChildId, Connection, DayReport, Entry, EntryKind,
    Money, PinGuard, Refusal,
};
use klubkasse_core::protocol::CardAction;

/// Bump when the stored format changes; an older binary must not guess.
/// 2: entries in one tree per day (1 had them all in `entries`; opening
/// a version 1 store moves them, once).
pub const SCHEMA_VERSION: u32 = 2;

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

    fn open_dir(data_dir: &Path, fresh: bool) -> Result<Store, StoreError> {
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
            db,
            _released: files::Released(dir.clone()),
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
    fn compact(self) -> Result<(), StoreError> {
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

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Makes everything written so far durable. The durability point.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.usable()?;
        self.db.flush().map_err(|e| self.write_failed(e))?;
        Ok(())
    }

    /// Refuses to go on after a failed write.
    fn usable(&self) -> Result<(), StoreError> {
        if self.failed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Failed);
        }
        Ok(())
    }

    fn write_failed(&self, e: sled::Error) -> StoreError {
        tracing::error!(error = %e, "a write to the store failed; the store is closed for this run");
        self.failed.store(true, std::sync::atomic::Ordering::SeqCst);
        StoreError::Write(e)
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

    // ---- children and cards ----------------------------------------------

    pub fn child(&self, id: ChildId) -> Result<Option<Child>, StoreError> {
        self.children
            .get(id.0.as_bytes())?
            .map(|b| decode(&b, "child"))
            .transpose()
    }

    /// All children, by name.
    pub fn children(&self) -> Result<Vec<Child>, StoreError> {
        self.usable()?;
        let mut all: Vec<Child> = self
            .children
            .iter()
            .values()
            .map(|v| decode(&v?, "child"))
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|a| a.name.to_lowercase());
        Ok(all)
    }

    pub fn put_child(&self, child: &Child) -> Result<(), StoreError> {
        self.usable()?;
        let _lock = self.lock();
        self.children.insert(child.id.0.as_bytes(), encode(child))?;
        self.flush()
    }

    pub fn card(&self, uid: &CardUid) -> Result<Option<Card>, StoreError> {
        self.cards
            .get(uid.as_str())?
            .map(|b| decode(&b, "card"))
            .transpose()
    }

    pub fn cards(&self) -> Result<Vec<Card>, StoreError> {
        self.cards
            .iter()
            .values()
            .map(|v| decode(&v?, "card"))
            .collect()
    }

    pub fn cards_of(&self, child: ChildId) -> Result<Vec<Card>, StoreError> {
        Ok(self
            .cards()?
            .into_iter()
            .filter(|c| c.child == child)
            .collect())
    }

    /// Hands a card to a child. A card of another child is refused; the
    /// child's earlier cards stay as they are (block them separately).
    /// `for_ledger`: connected, the action also waits in the card outbox for
    /// the ledger, written in the same transaction.
    pub fn bind_card(
        &self,
        uid: &CardUid,
        child: ChildId,
        for_ledger: bool,
    ) -> Result<Card, StoreError> {
        self.usable()?;
        let _lock = self.lock();
        let owner = self.child(child)?.ok_or(StoreError::NoSuchChild(child))?;
        if let Some(existing) = self.card(uid)?
            && existing.child != child
        {
            let name = self
                .child(existing.child)?
                .map(|c| c.name)
                .unwrap_or_else(|| existing.child.to_string());
            return Err(StoreError::CardTaken {
                uid: uid.clone(),
                owner: name,
            });
        }
        let card = Card {
            uid: uid.clone(),
            child: owner.id,
            state: CardState::Active,
        };
        let action = for_ledger.then(|| CardAction::HandOut {
            uid: uid.clone(),
            child,
        });
        self.put_card(&card, action)?;
        Ok(card)
    }

    /// Blocks or unblocks a card; `for_ledger` as for [`Store::bind_card`].
    pub fn set_card_state(
        &self,
        uid: &CardUid,
        state: CardState,
        for_ledger: bool,
    ) -> Result<Card, StoreError> {
        self.usable()?;
        let _lock = self.lock();
        let mut card = self
            .card(uid)?
            .ok_or_else(|| StoreError::NoSuchCard(uid.clone()))?;
        card.state = state;
        let action = (for_ledger && state == CardState::Blocked)
            .then(|| CardAction::Block { uid: uid.clone() });
        self.put_card(&card, action)?;
        Ok(card)
    }

    /// A card and, connected, the action the ledger must hear of: together.
    /// The caller holds the lock.
    fn put_card(&self, card: &Card, action: Option<CardAction>) -> Result<(), StoreError> {
        let trees = (&self.cards, &self.card_outbox);
        self.unwrap_tx(trees.transaction(|(cards, card_outbox)| {
            cards.insert(card.uid.as_str().as_bytes(), encode(card))?;
            if let Some(action) = &action {
                card_outbox.insert(
                    klubkasse_core::domain::new_entry_id(Utc::now()).as_bytes(),
                    encode(action),
                )?;
            }
            Ok(())
        }))?;
        self.flush()
    }

    // ---- balances and the account view ------------------------------------

    pub fn balance(&self, child: ChildId) -> Result<Money, StoreError> {
        money_at(&self.balances, child.0.as_bytes(), "balance")
    }

    /// The sum of the child's entries waiting for the ledger.
    pub fn pending(&self, child: ChildId) -> Result<Money, StoreError> {
        money_at(&self.pending, child.0.as_bytes(), "pending")
    }

    pub fn spent_on(&self, child: ChildId, day: NaiveDate) -> Result<Money, StoreError> {
        let _lock = self.lock();
        match self.existing_tree(&spent_tree_name(day))? {
            Some(spent) => money_at(&spent, child.0.as_bytes(), "day spending"),
            None => Ok(Money::ZERO),
        }
    }

    /// What the counter knows about a tapped card; `Err(uid)` if unknown.
    pub fn lookup(
        &self,
        uid: &CardUid,
        now: DateTime<Utc>,
        connection: Connection,
    ) -> Result<Result<AccountView, CardUid>, StoreError> {
        self.usable()?;
        let Some(card) = self.card(uid)? else {
            return Ok(Err(uid.clone()));
        };
        let Some(child) = self.child(card.child)? else {
            return Err(StoreError::Corrupt {
                what: format!("card {uid}"),
                detail: format!("it belongs to child {}, who is not stored", card.child),
            });
        };
        Ok(Ok(AccountView {
            balance: self.balance(child.id)?,
            spent_today: self.spent_on(child.id, local_day(now))?,
            unconfirmed: unconfirmed(connection, self.pending(child.id)?),
            child,
            card,
        }))
    }

    // ---- entries -----------------------------------------------------------

    /// Saves a deposit, withdrawal or card fee: balance and entry together.
    /// Standalone only (connected, money comes in at the ledger), so it
    /// never waits for the ledger: a counter may push only sales and refunds.
    pub fn record_entry(&self, entry: &Entry) -> Result<Money, StoreError> {
        self.usable()?;
        if self.child(entry.child)?.is_none() {
            return Err(StoreError::NoSuchChild(entry.child));
        }
        let days = self.lock();
        let archived = self.archived(&days, entry.id)?;
        let entries = self.day_tree(id_day(entry.id.as_bytes()))?;
        let trees = (&entries, &self.balances);
        let balance = self.unwrap_tx(trees.transaction(|(entries, balances)| {
            let key = entry.child.0.as_bytes();
            let balance: Money = tx_get(balances, key, "balance")?.unwrap_or(Money::ZERO);
            if archived || entries.get(entry.id.as_bytes())?.is_some() {
                return Ok(balance);
            }
            let balance = balance + entry.amount;
            entries.insert(entry.id.as_bytes(), encode(entry))?;
            balances.insert(key, encode(&balance))?;
            Ok(balance)
        }))?;
        self.flush()?;
        Ok(balance)
    }

    /// Cash paid in at the counter.
    pub fn deposit(
        &self,
        child: ChildId,
        amount: Money,
        counter: &str,
        at: DateTime<Utc>,
    ) -> Result<Money, StoreError> {
        if !amount.is_positive() {
            return Err(StoreError::NotPositive);
        }
        self.record_entry(&Entry::new(child, EntryKind::Deposit, amount, counter, at))
    }

    /// Gives back a whole sale, once. Returns the refund entry.
    /// `for_ledger`: connected, the refund also waits in the outbox.
    pub fn refund(
        &self,
        sale_id: Uuid,
        counter: &str,
        at: DateTime<Utc>,
        for_ledger: bool,
    ) -> Result<Entry, StoreError> {
        self.usable()?;
        let _lock = self.lock();
        let sale = self
            .find_entry(sale_id)?
            .filter(Entry::is_sale)
            .ok_or(StoreError::NoSuchSale(sale_id))?;
        let refund = Entry::new(
            sale.child,
            EntryKind::Refund { sale: sale.id },
            -sale.amount,
            counter,
            at,
        );
        let entries = self.day_tree(id_day(refund.id.as_bytes()))?;
        let spent = self.spent_tree(local_day(sale.at))?;
        let trees = (
            &entries,
            &self.balances,
            &spent,
            &self.refunds,
            &self.outbox,
            &self.pending,
        );
        self.unwrap_tx(trees.transaction(
            |(entries, balances, spent, refunds, outbox, pending)| {
                if refunds.get(sale.id.as_bytes())?.is_some() {
                    return abort(StoreError::AlreadyRefunded(sale.id));
                }
                let key = sale.child.0.as_bytes();
                let balance: Money = tx_get(balances, key, "balance")?.unwrap_or(Money::ZERO);
                let day_spent: Money = tx_get(spent, key, "day spending")?.unwrap_or(Money::ZERO);
                entries.insert(refund.id.as_bytes(), encode(&refund))?;
                balances.insert(key, encode(&(balance + refund.amount)))?;
                spent.insert(key, encode(&(day_spent - refund.amount).max(Money::ZERO)))?;
                refunds.insert(sale.id.as_bytes(), refund.id.as_bytes())?;
                if for_ledger {
                    outbox.insert(refund.id.as_bytes(), &[])?;
                    tx_add(pending, key, refund.amount, "pending")?;
                }
                Ok(())
            },
        ))?;
        self.flush()?;
        Ok(refund)
    }

    pub fn is_refunded(&self, sale: Uuid) -> Result<bool, StoreError> {
        Ok(self.refunds.contains_key(sale.as_bytes())?)
    }

    /// An entry by id: in its day's tree, or in the archive.
    pub fn entry(&self, id: Uuid) -> Result<Option<Entry>, StoreError> {
        let _lock = self.lock();
        self.find_entry(id)
    }

    /// [`Store::entry`], with the day lock held by the caller.
    fn find_entry(&self, id: Uuid) -> Result<Option<Entry>, StoreError> {
        let day = id_day(id.as_bytes());
        if let Some(tree) = self.existing_day_tree(day)?
            && let Some(bytes) = tree.get(id.as_bytes())?
        {
            return decode(&bytes, "entry").map(Some);
        }
        self.archive.find(day, id)
    }

    /// Whether the entry is in the archive (a day since closed), given the
    /// archive's days from [`Store::lock`].
    fn archived(&self, days: &BTreeSet<NaiveDate>, id: Uuid) -> Result<bool, StoreError> {
        let day = id_day(id.as_bytes());
        Ok(days.contains(&day) && self.archive.find(day, id)?.is_some())
    }

    /// The report of one local day, with the children's names.
    pub fn day_report(&self, date: NaiveDate) -> Result<DayReport, StoreError> {
        let names: std::collections::HashMap<ChildId, String> = self
            .children()?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let entries = self.entries_on(date)?;
        Ok(DayReport::build(entries.iter(), |id| {
            // A child the store lost is still counted, under its id.
            names.get(&id).cloned().unwrap_or_else(|| id.to_string())
        }))
    }

    /// The entries of a local day, oldest first: the day's file in the
    /// archive merged with the day's tree.
    pub fn entries_on(&self, day: NaiveDate) -> Result<Vec<Entry>, StoreError> {
        self.usable()?;
        let _lock = self.lock();
        let live = match self.existing_day_tree(day)? {
            Some(tree) => tree_entries(&tree)?,
            None => Vec::new(),
        };
        if !self.archive.has(day) {
            return Ok(live);
        }
        Ok(merge(self.archive.read_day(day)?, live))
    }

    /// The entries still in sled (not yet archived), oldest first.
    pub fn live_entries(&self) -> Result<Vec<Entry>, StoreError> {
        let _lock = self.lock();
        let mut live = Vec::new();
        for day in self.live_days() {
            live.extend(tree_entries(&self.day_tree(day)?)?);
        }
        Ok(live)
    }

    /// Every entry, archived and live, oldest first. Holds them all in
    /// memory: for checks, tests and tools, never the kiosk's hot path.
    pub fn all_entries(&self) -> Result<Vec<Entry>, StoreError> {
        let mut all = Vec::new();
        self.for_each_entry(|entry| all.push(entry))?;
        all.sort_by_key(|e| e.id);
        Ok(all)
    }

    /// The days that have an entries tree, oldest first.
    fn live_days(&self) -> Vec<NaiveDate> {
        self.days_of(DAY_TREE_PREFIX)
    }

    /// The days of the trees named `prefix` + day, oldest first.
    fn days_of(&self, prefix: &str) -> Vec<NaiveDate> {
        let mut days: Vec<NaiveDate> = self
            .db
            .tree_names()
            .iter()
            .filter_map(|name| {
                std::str::from_utf8(name)
                    .ok()?
                    .strip_prefix(prefix)?
                    .parse()
                    .ok()
            })
            .collect();
        days.sort();
        days
    }

    /// The day's tree, made if it is new.
    fn day_tree(&self, day: NaiveDate) -> Result<Tree, StoreError> {
        Ok(self.db.open_tree(day_tree_name(day))?)
    }

    /// What each child spent on the day, made if it is new.
    fn spent_tree(&self, day: NaiveDate) -> Result<Tree, StoreError> {
        Ok(self.db.open_tree(spent_tree_name(day))?)
    }

    /// The day's entries tree if it has one.
    fn existing_day_tree(&self, day: NaiveDate) -> Result<Option<Tree>, StoreError> {
        self.existing_tree(&day_tree_name(day))
    }

    /// The tree if it exists: reading never makes one.
    fn existing_tree(&self, name: &str) -> Result<Option<Tree>, StoreError> {
        if self
            .db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == name.as_bytes())
        {
            Ok(Some(self.db.open_tree(name)?))
        } else {
            Ok(None)
        }
    }

    /// Calls `f` with every entry once, a day of the archive at a time.
    fn for_each_entry(&self, mut f: impl FnMut(Entry)) -> Result<(), StoreError> {
        let live = self.live_entries()?;
        let live_ids: std::collections::HashSet<Uuid> = live.iter().map(|e| e.id).collect();
        for day in self.archive.days()? {
            for entry in self.archive.read_day(day)? {
                if !live_ids.contains(&entry.id) {
                    f(entry);
                }
            }
        }
        live.into_iter().for_each(f);
        Ok(())
    }

    /// Moves the oldest closed day (before `today`) still in sled into the
    /// archive, and forgets past days' spending (only today's is asked
    /// for), a bounded amount per call so the counter can sell between
    /// calls: call again while `more`. Entries still waiting for the
    /// ledger stay until it has them.
    pub fn close_day(&self, today: NaiveDate) -> Result<Closed, StoreError> {
        self.usable()?;
        let mut archived = self.lock();
        let mut closed = Closed::default();
        // Days with an entry still waiting for the ledger stay, whole.
        let waiting = self
            .outbox
            .iter()
            .keys()
            .map(|key| key.map(|key| id_day(&key)))
            .collect::<Result<std::collections::BTreeSet<NaiveDate>, _>>()?;
        let closable: Vec<NaiveDate> = self
            .live_days()
            .into_iter()
            .filter(|day| *day < today && !waiting.contains(day))
            .collect();
        closed.more = closable.len() > 1;
        if let Some(&day) = closable.first() {
            let moving = tree_entries(&self.day_tree(day)?)?;
            // On disk in the archive first: a crash now leaves the entries
            // in both places, which every read merges.
            self.archive.add_to_day(day, &moving)?;
            archived.insert(day);
            self.db.drop_tree(day_tree_name(day))?;
            self.meta.insert(compact::DAYS_LEFT_KEY, &[])?;
            closed.day = Some(day);
            closed.entries = moving.len();
        }
        // Only today's spending is ever asked for.
        for day in self.days_of(SPENT_TREE_PREFIX) {
            if day < today {
                self.db.drop_tree(spent_tree_name(day))?;
            }
        }
        self.flush()?;
        if let Some(day) = closed.day {
            tracing::info!(%day, entries = closed.entries, "moved a closed day to the archive");
        }
        Ok(closed)
    }

    /// Version 1 kept every entry in one `entries` tree and all spending
    /// in one `spent` tree: move them into their days' trees, a day at a
    /// time, then mark the store version 2.
    /// A crash part way leaves version 1 and entries in both, and the
    /// next open moves the rest (inserting an entry twice is harmless).
    fn move_to_day_trees(&self) -> Result<(), StoreError> {
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

    /// For store generators and benchmarks only, never the kiosk: writes
    /// children, cards and entries in one large `sled::Batch` per tree and
    /// flushes once, because a million `record_sale` calls (one flush each)
    /// would take hours.
    ///
    /// Nothing is authorised: the entries are taken as they are. Balances
    /// and day spending are added to what is stored, so a store may be
    /// loaded in chunks and balances stay the sum of the entries. Entries
    /// already stored are skipped, as a retried sale is. A refund's sale
    /// must be in this call or stored already. Nothing goes to the outbox
    /// or `pending`: loaded entries count as confirmed by the ledger. Not
    /// atomic across trees; a failure mid-way leaves a half-loaded store,
    /// which is fine for a generator's scratch store.
    pub fn bulk_load(
        &self,
        children: &[Child],
        cards: &[Card],
        entries: &[Entry],
    ) -> Result<(), StoreError> {
        use std::collections::HashMap;
        self.usable()?;
        let mut batch = sled::Batch::default();
        for child in children {
            batch.insert(child.id.0.as_bytes(), encode(child));
        }
        self.children.apply_batch(batch)?;
        let mut batch = sled::Batch::default();
        for card in cards {
            batch.insert(card.uid.as_str().as_bytes(), encode(card));
        }
        self.cards.apply_batch(batch)?;

        let in_call: HashMap<Uuid, &Entry> = entries.iter().map(|e| (e.id, e)).collect();
        let mut balance_delta: HashMap<ChildId, Money> = HashMap::new();
        let mut spent_delta: HashMap<(NaiveDate, ChildId), Money> = HashMap::new();
        // Each day's tree, and what goes into it.
        let mut days: HashMap<NaiveDate, (Tree, sled::Batch)> = HashMap::new();
        let mut refund_batch = sled::Batch::default();
        let mut seen = std::collections::HashSet::new();
        for entry in entries {
            let day = id_day(entry.id.as_bytes());
            let (tree, batch) = match days.entry(day) {
                std::collections::hash_map::Entry::Occupied(d) => d.into_mut(),
                std::collections::hash_map::Entry::Vacant(d) => {
                    d.insert((self.day_tree(day)?, sled::Batch::default()))
                }
            };
            if !seen.insert(entry.id) || tree.contains_key(entry.id.as_bytes())? {
                continue;
            }
            batch.insert(entry.id.as_bytes(), encode(entry));
            *balance_delta.entry(entry.child).or_default() += entry.amount;
            match &entry.kind {
                EntryKind::Sale { .. } => {
                    *spent_delta
                        .entry((local_day(entry.at), entry.child))
                        .or_default() -= entry.amount;
                }
                EntryKind::Refund { sale } => {
                    let sale_at = match in_call.get(sale) {
                        Some(s) => s.at,
                        None => self.entry(*sale)?.ok_or(StoreError::NoSuchSale(*sale))?.at,
                    };
                    refund_batch.insert(sale.as_bytes(), entry.id.as_bytes());
                    *spent_delta
                        .entry((local_day(sale_at), entry.child))
                        .or_default() -= entry.amount;
                }
                _ => {}
            }
        }
        for (tree, batch) in days.into_values() {
            tree.apply_batch(batch)?;
        }
        self.refunds.apply_batch(refund_batch)?;
        let mut batch = sled::Batch::default();
        for (child, delta) in balance_delta {
            let key = child.0.as_bytes();
            let now = money_at(&self.balances, key, "balance")? + delta;
            batch.insert(key, encode(&now));
        }
        self.balances.apply_batch(batch)?;
        let mut spent_days: std::collections::BTreeMap<NaiveDate, sled::Batch> =
            std::collections::BTreeMap::new();
        for ((day, child), delta) in spent_delta {
            // As `refund` does: a day's spending never shows below zero.
            let key = child.0.as_bytes();
            let spent = money_at(&self.spent_tree(day)?, key, "day spending")?;
            spent_days
                .entry(day)
                .or_default()
                .insert(key, encode(&(spent + delta).max(Money::ZERO)));
        }
        for (day, batch) in spent_days {
            self.spent_tree(day)?.apply_batch(batch)?;
        }
        self.flush()
    }

    /// Children whose stored balance is not the sum of their entries.
    /// Empty on a healthy store; `klubkasse check` and tests ask.
    pub fn balance_mismatches(&self) -> Result<Vec<(ChildId, Money, Money)>, StoreError> {
        let mut sums = std::collections::BTreeMap::<ChildId, Money>::new();
        self.for_each_entry(|entry| *sums.entry(entry.child).or_default() += entry.amount)?;
        let mut wrong = Vec::new();
        for child in self.children()? {
            let stored = self.balance(child.id)?;
            let sum = sums.get(&child.id).copied().unwrap_or(Money::ZERO);
            if stored != sum {
                wrong.push((child.id, stored, sum));
            }
        }
        Ok(wrong)
    }

    // ---- staff PIN lock ----------------------------------------------------

    /// Kept in the store so that restarting the kiosk does not reset it.
    pub fn pin_guard(&self) -> Result<PinGuard, StoreError> {
        Ok(self
            .meta
            .get("pin_guard")?
            .map(|b| decode(&b, "PIN lock"))
            .transpose()?
            .unwrap_or_default())
    }

    pub fn set_pin_guard(&self, guard: &PinGuard) -> Result<(), StoreError> {
        self.usable()?;
        let _lock = self.lock();
        self.meta.insert("pin_guard", encode(guard))?;
        self.flush()
    }
}

#[cfg(test)]
mod tests;
