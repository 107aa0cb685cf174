//! Money at the office on a child's page: cash in and out with a receipt
//! number, within the cap and never below zero; a counter's sale refunded
//! once, never more than was paid; an adjustment with a reason. A form's
//! one-time id moves the money once; nothing refused writes anything;
//! another club's child is "not found"; the office log says who did what.

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::{ChildId, Entry, Money};
use klubkasse_ledger::db::{self, Actor, DbError, Refund};
use klubkasse_testkit::ledger::*;
use uuid::Uuid;

use super::scope::{OTHER, world};

async fn post(l: &Ledger, v: &Visitor, path: &str, fields: &[(&str, &str)]) -> Answer {
    let mut form = vec![("csrf", v.csrf.as_str())];
    form.extend_from_slice(fields);
    l.page(Method::POST, path, Some(v), &form).await
}

fn form_of(child: ChildId, tail: &str) -> String {
    format!("/portal/office/children/{child}/{tail}")
}

async fn cash(l: &Ledger, v: &Visitor, child: ChildId, id: &str, fields: [&str; 3]) -> Answer {
    let [amount, receipt, direction] = fields;
    post(
        l,
        v,
        &form_of(child, "cash"),
        &[
            ("id", id),
            ("amount", amount),
            ("receipt", receipt),
            ("direction", direction),
        ],
    )
    .await
}

fn done(answer: &Answer) -> String {
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text);
    answer.headers["location"]
        .to_str()
        .expect("location")
        .to_string()
}

/// A counter's sale of `quantity` toasts at `ore` each, pushed.
async fn sold(l: &Ledger, child: ChildId, card: &str, ore: i64, quantity: u32) -> Entry {
    let entry = sale(child, card, "k1", ore, quantity);
    push(l, std::slice::from_ref(&entry)).await;
    entry
}

async fn push(l: &Ledger, entries: &[Entry]) {
    super::common::push_as(l, "k1", entries).await;
}

/// The office log of a child: (action, actor, after), oldest first.
async fn log_of(l: &Ledger, child: ChildId) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT action, actor_name, coalesce(after::text, '') FROM office_log
         WHERE child_id = $1 ORDER BY id",
    )
    .bind(child.0)
    .fetch_all(&l.pool)
    .await
    .expect("the log")
}

/// The refund form for all that is left of `sale`, with a fresh id.
async fn refund_form(
    l: &Ledger,
    v: &Visitor,
    child: ChildId,
    sale: &Entry,
    reason: &str,
) -> Answer {
    let id = Uuid::now_v7().to_string();
    let sale = sale.id.to_string();
    let fields = [
        ("id", id.as_str()),
        ("sale", &sale),
        ("amount", ""),
        ("reason", reason),
    ];
    post(l, v, &form_of(child, "refund"), &fields).await
}

/// The adjustment form with a fresh id.
async fn adjust(l: &Ledger, v: &Visitor, child: ChildId, amount: &str, reason: &str) -> Answer {
    let id = Uuid::now_v7().to_string();
    let fields = [("id", id.as_str()), ("amount", amount), ("reason", reason)];
    post(l, v, &form_of(child, "adjustment"), &fields).await
}

