//! The parents' portal in a real browser: Debian's chromium, a real
//! OpenID provider on loopback, the ledger on a real PostgreSQL, and a
//! counter with its own sled store syncing with it.
//!
//! One file, over 400 lines: its tests share one browser, provider and
//! ledger set-up (crates/testkit/src/portal.rs) and each walks a whole
//! journey of pages; cut apart, a journey would no longer read as one.

use klubkasse::store::Recorded;
use klubkasse_core::domain::{CardUid, ChildId, Connection, Money, Refusal};
use klubkasse_ledger::db;
use klubkasse_testkit::counter::Counter;
use klubkasse_testkit::portal::{Browser, PortalServer};
use sqlx::Row;

const CARD: &str = "04A1B2C3";

/// A child with a card handed out, a parent who logs in as `subject`, and
/// a counter that knows them.
async fn family_with_card(portal: &PortalServer, subject: &str) -> (ChildId, Counter) {
    let child = portal.family("Åse Ørsted", "Mette Ørsted", subject).await;
    let uid = CardUid::parse(CARD).unwrap();
    db::hand_out(&portal.ledger.pool, &db::Actor::command_line(), child, &uid)
        .await
        .unwrap();
    let counter = Counter::new(&portal.ledger, &portal.url, "solsikken-1").await;
    counter.sync().await.unwrap();
    (child, counter)
}

fn refused(recorded: Recorded) -> Refusal {
    match recorded {
        Recorded::Refused(refusal) => refusal,
        other => panic!("the counter sold: {other:?}"),
    }
}

async fn top_up(browser: &Browser, kroner: &str) {
    browser.click_text("Sæt penge ind").await;
    browser.fill("#amount", kroner).await;
    browser.click_text("Gå til betaling").await;
    browser.wait_for_text("Testbetaling").await;
    browser.click_text("Betal").await;
    browser.wait_for_text("Betalingen er modtaget").await;
}

