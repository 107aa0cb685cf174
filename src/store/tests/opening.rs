//! Opening a store: backups, damage, in use, reopening at once, format versions.

use super::*;

#[test]
fn backup_restore_round_trip_and_old_store_set_aside() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 100);
    let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(1), "test", Utc::now());
    store.record_sale(&sale, Connection::Standalone).unwrap();
    store.refund(sale.id, "test", Utc::now(), false).unwrap();
    let sale2 = Entry::sale(c.id, uid("04A1B2C3"), toast(3), "test", Utc::now());
    store.record_sale(&sale2, Connection::Standalone).unwrap();
    let today = local_day(Utc::now());
    // Written again the same day, over the first: the newest state.
    write_daily_backup(&store, tmp.path(), today).unwrap();
    let file = write_daily_backup(&store, tmp.path(), today).unwrap();
    assert_eq!(read_backup(&file).unwrap().entries.len(), 4);
    let before = store.export().unwrap();
    drop(store);

    let restored = restore_backup(&file, tmp.path()).unwrap();
    assert!(restored.set_aside.unwrap().exists());
    let store = restored.store;
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(64));
    assert_eq!(store.spent_on(c.id, today).unwrap(), Money::kroner(36));
    assert!(store.is_refunded(sale.id).unwrap());
    assert_eq!(store.all_entries().unwrap(), before.entries);
    assert_eq!(store.outbox_len(), before.outbox.len());
    assert!(store.balance_mismatches().unwrap().is_empty());
}

/// What staff set at the counter is in the backup and comes back with it:
/// a price, sold out, and the day's cash count.
#[test]
fn menu_changes_and_cash_counts_survive_a_restore() {
    let tmp = TempDir::new().unwrap();
    let (store, _) = store_with_child(tmp.path(), 100);
    let change = ItemChange {
        price: Some(Money::kroner(10)),
        sold_out: true,
    };
    store.set_menu_change("Toast", change).unwrap();
    let count = store
        .record_cash_count(Money::kroner(95), "test", Utc::now())
        .unwrap();
    let file = write_daily_backup(&store, tmp.path(), local_day(Utc::now())).unwrap();
    drop(store);

    let store = restore_backup(&file, tmp.path()).unwrap().store;
    assert_eq!(store.menu_changes().unwrap().get("Toast"), Some(&change));
    assert_eq!(
        store.cash_counts_on(local_day(Utc::now())).unwrap(),
        vec![count]
    );
}

/// A restore does not move a store a kiosk has open; and a store set aside
/// by a restore, dropped afterwards, does not wait for the new one.
#[test]
fn a_restore_leaves_a_store_in_use_alone_and_a_set_aside_store_closes() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 100);
    let file = write_daily_backup(&store, tmp.path(), local_day(Utc::now())).unwrap();
    let err = restore_backup(&file, tmp.path()).unwrap_err();
    assert!(
        matches!(err, BackupError::Store(StoreError::InUse { .. })),
        "{err:?}"
    );
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(100));
    assert!(!std::fs::read_dir(tmp.path()).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("store.replaced-")
    }));

    // The store moved aside under a store this process still has open (as
    // a library caller could): dropping the old one must not wait for the
    // new one's lock, which is held until the end.
    let aside = tmp.path().join("store.replaced-by-hand");
    std::fs::rename(tmp.path().join("store"), &aside).unwrap();
    let new = Store::create(tmp.path()).unwrap();
    drop(store);
    assert!(
        Store::open(tmp.path()).is_err(),
        "the new store is still open"
    );
    drop(new);
    Store::open(tmp.path()).unwrap();
}

#[test]
fn missing_store_with_backups_is_not_started_empty() {
    let tmp = TempDir::new().unwrap();
    let (store, _) = store_with_child(tmp.path(), 10);
    write_daily_backup(&store, tmp.path(), local_day(Utc::now())).unwrap();
    drop(store);
    std::fs::remove_dir_all(tmp.path().join("store")).unwrap();
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(matches!(err, StoreError::MissingWithBackups { .. }));
    assert!(err.to_string().contains("klubkasse restore"), "{err}");
    assert!(!tmp.path().join("store").exists());
}

#[test]
fn damaged_store_is_an_error_not_a_fresh_start() {
    let tmp = TempDir::new().unwrap();
    let (store, _) = store_with_child(tmp.path(), 10);
    drop(store);
    let dir = tmp.path().join("store");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::write(&path, b"garbage, not a sled file at all").unwrap();
        }
    }
    // Without a journal nothing can rebuild it.
    let journal = tmp.path().join("journal");
    let kept = tmp.path().join("journal.kept");
    std::fs::rename(&journal, &kept).unwrap();
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(matches!(err, StoreError::Unreadable { .. }), "{err:?}");
    // Looking did not change the damaged files.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert_eq!(
                std::fs::read(&path).unwrap(),
                b"garbage, not a sled file at all"
            );
        }
    }
    std::fs::rename(&kept, &journal).unwrap();
}

