//! Backup files: one a day in standalone mode, and the way back from them.
//!
//! A backup holds the facts (children, cards, entries, which sales were
//! refunded, what waits for the ledger); balances and day spending are
//! recomputed from the entries on restore, so a restored balance is the
//! sum of its entries by construction.
//!
//! Entries of closed days are not in it: they lie in the archive's day
//! files beside the store, written once and never changed, which a restore
//! leaves where they are and counts in. A backup's size stays that of a
//! day, not of the club's whole history.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::encode;
use super::{MenuChanges, Store, StoreError, local_day};
use klubkasse_core::domain::{
    Card, CardUid, CashCount, Child, ChildId, Entry, EntryKind, Money, SaleLine,
};

const FORMAT: &str = "klubkasse-backup";
/// How many daily backups to keep.
const KEEP: usize = 14;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backup {
    pub format: String,
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub children: Vec<Child>,
    pub cards: Vec<Card>,
    pub entries: Vec<Entry>,
    pub outbox: Vec<Uuid>,
    /// Prices and sold out set by staff (absent in older backups).
    #[serde(default)]
    pub menu_changes: MenuChanges,
    /// The cash counts kept in the store (absent in older backups).
    #[serde(default)]
    pub cash_counts: Vec<CashCount>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("could not read backup {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a klubkasse backup: {detail}")]
    NotABackup { path: PathBuf, detail: String },
    #[error("could not write backup {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is damaged and was not used; nothing was changed:\n  {}",
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    Damaged {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What is wrong with a backup (see [`check`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("child {0} is in it twice")]
    ChildTwice(ChildId),
    #[error("card {0} is in it twice")]
    CardTwice(CardUid),
    #[error("entry {0} is in it twice")]
    EntryTwice(Uuid),
    #[error("card {card} belongs to child {child}, who is not in it")]
    CardWithoutChild { card: CardUid, child: ChildId },
    #[error("entry {entry} belongs to child {child}, who is not in it")]
    EntryWithoutChild { entry: Uuid, child: ChildId },
    #[error("entry {entry} is for {amount}, but its lines and kind say {expected}")]
    AmountDiffers {
        entry: Uuid,
        amount: Money,
        expected: String,
    },
    #[error("sale {0} is refunded more than once")]
    RefundedTwice(Uuid),
    #[error("waiting for the ledger is {0}, which is not an entry in it")]
    OutboxWithoutEntry(Uuid),
    #[error(
        "sale {entry} has the line «{item}» at {price} × {quantity}: a price below zero or no quantity"
    )]
    BadLine {
        entry: Uuid,
        item: String,
        price: Money,
        quantity: u32,
    },
    #[error("the price set for «{item}» is {price}: it must be more than 0 and at most {max}")]
    BadPrice {
        item: String,
        price: Money,
        max: Money,
    },
}

