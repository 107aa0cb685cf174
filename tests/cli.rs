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
            ":5:1: unknown field `colour`",
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

/// The `deposits` total of today's CSV report.
fn deposits(dir: &Path) -> String {
    let run = klubkasse_testkit::run::report(&dir.join("data"), true);
    run.ok()
        .lines()
        .find_map(|l| {
            l.split_once(",total,deposits,,,")
                .map(|(_, a)| a.to_string())
        })
        .unwrap_or_else(|| panic!("no deposits total:\n{run}"))
}

#[test]
fn import_children_is_all_rows_or_none() {
    let dir = TempDir::new().unwrap();
    first_start(dir.path());
    let run = import(
        dir.path(),
        "name,card_uid,opening_balance\nAnna Berg,04010203,10.00\nBo Holm,04020304,20.50\n",
    );
    assert!(run.ok().contains("2 added, 0 updated"), "{run}");
    assert_eq!(deposits(dir.path()), "30.50");

    // Line 2 is fine, line 3 is not: nothing of the file goes in.
    let run = import(
        dir.path(),
        "name,card_uid,opening_balance\nCarl Dahl,04030405,100.00\nDina Eg,NOTAUID,5.00\n",
    );
    let err = run.failed();
    assert!(
        err.contains("children.csv line 3, column card_uid: «NOTAUID» is not a card UID"),
        "{run}"
    );
    assert!(err.contains("Nothing was imported."), "{run}");
    assert_eq!(deposits(dir.path()), "30.50");
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
    assert!(err.contains("connected to a ledger"), "{run}");
    assert!(err.contains("Nothing was imported."), "{run}");
    let store = klubkasse::store::Store::open_existing(&dir.path().join("data")).unwrap();
    assert!(store.children().unwrap().is_empty(), "{run}");
}

/// Named by a config with a `[ledger]`, a store is refused before its first
/// pull too.
#[test]
fn import_children_through_a_connected_config_is_refused() {
    let config =
        format!("{CONFIG}[ledger]\nurl = \"http://127.0.0.1:9\"\ntoken_file = \"kiosk.token\"\n");
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
    let err = run.failed();
    assert!(err.contains("connected to a ledger"), "{run}");
    let store = klubkasse::store::Store::open_existing(&dir.path().join("data")).unwrap();
    assert!(store.children().unwrap().is_empty(), "{run}");
}

#[test]
fn import_children_from_a_latin_1_file_says_how_to_save_it() {
    let dir = TempDir::new().unwrap();
    first_start(dir.path());
    // "Søren" as Excel's old «CSV (semikolonsepareret)» saves it: ø is 0xF8.
    let run = import_bytes(
        dir.path(),
        b"name,card_uid,opening_balance\nS\xf8ren Holm,04010203,10.00\n",
    );
    let err = run.failed();
    assert!(err.contains("children.csv is not UTF-8 text"), "{run}");
    assert!(err.contains("save it as «CSV UTF-8»"), "{run}");
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
    let paid_in = deposits(dir.path());
    let data = dir.path().join("data");
    for (path, _) in snapshot(&data.join("store")) {
        std::fs::write(path, b"garbage, not a sled file at all").unwrap();
    }
    let before = snapshot(&data.join("store"));
    run_kiosk(dir.path()).ok();
    assert_eq!(deposits(dir.path()), paid_in);
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
    let before = deposits(dir.path());
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
    assert_eq!(deposits(dir.path()), before);
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
