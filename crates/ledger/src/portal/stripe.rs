//! Card payments (and MobilePay) through Stripe: a top-up is a
//! PaymentIntent, paid on our own pay page with Stripe.js, and the ledger
//! learns the outcome by reading the PaymentIntent back (the return page,
//! the overview) or from Stripe's signed webhook.
//!
//! Stripe's REST API over our own reqwest, not the async-stripe crate: we
//! use four calls (create, retrieve, cancel of a PaymentIntent, and the
//! webhook's signature), while that crate brings thousands of generated
//! types and its own HTTP stack; ours has our TLS (rustls, ring), our
//! timeouts, and a base URL that tests point at localstripe, a real
//! stateful Stripe stand-in.

use std::time::Duration;

use futures::future::BoxFuture;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use uuid::Uuid;

use super::payment::{
    Charge, ChargeOutcome, Checkout, NewPayment, PaymentError, PaymentProvider, PaymentStatus,
    ProviderEvent, SavedCharge, SetupOutcome, StartedPayment, WebhookError,
};
use crate::db::auto_topup::{Pause, SavedCard};
use klubkasse_core::domain::ChildId;

/// Stripe's own address; tests give localstripe's.
pub const API_URL: &str = "https://api.stripe.com";

/// How far a webhook's timestamp may be from our clock: Stripe's default.
/// An older event, even correctly signed, may be a replay.
pub const TOLERANCE_SECONDS: i64 = 300;

/// What the provider needs; the secrets are never printed.
#[derive(Clone)]
pub struct StripeConfig {
    /// Without a trailing slash.
    pub api_url: String,
    pub secret_key: String,
    /// Public: Stripe.js on the pay page is started with it.
    pub publishable_key: String,
    pub webhook_secret: String,
    /// Stripe's names: `card`, `mobilepay`.
    pub payment_methods: Vec<String>,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("api_url", &self.api_url)
            .field("publishable_key", &self.publishable_key)
            .field("payment_methods", &self.payment_methods)
            .finish_non_exhaustive()
    }
}

pub struct StripeProvider {
    config: StripeConfig,
    http: reqwest::Client,
}

/// The part of a PaymentIntent we read.
#[derive(Debug, Deserialize)]
struct PaymentIntent {
    id: String,
    status: String,
    client_secret: Option<String>,
    #[serde(default)]
    last_payment_error: Option<serde_json::Value>,
}

/// Stripe's error body: `{"error": {"message": …}}`.
#[derive(Debug, Deserialize)]
struct StripeErrorBody {
    error: StripeErrorDetail,
}

#[derive(Debug, Default, Deserialize)]
struct StripeErrorDetail {
    message: Option<String>,
    /// `card_declined`, `authentication_required`, …
    code: Option<String>,
    /// A declined charge's PaymentIntent (Stripe sends it; localstripe
    /// does not).
    payment_intent: Option<IntentId>,
}

#[derive(Debug, Deserialize)]
struct IntentId {
    id: String,
}

/// A call Stripe did not answer, or refused.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("{0}")]
    Unanswered(String),
    #[error("Stripe said {status}: {}", error.message.as_deref().unwrap_or_default())]
    Refused {
        status: u16,
        error: StripeErrorDetail,
    },
}

/// The part of a SetupIntent we read.
#[derive(Debug, Deserialize)]
struct SetupIntent {
    id: String,
    status: String,
    client_secret: Option<String>,
    /// An id (not expanded).
    payment_method: Option<String>,
}

/// The part of a PaymentMethod we read: never a card number (Stripe
/// sends none).
#[derive(Debug, Deserialize)]
struct PaymentMethodObject {
    id: String,
    customer: Option<String>,
    card: Option<CardDetails>,
}

#[derive(Debug, Deserialize)]
struct CardDetails {
    brand: Option<String>,
    last4: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Customer {
    id: String,
}

/// A webhook's event, the parts we read.
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Debug, Deserialize)]
struct EventData {
    object: EventObject,
}

