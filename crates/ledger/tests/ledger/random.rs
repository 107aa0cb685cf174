//! Random bodies at every endpoint that takes one (proptest).

use axum::http::Method;
use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::ledger::*;
use serde_json::{Value, json};

use super::common::*;

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
        let order = l.first_order(a).await;
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
