//! The office's flags and a child leaving in a real browser (chromium,
//! the real OpenID provider, PostgreSQL, counters with their own stores):
//! two counters overdraw a child offline, the overdraft is listed and
//! marked handled with a comment; a child leaves through its page, the
//! counter refuses the card after its pull, a counter that had not pulled
//! pushes a later offline sale, recorded and flagged.

use klubkasse::store::Recorded;
use klubkasse_core::domain::{CardUid, Connection, Money};
use klubkasse_ledger::db::{self, payers::NewPayer};
use klubkasse_testkit::counter::Counter;
use klubkasse_testkit::portal::{Browser, CLUB, PortalServer};

const CARD: &str = "04A1B2C3";

fn offline() -> Connection {
    Connection::Offline {
        allowance: Money::kroner(200),
    }
}

/// A child of [`CLUB`] with 200 kr. and a card; the office's staff.
async fn child_with_card(portal: &PortalServer) -> klubkasse_core::domain::ChildId {
    let pool = &portal.ledger.pool;
    let actor = db::Actor::command_line();
    let child = db::enrol(pool, &actor, &db::Scope::All, "Åse Ørsted", CLUB)
        .await
        .unwrap()
        .child
        .id;
    portal.deposit(child, 200).await;
    db::hand_out(pool, &actor, child, &CardUid::parse(CARD).unwrap())
        .await
        .unwrap();
    portal.office("kontoret").await;
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_counters_overdraw_a_child_offline_and_the_office_marks_it_handled() {
    let portal = PortalServer::start().await;
    let child = child_with_card(&portal).await;
    let one = Counter::new(&portal.ledger, &portal.url, "solsikken-1").await;
    let two = Counter::new(&portal.ledger, &portal.url, "solsikken-2").await;
    one.sync().await.unwrap();
    two.sync().await.unwrap();
    // Both offline, each sees 200 kr.
    for counter in [&one, &two] {
        let (_, recorded) = counter.sell(CARD, 15_000, offline());
        assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    }
    one.sync().await.unwrap();
    two.sync().await.unwrap();
    assert_eq!(
        db::sum_of_entries(&portal.ledger.pool, child)
            .await
            .unwrap(),
        Money::kroner(-100)
    );

    let browser = Browser::start().await;
    browser.log_in(&portal, "kontoret").await;
    browser.click_text("Markeringer fra kasserne").await;
    browser.wait_for_text("Overtræk").await;
    assert!(browser.text().await.contains("Åse Ørsted"));
    browser.screenshot("office-flags").await;
    browser
        .fill("input[name=comment]", "Talt med far, han sætter penge ind")
        .await;
    browser.click_text("Markér behandlet").await;
    browser.wait_for_text("Ingen markeringer.").await;
    browser
        .goto(&format!("{}/portal/office/flags?handled=1", portal.url))
        .await;
    browser
        .wait_for_text("Talt med far, han sætter penge ind")
        .await;
    browser.wait_for_text("Kontoret Solsikken").await;
    browser
        .goto(&format!("{}/portal/office/children/{child}", portal.url))
        .await;
    browser
        .wait_for_text("Talt med far, han sætter penge ind")
        .await;
    browser.wait_for_text("Markering behandlet").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_leaves_through_its_page_and_the_counter_refuses_the_card() {
    let portal = PortalServer::start().await;
    let child = child_with_card(&portal).await;
    {
        let mut conn = portal.ledger.pool.acquire().await.unwrap();
        let payer = NewPayer {
            name: "Mor Ørsted".into(),
            email: Some("mor@example.dk".into()),
            custody: None,
        };
        db::payers::add(&mut conn, child, &payer).await.unwrap();
    }
    let pulls = Counter::new(&portal.ledger, &portal.url, "solsikken-1").await;
    let offline_one = Counter::new(&portal.ledger, &portal.url, "solsikken-2").await;
    pulls.sync().await.unwrap();
    offline_one.sync().await.unwrap();

    let browser = Browser::start().await;
    browser.log_in(&portal, "kontoret").await;
    browser
        .goto(&format!("{}/portal/office/children/{child}", portal.url))
        .await;
    browser.wait_for_text("Barnet stopper").await;
    browser.fill("#account", "1234 12345678").await;
    browser.click_text("Luk kontoen").await;
    browser.wait_for_text("Barnet er stoppet").await;
    browser.wait_for_text("Barnet stoppet").await;
    browser.screenshot("office-child-left").await;
    browser.goto(&format!("{}/portal/office", portal.url)).await;
    browser.wait_for_text("Mor Ørsted").await;
    browser.wait_for_text("1234 12345678").await;

    // After its pull the counter refuses the card.
    pulls.sync().await.unwrap();
    let (_, refused) = pulls.sell(CARD, 1_000, Connection::Online);
    assert!(matches!(refused, Recorded::Refused(_)), "{refused:?}");
    // The other had not pulled: its offline sale is recorded, flagged.
    let (sale, recorded) = offline_one.sell(CARD, 1_000, offline());
    assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    offline_one.sync().await.unwrap();
    let flags: Vec<String> = sqlx::query_scalar("SELECT flags FROM entries WHERE id = $1")
        .bind(sale.id)
        .fetch_one(&portal.ledger.pool)
        .await
        .unwrap();
    assert!(flags.contains(&"card_blocked".to_string()), "{flags:?}");
    // The history is still there.
    browser
        .goto(&format!("{}/portal/office/children/{child}", portal.url))
        .await;
    browser.wait_for_text("200,00 kr.").await;
    browser.wait_for_text("Spærret kort").await;
}
