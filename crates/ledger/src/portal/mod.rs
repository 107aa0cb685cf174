//! The parents' portal and the office's view, served under `/portal` as
//! plain server-rendered HTML (maud): readable on a phone, no JavaScript
//! but on Stripe's pay page.
//!
//! - [`oidc`]: login through the OpenID Connect broker (MitID)
//! - [`session`]: the session cookie and the CSRF token of every form
//! - [`payment`]: the payment provider behind top-ups
//! - [`stripe`]: the Stripe provider (its pay page is the one with scripts)
//! - [`layout`]: the page frame, the language, money the Danish way
//! - [`mail`]: e-mail to parents (the low-balance warning)
//! - [`headers`]: what every answer tells the browser (CSP, caching, HSTS)
//! - [`throttle`]: how often a login may start and a question be sent
//! - [`code`]: the activation letter's code
//! - one module per page: [`login`], [`activate`] (a letter's code),
//!   [`overview`], [`topup`], [`history`], [`withdraw`], [`card`],
//!   [`limits`], [`auto_topup`] (a saved card, "below Y top up X", and
//!   the worker that charges it), [`support`], [`me`] (what is kept about
//!   you), [`office`], [`office_log`]

pub mod activate;
pub mod auto_topup;
pub mod card;
pub mod code;
pub mod headers;
pub mod history;
pub mod layout;
pub mod limits;
pub mod login;
pub mod mail;
pub mod me;
pub mod office;
pub mod office_log;
pub mod oidc;
pub mod overview;
pub mod payment;
pub mod session;
pub mod stripe;
pub mod support;
pub mod throttle;
pub mod topup;
pub mod withdraw;

use std::sync::Arc;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::db::DbError;
use super::{AppState, Routes};
use klubkasse_core::i18n::Language;
use layout::Lang;
use oidc::{Oidc, OidcError};
use payment::{PaymentError, PaymentProvider, TestProvider};

/// What the portal needs beyond the ledger: the broker and the provider.
pub struct Portal {
    pub oidc: Oidc,
    pub payments: Arc<dyn PaymentProvider>,
    /// Set when the test provider is the one in use: its pay page is served.
    pub test_payments: Option<TestProvider>,
    /// CPR match on: the secret custody holders' CPR numbers are hashed with.
    pub cpr_key: Option<crate::cpr::CprKey>,
    /// The portal's address as the browser sees it, e.g.
    /// `https://kasse.kommune.dk`, for the provider's return address.
    pub public_url: String,
    pub limits: throttle::Limits,
    /// Logins started, per address, against `limits`.
    pub login_starts: throttle::Throttle,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A mail server sends the outbox: a letter may go by e-mail (its
    /// code would otherwise wait in the outbox in the clear).
    pub mail_server: bool,
}

/// What can go wrong on a page. Shown as a short page in both languages:
/// the error may come before we know which one the reader wants.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("login needed")]
    LoginNeeded,
    #[error("not found")]
    NotFound,
    #[error("the form was not sent from this portal (CSRF)")]
    Csrf,
    #[error("the portal is not set up on this ledger")]
    NotConfigured,
    /// A query string no link of ours writes.
    #[error("an address that could not be read: {0}")]
    BadAddress(String),
    /// A form larger than any of ours, however long its texts.
    #[error("a form over 64 KiB")]
    FormTooLarge,
    /// More than the limits allow (see [`throttle`]).
    #[error("too many: {0:?}")]
    TooMany(throttle::Limited),
    /// A form with the right token but fields no page of ours sends.
    #[error("a form that could not be read: {0}")]
    BadForm(String),
    #[error(transparent)]
    Oidc(#[from] OidcError),
    #[error(transparent)]
    Payment(#[from] PaymentError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let (status, key) = match &self {
            PortalError::LoginNeeded => return Redirect::to("/portal").into_response(),
            PortalError::TooMany(limited) => return too_many(*limited),
            PortalError::NotFound | PortalError::Db(DbError::NotFound(_)) => {
                (StatusCode::NOT_FOUND, "portal.error.not_found")
            }
            PortalError::Csrf => (StatusCode::FORBIDDEN, "portal.error.csrf"),
            PortalError::BadForm(_) => (StatusCode::UNPROCESSABLE_ENTITY, "portal.error.bad_form"),
            PortalError::BadAddress(_) => (StatusCode::BAD_REQUEST, "portal.error.bad_address"),
            PortalError::FormTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "portal.error.form_too_large")
            }
            // Every form that would put money on or a card to a child that has left.
            PortalError::Db(DbError::Conflict {
                code: "account_closed",
                ..
            }) => (StatusCode::CONFLICT, "portal.error.account_closed"),
            // A form's one-time id sent again with other values (another
            // amount, another child): nothing was done.
            PortalError::Db(DbError::Conflict {
                code: "id_in_use", ..
            }) => (StatusCode::CONFLICT, "portal.error.id_in_use"),
            PortalError::NotConfigured => (StatusCode::NOT_FOUND, "portal.error.not_configured"),
            PortalError::Oidc(_) => (StatusCode::BAD_GATEWAY, "portal.error.login_failed"),
            PortalError::Payment(_) => (StatusCode::BAD_GATEWAY, "portal.error.payment_down"),
            PortalError::Db(_) | PortalError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "portal.error.internal")
            }
        };
        if status.is_server_error() || matches!(self, PortalError::Csrf | PortalError::BadForm(_)) {
            tracing::warn!(error = %self, "portal page failed");
        }
        // Before a page knows its reader's language, it speaks every one.
        (status, every_language(key)).into_response()
    }
}

