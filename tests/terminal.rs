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

/// The question a confirm page asks, with its answers below.
fn asks(kiosk: &Tmux, question: &str) {
    let screen = kiosk.wait_for(question);
    assert!(screen.contains("Enter: ja   Esc: nej"), "{screen}");
}

/// Closes the kiosk the way staff do (the last task, and yes), and checks
/// it ended cleanly.
fn quit(kiosk: &Tmux) {
    open_staff_menu(kiosk);
    // From nothing chosen, Up takes the last task.
    press(kiosk, &["Up"], "▶ Luk kassen");
    kiosk.send_keys(&["Enter"]);
    asks(kiosk, "Luk kassen?");
    kiosk.send_keys(&["Enter"]);
    assert_eq!(
        kiosk.wait_exit(),
        Ended::Status(0),
        "the kiosk should end cleanly"
    );
}

/// In the staff menu, nothing chosen yet: moves down to the task labelled
/// `label` (read off the screen, so that tasks added above it need no
/// change here) and opens it with Enter.
fn open_task(kiosk: &Tmux, label: &str) {
    let screen = kiosk.screen();
    let line_of = |text: &str| {
        screen
            .lines()
            .position(|l| l.contains(text))
            .unwrap_or_else(|| panic!("no «{text}» in:\n{screen}"))
    };
    let downs = line_of(label) - line_of("┌Personale");
    kiosk.send_keys(&vec!["Down"; downs]);
    kiosk.wait_for(&format!("▶ {label}"));
    kiosk.send_keys(&["Enter"]);
}

/// The line of `text` that starts with `start`, its words split.
fn row<'a>(text: &'a str, start: &str) -> Vec<&'a str> {
    line(text, start).split_whitespace().collect()
}

/// The line of `text` that starts with `start`.
fn line<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting «{start}» in:\n{text}"))
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
            "Det er mere end din grænse for i dag (20,00 kr.). Du kan bruge 2,00 kr. mere i dag.",
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
        if card == "F4" {
            // Before any Enter: what William's daily limit leaves today.
            kiosk.wait_for("Tilbage i dag: 2,00 kr.");
        }
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
    // Sold, returned, net, amount.
    assert_eq!(
        row(text, "Toast")[..6],
        ["Toast", "2", "0", "2", "24,00", "kr."],
        "{text}"
    );
    assert_eq!(
        row(text, "Saftevand")[..6],
        ["Saftevand", "1", "0", "1", "5,00", "kr."],
        "{text}"
    );
    assert_eq!(
        row(text, "Salg i alt")[5..],
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
        ";Vare;Toast;2;0;24,00",
        ";Vare;Saftevand;1;0;5,00",
        ";Barn;Freja Nielsen;1;;29,00",
        ";I alt;Salg i alt (før retur);1;;29,00",
    ] {
        assert!(
            csv.lines().any(|l| l.trim_end().ends_with(line)),
            "{line}\n{csv}"
        );
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
    // Nothing is chosen: Enter Enter from the fresh menu undoes nothing.
    press(&kiosk, &["Enter", "Enter"], "Vælg med ↑↓, og tryk Enter.");
    // "Fortryd sidste salg" asks about that sale.
    open_task(&kiosk, "Fortryd sidste salg");
    asks(&kiosk, "Fortryd salget til Freja Nielsen: 29,00 kr.?");
    // No: back to the menu, nothing undone.
    press(&kiosk, &["Escape"], "▶ Fortryd sidste salg");
    kiosk.send_keys(&["Enter"]);
    asks(&kiosk, "Fortryd salget til Freja Nielsen: 29,00 kr.?");
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
fn refund_block_and_quit_ask_before_they_act() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    buy(&kiosk, "F1", &["1"], "12,00 kr.", "Du har nu 238,00 kr.");
    open_staff_menu(&kiosk);

    open_task(&kiosk, "Dagens aktivitet");
    kiosk.wait_for("1×Toast");
    kiosk.send_keys(&["Enter"]);
    asks(&kiosk, "Betal 12,00 kr. tilbage til Freja Nielsen?");
    // No goes back to the list of sales, yes refunds.
    press(&kiosk, &["Escape"], "1×Toast");
    kiosk.send_keys(&["Enter"]);
    asks(&kiosk, "Betal 12,00 kr. tilbage til Freja Nielsen?");
    press(
        &kiosk,
        &["Enter"],
        "12,00 kr. er betalt tilbage til Freja Nielsen.",
    );
    // The list stays, the sale marked; Esc to the menu.
    kiosk.wait_for("(allerede betalt tilbage) 1×Toast");
    press(&kiosk, &["Escape"], "Luk kassen");

    // Block by tapping Noah's card (F6): the question names him.
    open_task(&kiosk, "Spær kort");
    kiosk.wait_for("Læg kortet, der skal spærres");
    kiosk.send_keys(&["F6"]);
    asks(&kiosk, "Spær kort 04F6A7B8 (Noah Sørensen)?");
    press(
        &kiosk,
        &["Enter"],
        "Kort 04F6A7B8 (Noah Sørensen) er spærret.",
    );

    // Quit: no keeps the kiosk running.
    press(&kiosk, &["Up"], "▶ Luk kassen");
    kiosk.send_keys(&["Enter"]);
    asks(&kiosk, "Luk kassen?");
    press(&kiosk, &["Escape"], "▶ Luk kassen");
    back_to_idle(&kiosk);
    press(&kiosk, &["F1"], SALE_READY);
    kiosk.wait_for("Saldo: 250,00 kr.");
    back_to_idle(&kiosk);
    press(&kiosk, &["F6"], "Kortet er spærret. Spørg en voksen.");
    back_to_idle(&kiosk);
    quit(&kiosk);
}

