//! A municipality's books, generated from a seed for the office's
//! benchmark: clubs of 5,000 children, each child with a card, a payer,
//! an enrolment in the office log and a year of entries (a deposit, then
//! sales of one to three items, some refunded, some flagged by the
//! counter), written with COPY in chunks, so that 10,000,000 entries take
//! minutes, not hours. Balances are the sums of the entries, as the
//! ledger keeps them; the database's own triggers fill `entry_lines` and
//! whatever else hangs on an INSERT into entries.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use uuid::Uuid;

use klubkasse_ledger::MIGRATOR;
use klubkasse_ledger::db::{self, Actor};

/// How big: children, and entries in all (each child gets the same share).
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub children: usize,
    pub entries: usize,
}

/// What the benchmark asks for: some children and cards to look up.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub clubs: Vec<String>,
    /// Every 97th child: (id, name, card UID).
    pub sample: Vec<(Uuid, String, String)>,
    /// The first day and the last of the entries.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

const CHILDREN_PER_CLUB: usize = 5_000;
/// Children written per round of COPY statements.
const CHUNK: usize = 1_000;
const FIRST_NAMES: [&str; 24] = [
    "Freja", "Alma", "Ida", "Clara", "Ella", "Agnes", "Karla", "Olivia", "Emma", "Luna",
    "Josefine", "Asta", "William", "Noah", "Oscar", "Lucas", "Carl", "Victor", "Alfred", "Malthe",
    "Emil", "Oliver", "Aksel", "Valdemar",
];
const LAST_NAMES: [&str; 16] = [
    "Nielsen",
    "Jensen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Petersen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
    "Poulsen",
];
/// (name, category, price in øre)
const MENU: [(&str, &str, i64); 12] = [
    ("Toast", "mad", 1200),
    ("Frugt", "mad", 400),
    ("Pasta", "mad", 1500),
    ("Bolle", "mad", 600),
    ("Saftevand", "drikke", 500),
    ("Kakao", "drikke", 800),
    ("Vand", "drikke", 300),
    ("Perler", "aktivitet", 1000),
    ("Slik", "slik", 700),
    ("Is", "slik", 1000),
    ("Popcorn", "slik", 500),
    ("Kage", "mad", 900),
];

fn club_name(c: usize) -> String {
    format!("Klub {:02}", c + 1)
}

fn kroner(ore: i64) -> String {
    let sign = if ore < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", ore.abs() / 100, ore.abs() % 100)
}

/// Migrates the database at `pool` and fills it from `seed`. Prints its
/// progress to stderr (a 10,000,000-entry run takes a while).
pub async fn generate(pool: &PgPool, size: Size, seed: u64) -> Seeded {
    MIGRATOR.run(pool).await.expect("migrate");
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let clubs: Vec<String> = (0..size.children.div_ceil(CHILDREN_PER_CLUB).max(1))
        .map(club_name)
        .collect();
    let actor = Actor::command_line();
    for club in &clubs {
        db::clubs::add(pool, &actor, club).await.expect("club");
    }
    let per_child = (size.entries / size.children.max(1)).max(1);
    let last_day = Utc::now().date_naive();
    let first_day = last_day - Duration::days(364);
    let mut sample = Vec::new();
    let mut written = 0;
    let mut reported = 0;
    for start in (0..size.children).step_by(CHUNK) {
        let end = (start + CHUNK).min(size.children);
        let mut chunk = Chunk::default();
        for i in start..end {
            let child = chunk.child(&mut rng, i, &clubs, per_child, first_day);
            if i % 97 == 0 {
                sample.push(child);
            }
        }
        chunk.copy(pool).await;
        written = end;
        if written * 10 / size.children > reported {
            reported = written * 10 / size.children;
            eprintln!(
                "  generated {written} of {} children ({} entries) in {:.0} s",
                size.children,
                written * per_child,
                started.elapsed().as_secs_f64()
            );
        }
    }
    sqlx::query("UPDATE change_counter SET value = $1")
        .bind(written as i64)
        .execute(pool)
        .await
        .expect("change counter");
    sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
    Seeded {
        clubs,
        sample,
        first_day,
        last_day,
    }
}

/// One entry to write.
struct Row<'a> {
    id: Uuid,
    kind: &'static str,
    amount: i64,
    at: DateTime<Utc>,
    counter: &'a str,
    card: Option<&'a str>,
    refund_of: Option<Uuid>,
    lines: Option<String>,
    flags: &'static [&'static str],
    balance_after: i64,
}

