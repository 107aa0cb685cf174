//! The office's work for one child in a real browser (chromium, the real
//! OpenID provider, PostgreSQL, a counter with its own store): find the
//! child, hand out a card by typing its UID, the counter pulls and sells
//! to it, the sale's items show on the child's page, the card is blocked
//! and unblocked, and the child's log shows each step with who did it.

use klubkasse_ledger::db::{self, office_log::Action};
use klubkasse_testkit::counter::{Counter, line};
use klubkasse_testkit::portal::{Browser, CLUB, PortalServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_finds_a_child_hands_out_a_card_and_sees_the_counters_sale() {
    let portal = PortalServer::start().await;
    let pool = &portal.ledger.pool;
    let office = db::Actor::command_line();
    let child = db::enrol(pool, &office, &db::Scope::All, "Åse Ørsted", CLUB)
        .await
        .unwrap()
        .child
        .id;
    db::enrol(pool, &office, &db::Scope::All, "Bo Jensen", CLUB)
        .await
        .unwrap();
    portal.deposit(child, 200).await;
    portal.office("kontoret").await;

    let browser = Browser::start().await;
    browser.log_in(&portal, "kontoret").await;
    browser.click_text("Find et barn").await;
    browser.fill("#q", "åse").await;
    browser.click_text("Søg").await;
    browser.wait_for_text("Åse Ørsted").await;
    assert!(!browser.text().await.contains("Bo Jensen"));
    browser.click_text("Åse Ørsted").await;
    browser.wait_for_text("200,00 kr.").await;

    // Typed as staff type it: lower case, with spaces.
    browser.fill("#uid", " 04a1b2c3 ").await;
    browser.click_text("Udlever").await;
    browser.wait_for_text("04A1B2C3 · aktivt").await;
    browser.wait_for_text("udleveret").await;

    let counter = Counter::new(&portal.ledger, &portal.url, "solsikken-1").await;
    counter
        .pull_sell_push("04A1B2C3", vec![line("Toast", 1200, 2)])
        .await;

    browser
        .goto(&format!("{}/portal/office/children/{child}", portal.url))
        .await;
    browser.wait_for_text("2 × Toast").await;
    browser.wait_for_text("176,00 kr.").await;
    browser.click_text("Spær").await;
    browser.wait_for_text("04A1B2C3 · spærret").await;
    browser.click_text("Genåbn").await;
    browser.wait_for_text("04A1B2C3 · aktivt").await;
    for step in ["Kort udleveret", "Kort spærret", "Kort genåbnet"] {
        browser.wait_for_text(step).await;
    }
    // The page's log: newest first, each step with who took it.
    let shown: Vec<(String, String)> = browser
        .table_rows("#log table")
        .await
        .into_iter()
        .filter(|cells| cells[1] == "Kontoret Solsikken")
        .map(|cells| {
            (
                cells[2].lines().next().unwrap_or("").to_string(),
                cells[1].clone(),
            )
        })
        .collect();
    let who = "Kontoret Solsikken".to_string();
    assert_eq!(
        shown,
        [
            ("Kort genåbnet".to_string(), who.clone()),
            ("Kort spærret".to_string(), who.clone()),
            ("Kort udleveret".to_string(), who)
        ]
    );
    browser.screenshot("office-child").await;

    let log: Vec<(Option<Action>, String)> =
        db::office_log::for_child(pool, &portal.ledger.time_zone, child, 50)
            .await
            .unwrap()
            .into_iter()
            .rev()
            .map(|row| (row.action, row.actor.name().to_string()))
            .collect();
    let by_office: Vec<Option<Action>> = log
        .iter()
        .filter(|(_, who)| who == "Kontoret Solsikken")
        .map(|(action, _)| *action)
        .collect();
    assert_eq!(
        by_office,
        [
            Some(Action::CardHandOut),
            Some(Action::CardBlock),
            Some(Action::CardUnblock)
        ],
        "{log:?}"
    );
    let detail = db::detail(pool, child).await.unwrap();
    assert_eq!(
        detail.orders[0].card.as_ref().map(|u| u.as_str()),
        Some("04A1B2C3")
    );
}
