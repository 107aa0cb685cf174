//! Automatic top-up: a payer saves a card (a SetupIntent for use while
//! they are away, confirmed with Stripe.js on our own page, as the pay
//! page) and sets "when the balance falls below Y, top up X". A fall is
//! recorded with the entry that caused it ([`db::auto_topup`]); the
//! [`Charger`] charges the saved card after the commit, the payment's id
//! as the idempotency key, and a paid charge becomes a deposit as every
//! top-up does. A decline or a bank asking the parent to authenticate
//! pauses it, with a mail, until the parent saves a card again or turns
//! it back on here.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use sqlx::PgPool;

use super::layout::{self, Lang};
use super::payment::{
    ChargeOutcome, NewPayment, PaymentProvider, PaymentStatus, SavedCharge, SetupOutcome,
};
use super::session::{Asked, NoFields, OwnChild, Posted, Role, Session};
use super::{PortalError, portal};
use crate::db::auto_topup::{self as queries, AutoTopup, Due, Pause, Rule};
use crate::db::payments;
use crate::{AppState, db, validate};
use klubkasse_core::domain::{ChildId, Money};

/// The least an automatic top-up may be, as a top-up by hand.
fn smallest() -> Money {
    Money::kroner(20)
}

/// A payer of the child named in the path: automatic top-up is the
/// payer's own card, so office staff (who may see the child) find no
/// such page.
pub struct Payer {
    pub session: Session,
    pub child: ChildId,
}

impl axum::extract::FromRequestParts<AppState> for Payer {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Payer, PortalError> {
        let OwnChild { session, child } = OwnChild::from_request_parts(parts, state).await?;
        payer(OwnChild { session, child })
    }
}

/// [`Payer`] for a form: taken after its CSRF token is checked, so a
/// forged form is refused as a forgery whoever sends it.
fn payer(own: OwnChild) -> Result<Payer, PortalError> {
    match own.session.role {
        Role::Parent => Ok(Payer {
            session: own.session,
            child: own.child,
        }),
        Role::Office(_) => Err(PortalError::NotFound),
    }
}

fn base(child: ChildId) -> String {
    format!("/portal/children/{child}/auto-top-up")
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    /// A message after an action, by name (never text from the URL).
    done: Option<String>,
}

fn notice_text(lang: Lang, done: &str) -> Option<&'static str> {
    Some(match done {
        "saved" => lang.t("portal.auto_topup.saved"),
        "card-saved" => lang.t("portal.auto_topup.card_saved"),
        "card-not-saved" => lang.t("portal.auto_topup.card_not_saved"),
        "removed" => lang.t("portal.auto_topup.removed"),
        _ => return None,
    })
}

/// Why it is paused, in words for the parent.
pub fn pause_text(lang: Lang, pause: Pause) -> &'static str {
    match pause {
        Pause::Declined => lang.t("portal.auto_topup.paused_declined"),
        Pause::AuthenticationRequired => lang.t("portal.auto_topup.paused_authentication"),
        Pause::Failed => lang.t("portal.auto_topup.paused_failed"),
    }
}

/// What the form held, to show again with a problem.
#[derive(Debug, Default)]
struct Filled {
    threshold: String,
    amount: String,
    on: bool,
}

