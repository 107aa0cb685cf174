//! The office's pages for one child: found by name, card UID or club a
//! page at a time; a card handed out by its UID (also from the office
//! page's order list, which records the card); a UID in use refused with
//! whose it is only when that child is the office's to see; a move only
//! to a club of the office's.

use axum::http::StatusCode;
use klubkasse_ledger::db::people::PersonRole;
use klubkasse_testkit::ledger::*;

use super::common::{get, post};
use super::scope::world;

/// Another club than the testkit's [`CLUB`], as in the scope test.
const OTHER: &str = "Egetræet";

#[tokio::test]
async fn a_child_is_found_by_part_of_its_name_its_card_or_its_club_a_page_at_a_time() {
    let w = world().await;
    let l = &w.l;
    for n in 0..55 {
        l.enrol_in(&format!("Barn {n:02}"), CLUB).await;
    }
    let staff = l.log_in(w.office_a).await;
    let found = get(l, &staff, "/portal/office/children?q=FREJ").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.text.contains(&w.a.to_string()), "{}", found.text);
    // Another club's child is not found by name nor by its card.
    for q in ["oscar", &CARD_B.to_lowercase()] {
        let none = get(l, &staff, &format!("/portal/office/children?q={q}")).await;
        assert!(!none.text.contains(&w.b.to_string()), "{q}");
    }
    let by_card = get(
        l,
        &staff,
        &format!("/portal/office/children?q=+{}+", CARD_A.to_lowercase()),
    )
    .await;
    assert!(by_card.text.contains(&w.a.to_string()), "{}", by_card.text);
    let first = get(l, &staff, "/portal/office/children?club=Kastanjen").await;
    assert_eq!(first.text.matches("data-child=").count(), 50);
    assert!(first.text.contains("page=2"));
    let second = get(l, &staff, "/portal/office/children?club=Kastanjen&page=2").await;
    assert_eq!(
        second.text.matches("data-child=").count(),
        6,
        "55 and Freja"
    );
    let everyone = l.log_in(w.municipality).await;
    let other = get(
        l,
        &everyone,
        &format!("/portal/office/children?club={OTHER}"),
    )
    .await;
    assert!(other.text.contains(&w.b.to_string()) && !other.text.contains(&w.a.to_string()));
}

