//! The ledger against a real PostgreSQL (KLUBKASSE_TEST_DATABASE_URL; run
//! ./install.sh --test). Each test has a database of its own.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::{CardState, ChildId, Money};
use klubkasse_core::protocol::{Changes, Flag, MAX_BATCH, PushResult};
use klubkasse_ledger::auth::{TokenRole, create_token, parse_lifetime, revoke_token};
use klubkasse_testkit::ledger::*;
use serde_json::{Value, json};
use utoipa::OpenApi;
use uuid::Uuid;

fn push_result(answer: &Answer) -> PushResult {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    serde_json::from_value(answer.body.clone()).expect("PushResult")
}

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
/// table must name every route the OpenAPI description lists.
#[tokio::test]
async fn every_endpoint_by_every_role() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    let b = l.enrol("Oscar").await;
    l.hand_out(a, CARD_A).await;
    l.hand_out(a, CARD_A2).await;
    l.hand_out(b, CARD_B).await;
    assert_eq!(l.deposit(a, "500.00").await.status, StatusCode::CREATED);
    let first_order = l
        .admin(Method::GET, &format!("/api/v1/children/{a}"), None)
        .await
        .body["orders"][0]["id"]
        .as_str()
        .expect("order")
        .to_string();
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
    assert_eq!(tested, documented, "the table and the router disagree");
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

#[tokio::test]
async fn deposit_shows_at_the_counter_after_the_next_pull() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let pull = |since: i64| {
        let (l, kiosk) = (&l, kiosk.clone());
        async move {
            let answer = l
                .call(
                    Method::GET,
                    &format!("/api/v1/kiosk/changes?since={since}"),
                    Some(&kiosk),
                    None,
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
            serde_json::from_value::<Changes>(answer.body).expect("Changes")
        }
    };
    let first = pull(0).await;
    assert_eq!(first.accounts.len(), 1);
    assert_eq!(first.accounts[0].balance, Money::ZERO);
    assert_eq!(first.accounts[0].cards.len(), 1);
    assert!(pull(first.cursor).await.accounts.is_empty());
    assert_eq!(l.deposit(a, "120.50").await.status, StatusCode::CREATED);
    let next = pull(first.cursor).await;
    assert_eq!(next.accounts.len(), 1);
    assert_eq!(next.accounts[0].balance, Money::from_ore(12050));
    assert!(next.cursor > first.cursor);
    assert!(!next.more);
    // Paging: limit 1 over two changed children says "more".
    let b = l.enrol("Oscar").await;
    l.deposit(b, "5").await;
    l.deposit(a, "5").await;
    let answer = l
        .call(
            Method::GET,
            &format!("/api/v1/kiosk/changes?since={}&limit=1", next.cursor),
            Some(&kiosk),
            None,
        )
        .await;
    let page: Changes = serde_json::from_value(answer.body).expect("Changes");
    assert_eq!(page.accounts.len(), 1);
    assert!(page.more);
}

#[tokio::test]
async fn a_sale_shows_in_balance_and_history_with_its_items() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    l.deposit(a, "100").await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let s = sale(a, CARD_A, "k1", 1200, 2);
    let result = push_result(
        &l.call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(std::slice::from_ref(&s))),
        )
        .await,
    );
    assert_eq!(result.results.len(), 1);
    assert!(result.results[0].new);
    assert!(result.results[0].flags.is_empty());
    assert_eq!(result.results[0].balance, Money::kroner(76));
    assert_eq!(l.balance(a).await, Money::kroner(76));
    let history = l
        .admin(Method::GET, &format!("/api/v1/children/{a}/entries"), None)
        .await;
    let last = &history.body.as_array().expect("list")[1];
    assert_eq!(last["entry"]["id"], json!(s.id));
    assert_eq!(
        last["entry"]["kind"]["Sale"]["lines"][0]["name"],
        json!("Toast")
    );
    assert_eq!(
        last["entry"]["kind"]["Sale"]["lines"][0]["quantity"],
        json!(2)
    );
    assert_eq!(last["entry"]["amount"], json!("-24.00"));
    // A refund gives it back; a second refund of the same sale is refused.
    let r = refund(&s);
    let result = push_result(
        &l.call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(&[r])),
        )
        .await,
    );
    assert_eq!(result.results[0].balance, Money::kroner(100));
    let again = refund(&s);
    let answer = l
        .call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(&[again])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.error_code(), "refund_too_large");
    let day = l
        .admin(
            Method::GET,
            &format!(
                "/api/v1/reports/day?date={}&format=csv",
                chrono::Utc::now().date_naive()
            ),
            None,
        )
        .await;
    assert!(
        day.text.starts_with("club,counter,kind,count,total\n"),
        "{}",
        day.text
    );
    assert!(
        day.text.contains("Kastanjen,k1,sale,1,-24.00"),
        "{}",
        day.text
    );
}