async fn draw(
    state: &AppState,
    lang: Lang,
    session: &Session,
    child: ChildId,
    filled: Option<Filled>,
    problem: Option<&str>,
    notice: Option<&str>,
) -> Result<Response, PortalError> {
    let name = db::detail(&state.pool, child).await?.child.name;
    let saves_cards = portal(state)?.payments.saves_cards();
    let setting = queries::setting(&state.pool, session.person, child).await?;
    let card = setting.as_ref().filter(|s| s.payment_method.is_some());
    let filled = filled.unwrap_or_else(|| Filled {
        threshold: card
            .and_then(|s| s.threshold)
            .map(Money::danish_number)
            .unwrap_or_default(),
        amount: card
            .and_then(|s| s.amount)
            .map(Money::danish_number)
            .unwrap_or_default(),
        on: card.is_some_and(|s| s.enabled),
    });
    let cap = state.settings.balance_cap;
    let per_month = state.settings.auto_topups_per_month.to_string();
    let title = lang.t("portal.auto_topup.title");
    let body = html! {
        (layout::problem(problem))
        (layout::notice(notice))
        p { (lang.t("portal.auto_topup.for")) strong { (name) } }
        @if !saves_cards {
            p { (lang.t("portal.auto_topup.not_offered")) }
        } @else {
            p.muted { (lang.t("portal.auto_topup.explained")) }
            @if let Some(setting) = card {
                (state_line(lang, setting))
                p data-card {
                    (lang.t("portal.auto_topup.saved_card"))
                    (brand(setting.card_brand.as_deref().unwrap_or(""))) " •••• "
                    (setting.card_last4.as_deref().unwrap_or("····"))
                }
                form method="post" {
                    (layout::csrf(session))
                    label for="threshold" { (lang.t("portal.auto_topup.when_below")) }
                    input #threshold name="threshold" inputmode="decimal" required
                        value=(filled.threshold) placeholder="30";
                    label for="amount" { (lang.t("portal.auto_topup.top_up_by")) }
                    input #amount name="amount" inputmode="decimal" required
                        value=(filled.amount) placeholder="100";
                    label {
                        input type="checkbox" name="on" value="1" checked[filled.on];
                        " " (lang.t("portal.auto_topup.on"))
                    }
                    p.muted {
                        (klubkasse_core::i18n::fill(lang.t("portal.auto_topup.at_most_a_month"), &[("n", per_month.as_str())]))
                        " " (lang.t("portal.auto_topup.within_the_cap")) (cap)
                    }
                    div.actions {
                        button.primary type="submit" { (lang.t("portal.auto_topup.save")) }
                    }
                }
            } @else {
                p { (lang.t("portal.auto_topup.no_card")) }
            }
            div.actions {
                form method="post" action={ (base(child)) "/card" } {
                    (layout::csrf(session))
                    button.secondary type="submit" {
                        @if card.is_some() { (lang.t("portal.auto_topup.save_another_card")) }
                        @else { (lang.t("portal.auto_topup.save_a_card")) }
                    }
                }
                @if card.is_some() {
                    form method="post" action={ (base(child)) "/remove" } {
                        (layout::csrf(session))
                        button.secondary type="submit" { (lang.t("portal.auto_topup.remove_card")) }
                    }
                }
            }
        }
        p { a href="/portal" { (lang.t("portal.auto_topup.back")) } }
    };
    Ok(layout::page(lang, session, title, body).into_response())
}

/// A card's brand as Stripe names it (`visa`, `mastercard`), as people
/// write it.
pub(super) fn brand(name: &str) -> String {
    match name {
        "amex" => "American Express".into(),
        "mastercard" => "Mastercard".into(),
        _ => {
            let mut chars = name.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect())
                .unwrap_or_default()
        }
    }
}

