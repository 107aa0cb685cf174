//! The disk fills up while a sale is saved: the sale is refused with a
//! clear message and nothing is half written; and round after round of
//! full disks and SIGKILLs loses nothing. Runs on a real, small tmpfs
//! (needs root, as the test command and CI run).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use klubkasse::i18n::Language;
use klubkasse::store::Store;
use klubkasse::ui::Action;
use klubkasse::ui::screens::result::ResultScreen;
use klubkasse::ui::{Effect, Screen};
use klubkasse_core::domain::Money;
use klubkasse_testkit::kiosk::*;

/// A small tmpfs, unmounted again when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> SmallDisk {
        let dir = tempfile::TempDir::new().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("cannot run mount");
        assert!(
            status.success(),
            "mounting a tmpfs failed: this test needs root (run it through ./install.sh --test)"
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) -> std::path::PathBuf {
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        // Fill the last few bytes too.
        while file.write_all(&[0u8]).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_full_disk_refuses_the_sale_and_writes_nothing() {
    let disk = SmallDisk::mount(16);
    let data = disk.path().join("data");
    let mut kiosk = Kiosk::open(&data, Language::DA);
    kiosk.tap(FREJA);
    kiosk.keys("1");
    kiosk.send(Action::Confirm);
    assert!(matches!(
        kiosk.app.screen,
        Screen::Result(ResultScreen::Paid { .. })
    ));

    // The guard refuses before sled is asked to write: the store stays
    // whole and usable, and the message says what to do.
    let filler = disk.fill();
    for _ in 0..2 {
        kiosk.tap(FREJA);
        kiosk.keys("3");
        kiosk.send(Action::Confirm);
        match &kiosk.app.screen {
            Screen::Result(ResultScreen::NotSaved(message)) => {
                assert!(message.contains("Frigør mindst"), "{message}");
                assert!(!message.contains("backup"), "{message}");
            }
            other => panic!("a sale on a full disk must be refused, got {other:?}"),
        }
        assert!(kiosk.effects.contains(&Effect::Bell));
    }
    // The reserve file was let go, for recovery, not for more sales.
    assert!(!data.join(klubkasse::store::disk::RESERVE_FILE).exists());

    // Space comes back: the same kiosk sells again, no restart needed.
    std::fs::remove_file(filler).unwrap();
    kiosk.tap(FREJA);
    kiosk.keys("1");
    kiosk.send(Action::Confirm);
    assert!(matches!(
        kiosk.app.screen,
        Screen::Result(ResultScreen::Paid { .. })
    ));
    drop(kiosk);
    let store = open_store(&data);
    let sales: Vec<_> = store
        .all_entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.is_sale())
        .collect();
    assert_eq!(sales.len(), 2, "{sales:?}");
    assert_eq!(sales[0].amount, -Money::kroner(12));
    let freja = store.card(&uid(FREJA)).unwrap().unwrap().child;
    assert_eq!(store.balance(freja).unwrap(), Money::kroner(226));
    assert!(store.balance_mismatches().unwrap().is_empty());
}

/// Runs the calling test again inside a private mount namespace (`unshare
/// --mount`), so that its tmpfs is seen by no other process on the
/// machine and goes away with it, whatever happens. Returns true in the
/// namespace (go on), false outside (the run there was checked).
fn in_private_mount_namespace(test: &str) -> bool {
    const INSIDE: &str = "KLUBKASSE_IN_MOUNT_NAMESPACE";
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let status = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--"])
        .arg(std::env::current_exe().expect("the test binary"))
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(INSIDE, "1")
        .status()
        .expect("cannot run unshare (util-linux)");
    assert!(status.success(), "{test} failed in its mount namespace");
    false
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
    })
}

/// The kiosk binary, headless, on the small disk.
struct KioskProcess {
    process: std::process::Child,
    stdin: std::process::ChildStdin,
    events: std::sync::mpsc::Receiver<serde_json::Value>,
}

const PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);

