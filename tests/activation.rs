//! Parents get in by themselves (issue 16), in a real browser (chromium,
//! the real OpenID provider with custom claims, PostgreSQL): the office
//! prints a child's letters; each payer logs in with MitID for the first
//! time, types the code read from the print view and sees the child, and
//! never the other payer's account or requests; a login from the
//! letter's QR address comes back to its code; a broker that sends
//! another `sub` with the same MitID id finds the same person; a payer
//! the office removes is out at the next click; with CPR match on, a
//! custody holder is linked to every child of theirs with no code.

use fantoccini::Locator;
use klubkasse_core::domain::ChildId;
use klubkasse_ledger::cpr::CprKey;
use klubkasse_ledger::db::activation::{self, LetterFor, Sent};
use klubkasse_ledger::db::payers::NewPayer;
use klubkasse_ledger::db::{self, Actor, Scope};
use klubkasse_ledger::import;
use klubkasse_ledger::portal::code::ActivationCode;
use klubkasse_testkit::portal::{Browser, CLUB, CPR_CLAIM, PortalServer, STABLE_CLAIM};
use serde_json::json;

async fn child_with_payers(portal: &PortalServer, name: &str, payers: &[&str]) -> ChildId {
    let pool = &portal.ledger.pool;
    let actor = Actor::command_line();
    let child = db::enrol(pool, &actor, &Scope::All, name, CLUB)
        .await
        .expect("enrol")
        .child
        .id;
    for payer in payers {
        let payer = NewPayer {
            name: payer.to_string(),
            email: Some(format!("{}@example.dk", payer.to_lowercase())),
            custody: None,
        };
        db::payers::add_one(pool, &actor, child, &payer)
            .await
            .expect("a payer");
    }
    child
}

/// The provider sends these claims for `sub` from its next login on.
async fn claims(portal: &PortalServer, sub: &str, claims: serde_json::Value) {
    let answer = reqwest::Client::new()
        .put(format!("{}/users/{sub}", portal.provider.issuer))
        .json(&claims)
        .send()
        .await
        .expect("the provider");
    assert!(answer.status().is_success(), "{}", answer.status());
}

async fn log_out(browser: &Browser) {
    browser.click_text("Log ud").await;
    browser.wait_for_text("Log ind med MitID").await;
}

/// The code was right: the page says whose child it is for; yes.
async fn confirm_child(browser: &Browser, child: &str) {
    browser
        .wait_for_text(&format!("Koden gør dig til betaler for {child}"))
        .await;
    browser.click_text("Ja, knyt mig til barnet").await;
}