/// On, off, or paused and why.
fn state_line(lang: Lang, setting: &AutoTopup) -> maud::Markup {
    html! {
        @match (setting.paused, setting.enabled) {
            (Some(pause), _) => {
                p.problem role="alert" data-paused=(pause.as_str()) {
                    (lang.t("portal.auto_topup.paused")) " " (pause_text(lang, pause)) " "
                    (lang.t("portal.auto_topup.paused_until"))
                }
            }
            (None, true) => { p data-state="on" { (lang.t("portal.auto_topup.is_on")) } }
            (None, false) => { p data-state="off" { (lang.t("portal.auto_topup.is_off")) } }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    Payer { session, child }: Payer,
    Asked(notice): Asked<Notice>,
) -> Result<Response, PortalError> {
    let notice = notice.done.as_deref().and_then(|d| notice_text(lang, d));
    draw(&state, lang, &session, child, None, None, notice).await
}

#[derive(Debug, Deserialize)]
pub struct RuleForm {
    threshold: String,
    amount: String,
    /// The checkbox: sent only when ticked.
    #[serde(default)]
    on: Option<String>,
}

/// The rule if the form is right: amounts as the portal writes them, X at
/// least the smallest top-up, and Y + X within the cap (a top-up starts
/// below Y, so the balance after it stays within the cap).
fn checked(lang: Lang, form: &RuleForm, cap: Money) -> Result<Rule, String> {
    let (Some(threshold), Some(amount)) = (
        validate::typed_kroner(form.threshold.trim()),
        validate::typed_kroner(form.amount.trim()),
    ) else {
        return Err(lang.t("portal.auto_topup.write_amounts").into());
    };
    if !threshold.is_positive() || amount < smallest() || threshold + amount > cap {
        return Err(format!(
            "{} {} {} {}.",
            lang.t("portal.auto_topup.within_cap_problem"),
            smallest(),
            lang.t("portal.auto_topup.and_together_at_most"),
            cap
        ));
    }
    Ok(Rule { threshold, amount })
}

/// Saves the rule, on or off; turned on, a pause ends.
pub async fn save(
    State(state): State<AppState>,
    lang: Lang,
    own: OwnChild,
    Posted(form): Posted<RuleForm>,
) -> Result<Response, PortalError> {
    let Payer { session, child } = payer(own)?;
    let filled = Filled {
        threshold: form.threshold.clone(),
        amount: form.amount.clone(),
        on: form.on.is_some(),
    };
    let rule = match checked(lang, &form, state.settings.balance_cap) {
        Ok(rule) => rule,
        Err(problem) => {
            return draw(
                &state,
                lang,
                &session,
                child,
                Some(filled),
                Some(&problem),
                None,
            )
            .await;
        }
    };
    let saved = queries::save_rule(&state.pool, session.person, child, rule, filled.on).await?;
    if !saved {
        let problem = lang.t("portal.auto_topup.save_a_card_first");
        return draw(
            &state,
            lang,
            &session,
            child,
            Some(filled),
            Some(problem),
            None,
        )
        .await;
    }
    Ok(Redirect::to(&format!("{}?done=saved", base(child))).into_response())
}

/// Starts saving a card: the person's customer at the provider (made the
/// first time), a SetupIntent, and on to the page that confirms it.
pub async fn start_card(
    State(state): State<AppState>,
    own: OwnChild,
    Posted(_): Posted<NoFields>,
) -> Result<Response, PortalError> {
    let Payer { session, child } = payer(own)?;
    let provider = &portal(&state)?.payments;
    if !provider.saves_cards() {
        return Ok(Redirect::to(&base(child)).into_response());
    }
    let customer = match queries::customer(&state.pool, session.person).await? {
        Some(customer) => customer,
        None => {
            let made = provider.new_customer(session.person).await?;
            queries::keep_customer(&state.pool, session.person, provider.name(), &made).await?
        }
    };
    let setup = provider.setup_card(&customer, child).await?;
    queries::setup_started(&state.pool, session.person, child, provider.name(), &setup).await?;
    Ok(Redirect::to(&format!("{}/card", base(child))).into_response())
}

/// The page where the parent types the card: Stripe.js confirms the
/// SetupIntent (3-D Secure if the bank asks), then on to the return page.
pub async fn card_page(
    State(state): State<AppState>,
    lang: Lang,
    Payer { session, child }: Payer,
) -> Result<Response, PortalError> {
    let setting = queries::setting(&state.pool, session.person, child).await?;
    let Some(setup) = setting.and_then(|s| s.setup_ref) else {
        return Ok(Redirect::to(&base(child)).into_response());
    };
    let checkout = portal(&state)?.payments.setup_checkout(&setup).await?;
    let name = db::detail(&state.pool, child).await?.child.name;
    let back = format!("{}/card/return", base(child));
    let body = layout::page(
        lang,
        &session,
        lang.t("portal.auto_topup.title"),
        html! {
            p { (lang.t("portal.auto_topup.for")) strong { (name) } }
            p.muted { (lang.t("portal.auto_topup.card_page_explained")) }
            form #save-card data-key=(checkout.publishable_key)
                data-secret=(checkout.client_secret) data-return=(back) {
                label for="card" { (lang.t("portal.topup.card")) }
                div #card {}
                p #problem .problem hidden {}
                div.actions {
                    button.primary type="submit" { (lang.t("portal.auto_topup.save_card")) }
                    a.button.secondary href=(base(child)) { (lang.t("portal.topup.cancel")) }
                }
            }
            script src=(checkout.script) {}
            script src="/portal/save-card.js" {}
        },
    );
    super::topup::with_checkout_csp(body.into_response(), &checkout)
}

/// Back from confirming: the provider is asked, never the browser,
/// whether a card was saved; a saved one is the card from now on, and the
/// one it replaces is forgotten at the provider.
pub async fn card_back(
    State(state): State<AppState>,
    Payer { session, child }: Payer,
) -> Result<Response, PortalError> {
    let setting = queries::setting(&state.pool, session.person, child).await?;
    let customer = queries::customer(&state.pool, session.person).await?;
    let (Some(setup), Some(customer)) = (setting.and_then(|s| s.setup_ref), customer) else {
        return Ok(Redirect::to(&base(child)).into_response());
    };
    let provider = &portal(&state)?.payments;
    let done = match provider.setup_outcome(&setup, &customer).await? {
        SetupOutcome::Saved(card) => {
            let replaced =
                queries::card_saved(&state.pool, session.person, child, &setup, &card).await?;
            if let Some(Some(old)) = replaced {
                forget(&state.pool, provider.as_ref(), session.person, &old).await?;
            }
            "card-saved"
        }
        SetupOutcome::Open | SetupOutcome::Failed => "card-not-saved",
    };
    Ok(Redirect::to(&format!("{}?done={done}", base(child))).into_response())
}

/// Forgets the card and the rule here, then at the provider.
pub async fn remove(
    State(state): State<AppState>,
    own: OwnChild,
    Posted(_): Posted<NoFields>,
) -> Result<Response, PortalError> {
    let Payer { session, child } = payer(own)?;
    if let Some(method) = queries::remove(&state.pool, session.person, child).await? {
        let provider = &portal(&state)?.payments;
        forget(&state.pool, provider.as_ref(), session.person, &method).await?;
    }
    Ok(Redirect::to(&format!("{}?done=removed", base(child))).into_response())
}

/// Detaches a card at the provider unless another of the person's
/// children still uses it. Not charged again either way: it is gone from
/// the ledger; a provider that does not answer is logged.
async fn forget(
    pool: &PgPool,
    provider: &dyn PaymentProvider,
    person: uuid::Uuid,
    method: &str,
) -> Result<(), PortalError> {
    if queries::card_in_use(pool, person, method).await? {
        return Ok(());
    }
    if let Err(e) = provider.forget_card(method).await {
        tracing::warn!(error = %e, "a removed card could not be detached at the provider");
    }
    Ok(())
}

/// The save-card page's script: a file of its own (no inline script).
const SAVE_CARD_SCRIPT: &str = include_str!("save-card.js");

pub async fn save_card_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SAVE_CARD_SCRIPT,
    )
        .into_response()
}

