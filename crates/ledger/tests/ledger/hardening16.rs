//! What a hostile user found in the portal and the API (issue 16), each
//! with the test that holds the fix.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use klubkasse_core::domain::{ChildId, Money};
use klubkasse_ledger::Settings;
use klubkasse_ledger::auth::TokenRole;
use klubkasse_ledger::db::{self, Actor};
use klubkasse_ledger::portal::oidc::{Oidc, OidcConfig};
use klubkasse_ledger::portal::throttle::Limits;
use klubkasse_testkit::ledger::*;
use klubkasse_testkit::portal::Provider;
use serde_json::json;
use tower::ServiceExt;
use uuid::Uuid;

use super::common::{get, post};

/// What every answer of the portal must carry: a Content-Security-Policy
/// with no script and no framing, the referrer kept to the portal, no
/// sniffing, and nothing kept in a cache; and no script in the page.
pub fn portal_headers(answer: &Answer) -> Result<(), String> {
    let header = |name: header::HeaderName| {
        answer
            .headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let csp = header(header::CONTENT_SECURITY_POLICY);
    let wanted = [
        (csp.contains("default-src 'none'"), "CSP default-src 'none'"),
        (
            csp.contains("frame-ancestors 'none'"),
            "CSP frame-ancestors",
        ),
        (!csp.contains("script-src"), "no script source in the CSP"),
        (
            header(header::REFERRER_POLICY) == "same-origin",
            "Referrer-Policy",
        ),
        (
            header(header::X_CONTENT_TYPE_OPTIONS) == "nosniff",
            "X-Content-Type-Options",
        ),
        (
            header(header::CACHE_CONTROL).contains("no-store"),
            "Cache-Control: no-store",
        ),
        (!answer.text.contains("<script"), "no script in the page"),
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, what)| *what)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing {missing:?} in {:?}", answer.headers))
    }
}

/// A ledger with the portal, a child with 100 kr., its parent and an
/// office person of its club, both logged in.
struct Family {
    l: Ledger,
    child: ChildId,
    parent: Visitor,
    office: Visitor,
}

async fn family() -> Family {
    family_with(|_| {}).await
}

async fn family_with(change: impl FnOnce(&mut klubkasse_ledger::portal::Portal)) -> Family {
    let l = ledger().await.with_portal_as(Settings::default(), change);
    let child = l.enrol("Freja").await;
    assert_eq!(l.deposit(child, "100.00").await.status, StatusCode::CREATED);
    let parent = l.person("mette", "Mette", None, &[child]).await;
    let clubs = [CLUB.to_string()].into_iter().collect();
    let office = l
        .person(
            "kontor",
            "Kontoret",
            Some(db::people::PersonRole::Office(clubs)),
            &[],
        )
        .await;
    Family {
        parent: l.log_in(parent.id).await,
        office: l.log_in(office.id).await,
        l,
        child,
    }
}

