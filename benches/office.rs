//! The office's pages at a municipality's size: finding a child (by name,
//! card and club), a child's page, the flags list and the month report,
//! each answered by the ledger's router as the browser asks for it (a
//! session cookie, the page's HTML), timed from request to the last byte.
//! The same pages on a club-sized ledger (1,000 children, 100,000
//! entries) are the baseline, measured in the same run.
//!
//!     cargo bench --bench office -- [CHILDREN ENTRIES]   # default 100000 10000000
//!
//! Needs a PostgreSQL server, named by KLUBKASSE_BENCH_DATABASE_URL or
//! else KLUBKASSE_TEST_DATABASE_URL. The books are generated from a seed
//! with COPY (`klubkasse_testkit::municipality`); the big one takes some
//! minutes. `KLUBKASSE_BENCH_OFFICE_KEEP=1` keeps the databases and
//! prints their names; `KLUBKASSE_BENCH_OFFICE_DB=NAME` measures that one
//! again instead of generating the big books.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use chrono::{Datelike, Duration as Days};
use klubkasse_ledger::Settings;
use klubkasse_ledger::db::Actor;
use klubkasse_ledger::db::people::{self, PersonRole, PersonSpec};
use klubkasse_testkit::bench::{ms, percentile};
use klubkasse_testkit::ledger::{Ledger, Visitor, database_on, ledger_on};
use klubkasse_testkit::municipality::{self, Seeded, Size};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Requests per page and size.
const REPS: usize = 200;
const SEED: u64 = 15;
const SMALL: Size = Size {
    children: 1_000,
    entries: 100_000,
};
const TARGET: Duration = Duration::from_millis(100);

fn server_url() -> String {
    klubkasse_testkit::bench::database_server("office")
}

/// The books of one size, with the municipality's and one club's office
/// logged in.
struct Books {
    ledger: Ledger,
    /// Made by an earlier run: never dropped here.
    reused: bool,
    seeded: Seeded,
    municipality: Visitor,
    office: Visitor,
}

async fn books(size: Size, reuse: Option<String>) -> Books {
    let server = server_url();
    let reused = reuse.is_some();
    let (url, pool, seeded) = match reuse {
        Some(name) => {
            let (base, _) = server.rsplit_once('/').expect("a database in the URL");
            let url = format!("{base}/{name}");
            let options = klubkasse_ledger::connect_options(&url).expect("a database URL");
            let pool = sqlx::PgPool::connect_with(options).await.expect("connect");
            // Kept from an older build: its schema brought up to date.
            klubkasse_ledger::MIGRATOR
                .run(&pool)
                .await
                .expect("migrate");
            let seeded = municipality::seeded_of(&pool).await;
            (url, pool, seeded)
        }
        None => {
            let (url, pool) = database_on(&server).await;
            eprintln!(
                "office bench: generating {} children, {} entries in {url}",
                size.children, size.entries
            );
            let seeded = municipality::generate(&pool, size, SEED).await;
            (url, pool, seeded)
        }
    };
    let settings = Settings::default();
    let ledger = ledger_on(url, pool, settings.clone())
        .await
        .with_portal(settings);
    let person = |subject: &'static str, role: PersonRole| {
        let pool = ledger.pool.clone();
        async move {
            let spec = PersonSpec {
                issuer: "https://broker.test",
                subject,
                name: subject,
                email: None,
                children: &[],
                role: Some(role),
            };
            people::add_person(&pool, &Actor::command_line(), &spec)
                .await
                .expect("person")
                .id
        }
    };
    let first_club = seeded.clubs[0].clone();
    let municipality = ledger
        .log_in(person("kommunen", PersonRole::Municipality).await)
        .await;
    let office = ledger
        .log_in(person("kontoret", PersonRole::Office([first_club].into())).await)
        .await;
    Books {
        ledger,
        reused,
        seeded,
        municipality,
        office,
    }
}

/// Whose session asks.
#[derive(Clone, Copy)]
enum Who {
    Municipality,
    Office,
}

/// A page of the office, as one request.
struct Page {
    label: &'static str,
    who: Who,
    path: fn(&Seeded, &mut StdRng) -> String,
}

fn pick<'a>(seeded: &'a Seeded, rng: &mut StdRng) -> &'a (uuid::Uuid, String, String) {
    &seeded.sample[rng.random_range(0..seeded.sample.len())]
}

/// The sample's children of the first club (the office's).
fn of_first_club<'a>(seeded: &'a Seeded, rng: &mut StdRng) -> &'a (uuid::Uuid, String, String) {
    // Children are in clubs of 5,000 in order; the sample keeps every 97th.
    let first = seeded.sample.len().min(5_000 / 97 + 1);
    &seeded.sample[rng.random_range(0..first)]
}

fn last_full_month(seeded: &Seeded) -> String {
    let month = seeded.last_day.with_day(1).expect("a first") - Days::days(1);
    format!("/portal/office/reports?period=month&date={month}")
}

