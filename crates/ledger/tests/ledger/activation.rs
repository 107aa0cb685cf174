//! Parents get in by themselves (issue 16): the office's activation
//! letters, their codes (single use, expiring, voided by a newer letter,
//! kept as hashes only), five wrong tries locking a person and twenty an
//! address, several payers per child that never see each other's
//! accounts or requests, a removed payer's session ending, the stable
//! MitID id, and a person's own data.

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::{ChildId, Money};
use klubkasse_ledger::Settings;
use klubkasse_ledger::db::people::{self, LoginIdentity, PersonRole};
use klubkasse_ledger::db::{self, Actor, payers::NewPayer};
use klubkasse_testkit::ledger::*;
use uuid::Uuid;

use super::scope::OTHER;

/// A ledger with the portal on, office staff of [`CLUB`] and of [`OTHER`].
pub(super) struct Office {
    pub(super) l: Ledger,
    pub(super) office: Visitor,
    pub(super) other_office: Visitor,
}

pub(super) async fn office() -> Office {
    office_with(|_| {}).await
}

/// [`office`] with the portal changed by `change`.
pub(super) async fn office_with(
    change: impl FnOnce(&mut klubkasse_ledger::portal::Portal),
) -> Office {
    let l = ledger().await.with_portal_as(Settings::default(), change);
    l.club(OTHER).await;
    let staff = |clubs: &[&str]| PersonRole::Office(clubs.iter().map(|c| c.to_string()).collect());
    let office = l
        .person("office", "Kontoret", Some(staff(&[CLUB])), &[])
        .await;
    let other = l
        .person(
            "other-office",
            "Egetræets kontor",
            Some(staff(&[OTHER])),
            &[],
        )
        .await;
    Office {
        office: l.log_in(office.id).await,
        other_office: l.log_in(other.id).await,
        l,
    }
}

pub(super) async fn payer(l: &Ledger, child: ChildId, name: &str, email: Option<&str>) -> Uuid {
    let payer = NewPayer {
        name: name.into(),
        email: email.map(str::to_string),
        custody: None,
    };
    db::payers::add_one(&l.pool, &Actor::command_line(), child, &payer)
        .await
        .expect("a payer")
        .id
}

/// The letters a print view shows: each payer's id and code.
fn codes_in(html: &str) -> Vec<(Uuid, String)> {
    let mut found = Vec::new();
    for part in html.split("data-payer=\"").skip(1) {
        let payer = part[..36].parse().expect("a payer id");
        let at = part.find("data-code>").expect("a code") + "data-code>".len();
        let code = part[at..at + 14].to_string();
        found.push((payer, code));
    }
    found
}

