use super::*;
use klubkasse_core::domain::{CardUid, Child, ChildId, SaleLine};
use tempfile::TempDir;

fn child(name: &str) -> Child {
    Child {
        id: ChildId::new(),
        name: name.into(),
        daily_limit: None,
        blocked_categories: vec![],
        note: None,
    }
}

fn uid(hex: &str) -> CardUid {
    CardUid::parse(hex).unwrap()
}

fn toast(quantity: u32) -> Vec<SaleLine> {
    vec![SaleLine {
        name: "Toast".into(),
        category: "mad".into(),
        unit_price: Money::kroner(12),
        quantity,
    }]
}

/// A store with one child holding `kroner` on card 04A1B2C3.
fn store_with_child(dir: &Path, kroner: i64) -> (Store, Child) {
    let store = Store::open(dir).unwrap();
    let c = child("Åse Ørsted");
    store.put_child(&c).unwrap();
    store.bind_card(&uid("04A1B2C3"), c.id, false).unwrap();
    if kroner > 0 {
        store
            .deposit(c.id, Money::kroner(kroner), "test", Utc::now())
            .unwrap();
    }
    (store, c)
}

#[test]
fn write_reopen_same() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 100);
    let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(2), "test", Utc::now());
    assert_eq!(
        store.record_sale(&sale, Connection::Standalone).unwrap(),
        Recorded::Saved {
            balance: Money::kroner(76)
        }
    );
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.child(c.id).unwrap().unwrap(), c);
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(76));
    assert_eq!(store.entry(sale.id).unwrap().unwrap(), sale);
    assert_eq!(
        store.spent_on(c.id, local_day(sale.at)).unwrap(),
        Money::kroner(24)
    );
    assert_eq!(store.outbox_len(), 0, "standalone, there is nobody to tell");
    assert!(store.balance_mismatches().unwrap().is_empty());
}

#[test]
fn only_what_a_connected_counter_sells_or_refunds_waits_for_the_ledger() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 100);
    let standalone = Entry::sale(c.id, uid("04A1B2C3"), toast(1), "test", Utc::now());
    store
        .record_sale(&standalone, Connection::Standalone)
        .unwrap();
    store
        .refund(standalone.id, "test", Utc::now(), false)
        .unwrap();
    assert_eq!(store.outbox_len(), 0);

    let online = Entry::sale(c.id, uid("04A1B2C3"), toast(2), "test", Utc::now());
    store.record_sale(&online, Connection::Online).unwrap();
    assert_eq!(store.outbox_len(), 1);
    assert_eq!(store.pending(c.id).unwrap(), Money::kroner(-24));
    let refund = store.refund(online.id, "test", Utc::now(), true).unwrap();
    assert_eq!(store.outbox_len(), 2);
    assert_eq!(store.pending(c.id).unwrap(), Money::ZERO);
    let waiting: Vec<Uuid> = store
        .outbox_batch(10)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(waiting, vec![online.id, refund.id]);
}

#[test]
fn refused_sale_writes_nothing() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 20);
    let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(2), "test", Utc::now());
    assert_eq!(
        store.record_sale(&sale, Connection::Standalone).unwrap(),
        Recorded::Refused(Refusal::NotEnoughMoney {
            available: Money::kroner(20)
        })
    );
    assert!(store.entry(sale.id).unwrap().is_none());
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(20));
    assert_eq!(
        store.spent_on(c.id, local_day(sale.at)).unwrap(),
        Money::ZERO
    );
    assert_eq!(store.outbox_len(), 0);
}

#[test]
fn the_same_sale_twice_charges_once() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 100);
    let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(1), "test", Utc::now());
    let store = std::sync::Arc::new(store);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (store, sale) = (store.clone(), sale.clone());
            std::thread::spawn(move || store.record_sale(&sale, Connection::Standalone).unwrap())
        })
        .collect();
    let results: Vec<Recorded> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let saved = results
        .iter()
        .filter(|r| matches!(r, Recorded::Saved { .. }))
        .count();
    assert_eq!(saved, 1, "{results:?}");
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(88));
    assert!(store.balance_mismatches().unwrap().is_empty());
}