/// A client's id names one request: sent again, the same request
/// answers with what it made; another kind (a withdrawal with a
/// deposit's id, an order with an entry's), another amount, another
/// child or another address with it is 409 `id_in_use` and moves nothing.
/// Through the API, the parent's withdrawal and card order, and the
/// office's cash and adjustment.
#[tokio::test]
async fn a_client_id_names_one_request_and_any_other_with_it_is_refused() {
    let Family {
        l,
        child,
        parent,
        office,
    } = family().await;
    let other = l.enrol("Oscar").await;
    let id = Uuid::now_v7();
    let money = |path: &str, amount: &str, id: Uuid| {
        let path = path.to_string();
        let body = json!({ "amount": amount, "id": id });
        let l = &l;
        async move { l.admin(Method::POST, &path, Some(body)).await }
    };
    let deposits = format!("/api/v1/children/{child}/deposits");
    let withdrawals = format!("/api/v1/children/{child}/withdrawals");
    let first = money(&deposits, "20.00", id).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let again = money(&deposits, "20.00", id).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["entry"]["id"], first.body["entry"]["id"]);
    let order_id = Uuid::now_v7();
    let orders = format!("/api/v1/children/{child}/card-orders");
    let order = |address: &str, id: Uuid| {
        let body = json!({ "address": address, "id": id });
        let (l, orders) = (&l, orders.clone());
        async move { l.admin(Method::POST, &orders, Some(body)).await }
    };
    let ordered = order("Vej 1", order_id).await;
    assert_eq!(ordered.status, StatusCode::CREATED, "{}", ordered.text);
    assert_eq!(order("Vej 1", order_id).await.status, StatusCode::OK);
    let before = l.fingerprint().await;
    let balance = l.balance(child).await;
    let refused = [
        (
            "a withdrawal with a deposit's id",
            money(&withdrawals, "20.00", id).await,
        ),
        ("another amount", money(&deposits, "30.00", id).await),
        (
            "another child",
            money(&format!("/api/v1/children/{other}/deposits"), "20.00", id).await,
        ),
        ("an order with a deposit's id", order("Vej 1", id).await),
        ("another address", order("Vej 2", order_id).await),
        (
            "a deposit with an order's id",
            money(&deposits, "20.00", order_id).await,
        ),
    ];
    for (what, answer) in &refused {
        assert_eq!(
            answer.status,
            StatusCode::CONFLICT,
            "{what}: {}",
            answer.text
        );
        assert_eq!(answer.error_code(), "id_in_use", "{what}");
    }
    assert_eq!(l.fingerprint().await, before, "nothing moved");
    assert_eq!(l.balance(child).await, balance);

    // The parent's withdrawal form: the same form twice asks once; its id
    // with another amount is refused in words.
    let withdraw = format!("/portal/children/{child}/withdraw");
    let request = Uuid::now_v7().to_string();
    let asked = |amount: &'static str, request: String| {
        let (l, parent, withdraw) = (&l, &parent, withdraw.clone());
        async move {
            let mut fields = vec![("request", request.as_str()), ("account", "1234 12345678")];
            match amount {
                "all" => fields.push(("all", "1")),
                amount => fields.push(("amount", amount)),
            }
            post(l, parent, &withdraw, &fields).await
        }
    };
    assert_eq!(
        asked("10", request.clone()).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        asked("10", request.clone()).await.status,
        StatusCode::SEE_OTHER
    );
    let other_amount = asked("15", request.clone()).await;
    assert_eq!(
        other_amount.status,
        StatusCode::CONFLICT,
        "{}",
        other_amount.text
    );
    assert!(
        other_amount.text.contains("Formularen er allerede sendt"),
        "{}",
        other_amount.text
    );
    assert_eq!(l.balance(child).await, balance - Money::kroner(10));
    // "Withdraw all" sent twice: all once, and the second is the same
    // request (the balance is 0 by then), not a new one or a mistake.
    let all = Uuid::now_v7().to_string();
    assert_eq!(
        asked("all", all.clone()).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(l.balance(child).await, Money::ZERO);
    let all_again = asked("all", all).await;
    assert_eq!(
        all_again.status,
        StatusCode::SEE_OTHER,
        "{}",
        all_again.text
    );
    let payouts: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_requests")
        .fetch_one(&l.pool)
        .await
        .expect("payouts");
    assert_eq!(payouts, 2);

    // The parent's card order with a withdrawal's id; the office's cash
    // and adjustment with another amount.
    assert_eq!(l.deposit(child, "100.00").await.status, StatusCode::CREATED);
    let before = l.fingerprint().await;
    let card_order = post(
        &l,
        &parent,
        &format!("/portal/children/{child}/card/order"),
        &[("order", &request), ("address", "Vej 1"), ("fee", "45.00")],
    )
    .await;
    assert_eq!(
        card_order.status,
        StatusCode::CONFLICT,
        "{}",
        card_order.text
    );
    let office_child = format!("/portal/office/children/{child}");
    let cash = Uuid::now_v7().to_string();
    let cash_form = |amount: &'static str| {
        let (l, office, path, cash) = (&l, &office, format!("{office_child}/cash"), cash.clone());
        async move {
            let fields = [
                ("id", cash.as_str()),
                ("amount", amount),
                ("receipt", "K-1"),
                ("direction", "deposit"),
            ];
            post(l, office, &path, &fields).await
        }
    };
    assert_eq!(cash_form("5").await.status, StatusCode::SEE_OTHER);
    let after_cash = l.fingerprint().await;
    assert_ne!(after_cash, before);
    let other_cash = cash_form("6").await;
    assert!(
        other_cash
            .text
            .contains("Formularen er brugt til noget andet"),
        "{} {}",
        other_cash.status,
        other_cash.text
    );
    let adjust = |amount: &'static str| {
        let (l, office, path) = (&l, &office, format!("{office_child}/adjustment"));
        let cash = cash.clone();
        async move {
            let fields = [
                ("id", cash.as_str()),
                ("amount", amount),
                ("reason", "Fejl"),
            ];
            post(l, office, &path, &fields).await
        }
    };
    let adjusted = adjust("5").await;
    assert!(
        adjusted
            .text
            .contains("Formularen er brugt til noget andet"),
        "an adjustment with the cash's id: {} {}",
        adjusted.status,
        adjusted.text
    );
    assert_eq!(l.fingerprint().await, after_cash, "nothing moved");
}