/// The office prints one child's letters.
pub(super) async fn print(l: &Ledger, office: &Visitor, child: ChildId) -> Vec<(Uuid, String)> {
    let answer = l
        .page(
            Method::POST,
            &format!("/portal/office/children/{child}/letters"),
            Some(office),
            &[("csrf", &office.csrf), ("lang", "da")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.headers["cache-control"], "no-store");
    codes_in(&answer.text)
}

/// Someone who logged in for the first time: no child yet.
pub(super) async fn newcomer(l: &Ledger, subject: &str) -> (Uuid, Visitor) {
    let id = l.person(subject, "Ny Forælder", None, &[]).await.id;
    (id, l.log_in(id).await)
}

/// Types `code` and, when the portal shows whose child it is for,
/// confirms it.
pub(super) async fn type_code(l: &Ledger, visitor: &Visitor, code: &str, born: &str) -> Answer {
    let checked = check_code(l, visitor, code, born).await;
    if !checked.text.contains("id=\"confirm-child\"") {
        return checked;
    }
    l.page(
        Method::POST,
        "/portal/activate",
        Some(visitor),
        &[
            ("csrf", &visitor.csrf),
            ("code", code),
            ("born", born),
            ("confirmed", "true"),
        ],
    )
    .await
}

/// Types `code` and presses "check", no further.
pub(super) async fn check_code(l: &Ledger, visitor: &Visitor, code: &str, born: &str) -> Answer {
    l.page(
        Method::POST,
        "/portal/activate",
        Some(visitor),
        &[("csrf", &visitor.csrf), ("code", code), ("born", born)],
    )
    .await
}

pub(super) fn linked(answer: &Answer) -> bool {
    answer.status == StatusCode::SEE_OTHER && answer.headers["location"] == "/portal?done=linked"
}

/// Every row of every table, as text in capitals, with its table.
async fn every_row(l: &Ledger) -> Vec<String> {
    klubkasse_testkit::ledger::every_row(&l.pool)
        .await
        .into_iter()
        .map(|(table, row)| format!("{table}: {}", row.to_uppercase()))
        .collect()
}

#[tokio::test]
async fn a_letters_code_links_a_new_person_to_the_child_as_that_payer() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    let mette = payer(&l, freja, "Mette Ørsted", Some("mette@example.dk")).await;
    let page = l
        .page(
            Method::GET,
            &format!("/portal/office/children/{freja}"),
            Some(&office),
            &[],
        )
        .await;
    assert!(
        page.text.contains("har ikke brugt sin kode endnu"),
        "{}",
        page.text
    );
    let letters = print(&l, &office, freja).await;
    assert_eq!(letters.len(), 1);
    let (payer_id, code) = &letters[0];
    assert_eq!(*payer_id, mette);
    let (person, visitor) = newcomer(&l, "new-parent").await;
    // Nobody linked yet: the front page sends them to the code.
    let front = l.page(Method::GET, "/portal", Some(&visitor), &[]).await;
    assert_eq!(front.headers["location"], "/portal/activate");
    let form = l
        .page(Method::GET, "/portal/activate", Some(&visitor), &[])
        .await;
    assert!(
        form.text.contains("Skriv koden fra brevet"),
        "{}",
        form.text
    );
    let history = format!("/portal/children/{freja}/history");
    let before = l.page(Method::GET, &history, Some(&visitor), &[]).await;
    assert_eq!(before.status, StatusCode::NOT_FOUND);
    // The right code first says whose child it is for, and links nobody
    // yet: a code someone else planted is seen before it links.
    let checked = check_code(&l, &visitor, code, "").await;
    assert_eq!(checked.status, StatusCode::OK);
    assert!(
        checked
            .text
            .contains(&format!("Koden gør dig til betaler for Freja i {CLUB}.")),
        "{}",
        checked.text
    );
    let still = l.page(Method::GET, &history, Some(&visitor), &[]).await;
    assert_eq!(still.status, StatusCode::NOT_FOUND);
    let unused: Option<Uuid> =
        sqlx::query_scalar("SELECT used_by FROM activation_codes WHERE payer_id = $1")
            .bind(mette)
            .fetch_one(&l.pool)
            .await
            .expect("the code");
    assert_eq!(unused, None);
    // Typed as people type: lower case, spaces for dashes.
    let answer = type_code(&l, &visitor, &code.to_lowercase().replace('-', " "), "").await;
    assert!(linked(&answer), "{} {}", answer.status, answer.text);
    let after = l.page(Method::GET, &history, Some(&visitor), &[]).await;
    assert_eq!(after.status, StatusCode::OK, "{}", after.text);
    let (linked_person,): (Option<Uuid>,) =
        sqlx::query_as("SELECT person_id FROM payers WHERE id = $1")
            .bind(mette)
            .fetch_one(&l.pool)
            .await
            .expect("the payer");
    assert_eq!(linked_person, Some(person));
    // The office sees that the payer uses the portal.
    let page = l
        .page(
            Method::GET,
            &format!("/portal/office/children/{freja}"),
            Some(&office),
            &[],
        )
        .await;
    assert!(
        page.text.contains("data-activated>logger ind"),
        "{}",
        page.text
    );
    // A second press (a reload) is no refusal: the person is that payer.
    assert!(linked(&type_code(&l, &visitor, code, "").await));
    let logged: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, actor_name FROM office_log WHERE action LIKE 'payer.%' ORDER BY at, id",
    )
    .fetch_all(&l.pool)
    .await
    .expect("the log");
    let actions: Vec<&str> = logged.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["payer.add", "payer.letter", "payer.link"]);
    assert_eq!(logged[1].1, "Kontoret");
    assert_eq!(logged[2].1, "Ny Forælder");
    // The code is nowhere in the books, with or without its dashes.
    let plain = code.replace('-', "");
    for row in every_row(&l).await {
        assert!(
            !row.contains(code.as_str()) && !row.contains(&plain),
            "{row}"
        );
    }
}

