//! The command-line tools with real files: the real binary, real config,
//! menu, keymap and CSV files in a temporary folder, a real sled store.
//!
//! `restore` is tested end to end in `tests/terminal.rs`, where a demo run
//! in a real terminal writes the daily backup it restores.

use std::path::Path;

use klubkasse_testkit::run::{Run, klubkasse};
use tempfile::TempDir;

const MENU: &str = include_str!("../assets/menu.toml");

/// A good config, one setting a line, pointing at `menu.toml` beside it.
const CONFIG: &str = "\
counter = \"Klub Test\"
data_dir = \"data\"
reader = \"demo\"
menu = \"menu.toml\"
";

/// A folder holding `config.toml`, `menu.toml` (the sample menu) and the
/// given files, which may replace either.
fn folder(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().unwrap();
    for (name, text) in [("config.toml", CONFIG), ("menu.toml", MENU)]
        .iter()
        .chain(files)
    {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn check(dir: &Path) -> Run {
    klubkasse(
        &[
            "check".as_ref(),
            "--config".as_ref(),
            dir.join("config.toml").as_os_str(),
        ],
        None,
    )
}

/// One menu item, five lines: key on the 2nd, price on the 4th.
fn item(key: &str, name: &str, price: &str) -> String {
    format!(
        "[[item]]\nkey = \"{key}\"\nname = \"{name}\"\nprice = \"{price}\"\ncategory = \"mad\"\n"
    )
}

#[test]
fn a_good_config_checks_ok() {
    let dir = folder(&[]);
    let run = check(dir.path());
    let out = run.ok();
    let config = dir.path().join("config.toml");
    assert!(out.contains(&format!("{}: OK", config.display())), "{run}");
    assert!(out.contains("menu: 9 items"), "{run}");
    assert!(out.contains("staff PIN: NOT set"), "{run}");
    assert!(out.contains("store: not created yet"), "{run}");
    // The screen: the defaults, and each big_text choice with its glyphs.
    assert!(out.contains("theme: dark"), "{run}");
    assert!(out.contains("big letters (big_text): blocks"), "{run}");
    assert!(out.contains("▸ blocks"), "{run}");
    assert!(out.contains("▀ ▄ █ ▖ ▗ ▘ ▝ ▚ ▞ ▙ ▛ ▜ ▟ ▌ ▐"), "{run}");
    assert!(out.contains("🬀 🬁 🬂"), "{run}");
}

#[test]
fn the_theme_and_big_letters_are_chosen_in_the_config() {
    let config = format!("{CONFIG}theme = \"light\"\nbig_text = \"sextants\"\n");
    let dir = folder(&[("config.toml", &config)]);
    let run = check(dir.path());
    let out = run.ok();
    assert!(out.contains("theme: light"), "{run}");
    assert!(out.contains("big letters (big_text): sextants"), "{run}");
    assert!(out.contains("▸ sextants"), "{run}");
}

/// Files to write into the folder: name and content.
type Files = Vec<(&'static str, String)>;

#[test]
fn mistakes_in_config_menu_and_keymap_name_file_line_and_what() {
    let with_keymap = format!("{CONFIG}keymap = \"keymap.toml\"\n");
    let two_toasts = format!(
        "{}{}",
        item("1", "Toast", "12.00"),
        item("1", "Pasta", "18.00")
    );
    // (what, files written, the file the error is in, «:LINE:COLUMN: what»)
    let cases: Vec<(&str, Files, &str, &str)> = vec![
        (
            "TOML syntax",
            vec![("config.toml", CONFIG.replace("reader = ", "reader = = "))],
            "config.toml",
            ":3:10: extra `=`",
        ),
        (
            "unknown key",
            vec![("config.toml", format!("{CONFIG}colour = \"red\"\n"))],
            "config.toml",
            ":5:1: unknown setting «colour»",
        ),
        (
            "big letters of no known kind",
            vec![("config.toml", format!("{CONFIG}big_text = \"huge\"\n"))],
            "config.toml",
            ":5:12: «huge» is not one of: plain, blocks, quadrants, sextants",
        ),
        (
            "a theme that is not there",
            vec![("config.toml", format!("{CONFIG}theme = \"pink\"\n"))],
            "config.toml",
            ":5:9: «pink» is not one of: dark or light",
        ),
        (
            "sale timeout out of range",
            vec![("config.toml", format!("{CONFIG}sale_timeout_seconds = 2\n"))],
            "config.toml",
            ":5:24: sale_timeout_seconds must be between 5 and 3600",
        ),
        (
            "PIN hash not argon2",
            vec![(
                "config.toml",
                format!("\n{CONFIG}staff_pin_hash = \"1234\"\n"),
            )],
            "config.toml",
            ":6:18: staff_pin_hash is not an argon2 hash",
        ),
        (
            "two items on one key",
            vec![("menu.toml", two_toasts)],
            "menu.toml",
            ":7:7: key «1» is already used by «Toast»",
        ),
        (
            "price with three decimals",
            vec![(
                "menu.toml",
                format!(
                    "{}{}",
                    item("1", "Toast", "12.00"),
                    item("2", "Frugt", "4.005")
                ),
            )],
            "menu.toml",
            ":9:9: «4.005» has more than two decimals",
        ),
        (
            "item on a keymap key",
            vec![("menu.toml", item("+", "Toast", "12.00"))],
            "menu.toml",
            ":2:7: key «+» is already used by the keymap",
        ),
        (
            "unknown action",
            vec![
                ("config.toml", with_keymap.clone()),
                (
                    "keymap.toml",
                    "confirm = [\"Enter\"]\nfly = [\"x\"]\n".into(),
                ),
            ],
            "keymap.toml",
            ":2:1: unknown action «fly»",
        ),
        (
            "unknown key",
            vec![
                ("config.toml", with_keymap.clone()),
                ("keymap.toml", "\n\ncancel = [\"Escape-ish\"]\n".into()),
            ],
            "keymap.toml",
            ":3:10: unknown key «Escape-ish» for «cancel»",
        ),
        (
            "two actions on one key",
            vec![
                ("config.toml", with_keymap.clone()),
                (
                    "keymap.toml",
                    "cancel = [\"Esc\"]\nconfirm = [\"Tab\", \"Esc\"]\n".into(),
                ),
            ],
            "keymap.toml",
            ":2:11: key Esc is bound to both «cancel» and «confirm»",
        ),
    ];
    for (what, files, bad_file, expect) in cases {
        let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let dir = folder(&files);
        let run = check(dir.path());
        let expect = format!("{}{expect}", dir.path().join(bad_file).display());
        assert!(
            run.failed().contains(&expect),
            "{what}: expected «{expect}» in\n{run}"
        );
    }
}

#[test]
fn check_reports_every_mistake_in_one_run_in_plain_words() {
    let config = "counter = \"Klub Test\"\ndata_dir = \"data\"\nreader = \"demo\"\nmenu = \"menu.toml\"\n\
                  keymap = \"keymap.toml\"\nresult_seconds = \"four\"\nsale_timeout_seconds = 2\n\
                  reader_name = 7\ncolour = \"red\"\n";
    let menu = format!(
        "{}{}{}{}",
        item("1", "Toast", "12.00"),
        item("1", "Pasta", "18.00"),
        item("2", "Frugt", "4.005"),
        item("+", "", "0")
    );
    let keymap = "confirm = []\nfly = [\"x\"]\ncancel = \"Escape-ish\"\n";
    let dir = folder(&[
        ("config.toml", config),
        ("menu.toml", &menu),
        ("keymap.toml", keymap),
        // A file where the data folder should be.
        ("data", "not a folder"),
    ]);
    let run = check(dir.path());
    let err = run.failed();
    let at = |file: &str, rest: &str| format!("{}{rest}", dir.path().join(file).display());
    for expect in [
        at("config.toml", ":2:12: data_dir "),
        at(
            "config.toml",
            ":6:18: «result_seconds» must be a whole number, 0 or more",
        ),
        at(
            "config.toml",
            ":7:24: sale_timeout_seconds must be between 5 and 3600",
        ),
        at("config.toml", ":8:15: «reader_name» must be text in quotes"),
        at("config.toml", ":9:1: unknown setting «colour»"),
        at("keymap.toml", ":1:11: «confirm» has no key"),
        at("keymap.toml", ":2:1: unknown action «fly»"),
        at(
            "keymap.toml",
            ":3:10: unknown key «Escape-ish» for «cancel»",
        ),
        at("menu.toml", ":7:7: key «1» is already used by «Toast»"),
        at("menu.toml", ":14:9: «4.005» has more than two decimals"),
        at("menu.toml", ":17:7: key «+» is already used by the keymap"),
        at("menu.toml", ":18:8: name must be 1 to 24 characters"),
        at("menu.toml", ":19:9: price must be more than 0"),
    ] {
        assert!(err.contains(&expect), "«{expect}» in\n{run}");
    }
    // Top to bottom, file by file.
    let config_at = err.find("config.toml:2:12").unwrap();
    let colour_at = err.find("config.toml:9:1").unwrap();
    let keymap_at = err.find("keymap.toml:1:11").unwrap();
    assert!(config_at < colour_at && colour_at < keymap_at, "{run}");
    assert!(err.contains("is a file; it must be a folder"), "{run}");
    assert!(err.contains("13 mistakes:"), "{run}");
    for jargon in [
        "expected u64",
        "invalid type",
        "expected a string",
        "unknown field",
    ] {
        assert!(!err.contains(jargon), "«{jargon}» in\n{run}");
    }

    // A folder where the menu file should be.
    let dir = folder(&[]);
    std::fs::remove_file(dir.path().join("menu.toml")).unwrap();
    std::fs::create_dir(dir.path().join("menu.toml")).unwrap();
    let run = check(dir.path());
    let expect = format!(
        "{}: cannot read it: it is a folder, not a file",
        dir.path().join("menu.toml").display()
    );
    assert!(run.failed().contains(&expect), "{run}");
}

#[test]
fn a_missing_menu_file_is_named() {
    let dir = folder(&[("config.toml", &CONFIG.replace("menu.toml", "nomenu.toml"))]);
    let run = check(dir.path());
    let expect = format!(
        "{}: cannot read it",
        dir.path().join("nomenu.toml").display()
    );
    assert!(run.failed().contains(&expect), "{run}");
}

#[test]
fn pin_hash_reads_the_pin_from_stdin_and_the_hash_passes_check() {
    let run = klubkasse(&["pin-hash"], Some("4711\n"));
    let hash = run.ok().trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{run}");
    assert!(klubkasse::pin::verify("4711", &hash), "{run}");
    assert!(!klubkasse::pin::verify("1234", &hash), "{run}");

    let config = format!("{CONFIG}staff_pin_hash = \"{hash}\"\n");
    let dir = folder(&[("config.toml", &config)]);
    let run = check(dir.path());
    assert!(run.ok().contains("staff PIN: set"), "{run}");
}

/// A store in `dir/data`, as the kiosk's first start makes it.
fn first_start(dir: &Path) {
    klubkasse::store::Store::open(&dir.join("data")).unwrap();
}

fn import(dir: &Path, csv: &str) -> Run {
    import_bytes(dir, csv.as_bytes())
}

fn import_bytes(dir: &Path, csv: &[u8]) -> Run {
    let file = dir.join("children.csv");
    std::fs::write(&file, csv).unwrap();
    klubkasse(
        &[
            "import-children".as_ref(),
            file.as_os_str(),
            "--data-dir".as_ref(),
            dir.join("data").as_os_str(),
        ],
        None,
    )
}

/// What imports paid in today (the opening balances' total of the CSV
/// report), as plain decimals.
fn opening_balances(dir: &Path) -> String {
    let run = klubkasse_testkit::run::report(&dir.join("data"), true);
    let t = &klubkasse::i18n::Texts::of(klubkasse::i18n::Language::DA).report;
    let row = format!(";{};{};", t.total, t.openings);
    run.ok()
        .lines()
        .find(|l| l.contains(&row))
        .and_then(|l| l.trim_end().rsplit(';').next())
        .map(|amount| {
            klubkasse_core::domain::Money::parse(amount)
                .unwrap()
                .to_plain_string()
        })
        .unwrap_or_else(|| panic!("no opening balances total:\n{run}"))
}

#[test]
fn import_children_is_all_rows_or_none() {
    let dir = TempDir::new().unwrap();
    first_start(dir.path());
    let run = import(
        dir.path(),
        "name,card_uid,opening_balance\nAnna Berg,04010203,10.00\nBo Holm,04020304,20.50\n",
    );
    assert!(run.ok().contains("2 tilføjet, 0 ændret"), "{run}");
    assert_eq!(opening_balances(dir.path()), "30.50");

    // Line 2 is fine, line 3 is not: nothing of the file goes in.
    let run = import(
        dir.path(),
        "name,card_uid,opening_balance\nCarl Dahl,04030405,100.00\nDina Eg,NOTAUID,5.00\n",
    );
    let err = run.failed();
    assert!(
        err.contains("children.csv linje 3, kolonne card_uid: «NOTAUID» er ikke et kortnummer"),
        "{run}"
    );
    assert!(err.contains("Intet blev importeret."), "{run}");
    assert_eq!(opening_balances(dir.path()), "30.50");
}

#[test]
fn import_children_into_a_mistyped_folder_creates_nothing() {
    let dir = TempDir::new().unwrap();
    let run = import(
        dir.path(),
        "name,card_uid,opening_balance\nAnna Berg,04010203,10.00\n",
    );
    let expect = format!(
        "there is no store in {} (is the data folder right?)",
        dir.path().join("data/store").display()
    );
    assert!(run.failed().contains(&expect), "{run}");
    assert!(!dir.path().join("data").exists(), "{run}");
}

#[test]
fn import_children_into_a_connected_counter_is_refused() {
    let dir = TempDir::new().unwrap();
    first_start(dir.path());
    // The counter has pulled from a ledger once.
    let store = klubkasse::store::Store::open(&dir.path().join("data")).unwrap();
    let changes = klubkasse_core::protocol::Changes {
        cursor: 7,
        more: false,
        accounts: vec![],
    };
    store.apply_changes(&changes).unwrap();
    drop(store);
    let run = import(
        dir.path(),
        "name,card_uid,opening_balance\nAnna Berg,04010203,10.00\n",
    );
    let err = run.failed();
    assert!(err.contains("forbundet til en server"), "{run}");
    assert!(err.contains("Intet blev importeret."), "{run}");
    let store = klubkasse::store::Store::open_existing(&dir.path().join("data")).unwrap();
    assert!(store.children().unwrap().is_empty(), "{run}");
}

/// Named by a config with a `[ledger]`, a store is refused before its first
/// pull too.
#[test]
fn import_children_through_a_connected_config_is_refused() {
    let config = format!(
        "{CONFIG}language = \"en\"\n[ledger]\nurl = \"http://127.0.0.1:9\"\ntoken_file = \"kiosk.token\"\n"
    );
    let dir = folder(&[("config.toml", &config), ("kiosk.token", "secret\n")]);
    first_start(dir.path());
    let csv = dir.path().join("children.csv");
    std::fs::write(&csv, "name,card_uid\nAnna Berg,04010203\n").unwrap();
    let run = klubkasse(
        &[
            "import-children".as_ref(),
            csv.as_os_str(),
            "--config".as_ref(),
            dir.path().join("config.toml").as_os_str(),
        ],
        None,
    );
    // The config's language is the messages'.
    let err = run.failed();
    assert!(err.contains("connected to a ledger"), "{run}");
    let store = klubkasse::store::Store::open_existing(&dir.path().join("data")).unwrap();
    assert!(store.children().unwrap().is_empty(), "{run}");
}

/// What Danish Excel's «CSV (semikolonsepareret)» saves: Windows-1252
/// (ø is F8, Æ C6, å E5), `;`, Danish headers, `1.000,00`, CRLF.
const EXCEL_1252: &[u8] = b"Navn;Kort;Saldo;Dagsgr\xe6nse;Sp\xe6rrede kategorier\r\n\
S\xf8ren \xc6r\xf8;04010203;1.000,00;20,00;slik\r\n\
\xc5se Bl\xe5b\xe6r;04020304;116,00;;\r\n\
Bo Holm;04030405;116.50;;\r\n";

#[test]
fn import_children_reads_what_danish_excel_saves() {
    let dir = TempDir::new().unwrap();
    first_start(dir.path());
    let run = import_bytes(dir.path(), EXCEL_1252);
    assert!(run.ok().contains("3 tilføjet, 0 ændret"), "{run}");
    assert_eq!(opening_balances(dir.path()), "1232.50");
    let store = klubkasse::store::Store::open_existing(&dir.path().join("data")).unwrap();
    let mut names: Vec<String> = store
        .children()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    names.sort();
    assert_eq!(names, ["Bo Holm", "Søren Ærø", "Åse Blåbær"], "{run}");
    let soren = store
        .children()
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Søren Ærø")
        .unwrap();
    assert_eq!(
        soren.daily_limit,
        Some(klubkasse_core::domain::Money::kroner(20))
    );
    assert_eq!(soren.blocked_categories, ["slik"]);
}

#[test]
fn import_children_lists_every_mistake_in_the_language_asked_for() {
    let dir = TempDir::new().unwrap();
    first_start(dir.path());
    let bad = b"Navn;Kort;Saldo\r\nS\xf8ren;04010203;1.500\r\n;04020304;tolv\r\n";
    let run = import_bytes(dir.path(), bad);
    let err = run.failed();
    for expect in [
        "3 fejl i ",
        "linje 2, kolonne Saldo: «1.500» kan læses på to måder",
        "linje 3, kolonne Navn: navnet er tomt",
        "linje 3, kolonne Saldo: «tolv» er ikke et beløb",
    ] {
        assert!(err.contains(expect), "«{expect}» in\n{run}");
    }
    assert!(!err.contains("panicked"), "{run}");

    let file = dir.path().join("children.csv");
    let run = klubkasse(
        &[
            "import-children".as_ref(),
            file.as_os_str(),
            "--language".as_ref(),
            "en".as_ref(),
            "--data-dir".as_ref(),
            dir.path().join("data").as_os_str(),
        ],
        None,
    );
    let err = run.failed();
    assert!(err.contains("3 problems in "), "{run}");
    assert!(
        err.contains("line 3, column Navn: the name is empty"),
        "{run}"
    );
    let store = klubkasse::store::Store::open_existing(&dir.path().join("data")).unwrap();
    assert!(store.children().unwrap().is_empty(), "{run}");
}

#[test]
fn report_on_a_missing_folder_says_so() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nowhere");
    let run = klubkasse_testkit::run::report(&missing, false);
    let expect = format!(
        "there is no store in {} (is the data folder right?)",
        missing.join("store").display()
    );
    assert!(run.failed().contains(&expect), "{run}");
    assert!(!missing.exists(), "report must not create a store");
}

/// Every file of a folder, by name, with its bytes.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

fn run_kiosk(dir: &Path) -> Run {
    klubkasse(
        &[
            "run".as_ref(),
            "--headless".as_ref(),
            "--config".as_ref(),
            dir.join("config.toml").as_os_str(),
        ],
        Some("quit\n"),
    )
}

/// With its journal, a store whose sled files are damaged is rebuilt: the
/// kiosk starts with everything that was written, the damaged files set
/// aside as they were.
#[test]
fn a_damaged_store_is_rebuilt_from_its_journal_and_its_files_set_aside() {
    let dir = folder(&[]);
    first_start(dir.path());
    import(dir.path(), include_str!("../assets/demo-children.csv")).ok();
    let paid_in = opening_balances(dir.path());
    let data = dir.path().join("data");
    for (path, _) in snapshot(&data.join("store")) {
        std::fs::write(path, b"garbage, not a sled file at all").unwrap();
    }
    let before = snapshot(&data.join("store"));
    run_kiosk(dir.path()).ok();
    assert_eq!(opening_balances(dir.path()), paid_in);
    let aside: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("store.damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let moved: Vec<_> = snapshot(&aside[0]).into_iter().map(|(_, b)| b).collect();
    let was: Vec<_> = before.into_iter().map(|(_, b)| b).collect();
    assert_eq!(moved, was, "the damaged files were changed");
}

#[test]
fn a_damaged_store_without_a_journal_stops_the_kiosk_with_a_clear_message_and_is_left_alone() {
    let dir = folder(&[]);
    first_start(dir.path());
    import(dir.path(), include_str!("../assets/demo-children.csv")).ok();
    std::fs::remove_dir_all(dir.path().join("data/journal")).unwrap();
    let store = dir.path().join("data/store");
    for (path, _) in snapshot(&store) {
        std::fs::write(path, b"garbage, not a sled file at all").unwrap();
    }
    let before = snapshot(&store);

    for run in [
        run_kiosk(dir.path()),
        klubkasse_testkit::run::report(&dir.path().join("data"), false),
    ] {
        let err = run.failed();
        assert!(err.contains("cannot be read"), "{run}");
        assert!(err.contains("Nothing was changed"), "{run}");
        assert!(err.contains("klubkasse restore"), "{run}");
        assert!(!err.contains("panicked"), "{run}");
    }
    assert_eq!(snapshot(&store), before, "the damaged store was touched");
}

#[test]
fn a_missing_store_with_backups_is_not_started_empty() {
    let dir = folder(&[]);
    first_start(dir.path());
    import(dir.path(), include_str!("../assets/demo-children.csv")).ok();
    let data = dir.path().join("data");
    {
        let store = klubkasse::store::Store::open_existing(&data).unwrap();
        let today = klubkasse::store::local_day(chrono::Utc::now());
        klubkasse::store::write_daily_backup(&store, &data, today).unwrap();
    }
    std::fs::remove_dir_all(data.join("store")).unwrap();

    let run = run_kiosk(dir.path());
    let err = run.failed();
    assert!(err.contains("backups exist"), "{run}");
    assert!(err.contains("klubkasse restore"), "{run}");
    assert!(
        !data.join("store").exists(),
        "a fresh store was made:\n{run}"
    );
}

/// The demo in a terminal, on `dir`, at its idle screen.
fn demo_in_tmux(dir: &Path) -> klubkasse_testkit::tmux::Tmux {
    let kiosk = klubkasse_testkit::tmux::Tmux::start(
        &klubkasse_testkit::bin::KIOSK,
        &["demo", "--data-dir", dir.to_str().unwrap()],
    );
    kiosk.wait_for("Demo — tryk en tast");
    kiosk
}

/// Today's log of the kiosk in `dir`.
fn log_of(dir: &Path) -> String {
    let logs = dir.join("logs");
    let mut text = String::new();
    for entry in std::fs::read_dir(&logs).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    text
}

/// The only child process of `pid`.
fn child_of(pid: u32) -> u32 {
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
    children.trim().parse().expect("one child")
}

fn kill(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sigterm_and_sighup_stop_the_kiosk_cleanly_and_are_logged() {
    for (signal, name) in [("-TERM", "SIGTERM"), ("-HUP", "SIGHUP")] {
        let dir = TempDir::new().unwrap();
        // As from a shell: after the kiosk, the shell's terminal settings.
        let kiosk = klubkasse_testkit::tmux::Tmux::start(
            Path::new("sh"),
            &[
                "-c",
                r#""$0" demo --data-dir "$1"; echo "ended $?"; stty -a; sleep 60"#,
                klubkasse_testkit::bin::KIOSK.to_str().unwrap(),
                dir.path().to_str().unwrap(),
            ],
        );
        kiosk.wait_for("Demo — tryk en tast");
        // Mid-sale: the terminal is raw, the screen the kiosk's own.
        kiosk.send_keys(&["F1"]);
        kiosk.wait_for("Tryk på en vares tast");
        assert!(!kiosk.terminal_is_normal());
        kill(signal, child_of(kiosk.pid()));
        let screen = kiosk.wait_for("ended 0");
        assert!(kiosk.terminal_is_normal(), "{name}:\n{screen}");
        // Not raw: lines and echo as a shell has them.
        let stty = kiosk.wait_for(" icanon");
        assert!(stty.contains(" echo "), "{name}:\n{stty}");
        let log = log_of(dir.path());
        assert!(
            log.contains(&format!("signal=\"{name}\"")),
            "{name}:\n{log}"
        );
        assert!(log.contains("kiosk stopped"), "{name}:\n{log}");
    }
}

#[test]
fn a_log_that_cannot_be_written_does_not_stop_the_demo() {
    let dir = TempDir::new().unwrap();
    // A file where the log folder should be.
    std::fs::write(dir.path().join("logs"), "not a folder").unwrap();
    let kiosk = demo_in_tmux(dir.path());
    kill("-TERM", kiosk.pid());
    assert_eq!(kiosk.wait_exit(), klubkasse_testkit::tmux::Ended::Status(0));
    let seen = kiosk.history();
    let expect = format!(
        "klubkasse: cannot write the log in {}",
        dir.path().join("logs").display()
    );
    assert!(seen.contains(&expect), "{seen}");
    assert!(!seen.contains("panicked"), "{seen}");
}

/// `klubkasse ARGS` writing into a pipe nobody reads: `… | head -1` once
/// head has gone.
fn into_a_closed_pipe(args: &[&std::ffi::OsStr]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(&*klubkasse_testkit::bin::KIOSK)
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let dir = folder(&[]);
    first_start(dir.path());
    import(dir.path(), include_str!("../assets/demo-children.csv")).ok();
    let data = dir.path().join("data");
    let config = dir.path().join("config.toml");
    let backup = {
        let store = klubkasse::store::Store::open_existing(&data).unwrap();
        let today = klubkasse::store::local_day(chrono::Utc::now());
        klubkasse::store::write_daily_backup(&store, &data, today).unwrap()
    };
    let elsewhere = dir.path().join("elsewhere");
    let runs: [&[&std::ffi::OsStr]; 5] = [
        &["--help".as_ref()],
        &["report".as_ref(), "--data-dir".as_ref(), data.as_os_str()],
        &[
            "report".as_ref(),
            "--csv".as_ref(),
            "--data-dir".as_ref(),
            data.as_os_str(),
        ],
        &["check".as_ref(), "--config".as_ref(), config.as_os_str()],
        // Its lines are println!s: the quiet end is the panic hook's.
        &[
            "restore".as_ref(),
            backup.as_os_str(),
            "--data-dir".as_ref(),
            elsewhere.as_os_str(),
        ],
    ];
    for args in runs {
        let out = into_a_closed_pipe(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?}\n{stderr}", out.status);
        assert!(stderr.is_empty(), "{args:?}:\n{stderr}");
    }
}

#[test]
fn the_report_export_key_the_footer_offers_exports_in_the_demo() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo_in_tmux(dir.path());
    kiosk.send_keys(&["F9"]);
    kiosk.wait_for("Indtast PIN og tryk Enter");
    kiosk.send_keys(&["1234", "Enter"]);
    kiosk.wait_for("Luk kassen");
    while !kiosk.screen().contains("▶ Dagsrapport") {
        kiosk.send_keys(&["Down"]);
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    kiosk.send_keys(&["Enter"]);
    let screen = kiosk.wait_for("eksportér CSV");
    // The key the footer names, in tmux's words.
    let key = screen
        .split(" eksportér CSV")
        .next()
        .and_then(|before| before.split_whitespace().last())
        .unwrap()
        .to_string();
    assert!(!screen.contains("F5 eksportér"), "{screen}");
    kiosk.send_keys(&[&key.replace("Ctrl-", "C-")]);
    let screen = kiosk.wait_for("Rapporten er gemt i");
    assert!(!screen.contains("Tryk på en vares tast"), "{screen}");
}

/// `run` with the demo reader, the staff PIN `pin` and `keymap`: the idle
/// screen's legend.
fn demo_reader_legend(pin: &str, keymap: &str) -> String {
    let hash = klubkasse::pin::hash(pin).unwrap();
    let config = format!("{CONFIG}staff_pin_hash = \"{hash}\"\nkeymap = \"keymap.toml\"\n");
    let dir = folder(&[("config.toml", &config), ("keymap.toml", keymap)]);
    first_start(dir.path());
    import(dir.path(), include_str!("../assets/demo-children.csv")).ok();
    let kiosk = klubkasse_testkit::tmux::Tmux::start(
        &klubkasse_testkit::bin::KIOSK,
        &[
            "run",
            "--config",
            dir.path().join("config.toml").to_str().unwrap(),
        ],
    );
    kiosk.wait_for("Freja Nielsen")
}

#[test]
fn the_demo_readers_pin_hint_is_shown_only_when_true_and_cards_keep_off_bound_keys() {
    let screen = demo_reader_legend("4711", "");
    assert!(
        screen.contains("Demo — tryk en tast for at lægge et kort (personale: F9):"),
        "{screen}"
    );
    assert!(!screen.contains("1234"), "{screen}");
    assert!(!screen.contains("4711"), "{screen}");

    let screen = demo_reader_legend("1234", "export_report = [\"F2\"]\n");
    assert!(screen.contains("(personale: F9, PIN 1234):"), "{screen}");
    // F2 is the export's now: the cards go round it (the store's order).
    assert!(screen.contains("F1  Alma Larsen"), "{screen}");
    assert!(screen.contains("F3  Freja Nielsen"), "{screen}");
    assert!(!screen.contains("F2  "), "{screen}");
}

#[test]
fn no_terminal_to_take_is_an_error_not_a_panic() {
    let dir = TempDir::new().unwrap();
    // Out of the pane's session, stdin elsewhere: no terminal to make raw.
    let kiosk = klubkasse_testkit::tmux::Tmux::start(
        Path::new("sh"),
        &[
            "-c",
            r#"setsid -w "$0" demo --data-dir "$1" </dev/null"#,
            klubkasse_testkit::bin::KIOSK.to_str().unwrap(),
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(kiosk.wait_exit(), klubkasse_testkit::tmux::Ended::Status(1));
    let seen = kiosk.history();
    assert!(seen.contains("klubkasse: the terminal failed"), "{seen}");
    assert!(!seen.contains("internal error"), "{seen}");
}

#[test]
fn closing_the_terminal_window_stops_the_kiosk_and_says_so_in_the_log() {
    let dir = TempDir::new().unwrap();
    let kiosk = demo_in_tmux(dir.path());
    // The window and its terminal gone at once: SIGHUP, and no tty to
    // restore or write to.
    drop(kiosk);
    let start = std::time::Instant::now();
    while !log_of(dir.path()).contains("kiosk stopped") {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "no stop in the log:\n{}",
            log_of(dir.path())
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let log = log_of(dir.path());
    // Which the kiosk notices first is the kernel's race: the hangup, or
    // the terminal gone under a frame being drawn. Either way it stops
    // cleanly and says why.
    assert!(
        log.contains("signal=\"SIGHUP\"") || log.contains("the terminal failed"),
        "{log}"
    );
    assert!(!log.contains("panic"), "{log}");
}

/// A kiosk running headless on `dir/config.toml` until dropped (stdin
/// closed).
struct Running(std::process::Child);

impl Running {
    fn start(dir: &Path) -> Running {
        use std::io::BufRead;
        let mut child = std::process::Command::new(&*klubkasse_testkit::bin::KIOSK)
            .args(["run", "--headless", "--config"])
            .arg(dir.join("config.toml"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(first.contains("\"ready\""), "the kiosk said {first}");
        Running(child)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// Every command that writes a store refuses while a kiosk has it open,
/// with the words `report` uses, and changes nothing: the kiosk goes on
/// selling into the store the tools would have replaced.
#[test]
fn tools_that_write_a_store_refuse_while_a_kiosk_runs_on_it() {
    let dir = folder(&[]);
    first_start(dir.path());
    import(dir.path(), include_str!("../assets/demo-children.csv")).ok();
    let data = dir.path().join("data");
    let backup = {
        let store = klubkasse::store::Store::open_existing(&data).unwrap();
        let today = klubkasse::store::local_day(chrono::Utc::now());
        klubkasse::store::write_daily_backup(&store, &data, today).unwrap()
    };
    let before = opening_balances(dir.path());
    let kiosk = Running::start(dir.path());
    let in_use = "is in use by a running klubkasse; close it first";
    let runs = [
        klubkasse_testkit::run::report(&data, false),
        klubkasse(
            &[
                "restore".as_ref(),
                backup.as_os_str(),
                "--data-dir".as_ref(),
                data.as_os_str(),
            ],
            None,
        ),
        import(
            dir.path(),
            "name,card_uid,opening_balance\nNy Pige,04AA0001,10.00\n",
        ),
    ];
    for run in &runs {
        assert!(run.failed().contains(in_use), "{run}");
    }
    drop(kiosk);
    assert!(
        !std::fs::read_dir(&data).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("store.replaced-")),
        "a store was set aside under a running kiosk"
    );
    assert_eq!(opening_balances(dir.path()), before);
}

/// Two restores within a second each set the store they replace aside
/// under a name of its own.
#[test]
fn two_restores_in_one_second_keep_both_stores_they_replaced() {
    let dir = folder(&[]);
    first_start(dir.path());
    import(dir.path(), include_str!("../assets/demo-children.csv")).ok();
    let data = dir.path().join("data");
    let backup = {
        let store = klubkasse::store::Store::open_existing(&data).unwrap();
        let today = klubkasse::store::local_day(chrono::Utc::now());
        klubkasse::store::write_daily_backup(&store, &data, today).unwrap()
    };
    let restore = || {
        klubkasse(
            &[
                "restore".as_ref(),
                backup.as_os_str(),
                "--data-dir".as_ref(),
                data.as_os_str(),
            ],
            None,
        )
    };
    let (first, second) = (restore(), restore());
    let aside: std::collections::BTreeSet<String> = [first.ok(), second.ok()]
        .iter()
        .filter_map(|out| {
            out.lines()
                .find_map(|l| l.strip_prefix("The store that was there is kept in "))
                .map(str::to_string)
        })
        .collect();
    assert_eq!(aside.len(), 2, "{first}\n{second}");
    for path in &aside {
        assert!(Path::new(path).join("db").exists(), "{path}");
    }
}

/// A damaged backup is refused with what is wrong, and the store stays.
#[test]
fn restore_refuses_a_damaged_backup_and_says_what_is_wrong() {
    let dir = folder(&[]);
    first_start(dir.path());
    import(dir.path(), include_str!("../assets/demo-children.csv")).ok();
    let data = dir.path().join("data");
    let backup = {
        let store = klubkasse::store::Store::open_existing(&data).unwrap();
        let today = klubkasse::store::local_day(chrono::Utc::now());
        klubkasse::store::write_daily_backup(&store, &data, today).unwrap()
    };
    let mut damaged = klubkasse::store::read_backup(&backup).unwrap();
    let twice = damaged.children[0].clone();
    damaged.children.push(twice.clone());
    damaged.children.remove(1);
    let file = dir.path().join("damaged.json");
    std::fs::write(&file, serde_json::to_vec(&damaged).unwrap()).unwrap();
    let run = klubkasse(
        &[
            "restore".as_ref(),
            file.as_os_str(),
            "--data-dir".as_ref(),
            data.as_os_str(),
        ],
        None,
    );
    let err = run.failed();
    assert!(err.contains("is damaged and was not used"), "{run}");
    assert!(
        err.contains(&format!("child {} is in it twice", twice.id)),
        "{run}"
    );
    assert!(err.contains("who is not in it"), "{run}");
    assert!(data.join("store").exists());
    assert!(!std::fs::read_dir(&data).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("store.replaced-")
    }));
}

/// What a restore throws away is named: sales made after the backup.
#[test]
fn restore_names_the_sales_made_after_the_backup() {
    let dir = folder(&[]);
    first_start(dir.path());
    import(dir.path(), include_str!("../assets/demo-children.csv")).ok();
    let data = dir.path().join("data");
    let (backup, sale) = {
        let store = klubkasse::store::Store::open_existing(&data).unwrap();
        let today = klubkasse::store::local_day(chrono::Utc::now());
        let backup = klubkasse::store::write_daily_backup(&store, &data, today).unwrap();
        let card = store.cards().unwrap().remove(0);
        let sale = klubkasse_core::domain::Entry::sale(
            card.child,
            card.uid,
            vec![klubkasse_core::domain::SaleLine {
                name: "Toast".into(),
                category: "mad".into(),
                unit_price: klubkasse_core::domain::Money::kroner(12),
                quantity: 1,
            }],
            "test",
            chrono::Utc::now(),
        );
        store
            .record_sale(&sale, klubkasse_core::domain::Connection::Standalone)
            .unwrap();
        (backup, sale)
    };
    // A dry run says what would be left out, and leaves the store alone.
    let before = std::fs::read_dir(&data).unwrap().count();
    let run = klubkasse(
        &[
            "restore".as_ref(),
            backup.as_os_str(),
            "--data-dir".as_ref(),
            data.as_os_str(),
            "--dry-run".as_ref(),
        ],
        None,
    );
    let out = run.ok();
    assert!(out.contains("Nothing was changed."), "{run}");
    assert!(out.contains("would leave out 1 entries"), "{run}");
    assert!(out.contains(&sale.id.to_string()), "{run}");
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), before, "{run}");
    let run = klubkasse(
        &[
            "restore".as_ref(),
            backup.as_os_str(),
            "--data-dir".as_ref(),
            data.as_os_str(),
        ],
        None,
    );
    let out = run.ok();
    assert!(
        out.contains("1 entries made after the backup are not in the restored store"),
        "{run}"
    );
    assert!(out.contains(&sale.id.to_string()), "{run}");
}
