//! `klubkasse-ledger`: the central ledger on PostgreSQL that every counter
//! and the office and parents' portal share. See ARCHITECTURE.md.
//!
//! - [`db`]: every query, by concern; every change of money is an entry
//!   written with the child's balance in one transaction, the child's row
//!   locked. Its errors know nothing of HTTP; [`error`] maps them.
//! - [`routes`]: office (admin and office tokens) and parents, counters
//!   (kiosk), operations.
//! - [`auth`]: bearer tokens, stored as SHA-256 only, and the extractors
//!   (`Admin`, `Office`, `OfficeChild`, `Kiosk`, `ChildAccess`,
//!   `OfficeOrParent`) every endpoint takes, so none can forget its role
//!   or club check.
//! - [`portal`]: the parents' portal and the office's pages (HTML).
//! - [`cpr`]: custody holders' CPR numbers, kept as a keyed hash only.

pub mod api;
pub mod auth;
pub mod cli;
pub mod cpr;
pub mod db;
pub mod error;
pub mod import;
pub mod metrics;
pub mod portal;
pub mod push;
pub mod routes;
pub mod serve;
pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, on};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use error::LedgerError;
use klubkasse_core::domain::Money;
use metrics::Metrics;

/// The schema, embedded: `klubkasse-ledger migrate` and the tests apply it.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The largest request body: a full batch of sales fits with room to spare.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The rules an operator may set.
#[derive(Debug, Clone)]
pub struct Settings {
    /// No deposit takes a balance above this.
    pub balance_cap: Money,
    /// What a replacement card costs; the first card is free.
    pub card_fee: Money,
    /// The clubs' wall clock, for days in reports and daily limits
    /// (a PostgreSQL time zone name).
    pub time_zone: String,
    /// How long an activation letter's code works.
    pub code_lifetime: chrono::TimeDelta,
    /// At most this many automatic top-ups of a child a calendar month.
    pub auto_topups_per_month: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            balance_cap: Money::kroner(1000),
            card_fee: Money::kroner(45),
            time_zone: "Europe/Copenhagen".to_string(),
            code_lifetime: chrono::TimeDelta::days(60),
            auto_topups_per_month: db::auto_topup::PER_MONTH,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    /// None: the ledger serves counters and the office API only.
    pub portal: Option<Arc<portal::Portal>>,
}

impl AppState {
    pub fn new(pool: PgPool, settings: Settings) -> AppState {
        AppState {
            pool,
            settings: Arc::new(settings),
            metrics: Arc::new(Metrics::default()),
            portal: None,
        }
    }

    pub fn with_portal(self, portal: portal::Portal) -> AppState {
        AppState {
            portal: Some(Arc::new(portal)),
            ..self
        }
    }
}

pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(connect_options(url)?)
        .await
}

/// How the ledger speaks to PostgreSQL: without JIT. Its statements read
/// few rows, and where the planner's estimate passed `jit_above_cost`
/// (the office's lists at 10,000,000 entries) compiling cost 20 to 90 ms
/// of a statement that then ran for one.
pub fn connect_options(url: &str) -> Result<PgConnectOptions, sqlx::Error> {
    Ok(url.parse::<PgConnectOptions>()?.options([("jit", "off")]))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "klubkasse-ledger", description = "The central ledger of klubkasse: children, cards, money, counters."),
    paths(
        routes::ops::health,
        routes::ops::metrics,
        routes::ops::openapi,
        routes::office::enrol,
        routes::office::list,
        routes::office::read,
        routes::office::settings,
        routes::office::history,
        routes::office::deposit,
        routes::office::withdraw,
        routes::office::hand_out,
        routes::office::block,
        routes::office::order,
        routes::office::patch_order,
        routes::office::day_report,
        routes::office::month_report,
        routes::kiosk::push,
        routes::kiosk::changes,
        routes::kiosk::cards,
    ),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Counts every answer by method, route template and status.
async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = request.method().as_str().to_string();
    let response = next.run(request).await;
    state
        .metrics
        .request(&method, &route, response.status().as_u16());
    response
}

async fn not_found() -> LedgerError {
    LedgerError::not_found("no such endpoint; see /openapi.json")
}

async fn wrong_method() -> LedgerError {
    LedgerError::Body {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        message: "this endpoint does not take that method; see /openapi.json".to_string(),
    }
}

/// Routes, built and listed at once: a router serves what this registers,
/// and the same list goes to the access tests ([`api_routes`],
/// [`portal_routes`]), so they see every route the router has.
#[derive(Default)]
pub(crate) struct Routes {
    router: Router<AppState>,
    listed: Vec<(Method, &'static str)>,
}

impl Routes {
    pub(crate) fn add<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        self.router = self.router.route(path, on(filter, handler));
        self.listed.push((method, path));
        self
    }

    pub(crate) fn router(self) -> Router<AppState> {
        self.router
    }
}

fn api() -> Routes {
    use routes::{kiosk, office, ops};
    Routes::default()
        .add(Method::GET, "/healthz", ops::health)
        .add(Method::GET, "/metrics", ops::metrics)
        .add(Method::GET, "/openapi.json", ops::openapi)
        .add(Method::POST, "/api/v1/children", office::enrol)
        .add(Method::GET, "/api/v1/children", office::list)
        .add(Method::GET, "/api/v1/children/{id}", office::read)
        .add(Method::PATCH, "/api/v1/children/{id}", office::settings)
        .add(
            Method::GET,
            "/api/v1/children/{id}/entries",
            office::history,
        )
        .add(
            Method::POST,
            "/api/v1/children/{id}/deposits",
            office::deposit,
        )
        .add(
            Method::POST,
            "/api/v1/children/{id}/withdrawals",
            office::withdraw,
        )
        .add(
            Method::POST,
            "/api/v1/children/{id}/cards",
            office::hand_out,
        )
        .add(
            Method::POST,
            "/api/v1/children/{id}/card-orders",
            office::order,
        )
        .add(Method::POST, "/api/v1/cards/{uid}/block", office::block)
        .add(
            Method::PATCH,
            "/api/v1/card-orders/{id}",
            office::patch_order,
        )
        .add(Method::GET, "/api/v1/reports/day", office::day_report)
        .add(Method::GET, "/api/v1/reports/month", office::month_report)
        .add(Method::POST, "/api/v1/kiosk/entries", kiosk::push)
        .add(Method::GET, "/api/v1/kiosk/changes", kiosk::changes)
        .add(Method::POST, "/api/v1/kiosk/cards", kiosk::cards)
}

/// Every route of the JSON API (method, path template), as [`router`]
/// serves them; the portal's pages (`/portal…`) are not among them.
pub fn api_routes() -> Vec<(Method, &'static str)> {
    api().listed
}

/// Every page and form of the portal (method, path template), as
/// [`router`] serves them.
pub fn portal_routes() -> Vec<(Method, &'static str)> {
    portal::routes().listed
}

pub fn router(state: AppState) -> Router {
    api()
        .router()
        .merge(portal::routes().router())
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            portal::headers::security,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // The span names method and path only: never headers, so bearer
        // tokens stay out of the log, and never the query, which may carry
        // a letter's code (`/portal/activate?code=…`), the broker's code
        // coming back, or a child's name searched for. (tower-http's
        // default span has the whole URI.)
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::debug_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        .with_state(state)
}