#[tokio::test]
async fn used_expired_and_voided_codes_are_refused_with_what_to_do() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    payer(&l, freja, "Mette", None).await;
    let first = print(&l, &office, freja).await.remove(0).1;
    let second = print(&l, &office, freja).await.remove(0).1;
    let (_, mette) = newcomer(&l, "mette").await;
    let voided = type_code(&l, &mette, &first, "").await;
    assert_eq!(voided.status, StatusCode::OK);
    assert!(
        voided.text.contains("der er lavet et nyere brev"),
        "{}",
        voided.text
    );
    assert!(linked(&type_code(&l, &mette, &second, "").await));
    let (_, stranger) = newcomer(&l, "stranger").await;
    let used = type_code(&l, &stranger, &second, "").await;
    assert!(
        used.text.contains("Koden er allerede brugt"),
        "{}",
        used.text
    );
    assert!(used.text.contains("bed klubbens kontor om et nyt brev"));
    let stranger_sees = l
        .page(
            Method::GET,
            &format!("/portal/children/{freja}/history"),
            Some(&stranger),
            &[],
        )
        .await;
    assert_eq!(stranger_sees.status, StatusCode::NOT_FOUND);
    // A code past its days (another payer's: the child's letters skip
    // Mette, who is linked now).
    payer(&l, freja, "Jonas", None).await;
    let third = print(&l, &office, freja).await.remove(0).1;
    sqlx::query("UPDATE activation_codes SET expires_at = now() - interval '1 second' WHERE used_at IS NULL AND voided_at IS NULL")
        .execute(&l.pool)
        .await
        .expect("expire");
    let expired = type_code(&l, &stranger, &third, "").await;
    assert!(
        expired.text.contains("Koden er udløbet"),
        "{}",
        expired.text
    );
    // None of these were wrong guesses: nothing counted (the rows that
    // hold a try's lock are there, with no failure).
    let counted: i64 =
        sqlx::query_scalar("SELECT coalesce(sum(failures + locks), 0) FROM code_tries")
            .fetch_one(&l.pool)
            .await
            .expect("tries");
    assert_eq!(counted, 0);
    // What is not even a code says what a code looks like.
    let not_a_code = type_code(&l, &stranger, "hej", "").await;
    assert!(not_a_code.text.contains("12 tegn"), "{}", not_a_code.text);
}

#[tokio::test]
async fn wrong_codes_lock_per_person_and_per_address_for_a_growing_time() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    payer(&l, freja, "Mette", None).await;
    let right = print(&l, &office, freja).await.remove(0).1;
    let (guesser, visitor) = newcomer(&l, "guesser").await;
    for n in 1..=5 {
        let answer = type_code(&l, &visitor, "2222-3333-4444", "").await;
        if n < 5 {
            assert_eq!(answer.status, StatusCode::OK);
            assert!(answer.text.contains("Koden passer ikke"), "{}", answer.text);
        } else {
            assert_eq!(
                answer.status,
                StatusCode::TOO_MANY_REQUESTS,
                "{}",
                answer.text
            );
            assert!(
                answer.text.contains("For mange forkerte forsøg"),
                "{}",
                answer.text
            );
        }
    }
    // Locked: even the right code is refused, and nothing is linked.
    let refused = type_code(&l, &visitor, &right, "").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    // Another parent behind the same address (a school's network, a
    // carrier's NAT) is not locked by the guesser's five.
    let (_, neighbour) = newcomer(&l, "neighbour").await;
    let typo = type_code(&l, &neighbour, "2222-3333-4444", "").await;
    assert_eq!(typo.status, StatusCode::OK);
    assert!(typo.text.contains("Koden passer ikke"), "{}", typo.text);
    // But a guesser with many logins meets the address's lock: after 20
    // wrong from it, anyone there with a wrong try of their own waits.
    for n in 0..3 {
        let (_, next) = newcomer(&l, &format!("guesser-{n}")).await;
        for _ in 0..5 {
            type_code(&l, &next, "2222-3333-4444", "").await;
        }
    }
    assert_eq!(
        type_code(&l, &neighbour, &right, "").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the neighbour had a wrong try"
    );
    // A new identity's first wrong try there locks it at once.
    let (_, late) = newcomer(&l, "late").await;
    assert_eq!(
        type_code(&l, &late, "2222-3333-4444", "").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        type_code(&l, &late, &right, "").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A parent with a clean record types their right code through the
    // locked address.
    let oscar = l.enrol("Oscar").await;
    payer(&l, oscar, "Lars", None).await;
    let theirs = print(&l, &office, oscar).await.remove(0).1;
    let (_, lars) = newcomer(&l, "lars").await;
    assert!(linked(&type_code(&l, &lars, &theirs, "").await));
    let rows: Vec<(String, i32, f64)> = sqlx::query_as(
        "SELECT who, locks, extract(epoch FROM locked_until - now())::float8 FROM code_tries
         WHERE who = 'address:0.0.0.0' OR who = $1 ORDER BY who",
    )
    .bind(format!("person:{guesser}"))
    .fetch_all(&l.pool)
    .await
    .expect("tries");
    let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        keys,
        vec!["address:0.0.0.0".to_string(), format!("person:{guesser}")]
    );
    for (_, locks, left) in &rows {
        assert_eq!(*locks, 1);
        assert!((14.0 * 60.0..=15.0 * 60.0).contains(left), "{left}");
    }
    // The lock over, five more wrong: twice as long.
    sqlx::query("UPDATE code_tries SET locked_until = now() - interval '1 second'")
        .execute(&l.pool)
        .await
        .expect("the lock passes");
    for _ in 0..5 {
        type_code(&l, &visitor, "2222-3333-4444", "").await;
    }
    let left: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM locked_until - now())::float8 FROM code_tries WHERE who = $1",
    )
    .bind(format!("person:{guesser}"))
    .fetch_one(&l.pool)
    .await
    .expect("the lock");
    assert!((29.0 * 60.0..=30.0 * 60.0).contains(&left), "{left}");
    sqlx::query("UPDATE code_tries SET locked_until = now() - interval '1 second'")
        .execute(&l.pool)
        .await
        .expect("the lock passes");
    assert!(linked(&type_code(&l, &visitor, &right, "").await));
}

