//! Money at the office in a real browser (chromium, the real OpenID
//! provider, PostgreSQL, a counter with its own store): office staff pay
//! cash in with the receipt's number, refund a counter's sale with a
//! reason, and the parent's history then shows the refund with it.

use klubkasse_core::domain::Money;
use klubkasse_ledger::db::{self, office_log::Action};
use klubkasse_testkit::counter::{Counter, line};
use klubkasse_testkit::portal::{Browser, PortalServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_office_takes_cash_with_a_receipt_and_refunds_a_sale_the_parent_sees_why() {
    let portal = PortalServer::start().await;
    let pool = &portal.ledger.pool;
    let child = portal.family("Åse Ørsted", "Karen Ørsted", "karen").await;
    portal.office("kontoret").await;

    let staff = Browser::start().await;
    staff.log_in(&portal, "kontoret").await;
    staff
        .goto(&format!("{}/portal/office/children/{child}", portal.url))
        .await;
    staff.fill("#uid", "04A1B2C3").await;
    staff.click_text("Udlever").await;
    staff.wait_for_text("04A1B2C3 · aktivt").await;
    staff.fill("#cash-amount", "150").await;
    staff.fill("#receipt", "K-0042").await;
    staff.click_text("Indbetal").await;
    staff.wait_for_text("Indbetalingen er registreret.").await;
    staff.wait_for_text("Kvittering K-0042").await;
    staff.wait_for_text("150,00 kr.").await;

    let counter = Counter::new(&portal.ledger, &portal.url, "solsikken-1").await;
    counter
        .pull_sell_push("04A1B2C3", vec![line("Toast", 1200, 2)])
        .await;

    staff
        .goto(&format!("{}/portal/office/children/{child}", portal.url))
        .await;
    staff.wait_for_text("126,00 kr.").await;
    staff.fill("#refund-reason", "Toasten var brændt").await;
    staff.click_text("Betal tilbage").await;
    staff.wait_for_text("Købet er betalt tilbage.").await;
    staff.wait_for_text("150,00 kr.").await;
    staff.wait_for_text("Ingen køb at betale tilbage.").await;
    staff.wait_for_text("Køb betalt tilbage").await;
    staff.screenshot("office-money").await;

    let parent = Browser::start().await;
    parent.log_in(&portal, "karen").await;
    parent
        .goto(&format!("{}/portal/children/{child}/history", portal.url))
        .await;
    parent.wait_for_text("Tilbagebetalt køb").await;
    parent.wait_for_text("Toasten var brændt").await;
    parent.wait_for_text("Kvittering K-0042").await;

    let by_office: Vec<Option<Action>> =
        db::office_log::for_child(pool, &portal.ledger.time_zone, child, 50)
            .await
            .unwrap()
            .into_iter()
            .rev()
            .filter(|row| row.actor.name() == "Kontoret Solsikken")
            .map(|row| row.action)
            .collect();
    assert_eq!(
        by_office,
        [
            Some(Action::CardHandOut),
            Some(Action::MoneyDeposit),
            Some(Action::CorrectionRefund)
        ]
    );
    let (balance, sum) = (
        db::detail(pool, child).await.unwrap().balance,
        db::sum_of_entries(pool, child).await.unwrap(),
    );
    assert_eq!((balance, sum), (Money::kroner(150), Money::kroner(150)));
}
