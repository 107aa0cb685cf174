//! The Stripe pay page in chromium, with localstripe's stand-in for
//! Stripe.js. The stand-in draws a card field but cannot pay with it
//! (its `confirmCardPayment` only answers a 3-D Secure question for a
//! PaymentIntent already confirmed), so the card is charged through
//! localstripe's API, as Stripe.js would in a real browser; what the
//! browser shows is that the page's CSP lets Stripe's script and ours run
//! (the card field appears), and that coming back after localstripe's own
//! webhook has deposited leaves one deposit.

use std::sync::Arc;

use klubkasse_core::domain::Money;
use klubkasse_ledger::Settings;
use klubkasse_ledger::portal::stripe::StripeProvider;
use klubkasse_testkit::portal::{Browser, LocalStripe, PortalServer};

const WEBHOOK_SECRET: &str = LocalStripe::WEBHOOK_SECRET;

#[tokio::test]
async fn a_top_up_on_the_stripe_pay_page_lands_once() {
    let stripe = LocalStripe::start();
    let api_url = stripe.url.clone();
    let portal = PortalServer::start_as(Settings::default(), |p| {
        let config = LocalStripe::config_at(&api_url);
        p.payments = Arc::new(StripeProvider::new(config).expect("the provider"));
        p.test_payments = None;
    })
    .await;
    stripe
        .deliver_webhooks_to(
            &format!("{}/portal/payments/webhook", portal.url),
            WEBHOOK_SECRET,
        )
        .await;
    let child = portal.family("Åse Ørsted", "Mette Ørsted", "mette").await;
    let browser = Browser::start().await;
    browser.log_in(&portal, "mette").await;
    browser
        .goto(&format!("{}/portal/children/{child}/top-up", portal.url))
        .await;
    browser.fill("#amount", "100").await;
    browser.click_text("Gå til betaling").await;
    assert!(
        browser.url().await.ends_with("/pay"),
        "{}",
        browser.url().await
    );
    // The stand-in's card field: Stripe's script and ours ran under the CSP.
    browser.fill("#card input", "4242424242424242").await;
    let (reference,): (String,) = sqlx::query_as("SELECT provider_ref FROM payments")
        .fetch_one(&portal.ledger.pool)
        .await
        .expect("the payment");
    let intent = format!("/v1/payment_intents/{reference}");
    let (status, _) = stripe
        .call(&intent, Some(&[("payment_method", "pm_card_visa")]))
        .await;
    assert_eq!(status, 200);
    let (_, paid) = stripe.call(&format!("{intent}/confirm"), Some(&[])).await;
    assert_eq!(paid["status"], "succeeded", "{paid}");
    // The parent presses pay; the stand-in asks its 3-D Secure question,
    // and whatever it answers the browser goes to the return page.
    browser.tick("#pay button.primary").await;
    browser.click_text("Complete authentication").await;
    browser
        .wait_for_text("Betalingen er modtaget, og pengene er sat ind på kortet.")
        .await;
    let deposits: i64 =
        sqlx::query_scalar("SELECT count(*) FROM entries WHERE child_id = $1 AND kind = 'deposit'")
            .bind(child.0)
            .fetch_one(&portal.ledger.pool)
            .await
            .expect("the deposits");
    assert_eq!(deposits, 1);
    assert_eq!(portal.ledger.balance(child).await, Money::kroner(100));
}