/// Parents who type the address from a letter, with or without the
/// slash, land on the portal, not on the API's JSON.
#[tokio::test]
async fn the_front_page_and_portal_with_a_slash_send_to_the_portal() {
    let l = ledger().await.with_portal(Settings::default());
    for path in ["/", "/portal/"] {
        let answer = l.page(Method::GET, path, None, &[]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(answer.headers[header::LOCATION], "/portal", "{path}");
        portal_headers(&answer).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

/// The headers are on every answer of the portal: besides every page of
/// the access table (`access.rs` checks each of them), an address under
/// `/portal` that is no page and an error. The API's JSON does not get
/// them. HSTS only when the portal's address is https.
#[tokio::test]
async fn the_portals_headers_are_on_errors_too_and_hsts_comes_with_https() {
    let Family { l, parent, .. } = family().await;
    for (path, status) in [
        ("/portal/no-such-page", StatusCode::NOT_FOUND),
        ("/portal/children/not-a-child/card", StatusCode::NOT_FOUND),
        ("/portal/office", StatusCode::NOT_FOUND),
    ] {
        let answer = get(&l, &parent, path).await;
        assert_eq!(answer.status, status, "{path}");
        portal_headers(&answer).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            !answer
                .headers
                .contains_key(header::STRICT_TRANSPORT_SECURITY)
        );
    }
    let api = l.admin(Method::GET, "/api/v1/children", None).await;
    assert_eq!(api.status, StatusCode::OK);
    assert!(!api.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    let https = family_with(|p| p.public_url = "https://kasse.example.dk".into()).await;
    let answer = get(&https.l, &https.parent, "/portal").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    portal_headers(&answer).expect("the headers");
    assert_eq!(
        answer.headers[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000"
    );
}

/// `/portal/login` from one address, as `portal`'s router gets it from a
/// socket.
async fn login_from(l: &Ledger, address: [u8; 4]) -> (StatusCode, String, Option<String>) {
    login_via(l, address, None).await
}

/// [`login_from`], with the `X-Forwarded-For` a proxy (or the client) wrote.
async fn login_via(
    l: &Ledger,
    address: [u8; 4],
    forwarded: Option<&str>,
) -> (StatusCode, String, Option<String>) {
    let mut request = Request::get("/portal/login");
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let mut request = request.body(Body::empty()).expect("request");
    let from = SocketAddr::new(IpAddr::from(address), 40000);
    request.extensions_mut().insert(ConnectInfo(from));
    let response = l.app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let retry = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().expect("ascii").to_string());
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).to_string(), retry)
}

async fn pending_logins(l: &Ledger) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM portal_logins")
        .fetch_one(&l.pool)
        .await
        .expect("logins")
}