#[tokio::test]
async fn the_childs_birth_date_is_asked_when_the_office_has_it() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    sqlx::query("UPDATE children SET birth_date = '2015-03-07' WHERE id = $1")
        .bind(freja.0)
        .execute(&l.pool)
        .await
        .expect("a birth date");
    payer(&l, freja, "Mette", None).await;
    let answer = l
        .page(
            Method::POST,
            &format!("/portal/office/children/{freja}/letters"),
            Some(&office),
            &[("csrf", &office.csrf), ("lang", "en")],
        )
        .await;
    assert!(
        answer
            .text
            .contains("You will also be asked for Freja's date of birth"),
        "{}",
        answer.text
    );
    let code = codes_in(&answer.text).remove(0).1;
    let (_, mette) = newcomer(&l, "mette").await;
    let asked = type_code(&l, &mette, &code, "").await;
    assert!(
        asked.text.contains("Skriv også barnets fødselsdato"),
        "{}",
        asked.text
    );
    let wrong = type_code(&l, &mette, &code, "08-03-2015").await;
    assert!(
        wrong.text.contains("Fødselsdatoen passer ikke"),
        "{}",
        wrong.text
    );
    let unreadable = type_code(&l, &mette, &code, "marts").await;
    assert!(
        unreadable.text.contains("kunne ikke læses"),
        "{}",
        unreadable.text
    );
    assert!(linked(&type_code(&l, &mette, &code, "07-03-2015").await));
}

/// Printing a child's letters again skips the payer someone already is:
/// a letter posted to an old address must not hand the account over.
#[tokio::test]
async fn a_reprint_skips_the_payers_someone_already_is() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    payer(&l, freja, "Mette", None).await;
    payer(&l, freja, "Jonas", None).await;
    let first = print(&l, &office, freja).await;
    assert_eq!(first.len(), 2);
    let (mette, visitor) = newcomer(&l, "mette").await;
    assert!(linked(&type_code(&l, &visitor, &first[0].1, "").await));
    let again = print(&l, &office, freja).await;
    assert_eq!(again.len(), 1, "only the payer no one is yet");
    assert_ne!(again[0].0, first[0].0);
    let still: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM parent_children WHERE person_id = $1 AND child_id = $2",
    )
    .bind(mette)
    .bind(freja.0)
    .fetch_one(&l.pool)
    .await
    .expect("her link");
    assert_eq!(still, 1);
}

/// A letter's holder who does not know the birth date sends every date
/// at once, from two people: the tries are counted one after the other,
/// five wrong dates lock the code whoever types it, and the right date
/// after that links no one.
#[tokio::test]
async fn a_burst_of_birth_dates_gets_five_tries_and_the_code_locks() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    sqlx::query("UPDATE children SET birth_date = '2015-03-07' WHERE id = $1")
        .bind(freja.0)
        .execute(&l.pool)
        .await
        .expect("a birth date");
    payer(&l, freja, "Mette", None).await;
    let code = print(&l, &office, freja).await.remove(0).1;
    let (_, one) = newcomer(&l, "gaetter-1").await;
    let (_, two) = newcomer(&l, "gaetter-2").await;
    let dates: Vec<String> = (1..=28).map(|d| format!("{d:02}-02-2015")).collect();
    let answers = futures::future::join_all(dates.iter().enumerate().map(|(n, date)| {
        let who = if n % 2 == 0 { &one } else { &two };
        type_code(&l, who, &code, date)
    }))
    .await;
    let judged = answers
        .iter()
        .filter(|a| a.text.contains("Fødselsdatoen passer ikke"))
        .count();
    assert!(judged <= 5, "{judged} wrong dates were judged");
    assert!(answers.iter().all(|a| !linked(a)));
    // Locked for the code itself: a third person with the right date too.
    let (_, three) = newcomer(&l, "gaetter-3").await;
    assert!(!linked(&type_code(&l, &three, &code, "07-03-2015").await));
}

