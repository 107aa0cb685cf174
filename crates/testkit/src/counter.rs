//! Counters against the ledger: each its own sled store on disk and the
//! kiosk's own sync task, talking to the ledger on a real socket.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use klubkasse::store::{Recorded, Store, local_day};
use klubkasse::sync::{LedgerClient, SyncError, SyncStatus, SyncTask};
use klubkasse_core::domain::{CardUid, ChildId, Connection, Entry, Money, SaleLine};
use klubkasse_ledger::Settings;
use klubkasse_ledger::auth::TokenRole;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::ledger::Ledger;

/// Where a counter pushes its entries, and where it pulls changes.
pub const PUSH_ROUTE: &str = "POST /api/v1/kiosk/entries";
pub const PULL_ROUTE: &str = "GET /api/v1/kiosk/changes";

/// One request to the ledger: `POST /api/v1/kiosk/entries`, the status of
/// its answer, and how long the ledger took from its arrival to the answer.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub route: String,
    /// `None`: the client gave up (a timeout) and the ledger dropped the
    /// request unanswered; `took` is how long the client waited.
    pub status: Option<u16>,
    pub took: Duration,
}

/// Keeps an exchange when its request ends, answered or dropped.
struct Timing {
    route: String,
    started: std::time::Instant,
    status: Option<u16>,
    kept: Arc<Mutex<Vec<Exchange>>>,
}

impl Drop for Timing {
    fn drop(&mut self) {
        self.kept.lock().unwrap().push(Exchange {
            route: std::mem::take(&mut self.route),
            status: self.status,
            took: self.started.elapsed(),
        });
    }
}

/// The ledger's router with every request timed and kept.
pub fn timed(app: axum::Router) -> (axum::Router, Arc<Mutex<Vec<Exchange>>>) {
    let exchanges = Arc::new(Mutex::new(Vec::new()));
    let kept = exchanges.clone();
    let app = app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let timing = Timing {
                route: format!("{} {}", request.method(), request.uri().path()),
                started: std::time::Instant::now(),
                status: None,
                kept: kept.clone(),
            };
            async move {
                // The whole guard, not just its field: it must live as
                // long as the request.
                let mut timing = timing;
                let response = next.run(request).await;
                timing.status = Some(response.status().as_u16());
                response
            }
        },
    ));
    (app, exchanges)
}

/// A router on a real socket.
pub async fn serve_router(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The ledger on a real socket.
pub async fn serve(ledger: &Ledger) -> SocketAddr {
    serve_router(ledger.app.clone()).await
}

/// A counter: its own store on disk and a client to the ledger.
pub struct Counter {
    pub name: String,
    pub store: Arc<Store>,
    _dir: tempfile::TempDir,
    pub client: LedgerClient,
    pull_every: Duration,
}

impl Counter {
    pub async fn new(ledger: &Ledger, url: &str, name: &str) -> Counter {
        Counter::with_timing(
            ledger,
            url,
            name,
            Duration::from_secs(2),
            Duration::from_millis(200),
        )
        .await
    }

    /// `timeout`: how long one request may take; `pull_every`: how often
    /// the sync task pulls when nothing else happens.
    pub async fn with_timing(
        ledger: &Ledger,
        url: &str,
        name: &str,
        timeout: Duration,
        pull_every: Duration,
    ) -> Counter {
        let dir = tempfile::TempDir::new().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let token = ledger.token(TokenRole::Kiosk, Some(name), &[]).await;
        let client = LedgerClient::new(url, token, timeout, None).unwrap();
        Counter {
            name: name.to_string(),
            store,
            _dir: dir,
            client,
            pull_every,
        }
    }

    pub fn task(&self, status: impl FnMut(SyncStatus) + Send + 'static) -> SyncTask {
        SyncTask {
            store: self.store.clone(),
            client: self.client.clone(),
            pull_every: self.pull_every,
            status: Box::new(status),
        }
    }

    pub async fn sync(&self) -> Result<usize, SyncError> {
        self.task(|_| {}).sync_once().await
    }

    /// The sync task running as in the kiosk, keeping every status it reports.
    pub fn start_sync(&self) -> Syncing {
        let statuses = Arc::new(Mutex::new(Vec::new()));
        let seen = statuses.clone();
        let (nudge, nudges) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(self.task(move |s| seen.lock().unwrap().push(s)).run(nudges));
        Syncing {
            nudge,
            task,
            statuses,
        }
    }

    /// A sale as the kiosk makes it: checked and saved locally first.
    pub fn sell(&self, card: &str, ore: i64, connection: Connection) -> (Entry, Recorded) {
        self.sell_lines(card, vec![line("Toast", ore, 1)], connection)
    }

    /// A sale of these lines, as [`Counter::sell`] makes it.
    pub fn sell_lines(
        &self,
        card: &str,
        lines: Vec<SaleLine>,
        connection: Connection,
    ) -> (Entry, Recorded) {
        let uid = CardUid::parse(card).unwrap();
        let child = self
            .store
            .card(&uid)
            .unwrap()
            .expect("the counter knows the card")
            .child;
        let sale = Entry::sale(child, uid, lines, &self.name, Utc::now());
        let recorded = self.store.record_sale(&sale, connection).unwrap();
        (sale, recorded)
    }

    /// What a connected counter does with a card the office just handed
    /// out: pull it, sell these lines online (saved), push the sale.
    pub async fn pull_sell_push(&self, card: &str, lines: Vec<SaleLine>) -> Entry {
        self.sync().await.expect("the pull");
        let (sale, recorded) = self.sell_lines(card, lines, Connection::Online);
        assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
        self.sync().await.expect("the push");
        sale
    }

    /// Store work off the async threads, as the kiosk does it: a store
    /// write flushes, and the ledger may share these threads.
    pub async fn off_thread<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Counter) -> T + Send + 'static,
    ) -> T {
        let counter = self.clone();
        tokio::task::spawn_blocking(move || work(&counter))
            .await
            .expect("the store task")
    }

    pub fn balance(&self, child: ChildId) -> Money {
        self.store.balance(child).unwrap()
    }
}

