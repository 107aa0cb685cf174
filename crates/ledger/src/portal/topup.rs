//! Top up: an amount, the provider's pay page, and back: the ledger asks
//! the provider, and a paid payment becomes a deposit (once: the deposit's
//! id is the payment's).

use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::layout::{self, Lang};
use super::payment::{Checkout, NewPayment, PaymentStatus, WebhookError};
use super::session::{OwnChild, Posted, Session};
use super::{PortalError, portal};
use crate::db::DbError;
use crate::db::payments::{self, Payment};
use crate::{AppState, db, validate};
use klubkasse_core::domain::{ChildId, Money};

/// The least a top-up may be: card fees make smaller ones pointless.
fn smallest() -> Money {
    Money::kroner(20)
}

async fn child_name_and_room(
    state: &AppState,
    child: ChildId,
) -> Result<(String, Money), PortalError> {
    let detail = db::detail(&state.pool, child).await?;
    if detail.closed_at.is_some() {
        return Err(db::children::closed(child).into());
    }
    let mut conn = state.pool.acquire().await.map_err(DbError::from)?;
    let room = payments::room(&mut conn, child, state.settings.balance_cap).await?;
    Ok((detail.child.name, room))
}

pub async fn form(
    State(state): State<AppState>,
    lang: Lang,
    OwnChild { session, child }: OwnChild,
) -> Result<Response, PortalError> {
    let (name, room) = child_name_and_room(&state, child).await?;
    Ok(page(lang, &session, &name, room, None, "").into_response())
}

