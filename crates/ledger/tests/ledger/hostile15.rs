//! A hostile tester's attacks on the office's pages of issue 15: forged
//! forms with the attacker's own valid CSRF token, reused one-time ids,
//! concurrent submits, odd amounts, a child leaving and what comes after,
//! flags, tokens, clubs renamed, and the hourly report sums against the
//! entries. Each test says what it expects; each held once its finding
//! was fixed (the findings still open are in issue 15's closing note).

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::{ChildId, Entry, Money};
use klubkasse_ledger::Settings;
use klubkasse_ledger::db;
use klubkasse_ledger::db::payers::NewPayer;
use klubkasse_testkit::ledger::*;
use uuid::Uuid;

use super::scope::world;

async fn post(l: &Ledger, v: &Visitor, path: &str, fields: &[(&str, &str)]) -> Answer {
    let mut form = vec![("csrf", v.csrf.as_str())];
    form.extend_from_slice(fields);
    l.page(Method::POST, path, Some(v), &form).await
}

fn of(child: ChildId, tail: &str) -> String {
    format!("/portal/office/children/{child}/{tail}")
}

fn no_500(answer: &Answer, what: &str) {
    assert!(
        !answer.status.is_server_error(),
        "{what}: {} {}",
        answer.status,
        answer.text
    );
}

/// A form to try: what it is (or who sends it), where, and its fields.
type Try<'a, W> = (W, String, Vec<(&'a str, String)>);

async fn payer_of(l: &Ledger, child: ChildId, name: &str) -> Uuid {
    let mut conn = l.pool.acquire().await.expect("a connection");
    let new = NewPayer {
        name: name.into(),
        email: None,
        custody: None,
    };
    db::payers::add(&mut conn, child, &new)
        .await
        .expect("a payer")
        .id
}

async fn closed(l: &Ledger, child: ChildId) -> bool {
    sqlx::query_scalar("SELECT closed_at IS NOT NULL FROM children WHERE id = $1")
        .bind(child.0)
        .fetch_one(&l.pool)
        .await
        .expect("closed")
}

async fn push(l: &Ledger, counter: &str, entries: &[Entry]) {
    super::common::push_as(l, counter, entries).await;
}

async fn leave(l: &Ledger, v: &Visitor, child: ChildId, payout: &str, payer: Uuid) -> Answer {
    let payer = payer.to_string();
    let fields = [
        ("payout", payout),
        ("payer", payer.as_str()),
        ("account", "1234 5678901"),
    ];
    post(l, v, &of(child, "leave"), &fields).await
}

/// A payer the office removed (custody changed) must not get the
/// leaving child's money.
#[tokio::test]
async fn hostile15_leave_to_a_removed_payer_is_refused() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let payer = payer_of(l, w.a, "Tidligere far").await;
    let removed = post(
        l,
        &staff,
        &of(w.a, "payers/remove"),
        &[("payer", &payer.to_string())],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.text);
    let answer = leave(l, &staff, w.a, &Uuid::now_v7().to_string(), payer).await;
    assert!(
        !closed(l, w.a).await,
        "the account closed with a payout to a removed payer ({})",
        answer.status
    );
}

/// The leave form's payout id reused from an earlier cash withdrawal of
/// the same child (a second tab, a forged form): the account must not
/// close with the balance still on it and no payout asked.
#[tokio::test]
async fn hostile15_leave_reusing_a_withdrawals_id_does_not_strand_the_balance() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let payer = payer_of(l, w.a, "Mor").await;
    let id = Uuid::now_v7().to_string();
    let cash = post(
        l,
        &staff,
        &of(w.a, "cash"),
        &[
            ("id", &id),
            ("amount", "10"),
            ("receipt", "K-1"),
            ("direction", "withdrawal"),
        ],
    )
    .await;
    assert_eq!(cash.status, StatusCode::SEE_OTHER, "{}", cash.text);
    let balance = l.balance(w.a).await;
    assert!(balance > Money::ZERO);
    let answer = leave(l, &staff, w.a, &id, payer).await;
    no_500(&answer, "leave");
    if closed(l, w.a).await {
        let asked: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM payout_requests WHERE child_id = $1 AND payer_id IS NOT NULL",
        )
        .bind(w.a.0)
        .fetch_one(&l.pool)
        .await
        .expect("payouts");
        assert_eq!(
            (l.balance(w.a).await, asked),
            (Money::ZERO, 1),
            "closed with {balance} left on the account and no payout to the payer"
        );
    }
}