impl KioskProcess {
    /// Starts it; `Err` with what it said if it did not get ready.
    fn start(config: &Path, log: &Path) -> Result<KioskProcess, String> {
        use std::io::BufRead;
        let stderr = std::fs::File::create(log).expect("kiosk log");
        let mut process = Command::new(&*klubkasse_testkit::bin::KIOSK)
            .args(["run", "--headless", "--config"])
            .arg(config)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start klubkasse");
        let stdin = process.stdin.take().expect("stdin");
        let stdout = process.stdout.take().expect("stdout");
        let (tx, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("the kiosk wrote «{line}», not JSON: {e}"));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        let mut kiosk = KioskProcess {
            process,
            stdin,
            events,
        };
        match kiosk.next_event() {
            Some(event) if event["event"] == "ready" => Ok(kiosk),
            _ => {
                let _ = kiosk.process.wait();
                Err(std::fs::read_to_string(log).unwrap_or_default())
            }
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("the kiosk stopped listening ({e}) before «{line}»"));
    }

    fn next_event(&self) -> Option<serde_json::Value> {
        match self.events.recv_timeout(PATIENCE) {
            Ok(event) => Some(event),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("the kiosk said nothing for {PATIENCE:?}")
            }
        }
    }

    /// SIGKILL; returns what it wrote before it died.
    fn kill(mut self) -> Vec<serde_json::Value> {
        self.process.kill().expect("SIGKILL the kiosk");
        self.process.wait().expect("reap the kiosk");
        std::iter::from_fn(|| self.next_event()).collect()
    }

    /// "quit": the kiosk stops as staff stop it (and writes its backup).
    fn quit(mut self) -> Vec<serde_json::Value> {
        self.send("quit");
        let said = std::iter::from_fn(|| self.next_event()).collect();
        let status = self.process.wait().expect("reap the kiosk");
        assert!(status.success(), "the kiosk failed at quitting: {status}");
        said
    }
}

/// What the driver saw.
#[derive(Default)]
struct Tally {
    /// Sales the kiosk said were paid.
    paid: std::collections::BTreeSet<uuid::Uuid>,
    tried: usize,
    not_saved: usize,
    /// Of those, refused by the free-space guard before any write.
    guarded: usize,
    refused: usize,
    kills: usize,
    kills_after_enter: usize,
    fills: usize,
    fills_mid_sale: usize,
    starts_on_full_disk: usize,
}

impl Tally {
    fn saw(&mut self, event: &serde_json::Value) {
        match event["event"].as_str().unwrap_or("") {
            "paid" => {
                let id = serde_json::from_value(event["sale"].clone()).expect("sale id");
                assert!(self.paid.insert(id), "sale {id} was paid twice");
            }
            "not_saved" => {
                let message = event["message"].as_str().unwrap_or("");
                assert!(
                    !message.contains("klubkasse restore"),
                    "a full disk is not damage: {message}"
                );
                self.not_saved += 1;
                if message.contains("Frigør mindst") {
                    self.guarded += 1;
                }
            }
            "refused" => self.refused += 1,
            "bad_line" => panic!("the kiosk said {event}"),
            _ => {}
        }
    }
}

/// Fills the disk, leaving `slack` bytes free.
fn fill(dir: &Path, slack: u64) -> std::path::PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap();
    let block = vec![1u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    while file.write_all(&[1u8]).is_ok() {}
    let len = file.metadata().unwrap().len();
    file.set_len(len.saturating_sub(slack)).unwrap();
    path
}