#[test]
fn a_blocked_card_is_unblocked_and_pays_again() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    // Ida's card (F3) is blocked in the demo.
    press(&kiosk, &["F3"], "Kortet er spærret. Spørg en voksen.");
    back_to_idle(&kiosk);
    open_staff_menu(&kiosk);
    open_task(&kiosk, "Ophæv spærring af kort");
    kiosk.wait_for("▶ Ida Jensen");
    kiosk.send_keys(&["Enter"]);
    asks(&kiosk, "Ophæv spærringen af kort 04C3D4E5 (Ida Jensen)?");
    press(
        &kiosk,
        &["Enter"],
        "Kort 04C3D4E5 (Ida Jensen) virker igen.",
    );
    back_to_idle(&kiosk);
    buy(&kiosk, "F3", &["1"], "12,00 kr.", "Du har nu 68,00 kr.");
}

#[test]
fn a_refused_sale_keeps_the_basket_and_the_rest_is_charged() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    // Alma's parents blocked slik: the line is marked before Enter.
    press(&kiosk, &["F5"], SALE_READY);
    let screen = press(&kiosk, &["1", "7"], "I alt: 22,00 kr.");
    assert!(
        screen
            .lines()
            .any(|l| l.contains("1 ×  ⊘ spærret Slikpose")),
        "{screen}"
    );
    let screen = press(
        &kiosk,
        &["Enter"],
        "Ikke betalt: Dine forældre har spærret for slik.",
    );
    assert!(
        screen.contains("1 ×  Toast"),
        "the basket is kept:\n{screen}"
    );
    // The slik line is the selected one: remove it and charge the rest.
    press(&kiosk, &["BSpace"], "I alt: 12,00 kr.");
    let screen = kiosk.wait_for("Saldo bagefter: 88,00 kr.");
    assert!(!screen.contains("Ikke betalt"), "{screen}");
    press(&kiosk, &["Enter"], "Du har nu 88,00 kr.");
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
    // Unseen, keys do nothing: no item added, no sale paid, no staff menu.
    kiosk.send_keys(&["1", "Enter", "F9", "Escape"]);
    kiosk.resize(
        klubkasse_testkit::tmux::WIDTH,
        klubkasse_testkit::tmux::HEIGHT,
    );
    let screen = kiosk.wait_for("I alt: 17,00 kr.");
    assert!(!screen.contains("Vinduet er for lille"), "{screen}");
    assert!(screen.contains("1 ×  Toast"), "{screen}");
    assert!(screen.contains("1 ×  Saftevand"), "{screen}");
    // The basket is still the one that gets paid: two items, three keys.
    press(&kiosk, &["Enter"], "Du har nu 233,00 kr.");
    // The quit key works where nothing else can be reached.
    kiosk.resize(40, 12);
    kiosk.wait_for("Ctrl-q lukker kassen.");
    kiosk.send_keys(&["C-q"]);
    assert_eq!(kiosk.wait_exit(), Ended::Status(0));
}

