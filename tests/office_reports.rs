//! The office's reports in a real browser (chromium, the real OpenID
//! provider, PostgreSQL), from what two counters with their own stores
//! sold and pushed: the month per item is what the counters' own day
//! report says they sold, and each table downloads as Danish Excel reads
//! it.

use chrono::Utc;
use klubkasse::store::{Recorded, local_day};
use klubkasse_core::domain::{CardUid, ChildId, Connection, DayReport, Entry, Money, SaleLine};
use klubkasse_core::people_csv::{danish_number, read_as_danish_excel};
use klubkasse_ledger::api::ItemRow;
use klubkasse_ledger::db;
use klubkasse_testkit::counter::{Counter, line};
use klubkasse_testkit::portal::{Browser, PortalServer};

fn sold(counter: &Counter, card: &str, lines: Vec<SaleLine>) -> Entry {
    let (sale, recorded) = counter.sell_lines(card, lines, Connection::Online);
    assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    sale
}

/// A child of `club` with `card` and 200 kr., and a counter of the club
/// that knows them.
async fn club_with_counter(
    portal: &PortalServer,
    child: &str,
    club: &str,
    card: &str,
    counter: &str,
) -> (ChildId, Counter) {
    let pool = &portal.ledger.pool;
    let office = db::Actor::command_line();
    // The portal's test server has both clubs; another is made here.
    let _ = db::clubs::add(pool, &office, club).await;
    let id = db::enrol(pool, &office, &db::Scope::All, child, club)
        .await
        .unwrap()
        .child
        .id;
    db::hand_out(pool, &office, id, &CardUid::parse(card).unwrap())
        .await
        .unwrap();
    portal.deposit(id, 200).await;
    let counter = Counter::new(&portal.ledger, &portal.url, counter).await;
    counter.sync().await.unwrap();
    (id, counter)
}

