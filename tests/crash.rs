//! The crash test. A real kiosk process (`klubkasse run --headless`) sells
//! to children while it, and the real `klubkasse-ledger` process it syncs
//! with, are killed with SIGKILL at random moments (mid-sale, mid-flush,
//! mid-sync, mid-batch at the ledger) and started again. Afterwards:
//!
//! - every sale the kiosk confirmed ("paid") is in the ledger exactly
//!   once, for the amount shown;
//! - the ledger holds no sale the kiosk did not durably record;
//! - every ledger balance equals the sum of its entries, and the kiosk's
//!   balances equal the ledger's;
//! - the kiosk's day report equals the ledger's.
//!
//! `KLUBKASSE_CRASH_SALES` sets how many sales are tried (500 by default;
//! RELIABILITY.md records a 10,000-sale run), `KLUBKASSE_CRASH_SEED` the
//! random seed (printed, for replaying a failure).
//!
//! One file, over 400 lines: it is one test and its harness (the killers,
//! the replay and the checks), which only make sense together.

use klubkasse_testkit::bin::{KIOSK, LEDGER};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use klubkasse::store::Store;
use klubkasse_core::domain::{ChildId, EntryKind, Money};
use klubkasse_ledger::Settings;
use klubkasse_ledger::auth::TokenRole;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use uuid::Uuid;

const COUNTER: &str = "crash-cafe";
const CHILDREN: usize = 12;
/// The menu's hotkeys (assets/menu.toml's first four items).
const ITEM_KEYS: [&str; 4] = ["1", "2", "3", "4"];
/// Days are UTC on both sides, so that the two day reports cover the same sales.
const TIME_ZONE: &str = "UTC";
/// How long any one answer may take before the test calls the kiosk stuck.
const PATIENCE: Duration = Duration::from_secs(20);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

/// The ledger as a process of its own, on a fixed port, so it can be
/// killed and started again where the kiosk expects it.
struct LedgerProcess {
    port: u16,
    database_url: String,
    log: PathBuf,
    process: Option<Child>,
}

