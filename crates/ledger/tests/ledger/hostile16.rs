//! A hostile review of issue 16's ways in: what it found, each with the
//! test that holds the fix.

use std::net::{IpAddr, SocketAddr};

use axum::body::{Body, to_bytes};
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use klubkasse_core::domain::Money;
use klubkasse_ledger::Settings;
use klubkasse_ledger::portal::oidc::{Oidc, OidcConfig};
use klubkasse_ledger::portal::throttle::Limits;
use klubkasse_testkit::ledger::*;
use klubkasse_testkit::portal::Provider;
use tower::ServiceExt;
use uuid::Uuid;

use super::activation::{Office, check_code, linked, newcomer, office, payer, print, type_code};

/// The office prints one payer's letter again, by name (a letter that
/// reached the wrong person, who typed its code): the right parent types
/// the new code, and the person before is no longer that payer as if
/// removed: their withdrawal still waiting goes back on the card, and
/// their open session ends.
#[tokio::test]
async fn a_payer_handed_over_by_a_new_letter_takes_nothing_of_the_person_before() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    assert!(l.deposit(freja, "100.00").await.status.is_success());
    let mette = payer(&l, freja, "Mette", None).await;
    let first = print(&l, &office, freja).await.remove(0).1;
    let (stranger, visitor) = newcomer(&l, "stranger").await;
    assert!(linked(&type_code(&l, &visitor, &first, "").await));
    let asked = l
        .page(
            Method::POST,
            &format!("/portal/children/{freja}/withdraw"),
            Some(&visitor),
            &[
                ("csrf", &visitor.csrf),
                ("request", &Uuid::now_v7().to_string()),
                ("amount", "60"),
                ("account", "9999 88887777"),
            ],
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.text);
    assert_eq!(l.balance(freja).await, Money::kroner(40));
    // Mette's letter again, asked for by name.
    let again = l
        .page(
            Method::POST,
            &format!("/portal/office/children/{freja}/letters"),
            Some(&office),
            &[
                ("csrf", &office.csrf),
                ("lang", "da"),
                ("payer", &mette.to_string()),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    let at = again.text.find("data-code>").expect("a code") + "data-code>".len();
    let code = again.text[at..at + 14].to_string();
    let (_, right) = newcomer(&l, "mette").await;
    assert!(linked(&type_code(&l, &right, &code, "").await));
    let status: String =
        sqlx::query_scalar("SELECT status FROM payout_requests WHERE person_id = $1")
            .bind(stranger)
            .fetch_one(&l.pool)
            .await
            .expect("the stranger's request");
    assert_eq!(status, "rejected", "not paid out to the person before");
    assert_eq!(l.balance(freja).await, Money::kroner(100));
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM portal_sessions WHERE person_id = $1 AND ended_at IS NULL",
    )
    .bind(stranger)
    .fetch_one(&l.pool)
    .await
    .expect("sessions");
    assert_eq!(open, 0, "the person before's session ended");
}

/// Both payers' letters came to one home: the parent who is one payer
/// already cannot use up the other's code (which would lock the other
/// parent out until a new letter); the other parent still can.
#[tokio::test]
async fn a_payer_cannot_use_up_the_other_payers_code() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    payer(&l, freja, "Mette", None).await;
    payer(&l, freja, "Jonas", None).await;
    let letters = print(&l, &office, freja).await;
    let (_, mette) = newcomer(&l, "mette").await;
    assert!(linked(&type_code(&l, &mette, &letters[0].1, "").await));
    for answer in [
        check_code(&l, &mette, &letters[1].1, "").await,
        // A forged "yes" with no check before it.
        l.page(
            Method::POST,
            "/portal/activate",
            Some(&mette),
            &[
                ("csrf", &mette.csrf),
                ("code", &letters[1].1),
                ("confirmed", "true"),
            ],
        )
        .await,
    ] {
        assert!(!linked(&answer), "{}", answer.text);
        assert!(
            answer.text.contains("Du er allerede betaler for barnet"),
            "{}",
            answer.text
        );
    }
    let used: Option<Uuid> = sqlx::query_scalar(
        "SELECT used_by FROM activation_codes a JOIN payers p ON p.id = a.payer_id
         WHERE p.name = 'Jonas'",
    )
    .fetch_one(&l.pool)
    .await
    .expect("Jonas's code");
    assert_eq!(used, None);
    let (_, jonas) = newcomer(&l, "jonas").await;
    assert!(linked(&type_code(&l, &jonas, &letters[1].1, "").await));
}