/// The leave form's payout id is another child's entry id: a refusal on
/// the page, not an internal error.
#[tokio::test]
async fn hostile15_leave_with_another_childs_entry_id_is_no_500() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let payer = payer_of(l, w.a, "Mor").await;
    let theirs: Uuid = sqlx::query_scalar("SELECT id FROM entries WHERE child_id = $1 LIMIT 1")
        .bind(w.b.0)
        .fetch_one(&l.pool)
        .await
        .expect("b's entry");
    let answer = leave(l, &staff, w.a, &theirs.to_string(), payer).await;
    no_500(&answer, "leave with another child's entry id");
    assert!(!closed(l, w.a).await);
}

/// Two leave forms at once (two tabs): one payout, one closing, no 500;
/// the same form again (a reload) says the child has left.
#[tokio::test]
async fn hostile15_leaving_twice_at_once_pays_out_once() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let payer = payer_of(l, w.a, "Mor").await;
    let (one, two) = (Uuid::now_v7().to_string(), Uuid::now_v7().to_string());
    let (x, y) = tokio::join!(
        leave(l, &staff, w.a, &one, payer),
        leave(l, &staff, w.a, &two, payer)
    );
    no_500(&x, "first leave");
    no_500(&y, "second leave");
    let again = leave(l, &staff, w.a, &one, payer).await;
    no_500(&again, "the same form again");
    let asked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payout_requests WHERE child_id = $1 AND payer_id IS NOT NULL",
    )
    .bind(w.a.0)
    .fetch_one(&l.pool)
    .await
    .expect("payouts");
    assert_eq!(asked, 1);
    assert_eq!(l.balance(w.a).await, Money::ZERO);
    let (balance, sum) = l.balance_and_sum(w.a).await;
    assert_eq!(balance, sum);
}

/// After leaving, no form of the office or the parent moves money or
/// gives the child a working card; none is an internal error.
#[tokio::test]
async fn hostile15_after_leaving_nothing_moves_and_nothing_is_a_500() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let parent = l.log_in(w.parents[0]).await;
    let payer = payer_of(l, w.a, "Mor").await;
    let sold = sale(w.a, CARD_A, "k1", 500, 1);
    push(l, "k1", std::slice::from_ref(&sold)).await;
    let answer = leave(l, &staff, w.a, &Uuid::now_v7().to_string(), payer).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text);
    let entries = l.entry_count().await;
    let fresh = || Uuid::now_v7().to_string();
    let sale_id = sold.id.to_string();
    let tries: Vec<Try<&str>> = vec![
        (
            "cash in",
            of(w.a, "cash"),
            vec![
                ("id", fresh()),
                ("amount", "10".into()),
                ("receipt", "K-2".into()),
                ("direction", "deposit".into()),
            ],
        ),
        (
            "refund",
            of(w.a, "refund"),
            vec![
                ("id", fresh()),
                ("sale", sale_id.clone()),
                ("amount", "".into()),
                ("reason", "fejl".into()),
            ],
        ),
        (
            "adjustment",
            of(w.a, "adjustment"),
            vec![
                ("id", fresh()),
                ("amount", "5".into()),
                ("reason", "fejl".into()),
            ],
        ),
        (
            "hand out",
            of(w.a, "cards"),
            vec![("uid", "04CAFE01".into())],
        ),
        (
            "unblock",
            of(w.a, "cards/unblock"),
            vec![("uid", CARD_A.into())],
        ),
        (
            "card order",
            of(w.a, "card-order"),
            vec![
                ("fee", "45.00".into()),
                ("order", fresh()),
                ("address", "Kontoret".into()),
            ],
        ),
    ];
    for (what, path, fields) in &tries {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = post(l, &staff, path, &fields).await;
        no_500(&answer, what);
    }
    let withdraw = post(
        l,
        &parent,
        &format!("/portal/children/{}/withdraw", w.a),
        &[
            ("request", &fresh()),
            ("amount", "1"),
            ("account", "1234 5678901"),
        ],
    )
    .await;
    no_500(&withdraw, "parent's withdrawal");
    let top_up = post(
        l,
        &parent,
        &format!("/portal/children/{}/top-up", w.a),
        &[("amount", "50")],
    )
    .await;
    no_500(&top_up, "parent's top-up");
    assert_eq!(l.entry_count().await, entries, "an entry after leaving");
    let active: i64 =
        sqlx::query_scalar("SELECT count(*) FROM cards WHERE child_id = $1 AND state = 'active'")
            .bind(w.a.0)
            .fetch_one(&l.pool)
            .await
            .expect("cards");
    assert_eq!(active, 0, "a working card after leaving");
}