#[test]
fn concurrent_sales_never_overdraw() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 60);
    let store = std::sync::Arc::new(store);
    // Ten sales of 12 kr race for 60 kr: exactly five may win.
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(1), "test", Utc::now());
            std::thread::spawn(move || store.record_sale(&sale, Connection::Standalone).unwrap())
        })
        .collect();
    let saved = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|r| matches!(r, Recorded::Saved { .. }))
        .count();
    assert_eq!(saved, 5);
    assert_eq!(store.balance(c.id).unwrap(), Money::ZERO);
    assert!(store.balance_mismatches().unwrap().is_empty());
}

#[test]
fn blocked_card_is_refused_in_the_transaction() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 100);
    store
        .set_card_state(&uid("04A1B2C3"), CardState::Blocked, false)
        .unwrap();
    let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(1), "test", Utc::now());
    assert!(matches!(
        store.record_sale(&sale, Connection::Standalone).unwrap(),
        Recorded::Refused(Refusal::CardBlocked { .. })
    ));
}

#[test]
fn refund_once_and_restores_daily_room() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 100);
    let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(2), "test", Utc::now());
    store.record_sale(&sale, Connection::Standalone).unwrap();
    let refund = store.refund(sale.id, "test", Utc::now(), false).unwrap();
    assert_eq!(refund.amount, Money::kroner(24));
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(100));
    assert_eq!(
        store.spent_on(c.id, local_day(sale.at)).unwrap(),
        Money::ZERO
    );
    assert!(matches!(
        store.refund(sale.id, "test", Utc::now(), false),
        Err(StoreError::AlreadyRefunded(_))
    ));
    assert!(matches!(
        store.refund(refund.id, "test", Utc::now(), false),
        Err(StoreError::NoSuchSale(_))
    ));
    assert!(store.balance_mismatches().unwrap().is_empty());
}

#[test]
fn a_card_belongs_to_one_child() {
    let tmp = TempDir::new().unwrap();
    let (store, _) = store_with_child(tmp.path(), 0);
    let other = child("Bo");
    store.put_child(&other).unwrap();
    assert!(matches!(
        store.bind_card(&uid("04A1B2C3"), other.id, false),
        Err(StoreError::CardTaken { .. })
    ));
}

#[test]
fn day_range_holds_exactly_that_day() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 500);
    let today = local_day(Utc::now());
    let (start, end) = day_bounds(today);
    let times = [
        start - chrono::Duration::milliseconds(1),
        start,
        end - chrono::Duration::milliseconds(1),
        end,
    ];
    let ids: Vec<Uuid> = times
        .iter()
        .map(|&at| {
            let e = Entry::sale(c.id, uid("04A1B2C3"), toast(1), "test", at);
            store.record_sale(&e, Connection::Standalone).unwrap();
            e.id
        })
        .collect();
    let on_day: Vec<Uuid> = store
        .entries_on(today)
        .unwrap()
        .into_iter()
        .filter(Entry::is_sale)
        .map(|e| e.id)
        .collect();
    assert_eq!(on_day, vec![ids[1], ids[2]]);
}

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
    let file = write_daily_backup(&store, tmp.path(), today)
        .unwrap()
        .unwrap();
    assert!(
        write_daily_backup(&store, tmp.path(), today)
            .unwrap()
            .is_none()
    );
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
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(matches!(err, StoreError::Unreadable { .. }), "{err:?}");
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
    assert!(matches!(
        Store::open(tmp.path()),
        Err(StoreError::Unreadable { .. })
    ));
}

/// The child half of `killed_mid_sales_keeps_every_confirmed_sale`.
fn sell_until_killed(dir: &Path) {
    let store = Store::open(dir).unwrap();
    let card = uid("04A1B2C3");
    let child = store.card(&card).unwrap().unwrap().child;
    loop {
        let sale = Entry::sale(child, card.clone(), toast(1), "test", Utc::now());
        if let Recorded::Saved { .. } = store.record_sale(&sale, Connection::Standalone).unwrap() {
            // Only now may anyone be told "paid".
            println!("CONFIRMED {}", sale.id);
        }
    }
}