/// A window a little smaller than 80×24 (a laptop's terminal with a tab
/// bar): the compact layout, where a sale is made as ever; one row and
/// column less, and it asks for a larger window.
#[test]
fn a_sale_is_made_in_a_60x16_terminal() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    kiosk.resize(60, 16);
    kiosk.wait_for("F1  Freja Nielsen");
    press(
        &kiosk,
        &["F1"],
        "Saldo: 250,00 kr.   Saldo bagefter: 250,00 kr.",
    );
    press(&kiosk, &["1", "4"], "I alt: 17,00 kr.");
    let screen = kiosk.wait_for("Saldo bagefter: 233,00 kr.");
    assert!(screen.contains("Freja Nielsen"), "{screen}");
    assert!(screen.contains("1 ×  Saftevand"), "{screen}");
    assert!(screen.contains("Enter betal"), "{screen}");
    assert_eq!(screen.lines().count(), 16, "{screen}");
    press(&kiosk, &["Enter"], "Du har nu 233,00 kr.");
    kiosk.resize(59, 15);
    kiosk.wait_for("Vinduet er for lille (59×15)");
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
    // The demo children's opening balances are back, and are no cash.
    assert_eq!(
        row(text, "Startsaldi fra import")[5..],
        ["8", "761,00", "kr."],
        "{text}"
    );
    assert_eq!(
        row(text, "Kontant indbetalt her")[3..],
        ["0", "0,00", "kr."],
        "{text}"
    );
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

/// From the idle screen: the staff menu, then `task`.
fn staff_task(kiosk: &Tmux, task: &str) {
    open_staff_menu(kiosk);
    open_task(kiosk, task);
}

#[test]
fn a_child_who_forgot_the_card_buys_by_name() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    staff_task(&kiosk, "Sælg uden kort");
    press(&kiosk, &["frej"], "▶ Freja Nielsen");
    press(&kiosk, &["Enter"], SALE_READY);
    kiosk.wait_for("Saldo: 250,00 kr.");
    press(&kiosk, &["1", "1"], "I alt: 24,00 kr.");
    press(&kiosk, &["Enter"], "Du har nu 226,00 kr.");
    // Back to idle by itself, as after a tap.
    kiosk.wait_for(IDLE);
    // The child's rules hold by name too: Alma's parents blocked sweets.
    staff_task(&kiosk, "Sælg uden kort");
    press(&kiosk, &["alma", "Enter"], SALE_READY);
    press(&kiosk, &["7"], "I alt: 10,00 kr.");
    press(&kiosk, &["Enter"], "Dine forældre har spærret for slik.");
    back_to_idle(&kiosk);
    // The day's activity says it was sold without the card.
    staff_task(&kiosk, "Dagens aktivitet");
    let screen = kiosk.wait_for("(uden kort) 2×Toast");
    assert!(screen.contains("Freja Nielsen"), "{screen}");
    // Esc to the staff menu, Esc out of it.
    press(&kiosk, &["Escape"], "Luk kassen");
    back_to_idle(&kiosk);
    press(&kiosk, &["F1"], SALE_READY);
    kiosk.wait_for("Saldo: 226,00 kr.");
}