/// Amounts as a new user (or an attacker) types them: each one a page
/// with a message, never a 500, nothing moved unless it is an amount.
#[tokio::test]
async fn hostile15_odd_amounts_are_refused_on_the_page() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let start = l.balance(w.a).await;
    // Under the portal's 64 kB form limit (above it: see
    // hostile15_a_form_above_64_kb_is_no_csrf_failure).
    let huge = "9".repeat(20_000);
    for amount in [
        "1e9", "-0", "0,001", "0.001", "12.50", "1,500", "NaN", "inf", " ", "١٢", "--5", "+-5",
        "5 kroner", &huge,
    ] {
        for direction in ["deposit", "withdrawal"] {
            let answer = post(
                l,
                &staff,
                &of(w.a, "cash"),
                &[
                    ("id", &Uuid::now_v7().to_string()),
                    ("amount", amount),
                    ("receipt", "K-9"),
                    ("direction", direction),
                ],
            )
            .await;
            let shown = &amount[..amount.len().min(20)];
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "cash {shown:?}: {}",
                answer.status
            );
            assert!(answer.text.contains("beløb"), "cash {shown:?}: no message");
        }
        let answer = post(
            l,
            &staff,
            &of(w.a, "adjustment"),
            &[
                ("id", &Uuid::now_v7().to_string()),
                ("amount", amount),
                ("reason", "test"),
            ],
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "adjust {:?}",
            &amount[..amount.len().min(20)]
        );
    }
    assert_eq!(l.balance(w.a).await, start);
    // "1.000,00" is how Danish Excel writes a thousand: read so, or refused
    // naming the field; never a thousandth.
    let answer = post(
        l,
        &staff,
        &of(w.a, "adjustment"),
        &[
            ("id", &Uuid::now_v7().to_string()),
            ("amount", "-1.000,00"),
            ("reason", "test"),
        ],
    )
    .await;
    no_500(&answer, "-1.000,00");
    assert_eq!(l.balance(w.a).await, start);
    // A reason and a receipt of 20 kB: the page says so.
    let big = "x".repeat(20_000);
    for (path, fields) in [
        (
            of(w.a, "adjustment"),
            vec![("amount", "1"), ("reason", big.as_str())],
        ),
        (
            of(w.a, "cash"),
            vec![
                ("amount", "1"),
                ("receipt", big.as_str()),
                ("direction", "deposit"),
            ],
        ),
    ] {
        let id = Uuid::now_v7().to_string();
        let mut fields = fields;
        fields.push(("id", &id));
        let answer = post(l, &staff, &path, &fields).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.status);
    }
    assert_eq!(l.balance(w.a).await, start);
}