/// Every step of the letter parents get, in order, with the counter in
/// the loop where the portal's change must reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_uses_every_page_and_the_counter_follows() {
    let portal = PortalServer::start().await;
    let (child, counter) = family_with_card(&portal, "mette").await;
    let browser = Browser::start().await;
    let pool = &portal.ledger.pool;

    // Log in, top up 100 kr, see the balance; the counter's pull shows it.
    browser.log_in(&portal, "mette").await;
    browser.wait_for_text("Åse Ørsted").await;
    browser.wait_for_text("0,00 kr.").await;
    browser.screenshot("login-overview-empty").await;
    top_up(&browser, "100").await;
    browser.wait_for_text("100,00 kr.").await;
    browser.screenshot("overview").await;
    counter.sync().await.unwrap();
    assert_eq!(counter.store.balance(child).unwrap(), Money::kroner(100));

    // Buy at the counter; the items show in the history.
    let (_, recorded) = counter.sell(CARD, 1200, Connection::Online);
    assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    counter.sync().await.unwrap();
    browser.click_text("Historik").await;
    browser.wait_for_text("1 × Toast").await;
    browser.wait_for_text("-12,00 kr.").await;
    browser.wait_for_text("Indbetaling").await;
    browser.screenshot("history").await;
    let csv = browser
        .fetch_text(&format!("/portal/children/{child}/history?format=csv"))
        .await;
    // A text read drops the BOM; the report's test sees the bytes.
    assert!(
        csv.starts_with("Tid;Hvad;Varer;Bemærkning;Beløb;Saldo\r\n")
            && csv.contains(";Køb;1 × Toast;;-12,00;88,00\r\n")
            && csv.contains(";Indbetaling;;;100,00;100,00\r\n"),
        "{csv}"
    );
    browser.goto(&format!("{}/portal", portal.url)).await;

    // Withdraw 50 kr; more than the balance is refused in plain words.
    browser.click_text("Udbetal").await;
    browser.fill("#amount", "50").await;
    browser.fill("#account", "1234 12345678").await;
    browser.click_text("Udbetal").await;
    browser.wait_for_text("Pengene er trukket fra kortet").await;
    browser.wait_for_text("38,00 kr.").await;
    browser.click_text("Udbetal").await;
    browser.fill("#amount", "500").await;
    browser.fill("#account", "1234 12345678").await;
    browser.click_text("Udbetal").await;
    browser
        .wait_for_text("Du kan ikke udbetale 500,00 kr. — der står kun 38,00 kr.")
        .await;
    browser.wait_for_text("venter på kontoret").await;
    browser.screenshot("withdraw-refused").await;
    assert_eq!(
        db::detail(pool, child).await.unwrap().balance,
        Money::kroner(38)
    );

    // A daily limit: the counter enforces it after its next pull (12 kr
    // spent today, 20 kr a day: a 10 kr sale is too much).
    browser.goto(&format!("{}/portal", portal.url)).await;
    browser.click_text("Grænser").await;
    browser.fill("#limit", "20").await;
    browser.fill("#note", "Allergisk over nødder").await;
    browser.tick("input[name=blocked][value=slik]").await;
    browser.click_text("Gem").await;
    browser.wait_for_text("Gemt.").await;
    browser.screenshot("limits").await;
    counter.sync().await.unwrap();
    let (_, recorded) = counter.sell(CARD, 1000, Connection::Online);
    assert!(
        matches!(refused(recorded), Refusal::DailyLimitReached { .. }),
        "the daily limit was not enforced"
    );
    let at_counter = counter.store.child(child).unwrap().unwrap();
    assert_eq!(at_counter.note.as_deref(), Some("Allergisk over nødder"));
    assert_eq!(at_counter.blocked_categories, vec!["slik".to_string()]);

    // A lost card: block it; the counter refuses it after its next pull.
    browser.goto(&format!("{}/portal", portal.url)).await;
    browser.click_text("Kort").await;
    browser.click_text(&format!("Spær kort {CARD}")).await;
    browser.wait_for_text("Der er intet aktivt kort").await;
    counter.sync().await.unwrap();
    let (_, recorded) = counter.sell(CARD, 500, Connection::Online);
    assert!(
        matches!(refused(recorded), Refusal::CardBlocked { .. }),
        "the blocked card was sold to"
    );

    // Order a replacement: 45 kr, shown before; too little money first.
    browser.wait_for_text("Pris: 45,00 kr.").await;
    browser.fill("#address", "Nørregade 1\n8000 Aarhus C").await;
    browser.click_text("Bestil for 45,00 kr.").await;
    browser
        .wait_for_text("Der er ikke penge nok på kortet")
        .await;
    browser.goto(&format!("{}/portal", portal.url)).await;
    top_up(&browser, "100").await;
    browser.click_text("Kort").await;
    browser.fill("#address", "Nørregade 1\n8000 Aarhus C").await;
    browser.click_text("Bestil for 45,00 kr.").await;
    browser.wait_for_text("bestilt").await;
    browser.wait_for_text("forventet").await;
    browser.screenshot("card").await;
    let fees: Vec<Money> =
        sqlx::query("SELECT amount FROM entries WHERE child_id = $1 AND kind = 'card_fee'")
            .bind(child.0)
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                Money::parse(&r.get::<rust_decimal::Decimal, _>("amount").to_string()).unwrap()
            })
            .collect();
    assert_eq!(
        fees,
        vec![-Money::kroner(45)],
        "one fee, for the replacement"
    );
    let free_first: rust_decimal::Decimal = sqlx::query_scalar(
        "SELECT fee FROM card_orders WHERE child_id = $1 ORDER BY created_at LIMIT 1",
    )
    .bind(child.0)
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(free_first.is_zero(), "the first card is free");

    // Ask the office; the office sees it, answers, the parent reads it.
    browser.goto(&format!("{}/portal", portal.url)).await;
    browser.click_text("Spørg kontoret om hjælp").await;
    browser.fill("#subject", "Hvornår kommer kortet?").await;
    browser
        .fill("#body", "Vi bestilte et nyt kort i dag.")
        .await;
    browser.click_text("Send").await;
    browser.wait_for_text("Venter på svar.").await;
    browser.click_text("Log ud").await;
    browser.wait_for_text("Log ind med MitID").await;

    portal.office("kontoret").await;
    browser.log_in(&portal, "kontoret").await;
    browser.wait_for_text("Hvornår kommer kortet?").await;
    browser.wait_for_text("1234 12345678").await;
    browser.screenshot("office").await;
    browser
        .fill("textarea[name=answer]", "Det sendes i morgen.")
        .await;
    browser.click_text("Send svar").await;
    browser.click_text("Markér som udbetalt").await;
    browser.click_text("Markér sendt").await;
    browser.wait_for_text("Det sendes i morgen.").await;
    browser.click_text("Log ud").await;

    browser.log_in(&portal, "mette").await;
    browser.click_text("Spørg kontoret om hjælp").await;
    browser.wait_for_text("Svar: Det sendes i morgen.").await;
    browser.screenshot("support").await;

    let payout: String = sqlx::query_scalar("SELECT status FROM payout_requests")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(payout, "paid", "the office marked the withdrawal paid out");
    let order: String = sqlx::query_scalar(
        "SELECT status FROM card_orders WHERE child_id = $1 AND address IS NOT NULL",
    )
    .bind(child.0)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(order, "sent");

    // The books agree: the ledger's balance is the sum of its entries.
    assert_eq!(
        db::detail(pool, child).await.unwrap().balance,
        db::sum_of_entries(pool, child).await.unwrap()
    );
}

