//! A crash, a cut-short write or a panic at any point leaves nothing half done.

use super::*;

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
                "store::tests::crashes::killed_mid_sales_keeps_every_confirmed_sale",
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