/// Two refunds of all of one sale at once, and two withdrawals that
/// together take more than the balance: one each passes.
#[tokio::test]
async fn hostile15_concurrent_refunds_and_withdrawals_move_money_once() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let sold = sale(w.a, CARD_A, "k1", 2000, 1);
    push(l, "k1", std::slice::from_ref(&sold)).await;
    let refund = |id: String| {
        let sale = sold.id.to_string();
        let staff = &staff;
        async move {
            post(
                l,
                staff,
                &of(w.a, "refund"),
                &[
                    ("id", &id),
                    ("sale", &sale),
                    ("amount", ""),
                    ("reason", "dobbelt"),
                ],
            )
            .await
        }
    };
    let (x, y) = tokio::join!(
        refund(Uuid::now_v7().to_string()),
        refund(Uuid::now_v7().to_string())
    );
    no_500(&x, "refund 1");
    no_500(&y, "refund 2");
    let refunded: Option<rust_decimal::Decimal> =
        sqlx::query_scalar("SELECT sum(amount) FROM entries WHERE refund_of = $1")
            .bind(sold.id)
            .fetch_one(&l.pool)
            .await
            .expect("refunds");
    assert_eq!(refunded, Some(rust_decimal::Decimal::new(2000, 2)));
    let balance = l.balance(w.a).await;
    let half_and_more = (balance.decimal() / rust_decimal::Decimal::TWO
        + rust_decimal::Decimal::ONE)
        .round_dp(2)
        .to_string()
        .replace('.', ",");
    let cash = |id: String| {
        let staff = &staff;
        let amount = half_and_more.clone();
        async move {
            post(
                l,
                staff,
                &of(w.a, "cash"),
                &[
                    ("id", &id),
                    ("amount", &amount),
                    ("receipt", "K-3"),
                    ("direction", "withdrawal"),
                ],
            )
            .await
        }
    };
    let (x, y) = tokio::join!(
        cash(Uuid::now_v7().to_string()),
        cash(Uuid::now_v7().to_string())
    );
    no_500(&x, "cash 1");
    no_500(&y, "cash 2");
    let statuses = [x.status, y.status];
    assert!(statuses.contains(&StatusCode::SEE_OTHER) && statuses.contains(&StatusCode::OK));
    let (balance, sum) = l.balance_and_sum(w.a).await;
    assert!(balance >= Money::ZERO);
    assert_eq!(balance, sum);
}

/// Roles: one's own role, and a person of another kind set by a forged
/// form, answer on the page; office staff cannot change roles.
#[tokio::test]
async fn hostile15_roles_forged_and_own() {
    let w = world().await;
    let l = &w.l;
    let who = l.log_in(w.municipality).await;
    let own = post(
        l,
        &who,
        &format!("/portal/office/people/{}/role", w.municipality),
        &[("role", "none")],
    )
    .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    let role: String = sqlx::query_scalar("SELECT role FROM people WHERE id = $1")
        .bind(w.municipality)
        .fetch_one(&l.pool)
        .await
        .expect("role");
    assert_eq!(role, "municipality");
    let staff = l.log_in(w.office_a).await;
    let up = post(
        l,
        &staff,
        &format!("/portal/office/people/{}/role", w.office_a),
        &[("role", "municipality")],
    )
    .await;
    assert_eq!(up.status, StatusCode::NOT_FOUND);
    let unknown = post(
        l,
        &who,
        &format!("/portal/office/people/{}/role", Uuid::now_v7()),
        &[("role", "municipality")],
    )
    .await;
    no_500(&unknown, "role of no one");
    let clubs = post(
        l,
        &who,
        &format!("/portal/office/people/{}/role", w.office_a),
        &[("role", "office"), ("clubs", "Findes ikke")],
    )
    .await;
    no_500(&clubs, "an unknown club");
}

