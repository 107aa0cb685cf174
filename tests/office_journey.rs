//! The office's journey in a real browser (chromium, the real OpenID
//! provider, PostgreSQL, a counter with its own store), as issue 15 names
//! it: a Windows-1252 `;` file from Danish Excel with a bad row first
//! shows the line and imports nothing; the fixed file shows what will be
//! imported, and the confirmation enrols all 30. Then one of them is
//! found, gets cash at the office (with a receipt number) and a card by
//! its UID; a counter pulls and sells to it; the sale's items show on the
//! child's page; a correction with a reason shows in the history; the
//! month per item is what the counter says it sold, on the page and in the
//! CSV as Danish Excel reads it.

use chrono::Utc;
use klubkasse::store::local_day;
use klubkasse_core::domain::{ChildId, DayReport};
use klubkasse_core::people_csv::read_as_danish_excel;
use klubkasse_ledger::db::{self, office_log::Action};
use klubkasse_testkit::counter::{Counter, line};
use klubkasse_testkit::portal::{Browser, CLUB, PortalServer};

/// Danish Excel's «CSV (semikolonsepareret)»: Windows-1252, `;`, CRLF.
fn excel_file(bad: bool) -> Vec<u8> {
    let mut text = String::from("Navn;Fødselsdato;Betaler1_navn;Betaler1_email\r\n");
    for i in 1..=30 {
        let born = if bad && i == 1 {
            "31-02-2015".to_string()
        } else {
            format!("{:02}-06-2016", i % 28 + 1)
        };
        text.push_str(&format!(
            "Søren Ærø {i};{born};Åse Ærø;aase{i}@example.dk\r\n"
        ));
    }
    text.chars()
        .map(|c| match c {
            'æ' => 0xE6,
            'ø' => 0xF8,
            'å' => 0xE5,
            'Æ' => 0xC6,
            'Ø' => 0xD8,
            'Å' => 0xC5,
            c => u8::try_from(c).expect("ASCII"),
        })
        .collect()
}

