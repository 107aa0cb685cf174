//! A counter and the ledger together: the kiosk's store and sync task on
//! one side, `klubkasse-ledger`'s router on a real socket and a real
//! PostgreSQL on the other, with a proxy between them that can cut the
//! line, as a dead network would.
//!
//! Over 400 lines: each test is one situation between a counter and the
//! ledger (a cut line, a broken answer, TLS, a retry), on one shared set-up.

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use chrono::Utc;
use klubkasse::store::Recorded;
use klubkasse::sync::{LedgerClient, SyncStatus};
use klubkasse_core::domain::{
    CardState, CardUid, ChildId, Connection, Entry, Money, Refusal, SaleLine,
};
use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::counter::{
    Counter, PUSH_ROUTE, Syncing, assert_books_agree, drained, serve, serve_router, timed,
};
use klubkasse_testkit::ledger::{CARD_A, Ledger, ledger};
use klubkasse_testkit::proxy::{Fault, Proxy, Rng, fault_seed};

const COUNTER: &str = "cafe-1";
/// Offline with room for every sale of the test.
fn offline() -> Connection {
    Connection::Offline {
        allowance: Money::kroner(10_000),
    }
}

/// A child with card A and `kroner` on the ledger.
async fn child_with_money(ledger: &Ledger, kroner: &str) -> ChildId {
    let child = ledger.enrol("Åse Ørsted").await;
    ledger.hand_out(child, CARD_A).await;
    assert!(ledger.deposit(child, kroner).await.status.is_success());
    child
}

#[tokio::test]
async fn a_deposit_reaches_the_counter_and_a_sale_reaches_the_ledger() {
    let ledger = ledger().await;
    let addr = serve(&ledger).await;
    let child = child_with_money(&ledger, "100.00").await;
    let counter = Counter::new(&ledger, &format!("http://{addr}"), COUNTER).await;

    counter.sync().await.unwrap();
    assert_eq!(counter.balance(child), Money::kroner(100));
    let view = counter
        .store
        .lookup(
            &CardUid::parse(CARD_A).unwrap(),
            Utc::now(),
            Connection::Online,
        )
        .unwrap()
        .unwrap();
    assert_eq!(view.child.name, "Åse Ørsted");

    let (sale, recorded) = counter.sell(CARD_A, 1250, Connection::Online);
    assert_eq!(
        recorded,
        Recorded::Saved {
            balance: Money::from_ore(8750)
        }
    );
    assert_eq!(counter.store.outbox_len(), 1);
    assert_eq!(counter.sync().await.unwrap(), 0);
    assert_eq!(counter.store.outbox_len(), 0);
    assert_eq!(ledger.balance(child).await, Money::from_ore(8750));
    assert_eq!(counter.balance(child), Money::from_ore(8750));
    let history = ledger
        .admin(
            Method::GET,
            &format!("/api/v1/children/{child}/entries"),
            None,
        )
        .await;
    assert!(
        history.text.contains(&sale.id.to_string()),
        "{}",
        history.text
    );
    assert!(history.text.contains("Toast"), "{}", history.text);

    // A parent tops up; the counter sees it after its next pull.
    ledger.deposit(child, "20.00").await;
    counter.sync().await.unwrap();
    assert_eq!(counter.balance(child), Money::from_ore(10750));
    let (balance, sum) = ledger.balance_and_sum(child).await;
    assert_eq!(balance, sum);
}

#[tokio::test]
async fn a_card_blocked_at_the_ledger_is_refused_after_the_next_pull() {
    let ledger = ledger().await;
    let addr = serve(&ledger).await;
    let child = child_with_money(&ledger, "100.00").await;
    let counter = Counter::new(&ledger, &format!("http://{addr}"), COUNTER).await;
    counter.sync().await.unwrap();
    let blocked = ledger
        .admin(Method::POST, &format!("/api/v1/cards/{CARD_A}/block"), None)
        .await;
    assert!(blocked.status.is_success(), "{}", blocked.text);
    counter.sync().await.unwrap();
    let uid = CardUid::parse(CARD_A).unwrap();
    assert_eq!(
        counter.store.card(&uid).unwrap().unwrap().state,
        CardState::Blocked
    );
    let (_, recorded) = counter.sell(CARD_A, 100, Connection::Online);
    assert!(
        matches!(recorded, Recorded::Refused(Refusal::CardBlocked { .. })),
        "{recorded:?}"
    );
    assert_eq!(ledger.balance(child).await, Money::kroner(100));
}

