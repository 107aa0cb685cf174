//! The kiosk end to end: the real binary, a real sled store on disk and a
//! real terminal (tmux). Keys go in with `send-keys`, the screen comes back
//! with `capture-pane`. Names and "Betalt" are block graphics, so the tests
//! read the plain-text lines around them.
//!
//! Needs tmux (`./install.sh --test` installs it); without it these tests
//! fail, they do not skip.

use std::path::{Path, PathBuf};
use std::time::Instant;

use klubkasse_testkit::tmux::{Ended, Tmux};
use tempfile::TempDir;

/// The demo legend under the big "tap your card" prompt: the idle screen.
const IDLE: &str = "Demo — tryk en tast";
/// The sale screen with an empty basket, ready for item keys.
const SALE_READY: &str = "Tryk på en vares tast";

/// `klubkasse demo` on `dir`, waited for until its idle screen shows.
fn demo(dir: &Path) -> Tmux {
    let kiosk = Tmux::start(
        &klubkasse_testkit::bin::KIOSK,
        &["demo", "--data-dir", dir.to_str().expect("UTF-8 temp path")],
    );
    kiosk.wait_for(IDLE);
    kiosk
}

/// Presses keys, then waits for `expect`; returns that screen.
fn press(kiosk: &Tmux, keys: &[&str], expect: &str) -> String {
    kiosk.send_keys(keys);
    kiosk.wait_for(expect)
}

/// Taps a demo card (F1–F8) and buys the items with their hotkeys,
/// checking the basket total before Enter; returns the result screen.
fn buy(kiosk: &Tmux, card: &str, items: &[&str], total: &str, expect: &str) -> String {
    press(kiosk, &[card], SALE_READY);
    press(kiosk, items, &format!("I alt: {total}"));
    press(kiosk, &["Enter"], expect)
}

/// From anywhere a key press leaves for idle: Esc back to the idle screen.
fn back_to_idle(kiosk: &Tmux) {
    press(kiosk, &["Escape"], IDLE);
}

/// F9, the demo PIN, Enter: the staff menu.
fn open_staff_menu(kiosk: &Tmux) {
    press(kiosk, &["F9"], "Indtast PIN og tryk Enter");
    press(kiosk, &["1234", "Enter"], "Fortryd sidste salg");
}

/// Closes the kiosk the way staff do, and checks it ended cleanly.
fn quit(kiosk: &Tmux) {
    open_staff_menu(kiosk);
    press(kiosk, &["Down"; 7], "▶ Luk kassen");
    kiosk.send_keys(&["Enter"]);
    assert_eq!(
        kiosk.wait_exit(),
        Ended::Status(0),
        "the kiosk should end cleanly"
    );
}

/// The line of `text` that starts with `start`, its words split.
fn row<'a>(text: &'a str, start: &str) -> Vec<&'a str> {
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting «{start}» in:\n{text}"))
        .split_whitespace()
        .collect()
}

#[test]
fn a_sale_shows_total_balance_after_and_new_balance() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    press(&kiosk, &["F1"], SALE_READY);
    kiosk.wait_for("Saldo: 250,00 kr.");
    press(&kiosk, &["1", "1", "4"], "I alt: 29,00 kr.");
    // The last line drawn: once it is there, the whole frame is.
    let screen = kiosk.wait_for("Saldo bagefter: 221,00 kr.");
    assert!(screen.contains("2 ×  Toast"), "{screen}");
    assert!(screen.contains("1 ×  Saftevand"), "{screen}");
    press(&kiosk, &["Enter"], "Du har nu 221,00 kr.");
}