#[derive(Debug, Deserialize)]
struct EventObject {
    id: String,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

impl StripeProvider {
    pub fn new(config: StripeConfig) -> Result<StripeProvider, PaymentError> {
        // One crypto library in the build: ring, as the login's client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            // Stripe's API does not redirect; a redirect would carry the key.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| PaymentError(format!("the HTTP client: {e}")))?;
        Ok(StripeProvider { config, http })
    }

    /// The PaymentIntent `path` names after a form `POST` (or a `GET`
    /// without one). `idempotency`: Stripe answers a repeated request with
    /// the first one's result instead of doing it again.
    async fn call(
        &self,
        path: &str,
        form: Option<&[(&str, String)]>,
        idempotency: Option<&str>,
    ) -> Result<PaymentIntent, PaymentError> {
        self.call_as(path, form, idempotency)
            .await
            .map_err(|e| PaymentError(e.to_string()))
    }

    /// [`StripeProvider::call`] for any object, with Stripe's refusal as
    /// it said it.
    async fn call_as<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: Option<&[(&str, String)]>,
        idempotency: Option<&str>,
    ) -> Result<T, CallError> {
        let url = format!("{}{path}", self.config.api_url);
        let request = match form {
            Some(form) => {
                let body = serde_html_form::to_string(form)
                    .map_err(|e| CallError::Unanswered(format!("a request to Stripe: {e}")))?;
                self.http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
            }
            None => self.http.get(&url),
        };
        let request = match idempotency {
            Some(key) => request.header("Idempotency-Key", key),
            None => request,
        };
        let response = request
            .bearer_auth(&self.config.secret_key)
            .send()
            .await
            .map_err(|e| CallError::Unanswered(format!("Stripe did not answer: {e}")))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| CallError::Unanswered(format!("Stripe's answer: {e}")))?;
        if !status.is_success() {
            let error = serde_json::from_slice::<StripeErrorBody>(&body)
                .map(|b| b.error)
                .unwrap_or_default();
            return Err(CallError::Refused {
                status: status.as_u16(),
                error,
            });
        }
        serde_json::from_slice(&body)
            .map_err(|e| CallError::Unanswered(format!("Stripe's answer could not be read: {e}")))
    }

    async fn intent(&self, reference: &str) -> Result<PaymentIntent, PaymentError> {
        self.call(&format!("/v1/payment_intents/{reference}"), None, None)
            .await
    }
}

/// What a PaymentIntent's status means for the ledger. A declined card
/// leaves it waiting for another payment method, with the decline in
/// `last_payment_error`: for us that is failed (see [`StripeProvider`]'s
/// `status`, which cancels it so it cannot be paid later unseen).
fn meaning(intent: &PaymentIntent) -> PaymentStatus {
    match intent.status.as_str() {
        "succeeded" => PaymentStatus::Paid,
        "canceled" => PaymentStatus::Failed,
        "requires_payment_method" if intent.last_payment_error.is_some() => PaymentStatus::Failed,
        _ => PaymentStatus::Open,
    }
}

/// What an off-session PaymentIntent's answer means: paid, still
/// processing, or failed and why. Stripe refuses an off-session charge
/// that needs authentication with `authentication_required` (402);
/// localstripe answers `requires_action` instead: both mean the bank
/// wants the parent, who is not there.
fn charge_meaning(intent: &PaymentIntent) -> ChargeOutcome {
    match intent.status.as_str() {
        "succeeded" => ChargeOutcome::Paid,
        "requires_action" => ChargeOutcome::Failed(Pause::AuthenticationRequired),
        "requires_payment_method" if intent.last_payment_error.is_some() => {
            ChargeOutcome::Failed(Pause::Declined)
        }
        "canceled" | "requires_payment_method" => ChargeOutcome::Failed(Pause::Failed),
        _ => ChargeOutcome::Open,
    }
}