/// Starting a login (which anyone may, and which writes a row) is
/// limited per address, with a page in both languages saying to wait;
/// logins under way are capped for everyone, and those never finished
/// go after their ten minutes. Against the real OpenID provider.
#[tokio::test]
async fn starting_logins_is_limited_and_unfinished_ones_do_not_pile_up() {
    let provider = Provider::start();
    let limits = Limits {
        logins_per_minute: 3,
        pending_logins: 5,
        ..Limits::default()
    };
    let l = ledger().await.with_portal_as(Settings::default(), |p| {
        p.oidc = Oidc::new(OidcConfig {
            issuer: provider.issuer.clone(),
            client_id: "klubkasse-test".into(),
            client_secret: "test-secret".into(),
            redirect_url: "http://127.0.0.1/portal/callback".into(),
            stable_claim: None,
            cpr_claim: None,
            cpr_scope: None,
        })
        .expect("oidc");
        p.limits = limits;
    });
    let (a, b, c) = ([192, 0, 2, 1], [192, 0, 2, 2], [192, 0, 2, 3]);
    for _ in 0..3 {
        let (status, text, _) = login_from(&l, a).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{text}");
    }
    let (status, text, retry) = login_from(&l, a).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(text.contains("Vent et minut"), "{text}");
    assert!(text.contains("Wait a minute"), "{text}");
    assert_eq!(retry.as_deref(), Some("60"));
    assert_eq!(
        pending_logins(&l).await,
        3,
        "a refused start writes nothing"
    );
    // Another address has its own share, up to the cap for everyone.
    for _ in 0..2 {
        assert_eq!(login_from(&l, b).await.0, StatusCode::SEE_OTHER);
    }
    let (status, text, _) = login_from(&l, c).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "at the cap: {text}");
    assert_eq!(pending_logins(&l).await, 5);
    // Ten minutes on, the unfinished ones are gone with the next start.
    sqlx::query("UPDATE portal_logins SET created_at = created_at - interval '11 minutes'")
        .execute(&l.pool)
        .await
        .expect("age");
    assert_eq!(login_from(&l, c).await.0, StatusCode::SEE_OTHER);
    assert_eq!(pending_logins(&l).await, 1);
}

/// A parent sending questions as fast as a script can gets the limit's
/// number through and a page saying why for the rest, counted right
/// however many arrive at once; another parent is not held up by it.
#[tokio::test]
async fn a_parent_cannot_flood_the_office_with_questions() {
    let Family {
        l, child, parent, ..
    } = family_with(|p| p.limits.questions_per_hour = 3).await;
    let child = child.to_string();
    let sent = futures::future::join_all((0..20).map(|i| {
        let (l, parent, child) = (&l, &parent, child.as_str());
        async move {
            let subject = format!("Spørgsmål {i}");
            let fields = [("child", child), ("subject", &subject), ("body", "Hej")];
            post(l, parent, "/portal/support", &fields).await
        }
    }))
    .await;
    let passed = sent
        .iter()
        .filter(|a| a.status == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(passed, 3);
    for refused in sent.iter().filter(|a| a.status != StatusCode::SEE_OTHER) {
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.text.contains("Vent en time"), "{}", refused.text);
        assert!(refused.text.contains("Wait an hour"), "{}", refused.text);
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM support_requests")
        .fetch_one(&l.pool)
        .await
        .expect("rows");
    assert_eq!(rows, 3);
    let sibling = l.enrol("Oscar").await;
    let other = l.person("lars", "Lars", None, &[sibling]).await;
    let other = l.log_in(other.id).await;
    let fields = [("child", ""), ("subject", "Hej"), ("body", "Hej")];
    let answer = post(&l, &other, "/portal/support", &fields).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text);
}

