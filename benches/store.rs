//! The counter's store and the real kiosk under a big, seeded load, each
//! figure next to a baseline measured in the same run:
//!
//!     cargo bench --bench store -- [SALES]    # default 1,000,000 sales
//!
//! - durable sale: `record_sale` (transaction + flush) vs a bare sled
//!   insert + flush of the same entry bytes in a plain store
//! - moving a closed day to the archive, as the kiosk does once a day
//! - day report over SALES sales across 365 days vs a full scan of the
//!   sales (every archive file and today's tree, raw)
//! - open + one card lookup with the big store vs an empty store
//! - the real `klubkasse` binary started in a terminal (a pty) until its
//!   idle screen is drawn, with the big store vs an empty one
//! - peak RSS (VmHWM) of this process after generating, and of the real
//!   kiosk (`run --headless`) on the big store after 1,000 sales
//!
//! The store is generated each run from a fixed seed (10,000 children),
//! never committed; KLUBKASSE_BENCH_STORE_DIR keeps it for another run.
//!
//! Over 400 lines: one benchmark binary whose figures share one generated
//! million-sale store; splitting it would generate that store again.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use klubkasse::store::{Archive, Recorded, Store, day_bounds, local_day};
use klubkasse_core::domain::{
    Card, CardState, CardUid, Child, ChildId, Connection, Entry, EntryKind, Money, SaleLine,
};
use klubkasse_testkit::bench::{ms, peak_rss_kib, percentile};
use uuid::Uuid;

const CHILDREN: usize = 10_000;
const DAYS: u64 = 365;
const REPS: usize = 300;
/// The idle screen's last words on the terminal (its status bar, drawn
/// after the big "Hold dit kort" letters): the whole frame has arrived.
const IDLE_TEXT: &[u8] = b"Personale";
/// Kiosk starts timed for each store, interleaved.
const STARTS: usize = 30;

/// xorshift64*: deterministic and dependency-free; quality is irrelevant.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (name, category, price in øre)
const MENU: [(&str, &str, i64); 6] = [
    ("Toast", "mad", 1200),
    ("Frugt", "mad", 500),
    ("Saft", "drikke", 600),
    ("Kakao", "drikke", 800),
    ("Slikpose", "slik", 1000),
    ("Is", "slik", 1500),
];

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).expect("a date")
}

fn card_uid(i: usize) -> CardUid {
    CardUid::parse(&format!("{:08X}", 0x0400_0000 + i)).expect("a UID")
}

/// Deterministic ids (not `new_entry_id`, which draws OS randomness), still
/// UUIDv7 with the sale's time, so a day stays one key range.
fn entry_id(rng: &mut Rng, at: DateTime<Utc>) -> Uuid {
    let mut tail = [0u8; 10];
    tail[..8].copy_from_slice(&rng.next().to_le_bytes());
    tail[8..].copy_from_slice(&rng.next().to_le_bytes()[..2]);
    uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis() as u64, &tail).into_uuid()
}

/// Children with a card and a deposit each, then `sales` sales spread over
/// 365 days between 13:00 and 17:00, loaded a day at a time to keep memory
/// flat.
fn generate(dir: &Path, sales: usize) -> (Vec<Child>, Vec<Card>) {
    let mut rng = Rng(0x6b6c_7562_6b61_7373);
    let store = Store::open(dir).expect("a store");
    let children: Vec<Child> = (0..CHILDREN)
        .map(|i| Child {
            id: ChildId(Uuid::from_u64_pair(0x0190_0000_0000_7000, i as u64)),
            name: format!("Barn {i:05}"),
            daily_limit: None,
            blocked_categories: vec![],
            note: None,
        })
        .collect();
    let cards: Vec<Card> = children
        .iter()
        .enumerate()
        .map(|(i, c)| Card {
            uid: card_uid(i),
            child: c.id,
            state: CardState::Active,
        })
        .collect();
    if store.child(children[0].id).expect("read").is_some() {
        // A kept store (KLUBKASSE_BENCH_STORE_DIR) from an earlier run.
        return (children, cards);
    }
    let start = Utc.from_utc_datetime(&first_day().and_hms_opt(8, 0, 0).expect("a time"));
    let deposits: Vec<Entry> = children
        .iter()
        .map(|c| Entry {
            id: entry_id(&mut rng, start),
            child: c.id,
            at: start,
            amount: Money::kroner(10_000),
            kind: EntryKind::Deposit,
            counter: "bench".into(),
        })
        .collect();
    store
        .bulk_load(&children, &cards, &deposits)
        .expect("load children");
    for d in 0..DAYS {
        let day = first_day() + Days::new(d);
        let (from, _) = day_bounds(day);
        let today = sales / DAYS as usize + usize::from((d as usize) < sales % DAYS as usize);
        let mut offsets: Vec<i64> = (0..today)
            .map(|_| 13 * 3_600_000 + rng.below(4 * 3_600_000) as i64)
            .collect();
        offsets.sort_unstable();
        let entries: Vec<Entry> = offsets
            .into_iter()
            .map(|ms| {
                let at = from + chrono::Duration::milliseconds(ms);
                let k = rng.below(CHILDREN as u64) as usize;
                let lines = (0..1 + rng.below(3))
                    .map(|_| {
                        let (name, category, ore) = MENU[rng.below(MENU.len() as u64) as usize];
                        SaleLine {
                            name: name.into(),
                            category: category.into(),
                            unit_price: Money::from_ore(ore),
                            quantity: 1 + rng.below(2) as u32,
                        }
                    })
                    .collect();
                let mut sale =
                    Entry::sale(children[k].id, cards[k].uid.clone(), lines, "bench", at);
                sale.id = entry_id(&mut rng, at);
                sale
            })
            .collect();
        store.bulk_load(&[], &[], &entries).expect("load a day");
    }
    (children, cards)
}

