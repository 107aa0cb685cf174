//! The kiosk headless: real update(), real effects on a real sled store.
//!
//! Over 400 lines: one short test per thing staff and children do at the
//! counter, all through the same driven kiosk (crates/testkit/src/kiosk.rs).

use klubkasse::action::StaffOutcome;
use klubkasse::ui::screens::result::ResultScreen;
use klubkasse::ui::screens::sale::SaleScreen;
use klubkasse::ui::screens::staff::{
    ActivityPage, AmountError, Message, Page, Question, ReportPage, Task,
};
use klubkasse::ui::{Action, Effect, Screen};
use klubkasse_core::domain::{CardState, EntryKind, Money, Refusal};
use klubkasse_testkit::kiosk::*;

fn result(kiosk: &Kiosk) -> &ResultScreen {
    match &kiosk.app.screen {
        Screen::Result(r) => r,
        other => panic!("expected the result screen, got {other:?}"),
    }
}

fn sale(kiosk: &Kiosk) -> &SaleScreen {
    match &kiosk.app.screen {
        Screen::Sale(s) => s,
        other => panic!("expected the sale screen, got {other:?}"),
    }
}

/// Why the card may not pay: on the result screen (a refused tap) or on
/// the sale screen, which keeps the basket.
fn refusal(kiosk: &Kiosk) -> &Refusal {
    match &kiosk.app.screen {
        Screen::Result(ResultScreen::Refused(r)) => r,
        Screen::Sale(SaleScreen {
            refusal: Some(r), ..
        }) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The staff screen asks: what, in values.
fn question(kiosk: &Kiosk) -> Question {
    match &kiosk.app.screen {
        Screen::Staff(s) => match &s.page {
            Page::Confirm(c) => c.question.clone(),
            other => panic!("expected a question, got {other:?}"),
        },
        other => panic!("expected the staff screen, got {other:?}"),
    }
}

fn staff_message(kiosk: &Kiosk) -> Message {
    match &kiosk.app.screen {
        Screen::Staff(s) => s.message.clone().expect("a staff message"),
        other => panic!("expected the staff screen, got {other:?}"),
    }
}

#[test]
fn tap_buy_and_pay() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    assert!(matches!(k.app.screen, Screen::Sale(_)));
    k.keys("114");
    k.send(Action::Confirm);
    assert_eq!(
        result(&k),
        &ResultScreen::Paid {
            name: "Freja Nielsen".into(),
            total: Money::kroner(29),
            balance: Money::kroner(221)
        }
    );
    assert_eq!(k.balance(FREJA), Money::kroner(221));
    let sales: Vec<_> = k
        .store()
        .all_entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.is_sale())
        .collect();
    assert_eq!(sales.len(), 1);
    assert_eq!(sales[0].counter, "Testklubben");
    assert!(k.store().balance_mismatches().unwrap().is_empty());
}

#[test]
fn paid_is_shown_only_after_the_store_saved_it() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("1");
    let effects = k.send_only(Action::Confirm);
    let [Effect::RecordSale { sale, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    // The sale is on its way to disk: the screen says "saving", not "paid".
    assert!(matches!(&k.app.screen, Screen::Sale(s) if s.saving));
    assert!(k.store().entry(sale.id).unwrap().is_none());
    // A second Enter while saving asks for nothing more.
    assert!(k.send_only(Action::Confirm).is_empty());
    assert!(k.send_only(Action::AddItem('1')).is_empty());
    // The store fails: the child sees that nothing was charged.
    k.send_only(Action::SaleFailed("disk full".into()));
    assert!(matches!(result(&k), ResultScreen::NotSaved(e) if e == "disk full"));
    assert_eq!(k.balance(FREJA), Money::kroner(250));
}

#[test]
fn double_enter_charges_once() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("1");
    k.send(Action::Confirm);
    k.send(Action::Confirm);
    let sales = k
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::RecordSale { .. }))
        .count();
    assert_eq!(sales, 1);
    assert_eq!(k.balance(FREJA), Money::kroner(238));
}