#[tokio::test]
async fn an_answer_lost_on_the_way_back_charges_once() {
    let ledger = ledger().await;
    let addr = serve(&ledger).await;
    let child = child_with_money(&ledger, "100.00").await;
    let counter = Counter::new(&ledger, &format!("http://{addr}"), COUNTER).await;
    counter.sync().await.unwrap();
    counter.sell(CARD_A, 1000, Connection::Online);
    // The ledger records the push, but the counter never hears the answer.
    let batch = counter.store.outbox_batch(100).unwrap();
    counter.client.push(&batch).await.unwrap();
    // The next sync sends it again: recorded once, and acknowledged.
    counter.sync().await.unwrap();
    assert_eq!(counter.store.outbox_len(), 0);
    assert_eq!(ledger.sale_count().await, 1);
    assert_eq!(ledger.balance(child).await, Money::kroner(90));
    assert_eq!(counter.balance(child), Money::kroner(90));
}

/// A sale by name to a child who forgot the card (here a card the
/// ledger has blocked: lost, say) goes to the ledger like any other,
/// once however often it is pushed, and with no flag: there is no card
/// to doubt.
#[tokio::test]
async fn a_sale_without_card_reaches_the_ledger_once_and_unflagged() {
    let ledger = ledger().await;
    let addr = serve(&ledger).await;
    let child = child_with_money(&ledger, "100.00").await;
    let blocked = ledger
        .admin(Method::POST, &format!("/api/v1/cards/{CARD_A}/block"), None)
        .await;
    assert!(blocked.status.is_success(), "{}", blocked.text);
    let counter = Counter::new(&ledger, &format!("http://{addr}"), COUNTER).await;
    counter.sync().await.unwrap();
    let view = counter
        .store
        .account(child, Utc::now(), Connection::Online)
        .unwrap();
    let sale = Entry::sale(
        child,
        None,
        vec![SaleLine {
            name: "Toast".into(),
            category: "mad".into(),
            unit_price: Money::kroner(12),
            quantity: 2,
        }],
        COUNTER,
        Utc::now(),
    );
    assert_eq!((view.card, view.balance), (None, Money::kroner(100)));
    let recorded = counter
        .store
        .record_sale(&sale, Connection::Online)
        .unwrap();
    assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    // Pushed, the answer lost, pushed again by the next sync.
    let batch = counter.store.outbox_batch(100).unwrap();
    counter.client.push(&batch).await.unwrap();
    counter.sync().await.unwrap();
    assert_eq!(counter.store.outbox_len(), 0);
    assert_eq!(ledger.sale_count().await, 1);
    assert_eq!(ledger.balance(child).await, Money::kroner(76));
    assert_eq!(counter.balance(child), Money::kroner(76));
    let (card, flags): (Option<String>, Vec<String>) =
        sqlx::query_as("SELECT card_uid, flags FROM entries WHERE id = $1")
            .bind(sale.id)
            .fetch_one(&ledger.pool)
            .await
            .unwrap();
    assert_eq!(card, None);
    assert!(flags.is_empty(), "{flags:?}");
}

#[tokio::test]
async fn the_ledger_away_while_200_sales_are_made_then_everything_arrives_once() {
    let ledger = ledger().await;
    let addr = serve(&ledger).await;
    let proxy = Proxy::start(addr).await;
    let child = child_with_money(&ledger, "1000.00").await;
    let counter = Counter::new(&ledger, &proxy.url(), COUNTER).await;
    counter.sync().await.unwrap();

    // The sync task runs as in the kiosk; nobody touches it after this.
    let syncing = counter.start_sync();

    proxy.down();
    let mut confirmed = Vec::new();
    for _ in 0..200 {
        let (sale, recorded) = counter.sell(CARD_A, 200, offline());
        assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
        confirmed.push(sale.id);
        syncing.nudge();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        syncing
            .statuses
            .lock()
            .unwrap()
            .iter()
            .any(|s| matches!(s, SyncStatus::Offline { .. })),
        "the status never said offline"
    );
    assert_eq!(ledger.sale_count().await, 0);

    proxy.up();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while counter.store.outbox_len() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} sales still waiting",
            counter.store.outbox_len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    syncing.stop().await;
    assert_eq!(ledger.sale_count().await, 200);
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM entries WHERE kind = 'sale'")
        .fetch_all(&ledger.pool)
        .await
        .unwrap();
    for id in &confirmed {
        assert!(ids.contains(id), "sale {id} never reached the ledger");
    }
    assert_eq!(ledger.balance(child).await, Money::kroner(600));
    assert_eq!(counter.balance(child), Money::kroner(600));
    let (balance, sum) = ledger.balance_and_sum(child).await;
    assert_eq!(balance, sum);
}

