//! The counters: push sales and refunds, pull account changes, cards.

use axum::extract::State;

use crate::domain::{Card, EntryKind, Money, SaleLine};
use crate::ledger::AppState;
use crate::ledger::api::{ChangesQuery, MAX_NAME};
use crate::ledger::auth::Principal;
use crate::ledger::error::{ApiJson, ApiQuery, LedgerError, Result};
use crate::ledger::validate;
use crate::ledger::{db, push};
use crate::sync::protocol::{ApiError, CardAction, Changes, MAX_BATCH, PushBatch, PushResult};

/// Most lines in one sale: far more than any basket.
const MAX_LINES: usize = 100;
const MAX_QUANTITY: u32 = 1000;

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
    who: Principal,
    ApiJson(batch): ApiJson<PushBatch>,
) -> Result<ApiJson<PushResult>> {
    let counter = who.require_kiosk()?.to_string();
    if batch.entries.len() > MAX_BATCH {
        return Err(LedgerError::Body {
            status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            message: format!(
                "{} entries; at most {MAX_BATCH} in one batch",
                batch.entries.len()
            ),
        });
    }
    let mut entries = batch.entries;
    for (index, entry) in entries.iter_mut().enumerate() {
        if entry.counter != counter {
            return Err(LedgerError::forbidden(format!(
                "entries[{index}]: this token is for counter «{counter}», not «{}»",
                entry.counter
            )));
        }
        check_entry(index, &mut entry.kind, entry.amount)?;
    }
    // On a task of its own: a counter that gives up waiting (its timeout)
    // drops this request, and the batch would roll back with it, to be sent
    // again and cut off again. Spawned, it commits, and the retry finds it.
    let (pool, settings) = (state.pool.clone(), state.settings.clone());
    let result = tokio::spawn(async move { push::push(&pool, &settings, &entries).await })
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("the push task failed: {e}")))??;
    let new = result.results.iter().filter(|r| r.new).count();
    state
        .metrics
        .entries(new as u64, (result.results.len() - new) as u64);
    Ok(ApiJson(result))
}

/// A sale's amount is minus the sum of its lines; a refund gives money back.
fn check_entry(index: usize, kind: &mut EntryKind, amount: Money) -> Result<()> {
    let at = |what: String| LedgerError::invalid(format!("entries[{index}]: {what}"));
    validate::not_absurd("amount", amount).map_err(|e| at(e.to_string()))?;
    match kind {
        EntryKind::Sale { card, lines } => {
            *card = validate::uid("card", card).map_err(|e| at(e.to_string()))?;
            if lines.is_empty() || lines.len() > MAX_LINES {
                return Err(at(format!("a sale has 1 to {MAX_LINES} lines")));
            }
            for line in lines.iter() {
                check_line(line).map_err(|e| at(e.to_string()))?;
            }
            let total: Money = lines.iter().map(SaleLine::total).sum();
            if amount != -total {
                return Err(at(format!(
                    "amount {} is not minus the sum of the lines ({})",
                    amount.to_plain_string(),
                    total.to_plain_string()
                )));
            }
            Ok(())
        }
        EntryKind::Refund { .. } if amount.is_positive() => Ok(()),
        EntryKind::Refund { .. } => Err(at("a refund's amount must be more than 0.00".into())),
        other => Err(at(format!(
            "a counter pushes only sales and refunds, not {}",
            other.label()
        ))),
    }
}

fn check_line(line: &SaleLine) -> Result<()> {
    validate::text("name", &line.name, MAX_NAME)?;
    validate::text("category", &line.category, MAX_NAME)?;
    if line.unit_price.is_negative() {
        return Err(LedgerError::invalid("unit_price must not be negative"));
    }
    validate::not_absurd("unit_price", line.unit_price)?;
    if line.quantity == 0 || line.quantity > MAX_QUANTITY {
        return Err(LedgerError::invalid(format!(
            "quantity must be 1 to {MAX_QUANTITY}"
        )));
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/kiosk/changes", tag = "kiosk", params(ChangesQuery),
    responses((status = 200, body = Changes)), security(("bearer" = [])))]
/// The accounts changed since a cursor (kiosk), so a counter can
/// authorize offline. Pull again at once while `more` is true.
pub async fn changes(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> Result<ApiJson<Changes>> {
    who.require_kiosk()?;
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
/// Staff at a counter hand out or block a card (kiosk).
pub async fn cards(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(action): ApiJson<CardAction>,
) -> Result<ApiJson<Card>> {
    who.require_kiosk()?;
    let action = match action {
        CardAction::HandOut { uid, child } => CardAction::HandOut {
            uid: validate::uid("uid", &uid)?,
            child,
        },
        CardAction::Block { uid } => CardAction::Block {
            uid: validate::uid("uid", &uid)?,
        },
    };
    Ok(ApiJson(db::card_action(&state.pool, &action).await?))
}