#[test]
fn refusals_say_why_and_ring() {
    type Expect = fn(&Refusal) -> bool;
    let cases: [(&str, &str, Expect); 4] = [
        (
            OSCAR,
            "3",
            |r| matches!(r, Refusal::NotEnoughMoney { available } if *available == Money::from_ore(350)),
        ),
        (
            ALMA,
            "7",
            |r| matches!(r, Refusal::CategoryBlocked { category } if category == "slik"),
        ),
        (WILLIAM, "33", |r| {
            matches!(r, Refusal::DailyLimitReached { .. })
        }),
        (
            IDA,
            "",
            |r| matches!(r, Refusal::CardBlocked { name } if name == "Ida Jensen"),
        ),
    ];
    for (card, items, expected) in cases {
        let mut k = Kiosk::demo();
        k.tap(card);
        if !items.is_empty() {
            k.keys(items);
            k.send(Action::Confirm);
        }
        let r = refusal(&k);
        assert!(expected(r), "{card}: {r:?}");
        if !items.is_empty() {
            assert!(!sale(&k).basket.is_empty(), "{card}: the basket is kept");
        }
        assert!(k.effects.contains(&Effect::Bell), "{card}: no bell");
        assert!(
            k.store()
                .all_entries()
                .unwrap()
                .iter()
                .all(|e| !e.is_sale())
        );
    }
}

#[test]
fn unknown_card_is_refused() {
    let mut k = Kiosk::demo();
    k.tap("DEADBEEF");
    assert!(matches!(
        result(&k),
        ResultScreen::Refused(Refusal::UnknownCard { .. })
    ));
}

#[test]
fn daily_limit_counts_earlier_sales_today() {
    let mut k = Kiosk::demo();
    k.tap(WILLIAM);
    k.keys("3"); // 18 kr. of 20
    k.send(Action::Confirm);
    assert!(matches!(result(&k), ResultScreen::Paid { .. }));
    k.tap(WILLIAM);
    k.keys("4"); // 5 kr. more: over the limit
    assert_eq!(sale(&k).view.left_today(), Some(Money::kroner(2)));
    k.send(Action::Confirm);
    assert!(
        matches!(refusal(&k), Refusal::DailyLimitReached { left, .. } if *left == Money::kroner(2))
    );
}

#[test]
fn a_refused_sale_keeps_the_basket_and_the_rest_can_be_charged() {
    let mut k = Kiosk::demo();
    k.tap(ALMA); // slik is blocked
    k.keys("174"); // Toast, slik, Saftevand
    k.send(Action::Confirm);
    assert!(matches!(refusal(&k), Refusal::CategoryBlocked { category } if category == "slik"));
    assert_eq!(sale(&k).basket.lines().len(), 3, "nothing thrown away");
    // Up to the slik line, remove it: the refusal goes with the change.
    k.send(Action::Up);
    k.send(Action::RemoveLine);
    assert_eq!(sale(&k).refusal, None);
    let names: Vec<&str> = sale(&k)
        .basket
        .lines()
        .iter()
        .map(|l| l.item.name.as_str())
        .collect();
    assert_eq!(names, ["Toast", "Saftevand"]);
    k.send(Action::Confirm);
    assert!(matches!(result(&k), ResultScreen::Paid { total, .. } if *total == Money::kroner(17)));
    assert_eq!(k.balance(ALMA), Money::kroner(83));
}

#[test]
fn a_sale_the_store_refuses_stays_on_the_sale_screen() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("1");
    k.send_only(Action::Confirm);
    let refused = Refusal::NotEnoughMoney {
        available: Money::kroner(3),
    };
    let effects = k.send_only(Action::SaleRefused(refused.clone()));
    assert_eq!(effects, [Effect::Bell]);
    let s = sale(&k);
    assert_eq!((s.saving, s.refusal.as_ref()), (false, Some(&refused)));
    assert_eq!(s.basket.lines().len(), 1);
    // The next child's tap starts afresh.
    k.tap(NOAH);
    assert_eq!(sale(&k).view.child.name, "Noah Sørensen");
    assert!(sale(&k).basket.is_empty());
}

#[test]
fn up_and_down_choose_the_basket_line_that_plus_minus_and_remove_act_on() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("124");
    k.send(Action::Up);
    k.send(Action::Up);
    k.send(Action::QuantityUp); // 2 × Toast
    k.send(Action::Down);
    k.send(Action::RemoveLine); // Frugt gone
    let lines: Vec<(&str, u32)> = sale(&k)
        .basket
        .lines()
        .iter()
        .map(|l| (l.item.name.as_str(), l.quantity))
        .collect();
    assert_eq!(lines, [("Toast", 2), ("Saftevand", 1)]);
}