/// A parent cannot see or change another parent's child: not by editing
/// the address, not with a form made elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_cannot_reach_another_parents_child() {
    let portal = PortalServer::start().await;
    let mine = portal.family("Åse Ørsted", "Mette Ørsted", "mette").await;
    let theirs = portal.family("Bo Jensen", "Lars Jensen", "lars").await;
    portal.deposit(theirs, 200).await;
    let browser = Browser::start().await;
    browser.log_in(&portal, "mette").await;
    browser.wait_for_text("Åse Ørsted").await;
    assert!(!browser.text().await.contains("Bo Jensen"));

    for page in ["history", "top-up", "withdraw", "card", "limits"] {
        browser
            .goto(&format!("{}/portal/children/{theirs}/{page}", portal.url))
            .await;
        browser.wait_for_text("Siden findes ikke.").await;
        assert!(
            !browser.text().await.contains("Bo Jensen"),
            "{page} showed the other child"
        );
    }

    // The office's pages are not a parent's.
    for page in ["office", "office/reports", "office/reports?csv=items"] {
        browser.goto(&format!("{}/portal/{page}", portal.url)).await;
        browser.wait_for_text("Siden findes ikke.").await;
    }

    // A form with my own valid token but their child: still not found.
    browser.goto(&format!("{}/portal", portal.url)).await;
    browser
        .submit_form(
            &format!("/portal/children/{theirs}/withdraw"),
            &[("amount", "200"), ("account", "6666 66666666")],
        )
        .await;
    browser.wait_for_text("Siden findes ikke.").await;

    // A form made on another site, without the token: refused.
    let attacker = klubkasse_testkit::portal::serve_page(format!(
        "<form id=f method=post action='{}/portal/children/{mine}/withdraw'>\
         <input name=csrf value='guessed'><input name=amount value=1>\
         <input name=account value='6666 66666666'></form>\
         <script>document.getElementById('f').submit()</script>",
        portal.url
    ))
    .await;
    browser.goto(&attacker).await;
    browser
        .wait_for_text("Formularen kom ikke fra portalen")
        .await;
    browser.screenshot("csrf-refused").await;

    assert_eq!(
        db::detail(&portal.ledger.pool, theirs)
            .await
            .unwrap()
            .balance,
        Money::kroner(200),
        "their money is untouched"
    );
    let payouts: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_requests")
        .fetch_one(&portal.ledger.pool)
        .await
        .unwrap();
    assert_eq!(payouts, 0);
}