#[test]
fn killed_mid_sales_keeps_every_confirmed_sale() {
    if let Ok(dir) = std::env::var("KLUBKASSE_SELL_UNTIL_KILLED") {
        sell_until_killed(Path::new(&dir));
        return;
    }
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 1_000_000);
    drop(store);
    for round in 0..3 {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::tests::killed_mid_sales_keeps_every_confirmed_sale",
                "--nocapture",
            ])
            .env("KLUBKASSE_SELL_UNTIL_KILLED", tmp.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(400 + round * 150));
        child.kill().unwrap(); // SIGKILL: no destructors, no flush
        let out = child.wait_with_output().unwrap();
        let confirmed: Vec<Uuid> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("CONFIRMED "))
            .filter_map(|id| Uuid::parse_str(id.trim()).ok())
            .collect();
        assert!(
            !confirmed.is_empty(),
            "round {round}: the child sold nothing"
        );
        let store = Store::open(tmp.path()).unwrap();
        for id in &confirmed {
            assert!(
                store.entry(*id).unwrap().is_some(),
                "confirmed sale {id} lost"
            );
        }
        assert!(store.balance_mismatches().unwrap().is_empty());
        let sales = store
            .all_entries()
            .unwrap()
            .into_iter()
            .filter(Entry::is_sale)
            .count();
        assert!(sales >= confirmed.len());
        assert_eq!(
            store.balance(c.id).unwrap(),
            Money::kroner(1_000_000) - Money::kroner(12) * sales as u32
        );
    }
}

#[test]
fn a_sale_cut_short_at_any_write_is_taken_back_at_the_next_start() {
    let writes = {
        let tmp = TempDir::new().unwrap();
        let (store, c) = store_with_child(tmp.path(), 100);
        let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(1), "test", Utc::now());
        let archived = store.lock();
        match store
            .plan_sale(&archived, &sale, Connection::Online)
            .unwrap()
        {
            sale::Planned::Write(plan) => plan.writes.len(),
            sale::Planned::Answer(a) => panic!("not planned: {a:?}"),
        }
    };
    assert_eq!(
        writes, 6,
        "journal, balance, spending, outbox, pending, entry"
    );
    for cut in 0..=writes {
        let tmp = TempDir::new().unwrap();
        let (store, c) = store_with_child(tmp.path(), 100);
        // An earlier sale, so that every key has a value to go back to.
        let first = Entry::sale(c.id, uid("04A1B2C3"), toast(1), "test", Utc::now());
        store.record_sale(&first, Connection::Online).unwrap();
        assert!(
            store.meta.get(sale::JOURNAL).unwrap().is_none(),
            "a whole sale leaves no journal behind"
        );
        let before = contents(&store, &c);
        let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(2), "test", Utc::now());
        {
            let archived = store.lock();
            let sale::Planned::Write(plan) = store
                .plan_sale(&archived, &sale, Connection::Online)
                .unwrap()
            else {
                panic!("not planned");
            };
            // What a crash after `cut` writes leaves: sled recovers a prefix.
            for (tree, key, value) in &plan.writes[..cut] {
                tree.insert(key, value.as_slice()).unwrap();
            }
        }
        store.db.flush().unwrap();
        drop(store);
        let store = Store::open(tmp.path()).unwrap();
        if cut < writes {
            assert_eq!(contents(&store, &c), before, "cut after {cut} writes");
        } else {
            assert_eq!(store.entry(sale.id).unwrap(), Some(sale.clone()));
            assert_eq!(store.balance(c.id).unwrap(), Money::kroner(100 - 36));
            assert_eq!(store.pending(c.id).unwrap(), Money::kroner(-36));
        }
        if (1..writes).contains(&cut) {
            assert!(
                store.meta.get(sale::JOURNAL).unwrap().is_none(),
                "taking back ends the journal"
            );
        }
        assert!(store.balance_mismatches().unwrap().is_empty());
    }
}

#[test]
fn a_panic_during_a_store_write_closes_the_store_until_it_is_reopened() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 100);
    let panicked = std::thread::scope(|s| {
        s.spawn(|| {
            let _lock = store.lock();
            panic!("a bug in the middle of a sale");
        })
        .join()
    });
    assert!(panicked.is_err());
    let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(1), "test", Utc::now());
    assert!(matches!(
        store.record_sale(&sale, Connection::Standalone),
        Err(StoreError::Failed)
    ));
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    assert!(matches!(
        store.record_sale(&sale, Connection::Standalone),
        Ok(Recorded::Saved { .. })
    ));
}

