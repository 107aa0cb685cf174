//! The small, pure steps on a sale's path, with criterion, each next to a
//! bare baseline doing the least the same job needs:
//!
//! | step | baseline |
//! | --- | --- |
//! | `authorize` a basket of three lines | summing the lines' totals |
//! | `parse_uid_answer` of a 7-byte UID + `90 00` | hex-encoding the 7 bytes |
//! | Danish amount text (`1.234,50 kr.`) | `Decimal`'s own `to_string` |
//! | `DayReport::build` over a busy day (2,740 sales) | summing their amounts |
//!
//!     cargo bench --bench domain
//!
//! After criterion's own report, a table gives each median next to its
//! baseline's and the ratio.

use std::hint::black_box;

use chrono::Utc;
use criterion::Criterion;
use klubkasse::reader::apdu::parse_uid_answer;
use klubkasse_core::domain::{
    AccountView, Card, CardState, CardUid, Child, ChildId, Connection, DayReport, Entry, Money,
    SaleLine, authorize,
};
use uuid::Uuid;

/// (criterion group, baseline, subject)
const PAIRS: [(&str, &str, &str); 4] = [
    ("authorize", "sum_of_lines", "authorize"),
    ("card_answer", "hex_encode", "parse_uid_answer"),
    ("amount_text", "decimal_to_string", "danish_money"),
    ("day_report", "sum_of_amounts", "build"),
];

fn lines() -> Vec<SaleLine> {
    [
        ("Toast", "mad", 1200, 1),
        ("Saftevand", "drikke", 500, 2),
        ("Perler", "aktivitet", 1000, 1),
    ]
    .into_iter()
    .map(|(name, category, ore, quantity)| SaleLine {
        name: name.into(),
        category: category.into(),
        unit_price: Money::from_ore(ore),
        quantity,
    })
    .collect()
}

fn view() -> AccountView {
    let child = Child {
        id: ChildId(Uuid::from_u128(1)),
        name: "Freja Nielsen".into(),
        daily_limit: Some(Money::kroner(60)),
        blocked_categories: vec!["slik".into()],
        note: None,
    };
    AccountView {
        card: Some(Card {
            uid: CardUid::parse("04A1B2C3").expect("uid"),
            child: child.id,
            state: CardState::Active,
        }),
        child,
        balance: Money::kroner(250),
        spent_today: Money::kroner(12),
        unconfirmed: Money::ZERO,
    }
}

fn benches(c: &mut Criterion) {
    let lines = lines();
    let view = view();
    let mut group = c.benchmark_group("authorize");
    group.bench_function("sum_of_lines", |b| {
        b.iter(|| black_box(&lines).iter().map(SaleLine::total).sum::<Money>())
    });
    group.bench_function("authorize", |b| {
        b.iter(|| authorize(black_box(&view), black_box(&lines), Connection::Standalone))
    });
    group.finish();

    let answer = [0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x90, 0x00];
    let mut group = c.benchmark_group("card_answer");
    group.bench_function("hex_encode", |b| {
        b.iter(|| {
            black_box(&answer[..7])
                .iter()
                .map(|byte| format!("{byte:02X}"))
                .collect::<String>()
        })
    });
    group.bench_function("parse_uid_answer", |b| {
        b.iter(|| parse_uid_answer(black_box(&answer)))
    });
    group.finish();

    let amount = Money::from_ore(123_450);
    let mut group = c.benchmark_group("amount_text");
    group.bench_function("decimal_to_string", |b| {
        b.iter(|| black_box(amount).decimal().to_string())
    });
    group.bench_function("danish_money", |b| b.iter(|| black_box(amount).to_string()));
    group.finish();

    let children: Vec<ChildId> = (0..1_000).map(|i| ChildId(Uuid::from_u128(i))).collect();
    let day: Vec<Entry> = (0..2_740)
        .map(|i| {
            let line = &lines[i % lines.len()];
            Entry::sale(
                children[i % children.len()],
                CardUid::parse("04A1B2C3").expect("uid"),
                vec![line.clone()],
                "cafe",
                Utc::now(),
            )
        })
        .collect();
    let mut group = c.benchmark_group("day_report");
    group.bench_function("sum_of_amounts", |b| {
        b.iter(|| black_box(&day).iter().map(|e| e.amount).sum::<Money>())
    });
    group.bench_function("build", |b| {
        b.iter(|| DayReport::build(black_box(&day), |_| None, |id| id.to_string()))
    });
    group.finish();
}

/// Criterion's median estimate of one function, in nanoseconds.
fn median_ns(group: &str, function: &str) -> Option<f64> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = format!("{target}/criterion/{group}/{function}/new/estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn duration(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.1} ns")
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    println!();
    println!("| step | median | baseline | baseline median | × baseline |");
    println!("| --- | --- | --- | --- | --- |");
    for (group, baseline, subject) in PAIRS {
        // Absent when criterion was asked for only some benchmarks.
        let (Some(base), Some(value)) = (median_ns(group, baseline), median_ns(group, subject))
        else {
            continue;
        };
        println!(
            "| {group}: {subject} | {} | {baseline} | {} | {:.2}× |",
            duration(value),
            duration(base),
            value / base
        );
    }
}