/// The hourly sums against a direct SUM over the entries, after sales,
/// counter and office refunds, adjustments, cash, a parent's payout, a
/// card fee and a child leaving: exactly equal per club, counter and kind,
/// and the items against the entries' lines.
#[tokio::test]
async fn hostile15_report_sums_agree_with_the_entries() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let s1 = sale(w.a, CARD_A, "k1", 333, 3);
    let s2 = sale(w.b, CARD_B, "k2", 1999, 1);
    let s3 = sale(w.a, CARD_A, "k2", 5, 7);
    push(l, "k1", std::slice::from_ref(&s1)).await;
    push(l, "k2", &[s2.clone(), s3.clone()]).await;
    push(l, "k1", &[refund(&s1)]).await;
    let id = Uuid::now_v7().to_string();
    let sale3 = s3.id.to_string();
    post(
        l,
        &staff,
        &of(w.a, "refund"),
        &[
            ("id", &id),
            ("sale", &sale3),
            ("amount", "0,10"),
            ("reason", "r"),
        ],
    )
    .await;
    let id = Uuid::now_v7().to_string();
    post(
        l,
        &staff,
        &of(w.a, "adjustment"),
        &[("id", &id), ("amount", "-0,01"), ("reason", "r")],
    )
    .await;
    let id = Uuid::now_v7().to_string();
    post(
        l,
        &staff,
        &of(w.a, "cash"),
        &[
            ("id", &id),
            ("amount", "12,34"),
            ("receipt", "K"),
            ("direction", "deposit"),
        ],
    )
    .await;
    let payer = payer_of(l, w.a, "Mor").await;
    let left = leave(l, &staff, w.a, &Uuid::now_v7().to_string(), payer).await;
    assert_eq!(left.status, StatusCode::SEE_OTHER, "{}", left.text);
    let today = l.today().await;
    let settings = Settings::default();
    let mut reported: Vec<(String, String, String, i64, String)> =
        db::reports::totals(&l.pool, &settings, today, today, None)
            .await
            .expect("totals")
            .into_iter()
            .map(|r| {
                (
                    r.club,
                    r.counter,
                    r.kind,
                    r.count,
                    r.total.to_plain_string(),
                )
            })
            .collect();
    reported.sort();
    let direct: Vec<(String, String, String, i64, rust_decimal::Decimal)> = sqlx::query_as(
        "SELECT club, counter, kind, count(*), sum(amount) FROM entries
         WHERE (at AT TIME ZONE 'Europe/Copenhagen')::date = $1
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .bind(today)
    .fetch_all(&l.pool)
    .await
    .expect("direct");
    let direct: Vec<_> = direct
        .into_iter()
        .map(|(a, b, c, d, e)| (a, b, c, d, format!("{e:.2}")))
        .collect();
    assert_eq!(reported, direct);
    let items: rust_decimal::Decimal = db::reports::items(&l.pool, &settings, today, today, None)
        .await
        .expect("items")
        .iter()
        .map(|i| i.amount.decimal())
        .sum();
    let sold: Option<rust_decimal::Decimal> = sqlx::query_scalar(
        "SELECT -sum(amount) FROM entries WHERE kind IN ('sale', 'refund')
         AND (at AT TIME ZONE 'Europe/Copenhagen')::date = $1",
    )
    .bind(today)
    .fetch_one(&l.pool)
    .await
    .expect("sold");
    assert_eq!(
        items,
        sold.unwrap_or_default(),
        "items vs sales less refunds"
    );
}