/// The office's start page shows each list (withdrawals, card orders,
/// questions) 50 at a time, with a way to the rest that keeps the other
/// lists where they are: a flood of questions cannot make it megabytes.
#[tokio::test]
async fn the_office_start_page_shows_its_lists_a_page_at_a_time() {
    let Family {
        l,
        child,
        parent,
        office,
    } = family().await;
    let person = db::people::person_of(&l.pool, ISSUER, "mette")
        .await
        .expect("query")
        .expect("Mette");
    for _ in 0..55 {
        l.enrol("Barn").await; // each with its first card ordered
        db::payments::request_payout(
            &l.pool,
            &klubkasse_ledger::Settings::default(),
            &Actor::command_line(),
            Uuid::now_v7(),
            child,
            db::payments::PayoutTo {
                payee: db::payments::Payee::Person(person),
                amount: Money::kroner(1),
                bank_account: "1234 12345678",
            },
        )
        .await
        .expect("payout");
        db::portal::add_support(&l.pool, person, Some(child), "Hej", "Hej", 1000)
            .await
            .expect("question")
            .expect("within the limit");
    }
    let count = |text: &str, mark: &str| text.matches(mark).count();
    let first = get(&l, &office, "/portal/office").await;
    assert_eq!(first.status, StatusCode::OK);
    for mark in ["data-payout", "data-order", "data-support"] {
        assert_eq!(count(&first.text, mark), 50, "{mark} on the first page");
    }
    // 56 orders (Freja's first card too), 55 payouts, 55 questions.
    let second = get(&l, &office, "/portal/office?payouts=2&orders=1&questions=2").await;
    assert_eq!(count(&second.text, "data-payout"), 5);
    assert_eq!(count(&second.text, "data-order"), 50);
    assert_eq!(count(&second.text, "data-support"), 5);
    assert!(
        first
            .text
            .contains("/portal/office?payouts=2&amp;orders=1&amp;questions=1"),
        "a link to the next withdrawals"
    );
    assert!(
        second
            .text
            .contains("/portal/office?payouts=1&amp;orders=1&amp;questions=2"),
        "back to the first withdrawals, the questions kept"
    );
    let bad = get(&l, &office, "/portal/office?payouts=abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The parent's own questions, the same 50 at a time.
    let own = get(&l, &parent, "/portal/support").await;
    assert_eq!(count(&own.text, "data-support"), 50);
    assert!(own.text.contains("/portal/support?page=2"), "{}", own.text);
    let rest = get(&l, &parent, "/portal/support?page=2").await;
    assert_eq!(count(&rest.text, "data-support"), 5);
    assert!(rest.text.contains("/portal/support?page=1"));
    assert!(!rest.text.contains("/portal/support?page=3"));
}

/// Revoked tokens pile up over the years: the token page shows 50 at a
/// time, live ones first.
#[tokio::test]
async fn the_token_page_shows_its_tokens_a_page_at_a_time() {
    let l = ledger().await.with_portal(Settings::default());
    let boss = l
        .person(
            "kommunen",
            "Kommunen",
            Some(db::people::PersonRole::Municipality),
            &[],
        )
        .await;
    let boss = l.log_in(boss.id).await;
    for n in 0..53 {
        l.token(TokenRole::Kiosk, Some(&format!("disk-{n}")), &[])
            .await;
    }
    let count = |text: &str| text.matches("data-token=").count();
    let first = get(&l, &boss, "/portal/office/tokens").await;
    assert_eq!(first.status, StatusCode::OK);
    // The testkit's own admin token is one more.
    assert_eq!(count(&first.text), 50);
    let second = get(&l, &boss, "/portal/office/tokens?page=2").await;
    assert_eq!(count(&second.text), 4);
    assert!(second.text.contains("/portal/office/tokens?page=1"));
}

/// A caller whose role may not use a route gets 403 whatever the body,
/// query or path says: no 400, 404 or 422 that tells them how the
/// request would be read. For a parent's and a counter's token (and the
/// office's on the counters' routes), every API route.
#[tokio::test]
async fn the_role_is_checked_before_the_body_query_or_path() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    let parent = l.token(TokenRole::Parent, None, &[a]).await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let office = l.office_token(&[CLUB]).await;
    // The routes each may use; any other is 403 for them.
    let parents = [
        "GET /api/v1/children/{id}",
        "PATCH /api/v1/children/{id}",
        "GET /api/v1/children/{id}/entries",
        "POST /api/v1/children/{id}/deposits",
        "POST /api/v1/children/{id}/withdrawals",
        "POST /api/v1/children/{id}/card-orders",
        "POST /api/v1/cards/{uid}/block",
    ];
    let open = ["GET /healthz", "GET /openapi.json"];
    let kiosks = [
        "POST /api/v1/kiosk/entries",
        "GET /api/v1/kiosk/changes",
        "POST /api/v1/kiosk/cards",
    ];
    let mut failures = Vec::new();
    let mut asked = 0;
    for (method, route) in klubkasse_ledger::api_routes() {
        let name = format!("{method} {route}");
        if open.contains(&name.as_str()) {
            continue;
        }
        let path = route.replace("{id}", "not-an-id").replace("{uid}", "zz");
        let path = format!("{path}?date=never&month=x&since=x&limit=-1&club=&unknown=1");
        for (who, token, may) in [
            ("parent", &parent, parents.contains(&name.as_str())),
            ("kiosk", &kiosk, kiosks.contains(&name.as_str())),
            ("office", &office, !kiosks.contains(&name.as_str())),
        ] {
            if may {
                continue;
            }
            let body = Some(("application/json", b"{\"not json".to_vec()));
            let answer = l.raw(method.clone(), &path, Some(token), body).await;
            asked += 1;
            if answer.status != StatusCode::FORBIDDEN {
                failures.push(format!(
                    "{name} by {who}: {} {}",
                    answer.status, answer.text
                ));
            }
        }
    }
    assert!(asked > 20, "{asked} requests");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The language switch is on the pages for those not logged in too, and
/// works there: a cookie, and the next page in that language.
#[tokio::test]
async fn the_language_switch_works_logged_out() {
    let l = ledger().await.with_portal(Settings::default());
    let front = l.page(Method::GET, "/portal", None, &[]).await;
    assert!(
        front.text.contains("action=\"/portal/language\""),
        "{}",
        front.text
    );
    let switched = l
        .page(Method::POST, "/portal/language", None, &[("lang", "en")])
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER, "{}", switched.text);
    let cookie = switched.headers[header::SET_COOKIE]
        .to_str()
        .expect("ascii");
    assert!(cookie.starts_with("kk_lang=en"), "{cookie}");
    portal_headers(&switched).expect("headers");
    let english = l
        .page(Method::GET, "/portal", None, &[])
        .await
        .text
        .contains("Log in with MitID");
    assert!(!english, "without the cookie: Danish");
    let request = Request::get("/portal")
        .header(header::COOKIE, "kk_lang=en")
        .body(Body::empty())
        .expect("request");
    let response = l.app.clone().oneshot(request).await.expect("infallible");
    let text = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("Log in with MitID"), "{text}");
}

