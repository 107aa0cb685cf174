//! Money and cards through the office's API: deposits reach the counter,
//! sales show with their items, fees, caps, and balances that add up.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::{CardState, Money};
use klubkasse_core::protocol::{Changes, Flag};
use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::ledger::*;
use serde_json::json;
use uuid::Uuid;

use super::common::*;

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
    let a = l.funded("Freja", CARD_A, "100").await;
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
    // A refund gives it back; a second refund of the same sale (given
    // back at the counter already) is recorded and flagged for the office.
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
    let result = push_result(
        &l.call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(&[again])),
        )
        .await,
    );
    assert_eq!(result.results[0].flags, [Flag::RefundExceedsSale]);
    assert_eq!(result.results[0].balance, Money::kroner(124));
    assert_eq!(l.balance(a).await, Money::kroner(124));
    let today = l.today().await;
    let day = l
        .admin(
            Method::GET,
            &format!("/api/v1/reports/day?date={today}&format=csv"),
            None,
        )
        .await;
    // The CSV is Danish Excel's, as the office's page gives it.
    assert!(
        day.text
            .starts_with("\u{feff}Periode;Klub;Kasse;Type;Antal;Beløb\r\n"),
        "{}",
        day.text
    );
    assert!(
        day.text
            .contains(&format!("{today};Kastanjen;k1;Salg;1;-24,00\r\n")),
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
    // Handed out, the order names its card: without one it is refused,
    // as the counter would not know the child's new card.
    let no_card = l
        .admin(
            Method::PATCH,
            &format!("/api/v1/card-orders/{id}"),
            Some(json!({"status": "handed_out"})),
        )
        .await;
    assert_eq!(
        no_card.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        no_card.text
    );
    let handed = l
        .admin(
            Method::PATCH,
            &format!("/api/v1/card-orders/{id}"),
            Some(json!({"status": "handed_out", "uid": CARD_A2})),
        )
        .await;
    assert_eq!(handed.status, StatusCode::OK, "{}", handed.text);
    assert_eq!(handed.body["card"], json!(CARD_A2));
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

#[tokio::test]
async fn a_card_blocked_and_found_again_is_unblocked_by_a_counter() {
    let l = ledger().await;
    let a = l.funded("Freja", CARD_A, "100").await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let card_action = |body: serde_json::Value| {
        let (l, kiosk) = (&l, kiosk.clone());
        async move {
            l.call(
                Method::POST,
                "/api/v1/kiosk/cards",
                Some(&kiosk),
                Some(body),
            )
            .await
        }
    };
    let pulled_state = || {
        let (l, kiosk) = (&l, kiosk.clone());
        async move {
            let answer = l
                .call(
                    Method::GET,
                    "/api/v1/kiosk/changes?since=0",
                    Some(&kiosk),
                    None,
                )
                .await;
            let changes: Changes = serde_json::from_value(answer.body).expect("Changes");
            changes.accounts[0].cards[0].state
        }
    };
    let blocked = card_action(json!({"action": "block", "uid": CARD_A})).await;
    assert_eq!(blocked.status, StatusCode::OK, "{}", blocked.text);
    assert_eq!(pulled_state().await, CardState::Blocked);
    let before: i64 = sqlx::query_scalar("SELECT change_seq FROM children WHERE id = $1")
        .bind(a.0)
        .fetch_one(&l.pool)
        .await
        .unwrap();

    let unblocked = card_action(json!({"action": "unblock", "uid": CARD_A})).await;
    assert_eq!(unblocked.status, StatusCode::OK, "{}", unblocked.text);
    assert_eq!(
        unblocked.body["state"],
        json!("Active"),
        "{}",
        unblocked.text
    );
    let blocked_at: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT blocked_at FROM cards WHERE uid = $1")
            .bind(CARD_A)
            .fetch_one(&l.pool)
            .await
            .unwrap();
    assert_eq!(blocked_at, None);
    // Counters hear of it at their next pull.
    let after: i64 = sqlx::query_scalar("SELECT change_seq FROM children WHERE id = $1")
        .bind(a.0)
        .fetch_one(&l.pool)
        .await
        .unwrap();
    assert!(after > before);
    assert_eq!(pulled_state().await, CardState::Active);
    // Unblocking twice is harmless; an unknown card is not found.
    let again = card_action(json!({"action": "unblock", "uid": CARD_A})).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let unknown = card_action(json!({"action": "unblock", "uid": "DEADBEEF"})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
}