#[test]
fn basket_keys_and_cancel() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("12");
    k.send(Action::QuantityUp); // 2 × Frugt
    k.send(Action::RemoveLine); // Frugt gone
    k.send(Action::QuantityDown); // Toast 1 → 0: gone
    let Screen::Sale(s) = &k.app.screen else {
        panic!()
    };
    assert!(s.basket.is_empty());
    k.keys("1");
    k.send(Action::Cancel);
    assert!(matches!(k.app.screen, Screen::Idle));
    assert_eq!(k.balance(FREJA), Money::kroner(250));
}

#[test]
fn a_sale_left_alone_is_cancelled() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("1");
    k.app.last_activity = chrono::Utc::now() - chrono::Duration::seconds(61);
    k.app.now = chrono::Utc::now();
    k.send_only(Action::Tick);
    assert!(matches!(k.app.screen, Screen::Idle));
}

#[test]
fn a_tap_on_the_result_screen_starts_the_next_sale() {
    let mut k = Kiosk::demo();
    k.tap(OSCAR);
    k.keys("3");
    k.send(Action::Confirm);
    k.tap(FREJA);
    assert!(matches!(&k.app.screen, Screen::Sale(s) if s.view.child.name == "Freja Nielsen"));
}

#[test]
fn taps_during_a_sale_do_not_switch_child() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("1");
    k.tap(OSCAR);
    assert!(
        matches!(&k.app.screen, Screen::Sale(s) if s.view.child.name == "Freja Nielsen" && !s.basket.is_empty())
    );
}

#[test]
fn wrong_pin_five_times_locks_and_the_lock_is_stored() {
    let mut k = Kiosk::demo();
    k.send(Action::Staff);
    for _ in 0..5 {
        k.type_text("0000");
        k.send(Action::Confirm);
    }
    assert!(
        matches!(staff_message(&k), Message::PinLocked { seconds } if seconds > 0),
        "{:?}",
        staff_message(&k)
    );
    // The right PIN does not open it while locked.
    k.type_text("1234");
    k.send(Action::Confirm);
    assert!(matches!(&k.app.screen, Screen::Staff(s) if matches!(s.page, Page::Pin(_))));
    assert!(matches!(
        k.store().pin_guard().unwrap().state(chrono::Utc::now()),
        klubkasse_core::domain::PinCheck::Locked { .. }
    ));
}

/// A PIN typed at the counter is never kept: after wrong tries, the right
/// one and a lock, the (distinctive) wrong PIN is in none of the store's
/// files, and the stored lock state is only a count and a time. (The
/// config holds only the argon2 hash: tests/cli.rs and src/pin.rs.)
#[test]
fn no_pin_typed_at_the_counter_is_stored() {
    const WRONG_PIN: &str = "80417263";
    let dir = tempfile::TempDir::new().unwrap();
    let mut k = Kiosk::open(dir.path(), klubkasse::i18n::Language::DA);
    k.send(Action::Staff);
    for _ in 0..4 {
        k.type_text(WRONG_PIN);
        k.send(Action::Confirm);
    }
    k.staff_login();
    assert!(matches!(&k.app.screen, Screen::Staff(s) if !matches!(s.page, Page::Pin(_))));
    k.send(Action::Cancel);
    k.send(Action::Staff);
    for _ in 0..5 {
        k.type_text(WRONG_PIN);
        k.send(Action::Confirm);
    }
    let guard = serde_json::to_value(k.store().pin_guard().unwrap()).unwrap();
    let fields: Vec<&str> = guard
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ["failures", "locked_until"], "{guard}");
    k.store().flush().unwrap();
    drop(k);
    // The same scan finds what is stored: a child's name.
    let mut name_found = false;
    let mut folders = vec![dir.path().to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes
                    .windows(WRONG_PIN.len())
                    .any(|w| w == WRONG_PIN.as_bytes()),
                "the PIN is in {}",
                path.display()
            );
            name_found |= bytes.windows(13).any(|w| w == b"Freja Nielsen");
        }
    }
    assert!(name_found, "the scan sees the store's contents");
}

