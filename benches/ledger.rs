//! The ledger's figures: ingest through the HTTP API next to a bare batched
//! INSERT of the same rows into the same PostgreSQL, the ledger's peak
//! memory under that load, and how fast a counter's offline backlog drains.
//!
//! Ingest is measured with two mixes of sales. "Per club" is the real shape:
//! each counter is a club's and sells to that club's children, with a few
//! sales to children every counter sells to (the same card pays in the
//! school canteen). "Same children" is the worst case: every counter sells
//! to any of all the children, so concurrent pushes wait for each other's
//! row locks.
//!
//!     cargo bench --bench ledger -- [BATCHES]   # per counter, default 50
//!
//! Needs a PostgreSQL server, named by KLUBKASSE_BENCH_DATABASE_URL or else
//! KLUBKASSE_TEST_DATABASE_URL (`./install.sh --bench` starts one); every
//! part gets a fresh database of its own. The ledger runs as the real
//! `klubkasse-ledger serve` process, so its memory is its own.
//!
//! Over 400 lines: one benchmark binary whose figures share one ledger
//! process, database and generated children.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use klubkasse::store::{Recorded, Store};
use klubkasse::sync::{LedgerClient, SyncTask};
use klubkasse_core::domain::{CardUid, ChildId, Connection, Entry, EntryKind, Money, SaleLine};
use klubkasse_ledger::auth::{TokenRole, TokenSpec, create_token};
use klubkasse_ledger::{MIGRATOR, Settings, db};
use sqlx::PgPool;
use uuid::Uuid;

use klubkasse_testkit::bench::{mib, ms, peak_rss_kib, percentile};

/// Counters pushing at once, and the sales in each push (the load).
const COUNTERS: usize = 4;
const BATCH: usize = 100;
const CHILDREN: usize = 1_000;
/// Per club: each counter's club has OWN children, and SHARED children
/// (the rest) are sold to by every counter, SHARED_PERCENT of the sales.
const OWN: usize = 240;
const SHARED: usize = CHILDREN - COUNTERS * OWN;
const SHARED_PERCENT: usize = 3;
/// Bare and HTTP ingest alternate this many times; the median round counts.
const ROUNDS: usize = 3;
const BACKLOG: usize = 10_000;
const MENU: [(&str, &str, i64); 4] = [
    ("Toast", "mad", 1200),
    ("Frugt", "mad", 400),
    ("Saftevand", "drikke", 500),
    ("Perler", "aktivitet", 1000),
];

/// Enough room that no sale of the run is refused or flagged.
fn settings() -> Settings {
    Settings {
        balance_cap: Money::kroner(10_000_000),
        ..Settings::default()
    }
}

fn server_url() -> String {
    klubkasse_testkit::bench::database_server("ledger")
}

/// A child the benchmark sells to.
#[derive(Clone)]
struct Kid {
    child: ChildId,
    card: CardUid,
    club: String,
}

/// Counter `c` belongs to this club; the shared children are spread over
/// the clubs too.
fn club_name(c: usize) -> String {
    format!("Klub {c}")
}

async fn connect(url: &str) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(COUNTERS as u32 + 1)
        .connect(url)
        .await
        .expect("connect")
}

async fn create_database(server: &str, template: Option<&str>) -> String {
    let admin = PgPool::connect(server).await.expect("connect");
    let name = format!("bench_{}", Uuid::now_v7().simple());
    let template = template
        .map(|t| format!(" TEMPLATE {t}"))
        .unwrap_or_default();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name}{template}"
    )))
    .execute(&admin)
    .await
    .expect("create database");
    admin.close().await;
    name
}

fn database_url(server: &str, name: &str) -> String {
    let (base, _) = server.rsplit_once('/').expect("a database in the URL");
    format!("{base}/{name}")
}