async fn children(portal: &PortalServer) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM children WHERE club = $1")
        .bind(CLUB)
        .fetch_one(&portal.ledger.pool)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_imports_a_club_finds_a_child_and_reads_what_the_counter_sold() {
    let portal = PortalServer::start().await;
    portal.office("kontoret").await;
    let dir = tempfile::TempDir::new().expect("dir");
    let bad = dir.path().join("børn-fejl.csv");
    let good = dir.path().join("børn.csv");
    std::fs::write(&bad, excel_file(true)).expect("file");
    std::fs::write(&good, excel_file(false)).expect("file");

    let browser = Browser::start().await;
    browser.log_in(&portal, "kontoret").await;
    browser.click_text("Indmeld børn").await;
    browser.wait_for_text("Importér en fil").await;
    browser
        .upload("form[data-import] input[type=file]", &bad)
        .await;
    browser.click("form[data-import] button").await;
    browser
        .wait_for_text(
            "børn-fejl.csv linje 2, kolonne Fødselsdato: «31-02-2015» er ikke en dag i kalenderen",
        )
        .await;
    browser.wait_for_text("Intet blev importeret").await;
    assert_eq!(children(&portal).await, 0);

    browser
        .goto(&format!("{}/portal/office/enrol", portal.url))
        .await;
    browser
        .upload("form[data-import] input[type=file]", &good)
        .await;
    browser.click("form[data-import] button").await;
    browser
        .wait_for_text(&format!("30 børn fra børn.csv indmeldes i {CLUB}"))
        .await;
    let shown = browser.table_rows("table[data-rows]").await;
    assert_eq!(shown.len(), 30);
    assert_eq!(
        shown[0],
        [
            "2",
            "Søren Ærø 1",
            "02-06-2016",
            "Åse Ærø <aase1@example.dk>"
        ]
    );
    assert_eq!(children(&portal).await, 0);
    browser.screenshot("office-import-preview").await;

    browser.click("form[data-confirm] button").await;
    browser
        .wait_for_text(&format!("30 børn er indmeldt i {CLUB}."))
        .await;
    assert_eq!(browser.table_rows("table[data-rows]").await.len(), 30);
    assert_eq!(children(&portal).await, 30);
    browser.screenshot("office-import-done").await;

    // One of them, found by part of the name, with money and a card.
    browser.goto(&format!("{}/portal/office", portal.url)).await;
    browser.click_text("Find et barn").await;
    browser.fill("#q", "ærø 7").await;
    browser.click_text("Søg").await;
    browser.wait_for_text("Søren Ærø 7").await;
    assert!(!browser.text().await.contains("Søren Ærø 8"));
    browser.click_text("Søren Ærø 7").await;
    browser.wait_for_text("Åse Ærø · aase7@example.dk").await;
    let child: uuid::Uuid = browser
        .url()
        .await
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .expect("the child's page");
    browser.fill("#cash-amount", "100").await;
    browser.fill("#receipt", "K-0417").await;
    browser.click_text("Indbetal").await;
    browser.wait_for_text("Indbetalingen er registreret.").await;
    browser.wait_for_text("100,00 kr.").await;
    browser.fill("#uid", "04c7d8e9").await;
    browser.click_text("Udlever").await;
    browser.wait_for_text("04C7D8E9 · aktivt").await;

    // A counter of the club pulls the card and sells to it.
    let counter = Counter::new(&portal.ledger, &portal.url, "solsikken-café").await;
    counter
        .pull_sell_push(
            "04C7D8E9",
            vec![line("Toast", 1200, 2), line("Saftevand", 500, 1)],
        )
        .await;
    browser
        .goto(&format!("{}/portal/office/children/{child}", portal.url))
        .await;
    browser.wait_for_text("2 × Toast").await;
    browser.wait_for_text("71,00 kr.").await;

    // A correction with its reason, in the office's history and the log.
    browser.fill("#adjust-amount", "-1").await;
    browser
        .fill("#adjust-reason", "Kassedifference rettet")
        .await;
    browser.click_text("Ret saldoen").await;
    browser.wait_for_text("Saldoen er rettet.").await;
    browser.wait_for_text("70,00 kr.").await;
    let history = browser.table_rows("#entries table").await;
    assert!(
        history
            .iter()
            .any(|row| row[1].contains("Kassedifference rettet") && row[2] == "-1,00 kr."),
        "{history:?}"
    );
    assert!(
        history.iter().any(|row| row[1].contains("K-0417")),
        "the receipt: {history:?}"
    );

    // The month per item is the counter's own day report (all today).
    let today = local_day(Utc::now());
    let entries = counter.store.all_entries().unwrap();
    let sold = DayReport::build(
        entries.iter().filter(|e| local_day(e.at) == today),
        |_| None,
        |_| String::new(),
    );
    let mut at_the_counter: Vec<Vec<String>> = sold
        .items
        .iter()
        .map(|i| {
            vec![
                i.name.clone(),
                i.net_quantity().to_string(),
                i.net_amount().to_string(),
            ]
        })
        .collect();
    at_the_counter.sort();
    browser.goto(&format!("{}/portal/office", portal.url)).await;
    browser.click_text("Rapporter").await;
    browser.wait_for_text("Pr. vare").await;
    let mut on_the_page: Vec<Vec<String>> = browser
        .table_rows("table[data-items]")
        .await
        .into_iter()
        .map(|row| vec![row[0].clone(), row[2].clone(), row[3].clone()])
        .collect();
    on_the_page.sort();
    assert_eq!(on_the_page, at_the_counter);
    let csv = browser
        .download("/portal/office/reports?period=month&csv=items")
        .await;
    let rows = read_as_danish_excel(&String::from_utf8(csv.bytes).unwrap()).unwrap();
    assert_eq!(rows[0], ["Periode", "Vare", "Stykpris", "Antal", "Beløb"]);
    let mut in_the_file: Vec<Vec<String>> = rows[1..]
        .iter()
        .map(|r| vec![r[1].clone(), r[3].clone(), format!("{} kr.", r[4])])
        .collect();
    in_the_file.sort();
    assert_eq!(in_the_file, at_the_counter);

    // Every step of the office's in the log, with who took it.
    let log: Vec<(Option<Action>, String)> = db::office_log::for_child(
        &portal.ledger.pool,
        &portal.ledger.time_zone,
        ChildId(child),
        50,
    )
    .await
    .unwrap()
    .into_iter()
    .rev()
    .map(|row| (row.action, row.actor.name().to_string()))
    .collect();
    let who = "Kontoret Solsikken".to_string();
    assert_eq!(
        log,
        [
            (Some(Action::ChildEnrol), who.clone()),
            (Some(Action::MoneyDeposit), who.clone()),
            (Some(Action::CardHandOut), who.clone()),
            (Some(Action::CorrectionAdjustment), who),
        ]
    );
}