/// The ledger's items as the counter's day report names them: the name,
/// with the price after it when the name sold at more than one.
fn as_the_counter_names_them(items: &[ItemRow]) -> Vec<(String, i64, Money)> {
    let mut rows: Vec<(String, i64, Money)> = items
        .iter()
        .map(|item| {
            let name = item.name.clone().expect("every refund here is whole");
            let prices = items.iter().filter(|i| i.name == item.name).count();
            let price = item.unit_price.expect("a price");
            let label = if prices > 1 {
                format!("{name} ({price})")
            } else {
                name
            };
            (label, item.count, item.amount)
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_reads_the_month_per_item_as_the_counters_sold_it() {
    let portal = PortalServer::start().await;
    let (_, solsikken) = club_with_counter(
        &portal,
        "Åse Ørsted",
        "Solsikken",
        "04A1B2C3",
        "solsikken-1",
    )
    .await;
    let (_, kastanjen) =
        club_with_counter(&portal, "Bo Jensen", "Kastanjen", "04B2C3D4", "kastanjen-1").await;

    // Toast at 12 kr., then at 10 kr. (staff changed the price), juice
    // given back, and cocoa at the other club.
    sold(&solsikken, "04A1B2C3", vec![line("Toast", 1200, 2)]);
    sold(
        &solsikken,
        "04A1B2C3",
        vec![line("Toast", 1000, 1), line("=Saft", 550, 1)],
    );
    let juice = sold(&solsikken, "04A1B2C3", vec![line("=Saft", 550, 2)]);
    solsikken
        .store
        .refund(juice.id, &solsikken.name, Utc::now(), true)
        .unwrap();
    sold(&kastanjen, "04B2C3D4", vec![line("Kakao", 800, 4)]);
    solsikken.sync().await.unwrap();
    kastanjen.sync().await.unwrap();

    // What the counters sold, in the counter's own day report, against
    // the ledger's month (everything here happened today).
    let today = local_day(Utc::now());
    let mut entries = solsikken.store.all_entries().unwrap();
    entries.extend(kastanjen.store.all_entries().unwrap());
    let at_the_counters = DayReport::build(
        entries.iter().filter(|e| local_day(e.at) == today),
        |_| None,
        |_| String::new(),
    );
    let mut counters: Vec<(String, i64, Money)> = at_the_counters
        .items
        .iter()
        .map(|i| (i.name.clone(), i.net_quantity(), i.net_amount()))
        .collect();
    counters.sort();
    let ledger_today = portal.ledger.today().await;
    let (first, last) = db::reports::month_of(ledger_today);
    let settings = klubkasse_ledger::Settings::default();
    let month = db::report(&portal.ledger.pool, &settings, first, last, None)
        .await
        .unwrap();
    assert_eq!(as_the_counter_names_them(&month.items), counters);
    assert_eq!(
        month.items.iter().map(|i| i.amount).sum::<Money>(),
        at_the_counters.net()
    );

    // The office's page shows the same, per item, with its chart, to
    // the municipality's office, which sees both clubs.
    portal.municipality("kommunen").await;
    let browser = Browser::start().await;
    browser.log_in(&portal, "kommunen").await;
    browser.click_text("Rapporter").await;
    browser.wait_for_text("Pr. vare").await;
    browser.wait_for_text("Salg pr. dag").await;
    let shown = browser.table_rows("table[data-items]").await;
    let expected: Vec<Vec<String>> = month
        .items
        .iter()
        .map(|i| {
            vec![
                i.name.clone().unwrap(),
                i.unit_price.unwrap().to_string(),
                i.count.to_string(),
                i.amount.to_string(),
            ]
        })
        .collect();
    assert_eq!(shown, expected);
    assert_eq!(
        shown[0],
        ["Kakao", "8,00 kr.", "4", "32,00 kr."],
        "most money first"
    );
    assert!(shown.contains(&vec![
        "=Saft".to_string(),
        "5,50 kr.".into(),
        "1".into(),
        "5,50 kr.".into()
    ]));
    browser.screenshot("office-reports").await;
    browser
        .client
        .execute(
            "document.querySelector('table[data-items]').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    browser.screenshot("office-reports-items").await;

    // One club, one day: the other club's cocoa is not in it.
    browser
        .client
        .execute(
            "document.getElementById('club').value = 'Solsikken';
             document.getElementById('period').value = 'day';",
            vec![],
        )
        .await
        .unwrap();
    browser.click_text("Vis").await;
    browser
        .wait_for_text(&format!("{} · Solsikken", ledger_today.format("%d.%m.%Y")))
        .await;
    let url = browser.url().await;
    assert!(
        url.contains("period=day") && url.contains("club=Solsikken"),
        "{url}"
    );
    let shown = browser.table_rows("table[data-items]").await;
    let names: Vec<&str> = shown.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["Toast", "Toast", "=Saft"]);
    let totals = browser.table_rows("table[data-totals]").await;
    assert!(totals.iter().all(|r| r[0] == "Solsikken"), "{totals:?}");
    assert!(totals.contains(&vec![
        "Solsikken".to_string(),
        "solsikken-1".into(),
        "Refusion".into(),
        "1".into(),
        "11,00 kr.".into()
    ]));

    // Its CSV, as Danish Excel opens it: BOM, `;`, decimal comma, the
    // juice's `=` made text, and a file name to keep.
    let download = browser
        .download(&format!(
            "/portal/office/reports?period=day&date={ledger_today}&club=Solsikken&csv=items"
        ))
        .await;
    assert_eq!(download.content_type, "text/csv; charset=utf-8");
    assert_eq!(
        download.disposition,
        format!(
            "attachment; filename=\"klubkasse-varer-{}-solsikken.csv\"",
            ledger_today.format("%Y-%m-%d")
        )
    );
    let text = String::from_utf8(download.bytes).expect("UTF-8");
    let rows = read_as_danish_excel(&text).expect("a BOM and `;`");
    assert_eq!(rows[0], ["Periode", "Vare", "Stykpris", "Antal", "Beløb"]);
    let day = ledger_today.format("%Y-%m-%d").to_string();
    assert_eq!(rows[1], [day.as_str(), "Toast", "12,00", "2", "24,00"]);
    assert_eq!(rows[3], [day.as_str(), "'=Saft", "5,50", "1", "5,50"]);
    let sum: Money = rows[1..]
        .iter()
        .map(|r| danish_number(&r[4]).expect("a number to Excel"))
        .sum();
    assert_eq!(sum, Money::from_ore(3950));
    let totals = browser
        .download("/portal/office/reports?period=day&club=Solsikken&csv=totals")
        .await;
    let rows = read_as_danish_excel(&String::from_utf8(totals.bytes).unwrap()).unwrap();
    assert_eq!(
        rows[0],
        ["Periode", "Klub", "Kasse", "Type", "Antal", "Beløb"]
    );
    assert!(rows.contains(&vec![
        day.clone(),
        "Solsikken".into(),
        "solsikken-1".into(),
        "Salg".into(),
        "3".into(),
        "-50,50".into()
    ]));

    // The same page in English (the language is chosen on any page).
    browser.click_text("English").await;
    browser.wait_for_text("Withdrawals waiting").await;
    browser
        .goto(&format!("{}/portal/office/reports", portal.url))
        .await;
    browser.wait_for_text("Per item").await;
    browser.wait_for_text("Per club, counter and kind").await;

    // Office staff of Solsikken see their club's sales only: Kastanjen's
    // cocoa is in no table of theirs, asked for by name or not.
    portal.office("kontoret").await;
    let staff = Browser::start().await;
    staff.log_in(&portal, "kontoret").await;
    for asked in ["", "&club=Kastanjen"] {
        let items = staff
            .download(&format!(
                "/portal/office/reports?period=month{asked}&csv=items"
            ))
            .await;
        let text = String::from_utf8(items.bytes).unwrap();
        assert!(!text.contains("Kakao"), "{asked}: {text}");
    }
    staff
        .goto(&format!(
            "{}/portal/office/reports?club=Kastanjen",
            portal.url
        ))
        .await;
    staff.wait_for_text("Pr. vare").await;
    assert!(!staff.text().await.contains("Kakao"));
}