/// An issuer is the same broker with or without a trailing slash: a
/// person added either way is found by a login from either.
#[tokio::test]
async fn an_issuer_is_the_same_with_or_without_a_trailing_slash() {
    let l = ledger().await;
    let a = l
        .person_at("https://a.broker.dk/", "s1", "A", None, &[])
        .await;
    let b = l
        .person_at("https://b.broker.dk", "s2", "B", None, &[])
        .await;
    for (issuer, subject, person) in [
        ("https://a.broker.dk", "s1", a.id),
        ("https://a.broker.dk/", "s1", a.id),
        ("https://b.broker.dk/", "s2", b.id),
        ("https://b.broker.dk", "s2", b.id),
    ] {
        let found = db::people::person_of(&l.pool, issuer, subject)
            .await
            .expect("query");
        assert_eq!(found, Some(person), "{issuer}");
    }
    let again = l
        .person_at("https://a.broker.dk", "s1", "A", None, &[])
        .await;
    assert_eq!(again.id, a.id, "the same person, not a second");
}

/// A broker on loopback that takes connections and never answers them;
/// until `hang` is set to false it serves a discovery document and keys.
struct Broker {
    issuer: String,
    hang: Arc<AtomicBool>,
}

fn broker(hang: bool) -> Broker {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let issuer = format!("http://{}", listener.local_addr().expect("addr"));
    let hang = Arc::new(AtomicBool::new(hang));
    let (hanging, base) = (hang.clone(), issuer.clone());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            if hanging.load(Ordering::SeqCst) {
                held.push(stream);
                continue;
            }
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let body = if String::from_utf8_lossy(&request).contains("openid-configuration") {
                json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "jwks_uri": format!("{base}/jwks"),
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                })
            } else {
                json!({ "keys": [] })
            }
            .to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Broker { issuer, hang }
}

