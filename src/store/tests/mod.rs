//! The store's tests, by concern, on real sled files in temporary folders;
//! the helpers they share are here.

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

mod compaction;
mod crashes;
mod days;
mod money;
mod opening;
mod tools;