/// A counter's running sync task.
pub struct Syncing {
    pub nudge: UnboundedSender<()>,
    task: JoinHandle<()>,
    pub statuses: Arc<Mutex<Vec<SyncStatus>>>,
}

impl Syncing {
    /// How the kiosk would sell now: online, or offline with `allowance`,
    /// as the last status said.
    pub fn connection(&self, allowance: Money) -> Connection {
        match self.statuses.lock().unwrap().last() {
            Some(SyncStatus::Offline { .. }) => Connection::Offline { allowance },
            _ => Connection::Online,
        }
    }

    /// A sale was made: sync now.
    pub fn nudge(&self) {
        let _ = self.nudge.send(());
    }

    /// Closes the task as the kiosk does on exit: after the sync under way.
    /// Returns every status it reported.
    pub async fn stop(self) -> Vec<SyncStatus> {
        drop(self.nudge);
        self.task.await.expect("the sync task");
        self.statuses.lock().unwrap().clone()
    }
}

/// Waits until no counter has anything in its outbox.
pub async fn drained(counters: &[Arc<Counter>], within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let waiting: usize = counters.iter().map(|c| c.store.outbox_len()).sum();
        if waiting == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{waiting} entries still waiting after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The books after a run, once every counter has pushed everything and
/// pulled after the last push:
/// - every entry a counter recorded is in the ledger once, and the ledger
///   has nothing from that counter the counter did not record;
/// - every ledger balance is the sum of its entries;
/// - every counter's balances are the ledger's;
/// - each counter's day report has the ledger's totals for that counter.
///
/// Returns the number of entries checked.
pub async fn assert_books_agree(ledger: &Ledger, counters: &[Arc<Counter>]) -> usize {
    let mut checked = 0;
    for counter in counters {
        let recorded: BTreeSet<Uuid> = counter
            .store
            .all_entries()
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        let in_ledger: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM entries WHERE counter = $1")
            .bind(&counter.name)
            .fetch_all(&ledger.pool)
            .await
            .unwrap();
        let in_ledger_once: BTreeSet<Uuid> = in_ledger.iter().copied().collect();
        assert_eq!(
            in_ledger.len(),
            in_ledger_once.len(),
            "{}: an entry twice",
            counter.name
        );
        let missing: Vec<_> = recorded.difference(&in_ledger_once).collect();
        assert!(
            missing.is_empty(),
            "{}: never reached the ledger: {missing:?}",
            counter.name
        );
        let unknown: Vec<_> = in_ledger_once.difference(&recorded).collect();
        assert!(
            unknown.is_empty(),
            "{}: in the ledger, never recorded: {unknown:?}",
            counter.name
        );
        checked += recorded.len();
    }
    let children: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM children")
        .fetch_all(&ledger.pool)
        .await
        .unwrap();
    for child in children.into_iter().map(ChildId) {
        let (balance, sum) = ledger.balance_and_sum(child).await;
        assert_eq!(
            balance, sum,
            "child {child}: the balance is not the sum of its entries"
        );
        for counter in counters {
            assert_eq!(
                counter.balance(child),
                balance,
                "{}: child {child}",
                counter.name
            );
        }
    }
    for counter in counters {
        assert_day_reports_agree(ledger, counter).await;
    }
    checked
}

/// The counter's own day report against the ledger's for that counter.
/// Each uses its own clock on the wall, so a run across midnight in either
/// time zone would fail here.
async fn assert_day_reports_agree(ledger: &Ledger, counter: &Counter) {
    let now = Utc::now();
    let at_counter = counter.store.day_report(local_day(now)).unwrap();
    let ledger_day: chrono::NaiveDate =
        sqlx::query_scalar("SELECT ($1::timestamptz AT TIME ZONE $2)::date")
            .bind(now)
            .bind(&Settings::default().time_zone)
            .fetch_one(&ledger.pool)
            .await
            .unwrap();
    let name = &counter.name;
    assert_eq!(
        (i64::from(at_counter.sales), -at_counter.sales_total),
        ledger.day_total(ledger_day, name, "sale").await,
        "{name}: sales in the day reports"
    );
    assert_eq!(
        (i64::from(at_counter.refunds), at_counter.refunds_total),
        ledger.day_total(ledger_day, name, "refund").await,
        "{name}: refunds in the day reports"
    );
}

/// A line of a sale: `quantity` × `name` at `ore` øre, category «mad».
pub fn line(name: &str, ore: i64, quantity: u32) -> SaleLine {
    SaleLine {
        name: name.into(),
        category: "mad".into(),
        unit_price: Money::from_ore(ore),
        quantity,
    }
}
