//! The office's reports: per item and price (an item at two prices is two
//! rows, refunds negative, a refund of part of a sale a row without an
//! item), per club, counter and kind, per day; days and months in the
//! ledger's time zone, not UTC's; the API's per-item view and its CSV for
//! Danish Excel; the lines of entries recorded before the reports existed.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::{Method, StatusCode, header};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use klubkasse_core::domain::{CardUid, ChildId, Entry, EntryKind, Money, SaleLine};
use klubkasse_core::people_csv::{danish_number, read_as_danish_excel};
use klubkasse_ledger::Settings;
use klubkasse_ledger::api::{ItemRow, Report};
use klubkasse_ledger::db::{self, reports};
use klubkasse_testkit::ledger::*;

fn at(utc: &str) -> DateTime<Utc> {
    utc.parse().expect("a time")
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a day")
}

fn line(name: &str, ore: i64, quantity: u32) -> SaleLine {
    SaleLine {
        name: name.into(),
        category: "mad".into(),
        unit_price: Money::from_ore(ore),
        quantity,
    }
}

fn sale(child: ChildId, card: &str, counter: &str, lines: Vec<SaleLine>, when: &str) -> Entry {
    let uid = CardUid::parse(card).expect("uid");
    Entry::sale(child, uid, lines, counter, at(when))
}

fn refund_of(sale: &Entry, amount: Money, when: &str) -> Entry {
    let kind = EntryKind::Refund { sale: sale.id };
    Entry::new(sale.child, kind, amount, &sale.counter, at(when))
}

/// A child of `club` with a card and money on it.
async fn child_in(l: &Ledger, name: &str, club: &str, card: &str) -> ChildId {
    // The club may be there from an earlier child: that is no mistake here.
    let _ = db::clubs::add(&l.pool, &db::Actor::command_line(), club).await;
    let child = l.enrol_in(name, club).await;
    l.hand_out(child, card).await;
    assert_eq!(l.deposit(child, "500").await.status, StatusCode::CREATED);
    child
}

async fn push(l: &Ledger, counter: &str, entries: &[Entry]) {
    super::common::push_as(l, counter, entries).await;
}

fn item(name: &str, kroner: i64, count: i64, amount: i64) -> ItemRow {
    ItemRow {
        name: Some(name.into()),
        unit_price: Some(Money::kroner(kroner)),
        count,
        amount: Money::kroner(amount),
    }
}

async fn items(l: &Ledger, from: &str, to: &str, clubs: Option<&[&str]>) -> Vec<ItemRow> {
    let clubs: Option<BTreeSet<String>> = clubs.map(|c| c.iter().map(|s| s.to_string()).collect());
    reports::items(
        &l.pool,
        &Settings::default(),
        day(from),
        day(to),
        clubs.as_ref(),
    )
    .await
    .expect("items")
}

/// Sales less refunds from the totals per club, counter and kind.
async fn sold(l: &Ledger, from: &str, to: &str, clubs: Option<&BTreeSet<String>>) -> Money {
    let rows = reports::totals(&l.pool, &Settings::default(), day(from), day(to), clubs)
        .await
        .expect("totals");
    rows.iter()
        .filter(|r| r.kind == "sale" || r.kind == "refund")
        .map(|r| -r.total)
        .sum()
}

/// Two clubs, two counters, a month's edges in Copenhagen: 1 March 00:15
/// is still 28 February in UTC, 1 April 00:30 still 31 March (summer
/// time since 30 March).
async fn a_month_of_sales(l: &Ledger) -> (Entry, Entry) {
    let a = child_in(l, "Freja", "Kastanjen", "04000001").await;
    let b = child_in(l, "Bo", "Solsikken", "04000002").await;
    let first = sale(
        a,
        "04000001",
        "k1",
        vec![line("Toast", 1200, 2), line("Saft", 500, 1)],
        "2025-02-28T23:15:00Z",
    );
    let cheap = sale(
        a,
        "04000001",
        "k2",
        vec![line("Toast", 1000, 1)],
        "2025-03-14T11:00:00Z",
    );
    let last = sale(
        b,
        "04000002",
        "k1",
        vec![line("Toast", 1200, 1), line("Kakao", 800, 1)],
        "2025-03-31T21:30:00Z",
    );
    let april = sale(
        b,
        "04000002",
        "k1",
        vec![line("Saft", 500, 2)],
        "2025-03-31T22:30:00Z",
    );
    // The cheap toast given back the same day; 8 kr. of the last sale in
    // April, without saying of which item.
    let back = refund_of(&cheap, Money::kroner(10), "2025-03-14T11:05:00Z");
    let part = refund_of(&last, Money::kroner(8), "2025-04-02T09:00:00Z");
    push(l, "k1", &[first.clone(), last.clone(), april, part]).await;
    push(l, "k2", &[cheap.clone(), back]).await;
    (first, last)
}