/// Checks that a backup can be trusted as the whole store: no id twice,
/// every card's and entry's child there, and every amount what its entry
/// says (a sale: minus its lines; deposits positive, withdrawals, fees
/// negative), so that each balance rebuilt from the entries is right.
/// Refunds whose sale lies in the archive are fine: the archive stays.
pub fn check(backup: &Backup) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut children = HashSet::new();
    for child in &backup.children {
        if !children.insert(child.id) {
            problems.push(Problem::ChildTwice(child.id));
        }
    }
    let mut cards = HashSet::new();
    for card in &backup.cards {
        if !cards.insert(&card.uid) {
            problems.push(Problem::CardTwice(card.uid.clone()));
        }
        if !children.contains(&card.child) {
            problems.push(Problem::CardWithoutChild {
                card: card.uid.clone(),
                child: card.child,
            });
        }
    }
    let mut entries = HashSet::new();
    let mut refunded = HashSet::new();
    for entry in &backup.entries {
        if !entries.insert(entry.id) {
            problems.push(Problem::EntryTwice(entry.id));
        }
        if !children.contains(&entry.child) {
            problems.push(Problem::EntryWithoutChild {
                entry: entry.id,
                child: entry.child,
            });
        }
        let differs = |expected: String| Problem::AmountDiffers {
            entry: entry.id,
            amount: entry.amount,
            expected,
        };
        match &entry.kind {
            EntryKind::Sale { lines, .. } => {
                // A line below zero would make a sale pay money in.
                for line in lines {
                    if line.unit_price.is_negative() || line.quantity == 0 {
                        problems.push(Problem::BadLine {
                            entry: entry.id,
                            item: line.name.clone(),
                            price: line.unit_price,
                            quantity: line.quantity,
                        });
                    }
                }
                let total: Money = lines.iter().map(SaleLine::total).sum();
                if entry.amount != -total {
                    problems.push(differs((-total).to_string()));
                }
            }
            EntryKind::Deposit | EntryKind::Refund { .. } if !entry.amount.is_positive() => {
                problems.push(differs("more than zero".into()));
            }
            EntryKind::OpeningBalance if entry.amount.is_negative() => {
                problems.push(differs("zero or more".into()));
            }
            EntryKind::Withdrawal | EntryKind::CardFee | EntryKind::DepositReversal { .. }
                if !entry.amount.is_negative() =>
            {
                problems.push(differs("less than zero".into()));
            }
            _ => {}
        }
        if let EntryKind::Refund { sale } = &entry.kind
            && !refunded.insert(*sale)
        {
            problems.push(Problem::RefundedTwice(*sale));
        }
    }
    for id in &backup.outbox {
        if !entries.contains(id) {
            problems.push(Problem::OutboxWithoutEntry(*id));
        }
    }
    let max = Money::kroner(super::MAX_PRICE_KRONER);
    for (item, change) in &backup.menu_changes {
        if let Some(price) = change.price
            && (!price.is_positive() || price > max)
        {
            problems.push(Problem::BadPrice {
                item: item.clone(),
                price,
                max,
            });
        }
    }
    problems
}

/// The entries of the store now that a restore of `backup` would drop:
/// not in the backup, and made after it (older ones were gone before).
pub fn dropped_by(backup: &Backup, now: &[Entry]) -> Vec<Entry> {
    let kept: HashSet<Uuid> = backup.entries.iter().map(|e| e.id).collect();
    now.iter()
        .filter(|e| !kept.contains(&e.id) && e.at >= backup.created_at)
        .cloned()
        .collect()
}

impl Backup {
    /// Nothing: what a rebuild starts from when there is no backup.
    pub fn empty() -> Backup {
        Backup {
            format: FORMAT.into(),
            version: super::SCHEMA_VERSION,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            children: Vec::new(),
            cards: Vec::new(),
            entries: Vec::new(),
            outbox: Vec::new(),
            menu_changes: MenuChanges::new(),
            cash_counts: Vec::new(),
        }
    }
}

pub fn backup_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("backups")
}

/// The newest backup file under `data_dir`, if any.
pub fn newest_backup(data_dir: &Path) -> Option<PathBuf> {
    list_backups(data_dir).pop()
}

