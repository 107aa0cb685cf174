//! The office imports a club's children in a real browser (chromium, the
//! real OpenID provider, PostgreSQL): a Windows-1252 `;` file from Danish
//! Excel with a bad row first shows the line and imports nothing; the
//! fixed file shows what will be imported, and the confirmation enrols
//! all 30.

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
async fn the_office_imports_30_children_from_a_danish_excel_file() {
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
}