#[tokio::test]
async fn a_second_payer_has_their_own_code_and_never_sees_the_first_payers_account_or_requests() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    assert!(l.deposit(freja, "200.00").await.status.is_success());
    payer(&l, freja, "Mette", Some("mette@example.dk")).await;
    payer(&l, freja, "Jonas", Some("jonas@example.dk")).await;
    let letters = print(&l, &office, freja).await;
    assert_eq!(letters.len(), 2);
    assert_ne!(letters[0].1, letters[1].1);
    let (_, mette) = newcomer(&l, "mette").await;
    let (_, jonas) = newcomer(&l, "jonas").await;
    assert!(linked(&type_code(&l, &mette, &letters[0].1, "").await));
    assert!(linked(&type_code(&l, &jonas, &letters[1].1, "").await));
    let withdrawn = l
        .page(
            Method::POST,
            &format!("/portal/children/{freja}/withdraw"),
            Some(&mette),
            &[
                ("csrf", &mette.csrf),
                ("request", &Uuid::now_v7().to_string()),
                ("amount", "10"),
                ("account", "1111 22223333"),
            ],
        )
        .await;
    assert_eq!(
        withdrawn.status,
        StatusCode::SEE_OTHER,
        "{}",
        withdrawn.text
    );
    let asked = l
        .page(
            Method::POST,
            "/portal/support",
            Some(&mette),
            &[
                ("csrf", &mette.csrf),
                ("child", &freja.to_string()),
                ("subject", "Mettes spørgsmål"),
                ("body", "Hemmeligt"),
            ],
        )
        .await;
    assert!(asked.status.is_redirection(), "{}", asked.text);
    let mut seen = String::new();
    for path in [
        "/portal".to_string(),
        format!("/portal/children/{freja}/history"),
        format!("/portal/children/{freja}/history?format=csv"),
        format!("/portal/children/{freja}/withdraw"),
        format!("/portal/children/{freja}/card"),
        format!("/portal/children/{freja}/limits"),
        "/portal/support".into(),
        "/portal/me".into(),
    ] {
        let page = l.page(Method::GET, &path, Some(&jonas), &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
        seen.push_str(&page.text);
    }
    assert!(seen.contains("Freja") && seen.contains("190,00"), "{seen}");
    // Nor Mette's request on his withdrawal page (its amount, 10 kr.).
    let withdraw = l
        .page(
            Method::GET,
            &format!("/portal/children/{freja}/withdraw"),
            Some(&jonas),
            &[],
        )
        .await;
    assert!(!withdraw.text.contains("10,00 kr."), "{}", withdraw.text);
    let hers = l
        .page(
            Method::GET,
            &format!("/portal/children/{freja}/withdraw"),
            Some(&mette),
            &[],
        )
        .await;
    assert!(hers.text.contains("10,00 kr."), "{}", hers.text);
    for theirs in [
        "22223333",
        "Mettes spørgsmål",
        "Hemmeligt",
        "mette@example.dk",
    ] {
        assert!(!seen.contains(theirs), "Jonas sees {theirs}");
    }
    let me = l.page(Method::GET, "/portal/me", Some(&jonas), &[]).await;
    assert!(
        me.text.contains("jonas@example.dk") && me.text.contains("som betaler"),
        "{}",
        me.text
    );
}

