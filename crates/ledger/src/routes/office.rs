//! The office (admin and office tokens) and parents: children, money,
//! cards, orders, reports. An office token sees its clubs' children only;
//! another club's child, card or order is "not found", as an unknown one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::AppState;
use crate::api::*;
use crate::auth::{ChildAccess, Office, OfficeChild, OfficeChildAccess, OfficeOrParent, Role};
use crate::db::{self, Movement, NewOrder, reports as db_reports};
use crate::error::{ApiJson, ApiPath, ApiQuery, LedgerError, Result};
use crate::portal::layout::{self, Lang};
use crate::portal::office::reports;
use crate::validate;
use klubkasse_core::domain::{Card, CardUid};
use klubkasse_core::protocol::ApiError;

fn created<T: serde::Serialize>(new: bool, body: T) -> Response {
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, ApiJson(body)).into_response()
}

#[utoipa::path(post, path = "/api/v1/children", tag = "office",
    request_body = EnrolRequest,
    responses((status = 201, body = ChildDetail), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// Enrol a child (office) in a club that exists (422 `unknown_club`
/// otherwise, or for another office's club). The first card is ordered
/// with it, free.
pub async fn enrol(
    State(state): State<AppState>,
    Office { who, scope }: Office,
    ApiJson(body): ApiJson<EnrolRequest>,
) -> Result<Response> {
    let name = validate::text("name", &body.name, MAX_NAME)?;
    let club = validate::text("club", &body.club, MAX_NAME)?;
    let detail = db::enrol(&state.pool, &who.actor(), &scope, &name, &club).await?;
    Ok(created(true, detail))
}

#[utoipa::path(get, path = "/api/v1/children", tag = "office", params(ListQuery),
    responses((status = 200, body = Vec<ChildSummary>)), security(("bearer" = [])))]
