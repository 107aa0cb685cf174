//! Top-ups through Stripe, against localstripe (a real, stateful fake of
//! Stripe's API from PyPI; no mock of ours): the PaymentIntent the ledger
//! makes, a test card charged at localstripe, its own signed webhook to
//! the ledger on a real socket, and webhooks we sign ourselves for what
//! localstripe does not send (a repeat, a forgery, an old one).

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode, header};
use klubkasse_core::domain::{ChildId, Money};
use klubkasse_ledger::Settings;
use klubkasse_ledger::portal::stripe::{StripeProvider, sign};
use klubkasse_testkit::ledger::*;
use klubkasse_testkit::portal::LocalStripe;
use serde_json::{Value, json};
use uuid::Uuid;

const WEBHOOK_SECRET: &str = LocalStripe::WEBHOOK_SECRET;

/// A ledger whose portal pays through localstripe, served on a socket
/// (localstripe delivers its webhooks there), with a parent of a child.
struct World {
    l: Ledger,
    stripe: LocalStripe,
    /// The ledger's webhook address.
    webhook: String,
    child: ChildId,
    parent: Visitor,
}

async fn world() -> World {
    let stripe = LocalStripe::start();
    let config = stripe.config();
    let l = ledger().await.with_portal_as(Settings::default(), |p| {
        p.payments = std::sync::Arc::new(StripeProvider::new(config).expect("the provider"));
        p.test_payments = None;
    });
    l.club("Egetræet").await;
    let child = l.enrol("Freja").await;
    let parent = l.person("mette", "Mette", None, &[child]).await;
    let parent = l.log_in(parent.id).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let webhook = format!(
        "http://{}/portal/payments/webhook",
        listener.local_addr().expect("its address")
    );
    let app = l.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    World {
        l,
        stripe,
        webhook,
        child,
        parent,
    }
}