/// The login's time limit for each call to the broker, in this test.
const TIMEOUT: Duration = Duration::from_millis(1500);

fn with_broker(l: Ledger, broker: &Broker) -> Ledger {
    let issuer = broker.issuer.clone();
    l.with_portal_as(Settings::default(), |p| {
        let config = OidcConfig {
            issuer,
            client_id: "klubkasse-test".into(),
            client_secret: "test-secret".into(),
            redirect_url: "http://127.0.0.1/portal/callback".into(),
            stable_claim: None,
            cpr_claim: None,
            cpr_scope: None,
        };
        p.oidc = Oidc::with_timeout(config, TIMEOUT).expect("oidc");
    })
}

/// Four logins at once against a broker that hangs: each fails within
/// the time limit, side by side, not one after the other behind a lock;
/// with the broker's metadata kept from before, logins answer at once
/// while it hangs.
#[tokio::test]
async fn a_hanging_broker_holds_no_login_but_its_own() {
    let hanging = broker(true);
    let l = with_broker(ledger().await, &hanging);
    let started = Instant::now();
    let answers = futures::future::join_all((0..4).map(|i| {
        let l = &l;
        async move { login_from(l, [192, 0, 2, i]).await }
    }))
    .await;
    let took = started.elapsed();
    for (status, text, _) in &answers {
        assert_eq!(*status, StatusCode::BAD_GATEWAY, "{text}");
        assert!(text.contains("The login did not succeed"), "{text}");
    }
    assert!(took >= TIMEOUT, "they waited for the broker: {took:?}");
    assert!(
        took < TIMEOUT * 2,
        "four logins took {took:?}: one after another, not side by side"
    );

    // Metadata fetched once while the broker answered; then it hangs.
    let answering = broker(false);
    let l = with_broker(ledger().await, &answering);
    assert_eq!(
        login_from(&l, [192, 0, 2, 9]).await.0,
        StatusCode::SEE_OTHER
    );
    answering.hang.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let answers = futures::future::join_all((0..4).map(|i| {
        let l = &l;
        async move { login_from(l, [192, 0, 2, 10 + i]).await }
    }))
    .await;
    assert!(answers.iter().all(|(s, ..)| *s == StatusCode::SEE_OTHER));
    assert!(
        started.elapsed() < TIMEOUT / 2,
        "kept metadata answers at once: {:?}",
        started.elapsed()
    );
}

