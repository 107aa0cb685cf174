//! Closed days move to the archive and read as before.

use super::*;

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
    let backup = write_daily_backup(&store, tmp.path(), local_day(Utc::now())).unwrap();
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