#[tokio::test]
async fn block_and_replacement_charge_the_fee_once_and_the_first_card_is_free() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    let detail = l
        .admin(Method::GET, &format!("/api/v1/children/{a}"), None)
        .await;
    assert_eq!(detail.body["orders"][0]["fee"], json!("0.00"));
    assert_eq!(detail.body["orders"][0]["status"], json!("ordered"));
    l.hand_out(a, CARD_A).await;
    let detail = l
        .admin(Method::GET, &format!("/api/v1/children/{a}"), None)
        .await;
    assert_eq!(detail.body["orders"][0]["status"], json!("handed_out"));
    l.deposit(a, "100").await;
    let parent = l.token(TokenRole::Parent, None, &[a]).await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let since = serde_json::from_value::<Changes>(
        l.call(Method::GET, "/api/v1/kiosk/changes", Some(&kiosk), None)
            .await
            .body,
    )
    .expect("Changes")
    .cursor;
    let id = Uuid::now_v7();
    let body = json!({"address": "Vej 1, 2100 København Ø", "id": id});
    let path = format!("/api/v1/children/{a}/card-orders");
    let order = l
        .call(Method::POST, &path, Some(&parent), Some(body.clone()))
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    assert_eq!(order.body["fee"], json!("45.00"));
    let repeat = l.call(Method::POST, &path, Some(&parent), Some(body)).await;
    assert_eq!(repeat.status, StatusCode::OK);
    assert_eq!(l.balance(a).await, Money::kroner(55));
    let fees: i64 = sqlx::query_scalar("SELECT count(*) FROM entries WHERE kind = 'card_fee'")
        .fetch_one(&l.pool)
        .await
        .expect("count");
    assert_eq!(fees, 1);
    // The counter learns of the block in its next pull.
    let changes: Changes = serde_json::from_value(
        l.call(
            Method::GET,
            &format!("/api/v1/kiosk/changes?since={since}"),
            Some(&kiosk),
            None,
        )
        .await
        .body,
    )
    .expect("Changes");
    assert_eq!(changes.accounts[0].cards[0].state, CardState::Blocked);
    // A sale on the old card that was made offline is recorded and flagged.
    let result = push_result(
        &l.call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(&[sale(a, CARD_A, "k1", 500, 1)])),
        )
        .await,
    );
    assert_eq!(result.results[0].flags, vec![Flag::CardBlocked]);
    // The order goes out by post; the new card works once handed out.
    let patch = l
        .admin(
            Method::PATCH,
            &format!("/api/v1/card-orders/{id}"),
            Some(json!({"status": "sent"})),
        )
        .await;
    assert_eq!(patch.body["status"], json!("sent"));
    let back = l
        .admin(
            Method::PATCH,
            &format!("/api/v1/card-orders/{id}"),
            Some(json!({"status": "ordered"})),
        )
        .await;
    assert_eq!(back.status, StatusCode::CONFLICT);
    l.hand_out(a, CARD_A2).await;
    let detail = l
        .admin(Method::GET, &format!("/api/v1/children/{a}"), None)
        .await;
    assert_eq!(detail.body["orders"][1]["status"], json!("handed_out"));
    assert_eq!(detail.body["orders"][1]["card"], json!(CARD_A2));
    let result = push_result(
        &l.call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(&[sale(a, CARD_A2, "k1", 500, 1)])),
        )
        .await,
    );
    assert!(result.results[0].flags.is_empty());
    // A blocked card cannot be handed out again.
    let answer = l
        .admin(
            Method::POST,
            &format!("/api/v1/children/{a}/cards"),
            Some(json!({"uid": CARD_A})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn withdrawal_above_the_balance_and_deposit_above_the_cap_change_nothing() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.deposit(a, "100").await;
    let before = l.fingerprint().await;
    let answer = l
        .admin(
            Method::POST,
            &format!("/api/v1/children/{a}/withdrawals"),
            Some(json!({"amount": "100.01"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(answer.error_code(), "insufficient_funds");
    let answer = l.deposit(a, "900.01").await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(answer.error_code(), "balance_cap");
    assert_eq!(l.fingerprint().await, before);
    // Exactly up to the cap, and exactly down to zero, are fine.
    assert_eq!(l.deposit(a, "900.00").await.status, StatusCode::CREATED);
    let all = l
        .admin(
            Method::POST,
            &format!("/api/v1/children/{a}/withdrawals"),
            Some(json!({"amount": "1000"})),
        )
        .await;
    assert_eq!(all.status, StatusCode::CREATED, "{}", all.text);
    assert_eq!(l.balance(a).await, Money::ZERO);
}

#[tokio::test]
async fn the_same_batch_twice_is_counted_once() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    l.deposit(a, "100").await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let entries: Vec<_> = (0..20).map(|_| sale(a, CARD_A, "k1", 150, 1)).collect();
    let first = push_result(
        &l.call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(&entries)),
        )
        .await,
    );
    let second = push_result(
        &l.call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(&entries)),
        )
        .await,
    );
    assert!(first.results.iter().all(|r| r.new));
    assert!(second.results.iter().all(|r| !r.new));
    // A repeat answers with the first result.
    for (one, two) in first.results.iter().zip(&second.results) {
        assert_eq!(
            (one.id, &one.flags, one.balance),
            (two.id, &two.flags, two.balance)
        );
    }
    assert_eq!(l.balance(a).await, Money::kroner(70));
    assert_eq!(l.entry_count().await, 21);
}

#[tokio::test]
async fn a_batch_retried_concurrently_is_counted_once() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    l.deposit(a, "100").await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let entries: Vec<_> = (0..50).map(|_| sale(a, CARD_A, "k1", 100, 1)).collect();
    let body = batch(&entries);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (app, kiosk, body) = (l.app.clone(), kiosk.clone(), body.clone());
            let l2 = klubkasse_testkit::ledger::Ledger {
                app,
                pool: l.pool.clone(),
                admin: String::new(),
                url: l.url.clone(),
            };
            tokio::spawn(async move {
                push_result(
                    &l2.call(
                        Method::POST,
                        "/api/v1/kiosk/entries",
                        Some(&kiosk),
                        Some(body),
                    )
                    .await,
                )
            })
        })
        .collect();
    let mut new = 0;
    for task in tasks {
        new += task
            .await
            .expect("task")
            .results
            .iter()
            .filter(|r| r.new)
            .count();
    }
    assert_eq!(new, 50);
    assert_eq!(l.balance(a).await, Money::kroner(50));
    assert_eq!(l.entry_count().await, 51);
}

#[tokio::test]
async fn two_counters_selling_to_one_child_at_once_stay_consistent_and_flag_the_overdraft() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    l.deposit(a, "50").await;
    let mut tasks = Vec::new();
    for counter in ["k1", "k2"] {
        let kiosk = l.token(TokenRole::Kiosk, Some(counter), &[]).await;
        let l2 = klubkasse_testkit::ledger::Ledger {
            app: l.app.clone(),
            pool: l.pool.clone(),
            admin: String::new(),
            url: l.url.clone(),
        };
        tasks.push(tokio::spawn(async move {
            let mut flags = Vec::new();
            // One sale a push, as a counter coming back online sends them.
            for _ in 0..10 {
                let s = sale(a, CARD_A, counter, 500, 1);
                let r = push_result(
                    &l2.call(
                        Method::POST,
                        "/api/v1/kiosk/entries",
                        Some(&kiosk),
                        Some(batch(&[s])),
                    )
                    .await,
                );
                flags.extend(r.results[0].flags.clone());
            }
            flags
        }));
    }
    let mut overdrafts = 0;
    for task in tasks {
        overdrafts += task
            .await
            .expect("task")
            .iter()
            .filter(|f| **f == Flag::Overdraft)
            .count();
    }
    let (stored, sum) = l.balance_and_sum(a).await;
    assert_eq!(stored, Money::kroner(-50));
    assert_eq!(stored, sum);
    assert_eq!(overdrafts, 10, "the ten sales below zero are flagged");
    let counted: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM entries WHERE kind = 'sale' AND 'overdraft' = ANY(flags)",
    )
    .fetch_one(&l.pool)
    .await
    .expect("count");
    assert_eq!(counted, 10);
}

#[tokio::test]
async fn kiosk_rules_other_counter_too_many_and_bad_entries() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let before = l.fingerprint().await;
    let push = |body: Value| {
        let (l, kiosk) = (&l, kiosk.clone());
        async move {
            l.call(
                Method::POST,
                "/api/v1/kiosk/entries",
                Some(&kiosk),
                Some(body),
            )
            .await
        }
    };
    // One entry for another counter: the whole batch is refused.
    let answer = push(batch(&[
        sale(a, CARD_A, "k1", 100, 1),
        sale(a, CARD_A, "k2", 100, 1),
    ]))
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let many: Vec<_> = (0..=MAX_BATCH)
        .map(|_| sale(a, CARD_A, "k1", 100, 1))
        .collect();
    let answer = push(batch(&many)).await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.text
    );
    assert_eq!(answer.error_code(), "payload_too_large");
    let mut wrong_sum = sale(a, CARD_A, "k1", 100, 2);
    wrong_sum.amount = Money::from_ore(-100);
    let unknown_child = sale(ChildId::new(), CARD_A, "k1", 100, 1);
    let mut deposit = sale(a, CARD_A, "k1", 100, 1);
    deposit.kind = klubkasse_core::domain::EntryKind::Deposit;
    for bad in [wrong_sum, unknown_child, deposit] {
        let answer = push(batch(&[sale(a, CARD_A, "k1", 100, 1), bad])).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.text
        );
    }
    assert_eq!(l.fingerprint().await, before);
    // An unknown card still records the sale, flagged.
    let r = push_result(&push(batch(&[sale(a, "DEADBEEF", "k1", 100, 1)])).await);
    assert_eq!(r.results[0].flags, vec![Flag::Overdraft, Flag::UnknownCard]);
}