#[test]
fn staff_undo_last_sale() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("11");
    k.send(Action::Confirm);
    k.staff_login();
    // Nothing is chosen in a fresh menu: Enter alone undoes nothing.
    k.send(Action::Confirm);
    assert_eq!(staff_message(&k), Message::ChooseTask);
    k.open_task(Task::UndoLast);
    assert_eq!(
        question(&k),
        Question::Undo {
            name: "Freja Nielsen".into(),
            amount: Money::kroner(24)
        }
    );
    // No: back in the menu, the money where it was.
    k.send(Action::Cancel);
    assert!(matches!(&k.app.screen, Screen::Staff(s) if matches!(s.page, Page::Menu(_))));
    assert_eq!(k.balance(FREJA), Money::kroner(226));
    k.send(Action::Confirm);
    k.send(Action::Confirm);
    assert_eq!(
        staff_message(&k),
        Message::Done(StaffOutcome::Undone {
            name: "Freja Nielsen".into(),
            amount: Money::kroner(24)
        })
    );
    assert_eq!(k.balance(FREJA), Money::kroner(250));
    k.open_task(Task::UndoLast);
    assert_eq!(
        staff_message(&k),
        Message::Done(StaffOutcome::NothingToUndo)
    );
}

#[test]
fn staff_refund_a_sale_of_today() {
    let mut k = Kiosk::demo();
    for card in [FREJA, NOAH] {
        k.tap(card);
        k.keys("1");
        k.send(Action::Confirm);
    }
    k.staff_login();
    k.open_task(Task::Activity);
    let Screen::Staff(s) = &k.app.screen else {
        panic!()
    };
    let Page::Activity(ActivityPage {
        rows: Some(rows), ..
    }) = &s.page
    else {
        panic!("{:?}", s.page)
    };
    assert_eq!(rows[0].child_name, "Noah Sørensen"); // newest first
    k.type_text("frej");
    k.send(Action::Confirm);
    assert_eq!(
        question(&k),
        Question::Refund {
            name: "Freja Nielsen".into(),
            amount: Money::kroner(12)
        }
    );
    // No goes back to the list as it was; yes refunds.
    k.send(Action::Cancel);
    assert!(
        matches!(&k.app.screen, Screen::Staff(s) if matches!(&s.page, Page::Activity(ActivityPage { filter, .. }) if filter == "frej"))
    );
    k.send(Action::Confirm);
    k.send(Action::Confirm);
    assert_eq!(
        staff_message(&k),
        Message::Done(StaffOutcome::Refunded {
            name: "Freja Nielsen".into(),
            amount: Money::kroner(12)
        })
    );
    assert_eq!(k.balance(FREJA), Money::kroner(250));
    assert_eq!(k.balance(NOAH), Money::kroner(48));
    let refunds = k
        .store()
        .all_entries()
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.kind, EntryKind::Refund { .. }))
        .count();
    assert_eq!(refunds, 1);
}

#[test]
fn staff_cash_top_up() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.open_task(Task::TopUp);
    k.type_text("oscar");
    k.send(Action::Confirm);
    k.type_text("12,5x");
    k.send(Action::Confirm);
    // The first Enter asks; nothing is paid in yet.
    assert_eq!(k.balance(OSCAR), Money::from_ore(350));
    k.send(Action::Confirm);
    assert_eq!(
        staff_message(&k),
        Message::Done(StaffOutcome::ToppedUp {
            name: "Oscar Hansen".into(),
            amount: Money::from_ore(1250),
            balance: Money::from_ore(1600)
        })
    );
    assert_eq!(k.balance(OSCAR), Money::from_ore(1600));
}

#[test]
fn staff_top_up_refuses_nonsense() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.open_task(Task::TopUp);
    k.send(Action::Confirm); // first child by name
    k.type_text("99999");
    k.send(Action::Confirm);
    assert_eq!(
        staff_message(&k),
        Message::BadAmount(AmountError::TooMuch {
            max: Money::kroner(2_000)
        })
    );
    k.send(Action::Confirm);
    let deposits = k
        .store()
        .all_entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EntryKind::Deposit)
        .count();
    assert_eq!(deposits, 0, "the demo's opening balances are no cash");
}

