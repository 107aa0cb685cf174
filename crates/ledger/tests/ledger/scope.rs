//! Each office sees only its clubs: another club's child, and its
//! payouts, card orders, cards and questions, are "not found" (the same
//! answer as for what does not exist) on every page, form and API route,
//! by address and by a forged form carrying the visitor's own valid CSRF
//! token; lists show the office's clubs only; the municipality sees all.

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::{ChildId, Money};
use klubkasse_ledger::Settings;
use klubkasse_ledger::db::people::PersonRole;
use klubkasse_ledger::db::{self, Actor};
use klubkasse_testkit::ledger::*;
use serde_json::json;
use uuid::Uuid;

/// Another club than the testkit's [`CLUB`].
pub(crate) const OTHER: &str = "Egetræet";

/// Two children in two clubs, each with a card, money, a parent, a payout
/// waiting, an open card order and a question to the office (and a general
/// one from b's parent); office staff of a's club, and the municipality.
pub(crate) struct World {
    pub(crate) l: Ledger,
    pub(crate) a: ChildId,
    pub(crate) b: ChildId,
    pub(crate) parents: [Uuid; 2],
    pub(crate) payout: [Uuid; 2],
    pub(crate) order: [Uuid; 2],
    pub(crate) support: [Uuid; 2],
    pub(crate) general_b: Uuid,
    pub(crate) office_a: Uuid,
    pub(crate) office_b: Uuid,
    pub(crate) municipality: Uuid,
}

const CARDS: [&str; 2] = [CARD_A, CARD_B];

pub(crate) async fn world() -> World {
    let l = ledger().await.with_portal(Settings::default());
    l.club(OTHER).await;
    let a = l.enrol_in("Freja", CLUB).await;
    let b = l.enrol_in("Oscar", OTHER).await;
    let mut payout = [Uuid::nil(); 2];
    let mut order = [Uuid::nil(); 2];
    let mut support = [Uuid::nil(); 2];
    let mut parents = [Uuid::nil(); 2];
    for (n, child) in [a, b].into_iter().enumerate() {
        l.hand_out(child, CARDS[n]).await;
        assert!(l.deposit(child, "200.00").await.status.is_success());
        let ordered = l
            .admin(
                Method::POST,
                &format!("/api/v1/children/{child}/card-orders"),
                Some(json!({"address": "Vej 1, 2100 København Ø"})),
            )
            .await;
        assert_eq!(ordered.status, StatusCode::CREATED, "{}", ordered.text);
        order[n] = ordered.body["id"]
            .as_str()
            .expect("id")
            .parse()
            .expect("uuid");
        // The order blocked the card: unblocked, a form can block it again.
        l.call(
            Method::POST,
            "/api/v1/kiosk/cards",
            Some(
                &l.token(klubkasse_ledger::auth::TokenRole::Kiosk, Some("k1"), &[])
                    .await,
            ),
            Some(json!({"action": "unblock", "uid": CARDS[n]})),
        )
        .await;
        let parent = l
            .person(
                &format!("parent-{n}"),
                &format!("Forælder {n}"),
                None,
                &[child],
            )
            .await;
        parents[n] = parent.id;
        let actor = Actor::Person {
            id: parent.id,
            name: "Forælder".into(),
        };
        payout[n] = Uuid::now_v7();
        db::payments::request_payout(
            &l.pool,
            &klubkasse_ledger::Settings::default(),
            &actor,
            payout[n],
            child,
            db::payments::PayoutTo {
                payee: db::payments::Payee::Person(parent.id),
                amount: Money::kroner(10),
                bank_account: "1234 12345678",
            },
        )
        .await
        .expect("payout");
        support[n] =
            db::portal::add_support(&l.pool, parent.id, Some(child), "Kortet", "Hvor?", 10)
                .await
                .expect("support")
                .expect("within the limit");
    }
    let general_b = db::portal::add_support(&l.pool, parents[1], None, "Generelt", "Hej", 10)
        .await
        .expect("support")
        .expect("within the limit");
    let clubs = [CLUB.to_string()].into_iter().collect();
    let office_a = l
        .person(
            "kontor-a",
            "Kontoret Kastanjen",
            Some(PersonRole::Office(clubs)),
            &[],
        )
        .await
        .id;
    let clubs = [OTHER.to_string()].into_iter().collect();
    let office_b = l
        .person(
            "kontor-b",
            "Kontoret Egetræet",
            Some(PersonRole::Office(clubs)),
            &[],
        )
        .await
        .id;
    let municipality = l
        .person("kommunen", "Kommunen", Some(PersonRole::Municipality), &[])
        .await
        .id;
    World {
        l,
        a,
        b,
        parents,
        payout,
        order,
        support,
        general_b,
        office_a,
        office_b,
        municipality,
    }
}