/// The bank account a leaving child's money goes to is what the office
/// pays by hand: control characters (a NUL, a right-to-left override that
/// shows digits reversed, a line break) must be refused on the page.
#[tokio::test]
async fn hostile15_leave_refuses_a_bank_account_with_control_characters() {
    let mut wrong = Vec::new();
    for account in ["12\u{0}34", "1234\u{202e}5678", "1234\n5678", "1234\u{7}"] {
        let w = world().await;
        let l = &w.l;
        let staff = l.log_in(w.office_a).await;
        let payer = payer_of(l, w.a, "Mor").await.to_string();
        let answer = post(
            l,
            &staff,
            &of(w.a, "leave"),
            &[
                ("payout", &Uuid::now_v7().to_string()),
                ("payer", &payer),
                ("account", account),
            ],
        )
        .await;
        let stored: Option<String> = sqlx::query_scalar(
            "SELECT bank_account FROM payout_requests WHERE child_id = $1 AND payer_id IS NOT NULL",
        )
        .bind(w.a.0)
        .fetch_optional(&l.pool)
        .await
        .expect("payout");
        // Said on the page, or (a NUL, a bell: no page sends them) the
        // form refused whole; never stored.
        let said = [StatusCode::OK, StatusCode::UNPROCESSABLE_ENTITY].contains(&answer.status);
        if !said || stored.is_some() {
            wrong.push(format!("{account:?}: {} stored {stored:?}", answer.status));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Leaving at the same moment as cash out, an adjustment, a refund and a
/// parent's withdrawal: whatever order the locks give, the books agree,
/// nothing is below zero, and a closed account has nothing left on it
/// that is not asked as a payout.
#[tokio::test]
async fn hostile15_leaving_races_every_money_form() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let parent = l.log_in(w.parents[0]).await;
    let payer = payer_of(l, w.a, "Mor").await;
    let sold = sale(w.a, CARD_A, "k1", 1500, 1);
    push(l, "k1", std::slice::from_ref(&sold)).await;
    let f = || Uuid::now_v7().to_string();
    let (p, c, a, r, wd) = (f(), f(), f(), f(), f());
    let sale_id = sold.id.to_string();
    let withdraw = format!("/portal/children/{}/withdraw", w.a);
    let (cash, adjust, refund) = (of(w.a, "cash"), of(w.a, "adjustment"), of(w.a, "refund"));
    let cash_fields = [
        ("id", c.as_str()),
        ("amount", "20"),
        ("receipt", "K"),
        ("direction", "withdrawal"),
    ];
    let adjust_fields = [("id", a.as_str()), ("amount", "7,5"), ("reason", "r")];
    let refund_fields = [
        ("id", r.as_str()),
        ("sale", sale_id.as_str()),
        ("amount", ""),
        ("reason", "r"),
    ];
    let withdraw_fields = [
        ("request", wd.as_str()),
        ("amount", "5"),
        ("account", "1234 5678901"),
    ];
    let answers = tokio::join!(
        leave(l, &staff, w.a, &p, payer),
        post(l, &staff, &cash, &cash_fields),
        post(l, &staff, &adjust, &adjust_fields),
        post(l, &staff, &refund, &refund_fields),
        post(l, &parent, &withdraw, &withdraw_fields),
    );
    for (n, answer) in [answers.0, answers.1, answers.2, answers.3, answers.4]
        .iter()
        .enumerate()
    {
        no_500(answer, &format!("form {n}"));
    }
    let (balance, sum) = l.balance_and_sum(w.a).await;
    assert_eq!(balance, sum);
    assert!(balance >= Money::ZERO);
    assert!(closed(l, w.a).await);
    assert_eq!(balance, Money::ZERO, "left on the closed account");
}

/// "Add a person" with the issuer and subject of someone who exists
/// (here: the municipality person themself) silently rewrites that
/// person's role and name, past the own-role guard of the role form: the
/// last municipality person can lock the municipality out of its pages.
/// Expected: an existing person is refused ("exists, change the role on
/// their row"), or at least one's own role is refused as on the role form.
#[tokio::test]
async fn hostile15_adding_an_existing_person_does_not_change_their_role() {
    let w = world().await;
    let l = &w.l;
    let who = l.log_in(w.municipality).await;
    let answer = post(
        l,
        &who,
        "/portal/office/people",
        &[
            ("name", "Nogen andre"),
            ("email", ""),
            ("issuer", ISSUER),
            ("subject", "kommunen"),
            ("role", "none"),
        ],
    )
    .await;
    no_500(&answer, "add");
    let (role, name): (String, String) =
        sqlx::query_as("SELECT role, name FROM people WHERE id = $1")
            .bind(w.municipality)
            .fetch_one(&l.pool)
            .await
            .expect("role");
    assert_eq!(
        (role.as_str(), name.as_str()),
        ("municipality", "Kommunen"),
        "the add form rewrote an existing person ({})",
        answer.status
    );
}

/// Forged refund and adjustment forms with the attacker's own valid CSRF
/// token: another child's sale, a deposit named as the sale, the sale's
/// own id as the form's id, another child's entry id as the form's id;
/// over the cap and below zero. Each a message on the page, nothing moved.
#[tokio::test]
async fn hostile15_forged_refund_and_adjustment_fields_move_nothing() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let ours = sale(w.a, CARD_A, "k1", 1000, 1);
    let theirs = sale(w.b, CARD_B, "k1", 1000, 1);
    push(l, "k1", &[ours.clone(), theirs.clone()]).await;
    let deposit: Uuid = sqlx::query_scalar(
        "SELECT id FROM entries WHERE child_id = $1 AND kind = 'deposit' LIMIT 1",
    )
    .bind(w.a.0)
    .fetch_one(&l.pool)
    .await
    .expect("a deposit");
    let (a_before, b_before) = (l.balance(w.a).await, l.balance(w.b).await);
    let (ours_id, theirs_id, deposit) = (
        ours.id.to_string(),
        theirs.id.to_string(),
        deposit.to_string(),
    );
    let fresh = Uuid::now_v7().to_string();
    let refunds = [
        [fresh.as_str(), theirs_id.as_str()],
        [fresh.as_str(), deposit.as_str()],
        [ours_id.as_str(), ours_id.as_str()],
        [theirs_id.as_str(), ours_id.as_str()],
    ];
    let mut wrong = Vec::new();
    for [id, sale] in refunds {
        let fields = [("id", id), ("sale", sale), ("amount", ""), ("reason", "x")];
        let answer = post(l, &staff, &of(w.a, "refund"), &fields).await;
        if answer.status != StatusCode::OK {
            wrong.push(format!("refund id {id} sale {sale}: {}", answer.status));
        }
    }
    for amount in ["+5000", "-5000", "0,00"] {
        let fields = [("id", fresh.as_str()), ("amount", amount), ("reason", "x")];
        let answer = post(l, &staff, &of(w.a, "adjustment"), &fields).await;
        if answer.status != StatusCode::OK {
            wrong.push(format!("adjust {amount}: {}", answer.status));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(
        (l.balance(w.a).await, l.balance(w.b).await),
        (a_before, b_before)
    );
}

/// Payers by forged forms: another child's payer removed through one's
/// own child's address, and another club's child's payer: not found, the
/// payer kept. (Removing one's own payer twice, a double click, is a 404
/// page too: see the report.)
#[tokio::test]
async fn hostile15_another_childs_payer_is_not_removed_by_a_forged_form() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let theirs = payer_of(l, w.b, "Far til Oscar").await.to_string();
    let own_address = post(l, &staff, &of(w.a, "payers/remove"), &[("payer", &theirs)]).await;
    assert_eq!(own_address.status, StatusCode::NOT_FOUND);
    let their_address = post(l, &staff, &of(w.b, "payers/remove"), &[("payer", &theirs)]).await;
    assert_eq!(their_address.status, StatusCode::NOT_FOUND);
    let added = post(
        l,
        &staff,
        &of(w.b, "payers"),
        &[("name", "Indtrænger"), ("email", "")],
    )
    .await;
    assert_eq!(added.status, StatusCode::NOT_FOUND);
    let kept: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payers WHERE child_id = $1 AND removed_at IS NULL",
    )
    .bind(w.b.0)
    .fetch_one(&l.pool)
    .await
    .expect("payers");
    assert_eq!(kept, 1);
    let ours = payer_of(l, w.a, "Mor").await.to_string();
    let first = post(l, &staff, &of(w.a, "payers/remove"), &[("payer", &ours)]).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let twice = post(l, &staff, &of(w.a, "payers/remove"), &[("payer", &ours)]).await;
    no_500(&twice, "removed twice");
}

/// "1.000" is how the portal writes a thousand: typed back into a cash
/// form it is a thousand (here more than is on the card: refused), never
/// one krone.
#[tokio::test]
async fn hostile15_a_thousand_typed_with_a_dot_is_a_thousand() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let start = l.balance(w.a).await;
    assert!(start < Money::kroner(1000));
    let withdraw = async |amount: &str| {
        let id = Uuid::now_v7().to_string();
        let fields = [
            ("id", id.as_str()),
            ("amount", amount),
            ("receipt", "K-10"),
            ("direction", "withdrawal"),
        ];
        post(l, &staff, &of(w.a, "cash"), &fields).await
    };
    let answer = withdraw("1.000").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(l.balance(w.a).await, start);
    // Ten kroner the same way is ten.
    let answer = withdraw("10,00 kr.").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text);
    assert_eq!(l.balance(w.a).await, start - Money::kroner(10));
}

