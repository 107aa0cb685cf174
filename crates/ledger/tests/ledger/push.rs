//! A counter's push: idempotent batches, the counter's rules, flags,
//! and a batch judged as if its entries came one by one.

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::{ChildId, Money};
use klubkasse_core::protocol::{Changes, Flag, MAX_BATCH};
use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::ledger::*;
use serde_json::{Value, json};
use uuid::Uuid;

use super::common::*;

#[tokio::test]
async fn the_same_batch_twice_is_counted_once() {
    let l = ledger().await;
    let a = l.funded("Freja", CARD_A, "100").await;
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
    let a = l.funded("Freja", CARD_A, "100").await;
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
                time_zone: l.time_zone.clone(),
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
    let a = l.funded("Freja", CARD_A, "50").await;
    let mut tasks = Vec::new();
    for counter in ["k1", "k2"] {
        let kiosk = l.token(TokenRole::Kiosk, Some(counter), &[]).await;
        let l2 = klubkasse_testkit::ledger::Ledger {
            app: l.app.clone(),
            pool: l.pool.clone(),
            admin: String::new(),
            url: l.url.clone(),
            time_zone: l.time_zone.clone(),
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
    // A standalone counter's own kinds never reach the ledger either.
    let mut opening = deposit.clone();
    opening.kind = klubkasse_core::domain::EntryKind::OpeningBalance;
    let mut reversal = deposit.clone();
    reversal.kind = klubkasse_core::domain::EntryKind::DepositReversal {
        deposit: deposit.id,
    };
    for bad in [wrong_sum, unknown_child, deposit, opening, reversal] {
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
    let a = l.funded("Freja", CARD_A, "100").await;
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

/// A sale by name to a child who forgot the card has no card: recorded,
/// with no card flag even when the child's cards are blocked, while the
/// child's own rules still flag it; an old-style sale with an unknown
/// card is still flagged. The entry reads back without a card.
#[tokio::test]
async fn a_sale_without_card_is_recorded_unflagged_but_the_childs_rules_still_flag() {
    let l = ledger().await;
    let a = l.funded("Freja", CARD_A, "100").await;
    let blocked = l
        .admin(Method::POST, &format!("/api/v1/cards/{CARD_A}/block"), None)
        .await;
    assert!(blocked.status.is_success(), "{}", blocked.text);
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let by_name = |ore| {
        let mut entry = sale(a, CARD_A, "k1", ore, 1);
        if let klubkasse_core::domain::EntryKind::Sale { card, .. } = &mut entry.kind {
            *card = None;
        }
        entry
    };
    let (plain, over) = (by_name(1200), by_name(9900));
    let push = |entries: Vec<klubkasse_core::domain::Entry>| {
        let kiosk = kiosk.clone();
        let l = &l;
        async move {
            push_result(
                &l.call(
                    Method::POST,
                    "/api/v1/kiosk/entries",
                    Some(&kiosk),
                    Some(batch(&entries)),
                )
                .await,
            )
        }
    };
    let r = push(vec![plain.clone(), over.clone()]).await;
    assert_eq!(r.results[0].flags, Vec::<Flag>::new());
    assert_eq!(r.results[1].flags, vec![Flag::Overdraft]);
    assert_eq!(r.results[1].balance, Money::from_ore(10000 - 1200 - 9900));
    // The same card-less sale again: recorded once.
    let again = push(vec![plain.clone()]).await;
    assert!(!again.results[0].new);
    assert_eq!(l.entry_count().await, 3);
    // A sale with the (blocked) card is flagged as before.
    let tapped = push(vec![sale(a, CARD_A, "k1", 100, 1)]).await;
    assert_eq!(
        tapped.results[0].flags,
        vec![Flag::Overdraft, Flag::CardBlocked]
    );
    let history = l
        .admin(Method::GET, &format!("/api/v1/children/{a}/entries"), None)
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    let cards: Vec<&Value> = history
        .body
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["entry"]["kind"].get("Sale"))
        .map(|s| &s["card"])
        .collect();
    assert_eq!(
        cards.iter().filter(|c| c.is_null()).count(),
        2,
        "{}",
        history.text
    );
    assert!(cards.contains(&&json!(CARD_A)), "{}", history.text);
}
