//! Twenty counters against one ledger: each its own sled store on disk and
//! the kiosk's own sync task, all selling to the same thirty children as
//! fast as their stores allow, for a minute (KLUBKASSE_LOAD_SECONDS). The
//! ledger runs on a real socket with the pool `klubkasse-ledger serve`
//! uses, and times every answer. Prints the figures as a table for the
//! closing note.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::Method;
use klubkasse::store::Recorded;
use klubkasse::sync::SyncStatus;
use klubkasse_core::domain::{ChildId, Money, Refusal};
use klubkasse_ledger::{self as ledger, AppState, Settings};
use klubkasse_testkit::counter::{
    Counter, Exchange, PULL_ROUTE, PUSH_ROUTE, Syncing, assert_books_agree, drained, serve_router,
    timed,
};
use klubkasse_testkit::ledger::{Ledger, ledger_with};
use serde_json::json;
use uuid::Uuid;

const COUNTERS: usize = 20;
const CHILDREN: usize = 30;
const SECONDS_VAR: &str = "KLUBKASSE_LOAD_SECONDS";
/// Between two sales at one counter. 250 ms is twenty busy counters at
/// 80 sales/s in all, some twenty times a real 15:00 queue; 0 sells as fast
/// as the stores allow, which is more than the ledger takes in a debug
/// build on two cores (the counters time out and fall back to offline).
const PAUSE_VAR: &str = "KLUBKASSE_LOAD_PAUSE_MS";
/// The kiosk's defaults (config.rs): a request may take 5 s, pull every 5 s.
const TIMEOUT: Duration = Duration::from_secs(5);
const PULL_EVERY: Duration = Duration::from_secs(5);
/// Children whose parents set a daily limit, and the limit: each counter
/// keeps to it, all of them together do not, and the ledger flags that.
const LIMITED: std::ops::Range<usize> = 0..3;
const DAILY_LIMIT: &str = "25.00";
/// Children with little money: counters that have not heard of each
/// other's sales yet overdraw it, and the ledger flags that.
const POOR: std::ops::Range<usize> = 3..6;
const POOR_KRONER: &str = "15.00";
const RICH_KRONER: &str = "50000.00";

/// A number from the environment, or `default`.
fn setting(var: &str, default: u64) -> u64 {
    std::env::var(var).map_or(default, |text| {
        text.parse()
            .unwrap_or_else(|_| panic!("{var}={text} is not a whole number"))
    })
}

/// What one counter's shift came to.
#[derive(Default)]
struct Shift {
    saved: usize,
    /// Refusal → how often.
    refused: BTreeMap<&'static str, usize>,
}

/// Sells to every child in turn, starting at a different child per counter,
/// a sale each `pause`, until `until`; each sale nudges the sync task, as
/// the kiosk does.
/// Returns the sync task, still running, and what was sold.
async fn shift(
    counter: Arc<Counter>,
    cards: Vec<String>,
    first: usize,
    pause: Duration,
    until: Instant,
) -> (Syncing, Shift) {
    let syncing = counter.start_sync();
    let mut shift = Shift::default();
    let mut turn = first;
    while Instant::now() < until {
        let card = cards[turn % cards.len()].clone();
        let ore = 200 + 100 * (turn % 14) as i64; // 2–15 kr.
        turn += 1;
        let connection = syncing.connection(Money::kroner(100));
        let (_, recorded) = counter
            .off_thread(move |c| c.sell(&card, ore, connection))
            .await;
        match recorded {
            Recorded::Saved { .. } => shift.saved += 1,
            Recorded::Refused(refusal) => *shift.refused.entry(name_of(&refusal)).or_default() += 1,
            Recorded::AlreadySaved { .. } => panic!("a new sale was saved before"),
        }
        syncing.nudge();
        tokio::time::sleep(pause).await;
    }
    (syncing, shift)
}

fn name_of(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::UnknownCard { .. } => "unknown card",
        Refusal::CardBlocked { .. } => "card blocked",
        Refusal::NotEnoughMoney { .. } => "not enough money",
        Refusal::DailyLimitReached { .. } => "daily limit",
        Refusal::CategoryBlocked { .. } => "category blocked",
        Refusal::OfflineAllowanceUsed { .. } => "offline allowance",
    }
}

