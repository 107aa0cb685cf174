//! Every endpoint by every kind of caller: who may, who gets 401 or 403.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::ledger::*;
use serde_json::{Value, json};
use utoipa::OpenApi;
use uuid::Uuid;

/// Every kind of caller the ledger can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoToken,
    /// An `Authorization` header that is not `Bearer TOKEN`.
    Malformed,
    /// A well-formed token the ledger never made.
    Wrong,
    Expired,
    Revoked,
    Admin,
    /// The counter the sale in the table is from ("k1").
    Kiosk,
    OtherKiosk,
    /// A parent of child `a`, whom the table's paths name.
    Parent,
    OtherParent,
}

/// Every endpoint × every kind of caller: the right status. Those allowed
/// get a 2xx; no valid token is 401 (`token_expired` for an expired one),
/// a valid token without the right is 403, each with an ApiError body. The
/// table must name every route the router serves (`api_routes`), and those
/// must be the ones the OpenAPI description lists.
#[tokio::test]
async fn every_endpoint_by_every_role() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    let b = l.enrol("Oscar").await;
    l.hand_out(a, CARD_A).await;
    l.hand_out(a, CARD_A2).await;
    l.hand_out(b, CARD_B).await;
    assert_eq!(l.deposit(a, "500.00").await.status, StatusCode::CREATED);
    let first_order = l.first_order(a).await;
    let bearer = |token: &str| Some(format!("Bearer {token}"));
    let admin = l.admin.clone();
    // (who, the whole Authorization header or none)
    let callers: Vec<(Who, Option<String>)> = vec![
        (Who::NoToken, None),
        (Who::Malformed, Some(format!("Basic {admin}"))),
        (Who::Malformed, Some(admin.clone())),
        (Who::Malformed, Some("Bearer".into())),
        (Who::Malformed, Some("Bearer    ".into())),
        (Who::Malformed, Some(format!("Bearer{admin}"))),
        (Who::Malformed, Some(format!("Bearer {admin} {admin}"))),
        (Who::Wrong, bearer(&"0".repeat(64))),
        (Who::Wrong, bearer("x")),
        (Who::Wrong, bearer(&admin.to_uppercase())),
        (Who::Expired, bearer(&l.expired_token().await)),
        (Who::Revoked, bearer(&l.revoked_token().await)),
        (Who::Admin, bearer(&admin)),
        // The scheme is case-insensitive.
        (Who::Admin, Some(format!("bearer {admin}"))),
        (
            Who::Kiosk,
            bearer(&l.token(TokenRole::Kiosk, Some("k1"), &[]).await),
        ),
        (
            Who::OtherKiosk,
            bearer(&l.token(TokenRole::Kiosk, Some("k2"), &[]).await),
        ),
        (
            Who::Parent,
            bearer(&l.token(TokenRole::Parent, None, &[a]).await),
        ),
        (
            Who::OtherParent,
            bearer(&l.token(TokenRole::Parent, None, &[b]).await),
        ),
    ];
    let today = chrono::Utc::now().date_naive();
    let order_id = Uuid::now_v7();
    use Who::*;
    let everyone = vec![
        NoToken,
        Malformed,
        Wrong,
        Expired,
        Revoked,
        Admin,
        Kiosk,
        OtherKiosk,
        Parent,
        OtherParent,
    ];
    let child = format!("/api/v1/children/{a}");
    // (method, route, the request's path, body, who may)
    type Row<'a> = (Method, &'a str, String, Option<Value>, Vec<Who>);
    let table: Vec<Row> = vec![
        (Method::GET, "/healthz", "/healthz".into(), None, everyone),
        (
            Method::GET,
            "/metrics",
            "/metrics".into(),
            None,
            vec![Admin],
        ),
        (
            Method::GET,
            "/openapi.json",
            "/openapi.json".into(),
            None,
            vec![Admin, Kiosk, OtherKiosk, Parent, OtherParent],
        ),
        (
            Method::POST,
            "/api/v1/children",
            "/api/v1/children".into(),
            Some(json!({"name": "Ny", "club": "Kastanjen"})),
            vec![Admin],
        ),
        (
            Method::GET,
            "/api/v1/children",
            "/api/v1/children?club=Kastanjen".into(),
            None,
            vec![Admin],
        ),
        (
            Method::GET,
            "/api/v1/children/{id}",
            child.clone(),
            None,
            vec![Admin, Parent],
        ),
        (
            Method::PATCH,
            "/api/v1/children/{id}",
            child.clone(),
            Some(json!({"note": "nøddeallergi"})),
            vec![Admin, Parent],
        ),
        (
            Method::GET,
            "/api/v1/children/{id}/entries",
            format!("{child}/entries"),
            None,
            vec![Admin, Parent],
        ),
        (
            Method::POST,
            "/api/v1/children/{id}/deposits",
            format!("{child}/deposits"),
            Some(json!({"amount": "1.00"})),
            vec![Admin, Parent],
        ),
        (
            Method::POST,
            "/api/v1/children/{id}/withdrawals",
            format!("{child}/withdrawals"),
            Some(json!({"amount": "0.50"})),
            vec![Admin, Parent],
        ),
        (
            Method::POST,
            "/api/v1/children/{id}/cards",
            format!("{child}/cards"),
            Some(json!({"uid": CARD_A})),
            vec![Admin],
        ),
        (
            Method::POST,
            "/api/v1/cards/{uid}/block",
            format!("/api/v1/cards/{CARD_A2}/block"),
            None,
            vec![Admin, Parent],
        ),
        (
            Method::POST,
            "/api/v1/children/{id}/card-orders",
            format!("{child}/card-orders"),
            Some(json!({"address": "Vej 1, 2100 København Ø", "id": order_id})),
            vec![Admin, Parent],
        ),
        (
            Method::PATCH,
            "/api/v1/card-orders/{id}",
            format!("/api/v1/card-orders/{first_order}"),
            Some(json!({"status": "handed_out"})),
            vec![Admin],
        ),
        (
            Method::GET,
            "/api/v1/reports/day",
            format!("/api/v1/reports/day?date={today}"),
            None,
            vec![Admin],
        ),
        (
            Method::GET,
            "/api/v1/reports/month",
            format!("/api/v1/reports/month?month={}", today.format("%Y-%m")),
            None,
            vec![Admin],
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries",
            "/api/v1/kiosk/entries".into(),
            Some(batch(&[sale(a, CARD_A, "k1", 500, 1)])),
            vec![Kiosk],
        ),
        (
            Method::GET,
            "/api/v1/kiosk/changes",
            "/api/v1/kiosk/changes?since=0".into(),
            None,
            vec![Kiosk, OtherKiosk],
        ),
        (
            Method::POST,
            "/api/v1/kiosk/cards",
            "/api/v1/kiosk/cards".into(),
            Some(json!({"action": "block", "uid": CARD_A2})),
            vec![Kiosk, OtherKiosk],
        ),
    ];
    let documented: BTreeSet<(String, String)> = klubkasse_ledger::ApiDoc::openapi()
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PATCH", item.patch.is_some()),
                ("PUT", item.put.is_some()),
                ("DELETE", item.delete.is_some()),
            ]
            .into_iter()
            .filter(|(_, there)| *there)
            .map(|(method, _)| (method.to_string(), path.clone()))
        })
        .collect();
    let tested: BTreeSet<(String, String)> = table
        .iter()
        .map(|(method, template, ..)| (method.to_string(), template.to_string()))
        .collect();
    let routed: BTreeSet<(String, String)> = klubkasse_ledger::api_routes()
        .into_iter()
        .map(|(method, template)| (method.to_string(), template.to_string()))
        .collect();
    // A new route fails here until someone decides who may call it.
    assert_eq!(tested, routed, "the table and the router disagree");
    assert_eq!(routed, documented, "the router and /openapi.json disagree");
    let mut failures = Vec::new();
    for (method, _, path, body, allowed) in &table {
        for (who, authorization) in &callers {
            let body = body
                .as_ref()
                .map(|b| ("application/json", serde_json::to_vec(b).expect("json")));
            let answer = l
                .with_authorization(method.clone(), path, authorization.as_deref(), body)
                .await;
            let expected = if allowed.contains(who) {
                None
            } else {
                Some(match who {
                    NoToken | Malformed | Wrong | Revoked => {
                        (StatusCode::UNAUTHORIZED, "unauthorized")
                    }
                    Expired => (StatusCode::UNAUTHORIZED, "token_expired"),
                    _ => (StatusCode::FORBIDDEN, "forbidden"),
                })
            };
            let ok = match expected {
                None => answer.status.is_success(),
                Some((status, code)) => {
                    answer.status == status
                        && answer.body["error"] == code
                        && answer.body["message"].is_string()
                }
            };
            if !ok {
                failures.push(format!(
                    "{method} {path} as {who:?} ({authorization:?}): {} {}",
                    answer.status, answer.text
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