const PAGES: [Page; 10] = [
    Page {
        label: "search: a first and last name",
        who: Who::Municipality,
        path: |s, rng| {
            let name = &pick(s, rng).1;
            let (first_last, _) = name.rsplit_once(' ').expect("a number");
            format!("/portal/office/children?q={}", first_last.replace(' ', "+"))
        },
    },
    Page {
        label: "search: a card UID",
        who: Who::Municipality,
        path: |s, rng| format!("/portal/office/children?q={}", pick(s, rng).2),
    },
    Page {
        label: "search: a club, page 20",
        who: Who::Municipality,
        path: |s, rng| {
            let club = &s.clubs[rng.random_range(0..s.clubs.len())];
            format!(
                "/portal/office/children?club={}&page=20",
                club.replace(' ', "+")
            )
        },
    },
    Page {
        label: "child page (municipality)",
        who: Who::Municipality,
        path: |s, rng| format!("/portal/office/children/{}", pick(s, rng).0),
    },
    Page {
        label: "child page (office of one club)",
        who: Who::Office,
        path: |s, rng| format!("/portal/office/children/{}", of_first_club(s, rng).0),
    },
    Page {
        label: "office start page (one club)",
        who: Who::Office,
        path: |_, _| "/portal/office".to_string(),
    },
    Page {
        label: "flags list, every club",
        who: Who::Municipality,
        path: |_, _| "/portal/office/flags".to_string(),
    },
    Page {
        label: "flags list, one club, overdrafts",
        who: Who::Office,
        path: |_, _| "/portal/office/flags?flag=overdraft".to_string(),
    },
    Page {
        label: "month report, every club",
        who: Who::Municipality,
        path: |s, _| last_full_month(s),
    },
    Page {
        label: "month report, one club",
        who: Who::Office,
        path: |s, _| last_full_month(s),
    },
];

/// Each page REPS times, interleaved (a round asks each page once): the
/// time of each request.
async fn measure(books: &Books) -> Vec<Vec<Duration>> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut times = vec![Vec::with_capacity(REPS); PAGES.len()];
    for _ in 0..REPS {
        for (page, samples) in PAGES.iter().zip(&mut times) {
            let path = (page.path)(&books.seeded, &mut rng);
            let visitor = match page.who {
                Who::Municipality => &books.municipality,
                Who::Office => &books.office,
            };
            let started = Instant::now();
            let answer = books
                .ledger
                .page(Method::GET, &path, Some(visitor), &[])
                .await;
            samples.push(started.elapsed());
            let said = answer.text.rsplit("<main>").next().unwrap_or_default();
            assert_eq!(answer.status, StatusCode::OK, "{path}: {said}");
        }
    }
    times
}

async fn drop_or_keep(books: Books) {
    let name = books
        .ledger
        .url
        .rsplit_once('/')
        .map(|(_, n)| n.to_string())
        .unwrap_or_default();
    books.ledger.pool.close().await;
    if books.reused || std::env::var_os("KLUBKASSE_BENCH_OFFICE_KEEP").is_some() {
        eprintln!("office bench: kept database {name}");
        return;
    }
    let admin = sqlx::PgPool::connect(&server_url()).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("drop database");
}

fn main() {
    // A page that fails says why on stderr.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("warn")
        .init();
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    let big = Size {
        children: args.first().copied().unwrap_or(100_000),
        entries: args.get(1).copied().unwrap_or(10_000_000),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let reuse = std::env::var("KLUBKASSE_BENCH_OFFICE_DB").ok();
        let started = Instant::now();
        let small = books(SMALL, None).await;
        let big_books = books(big, reuse).await;
        eprintln!(
            "office bench: generated in {:.0} s; measuring {REPS} requests per page",
            started.elapsed().as_secs_f64()
        );
        let baseline = measure(&small).await;
        let measured = measure(&big_books).await;
        println!(
            "\noffice pages, {REPS} requests each (p50 / p99), {} children and {} entries, \
             next to {} children and {} entries (baseline, same run); target p99 ≤ {} ms\n",
            big.children,
            big.entries,
            SMALL.children,
            SMALL.entries,
            TARGET.as_millis()
        );
        println!("| page | baseline p50 | baseline p99 | p50 | p99 | p99 / baseline | ≤ 100 ms |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
        for ((page, base), times) in PAGES.iter().zip(&baseline).zip(&measured) {
            let (b50, b99) = (percentile(base, 50.0), percentile(base, 99.0));
            let (p50, p99) = (percentile(times, 50.0), percentile(times, 99.0));
            println!(
                "| {} | {} | {} | {} | {} | {:.1}× | {} |",
                page.label,
                ms(b50).trim(),
                ms(b99).trim(),
                ms(p50).trim(),
                ms(p99).trim(),
                p99.as_secs_f64() / b99.as_secs_f64(),
                if p99 <= TARGET { "yes" } else { "NO" }
            );
        }
        drop_or_keep(small).await;
        drop_or_keep(big_books).await;
    });
}
