//! Every field of every body, one at a time, with values it must refuse.
//! Over 400 lines for a reason: the table of fields and what each must
//! refuse is one piece with the test that walks it.

use axum::http::Method;
use klubkasse_core::domain::Money;
use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::ledger::*;
use serde_json::{Value, json};
use uuid::Uuid;

use super::common::*;

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
    /// A card UID; `true`: null is allowed (a sale by name has no card).
    Uid(bool),
    Quantity,
    Id,
    Time,
    /// One of a few words (an order status, a card action).
    Word,
    Categories,
}

/// `a` and `b` are the same value, amounts compared as amounts.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(a), Some(b)) => match (Money::parse(a), Money::parse(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => a == b,
        },
        _ => a == b,
    }
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
        // A parser that recursed a digit at a time would overflow on these.
        Just(json!("0".repeat(200_000))),
        Just(json!(format!("1.{}", "0".repeat(200_000)))),
        Just(json!(1e30)),
        Just(json!(99999999999.999)),
        Just(json!(12.5)),
        Just(json!(10)),
        (3usize..40).prop_map(|decimals| json!(format!("1.{}", "7".repeat(decimals)))),
        // Huge, never zero: "00000000" is a valid daily limit.
        "[1-9][0-9]{7,39}".prop_map(Value::from),
        // Text with no digit: "[a-z0-9 .,-]" text can be "5", a valid amount.
        awkward_text()
            .prop_filter("a number", |text| !text.chars().any(|c| c.is_ascii_digit()))
            .prop_map(Value::from),
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
        Field::Uid(null_ok) => {
            let bad = prop_oneof![
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
                wrong_type,
            ];
            if null_ok {
                bad.boxed()
            } else {
                prop_oneof![bad, Just(Value::Null)].boxed()
            }
        }
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
        let a = l.funded("Freja", CARD_A, "100.00").await;
        let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
        let order = l.first_order(a).await;
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
            Uid(false),
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
            Uid(true),
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
            Uid(false),
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
            // A sale's "-25" for the body's own -25.00 is the value taken,
            // not a hostile one.
            if same_value(
                &bad,
                body.pointer(pointer).expect("the field is in the body"),
            ) {
                return Ok(());
            }
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