#[tokio::test]
async fn limits_categories_and_notes_flag_sales_and_reach_the_counter() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    l.deposit(a, "100").await;
    let patch = l
        .admin(Method::PATCH, &format!("/api/v1/children/{a}"), Some(json!({"daily_limit": "10.00", "blocked_categories": ["Slik", "slik"], "note": "Nøddeallergi"})))
        .await;
    assert_eq!(patch.status, StatusCode::OK, "{}", patch.text);
    assert_eq!(patch.body["child"]["blocked_categories"], json!(["slik"]));
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let changes: Changes = serde_json::from_value(
        l.call(Method::GET, "/api/v1/kiosk/changes", Some(&kiosk), None)
            .await
            .body,
    )
    .expect("Changes");
    assert_eq!(
        changes.accounts[0].child.daily_limit,
        Some(Money::kroner(10))
    );
    assert_eq!(
        changes.accounts[0].child.note.as_deref(),
        Some("Nøddeallergi")
    );
    let mut candy = sale(a, CARD_A, "k1", 1200, 1);
    if let klubkasse_core::domain::EntryKind::Sale { lines, .. } = &mut candy.kind {
        lines[0].category = "slik".into();
    }
    let r = push_result(
        &l.call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(&[candy])),
        )
        .await,
    );
    assert_eq!(
        r.results[0].flags,
        vec![Flag::DailyLimitExceeded, Flag::CategoryBlocked]
    );
    // null clears the limit; absent fields stay.
    let patch = l
        .admin(
            Method::PATCH,
            &format!("/api/v1/children/{a}"),
            Some(json!({"daily_limit": null})),
        )
        .await;
    assert_eq!(patch.body["child"]["daily_limit"], Value::Null);
    assert_eq!(patch.body["child"]["note"], json!("Nøddeallergi"));
}