#[tokio::test]
async fn two_counters_one_offline_end_consistent_with_the_overdraft_flagged() {
    let ledger = ledger().await;
    let addr = serve(&ledger).await;
    let proxy = Proxy::start(addr).await;
    let child = child_with_money(&ledger, "30.00").await;
    let online = Counter::new(&ledger, &format!("http://{addr}"), "cafe-1").await;
    let offline = Counter::new(&ledger, &proxy.url(), "cafe-2").await;
    online.sync().await.unwrap();
    offline.sync().await.unwrap();

    proxy.down();
    // Offline, cafe-2 sells within what it knows plus its allowance.
    let allowance = Connection::Offline {
        allowance: Money::kroner(50),
    };
    for _ in 0..2 {
        let (_, recorded) = offline.sell(CARD_A, 1000, allowance);
        assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    }
    // Meanwhile cafe-1 sells the same money at once.
    let (_, recorded) = online.sell(CARD_A, 2500, Connection::Online);
    assert!(matches!(recorded, Recorded::Saved { .. }));
    online.sync().await.unwrap();
    assert!(offline.sync().await.is_err(), "the proxy is down");

    proxy.up();
    offline.sync().await.unwrap();
    online.sync().await.unwrap();
    // Every sale recorded; the ledger is consistent and the office sees it.
    assert_eq!(ledger.sale_count().await, 3);
    let (balance, sum) = ledger.balance_and_sum(child).await;
    assert_eq!(balance, sum);
    assert_eq!(balance, Money::kroner(30 - 25 - 20));
    let flagged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM entries WHERE 'overdraft' = ANY(flags)")
            .fetch_one(&ledger.pool)
            .await
            .unwrap();
    assert!(flagged >= 1, "the overdraft was not flagged");
    assert_eq!(online.balance(child), balance);
    assert_eq!(offline.balance(child), balance);
}

#[tokio::test]
async fn a_replacement_card_handed_out_at_the_counter_works_and_the_old_one_is_refused() {
    let ledger = ledger().await;
    let addr = serve(&ledger).await;
    let child = child_with_money(&ledger, "100.00").await;
    let counter = Counter::new(&ledger, &format!("http://{addr}"), COUNTER).await;
    counter.sync().await.unwrap();

    // A parent reports the card lost and orders a new one (45 kr.).
    let order = ledger
        .admin(
            Method::POST,
            &format!("/api/v1/children/{child}/card-orders"),
            Some(serde_json::json!({"address": "Vej 1, 2100 København Ø"})),
        )
        .await;
    assert!(order.status.is_success(), "{}", order.text);
    counter.sync().await.unwrap();
    let (_, recorded) = counter.sell(CARD_A, 100, Connection::Online);
    assert!(
        matches!(recorded, Recorded::Refused(Refusal::CardBlocked { .. })),
        "{recorded:?}"
    );

    // The new card arrives; staff hand it out at the counter.
    let new_card = CardUid::parse("0A0B0C0D").unwrap();
    counter.store.bind_card(&new_card, child, true).unwrap();
    counter.sync().await.unwrap();
    assert!(counter.store.card_actions().unwrap().is_empty());
    let detail = ledger
        .admin(Method::GET, &format!("/api/v1/children/{child}"), None)
        .await;
    assert!(
        detail.text.contains("0A0B0C0D"),
        "the ledger does not know the new card: {}",
        detail.text
    );
    let (_, recorded) = counter.sell("0A0B0C0D", 1000, Connection::Online);
    assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    counter.sync().await.unwrap();
    // 100 − 45 (fee) − 10 (the sale with the new card).
    assert_eq!(ledger.balance(child).await, Money::kroner(45));
    assert_eq!(counter.balance(child), Money::kroner(45));
}