/// The first login of someone the ledger does not know, who types `code`.
async fn activate(browser: &Browser, portal: &PortalServer, subject: &str, code: &str) {
    browser.log_in(portal, subject).await;
    browser.wait_for_text("Skriv koden fra brevet").await;
    browser.fill("#code", code).await;
    browser.click_text("Tjek koden").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_payer_types_the_code_from_their_printed_letter_and_sees_only_their_own() {
    let portal = PortalServer::start().await;
    let freja = child_with_payers(&portal, "Freja Ørsted", &["Mette", "Jonas"]).await;
    portal.deposit(freja, 200).await;
    portal.office("kontoret").await;
    let browser = Browser::start().await;

    // The office prints the child's letters and reads the codes off them.
    browser.log_in(&portal, "kontoret").await;
    browser
        .goto(&format!("{}/portal/office/children/{freja}", portal.url))
        .await;
    browser.click_text("Udskriv brev til alle betalere").await;
    browser.wait_for_text("Klubkort til Freja Ørsted").await;
    let page = browser.text().await;
    for said in [
        "Kære Mette",
        "Kære Jonas",
        "Det første kort er gratis",
        "45,00 kr.",
        "ca. 14 dage",
    ] {
        assert!(page.contains(said), "{said} not in the letter:\n{page}");
    }
    let mut codes = Vec::new();
    for element in browser
        .client
        .find_all(Locator::Css("[data-code]"))
        .await
        .expect("the codes")
    {
        codes.push(element.text().await.expect("a code"));
    }
    assert_eq!(codes.len(), 2, "{codes:?}");
    let qr_codes = browser
        .client
        .find_all(Locator::Css(".qr svg"))
        .await
        .expect("the QR codes");
    assert_eq!(qr_codes.len(), 2);
    // As wide as the A4 page, for the picture; then a phone again.
    browser
        .client
        .set_window_size(900, 1350)
        .await
        .expect("resize");
    browser.screenshot("activation-letter").await;
    browser
        .client
        .set_window_size(430, 900)
        .await
        .expect("resize");
    browser.goto(&format!("{}/portal/office", portal.url)).await;
    log_out(&browser).await;

    // Mette: a first login, her code, her child.
    claims(&portal, "mette-mitid", json!({ "name": "Mette Ørsted" })).await;
    claims(&portal, "jonas-mitid", json!({ "name": "Jonas Holm" })).await;
    browser.log_in(&portal, "mette-mitid").await;
    browser.wait_for_text("Skriv koden fra brevet").await;
    browser.fill("#code", &codes[0]).await;
    browser.screenshot("activation-code").await;
    browser.click_text("Tjek koden").await;
    browser
        .wait_for_text("Koden gør dig til betaler for Freja Ørsted")
        .await;
    browser.screenshot("activation-confirm").await;
    browser.click_text("Ja, knyt mig til barnet").await;
    browser.wait_for_text("Koden passede").await;
    browser.wait_for_text("200,00 kr.").await;
    browser
        .goto(&format!("{}/portal/children/{freja}/withdraw", portal.url))
        .await;
    browser.fill("#amount", "10").await;
    browser.fill("#account", "1111 22223333").await;
    browser.click_text("Udbetal").await;
    browser.wait_for_text("190,00 kr.").await;
    browser
        .goto(&format!("{}/portal/support", portal.url))
        .await;
    browser.fill("#subject", "Mettes spørgsmål").await;
    browser.fill("#body", "Kun til kontoret").await;
    browser.click_text("Send").await;
    browser.wait_for_text("Sendt").await;
    log_out(&browser).await;

    // Jonas: Mette's code is used; his own works; he sees the child,
    // and not Mette's account, e-mail or question.
    activate(&browser, &portal, "jonas-mitid", &codes[0]).await;
    browser.wait_for_text("Koden er allerede brugt").await;
    browser.fill("#code", &codes[1]).await;
    browser.click_text("Tjek koden").await;
    confirm_child(&browser, "Freja Ørsted").await;
    browser.wait_for_text("190,00 kr.").await;
    browser.screenshot("activation-second-payer").await;
    let mut seen = browser.text().await;
    for path in [
        format!("/portal/children/{freja}/history"),
        format!("/portal/children/{freja}/withdraw"),
        "/portal/support".into(),
        "/portal/me".into(),
    ] {
        browser.goto(&format!("{}{path}", portal.url)).await;
        browser.wait_for_text("Log ud").await;
        seen.push_str(&browser.text().await);
    }
    assert!(seen.contains("jonas@example.dk"), "{seen}");
    for theirs in ["22223333", "Mettes spørgsmål", "mette@example.dk"] {
        assert!(!seen.contains(theirs), "Jonas sees {theirs}:\n{seen}");
    }

    // The office removes Jonas (custody changed): his open session is
    // refused at his next click.
    let pool = &portal.ledger.pool;
    let jonas = db::payers::for_child(pool, freja)
        .await
        .expect("payers")
        .into_iter()
        .find(|p| p.name == "Jonas")
        .expect("Jonas");
    db::payers::remove(pool, &Actor::command_line(), freja, jonas.id)
        .await
        .expect("removed");
    browser
        .goto(&format!("{}/portal/children/{freja}/history", portal.url))
        .await;
    browser.wait_for_text("Log ind med MitID").await;
    assert!(!browser.text().await.contains("190,00"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_letters_qr_address_comes_back_after_the_login_and_a_new_sub_is_the_same_person() {
    let portal = PortalServer::start().await;
    let pool = &portal.ledger.pool;
    let aske = child_with_payers(&portal, "Aske", &["Mette"]).await;
    portal.deposit(aske, 75).await;
    let payers = activation::letter_payers(pool, &Scope::All, &LetterFor::Child(aske))
        .await
        .expect("the payer");
    let code = ActivationCode::new();
    activation::issue_codes(
        pool,
        &Actor::command_line(),
        &[(&payers[0], code.hash())],
        chrono::TimeDelta::days(60),
        Sent::Printed,
    )
    .await
    .expect("a code");
    claims(
        &portal,
        "broker-a-sub",
        json!({ STABLE_CLAIM: "mitid-person-7", "name": "Mette Ørsted" }),
    )
    .await;

    // The QR code's address, opened logged out: the login, then the code
    // filled in, checked at one press, and whose child it is for.
    let browser = Browser::start().await;
    browser
        .goto(&format!(
            "{}/portal/activate?code={}",
            portal.url,
            code.grouped()
        ))
        .await;
    browser.fill("input[name=sub]", "broker-a-sub").await;
    browser.click_text("Authorize").await;
    browser.wait_for_text("Skriv koden fra brevet").await;
    let filled = browser
        .client
        .find(Locator::Css("#code"))
        .await
        .expect("the code field")
        .prop("value")
        .await
        .expect("its value");
    assert_eq!(filled.as_deref(), Some(code.grouped().as_str()));
    // The code is in no address after the letter's own.
    assert!(
        !browser.url().await.contains("code="),
        "{}",
        browser.url().await
    );
    browser.click_text("Tjek koden").await;
    confirm_child(&browser, "Aske").await;
    browser.wait_for_text("75,00 kr.").await;
    log_out(&browser).await;

    // Five wrong codes from a stranger lock further tries.
    activate(&browser, &portal, "stranger", "2222-3333-4444").await;
    for _ in 1..5 {
        browser.wait_for_text("Koden passer ikke").await;
        browser.fill("#code", "2222-3333-4444").await;
        browser.click_text("Tjek koden").await;
    }
    browser.wait_for_text("For mange forkerte forsøg").await;
    log_out(&browser).await;

    // Another broker (another sub), the same MitID person: the same
    // person, with the child, no code asked.
    claims(
        &portal,
        "broker-b-sub",
        json!({ STABLE_CLAIM: "mitid-person-7", "name": "Mette Ørsted" }),
    )
    .await;
    browser.log_in(&portal, "broker-b-sub").await;
    browser.wait_for_text("75,00 kr.").await;
    browser.goto(&format!("{}/portal/me", portal.url)).await;
    browser.wait_for_text("broker-b-sub").await;
    browser.wait_for_text("mitid-person-7").await;
}

/// With CPR match on: the import names custody holders by CPR number;
/// a login whose CPR claim matches is linked to each such child at once,
/// with no code, and the number is in no table and on no page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_cpr_match_a_custody_holder_is_linked_to_both_siblings_with_no_code() {
    let key = CprKey::new(b"a secret of at least thirty-two bytes, from a file").expect("a key");
    let portal = PortalServer::start_with_cpr(key.clone()).await;
    let pool = &portal.ledger.pool;
    let today = db::portal::today(pool, "Europe/Copenhagen")
        .await
        .expect("today");
    let file = "navn,betaler1_navn,betaler1_cpr\n\
                Alma,Mette Ørsted,010190-1234\n\
                Bo,Mette Ørsted,0101901234\n\
                Carl,Jonas Holm,0202901234\n";
    let rows = import::parse(file.as_bytes(), today, Some(&key)).expect("the file");
    db::enrol_all(
        pool,
        &Actor::command_line(),
        &Scope::All,
        CLUB,
        &import::enrolments(&rows),
        import::source("boern.csv", file.as_bytes()),
        false,
    )
    .await
    .expect("imported");
    claims(
        &portal,
        "mette-cpr",
        json!({ CPR_CLAIM: "0101901234", "name": "Mette Ørsted" }),
    )
    .await;
    let browser = Browser::start().await;
    browser.log_in(&portal, "mette-cpr").await;
    browser.wait_for_text("Alma").await;
    let mut seen = browser.text().await;
    assert!(seen.contains("Bo") && !seen.contains("Carl"), "{seen}");
    // No code asked: the children's page, not the code's.
    assert!(!browser.url().await.contains("/portal/activate"));
    browser.goto(&format!("{}/portal/me", portal.url)).await;
    browser.wait_for_text("som betaler").await;
    seen.push_str(&browser.text().await);
    let linked: Vec<String> = sqlx::query_scalar(
        "SELECT after->>'by' FROM office_log WHERE action = 'payer.link' ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .expect("the log");
    assert_eq!(linked, ["cpr", "cpr"]);
    // The number, with or without its dash, or its digits as bytes in
    // hex, is in no row of any table and on no page.
    let hex: String = "0101901234".bytes().map(|b| format!("{b:02x}")).collect();
    for number in ["0101901234", "010190-1234", "0202901234"] {
        assert!(!seen.contains(number), "a page shows {number}");
    }
    for (table, row) in klubkasse_testkit::ledger::every_row(pool).await {
        for number in ["0101901234", "010190-1234", "0202901234", hex.as_str()] {
            assert!(!row.contains(number), "{table} holds {number}: {row}");
        }
    }
    let hashed: i64 = sqlx::query_scalar("SELECT count(*) FROM payers WHERE cpr_hmac IS NOT NULL")
        .fetch_one(pool)
        .await
        .expect("payers");
    assert_eq!(hashed, 3);
}
