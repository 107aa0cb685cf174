//! Every endpoint by every kind of caller: who may, who gets 401 or 403.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::ledger::*;
use serde_json::{Value, json};
use utoipa::OpenApi;
use uuid::Uuid;

/// Every kind of caller the ledger can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoToken,
    /// An `Authorization` header that is not `Bearer TOKEN`.
    Malformed,
    /// A well-formed token the ledger never made.
    Wrong,
    Expired,
    Revoked,
    Admin,
    /// The counter the sale in the table is from ("k1").
    Kiosk,
    OtherKiosk,
    /// A parent of child `a`, whom the table's paths name.
    Parent,
    OtherParent,
    /// An office token of `a`'s club.
    Office,
    /// An office token of another club: `a` is not found.
    OtherOffice,
}

/// Every endpoint × every kind of caller: the right status. Those allowed
/// get a 2xx; no valid token is 401 (`token_expired` for an expired one),
/// a valid token without the right is 403, an office token asking for
/// another club's child, card or order 404 (as for one that does not
/// exist), each with an ApiError body. The table must name every route the
/// router serves (`api_routes`), and those must be the ones the OpenAPI
/// description lists.
#[tokio::test]
async fn every_endpoint_by_every_role() {
    let l = ledger().await;
    l.club("Egetræet").await;
    let a = l.enrol("Freja").await;
    let b = l.enrol("Oscar").await;
    l.hand_out(a, CARD_A).await;
    l.hand_out(a, CARD_A2).await;
    l.hand_out(b, CARD_B).await;
    assert_eq!(l.deposit(a, "500.00").await.status, StatusCode::CREATED);
    let first_order = l.first_order(a).await;
    let bearer = |token: &str| Some(format!("Bearer {token}"));
    let admin = l.admin.clone();
    // (who, the whole Authorization header or none)
    let callers: Vec<(Who, Option<String>)> = vec![
        (Who::NoToken, None),
        (Who::Malformed, Some(format!("Basic {admin}"))),
        (Who::Malformed, Some(admin.clone())),
        (Who::Malformed, Some("Bearer".into())),
        (Who::Malformed, Some("Bearer    ".into())),
        (Who::Malformed, Some(format!("Bearer{admin}"))),
        (Who::Malformed, Some(format!("Bearer {admin} {admin}"))),
        (Who::Wrong, bearer(&"0".repeat(64))),
        (Who::Wrong, bearer("x")),
        (Who::Wrong, bearer(&admin.to_uppercase())),
        (Who::Expired, bearer(&l.expired_token().await)),
        (Who::Revoked, bearer(&l.revoked_token().await)),
        (Who::Admin, bearer(&admin)),
        // The scheme is case-insensitive.
        (Who::Admin, Some(format!("bearer {admin}"))),
        (
            Who::Kiosk,
            bearer(&l.token(TokenRole::Kiosk, Some("k1"), &[]).await),
        ),
        (
            Who::OtherKiosk,
            bearer(&l.token(TokenRole::Kiosk, Some("k2"), &[]).await),
        ),
        (
            Who::Parent,
            bearer(&l.token(TokenRole::Parent, None, &[a]).await),
        ),
        (
            Who::OtherParent,
            bearer(&l.token(TokenRole::Parent, None, &[b]).await),
        ),
        (Who::Office, bearer(&l.office_token(&[CLUB]).await)),
        (
            Who::OtherOffice,
            bearer(&l.office_token(&["Egetræet"]).await),
        ),
    ];
    let today = chrono::Utc::now().date_naive();
    let order_id = Uuid::now_v7();
    use Who::*;
    let everyone = vec![
        NoToken,
        Malformed,
        Wrong,
        Expired,
        Revoked,
        Admin,
        Kiosk,
        OtherKiosk,
        Parent,
        OtherParent,
        Office,
        OtherOffice,
    ];
    let child = format!("/api/v1/children/{a}");
    // (method, route, the request's path, body, who may); another
    // office's token does not find what names `a`.
    type Row<'a> = (Method, &'a str, String, Option<Value>, Vec<Who>);
    let table: Vec<Row> = vec![
        (Method::GET, "/healthz", "/healthz".into(), None, everyone),
        (
            Method::GET,
            "/metrics",
            "/metrics".into(),
            None,
            vec![Admin],
        ),
        (
            Method::GET,
            "/openapi.json",
            "/openapi.json".into(),
            None,
            vec![
                Admin,
                Kiosk,
                OtherKiosk,
                Parent,
                OtherParent,
                Office,
                OtherOffice,
            ],
        ),
        (
            Method::POST,
            "/api/v1/children",
            "/api/v1/children".into(),
            Some(json!({"name": "Ny", "club": "Kastanjen"})),
            vec![Admin, Office],
        ),
        (
            Method::GET,
            "/api/v1/children",
            "/api/v1/children?club=Kastanjen".into(),
            None,
            vec![Admin, Office, OtherOffice],
        ),
        (
            Method::GET,
            "/api/v1/children/{id}",
            child.clone(),
            None,
            vec![Admin, Parent, Office],
        ),
        (
            Method::PATCH,
            "/api/v1/children/{id}",
            child.clone(),
            Some(json!({"note": "nøddeallergi"})),
            vec![Admin, Parent, Office],
        ),
        (
            Method::GET,
            "/api/v1/children/{id}/entries",
            format!("{child}/entries"),
            None,
            vec![Admin, Parent, Office],
        ),
        (
            Method::POST,
            "/api/v1/children/{id}/deposits",
            format!("{child}/deposits"),
            Some(json!({"amount": "1.00"})),
            // A parent's money comes through a payment only.
            vec![Admin, Office],
        ),
        (
            Method::POST,
            "/api/v1/children/{id}/withdrawals",
            format!("{child}/withdrawals"),
            Some(json!({"amount": "0.50"})),
            vec![Admin, Parent, Office],
        ),
        (
            Method::POST,
            "/api/v1/children/{id}/cards",
            format!("{child}/cards"),
            Some(json!({"uid": CARD_A})),
            vec![Admin, Office],
        ),
        (
            Method::POST,
            "/api/v1/cards/{uid}/block",
            format!("/api/v1/cards/{CARD_A2}/block"),
            None,
            vec![Admin, Parent, Office],
        ),
        (
            Method::POST,
            "/api/v1/children/{id}/card-orders",
            format!("{child}/card-orders"),
            Some(json!({"address": "Vej 1, 2100 København Ø", "id": order_id})),
            vec![Admin, Parent, Office],
        ),
        (
            Method::PATCH,
            "/api/v1/card-orders/{id}",
            format!("/api/v1/card-orders/{first_order}"),
            Some(json!({"status": "handed_out", "uid": "04ACCE55"})),
            vec![Admin, Office],
        ),
        (
            Method::GET,
            "/api/v1/reports/day",
            format!("/api/v1/reports/day?date={today}"),
            None,
            vec![Admin, Office, OtherOffice],
        ),
        (
            Method::GET,
            "/api/v1/reports/month",
            format!("/api/v1/reports/month?month={}", today.format("%Y-%m")),
            None,
            vec![Admin, Office, OtherOffice],
        ),
        (
            Method::POST,
            "/api/v1/kiosk/entries",
            "/api/v1/kiosk/entries".into(),
            Some(batch(&[sale(a, CARD_A, "k1", 500, 1)])),
            vec![Kiosk],
        ),
        (
            Method::GET,
            "/api/v1/kiosk/changes",
            "/api/v1/kiosk/changes?since=0".into(),
            None,
            vec![Kiosk, OtherKiosk],
        ),
        (
            Method::POST,
            "/api/v1/kiosk/cards",
            "/api/v1/kiosk/cards".into(),
            Some(json!({"action": "block", "uid": CARD_A2})),
            vec![Kiosk, OtherKiosk],
        ),
    ];
    let documented: BTreeSet<(String, String)> = klubkasse_ledger::ApiDoc::openapi()
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| {
            [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PATCH", item.patch.is_some()),
                ("PUT", item.put.is_some()),
                ("DELETE", item.delete.is_some()),
            ]
            .into_iter()
            .filter(|(_, there)| *there)
            .map(|(method, _)| (method.to_string(), path.clone()))
        })
        .collect();
    let tested: BTreeSet<(String, String)> = table
        .iter()
        .map(|(method, template, ..)| (method.to_string(), template.to_string()))
        .collect();
    let routed: BTreeSet<(String, String)> = klubkasse_ledger::api_routes()
        .into_iter()
        .map(|(method, template)| (method.to_string(), template.to_string()))
        .collect();
    // A new route fails here until someone decides who may call it.
    assert_eq!(tested, routed, "the table and the router disagree");
    assert_eq!(routed, documented, "the router and /openapi.json disagree");
    let mut failures = Vec::new();
    for (method, _, path, body, allowed) in &table {
        for (who, authorization) in &callers {
            let body = body
                .as_ref()
                .map(|b| ("application/json", serde_json::to_vec(b).expect("json")));
            let answer = l
                .with_authorization(method.clone(), path, authorization.as_deref(), body)
                .await;
            let names_a = path.contains(&a.to_string())
                || path.contains(CARD_A2)
                || path.contains(&first_order);
            let expected = if allowed.contains(who) {
                None
            } else {
                Some(match who {
                    NoToken | Malformed | Wrong | Revoked => {
                        (StatusCode::UNAUTHORIZED, "unauthorized")
                    }
                    Expired => (StatusCode::UNAUTHORIZED, "token_expired"),
                    OtherOffice if names_a => (StatusCode::NOT_FOUND, "not_found"),
                    // Its club is not one the token may enrol in.
                    OtherOffice if *method == Method::POST && path == "/api/v1/children" => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_club")
                    }
                    _ => (StatusCode::FORBIDDEN, "forbidden"),
                })
            };
            let ok = match expected {
                None => answer.status.is_success(),
                Some((status, code)) => {
                    answer.status == status
                        && answer.body["error"] == code
                        && answer.body["message"].is_string()
                }
            };
            if !ok {
                failures.push(format!(
                    "{method} {path} as {who:?} ({authorization:?}): {} {}",
                    answer.status, answer.text
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Who visits the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visiting {
    NoSession,
    /// The parent of child `a`, whom the table's paths name.
    Parent,
    OtherParent,
    /// Office staff of `a`'s club.
    Office,
    /// Office staff of another club: `a` is not found.
    OtherOffice,
    Municipality,
}

/// Who may visit a page.
#[derive(Debug, Clone)]
enum May {
    /// Everyone, logged in or not, gets a page or a redirect.
    Anyone,
    /// Whoever asks gets the same answer: the page knows no sessions.
    Same,
    /// These visitors; no session is sent to log in.
    Only(Vec<Visiting>),
}

/// Every page and form of the portal × every kind of visitor: those
/// allowed get a page or a redirect; anyone else logged in "not found"
/// (a parent on the office's pages, another parent or another club's
/// office on `a`'s); no session the way to log in; a form with another
/// CSRF token 403. The table must name every route the router serves
/// (`portal_routes`): a new page fails here until someone decides who may
/// see it.
#[tokio::test]
async fn every_page_by_every_kind_of_visitor() {
    use Visiting::*;
    let w = super::scope::world().await;
    let l = &w.l;
    // A top-up started by a's parent: its return page and the test
    // provider's pages.
    let parent = l.log_in(w.parents[0]).await;
    let started = l
        .page(
            Method::POST,
            &format!("/portal/children/{}/top-up", w.a),
            Some(&parent),
            &[("csrf", &parent.csrf), ("amount", "50")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text);
    let (payment, reference): (Uuid, String) =
        sqlx::query_as("SELECT id, provider_ref FROM payments")
            .fetch_one(&l.pool)
            .await
            .expect("the payment");
    let people = [
        (Parent, w.parents[0]),
        (OtherParent, w.parents[1]),
        (Office, w.office_a),
        (OtherOffice, w.office_b),
        (Municipality, w.municipality),
    ];
    let a = w.a;
    let child = |tail: &str| format!("/portal/children/{a}/{tail}");
    let office_child = |tail: &str| format!("/portal/office/children/{a}{tail}");
    let own = vec![Parent, Office, Municipality];
    let offices = vec![Office, Municipality];
    let everyone = vec![Parent, OtherParent, Office, OtherOffice, Municipality];
    let request = Uuid::now_v7().to_string();
    let order = Uuid::now_v7().to_string();
    let revocable = klubkasse_ledger::auth::create_token(
        &l.pool,
        &klubkasse_ledger::db::Actor::command_line(),
        &spec("revocable", klubkasse_ledger::auth::TokenRole::Admin),
    )
    .await
    .expect("a token to revoke")
    .id;
    // A sale to a with b's card: a flag of a's club for the office to handle.
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let flagged = sale(a, CARD_B, "k1", 100, 1);
    let pushed = l
        .call(
            Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(std::slice::from_ref(&flagged))),
        )
        .await;
    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text);
    // (method, route, path, fields besides the CSRF token, who may)
    type Row<'a> = (Method, &'a str, String, Vec<(&'a str, String)>, May);
    let table: Vec<Row> = vec![
        (Method::GET, "/", "/".into(), vec![], May::Anyone),
        (
            Method::GET,
            "/portal/",
            "/portal/".into(),
            vec![],
            May::Anyone,
        ),
        (
            Method::GET,
            "/portal",
            "/portal".into(),
            vec![],
            May::Anyone,
        ),
        (
            Method::GET,
            "/portal/login",
            "/portal/login".into(),
            vec![],
            May::Same,
        ),
        (
            Method::GET,
            "/portal/callback",
            "/portal/callback".into(),
            vec![],
            May::Same,
        ),
        (
            Method::POST,
            "/portal/logout",
            "/portal/logout".into(),
            vec![],
            May::Only(everyone.clone()),
        ),
        (
            Method::POST,
            "/portal/language",
            "/portal/language".into(),
            vec![("lang", "en".into())],
            May::Only(everyone.clone()),
        ),
        // Parents type a letter's code (office staff are no payers); an
        // empty one is the form again, saying what a code looks like.
        (
            Method::GET,
            "/portal/activate",
            "/portal/activate?code=2222-3333-4444".into(),
            vec![],
            May::Only(vec![Parent, OtherParent]),
        ),
        (
            Method::POST,
            "/portal/activate",
            "/portal/activate".into(),
            vec![("code", "".into()), ("born", "".into())],
            May::Only(vec![Parent, OtherParent]),
        ),
        (
            Method::GET,
            "/portal/me",
            "/portal/me".into(),
            vec![],
            May::Only(everyone.clone()),
        ),
        (
            Method::GET,
            "/portal/children/{id}/top-up",
            child("top-up"),
            vec![],
            May::Only(own.clone()),
        ),
        (
            Method::POST,
            "/portal/children/{id}/top-up",
            child("top-up"),
            vec![("amount", "20".into())],
            May::Only(own.clone()),
        ),
        (
            Method::GET,
            "/portal/payments/{id}/return",
            format!("/portal/payments/{payment}/return"),
            vec![],
            May::Only(vec![Parent]),
        ),
        // With the test provider, the pay page sends its parent on to
        // the return page (Stripe's is tested in stripe.rs).
        (
            Method::GET,
            "/portal/payments/{id}/pay",
            format!("/portal/payments/{payment}/pay"),
            vec![],
            May::Only(vec![Parent]),
        ),
        (
            Method::GET,
            "/portal/pay.js",
            "/portal/pay.js".into(),
            vec![],
            May::Same,
        ),
        // Public: signed by the provider, no session, no CSRF token; the
        // test provider sends none, so 400 for everyone.
        (
            Method::POST,
            "/portal/payments/webhook",
            "/portal/payments/webhook".into(),
            vec![],
            May::Same,
        ),
        (
            Method::GET,
            "/portal/children/{id}/history",
            child("history"),
            vec![],
            May::Only(own.clone()),
        ),
        (
            Method::GET,
            "/portal/children/{id}/withdraw",
            child("withdraw"),
            vec![],
            May::Only(own.clone()),
        ),
        (
            Method::POST,
            "/portal/children/{id}/withdraw",
            child("withdraw"),
            vec![
                ("request", request),
                ("amount", "1".into()),
                ("account", "1234 12345678".into()),
            ],
            May::Only(own.clone()),
        ),
        (
            Method::GET,
            "/portal/children/{id}/card",
            child("card"),
            vec![],
            May::Only(own.clone()),
        ),
        (
            Method::POST,
            "/portal/children/{id}/card/block",
            child("card/block"),
            vec![("uid", CARD_A.into())],
            May::Only(own.clone()),
        ),
        (
            Method::POST,
            "/portal/children/{id}/card/order",
            child("card/order"),
            vec![
                ("order", order),
                ("address", "Vej 2".into()),
                ("fee", "45.00".into()),
            ],
            May::Only(own.clone()),
        ),
        // Automatic top-up is the payer's own card: office staff find no
        // such page. The test provider saves no cards: the page says so,
        // and its forms lead back to it (Stripe's in auto_topup.rs).
        (
            Method::GET,
            "/portal/children/{id}/auto-top-up",
            child("auto-top-up"),
            vec![],
            May::Only(vec![Parent]),
        ),
        (
            Method::POST,
            "/portal/children/{id}/auto-top-up",
            child("auto-top-up"),
            vec![
                ("threshold", "30".into()),
                ("amount", "100".into()),
                ("on", "1".into()),
            ],
            May::Only(vec![Parent]),
        ),
        (
            Method::POST,
            "/portal/children/{id}/auto-top-up/card",
            child("auto-top-up/card"),
            vec![],
            May::Only(vec![Parent]),
        ),
        (
            Method::GET,
            "/portal/children/{id}/auto-top-up/card",
            child("auto-top-up/card"),
            vec![],
            May::Only(vec![Parent]),
        ),
        (
            Method::GET,
            "/portal/children/{id}/auto-top-up/card/return",
            child("auto-top-up/card/return"),
            vec![],
            May::Only(vec![Parent]),
        ),
        (
            Method::POST,
            "/portal/children/{id}/auto-top-up/remove",
            child("auto-top-up/remove"),
            vec![],
            May::Only(vec![Parent]),
        ),
        (
            Method::GET,
            "/portal/save-card.js",
            "/portal/save-card.js".into(),
            vec![],
            May::Same,
        ),
        (
            Method::GET,
            "/portal/children/{id}/limits",
            child("limits"),
            vec![],
            May::Only(own.clone()),
        ),
        (
            Method::POST,
            "/portal/children/{id}/limits",
            child("limits"),
            vec![
                ("limit", "".into()),
                ("note", "".into()),
                ("low", "".into()),
                ("email", "".into()),
            ],
            May::Only(own.clone()),
        ),
        (
            Method::GET,
            "/portal/support",
            "/portal/support".into(),
            vec![],
            May::Only(everyone.clone()),
        ),
        (
            Method::POST,
            "/portal/support",
            "/portal/support".into(),
            vec![
                ("child", a.to_string()),
                ("subject", "S".into()),
                ("body", "B".into()),
            ],
            May::Only(own.clone()),
        ),
        (
            Method::GET,
            "/portal/office",
            "/portal/office".into(),
            vec![],
            May::Only(vec![Office, OtherOffice, Municipality]),
        ),
        (
            Method::POST,
            "/portal/office/payouts/{id}",
            format!("/portal/office/payouts/{}", w.payout[0]),
            vec![],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/payouts/{id}/reject",
            format!("/portal/office/payouts/{}/reject", w.payout[0]),
            vec![],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/orders/{id}",
            format!("/portal/office/orders/{}", w.order[0]),
            vec![("status", "sent".into())],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/support/{id}",
            format!("/portal/office/support/{}", w.support[0]),
            vec![("answer", "Svar".into())],
            May::Only(offices.clone()),
        ),
        (
            Method::GET,
            "/portal/office/children",
            "/portal/office/children?q=fre".into(),
            vec![],
            May::Only(vec![Office, OtherOffice, Municipality]),
        ),
        (
            Method::GET,
            "/portal/office/children/{id}",
            office_child(""),
            vec![],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/cards",
            office_child("/cards"),
            vec![("uid", "04C0FFEE".into())],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/cards/block",
            office_child("/cards/block"),
            vec![("uid", CARD_A.into())],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/cards/unblock",
            office_child("/cards/unblock"),
            vec![("uid", CARD_A.into())],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/card-order",
            office_child("/card-order"),
            vec![
                ("order", Uuid::now_v7().to_string()),
                ("address", "Udleveres på kontoret".into()),
                ("fee", "45.00".into()),
            ],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/limits",
            office_child("/limits"),
            vec![("limit", "30".into()), ("note", "".into())],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/name",
            office_child("/name"),
            vec![("name", "Freja".into())],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/club",
            office_child("/club"),
            vec![("club", CLUB.into())],
            May::Only(offices.clone()),
        ),
        // Another child's payer: refused on the page, nothing closed.
        (
            Method::POST,
            "/portal/office/children/{id}/leave",
            office_child("/leave"),
            vec![
                ("payout", Uuid::now_v7().to_string()),
                ("payer", Uuid::nil().to_string()),
                ("account", "1234 12345678".into()),
            ],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/cash",
            office_child("/cash"),
            vec![
                ("id", Uuid::now_v7().to_string()),
                ("amount", "5".into()),
                ("receipt", "K-1".into()),
                ("direction", "deposit".into()),
            ],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/refund",
            office_child("/refund"),
            // No such sale: the form comes back saying so.
            vec![
                ("id", Uuid::now_v7().to_string()),
                ("sale", Uuid::now_v7().to_string()),
                ("amount", "".into()),
                ("reason", "Forkert vare".into()),
            ],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/adjustment",
            office_child("/adjustment"),
            vec![
                ("id", Uuid::now_v7().to_string()),
                ("amount", "-1".into()),
                ("reason", "Kassedifference rettet".into()),
            ],
            May::Only(offices.clone()),
        ),
        (
            Method::GET,
            "/portal/office/log",
            "/portal/office/log".into(),
            vec![],
            May::Only(vec![Office, OtherOffice, Municipality]),
        ),
        (
            Method::GET,
            "/portal/office/flags",
            "/portal/office/flags".into(),
            vec![],
            May::Only(vec![Office, OtherOffice, Municipality]),
        ),
        // An empty comment: sent back to the list, nothing handled.
        (
            Method::POST,
            "/portal/office/flags/{id}/handle",
            format!("/portal/office/flags/{}/handle", flagged.id),
            vec![("comment", String::new())],
            May::Only(offices.clone()),
        ),
        (
            Method::GET,
            "/portal/office/enrol",
            "/portal/office/enrol".into(),
            vec![],
            May::Only(vec![Office, OtherOffice, Municipality]),
        ),
        // Into this club: another club's office staff find no such club.
        (
            Method::POST,
            "/portal/office/enrol",
            "/portal/office/enrol".into(),
            vec![("club", CLUB.into()), ("name", "Bo".into())],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/import",
            "/portal/office/import".into(),
            vec![("club", CLUB.into()), ("file", "navn\nBo\n".into())],
            May::Only(offices.clone()),
        ),
        (
            Method::GET,
            "/portal/office/reports",
            "/portal/office/reports".into(),
            vec![],
            May::Only(vec![Office, OtherOffice, Municipality]),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/payers",
            office_child("/payers"),
            vec![("name", "Åse".into()), ("email", "".into())],
            May::Only(offices.clone()),
        ),
        // No such payer: "not found" for everyone, the child's office too.
        (
            Method::POST,
            "/portal/office/children/{id}/payers/remove",
            office_child("/payers/remove"),
            vec![("payer", Uuid::nil().to_string())],
            May::Only(vec![]),
        ),
        // Letters: a's club (another club's office finds no such club),
        // a's payers, and a payer that is not there.
        (
            Method::POST,
            "/portal/office/letters",
            "/portal/office/letters".into(),
            vec![("club", CLUB.into()), ("lang", "da".into())],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/letters",
            office_child("/letters"),
            vec![("lang", "en".into())],
            May::Only(offices.clone()),
        ),
        (
            Method::POST,
            "/portal/office/children/{id}/letters/mail",
            office_child("/letters/mail"),
            vec![("payer", Uuid::nil().to_string())],
            May::Only(vec![]),
        ),
        // The municipality's pages: staff, clubs, tokens. The forms
        // change nothing that later rows stand on.
        (
            Method::GET,
            "/portal/office/people",
            "/portal/office/people".into(),
            vec![],
            May::Only(vec![Municipality]),
        ),
        (
            Method::POST,
            "/portal/office/people",
            "/portal/office/people".into(),
            vec![
                ("name", "Lise".into()),
                ("email", "".into()),
                ("issuer", "https://broker.test".into()),
                ("subject", "lise".into()),
                ("role", "office".into()),
                ("clubs", CLUB.into()),
            ],
            May::Only(vec![Municipality]),
        ),
        (
            Method::POST,
            "/portal/office/people/{id}/role",
            format!("/portal/office/people/{}/role", w.parents[1]),
            vec![("role", "none".into())],
            May::Only(vec![Municipality]),
        ),
        (
            Method::POST,
            "/portal/office/clubs",
            "/portal/office/clubs".into(),
            vec![("name", "Bøgen".into())],
            May::Only(vec![Municipality]),
        ),
        (
            Method::POST,
            "/portal/office/clubs/rename",
            "/portal/office/clubs/rename".into(),
            vec![("old", "Ingen".into()), ("new", "Intet".into())],
            May::Only(vec![Municipality]),
        ),
        (
            Method::GET,
            "/portal/office/tokens",
            "/portal/office/tokens".into(),
            vec![],
            May::Only(vec![Municipality]),
        ),
        (
            Method::POST,
            "/portal/office/tokens",
            "/portal/office/tokens".into(),
            vec![
                ("label", "Kasse T".into()),
                ("role", "kiosk".into()),
                ("kiosk", "kasse-t".into()),
            ],
            May::Only(vec![Municipality]),
        ),
        (
            Method::POST,
            "/portal/office/tokens/{id}/revoke",
            format!("/portal/office/tokens/{revocable}/revoke"),
            vec![],
            May::Only(vec![Municipality]),
        ),
        (
            Method::GET,
            "/portal/test-payment/{reference}",
            format!("/portal/test-payment/{reference}"),
            vec![],
            May::Same,
        ),
        (
            Method::POST,
            "/portal/test-payment/{reference}",
            format!("/portal/test-payment/{reference}"),
            vec![("decision", "cancel".into())],
            May::Same,
        ),
    ];
    let tested: BTreeSet<(String, String)> = table
        .iter()
        .map(|(method, route, ..)| (method.to_string(), route.to_string()))
        .collect();
    let routed: BTreeSet<(String, String)> = klubkasse_ledger::portal_routes()
        .into_iter()
        .map(|(method, route)| (method.to_string(), route.to_string()))
        .collect();
    assert_eq!(tested, routed, "the table and the portal's router disagree");
    let mut failures = Vec::new();
    for (method, _, path, fields, allowed) in &table {
        let mut answers = Vec::new();
        // A session of its own for each request: logging out ends one.
        let mut visitors = vec![(NoSession, None)];
        for (who, person) in &people {
            visitors.push((*who, Some(l.log_in(*person).await)));
        }
        for (who, visitor) in &visitors {
            let mut form: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            if let Some(visitor) = visitor {
                form.push(("csrf", &visitor.csrf));
            }
            let answer = l.page(method.clone(), path, visitor.as_ref(), &form).await;
            if let Err(missing) = super::hardening16::portal_headers(&answer) {
                failures.push(format!("{method} {path} by {who:?}: {missing}"));
            }
            let page_or_redirect = answer.status.is_success() || answer.status.is_redirection();
            let ok = match (allowed, who) {
                (May::Same, _) => true,
                (May::Anyone, _) => page_or_redirect,
                (May::Only(_), NoSession) => answer.status == StatusCode::SEE_OTHER,
                (May::Only(allowed), who) if allowed.contains(who) => page_or_redirect,
                (May::Only(_), _) => answer.status == StatusCode::NOT_FOUND,
            };
            if !ok {
                failures.push(format!(
                    "{method} {path} by {who:?}: {} {}",
                    answer.status, answer.text
                ));
            }
            answers.push(answer.status);
        }
        if matches!(allowed, May::Same) && answers.iter().any(|s| *s != answers[0]) {
            failures.push(format!(
                "{method} {path}: answers differ by visitor: {answers:?}"
            ));
        }
        // A form from elsewhere: a session of someone who may send it,
        // but not its token.
        if let (&Method::POST, May::Only(may)) = (method, allowed) {
            let sender = people
                .iter()
                .find(|(who, _)| may.contains(who))
                .map_or(w.municipality, |(_, person)| *person);
            let visitor = l.log_in(sender).await;
            let mut form: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            form.push(("csrf", "not-the-token"));
            let answer = l.page(method.clone(), path, Some(&visitor), &form).await;
            if answer.status != StatusCode::FORBIDDEN {
                failures.push(format!(
                    "{method} {path} with another token: {}",
                    answer.status
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
