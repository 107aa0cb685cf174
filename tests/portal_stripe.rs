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
use klubkasse_ledger::portal::stripe::{StripeConfig, StripeProvider};
use klubkasse_testkit::portal::{Browser, LocalStripe, PortalServer};

const WEBHOOK_SECRET: &str = "whsec_klubkasse_browser";

#[tokio::test]
async fn a_top_up_on_the_stripe_pay_page_lands_once() {
    let stripe = LocalStripe::start();
    let api_url = stripe.url.clone();
    let portal = PortalServer::start_as(Settings::default(), |p| {
        let config = StripeConfig {
            api_url,
            secret_key: LocalStripe::SECRET_KEY.into(),
            publishable_key: "pk_test_klubkasse".into(),
            webhook_secret: WEBHOOK_SECRET.into(),
            payment_methods: vec!["card".into()],
        };
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
