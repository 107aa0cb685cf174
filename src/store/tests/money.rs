//! Sales, refunds, cards and days: what is written, and that nothing is charged twice.

use super::*;

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
fn an_unblocked_card_pays_again_and_connected_the_ledger_hears_of_it() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 100);
    let card = uid("04A1B2C3");
    store
        .set_card_state(&card, CardState::Blocked, true)
        .unwrap();
    store
        .set_card_state(&card, CardState::Active, true)
        .unwrap();
    let actions: Vec<CardAction> = store
        .card_actions()
        .unwrap()
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    assert_eq!(
        actions,
        [
            CardAction::Block { uid: card.clone() },
            CardAction::Unblock { uid: card.clone() }
        ],
        "in the order staff did them"
    );
    let sale = Entry::sale(c.id, card, toast(1), "test", Utc::now());
    assert!(matches!(
        store.record_sale(&sale, Connection::Standalone).unwrap(),
        Recorded::Saved { .. }
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

/// A wrong top-up taken back: once, only today's and this counter's, and
/// never below zero; the books still add up, and a reopened store agrees.
#[test]
fn a_top_up_is_reversed_once_within_the_day() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 0);
    let now = Utc::now();
    store.deposit(c.id, Money::kroner(50), "test", now).unwrap();
    let wrong = Entry::new(c.id, EntryKind::Deposit, Money::kroner(2000), "test", now);
    store.record_entry(&wrong).unwrap();
    assert!(matches!(
        store.reverse_deposit(wrong.id, "other", now),
        Err(StoreError::NotReversible(_))
    ));
    let (reversal, balance) = store.reverse_deposit(wrong.id, "test", now).unwrap();
    assert_eq!(balance, Money::kroner(50));
    assert_eq!(reversal.amount, Money::kroner(-2000));
    assert!(matches!(
        store.reverse_deposit(wrong.id, "test", now),
        Err(StoreError::AlreadyReversed(_))
    ));
    // A sale is no top-up.
    let sale = sell_at(&store, &c, now, Connection::Standalone);
    assert!(matches!(
        store.reverse_deposit(sale.id, "test", now),
        Err(StoreError::NoSuchDeposit(_))
    ));
    // Spent since: 50 - 12 left, less than the 50 paid in.
    let first = store
        .entries_on(local_day(now))
        .unwrap()
        .into_iter()
        .find(|e| e.kind == EntryKind::Deposit && e.amount == Money::kroner(50))
        .unwrap();
    assert!(matches!(
        store.reverse_deposit(first.id, "test", now),
        Err(StoreError::SpentSinceTopUp { balance, amount })
            if balance == Money::kroner(38) && amount == Money::kroner(50)
    ));
    // Yesterday's top-up is past taking back.
    let old = Entry::new(c.id, EntryKind::Deposit, Money::kroner(5), "test", noon(1));
    store.record_entry(&old).unwrap();
    assert!(matches!(
        store.reverse_deposit(old.id, "test", now),
        Err(StoreError::NotReversible(_))
    ));
    assert!(store.balance_mismatches().unwrap().is_empty());
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.balance(c.id).unwrap(), Money::kroner(43));
    let report = store.day_report(local_day(now)).unwrap();
    assert_eq!(report.reversals_total, Money::kroner(2000));
    assert_eq!(report.expected_cash(), Money::kroner(50));
}

/// A cash count is kept with what was expected then, and a later top-up
/// does not change it.
#[test]
fn cash_counts_are_kept_for_the_day() {
    let tmp = TempDir::new().unwrap();
    let (store, c) = store_with_child(tmp.path(), 0);
    let now = Utc::now();
    store
        .deposit(c.id, Money::kroner(120), "test", now)
        .unwrap();
    let count = store
        .record_cash_count(Money::kroner(100), "test", now)
        .unwrap();
    assert_eq!(count.expected, Money::kroner(120));
    assert_eq!(count.difference(), Money::kroner(-20));
    store.deposit(c.id, Money::kroner(30), "test", now).unwrap();
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    let day = local_day(now);
    assert_eq!(store.cash_counts_on(day).unwrap(), vec![count.clone()]);
    let report = store.day_report(day).unwrap();
    assert_eq!(report.last_count(), Some(&count));
    assert_eq!(report.expected_cash(), Money::kroner(150));
    assert!(
        store
            .cash_counts_on(day.pred_opt().unwrap())
            .unwrap()
            .is_empty()
    );
}