#[test]
fn bulk_load_matches_one_by_one() {
    let (one_dir, bulk_dir) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let one = Store::open(one_dir.path()).unwrap();
    let kids = [child("Freja"), child("Søren")];
    let uids = [uid("04A1B2C3"), uid("04A1B2C4")];
    let day1 = Utc::now() - chrono::Duration::days(3);
    let day2 = day1 + chrono::Duration::days(1);
    let mut cards = vec![];
    for (c, u) in kids.iter().zip(&uids) {
        one.put_child(c).unwrap();
        cards.push(one.bind_card(u, c.id, false).unwrap());
        one.deposit(c.id, Money::kroner(100), "test", day1).unwrap();
    }
    let mut sales = vec![];
    for (i, at) in [day1, day1, day2, day2, day2].into_iter().enumerate() {
        let k = i % 2;
        let sale = Entry::sale(
            kids[k].id,
            uids[k].clone(),
            toast(1 + i as u32 % 2),
            "t",
            at,
        );
        assert!(matches!(
            one.record_sale(&sale, Connection::Standalone).unwrap(),
            Recorded::Saved { .. }
        ));
        sales.push(sale);
    }
    one.refund(sales[2].id, "t", day2, false).unwrap();

    let bulk = Store::open(bulk_dir.path()).unwrap();
    let entries = one.all_entries().unwrap();
    // In two chunks, as a generator loads: balances must add up across calls.
    let (first, rest) = entries.split_at(4);
    bulk.bulk_load(&kids, &cards, first).unwrap();
    bulk.bulk_load(&[], &[], rest).unwrap();
    // A second load of the same entries changes nothing.
    bulk.bulk_load(&[], &[], rest).unwrap();

    assert!(bulk.balance_mismatches().unwrap().is_empty());
    assert_eq!(bulk.all_entries().unwrap(), entries);
    for c in &kids {
        assert_eq!(bulk.balance(c.id).unwrap(), one.balance(c.id).unwrap());
        for at in [day1, day2] {
            let day = local_day(at);
            assert_eq!(
                bulk.spent_on(c.id, day).unwrap(),
                one.spent_on(c.id, day).unwrap()
            );
        }
    }
    assert!(bulk.is_refunded(sales[2].id).unwrap());
    for at in [day1, day2] {
        let day = local_day(at);
        assert_eq!(bulk.day_report(day).unwrap(), one.day_report(day).unwrap());
    }
}

// ---- closed days move to the archive ---------------------------------------

/// Noon on the day `days_ago` before today, local time.
fn noon(days_ago: u64) -> DateTime<Utc> {
    let day = local_day(Utc::now()) - chrono::Days::new(days_ago);
    let (start, _) = day_bounds(day);
    start + chrono::Duration::hours(12)
}

/// Sells one toast at `at` and returns the sale.
fn sell_at(store: &Store, c: &Child, at: DateTime<Utc>, connection: Connection) -> Entry {
    let sale = Entry::sale(c.id, uid("04A1B2C3"), toast(1), "test", at);
    let recorded = store.record_sale(&sale, connection).unwrap();
    assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    sale
}

/// Closes days until nothing is left to close; returns the days moved.
fn close_all(store: &Store, today: NaiveDate) -> Vec<NaiveDate> {
    let mut days = vec![];
    loop {
        let closed = store.close_day(today).unwrap();
        days.extend(closed.day);
        if !closed.more {
            return days;
        }
    }
}

/// The ledger confirms `entry`, with the child's balance there.
fn ledger_has(store: &Store, entry: &Entry, balance_kroner: i64) {
    store
        .acknowledge(&[klubkasse_core::protocol::Pushed {
            id: entry.id,
            new: true,
            flags: vec![],
            balance: Money::kroner(balance_kroner),
        }])
        .unwrap();
}

