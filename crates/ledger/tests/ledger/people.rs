//! The municipality's pages for staff, clubs and tokens: what they make
//! works (a token made on the page is a token the API takes, and shown
//! once), what they change is logged with who, and nobody else gets in,
//! by address or by a forged form with their own valid CSRF token.

use axum::http::{Method, StatusCode, header};
use klubkasse_ledger::db::office_log::{self, Action, Search};
use klubkasse_ledger::db::people::PersonRole;
use klubkasse_ledger::db::{self, Scope};
use klubkasse_testkit::ledger::*;
use uuid::Uuid;

/// The log's rows of this action, newest first, with who made them.
async fn logged(l: &Ledger, action: Action) -> Vec<(String, serde_json::Value)> {
    let search = Search {
        action: Some(action),
        ..Search::default()
    };
    office_log::search(&l.pool, &Scope::All, &l.time_zone, &search, 100)
        .await
        .expect("the log")
        .rows
        .into_iter()
        .map(|r| (r.actor.name().to_string(), r.after.unwrap_or_default()))
        .collect()
}

/// The token a "shown once" page shows.
fn token_on(page: &str) -> String {
    let start = page.find("data-token=\"").expect("the token on the page") + 12;
    page[start..][..64].to_string()
}

#[tokio::test]
async fn the_municipality_makes_a_counters_token_on_the_page_and_revokes_it() {
    let w = super::scope::world().await;
    let l = &w.l;
    let m = l.log_in(w.municipality).await;
    let made = l
        .page(
            Method::POST,
            "/portal/office/tokens",
            Some(&m),
            &[
                ("csrf", &m.csrf),
                ("label", "Kasse 1 Kastanjen"),
                ("role", "kiosk"),
                ("kiosk", "kasse-1"),
                ("expires", "90d"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    assert_eq!(made.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        made.text.contains("counter = &quot;kasse-1&quot;"),
        "{}",
        made.text
    );
    let token = token_on(&made.text);
    // The counter's token works for a counter's pull, and for nothing else.
    let pull = l
        .call(
            Method::GET,
            "/api/v1/kiosk/changes?since=0",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(pull.status, StatusCode::OK, "{}", pull.text);
    let report = l
        .call(Method::GET, "/api/v1/reports/day", Some(&token), None)
        .await;
    assert_eq!(report.status, StatusCode::FORBIDDEN, "{}", report.text);
    // Listed by label, with its use, never the token itself.
    let list = l
        .page(Method::GET, "/portal/office/tokens", Some(&m), &[])
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.text.contains("Kasse 1 Kastanjen") && list.text.contains("kasse-1"));
    assert!(!list.text.contains(&token), "the list never shows a token");
    let id: Uuid = sqlx::query_scalar("SELECT id FROM tokens WHERE label = 'Kasse 1 Kastanjen'")
        .fetch_one(&l.pool)
        .await
        .expect("the token's row");
    let expires: bool = sqlx::query_scalar(
        "SELECT expires_at BETWEEN now() + interval '89 days' AND now() + interval '91 days'
         FROM tokens WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&l.pool)
    .await
    .expect("expiry");
    assert!(expires, "90 days from now");
    // The same label again, while the first lives: refused, said on the page.
    let again = l
        .page(
            Method::POST,
            "/portal/office/tokens",
            Some(&m),
            &[
                ("csrf", &m.csrf),
                ("label", " Kasse 1 Kastanjen "),
                ("role", "kiosk"),
                ("kiosk", "kasse-2"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.text.contains("allerede det navn"), "{}", again.text);
    // An office token without a club, a kiosk token without a counter.
    for (role, kiosk, says) in [
        ("office", "", "mindst én klub"),
        ("kiosk", " ", "kassens navn"),
    ] {
        let refused = l
            .page(
                Method::POST,
                "/portal/office/tokens",
                Some(&m),
                &[
                    ("csrf", &m.csrf),
                    ("label", "Ny"),
                    ("role", role),
                    ("kiosk", kiosk),
                ],
            )
            .await;
        assert!(refused.text.contains(says), "{role}: {}", refused.text);
    }
    let revoked = l
        .page(
            Method::POST,
            &format!("/portal/office/tokens/{id}/revoke"),
            Some(&m),
            &[("csrf", &m.csrf)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let pull = l
        .call(
            Method::GET,
            "/api/v1/kiosk/changes?since=0",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(pull.status, StatusCode::UNAUTHORIZED);
    let created: Vec<_> = logged(l, Action::TokenCreate)
        .await
        .into_iter()
        .filter(|(who, _)| who == "Kommunen")
        .collect();
    assert_eq!(created.len(), 1, "one token made on the page: {created:?}");
    assert_eq!(created[0].1["kiosk"], "kasse-1");
    let revokes = logged(l, Action::TokenRevoke).await;
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0].0, "Kommunen");
}

#[tokio::test]
async fn only_the_municipality_manages_tokens_staff_and_clubs_even_with_a_valid_csrf_token() {
    let w = super::scope::world().await;
    let l = &w.l;
    let token_id: Uuid = sqlx::query_scalar("SELECT id FROM tokens LIMIT 1")
        .fetch_one(&l.pool)
        .await
        .expect("a token");
    let fingerprint = |l: &Ledger| {
        let pool = l.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "SELECT (SELECT count(*) FROM tokens WHERE revoked_at IS NULL)::text || '/' ||
                        (SELECT count(*) FROM people WHERE role <> 'parent')::text || '/' ||
                        (SELECT string_agg(name, ',' ORDER BY name) FROM clubs)",
            )
            .fetch_one(&pool)
            .await
            .expect("fingerprint")
        }
    };
    let before = fingerprint(l).await;
    for person in [w.office_a, w.office_b, w.parents[0]] {
        let v = l.log_in(person).await;
        let csrf = v.csrf.clone();
        let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
            (
                "/portal/office/tokens".into(),
                vec![("label", "x"), ("role", "admin")],
            ),
            (format!("/portal/office/tokens/{token_id}/revoke"), vec![]),
            (
                "/portal/office/people".into(),
                vec![
                    ("name", "x"),
                    ("email", ""),
                    ("issuer", ISSUER),
                    ("subject", "forged"),
                    ("role", "municipality"),
                ],
            ),
            (
                format!("/portal/office/people/{person}/role"),
                vec![("role", "municipality")],
            ),
            ("/portal/office/clubs".into(), vec![("name", "Ny")]),
            (
                "/portal/office/clubs/rename".into(),
                vec![("old", CLUB), ("new", "Ny")],
            ),
        ];
        for (path, mut fields) in forms {
            fields.push(("csrf", &csrf));
            let answer = l.page(Method::POST, &path, Some(&v), &fields).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{person} {path}");
        }
        for page in ["/portal/office/tokens", "/portal/office/people"] {
            let answer = l.page(Method::GET, page, Some(&v), &[]).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{page}");
        }
    }
    assert_eq!(fingerprint(l).await, before, "nothing changed");
}

#[tokio::test]
async fn the_municipality_adds_staff_gives_them_clubs_and_removes_them_from_the_office() {
    let w = super::scope::world().await;
    let l = &w.l;
    let m = l.log_in(w.municipality).await;
    let page = l
        .page(Method::GET, "/portal/office/people", Some(&m), &[])
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains(CLUB) && page.text.contains("Egetræet"));
    let post = |path: String, fields: Vec<(&'static str, &'static str)>| {
        let m = &m;
        async move {
            let mut form: Vec<(&str, &str)> = fields;
            form.push(("csrf", &m.csrf));
            l.page(Method::POST, &path, Some(m), &form).await
        }
    };
    // Office staff need a club; the page says so and adds nobody.
    let no_club = post(
        "/portal/office/people".into(),
        vec![
            ("name", "Lise"),
            ("email", "lise@kommune.dk"),
            ("issuer", "https://broker.test/"),
            ("subject", "lise-1"),
            ("role", "office"),
        ],
    )
    .await;
    assert!(no_club.text.contains("mindst én klub"), "{}", no_club.text);
    let added = post(
        "/portal/office/people".into(),
        vec![
            ("name", "Lise"),
            ("email", "lise@kommune.dk"),
            ("issuer", "https://broker.test/"),
            ("subject", "lise-1"),
            ("role", "office"),
            ("clubs", "Egetræet"),
        ],
    )
    .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.text);
    // Known by the issuer without its slash: she can log in.
    let lise = db::people::person_of(&l.pool, ISSUER, "lise-1")
        .await
        .expect("query")
        .expect("Lise is known");
    let staff = db::people::staff(&l.pool).await.expect("staff");
    let row = staff.iter().find(|s| s.id == lise).expect("listed");
    assert_eq!(
        row.role,
        PersonRole::Office(["Egetræet".to_string()].into())
    );
    // Her session sees Egetræet's child, not Kastanjen's.
    let lise_in = l.log_in(lise).await;
    let of = |child: klubkasse_core::domain::ChildId| format!("/portal/office/children/{child}");
    assert_eq!(
        l.page(Method::GET, &of(w.b), Some(&lise_in), &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        l.page(Method::GET, &of(w.a), Some(&lise_in), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let moved = post(
        format!("/portal/office/people/{lise}/role"),
        vec![("role", "office"), ("clubs", CLUB)],
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.text);
    // The change holds at once for the session she has.
    assert_eq!(
        l.page(Method::GET, &of(w.a), Some(&lise_in), &[])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        l.page(Method::GET, &of(w.b), Some(&lise_in), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let removed = post(
        format!("/portal/office/people/{lise}/role"),
        vec![("role", "none")],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        l.page(Method::GET, "/portal/office", Some(&lise_in), &[])
            .await
            .status,
        StatusCode::NOT_FOUND,
        "no longer office staff"
    );
    // Nobody changes their own role: the last of the municipality could
    // lock everyone out.
    let own = post(
        format!("/portal/office/people/{}/role", w.municipality),
        vec![("role", "none")],
    )
    .await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.text.contains("Din egen rolle"), "{}", own.text);
    let still = db::people::staff(&l.pool).await.expect("staff");
    assert!(
        still
            .iter()
            .any(|s| s.id == w.municipality && s.role == PersonRole::Municipality)
    );
    // Clubs: a new one, a rename, a name taken.
    let club = post("/portal/office/clubs".into(), vec![("name", " Bøgen ")]).await;
    assert_eq!(club.status, StatusCode::SEE_OTHER);
    let taken = post("/portal/office/clubs".into(), vec![("name", "Bøgen")]).await;
    assert!(taken.text.contains("allerede en klub"), "{}", taken.text);
    let renamed = post(
        "/portal/office/clubs/rename".into(),
        vec![("old", "Bøgen"), ("new", "Bøgehuset")],
    )
    .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let names: Vec<String> = db::clubs::list(&l.pool, &Scope::All)
        .await
        .expect("clubs")
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert!(names.contains(&"Bøgehuset".to_string()) && !names.contains(&"Bøgen".to_string()));
    // Each step in the log, as the municipality's person.
    let roles = logged(l, Action::PersonRole).await;
    assert_eq!(roles.len(), 2, "{roles:?}");
    assert!(roles.iter().all(|(who, _)| who == "Kommunen"));
    assert_eq!(roles[0].1["role"], "parent");
    assert_eq!(roles[1].1["clubs"][0], CLUB);
    let adds = logged(l, Action::PersonAdd).await;
    assert_eq!(adds[0].0, "Kommunen");
    assert_eq!(adds[0].1["details"]["email"], "lise@kommune.dk");
    assert_eq!(logged(l, Action::ClubAdd).await[0].0, "Kommunen");
    assert_eq!(logged(l, Action::ClubRename).await[0].0, "Kommunen");
}
