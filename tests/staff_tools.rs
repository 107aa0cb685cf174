//! The staff tools headless, through the real update() and effects on a
//! real store: a sale and the balance without the card, the day's
//! activity, prices and sold out, and taps that pick the child.

use klubkasse::action::StaffOutcome;
use klubkasse::ui::screens::result::ResultScreen;
use klubkasse::ui::screens::staff::{ActivityPage, BalancePage, Message, Page, Task};
use klubkasse::ui::{Action, Screen};
use klubkasse_core::domain::{EntryKind, Money, Refusal};
use klubkasse_testkit::kiosk::*;

fn staff_page(kiosk: &Kiosk) -> &Page {
    match &kiosk.app.screen {
        Screen::Staff(s) => &s.page,
        other => panic!("expected the staff screen, got {other:?}"),
    }
}

fn staff_message(kiosk: &Kiosk) -> Option<Message> {
    match &kiosk.app.screen {
        Screen::Staff(s) => s.message.clone(),
        other => panic!("expected the staff screen, got {other:?}"),
    }
}

/// Every sale in the store, oldest first.
fn sales(kiosk: &Kiosk) -> Vec<klubkasse_core::domain::Entry> {
    let entries = kiosk.store().all_entries().unwrap();
    entries.into_iter().filter(|e| e.is_sale()).collect()
}

#[test]
fn a_child_who_forgot_the_card_buys_by_name_under_the_same_rules() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.open_task(Task::SellWithoutCard);
    k.type_text("frej");
    k.send(Action::Confirm);
    let Screen::Sale(sale) = &k.app.screen else {
        panic!("{:?}", k.app.screen)
    };
    assert_eq!(sale.view.child.name, "Freja Nielsen");
    assert_eq!(sale.view.card, None);
    k.keys("11");
    k.send(Action::Confirm);
    assert!(matches!(
        &k.app.screen,
        Screen::Result(ResultScreen::Paid { .. })
    ));
    assert_eq!(k.balance(FREJA), Money::kroner(226));
    let [sale] = sales(&k).try_into().unwrap();
    assert!(matches!(sale.kind, EntryKind::Sale { card: None, .. }));
    // Back to idle as after a tap.
    k.app.now += chrono::Duration::seconds(10);
    k.send_only(Action::Tick);
    assert!(matches!(k.app.screen, Screen::Idle));

    // William's daily limit (20 kr.) holds without the card too.
    k.staff_login();
    k.open_task(Task::SellWithoutCard);
    k.type_text("william");
    k.send(Action::Confirm);
    k.keys("3");
    k.keys("4");
    k.send(Action::Confirm);
    // Refused on the sale screen, the basket kept, as at a tap.
    assert!(matches!(
        &k.app.screen,
        Screen::Sale(s) if matches!(s.refusal, Some(Refusal::DailyLimitReached { .. }))
    ));
    k.send(Action::Cancel);
    // Ida's card is blocked, but Ida is not: by name she may buy.
    k.staff_login();
    k.open_task(Task::SellWithoutCard);
    k.type_text("ida");
    k.send(Action::Confirm);
    k.keys("2");
    k.send(Action::Confirm);
    assert!(matches!(
        &k.app.screen,
        Screen::Result(ResultScreen::Paid { .. })
    ));
    assert!(k.store().balance_mismatches().unwrap().is_empty());
}

#[test]
fn a_tap_while_choosing_a_child_to_sell_to_sells_with_the_card() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.open_task(Task::SellWithoutCard);
    k.tap(NOAH);
    let Screen::Sale(sale) = &k.app.screen else {
        panic!("{:?}", k.app.screen)
    };
    assert_eq!(sale.view.child.name, "Noah Sørensen");
    assert_eq!(
        sale.view.card.as_ref().map(|c| c.uid.clone()),
        Some(uid(NOAH))
    );
}

#[test]
fn the_balance_and_todays_purchases_without_the_card() {
    let mut k = Kiosk::demo();
    k.tap(WILLIAM);
    k.keys("3");
    k.send(Action::Confirm);
    k.staff_login();
    k.open_task(Task::Balance);
    k.type_text("will");
    k.send(Action::Confirm);
    let Page::Balance(BalancePage {
        account: Some(account),
        ..
    }) = staff_page(&k)
    else {
        panic!("{:?}", staff_page(&k))
    };
    assert_eq!(account.view.child.name, "William Pedersen");
    assert_eq!(account.view.balance, Money::kroner(132));
    assert_eq!(account.view.spent_today, Money::kroner(18));
    // Newest first: the sale, then the opening balance.
    assert!(account.today[0].entry.is_sale());
    assert!(
        account
            .today
            .iter()
            .all(|row| row.child_name == "William Pedersen")
    );
    assert_eq!(account.today.len(), 2);
}