/// Malformed and hostile bodies: a 4xx with an ApiError, never a 5xx, and nothing changed.
#[tokio::test]
async fn bad_input_is_refused_with_an_api_error_and_changes_nothing() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    l.deposit(a, "100").await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let admin = l.admin.clone();
    let before = l.fingerprint().await;
    let deposits = format!("/api/v1/children/{a}/deposits");
    let long = "x".repeat(101);
    let cases: Vec<(&str, String, &str, Vec<u8>, &str)> = vec![
        (
            "POST",
            deposits.clone(),
            "application/json",
            b"{\"amount\": \"10\"".to_vec(),
            &admin,
        ),
        (
            "POST",
            deposits.clone(),
            "application/json",
            b"not json".to_vec(),
            &admin,
        ),
        (
            "POST",
            deposits.clone(),
            "text/plain",
            b"{\"amount\": \"10\"}".to_vec(),
            &admin,
        ),
        (
            "POST",
            deposits.clone(),
            "application/json",
            br#"{"amount": 10}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            deposits.clone(),
            "application/json",
            br#"{"amount": "-10"}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            deposits.clone(),
            "application/json",
            br#"{"amount": "0"}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            deposits.clone(),
            "application/json",
            br#"{"amount": "10.001"}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            deposits.clone(),
            "application/json",
            br#"{"amount": "1000001"}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            deposits.clone(),
            "application/json",
            br#"{"amount": "1e400"}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            deposits.clone(),
            "application/json",
            br#"{"amount": "10", "extra": 1}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            deposits.clone(),
            "application/json",
            br#"[]"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            format!("/api/v1/children/{}/deposits", Uuid::now_v7()),
            "application/json",
            br#"{"amount": "10"}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            "/api/v1/children/not-a-uuid/deposits".into(),
            "application/json",
            br#"{"amount": "10"}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            "/api/v1/children".into(),
            "application/json",
            format!(r#"{{"name": "{long}", "club": "K"}}"#).into_bytes(),
            &admin,
        ),
        (
            "POST",
            "/api/v1/children".into(),
            "application/json",
            br#"{"name": "   ", "club": "K"}"#.to_vec(),
            &admin,
        ),
        (
            "PATCH",
            format!("/api/v1/children/{a}"),
            "application/json",
            format!(r#"{{"note": "{}"}}"#, "n".repeat(501)).into_bytes(),
            &admin,
        ),
        (
            "PATCH",
            format!("/api/v1/children/{a}"),
            "application/json",
            br#"{"daily_limit": "-1"}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            format!("/api/v1/children/{a}/card-orders"),
            "application/json",
            format!(r#"{{"address": "{}"}}"#, "a".repeat(301)).into_bytes(),
            &admin,
        ),
        (
            "POST",
            format!("/api/v1/children/{a}/cards"),
            "application/json",
            br#"{"uid": "nope"}"#.to_vec(),
            &admin,
        ),
        (
            "POST",
            "/api/v1/cards/ZZ/block".into(),
            "application/json",
            Vec::new(),
            &admin,
        ),
        (
            "PATCH",
            format!("/api/v1/card-orders/{}", Uuid::now_v7()),
            "application/json",
            br#"{"status": "sent"}"#.to_vec(),
            &admin,
        ),
        (
            "PATCH",
            format!("/api/v1/card-orders/{}", Uuid::now_v7()),
            "application/json",
            br#"{"status": "lost"}"#.to_vec(),
            &admin,
        ),
        (
            "GET",
            "/api/v1/reports/day?date=yesterday".into(),
            "",
            Vec::new(),
            &admin,
        ),
        (
            "GET",
            "/api/v1/reports/month?month=2025-13".into(),
            "",
            Vec::new(),
            &admin,
        ),
        (
            "GET",
            "/api/v1/kiosk/changes?since=-1".into(),
            "",
            Vec::new(),
            &kiosk,
        ),
        (
            "GET",
            "/api/v1/kiosk/changes?limit=0".into(),
            "",
            Vec::new(),
            &kiosk,
        ),
        (
            "GET",
            "/api/v1/kiosk/changes?since=abc".into(),
            "",
            Vec::new(),
            &kiosk,
        ),
        (
            "POST",
            "/api/v1/kiosk/entries".into(),
            "application/json",
            br#"{"entries": [{"id": 1}]}"#.to_vec(),
            &kiosk,
        ),
        (
            "POST",
            "/api/v1/kiosk/entries".into(),
            "application/json",
            br#"{"entries": [], "more": true}"#.to_vec(),
            &kiosk,
        ),
        (
            "POST",
            "/api/v1/kiosk/cards".into(),
            "application/json",
            br#"{"action": "explode", "uid": "04A1B2C3"}"#.to_vec(),
            &kiosk,
        ),
        (
            "POST",
            "/api/v1/kiosk/cards".into(),
            "application/json",
            format!(
                r#"{{"action": "hand_out", "uid": "04A1B2C3", "child": "{}"}}"#,
                Uuid::now_v7()
            )
            .into_bytes(),
            &kiosk,
        ),
        ("DELETE", deposits.clone(), "", Vec::new(), &admin),
        ("GET", "/api/v2/nothing".into(), "", Vec::new(), &admin),
        (
            "POST",
            deposits.clone(),
            "application/json",
            vec![b' '; 3 * 1024 * 1024],
            &admin,
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, content_type, body, token) in cases {
        let body = (!content_type.is_empty()).then_some((content_type, body));
        let answer = l
            .raw(method.parse().expect("method"), &path, Some(token), body)
            .await;
        let api_error = answer.body["error"].is_string() && answer.body["message"].is_string();
        if !answer.status.is_client_error() || !api_error {
            failures.push(format!(
                "{method} {path}: {} {}",
                answer.status, answer.text
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(l.fingerprint().await, before);
}

/// Strings that test the edges of text: emoji, right-to-left and its
/// override, combining accents, NUL and other control characters, and
/// anything proptest makes up.
fn awkward_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        Just("🎈🧃🍫👩‍👩‍👧".to_string()),
        Just("فريا \u{202E}ajerF\u{202C}".to_string()),
        Just("Fre\u{301}ja Zoe\u{308}\u{20DD}".to_string()),
        Just("Fre\u{0}ja".to_string()),
        Just("\u{1b}[2J\u{7}\u{85}".to_string()),
        Just("x".repeat(10_000)),
        Just("🎈".repeat(10_000)),
        Just("'; DROP TABLE entries; --".to_string()),
        any::<String>(),
        "[a-z0-9 .,-]{0,12}",
    ]
}

/// Random JSON bodies (right keys, random values, random nesting) at every
/// endpoint that takes a body: never a 5xx; a refusal has an ApiError body
/// and changes nothing; the books always add up.
#[test]
fn random_bodies_never_give_a_5xx() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (l, a, kiosk, order) = runtime.block_on(async {
        let l = ledger().await;
        let a = l.enrol("Freja").await;
        l.hand_out(a, CARD_A).await;
        let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
        let order = l
            .admin(Method::GET, &format!("/api/v1/children/{a}"), None)
            .await
            .body["orders"][0]["id"]
            .as_str()
            .expect("order")
            .to_string();
        (l, a, kiosk, order)
    });
    // (method, path, as a counter)
    let endpoints = [
        (Method::POST, "/api/v1/children".to_string(), false),
        (Method::PATCH, format!("/api/v1/children/{a}"), false),
        (
            Method::POST,
            format!("/api/v1/children/{a}/deposits"),
            false,
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/withdrawals"),
            false,
        ),
        (Method::POST, format!("/api/v1/children/{a}/cards"), false),
        (
            Method::POST,
            format!("/api/v1/children/{a}/card-orders"),
            false,
        ),
        (Method::PATCH, format!("/api/v1/card-orders/{order}"), false),
        (Method::POST, "/api/v1/kiosk/entries".to_string(), true),
        (Method::POST, "/api/v1/kiosk/cards".to_string(), true),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        awkward_text().prop_map(Value::from),
        Just(json!(1e30)),
        Just(json!(99999999999.999)),
        Just(json!("12.50")),
        Just(json!("-12.50")),
        Just(json!("0")),
        Just(json!("99999999999.999")),
        Just(json!("0.000000000000000000000000001")),
        Just(json!(CARD_A)),
        Just(json!(a)),
        Just(json!("sale")),
        Just(json!("block")),
        Just(json!("sent")),
    ];
    let keys = prop_oneof![
        Just("amount"),
        Just("id"),
        Just("name"),
        Just("club"),
        Just("note"),
        Just("entries"),
        Just("action"),
        Just("uid"),
        Just("child"),
        Just("daily_limit"),
        Just("blocked_categories"),
        Just("address"),
        Just("status"),
        Just("kind"),
        Just("counter"),
        Just("lines"),
        Just("at"),
        Just("Sale"),
    ];
    let value = leaf.prop_recursive(3, 24, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone().prop_map(String::from), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        ..ProptestConfig::default()
    });
    runner
        .run(&(0..endpoints.len(), value), |(endpoint, body)| {
            let (method, path, as_counter) = &endpoints[endpoint];
            let token = if *as_counter { &kiosk } else { &l.admin };
            let before = runtime.block_on(l.fingerprint());
            let answer =
                runtime.block_on(l.call(method.clone(), path, Some(token), Some(body.clone())));
            prop_assert!(
                !answer.status.is_server_error(),
                "{} {} for {method} {path} {body}",
                answer.status,
                answer.text
            );
            if !answer.status.is_success() {
                prop_assert!(
                    answer.body["error"].is_string() && answer.body["message"].is_string(),
                    "no ApiError: {}",
                    answer.text
                );
                prop_assert_eq!(runtime.block_on(l.fingerprint()), before);
            }
            Ok(())
        })
        .expect("no 5xx");
    let (stored, sum) = runtime.block_on(l.balance_and_sum(a));
    assert_eq!(stored, sum);
}

/// What one field of a body must refuse.
#[derive(Debug, Clone, Copy)]
enum Field {
    /// A positive amount: deposits, withdrawals.
    Amount,
    /// A sale's signed amount, a line's unit price.
    Price,
    /// A daily limit: like a price, but null clears it.
    Limit,
    /// Trimmed text of at most this many characters; `true`: "" and null
    /// are allowed (they clear it).
    Text(usize, bool),
    Uid,
    Quantity,
    Id,
    Time,
    /// One of a few words (an order status, a card action).
    Word,
    Categories,
}

/// Values `field` must refuse: a 4xx whatever else the body says.
fn hostile(field: Field) -> proptest::strategy::BoxedStrategy<Value> {
    use proptest::prelude::*;
    let wrong_type = prop_oneof![
        any::<bool>().prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!(["12.50"])),
        Just(json!({"amount": "12.50"})),
    ];
    let bad_amounts = prop_oneof![
        Just(json!("1e30")),
        Just(json!("99999999999.999")),
        Just(json!("1000000.01")),
        Just(json!("12.505")),
        Just(json!("0.000000000000000000000000001")),
        Just(json!("1.0000000000000000000000000000001")),
        Just(json!("79228162514264337593543950336")),
        Just(json!("NaN")),
        Just(json!("Infinity")),
        Just(json!("")),
        Just(json!("   ")),
        Just(json!("12 kr.")),
        Just(json!("0x10")),
        Just(json!(1e30)),
        Just(json!(99999999999.999)),
        Just(json!(12.5)),
        Just(json!(10)),
        (3usize..40).prop_map(|decimals| json!(format!("1.{}", "7".repeat(decimals)))),
        "[0-9]{8,40}".prop_map(Value::from),
        awkward_text().prop_map(Value::from),
    ];
    match field {
        Field::Amount => prop_oneof![
            bad_amounts,
            Just(Value::Null),
            Just(json!("0")),
            Just(json!("0.00")),
            Just(json!("-0")),
            "-[1-9][0-9]{0,5}(\\.[0-9]{1,2})?".prop_map(Value::from),
            wrong_type,
        ]
        .boxed(),
        Field::Price => prop_oneof![
            bad_amounts,
            Just(Value::Null),
            "-[1-9][0-9]{0,5}(\\.[0-9]{1,2})?".prop_map(Value::from),
            wrong_type,
        ]
        .boxed(),
        Field::Limit => prop_oneof![
            bad_amounts,
            "-[1-9][0-9]{0,5}(\\.[0-9]{1,2})?".prop_map(Value::from),
            wrong_type,
        ]
        .boxed(),
        Field::Text(max, empty_ok) => {
            let over_long = prop_oneof![
                Just("🎈"),
                Just("\u{202E}"),
                Just("e\u{301}"),
                Just("ø"),
                Just("x")
            ]
            .prop_map(move |piece| json!(piece.repeat(max.max(10_000 / piece.len()) + 1)));
            let control = (
                awkward_text(),
                prop_oneof![
                    Just('\0'),
                    Just('\n'),
                    Just('\t'),
                    Just('\u{7f}'),
                    Just('\u{1b}'),
                    Just('\u{85}')
                ],
            )
                .prop_map(move |(text, control)| {
                    // Inside the text: trimming must not take it away.
                    let text: String = text.chars().take(max / 2).collect();
                    json!(format!("A{control}B{text}"))
                });
            let numbers = prop_oneof![any::<i64>().prop_map(Value::from), Just(json!(1e30))];
            if empty_ok {
                prop_oneof![over_long, control, numbers, wrong_type].boxed()
            } else {
                let empty = prop_oneof![
                    Just(json!("")),
                    Just(json!("   ")),
                    Just(json!("\u{3000}\u{2003}")),
                    Just(Value::Null)
                ];
                prop_oneof![over_long, control, numbers, empty, wrong_type].boxed()
            }
        }
        Field::Uid => prop_oneof![
            Just(json!("")),
            Just(json!("04A1B2C")),
            Just(json!("04A1B2C3D4")),
            Just(json!("ZZZZZZZZ")),
            Just(json!("04A1B2C3\u{0}")),
            Just(json!("0".repeat(10_000))),
            awkward_text()
                .prop_filter("not hex", |t| !t
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || " :-".contains(c)))
                .prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(Value::Null),
            wrong_type,
        ]
        .boxed(),
        Field::Quantity => prop_oneof![
            Just(json!(0)),
            Just(json!(-1)),
            Just(json!(1001)),
            Just(json!(4_294_967_296u64)),
            Just(json!(1e30)),
            Just(json!(1.5)),
            Just(json!("1")),
            Just(Value::Null),
            wrong_type,
        ]
        .boxed(),
        Field::Id => prop_oneof![
            Just(json!("not-a-uuid")),
            Just(json!("")),
            Just(json!(12)),
            awkward_text().prop_map(Value::from),
            wrong_type,
        ]
        .boxed(),
        Field::Time => prop_oneof![
            Just(json!("yesterday")),
            Just(json!("2026-13-45T25:61:00Z")),
            Just(json!(1_700_000_000)),
            Just(json!("")),
            Just(Value::Null),
            awkward_text().prop_map(Value::from),
            wrong_type,
        ]
        .boxed(),
        Field::Word => prop_oneof![
            Just(json!("lost")),
            Just(json!("SENT")),
            Just(json!("explode")),
            Just(json!("")),
            Just(Value::Null),
            awkward_text().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            wrong_type,
        ]
        .boxed(),
        Field::Categories => prop_oneof![
            Just(json!("slik")),
            Just(json!((0..51).map(|n| format!("k{n}")).collect::<Vec<_>>())),
            hostile(Field::Text(50, false)).prop_map(|bad| json!(["slik", bad])),
            any::<i64>().prop_map(Value::from),
        ]
        .boxed(),
    }
}

/// Every field of every body, one at a time, with values it must refuse
/// (huge, negative, zero, too precise, wrong types, over-long, control
/// characters, NUL, emoji, RTL, combining accents): always a 4xx with an
/// ApiError body, never a 5xx, and no balance, row or card changes.
#[test]
fn hostile_values_in_every_field_are_refused_and_change_nothing() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (l, a, kiosk, order) = runtime.block_on(async {
        let l = ledger().await;
        let a = l.enrol("Freja").await;
        l.hand_out(a, CARD_A).await;
        l.deposit(a, "100.00").await;
        let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
        let order = l
            .admin(Method::GET, &format!("/api/v1/children/{a}"), None)
            .await
            .body["orders"][0]["id"]
            .as_str()
            .expect("order")
            .to_string();
        (l, a, kiosk, order)
    });
    let sale_body = batch(&[sale(a, CARD_A, "k1", 1250, 2)]);
    let id = Uuid::now_v7();
    use Field::*;
    // (method, path, as a counter, a body that would be taken, the field
    // made hostile as a JSON pointer, what it must refuse)
    type Row<'a> = (Method, String, bool, Value, &'a str, Field);
    let fields: Vec<Row> = vec![
        (
            Method::POST,
            "/api/v1/children".into(),
            false,
            json!({"name": "Ny", "club": "K"}),
            "/name",
            Text(100, false),
        ),
        (
            Method::POST,
            "/api/v1/children".into(),
            false,
            json!({"name": "Ny", "club": "K"}),
            "/club",
            Text(100, false),
        ),
        (
            Method::PATCH,
            format!("/api/v1/children/{a}"),
            false,
            json!({"note": "n"}),
            "/note",
            Text(500, true),
        ),
        (
            Method::PATCH,
            format!("/api/v1/children/{a}"),
            false,
            json!({"daily_limit": "20.00"}),
            "/daily_limit",
            Limit,
        ),
        (
            Method::PATCH,
            format!("/api/v1/children/{a}"),
            false,
            json!({"blocked_categories": ["slik"]}),
            "/blocked_categories",
            Categories,
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/deposits"),
            false,
            json!({"amount": "10.00", "id": id}),
            "/amount",
            Amount,
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/deposits"),
            false,
            json!({"amount": "10.00", "id": id}),
            "/id",
            Id,
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/withdrawals"),
            false,
            json!({"amount": "10.00", "id": id}),
            "/amount",
            Amount,
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/withdrawals"),
            false,
            json!({"amount": "10.00", "id": id}),
            "/id",
            Id,
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/cards"),
            false,
            json!({"uid": CARD_B}),
            "/uid",
            Uid,
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/card-orders"),
            false,
            json!({"address": "Vej 1", "id": id}),
            "/address",
            Text(300, false),
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/card-orders"),
            false,
            json!({"address": "Vej 1", "id": id}),
            "/id",
            Id,
        ),
        (
            Method::PATCH,
            format!("/api/v1/card-orders/{order}"),
            false,
            json!({"status": "sent"}),
            "/status",
            Word,
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries",
            Categories,
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries/0/id",
            Id,
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries/0/child",
            Id,
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries/0/at",
            Time,
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries/0/amount",
            Price,
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries/0/counter",
            Text(100, false),
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries/0/kind/Sale/card",
            Uid,
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries/0/kind/Sale/lines/0/name",
            Text(100, false),
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries/0/kind/Sale/lines/0/category",
            Text(100, false),
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries/0/kind/Sale/lines/0/unit_price",
            Price,
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries".into(),
            true,
            sale_body.clone(),
            "/entries/0/kind/Sale/lines/0/quantity",
            Quantity,
        ),
        (
            Method::POST,
            "/api/v1/kiosk/cards".into(),
            true,
            json!({"action": "block", "uid": CARD_A}),
            "/uid",
            Uid,
        ),
        (
            Method::POST,
            "/api/v1/kiosk/cards".into(),
            true,
            json!({"action": "block", "uid": CARD_A}),
            "/action",
            Word,
        ),
    ];
    let strategy = (0..fields.len()).prop_flat_map(|index| {
        let field = fields[index].5;
        (Just(index), hostile(field))
    });
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 1000,
        ..ProptestConfig::default()
    });
    let at_start = runtime.block_on(l.fingerprint());
    runner
        .run(&strategy, |(index, bad)| {
            // Per case, so that shrinking compares like with like.
            let before = runtime.block_on(l.fingerprint());
            let (method, path, as_counter, body, pointer, _) = &fields[index];
            let mut body = body.clone();
            *body.pointer_mut(pointer).expect("the field is in the body") = bad;
            let token = if *as_counter { &kiosk } else { &l.admin };
            let answer =
                runtime.block_on(l.call(method.clone(), path, Some(token), Some(body.clone())));
            let shown: String = body.to_string().chars().take(300).collect();
            prop_assert!(
                answer.status.is_client_error()
                    && answer.body["error"].is_string()
                    && answer.body["message"].is_string(),
                "{} {} for {method} {path} {shown}",
                answer.status,
                answer.text
            );
            prop_assert_eq!(&runtime.block_on(l.fingerprint()), &before, "{}", shown);
            Ok(())
        })
        .expect("every hostile value refused");
    assert_eq!(runtime.block_on(l.fingerprint()), at_start);
    let (stored, sum) = runtime.block_on(l.balance_and_sum(a));
    assert_eq!(stored, sum);
    assert_eq!(stored, Money::kroner(100));
}