#[test]
fn staff_add_child_and_hand_out_a_card() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.open_task(Task::AddChild);
    k.type_text("Æble Åsen");
    k.send(Action::Confirm);
    assert_eq!(
        staff_message(&k),
        Message::Done(StaffOutcome::ChildAdded {
            name: "Æble Åsen".into()
        })
    );
    k.open_task(Task::HandOut);
    k.tap("0A0B0C0D");
    k.type_text("æble");
    k.send(Action::Confirm);
    assert_eq!(
        staff_message(&k),
        Message::Done(StaffOutcome::CardHandedOut {
            uid: uid("0A0B0C0D"),
            name: "Æble Åsen".into()
        })
    );
    // A card that belongs to someone is not handed out again.
    k.open_task(Task::HandOut);
    k.tap(FREJA);
    assert_eq!(
        staff_message(&k),
        Message::CardTaken {
            owner: "Freja Nielsen".into()
        }
    );
    k.send(Action::Cancel);
    k.send(Action::Cancel);
    k.tap("0A0B0C0D");
    assert!(matches!(&k.app.screen, Screen::Sale(s) if s.view.child.name == "Æble Åsen"));
}

#[test]
fn staff_block_a_lost_card_by_child_and_by_tap() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.open_task(Task::Block);
    k.type_text("noah");
    k.send(Action::Confirm);
    assert_eq!(
        question(&k),
        Question::BlockChild {
            name: "Noah Sørensen".into()
        }
    );
    k.send(Action::Confirm);
    assert_eq!(
        staff_message(&k),
        Message::Done(StaffOutcome::CardsBlocked(vec![(
            uid(NOAH),
            "Noah Sørensen".into()
        )]))
    );
    assert_eq!(
        k.store().card(&uid(NOAH)).unwrap().unwrap().state,
        CardState::Blocked
    );
    k.open_task(Task::Block);
    k.tap(ALMA);
    assert_eq!(
        question(&k),
        Question::BlockCard {
            uid: uid(ALMA),
            name: "Alma Larsen".into()
        }
    );
    assert_eq!(
        k.store().card(&uid(ALMA)).unwrap().unwrap().state,
        CardState::Active,
        "not before the yes"
    );
    k.send(Action::Confirm);
    assert_eq!(
        k.store().card(&uid(ALMA)).unwrap().unwrap().state,
        CardState::Blocked
    );
    k.send(Action::Cancel);
    k.tap(NOAH);
    assert!(matches!(
        result(&k),
        ResultScreen::Refused(Refusal::CardBlocked { .. })
    ));
}

#[test]
fn staff_unblock_a_card_found_again() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.open_task(Task::Unblock);
    // Ida's card is the demo's blocked one; a tap of an active card says so.
    k.tap(FREJA);
    assert_eq!(
        staff_message(&k),
        Message::CardNotBlocked {
            uid: uid(FREJA),
            name: "Freja Nielsen".into()
        }
    );
    k.send(Action::Confirm);
    assert_eq!(
        question(&k),
        Question::Unblock {
            uid: uid(IDA),
            name: "Ida Jensen".into()
        }
    );
    k.send(Action::Confirm);
    assert_eq!(
        staff_message(&k),
        Message::Done(StaffOutcome::CardUnblocked {
            uid: uid(IDA),
            name: "Ida Jensen".into()
        })
    );
    k.open_task(Task::Unblock);
    assert_eq!(staff_message(&k), Message::NoBlockedCards);
    k.send(Action::Cancel);
    k.tap(IDA);
    assert_eq!(sale(&k).view.child.name, "Ida Jensen");
}

#[test]
fn staff_day_report_and_csv_export() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("114");
    k.send(Action::Confirm);
    k.staff_login();
    k.open_task(Task::Report);
    let Screen::Staff(s) = &k.app.screen else {
        panic!()
    };
    let Page::Report(ReportPage {
        report: Some(report),
        ..
    }) = &s.page
    else {
        panic!("{:?}", s.page)
    };
    assert_eq!(report.sales_total, Money::kroner(29));
    k.send(Action::ExportReport);
    let Message::Done(StaffOutcome::Exported { path }) = staff_message(&k) else {
        panic!("{:?}", staff_message(&k))
    };
    let csv = std::fs::read_to_string(path).unwrap();
    assert!(csv.contains("Toast"), "{csv}");
    assert!(
        csv.starts_with('\u{feff}') && csv.contains(";29,00\r\n"),
        "{csv}"
    );
}

