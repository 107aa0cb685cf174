//! The office's flags list (two counters overdraw a child offline; the
//! overdraft listed, filtered, handled with a required comment; another
//! club's flag not found) and a child leaving (the balance asked as a
//! payout to a payer, the cards blocked in the counters' pull, a later
//! offline sale recorded and flagged, no new money, the history kept).

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::{ChildId, Money};
use klubkasse_core::protocol::{Changes, Flag, PushResult};
use klubkasse_ledger::auth::TokenRole;
use klubkasse_ledger::db::{self, payers::NewPayer};
use klubkasse_testkit::ledger::*;
use serde_json::json;
use uuid::Uuid;

use super::common::{get, post};
use super::scope::world;

/// A sale of `ore` to `child` with `card`, made offline at `counter`,
/// pushed: its flags.
async fn offline_sale(
    l: &Ledger,
    child: ChildId,
    card: &str,
    counter: &str,
    ore: i64,
) -> Vec<Flag> {
    let kiosk = l.token(TokenRole::Kiosk, Some(counter), &[]).await;
    let answer = l
        .call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(&[sale(child, card, counter, ore, 1)])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let result: PushResult = serde_json::from_value(answer.body).expect("a push result");
    assert!(result.results[0].new);
    result.results[0].flags.clone()
}

fn location(answer: &Answer) -> &str {
    answer.headers["location"].to_str().expect("a location")
}

async fn handlings(l: &Ledger) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM flag_handlings")
        .fetch_one(&l.pool)
        .await
        .expect("count")
}

async fn log_rows(l: &Ledger, action: &str) -> Vec<(String, serde_json::Value)> {
    sqlx::query_as("SELECT actor_name, after FROM office_log WHERE action = $1 ORDER BY id")
        .bind(action)
        .fetch_all(&l.pool)
        .await
        .expect("log rows")
}

#[tokio::test]
async fn flags_two_counters_overdraw_a_child_offline_and_the_office_handles_it() {
    let w = world().await;
    let l = &w.l;
    let balance = l.balance(w.a).await;
    // Both counters saw the whole balance and sold it, offline.
    assert!(
        offline_sale(l, w.a, CARD_A, "k1", balance.ore())
            .await
            .is_empty()
    );
    let second = offline_sale(l, w.a, CARD_A, "k2", 2_500).await;
    assert_eq!(second, vec![Flag::Overdraft]);
    // A flag of club B, which club A's office must not see.
    offline_sale(l, w.b, CARD_A, "k1", 500).await;

    let staff = l.log_in(w.office_a).await;
    let list = get(l, &staff, "/portal/office/flags").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        list.text.matches("data-flagged=").count(),
        1,
        "{}",
        list.text
    );
    assert!(list.text.contains("data-flag=\"overdraft\""));
    assert!(list.text.contains("Freja") && !list.text.contains("Oscar"));
    assert!(list.text.contains("1 × Toast") && list.text.contains("k2"));
    let entry: Uuid = sqlx::query_scalar(
        "SELECT id FROM entries WHERE child_id = $1 AND 'overdraft' = ANY(flags)",
    )
    .bind(w.a.0)
    .fetch_one(&l.pool)
    .await
    .expect("the overdraft");
    let theirs: Uuid =
        sqlx::query_scalar("SELECT id FROM entries WHERE child_id = $1 AND flags <> '{}'")
            .bind(w.b.0)
            .fetch_one(&l.pool)
            .await
            .expect("club B's flag");

    // The filters.
    let today = l.today().await;
    for (query, found) in [
        ("flag=overdraft", 1),
        ("flag=card_blocked", 0),
        ("counter=k2", 1),
        ("counter=k1", 0),
        (&format!("club={CLUB}") as &str, 1),
        ("club=Egetr%C3%A6et", 0),
        (&format!("from={today}&to={today}"), 1),
        (&format!("to={}", today.pred_opt().expect("yesterday")), 0),
        ("handled=1", 0),
    ] {
        let page = get(l, &staff, &format!("/portal/office/flags?{query}")).await;
        assert_eq!(page.text.matches("data-flagged=").count(), found, "{query}");
    }

    // Another club's flag: not found, also with a valid CSRF token.
    let forged = post(
        l,
        &staff,
        &format!("/portal/office/flags/{theirs}/handle"),
        &[("comment", "set")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    let forged_empty = post(
        l,
        &staff,
        &format!("/portal/office/flags/{theirs}/handle"),
        &[("comment", "")],
    )
    .await;
    assert_eq!(forged_empty.status, StatusCode::NOT_FOUND);
    // An empty comment is refused.
    let path = format!("/portal/office/flags/{entry}/handle");
    let empty = post(l, &staff, &path, &[("comment", "  ")]).await;
    assert_eq!(empty.status, StatusCode::SEE_OTHER);
    assert!(
        location(&empty).contains("problem="),
        "{}",
        location(&empty)
    );
    let said = get(l, &staff, location(&empty)).await;
    assert!(said.text.contains("Skriv en kommentar"), "{}", said.text);
    assert_eq!(handlings(l).await, 0);

    let handled = post(
        l,
        &staff,
        &path,
        &[("comment", "Ringet til mor, hun sætter penge ind")],
    )
    .await;
    assert_eq!(handled.status, StatusCode::SEE_OTHER, "{}", handled.text);
    assert_eq!(handlings(l).await, 1);
    let open = get(l, &staff, "/portal/office/flags").await;
    assert_eq!(open.text.matches("data-flagged=").count(), 0);
    let done = get(l, &staff, "/portal/office/flags?handled=1").await;
    assert!(
        done.text.contains("Ringet til mor") && done.text.contains("Kontoret Kastanjen"),
        "{}",
        done.text
    );
    // On the child's page next to the entry.
    let child = get(l, &staff, &format!("/portal/office/children/{}", w.a)).await;
    assert!(child.text.contains("data-handled") && child.text.contains("Ringet til mor"));
    // In the office log, with who.
    let log = log_rows(l, "flag.handled").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, "Kontoret Kastanjen");
    assert_eq!(log[0].1["entry"], json!(entry));
    // Club B's office sees its own, the municipality both.
    let b = l.log_in(w.office_b).await;
    assert_eq!(
        get(l, &b, "/portal/office/flags")
            .await
            .text
            .matches("data-flagged=")
            .count(),
        1
    );
    let all = l.log_in(w.municipality).await;
    let both = get(l, &all, "/portal/office/flags?handled=1").await;
    assert_eq!(both.text.matches("data-flagged=").count(), 1);
}