/// A migrated database with CHILDREN children, each with a card and money,
/// made once: every part copies it (`CREATE DATABASE … TEMPLATE`), so each
/// starts from the same fresh state without enrolling them again.
async fn template_database(server: &str) -> (String, Vec<Kid>) {
    let name = create_database(server, None).await;
    let pool = connect(&database_url(server, &name)).await;
    MIGRATOR.run(&pool).await.expect("migrate");
    let actor = db::Actor::command_line();
    for c in 0..COUNTERS {
        db::clubs::add(&pool, &actor, &club_name(c))
            .await
            .expect("club");
    }
    let mut kids = Vec::with_capacity(CHILDREN);
    for i in 0..CHILDREN {
        let club = club_name(i % COUNTERS);
        let child = db::enrol(&pool, &actor, &db::Scope::All, &format!("Barn {i}"), &club)
            .await
            .expect("enrol")
            .child
            .id;
        let card = CardUid::parse(&format!("04{i:06X}")).expect("uid");
        db::hand_out(&pool, &actor, child, &card)
            .await
            .expect("card");
        let movement = db::Movement {
            deposit: true,
            amount: Money::kroner(1_000_000),
            id: None,
            counter: "office",
            receipt: None,
        };
        db::money_entry(&pool, &settings(), &actor, child, movement)
            .await
            .expect("deposit");
        kids.push(Kid { child, card, club });
    }
    // A template must have no connections when it is copied.
    pool.close().await;
    (name, kids)
}

/// A fresh copy of the template: its URL and a pool.
async fn fresh_database(server: &str, template: &str) -> (String, PgPool) {
    let url = database_url(server, &create_database(server, Some(template)).await);
    let pool = connect(&url).await;
    (url, pool)
}

/// Seeded: the same sales in every round.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Who the counters sell to.
#[derive(Clone, Copy)]
enum Mix {
    /// Counter c: its club's OWN children, SHARED_PERCENT to the shared.
    PerClub,
    /// Every counter: any of all the children (the worst case).
    SameChildren,
}

impl Mix {
    fn label(self) -> String {
        match self {
            Mix::PerClub => format!(
                "per club ({OWN} own children each, {SHARED_PERCENT}% of sales to {SHARED} shared)"
            ),
            Mix::SameChildren => format!("same children (all counters on all {CHILDREN})"),
        }
    }

    /// The children of the kids list counter c sells to this time. The
    /// first COUNTERS × OWN kids are the clubs' own (kid i is club i mod
    /// COUNTERS), the last SHARED are shared.
    fn pick(self, rng: &mut Rng, counter: usize) -> usize {
        match self {
            Mix::SameChildren => rng.below(CHILDREN),
            Mix::PerClub if rng.below(100) < SHARED_PERCENT => COUNTERS * OWN + rng.below(SHARED),
            Mix::PerClub => rng.below(OWN) * COUNTERS + counter,
        }
    }
}