/// A refused off-session charge: a decline or a bank asking for the
/// parent (402) fails it; a refusal of the request itself (400, 404: a
/// card forgotten meanwhile) too; our key refused (401, 403: ours to
/// fix, not the parent's), 409 (the same key still in progress), 429 and
/// Stripe's own trouble are asked again (None).
fn refusal_meaning(status: u16, code: Option<&str>) -> Option<Pause> {
    match (status, code) {
        (402, Some("authentication_required")) => Some(Pause::AuthenticationRequired),
        (402, _) => Some(Pause::Declined),
        (401 | 403 | 409 | 429, _) => None,
        (400..=499, _) => Some(Pause::Failed),
        _ => None,
    }
}

impl PaymentProvider for StripeProvider {
    fn name(&self) -> &'static str {
        "stripe"
    }

    fn saves_cards(&self) -> bool {
        true
    }

    fn new_customer<'a>(&'a self, person: Uuid) -> BoxFuture<'a, Result<String, PaymentError>> {
        Box::pin(async move {
            let form = [("metadata[person]", person.to_string())];
            // Asked twice for one person (two tabs), one customer.
            let key = format!("customer-{person}");
            let customer: Customer = self
                .call_as("/v1/customers", Some(&form), Some(&key))
                .await
                .map_err(|e| PaymentError(e.to_string()))?;
            Ok(customer.id)
        })
    }

    fn setup_card<'a>(
        &'a self,
        customer: &'a str,
        child: ChildId,
    ) -> BoxFuture<'a, Result<String, PaymentError>> {
        Box::pin(async move {
            let form = [
                ("customer", customer.to_string()),
                ("usage", "off_session".to_string()),
                ("payment_method_types[]", "card".to_string()),
                ("metadata[child]", child.to_string()),
            ];
            let setup: SetupIntent = self
                .call_as("/v1/setup_intents", Some(&form), None)
                .await
                .map_err(|e| PaymentError(e.to_string()))?;
            Ok(setup.id)
        })
    }

    fn setup_checkout<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Checkout, PaymentError>> {
        Box::pin(async move {
            let setup = self.setup_intent(reference).await?;
            let client_secret = setup
                .client_secret
                .ok_or_else(|| PaymentError(format!("{reference} has no client secret")))?;
            let scripts = self.scripts();
            Ok(Checkout {
                script: format!("{scripts}v3/"),
                script_origin: scripts,
                api_origin: self.config.api_url.clone(),
                publishable_key: self.config.publishable_key.clone(),
                client_secret,
                mobilepay: false,
            })
        })
    }

    fn setup_outcome<'a>(
        &'a self,
        reference: &'a str,
        customer: &'a str,
    ) -> BoxFuture<'a, Result<SetupOutcome, PaymentError>> {
        Box::pin(async move {
            let setup = self.setup_intent(reference).await?;
            match (setup.status.as_str(), setup.payment_method) {
                ("succeeded", Some(method)) => {
                    let path = format!("/v1/payment_methods/{method}");
                    let mut card: PaymentMethodObject = self
                        .call_as(&path, None, None)
                        .await
                        .map_err(|e| PaymentError(e.to_string()))?;
                    // Stripe hangs the card on the SetupIntent's customer;
                    // localstripe does not, so it is asked to.
                    if card.customer.is_none() {
                        let form = [("customer", customer.to_string())];
                        card = self
                            .call_as(&format!("{path}/attach"), Some(&form), None)
                            .await
                            .map_err(|e| PaymentError(e.to_string()))?;
                    }
                    let details = card.card;
                    Ok(SetupOutcome::Saved(SavedCard {
                        method: card.id,
                        brand: details.as_ref().and_then(|c| c.brand.clone()),
                        last4: details.and_then(|c| c.last4),
                    }))
                }
                ("canceled", _) => Ok(SetupOutcome::Failed),
                _ => Ok(SetupOutcome::Open),
            }
        })
    }

    fn charge_saved<'a>(
        &'a self,
        charge: SavedCharge<'a>,
    ) -> BoxFuture<'a, Result<Charge, PaymentError>> {
        Box::pin(async move {
            let payment = charge.payment;
            let form = [
                ("amount", payment.amount.ore().to_string()),
                ("currency", "dkk".to_string()),
                ("customer", charge.customer.to_string()),
                ("payment_method", charge.method.to_string()),
                ("payment_method_types[]", "card".to_string()),
                ("confirm", "true".to_string()),
                ("off_session", "true".to_string()),
                ("metadata[payment]", payment.id.to_string()),
                ("metadata[child]", payment.child.to_string()),
                ("metadata[automatic]", "true".to_string()),
            ];
            // The payment's id: asked again after a lost answer or a
            // crash, Stripe answers with the first PaymentIntent and
            // charges nothing more.
            let key = payment.id.to_string();
            let answer: Result<PaymentIntent, CallError> = self
                .call_as("/v1/payment_intents", Some(&form), Some(&key))
                .await;
            match answer {
                Ok(intent) => {
                    let outcome = charge_meaning(&intent);
                    if matches!(outcome, ChargeOutcome::Failed(_)) && intent.status != "canceled" {
                        // Waiting for the parent, or for another card: it
                        // must not be paid later unseen.
                        let cancel = format!("/v1/payment_intents/{}/cancel", intent.id);
                        if let Err(e) = self.call(&cancel, Some(&[]), None).await {
                            tracing::warn!(error = %e, reference = intent.id,
                                "a failed automatic payment could not be cancelled");
                        }
                    }
                    Ok(Charge {
                        reference: Some(intent.id),
                        outcome,
                    })
                }
                Err(CallError::Refused { status, error }) => {
                    match refusal_meaning(status, error.code.as_deref()) {
                        Some(pause) => {
                            let reference = error.payment_intent.map(|i| i.id);
                            if let Some(reference) = &reference {
                                // Left waiting for another card: cancelled,
                                // as a declined top-up by hand is.
                                let cancel = format!("/v1/payment_intents/{reference}/cancel");
                                if let Err(e) = self.call(&cancel, Some(&[]), None).await {
                                    tracing::warn!(error = %e, reference,
                                        "a declined automatic payment could not be cancelled");
                                }
                            }
                            Ok(Charge {
                                reference,
                                outcome: ChargeOutcome::Failed(pause),
                            })
                        }
                        None => Err(PaymentError(
                            CallError::Refused { status, error }.to_string(),
                        )),
                    }
                }
                Err(e) => Err(PaymentError(e.to_string())),
            }
        })
    }

    fn forget_card<'a>(&'a self, method: &'a str) -> BoxFuture<'a, Result<(), PaymentError>> {
        Box::pin(async move {
            let path = format!("/v1/payment_methods/{method}/detach");
            let _: PaymentMethodObject = self
                .call_as(&path, Some(&[]), None)
                .await
                .map_err(|e| PaymentError(e.to_string()))?;
            Ok(())
        })
    }

    fn start<'a>(
        &'a self,
        payment: &'a NewPayment,
    ) -> BoxFuture<'a, Result<StartedPayment, PaymentError>> {
        Box::pin(async move {
            // Øre, an integer, from the exact decimal: never a float.
            let mut form = vec![
                ("amount", payment.amount.ore().to_string()),
                ("currency", "dkk".to_string()),
                ("metadata[payment]", payment.id.to_string()),
                ("metadata[child]", payment.child.to_string()),
            ];
            for method in &self.config.payment_methods {
                form.push(("payment_method_types[]", method.clone()));
            }
            // The payment's id: a start retried after a lost answer makes
            // no second PaymentIntent.
            let key = payment.id.to_string();
            let intent = self
                .call("/v1/payment_intents", Some(&form), Some(&key))
                .await?;
            Ok(StartedPayment {
                pay_url: format!("/portal/payments/{}/pay", payment.id),
                reference: intent.id,
            })
        })
    }

    fn status<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<PaymentStatus, PaymentError>> {
        Box::pin(async move {
            let intent = self.intent(reference).await?;
            let status = meaning(&intent);
            if status == PaymentStatus::Failed && intent.status != "canceled" {
                // A declined PaymentIntent could still be paid with another
                // card; once we have told the parent it failed, it must
                // not be. Cancelled, it cannot; if the cancel fails (it
                // was paid meanwhile), it stays open and is asked again.
                let cancel = format!("/v1/payment_intents/{reference}/cancel");
                return Ok(match self.call(&cancel, Some(&[]), None).await {
                    Ok(canceled) => meaning(&canceled),
                    Err(e) => {
                        tracing::warn!(error = %e, reference, "a declined payment could not be cancelled");
                        PaymentStatus::Open
                    }
                });
            }
            Ok(status)
        })
    }

    fn checkout<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<Checkout>, PaymentError>> {
        Box::pin(async move {
            let intent = self.intent(reference).await?;
            let client_secret = intent
                .client_secret
                .ok_or_else(|| PaymentError(format!("{reference} has no client secret")))?;
            let scripts = self.scripts();
            Ok(Some(Checkout {
                script: format!("{scripts}v3/"),
                script_origin: scripts,
                api_origin: self.config.api_url.clone(),
                publishable_key: self.config.publishable_key.clone(),
                client_secret,
                mobilepay: self.config.payment_methods.iter().any(|m| m == "mobilepay"),
            }))
        })
    }

    fn webhook(
        &self,
        signature: Option<&str>,
        payload: &[u8],
        now: i64,
    ) -> Result<ProviderEvent, WebhookError> {
        let signature = signature.ok_or(WebhookError::Unsigned)?;
        verify(&self.config.webhook_secret, signature, payload, now)?;
        let event: Event =
            serde_json::from_slice(payload).map_err(|e| WebhookError::Unreadable(e.to_string()))?;
        let payment = event
            .data
            .object
            .metadata
            .get("payment")
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| WebhookError::Unreadable("no payment in the metadata".into()))?;
        match event.kind.as_str() {
            "payment_intent.succeeded"
            | "payment_intent.payment_failed"
            | "payment_intent.canceled" => Ok(ProviderEvent {
                payment,
                reference: event.data.object.id,
            }),
            _ => Err(WebhookError::UnknownEvent(event.kind)),
        }
    }
}