#[tokio::test]
async fn a_removed_payers_open_session_is_refused_at_the_next_request() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    assert!(l.deposit(freja, "100.00").await.status.is_success());
    let mette_payer = payer(&l, freja, "Mette", None).await;
    let code = print(&l, &office, freja).await.remove(0).1;
    let (mette, visitor) = newcomer(&l, "mette").await;
    assert!(linked(&type_code(&l, &visitor, &code, "").await));
    let limits = format!("/portal/children/{freja}/limits");
    let saved = l
        .page(
            Method::POST,
            &limits,
            Some(&visitor),
            &[
                ("csrf", &visitor.csrf),
                ("limit", ""),
                ("note", ""),
                ("low", "20"),
                ("email", "mette@example.dk"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
    let low: Option<rust_decimal::Decimal> =
        sqlx::query_scalar("SELECT low_balance FROM parent_children WHERE person_id = $1")
            .bind(mette)
            .fetch_one(&l.pool)
            .await
            .expect("the setting");
    assert_eq!(low, Some(rust_decimal::Decimal::from(20)));
    // A withdrawal of hers still waiting when custody changes.
    let asked = l
        .page(
            Method::POST,
            &format!("/portal/children/{freja}/withdraw"),
            Some(&visitor),
            &[
                ("csrf", &visitor.csrf),
                ("request", &Uuid::now_v7().to_string()),
                ("amount", "30"),
                ("account", "1111 22223333"),
            ],
        )
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.text);
    assert_eq!(l.balance(freja).await, Money::kroner(70));
    let removed = l
        .page(
            Method::POST,
            &format!("/portal/office/children/{freja}/payers/remove"),
            Some(&office),
            &[("csrf", &office.csrf), ("payer", &mette_payer.to_string())],
        )
        .await;
    assert!(removed.status.is_redirection(), "{}", removed.text);
    // It is rejected with her removal: the money is back on the card.
    let status: String =
        sqlx::query_scalar("SELECT status FROM payout_requests WHERE person_id = $1")
            .bind(mette)
            .fetch_one(&l.pool)
            .await
            .expect("her request");
    assert_eq!(status, "rejected");
    assert_eq!(l.balance(freja).await, Money::kroner(100));
    let next = l.page(Method::GET, &limits, Some(&visitor), &[]).await;
    assert_eq!(next.status, StatusCode::SEE_OTHER);
    assert_eq!(next.headers["location"], "/portal");
    let links: i64 =
        sqlx::query_scalar("SELECT count(*) FROM parent_children WHERE person_id = $1")
            .bind(mette)
            .fetch_one(&l.pool)
            .await
            .expect("links");
    assert_eq!(
        links, 0,
        "the link and its saved low-balance setting are gone"
    );
    // Logged in again: no child; the money and history stay with the child.
    let again = l.log_in(mette).await;
    let front = l.page(Method::GET, "/portal", Some(&again), &[]).await;
    assert_eq!(front.headers["location"], "/portal/activate");
    assert_eq!(l.balance(freja).await, Money::kroner(100));
    // The used code does not bring the removed payer back.
    let back = type_code(&l, &again, &code, "").await;
    assert!(!linked(&back));
}

#[tokio::test]
async fn a_new_subject_with_the_same_stable_mitid_id_is_the_same_person() {
    let l = ledger().await;
    let login =
        |issuer: &'static str, subject: &'static str, stable: Option<&'static str>| LoginIdentity {
            issuer,
            subject,
            name: "Mette Ørsted",
            email: Some("mette@example.dk"),
            stable_id: stable,
        };
    let log_in = async |identity: LoginIdentity<'_>| {
        people::person_for_login(&l.pool, &identity)
            .await
            .expect("the database")
    };
    let first = log_in(login("https://broker-a.test/", "sub-1", Some("mitid-42")))
        .await
        .expect("first login");
    let again = log_in(login("https://broker-a.test", "sub-1", None)).await;
    assert_eq!(again, Ok(first));
    let moved = log_in(login("https://broker-b.test", "sub-2", Some("mitid-42"))).await;
    assert_eq!(moved, Ok(first));
    let (issuer, subject): (String, String) =
        sqlx::query_as("SELECT issuer, subject FROM people WHERE id = $1")
            .bind(first)
            .fetch_one(&l.pool)
            .await
            .expect("the person");
    assert_eq!(
        (issuer.as_str(), subject.as_str()),
        ("https://broker-b.test", "sub-2")
    );
    let other = log_in(login("https://broker-b.test", "sub-3", Some("mitid-43")))
        .await
        .expect("someone else");
    assert_ne!(first, other);
    // The broker now says another MitID person owns Mette's subject: not
    // taken as Mette, nor as anyone.
    let changed = log_in(login("https://broker-b.test", "sub-2", Some("mitid-99"))).await;
    assert_eq!(changed, Err(people::LoginRefused::StableIdChanged));
    let logged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM office_log WHERE action IN ('person.add', 'person.update')",
    )
    .fetch_one(&l.pool)
    .await
    .expect("the log");
    assert_eq!(logged, 3, "two people added, one identity changed");
    // Office staff are not moved to a new subject by a claim: the
    // municipality does that.
    let staff = l
        .person(
            "kontoret",
            "Karin Kontor",
            Some(PersonRole::Municipality),
            &[],
        )
        .await;
    let staff_login = LoginIdentity {
        issuer: ISSUER,
        subject: "kontoret",
        name: "Karin Kontor",
        email: None,
        stable_id: Some("mitid-staff"),
    };
    assert_eq!(log_in(staff_login.clone()).await, Ok(staff.id));
    let elsewhere = LoginIdentity {
        issuer: "https://broker-b.test",
        subject: "karin-elsewhere",
        ..staff_login
    };
    assert_eq!(
        log_in(elsewhere).await,
        Err(people::LoginRefused::StaffElsewhere)
    );
    let (issuer, subject): (String, String) =
        sqlx::query_as("SELECT issuer, subject FROM people WHERE id = $1")
            .bind(staff.id)
            .fetch_one(&l.pool)
            .await
            .expect("the staff member");
    assert_eq!((issuer.as_str(), subject.as_str()), (ISSUER, "kontoret"));
}