/// Automatic top-up in chromium with localstripe's Stripe.js stand-in: the
/// parent saves a card whose bank asks for 3-D Secure (the stand-in's
/// question answered), sets "below 30 top up 100", and a counter's sale
/// takes the balance below 30: the bank wants her again, which it cannot
/// while she is away, so nothing is charged, a Danish mail says so and the
/// overview says it is paused. She saves another card (4242…) and the
/// next fall tops up 100 kr., once, with a mail.
#[tokio::test]
async fn a_saved_card_tops_up_after_a_sale_and_a_pause_is_shown() {
    use axum::http::{Method, StatusCode};
    use klubkasse_ledger::auth::TokenRole;
    use klubkasse_ledger::portal::auto_topup::Charger;
    use klubkasse_ledger::portal::payment::PaymentProvider;
    use klubkasse_testkit::ledger::{CARD_A, batch, sale};

    let stripe = LocalStripe::start();
    let config = stripe.config();
    let provider: Arc<dyn PaymentProvider> =
        Arc::new(StripeProvider::new(config).expect("the provider"));
    let shared = provider.clone();
    let portal = PortalServer::start_as(Settings::default(), move |p| {
        p.payments = shared;
        p.test_payments = None;
    })
    .await;
    let charger = Charger {
        pool: portal.ledger.pool.clone(),
        provider,
        poll: std::time::Duration::from_millis(50),
    };
    let child = portal.family("Åse Ørsted", "Mette Ørsted", "mette").await;
    portal.ledger.hand_out(child, CARD_A).await;
    sqlx::query("UPDATE people SET email = 'mette@example.dk' WHERE subject = 'mette'")
        .execute(&portal.ledger.pool)
        .await
        .expect("her address");
    let kiosk = portal.ledger.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let sell = |kroner: i64| {
        let ledger = &portal.ledger;
        let kiosk = &kiosk;
        async move {
            let entry = sale(child, CARD_A, "k1", kroner * 100, 1);
            let pushed = ledger
                .call(
                    Method::POST,
                    "/api/v1/kiosk/entries",
                    Some(kiosk),
                    Some(batch(&[entry])),
                )
                .await;
            assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text);
        }
    };
    let browser = Browser::start().await;
    browser.log_in(&portal, "mette").await;
    let page = format!("{}/portal/children/{child}/auto-top-up", portal.url);
    let save_card = |number: &'static str, authenticate: bool| {
        let browser = &browser;
        async move {
            browser.wait_for_text("Gem et").await;
            let text = browser.text().await;
            let button = if text.contains("Gem et andet kort") {
                "Gem et andet kort"
            } else {
                "Gem et kort"
            };
            browser.click_text(button).await;
            for (field, value) in [
                ("number", number),
                ("exp_month", "12"),
                ("exp_year", "30"),
                ("cvc", "123"),
                ("postal_code", "2620"),
            ] {
                browser
                    .fill(&format!("#card input[placeholder={field}]"), value)
                    .await;
            }
            browser.tick("#save-card button.primary").await;
            if authenticate {
                browser.click_text("Complete authentication").await;
            }
            browser.wait_for_text("Kortet er gemt.").await;
        }
    };
    browser.goto(&page).await;
    browser.wait_for_text("Der er ikke gemt noget kort.").await;
    save_card("4000002500003155", true).await;
    browser.fill("#threshold", "30").await;
    browser.fill("#amount", "100").await;
    browser.tick("input[name=on]").await;
    browser.click_text("Gem").await;
    browser
        .wait_for_text("Automatisk optankning er slået til.")
        .await;

    portal.deposit(child, 50).await;
    sell(25).await;
    assert_eq!(charger.charge_due().await.expect("a round"), 1);
    let subject = "Din bank vil have dig til at godkende optankning af Åse Ørsteds kort";
    let mail = wait_for_mail(&portal, subject).await;
    assert_eq!(mail.to, "mette@example.dk");
    assert!(mail.body.contains("100,00 kr."), "{}", mail.body);
    browser.goto(&format!("{}/portal", portal.url)).await;
    browser
        .wait_for_text(
            "Automatisk optankning er sat på pause: din bank ville have dig til selv at godkende betalingen.",
        )
        .await;
    assert_eq!(portal.ledger.balance(child).await, Money::kroner(25));

    browser.goto(&page).await;
    save_card("4242424242424242", false).await;
    browser.wait_for_text("Visa •••• 4242").await;
    browser
        .wait_for_text("Automatisk optankning er slået til.")
        .await;
    portal.deposit(child, 25).await;
    sell(25).await;
    assert_eq!(charger.charge_due().await.expect("a round"), 1);
    wait_for_mail(&portal, "Åse Ørsteds kort er fyldt op automatisk").await;
    browser.goto(&format!("{}/portal", portal.url)).await;
    browser.wait_for_text("125,00 kr.").await;
    browser.goto(&page).await;
    browser.screenshot("portal-auto-top-up").await;
    let deposits: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM entries e JOIN payments p ON p.id = e.id WHERE p.automatic",
    )
    .fetch_one(&portal.ledger.pool)
    .await
    .expect("the deposits");
    assert_eq!(deposits, 1);
}

/// The mail with this subject, once the portal's sender has sent it.
async fn wait_for_mail(
    portal: &PortalServer,
    subject: &str,
) -> klubkasse_ledger::portal::mail::Mail {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(mail) = portal
            .outbox
            .sent()
            .into_iter()
            .find(|m| m.subject == subject)
        {
            return mail;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mail «{subject}»: {:?}",
            portal.outbox.sent()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