fn a_sale(children: &[Child], i: usize, at: DateTime<Utc>) -> Entry {
    let k = i % children.len();
    Entry::sale(
        children[k].id,
        card_uid(k),
        vec![SaleLine {
            name: "Toast".into(),
            category: "mad".into(),
            unit_price: Money::kroner(12),
            quantity: 1,
        }],
        "bench",
        at,
    )
}

/// A standalone kiosk on `data_dir` as a club runs it (a PC/SC reader,
/// which needs no pcscd to start; headless, taps come from the driver),
/// the sample menu.
fn kiosk_config(dir: &Path, data_dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("a config folder");
    let path = dir.join("kiosk.toml");
    std::fs::write(
        &path,
        format!(
            "counter = \"bench\"\ndata_dir = \"{}\"\nreader = \"pcsc\"\n\
             menu = \"{}/assets/menu.toml\"\n",
            data_dir.display(),
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .expect("a kiosk config");
    path
}

/// From starting the real kiosk in a terminal (a pty, through util-linux
/// `script`) to the idle screen's words arriving on that terminal.
fn start_to_idle_drawn(config: &Path) -> Duration {
    let started = Instant::now();
    let mut script = Command::new("script")
        .args(["-q", "-c"])
        .arg(format!(
            "stty cols 100 rows 30; exec {} run --config {}",
            klubkasse_testkit::bin::KIOSK.display(),
            config.display()
        ))
        .arg("/dev/null")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs the kiosk in a terminal");
    let mut terminal = script.stdout.take().expect("the terminal's output");
    let (mut seen, mut buf) = (Vec::new(), [0u8; 16384]);
    let drawn = loop {
        let n = terminal.read(&mut buf).expect("read the terminal");
        assert!(
            n > 0,
            "the kiosk ended before its idle screen: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
        if seen.windows(IDLE_TEXT.len()).any(|w| w == IDLE_TEXT) {
            break started.elapsed();
        }
    };
    // The kiosk is script's child, in a session of its own: stop it and
    // wait until it is gone, so the next start finds the store free.
    let children = format!("/proc/{0}/task/{0}/children", script.id());
    for pid in std::fs::read_to_string(children)
        .unwrap_or_default()
        .split_whitespace()
    {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
        while Path::new(&format!("/proc/{pid}/stat")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z")
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let _ = script.kill();
    let _ = script.wait();
    drawn
}

/// The real kiosk, headless, sells `sales` times (tap, an item, Enter, each
/// waited for to "paid"); its peak RSS after opening and after the sales.
fn kiosk_memory(config: &Path, sales: usize) -> (u64, u64) {
    let mut kiosk = Command::new(&*klubkasse_testkit::bin::KIOSK)
        .args(["run", "--headless", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start klubkasse");
    let pid = kiosk.id();
    let mut input = kiosk.stdin.take().expect("stdin");
    let mut events = BufReader::new(kiosk.stdout.take().expect("stdout")).lines();
    let mut wait_for = |kind: &str| loop {
        let line = events
            .next()
            .expect("the kiosk ended")
            .expect("kiosk output");
        let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON event");
        match event["event"].as_str() {
            Some(k) if k == kind => return,
            Some("refused" | "not_saved" | "bad_line") => panic!("the kiosk said {line}"),
            _ => {}
        }
    };
    wait_for("ready");
    let after_open = peak_rss_kib(Some(pid));
    for i in 0..sales {
        writeln!(input, "tap {}", card_uid(i % 100)).expect("tap");
        wait_for("account");
        writeln!(input, "key 1\nkey enter").expect("keys");
        wait_for("paid");
    }
    let after_sales = peak_rss_kib(Some(pid));
    writeln!(input, "quit").expect("quit");
    kiosk.wait().expect("the kiosk stops");
    (after_open, after_sales)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|files| {
            files
                .filter_map(|f| f.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn row(name: &str, samples: &[Duration], base: &[Duration]) {
    let (m, b) = (percentile(samples, 50.0), percentile(base, 50.0));
    println!(
        "{:<44} {} {} {:>5} {:>8.2}×",
        name,
        ms(m),
        ms(percentile(samples, 99.0)),
        samples.len(),
        m.as_secs_f64() / b.as_secs_f64()
    );
}

fn main() {
    let sales: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);

    // KLUBKASSE_BENCH_STORE_DIR keeps the generated store for profiling
    // runs; without it, a temp dir that goes away with the run.
    let temp = tempfile::TempDir::new().expect("a temp dir");
    let big_dir = std::env::var_os("KLUBKASSE_BENCH_STORE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| temp.path().to_path_buf());
    let started = Instant::now();
    let (children, _cards) = generate(&big_dir, sales);
    let generated = started.elapsed();
    let rss_generated = peak_rss_kib(None);
    eprintln!(
        "generated {sales} sales in {:.1} s",
        generated.as_secs_f64()
    );

    // What the kiosk does once a day, here for all 365 closed days at once
    // (the one-time move of a store from before the archive).
    let started = Instant::now();
    let mut close_t = vec![];
    {
        let store = Store::open(&big_dir).expect("the big store");
        let today = local_day(Utc::now());
        loop {
            let t = Instant::now();
            let closed = store.close_day(today).expect("close a day");
            if closed.day.is_some() {
                close_t.push(t.elapsed());
            }
            if !closed.more {
                break;
            }
        }
    }
    let closing = started.elapsed();
    // The first start after that finds the files grown and gives the store
    // fresh ones (src/store/compact.rs).
    let size_before = dir_bytes(&big_dir.join("store"));
    let t = Instant::now();
    drop(Store::open(&big_dir).expect("the big store"));
    let compaction = t.elapsed();
    let size_after = dir_bytes(&big_dir.join("store"));
    eprintln!(
        "moved {} days to the archive in {:.1} s",
        close_t.len(),
        closing.as_secs_f64()
    );

    // Durable sale on the big store vs bare sled insert + flush, interleaved
    // so both meet the same disk at the same time.
    let bare_dir = tempfile::TempDir::new().expect("a temp dir");
    let bare_db = sled::Config::new()
        .path(bare_dir.path())
        .cache_capacity(8 * 1024 * 1024)
        .flush_every_ms(None)
        .open()
        .expect("a bare sled");
    let bare_tree = bare_db.open_tree("entries").expect("a tree");
    let store = Store::open(big_dir.as_path()).expect("the big store");
    let (mut sale_t, mut bare_t) = (vec![], vec![]);
    for i in 0..REPS {
        let sale = a_sale(&children, i, Utc::now());
        let bytes = serde_json::to_vec(&sale).expect("json");
        let t = Instant::now();
        bare_tree.insert(sale.id.as_bytes(), bytes).expect("insert");
        bare_db.flush().expect("flush");
        bare_t.push(t.elapsed());
        let t = Instant::now();
        let recorded = store
            .record_sale(&sale, Connection::Standalone)
            .expect("a sale");
        sale_t.push(t.elapsed());
        assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    }

    // Day report vs a full scan of the entries tree (raw bytes, no decoding).
    // The scan is far slower, so it gets fewer repetitions within a minute.
    let day = first_day() + Days::new(DAYS / 2);
    let mut report_t = vec![];
    let mut day_sales = 0;
    for _ in 0..REPS {
        let t = Instant::now();
        let report = store.day_report(day).expect("a report");
        report_t.push(t.elapsed());
        day_sales = report.sales;
    }
    drop(store);
    // The sales are in the archive's day files now (and today's in sled):
    // the full scan reads every one of them, raw.
    let raw = sled::Config::new()
        .path(big_dir.as_path().join("store"))
        .cache_capacity(8 * 1024 * 1024)
        .flush_every_ms(None)
        .open()
        .expect("the big store, raw");
    let entries = raw.open_tree("entries").expect("entries");
    let archive = Archive::in_data_dir(&big_dir);
    let day_files: Vec<std::path::PathBuf> = std::fs::read_dir(archive.dir())
        .expect("the archive")
        .flat_map(|year| std::fs::read_dir(year.expect("a year").path()).expect("a year"))
        .map(|file| file.expect("a day").path())
        .collect();
    let mut scan_t = vec![];
    let scan_started = Instant::now();
    while scan_t.len() < 20 || (scan_t.len() < REPS && scan_started.elapsed().as_secs() < 60) {
        let t = Instant::now();
        let mut bytes = 0usize;
        for file in &day_files {
            bytes += std::fs::read(file).expect("a day file").len();
        }
        for kv in entries.iter() {
            let (k, v) = kv.expect("an entry");
            bytes += k.len() + v.len();
        }
        scan_t.push(t.elapsed());
        assert!(bytes > 0);
    }
    drop(entries);
    drop(raw);

    // Open + one lookup: big store vs empty store, interleaved.
    let empty = tempfile::TempDir::new().expect("a temp dir");
    drop(Store::open(empty.path()).expect("an empty store"));
    let (mut open_big, mut open_empty) = (vec![], vec![]);
    for _ in 0..REPS {
        for (dir, out) in [
            (big_dir.as_path(), &mut open_big),
            (empty.path(), &mut open_empty),
        ] {
            let t = Instant::now();
            let store = Store::open(dir).expect("open");
            let _ = store
                .lookup(&card_uid(0), Utc::now(), Connection::Standalone)
                .expect("lookup");
            out.push(t.elapsed());
        }
    }

    // The real kiosk: started in a terminal until its idle screen is drawn,
    // on the big store and on an empty one, interleaved; then its memory
    // through 1,000 sales on the big store.
    let configs = tempfile::TempDir::new().expect("a temp dir");
    let big_config = kiosk_config(&configs.path().join("big"), &big_dir);
    let empty_config = kiosk_config(&configs.path().join("empty"), empty.path());
    let (mut start_big, mut start_empty) = (vec![], vec![]);
    for _ in 0..STARTS {
        start_big.push(start_to_idle_drawn(&big_config));
        start_empty.push(start_to_idle_drawn(&empty_config));
    }
    let (kiosk_rss_open, kiosk_rss_sales) = kiosk_memory(&big_config, 1000);

    println!(
        "\nStore over {sales} sales, {CHILDREN} children, {DAYS} days \
         (generated in {:.1} s; report day has {day_sales} sales)\n",
        generated.as_secs_f64()
    );
    println!(
        "{:<44} {:>12} {:>12} {:>5} {:>9}",
        "", "median", "p99", "reps", "× base"
    );
    row("bare sled insert + flush", &bare_t, &bare_t);
    row("durable sale (record_sale)", &sale_t, &bare_t);
    if !close_t.is_empty() {
        row("moving one closed day to the archive", &close_t, &close_t);
    }
    row("full scan of the sales (raw)", &scan_t, &scan_t);
    row("day report", &report_t, &scan_t);
    row("open + lookup, empty store", &open_empty, &open_empty);
    row("open + lookup, big store", &open_big, &open_empty);
    row(
        "kiosk start → idle drawn, empty store",
        &start_empty,
        &start_empty,
    );
    row(
        "kiosk start → idle drawn, big store",
        &start_big,
        &start_empty,
    );
    println!(
        "\nfirst open after the closing: {:.1} ms, giving the store fresh files \
         ({:.1} MB → {:.1} MB)",
        compaction.as_secs_f64() * 1000.0,
        size_before as f64 / 1e6,
        size_after as f64 / 1e6
    );
    println!(
        "all {} closed days moved in {:.1} s (once, for a store from before the archive)",
        close_t.len(),
        closing.as_secs_f64()
    );
    println!(
        "peak RSS: generator after generating {:.1} MB; the kiosk (klubkasse run \
         --headless) on the big store after start {:.1} MB, after 1,000 sales {:.1} MB",
        rss_generated as f64 / 1024.0,
        kiosk_rss_open as f64 / 1024.0,
        kiosk_rss_sales as f64 / 1024.0
    );
}
