//! The parents' portal in a real browser: Debian's chromium, a real
//! OpenID provider on loopback, the ledger on a real PostgreSQL.

mod ledger_support;
mod portal_support;

use portal_support::{Browser, PortalServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_logs_in_tops_up_100_kr_and_sees_the_balance() {
    let portal = PortalServer::start().await;
    let child = portal.family("Åse Ørsted", "Mette Ørsted", "mette").await;
    let browser = Browser::start().await;

    browser.log_in(&portal, "mette").await;
    browser.wait_for_text("Mine børn").await;
    browser.wait_for_text("Åse Ørsted").await;
    browser.wait_for_text("0,00 kr.").await;

    browser.click_text("Sæt penge ind").await;
    browser.fill("#amount", "100").await;
    browser.click_text("Gå til betaling").await;
    browser.wait_for_text("Testbetaling").await;
    browser.screenshot("payment").await;
    browser.click_text("Betal").await;

    browser.wait_for_text("Betalingen er modtaget").await;
    browser.wait_for_text("100,00 kr.").await;
    browser.screenshot("overview").await;
    let balance = klubkasse::ledger::db::detail(&portal.ledger.pool, child)
        .await
        .unwrap()
        .balance;
    assert_eq!(balance, klubkasse::domain::Money::kroner(100));
}