#[tokio::test]
async fn office_staff_make_letters_only_for_their_clubs_even_by_forged_form() {
    let Office {
        l,
        office,
        other_office,
    } = office().await;
    let freja = l.enrol("Freja").await;
    let mette = payer(&l, freja, "Mette", Some("mette@example.dk")).await;
    // Staff are no payers: the code page is not theirs, whatever the form.
    let staff_tries = l
        .page(
            Method::POST,
            "/portal/activate",
            Some(&office),
            &[("csrf", &office.csrf)],
        )
        .await;
    assert_eq!(staff_tries.status, StatusCode::NOT_FOUND);
    let oscar = l.enrol_in("Oscar", OTHER).await;
    let jonas = payer(&l, oscar, "Jonas", Some("jonas@example.dk")).await;
    let tries = [
        (
            "/portal/office/letters".to_string(),
            vec![("club", OTHER.to_string())],
        ),
        (format!("/portal/office/children/{oscar}/letters"), vec![]),
        (
            format!("/portal/office/children/{oscar}/letters/mail"),
            vec![("payer", jonas.to_string())],
        ),
        // Another club's payer under the own club's child.
        (
            format!("/portal/office/children/{freja}/letters"),
            vec![("payer", jonas.to_string())],
        ),
        (
            format!("/portal/office/children/{freja}/letters/mail"),
            vec![("payer", jonas.to_string())],
        ),
    ];
    for (path, fields) in &tries {
        let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form.push(("csrf", &office.csrf));
        let answer = l.page(Method::POST, path, Some(&office), &form).await;
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            answer.text
        );
    }
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM activation_codes")
        .fetch_one(&l.pool)
        .await
        .expect("codes");
    assert_eq!(made, 0);
    // The club's own letters: only its payers.
    let club = l
        .page(
            Method::POST,
            "/portal/office/letters",
            Some(&office),
            &[("csrf", &office.csrf), ("club", CLUB), ("lang", "da")],
        )
        .await;
    let letters = codes_in(&club.text);
    assert_eq!(letters.iter().map(|l| l.0).collect::<Vec<_>>(), vec![mette]);
    assert!(club.text.contains("@page{size:A4"), "{}", club.text);
    assert!(club.text.contains("<svg"), "a QR code");
    assert!(
        club.text.contains("Et nyt kort koster 45,00 kr."),
        "{}",
        club.text
    );
    // By e-mail: a new code, the printed one void, in the log as mailed.
    let mailed = l
        .page(
            Method::POST,
            &format!("/portal/office/children/{freja}/letters/mail"),
            Some(&office),
            &[("csrf", &office.csrf), ("payer", &mette.to_string())],
        )
        .await;
    assert!(mailed.status.is_redirection(), "{}", mailed.text);
    // In the mail outbox, to be sent with its code (which leaves the
    // outbox once sent).
    let queued: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT vars FROM mail_outbox WHERE kind = 'activation_letter'")
            .fetch_all(&l.pool)
            .await
            .expect("the outbox");
    assert_eq!(queued.len(), 1);
    let code = queued[0]["code"].as_str().expect("the code");
    assert_eq!(code.len(), 14, "{code}");
    // The code's own last day, from the same transaction.
    let expires: String = sqlx::query_scalar(
        "SELECT to_char(expires_at AT TIME ZONE 'UTC', 'DD.MM.YYYY') FROM activation_codes
         WHERE payer_id = $1 AND voided_at IS NULL",
    )
    .bind(mette)
    .fetch_one(&l.pool)
    .await
    .expect("the code's row");
    assert_eq!(queued[0]["date"], serde_json::json!(expires));
    assert!(
        queued[0]["link"]
            .as_str()
            .expect("the link")
            .contains("/portal/activate?code=")
    );
    // Mailed again before it went: the first mail, with its void code,
    // never leaves.
    let again = l
        .page(
            Method::POST,
            &format!("/portal/office/children/{freja}/letters/mail"),
            Some(&office),
            &[("csrf", &office.csrf), ("payer", &mette.to_string())],
        )
        .await;
    assert!(again.status.is_redirection(), "{}", again.text);
    let waiting: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT vars FROM mail_outbox WHERE kind = 'activation_letter'")
            .fetch_all(&l.pool)
            .await
            .expect("the outbox");
    assert_eq!(waiting.len(), 1);
    assert_ne!(waiting[0]["code"], queued[0]["code"]);
    let (_, visitor) = newcomer(&l, "mette").await;
    let voided = type_code(&l, &visitor, &letters[0].1, "").await;
    assert!(voided.text.contains("nyere brev"), "{}", voided.text);
    let sent: Vec<String> = sqlx::query_scalar(
        "SELECT after->>'sent' FROM office_log WHERE action = 'payer.letter' ORDER BY at, id",
    )
    .fetch_all(&l.pool)
    .await
    .expect("the log");
    assert_eq!(sent, vec!["printed", "mailed", "mailed"]);
    // The other club's office makes that club's letters.
    let theirs = l
        .page(
            Method::POST,
            &format!("/portal/office/children/{oscar}/letters"),
            Some(&other_office),
            &[("csrf", &other_office.csrf), ("lang", "en")],
        )
        .await;
    assert_eq!(codes_in(&theirs.text).len(), 1);
    assert!(
        theirs.text.contains("A club card for Oscar"),
        "{}",
        theirs.text
    );
}