#[test]
fn the_balance_and_todays_purchases_without_the_card() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    buy(&kiosk, "F4", &["3"], "18,00 kr.", "Du har nu 132,00 kr.");
    back_to_idle(&kiosk);
    staff_task(&kiosk, "Saldo og dagens køb");
    press(&kiosk, &["will", "Enter"], "Saldo: 132,00 kr.");
    let screen = kiosk.wait_for("1×Pasta");
    assert!(screen.contains("Brugt i dag: 18,00 kr."), "{screen}");
    assert!(
        screen.contains("Dagsgrænse: 20,00 kr. — 2,00 kr. tilbage i dag"),
        "{screen}"
    );
}

#[test]
fn todays_activity_is_searched_by_typing_and_refunds_a_sale() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    buy(&kiosk, "F1", &["1"], "12,00 kr.", "Du har nu 238,00 kr.");
    back_to_idle(&kiosk);
    buy(&kiosk, "F6", &["4"], "5,00 kr.", "Du har nu 55,00 kr.");
    back_to_idle(&kiosk);
    staff_task(&kiosk, "Dagens aktivitet");
    // Newest first: Noah's sale above Freja's.
    let screen = kiosk.wait_for("1×Toast");
    let at = |text: &str| {
        let found = screen.lines().position(|l| l.contains(text));
        found.unwrap_or_else(|| panic!("no «{text}» in:\n{screen}"))
    };
    assert!(at("1×Saftevand") < at("1×Toast"), "{screen}");
    // By item: only Noah's sale is left.
    let screen = press(&kiosk, &["saft"], "› saft_");
    assert!(screen.contains("▶ "), "{screen}");
    assert!(screen.contains("Noah Sørensen"), "{screen}");
    assert!(!screen.contains("Freja Nielsen"), "{screen}");
    kiosk.send_keys(&["Enter"]);
    asks(&kiosk, "Betal 5,00 kr. tilbage til Noah Sørensen?");
    press(
        &kiosk,
        &["Enter"],
        "5,00 kr. er betalt tilbage til Noah Sørensen.",
    );
    kiosk.wait_for("(allerede betalt tilbage) 1×Saftevand");
    // By name: the refund is there too, newest first.
    press(&kiosk, &["BSpace"; 4], "› _");
    let screen = press(&kiosk, &["noah"], "› noah_");
    assert!(screen.contains("Tilbagebetaling"), "{screen}");
    assert!(!screen.contains("Freja Nielsen"), "{screen}");
    // Esc to the staff menu, Esc out of it.
    press(&kiosk, &["Escape"], "Luk kassen");
    back_to_idle(&kiosk);
    press(&kiosk, &["F6"], SALE_READY);
    kiosk.wait_for("Saldo: 60,00 kr.");
}

#[test]
fn a_price_change_and_sold_out_are_sold_and_reported_and_kept() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    staff_task(&kiosk, "Priser og udsolgt");
    press(&kiosk, &["Enter"], "Ny pris i kr.: _");
    press(&kiosk, &["10", "Enter"], "Toast koster nu 10,00 kr.");
    kiosk.wait_for("(menuen: 12,00 kr.)");
    press(&kiosk, &["Down", "Enter"], "Marker som udsolgt");
    press(&kiosk, &["Down", "Enter"], "Frugt er udsolgt.");
    // Esc to the staff menu, Esc out of it.
    press(&kiosk, &["Escape"], "Luk kassen");
    back_to_idle(&kiosk);

    press(&kiosk, &["F1"], SALE_READY);
    let screen = kiosk.wait_for("UDSOLGT");
    assert!(line(&screen, "│[2]  Frugt").contains("UDSOLGT"), "{screen}");
    // Pressed, the sold-out fruit is refused; the toast costs 10 kr.
    press(&kiosk, &["2", "1"], "I alt: 10,00 kr.");
    let screen = kiosk.wait_for("Saldo bagefter: 240,00 kr.");
    assert!(!screen.contains("×  Frugt"), "{screen}");
    press(&kiosk, &["Enter"], "Du har nu 240,00 kr.");
    back_to_idle(&kiosk);
    quit(&kiosk);

    // Reported under the price charged.
    let text = klubkasse_testkit::run::report(dir.path(), false);
    let text = text.ok();
    assert_eq!(
        row(text, "Toast")[..6],
        ["Toast", "1", "0", "1", "10,00", "kr."],
        "{text}"
    );
    // Kept in the store: the same after a restart.
    let kiosk = demo(dir.path());
    press(&kiosk, &["F1"], SALE_READY);
    let screen = kiosk.wait_for("UDSOLGT");
    assert!(
        line(&screen, "│[1]  Toast").contains("10,00 kr."),
        "{screen}"
    );
}