/// A NUL or another control character in any field of a form with a
/// valid token: the form is refused (422), nothing is written, no 500.
#[tokio::test]
async fn hostile15_control_characters_in_forms_are_refused_not_a_500() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let boss = l.log_in(w.municipality).await;
    let flagged = super::common::push_as(
        l,
        "k1",
        &[sale(w.a, CARD_A, "k1", l.balance(w.a).await.ore() + 100, 1)],
    )
    .await;
    let entry = flagged.results[0].id;
    let before = l.fingerprint().await;
    let tries: Vec<Try<&Visitor>> = vec![
        (
            &staff,
            format!("/portal/office/flags/{entry}/handle"),
            vec![("comment", "ringede\0".into())],
        ),
        (&staff, of(w.a, "club"), vec![("club", format!("{CLUB}\0"))]),
        (&staff, of(w.a, "name"), vec![("name", "Freja\u{7}".into())]),
        (
            &boss,
            "/portal/office/clubs/rename".into(),
            vec![("old", format!("{CLUB}\0")), ("new", "Ny".into())],
        ),
        (
            &boss,
            "/portal/office/tokens".into(),
            vec![
                ("label", "Kasse 9".into()),
                ("role", "kiosk".into()),
                ("kiosk", "k\u{1b}[31m9".into()),
            ],
        ),
    ];
    for (who, path, fields) in &tries {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = post(l, who, path, &fields).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(
            answer.text.contains("Formularen kunne ikke læses"),
            "{path}"
        );
    }
    assert_eq!(l.fingerprint().await, before);
    // A counter's id with a direction character (not a control one) is
    // refused on the page, naming what a counter's id may hold.
    let answer = post(
        l,
        &boss,
        "/portal/office/tokens",
        &[
            ("label", "Kasse 9"),
            ("role", "kiosk"),
            ("kiosk", "k\u{202e}9"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.text.contains("bogstaver, tal, mellemrum"),
        "{}",
        answer.text
    );
    assert_eq!(l.fingerprint().await, before);
}

/// A forged way back from a flag with a line break goes to the plain
/// list; a query string no link writes is a 400 in the portal's words.
#[tokio::test]
async fn hostile15_forged_addresses_are_answered_in_the_portals_words() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let flagged = super::common::push_as(
        l,
        "k1",
        &[sale(w.a, CARD_A, "k1", l.balance(w.a).await.ore() + 100, 1)],
    )
    .await;
    let entry = flagged.results[0].id;
    let answer = post(
        l,
        &staff,
        &format!("/portal/office/flags/{entry}/handle"),
        &[
            ("comment", "ringede"),
            ("back", "/portal/office/flags?\r\nSet-Cookie: x=1"),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.headers["location"], "/portal/office/flags?");
    for path in [
        "/portal/office/flags?page=abc",
        "/portal/office/children?page=1e9",
    ] {
        let answer = l.page(Method::GET, path, Some(&staff), &[]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(answer.text.contains("Adressen kunne ikke læses"), "{path}");
    }
}

/// A form above the portal's 64 kB is too large, said so; it is no CSRF
/// failure (which the log would count as an attack).
#[tokio::test]
async fn hostile15_a_form_above_64_kb_is_no_csrf_failure() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let before = l.fingerprint().await;
    let huge = "x".repeat(70_000);
    let answer = post(l, &staff, &of(w.a, "limits"), &[("note", &huge)]).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        answer.text.contains("Formularen er for lang"),
        "{}",
        answer.text
    );
    assert_eq!(l.fingerprint().await, before);
}
