//! Every screen drawn on ratatui's TestBackend and compared with a reviewed
//! snapshot (`tests/snapshots/`). Clock times and dates are masked.

use klubkasse::i18n::Language;
use klubkasse::ui::{Action, App, view};
use klubkasse_testkit::kiosk::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(app, frame)).unwrap();
    terminal
}

fn snapshot(name: &str, kiosk: &mut Kiosk) {
    kiosk.app.now = noon();
    let terminal = draw(&kiosk.app, 100, 30);
    insta::with_settings!({
        filters => vec![
            (r"\b\d{2}:\d{2}\b", "HH:MM"),
            (r"\b\d{2}-\d{2}-\d{4}\b", "DD-MM-YYYY"),
            (r"/[^ ]*/reports/", "<data>/reports/"),
        ],
    }, {
        insta::assert_snapshot!(name, terminal.backend());
    });
}

#[test]
fn idle_demo() {
    snapshot("idle_demo", &mut Kiosk::demo());
}

#[test]
fn idle_english() {
    let dir = tempfile::TempDir::new().unwrap();
    snapshot("idle_english", &mut Kiosk::open(dir.path(), Language::EN));
}

#[test]
fn sale_with_basket_and_staff_note() {
    let mut k = Kiosk::demo();
    k.tap(NOAH);
    k.keys("1142");
    snapshot("sale_basket_note", &mut k);
}

#[test]
fn sale_blocked_category_dimmed_and_saving() {
    let mut k = Kiosk::demo();
    k.tap(ALMA);
    k.keys("1");
    k.send_only(Action::Confirm);
    snapshot("sale_saving", &mut k);
}

#[test]
fn sale_english() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut k = Kiosk::open(dir.path(), Language::EN);
    k.tap(FREJA);
    k.keys("3");
    snapshot("sale_english", &mut k);
}

#[test]
fn result_paid() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("114");
    k.send(Action::Confirm);
    snapshot("result_paid", &mut k);
}

#[test]
fn result_not_enough_money() {
    let mut k = Kiosk::demo();
    k.tap(OSCAR);
    k.keys("3");
    k.send(Action::Confirm);
    snapshot("result_not_enough_money", &mut k);
}

#[test]
fn result_card_blocked() {
    let mut k = Kiosk::demo();
    k.tap(IDA);
    snapshot("result_card_blocked", &mut k);
}

#[test]
fn result_not_saved() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("1");
    k.send_only(Action::Confirm);
    k.send_only(Action::SaleFailed(
        "could not write to the store: No space left on device".into(),
    ));
    snapshot("result_not_saved", &mut k);
}

#[test]
fn staff_pin() {
    let mut k = Kiosk::demo();
    k.send(Action::Staff);
    k.type_text("12");
    snapshot("staff_pin", &mut k);
}

#[test]
fn staff_menu() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.send(Action::Down);
    snapshot("staff_menu", &mut k);
}

#[test]
fn staff_pick_child_filtered() {
    let mut k = Kiosk::demo();
    k.staff_login();
    k.open_task(2);
    k.type_text("s");
    snapshot("staff_pick_child", &mut k);
}

#[test]
fn staff_refund_list() {
    let mut k = Kiosk::demo();
    for card in [FREJA, NOAH] {
        k.tap(card);
        k.keys("14");
        k.send(Action::Confirm);
    }
    k.staff_login();
    k.open_task(0); // undo Noah's sale: it shows as refunded
    k.open_task(1);
    snapshot("staff_refund_list", &mut k);
}

#[test]
fn staff_day_report_chart() {
    let mut k = Kiosk::demo();
    for (card, items) in [(FREJA, "1145"), (NOAH, "12"), (WILLIAM, "3"), (SOREN, "44")] {
        k.tap(card);
        k.keys(items);
        k.send(Action::Confirm);
    }
    k.staff_login();
    k.open_task(6);
    snapshot("staff_day_report", &mut k);
}

#[test]
fn terminal_too_small() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.app.now = noon();
    let terminal = draw(&k.app, 40, 12);
    insta::assert_snapshot!("too_small", terminal.backend());
}

#[test]
fn paid_is_green_and_refused_is_red() {
    let mut k = Kiosk::demo();
    k.tap(FREJA);
    k.keys("1");
    k.send(Action::Confirm);
    assert_eq!(
        draw(&k.app, 100, 30).backend().buffer()[(50, 15)].bg,
        Color::Green
    );
    k.tap(OSCAR);
    k.keys("3");
    k.send(Action::Confirm);
    assert_eq!(
        draw(&k.app, 100, 30).backend().buffer()[(50, 15)].bg,
        Color::Red
    );
}

/// The demo kiosk as a connected counter, with this word from the sync task.
fn connected(status: klubkasse::sync::SyncStatus) -> Kiosk {
    let mut k = Kiosk::demo();
    let offline = klubkasse_core::domain::Connection::Offline {
        allowance: klubkasse_core::domain::Money::kroner(50),
    };
    k.app.settings.connection = offline;
    k.app.connection = offline;
    k.send_only(Action::Sync(status));
    k
}

#[test]
fn status_bar_online() {
    let status = klubkasse::sync::SyncStatus::Online {
        waiting: 0,
        last_sync: noon(),
    };
    snapshot("status_online", &mut connected(status));
}

#[test]
fn status_bar_offline_with_sales_waiting() {
    let status = klubkasse::sync::SyncStatus::Offline {
        waiting: 3,
        since: noon(),
    };
    snapshot("status_offline", &mut connected(status));
}

#[test]
fn staff_menu_of_a_connected_counter_leaves_money_to_the_office() {
    let status = klubkasse::sync::SyncStatus::Online {
        waiting: 0,
        last_sync: noon(),
    };
    let mut k = connected(status);
    k.staff_login();
    snapshot("staff_menu_connected", &mut k);
}

#[test]
fn idle_disk_almost_full() {
    let mut k = Kiosk::demo();
    k.app.disk = klubkasse::store::disk::Space::Low {
        free: 20 * 1024 * 1024,
    };
    snapshot("idle_disk_almost_full", &mut k);
}