/// What [`generate`] made, read back from a database it filled before.
pub async fn seeded_of(pool: &PgPool) -> Seeded {
    let clubs: Vec<String> = sqlx::query_scalar("SELECT name FROM clubs ORDER BY name")
        .fetch_all(pool)
        .await
        .expect("clubs");
    let sample: Vec<(Uuid, String, String)> = sqlx::query_as(
        "SELECT c.id, c.name, k.uid FROM children c JOIN cards k ON k.child_id = c.id
         WHERE (c.change_seq - 1) % 97 = 0 ORDER BY c.change_seq",
    )
    .fetch_all(pool)
    .await
    .expect("the sample");
    let (first, last): (DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as("SELECT min(at), max(at) FROM entries")
            .fetch_one(pool)
            .await
            .expect("the days");
    Seeded {
        clubs,
        sample,
        first_day: first.date_naive(),
        last_day: last.date_naive(),
    }
}

/// The COPY text of one chunk's rows, a buffer per table.
#[derive(Default)]
struct Chunk {
    children: String,
    cards: String,
    payers: String,
    log: String,
    entries: String,
}

impl Chunk {
    /// One child's rows: the child, its card, a payer, its enrolment in
    /// the log, and its entries.
    fn child(
        &mut self,
        rng: &mut StdRng,
        i: usize,
        clubs: &[String],
        entries: usize,
        first_day: NaiveDate,
    ) -> (Uuid, String, String) {
        let id = Uuid::now_v7();
        let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
        let name = format!("{first} {last} {i}");
        let club = &clubs[i / CHILDREN_PER_CLUB % clubs.len()];
        let uid = format!("04{i:012X}");
        let counters = [format!("{club} café"), format!("{club} værksted")];
        // A deposit that every sale fits in, then the sales over the year.
        let mut balance: i64 = 500_000;
        let start = at(first_day, 8, 0);
        let deposit = Row {
            id: Uuid::now_v7(),
            kind: "deposit",
            amount: balance,
            at: start,
            counter: "office",
            card: None,
            refund_of: None,
            lines: None,
            flags: &[],
            balance_after: balance,
        };
        self.entry(id, club, deposit);
        let mut sale_of: Option<(Uuid, i64)> = None;
        for n in 1..entries {
            let day = first_day + Duration::days((n * 365 / entries) as i64);
            let when = at(day, 13, rng.random_range(0..240));
            let counter = &counters[rng.random_range(0..2)];
            if let Some((sale, amount)) = sale_of.take().filter(|_| rng.random_range(0..200) == 0) {
                balance += amount;
                let refund = Row {
                    id: Uuid::now_v7(),
                    kind: "refund",
                    amount,
                    at: when,
                    counter,
                    card: None,
                    refund_of: Some(sale),
                    lines: None,
                    flags: &[],
                    balance_after: balance,
                };
                self.entry(id, club, refund);
                continue;
            }
            let mut lines = String::from("[");
            let mut total = 0;
            for l in 0..rng.random_range(1..=3) {
                let (item, category, price) = MENU[rng.random_range(0..MENU.len())];
                let quantity = rng.random_range(1..=2);
                total += price * quantity;
                if l > 0 {
                    lines.push(',');
                }
                let _ = write!(
                    lines,
                    r#"{{"name":"{item}","category":"{category}","unit_price":"{}","quantity":{quantity}}}"#,
                    kroner(price)
                );
            }
            lines.push(']');
            balance -= total;
            let sale = Uuid::now_v7();
            let flags: &'static [&'static str] = match rng.random_range(0..1000) {
                0..3 => &["overdraft"],
                3..5 => &["daily_limit_exceeded"],
                5 => &["card_blocked"],
                _ => &[],
            };
            let row = Row {
                id: sale,
                kind: "sale",
                amount: -total,
                at: when,
                counter,
                card: Some(&uid),
                refund_of: None,
                lines: Some(lines),
                flags,
                balance_after: balance,
            };
            self.entry(id, club, row);
            sale_of = Some((sale, total));
        }
        let _ = writeln!(
            self.children,
            "{id}\t{name}\t{club}\t{}\t{}\t{}",
            kroner(balance),
            i + 1,
            start.to_rfc3339()
        );
        let _ = writeln!(self.cards, "{uid}\t{id}\tactive\t{}", start.to_rfc3339());
        let _ = writeln!(
            self.payers,
            "{}\t{id}\tForælder til {first}\t\\N",
            Uuid::now_v7()
        );
        let _ = writeln!(
            self.log,
            "{}\tcommand_line\t\\N\tbench\t{id}\t{club}\tchild.import\t{{\"name\":\"{name}\"}}",
            start.to_rfc3339()
        );
        (id, name, uid)
    }

    fn entry(&mut self, child: Uuid, club: &str, row: Row<'_>) {
        let or_null = |v: Option<String>| v.unwrap_or_else(|| "\\N".to_string());
        let _ = writeln!(
            self.entries,
            "{}\t{child}\t{}\t{}\t{}\t{}\t{club}\t{}\t{}\t{}\t{{{}}}\t{}",
            row.id,
            row.kind,
            kroner(row.amount),
            row.at.to_rfc3339(),
            row.counter,
            or_null(row.card.map(str::to_string)),
            or_null(row.refund_of.map(|r| r.to_string())),
            or_null(row.lines),
            row.flags.join(","),
            kroner(row.balance_after),
        );
    }

    async fn copy(self, pool: &PgPool) {
        let mut conn = pool.acquire().await.expect("connection");
        // The children first: everything else points at them.
        for (table, rows) in [
            (
                "children (id, name, club, balance, change_seq, created_at)",
                &self.children,
            ),
            ("cards (uid, child_id, state, handed_out_at)", &self.cards),
            ("payers (id, child_id, name, email)", &self.payers),
            (
                "office_log (at, actor_kind, actor_id, actor_name, child_id, club, action, after)",
                &self.log,
            ),
            (
                "entries (id, child_id, kind, amount, at, counter, club, card_uid, refund_of, \
                 lines, flags, balance_after)",
                &self.entries,
            ),
        ] {
            let mut copy = conn
                .copy_in_raw(&format!("COPY {table} FROM STDIN"))
                .await
                .expect("copy");
            copy.send(rows.as_bytes()).await.expect("copy rows");
            copy.finish().await.expect("copy finished");
        }
    }
}

/// That day at `hour` plus `minutes`, in Copenhagen's winter time (UTC+1):
/// close enough for a generator.
fn at(day: NaiveDate, hour: u32, minutes: i64) -> DateTime<Utc> {
    let local = day.and_hms_opt(hour, 0, 0).expect("a time") + Duration::minutes(minutes);
    Utc.from_utc_datetime(&(local - Duration::hours(1)))
}
