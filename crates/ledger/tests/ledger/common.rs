//! What several of the ledger's test modules use.

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::Entry;
use klubkasse_core::protocol::PushResult;
use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::ledger::{Answer, Ledger, Visitor, batch};

/// A portal form posted by `v` with their CSRF token.
pub async fn post(l: &Ledger, v: &Visitor, path: &str, fields: &[(&str, &str)]) -> Answer {
    let mut form = vec![("csrf", v.csrf.as_str())];
    form.extend_from_slice(fields);
    l.page(Method::POST, path, Some(v), &form).await
}

/// A portal page as `v` sees it.
pub async fn get(l: &Ledger, v: &Visitor, path: &str) -> Answer {
    l.page(Method::GET, path, Some(v), &[]).await
}

/// `entries` pushed as counter `counter` does, with a kiosk token of its
/// own: the ledger's answer, which must be 200.
pub async fn push_as(l: &Ledger, counter: &str, entries: &[Entry]) -> PushResult {
    let kiosk = l.token(TokenRole::Kiosk, Some(counter), &[]).await;
    let answer = l
        .call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(entries)),
        )
        .await;
    push_result(&answer)
}

pub fn push_result(answer: &Answer) -> PushResult {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    serde_json::from_value(answer.body.clone()).expect("PushResult")
}

/// Strings that test the edges of text: emoji, right-to-left and its
/// override, combining accents, NUL and other control characters, and
/// anything proptest makes up.
pub fn awkward_text() -> impl proptest::strategy::Strategy<Value = String> {
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