/// Backup files, oldest first (their names sort by date).
fn list_backups(data_dir: &Path) -> Vec<PathBuf> {
    let Ok(dir) = fs::read_dir(backup_dir(data_dir)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("klubkasse-") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    files
}

impl Store {
    pub fn export(&self) -> Result<Backup, StoreError> {
        let outbox = self
            .outbox
            .iter()
            .keys()
            .map(|k| {
                let k = k?;
                Uuid::from_slice(&k).map_err(|e| StoreError::Corrupt {
                    what: "outbox".into(),
                    detail: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Backup {
            format: FORMAT.into(),
            version: super::SCHEMA_VERSION,
            created_at: Utc::now(),
            children: self.children()?,
            cards: self.cards()?,
            entries: self.live_entries()?,
            outbox,
            menu_changes: self.menu_changes()?,
            cash_counts: self.cash_counts()?,
        })
    }

    /// Fills an empty store from a backup, rebuilding everything derived.
    pub(super) fn import(&self, backup: &Backup) -> Result<(), StoreError> {
        for child in &backup.children {
            self.children.insert(child.id.0.as_bytes(), encode(child))?;
        }
        for card in &backup.cards {
            self.cards.insert(card.uid.as_str(), encode(card))?;
        }
        for (item, change) in &backup.menu_changes {
            self.menu_changes.insert(item.as_bytes(), encode(change))?;
        }
        self.put_cash_counts(&backup.cash_counts)?;
        // By id, once: a standalone store's outbox holds every entry, and a
        // search per refund and per outbox id would be quadratic.
        let by_id: std::collections::HashMap<Uuid, &Entry> =
            backup.entries.iter().map(|e| (e.id, e)).collect();
        let mut balances = std::collections::BTreeMap::new();
        let mut spent = std::collections::BTreeMap::new();
        // Closed days' entries count in the balances, but stay in the
        // archive; an older backup may hold some of them too.
        for day in self.archive.days()? {
            for entry in self.archive.read_day(day)? {
                if by_id.contains_key(&entry.id) {
                    continue;
                }
                *balances.entry(entry.child).or_insert(Money::ZERO) += entry.amount;
                if let EntryKind::Refund { sale } = &entry.kind {
                    self.refunds.insert(sale.as_bytes(), entry.id.as_bytes())?;
                }
            }
        }
        for entry in &backup.entries {
            self.day_tree(super::id_day(entry.id.as_bytes()))?
                .insert(entry.id.as_bytes(), encode(entry))?;
            *balances.entry(entry.child).or_insert(Money::ZERO) += entry.amount;
            match &entry.kind {
                EntryKind::Sale { .. } => {
                    *spent
                        .entry((local_day(entry.at), entry.child))
                        .or_insert(Money::ZERO) -= entry.amount;
                }
                EntryKind::Refund { sale } => {
                    self.refunds.insert(sale.as_bytes(), entry.id.as_bytes())?;
                    if let Some(sold) = by_id.get(sale) {
                        *spent
                            .entry((local_day(sold.at), sold.child))
                            .or_insert(Money::ZERO) -= entry.amount;
                    }
                }
                _ => {}
            }
        }
        for (child, balance) in balances {
            self.balances.insert(child.0.as_bytes(), encode(&balance))?;
        }
        for ((day, child), amount) in spent {
            self.spent_tree(day)?
                .insert(child.0.as_bytes(), encode(&amount.max(Money::ZERO)))?;
        }
        let mut pending = std::collections::BTreeMap::new();
        for id in &backup.outbox {
            self.outbox.insert(id.as_bytes(), &[])?;
            if let Some(entry) = by_id.get(id) {
                *pending.entry(entry.child).or_insert(Money::ZERO) += entry.amount;
            }
        }
        for (child, amount) in pending {
            self.pending.insert(child.0.as_bytes(), encode(&amount))?;
        }
        self.flush()
    }
}

/// Writes a complete file next to its final name, syncs it, then renames:
/// a crash leaves the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// Writes `klubkasse-DATE.json`, over today's if there is one: the kiosk
/// writes it again when idle and when it stops, so that it holds today's
/// entries too. Keeps the newest 14 days.
pub fn write_daily_backup(
    store: &Store,
    data_dir: &Path,
    today: NaiveDate,
) -> Result<PathBuf, BackupError> {
    let dir = backup_dir(data_dir);
    let path = dir.join(format!("klubkasse-{today}.json"));
    let write_err = |source| BackupError::Write {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(&dir).map_err(write_err)?;
    let bytes = serde_json::to_vec(&store.export()?).map_err(|e| write_err(e.into()))?;
    write_atomically(&path, &bytes).map_err(write_err)?;
    let backups = list_backups(data_dir);
    for old in backups.iter().take(backups.len().saturating_sub(KEEP)) {
        let _ = fs::remove_file(old);
    }
    tracing::info!(path = %path.display(), "wrote daily backup");
    Ok(path)
}

pub fn read_backup(path: &Path) -> Result<Backup, BackupError> {
    let bytes = fs::read(path).map_err(|source| BackupError::Read {
        path: path.into(),
        source,
    })?;
    let backup: Backup = serde_json::from_slice(&bytes).map_err(|e| BackupError::NotABackup {
        path: path.into(),
        detail: e.to_string(),
    })?;
    // Version 2 backups hold nothing version 3 reads differently.
    if backup.format != FORMAT || !(2..=super::SCHEMA_VERSION).contains(&backup.version) {
        return Err(BackupError::NotABackup {
            path: path.into(),
            detail: format!("format {} version {}", backup.format, backup.version),
        });
    }
    Ok(backup)
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    pub store: Store,
    /// Where the store that was there before now lies, if there was one.
    pub set_aside: Option<PathBuf>,
    pub children: usize,
    pub entries: usize,
    /// What the store had that the backup has not (made after it): kept
    /// in `set_aside`, not in the restored store.
    pub dropped: Vec<Entry>,
}

/// What a restore of `file` would do, found without changing anything:
/// the backup, checked, and what the store has that it has not.
pub struct RestorePlan {
    pub backup: Backup,
    /// Made after the backup: not in the restored store.
    pub dropped: Vec<Entry>,
}

/// Reads and checks the backup and compares it with the store there now.
/// Refuses a damaged backup and a store a kiosk has open.
pub fn plan_restore(file: &Path, data_dir: &Path) -> Result<RestorePlan, BackupError> {
    let backup = read_backup(file)?;
    let problems = check(&backup);
    if !problems.is_empty() {
        return Err(BackupError::Damaged {
            path: file.to_path_buf(),
            problems,
        });
    }
    // A store that cannot be opened cannot say; one in use refuses here.
    let dropped = match Store::open_existing(data_dir) {
        Ok(store) => dropped_by(&backup, &store.live_entries()?),
        Err(e @ StoreError::InUse { .. }) => return Err(e.into()),
        Err(e) => {
            tracing::warn!(error = %e, "the store being replaced cannot be read");
            Vec::new()
        }
    };
    Ok(RestorePlan { backup, dropped })
}

/// Replaces the store under `data_dir` with the backup. The old store is
/// moved aside, never deleted: it may still hold something worth rescuing.
pub fn restore_backup(file: &Path, data_dir: &Path) -> Result<Restored, BackupError> {
    let RestorePlan { backup, dropped } = plan_restore(file, data_dir)?;
    let current = data_dir.join("store");
    // A store a kiosk has open is not taken from under it; and no kiosk
    // opens it until the new store is in place.
    let _hold = super::files::Hold::take(&current)?;
    let set_aside = if current.exists() {
        let aside = aside_name(data_dir, "replaced", Utc::now());
        fs::rename(&current, &aside).map_err(|source| BackupError::Write {
            path: aside.clone(),
            source,
        })?;
        Some(aside)
    } else {
        None
    };
    let store = Store::create(data_dir)?;
    store.import(&backup)?;
    Ok(Restored {
        store,
        set_aside,
        children: backup.children.len(),
        entries: backup.entries.len(),
        dropped,
    })
}

/// `store.WHY-TIME`, with `-2`, `-3` … when a restore in the same
/// second already took that name.
pub(super) fn aside_name(data_dir: &Path, why: &str, now: DateTime<Utc>) -> PathBuf {
    let base = format!("store.{why}-{}", now.format("%Y%m%dT%H%M%S"));
    (1..)
        .map(|n| match n {
            1 => data_dir.join(&base),
            n => data_dir.join(format!("{base}-{n}")),
        })
        .find(|path| !path.exists())
        .unwrap_or_else(|| data_dir.join(base))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use klubkasse_core::domain::CardState;
    use proptest::prelude::*;

    fn child(n: usize) -> Child {
        Child {
            id: ChildId::new(),
            name: format!("Barn {n}"),
            daily_limit: None,
            blocked_categories: vec![],
            note: None,
        }
    }

    fn line(kroner: i64, quantity: u32) -> SaleLine {
        SaleLine {
            name: "Toast".into(),
            category: "mad".into(),
            unit_price: Money::kroner(kroner),
            quantity,
        }
    }

    /// A backup as a store would write it: `children` children with a card
    /// each, a deposit each, and `sales` (child, price, quantity, refunded).
    fn backup(children: usize, sales: &[(usize, i64, u32, bool)]) -> Backup {
        let at = Utc::now();
        let kids: Vec<Child> = (0..children).map(child).collect();
        let cards: Vec<Card> = kids
            .iter()
            .enumerate()
            .map(|(n, c)| Card {
                uid: CardUid::parse(&format!("04AB{n:04X}")).unwrap(),
                child: c.id,
                state: CardState::Active,
            })
            .collect();
        let mut entries: Vec<Entry> = kids
            .iter()
            .map(|c| Entry::new(c.id, EntryKind::Deposit, Money::kroner(500), "test", at))
            .collect();
        for &(who, price, quantity, refunded) in sales {
            let n = who % children;
            let sale = Entry::sale(
                kids[n].id,
                cards[n].uid.clone(),
                vec![line(price, quantity)],
                "test",
                at,
            );
            if refunded {
                entries.push(Entry::new(
                    sale.child,
                    EntryKind::Refund { sale: sale.id },
                    -sale.amount,
                    "test",
                    at,
                ));
            }
            entries.push(sale);
        }
        Backup {
            outbox: entries.iter().take(2).map(|e| e.id).collect(),
            children: kids,
            cards,
            entries,
            ..Backup::empty()
        }
    }

    #[test]
    fn a_backup_as_the_store_writes_it_is_sound() {
        assert_eq!(
            check(&backup(3, &[(0, 12, 1, false), (1, 5, 3, true)])),
            vec![]
        );
    }

    #[test]
    fn each_kind_of_damage_is_named() {
        let good = backup(2, &[(0, 12, 2, true)]);
        let mut b = good.clone();
        b.children.push(b.children[0].clone());
        assert_eq!(check(&b), vec![Problem::ChildTwice(b.children[0].id)]);

        let mut b = good.clone();
        let gone = b.children.remove(1);
        let problems = check(&b);
        assert!(problems.contains(&Problem::CardWithoutChild {
            card: b.cards[1].uid.clone(),
            child: gone.id
        }));
        assert!(
            problems.iter().any(
                |p| matches!(p, Problem::EntryWithoutChild { child, .. } if *child == gone.id)
            )
        );

        let mut b = good.clone();
        b.entries.push(b.entries[0].clone());
        assert_eq!(check(&b), vec![Problem::EntryTwice(b.entries[0].id)]);

        let mut b = good.clone();
        let sale = b.entries.iter_mut().find(|e| e.is_sale()).unwrap();
        sale.amount = -Money::kroner(1);
        let id = sale.id;
        assert_eq!(
            check(&b),
            vec![Problem::AmountDiffers {
                entry: id,
                amount: -Money::kroner(1),
                expected: (-Money::kroner(24)).to_string()
            }]
        );

        let mut b = good.clone();
        let mut again = b
            .entries
            .iter()
            .find(|e| !e.is_sale() && e.amount == Money::kroner(24))
            .unwrap()
            .clone();
        again.id = Uuid::now_v7();
        let EntryKind::Refund { sale } = again.kind else {
            panic!("a refund")
        };
        b.entries.push(again);
        assert_eq!(check(&b), vec![Problem::RefundedTwice(sale)]);

        let mut b = good.clone();
        let stray = Uuid::now_v7();
        b.outbox.push(stray);
        assert_eq!(check(&b), vec![Problem::OutboxWithoutEntry(stray)]);

        // A line priced below zero, even with a matching amount: every
        // sale of it would pay money in.
        let mut b = good.clone();
        let sale = b.entries.iter_mut().find(|e| e.is_sale()).unwrap();
        let EntryKind::Sale { lines, .. } = &mut sale.kind else {
            panic!("a sale")
        };
        lines[0].unit_price = -Money::kroner(500);
        let total: Money = lines.iter().map(SaleLine::total).sum();
        sale.amount = -total;
        let id = sale.id;
        assert!(matches!(&check(&b)[..], [Problem::BadLine { entry, .. }] if *entry == id));

        // A price staff could never set, and an opening balance below zero.
        let mut b = good.clone();
        b.menu_changes.insert(
            "Toast".into(),
            super::super::ItemChange {
                price: Some(-Money::kroner(5)),
                sold_out: false,
            },
        );
        let child = b.children[0].id;
        b.entries.push(Entry::new(
            child,
            EntryKind::OpeningBalance,
            -Money::kroner(1000),
            "import",
            Utc::now(),
        ));
        let problems = check(&b);
        assert!(
            matches!(&problems[..], [Problem::AmountDiffers { .. }, Problem::BadPrice { item, .. }] if item == "Toast"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_restore_drops_what_came_after_the_backup_only() {
        let b = backup(1, &[(0, 12, 1, false)]);
        let child = b.children[0].id;
        let card = b.cards[0].uid.clone();
        let later = Entry::sale(
            child,
            card.clone(),
            vec![line(7, 1)],
            "test",
            b.created_at + Duration::seconds(5),
        );
        let earlier = Entry::sale(
            child,
            card,
            vec![line(7, 1)],
            "test",
            b.created_at - Duration::days(1),
        );
        let mut now = b.entries.clone();
        now.push(later.clone());
        now.push(earlier);
        let b = Backup {
            created_at: b.created_at + Duration::seconds(1),
            ..b
        };
        assert_eq!(dropped_by(&b, &now), vec![later]);
    }

    proptest! {
        /// Whatever the store wrote is sound; and any one damage of the
        /// kinds a restore must refuse is found.
        #[test]
        fn sound_backups_pass_and_any_damage_is_found(
            children in 1usize..6,
            sales in proptest::collection::vec((0usize..6, 1i64..40, 1u32..4, any::<bool>()), 0..20),
            damage in 0u8..5,
            pick in any::<prop::sample::Index>(),
        ) {
            let mut b = backup(children, &sales);
            prop_assert_eq!(check(&b), vec![]);
            match damage {
                0 => {
                    let c = b.children[pick.index(b.children.len())].clone();
                    b.children.push(c);
                }
                1 => {
                    let c = b.cards[pick.index(b.cards.len())].clone();
                    b.cards.push(c);
                }
                2 => {
                    let e = b.entries[pick.index(b.entries.len())].clone();
                    b.entries.push(e);
                }
                3 => {
                    b.children.remove(pick.index(b.children.len()));
                }
                _ => {
                    // A sale off by one øre from its lines, or (none sold)
                    // a deposit turned negative.
                    let sold: Vec<usize> = (0..b.entries.len()).filter(|&n| b.entries[n].is_sale()).collect();
                    if sold.is_empty() {
                        let n = pick.index(b.entries.len());
                        b.entries[n].amount = -b.entries[n].amount;
                    } else {
                        let n = sold[pick.index(sold.len())];
                        b.entries[n].amount += Money::from_ore(1);
                    }
                }
            }
            prop_assert!(!check(&b).is_empty());
        }
    }
}