/// List the office's children, optionally of one club.
pub async fn list(
    State(state): State<AppState>,
    Office { scope, .. }: Office,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<ChildSummary>>> {
    Ok(ApiJson(
        db::list_children(&state.pool, &scope, query.club.as_deref()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/children/{id}", tag = "office",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ChildDetail), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
/// A child: balance, cards, card orders (office, or the child's parent).
pub async fn read(
    State(state): State<AppState>,
    ChildAccess { child, .. }: ChildAccess,
) -> Result<ApiJson<ChildDetail>> {
    Ok(ApiJson(db::detail(&state.pool, child).await?))
}

#[utoipa::path(patch, path = "/api/v1/children/{id}", tag = "office",
    params(("id" = Uuid, Path)), request_body = SettingsPatch,
    responses((status = 200, body = ChildDetail), (status = 422, body = ApiError)),
    security(("bearer" = [])))]
/// Set the daily limit, blocked categories and staff note (office, parent).
pub async fn settings(
    State(state): State<AppState>,
    ChildAccess { who, child }: ChildAccess,
    ApiJson(patch): ApiJson<SettingsPatch>,
) -> Result<ApiJson<ChildDetail>> {
    let patch = validate::settings_patch(patch)?;
    Ok(ApiJson(
        db::update_settings(&state.pool, &who.actor(), child, &patch).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/children/{id}/entries", tag = "office",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<EntryRecord>)), security(("bearer" = [])))]
/// Every entry of a child, oldest first, with the items of each sale.
pub async fn history(
    State(state): State<AppState>,
    ChildAccess { child, .. }: ChildAccess,
) -> Result<ApiJson<Vec<EntryRecord>>> {
    Ok(ApiJson(db::history(&state.pool, child).await?))
}

async fn money_entry(
    state: AppState,
    ChildAccess { who, child }: ChildAccess,
    body: MoneyRequest,
    deposit: bool,
) -> Result<Response> {
    let amount = validate::positive("amount", body.amount)?;
    let receipt = body
        .receipt
        .as_deref()
        .map(|r| validate::text("receipt", r, validate::MAX_RECEIPT))
        .transpose()?;
    let movement = Movement {
        deposit,
        amount,
        id: body.id,
        counter: who.counter_label(),
        receipt: receipt.as_deref(),
    };
    let (record, new) =
        db::money_entry(&state.pool, &state.settings, &who.actor(), child, movement).await?;
    Ok(created(new, record))
}

#[utoipa::path(post, path = "/api/v1/children/{id}/deposits", tag = "office",
    params(("id" = Uuid, Path)), request_body = MoneyRequest,
    responses((status = 201, body = EntryRecord), (status = 200, body = EntryRecord, description = "a repeat of an id"),
        (status = 403, body = ApiError, description = "a parent's or counter's token"),
        (status = 409, body = ApiError, description = "above the balance cap, or the id names another request (`id_in_use`)")),
    security(("bearer" = [])))]
/// Put money on the card (office: cash at the office); never above the
/// balance cap. A parent's money comes through a payment, never this.
pub async fn deposit(
    State(state): State<AppState>,
    OfficeChildAccess(access): OfficeChildAccess,
    ApiJson(body): ApiJson<MoneyRequest>,
) -> Result<Response> {
    money_entry(state, access, body, true).await
}

#[utoipa::path(post, path = "/api/v1/children/{id}/withdrawals", tag = "office",
    params(("id" = Uuid, Path)), request_body = MoneyRequest,
    responses((status = 201, body = EntryRecord),
        (status = 409, body = ApiError, description = "more than the balance, or the id names another request (`id_in_use`)")),
    security(("bearer" = [])))]
/// Take money back off the card (office, parent); never below zero.
pub async fn withdraw(
    State(state): State<AppState>,
    access: ChildAccess,
    ApiJson(body): ApiJson<MoneyRequest>,
) -> Result<Response> {
    money_entry(state, access, body, false).await
}

#[utoipa::path(post, path = "/api/v1/children/{id}/cards", tag = "office",
    params(("id" = Uuid, Path)), request_body = HandOutRequest,
    responses((status = 201, body = Card), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
/// Hand out a card: bind its UID to the child (office).
pub async fn hand_out(
    State(state): State<AppState>,
    OfficeChild { who, child }: OfficeChild,
    ApiJson(body): ApiJson<HandOutRequest>,
) -> Result<Response> {
    let uid = validate::uid("uid", &body.uid)?;
    let card = db::hand_out(&state.pool, &who.actor(), child, &uid).await?;
    Ok(created(true, card))
}

#[utoipa::path(post, path = "/api/v1/cards/{uid}/block", tag = "office",
    params(("uid" = String, Path, description = "the card UID in hex")),
    responses((status = 200, body = Card), (status = 404, body = ApiError)),
    security(("bearer" = [])))]
/// Block a card at once (the office of its child's club, or the parent
/// of its child).
pub async fn block(
    State(state): State<AppState>,
    OfficeOrParent(who): OfficeOrParent,
    ApiPath(uid): ApiPath<String>,
) -> Result<ApiJson<Card>> {
    let uid = CardUid::parse(&uid).map_err(|e| LedgerError::not_found(e.to_string()))?;
    let no_card = || LedgerError::not_found(format!("no card with UID {uid}"));
    match db::card_owner(&state.pool, &uid).await? {
        // A parent learns nothing about cards that are not theirs.
        None if matches!(who.role, Role::Parent(_)) => return Err(forbidden_card()),
        None => return Err(no_card()),
        // Another club's card is not found, as an unknown one.
        Some(owner) => who
            .may_act_for(&state.pool, owner)
            .await
            .map_err(|e| match e {
                LedgerError::NotFound(_) => no_card(),
                other => other,
            })?,
    }
    Ok(ApiJson(
        db::block_card(&state.pool, &who.actor(), &uid).await?,
    ))
}

fn forbidden_card() -> LedgerError {
    LedgerError::forbidden("this is not a card of one of your children")
}

#[utoipa::path(post, path = "/api/v1/children/{id}/card-orders", tag = "office",
    params(("id" = Uuid, Path)), request_body = OrderRequest,
    responses((status = 201, body = CardOrder),
        (status = 409, body = ApiError, description = "the balance does not cover the fee, or the id names another request (`id_in_use`)")),
    security(("bearer" = [])))]
/// Order a replacement card by post (office, parent): blocks the child's
/// cards at once and charges the card fee.
pub async fn order(
    State(state): State<AppState>,
    ChildAccess { who, child }: ChildAccess,
    ApiJson(body): ApiJson<OrderRequest>,
) -> Result<Response> {
    let address = validate::text("address", &body.address, MAX_ADDRESS)?;
    let new = NewOrder {
        address: &address,
        id: body.id,
        counter: who.counter_label(),
        shown: None,
    };
    let (order, new) =
        db::order_card(&state.pool, &state.settings, &who.actor(), child, &new).await?;
    Ok(created(new, order))
}