#[derive(Debug, Clone)]
enum Op {
    Deposit(i64),
    Withdraw(i64),
    Sale(usize, i64),
    RefundLast,
}

/// After any sequence of deposits, withdrawals, sales and refunds, on
/// several children, every balance is the sum of its entries.
#[test]
fn every_balance_is_the_sum_of_its_entries() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (l, children, kiosk) = runtime.block_on(async {
        let l = ledger().await;
        let mut children = Vec::new();
        for (i, name) in ["Freja", "Oscar", "Ida"].iter().enumerate() {
            let c = l.enrol(name).await;
            l.hand_out(c, &format!("04A1B2C{i}")).await;
            children.push(c);
        }
        let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
        (l, children, kiosk)
    });
    let op = prop_oneof![
        (1i64..50_000).prop_map(Op::Deposit),
        (1i64..50_000).prop_map(Op::Withdraw),
        (0usize..3, 1i64..5_000).prop_map(|(n, p)| Op::Sale(n, p)),
        Just(Op::RefundLast),
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(0usize..3, prop::collection::vec(op, 1..25)),
            |(who, ops)| {
                runtime.block_on(async {
                    let child = children[who];
                    let mut last_sale = None;
                    for op in ops {
                        match op {
                            Op::Deposit(ore) => {
                                let amount = Money::from_ore(ore).to_plain_string();
                                let a = l.deposit(child, &amount).await;
                                assert!(
                                    a.status == StatusCode::CREATED
                                        || a.status == StatusCode::CONFLICT,
                                    "{}",
                                    a.text
                                );
                            }
                            Op::Withdraw(ore) => {
                                let amount = Money::from_ore(ore).to_plain_string();
                                let a = l
                                    .admin(
                                        Method::POST,
                                        &format!("/api/v1/children/{child}/withdrawals"),
                                        Some(json!({"amount": amount})),
                                    )
                                    .await;
                                assert!(
                                    a.status == StatusCode::CREATED
                                        || a.status == StatusCode::CONFLICT,
                                    "{}",
                                    a.text
                                );
                            }
                            Op::Sale(n, ore) => {
                                let s =
                                    sale(child, &format!("04A1B2C{who}"), "k1", ore, n as u32 + 1);
                                push_result(
                                    &l.call(
                                        Method::POST,
                                        "/api/v1/kiosk/entries",
                                        Some(&kiosk),
                                        Some(batch(std::slice::from_ref(&s))),
                                    )
                                    .await,
                                );
                                last_sale = Some(s);
                            }
                            Op::RefundLast => {
                                if let Some(s) = last_sale.take() {
                                    push_result(
                                        &l.call(
                                            Method::POST,
                                            "/api/v1/kiosk/entries",
                                            Some(&kiosk),
                                            Some(batch(&[refund(&s)])),
                                        )
                                        .await,
                                    );
                                }
                            }
                        }
                    }
                    for c in &children {
                        let (stored, sum) = l.balance_and_sum(*c).await;
                        assert_eq!(stored, sum);
                        assert!(stored <= Money::kroner(1000) || stored == sum);
                    }
                });
                Ok(())
            },
        )
        .expect("balances are sums");
    // Change numbers are unique: the counters' cursors can trust them.
    let seqs: Vec<i64> = runtime
        .block_on(sqlx::query_scalar("SELECT change_seq FROM children").fetch_all(&l.pool))
        .expect("seqs");
    assert_eq!(seqs.len(), seqs.iter().collect::<BTreeSet<_>>().len());
}