#[tokio::test]
async fn handing_out_from_the_order_list_records_the_card_and_a_card_in_use_is_refused() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let c = l.enrol_in("Ida", CLUB).await;
    // The office page asks for the UID next to "handed out".
    let office = get(l, &staff, "/portal/office").await;
    assert!(office.text.contains("name=\"uid\""), "{}", office.text);
    let order = l.first_order(c).await;
    let path = format!("/portal/office/orders/{order}");
    let handed = post(
        l,
        &staff,
        &path,
        &[("status", "handed_out"), ("uid", " 04ab12cd ")],
    )
    .await;
    assert_eq!(handed.status, StatusCode::SEE_OTHER, "{}", handed.text);
    let (uid, status): (Option<String>, String) =
        sqlx::query_as("SELECT card_uid, status FROM card_orders WHERE id = $1::uuid")
            .bind(&order)
            .fetch_one(&l.pool)
            .await
            .expect("order");
    assert_eq!(
        (uid.as_deref(), status.as_str()),
        (Some("04AB12CD"), "handed_out")
    );
    let owner: uuid::Uuid = sqlx::query_scalar("SELECT child_id FROM cards WHERE uid = '04AB12CD'")
        .fetch_one(&l.pool)
        .await
        .expect("card");
    assert_eq!(owner, c.0);
    // A UID that is not one, and cards of others: said, nothing changed.
    let d = l.enrol_in("Karl", CLUB).await;
    let hand_out = format!("/portal/office/children/{d}/cards");
    let before = l.fingerprint().await;
    let bad = post(l, &staff, &hand_out, &[("uid", "nej")]).await;
    assert!(bad.text.contains("ikke et korts UID"), "{}", bad.text);
    let taken = post(l, &staff, &hand_out, &[("uid", "04ab12cd")]).await;
    assert!(taken.text.contains("i brug hos Ida"), "{}", taken.text);
    let others = post(l, &staff, &hand_out, &[("uid", CARD_B)]).await;
    assert!(others.text.contains("allerede i brug."), "{}", others.text);
    assert!(!others.text.contains("Oscar"));
    assert_eq!(l.fingerprint().await, before);
    let ok = post(l, &staff, &hand_out, &[("uid", "04AB12CE")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let page = get(l, &staff, &format!("/portal/office/children/{d}")).await;
    assert!(
        page.text.contains("data-card=\"04AB12CE\""),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn a_child_is_renamed_and_moved_only_to_a_club_of_the_office() {
    let w = world().await;
    let l = &w.l;
    l.club("Bøgen").await;
    let both = [CLUB.to_string(), "Bøgen".to_string()]
        .into_iter()
        .collect();
    let staff = l
        .person(
            "kontor-ab",
            "Kontoret To",
            Some(PersonRole::Office(both)),
            &[],
        )
        .await;
    let staff = l.log_in(staff.id).await;
    let page = format!("/portal/office/children/{}", w.a);
    let renamed = post(
        l,
        &staff,
        &format!("{page}/name"),
        &[("name", " Freja Nør ")],
    )
    .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let refused = post(l, &staff, &format!("{page}/club"), &[("club", OTHER)]).await;
    assert!(refused.text.contains("findes ikke"), "{}", refused.text);
    let club: String = sqlx::query_scalar("SELECT club FROM children WHERE id = $1")
        .bind(w.a.0)
        .fetch_one(&l.pool)
        .await
        .expect("club");
    assert_eq!(club, CLUB);
    let moved = post(l, &staff, &format!("{page}/club"), &[("club", "Bøgen")]).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    let shown = get(l, &staff, &page).await;
    assert!(shown.text.contains("Freja Nør") && shown.text.contains("Bøgen"));
    // The page's log names both steps and who did them.
    assert!(shown.text.contains("Barn omdøbt") && shown.text.contains("Barn flyttet"));
    assert!(shown.text.contains("Kontoret To"));
    // Club A's own staff no longer see the child.
    let a_staff = l.log_in(w.office_a).await;
    assert_eq!(get(l, &a_staff, &page).await.status, StatusCode::NOT_FOUND);
}

/// Handing out from a row of the order list closes that order, not the
/// child's oldest.
#[tokio::test]
async fn an_order_handed_out_is_the_one_its_row_names() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let c = l.enrol_in("Ida", CLUB).await;
    assert!(l.deposit(c, "100.00").await.status.is_success());
    let first = l.first_order(c).await;
    let page = format!("/portal/office/children/{c}");
    let order = uuid::Uuid::now_v7().to_string();
    let fee = klubkasse_ledger::Settings::default()
        .card_fee
        .to_plain_string();
    let ordered = post(
        l,
        &staff,
        &format!("{page}/card-order"),
        &[("order", &order), ("address", "Kontoret"), ("fee", &fee)],
    )
    .await;
    assert_eq!(ordered.status, StatusCode::SEE_OTHER, "{}", ordered.text);
    let path = format!("/portal/office/orders/{order}");
    let handed = post(
        l,
        &staff,
        &path,
        &[("status", "handed_out"), ("uid", "04AB12CF")],
    )
    .await;
    assert_eq!(handed.status, StatusCode::SEE_OTHER, "{}", handed.text);
    let orders: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT id::text, status, card_uid FROM card_orders WHERE child_id = $1 ORDER BY created_at",
    )
    .bind(c.0)
    .fetch_all(&l.pool)
    .await
    .expect("orders");
    assert_eq!(
        orders,
        [
            (first, "ordered".to_string(), None),
            (
                order,
                "handed_out".to_string(),
                Some("04AB12CF".to_string())
            )
        ]
    );
}

/// A payer added on the child's page, checked as the import's columns
/// are, and removed again: kept in the database, gone from the page, both
/// steps in the log with who; another club's office cannot, even with its
/// own valid CSRF token.
#[tokio::test]
async fn the_office_adds_and_removes_a_childs_payer() {
    let w = world().await;
    let l = &w.l;
    let staff = l.log_in(w.office_a).await;
    let page = format!("/portal/office/children/{}", w.a);
    let payers = |l: &Ledger| {
        let pool = l.pool.clone();
        let child = w.a;
        async move {
            klubkasse_ledger::db::payers::for_child(&pool, child)
                .await
                .expect("payers")
        }
    };
    let bad = post(
        l,
        &staff,
        &format!("{page}/payers"),
        &[("name", ""), ("email", "mor@example")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(
        bad.text.contains("Betaleren blev ikke tilføjet") && bad.text.contains("mor@example"),
        "{}",
        bad.text
    );
    assert!(payers(l).await.is_empty());
    let added = post(
        l,
        &staff,
        &format!("{page}/payers"),
        &[("name", " Mette Ørsted "), ("email", "mette@example.dk")],
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let now = payers(l).await;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].name, "Mette Ørsted");
    assert_eq!(now[0].email.as_deref(), Some("mette@example.dk"));
    let payer = now[0].id.to_string();
    // Another club's office: not found, nothing removed.
    let other = l.log_in(w.office_b).await;
    let forged = post(
        l,
        &other,
        &format!("{page}/payers/remove"),
        &[("payer", &payer)],
    )
    .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND);
    // Nor through its own child's address.
    let through_b = format!("/portal/office/children/{}/payers/remove", w.b);
    let answer = post(l, &other, &through_b, &[("payer", &payer)]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(payers(l).await.len(), 1);
    let removed = post(
        l,
        &staff,
        &format!("{page}/payers/remove"),
        &[("payer", &payer)],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(payers(l).await.is_empty());
    let again = post(
        l,
        &staff,
        &format!("{page}/payers/remove"),
        &[("payer", &payer)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "removed once");
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM payers WHERE removed_at IS NOT NULL")
        .fetch_one(&l.pool)
        .await
        .expect("count");
    assert_eq!(kept, 1);
    let shown = get(l, &staff, &page).await;
    assert!(shown.text.contains("Betaler tilføjet") && shown.text.contains("Betaler fjernet"));
    assert!(!shown.text.contains("data-payer"), "no payer listed");
}