async fn pull_cards(l: &Ledger, child: ChildId) -> Vec<(String, bool)> {
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let mut since = 0;
    let mut cards = Vec::new();
    loop {
        let answer = l
            .call(
                Method::GET,
                &format!("/api/v1/kiosk/changes?since={since}"),
                Some(&kiosk),
                None,
            )
            .await;
        let changes: Changes = serde_json::from_value(answer.body).expect("changes");
        for account in changes.accounts.iter().filter(|a| a.child.id == child) {
            cards = account
                .cards
                .iter()
                .map(|c| {
                    (
                        c.uid.as_str().to_string(),
                        c.state == klubkasse_core::domain::CardState::Active,
                    )
                })
                .collect();
        }
        since = changes.cursor;
        if !changes.more {
            return cards;
        }
    }
}

#[tokio::test]
async fn a_child_leaves_the_balance_is_asked_as_a_payout_and_the_account_closes() {
    let w = world().await;
    let l = &w.l;
    let payer = {
        let mut conn = l.pool.acquire().await.expect("a connection");
        let new = NewPayer {
            name: "Mor Hansen".into(),
            email: Some("mor@example.dk".into()),
            custody: None,
        };
        db::payers::add(&mut conn, w.a, &new)
            .await
            .expect("a payer")
    };
    let other_payer = {
        let mut conn = l.pool.acquire().await.expect("a connection");
        let new = NewPayer {
            name: "Far til Oscar".into(),
            email: None,
            custody: None,
        };
        db::payers::add(&mut conn, w.b, &new)
            .await
            .expect("a payer")
    };
    assert_eq!(pull_cards(l, w.a).await, vec![(CARD_A.to_string(), true)]);
    let balance = l.balance(w.a).await;
    assert!(balance > Money::ZERO);
    let entries_before =
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM entries WHERE child_id = $1")
            .bind(w.a.0)
            .fetch_one(&l.pool)
            .await
            .expect("count");
    let staff = l.log_in(w.office_a).await;
    let page = get(l, &staff, &format!("/portal/office/children/{}", w.a)).await;
    assert!(page.text.contains("Barnet stopper") && page.text.contains(&payer.id.to_string()));
    let leave = format!("/portal/office/children/{}/leave", w.a);
    let payout = Uuid::now_v7().to_string();
    // Another club's child: not found, by a forged form with a valid token.
    let forged = post(
        l,
        &staff,
        &format!("/portal/office/children/{}/leave", w.b),
        &[
            ("payout", &payout),
            ("payer", &other_payer.id.to_string()),
            ("account", "1234 5678"),
        ],
    )
    .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    // Another child's payer, or no account: refused, nothing closed.
    for fields in [
        [
            ("payout", payout.as_str()),
            ("payer", &other_payer.id.to_string()),
            ("account", "1234 5678"),
        ],
        [
            ("payout", payout.as_str()),
            ("payer", &payer.id.to_string()),
            ("account", " "),
        ],
    ] {
        let refused = post(l, &staff, &leave, &fields).await;
        assert_eq!(refused.status, StatusCode::OK, "{}", refused.text);
        assert!(refused.text.contains("Vælg en betaler"));
    }
    assert!(
        db::detail(&l.pool, w.a)
            .await
            .expect("a")
            .closed_at
            .is_none()
    );

    let left = post(
        l,
        &staff,
        &leave,
        &[
            ("payout", &payout),
            ("payer", &payer.id.to_string()),
            ("account", "1234 12345678"),
        ],
    )
    .await;
    assert_eq!(left.status, StatusCode::SEE_OTHER, "{}", left.text);
    // The payout waits on the office's list, to the payer, for the balance.
    let payout_id: Uuid = payout.parse().expect("uuid");
    let (amount, account, status, payer_id): (rust_decimal::Decimal, String, String, Option<Uuid>) =
        sqlx::query_as(
            "SELECT amount, bank_account, status, payer_id FROM payout_requests WHERE id = $1",
        )
        .bind(payout_id)
        .fetch_one(&l.pool)
        .await
        .expect("the payout");
    assert_eq!(Money::parse(&amount.to_string()).expect("money"), balance);
    assert_eq!(
        (account.as_str(), status.as_str(), payer_id),
        ("1234 12345678", "requested", Some(payer.id))
    );
    let office = get(l, &staff, "/portal/office").await;
    assert!(
        office.text.contains("Mor Hansen") && office.text.contains("1234 12345678"),
        "{}",
        office.text
    );
    // Its open card order is no longer for the office to post.
    assert!(!office.text.contains(&w.order[0].to_string()));
    let detail = db::detail(&l.pool, w.a).await.expect("a");
    assert!(detail.closed_at.is_some());
    assert_eq!(detail.closed_by.as_deref(), Some("Kontoret Kastanjen"));
    assert_eq!(detail.balance, Money::ZERO);
    // The counters pull the card blocked.
    assert_eq!(pull_cards(l, w.a).await, vec![(CARD_A.to_string(), false)]);
    // The page and the search say so.
    let page = get(l, &staff, &format!("/portal/office/children/{}", w.a)).await;
    assert!(page.text.contains("data-closed") && !page.text.contains("id=\"leave\""));
    let found = get(l, &staff, "/portal/office/children?q=Freja").await;
    assert!(found.text.contains("data-closed"));

    // A sale made offline before the pull is recorded and flagged.
    let flags = offline_sale(l, w.a, CARD_A, "k2", 1_500).await;
    assert!(
        flags.contains(&Flag::CardBlocked) && flags.contains(&Flag::Overdraft),
        "{flags:?}"
    );
    assert_eq!(l.balance(w.a).await, Money::from_ore(-1_500));
    let list = get(l, &staff, "/portal/office/flags?flag=card_blocked").await;
    assert_eq!(list.text.matches("data-flagged=").count(), 1);
    // No new money: the API's deposit, a parent's top-up and withdrawal,
    // a card order, a card handed out or unblocked.
    let deposit = l.deposit(w.a, "50.00").await;
    assert_eq!(deposit.status, StatusCode::CONFLICT, "{}", deposit.text);
    assert_eq!(deposit.error_code(), "account_closed");
    let parent = l.log_in(w.parents[0]).await;
    let topup = post(
        l,
        &parent,
        &format!("/portal/children/{}/top-up", w.a),
        &[("amount", "50")],
    )
    .await;
    assert_eq!(topup.status, StatusCode::CONFLICT, "{}", topup.text);
    assert!(topup.text.contains("kontoen er lukket"));
    let order = post(
        l,
        &staff,
        &format!("/portal/office/children/{}/card-order", w.a),
        &[
            ("fee", "0"),
            ("order", &Uuid::now_v7().to_string()),
            ("address", "Kontoret"),
        ],
    )
    .await;
    assert_eq!(order.status, StatusCode::CONFLICT, "{}", order.text);
    let unblock = post(
        l,
        &staff,
        &format!("/portal/office/children/{}/cards/unblock", w.a),
        &[("uid", CARD_A)],
    )
    .await;
    assert_eq!(unblock.status, StatusCode::CONFLICT, "{}", unblock.text);
    let hand_out = l
        .admin(
            Method::POST,
            &format!("/api/v1/children/{}/cards", w.a),
            Some(json!({"uid": CARD_A2})),
        )
        .await;
    assert_eq!(hand_out.status, StatusCode::CONFLICT, "{}", hand_out.text);
    // Leaving twice does nothing more.
    let again = post(
        l,
        &staff,
        &leave,
        &[("payout", &Uuid::now_v7().to_string())],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    // The history is still there: every entry before, the payout's
    // withdrawal and the sale after.
    let entries_after =
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM entries WHERE child_id = $1")
            .bind(w.a.0)
            .fetch_one(&l.pool)
            .await
            .expect("count");
    assert_eq!(entries_after, entries_before + 2);
    // The office log, with who.
    let log = log_rows(l, "child.left").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, "Kontoret Kastanjen");
    assert_eq!(log[0].1["payout"], json!(payout_id));
    assert_eq!(log[0].1["cards_blocked"], json!([CARD_A]));
    assert_eq!(
        log_rows(l, "payout.request").await.last().expect("one").0,
        "Kontoret Kastanjen"
    );
    // The office rejects the payout: the money goes back on the closed account.
    let reject = post(
        l,
        &staff,
        &format!("/portal/office/payouts/{payout_id}/reject"),
        &[],
    )
    .await;
    assert_eq!(reject.status, StatusCode::SEE_OTHER, "{}", reject.text);
    let back = balance - Money::from_ore(1_500);
    assert_eq!(l.balance(w.a).await, back);
    // That money is paid out the same way; the account stays closed.
    let page = get(l, &staff, &format!("/portal/office/children/{}", w.a)).await;
    assert!(page.text.contains("Udbetal resten"), "{}", page.text);
    let second = Uuid::now_v7().to_string();
    let paid_again = post(
        l,
        &staff,
        &leave,
        &[
            ("payout", &second),
            ("payer", &payer.id.to_string()),
            ("account", "1234 87654321"),
        ],
    )
    .await;
    assert_eq!(
        paid_again.status,
        StatusCode::SEE_OTHER,
        "{}",
        paid_again.text
    );
    assert_eq!(l.balance(w.a).await, Money::ZERO);
    let asked: (String, String) = sqlx::query_as(
        "SELECT amount::text, bank_account FROM payout_requests WHERE id = $1::uuid",
    )
    .bind(&second)
    .fetch_one(&l.pool)
    .await
    .expect("the second payout");
    assert_eq!(asked, (back.to_plain_string(), "1234 87654321".to_string()));
    assert!(
        db::detail(&l.pool, w.a)
            .await
            .expect("a")
            .closed_at
            .is_some()
    );
    let log = log_rows(l, "child.left").await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].1["cards_blocked"], json!([]));
    // Nothing left: nothing more to do.
    let nothing = post(
        l,
        &staff,
        &leave,
        &[("payout", &Uuid::now_v7().to_string())],
    )
    .await;
    assert_eq!(nothing.status, StatusCode::CONFLICT);
    // And the form is gone.
    let page = get(l, &staff, &format!("/portal/office/children/{}", w.a)).await;
    assert!(!page.text.contains("Udbetal resten"));
}

#[tokio::test]
async fn a_child_with_nothing_left_leaves_without_a_payout() {
    let l = ledger()
        .await
        .with_portal(klubkasse_ledger::Settings::default());
    let c = l.enrol_in("Ida", CLUB).await;
    let clubs = [CLUB.to_string()].into_iter().collect();
    let staff = l
        .person(
            "kontor",
            "Kontoret",
            Some(db::people::PersonRole::Office(clubs)),
            &[],
        )
        .await;
    let staff = l.log_in(staff.id).await;
    let page = get(&l, &staff, &format!("/portal/office/children/{c}")).await;
    assert!(!page.text.contains("name=\"payer\""));
    let left = post(
        &l,
        &staff,
        &format!("/portal/office/children/{c}/leave"),
        &[("payout", &Uuid::now_v7().to_string())],
    )
    .await;
    assert_eq!(left.status, StatusCode::SEE_OTHER, "{}", left.text);
    assert!(db::detail(&l.pool, c).await.expect("c").closed_at.is_some());
    let payouts: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_requests")
        .fetch_one(&l.pool)
        .await
        .expect("count");
    assert_eq!(payouts, 0);
}