/// The English pages, and the low-balance e-mail when a sale at the
/// counter takes the balance under the parent's threshold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_pages_and_a_low_balance_mail_after_a_counter_sale() {
    let portal = PortalServer::start().await;
    let (child, counter) = family_with_card(&portal, "mette").await;
    let browser = Browser::start().await;
    browser.log_in(&portal, "mette").await;
    browser.click_text("English").await;
    browser.wait_for_text("My children").await;
    portal.deposit(child, 50).await;
    browser.click_text("Limits").await;
    browser.fill("#low", "30").await;
    browser.fill("#email", "mette@example.dk").await;
    browser.click_text("Save").await;
    browser.wait_for_text("Saved.").await;
    assert!(portal.outbox.sent().is_empty(), "50 kr. is not low");

    counter.sync().await.unwrap();
    let (_, recorded) = counter.sell(CARD, 2500, Connection::Online);
    assert!(matches!(recorded, Recorded::Saved { .. }), "{recorded:?}");
    counter.sync().await.unwrap();
    let mail = wait_for_mail(&portal).await;
    assert_eq!(mail.to, "mette@example.dk");
    assert!(mail.body.contains("25,00 kr."), "{}", mail.body);
    // Once per fall below, not once per sale.
    let (_, recorded) = counter.sell(CARD, 100, Connection::Online);
    assert!(matches!(recorded, Recorded::Saved { .. }));
    counter.sync().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(portal.outbox.sent().len(), 1);
}

/// The mail goes after the counter's push is answered: wait for it.
async fn wait_for_mail(portal: &PortalServer) -> klubkasse_ledger::portal::mail::Mail {
    for _ in 0..100 {
        if let Some(mail) = portal.outbox.sent().into_iter().next() {
            return mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no low-balance mail was sent");
}

/// The login asks for PKCE (S256) and a nonce; a callback that is not the
/// browser's own login is refused; a session ends when idle too long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_uses_pkce_checks_the_state_and_sessions_expire() {
    let portal = PortalServer::start().await;
    portal.family("Åse Ørsted", "Mette Ørsted", "mette").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = http
        .get(format!("{}/portal/login", portal.url))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 303);
    let to = started.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with(&portal.provider.issuer), "{to}");
    for wanted in [
        "code_challenge=",
        "code_challenge_method=S256",
        "nonce=",
        "state=",
    ] {
        assert!(to.contains(wanted), "{wanted} missing in {to}");
    }
    let cookie = started.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    for flag in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/portal"] {
        assert!(cookie.contains(flag), "{flag} missing in {cookie}");
    }

    // A callback with a state this browser did not start: refused.
    let forged = http
        .get(format!(
            "{}/portal/callback?code=whatever&state=not-mine",
            portal.url
        ))
        .header("cookie", "kk_login=someone-elses")
        .send()
        .await
        .unwrap();
    let text = forged.text().await.unwrap();
    assert!(text.contains("Login blev ikke gennemført"), "{text}");

    // A real login, then an idle session: the portal asks to log in again.
    let browser = Browser::start().await;
    browser.log_in(&portal, "mette").await;
    browser.wait_for_text("Åse Ørsted").await;
    sqlx::query("UPDATE portal_sessions SET last_seen = now() - interval '31 minutes'")
        .execute(&portal.ledger.pool)
        .await
        .unwrap();
    browser.goto(&format!("{}/portal", portal.url)).await;
    browser.wait_for_text("Log ind med MitID").await;
    assert!(!browser.text().await.contains("Åse Ørsted"));

    // Someone the office has not added: a session with no child, which
    // only asks for an activation letter's code; no child's page opens.
    browser.log_in(&portal, "stranger").await;
    browser.wait_for_text("Skriv koden fra brevet").await;
    let children: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM parent_children pc JOIN people p ON p.id = pc.person_id
         WHERE p.subject = 'stranger'",
    )
    .fetch_one(&portal.ledger.pool)
    .await
    .unwrap();
    assert_eq!(children, 0);
    browser.goto(&format!("{}/portal", portal.url)).await;
    browser.wait_for_text("Skriv koden fra brevet").await;
    assert!(!browser.text().await.contains("Åse Ørsted"));
}