/// A counter of its own in `dir`: `children` (CSV rows after the header)
/// imported, a menu of `items` (hotkeys 0–9, then a–z), the demo reader
/// (F1–F8 tap the first eight children by name); started in tmux at
/// `width`×`height` and waited for.
fn counter(dir: &Path, children: &[&str], items: usize, width: u16, height: u16) -> Tmux {
    let keys = ('0'..='9').chain('a'..='z');
    let menu: String = keys
        .take(items)
        .enumerate()
        .map(|(i, key)| {
            format!(
                "[[item]]\nkey = \"{key}\"\nname = \"Vare {:02}\"\nprice = \"{}.00\"\ncategory = \"mad\"\n\n",
                i + 1,
                i + 1
            )
        })
        .collect();
    std::fs::write(dir.join("menu.toml"), menu).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "counter = \"Klub Test\"\ndata_dir = \"data\"\nreader = \"demo\"\nmenu = \"menu.toml\"\n",
    )
    .unwrap();
    klubkasse::store::Store::open(&dir.join("data")).unwrap();
    let csv = format!(
        "name,card_uid,opening_balance,daily_limit,blocked_categories,note,card_state\n{}\n",
        children.join("\n")
    );
    let file = dir.join("children.csv");
    std::fs::write(&file, csv).unwrap();
    klubkasse_testkit::run::klubkasse(
        &[
            "import-children".as_ref(),
            file.as_os_str(),
            "--data-dir".as_ref(),
            dir.join("data").as_os_str(),
        ],
        None,
    )
    .ok();
    let config = dir.join("config.toml");
    let kiosk = Tmux::start(
        &klubkasse_testkit::bin::KIOSK,
        &["run", "--config", config.to_str().unwrap()],
    );
    kiosk.resize(width, height);
    kiosk.wait_for(COUNTER_IDLE);
    kiosk
}

/// A counter's idle screen, as the status bar of one with demo cards says
/// (the prompt above is block graphics; the range after it depends on how
/// many children there are).
const COUNTER_IDLE: &str = "Demo-kort (F1";

#[test]
fn names_in_cyrillic_and_arabic_are_on_the_sale_screen() {
    let dir = TempDir::new().unwrap();
    let kiosk = counter(
        dir.path(),
        &[
            "Анна Иванова,04A1B2C3,50.00,,,,active",
            "فاطمة الزهراء,04B2C3D4,40.00,,,,active",
        ],
        9,
        klubkasse_testkit::tmux::WIDTH,
        klubkasse_testkit::tmux::HEIGHT,
    );
    // By name, Cyrillic sorts before Arabic: F1 is Anna, F2 Fatima.
    for (card, name, balance) in [
        ("F1", "Анна Иванова", "50,00 kr."),
        ("F2", "فاطمة الزهراء", "40,00 kr."),
    ] {
        press(&kiosk, &[card], SALE_READY);
        let screen = kiosk.wait_for(&format!("Saldo: {balance}"));
        assert!(screen.contains(name), "{name} is not shown:\n{screen}");
        back_to_idle_of(&kiosk);
    }
}