/// Over a real socket: a push whose connection is cut halfway through the
/// body records nothing; a push whose connection closes before the answer
/// is recorded whole or not at all; the retry makes every sale count once.
#[tokio::test]
async fn a_batch_retried_after_the_connection_was_cut_is_counted_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    l.deposit(a, "100").await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = l.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let entries: Vec<_> = (0..10).map(|_| sale(a, CARD_A, "k1", 100, 1)).collect();
    let body = serde_json::to_vec(&batch(&entries)).expect("json");
    let head = format!(
        "POST /api/v1/kiosk/entries HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {kiosk}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // Cut halfway through the body.
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
        .write_all(&body[..body.len() / 2])
        .await
        .expect("write");
    drop(stream);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(l.entry_count().await, 1, "only the deposit");
    // Sent whole, but the answer is never read.
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(&body).await.expect("write");
    stream.shutdown().await.expect("shutdown");
    drop(stream);
    // The server may finish that push or drop it with the connection; either
    // way all of the batch or none of it is recorded, never a part.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let after_cut = l.entry_count().await;
    assert!(after_cut == 1 || after_cut == 11, "{after_cut} entries");
    // The retry, read to the end.
    let mut answer = String::new();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(&body).await.expect("write");
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let json = &answer[answer.find("\r\n\r\n").expect("body") + 4..];
    let result: PushResult = serde_json::from_str(json).expect("PushResult");
    let new = result.results.iter().filter(|r| r.new).count();
    assert_eq!(new, if after_cut == 1 { 10 } else { 0 }, "{json}");
    assert_eq!(l.entry_count().await, 11);
    assert_eq!(l.balance(a).await, Money::kroner(90));
}