impl LedgerProcess {
    fn start(&mut self) {
        assert!(self.process.is_none(), "the ledger runs already");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("ledger log");
        let process = Command::new(&*LEDGER)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--balance-cap", "10000000", "--time-zone", TIME_ZONE])
            .env("DATABASE_URL", &self.database_url)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start klubkasse-ledger");
        self.process = Some(process);
        let deadline = Instant::now() + PATIENCE;
        while !self.healthy() {
            if let Some(status) = self.process.as_mut().and_then(|p| p.try_wait().ok()?) {
                panic!("the ledger exited with {status}:\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "the ledger did not answer:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().expect("SIGKILL the ledger");
            process.wait().expect("reap the ledger");
        }
    }

    fn healthy(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        let mut answer = String::new();
        stream.write_all(request.as_bytes()).is_ok()
            && BufReader::new(stream).read_line(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.1 200")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The kiosk as a process of its own, driven through `--headless`.
struct KioskProcess {
    process: Child,
    stdin: ChildStdin,
    events: Receiver<Value>,
}

impl KioskProcess {
    fn start(config: &Path, log: &Path) -> KioskProcess {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("kiosk log");
        let mut process = Command::new(&*KIOSK)
            .args(["run", "--headless", "--config"])
            .arg(config)
            .env("TZ", TIME_ZONE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start klubkasse");
        let stdin = process.stdin.take().expect("stdin");
        let stdout = process.stdout.take().expect("stdout");
        let (tx, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("the kiosk wrote «{line}», not JSON: {e}"));
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        KioskProcess {
            process,
            stdin,
            events,
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("the kiosk stopped listening ({e}) before «{line}»"));
    }

    /// The next event, or `None` once the kiosk's output has ended.
    fn next_event(&self) -> Option<Value> {
        match self.events.recv_timeout(PATIENCE) {
            Ok(event) => Some(event),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("the kiosk said nothing for {PATIENCE:?}"),
        }
    }

    /// SIGKILL: no destructor, no flush. Returns what it wrote before dying.
    fn kill(mut self) -> Vec<Value> {
        self.process.kill().expect("SIGKILL the kiosk");
        self.process.wait().expect("reap the kiosk");
        let mut said = Vec::new();
        while let Some(event) = self.next_event() {
            said.push(event);
        }
        said
    }
}

fn kind(event: &Value) -> &str {
    event["event"].as_str().unwrap_or("")
}

fn money(value: &Value) -> Money {
    Money::parse(value.as_str().expect("money is a string")).expect("money")
}

/// What the driver saw and did.
#[derive(Default)]
struct Tally {
    /// Sales the kiosk said were paid, with the total it showed.
    confirmed: HashMap<Uuid, Money>,
    tried: usize,
    /// Refusals by what the screen said.
    refused: BTreeMap<String, usize>,
    kiosk_kills: usize,
    kills_after_enter: usize,
}

impl Tally {
    fn saw(&mut self, event: &Value) {
        match kind(event) {
            "paid" => {
                let id: Uuid = serde_json::from_value(event["sale"].clone()).expect("sale id");
                let earlier = self.confirmed.insert(id, money(&event["total"]));
                assert!(earlier.is_none(), "sale {id} was confirmed twice");
            }
            "refused" => {
                let reason = event["reason"].as_str().unwrap_or("").to_string();
                *self.refused.entry(reason).or_default() += 1;
            }
            "not_saved" | "bad_line" => panic!("the kiosk said {event}"),
            _ => {}
        }
    }
}

/// The test's world: a ledger process, a kiosk config, the seeded children.
struct World {
    dir: tempfile::TempDir,
    ledger: Arc<Mutex<LedgerProcess>>,
    cards: Vec<(ChildId, String)>,
}

impl World {
    fn config(&self) -> PathBuf {
        self.dir.path().join("kiosk.toml")
    }

    fn kiosk_log(&self) -> PathBuf {
        self.dir.path().join("kiosk.log")
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The kiosk's own log files (in its data folder) and its stderr.
    fn logs_tail(&self) -> String {
        let mut text = std::fs::read_to_string(self.kiosk_log()).unwrap_or_default();
        let logs = self.data_dir().join("logs");
        if let Ok(dir) = std::fs::read_dir(&logs) {
            let mut files: Vec<PathBuf> = dir.filter_map(|e| Some(e.ok()?.path())).collect();
            files.sort();
            for file in files {
                text.push_str(&std::fs::read_to_string(file).unwrap_or_default());
            }
        }
        tail(&text)
    }

    fn start_kiosk(&self) -> KioskProcess {
        let kiosk = KioskProcess::start(&self.config(), &self.kiosk_log());
        match kiosk.next_event() {
            Some(event) if kind(&event) == "ready" => kiosk,
            other => panic!(
                "the kiosk did not start: {other:?}\n{}",
                std::fs::read_to_string(self.kiosk_log()).unwrap_or_default()
            ),
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

async fn set_up(ledger: &klubkasse_testkit::ledger::Ledger, sales: usize) -> World {
    let dir = tempfile::TempDir::new().expect("temp dir");
    // Enough money that refusals stay rare: at most 3 × 18 kr a sale.
    let each = Money::kroner(i64::try_from(sales * 60 / CHILDREN + 100).expect("fits"));
    let mut cards = Vec::new();
    for n in 0..CHILDREN {
        let child = ledger.enrol(&format!("Barn {n:02}")).await;
        let uid = format!("04CA{n:04X}");
        ledger.hand_out(child, &uid).await;
        let answer = ledger.deposit(child, &each.to_plain_string()).await;
        assert!(answer.status.is_success(), "{}", answer.text);
        cards.push((child, uid));
    }
    let token = ledger.token(TokenRole::Kiosk, Some(COUNTER), &[]).await;
    std::fs::write(dir.path().join("kiosk.token"), token).expect("token file");
    let menu = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/menu.toml");
    let port = free_port();
    std::fs::write(
        dir.path().join("kiosk.toml"),
        format!(
            "counter = \"{COUNTER}\"\ndata_dir = \"data\"\nreader = \"demo\"\nmenu = \"{menu}\"\n\
             offline_allowance = \"100000.00\"\n\n[ledger]\nurl = \"http://127.0.0.1:{port}\"\n\
             token_file = \"kiosk.token\"\npull_seconds = 1\ntimeout_seconds = 2\n"
        ),
    )
    .expect("config");
    let ledger_process = LedgerProcess {
        port,
        database_url: ledger.url.clone(),
        log: dir.path().join("ledger.log"),
        process: None,
    };
    World {
        dir,
        ledger: Arc::new(Mutex::new(ledger_process)),
        cards,
    }
}

/// Kills the ledger now and then and starts it again after a while, until
/// told to stop; returns how often it killed.
fn spawn_ledger_killer(
    ledger: Arc<Mutex<LedgerProcess>>,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x1ed6e5);
        let mut kills = 0;
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(rng.random_range(200..1500)));
            ledger.lock().unwrap().kill();
            kills += 1;
            // Down for a moment, or long enough for a backlog to build up,
            // which the kiosk then pushes in batches (and the next kill may
            // cut one in half).
            std::thread::sleep(Duration::from_millis(rng.random_range(0..800)));
            ledger.lock().unwrap().start();
        }
        kills
    })
}

/// One sale: tap, one to three items, Enter; sometimes SIGKILL somewhere
/// on the way. Returns the kiosk, or `None` if it was killed.
fn one_sale(
    world: &World,
    mut kiosk: KioskProcess,
    rng: &mut StdRng,
    tally: &mut Tally,
) -> Option<KioskProcess> {
    let (_, uid) = &world.cards[rng.random_range(0..world.cards.len())];
    kiosk.send(&format!("tap {uid}"));
    loop {
        let event = kiosk.next_event().expect("the kiosk died by itself");
        tally.saw(&event);
        match kind(&event) {
            "account" => break,
            "refused" => return Some(kiosk),
            _ => {}
        }
    }
    for _ in 0..rng.random_range(1..=3) {
        kiosk.send(&format!(
            "key {}",
            ITEM_KEYS[rng.random_range(0..ITEM_KEYS.len())]
        ));
    }
    kiosk.send("key enter");
    tally.tried += 1;
    if rng.random_bool(0.12) {
        // Somewhere in authorising, writing, flushing, or the sync push
        // that follows a sale.
        std::thread::sleep(Duration::from_micros(rng.random_range(0..6_000)));
        tally.kills_after_enter += 1;
        return killed(kiosk, tally);
    }
    loop {
        let event = kiosk.next_event().expect("the kiosk died by itself");
        tally.saw(&event);
        if matches!(kind(&event), "paid" | "refused") {
            break;
        }
    }
    if rng.random_bool(0.04) {
        // Between sales, most likely mid-sync.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..40)));
        return killed(kiosk, tally);
    }
    Some(kiosk)
}

fn killed(kiosk: KioskProcess, tally: &mut Tally) -> Option<KioskProcess> {
    for event in kiosk.kill() {
        tally.saw(&event);
    }
    tally.kiosk_kills += 1;
    None
}

/// Starts the kiosk and waits for it to report the outbox empty.
fn drain(world: &World) -> KioskProcess {
    let kiosk = world.start_kiosk();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        let event = kiosk.next_event().expect("the kiosk died by itself");
        if kind(&event) == "sync" && event["status"] == "online" && event["waiting"] == 0 {
            return kiosk;
        }
        seen.push(event);
    }
    panic!(
        "the outbox did not drain; the kiosk said {:?}\n--- kiosk log\n{}\n--- ledger log\n{}",
        &seen[seen.len().saturating_sub(10)..],
        world.logs_tail(),
        tail(&world.ledger.lock().unwrap().log_text()),
    );
}

/// The last lines of a log, for a failure message.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The kiosk's `report --csv`: the day's sales count and total.
fn kiosk_report(world: &World, day: &str) -> (i64, Money) {
    let out = Command::new(&*KIOSK)
        .args(["report", "--csv", "--date", day, "--data-dir"])
        .arg(world.data_dir())
        .env("TZ", TIME_ZONE)
        .output()
        .expect("klubkasse report");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8(out.stdout).expect("utf-8");
    // Columns: date;section;name;count;returned;amount (decimal comma).
    let t = &klubkasse::i18n::Texts::of(klubkasse::i18n::Language::DA).report;
    let row = csv
        .lines()
        .find(|l| l.contains(&format!(";{};{};", t.total, t.sales_total)))
        .unwrap_or_else(|| panic!("no sales total in\n{csv}"));
    let fields: Vec<&str> = row.trim_end().split(';').collect();
    (
        fields[3].parse().expect("count"),
        Money::parse(fields[5]).expect("amount"),
    )
}

#[test]
fn sales_survive_sigkill_of_kiosk_and_ledger_with_nothing_lost_or_doubled() {
    let sales = usize::try_from(env_number("KLUBKASSE_CRASH_SALES", 500)).expect("fits");
    let seed = env_number("KLUBKASSE_CRASH_SEED", rand::random::<u32>().into());
    println!("crash test: {sales} sales, KLUBKASSE_CRASH_SEED={seed}");
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let ledger = runtime.block_on(klubkasse_testkit::ledger::ledger_with(Settings {
        balance_cap: Money::kroner(10_000_000),
        time_zone: TIME_ZONE.into(),
        ..Settings::default()
    }));
    let world = runtime.block_on(set_up(&ledger, sales));
    world.ledger.lock().unwrap().start();

    // The first pull brings the children; then the killing starts.
    let mut kiosk = Some(drain(&world));
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let killer = spawn_ledger_killer(world.ledger.clone(), seed, stop.clone());
    let mut restarts = 0;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally::default();
    while tally.tried < sales {
        let running = kiosk.take().unwrap_or_else(|| {
            restarts += 1;
            world.start_kiosk()
        });
        kiosk = one_sale(&world, running, &mut rng, &mut tally);
    }
    if let Some(kiosk) = kiosk {
        for event in kiosk.kill() {
            tally.saw(&event);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let ledger_kills = killer.join().expect("the ledger killer");
    {
        let mut process = world.ledger.lock().unwrap();
        if !process.healthy() {
            process.kill();
            process.start();
        }
    }
    let selling = started.elapsed();

    // Everything drains once both are left alone.
    let mut kiosk = drain(&world);
    kiosk.send("quit");
    assert!(kiosk.process.wait().expect("kiosk exit").success());
    world.ledger.lock().unwrap().kill();

    let store = Store::open_existing(&world.data_dir()).expect("the kiosk's store");
    assert_eq!(store.outbox_len(), 0, "sales still wait in the outbox");
    let kiosk_sales: BTreeMap<Uuid, Money> = store
        .all_entries()
        .expect("entries")
        .into_iter()
        .filter(|e| matches!(e.kind, EntryKind::Sale { .. }))
        .map(|e| (e.id, -e.amount))
        .collect();
    let ledger_rows: Vec<(Uuid, rust_decimal::Decimal, chrono::NaiveDate)> = runtime
        .block_on(
            sqlx::query_as(
                "SELECT id, -amount, (at AT TIME ZONE 'UTC')::date FROM entries
                 WHERE counter = $1 AND kind = 'sale'",
            )
            .bind(COUNTER)
            .fetch_all(&ledger.pool),
        )
        .expect("ledger sales");
    let ledger_sales: BTreeMap<Uuid, Money> = ledger_rows
        .iter()
        .map(|(id, amount, _)| (*id, Money::parse(&amount.to_string()).expect("money")))
        .collect();
    assert_eq!(ledger_rows.len(), ledger_sales.len());

    for (id, total) in &tally.confirmed {
        assert_eq!(
            ledger_sales.get(id),
            Some(total),
            "confirmed sale {id} of {total} is not in the ledger as shown"
        );
    }
    // The ledger charges exactly what the kiosk durably recorded: nothing
    // the kiosk lost track of, nothing it never wrote.
    assert_eq!(
        ledger_sales, kiosk_sales,
        "the ledger and the kiosk disagree on the sales"
    );
    // Sales on disk but never shown as paid: the kill fell between the
    // flush and the screen. Each needs a kill right after Enter.
    let in_doubt = kiosk_sales
        .keys()
        .filter(|id| !tally.confirmed.contains_key(id))
        .count();
    assert!(in_doubt <= tally.kills_after_enter);

    for (child, _) in &world.cards {
        let (balance, sum) = runtime.block_on(ledger.balance_and_sum(*child));
        assert_eq!(
            balance, sum,
            "the ledger's balance of {child} is not its entries' sum"
        );
        assert_eq!(
            store.balance(*child).expect("kiosk balance"),
            balance,
            "the kiosk's balance of {child} differs from the ledger's"
        );
    }
    drop(store); // one process at a time opens a sled store
    let days: BTreeSet<chrono::NaiveDate> = ledger_rows.iter().map(|(_, _, day)| *day).collect();
    for day in days {
        let (count, total) = runtime.block_on(ledger.day_total(day, COUNTER, "sale"));
        assert_eq!(
            kiosk_report(&world, &day.to_string()),
            (count, -total),
            "the day reports of {day} differ"
        );
    }

    println!(
        "crash test: {} sales tried in {:.1} s, {} confirmed, {} refused {:?}, {} on disk but cut \
         before the screen; kiosk killed {} times ({} right after Enter), started {} times; \
         ledger killed {} times; ledger = kiosk = {} sales; nothing lost, nothing doubled",
        tally.tried,
        selling.as_secs_f64(),
        tally.confirmed.len(),
        tally.refused.values().sum::<usize>(),
        tally.refused,
        in_doubt,
        tally.kiosk_kills,
        tally.kills_after_enter,
        restarts,
        ledger_kills,
        ledger_sales.len(),
    );
}