/// At random moments the disk fills up (sometimes in the middle of a
/// sale, with a little or no room left), the real kiosk binary sells and
/// is SIGKILLed, the space comes back and the store is opened again, round
/// after round. Every sale the kiosk reported as paid is in the store and
/// nothing else is (but for a sale killed between its flush and "paid"),
/// and the store always opens. `KLUBKASSE_DISK_FULL_ROUNDS` (8) and
/// `KLUBKASSE_DISK_FULL_SEED` (random, printed) repeat a run.
#[test]
fn sales_on_a_disk_that_keeps_filling_up_are_never_lost_and_the_store_always_opens() {
    use rand::{Rng, SeedableRng};
    const TEST: &str =
        "sales_on_a_disk_that_keeps_filling_up_are_never_lost_and_the_store_always_opens";
    if !in_private_mount_namespace(TEST) {
        return;
    }
    let rounds = env_number("KLUBKASSE_DISK_FULL_ROUNDS", 8);
    let seed = env_number("KLUBKASSE_DISK_FULL_SEED", rand::random::<u32>().into());
    println!("disk-full test: {rounds} rounds, KLUBKASSE_DISK_FULL_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let disk = SmallDisk::mount(24);
    let data = disk.path().join("data");
    let outside = tempfile::TempDir::new().unwrap();
    let config = outside.path().join("kiosk.toml");
    let log = outside.path().join("kiosk.log");
    let menu = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/menu.toml");
    std::fs::write(
        &config,
        format!(
            "counter = \"Fuld disk\"\ndata_dir = \"{}\"\nreader = \"demo\"\nmenu = \"{menu}\"\n\
             disk_reserve_mb = 2\n",
            data.display()
        ),
    )
    .unwrap();
    let uids: Vec<String> = (0..6).map(|n| format!("04DF{n:04X}")).collect();
    let mut csv = String::from("name,card_uid,opening_balance\n");
    for (n, uid) in uids.iter().enumerate() {
        csv.push_str(&format!("Barn {n},{uid},100000.00\n"));
    }
    let children = outside.path().join("children.csv");
    std::fs::write(&children, csv).unwrap();
    drop(Store::open(&data).expect("a new store"));
    klubkasse_testkit::run::klubkasse(
        &[
            "import-children".as_ref(),
            children.as_os_str(),
            "--data-dir".as_ref(),
            data.as_os_str(),
        ],
        None,
    )
    .ok();

    let mut tally = Tally::default();
    // Sales on disk that the kiosk was killed before reporting.
    let mut in_doubt = 0usize;
    for round in 0..rounds {
        let mut filler = None;
        let mut kiosk = KioskProcess::start(&config, &log)
            .unwrap_or_else(|said| panic!("round {round}: the kiosk did not start:\n{said}"));
        let mut killed_before_outcome = false;
        let sales = rng.random_range(1..=8);
        let fill_at = rng.random_range(0..sales + 2);
        let mut alive = true;
        for sale in 0..sales {
            let mid_sale = sale == fill_at && rng.random_bool(0.5);
            if sale == fill_at && !mid_sale {
                filler = Some(fill(disk.path(), slack(&mut rng)));
                tally.fills += 1;
            }
            kiosk.send(&format!("tap {}", uids[rng.random_range(0..uids.len())]));
            let account = loop {
                let event = kiosk.next_event().expect("the kiosk died by itself");
                tally.saw(&event);
                match event["event"].as_str().unwrap_or("") {
                    "account" => break true,
                    "refused" | "not_saved" => break false,
                    _ => {}
                }
            };
            if !account {
                continue;
            }
            for _ in 0..rng.random_range(1..=3) {
                kiosk.send(&format!("key {}", rng.random_range(1..=4)));
            }
            let filling = mid_sale.then(|| {
                // Just enough room that the guard lets the sale through,
                // then the rest fills while it is written: the write fails.
                let dir = disk.path().to_path_buf();
                fill(&dir, 4 * MB + 64 * 1024);
                let slack = [0, 4096][rng.random_range(0..2)];
                let wait = rng.random_range(0..2_000);
                std::thread::spawn(move || {
                    std::thread::sleep(std::time::Duration::from_micros(wait));
                    fill(&dir, slack)
                })
            });
            kiosk.send("key enter");
            tally.tried += 1;
            if let Some(filling) = filling {
                filler = Some(filling.join().unwrap());
                tally.fills += 1;
                tally.fills_mid_sale += 1;
            }
            if rng.random_bool(0.2) {
                std::thread::sleep(std::time::Duration::from_micros(rng.random_range(0..6_000)));
                killed_before_outcome = true;
                tally.kills_after_enter += 1;
                alive = false;
                break;
            }
            loop {
                let event = kiosk.next_event().expect("the kiosk died by itself");
                tally.saw(&event);
                if matches!(
                    event["event"].as_str().unwrap_or(""),
                    "paid" | "refused" | "not_saved"
                ) {
                    break;
                }
            }
        }
        let said = if alive && rng.random_bool(0.3) {
            kiosk.quit()
        } else {
            tally.kills += 1;
            kiosk.kill()
        };
        for event in &said {
            tally.saw(event);
        }
        if killed_before_outcome && !said.iter().any(|e| e["event"] == "paid") {
            in_doubt += 1;
        }
        if let Some(filler) = filler.take() {
            if rng.random_bool(0.3) {
                // Started again before anyone made room: it starts, or
                // says to free space, never to restore.
                tally.starts_on_full_disk += 1;
                match KioskProcess::start(&config, &log) {
                    Ok(kiosk) => drop(kiosk.kill()),
                    Err(said) => assert!(
                        !said.contains("klubkasse restore") && said.contains("free at least"),
                        "round {round}: a full disk is not damage:\n{said}"
                    ),
                }
            }
            std::fs::remove_file(filler).unwrap();
        }

        // Room again: the store opens, with every paid sale, and at most
        // the sales killed before they were reported besides.
        let store = Store::open(&data).unwrap_or_else(|e| {
            panic!(
                "round {round} (seed {seed}): the store does not open: {e}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        let stored: std::collections::BTreeSet<uuid::Uuid> = store
            .all_entries()
            .unwrap()
            .into_iter()
            .filter(|e| e.is_sale())
            .map(|e| e.id)
            .collect();
        let lost: Vec<_> = tally.paid.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "round {round} (seed {seed}): paid but not stored: {lost:?}"
        );
        let extra = stored.len() - tally.paid.len();
        assert!(
            extra <= in_doubt,
            "round {round} (seed {seed}): {extra} stored sales were never paid, \
             but only {in_doubt} kills came between Enter and the answer"
        );
        // What was killed before its answer and is on disk is now known.
        in_doubt = extra;
        assert!(store.balance_mismatches().unwrap().is_empty());
        drop(store);
        klubkasse_testkit::run::report(&data, true).ok();
    }
    println!(
        "disk-full test: {rounds} rounds, {} sales tried, {} paid and all in the store, \
         {} in doubt (killed between the flush and \"paid\", on disk), {} not saved \
         ({} by the guard, the rest failed writes), {} refused; {} kills ({} right after \
         Enter), {} fills ({} mid-sale), {} starts on a full disk, {} rebuilds; nothing lost",
        tally.tried,
        tally.paid.len(),
        in_doubt,
        tally.not_saved,
        tally.guarded,
        tally.refused,
        tally.kills,
        tally.kills_after_enter,
        tally.fills,
        tally.fills_mid_sale,
        tally.starts_on_full_disk,
        rebuilds(&data)
    );
}

const MB: u64 = 1024 * 1024;

/// How much room a fill leaves: none, a little, or about the guard's margin.
fn slack(rng: &mut impl rand::Rng) -> u64 {
    [0, 4096, 64 * 1024, MB, 3 * MB, 5 * MB][rng.random_range(0..6)]
}

/// Where the seller below sells, when it is run as a child process.
const SELLER_DATA: &str = "KLUBKASSE_DISK_FULL_SELLER";

/// Not a test of its own: the child process of the next test. Sells to
/// the one child in `$KLUBKASSE_DISK_FULL_SELLER` on a store with no
/// free-space guard, printing `paid ID` for each sale saved and `failed`
/// once a write fails; then waits for its SIGKILL, as a kiosk would.
#[test]
fn seller_process() {
    let Some(data) = std::env::var_os(SELLER_DATA) else {
        return;
    };
    let store = Store::open(Path::new(&data)).expect("the seller's store opens");
    let card = store.cards().unwrap().remove(0);
    let line = klubkasse_core::domain::SaleLine {
        name: "Toast".into(),
        category: "mad".into(),
        unit_price: Money::kroner(12),
        quantity: 1,
    };
    let mut out = std::io::stdout().lock();
    loop {
        let sale = klubkasse_core::domain::Entry::sale(
            card.child,
            card.uid.clone(),
            vec![line.clone()],
            "sælger",
            chrono::Utc::now(),
        );
        match store.record_sale(&sale, klubkasse_core::domain::Connection::Standalone) {
            Ok(klubkasse::store::Recorded::Saved { .. }) => writeln!(out, "paid {}", sale.id),
            Ok(other) => panic!("{other:?}"),
            Err(_) => {
                let _ = writeln!(out, "failed").and_then(|()| out.flush());
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        }
        .and_then(|()| out.flush())
        .expect("stdout");
        // A counter's pace, more or less: the store must not fill the disk
        // by itself.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// What the guard cannot rule out, tried head on: sales written with no
/// guard while the disk fills up, the seller SIGKILLed at a random moment
/// (also mid-failure), round after round. sled's files are then sometimes
/// unreadable for good ("Read corrupted data"): the store is rebuilt from
/// the backup and the journal. After each round the store must open with
/// every sale said saved, and at most the one being written besides.
#[test]
fn sales_survive_sled_writes_failing_on_a_full_disk_and_a_sigkill() {
    use rand::{Rng, SeedableRng};
    use std::io::BufRead;
    const TEST: &str = "sales_survive_sled_writes_failing_on_a_full_disk_and_a_sigkill";
    if !in_private_mount_namespace(TEST) {
        return;
    }
    let rounds = env_number("KLUBKASSE_DISK_FULL_ROUNDS", 8) * 2;
    let seed = env_number("KLUBKASSE_DISK_FULL_SEED", rand::random::<u32>().into());
    println!("sled on a full disk: {rounds} rounds, KLUBKASSE_DISK_FULL_SEED={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let disk = SmallDisk::mount(48);
    let data = disk.path().join("data");
    {
        let store = Store::open(&data).unwrap();
        let child = klubkasse_core::domain::Child {
            id: klubkasse_core::domain::ChildId::new(),
            name: "Barn".into(),
            daily_limit: None,
            blocked_categories: vec![],
            note: None,
        };
        store.put_child(&child).unwrap();
        store.bind_card(&uid("04DF0001"), child.id, false).unwrap();
        store
            .deposit(
                child.id,
                Money::kroner(10_000_000),
                "test",
                chrono::Utc::now(),
            )
            .unwrap();
    }
    let (mut paid, mut failed_rounds, mut extra_total) = (BTreeSet::new(), 0, 0);
    for round in 0..rounds {
        let mut seller = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "seller_process", "--nocapture"])
            .env(SELLER_DATA, &data)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the seller");
        let (tx, said) = std::sync::mpsc::channel::<String>();
        let stdout = seller.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let take = |paid: &mut BTreeSet<uuid::Uuid>, wait: std::time::Duration| {
            let mut failed = false;
            let until = std::time::Instant::now() + wait;
            while let Ok(line) =
                said.recv_timeout(until.saturating_duration_since(std::time::Instant::now()))
            {
                if let Some(id) = line.strip_prefix("paid ") {
                    paid.insert(id.parse().unwrap());
                }
                failed |= line == "failed";
            }
            failed
        };
        let mut failed = take(&mut paid, ms(rng.random_range(20..200)));
        let filler = fill(disk.path(), [0, 512, 4096, 65_536][rng.random_range(0..4)]);
        failed |= take(&mut paid, ms(rng.random_range(0..100)));
        seller.kill().unwrap();
        seller.wait().unwrap();
        failed |= take(&mut paid, ms(50));
        failed_rounds += usize::from(failed);
        std::fs::remove_file(filler).unwrap();

        let store = Store::open(&data).unwrap_or_else(|e| {
            panic!("round {round} (seed {seed}): the store does not open: {e}")
        });
        let stored: BTreeSet<uuid::Uuid> = store
            .all_entries()
            .unwrap()
            .into_iter()
            .filter(|e| e.is_sale())
            .map(|e| e.id)
            .collect();
        let lost: Vec<_> = paid.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "round {round} (seed {seed}): saved, then lost: {lost:?}"
        );
        let extra = stored.len() - paid.len();
        assert!(
            extra <= extra_total + 1,
            "round {round} (seed {seed}): {extra} sales stored that were never said saved"
        );
        extra_total = extra;
        assert!(store.balance_mismatches().unwrap().is_empty());
        // What the killed seller was writing is now known; it counts.
        paid = stored;
    }
    println!(
        "sled on a full disk: {rounds} rounds, {} sales stored, {failed_rounds} rounds with a \
         failed write, {} times sled's files unreadable and the store rebuilt, {extra_total} \
         saved but killed before saying so; the store opened every time, nothing lost",
        paid.len(),
        rebuilds(&data)
    );
}

/// How often the store was rebuilt: each time, sled's files are set aside.
fn rebuilds(data: &Path) -> usize {
    std::fs::read_dir(data)
        .unwrap()
        .filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("store.damaged-")
            })
        })
        .count()
}

fn ms(n: u64) -> std::time::Duration {
    std::time::Duration::from_millis(n)
}
