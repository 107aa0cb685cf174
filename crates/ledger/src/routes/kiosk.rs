//! The counters: push sales and refunds, pull account changes, cards.

use axum::extract::State;

use crate::AppState;
use crate::api::ChangesQuery;
use crate::auth::Kiosk;
use crate::error::{ApiJson, ApiQuery, LedgerError, Result};
use crate::validate;
use crate::{db, push};
use klubkasse_core::domain::Card;
use klubkasse_core::protocol::{ApiError, CardAction, Changes, PushBatch, PushResult};

#[utoipa::path(post, path = "/api/v1/kiosk/entries", tag = "kiosk",
    request_body = PushBatch,
    responses((status = 200, body = PushResult),
        (status = 403, body = ApiError, description = "an entry names another counter"),
        (status = 413, body = ApiError, description = "more than MAX_BATCH entries"),
        (status = 422, body = ApiError, description = "an entry the ledger cannot take; nothing recorded")),
    security(("bearer" = [])))]
/// Push sales and refunds, idempotent by entry id (kiosk). A repeat answers
/// with the first result. All of a batch is recorded, or none of it.
pub async fn push(
    State(state): State<AppState>,
    Kiosk { counter, .. }: Kiosk,
    ApiJson(batch): ApiJson<PushBatch>,
) -> Result<ApiJson<PushResult>> {
    let entries = validate::push_batch(&counter, batch)?;
    // On a task of its own: a counter that gives up waiting (its timeout)
    // drops this request, and the batch would roll back with it, to be sent
    // again and cut off again. Spawned, it commits, and the retry finds it.
    let (pool, settings) = (state.pool.clone(), state.settings.clone());
    let result = tokio::spawn(async move { push::push(&pool, &settings, &entries).await })
        .await
        .map_err(|e| {
            LedgerError::Database(sqlx::Error::Protocol(format!("the push task failed: {e}")))
        })??;
    let new = result.results.iter().filter(|r| r.new).count();
    state
        .metrics
        .entries(new as u64, (result.results.len() - new) as u64);
    Ok(ApiJson(result))
}

#[utoipa::path(get, path = "/api/v1/kiosk/changes", tag = "kiosk", params(ChangesQuery),
    responses((status = 200, body = Changes)), security(("bearer" = [])))]
/// The accounts changed since a cursor (kiosk), so a counter can
/// authorize offline. Pull again at once while `more` is true.
pub async fn changes(
    State(state): State<AppState>,
    _: Kiosk,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> Result<ApiJson<Changes>> {
    let limit = query.limit.unwrap_or(500);
    if !(1..=1000).contains(&limit) {
        return Err(LedgerError::invalid("limit must be 1 to 1000"));
    }
    if query.since < 0 {
        return Err(LedgerError::invalid("since must not be negative"));
    }
    Ok(ApiJson(db::changes(&state.pool, query.since, limit).await?))
}

#[utoipa::path(post, path = "/api/v1/kiosk/cards", tag = "kiosk",
    request_body = CardAction,
    responses((status = 200, body = Card), (status = 404, body = ApiError), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
/// Staff at a counter hand out, block or unblock a card (kiosk).
pub async fn cards(
    State(state): State<AppState>,
    Kiosk { who, .. }: Kiosk,
    ApiJson(action): ApiJson<CardAction>,
) -> Result<ApiJson<Card>> {
    let action = validate::card_action(action)?;
    Ok(ApiJson(
        db::card_action(&state.pool, &who.actor(), &action).await?,
    ))
}
