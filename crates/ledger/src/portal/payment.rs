//! Top-ups are paid through a payment provider behind [`PaymentProvider`]:
//! a card-payment gateway plugs in there. [`TestProvider`] stands in for
//! one in the tests and the demo, with its own pay page under
//! `/portal/test-payment`.
//!
//! The browser is never believed: when the parent comes back from the
//! provider's page, the ledger asks the provider what became of the
//! payment, and only a paid one becomes a deposit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use uuid::Uuid;

use crate::db::auto_topup::{Pause, SavedCard};
use klubkasse_core::domain::{ChildId, Money};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    /// The parent has not finished yet.
    Open,
    Paid,
    /// Declined, cancelled or expired: no money moved.
    Failed,
}

/// What the provider is told to collect.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Ours; the provider echoes nothing back that we trust.
    pub id: Uuid,
    /// Whose card the money goes on (in the provider's metadata too).
    pub child: ChildId,
    pub amount: Money,
    /// Shown on the parent's card statement.
    pub description: String,
    /// Where the provider sends the browser when done, paid or not.
    pub return_url: String,
}

#[derive(Debug, Clone)]
pub struct StartedPayment {
    /// The provider's reference, to ask about it later.
    pub reference: String,
    /// The provider's page where the parent pays.
    pub pay_url: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the payment provider failed: {0}")]
pub struct PaymentError(pub String);

/// What the pay page needs when the parent pays on our page with the
/// provider's script (Stripe.js) rather than on the provider's site.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The provider's script, the one script the page loads from elsewhere.
    pub script: String,
    /// What the page's Content-Security-Policy allows scripts and frames
    /// from.
    pub script_origin: String,
    /// What the provider's script may connect to.
    pub api_origin: String,
    pub publishable_key: String,
    /// Lets the browser pay this one payment, nothing else.
    pub client_secret: String,
    /// Offer MobilePay beside the card.
    pub mobilepay: bool,
}

/// A provider's signed word that a payment changed: which one. What
/// became of it is then asked of the provider, as for the return page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// Ours, from the provider's metadata.
    pub payment: Uuid,
    /// The provider's, to check against the payment's.
    pub reference: String,
}

/// Why a webhook is refused (400). Says nothing of the secret.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("this payment provider sends no webhooks")]
    NotSupported,
    #[error("no signature")]
    Unsigned,
    #[error("a signature that does not match")]
    BadSignature,
    #[error("signed at {0}: too far from now (a replay?)")]
    TooOld(i64),
    #[error("an event that could not be read: {0}")]
    Unreadable(String),
    #[error("an event of a kind we do not handle: {0}")]
    UnknownEvent(String),
    #[error("an event about a payment we do not have: {0}")]
    UnknownPayment(String),
}

/// What became of a charge of a saved card made while the parent is away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeOutcome {
    Paid,
    /// Still processing: asked again later (or the webhook says).
    Open,
    /// No money moved, and why.
    Failed(Pause),
}

/// The provider's answer to a charge of a saved card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The provider's reference, if it said one (a decline may not).
    pub reference: Option<String>,
    pub outcome: ChargeOutcome,
}

/// What became of saving a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupOutcome {
    Saved(SavedCard),
    /// The parent has not finished yet.
    Open,
    /// Declined or given up: nothing saved.
    Failed,
}

/// A charge of a saved card: the payment, whose card at the provider.
#[derive(Debug, Clone)]
pub struct SavedCharge<'a> {
    pub payment: &'a NewPayment,
    pub customer: &'a str,
    pub method: &'a str,
}

pub trait PaymentProvider: Send + Sync {
    /// A short name, stored with each payment.
    fn name(&self) -> &'static str;