#[test]
fn staff_quit_and_esc_out() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.send(Action::Cancel);
    assert!(matches!(k.app.screen, Screen::Idle));
    k.staff_login();
    k.open_task(Task::Quit);
    assert_eq!(question(&k), Question::Quit);
    assert!(!k.app.quit);
    k.send(Action::Cancel);
    assert!(!k.app.quit);
    k.send(Action::Confirm);
    k.send(Action::Confirm);
    assert!(k.app.quit);
}

#[test]
fn a_too_small_terminal_takes_no_key_but_quit() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.send(Action::Resize(40, 12));
    let key = |code| ratatui::crossterm::event::KeyEvent::from(code);
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    for code in [
        KeyCode::Char('1'),
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::F(9),
    ] {
        assert_eq!(k.app.key_to_action(key(code)), None, "{code:?}");
    }
    let ctrl_q =
        ratatui::crossterm::event::KeyEvent::new(KeyCode::Char('q'), KeyModifiers::CONTROL);
    assert_eq!(k.app.key_to_action(ctrl_q), Some(Action::Quit));
    // A card on the reader starts nothing unseen: the sale shown before
    // is the one on screen again.
    k.tap(OSCAR);
    k.send(Action::Resize(80, 24));
    match &k.app.screen {
        klubkasse::ui::Screen::Sale(sale) => assert_eq!(sale.view.child.name, "Freja Nielsen"),
        other => panic!("{other:?}"),
    }
    // Big enough again, the quit key does nothing: staff quit from their menu.
    k.send(Action::Quit);
    assert!(!k.app.quit);
    k.send(Action::Resize(40, 12));
    k.send(Action::Quit);
    assert!(k.app.quit);
}

#[test]
fn reopening_the_store_shows_what_was_paid() {
    let dir = tempfile::TempDir::new().unwrap();
    {
        let mut k = Kiosk::open(dir.path(), klubkasse::i18n::Language::DA);
        k.tap(FREJA);
        k.keys("1");
        k.send(Action::Confirm);
    }
    let k = Kiosk::open(dir.path(), klubkasse::i18n::Language::DA);
    assert_eq!(k.balance(FREJA), Money::kroner(238));
}

#[test]
fn each_day_closes_past_days_a_step_a_tick_then_writes_the_backup() {
    let mut k = Kiosk::demo();
    let today = klubkasse::store::local_day(chrono::Utc::now());
    let (yesterday, _) = klubkasse::store::day_bounds(today.pred_opt().unwrap());
    let (before, _) = klubkasse::store::day_bounds(today - chrono::Days::new(2));
    for at in [before, yesterday] {
        let card = k.store().card(&uid(FREJA)).unwrap().unwrap();
        let sale = klubkasse_core::domain::Entry::sale(
            card.child,
            card.uid,
            vec![klubkasse_core::domain::SaleLine {
                name: "Toast".into(),
                category: "mad".into(),
                unit_price: Money::kroner(12),
                quantity: 1,
            }],
            "Testklubben",
            at + chrono::Duration::hours(12),
        );
        k.store()
            .record_sale(&sale, klubkasse_core::domain::Connection::Standalone)
            .unwrap();
    }
    k.app.now = chrono::Utc::now();
    // The upkeep is tested on its own.
    k.app.next_upkeep = k.app.now + chrono::Duration::hours(1);
    // One step at a time, and none asked for while one runs.
    let first = k.send_only(Action::Tick);
    assert!(
        matches!(first[..], [Effect::CloseDay { backup: true, .. }]),
        "{first:?}"
    );
    assert!(k.send_only(Action::Tick).is_empty());
    let mut steps = 0;
    for effect in first {
        let done = k.ctx.execute(effect).unwrap();
        k.send(done);
    }
    while k.app.closed_day != Some(today) || k.app.closing {
        k.send(Action::Tick);
        steps += 1;
        assert!(steps < 10, "the day never finished closing");
    }
    assert!(
        k.store()
            .live_entries()
            .unwrap()
            .iter()
            .all(|e| { klubkasse::store::local_day(e.at) == today })
    );
    assert_eq!(
        k.store()
            .entries_on(today.pred_opt().unwrap())
            .unwrap()
            .len(),
        1
    );
    assert!(
        k.ctx
            .data_dir
            .join("backups")
            .join(format!("klubkasse-{today}.json"))
            .exists()
    );
    // Done for today: the next tick asks for nothing.
    assert!(k.send_only(Action::Tick).is_empty());
}