/// Paid, but the tab was closed before the provider sent it back: the
/// next visit to the overview asks the provider and the money arrives,
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_whose_browser_never_came_back_still_reaches_the_card() {
    let portal = PortalServer::start().await;
    let child = portal.family("Åse Ørsted", "Mette Ørsted", "mette").await;
    let browser = Browser::start().await;
    browser.log_in(&portal, "mette").await;
    // Cancelled at the provider: nothing taken, nothing deposited.
    browser.click_text("Sæt penge ind").await;
    browser.fill("#amount", "75").await;
    browser.click_text("Gå til betaling").await;
    browser.click_text("Afbryd").await;
    browser
        .wait_for_text("Betalingen blev ikke gennemført")
        .await;
    browser.wait_for_text("0,00 kr.").await;

    browser.click_text("Sæt penge ind").await;
    browser.fill("#amount", "75").await;
    browser.click_text("Gå til betaling").await;
    browser.wait_for_text("Testbetaling").await;
    // The parent pays, and the answer never reaches the browser.
    let pay_page = browser.url().await;
    let paid = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(&pay_page)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("decision=pay")
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    assert_eq!(
        db::detail(&portal.ledger.pool, child)
            .await
            .unwrap()
            .balance,
        Money::ZERO
    );
    for _ in 0..2 {
        browser.goto(&format!("{}/portal", portal.url)).await;
        browser.wait_for_text("75,00 kr.").await;
    }
    assert_eq!(
        db::detail(&portal.ledger.pool, child)
            .await
            .unwrap()
            .balance,
        Money::kroner(75),
        "one deposit, however often the overview is seen"
    );

    // And all of it back to the bank.
    browser.click_text("Udbetal").await;
    browser.fill("#account", "1234 12345678").await;
    browser.click_text("Udbetal alt").await;
    browser.wait_for_text("Pengene er trukket fra kortet").await;
    let requested: rust_decimal::Decimal = sqlx::query_scalar("SELECT amount FROM payout_requests")
        .fetch_one(&portal.ledger.pool)
        .await
        .unwrap();
    assert_eq!(requested.to_string(), "75.00");
    assert_eq!(
        db::detail(&portal.ledger.pool, child)
            .await
            .unwrap()
            .balance,
        Money::ZERO
    );
}