/// A push reads a child's cards and recorded entries before it waits for
/// the child's lock. What another writer changes meanwhile (here: records
/// the batch's first sale, as a concurrent retry of the batch would, and
/// blocks the card, each with a new change number for the child, as every
/// writer gives) is seen once the push has the lock.
#[tokio::test]
async fn what_changes_while_a_push_waits_for_the_lock_is_seen() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    l.deposit(a, "100").await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let entries = [
        sale(a, CARD_A, "k1", 1000, 1),
        sale(a, CARD_A, "k1", 1000, 1),
    ];

    let mut writer = l.pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM children WHERE id = $1 FOR UPDATE")
        .bind(a.0)
        .execute(&mut *writer)
        .await
        .expect("lock");
    let l2 = klubkasse_testkit::ledger::Ledger {
        app: l.app.clone(),
        pool: l.pool.clone(),
        admin: String::new(),
        url: l.url.clone(),
    };
    let body = batch(&entries);
    let push = tokio::spawn(async move {
        push_result(
            &l2.call(
                Method::POST,
                "/api/v1/kiosk/entries",
                Some(&kiosk),
                Some(body),
            )
            .await,
        )
    });
    // Until the push waits for the lock, having read what it reads before.
    loop {
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock')",
        )
        .fetch_one(&l.pool)
        .await
        .expect("waiting");
        if waiting {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    sqlx::query(
        "INSERT INTO entries (id, child_id, kind, amount, at, counter, club, card_uid,
                              lines, balance_after)
         SELECT $1, id, 'sale', -10, now(), 'k1', club, $2, '[]', 90 FROM children WHERE id = $3",
    )
    .bind(entries[0].id)
    .bind(CARD_A)
    .bind(a.0)
    .execute(&mut *writer)
    .await
    .expect("the first sale");
    sqlx::query("UPDATE cards SET state = 'blocked' WHERE uid = $1")
        .bind(CARD_A)
        .execute(&mut *writer)
        .await
        .expect("block");
    sqlx::query(
        "WITH top AS (UPDATE change_counter SET value = value + 1 RETURNING value)
         UPDATE children SET balance = 90, change_seq = top.value FROM top WHERE id = $1",
    )
    .bind(a.0)
    .execute(&mut *writer)
    .await
    .expect("bump");
    writer.commit().await.expect("commit");

    let result = push.await.expect("push");
    let answers: Vec<_> = result
        .results
        .iter()
        .map(|r| (r.new, r.flags.clone(), r.balance))
        .collect();
    assert_eq!(
        answers,
        vec![
            (false, vec![], Money::kroner(90)),
            (true, vec![Flag::CardBlocked], Money::kroner(80)),
        ]
    );
    assert_eq!(
        l.balance_and_sum(a).await,
        (Money::kroner(80), Money::kroner(80))
    );
}

/// Two ledgers with the same children: one gets a batch in one push, the
/// other the same entries one push each. The answers (new, flags, balance
/// after) and the books must be the same: a batch is checked entry by
/// entry, each seeing those before it (in-batch refunds of in-batch sales,
/// daily limits, overdrafts, an id repeated within the batch).
#[tokio::test]
async fn a_batch_is_judged_as_if_its_entries_came_one_by_one() {
    // The same entries (same ids) for both ledgers, each to its own children.
    let ids: Vec<Uuid> = (0..7).map(|_| Uuid::now_v7()).collect();
    let entries_for = |a: ChildId, b: ChildId| {
        let with_id = |mut e: klubkasse_core::domain::Entry, n: usize| {
            e.id = ids[n];
            e
        };
        let s1 = with_id(sale(a, CARD_A, "k1", 1200, 1), 0); // spent 12
        let s2 = with_id(sale(a, CARD_A, "k1", 1500, 1), 1); // spent 27
        let s3 = with_id(sale(b, CARD_B, "k1", 2500, 1), 2); // 20 kr: overdraft
        let s4 = with_id(sale(a, CARD_A, "k1", 900, 1), 3); // 36 > 30: limit
        let back = with_id(refund(&s2), 4); // spent 21 again
        let mut candy = with_id(sale(a, CARD_A, "k1", 300, 1), 5); // 24
        if let klubkasse_core::domain::EntryKind::Sale { lines, .. } = &mut candy.kind {
            lines[0].category = "slik".into();
        }
        let s5 = with_id(sale(a, CARD_A, "k1", 500, 1), 6); // 29: the refund made room
        vec![s1.clone(), s2, s3, s4, back, candy, s1, s5]
    };
    let mut answers = Vec::new();
    let mut books = Vec::new();
    for one_batch in [true, false] {
        let l = ledger().await;
        let a = l.enrol("Freja").await;
        let b = l.enrol("Oscar").await;
        l.hand_out(a, CARD_A).await;
        l.hand_out(b, CARD_B).await;
        l.deposit(a, "60.00").await;
        l.deposit(b, "20.00").await;
        let patch = l
            .admin(
                Method::PATCH,
                &format!("/api/v1/children/{a}"),
                Some(json!({"daily_limit": "30.00", "blocked_categories": ["slik"]})),
            )
            .await;
        assert_eq!(patch.status, StatusCode::OK, "{}", patch.text);
        let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
        let entries = entries_for(a, b);
        let chunks: Vec<&[klubkasse_core::domain::Entry]> = if one_batch {
            vec![&entries[..]]
        } else {
            entries.chunks(1).collect()
        };
        let mut results = Vec::new();
        for chunk in chunks {
            let r = push_result(
                &l.call(
                    Method::POST,
                    "/api/v1/kiosk/entries",
                    Some(&kiosk),
                    Some(batch(chunk)),
                )
                .await,
            );
            results.extend(
                r.results
                    .into_iter()
                    .map(|p| (p.id, p.new, p.flags, p.balance)),
            );
        }
        answers.push(results);
        books.push((
            l.balance_and_sum(a).await,
            l.balance_and_sum(b).await,
            l.entry_count().await,
        ));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(books[0], books[1]);
    let flags: Vec<&Vec<Flag>> = answers[0].iter().map(|(_, _, f, _)| f).collect();
    assert_eq!(flags[2], &vec![Flag::Overdraft]);
    assert_eq!(flags[3], &vec![Flag::DailyLimitExceeded]);
    assert_eq!(flags[5], &vec![Flag::CategoryBlocked]);
    assert!(!answers[0][6].1, "the repeated sale is not new");
    assert!(flags[7].is_empty(), "the refund made room: {:?}", flags[7]);
    let ((a_balance, a_sum), (b_balance, _), _) = books[0];
    assert_eq!(a_balance, a_sum);
    assert_eq!(a_balance, Money::kroner(31));
    assert_eq!(b_balance, Money::kroner(-5));
}

/// `token create --expires-in`: the token works until then, and is 401
/// `token_expired` after; a token made without a lifetime never expires.
#[tokio::test]
async fn a_token_works_until_it_expires() {
    let l = ledger().await;
    let made = create_token(
        &l.pool,
        TokenRole::Admin,
        None,
        &[],
        Some(parse_lifetime("12h").expect("lifetime")),
    )
    .await
    .expect("token");
    let hours_left: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - now())::float8 / 3600 FROM tokens WHERE id = $1",
    )
    .bind(made.id)
    .fetch_one(&l.pool)
    .await
    .expect("expires_at");
    assert!((11.9..=12.0).contains(&hours_left), "{hours_left} hours");
    let never: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT expires_at FROM tokens WHERE hash = $1")
            .bind(klubkasse_ledger::auth::hash_token(&l.admin))
            .fetch_one(&l.pool)
            .await
            .expect("admin token");
    assert_eq!(never, None);
    let children = "/api/v1/children";
    let answer = l.call(Method::GET, children, Some(&made.token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    sqlx::query("UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(made.id)
        .execute(&l.pool)
        .await
        .expect("let the clock run");
    let answer = l.call(Method::GET, children, Some(&made.token), None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
    assert_eq!(answer.error_code(), "token_expired");
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired")),
        "{}",
        answer.text
    );
}

/// `token revoke` takes effect at once: the very next request is 401.
#[tokio::test]
async fn a_revoked_token_is_refused_on_the_very_next_request() {
    let l = ledger().await;
    let made = create_token(&l.pool, TokenRole::Kiosk, Some("k1"), &[], None)
        .await
        .expect("token");
    let changes = "/api/v1/kiosk/changes?since=0";
    let answer = l.call(Method::GET, changes, Some(&made.token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    revoke_token(&l.pool, made.id).await.expect("revoke");
    let answer = l.call(Method::GET, changes, Some(&made.token), None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
    assert_eq!(answer.error_code(), "unauthorized");
    // Revoking again, or a token that never was, is told apart.
    revoke_token(&l.pool, made.id).await.expect("revoke twice");
    assert!(revoke_token(&l.pool, Uuid::now_v7()).await.is_err());
}

/// No column of any table holds a token, in clear or as the hex of its
/// text, after tokens of every role were made and used.
#[tokio::test]
async fn tokens_are_stored_only_as_hashes() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    let tokens = [
        l.admin.clone(),
        l.token(TokenRole::Kiosk, Some("k1"), &[]).await,
        l.token(TokenRole::Parent, None, &[a]).await,
        l.revoked_token().await,
        l.expired_token().await,
    ];
    for token in &tokens {
        l.call(Method::GET, "/api/v1/children", Some(token), None)
            .await;
    }
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name)
         FROM information_schema.tables
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
           AND table_type = 'BASE TABLE'",
    )
    .fetch_all(&l.pool)
    .await
    .expect("tables");
    assert!(tables.iter().any(|t| t.ends_with(".tokens")), "{tables:?}");
    for table in &tables {
        // A row as text shows bytea as \x and hex: raw token bytes would show too.
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT lower(t::text) FROM {table} t"
        )))
        .fetch_all(&l.pool)
        .await
        .expect("rows");
        for token in &tokens {
            let hex_of_text = hex::encode(token.as_bytes());
            for row in &rows {
                assert!(
                    !row.contains(&token.to_lowercase()) && !row.contains(&hex_of_text),
                    "{table} holds a token: {row}"
                );
            }
        }
    }
}