/// Without a mail server a mailed letter would wait in the outbox with
/// its code in the clear: the office is told to print it, and no code is
/// made.
#[tokio::test]
async fn a_letter_is_not_mailed_without_a_mail_server() {
    let Office { l, office, .. } = office_with(|p| p.mail_server = false).await;
    let freja = l.enrol("Freja").await;
    let mette = payer(&l, freja, "Mette", Some("mette@example.dk")).await;
    let page = l
        .page(
            Method::GET,
            &format!("/portal/office/children/{freja}"),
            Some(&office),
            &[],
        )
        .await;
    assert!(!page.text.contains("data-mail"), "no mail button");
    let forged = l
        .page(
            Method::POST,
            &format!("/portal/office/children/{freja}/letters/mail"),
            Some(&office),
            &[("csrf", &office.csrf), ("payer", &mette.to_string())],
        )
        .await;
    assert!(
        forged.text.contains("Der er ingen mailserver sat op"),
        "{}",
        forged.text
    );
    let (codes, mails): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM activation_codes), (SELECT count(*) FROM mail_outbox)",
    )
    .fetch_one(&l.pool)
    .await
    .expect("counts");
    assert_eq!((codes, mails), (0, 0));
}

/// A login that never became anyone's parent (a letter never typed, a
/// stranger) is forgotten after 30 days without a request; a payer, a
/// parent, staff and anyone in the books stay.
#[tokio::test]
async fn people_who_never_became_a_parent_are_forgotten_after_30_days() {
    let Office { l, office, .. } = office().await;
    let freja = l.enrol("Freja").await;
    payer(&l, freja, "Mette", None).await;
    let code = print(&l, &office, freja).await.remove(0).1;
    let (stranger, _) = newcomer(&l, "stranger").await;
    let (recent, _) = newcomer(&l, "recent").await;
    let (mette, visitor) = newcomer(&l, "mette").await;
    assert!(linked(&type_code(&l, &visitor, &code, "").await));
    let (asker, asking) = newcomer(&l, "asker").await;
    let question = l
        .page(
            Method::POST,
            "/portal/support",
            Some(&asking),
            &[
                ("csrf", &asking.csrf),
                ("child", ""),
                ("subject", "Brevet"),
                ("body", "Jeg har ikke fået et brev"),
            ],
        )
        .await;
    assert!(question.status.is_redirection(), "{}", question.text);
    // All but `recent` made 31 days ago and seen last then.
    sqlx::query("UPDATE people SET created_at = now() - interval '31 days' WHERE id <> $1")
        .bind(recent)
        .execute(&l.pool)
        .await
        .expect("made long ago");
    sqlx::query("UPDATE portal_sessions SET last_seen = now() - interval '31 days'")
        .execute(&l.pool)
        .await
        .expect("seen long ago");
    let gone = db::people::forget_unlinked(&l.pool, db::people::UNLINKED_KEPT)
        .await
        .expect("forgotten");
    assert_eq!(gone, 1);
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM people ORDER BY id")
        .fetch_all(&l.pool)
        .await
        .expect("people");
    assert!(!left.contains(&stranger));
    for kept in [recent, mette, asker] {
        assert!(left.contains(&kept), "{kept}");
    }
    let sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM portal_sessions WHERE person_id = $1")
            .bind(stranger)
            .fetch_one(&l.pool)
            .await
            .expect("sessions");
    assert_eq!(sessions, 0);
}

/// CPR match links parents only: office staff whose number a custody
/// holder has are not made that payer (the payer would count as
/// activated, and reprints skip it, while nobody sees the child).
#[tokio::test]
async fn cpr_match_links_a_parent_and_never_office_staff() {
    let Office { l, .. } = office().await;
    let key = klubkasse_ledger::cpr::CprKey::new(&[7u8; 32]).expect("a key");
    let cpr = klubkasse_ledger::cpr::Cpr::parse("0101901234").expect("a number");
    let freja = l.enrol("Freja").await;
    let holder = NewPayer {
        name: "Mette".into(),
        email: None,
        custody: Some(key.hash(&cpr)),
    };
    let mette = db::payers::add_one(&l.pool, &Actor::command_line(), freja, &holder)
        .await
        .expect("a payer")
        .id;
    let staff = l
        .person("kontor-mette", "Mette", Some(PersonRole::Municipality), &[])
        .await;
    let linked = db::activation::link_custody(&l.pool, staff.id, &key.hash(&cpr))
        .await
        .expect("the link");
    assert!(linked.is_empty(), "{linked:?}");
    let (parent, _) = newcomer(&l, "mette-mitid").await;
    let linked = db::activation::link_custody(&l.pool, parent, &key.hash(&cpr))
        .await
        .expect("the link");
    assert_eq!(linked, vec![freja]);
    let person: Option<Uuid> = sqlx::query_scalar("SELECT person_id FROM payers WHERE id = $1")
        .bind(mette)
        .fetch_one(&l.pool)
        .await
        .expect("the payer");
    assert_eq!(person, Some(parent));
}