/// Sets up the children: most with plenty, some limited, some poor.
async fn children(ledger: &Ledger) -> Vec<(ChildId, String)> {
    let amounts: Vec<&str> = (0..CHILDREN)
        .map(|n| {
            if POOR.contains(&n) {
                POOR_KRONER
            } else {
                RICH_KRONER
            }
        })
        .collect();
    let children = ledger.children_with_cards(&amounts).await;
    for (child, _) in &children[LIMITED] {
        let answer = ledger
            .admin(
                Method::PATCH,
                &format!("/api/v1/children/{child}"),
                Some(json!({ "daily_limit": DAILY_LIMIT })),
            )
            .await;
        assert!(answer.status.is_success(), "{}", answer.text);
    }
    children
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// How long the ledger took for each request on `route`, shortest first;
/// a request dropped unanswered counts with the time until it was dropped.
fn latencies(exchanges: &[Exchange], route: &str) -> Vec<Duration> {
    let mut took: Vec<Duration> = exchanges
        .iter()
        .filter(|e| e.route == route)
        .map(|e| e.took)
        .collect();
    took.sort();
    took
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_counters_sell_to_thirty_children_at_once() {
    let seconds = setting(SECONDS_VAR, 60);
    let pause = Duration::from_millis(setting(PAUSE_VAR, 250));
    let settings = Settings {
        balance_cap: Money::kroner(100_000),
        ..Settings::default()
    };
    let ledger = ledger_with(settings.clone()).await;
    let pool = ledger::connect(&ledger.url)
        .await
        .expect("the ledger's pool");
    let (app, answers) = timed(ledger::router(AppState::new(pool, settings)));
    let url = format!("http://{}", serve_router(app).await);
    let children = children(&ledger).await;
    let cards: Vec<String> = children.iter().map(|(_, card)| card.clone()).collect();
    let mut counters = Vec::new();
    for n in 1..=COUNTERS {
        let name = format!("load-{n:02}");
        let counter = Counter::with_timing(&ledger, &url, &name, TIMEOUT, PULL_EVERY).await;
        counter.sync().await.unwrap();
        counters.push(Arc::new(counter));
    }

    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let shifts: Vec<_> = counters
        .iter()
        .enumerate()
        .map(|(n, counter)| tokio::spawn(shift(counter.clone(), cards.clone(), n, pause, until)))
        .collect();
    let (mut running, mut done) = (Vec::new(), Vec::new());
    for shift in shifts {
        let (syncing, shift) = shift.await.unwrap();
        running.push(syncing);
        done.push(shift);
    }
    drained(&counters, Duration::from_secs(120)).await;
    let took = started.elapsed();
    let mut statuses = Vec::new();
    for syncing in running {
        statuses.extend(syncing.stop().await);
    }
    for counter in &counters {
        counter.sync().await.unwrap(); // a last pull, after every push
    }
    let entries = assert_books_agree(&ledger, &counters).await;

    let saved: usize = done.iter().map(|s| s.saved).sum();
    let in_ledger = ledger.sale_count().await;
    assert_eq!(in_ledger as usize, saved);
    assert_eq!(entries, saved, "only sales were made");
    let mut refused: BTreeMap<&str, usize> = BTreeMap::new();
    for (refusal, n) in done.iter().flat_map(|s| s.refused.iter()) {
        *refused.entry(refusal).or_default() += n;
    }
    let offline = statuses
        .iter()
        .filter(|s| matches!(s, SyncStatus::Offline { .. }))
        .count();
    let refusals: Vec<_> = statuses
        .iter()
        .filter(|s| matches!(s, SyncStatus::Refused { .. }))
        .collect();
    let exchanges = answers.lock().unwrap().clone();
    let failed: Vec<_> = exchanges
        .iter()
        .filter(|e| e.status.is_some_and(|status| status >= 500))
        .collect();
    let dropped = exchanges.iter().filter(|e| e.status.is_none()).count();
    let pushes = latencies(&exchanges, PUSH_ROUTE);
    let pulls = latencies(&exchanges, PULL_ROUTE);

    // The flags, and whose sales they are on.
    let flagged: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT child_id, flag FROM entries, unnest(flags) AS flag")
            .fetch_all(&ledger.pool)
            .await
            .unwrap();
    let mut flags: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, flag) in &flagged {
        *flags.entry(flag.as_str()).or_default() += 1;
    }
    let limited: BTreeSet<Uuid> = children[LIMITED].iter().map(|(c, _)| c.0).collect();
    let poor: BTreeSet<Uuid> = children[POOR].iter().map(|(c, _)| c.0).collect();

    println!("| figure | value |");
    println!("| --- | --- |");
    println!("| counters × children | {COUNTERS} × {CHILDREN} |");
    println!(
        "| selling | {seconds} s, a sale each {} ms per counter; drained: {:.1} s in all |",
        pause.as_millis(),
        took.as_secs_f64()
    );
    println!("| sales recorded and in the ledger | {saved} |");
    println!(
        "| sales/s acknowledged | {:.1} |",
        saved as f64 / took.as_secs_f64()
    );
    println!(
        "| pushes (mean sales per push) | {} ({:.1}) |",
        pushes.len(),
        saved as f64 / pushes.len().max(1) as f64
    );
    println!(
        "| push at the ledger p50 / p99 / max | {} / {} / {} |",
        ms(percentile(&pushes, 0.5)),
        ms(percentile(&pushes, 0.99)),
        ms(percentile(&pushes, 1.0))
    );
    println!(
        "| pull at the ledger p50 / p99 ({} pulls) | {} / {} |",
        pulls.len(),
        ms(percentile(&pulls, 0.5)),
        ms(percentile(&pulls, 0.99))
    );
    println!("| flags at the ledger | {flags:?} |");
    println!("| refused at the counters | {refused:?} |");
    println!(
        "| offline moments, ledger refusals, 5xx, requests dropped unanswered | {offline}, {}, {}, {dropped} |",
        refusals.len(),
        failed.len()
    );

    assert!(failed.is_empty(), "the ledger failed: {failed:?}");
    assert!(refusals.is_empty(), "the ledger refused: {refusals:?}");
    assert_eq!(offline, 0, "a counter lost the ledger under load");
    assert_eq!(dropped, 0, "a counter gave up on a request under load");
    for (child, flag) in &flagged {
        let expected = match flag.as_str() {
            "daily_limit_exceeded" => limited.contains(child),
            "overdraft" => poor.contains(child),
            _ => false,
        };
        assert!(expected, "an unexpected flag {flag} on child {child}");
    }
}