#[test]
fn a_tap_while_picking_or_typing_a_top_up_picks_that_child() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.open_task(Task::TopUp);
    k.tap(OSCAR);
    let Page::Amount(page) = staff_page(&k) else {
        panic!("{:?}", staff_page(&k))
    };
    assert_eq!(page.child.name, "Oscar Hansen");
    k.type_text("20");
    // Another card while typing: the top-up is for its child now.
    k.tap(FREJA);
    let Page::Amount(page) = staff_page(&k) else {
        panic!("{:?}", staff_page(&k))
    };
    assert_eq!(page.child.name, "Freja Nielsen");
    assert_eq!(page.input, "20");
    // A card nobody here owns picks nobody.
    k.tap("0A0B0C0D");
    assert_eq!(
        staff_message(&k),
        Some(Message::CardUnknown {
            uid: uid("0A0B0C0D")
        })
    );
    k.send(Action::Confirm); // asks
    k.send(Action::Confirm); // pays in
    assert_eq!(k.balance(FREJA), Money::kroner(270));
    assert_eq!(k.balance(OSCAR), Money::from_ore(350));
}

#[test]
fn todays_activity_is_searchable_and_refunds_stay_in_the_list() {
    let mut k = Kiosk::demo();
    for (card, items) in [(FREJA, "1"), (NOAH, "4"), (ALMA, "2")] {
        k.tap(card);
        k.keys(items);
        k.send(Action::Confirm);
    }
    k.staff_login();
    k.open_task(Task::Activity);
    let matching = |k: &Kiosk| match staff_page(k) {
        Page::Activity(page @ ActivityPage { rows: Some(_), .. }) => {
            let filter = page.filter.to_lowercase();
            page.rows
                .iter()
                .flatten()
                .filter(|row| {
                    row.child_name.to_lowercase().contains(&filter)
                        || matches!(&row.entry.kind, EntryKind::Sale { lines, .. }
                            if lines.iter().any(|l| l.name.to_lowercase().contains(&filter)))
                })
                .map(|row| (row.child_name.clone(), row.entry.kind.label(), row.refunded))
                .collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    // Three sales, newest first, above the eight opening balances.
    let all = matching(&k);
    assert_eq!(all.len(), 11);
    assert_eq!(all[0].0, "Alma Larsen");
    // By item: only Noah bought a saftevand.
    k.type_text("saft");
    assert_eq!(matching(&k), vec![("Noah Sørensen".into(), "sale", false)]);
    k.send(Action::Confirm);
    k.send(Action::Confirm); // yes, on the confirm page
    assert_eq!(
        staff_message(&k),
        Some(Message::Done(StaffOutcome::Refunded {
            name: "Noah Sørensen".into(),
            amount: Money::kroner(5)
        }))
    );
    // Still the list, loaded again: the sale shows as refunded.
    assert_eq!(matching(&k), vec![("Noah Sørensen".into(), "sale", true)]);
    k.send(Action::Confirm);
    assert_eq!(staff_message(&k), Some(Message::AlreadyRefunded));
    // By name: Noah's sale, the refund and his opening balance.
    for _ in 0..4 {
        k.send(Action::DeleteChar);
    }
    k.type_text("noah");
    let noah = matching(&k);
    assert_eq!(
        noah.iter().map(|r| r.1).collect::<Vec<_>>(),
        vec!["refund", "sale", "opening_balance"]
    );
    k.send(Action::Confirm); // the refund itself
    assert_eq!(staff_message(&k), Some(Message::OnlySalesRefund));
    assert_eq!(k.balance(NOAH), Money::kroner(60));
}

#[test]
fn a_price_change_and_sold_out_apply_to_the_sale_and_survive_a_restart() {
    let dir = tempfile::TempDir::new().unwrap();
    {
        let mut k = Kiosk::open(dir.path(), klubkasse::i18n::Language::DA);
        k.staff_login();
        k.open_task(Task::Prices);
        k.send(Action::Confirm); // [1] Toast
        k.type_text("10");
        k.send(Action::Confirm);
        assert!(matches!(staff_page(&k), Page::Prices(_)));
        assert_eq!(k.app.menu.item('1').unwrap().price, Money::kroner(10));
        k.send(Action::Down); // [2] Frugt
        k.send(Action::Confirm);
        k.send(Action::Down); // mark as sold out
        k.send(Action::Confirm);
        assert!(k.app.menu.is_sold_out('2'));
        k.send(Action::Cancel);
        k.send(Action::Cancel);

        k.tap(FREJA);
        k.keys("12");
        k.send(Action::Confirm);
        assert_eq!(k.balance(FREJA), Money::kroner(240));
        let [sale] = sales(&k).try_into().unwrap();
        let EntryKind::Sale { lines, .. } = sale.kind else {
            panic!()
        };
        assert_eq!(lines.len(), 1, "the sold-out fruit was not added");
        assert_eq!(lines[0].unit_price, Money::kroner(10));
    }
    // Kept in the store: the same after a restart, until changed back.
    let mut k = Kiosk::open(dir.path(), klubkasse::i18n::Language::DA);
    assert_eq!(k.app.menu.item('1').unwrap().price, Money::kroner(10));
    assert!(k.app.menu.is_sold_out('2'));
    k.staff_login();
    k.open_task(Task::Prices);
    k.send(Action::Confirm);
    k.send(Action::Down);
    k.send(Action::Down); // back to the menu's price
    k.send(Action::Confirm);
    k.send(Action::Down);
    k.send(Action::Confirm);
    k.send(Action::Down); // back in stock
    k.send(Action::Confirm);
    assert_eq!(k.app.menu.item('1').unwrap().price, Money::kroner(12));
    assert!(!k.app.menu.is_sold_out('2'));
    assert!(k.store().menu_changes().unwrap().is_empty());
}