/// The real `klubkasse-ledger serve` at RUST_LOG=trace logs every request,
/// and no token appears in anything it writes, whether valid, wrong, expired,
/// revoked or sent in a malformed header.
#[tokio::test]
async fn tokens_never_reach_the_log() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = ledger().await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let tokens = [
        l.admin.clone(),
        kiosk.clone(),
        l.revoked_token().await,
        l.expired_token().await,
        "f".repeat(64),
    ];
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port();
    let mut server = std::process::Command::new(&*klubkasse_testkit::bin::LEDGER)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", &l.url])
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        // The log goes to standard output (tracing-subscriber's default).
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start klubkasse-ledger");
    let read_all = |mut from: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            from.read_to_string(&mut text).expect("read the log");
            text
        })
    };
    let stdout = read_all(Box::new(server.stdout.take().expect("stdout")));
    let stderr = read_all(Box::new(server.stderr.take().expect("stderr")));
    let request = |path: &str, authorization: String, body: &str| {
        let head = if body.is_empty() { "GET" } else { "POST" };
        format!(
            "{head} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let mut requests = Vec::new();
    for token in &tokens {
        requests.push(request("/api/v1/children", format!("Bearer {token}"), ""));
        requests.push(request(
            "/api/v1/kiosk/changes?since=0",
            format!("Bearer {token}"),
            "",
        ));
        requests.push(request(
            "/api/v1/children",
            format!("Bearer {token}"),
            r#"{"name": 1}"#,
        ));
        requests.push(request("/metrics", format!("Basic {token}"), ""));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut statuses = Vec::new();
    for text in &requests {
        let answer = loop {
            match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                Ok(mut stream) => {
                    stream.write_all(text.as_bytes()).await.expect("write");
                    let mut answer = String::new();
                    stream.read_to_string(&mut answer).await.expect("read");
                    break answer;
                }
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("the ledger did not start: {e}"),
            }
        };
        statuses.push(answer.lines().next().unwrap_or_default().to_string());
    }
    // Stop it (SIGTERM: a graceful shutdown), then read all it wrote.
    let _ = std::process::Command::new("kill")
        .arg(server.id().to_string())
        .status();
    let _ = server.wait();
    let log = stdout.join().expect("log reader") + &stderr.join().expect("log reader");
    assert_eq!(statuses.iter().filter(|s| s.contains(" 200 ")).count(), 2);
    assert!(
        log.contains("/api/v1/kiosk/changes") && log.lines().count() > requests.len(),
        "the log shows the requests at trace level:\n{log}"
    );
    for token in &tokens {
        assert!(
            !log.contains(token.as_str()),
            "a token is in the log:\n{log}"
        );
    }
}

/// The real `klubkasse-ledger token create --expires-in` and `token revoke`:
/// the printed token works, expires when it says, and is refused once revoked.
#[tokio::test]
async fn token_create_with_expires_in_and_revoke_from_the_command_line() {
    let l = ledger().await;
    let ledger_command = |args: &[&str]| {
        std::process::Command::new(&*klubkasse_testkit::bin::LEDGER)
            .args(args)
            .args(["--database-url", &l.url])
            .output()
            .expect("run klubkasse-ledger")
    };
    let refused = ledger_command(&["token", "create", "--role", "admin", "--expires-in", "12x"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("e.g. 90d, 12h"), "{said}");
    let made = ledger_command(&["token", "create", "--role", "admin", "--expires-in", "90d"]);
    assert!(made.status.success(), "{made:?}");
    let token = String::from_utf8(made.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let said = String::from_utf8_lossy(&made.stderr);
    let id = said
        .split_whitespace()
        .nth(2)
        .expect("token id on stderr")
        .to_string();
    let days_left: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - now())::float8 / 86400 FROM tokens WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&l.pool)
    .await
    .expect("expires_at");
    assert!((89.9..=90.0).contains(&days_left), "{days_left} days");
    let children = "/api/v1/children";
    let answer = l.call(Method::GET, children, Some(&token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let revoked = ledger_command(&["token", "revoke", &id]);
    assert!(revoked.status.success(), "{revoked:?}");
    let answer = l.call(Method::GET, children, Some(&token), None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
}