fn code<T: std::fmt::Debug>(result: Result<T, DbError>) -> &'static str {
    match result {
        Err(DbError::Conflict { code, .. } | DbError::Refused { code, .. }) => code,
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn cash_at_the_office_has_a_receipt_moves_once_and_stays_within_the_cap_and_zero() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let start = l.balance(w.a).await;
    let id = Uuid::now_v7().to_string();
    let first = cash(l, &staff, w.a, &id, ["100", " K-1234 ", "deposit"]).await;
    assert!(done(&first).ends_with("?done=deposit"));
    assert_eq!(l.balance(w.a).await, start + Money::kroner(100));
    // The same form again (a reload, a second tab): nothing moves again.
    let again = cash(l, &staff, w.a, &id, ["100", "K-1234", "deposit"]).await;
    assert!(done(&again).ends_with("?done=repeat"));
    assert_eq!(l.balance(w.a).await, start + Money::kroner(100));
    let receipt: String = sqlx::query_scalar("SELECT receipt FROM entries WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&l.pool)
        .await
        .expect("the entry");
    assert_eq!(receipt, "K-1234");

    // Refused: nothing written, the form again saying why.
    let before = l.fingerprint().await;
    let refusals = [
        (["2000", "K-1235", "deposit"], "1.000,00 kr."),
        (["5000", "K-1236", "withdrawal"], "ikke penge nok"),
        (["50", "  ", "deposit"], "Kvitteringsnummeret"),
        (["50", &"9".repeat(41), "deposit"], "Kvitteringsnummeret"),
        (["nul", "K-1237", "deposit"], "Beløbet"),
        (["0", "K-1237", "withdrawal"], "Beløbet"),
    ];
    for (fields, says) in refusals {
        let answer = cash(l, &staff, w.a, &Uuid::now_v7().to_string(), fields).await;
        assert_eq!(answer.status, StatusCode::OK, "{fields:?}");
        assert!(answer.text.contains(says), "{fields:?}: {}", answer.text);
    }
    assert_eq!(l.fingerprint().await, before);

    let out = Uuid::now_v7().to_string();
    let paid = cash(l, &staff, w.a, &out, ["30,50", "K-1238", "withdrawal"]).await;
    assert!(done(&paid).ends_with("?done=withdrawal"));
    let page = l.page(Method::GET, &done(&paid), Some(&staff), &[]).await;
    assert!(
        page.text.contains("Udbetalingen er registreret"),
        "{}",
        page.text
    );
    assert!(page.text.contains("Kvittering K-1234"), "{}", page.text);
    assert!(page.text.contains("Kvittering K-1238"), "{}", page.text);
    let (balance, sum) = l.balance_and_sum(w.a).await;
    assert_eq!(balance, start + Money::from_ore(6950));
    assert_eq!(balance, sum);

    // The API takes a receipt too.
    let api = l
        .admin(
            Method::POST,
            &format!("/api/v1/children/{}/deposits", w.a),
            Some(serde_json::json!({"amount": "10.00", "receipt": "K-1239"})),
        )
        .await;
    assert_eq!(api.status, StatusCode::CREATED, "{}", api.text);
    assert_eq!(api.body["receipt"], "K-1239");

    let log = log_of(l, w.a).await;
    let cash_rows: Vec<_> = log
        .iter()
        .filter(|(action, ..)| action.starts_with("money."))
        .filter(|(_, who, _)| who == "Kontoret Kastanjen")
        .collect();
    assert_eq!(cash_rows.len(), 2, "{log:?}");
    assert!(cash_rows[0].0 == "money.deposit" && cash_rows[0].2.contains("K-1234"));
    assert!(cash_rows[1].0 == "money.withdrawal" && cash_rows[1].2.contains("K-1238"));
}

#[tokio::test]
async fn a_sale_is_refunded_once_never_more_than_was_paid_and_the_items_report_agrees() {
    let w = world().await;
    let l = &w.l;
    let office = Actor::command_line();
    let toast = sold(l, w.a, CARD_A, 1500, 2).await;
    let start = l.balance(w.a).await;
    // Two requests at once, each with a form of its own: one refund.
    let refund = |reason: &'static str| Refund {
        id: Uuid::now_v7(),
        sale: toast.id,
        amount: None,
        reason,
    };
    let (one, two) = tokio::join!(
        db::refund_sale(&l.pool, &office, w.a, refund("Forkert vare")),
        db::refund_sale(&l.pool, &office, w.a, refund("Forkert vare")),
    );
    let codes: Vec<&str> = [one, two]
        .into_iter()
        .map(|r| match r {
            Ok((record, true)) => {
                assert_eq!(record.entry.amount, Money::kroner(30));
                assert_eq!(record.reason.as_deref(), Some("Forkert vare"));
                "refunded"
            }
            other => code(other),
        })
        .collect();
    assert!(
        codes.contains(&"refunded") && codes.contains(&"already_refunded"),
        "{codes:?}"
    );
    assert_eq!(l.balance(w.a).await, start + Money::kroner(30));
    // The same form twice at once: one refund, the second finds it.
    let saft = sold(l, w.a, CARD_A, 1000, 1).await;
    let same = Refund {
        id: Uuid::now_v7(),
        sale: saft.id,
        amount: Some(Money::kroner(4)),
        reason: "Kold",
    };
    let (one, two) = tokio::join!(
        db::refund_sale(&l.pool, &office, w.a, same),
        db::refund_sale(&l.pool, &office, w.a, same),
    );
    let news: Vec<bool> = [one, two]
        .into_iter()
        .map(|r| r.expect("refund").1)
        .collect();
    assert_eq!(news.iter().filter(|new| **new).count(), 1);
    // More than is left of it: refused, nothing written.
    let before = l.fingerprint().await;
    let too_much = Refund {
        id: Uuid::now_v7(),
        amount: Some(Money::from_ore(601)),
        ..same
    };
    assert_eq!(
        code(db::refund_sale(&l.pool, &office, w.a, too_much).await),
        "refund_too_large"
    );
    assert_eq!(l.fingerprint().await, before);
    // Another child's sale through this child: no sale of this child.
    let oscar = sold(l, w.b, CARD_B, 500, 1).await;
    let before = l.fingerprint().await;
    let elsewhere = Refund {
        id: Uuid::now_v7(),
        sale: oscar.id,
        ..same
    };
    assert_eq!(
        code(db::refund_sale(&l.pool, &office, w.a, elsewhere).await),
        "unknown_sale"
    );
    assert_eq!(l.fingerprint().await, before);

    // What is left (6 kr.) through the form, after a counter's own refund.
    let staff = l.log_in(w.office_a).await;
    let no_reason = refund_form(l, &staff, w.a, &saft, " ").await;
    assert!(
        no_reason.text.contains("Begrundelsen"),
        "{}",
        no_reason.text
    );
    let refunded = refund_form(l, &staff, w.a, &saft, "Saften var kold").await;
    assert!(done(&refunded).ends_with("?done=refund"));
    let twice = refund_form(l, &staff, w.a, &saft, "Igen").await;
    assert!(
        twice.text.contains("allerede betalt tilbage"),
        "{}",
        twice.text
    );
    let (balance, sum) = l.balance_and_sum(w.a).await;
    assert_eq!(balance, start + Money::kroner(30));
    assert_eq!(balance, sum);

    // The whole toast sale came back: its toasts are not sold in the report.
    let today = l.today().await;
    let items = db::reports::items(&l.pool, &Default::default(), today, today, None)
        .await
        .expect("items");
    let toasts: i64 = items
        .iter()
        .filter(|i| i.name.as_deref() == Some("Toast") && i.unit_price == Some(Money::kroner(15)))
        .map(|i| i.count)
        .sum();
    assert_eq!(toasts, 0, "{items:?}");

    let log = log_of(l, w.a).await;
    let refunds: Vec<_> = log
        .iter()
        .filter(|(action, ..)| action == "correction.refund")
        .collect();
    assert_eq!(refunds.len(), 3, "{log:?}");
    assert!(refunds[2].1 == "Kontoret Kastanjen" && refunds[2].2.contains("Saften var kold"));
}