fn page(
    lang: Lang,
    session: &Session,
    name: &str,
    room: Money,
    problem: Option<&str>,
    amount: &str,
) -> maud::Markup {
    let title = lang.t("portal.topup.top_up");
    layout::page(
        lang,
        session,
        title,
        html! {
            (layout::problem(problem))
            p { (lang.t("portal.topup.for")) strong { (name) } }
            @if room < smallest() {
                p { (lang.t("portal.topup.the_card_is_full_the_balance")) }
            } @else {
                form method="post" {
                    (layout::csrf(session))
                    label for="amount" { (lang.t("portal.topup.amount_in_kr")) }
                    input #amount name="amount" inputmode="decimal" required value=(amount)
                        placeholder="100";
                    p.muted {
                        (lang.t("portal.topup.at_least")) (smallest())
                        (lang.t("portal.topup.at_most")) (room) "."
                    }
                    div.actions {
                        button.primary type="submit" { (lang.t("portal.topup.go_to_payment")) }
                        a.button.secondary href="/portal" { (lang.t("portal.topup.cancel")) }
                    }
                }
            }
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct TopUpForm {
    amount: String,
}

/// Checks the amount, records the payment, and sends the parent to pay.
pub async fn start(
    State(state): State<AppState>,
    lang: Lang,
    OwnChild { session, child }: OwnChild,
    Posted(form): Posted<TopUpForm>,
) -> Result<Response, PortalError> {
    let portal = portal(&state)?;
    let (name, room) = child_name_and_room(&state, child).await?;
    let refuse = |problem: String| {
        page(lang, &session, &name, room, Some(&problem), &form.amount).into_response()
    };
    let amount = match validate::typed_kroner(&form.amount) {
        Some(amount) => amount,
        None => {
            return Ok(refuse(
                lang.t("portal.topup.write_the_amount_as_a_number")
                    .to_string(),
            ));
        }
    };
    if amount < smallest() || amount > room {
        return Ok(refuse(format!(
            "{} {} {} {}.",
            lang.t("portal.topup.the_amount_must_be_between"),
            smallest(),
            lang.t("portal.topup.and"),
            room
        )));
    }
    let id = Uuid::now_v7();
    let payment = Payment {
        id,
        person: session.person,
        child,
        amount,
        provider_ref: String::new(),
        status: "started".into(),
        automatic: false,
    };
    // The room is held before the provider is asked: top-ups started at
    // once never pass the cap together.
    let cap = state.settings.balance_cap;
    match payments::reserve_payment(&state.pool, &payment, portal.payments.name(), cap).await {
        Ok(()) => {}
        Err(DbError::Conflict {
            code: "balance_cap",
            ..
        }) => {
            let (_, room) = child_name_and_room(&state, child).await?;
            return Ok(refuse(format!(
                "{} {} {} {}.",
                lang.t("portal.topup.the_amount_must_be_between"),
                smallest(),
                lang.t("portal.topup.and"),
                room
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let new = NewPayment {
        id,
        child,
        amount,
        description: format!("klubkasse: {name}"),
        return_url: format!("{}/portal/payments/{id}/return", portal.public_url),
    };
    let started = match portal.payments.start(&new).await {
        Ok(started) => started,
        Err(e) => {
            payments::payment_not_started(&state.pool, id).await?;
            return Err(e.into());
        }
    };
    payments::payment_started(&state.pool, id, &started.reference).await?;
    Ok(Redirect::to(&started.pay_url).into_response())
}

/// The session's own payment `id`.
async fn own_payment(
    state: &AppState,
    session: &Session,
    id: Uuid,
) -> Result<Payment, PortalError> {
    payments::payment(&state.pool, id)
        .await?
        .filter(|p| p.person == session.person)
        .ok_or(PortalError::NotFound)
}

/// Back from the provider: ask it, never the browser, whether it was paid.
pub async fn back(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<Uuid>,
) -> Result<Response, PortalError> {
    let payment = own_payment(&state, &session, id).await?;
    let done = match settle(&state, &payment).await? {
        PaymentStatus::Paid => "paid",
        PaymentStatus::Failed | PaymentStatus::Open => "not-paid",
    };
    Ok(Redirect::to(&format!("/portal?done={done}")).into_response())
}

/// Asks the provider about a started payment and records what it says: a
/// paid one becomes a deposit (its id is the payment's: asked twice, one
/// deposit). Also run for a parent's open payments on the overview, so a
/// payment whose browser never came back (a closed tab, an expired
/// session) still reaches the card.
pub async fn settle(state: &AppState, payment: &Payment) -> Result<PaymentStatus, PortalError> {
    match payment.status.as_str() {
        "paid" => return Ok(PaymentStatus::Paid),
        "failed" => return Ok(PaymentStatus::Failed),
        // An automatic one the provider has not answered about yet: the
        // worker's (see `auto_topup::Charger`).
        _ if payment.provider_ref.is_empty() => return Ok(PaymentStatus::Open),
        _ => {}
    }
    let status = portal(state)?
        .payments
        .status(&payment.provider_ref)
        .await?;
    match status {
        PaymentStatus::Paid => payments::settle_payment(&state.pool, payment, true).await?,
        PaymentStatus::Failed => payments::settle_payment(&state.pool, payment, false).await?,
        PaymentStatus::Open => {}
    }
    Ok(status)
}

/// Our script on the pay page: a file of its own, so that the page's
/// Content-Security-Policy allows no inline script.
const PAY_SCRIPT: &str = include_str!("pay.js");

pub async fn pay_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        PAY_SCRIPT,
    )
        .into_response()
}

/// The pay page of a provider paid on our page (Stripe): its card field
/// (Stripe.js; MobilePay beside it when turned on), and on to the return
/// page, paid or not, where the ledger asks the provider. The one portal
/// page with scripts: Stripe's and our [`PAY_SCRIPT`], no inline one.
pub async fn pay(
    State(state): State<AppState>,
    lang: Lang,
    session: Session,
    Path(id): Path<Uuid>,
) -> Result<Response, PortalError> {
    let payment = own_payment(&state, &session, id).await?;
    let back = format!("/portal/payments/{id}/return");
    let checkout = match payment.status.as_str() {
        "started" => {
            portal(&state)?
                .payments
                .checkout(&payment.provider_ref)
                .await?
        }
        _ => None,
    };
    let Some(checkout) = checkout else {
        return Ok(Redirect::to(&back).into_response());
    };
    let name = db::detail(&state.pool, payment.child).await?.child.name;
    let body = layout::page(
        lang,
        &session,
        lang.t("portal.topup.top_up"),
        html! {
            p { (lang.t("portal.topup.for")) strong { (name) } }
            p.balance { (payment.amount) }
            form #pay data-key=(checkout.publishable_key) data-secret=(checkout.client_secret)
                data-return=(back) {
                label for="card" { (lang.t("portal.topup.card")) }
                div #card {}
                p #problem .problem hidden {}
                div.actions {
                    button.primary type="submit" { (lang.t("portal.topup.pay")) }
                    @if checkout.mobilepay {
                        button.secondary #mobilepay type="button" { "MobilePay" }
                    }
                    a.button.secondary href=(back) { (lang.t("portal.topup.cancel")) }
                }
            }
            script src=(checkout.script) {}
            script src="/portal/pay.js" {}
        },
    );
    with_checkout_csp(body.into_response(), &checkout)
}

/// A page with the provider's script (the pay page, the save-card page):
/// a Content-Security-Policy that allows scripts from us and the
/// provider only, none inline, and connections to the provider's API.
pub(super) fn with_checkout_csp(
    mut response: Response,
    checkout: &Checkout,
) -> Result<Response, PortalError> {
    let csp = format!(
        "default-src 'none'; script-src 'self' {origin}; frame-src {origin} https://hooks.stripe.com; \
         connect-src {api}; style-src 'unsafe-inline'; img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'",
        origin = checkout.script_origin,
        api = checkout.api_origin,
    );
    let csp = HeaderValue::from_str(&csp)
        .map_err(|e| PortalError::Internal(format!("the pay page's CSP: {e}")))?;
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, csp);
    Ok(response)
}

/// The provider's word that a payment changed (`POST
/// /portal/payments/webhook`): no session and no CSRF token, its
/// signature instead. It names a payment, and the payment is settled as
/// on the return page: the provider is asked, so the webhook's own
/// account is never believed beyond which payment to ask about. Each
/// event lands once without a table of events: the deposit's id is the
/// payment's, and a payment leaves `started` only once. A refused one is
/// 400 and logged (the provider sends it again; a forged one, never right).
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    payload: Bytes,
) -> Result<Response, PortalError> {
    let portal = portal(&state)?;
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    let refused = |error: WebhookError| {
        tracing::warn!(%error, "a payment webhook was refused");
        (StatusCode::BAD_REQUEST, error.to_string()).into_response()
    };
    let event = match portal.payments.webhook(signature, &payload, now) {
        Ok(event) => event,
        Err(error) => return Ok(refused(error)),
    };
    let mut payment = payments::payment(&state.pool, event.payment).await?;
    if let Some(open) = &payment
        && open.automatic
        && open.status == "started"
        && open.provider_ref.is_empty()
    {
        // The worker's call has not come back yet, or its worker died
        // after Stripe charged: the signed event names the PaymentIntent,
        // which is kept (the worker's answer, when it comes, names the
        // same one: same key) and settled below as Stripe says. Left to
        // the worker alone, a worker back after Stripe forgot the key
        // would charge again.
        tracing::info!(payment = %open.id, "a webhook before the automatic payment's answer");
        crate::db::auto_topup::charged(&state.pool, open.id, &event.reference).await?;
        payment = payments::payment(&state.pool, event.payment).await?;
    }
    let payment = payment.filter(|p| p.provider_ref == event.reference);
    let Some(payment) = payment else {
        return Ok(refused(WebhookError::UnknownPayment(event.reference)));
    };
    let status = settle(&state, &payment).await?;
    tracing::info!(payment = %payment.id, ?status, "a payment webhook arrived");
    Ok(StatusCode::OK.into_response())
}

/// The test provider's pay page (a real provider has its own site).
pub async fn test_page(
    State(state): State<AppState>,
    lang: Lang,
    Path(reference): Path<String>,
) -> Result<Response, PortalError> {
    let provider = portal(&state)?
        .test_payments
        .as_ref()
        .ok_or(PortalError::NotFound)?;
    let payment = provider.payment(&reference).ok_or(PortalError::NotFound)?;
    Ok(layout::bare(
        lang,
        "Testbetaling",
        html! {
            h1 { "Testbetaling · Test payment" }
            p.problem { (lang.t("portal.topup.this_is_a_test_payment_no")) }
            p { (payment.description) }
            p.balance { (payment.amount) }
            form method="post" {
                div.actions {
                    button.primary type="submit" name="decision" value="pay" { (lang.t("portal.topup.pay")) }
                    button.secondary type="submit" name="decision" value="cancel" { (lang.t("portal.topup.cancel_2")) }
                }
            }
        },
    )
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct Decision {
    decision: String,
}

pub async fn test_decide(
    State(state): State<AppState>,
    Path(reference): Path<String>,
    Form(form): Form<Decision>,
) -> Result<Response, PortalError> {
    let provider = portal(&state)?
        .test_payments
        .as_ref()
        .ok_or(PortalError::NotFound)?;
    let payment = provider
        .decide(&reference, form.decision == "pay")
        .ok_or(PortalError::NotFound)?;
    Ok(Redirect::to(&payment.return_url).into_response())
}