/// The headless front end tells a refused Enter as `refused`, though the
/// screen stays the sale's (the crash test waits for "paid" or "refused").
#[test]
fn headless_answers_each_refused_enter() {
    use klubkasse::ui::headless::{Event, Seen};
    let mut k = Kiosk::demo();
    k.tap(OSCAR);
    k.keys("3");
    let seen = Seen::of(&k.app, &Action::Confirm);
    k.send(Action::Confirm);
    assert_eq!(
        seen.outcome(&k.app),
        Some(Event::Refused {
            reason: "Ikke penge nok — du har 3,50 kr.".into()
        })
    );
    // Enter again: refused again, and said again.
    let seen = Seen::of(&k.app, &Action::Confirm);
    k.send(Action::Confirm);
    assert!(matches!(seen.outcome(&k.app), Some(Event::Refused { .. })));
    // A basket key is no answer to anything.
    let seen = Seen::of(&k.app, &Action::Up);
    k.send(Action::Up);
    assert_eq!(seen.outcome(&k.app), None);
}

/// A standalone kiosk writes its backup again when nobody has touched it
/// for a minute and the last one is an hour old, with today's sales in
/// it; not in the middle of a queue, and not before the hour.
#[test]
fn the_backup_is_written_again_when_idle_and_an_hour_old_with_today_in_it() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("1");
    k.send(Action::Confirm);
    let sale = k
        .store()
        .live_entries()
        .unwrap()
        .into_iter()
        .rfind(|e| e.is_sale())
        .unwrap();
    let now = chrono::Utc::now();
    k.app.screen = Screen::Idle;
    k.app.now = now;
    let upkeep = |k: &mut Kiosk, idle_min: i64, backup_min: i64| {
        k.app.last_activity = now - chrono::Duration::minutes(idle_min);
        k.app.last_backup = now - chrono::Duration::minutes(backup_min);
        k.app.next_upkeep = now;
        k.send_only(Action::Tick)
            .into_iter()
            .find(|e| matches!(e, Effect::Upkeep { .. }))
            .expect("an upkeep every half minute")
    };
    assert_eq!(upkeep(&mut k, 5, 30), Effect::Upkeep { backup: false });
    assert_eq!(upkeep(&mut k, 0, 90), Effect::Upkeep { backup: false });
    // Not again until its time.
    assert!(
        k.send_only(Action::Tick)
            .iter()
            .all(|e| !matches!(e, Effect::Upkeep { .. }))
    );
    let effect = upkeep(&mut k, 2, 61);
    assert_eq!(effect, Effect::Upkeep { backup: true });
    let done = k.ctx.execute(effect).unwrap();
    k.send_only(done);
    assert_eq!(k.app.last_backup, now);
    let today = klubkasse::store::local_day(now);
    let file = k
        .ctx
        .data_dir
        .join("backups")
        .join(format!("klubkasse-{today}.json"));
    let backup = klubkasse::store::read_backup(&file).unwrap();
    assert!(backup.entries.iter().any(|e| e.id == sale.id));
}

/// The status bar warns before the disk is full, and says when it is.
#[test]
fn upkeep_tells_the_status_bar_how_full_the_disk_is() {
    use klubkasse::store::disk::Space;
    let mut k = Kiosk::demo();
    k.send_only(Action::Upkept {
        space: Space::Low {
            free: 20 * 1024 * 1024,
        },
        backup: None,
    });
    assert_eq!(
        k.app.disk,
        Space::Low {
            free: 20 * 1024 * 1024
        }
    );
    k.send_only(Action::Upkept {
        space: Space::Full { free: 0, need: 1 },
        backup: Some(Err("the backup failed".into())),
    });
    assert!(matches!(k.app.disk, Space::Full { .. }));
    // A sale written: the next tick looks at the disk again, at once.
    k.send(Action::Tick);
    k.tap(FREJA);
    k.keys("1");
    k.send(Action::Confirm);
    let effects = k.send_only(Action::Tick);
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Upkeep { .. })),
        "{effects:?}"
    );
}