    fn start<'a>(
        &'a self,
        payment: &'a NewPayment,
    ) -> BoxFuture<'a, Result<StartedPayment, PaymentError>>;

    fn status<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<PaymentStatus, PaymentError>>;

    /// For a provider paid on our own pay page: what that page needs.
    /// None: the parent pays at `pay_url` on the provider's site.
    fn checkout<'a>(
        &'a self,
        _reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<Checkout>, PaymentError>> {
        Box::pin(async { Ok(None) })
    }

    /// Whether it can save a card for automatic top-up.
    fn saves_cards(&self) -> bool {
        false
    }

    /// The person's customer at the provider, made (the same for the same
    /// person if asked again).
    fn new_customer<'a>(&'a self, _person: Uuid) -> BoxFuture<'a, Result<String, PaymentError>> {
        Box::pin(async { Err(no_saved_cards()) })
    }

    /// Starts saving a card of `customer` for charges while they are away
    /// (for `child`): the provider's reference.
    fn setup_card<'a>(
        &'a self,
        _customer: &'a str,
        _child: ChildId,
    ) -> BoxFuture<'a, Result<String, PaymentError>> {
        Box::pin(async { Err(no_saved_cards()) })
    }

    /// What the save-card page needs (as [`PaymentProvider::checkout`]).
    fn setup_checkout<'a>(
        &'a self,
        _reference: &'a str,
    ) -> BoxFuture<'a, Result<Checkout, PaymentError>> {
        Box::pin(async { Err(no_saved_cards()) })
    }

    /// What became of saving the card: asked of the provider, never the
    /// browser. A saved card hangs on `customer`.
    fn setup_outcome<'a>(
        &'a self,
        _reference: &'a str,
        _customer: &'a str,
    ) -> BoxFuture<'a, Result<SetupOutcome, PaymentError>> {
        Box::pin(async { Err(no_saved_cards()) })
    }

    /// Charges a saved card while the parent is away. The payment's id is
    /// the idempotency key: asked again (a lost answer, a crash), the
    /// provider answers with the first charge. An error: not answered,
    /// to be asked again.
    fn charge_saved<'a>(
        &'a self,
        _charge: SavedCharge<'a>,
    ) -> BoxFuture<'a, Result<Charge, PaymentError>> {
        Box::pin(async { Err(no_saved_cards()) })
    }

    /// Forgets a saved card at the provider.
    fn forget_card<'a>(&'a self, _method: &'a str) -> BoxFuture<'a, Result<(), PaymentError>> {
        Box::pin(async { Err(no_saved_cards()) })
    }

    /// A webhook's payload checked against its `signature` header at
    /// `now` (Unix seconds).
    fn webhook(
        &self,
        _signature: Option<&str>,
        _payload: &[u8],
        _now: i64,
    ) -> Result<ProviderEvent, WebhookError> {
        Err(WebhookError::NotSupported)
    }
}

fn no_saved_cards() -> PaymentError {
    PaymentError("this payment provider saves no cards".into())
}

/// A payment the test provider holds.
#[derive(Debug, Clone)]
pub struct TestPayment {
    pub amount: Money,
    pub description: String,
    pub return_url: String,
    pub status: PaymentStatus,
}

/// A provider with no money behind it: its pay page has a "pay" and a
/// "cancel" button. For tests and the demo only.
#[derive(Debug, Default, Clone)]
pub struct TestProvider {
    payments: Arc<Mutex<HashMap<String, TestPayment>>>,
}

impl TestProvider {
    pub fn payment(&self, reference: &str) -> Option<TestPayment> {
        self.lock().get(reference).cloned()
    }

    /// The parent pressed pay or cancel; only an open payment changes.
    pub fn decide(&self, reference: &str, paid: bool) -> Option<TestPayment> {
        let mut payments = self.lock();
        let payment = payments.get_mut(reference)?;
        if payment.status == PaymentStatus::Open {
            payment.status = if paid {
                PaymentStatus::Paid
            } else {
                PaymentStatus::Failed
            };
        }
        Some(payment.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TestPayment>> {
        self.payments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PaymentProvider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }

    fn start<'a>(
        &'a self,
        payment: &'a NewPayment,
    ) -> BoxFuture<'a, Result<StartedPayment, PaymentError>> {
        Box::pin(async move {
            let reference = format!("test-{}", Uuid::now_v7().simple());
            self.lock().insert(
                reference.clone(),
                TestPayment {
                    amount: payment.amount,
                    description: payment.description.clone(),
                    return_url: payment.return_url.clone(),
                    status: PaymentStatus::Open,
                },
            );
            Ok(StartedPayment {
                pay_url: format!("/portal/test-payment/{reference}"),
                reference,
            })
        })
    }

    fn status<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<PaymentStatus, PaymentError>> {
        Box::pin(async move {
            self.payment(reference)
                .map(|p| p.status)
                .ok_or_else(|| PaymentError(format!("no payment {reference}")))
        })
    }
}