/// Behind the municipality's reverse proxy every parent arrives from the
/// proxy's address: with `--trusted-proxy` the limit counts the client the
/// proxy names, and a client's own `X-Forwarded-For` buys it nothing.
#[tokio::test]
async fn behind_a_trusted_proxy_logins_are_counted_per_parent() {
    let provider = Provider::start();
    let proxy = [10, 0, 0, 2];
    let l = ledger().await.with_portal_as(Settings::default(), |p| {
        p.oidc = Oidc::new(OidcConfig {
            issuer: provider.issuer.clone(),
            client_id: "klubkasse-test".into(),
            client_secret: "test-secret".into(),
            redirect_url: "http://127.0.0.1/portal/callback".into(),
            stable_claim: None,
            cpr_claim: None,
            cpr_scope: None,
        })
        .expect("oidc");
        p.limits = Limits {
            logins_per_minute: 2,
            ..Limits::default()
        };
        p.trusted_proxies = vec![IpAddr::from(proxy)];
    });
    for parent in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
        for _ in 0..2 {
            let (status, text, _) = login_via(&l, proxy, Some(parent)).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "{parent}: {text}");
        }
    }
    let (status, _, _) = login_via(&l, proxy, Some("192.0.2.1")).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the first parent's third"
    );
    // A forged hop before the proxy's is the client's own words.
    let (status, _, _) = login_via(&l, proxy, Some("198.51.100.9, 192.0.2.1")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Straight from a client, the header is not believed.
    let direct = [203, 0, 113, 5];
    for n in 0..2 {
        let forged = format!("198.51.100.{n}");
        assert_eq!(
            login_via(&l, direct, Some(&forged)).await.0,
            StatusCode::SEE_OTHER
        );
    }
    let (status, _, _) = login_via(&l, direct, Some("198.51.100.77")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// The real `klubkasse-ledger serve` with this issue's options: a CPR
/// secret too short is refused at start, saying which file; with a good
/// one, `--cpr-scope` is asked of the broker, `--logins-per-minute` holds,
/// and `--trusted-proxy` counts each parent the proxy names.
#[tokio::test]
async fn serve_takes_the_ways_in_and_the_limits_from_its_options() {
    let provider = Provider::start();
    let l = ledger().await;
    let dir = tempfile::tempdir().expect("a directory");
    let short = dir.path().join("short.key");
    std::fs::write(&short, b"too short").expect("a short secret");
    let good = dir.path().join("cpr.key");
    std::fs::write(&good, [7u8; 32]).expect("a secret");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let serve = |secret: &std::path::Path| {
        let mut command = std::process::Command::new(&*klubkasse_testkit::bin::LEDGER);
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", &l.url])
            .args(["--portal-url", &format!("http://127.0.0.1:{port}")])
            .args(["--oidc-issuer", &provider.issuer])
            .args(["--oidc-client-id", "klubkasse-test"])
            .args(["--oidc-client-secret", "test-secret"])
            .args(["--payment-provider", "test"])
            .args(["--oidc-stable-claim", "mitid.uuid"])
            .args(["--cpr-claim", "dk.cpr", "--cpr-scope", "ssn"])
            .args(["--cpr-secret-file".as_ref(), secret.as_os_str()])
            .args(["--logins-per-minute", "2", "--trusted-proxy", "127.0.0.1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    };
    let refused = serve(&short).output().expect("run klubkasse-ledger");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("short.key"), "{said}");
    let mut server = serve(&good).spawn().expect("start klubkasse-ledger");
    // The ledger's own TLS provider, as its clients use it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let login = |parent: &'static str| {
        http.get(format!("http://127.0.0.1:{port}/portal/login"))
            .header("x-forwarded-for", parent)
            .send()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        match login("192.0.2.1").await {
            Ok(answer) => break answer,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("the ledger did not start: {e}"),
        }
    };
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let to_broker = first.headers()[header::LOCATION].to_str().expect("ascii");
    assert!(
        to_broker.contains("ssn"),
        "the CPR scope is asked: {to_broker}"
    );
    assert_eq!(
        login("192.0.2.1").await.expect("an answer").status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        login("192.0.2.1").await.expect("an answer").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login("192.0.2.2").await.expect("an answer").status(),
        StatusCode::SEE_OTHER,
        "another parent behind the same proxy"
    );
    server.kill().expect("stop");
    server.wait().expect("stopped");
}