impl StripeProvider {
    async fn setup_intent(&self, reference: &str) -> Result<SetupIntent, PaymentError> {
        self.call_as(&format!("/v1/setup_intents/{reference}"), None, None)
            .await
            .map_err(|e| PaymentError(e.to_string()))
    }

    /// Where Stripe.js comes from, with a trailing slash (a CSP source
    /// for all below it): js.stripe.com, or localstripe's stand-in at its
    /// own address under `/js.stripe.com/`.
    fn scripts(&self) -> String {
        if self.config.api_url == API_URL {
            "https://js.stripe.com/".into()
        } else {
            format!("{}/js.stripe.com/", self.config.api_url)
        }
    }
}

/// Checks `Stripe-Signature: t=…,v1=…[,v1=…]`: an HMAC-SHA-256 of
/// "t.payload" with the webhook secret (compared in constant time by
/// `hmac`), any of the `v1`s (two while a secret is being rolled), and
/// `t` within [`TOLERANCE_SECONDS`] of `now`.
pub fn verify(secret: &str, header: &str, payload: &[u8], now: i64) -> Result<(), WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v1)) => signatures.extend(hex::decode(v1).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::BadSignature)?;
    let signed = |signature: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        mac.verify_slice(signature).is_ok()
    };
    if !signatures.iter().any(|s| signed(s)) {
        return Err(WebhookError::BadSignature);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(WebhookError::TooOld(timestamp));
    }
    Ok(())
}