#[tokio::test]
async fn a_card_blocked_at_the_counter_is_blocked_at_the_ledger() {
    let ledger = ledger().await;
    let addr = serve(&ledger).await;
    child_with_money(&ledger, "100.00").await;
    let counter = Counter::new(&ledger, &format!("http://{addr}"), COUNTER).await;
    counter.sync().await.unwrap();
    let uid = CardUid::parse(CARD_A).unwrap();
    counter
        .store
        .set_card_state(&uid, CardState::Blocked, true)
        .unwrap();
    counter.sync().await.unwrap();
    let state: String = sqlx::query_scalar("SELECT state FROM cards WHERE uid = $1")
        .bind(CARD_A)
        .fetch_one(&ledger.pool)
        .await
        .unwrap();
    assert_eq!(state, "blocked");
    // The pull after it does not bring the card back to life.
    assert_eq!(
        counter.store.card(&uid).unwrap().unwrap().state,
        CardState::Blocked
    );

    // The card is found again: unblocked at the counter, active at the
    // ledger, and the pull after it keeps it active.
    counter
        .store
        .set_card_state(&uid, CardState::Active, true)
        .unwrap();
    counter.sync().await.unwrap();
    assert!(counter.store.card_actions().unwrap().is_empty());
    let (state, blocked_at): (String, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT state, blocked_at FROM cards WHERE uid = $1")
            .bind(CARD_A)
            .fetch_one(&ledger.pool)
            .await
            .unwrap();
    assert_eq!((state.as_str(), blocked_at), ("active", None));
    assert_eq!(
        counter.store.card(&uid).unwrap().unwrap().state,
        CardState::Active
    );
    let (_, recorded) = counter.sell(CARD_A, 1000, Connection::Online);
    assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
}

/// A free port on loopback, for a server started as its own process.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn the_ledger_over_tls_with_its_own_certificate() {
    let ledger = ledger().await;
    child_with_money(&ledger, "10.00").await;
    let dir = tempfile::TempDir::new().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let port = free_port();
    let mut server = std::process::Command::new(&*klubkasse_testkit::bin::LEDGER)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &ledger.url,
        ])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start klubkasse-ledger");
    let url = format!("https://localhost:{port}");
    let token = ledger.token(TokenRole::Kiosk, Some(COUNTER), &[]).await;
    let pem = certified.cert.pem();
    let trusting = LedgerClient::new(
        &url,
        token.clone(),
        Duration::from_secs(2),
        Some(pem.as_bytes()),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let changes = loop {
        match trusting.changes(0, 10).await {
            Ok(changes) => break changes,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no answer over TLS: {e}"),
        }
    };
    assert_eq!(changes.accounts.len(), 1);
    // A client that does not trust the certificate gets nothing.
    let doubting = LedgerClient::new(&url, token, Duration::from_secs(2), None).unwrap();
    assert!(
        doubting.changes(0, 10).await.is_err(),
        "an untrusted certificate was accepted"
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// The fault run's counters give up on a request after this long, so that
/// an answer held past it costs little.
const FAULT_TIMEOUT: Duration = Duration::from_secs(1);
const FAULT_COUNTERS: u64 = 4;
const SALES_PER_COUNTER: usize = 120;
/// One exchange in this many percent breaks while faults are on.
const FAULT_PERCENT: u64 = 50;

/// A counter's shift while the network breaks: `sales` sales to children
/// picked at random, now and then one refunded, each nudging the sync task
/// as the kiosk does. Returns the running sync task and how many sales the
/// counter refused (offline allowance or money used up).
async fn shift_with_refunds(
    counter: Arc<Counter>,
    cards: Vec<String>,
    mut rng: Rng,
    sales: usize,
) -> (Syncing, usize) {
    let syncing = counter.start_sync();
    let mut refused = 0;
    for _ in 0..sales {
        let card = cards[rng.below(cards.len() as u64) as usize].clone();
        let ore = 100 * (1 + rng.below(20) as i64);
        let connection = syncing.connection(Money::kroner(100));
        let (sale, recorded) = counter
            .off_thread(move |c| c.sell(&card, ore, connection))
            .await;
        match recorded {
            Recorded::Saved { .. } if rng.below(10) == 0 => {
                counter
                    .off_thread(move |c| c.store.refund(sale.id, &c.name, Utc::now(), true))
                    .await
                    .expect("a refund");
            }
            Recorded::Saved { .. } => {}
            Recorded::Refused(_) => refused += 1,
            Recorded::AlreadySaved { .. } => panic!("a new sale was saved before"),
        }
        syncing.nudge();
        tokio::time::sleep(Duration::from_millis(rng.below(80))).await;
    }
    (syncing, refused)
}

/// Several counters sell and refund while the line to the ledger drops
/// requests half-way, holds answers past the timeout, answers 500 and 502,
/// and cuts answers after the ledger committed. Then the faults stop, and
/// every entry must be in the ledger once and the books must agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_through_a_faulty_network_arrive_once_and_the_books_agree() {
    let seed = fault_seed();
    let ledger = ledger().await;
    let (app, answers) = timed(ledger.app.clone());
    let proxy = Proxy::start(serve_router(app).await).await;
    let children = ledger.children_with_cards(&["500.00"; 10]).await;
    let cards: Vec<String> = children.iter().map(|(_, card)| card.clone()).collect();
    let mut counters = Vec::new();
    for n in 1..=FAULT_COUNTERS {
        let name = format!("cafe-{n}");
        let counter = Counter::with_timing(
            &ledger,
            &proxy.url(),
            &name,
            FAULT_TIMEOUT,
            Duration::from_millis(200),
        )
        .await;
        counter.sync().await.unwrap();
        counters.push(Arc::new(counter));
    }

    proxy.inject_faults(
        seed,
        FAULT_PERCENT,
        FAULT_TIMEOUT + Duration::from_millis(500),
    );
    let shifts: Vec<_> = counters
        .iter()
        .zip(0..)
        .map(|(counter, n)| {
            let rng = Rng::new(seed.wrapping_add(n));
            tokio::spawn(shift_with_refunds(
                counter.clone(),
                cards.clone(),
                rng,
                SALES_PER_COUNTER,
            ))
        })
        .collect();
    let mut running = Vec::new();
    let mut refused = 0;
    for shift in shifts {
        let (syncing, refused_here) = shift.await.unwrap();
        running.push(syncing);
        refused += refused_here;
    }
    // However the dice fell, every kind of fault must meet a push: sell on,
    // a sale every 100 ms round the counters, until each has. (A counter
    // that failed waits out its backoff, at most 10 s, before it retries.)
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    for n in 0.. {
        let injected = proxy.injected();
        let missing: Vec<Fault> = Fault::ALL
            .into_iter()
            .filter(|f| !injected.contains_key(&(*f, PUSH_ROUTE.to_string())))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{missing:?} never broke a push in 90 s (seed {seed})"
        );
        let k = n % counters.len();
        let card = cards[n % cards.len()].clone();
        let connection = running[k].connection(Money::kroner(10_000));
        counters[k]
            .off_thread(move |c| c.sell(&card, 100, connection))
            .await;
        running[k].nudge();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let injected = proxy.injected();

    // The network heals; nobody touches the counters, and all flows.
    proxy.up();
    drained(&counters, Duration::from_secs(30)).await;
    for syncing in running {
        let statuses = syncing.stop().await;
        assert!(
            !statuses
                .iter()
                .any(|s| matches!(s, SyncStatus::Refused { .. })),
            "the ledger refused a counter: {statuses:?}"
        );
    }
    // A last pull, after every counter's last push.
    for counter in &counters {
        counter.sync().await.unwrap();
    }
    let entries = assert_books_agree(&ledger, &counters).await;
    let repeated = ledger
        .metric("klubkasse_ledger_entries_repeated_total")
        .await;

    println!(
        "{entries} entries recorded at {FAULT_COUNTERS} counters, {refused} sales refused there, {repeated} entries pushed again"
    );
    println!("{:<18} {:>6} {:>6}", "fault", "push", "other");
    for fault in Fault::ALL {
        let on_push = injected
            .get(&(fault, PUSH_ROUTE.to_string()))
            .copied()
            .unwrap_or(0);
        let other: usize = injected
            .iter()
            .filter(|((f, route), _)| *f == fault && route != PUSH_ROUTE)
            .map(|(_, n)| n)
            .sum();
        println!("{:<18} {on_push:>6} {other:>6}", format!("{fault:?}"));
        assert!(on_push > 0, "{fault:?} never broke a push (seed {seed})");
    }
    assert!(
        repeated > 0,
        "no push reached the ledger without the counter hearing it"
    );
    let ledger_errors: Vec<_> = answers
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.status.is_some_and(|status| status >= 500))
        .cloned()
        .collect();
    assert!(
        ledger_errors.is_empty(),
        "the ledger failed: {ledger_errors:?}"
    );
}