#[test]
fn refusals_say_why_and_charge_nothing() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    // card, items, basket total, what the child is told
    let cases: [(&str, &[&str], &str, &str); 4] = [
        (
            "F2",
            &["3"],
            "18,00 kr.",
            "Ikke penge nok — du har 3,50 kr.",
        ),
        (
            "F5",
            &["7"],
            "10,00 kr.",
            "Dine forældre har spærret for slik.",
        ),
        // William's daily limit is 20 kr: 18 kr is fine, 5 kr more is not.
        ("F4", &["3"], "18,00 kr.", "Du har nu 132,00 kr."),
        (
            "F4",
            &["4"],
            "5,00 kr.",
            "Du har nået din grænse for i dag (20,00 kr.). Du kan bruge 2,00 kr. mere.",
        ),
    ];
    for (card, items, total, expect) in cases {
        buy(&kiosk, card, items, total, expect);
        back_to_idle(&kiosk);
    }
    // Ida's card is blocked: refused at the tap, before any basket.
    press(&kiosk, &["F3"], "Kortet er spærret. Spørg en voksen.");
    back_to_idle(&kiosk);

    // Nothing was charged for the refusals.
    for (card, balance) in [
        ("F2", "3,50 kr."),
        ("F5", "100,00 kr."),
        ("F4", "132,00 kr."),
    ] {
        press(&kiosk, &[card], SALE_READY);
        // Waited for, not read once: the frame may still be drawing below.
        kiosk.wait_for(&format!("Saldo: {balance}"));
        back_to_idle(&kiosk);
    }
}

#[test]
fn a_paid_sale_survives_sigkill_and_shows_in_the_report() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    buy(
        &kiosk,
        "F1",
        &["1", "1", "4"],
        "29,00 kr.",
        "Du har nu 221,00 kr.",
    );
    let killed = std::process::Command::new("kill")
        .args(["-9", &kiosk.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    assert_eq!(kiosk.wait_exit(), Ended::Signal(9));
    drop(kiosk);

    let kiosk = demo(dir.path());
    press(&kiosk, &["F1"], SALE_READY);
    kiosk.wait_for("Saldo: 221,00 kr.");
    back_to_idle(&kiosk);
    quit(&kiosk);

    let text = klubkasse_testkit::run::report(dir.path(), false);
    let text = text.ok();
    assert_eq!(
        row(text, "Toast")[..4],
        ["Toast", "2", "24,00", "kr."],
        "{text}"
    );
    assert_eq!(
        row(text, "Saftevand")[..4],
        ["Saftevand", "1", "5,00", "kr."],
        "{text}"
    );
    assert_eq!(
        row(text, "Solgt i alt")[3..],
        ["1", "29,00", "kr."],
        "{text}"
    );
    assert_eq!(
        row(text, "Freja Nielsen")[2..],
        ["1", "29,00", "kr."],
        "{text}"
    );

    let csv = klubkasse_testkit::run::report(dir.path(), true);
    let csv = csv.ok();
    for line in [
        ",item,Toast,2,,24.00",
        ",item,Saftevand,1,,5.00",
        ",child,Freja Nielsen,,1,29.00",
        ",total,sales_total,,1,29.00",
    ] {
        assert!(csv.lines().any(|l| l.ends_with(line)), "{line}\n{csv}");
    }
}

#[test]
fn staff_undo_gives_the_money_back() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    buy(
        &kiosk,
        "F1",
        &["1", "1", "4"],
        "29,00 kr.",
        "Du har nu 221,00 kr.",
    );
    open_staff_menu(&kiosk);
    // The first item is "Fortryd sidste salg".
    press(
        &kiosk,
        &["Enter"],
        "Salget til Freja Nielsen på 29,00 kr. er fortrudt.",
    );
    back_to_idle(&kiosk);
    press(&kiosk, &["F1"], SALE_READY);
    kiosk.wait_for("Saldo: 250,00 kr.");
}

#[test]
fn five_wrong_pins_lock_the_staff_menu() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    press(&kiosk, &["F9"], "Indtast PIN og tryk Enter");
    for left in (1..=4).rev() {
        press(
            &kiosk,
            &["0000", "Enter"],
            &format!("Forkert PIN — {left} forsøg tilbage"),
        );
    }
    let screen = press(
        &kiosk,
        &["0000", "Enter"],
        "For mange forkerte forsøg. Låst i ",
    );
    // The first lock lasts 30 s, counted down from the fifth try.
    let seconds: u32 = screen
        .split("Låst i ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no seconds after «Låst i»:\n{screen}"));
    assert!((20..=30).contains(&seconds), "{screen}");
}