/// A `Stripe-Signature` header for `payload` at `timestamp`, as Stripe
/// signs: for tests that deliver webhooks themselves.
pub fn sign(secret: &str, payload: &[u8], timestamp: i64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(payload);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";

    #[test]
    fn a_signature_is_checked_with_its_timestamp() {
        let payload = br#"{"id":"evt_1"}"#;
        let header = sign(SECRET, payload, 1_000_000);
        assert!(verify(SECRET, &header, payload, 1_000_000).is_ok());
        assert!(verify(SECRET, &header, payload, 1_000_000 + TOLERANCE_SECONDS).is_ok());
        assert!(matches!(
            verify(SECRET, &header, payload, 1_000_000 + TOLERANCE_SECONDS + 1),
            Err(WebhookError::TooOld(_))
        ));
        for (secret, header, payload) in [
            ("whsec_other", header.as_str(), &payload[..]),
            (SECRET, header.as_str(), br#"{"id":"evt_2"}"#),
            (SECRET, &header.replace("t=1000000", "t=1000001"), payload),
            (SECRET, "t=1000000", payload),
            (SECRET, "v1=00", payload),
            (SECRET, "", payload),
        ] {
            assert!(
                matches!(
                    verify(secret, header, payload, 1_000_000),
                    Err(WebhookError::BadSignature)
                ),
                "{secret} {header}"
            );
        }
        // While a secret is rolled, Stripe signs with both.
        let both = format!("{header},v1={}", "ab".repeat(32));
        assert!(verify(SECRET, &both, payload, 1_000_000).is_ok());
    }

    /// A PaymentIntent as Stripe answers it; `error`: with a decline.
    fn intent(status: &str, error: bool) -> PaymentIntent {
        PaymentIntent {
            id: "pi_1".into(),
            status: status.into(),
            client_secret: None,
            last_payment_error: error.then(|| serde_json::json!({"code": "card_declined"})),
        }
    }

    #[test]
    fn an_off_session_charge_needing_the_parent_or_declined_fails() {
        for (status, error, meant) in [
            ("succeeded", false, ChargeOutcome::Paid),
            ("processing", false, ChargeOutcome::Open),
            (
                "requires_action",
                false,
                ChargeOutcome::Failed(Pause::AuthenticationRequired),
            ),
            (
                "requires_payment_method",
                true,
                ChargeOutcome::Failed(Pause::Declined),
            ),
            ("canceled", false, ChargeOutcome::Failed(Pause::Failed)),
        ] {
            assert_eq!(charge_meaning(&intent(status, error)), meant, "{status}");
        }
        assert_eq!(
            refusal_meaning(402, Some("authentication_required")),
            Some(Pause::AuthenticationRequired)
        );
        assert_eq!(
            refusal_meaning(402, Some("card_declined")),
            Some(Pause::Declined)
        );
        assert_eq!(refusal_meaning(404, None), Some(Pause::Failed));
        for asked_again in [401, 403, 409, 429, 500, 503] {
            assert_eq!(refusal_meaning(asked_again, None), None, "{asked_again}");
        }
    }

    #[test]
    fn a_decline_is_a_failure_and_waiting_is_open() {
        for (status, error, meant) in [
            ("succeeded", false, PaymentStatus::Paid),
            ("canceled", false, PaymentStatus::Failed),
            ("requires_payment_method", true, PaymentStatus::Failed),
            ("requires_payment_method", false, PaymentStatus::Open),
            ("requires_action", false, PaymentStatus::Open),
            ("processing", false, PaymentStatus::Open),
        ] {
            assert_eq!(meaning(&intent(status, error)), meant, "{status} {error}");
        }
    }
}
