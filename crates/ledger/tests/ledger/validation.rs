//! Malformed and hostile requests, written out case by case.

use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::ledger::*;
use uuid::Uuid;

/// Malformed and hostile bodies: a 4xx with an ApiError, never a 5xx, and nothing changed.
#[tokio::test]
async fn bad_input_is_refused_with_an_api_error_and_changes_nothing() {
    let l = ledger().await;
    let a = l.funded("Freja", CARD_A, "100").await;
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