/// A child moved since the sale: the office's refund counts in the club
/// that sold, so that club's sales come out right.
#[tokio::test]
async fn a_refund_counts_in_the_club_that_sold() {
    let w = world().await;
    let l = &w.l;
    let office = Actor::command_line();
    let kakao = sold(l, w.a, CARD_A, 800, 1).await;
    db::move_child(&l.pool, &office, &db::Scope::All, w.a, OTHER)
        .await
        .expect("moved");
    let back = Refund {
        id: Uuid::now_v7(),
        sale: kakao.id,
        amount: None,
        reason: "Spildt",
    };
    let (record, _) = db::refund_sale(&l.pool, &office, w.a, back)
        .await
        .expect("a refund of a sale before the move");
    let club: String = sqlx::query_scalar("SELECT club FROM entries WHERE id = $1")
        .bind(record.entry.id)
        .fetch_one(&l.pool)
        .await
        .expect("the refund");
    assert_eq!(club, CLUB);
}

#[tokio::test]
async fn an_adjustment_needs_a_reason_and_stays_within_zero_and_the_cap() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let start = l.balance(w.a).await;
    let before = l.fingerprint().await;
    for (amount, reason, says) in [
        ("-5", "", "Begrundelsen"),
        ("0", "Kassedifference rettet", "Beløbet"),
        ("fem", "Kassedifference rettet", "Beløbet"),
        ("-100000", "Kassedifference rettet", "ikke penge nok"),
        ("5000", "Kassedifference rettet", "1.000,00 kr."),
    ] {
        let answer = adjust(l, &staff, w.a, amount, reason).await;
        assert!(answer.text.contains(says), "{amount}: {}", answer.text);
    }
    assert_eq!(l.fingerprint().await, before);
    let fixed = adjust(l, &staff, w.a, "-5", "Kassedifference rettet").await;
    assert!(done(&fixed).ends_with("?done=adjustment"));
    let forgot = adjust(l, &staff, w.a, "+2,50", "Glemt byttepenge").await;
    assert!(done(&forgot).ends_with("?done=adjustment"));
    let (balance, sum) = l.balance_and_sum(w.a).await;
    assert_eq!(balance, start - Money::from_ore(250));
    assert_eq!(balance, sum);
    let page = l
        .page(
            Method::GET,
            &format!("/portal/office/children/{}", w.a),
            Some(&staff),
            &[],
        )
        .await;
    assert!(
        page.text.contains("Kassedifference rettet"),
        "{}",
        page.text
    );

    // The parent sees the correction with its reason.
    let parent = l.log_in(w.parents[0]).await;
    let history = l
        .page(
            Method::GET,
            &format!("/portal/children/{}/history", w.a),
            Some(&parent),
            &[],
        )
        .await;
    assert!(history.text.contains("Korrektion"), "{}", history.text);
    assert!(
        history.text.contains("Kassedifference rettet"),
        "{}",
        history.text
    );
    let log = log_of(l, w.a).await;
    let rows: Vec<_> = log
        .iter()
        .filter(|(action, ..)| action == "correction.adjustment")
        .collect();
    assert_eq!(rows.len(), 2, "{log:?}");
    assert!(rows[0].1 == "Kontoret Kastanjen" && rows[0].2.contains("Kassedifference rettet"));
}