#[test]
fn closed_days_move_to_the_archive_and_read_as_before() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 500);
    let today = local_day(Utc::now());
    let sales: Vec<Entry> = [3, 3, 2, 0]
        .into_iter()
        .map(|ago| sell_at(&store, &c, noon(ago), Connection::Standalone))
        .collect();
    let refund = store.refund(sales[1].id, "test", noon(3), false).unwrap();
    let before: Vec<Vec<Entry>> = (0..4)
        .map(|ago| store.entries_on(local_day(noon(ago))).unwrap())
        .collect();
    let all_before = store.all_entries().unwrap();
    let balance = store.balance(c.id).unwrap();

    // The deposit (today) and the past days' sales: one day per call.
    let days = close_all(&store, today);
    assert_eq!(days, vec![local_day(noon(3)), local_day(noon(2))]);

    // Past days are files now, out of sled; reads are as before.
    let live: Vec<Uuid> = store.live_entries().unwrap().iter().map(|e| e.id).collect();
    assert!(!live.contains(&sales[0].id) && !live.contains(&refund.id));
    assert!(live.contains(&sales[3].id));
    assert!(
        tmp.path()
            .join("archive")
            .join(local_day(noon(3)).format("%Y").to_string())
            .exists()
    );
    for ago in 0..4 {
        assert_eq!(
            store.entries_on(local_day(noon(ago))).unwrap(),
            before[ago as usize]
        );
    }
    assert_eq!(store.all_entries().unwrap(), all_before);
    assert_eq!(store.entry(sales[0].id).unwrap().unwrap(), sales[0]);
    assert_eq!(store.balance(c.id).unwrap(), balance);
    assert!(store.balance_mismatches().unwrap().is_empty());
    // Past days' spending is forgotten; today's is what limits count.
    assert_eq!(
        store.spent_on(c.id, local_day(noon(2))).unwrap(),
        Money::ZERO
    );
    assert_eq!(store.spent_on(c.id, today).unwrap(), Money::kroner(12));

    // Closing again finds nothing to do.
    assert_eq!(store.close_day(today).unwrap(), Closed::default());
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.all_entries().unwrap(), all_before);
}

#[test]
fn a_day_with_a_sale_the_ledger_has_not_confirmed_stays_until_it_has() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 500);
    let today = local_day(Utc::now());
    let waiting = sell_at(&store, &c, noon(1), Connection::Online);
    let sent = sell_at(&store, &c, noon(1), Connection::Online);
    ledger_has(&store, &sent, 476);
    // A day with a sale still waiting stays in sled, whole.
    assert_eq!(close_all(&store, today), vec![]);
    assert_eq!(store.outbox_batch(10).unwrap(), vec![waiting.clone()]);
    assert_eq!(store.entries_on(local_day(noon(1))).unwrap(), {
        let mut both = vec![waiting.clone(), sent];
        both.sort_by_key(|e| e.id);
        both
    });
    // Once the ledger has it, the day moves.
    ledger_has(&store, &waiting, 464);
    assert_eq!(close_all(&store, today), vec![local_day(noon(1))]);
    assert!(
        !store
            .live_entries()
            .unwrap()
            .iter()
            .any(|e| e.id == waiting.id)
    );
    assert_eq!(store.entries_on(local_day(noon(1))).unwrap().len(), 2);
}

#[test]
fn a_crash_between_the_day_file_and_sled_counts_every_entry_once() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 500);
    let today = local_day(Utc::now());
    let sales: Vec<Entry> = (0..3)
        .map(|_| sell_at(&store, &c, noon(1), Connection::Standalone))
        .collect();
    let day = local_day(noon(1));
    // What close_day leaves when killed after the file, before sled.
    Archive::in_data_dir(tmp.path())
        .add_to_day(day, &sales[..2])
        .unwrap();
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.entries_on(day).unwrap(), sales);
    assert_eq!(store.all_entries().unwrap().len(), 4); // the deposit too
    assert!(store.balance_mismatches().unwrap().is_empty());
    // The retried move merges: each entry once in the file, none in sled.
    assert_eq!(close_all(&store, today), vec![day]);
    assert_eq!(
        Archive::in_data_dir(tmp.path()).read_day(day).unwrap(),
        sales
    );
    assert_eq!(store.live_entries().unwrap().len(), 1);
}

#[test]
fn a_retried_sale_from_a_closed_day_is_not_charged_again() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 500);
    let sale = sell_at(&store, &c, noon(1), Connection::Standalone);
    close_all(&store, local_day(Utc::now()));
    assert_eq!(
        store.record_sale(&sale, Connection::Standalone).unwrap(),
        Recorded::AlreadySaved {
            balance: Money::kroner(488)
        }
    );
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(488));
    assert_eq!(store.all_entries().unwrap().len(), 2);
}