/// The page for a limit reached, in every language (a login's may come
/// before any choice of one), saying when to try again.
fn too_many(limited: throttle::Limited) -> Response {
    use throttle::Limited;
    let (key, wait) = match limited {
        Limited::Logins => ("portal.error.too_many_logins", "60"),
        Limited::Questions => ("portal.error.too_many_questions", "3600"),
    };
    tracing::info!(?limited, "a portal limit was reached");
    let mut response = (StatusCode::TOO_MANY_REQUESTS, every_language(key)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(wait));
    response
}

/// A short page saying `key`'s text in every language, with the way to
/// the front page.
fn every_language(key: &'static str) -> maud::Markup {
    let every = || Language::all().map(Lang);
    let front_page: Vec<_> = every().map(|l| l.t("portal.error.front_page")).collect();
    layout::bare(
        Lang::DA,
        "klubkasse",
        maud::html! {
            @for lang in every() {
                p lang=(lang.code()) { (lang.t(key)) }
            }
            p { a href="/portal" { (front_page.join(" · ")) } }
        },
    )
}

/// The portal's pages; without a [`Portal`] in the state, they say so.
pub(crate) fn routes() -> Routes {
    use Method as M;
    Routes::default()
        .add(M::GET, "/", to_the_portal)
        .add(M::GET, "/portal/", to_the_portal)
        .add(M::GET, "/portal", overview::page)
        .add(M::GET, "/portal/login", login::start)
        .add(M::GET, "/portal/callback", login::callback)
        .add(M::POST, "/portal/logout", login::logout)
        .add(M::POST, "/portal/language", login::language)
        .add(M::GET, "/portal/activate", activate::page)
        .add(M::POST, "/portal/activate", activate::submit)
        .add(M::GET, "/portal/me", me::page)
        .add(M::GET, "/portal/children/{id}/top-up", topup::form)
        .add(M::POST, "/portal/children/{id}/top-up", topup::start)
        .add(M::GET, "/portal/payments/{id}/return", topup::back)
        .add(M::GET, "/portal/payments/{id}/pay", topup::pay)
        .add(M::GET, "/portal/pay.js", topup::pay_script)
        .add(M::POST, "/portal/payments/webhook", topup::webhook)
        .add(M::GET, "/portal/children/{id}/history", history::page)
        .add(M::GET, "/portal/children/{id}/withdraw", withdraw::form)
        .add(M::POST, "/portal/children/{id}/withdraw", withdraw::submit)
        .add(M::GET, "/portal/children/{id}/card", card::page)
        .add(M::POST, "/portal/children/{id}/card/block", card::block)
        .add(M::POST, "/portal/children/{id}/card/order", card::order)
        .add(
            M::GET,
            "/portal/children/{id}/auto-top-up",
            auto_topup::page,
        )
        .add(
            M::POST,
            "/portal/children/{id}/auto-top-up",
            auto_topup::save,
        )
        .add(
            M::POST,
            "/portal/children/{id}/auto-top-up/card",
            auto_topup::start_card,
        )
        .add(
            M::GET,
            "/portal/children/{id}/auto-top-up/card",
            auto_topup::card_page,
        )
        .add(
            M::GET,
            "/portal/children/{id}/auto-top-up/card/return",
            auto_topup::card_back,
        )
        .add(
            M::POST,
            "/portal/children/{id}/auto-top-up/remove",
            auto_topup::remove,
        )
        .add(M::GET, "/portal/save-card.js", auto_topup::save_card_script)
        .add(M::GET, "/portal/children/{id}/limits", limits::page)
        .add(M::POST, "/portal/children/{id}/limits", limits::save)
        .add(M::GET, "/portal/support", support::page)
        .add(M::POST, "/portal/support", support::send)
        .add(M::GET, "/portal/office", office::page)
        .add(M::GET, "/portal/office/reports", office::reports::page)
        .add(M::POST, "/portal/office/payouts/{id}", office::payout_paid)
        .add(
            M::POST,
            "/portal/office/payouts/{id}/reject",
            office::payout_rejected,
        )
        .add(
            M::POST,
            "/portal/office/orders/{id}",
            office::cards::order_status,
        )
        .add(M::GET, "/portal/office/children", office::children::search)
        .add(
            M::GET,
            "/portal/office/children/{id}",
            office::children::page,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/cards",
            office::cards::hand_out_card,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/cards/block",
            office::cards::block,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/cards/unblock",
            office::cards::unblock,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/card-order",
            office::cards::order,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/limits",
            office::children::save_limits,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/name",
            office::children::rename,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/club",
            office::children::move_to,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/payers",
            office::payers::add,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/payers/remove",
            office::payers::remove,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/cash",
            office::money::cash,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/refund",
            office::money::refund,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/adjustment",
            office::money::adjustment,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/leave",
            office::children::leave,
        )
        .add(M::POST, "/portal/office/letters", office::letters::club)
        .add(
            M::POST,
            "/portal/office/children/{id}/letters",
            office::letters::child,
        )
        .add(
            M::POST,
            "/portal/office/children/{id}/letters/mail",
            office::letters::mail,
        )
        .add(M::POST, "/portal/office/support/{id}", office::answer)
        .add(M::GET, "/portal/office/log", office_log::page)
        .add(M::GET, "/portal/office/flags", office::flags::page)
        .add(
            M::POST,
            "/portal/office/flags/{id}/handle",
            office::flags::handle,
        )
        .add(M::GET, "/portal/office/people", office::people::page)
        .add(M::POST, "/portal/office/people", office::people::add)
        .add(
            M::POST,
            "/portal/office/people/{id}/role",
            office::people::set_role,
        )
        .add(M::POST, "/portal/office/clubs", office::people::add_club)
        .add(
            M::POST,
            "/portal/office/clubs/rename",
            office::people::rename_club,
        )
        .add(M::GET, "/portal/office/tokens", office::tokens::page)
        .add(M::POST, "/portal/office/tokens", office::tokens::create)
        .add(
            M::POST,
            "/portal/office/tokens/{id}/revoke",
            office::tokens::revoke,
        )
        .add(M::GET, "/portal/office/enrol", office::enrol::page)
        .add(M::POST, "/portal/office/enrol", office::enrol::enrol)
        .add(M::POST, "/portal/office/import", office::import::upload)
        .add(M::GET, "/portal/test-payment/{reference}", topup::test_page)
        .add(
            M::POST,
            "/portal/test-payment/{reference}",
            topup::test_decide,
        )
}

/// The front page and `/portal/` are the portal's: parents typing the
/// address from a letter get the portal, not the API's JSON.
async fn to_the_portal() -> Redirect {
    Redirect::to("/portal")
}

/// The portal of the state, or the page that says there is none.
pub fn portal(state: &AppState) -> Result<&Portal, PortalError> {
    state.portal.as_deref().ok_or(PortalError::NotConfigured)
}
