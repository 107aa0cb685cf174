//! Health, metrics and the API description.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::auth::{Admin, Principal};
use crate::error::{ApiJson, Result};
use crate::{AppState, db};

#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "the ledger and its database answer"),
        (status = 503, description = "the database does not answer")))]
/// Liveness and database reachability; needs no token.
pub async fn health(State(state): State<AppState>) -> Response {
    match db::ping(&state.pool).await {
        Ok(_) => "ok\n".into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: database unreachable");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unreachable\n",
            )
                .into_response()
        }
    }
}

#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Prometheus text format")),
    security(("bearer" = [])))]
/// Prometheus metrics (admin).
pub async fn metrics(State(state): State<AppState>, _: Admin) -> Result<Response> {
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response())
}

#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "this API as OpenAPI 3.1")),
    security(("bearer" = [])))]
/// This API's description (any valid token).
pub async fn openapi(_who: Principal) -> Result<ApiJson<utoipa::openapi::OpenApi>> {
    Ok(ApiJson(crate::ApiDoc::openapi()))
}