#[test]
fn a_restore_counts_the_archive_in_the_balances() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 500);
    let old = sell_at(&store, &c, noon(2), Connection::Standalone);
    store.refund(old.id, "test", noon(2), false).unwrap();
    sell_at(&store, &c, noon(2), Connection::Standalone);
    sell_at(&store, &c, noon(0), Connection::Standalone);
    close_all(&store, local_day(Utc::now()));
    let backup = write_daily_backup(&store, tmp.path(), local_day(Utc::now()))
        .unwrap()
        .unwrap();
    // The backup holds only what is still live: the deposit, today's sale.
    assert_eq!(read_backup(&backup).unwrap().entries.len(), 2);
    drop(store);
    let restored = restore_backup(&backup, tmp.path()).unwrap();
    let store = restored.store;
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(476));
    assert!(store.is_refunded(old.id).unwrap());
    assert!(store.balance_mismatches().unwrap().is_empty());
    assert_eq!(store.all_entries().unwrap().len(), 5);
}

#[test]
fn a_damaged_day_file_is_named_in_the_error() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 500);
    sell_at(&store, &c, noon(1), Connection::Standalone);
    let day = local_day(noon(1));
    close_all(&store, local_day(Utc::now()));
    let file = tmp
        .path()
        .join("archive")
        .join(day.format("%Y").to_string())
        .join(format!("{day}.jsonl"));
    std::fs::write(&file, b"{\"not\": \"an entry\"}\n").unwrap();
    let err = store.entries_on(day).unwrap_err().to_string();
    assert!(err.contains(&format!("{day}.jsonl, line 1")), "{err}");
    // Today's selling does not read the archive.
    sell_at(&store, &c, noon(0), Connection::Standalone);
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

// ---- fresh files for a grown store -----------------------------------------

/// What a store holds, as far as anyone can ask.
fn contents(store: &Store, c: &Child) -> impl PartialEq + std::fmt::Debug + use<> {
    (
        store.all_entries().unwrap(),
        store.children().unwrap(),
        store.cards().unwrap(),
        store.balance(c.id).unwrap(),
        store.pending(c.id).unwrap(),
        store.spent_on(c.id, local_day(Utc::now())).unwrap(),
        store.outbox_batch(100).unwrap(),
        store.pin_guard().unwrap(),
        store.sync_cursor().unwrap(),
    )
}

#[test]
fn a_grown_store_gets_fresh_files_with_everything_in_them() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 5000);
    sell_at(&store, &c, noon(1), Connection::Standalone);
    close_all(&store, local_day(Utc::now()));
    for _ in 0..200 {
        sell_at(&store, &c, Utc::now(), Connection::Online);
    }
    // Closing a day marks the store for fresh files at the next start…
    assert!(store.meta.contains_key(compact::DAYS_LEFT_KEY).unwrap());
    let before = contents(&store, &c);
    store.compact().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(contents(&store, &c), before);
    // …and the fresh files are not marked again.
    assert!(!store.meta.contains_key(compact::DAYS_LEFT_KEY).unwrap());
    // Recorded, so the next start does not compact again.
    assert!(store.meta.get(compact::SIZE_KEY).unwrap().is_some());
    assert!(!tmp.path().join("store.compact").exists());
    assert!(!tmp.path().join("store.before-compaction").exists());
}

#[test]
fn a_compaction_cut_short_is_finished_or_undone_at_the_next_start() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 500);
    sell_at(&store, &c, Utc::now(), Connection::Standalone);
    let before = contents(&store, &c);
    drop(store);
    let (live, fresh, old) = (
        tmp.path().join("store"),
        tmp.path().join("store.compact"),
        tmp.path().join("store.before-compaction"),
    );
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for file in std::fs::read_dir(from).unwrap() {
            let file = file.unwrap();
            if file.file_type().unwrap().is_file() {
                std::fs::copy(file.path(), to.join(file.file_name())).unwrap();
            }
        }
    };
    // Killed while writing the copy: the copy goes, the store stays.
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("db"), b"half").unwrap();
    assert_eq!(contents(&Store::open(tmp.path()).unwrap(), &c), before);
    assert!(!fresh.exists());
    // Killed between the two renames: the whole copy becomes the store.
    copy(&live, &fresh);
    std::fs::rename(&live, &old).unwrap();
    assert_eq!(contents(&Store::open(tmp.path()).unwrap(), &c), before);
    assert!(!old.exists() && !fresh.exists());
    // Killed before the old folder was removed.
    copy(&live, &old);
    assert_eq!(contents(&Store::open(tmp.path()).unwrap(), &c), before);
    assert!(!old.exists());
}