/// Charges the automatic top-ups that are due, for as long as the ledger
/// runs: each claimed (held a while, so a worker that dies leaves it to
/// the next try), charged with the payment's id as the idempotency key,
/// and settled with the provider's answer; a provider that does not
/// answer is asked again after a growing pause, the same key, so a charge
/// is made once however often it is asked.
pub struct Charger {
    pub pool: PgPool,
    pub provider: Arc<dyn PaymentProvider>,
    /// How often to look when nothing was due.
    pub poll: Duration,
}

/// A claimed payment is held this long.
const HOLD: Duration = Duration::from_secs(120);
/// A payment still processing is asked about again after this.
const PROCESSING: Duration = Duration::from_secs(30);
const ROUND: i64 = 20;
const LONGEST_PAUSE: Duration = Duration::from_secs(600);

impl Charger {
    pub async fn run(self) {
        loop {
            match self.charge_due().await {
                Ok(done) if done > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "automatic top-ups could not be read"),
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// One round: how many were due.
    pub async fn charge_due(&self) -> Result<usize, PortalError> {
        let due = queries::claim_due(&self.pool, ROUND, HOLD).await?;
        for payment in &due {
            self.charge(payment).await?;
        }
        Ok(due.len())
    }

    async fn charge(&self, due: &Due) -> Result<(), PortalError> {
        let pause = super::mail::pause_after(due.attempts, LONGEST_PAUSE);
        let outcome = if due.reference.is_empty() {
            let new = NewPayment {
                id: due.id,
                child: due.child,
                amount: due.amount,
                description: "klubkasse".into(),
                return_url: String::new(),
            };
            let charge = SavedCharge {
                payment: &new,
                customer: &due.customer,
                method: &due.payment_method,
            };
            match self.provider.charge_saved(charge).await {
                Ok(charge) => {
                    if let Some(reference) = &charge.reference {
                        queries::charged(&self.pool, due.id, reference).await?;
                    }
                    charge.outcome
                }
                Err(e) => {
                    tracing::warn!(payment = %due.id, attempts = due.attempts, error = %e,
                        "an automatic top-up was not answered; asked again in {} s",
                        pause.as_secs());
                    queries::retry_in(&self.pool, due.id, pause).await?;
                    return Ok(());
                }
            }
        } else {
            // Answered before but still processing: asked as the return
            // page asks.
            match self.provider.status(&due.reference).await {
                Ok(PaymentStatus::Paid) => ChargeOutcome::Paid,
                Ok(PaymentStatus::Failed) => ChargeOutcome::Failed(Pause::Failed),
                Ok(PaymentStatus::Open) => ChargeOutcome::Open,
                Err(e) => {
                    tracing::warn!(payment = %due.id, error = %e, "an automatic top-up's status");
                    queries::retry_in(&self.pool, due.id, pause).await?;
                    return Ok(());
                }
            }
        };
        let Some(payment) = payments::payment(&self.pool, due.id).await? else {
            return Ok(());
        };
        match outcome {
            ChargeOutcome::Paid => payments::settle_payment_as(&self.pool, &payment, None).await?,
            ChargeOutcome::Failed(why) => {
                tracing::info!(payment = %due.id, ?why, "an automatic top-up failed: paused");
                payments::settle_payment_as(&self.pool, &payment, Some(why)).await?
            }
            ChargeOutcome::Open => queries::retry_in(&self.pool, due.id, PROCESSING).await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(threshold: &str, amount: &str) -> RuleForm {
        RuleForm {
            threshold: threshold.into(),
            amount: amount.into(),
            on: Some("1".into()),
        }
    }

    #[test]
    fn a_rule_is_read_the_danish_way_and_kept_within_the_cap() {
        let cap = Money::kroner(1000);
        let rule = checked(Lang::DA, &form("30", "100"), cap).unwrap();
        assert_eq!(rule.threshold, Money::kroner(30));
        assert_eq!(rule.amount, Money::kroner(100));
        let rule = checked(Lang::DA, &form("29,50", "1.000"), Money::kroner(2000)).unwrap();
        assert_eq!(rule.threshold, Money::from_ore(2950));
        assert_eq!(rule.amount, Money::kroner(1000));
        // Y + X at the cap is within it; past it, not.
        assert!(checked(Lang::DA, &form("100", "900"), cap).is_ok());
        for (threshold, amount) in [
            ("100", "900,01"),
            ("0", "100"),
            ("30", "19,99"),
            ("30", "-100"),
            ("30", "12.50"),
            ("tredive", "100"),
            ("", "100"),
        ] {
            assert!(
                checked(Lang::DA, &form(threshold, amount), cap).is_err(),
                "{threshold} {amount}"
            );
        }
    }
}