#[test]
fn a_too_small_terminal_says_so_and_the_sale_survives_it() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    press(&kiosk, &["F1"], SALE_READY);
    press(&kiosk, &["1", "4"], "I alt: 17,00 kr.");
    kiosk.resize(40, 12);
    kiosk.wait_for("Vinduet er for lille (40×12)");
    kiosk.resize(
        klubkasse_testkit::tmux::WIDTH,
        klubkasse_testkit::tmux::HEIGHT,
    );
    let screen = kiosk.wait_for("I alt: 17,00 kr.");
    assert!(!screen.contains("Vinduet er for lille"), "{screen}");
    assert!(screen.contains("1 ×  Toast"), "{screen}");
    assert!(screen.contains("1 ×  Saftevand"), "{screen}");
    // The basket is still the one that gets paid.
    press(&kiosk, &["Enter"], "Du har nu 233,00 kr.");
}

#[test]
fn the_demo_speaks_english_when_asked() {
    let dir = TempDir::new().unwrap();
    let kiosk = Tmux::start(
        &klubkasse_testkit::bin::KIOSK,
        &[
            "demo",
            "--language",
            "en",
            "--data-dir",
            dir.path().to_str().unwrap(),
        ],
    );
    kiosk.wait_for("Demo — press a key to put a card on the reader");
    // The status bar is drawn last: waited for, not read once.
    let screen = kiosk.wait_for("Demo cards (F1–F8)");
    assert!(!screen.contains(IDLE), "{screen}");
}

/// The daily backup file a demo writes on its first tick.
fn wait_for_backup(dir: &Path) -> PathBuf {
    let start = Instant::now();
    loop {
        let found = std::fs::read_dir(dir.join("backups"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "json"));
        if let Some(path) = found {
            return path;
        }
        assert!(
            start.elapsed() < klubkasse_testkit::tmux::TIMEOUT,
            "no backup in {dir:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn restore_puts_the_daily_backup_back_and_keeps_the_old_store() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    let backup = wait_for_backup(dir.path());
    let name = backup.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("klubkasse-") && name.len() == "klubkasse-2025-03-14.json".len(),
        "{name}"
    );
    // The backup as the kiosk started; quitting writes the day's again.
    let at_start = dir.path().join("at-start.json");
    std::fs::copy(&backup, &at_start).unwrap();
    // A sale after the backup: the restore takes it away again.
    buy(&kiosk, "F1", &["1"], "12,00 kr.", "Du har nu 238,00 kr.");
    quit(&kiosk);
    assert!(
        klubkasse_testkit::run::report(dir.path(), false)
            .ok()
            .contains("Toast")
    );
    // Written at quitting, today's sale in it.
    let at_quit = klubkasse::store::read_backup(&backup).unwrap();
    assert!(at_quit.entries.iter().any(|e| e.is_sale()), "{at_quit:?}");
    let backup = at_start;

    let restored = klubkasse_testkit::run::klubkasse(
        &[
            "restore".as_ref(),
            backup.as_os_str(),
            "--data-dir".as_ref(),
            dir.path().as_os_str(),
        ],
        None,
    );
    let out = restored.ok();
    assert!(out.contains("Restored 8 children"), "{restored}");
    assert!(out.contains("store.replaced-"), "{restored}");
    assert!(
        out.contains("1 entries made after the backup are not in the restored store"),
        "{restored}"
    );

    let text = klubkasse_testkit::run::report(dir.path(), false);
    let text = text.ok();
    assert!(text.contains("Ingen salg denne dag."), "{text}");
    // The demo children's opening balances are back.
    assert_eq!(row(text, "Indbetalt")[1..], ["761,00", "kr."], "{text}");
    let aside = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("store.replaced-")
        })
        .count();
    assert_eq!(aside, 1, "the old store is kept aside");
}