impl World {
    /// The parent starts a top-up of `amount`: our payment's id and the
    /// PaymentIntent's.
    async fn top_up(&self, amount: &str) -> (Uuid, String) {
        let answer = self
            .l
            .page(
                Method::POST,
                &format!("/portal/children/{}/top-up", self.child),
                Some(&self.parent),
                &[("csrf", &self.parent.csrf), ("amount", amount)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text);
        let (id, reference, provider): (Uuid, String, String) = sqlx::query_as(
            "SELECT id, provider_ref, provider FROM payments ORDER BY created_at DESC LIMIT 1",
        )
        .fetch_one(&self.l.pool)
        .await
        .expect("the payment");
        assert_eq!(provider, "stripe");
        assert_eq!(
            answer.headers[header::LOCATION],
            format!("/portal/payments/{id}/pay").as_str()
        );
        (id, reference)
    }

    /// Pays the PaymentIntent at localstripe with a test payment method,
    /// as Stripe.js does in the browser: its status after.
    async fn pay_with(&self, reference: &str, method: &str) -> String {
        let intent = format!("/v1/payment_intents/{reference}");
        let (status, _) = self
            .stripe
            .call(&intent, Some(&[("payment_method", method)]))
            .await;
        assert_eq!(status, 200);
        self.stripe
            .call(&format!("{intent}/confirm"), Some(&[]))
            .await;
        self.intent(reference).await["status"]
            .as_str()
            .expect("a status")
            .to_string()
    }

    async fn intent(&self, reference: &str) -> Value {
        let (status, intent) = self
            .stripe
            .call(&format!("/v1/payment_intents/{reference}"), None)
            .await;
        assert_eq!(status, 200, "{intent}");
        intent
    }

    /// An event about the PaymentIntent as localstripe has it now,
    /// signed with `secret` at `at` (Unix seconds), posted to the ledger.
    async fn deliver(&self, kind: &str, reference: &str, secret: &str, at: i64) -> u16 {
        let payload = json!({
            "id": format!("evt_{}", Uuid::now_v7().simple()),
            "object": "event",
            "type": kind,
            "created": at,
            "data": {"object": self.intent(reference).await},
        })
        .to_string();
        let signature = sign(secret, payload.as_bytes(), at);
        self.post_webhook(payload.as_bytes(), Some(&signature))
            .await
    }

    async fn post_webhook(&self, payload: &[u8], signature: Option<&str>) -> u16 {
        let request = reqwest::Client::new()
            .post(&self.webhook)
            .header("content-type", "application/json")
            .body(payload.to_vec());
        let request = match signature {
            Some(signature) => request.header("Stripe-Signature", signature),
            None => request,
        };
        request
            .send()
            .await
            .expect("the ledger answers")
            .status()
            .as_u16()
    }

    async fn status(&self, payment: Uuid) -> String {
        sqlx::query_scalar("SELECT status FROM payments WHERE id = $1")
            .bind(payment)
            .fetch_one(&self.l.pool)
            .await
            .expect("the payment")
    }

    /// Waits (10 s at most) for the payment to leave `started`.
    async fn settled(&self, payment: Uuid) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = self.status(payment).await;
            if status != "started" || Instant::now() > deadline {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The child's deposits: how many, and the balance.
    async fn deposits(&self) -> (i64, Money) {
        let count = sqlx::query_scalar(
            "SELECT count(*) FROM entries WHERE child_id = $1 AND kind = 'deposit'",
        )
        .bind(self.child.0)
        .fetch_one(&self.l.pool)
        .await
        .expect("the deposits");
        (count, self.l.balance(self.child).await)
    }

    /// The return page, and the overview it sends the parent to.
    async fn come_back(&self, payment: Uuid) -> String {
        let back = self
            .l
            .page(
                Method::GET,
                &format!("/portal/payments/{payment}/return"),
                Some(&self.parent),
                &[],
            )
            .await;
        assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.text);
        let overview = back.headers[header::LOCATION].to_str().unwrap().to_string();
        self.l
            .page(Method::GET, &overview, Some(&self.parent), &[])
            .await
            .text
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// 100,50 kr.: a PaymentIntent of 10050 øre in DKK naming the payment and
/// the child; the pay page loads Stripe.js and our script and no inline
/// one; paid with the test card, localstripe's own signed webhook makes
/// the deposit; the same event again and the return page leave it one.
#[tokio::test]
async fn a_top_up_is_a_payment_intent_and_its_webhook_deposits_once() {
    let w = world().await;
    let (payment, reference) = w.top_up("100,50").await;
    let intent = w.intent(&reference).await;
    assert_eq!(intent["amount"], 10050, "{intent}");
    assert_eq!(intent["currency"], "dkk");
    assert_eq!(intent["metadata"]["payment"], payment.to_string());
    assert_eq!(intent["metadata"]["child"], w.child.to_string());
    assert_eq!(intent["status"], "requires_payment_method");

    let page =
        w.l.page(
            Method::GET,
            &format!("/portal/payments/{payment}/pay"),
            Some(&w.parent),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    let scripts = format!("{}/js.stripe.com/", w.stripe.url);
    assert!(
        csp.contains(&format!("script-src 'self' {scripts};")),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert!(!script_src.contains("unsafe"), "{csp}");
    assert!(
        page.text
            .contains(&format!(r#"<script src="{scripts}v3/"></script>"#)),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(r#"<script src="/portal/pay.js"></script>"#)
    );
    assert_eq!(page.text.matches("<script").count(), 2, "no inline script");
    assert!(
        page.text
            .contains(intent["client_secret"].as_str().unwrap())
    );
    let script = w.l.page(Method::GET, "/portal/pay.js", None, &[]).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.text.contains("confirmCardPayment"));

    w.stripe
        .deliver_webhooks_to(&w.webhook, WEBHOOK_SECRET)
        .await;
    assert_eq!(w.pay_with(&reference, "pm_card_visa").await, "succeeded");
    assert_eq!(w.settled(payment).await, "paid", "localstripe's webhook");
    assert_eq!(w.deposits().await, (1, Money::from_ore(10050)));

    // The same event again (as Stripe retries: localstripe's own, signed
    // anew, its timestamp now), then the parent's return.
    let (_, events) = w.stripe.call("/v1/events", None).await;
    let event = events["data"]
        .as_array()
        .expect("localstripe's events")
        .iter()
        .find(|e| e["type"] == "payment_intent.succeeded")
        .expect("the event localstripe sent")
        .to_string();
    assert!(event.contains(&payment.to_string()), "{event}");
    let signature = sign(WEBHOOK_SECRET, event.as_bytes(), now());
    assert_eq!(
        w.post_webhook(event.as_bytes(), Some(&signature)).await,
        200
    );
    let overview = w.come_back(payment).await;
    assert!(
        overview.contains("Betalingen er modtaget"),
        "the parent is told: {overview}"
    );
    assert_eq!(w.deposits().await, (1, Money::from_ore(10050)));
    // Paid, the pay page sends the parent on rather than pay twice.
    let page =
        w.l.page(
            Method::GET,
            &format!("/portal/payments/{payment}/pay"),
            Some(&w.parent),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

/// A card whose charge is declined: localstripe's webhook says the
/// payment failed, the ledger reads the PaymentIntent back (declined, so
/// it cancels it: no later payment of it can go unseen), nothing is
/// deposited, and the return page tells the parent. A "succeeded" event
/// for it afterwards moves nothing either.
#[tokio::test]
async fn a_declined_card_deposits_nothing_and_the_parent_is_told() {
    let w = world().await;
    w.stripe
        .deliver_webhooks_to(&w.webhook, WEBHOOK_SECRET)
        .await;
    let (payment, reference) = w.top_up("100").await;
    // 4000 0000 0000 0341: attaches, then its charge is declined (in
    // localstripe 4000 0000 0000 0002 is declined only when attached to
    // a customer, never when charged).
    assert_eq!(
        w.pay_with(&reference, "pm_card_chargeCustomerFail").await,
        "requires_payment_method"
    );
    assert_eq!(w.settled(payment).await, "failed", "localstripe's webhook");
    assert_eq!(w.intent(&reference).await["status"], "canceled");
    let overview = w.come_back(payment).await;
    assert!(
        overview.contains("Betalingen blev ikke gennemført"),
        "the parent is told: {overview}"
    );
    let late = w
        .deliver(
            "payment_intent.succeeded",
            &reference,
            WEBHOOK_SECRET,
            now(),
        )
        .await;
    assert_eq!(late, 200);
    assert_eq!(w.deposits().await, (0, Money::ZERO));
    assert_eq!(w.status(payment).await, "failed");
}

/// Webhooks that are not Stripe's word: no signature, another secret, a
/// changed payload, an old timestamp (more than 5 minutes), an event of
/// another kind, a payment we do not have, each refused with 400, again
/// when sent again, and nothing deposited though the PaymentIntent is
/// paid; then the right one deposits (so the refusals were not luck).
#[tokio::test]
async fn bad_webhooks_are_refused_and_deposit_nothing() {
    let w = world().await;
    let (payment, reference) = w.top_up("50").await;
    // Paid at localstripe, which has no webhook address: only ours come.
    assert_eq!(w.pay_with(&reference, "pm_card_visa").await, "succeeded");
    let intent = w.intent(&reference).await;
    let event = |kind: &str, object: &Value, at: i64| {
        json!({"id": "evt_1", "type": kind, "created": at, "data": {"object": object}}).to_string()
    };
    let good = event("payment_intent.succeeded", &intent, now());
    let mut other = intent.clone();
    other["metadata"]["payment"] = json!(Uuid::now_v7().to_string());
    let at = now();
    let old = event("payment_intent.succeeded", &intent, at - 301);
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("unsigned", good.clone(), None),
        (
            "another secret",
            good.clone(),
            Some(sign("whsec_not_ours", good.as_bytes(), at)),
        ),
        (
            "a changed payload",
            good.replace(r#""amount":5000"#, r#""amount":500000"#),
            Some(sign(WEBHOOK_SECRET, good.as_bytes(), at)),
        ),
        (
            "a signature that is no signature",
            good.clone(),
            Some(format!("t={at},v1=deadbeef")),
        ),
        (
            "old",
            old.clone(),
            Some(sign(WEBHOOK_SECRET, old.as_bytes(), at - 301)),
        ),
        (
            "another kind",
            event("charge.succeeded", &intent, at),
            Some(sign(
                WEBHOOK_SECRET,
                event("charge.succeeded", &intent, at).as_bytes(),
                at,
            )),
        ),
        (
            "another payment",
            event("payment_intent.succeeded", &other, at),
            Some(sign(
                WEBHOOK_SECRET,
                event("payment_intent.succeeded", &other, at).as_bytes(),
                at,
            )),
        ),
    ];
    for (what, payload, signature) in &cases {
        assert!(
            *what == "unsigned"
                || *what == "another secret"
                || *payload != good
                || signature.as_deref() != Some(&sign(WEBHOOK_SECRET, good.as_bytes(), at)),
            "{what} is a case"
        );
        for attempt in ["first", "again"] {
            let status = w
                .post_webhook(payload.as_bytes(), signature.as_deref())
                .await;
            assert_eq!(status, 400, "{what}, {attempt}");
        }
        assert_eq!(w.status(payment).await, "started", "{what}");
        assert_eq!(w.deposits().await, (0, Money::ZERO), "{what}");
    }
    let signed = sign(WEBHOOK_SECRET, good.as_bytes(), now());
    assert_eq!(w.post_webhook(good.as_bytes(), Some(&signed)).await, 200);
    assert_eq!(w.deposits().await, (1, Money::from_ore(5000)));
    // A good one replayed within the tolerance lands no second time.
    assert_eq!(w.post_webhook(good.as_bytes(), Some(&signed)).await, 200);
    assert_eq!(w.deposits().await, (1, Money::from_ore(5000)));
}

/// `serve --payment-provider stripe` does not start without the secret
/// key or the webhook's secret, and says which is missing without
/// printing the one it was given; with both it serves.
#[tokio::test]
async fn serve_refuses_stripe_without_its_secrets_and_serves_with_them() {
    let l = ledger().await;
    let dir = tempfile::tempdir().expect("a directory");
    let key = dir.path().join("stripe-secret-key");
    std::fs::write(&key, "sk_test_NOT_TO_BE_PRINTED\n").expect("the key's file");
    let serve = |extra: &[&str]| {
        let output = std::process::Command::new(&*klubkasse_testkit::bin::LEDGER)
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &l.url])
            .args(["--portal-url", "http://127.0.0.1:8080"])
            .args([
                "--oidc-issuer",
                "http://127.0.0.1:9",
                "--oidc-client-id",
                "k",
            ])
            .args(["--payment-provider", "stripe"])
            .args(["--stripe-publishable-key", "pk_test_klubkasse"])
            .args(extra)
            .env("OIDC_CLIENT_SECRET", "oidc-secret")
            .env_remove("STRIPE_SECRET_KEY")
            .env_remove("STRIPE_WEBHOOK_SECRET")
            .output()
            .expect("run klubkasse-ledger");
        let said = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), said)
    };
    let (started, said) = serve(&[]);
    assert!(!started && said.contains("STRIPE_SECRET_KEY"), "{said}");
    let key = key.to_str().unwrap();
    let (started, said) = serve(&["--stripe-secret-key-file", key]);
    assert!(!started && said.contains("STRIPE_WEBHOOK_SECRET"), "{said}");
    assert!(!said.contains("NOT_TO_BE_PRINTED"), "{said}");
    // With both (the webhook's from the environment) it serves, the pay
    // script among its pages, and prints neither secret.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let log = dir.path().join("log");
    let mut child = std::process::Command::new(&*klubkasse_testkit::bin::LEDGER)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", &l.url])
        .args(["--portal-url", &format!("http://127.0.0.1:{port}")])
        .args([
            "--oidc-issuer",
            "http://127.0.0.1:9",
            "--oidc-client-id",
            "k",
        ])
        .args([
            "--payment-provider",
            "stripe",
            "--stripe-secret-key-file",
            key,
        ])
        .args(["--stripe-publishable-key", "pk_test_klubkasse"])
        .args(["--stripe-payment-methods", "card,mobilepay"])
        .env("OIDC_CLIENT_SECRET", "oidc-secret")
        .env("STRIPE_WEBHOOK_SECRET", "whsec_NOT_TO_BE_PRINTED_EITHER")
        .env("RUST_LOG", "debug")
        .stdout(std::fs::File::create(&log).expect("a log"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start klubkasse-ledger");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let script = format!("http://127.0.0.1:{port}/portal/pay.js");
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        if let Ok(answer) = reqwest::get(&script).await {
            break answer;
        }
        assert!(Instant::now() < deadline, "serve did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    let said = std::fs::read_to_string(&log).expect("the log");
    assert!(said.contains("through Stripe"), "{said}");
    assert!(!said.contains("NOT_TO_BE_PRINTED"), "{said}");
}
