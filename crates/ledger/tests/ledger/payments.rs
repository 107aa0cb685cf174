//! Money in from parents (issue 17): the cap holds with payments still
//! open (top-ups started at once never pass it together, and a paid one
//! still lands), and a parent never posts a deposit (money from nothing).

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::Money;
use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::ledger::*;
use serde_json::json;

use super::scope::world;

/// With a 1.000 kr. cap and 145 kr. on the card, five top-ups of 300 kr.
/// started at once: two fit (855 kr. of room), the others are refused
/// with the room left; paid, the card holds 745 kr. And a payment paid
/// after its room was given up still lands: the money has been taken.
#[tokio::test]
async fn top_ups_started_at_once_never_pass_the_cap_together_and_a_paid_one_lands() {
    let w = world().await;
    let l = &w.l;
    let parent = l.log_in(w.parents[0]).await;
    let start = l.balance(w.a).await;
    assert_eq!(start, Money::kroner(145));
    let left = (Money::kroner(1000) - start - Money::kroner(600)).to_string();
    let path = format!("/portal/children/{}/top-up", w.a);
    let fields = [("csrf", parent.csrf.as_str()), ("amount", "300")];
    let answers = futures::future::join_all(
        (0..5).map(|_| l.page(Method::POST, &path, Some(&parent), &fields)),
    )
    .await;
    let started = answers
        .iter()
        .filter(|a| a.status == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(
        started,
        2,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for refused in answers.iter().filter(|a| a.status != StatusCode::SEE_OTHER) {
        assert_eq!(refused.status, StatusCode::OK);
        assert!(
            refused.text.contains(&left),
            "the room left: {}",
            refused.text
        );
    }
    // The room is held: the form offers what is left.
    let form = l.page(Method::GET, &path, Some(&parent), &[]).await;
    assert!(form.text.contains(&left), "{}", form.text);
    // Both paid: 800 kr. on the card, nothing above the cap.
    let references: Vec<String> =
        sqlx::query_scalar("SELECT provider_ref FROM payments WHERE status = 'started'")
            .fetch_all(&l.pool)
            .await
            .expect("the open payments");
    assert_eq!(references.len(), 2);
    for reference in &references {
        let paid = l
            .page(
                Method::POST,
                &format!("/portal/test-payment/{reference}"),
                None,
                &[("decision", "pay")],
            )
            .await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.text);
        let back = paid.headers["location"].to_str().expect("a return address");
        let path = back.trim_start_matches("http://127.0.0.1");
        l.page(Method::GET, path, Some(&parent), &[]).await;
    }
    assert_eq!(l.balance(w.a).await, Money::kroner(745));
    // A payment whose room ran out (started long ago) and is paid now
    // still lands, even above the cap: the parent's money was taken.
    let late = l
        .page(
            Method::POST,
            &path,
            Some(&parent),
            &[("csrf", &parent.csrf), ("amount", "200")],
        )
        .await;
    assert_eq!(late.status, StatusCode::SEE_OTHER);
    sqlx::query(
        "UPDATE payments SET created_at = now() - interval '1 hour' WHERE status = 'started'",
    )
    .execute(&l.pool)
    .await
    .expect("an old payment");
    assert!(l.deposit(w.a, "150.00").await.status.is_success());
    let reference: String =
        sqlx::query_scalar("SELECT provider_ref FROM payments WHERE status = 'started'")
            .fetch_one(&l.pool)
            .await
            .expect("the late payment");
    let paid = l
        .page(
            Method::POST,
            &format!("/portal/test-payment/{reference}"),
            None,
            &[("decision", "pay")],
        )
        .await;
    let back = paid.headers["location"].to_str().expect("a return address");
    l.page(
        Method::GET,
        back.trim_start_matches("http://127.0.0.1"),
        Some(&parent),
        &[],
    )
    .await;
    assert_eq!(l.balance(w.a).await, Money::kroner(1095));
}

/// A parent's token may read and withdraw, never deposit: 403, and
/// nothing changes.
#[tokio::test]
async fn a_parents_token_posting_a_deposit_is_refused_and_nothing_changes() {
    let l = ledger().await;
    let child = l.funded("Freja", CARD_A, "10.00").await;
    let token = l.token(TokenRole::Parent, None, &[child]).await;
    let before = l.fingerprint().await;
    for body in [
        json!({"amount": "500.00"}),
        json!({"amount": "nonsense"}),
        json!({}),
    ] {
        let answer = l
            .call(
                Method::POST,
                &format!("/api/v1/children/{child}/deposits"),
                Some(&token),
                Some(body),
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.text);
    }
    assert_eq!(l.fingerprint().await, before);
    assert_eq!(l.balance(child).await, Money::kroner(10));
}