/// What must not change when a request is refused: the books, the
/// payouts' and questions' states.
async fn state_of(l: &Ledger) -> String {
    let rest: String = sqlx::query_scalar(
        "SELECT concat_ws('|',
            (SELECT string_agg(id::text || status, ',' ORDER BY id) FROM payout_requests),
            (SELECT string_agg(id::text || coalesce(answer, ''), ',' ORDER BY id) FROM support_requests),
            (SELECT string_agg(coalesce(daily_limit::text, '') || coalesce(note, '') || name || club
                               || blocked_categories::text, ',' ORDER BY id)
             FROM children),
            (SELECT count(*)::text FROM payments),
            (SELECT count(*)::text FROM office_log))",
    )
    .fetch_one(&l.pool)
    .await
    .expect("state");
    l.fingerprint().await + &rest
}

/// A page or a form: method, path, fields besides the CSRF token.
type Visit = (Method, String, Vec<(&'static str, String)>);

/// The child pages and forms (a parent's, which office staff reach too)
/// and the office's forms, for child `n` of the world: (method, path,
/// fields besides the CSRF token).
fn routes_of(w: &World, n: usize) -> Vec<Visit> {
    let child = [w.a, w.b][n];
    let page = |tail: &str| format!("/portal/children/{child}/{tail}");
    let mut routes = vec![];
    for tail in ["top-up", "history", "withdraw", "card", "limits"] {
        routes.push((Method::GET, page(tail), vec![]));
    }
    routes.extend([
        (Method::POST, page("top-up"), vec![("amount", "50".into())]),
        (
            Method::POST,
            page("withdraw"),
            vec![
                ("request", Uuid::now_v7().to_string()),
                ("amount", "5".into()),
                ("account", "1234 12345678".into()),
            ],
        ),
        (
            Method::POST,
            page("card/block"),
            vec![("uid", CARDS[n].into())],
        ),
        (
            Method::POST,
            page("card/order"),
            vec![
                ("order", Uuid::now_v7().to_string()),
                ("address", "Vej 2".into()),
                ("fee", "45.00".into()),
            ],
        ),
        (
            Method::POST,
            page("limits"),
            vec![
                ("limit", "25".into()),
                ("note", "ny note".into()),
                ("low", "".into()),
                ("email", "".into()),
            ],
        ),
        (
            Method::POST,
            "/portal/support".into(),
            vec![
                ("child", child.to_string()),
                ("subject", "Fra kontoret".into()),
                ("body", "Hej".into()),
            ],
        ),
        (
            Method::POST,
            format!("/portal/office/payouts/{}", w.payout[n]),
            vec![],
        ),
        (
            Method::POST,
            format!("/portal/office/payouts/{}/reject", w.payout[n]),
            vec![],
        ),
        (
            Method::POST,
            format!("/portal/office/orders/{}", w.order[n]),
            vec![("status", "sent".into())],
        ),
        (
            Method::POST,
            format!("/portal/office/support/{}", w.support[n]),
            vec![("answer", "Svar".into())],
        ),
    ]);
    let office = |tail: &str| format!("/portal/office/children/{child}{tail}");
    routes.extend([
        (Method::GET, office(""), vec![]),
        (
            Method::POST,
            office("/cards"),
            vec![("uid", "04C0FFEE".into())],
        ),
        (
            Method::POST,
            office("/cards/block"),
            vec![("uid", CARDS[n].into())],
        ),
        (
            Method::POST,
            office("/cards/unblock"),
            vec![("uid", CARDS[n].into())],
        ),
        (
            Method::POST,
            office("/card-order"),
            vec![
                ("order", Uuid::now_v7().to_string()),
                ("address", "Kontoret".into()),
                ("fee", "45.00".into()),
            ],
        ),
        (
            Method::POST,
            office("/limits"),
            vec![("limit", "15".into()), ("note", "fra kontoret".into())],
        ),
        (
            Method::POST,
            office("/name"),
            vec![("name", "Nyt Navn".into())],
        ),
        (Method::POST, office("/club"), vec![("club", CLUB.into())]),
        (
            Method::POST,
            format!("/portal/office/orders/{}", w.order[n]),
            vec![("status", "handed_out".into()), ("uid", "04BEEF01".into())],
        ),
    ]);
    if n == 1 {
        routes.push((
            Method::POST,
            format!("/portal/office/support/{}", w.general_b),
            vec![("answer", "Svar".into())],
        ));
    }
    routes
}

async fn visit(
    l: &Ledger,
    visitor: &Visitor,
    method: &Method,
    path: &str,
    fields: &[(&'static str, String)],
) -> Answer {
    let mut form: Vec<(&str, &str)> = vec![("csrf", visitor.csrf.as_str())];
    form.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
    l.page(method.clone(), path, Some(visitor), &form).await
}

/// Office staff of a's club, by address and by forged forms with their own
/// valid CSRF token, find nothing of b (another club's child): every page
/// and form answers exactly as for an id that does not exist, and nothing
/// changes. The same forms for a, their own club's child, work.
#[tokio::test]
async fn office_staff_find_nothing_of_another_clubs_child_by_address_or_forged_form() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let unknown = visit(
        l,
        &staff,
        &Method::GET,
        &format!("/portal/children/{}/card", Uuid::now_v7()),
        &[],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let before = state_of(l).await;
    for (method, path, fields) in routes_of(&w, 1) {
        let answer = visit(l, &staff, &method, &path, &fields).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            answer.text
        );
        assert_eq!(
            answer.text, unknown.text,
            "{method} {path}: not the unknown id's answer"
        );
        assert_eq!(
            state_of(l).await,
            before,
            "{method} {path} changed something"
        );
    }
    for (method, path, fields) in routes_of(&w, 0) {
        let answer = visit(l, &staff, &method, &path, &fields).await;
        assert!(
            answer.status.is_success() || answer.status.is_redirection(),
            "{method} {path}: {} {}",
            answer.status,
            answer.text
        );
    }
    // What the forms did to a is in the log as this person's doing.
    let done: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT action COLLATE \"C\" FROM office_log WHERE actor_id = $1 ORDER BY 1",
    )
    .bind(w.office_a)
    .fetch_all(&l.pool)
    .await
    .expect("log");
    assert_eq!(
        done,
        [
            "card.block",
            "card.hand_out",
            "card.order",
            "card.unblock",
            "card_order.status",
            "child.rename",
            "child.settings",
            "payout.paid",
            "payout.request",
            "support.answer"
        ]
    );
    let names: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT actor_name FROM office_log WHERE actor_id = $1")
            .bind(w.office_a)
            .fetch_all(&l.pool)
            .await
            .expect("names");
    assert_eq!(names, ["Kontoret Kastanjen"]);
}

/// The office page lists the payouts, card orders and questions of the
/// visitor's clubs only, and the month's sales of those clubs; the
/// municipality sees every club's and acts on another club's child.
#[tokio::test]
async fn the_office_page_lists_the_visitors_clubs_and_the_municipality_sees_all() {
    let w = world().await;
    let l = &w.l;
    let kiosk = l
        .token(klubkasse_ledger::auth::TokenRole::Kiosk, Some("k1"), &[])
        .await;
    for (child, card) in [(w.a, CARD_A), (w.b, CARD_B)] {
        let pushed = l
            .call(
                Method::POST,
                "/api/v1/kiosk/entries",
                Some(&kiosk),
                Some(batch(&[sale(child, card, "k1", 1250, 2)])),
            )
            .await;
        assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text);
    }
    let staff = l.log_in(w.office_a).await;
    let office = visit(l, &staff, &Method::GET, "/portal/office", &[]).await;
    assert_eq!(office.status, StatusCode::OK);
    let text = &office.text;
    assert!(text.contains(&w.payout[0].to_string()), "a's payout");
    assert!(!text.contains(&w.payout[1].to_string()), "not b's payout");
    assert!(text.contains(&w.order[0].to_string()) && !text.contains(&w.order[1].to_string()));
    assert!(text.contains(&w.support[0].to_string()) && !text.contains(&w.support[1].to_string()));
    assert!(
        !text.contains(&w.general_b.to_string()),
        "b's parent's general question"
    );
    assert!(text.contains("Freja") && !text.contains("Oscar"), "{text}");
    assert!(
        text.contains(CLUB) && !text.contains(OTHER),
        "sales by club: {text}"
    );
    let everyone = l.log_in(w.municipality).await;
    let all = visit(l, &everyone, &Method::GET, "/portal/office", &[]).await;
    for id in w
        .payout
        .iter()
        .chain(&w.order)
        .chain(&w.support)
        .chain([&w.general_b])
    {
        assert!(
            all.text.contains(&id.to_string()),
            "{id} on the municipality's page"
        );
    }
    assert!(all.text.contains(CLUB) && all.text.contains(OTHER));
    for (method, path, fields) in routes_of(&w, 1) {
        let answer = visit(l, &everyone, &method, &path, &fields).await;
        assert!(
            answer.status.is_success() || answer.status.is_redirection(),
            "{method} {path}: {} {}",
            answer.status,
            answer.text
        );
    }
    let paid: String = sqlx::query_scalar("SELECT status FROM payout_requests WHERE id = $1")
        .bind(w.payout[1])
        .fetch_one(&l.pool)
        .await
        .expect("payout");
    assert_eq!(paid, "paid");
    // A parent is not office staff.
    let parent = l.person("parent-0", "Forælder 0", None, &[]).await;
    assert_eq!(
        parent.role,
        PersonRole::Parent,
        "run again without a role: still a parent"
    );
    let parent = l.log_in(parent.id).await;
    let refused = visit(l, &parent, &Method::GET, "/portal/office", &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
}

/// An office token of another club gets for a's child, card and order what
/// an unknown id gets (the id aside), changes nothing, and lists and
/// reports only its own club; the admin token sees both clubs.
#[tokio::test]
async fn an_office_token_finds_nothing_of_another_clubs_child() {
    let w = world().await;
    let l = &w.l;
    let other = l.office_token(&[OTHER]).await;
    let before = state_of(l).await;
    let a = w.a.to_string();
    let nobody = Uuid::now_v7().to_string();
    let order = w.order[0].to_string();
    let unknown_order = Uuid::now_v7().to_string();
    let requests: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/api/v1/children/{a}"), None),
        (
            Method::PATCH,
            format!("/api/v1/children/{a}"),
            Some(json!({"note": "x"})),
        ),
        (Method::GET, format!("/api/v1/children/{a}/entries"), None),
        (
            Method::POST,
            format!("/api/v1/children/{a}/deposits"),
            Some(json!({"amount": "1.00"})),
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/withdrawals"),
            Some(json!({"amount": "1.00"})),
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/cards"),
            Some(json!({"uid": "04FFFFFF"})),
        ),
        (
            Method::POST,
            format!("/api/v1/children/{a}/card-orders"),
            Some(json!({"address": "Vej 3"})),
        ),
        (Method::POST, format!("/api/v1/cards/{CARD_A}/block"), None),
        (
            Method::PATCH,
            format!("/api/v1/card-orders/{order}"),
            Some(json!({"status": "sent"})),
        ),
    ];
    for (method, path, body) in requests {
        let answer = l
            .call(method.clone(), &path, Some(&other), body.clone())
            .await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            answer.text
        );
        let unknown_path = path
            .replace(&a, &nobody)
            .replace(&order, &unknown_order)
            .replace(CARD_A, "04EEEEEE");
        let unknown = l
            .call(method.clone(), &unknown_path, Some(&other), body)
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown_path}");
        let alike = |text: &str| {
            text.replace(&a, "ID")
                .replace(&nobody, "ID")
                .replace(&order, "ID")
                .replace(&unknown_order, "ID")
                .replace(CARD_A, "ID")
                .replace("04EEEEEE", "ID")
        };
        assert_eq!(alike(&answer.text), alike(&unknown.text), "{method} {path}");
        assert_eq!(
            state_of(l).await,
            before,
            "{method} {path} changed something"
        );
    }
    let enrol = l
        .call(
            Method::POST,
            "/api/v1/children",
            Some(&other),
            Some(json!({"name": "Ny", "club": CLUB})),
        )
        .await;
    let unknown_club = l
        .call(
            Method::POST,
            "/api/v1/children",
            Some(&other),
            Some(json!({"name": "Ny", "club": "Bøgen"})),
        )
        .await;
    assert_eq!(
        enrol.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        enrol.text
    );
    assert_eq!(
        enrol.text.replace(CLUB, "CLUB"),
        unknown_club.text.replace("Bøgen", "CLUB")
    );
    let listed = l
        .call(Method::GET, "/api/v1/children", Some(&other), None)
        .await;
    let names: Vec<&str> = listed
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Oscar"]);
    let asked = l
        .call(
            Method::GET,
            &format!("/api/v1/children?club={CLUB}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(asked.body, json!([]));
    let today = l.today().await;
    let report = l
        .call(
            Method::GET,
            &format!("/api/v1/reports/day?date={today}"),
            Some(&other),
            None,
        )
        .await;
    let clubs: Vec<&str> = report.body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["club"].as_str().expect("club"))
        .collect();
    assert!(
        !clubs.is_empty() && clubs.iter().all(|c| *c == OTHER),
        "{clubs:?}"
    );
    let admin = l.admin(Method::GET, "/api/v1/children", None).await;
    assert_eq!(admin.body.as_array().expect("a list").len(), 2);
    let report = l
        .admin(
            Method::GET,
            &format!("/api/v1/reports/day?date={today}"),
            None,
        )
        .await;
    let clubs: std::collections::BTreeSet<&str> = report.body["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["club"].as_str().expect("club"))
        .collect();
    assert_eq!(clubs.len(), 2);
    // And its own club's child is its to act on.
    let own = l
        .call(
            Method::POST,
            &format!("/api/v1/children/{}/deposits", w.b),
            Some(&other),
            Some(json!({"amount": "1.00"})),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text);
}

/// The office log page: the visitor's clubs' rows only, searched by
/// text, action and club, newest first, in Danish and in English.
#[tokio::test]
async fn the_office_log_page_shows_the_visitors_clubs_searched() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let page = |path: String| {
        let staff = &staff;
        async move { visit(l, staff, &Method::GET, &path, &[]).await }
    };
    let log = page("/portal/office/log".into()).await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(
        log.text.contains("Kontorets log") && log.text.contains("Barn indmeldt"),
        "{}",
        log.text
    );
    assert!(
        log.text.contains("Freja") && !log.text.contains("Oscar"),
        "{}",
        log.text
    );
    let deposits = page(format!(
        "/portal/office/log?action=money.deposit&q=freja&club={CLUB}"
    ))
    .await;
    assert_eq!(
        deposits.text.matches("data-log=").count(),
        1,
        "{}",
        deposits.text
    );
    assert!(
        deposits.text.contains("200,00 kr."),
        "amounts the Danish way: {}",
        deposits.text
    );
    let odd = page("/portal/office/log?action=x&from=no&before=%27".into()).await;
    assert_eq!(
        odd.status,
        StatusCode::OK,
        "unreadable fields match everything"
    );
    let everyone = l.log_in(w.municipality).await;
    let all = visit(l, &everyone, &Method::GET, "/portal/office/log", &[]).await;
    assert!(
        all.text.contains("Oscar") && all.text.contains("Klub oprettet"),
        "{}",
        all.text
    );
    assert!(
        all.text.contains("Kommandolinjen ("),
        "the command line by its user"
    );
    let english = Visitor {
        lang: Some("en"),
        ..everyone
    };
    let in_english = visit(l, &english, &Method::GET, "/portal/office/log", &[]).await;
    assert!(
        in_english.text.contains("The office log") && in_english.text.contains("Club added"),
        "{}",
        in_english.text
    );
    let parent = l.person("parent-1", "Forælder 1", None, &[]).await;
    let parent = l.log_in(parent.id).await;
    let refused = visit(l, &parent, &Method::GET, "/portal/office/log", &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(!refused.text.contains("Oscar"));
}

/// A payout the office rejects puts the money back on the card, once, and
/// the log says who rejected it; another club's office cannot.
#[tokio::test]
async fn a_rejected_payout_puts_the_money_back_and_is_logged() {
    let w = world().await;
    let l = &w.l;
    let before = l.balance(w.a).await;
    let other = l.log_in(w.office_b).await;
    let path = format!("/portal/office/payouts/{}/reject", w.payout[0]);
    let refused = visit(l, &other, &Method::POST, &path, &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let staff = l.log_in(w.office_a).await;
    for _ in 0..2 {
        let answer = visit(l, &staff, &Method::POST, &path, &[]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text);
    }
    assert_eq!(l.balance(w.a).await, before + Money::kroner(10));
    let (balance, sum) = l.balance_and_sum(w.a).await;
    assert_eq!(balance, sum);
    let log: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT actor_name, club, before->>'status', after->>'status' FROM office_log
         WHERE action = 'payout.rejected'",
    )
    .fetch_all(&l.pool)
    .await
    .expect("log");
    assert_eq!(
        log,
        [(
            "Kontoret Kastanjen".to_string(),
            CLUB.to_string(),
            Some("requested".to_string()),
            Some("rejected".to_string())
        )]
    );
}