#[tokio::test]
async fn items_per_price_refunds_negative_in_the_ledgers_days() {
    let l = ledger().await;
    a_month_of_sales(&l).await;

    // March: the toast at 10 kr. sold and given back is a row of its own.
    let march = items(&l, "2025-03-01", "2025-03-31", None).await;
    assert_eq!(
        march,
        [
            item("Toast", 12, 3, 36),
            item("Kakao", 8, 1, 8),
            item("Saft", 5, 1, 5),
            item("Toast", 10, 0, 0),
        ]
    );
    assert_eq!(
        sold(&l, "2025-03-01", "2025-03-31", None).await,
        Money::kroner(49)
    );
    // February has nothing: its last UTC hour is March in Copenhagen.
    assert!(items(&l, "2025-02-01", "2025-02-28", None).await.is_empty());
    // April: two juices, and the part refund as a row without an item.
    let april = items(&l, "2025-04-01", "2025-04-30", None).await;
    assert_eq!(april[0], item("Saft", 5, 2, 10));
    assert_eq!(
        april[1],
        ItemRow {
            name: None,
            unit_price: None,
            count: -1,
            amount: Money::kroner(-8),
        }
    );
    assert_eq!(april.len(), 2);
    assert_eq!(
        sold(&l, "2025-04-01", "2025-04-30", None).await,
        Money::kroner(2)
    );

    // Days: local midnight is the edge.
    assert!(items(&l, "2025-02-28", "2025-02-28", None).await.is_empty());
    assert_eq!(
        items(&l, "2025-03-01", "2025-03-01", None).await,
        [item("Toast", 12, 2, 24), item("Saft", 5, 1, 5)]
    );
    assert_eq!(
        items(&l, "2025-03-31", "2025-03-31", None).await,
        [item("Toast", 12, 1, 12), item("Kakao", 8, 1, 8)]
    );
    assert_eq!(
        items(&l, "2025-04-01", "2025-04-01", None).await,
        [item("Saft", 5, 2, 10)]
    );

    // Per club, and a set of clubs.
    assert_eq!(
        items(&l, "2025-03-01", "2025-03-31", Some(&["Kastanjen"])).await,
        [
            item("Toast", 12, 2, 24),
            item("Saft", 5, 1, 5),
            item("Toast", 10, 0, 0)
        ]
    );
    assert_eq!(
        items(
            &l,
            "2025-03-01",
            "2025-03-31",
            Some(&["Solsikken", "Kastanjen"])
        )
        .await,
        march
    );
    assert!(
        items(&l, "2025-03-01", "2025-03-31", Some(&[]))
            .await
            .is_empty()
    );
    assert!(
        items(&l, "2025-03-01", "2025-03-31", Some(&["Egen"]))
            .await
            .is_empty()
    );

    // The sales per day of the month, net of refunds.
    let per_day = reports::sales_per_day(
        &l.pool,
        &Settings::default(),
        day("2025-03-01"),
        day("2025-03-31"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        per_day,
        BTreeMap::from([
            (day("2025-03-01"), Money::kroner(29)),
            (day("2025-03-14"), Money::ZERO),
            (day("2025-03-31"), Money::kroner(20)),
        ])
    );
}

#[tokio::test]
async fn totals_per_club_counter_and_kind() {
    let l = ledger().await;
    a_month_of_sales(&l).await;
    let report = db::report(
        &l.pool,
        &Settings::default(),
        day("2025-03-01"),
        day("2025-03-31"),
        None,
    )
    .await
    .unwrap();
    let rows: Vec<(&str, &str, &str, i64, Money)> = report
        .rows
        .iter()
        .map(|r| (&*r.club, &*r.counter, &*r.kind, r.count, r.total))
        .collect();
    assert_eq!(
        rows,
        [
            ("Kastanjen", "k1", "sale", 1, Money::kroner(-29)),
            ("Kastanjen", "k2", "refund", 1, Money::kroner(10)),
            ("Kastanjen", "k2", "sale", 1, Money::kroner(-10)),
            ("Solsikken", "k1", "sale", 1, Money::kroner(-20)),
        ]
    );
    assert_eq!(report.club, None);
    let one = BTreeSet::from(["Solsikken".to_string()]);
    let report = db::report(
        &l.pool,
        &Settings::default(),
        day("2025-03-01"),
        day("2025-03-31"),
        Some(&one),
    )
    .await
    .unwrap();
    assert_eq!(report.club.as_deref(), Some("Solsikken"));
    assert_eq!(report.rows.len(), 1);
    assert_eq!(
        report.items,
        [item("Toast", 12, 1, 12), item("Kakao", 8, 1, 8)]
    );
}

/// The API's month and day reports carry the items; as CSV, each table
/// opens in Danish Excel with a file name to keep.
#[tokio::test]
async fn the_api_reports_items_and_gives_them_as_danish_excel_csv() {
    let l = ledger().await;
    a_month_of_sales(&l).await;
    let month = l
        .admin(Method::GET, "/api/v1/reports/month?month=2025-03", None)
        .await;
    assert_eq!(month.status, StatusCode::OK, "{}", month.text);
    assert_eq!(
        month.body["items"][0],
        serde_json::json!({"name": "Toast", "unit_price": "12.00", "count": 3, "amount": "36.00"})
    );
    let report: Report = serde_json::from_value(month.body).unwrap();
    assert_eq!(report.items.len(), 4);
    let day = l
        .admin(
            Method::GET,
            "/api/v1/reports/day?date=2025-04-02&club=Solsikken",
            None,
        )
        .await;
    assert_eq!(day.body["club"], "Solsikken");
    assert_eq!(
        day.body["items"],
        serde_json::json!([{"name": null, "unit_price": null, "count": -1, "amount": "-8.00"}])
    );

    let csv = l
        .admin(
            Method::GET,
            "/api/v1/reports/month?month=2025-03&format=csv&table=items&club=Kastanjen",
            None,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        csv.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"klubkasse-varer-2025-03-kastanjen.csv\""
    );
    let rows = read_as_danish_excel(&csv.text).expect("Danish Excel reads it");
    assert_eq!(rows[0], ["Periode", "Vare", "Stykpris", "Antal", "Beløb"]);
    assert_eq!(rows[1], ["2025-03", "Toast", "12,00", "2", "24,00"]);
    let sum: Money = rows[1..]
        .iter()
        .map(|r| danish_number(&r[4]).unwrap())
        .sum();
    assert_eq!(sum, Money::kroner(29));

    let totals = l
        .admin(
            Method::GET,
            "/api/v1/reports/day?date=2025-03-14&format=csv",
            None,
        )
        .await;
    assert_eq!(
        totals.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"klubkasse-oversigt-2025-03-14.csv\""
    );
    let rows = read_as_danish_excel(&totals.text).unwrap();
    assert_eq!(
        rows,
        [
            ["Periode", "Klub", "Kasse", "Type", "Antal", "Beløb"],
            ["2025-03-14", "Kastanjen", "k2", "Refusion", "1", "10,00"],
            ["2025-03-14", "Kastanjen", "k2", "Salg", "1", "-10,00"],
        ]
    );
    // A table the API has not: refused, as every query it cannot read.
    let answer = l
        .admin(
            Method::GET,
            "/api/v1/reports/month?month=2025-03&format=csv&table=children",
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    // The OpenAPI description has the items, and the CSV's table.
    let api = l.admin(Method::GET, "/openapi.json", None).await.body;
    let item = &api["components"]["schemas"]["ItemRow"]["properties"];
    for field in ["name", "unit_price", "count", "amount"] {
        assert!(item[field].is_object(), "ItemRow.{field}: {item}");
    }
    assert!(api["components"]["schemas"]["Report"]["properties"]["items"].is_object());
    for path in ["/api/v1/reports/day", "/api/v1/reports/month"] {
        let params = api["paths"][path]["get"]["parameters"].as_array().unwrap();
        assert!(params.iter().any(|p| p["name"] == "table"), "{path}");
    }
    // A year before PostgreSQL's timestamps begin is no error.
    let far = l
        .admin(Method::GET, "/api/v1/reports/day?date=-5000-01-01", None)
        .await;
    assert_eq!(far.status, StatusCode::OK, "{}", far.text);
    assert_eq!(far.body["rows"], serde_json::json!([]));
}

/// Entries recorded before the reports existed get their lines from the
/// migration, which calls the same function the insert trigger does.
#[tokio::test]
async fn the_lines_of_earlier_entries_are_filled_in() {
    let l = ledger().await;
    let (first, _) = a_month_of_sales(&l).await;
    let before = items(&l, "2025-03-01", "2025-04-30", None).await;
    // The hourly sums the reports read are what the entries say.
    let (by_entries, by_sums): (String, String) = sqlx::query_as(
        "SELECT (SELECT string_agg(concat_ws(' ', club, counter, kind, n, t), ',' ORDER BY 1)
                 FROM (SELECT club, counter, kind, count(*) AS n, sum(amount) AS t
                       FROM entries GROUP BY 1, 2, 3) e),
                (SELECT string_agg(concat_ws(' ', club, counter, kind, n, t), ',' ORDER BY 1)
                 FROM (SELECT club, counter, kind, sum(count) AS n, sum(total) AS t
                       FROM report_hours GROUP BY 1, 2, 3) r)",
    )
    .fetch_one(&l.pool)
    .await
    .unwrap();
    assert_eq!(by_sums, by_entries);
    sqlx::query("DELETE FROM entry_lines")
        .execute(&l.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM report_hour_items")
        .execute(&l.pool)
        .await
        .unwrap();
    assert!(items(&l, "2025-03-01", "2025-04-30", None).await.is_empty());
    // The lines again fill the items' sums through their trigger; the
    // migration's function makes both sums again from scratch.
    sqlx::query(
        "SELECT fill_entry_lines(ARRAY(SELECT id FROM entries WHERE kind IN ('sale', 'refund')))",
    )
    .execute(&l.pool)
    .await
    .unwrap();
    assert_eq!(items(&l, "2025-03-01", "2025-04-30", None).await, before);
    sqlx::query("SELECT fill_report_hours()")
        .execute(&l.pool)
        .await
        .unwrap();
    assert_eq!(items(&l, "2025-03-01", "2025-04-30", None).await, before);
    // A repeated push adds no lines.
    let lines = || async {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM entry_lines")
            .fetch_one(&l.pool)
            .await
            .unwrap();
        count
    };
    let before = lines().await;
    push(&l, "k1", &[first]).await;
    assert_eq!(lines().await, before);
}

/// What sold, by item name and price (a refund of part of a sale: no
/// name, price zero): count and amount.
type Sold = BTreeMap<(String, Money), (i64, Money)>;

fn add(sold: &mut Sold, name: &str, price: Money, count: i64, amount: Money) {
    let row = sold.entry((name.to_string(), price)).or_default();
    *row = (row.0 + count, row.1 + amount);
}

fn ledger_rows(items: Vec<ItemRow>) -> Sold {
    let mut sold = Sold::new();
    for item in items {
        let name = item.name.unwrap_or_default();
        let price = item.unit_price.unwrap_or(Money::ZERO);
        add(&mut sold, &name, price, item.count, item.amount);
    }
    sold
}

/// Random sales and refunds over the end of January, pushed in random
/// batches by two counters: every day's and the month's items are what
/// the entries sold, by name and price, refunds negative; and they sum
/// to the totals' sales less refunds. (January and February are winter
/// time in Copenhagen: the local day is the UTC time plus an hour.)
#[test]
fn random_sales_report_as_they_were_sold() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let l = runtime.block_on(ledger());
    let names = ["Toast", "Saft", "Kakao"];
    // Lines (item, kroner, quantity), the minute after the start, and
    // 0: kept; 1: given back whole an hour later; 2: a krone of it given
    // back (the whole of a sale of 1 kr.).
    let a_sale = (
        prop::collection::vec((0..3usize, 1..4i64, 1..4u32), 1..4),
        0..3 * 24 * 60i64,
        0..3u8,
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    // Each case a club of its own in the one database.
    let case = std::sync::atomic::AtomicU32::new(0);
    let local_day = |t: DateTime<Utc>| (t + TimeDelta::hours(1)).date_naive();
    let start = at("2025-01-30T22:00:00Z");
    runner
        .run(
            &(prop::collection::vec(a_sale, 1..12), 1..5usize),
            |(sales, batch_size)| {
                let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let club = format!("Klub {case}");
                let card = format!("06{case:06X}");
                let mut entries = Vec::new();
                let mut expected: BTreeMap<NaiveDate, Sold> = BTreeMap::new();
                let child = runtime.block_on(child_in(&l, "Freja", &club, &card));
                for (lines, minute, refund) in &sales {
                    let when = start + TimeDelta::minutes(*minute);
                    let lines: Vec<SaleLine> = lines
                        .iter()
                        .map(|(n, kr, q)| line(names[*n], kr * 100, *q))
                        .collect();
                    let counter = if minute % 2 == 0 { "k1" } else { "k2" };
                    let uid = CardUid::parse(&card).unwrap();
                    let sold = Entry::sale(child, uid, lines.clone(), counter, when);
                    let day = expected.entry(local_day(when)).or_default();
                    for l in &lines {
                        add(day, &l.name, l.unit_price, l.quantity.into(), l.total());
                    }
                    entries.push(sold.clone());
                    if *refund == 0 {
                        continue;
                    }
                    let later = when + TimeDelta::hours(1);
                    let amount = match refund {
                        1 => -sold.amount,
                        _ => Money::kroner(1),
                    };
                    let kind = EntryKind::Refund { sale: sold.id };
                    entries.push(Entry::new(child, kind, amount, counter, later));
                    let day = expected.entry(local_day(later)).or_default();
                    if amount == -sold.amount {
                        for l in &lines {
                            let count = -i64::from(l.quantity);
                            add(day, &l.name, l.unit_price, count, -l.total());
                        }
                    } else {
                        add(day, "", Money::ZERO, -1, -amount);
                    }
                }
                runtime.block_on(async {
                    // A refund after its sale: in the same batch or a later one.
                    for chunk in entries.chunks(batch_size) {
                        for counter in ["k1", "k2"] {
                            let mine: Vec<Entry> = chunk
                                .iter()
                                .filter(|e| e.counter == counter)
                                .cloned()
                                .collect();
                            if !mine.is_empty() {
                                push(&l, counter, &mine).await;
                            }
                        }
                    }
                    let clubs = BTreeSet::from([club.clone()]);
                    let settings = Settings::default();
                    for d in day("2025-01-30").iter_days().take(5) {
                        let got = reports::items(&l.pool, &settings, d, d, Some(&clubs))
                            .await
                            .unwrap();
                        let sum: Money = got.iter().map(|i| i.amount).sum();
                        let want = expected.get(&d).cloned().unwrap_or_default();
                        assert_eq!(ledger_rows(got), want, "{d}");
                        let text = d.format("%Y-%m-%d").to_string();
                        assert_eq!(sum, sold(&l, &text, &text, Some(&clubs)).await, "{d}");
                    }
                    // January, whose last local hour is 31 January in UTC.
                    let (from, to) = (day("2025-01-01"), day("2025-01-31"));
                    let january = reports::items(&l.pool, &settings, from, to, Some(&clubs))
                        .await
                        .unwrap();
                    let mut want = Sold::new();
                    for ((name, price), (count, amount)) in
                        expected.range(from..=to).flat_map(|(_, sold)| sold.iter())
                    {
                        add(&mut want, name, *price, *count, *amount);
                    }
                    assert_eq!(ledger_rows(january), want);
                });
                Ok(())
            },
        )
        .expect("the reports are what was sold");
}

/// Reports add up whole UTC hours: a clubs' time zone half an hour or
/// three quarters off UTC would cut days in the wrong place, so neither
/// `serve` nor `import-children` takes one.
#[tokio::test]
async fn a_time_zone_must_be_whole_hours_off_utc() {
    let l = ledger().await;
    for zone in [
        "Europe/Copenhagen",
        "UTC",
        "America/New_York",
        "Atlantic/Reykjavik",
    ] {
        db::check_time_zone(&l.pool, zone)
            .await
            .unwrap_or_else(|e| panic!("{zone}: {e}"));
    }
    for zone in [
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "Australia/Adelaide",
        "America/St_Johns",
    ] {
        let refused = db::check_time_zone(&l.pool, zone).await;
        assert!(
            matches!(refused, Err(db::TimeZoneError::NotWholeHours)),
            "{zone}: {refused:?}"
        );
    }
    let unknown = db::check_time_zone(&l.pool, "Europe/Atlantis").await;
    assert!(matches!(unknown, Err(db::TimeZoneError::Unknown(_))));
}