/// A code pasted from a mail or a document, with an en dash or a
/// non-breaking hyphen, or an invisible character, links: it is not
/// counted a wrong try.
#[tokio::test]
async fn a_code_pasted_with_typographic_dashes_links() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    payer(&l, freja, "Mette", None).await;
    let code = print(&l, &office, freja).await.remove(0).1;
    let (mette, visitor) = newcomer(&l, "mette").await;
    let pasted = format!("\u{200B}{}", code.replace('-', "\u{2013}"));
    assert!(linked(&type_code(&l, &visitor, &pasted, "").await));
    let tries: i64 = sqlx::query_scalar("SELECT count(*) FROM code_tries WHERE who = $1")
        .bind(format!("person:{mette}"))
        .fetch_one(&l.pool)
        .await
        .expect("tries");
    assert_eq!(tries, 1, "the row of the try, with no failure");
    let failures: i32 = sqlx::query_scalar("SELECT failures FROM code_tries WHERE who = $1")
        .bind(format!("person:{mette}"))
        .fetch_one(&l.pool)
        .await
        .expect("tries");
    assert_eq!(failures, 0);
}

/// `/portal/login` from `from`, with the `X-Forwarded-For` given.
async fn login_from(l: &Ledger, from: IpAddr, forwarded: Option<&str>) -> StatusCode {
    let mut request = Request::get("/portal/login");
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    let mut request = request.body(Body::empty()).expect("request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(from, 40000)));
    let response = l.app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    status
}

fn portal_at(
    provider: &Provider,
    proxies: Vec<IpAddr>,
) -> impl FnOnce(&mut klubkasse_ledger::portal::Portal) {
    let issuer = provider.issuer.clone();
    move |p| {
        p.oidc = Oidc::new(OidcConfig {
            issuer,
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
        p.trusted_proxies = proxies;
    }
}

/// A ledger listening on `[::]` (dual stack) sees its IPv4 clients as
/// `::ffff:a.b.c.d`. Each is still its own address: not one /64 for all
/// IPv4 clients together, where one script's logins (or twenty wrong
/// codes) would stop every IPv4 parent.
#[tokio::test]
async fn ipv4_clients_of_a_dual_stack_listener_are_counted_apart() {
    let provider = Provider::start();
    let l = ledger()
        .await
        .with_portal_as(Settings::default(), portal_at(&provider, Vec::new()));
    let script: IpAddr = "::ffff:198.51.100.9".parse().unwrap();
    for _ in 0..2 {
        assert_eq!(login_from(&l, script, None).await, StatusCode::SEE_OTHER);
    }
    assert_eq!(
        login_from(&l, script, None).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let parent: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
    assert_eq!(
        login_from(&l, parent, None).await,
        StatusCode::SEE_OTHER,
        "another IPv4 client is not the script"
    );
}

/// The proxy named `--trusted-proxy 10.0.0.2` reaches a dual-stack
/// listener as `::ffff:10.0.0.2`, and some proxies write the client's
/// port in `X-Forwarded-For`: each parent is still counted apart, not
/// every parent as the proxy.
#[tokio::test]
async fn a_trusted_ipv4_proxy_on_a_dual_stack_listener_names_each_parent() {
    let provider = Provider::start();
    let proxy: IpAddr = "10.0.0.2".parse().unwrap();
    let l = ledger()
        .await
        .with_portal_as(Settings::default(), portal_at(&provider, vec![proxy]));
    let mapped: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
    for parent in ["192.0.2.1", "192.0.2.2:51234", "[2001:db8::7]:443"] {
        for _ in 0..2 {
            assert_eq!(
                login_from(&l, mapped, Some(parent)).await,
                StatusCode::SEE_OTHER,
                "{parent}"
            );
        }
    }
    assert_eq!(
        login_from(&l, mapped, Some("192.0.2.1:9")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the first parent's third, whatever its port"
    );
}

/// The person before, after the hand-over, types their old code again:
/// it is used, and not "linked" (they are no longer that payer).
#[tokio::test]
async fn an_old_code_of_a_payer_handed_over_says_used_not_linked() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    let mette = payer(&l, freja, "Mette", None).await;
    let first = print(&l, &office, freja).await.remove(0).1;
    let (stranger, visitor) = newcomer(&l, "stranger").await;
    assert!(linked(&type_code(&l, &visitor, &first, "").await));
    let again = l
        .page(
            Method::POST,
            &format!("/portal/office/children/{freja}/letters"),
            Some(&office),
            &[
                ("csrf", &office.csrf),
                ("lang", "da"),
                ("payer", &mette.to_string()),
            ],
        )
        .await;
    let at = again.text.find("data-code>").expect("a code") + "data-code>".len();
    let code = again.text[at..at + 14].to_string();
    let (_, right) = newcomer(&l, "mette").await;
    assert!(linked(&type_code(&l, &right, &code, "").await));
    let back = l.log_in(stranger).await;
    let answer = type_code(&l, &back, &first, "").await;
    assert!(!linked(&answer), "{:?}", answer.headers);
    assert!(
        answer.text.contains("Koden er allerede brugt"),
        "{}",
        answer.text
    );
}

/// A confirmation kept open while the office makes a newer letter: its
/// "yes" links nobody, and says why.
#[tokio::test]
async fn a_confirmation_sent_after_its_code_was_voided_links_nobody() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    payer(&l, freja, "Mette", None).await;
    let code = print(&l, &office, freja).await.remove(0).1;
    let (_, visitor) = newcomer(&l, "mette").await;
    let checked = check_code(&l, &visitor, &code, "").await;
    assert!(
        checked.text.contains("id=\"confirm-child\""),
        "{}",
        checked.text
    );
    print(&l, &office, freja).await;
    let yes = l
        .page(
            Method::POST,
            "/portal/activate",
            Some(&visitor),
            &[
                ("csrf", &visitor.csrf),
                ("code", &code),
                ("born", ""),
                ("confirmed", "true"),
            ],
        )
        .await;
    assert!(!linked(&yes));
    assert!(
        yes.text.contains("Koden gælder ikke længere"),
        "{}",
        yes.text
    );
    // And without the session's token, nothing is even looked at.
    let forged = l
        .page(
            Method::POST,
            "/portal/activate",
            Some(&visitor),
            &[("csrf", "forged"), ("code", &code), ("confirmed", "true")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

/// Office staff are "not found" on the code page whatever its form or
/// query holds: the role comes before any reading of them.
#[tokio::test]
async fn staff_are_not_found_on_the_code_page_whatever_they_send() {
    let Office { l, office, .. } = office().await;
    let posted = l
        .page(
            Method::POST,
            "/portal/activate",
            Some(&office),
            &[("csrf", &office.csrf), ("confirmed", "maybe")],
        )
        .await;
    assert_eq!(posted.status, StatusCode::NOT_FOUND, "{}", posted.text);
    let control = l
        .page(
            Method::POST,
            "/portal/activate",
            Some(&office),
            &[("csrf", &office.csrf), ("code", "\u{0}")],
        )
        .await;
    assert_eq!(control.status, StatusCode::NOT_FOUND, "{}", control.text);
    let asked = l
        .page(
            Method::GET,
            "/portal/activate?code=a&code=b",
            Some(&office),
            &[],
        )
        .await;
    assert_eq!(asked.status, StatusCode::NOT_FOUND, "{}", asked.text);
}

/// Logins of one person at once (two tabs, a double tap): one person,
/// no error, whether they are new, move to a new subject by their
/// stable MitID id, or bring their stable id for the first time while
/// a new subject with it logs in too.
#[tokio::test]
async fn logins_of_one_person_at_once_make_one_person_and_no_error() {
    use klubkasse_ledger::db::people::{self, LoginIdentity};
    let l = ledger().await;
    let at_once = async |logins: Vec<(&'static str, &'static str)>| {
        let tasks: Vec<_> = logins
            .into_iter()
            .map(|(subject, stable)| {
                let pool = l.pool.clone();
                tokio::spawn(async move {
                    let login = LoginIdentity {
                        issuer: "https://broker.test",
                        subject,
                        name: "Mette",
                        email: None,
                        stable_id: Some(stable),
                    };
                    people::person_for_login(&pool, &login).await
                })
            })
            .collect();
        let mut people = Vec::new();
        for task in tasks {
            let answer = task.await.expect("the task");
            people.push(format!("{answer:?}"));
        }
        people
    };
    let new = at_once(vec![("sub-1", "mitid-1"); 8]).await;
    assert!(
        new.iter().all(|p| p == &new[0] && p.starts_with("Ok(Ok(")),
        "{new:?}"
    );
    let moved = at_once(vec![("sub-2", "mitid-1"); 8]).await;
    assert_eq!(moved, new, "the same person, now by sub-2");
    // Known by a subject with no stable id yet, and a new subject with
    // the stable id it brings, at once.
    sqlx::query("INSERT INTO people (id, issuer, subject, role, name) VALUES ($1, 'https://broker.test', 'sub-3', 'parent', 'Jonas')")
        .bind(Uuid::now_v7())
        .execute(&l.pool)
        .await
        .expect("Jonas");
    for round in 0..10 {
        let stable: &'static str = Box::leak(format!("mitid-j{round}").into_boxed_str());
        let fresh: &'static str = Box::leak(format!("sub-j{round}").into_boxed_str());
        sqlx::query("UPDATE people SET stable_id = NULL WHERE subject = 'sub-3'")
            .execute(&l.pool)
            .await
            .expect("no stable id");
        let both = at_once(vec![("sub-3", stable), (fresh, stable)]).await;
        assert!(
            both.iter().all(|p| p.starts_with("Ok(")),
            "round {round}: {both:?}"
        );
    }
}

/// A list's page as typed by hand: 0, negative and past the end are the
/// nearest page there is; what is no page number (too big for one, a
/// word, a fraction) is a bad address in both languages. Each with the
/// portal's headers.
#[tokio::test]
async fn a_lists_page_number_typed_by_hand_is_a_page_or_a_bad_address() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    payer(&l, freja, "Mette", None).await;
    let (_, parent) = newcomer(&l, "mette").await;
    for (who, path, name) in [
        (&parent, "/portal/support", "page"),
        (&office, "/portal/office", "questions"),
        (&office, "/portal/office/children", "page"),
        (&office, "/portal/office/flags", "page"),
    ] {
        for page in ["0", "-1", "100000", "9223372036854775807"] {
            let answer = l
                .page(
                    Method::GET,
                    &format!("{path}?{name}={page}"),
                    Some(who),
                    &[],
                )
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{path}?{name}={page}");
            super::hardening16::portal_headers(&answer).expect("the headers");
        }
        for page in ["99999999999999999999", "abc", "1.5", "%00"] {
            let answer = l
                .page(
                    Method::GET,
                    &format!("{path}?{name}={page}"),
                    Some(who),
                    &[],
                )
                .await;
            assert_eq!(
                answer.status,
                StatusCode::BAD_REQUEST,
                "{path}?{name}={page}: {}",
                answer.text
            );
            assert!(
                answer.text.contains("lang=\"da\"") && answer.text.contains("lang=\"en\""),
                "{}",
                answer.text
            );
            super::hardening16::portal_headers(&answer).expect("the headers");
        }
    }
}