/// sled's files unreadable: the store is rebuilt from the journal (and the
/// newest backup), with every child, card and entry; the damaged files are
/// set aside as they were.
#[test]
fn an_unreadable_store_is_rebuilt_from_the_backup_and_the_journal() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 100);
    sell_at(&store, &c, Utc::now(), Connection::Standalone);
    write_daily_backup(&store, tmp.path(), local_day(Utc::now())).unwrap();
    // After the backup: in the journal only.
    let late = child("Efter Backup");
    store.put_child(&late).unwrap();
    store.bind_card(&uid("04FFEE01"), late.id, false).unwrap();
    store
        .deposit(late.id, Money::kroner(40), "test", Utc::now())
        .unwrap();
    let sale = sell_at(&store, &c, Utc::now(), Connection::Standalone);
    store.refund(sale.id, "test", Utc::now(), false).unwrap();
    sell_at(&store, &c, Utc::now(), Connection::Standalone);
    let before = store.export().unwrap();
    drop(store);
    let dir = tmp.path().join("store");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.export().unwrap().entries, before.entries);
    assert_eq!(store.children().unwrap(), before.children);
    assert_eq!(store.cards().unwrap(), before.cards);
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(76));
    assert_eq!(store.balance(late.id).unwrap(), Money::kroner(40));
    assert!(store.is_refunded(sale.id).unwrap());
    assert!(store.balance_mismatches().unwrap().is_empty());
    let aside: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("store.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
}

#[test]
fn a_store_in_use_says_so() {
    let tmp = TempDir::new().unwrap();
    let (_store, _) = store_with_child(tmp.path(), 10);
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
}

/// A dropped store can be opened again at once, however busy the machine:
/// the drop waits until sled has let go of the files (see `files`).
#[test]
fn a_dropped_store_reopens_at_once_while_other_stores_work() {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Other threads keep sled's I/O threads and the cores busy with stores
    // of their own, as the rest of a test run does.
    let others: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let tmp = TempDir::new().unwrap();
                let (mut store, c) = store_with_child(tmp.path(), 1_000_000);
                let mut rounds = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    sell_at(&store, &c, Utc::now(), Connection::Standalone);
                    rounds += 1;
                    if rounds % 20 == 0 {
                        drop(store);
                        store = Store::open(tmp.path()).unwrap();
                    }
                }
            })
        })
        .collect();
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 0);
    drop(store);
    for round in 1..=1000 {
        let store = match Store::open(tmp.path()) {
            Ok(store) => store,
            Err(e) => panic!("round {round}: {e:?}"),
        };
        store
            .deposit(c.id, Money::kroner(1), "test", Utc::now())
            .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for other in others {
        other.join().unwrap();
    }
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(1000));
}

#[test]
fn store_without_version_is_refused() {
    let tmp = TempDir::new().unwrap();
    let (store, _) = store_with_child(tmp.path(), 10);
    store.meta.remove("schema_version").unwrap();
    store.flush().unwrap();
    drop(store);
    std::fs::remove_dir_all(tmp.path().join("journal")).unwrap();
    assert!(matches!(
        Store::open(tmp.path()),
        Err(StoreError::Unreadable { .. })
    ));
}

/// A version 2 store (before opening balances and reversals) is read as
/// it is and marked 3; a store from a newer klubkasse is refused, as an
/// older binary must refuse a version 3 store rather than call its new
/// entries damaged.
#[test]
fn a_version_2_store_opens_and_a_newer_one_is_refused() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 10);
    store.meta.insert("schema_version", "2").unwrap();
    store.flush().unwrap();
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(10));
    assert_eq!(
        store.meta.get("schema_version").unwrap().as_deref(),
        Some(SCHEMA_VERSION.to_string().as_bytes())
    );
    store.meta.insert("schema_version", "4").unwrap();
    store.flush().unwrap();
    drop(store);
    assert!(matches!(
        Store::open(tmp.path()),
        Err(StoreError::WrongVersion { .. })
    ));
}

#[test]
fn a_version_1_store_is_moved_to_day_trees_once_and_keeps_everything() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 500);
    let sales: Vec<Entry> = [2, 1, 0]
        .into_iter()
        .map(|ago| sell_at(&store, &c, noon(ago), Connection::Standalone))
        .collect();
    let all = store.all_entries().unwrap();
    drop(store);
    // Rewrite it as version 1 had it: every entry in one `entries` tree.
    {
        let dir = tmp.path().join("store");
        let db = files::sled_config(&dir).open().unwrap();
        let old = db.open_tree("entries").unwrap();
        for name in db.tree_names() {
            if name.starts_with(DAY_TREE_PREFIX.as_bytes()) {
                for kv in db.open_tree(&name).unwrap().iter() {
                    let (k, v) = kv.unwrap();
                    old.insert(k, v).unwrap();
                }
                db.drop_tree(&name).unwrap();
            }
        }
        let old_spent = db.open_tree("spent").unwrap();
        for name in db.tree_names() {
            if let Some(day) = name.strip_prefix(SPENT_TREE_PREFIX.as_bytes()) {
                for kv in db.open_tree(&name).unwrap().iter() {
                    let (child, v) = kv.unwrap();
                    old_spent.insert([&child[..], day].concat(), v).unwrap();
                }
                db.drop_tree(&name).unwrap();
            }
        }
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", "1")
            .unwrap();
        db.flush().unwrap();
        drop(old);
        drop(old_spent);
        files::close(db, &dir);
    }
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.all_entries().unwrap(), all);
    assert_eq!(store.live_days().len(), 3);
    assert!(
        !store
            .db
            .tree_names()
            .iter()
            .any(|n| n.as_ref() == b"entries")
    );
    assert_eq!(store.entry(sales[0].id).unwrap().unwrap(), sales[0]);
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(464));
    assert!(store.balance_mismatches().unwrap().is_empty());
    // Today's spending comes along (daily limits); past days' does not.
    assert_eq!(
        store.spent_on(c.id, local_day(noon(0))).unwrap(),
        Money::kroner(12)
    );
    assert_eq!(store.days_of(SPENT_TREE_PREFIX), vec![local_day(noon(0))]);
    assert!(!store.db.tree_names().iter().any(|n| n.as_ref() == b"spent"));
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.all_entries().unwrap(), all);
}
