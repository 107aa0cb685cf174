//! The day trees: entries and spending by local day, reading a day (live
//! and archived), and closing a day into the archive.

use chrono::{DateTime, Utc};
use klubkasse_core::domain::{CashCount, Money, new_entry_id};

use super::{
    ChildId, Closed, DAY_TREE_PREFIX, DayReport, Entry, EntryKind, NaiveDate, SPENT_TREE_PREFIX,
    Store, StoreError, Tree, Uuid, compact, day_tree_name, decode, encode, id_day, local_day,
    merge, spent_tree_name, tree_entries,
};

/// Cash counts, by id (a UUIDv7 of when, so a day's are one key range):
/// kept apart from the entries, as they move no balance, and never
/// archived, as they are few.
const CASH_COUNTS: &str = "cash_counts";

impl Store {
    /// The report of one local day, with the children's names and the
    /// day's cash counts.
    pub fn day_report(&self, date: NaiveDate) -> Result<DayReport, StoreError> {
        let names: std::collections::HashMap<ChildId, String> = self
            .children()?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let entries = self.entries_on(date)?;
        // Refunds today of earlier days' sales: those sales, for their lines.
        let mut earlier = std::collections::HashMap::new();
        for entry in &entries {
            if let EntryKind::Refund { sale } = entry.kind
                && id_day(sale.as_bytes()) != date
                && let Some(found) = self.entry(sale)?
            {
                earlier.insert(sale, found);
            }
        }
        let mut report = DayReport::build(
            entries.iter(),
            |id| earlier.get(&id).cloned(),
            // A child the store lost is still counted, under its id.
            |id| names.get(&id).cloned().unwrap_or_else(|| id.to_string()),
        );
        report.cash_counts = self.cash_counts_on(date)?;
        Ok(report)
    }

    /// Keeps what staff counted in the drawer at `at`, against the cash the
    /// day's report expects by then.
    pub fn record_cash_count(
        &self,
        counted: Money,
        counter: &str,
        at: DateTime<Utc>,
    ) -> Result<CashCount, StoreError> {
        self.usable()?;
        if counted.is_negative() {
            return Err(StoreError::NotPositive);
        }
        let expected = self.day_report(local_day(at))?.expected_cash();
        let count = CashCount {
            id: new_entry_id(at),
            at,
            counter: counter.to_string(),
            counted,
            expected,
        };
        let _lock = self.lock();
        self.db
            .open_tree(CASH_COUNTS)?
            .insert(count.id.as_bytes(), encode(&count))?;
        self.flush()?;
        Ok(count)
    }

    /// Every cash count kept, oldest first (for a backup).
    pub(super) fn cash_counts(&self) -> Result<Vec<CashCount>, StoreError> {
        let Some(tree) = self.existing_tree(CASH_COUNTS)? else {
            return Ok(Vec::new());
        };
        tree.iter()
            .values()
            .map(|value| decode(&value?, "cash count"))
            .collect()
    }

    /// Puts counts back as they were (from a backup).
    pub(super) fn put_cash_counts(&self, counts: &[CashCount]) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        let tree = self.db.open_tree(CASH_COUNTS)?;
        for count in counts {
            tree.insert(count.id.as_bytes(), encode(count))?;
        }
        Ok(())
    }

    /// The cash counts of a local day, oldest first.
    pub fn cash_counts_on(&self, day: NaiveDate) -> Result<Vec<CashCount>, StoreError> {
        let Some(tree) = self.existing_tree(CASH_COUNTS)? else {
            return Ok(Vec::new());
        };
        let mut counts = Vec::new();
        for item in tree.iter() {
            let (key, value) = item?;
            if id_day(&key) == day {
                counts.push(decode(&value, "cash count")?);
            }
        }
        Ok(counts)
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
    pub(super) fn live_days(&self) -> Vec<NaiveDate> {
        self.days_of(DAY_TREE_PREFIX)
    }

    /// The days of the trees named `prefix` + day, oldest first.
    pub(super) fn days_of(&self, prefix: &str) -> Vec<NaiveDate> {
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
    pub(super) fn day_tree(&self, day: NaiveDate) -> Result<Tree, StoreError> {
        Ok(self.db.open_tree(day_tree_name(day))?)
    }

    /// What each child spent on the day, made if it is new.
    pub(super) fn spent_tree(&self, day: NaiveDate) -> Result<Tree, StoreError> {
        Ok(self.db.open_tree(spent_tree_name(day))?)
    }

    /// The day's entries tree if it has one.
    pub(super) fn existing_day_tree(&self, day: NaiveDate) -> Result<Option<Tree>, StoreError> {
        self.existing_tree(&day_tree_name(day))
    }

    /// The tree if it exists: reading never makes one.
    pub(super) fn existing_tree(&self, name: &str) -> Result<Option<Tree>, StoreError> {
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
    pub(super) fn for_each_entry(&self, mut f: impl FnMut(Entry)) -> Result<(), StoreError> {
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
}