#[tokio::test]
async fn another_clubs_child_is_not_found_by_every_money_form_even_with_a_valid_token() {
    let w = world().await;
    let l = &w.l;
    let oscar = sold(l, w.b, CARD_B, 500, 1).await.id.to_string();
    let staff = l.log_in(w.office_a).await;
    let before = l.fingerprint().await;
    let id = Uuid::now_v7().to_string();
    let forms: [(&str, Vec<(&str, &str)>); 3] = [
        (
            "cash",
            vec![
                ("id", &id),
                ("amount", "5"),
                ("receipt", "K-1"),
                ("direction", "deposit"),
            ],
        ),
        (
            "refund",
            vec![
                ("id", &id),
                ("sale", &oscar),
                ("amount", ""),
                ("reason", "Fejl"),
            ],
        ),
        (
            "adjustment",
            vec![("id", &id), ("amount", "5"), ("reason", "Fejl")],
        ),
    ];
    for (tail, fields) in &forms {
        let answer = post(l, &staff, &form_of(w.b, tail), fields).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{tail}");
    }
    assert_eq!(l.fingerprint().await, before);
    // The municipality may.
    let everyone = l.log_in(w.municipality).await;
    let answer = post(l, &everyone, &form_of(w.b, "adjustment"), &forms[2].1).await;
    assert!(done(&answer).ends_with("?done=adjustment"));
}