/// Esc back to a counter's idle screen: the sale's menu is gone.
fn back_to_idle_of(kiosk: &Tmux) {
    kiosk.send_keys(&["Escape"]);
    let start = Instant::now();
    while kiosk.screen().contains("┌Menu") {
        assert!(
            start.elapsed() < klubkasse_testkit::tmux::TIMEOUT,
            "{}",
            kiosk.screen()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The menu items the screen shows, by name.
fn items_shown(screen: &str) -> Vec<String> {
    screen
        .split("Vare ")
        .skip(1)
        .filter_map(|rest| rest.get(..2))
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        .map(|n| format!("Vare {n}"))
        .collect()
}

#[test]
fn a_36_item_menu_pages_at_80x24_and_the_selected_basket_line_stays_in_view() {
    let dir = TempDir::new().unwrap();
    let kiosk = counter(
        dir.path(),
        &["Freja Nielsen,04A1B2C3,1000.00,,,,active"],
        36,
        80,
        24,
    );
    press(&kiosk, &["F1"], SALE_READY);
    let first = kiosk.wait_for("Menu — side 1/");
    let pages: usize = first
        .split("Menu — side 1/")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no page count:\n{first}"));
    assert!(pages > 1, "{first}");
    assert!(first.contains("(PageDown/PageUp)"), "{first}");
    // Every item is on some page; PageDown past the last comes back to the first.
    let mut seen: Vec<String> = items_shown(&first);
    for page in 2..=pages {
        let screen = press(&kiosk, &["PageDown"], &format!("side {page}/{pages}"));
        seen.extend(items_shown(&screen));
    }
    seen.sort();
    seen.dedup();
    let all: Vec<String> = (1..=36).map(|n| format!("Vare {n:02}")).collect();
    assert_eq!(seen, all);
    press(&kiosk, &["PageDown"], &format!("side 1/{pages}"));
    press(&kiosk, &["PageUp"], &format!("side {pages}/{pages}"));

    // Twelve lines in a basket that shows fewer: the selected line (the
    // last added) is in view and marked; Up moves the mark, and + acts on it.
    let keys: Vec<String> = ('0'..='9').chain('a'..='b').map(String::from).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let screen = press(&kiosk, &keys, "I alt: 78,00 kr.");
    assert!(screen.contains("▶  1 ×  Vare 12"), "{screen}");
    let screen = press(&kiosk, &["Up"; 11], "▶  1 ×  Vare 01");
    assert!(!screen.contains("Vare 12  "), "{screen}");
    press(&kiosk, &["+"], "▶  2 ×  Vare 01");
    press(&kiosk, &["Enter"], "Du har nu 921,00 kr.");
}

/// A cash top-up typed the Danish way (`2.000`), shown with the balance
/// before and after, paid in only at the second Enter; an amount that
/// could mean two things is refused with a hint. Then the top-up is
/// reversed (asked first too), the cash counted, and `report` shows it all.
#[test]
fn staff_top_up_asks_first_then_is_reversed_and_the_cash_counted() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo(dir.path());
    open_staff_menu(&kiosk);
    open_task(&kiosk, "Indbetal kontanter");
    kiosk.wait_for("Vælg barn");
    press(&kiosk, &["oscar"], "▶ Oscar Hansen");
    press(&kiosk, &["Enter"], "Saldo nu: 3,50 kr.");
    press(&kiosk, &["12.50", "Enter"], "«12.50» kan læses på to måder");
    press(&kiosk, &["BSpace"; 5], "Saldo efter:");
    press(&kiosk, &["2.000"], "Saldo efter: 2.003,50 kr.");
    press(
        &kiosk,
        &["Enter"],
        "Indbetal 2.000,00 kr. til Oscar Hansen? Enter: ja",
    );
    // Esc at the question goes back to the amount; nothing is paid in.
    // (The amount's screen shows "Saldo efter" with the question too: the
    // question's going is what is waited for.)
    kiosk.send_keys(&["Escape"]);
    let screen = kiosk.wait_for_gone("Enter: ja");
    assert!(screen.contains("Saldo efter: 2.003,50 kr."), "{screen}");
    press(&kiosk, &["Enter"], "Enter: ja, indbetal");
    press(
        &kiosk,
        &["Enter"],
        "2.000,00 kr. indbetalt til Oscar Hansen. Saldo nu 2.003,50 kr.",
    );

    // The count: what the drawer should hold, and the difference.
    open_task(&kiosk, "Kasseoptælling");
    kiosk.wait_for("Forventet i kassen: 2.000,00 kr.");
    // Where øre are expected, «1.990» could mean two things: refused.
    press(&kiosk, &["1.990", "Enter"], "kan læses på to måder");
    press(&kiosk, &[",00"], "Forskel: -10,00 kr.");
    press(
        &kiosk,
        &["Enter"],
        "Kassen er talt: 1.990,00 kr. optalt, 2.000,00 kr. forventet, forskel -10,00 kr.",
    );

    open_task(&kiosk, "Tilbagefør en indbetaling fra i dag");
    kiosk.wait_for("Oscar Hansen");
    press(
        &kiosk,
        &["Enter"],
        "Tilbagefør 2.000,00 kr. for Oscar Hansen og giv pengene tilbage?",
    );
    press(
        &kiosk,
        &["Enter"],
        "2.000,00 kr. er tilbageført for Oscar Hansen (giv pengene tilbage). Saldo nu 3,50 kr.",
    );
    back_to_idle(&kiosk);
    press(&kiosk, &["F2"], SALE_READY);
    kiosk.wait_for("Saldo: 3,50 kr.");
    back_to_idle(&kiosk);
    quit(&kiosk);

    let text = klubkasse_testkit::run::report(dir.path(), false);
    let text = text.ok();
    let words = |start: &str, skip: usize| row(text, start)[skip..].to_vec();
    assert_eq!(
        words("Kontant indbetalt her", 3),
        ["1", "2.000,00", "kr."],
        "{text}"
    );
    assert_eq!(
        words("Indbetalinger tilbageført", 2),
        ["1", "-2.000,00", "kr."],
        "{text}"
    );
    assert_eq!(
        words("Forventet kontant i kassen", 4),
        ["0,00", "kr."],
        "{text}"
    );
    assert_eq!(words("  Optalt", 1), ["1.990,00", "kr."], "{text}");
    assert_eq!(words("  Forventet", 4), ["2.000,00", "kr."], "{text}");
    assert_eq!(words("  Forskel", 1), ["-10,00", "kr."], "{text}");
    assert_eq!(
        words("Startsaldi fra import", 5),
        ["8", "761,00", "kr."],
        "{text}"
    );

    // The same as CSV, read back as Danish Excel would.
    let csv = klubkasse_testkit::run::report(dir.path(), true);
    let csv = csv.ok();
    let body = csv.strip_prefix('\u{feff}').expect("a UTF-8 BOM first");
    let rows: Vec<Vec<&str>> = body
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(';').collect())
        .collect();
    assert_eq!(
        rows[0],
        ["Dato", "Afsnit", "Navn", "Antal", "Retur", "Beløb"]
    );
    assert!(rows.iter().all(|r| r.len() == 6), "{csv}");
    let amount = |section: &str, name: &str| {
        rows.iter()
            .find(|r| r[1].starts_with(section) && r[2] == name)
            .unwrap_or_else(|| panic!("{section} {name}:\n{csv}"))[5]
    };
    assert_eq!(amount("I alt", "Kontant indbetalt her"), "2000,00");
    assert_eq!(amount("I alt", "Indbetalinger tilbageført"), "-2000,00");
    assert_eq!(
        amount("I alt", "Startsaldi fra import (ikke kontant)"),
        "761,00"
    );
    assert_eq!(amount("Kasseoptælling", "Forskel"), "-10,00");
}
