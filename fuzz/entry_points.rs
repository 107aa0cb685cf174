//! What each fuzz target feeds its input to. Shared by the targets in
//! `fuzz_targets/` and by `tests/fuzz_regressions.rs`, which replays the
//! committed inputs under stable `cargo test`. Every function must return
//! (an `Ok` or an error) for any input: a panic is the bug.

#![allow(dead_code)] // each fuzz target calls one of these; the regression test all

use std::path::Path;

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::Request;
use klubkasse::config::{Config, Menu};
use klubkasse::keymap::Keymap;
use klubkasse::reader::apdu::parse_uid_answer;
use klubkasse::sync::client::{decode_answer, decode_push_answer};
use klubkasse_core::protocol::{CardAction, Changes, PushBatch};
use klubkasse_ledger::api::{
    EnrolRequest, HandOutRequest, MAX_ADDRESS, MAX_NAME, MoneyRequest, OrderPatch, OrderRequest,
    SettingsPatch,
};
use klubkasse_ledger::error::ApiJson;
use klubkasse_ledger::validate;
use serde::de::DeserializeOwned;

/// What a fuzz target does with one input.
pub type Target = fn(&[u8]);

/// The targets by name, as `cargo fuzz run NAME` and the regression
/// directories `fuzz/regressions/NAME/` call them.
pub const TARGETS: [(&str, Target); 6] = [
    ("config", config),
    ("menu", menu),
    ("keymap", keymap),
    ("kiosk_answers", kiosk_answers),
    ("ledger_bodies", ledger_bodies),
    ("card_answer", card_answer),
];

/// A folder that does not exist: files the config names fail to read
/// instead of reaching whatever lies on the fuzzing machine.
const NOWHERE: &str = "/nonexistent/klubkasse-fuzz/klubkasse.toml";

/// Errors are rendered too: that is where spans meet the text.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(error) = Config::parse(Path::new(NOWHERE), text) {
        let _ = error.to_string();
    }
}

pub fn menu(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let keymap = Keymap::load(None).expect("the built-in keymap");
    if let Err(error) = Menu::parse(Path::new("menu.toml"), text, &keymap) {
        let _ = error.to_string();
    }
}

pub fn keymap(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Keymap::parse(Some((Path::new("keymap.toml"), text))) {
        Ok(keymap) => {
            let _ = keymap.hint(&klubkasse::ui::Action::Confirm);
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// The counter decoding the ledger's answers: two bytes of HTTP status,
/// one byte of how many entries were pushed, then the body.
pub fn kiosk_answers(data: &[u8]) {
    let [high, low, sent, body @ ..] = data else {
        return;
    };
    let status = u16::from_be_bytes([*high, *low]);
    let _ = decode_push_answer(status, body, usize::from(*sent)).map_err(|e| e.to_string());
    let _ = decode_answer::<Changes>(status, body).map_err(|e| e.to_string());
    let _ = decode_answer::<serde_json::Value>(status, body).map_err(|e| e.to_string());
}

/// The ledger taking a body as its handlers do: axum's JSON extractor
/// with the ledger's rejections, then the same checks. The first byte
/// picks the endpoint.
pub fn ledger_bodies(data: &[u8]) {
    let [which, body @ ..] = data else {
        return;
    };
    match which % 8 {
        0 => {
            if let Some(batch) = extract::<PushBatch>(body) {
                let _ = validate::push_batch("klub-1", batch);
            }
        }
        1 => {
            if let Some(action) = extract::<CardAction>(body) {
                let _ = validate::card_action(action);
            }
        }
        2 => {
            if let Some(patch) = extract::<SettingsPatch>(body) {
                let _ = validate::settings_patch(patch);
            }
        }
        3 => {
            if let Some(enrol) = extract::<EnrolRequest>(body) {
                let _ = validate::text("name", &enrol.name, MAX_NAME);
                let _ = validate::text("club", &enrol.club, MAX_NAME);
            }
        }
        4 => {
            if let Some(money) = extract::<MoneyRequest>(body) {
                let _ = validate::positive("amount", money.amount);
            }
        }
        5 => {
            if let Some(hand_out) = extract::<HandOutRequest>(body) {
                let _ = validate::uid("uid", &hand_out.uid);
            }
        }
        6 => {
            if let Some(order) = extract::<OrderRequest>(body) {
                let _ = validate::text("address", &order.address, MAX_ADDRESS);
            }
        }
        _ => {
            let _ = extract::<OrderPatch>(body);
        }
    }
}

/// The body through the ledger's own extractor; a rejection must still
/// render as an answer.
fn extract<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    use axum::response::IntoResponse;
    let request = Request::builder()
        .method("POST")
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .expect("request");
    match futures::executor::block_on(ApiJson::<T>::from_request(request, &())) {
        Ok(ApiJson(value)) => Some(value),
        Err(rejection) => {
            let _ = rejection.into_response();
            None
        }
    }
}

pub fn card_answer(data: &[u8]) {
    if let Ok(uid) = parse_uid_answer(data) {
        let _ = uid.as_str();
    }
}