/// Money taken from a parent always reaches the card: a deposit that came
/// in while the parent was paying may take the balance over the cap, and
/// the paid top-up still lands. A form sent twice acts once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_top_up_is_never_lost_and_a_form_sent_twice_acts_once() {
    let portal = PortalServer::start().await;
    let child = portal.family("Åse Ørsted", "Mette Ørsted", "mette").await;
    let pool = &portal.ledger.pool;
    portal.deposit(child, 950).await;
    let browser = Browser::start().await;
    browser.log_in(&portal, "mette").await;
    browser.click_text("Sæt penge ind").await;
    browser.fill("#amount", "40").await;
    browser.click_text("Gå til betaling").await;
    browser.wait_for_text("Testbetaling").await;
    // Meanwhile the office puts 40 kr in: the cap (1.000 kr) is reached.
    portal.deposit(child, 40).await;
    browser.click_text("Betal").await;
    browser.wait_for_text("Betalingen er modtaget").await;
    browser.wait_for_text("1.030,00 kr.").await;

    // The same withdrawal form, sent twice: one request, once off the card.
    let request = uuid::Uuid::now_v7().to_string();
    let withdrawal = [
        ("request", request.as_str()),
        ("amount", "30"),
        ("account", "1234 12345678"),
    ];
    let path = format!("/portal/children/{child}/withdraw");
    send_twice(
        &browser,
        &portal,
        &path,
        &withdrawal,
        "Pengene er trukket fra kortet",
    )
    .await;
    assert_eq!(
        db::detail(pool, child).await.unwrap().balance,
        Money::kroner(1000)
    );
    let payouts: i64 = sqlx::query_scalar("SELECT count(*) FROM payout_requests")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(payouts, 1);

    // The same card order, sent twice: one order, one fee.
    let order = uuid::Uuid::now_v7().to_string();
    let ordering = [
        ("order", order.as_str()),
        ("address", "Nørregade 1"),
        ("fee", "45.00"),
    ];
    let path = format!("/portal/children/{child}/card/order");
    send_twice(&browser, &portal, &path, &ordering, "Bestillinger").await;
    let fees: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM entries WHERE child_id = $1 AND kind = 'card_fee'",
    )
    .bind(child.0)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(fees, 1);

    // A fee the parent was not shown is not charged.
    browser
        .submit_form(
            &format!("/portal/children/{child}/card/order"),
            &[
                ("order", &uuid::Uuid::now_v7().to_string()),
                ("address", "Nørregade 1"),
                ("fee", "0.00"),
            ],
        )
        .await;
    browser.wait_for_text("Prisen er ændret").await;
    assert_eq!(
        db::detail(pool, child).await.unwrap().balance,
        Money::kroner(955)
    );

    // The office cannot pay the withdrawal out: rejected, the money is back.
    portal.office("kontoret").await;
    browser.goto(&format!("{}/portal", portal.url)).await;
    browser.click_text("Log ud").await;
    browser.log_in(&portal, "kontoret").await;
    browser.click_text("Afvis og sæt pengene tilbage").await;
    browser.wait_for_text("Udbetalinger der venter").await;
    let status: String = sqlx::query_scalar("SELECT status FROM payout_requests")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(status, "rejected");
    assert_eq!(
        db::detail(pool, child).await.unwrap().balance,
        Money::kroner(985)
    );
    assert_eq!(
        db::detail(pool, child).await.unwrap().balance,
        db::sum_of_entries(pool, child).await.unwrap()
    );
}

/// Sends the same form twice, as a double click does, each time waiting
/// for the page that says it was done.
async fn send_twice(
    browser: &Browser,
    portal: &PortalServer,
    path: &str,
    fields: &[(&str, &str)],
    done: &str,
) {
    for _ in 0..2 {
        browser.submit_form(path, fields).await;
        browser.wait_for_text(done).await;
        browser.goto(&format!("{}/portal", portal.url)).await;
    }
}

/// The test provider takes no money: `serve` will not offer it anywhere
/// but on this machine, and will not start a portal without a provider.
#[test]
fn serve_refuses_the_test_provider_off_loopback_and_a_portal_without_a_provider() {
    let serve = |args: &[&str]| {
        let out = std::process::Command::new(&*klubkasse_testkit::bin::LEDGER)
            .args([
                "serve",
                "--database-url",
                "postgres://nobody@127.0.0.1:1/none",
            ])
            .args(["--oidc-issuer", "https://broker.example.dk"])
            .args(["--oidc-client-id", "klubkasse", "--oidc-client-secret", "s"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let public = serve(&[
        "--portal-url",
        "https://kasse.example.dk",
        "--payment-provider",
        "test",
    ]);
    assert!(
        public.contains("only for a portal on a loopback address"),
        "{public}"
    );
    let none = serve(&["--portal-url", "http://127.0.0.1:8080"]);
    assert!(none.contains("needs --payment-provider"), "{none}");
    let plain = serve(&[
        "--portal-url",
        "http://kasse.example.dk",
        "--payment-provider",
        "test",
    ]);
    assert!(plain.contains("needs HTTPS"), "{plain}");
}
