//! Staff's tools in the store: menu changes, sales without the card.

use super::*;

#[test]
fn menu_changes_are_kept_until_changed_back() {
    let tmp = TempDir::new().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    assert!(store.menu_changes().unwrap().is_empty());
    let cheaper = ItemChange {
        price: Some(Money::kroner(10)),
        sold_out: false,
    };
    let gone = ItemChange {
        price: None,
        sold_out: true,
    };
    store.set_menu_change("Toast", cheaper).unwrap();
    let now = store.set_menu_change("Frugt", gone).unwrap();
    assert_eq!(
        now,
        MenuChanges::from([("Frugt".into(), gone), ("Toast".into(), cheaper)])
    );
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.menu_changes().unwrap(), now);
    // Both at once, then back: a change that changes nothing is not kept.
    let both = ItemChange {
        price: Some(Money::kroner(11)),
        sold_out: true,
    };
    store.set_menu_change("Toast", both).unwrap();
    assert_eq!(store.menu_changes().unwrap()["Toast"], both);
    store
        .set_menu_change("Toast", ItemChange::default())
        .unwrap();
    let left = store
        .set_menu_change("Frugt", ItemChange::default())
        .unwrap();
    assert!(left.is_empty());
    drop(store);
    assert!(
        Store::open(tmp.path())
            .unwrap()
            .menu_changes()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_sale_without_card_is_charged_under_the_childs_rules() {
    let tmp = TempDir::new().unwrap();
    let (store, mut c) = store_with_child(tmp.path(), 30);
    c.daily_limit = Some(Money::kroner(24));
    store.put_child(&c).unwrap();
    let sale = Entry::sale(c.id, None, toast(2), "test", Utc::now());
    assert_eq!(
        store.record_sale(&sale, Connection::Standalone).unwrap(),
        Recorded::Saved {
            balance: Money::kroner(6)
        }
    );
    assert_eq!(store.entry(sale.id).unwrap(), Some(sale.clone()));
    let more = Entry::sale(c.id, None, toast(1), "test", Utc::now());
    assert_eq!(
        store.record_sale(&more, Connection::Standalone).unwrap(),
        Recorded::Refused(Refusal::NotEnoughMoney {
            available: Money::kroner(6)
        })
    );
    // Blocking the card does not block the child.
    store
        .set_card_state(&uid("04A1B2C3"), CardState::Blocked, false)
        .unwrap();
    let view = store
        .account(c.id, Utc::now(), Connection::Standalone)
        .unwrap();
    assert_eq!(view.card, None);
    assert_eq!(view.balance, Money::kroner(6));
    assert_eq!(view.spent_today, Money::kroner(24));
    store
        .deposit(c.id, Money::kroner(50), "test", Utc::now())
        .unwrap();
    let over_limit = Entry::sale(c.id, None, toast(1), "test", Utc::now());
    assert!(matches!(
        store
            .record_sale(&over_limit, Connection::Standalone)
            .unwrap(),
        Recorded::Refused(Refusal::DailyLimitReached { .. })
    ));
    // The card's sale is refused where the child's own is not.
    let tapped = Entry::sale(c.id, uid("04A1B2C3"), toast(0), "test", Utc::now());
    assert!(matches!(
        store.record_sale(&tapped, Connection::Standalone).unwrap(),
        Recorded::Refused(Refusal::CardBlocked { .. })
    ));
    assert!(matches!(
        store.account(ChildId::new(), Utc::now(), Connection::Standalone),
        Err(StoreError::NoSuchChild(_))
    ));
    assert!(store.balance_mismatches().unwrap().is_empty());
}