/// For each counter, its batches of sales.
fn sales(kids: &[Kid], mix: Mix, batches: usize) -> Vec<Vec<Vec<Entry>>> {
    let mut rng = Rng(0x5eed_1234_abcd);
    (0..COUNTERS)
        .map(|c| {
            (0..batches)
                .map(|_| {
                    (0..BATCH)
                        .map(|_| {
                            let kid = &kids[mix.pick(&mut rng, c)];
                            a_sale(&mut rng, kid, c)
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

fn a_sale(rng: &mut Rng, kid: &Kid, counter: usize) -> Entry {
    let lines = (0..=rng.below(3))
        .map(|_| {
            let (name, category, ore) = MENU[rng.below(MENU.len())];
            SaleLine {
                name: name.into(),
                category: category.into(),
                unit_price: Money::from_ore(ore),
                quantity: 1,
            }
        })
        .collect();
    Entry::sale(
        kid.child,
        kid.card.clone(),
        lines,
        &format!("counter-{counter}"),
        Utc::now(),
    )
}

/// The floor: the same rows, 100 to an INSERT, from COUNTERS connections
/// at once. No checks, no balances, no answers.
async fn bare_insert(pool: &PgPool, kids: &[Kid], work: &[Vec<Vec<Entry>>]) -> Duration {
    let clubs: Arc<HashMap<ChildId, String>> =
        Arc::new(kids.iter().map(|k| (k.child, k.club.clone())).collect());
    let started = Instant::now();
    let tasks: Vec<_> = work
        .iter()
        .cloned()
        .map(|batches| {
            let (pool, clubs) = (pool.clone(), clubs.clone());
            tokio::spawn(async move {
                for batch in batches {
                    let mut insert = sqlx::QueryBuilder::new(
                        "INSERT INTO entries (id, child_id, kind, amount, at, counter, club, \
                         card_uid, lines, balance_after) ",
                    );
                    insert.push_values(&batch, |mut row, e| {
                        let EntryKind::Sale { card, lines } = &e.kind else {
                            unreachable!("only sales are generated")
                        };
                        row.push_bind(e.id)
                            .push_bind(e.child.0)
                            .push_bind("sale")
                            .push_bind(e.amount.decimal())
                            .push_bind(e.at)
                            .push_bind(e.counter.clone())
                            .push_bind(clubs[&e.child].clone())
                            .push_bind(card.as_ref().map(ToString::to_string))
                            .push_bind(serde_json::to_value(lines).expect("json"))
                            .push_bind(rust_decimal::Decimal::ZERO);
                    });
                    insert.build().execute(&pool).await.expect("bare insert");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("bare task");
    }
    started.elapsed()
}

/// `klubkasse-ledger serve` on a free port.
struct LedgerProcess {
    process: Child,
    url: String,
}

impl LedgerProcess {
    async fn start(database_url: &str) -> LedgerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let process = Command::new(&*klubkasse_testkit::bin::LEDGER)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--balance-cap", "10000000"])
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start klubkasse-ledger");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let http = reqwest::Client::new();
        while !http
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "the ledger did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        LedgerProcess { process, url }
    }

    fn peak_rss_kib(&self) -> u64 {
        peak_rss_kib(Some(self.process.id()))
    }
}

impl Drop for LedgerProcess {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn kiosk_client(pool: &PgPool, ledger: &LedgerProcess, counter: &str) -> LedgerClient {
    // A counter may get a client in several parts of one database.
    let label = format!("{counter} {}", Uuid::now_v7());
    let spec = TokenSpec {
        label: &label,
        role: TokenRole::Kiosk,
        kiosk: Some(counter),
        children: &[],
        clubs: &[],
        lifetime: None,
    };
    let token = create_token(pool, &db::Actor::command_line(), &spec)
        .await
        .expect("token")
        .token;
    LedgerClient::new(&ledger.url, token, Duration::from_secs(60), None).expect("client")
}

/// The real thing: COUNTERS kiosk clients push their batches at once.
/// Returns the wall time and every push's round trip.
async fn http_ingest(
    pool: &PgPool,
    ledger: &LedgerProcess,
    work: &[Vec<Vec<Entry>>],
) -> (Duration, Vec<Duration>) {
    let mut clients = Vec::new();
    for c in 0..COUNTERS {
        clients.push(kiosk_client(pool, ledger, &format!("counter-{c}")).await);
    }
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .zip(work.iter().cloned())
        .map(|(client, batches)| {
            tokio::spawn(async move {
                let mut trips = Vec::with_capacity(batches.len());
                for batch in batches {
                    let sent = Instant::now();
                    let pushed = client.push(&batch).await.expect("push");
                    trips.push(sent.elapsed());
                    assert!(pushed.results.iter().all(|r| r.new && r.flags.is_empty()));
                }
                trips
            })
        })
        .collect();
    let mut trips = Vec::new();
    for task in tasks {
        trips.extend(task.await.expect("push task"));
    }
    (started.elapsed(), trips)
}

/// A counter with BACKLOG sales made offline, then the ledger back: the
/// time from the first push to the outbox empty.
async fn backlog_drain(server: &str, template: &str, kids: &[Kid]) -> Duration {
    let (url, pool) = fresh_database(server, template).await;
    let ledger = LedgerProcess::start(&url).await;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let mut task = SyncTask {
        store: store.clone(),
        client: kiosk_client(&pool, &ledger, "counter-0").await,
        pull_every: Duration::from_secs(60),
        status: Box::new(|_| {}),
    };
    task.sync_once().await.expect("the first pull");
    let offline = Connection::Offline {
        allowance: Money::kroner(10_000_000),
    };
    let mut rng = Rng(0xd7a1_4000);
    for _ in 0..BACKLOG {
        let kid = &kids[rng.below(CHILDREN)];
        let sale = a_sale(&mut rng, kid, 0);
        let recorded = store.record_sale(&sale, offline).expect("an offline sale");
        assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    }
    assert_eq!(store.outbox_len(), BACKLOG);
    let started = Instant::now();
    let waiting = task.sync_once().await.expect("the drain");
    let took = started.elapsed();
    assert_eq!((waiting, store.outbox_len()), (0, 0));
    took
}

fn per_second(count: usize, took: Duration) -> f64 {
    count as f64 / took.as_secs_f64()
}

/// One mix's figures: the bare and HTTP time of each round, every push's
/// round trip.
#[derive(Default)]
struct Figures {
    bare: Vec<Duration>,
    http: Vec<Duration>,
    trips: Vec<Duration>,
}

fn main() {
    let batches: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(|a| a.parse().expect("BATCHES is a number"))
        .unwrap_or(50);
    let server = server_url();
    // reqwest is built without a crypto provider; the kiosk installs ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    let total = COUNTERS * batches * BATCH;
    println!(
        "ledger ingest: {COUNTERS} counters × {batches} batches × {BATCH} sales = {total} sales, \
         {CHILDREN} children, {ROUNDS} rounds of bare INSERT then HTTP for each mix"
    );
    let (template, kids) = runtime.block_on(template_database(&server));
    let mixes = [Mix::PerClub, Mix::SameChildren];
    let mut figures: Vec<Figures> = mixes.iter().map(|_| Figures::default()).collect();
    let mut ledger_rss = 0;
    for round in 1..=ROUNDS {
        for (mix, figures) in mixes.iter().zip(&mut figures) {
            let work = sales(&kids, *mix, batches);
            let (_, pool) = runtime.block_on(fresh_database(&server, &template));
            let took = runtime.block_on(bare_insert(&pool, &kids, &work));
            println!(
                "  round {round}, {}: bare INSERT {:>8.0} sales/s",
                mix.label(),
                per_second(total, took)
            );
            figures.bare.push(took);

            let (url, pool) = runtime.block_on(fresh_database(&server, &template));
            let ledger = runtime.block_on(LedgerProcess::start(&url));
            let (took, round_trips) = runtime.block_on(http_ingest(&pool, &ledger, &work));
            println!(
                "  round {round}, {}: HTTP push   {:>8.0} sales/s",
                mix.label(),
                per_second(total, took)
            );
            figures.http.push(took);
            figures.trips.extend(round_trips);
            ledger_rss = ledger_rss.max(ledger.peak_rss_kib());
        }
    }
    let drained = runtime.block_on(backlog_drain(&server, &template, &kids));

    println!();
    println!("| figure | value | baseline in the same run | ratio | target |");
    println!("| --- | --- | --- | --- | --- |");
    for (mix, figures) in mixes.iter().zip(&figures) {
        let bare_rate = per_second(total, percentile(&figures.bare, 50.0));
        let http_rate = per_second(total, percentile(&figures.http, 50.0));
        println!(
            "| ledger ingest, HTTP, {COUNTERS} counters, batches of {BATCH}, {} \
             | {http_rate:.0} sales/s | bare batched INSERT: {bare_rate:.0} sales/s | {:.2}× \
             | ≥ 0.5×, ≥ 5,000 sales/s |",
            mix.label(),
            http_rate / bare_rate
        );
    }
    for (mix, figures) in mixes.iter().zip(&figures) {
        println!(
            "| one push of {BATCH} (median, p99), {} | {} / {} | — | — | — |",
            mix.label(),
            ms(percentile(&figures.trips, 50.0)).trim(),
            ms(percentile(&figures.trips, 99.0)).trim()
        );
    }
    println!(
        "| ledger peak RSS under that load | {} | — | — | ≤ 100 MB |",
        mib(ledger_rss)
    );
    println!(
        "| backlog drain, {BACKLOG} offline sales | {:.2} s, {:.0} sales/s | — | — | ≤ 10 s |",
        drained.as_secs_f64(),
        per_second(BACKLOG, drained)
    );
}