#[utoipa::path(patch, path = "/api/v1/card-orders/{id}", tag = "office",
    params(("id" = Uuid, Path)), request_body = OrderPatch,
    responses((status = 200, body = CardOrder), (status = 409, body = ApiError)),
    security(("bearer" = [])))]
/// Move a card order on: ordered → sent → handed_out (office); handed
/// out with the card's `uid`, which becomes the child's card.
pub async fn patch_order(
    State(state): State<AppState>,
    Office { who, scope }: Office,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<OrderPatch>,
) -> Result<ApiJson<CardOrder>> {
    let not_found = || LedgerError::not_found(format!("no card order with id {id}"));
    let child = match db::cards::order_child(&state.pool, id).await? {
        Some(child) if db::child_in_scope(&state.pool, &scope, child).await? => child,
        // Another club's order is not found, as an unknown one.
        _ => return Err(not_found()),
    };
    match (body.status, body.uid) {
        // Handed out means a card: without it the counter would not know
        // the child's new card.
        (OrderStatus::HandedOut, None) => Err(LedgerError::invalid(
            "uid: handing out an order records the card; give its UID",
        )),
        (OrderStatus::HandedOut, Some(uid)) => {
            let uid = validate::uid("uid", &uid)?;
            db::cards::hand_out_for(&state.pool, &who.actor(), child, &uid, Some(id)).await?;
            Ok(ApiJson(
                db::cards::order(&state.pool, id)
                    .await?
                    .ok_or_else(not_found)?,
            ))
        }
        (_, Some(_)) => Err(LedgerError::invalid(
            "uid: only an order handed out takes a card",
        )),
        (status, None) => Ok(ApiJson(
            db::set_order_status(&state.pool, &who.actor(), id, status).await?,
        )),
    }
}

/// A report as JSON, or one of its tables as the office's CSV for Danish
/// Excel. Not a second, machine CSV: a script reads the JSON (exact
/// amounts as strings, typed fields); a CSV is asked for to open it in a
/// spreadsheet, and there a plain one would split wrongly, read amounts
/// as dates and run a club or item named `=…` as a formula.
fn report_response(report: Report, format: Format, table: ReportTable) -> Response {
    match format {
        Format::Json => ApiJson(report).into_response(),
        Format::Csv => {
            let file = reports::csv_file_name(Lang::DA, &report, table);
            layout::csv_download(&file, reports::csv(Lang::DA, &report, table))
        }
    }
}

#[utoipa::path(get, path = "/api/v1/reports/day", tag = "reports", params(DayQuery),
    responses((status = 200, body = Report,
        description = "JSON: totals per club, counter and kind (`rows`) and per item and price (`items`). \
            With format=csv, the table named by `table` as Danish Excel opens it (text/csv)")),
    security(("bearer" = [])))]
/// Totals of one day per club, counter and kind, and per item (office: its clubs).
pub async fn day_report(
    State(state): State<AppState>,
    Office { scope, .. }: Office,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> Result<Response> {
    let report = db::report(
        &state.pool,
        &state.settings,
        query.date,
        query.date,
        scope.narrowed(query.club.as_deref()).as_ref(),
    )
    .await?;
    Ok(report_response(report, query.format, query.table))
}

#[utoipa::path(get, path = "/api/v1/reports/month", tag = "reports", params(MonthQuery),
    responses((status = 200, body = Report,
        description = "JSON: totals per club, counter and kind (`rows`) and per item and price (`items`). \
            With format=csv, the table named by `table` as Danish Excel opens it (text/csv)")),
    security(("bearer" = [])))]
/// Totals of one month per club, counter and kind, and per item (office: its clubs).
pub async fn month_report(
    State(state): State<AppState>,
    Office { scope, .. }: Office,
    ApiQuery(query): ApiQuery<MonthQuery>,
) -> Result<Response> {
    let first = chrono::NaiveDate::parse_from_str(&format!("{}-01", query.month), "%Y-%m-%d")
        .map_err(|_| LedgerError::invalid("month must look like 2025-03"))?;
    let (from, to) = db_reports::month_of(first);
    let report = db::report(
        &state.pool,
        &state.settings,
        from,
        to,
        scope.narrowed(query.club.as_deref()).as_ref(),
    )
    .await?;
    Ok(report_response(report, query.format, query.table))
}
