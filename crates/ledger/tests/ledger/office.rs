//! What the office stands on: clubs as data, people's roles, labelled
//! tokens and their last use, and the office log of who changed what,
//! which nobody may change.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use klubkasse_core::domain::ChildId;
use klubkasse_ledger::MIGRATOR;
use klubkasse_ledger::auth::TokenRole;
use klubkasse_ledger::db::office_log::{self, Action, Search};
use klubkasse_ledger::db::people::PersonRole;
use klubkasse_ledger::db::{self, Actor, Scope};
use klubkasse_testkit::ledger::*;
use serde_json::{Value, json};
use uuid::Uuid;

/// The log of a child, oldest first: (action, actor's name, before, after).
async fn log_of(l: &Ledger, child: ChildId) -> Vec<(String, String, Value, Value)> {
    let mut rows: Vec<_> = office_log::for_child(&l.pool, &l.time_zone, child, 500)
        .await
        .expect("the log")
        .into_iter()
        .map(|row| {
            (
                row.action.map(Action::code).unwrap_or("?").to_string(),
                row.actor.name().to_string(),
                row.before.unwrap_or(Value::Null),
                row.after.unwrap_or(Value::Null),
            )
        })
        .collect();
    rows.reverse();
    rows
}

fn clubs(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// A ledger of the schema before clubs (migrations 1–4) with children,
/// office staff and tokens in it, migrated: every club the children name
/// is a club, office staff keep seeing those clubs, every token gets a
/// label of its own (two made in the same second too), an issuer loses
/// its trailing slash, and a child cannot name a club that is not one.
#[tokio::test]
async fn an_older_ledger_is_upgraded_keeping_what_everyone_sees() {
    let (_url, pool) = fresh_database().await;
    let before = tempfile::TempDir::new().expect("dir");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&source).expect("migrations") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        if name.as_str() < "0005" {
            std::fs::copy(&path, before.path().join(&name)).expect("copy");
        }
    }
    let older = sqlx::migrate::Migrator::new(before.path())
        .await
        .expect("the older migrations");
    older.run(&pool).await.expect("the older schema");
    for (n, club) in ["Kastanjen", "Egetræet", "Kastanjen"].iter().enumerate() {
        sqlx::query("INSERT INTO children (id, name, club, change_seq) VALUES ($1, $2, $3, $4)")
            .bind(Uuid::now_v7())
            .bind(format!("Barn {n}"))
            .bind(club)
            .bind(n as i64 + 1)
            .execute(&pool)
            .await
            .expect("a child");
    }
    let office = Uuid::now_v7();
    for (id, role, issuer) in [
        (office, "office", "https://broker.test/"),
        (Uuid::now_v7(), "parent", "https://broker.test"),
    ] {
        sqlx::query(
            "INSERT INTO people (id, issuer, subject, role, name) VALUES ($1, $2, $3, $4, 'X')",
        )
        .bind(id)
        .bind(issuer)
        .bind(id.to_string())
        .bind(role)
        .execute(&pool)
        .await
        .expect("a person");
    }
    for _ in 0..2 {
        sqlx::query("INSERT INTO tokens (id, hash, role) VALUES ($1, $2, 'admin')")
            .bind(Uuid::now_v7())
            .bind(Uuid::now_v7().as_bytes().to_vec())
            .execute(&pool)
            .await
            .expect("a token");
    }
    MIGRATOR.run(&pool).await.expect("migrate to clubs");
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM clubs ORDER BY name")
        .fetch_all(&pool)
        .await
        .expect("clubs");
    assert_eq!(names, ["Egetræet", "Kastanjen"]);
    let seen: Vec<String> =
        sqlx::query_scalar("SELECT club FROM office_clubs WHERE person_id = $1 ORDER BY club")
            .bind(office)
            .fetch_all(&pool)
            .await
            .expect("office clubs");
    assert_eq!(seen, names, "office staff keep the clubs there were");
    let issuer: String = sqlx::query_scalar("SELECT issuer FROM people WHERE id = $1")
        .bind(office)
        .fetch_one(&pool)
        .await
        .expect("issuer");
    assert_eq!(issuer, "https://broker.test");
    let labels: Vec<String> = sqlx::query_scalar("SELECT label FROM tokens")
        .fetch_all(&pool)
        .await
        .expect("labels");
    assert_eq!(labels.len(), 2);
    assert_ne!(labels[0], labels[1]);
    assert!(labels.iter().all(|l| l.starts_with("token-")), "{labels:?}");
    let unknown = sqlx::query(
        "INSERT INTO children (id, name, club, change_seq) VALUES ($1, 'Ny', 'Bøgen', 99)",
    )
    .bind(Uuid::now_v7())
    .execute(&pool)
    .await;
    assert!(unknown.is_err(), "a child's club must be a club");
}

/// No UPDATE, DELETE or TRUNCATE of the office log goes through, as the
/// role the ledger connects with (here the database's owner), not even
/// one that would touch no row; the rows stay as written.
#[tokio::test]
async fn the_office_log_refuses_every_change_of_a_row() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    l.hand_out(a, CARD_A).await;
    let before = log_of(&l, a).await;
    assert_eq!(before.len(), 2, "{before:?}");
    for statement in [
        "UPDATE office_log SET actor_name = 'someone else'",
        "UPDATE office_log SET after = NULL WHERE action = 'card.hand_out'",
        "UPDATE office_log SET action = 'x.y' WHERE false",
        "DELETE FROM office_log",
        "DELETE FROM office_log WHERE id = (SELECT max(id) FROM office_log)",
        "TRUNCATE office_log",
        "TRUNCATE office_log, children CASCADE",
    ] {
        let refused = sqlx::query(statement)
            .execute(&l.pool)
            .await
            .expect_err(statement);
        assert!(
            refused.to_string().contains("append-only"),
            "{statement}: {refused}"
        );
    }
    assert_eq!(log_of(&l, a).await, before);
    // Writing on goes on.
    l.deposit(a, "10.00").await;
    assert_eq!(log_of(&l, a).await.len(), 3);
}

/// Every change made through the API is in the log with the token that
/// made it, what was before and after; a refused request and a repeated
/// one write nothing.
#[tokio::test]
async fn every_change_through_the_api_is_logged_with_who_made_it() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    let child = format!("/api/v1/children/{a}");
    let ok = |answer: Answer| assert!(answer.status.is_success(), "{}", answer.text);
    ok(l.admin(
        Method::POST,
        &format!("{child}/cards"),
        Some(json!({"uid": CARD_A})),
    )
    .await);
    let id = Uuid::now_v7();
    for _ in 0..2 {
        ok(l.admin(
            Method::POST,
            &format!("{child}/deposits"),
            Some(json!({"amount": "100.00", "id": id})),
        )
        .await);
    }
    let refused = l
        .admin(
            Method::POST,
            &format!("{child}/deposits"),
            Some(json!({"amount": "950.00"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    ok(l.admin(
        Method::POST,
        &format!("{child}/withdrawals"),
        Some(json!({"amount": "20.00"})),
    )
    .await);
    let parent = l.token(TokenRole::Parent, None, &[a]).await;
    ok(l.call(
        Method::PATCH,
        &child,
        Some(&parent),
        Some(json!({"daily_limit": "30.00", "note": "nødder"})),
    )
    .await);
    // The same settings again change nothing.
    ok(l.call(
        Method::PATCH,
        &child,
        Some(&parent),
        Some(json!({"note": "nødder"})),
    )
    .await);
    ok(
        l.admin(Method::POST, &format!("/api/v1/cards/{CARD_A}/block"), None)
            .await,
    );
    ok(
        l.admin(Method::POST, &format!("/api/v1/cards/{CARD_A}/block"), None)
            .await,
    );
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    ok(l.call(
        Method::POST,
        "/api/v1/kiosk/cards",
        Some(&kiosk),
        Some(json!({"action": "unblock", "uid": CARD_A})),
    )
    .await);
    ok(l.admin(
        Method::POST,
        &format!("{child}/card-orders"),
        Some(json!({"address": "Vej 1, 2100 København Ø"})),
    )
    .await);
    let order_id = order_id_of(&l, a, 1).await;
    ok(l.admin(
        Method::PATCH,
        &format!("/api/v1/card-orders/{order_id}"),
        Some(json!({"status": "sent"})),
    )
    .await);
    let labels: Vec<(String, String)> =
        sqlx::query_as("SELECT role, label FROM tokens ORDER BY created_at")
            .fetch_all(&l.pool)
            .await
            .expect("labels");
    let label = |role: &str| {
        labels
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, label)| label.clone())
            .expect("a token of the role")
    };
    let log = log_of(&l, a).await;
    let shape: Vec<(&str, String)> = log
        .iter()
        .map(|(a, who, ..)| (a.as_str(), who.clone()))
        .collect();
    let admin = label("admin");
    assert_eq!(
        shape,
        vec![
            ("child.enrol", admin.clone()),
            ("card.hand_out", admin.clone()),
            ("money.deposit", admin.clone()),
            ("money.withdrawal", admin.clone()),
            ("child.settings", label("parent")),
            ("card.block", admin.clone()),
            ("card.unblock", label("kiosk")),
            ("card.order", admin.clone()),
            ("card_order.status", admin.clone()),
        ],
        "{log:#?}"
    );
    assert_eq!(log[0].3, json!({"name": "Freja", "club": CLUB}));
    assert_eq!(log[1].3["uid"], CARD_A);
    assert_eq!(log[2].2, json!({"balance": "0.00"}));
    assert_eq!(log[2].3["amount"], "100.00");
    assert_eq!(log[2].3["entry"], json!(id));
    assert_eq!(log[3].3["balance"], "80.00");
    assert_eq!(log[4].2["daily_limit"], Value::Null);
    assert_eq!(log[4].3["daily_limit"], "30.00");
    assert_eq!(log[4].3["note"], "nødder");
    assert_eq!(log[5].2["state"], "active");
    assert_eq!(log[5].3["state"], "blocked");
    assert_eq!(log[7].3["cards_blocked"], json!([CARD_A]));
    assert_eq!(log[7].3["fee"], "45.00");
    assert_eq!(log[8].2["status"], "ordered");
    assert_eq!(log[8].3["status"], "sent");
    let clubs_then: Vec<Option<String>> =
        sqlx::query_scalar("SELECT DISTINCT club FROM office_log WHERE child_id = $1")
            .bind(a.0)
            .fetch_all(&l.pool)
            .await
            .expect("clubs");
    assert_eq!(clubs_then, [Some(CLUB.to_string())]);
}

/// The id of a child's card order, by its place (0: the first card's).
async fn order_id_of(l: &Ledger, child: ChildId, place: usize) -> String {
    l.admin(Method::GET, &format!("/api/v1/children/{child}"), None)
        .await
        .body["orders"][place]["id"]
        .as_str()
        .expect("an order")
        .to_string()
}

/// Clubs: added once, renamed with their children, office staff, tokens
/// and books following (entries, report sums), a child moved
/// between clubs within the mover's scope with the move kept, and a child
/// enrolled only in a club that exists (422 naming it otherwise).
#[tokio::test]
async fn clubs_are_added_renamed_and_children_moved_between_them() {
    let l = ledger().await;
    let cli = Actor::command_line();
    l.club("Egetræet").await;
    assert!(db::clubs::add(&l.pool, &cli, "Egetræet").await.is_err());
    let unknown = l
        .admin(
            Method::POST,
            "/api/v1/children",
            Some(json!({"name": "Ny", "club": "Bøgen"})),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    assert_eq!(unknown.error_code(), "unknown_club");
    assert!(unknown.text.contains("Bøgen"), "{}", unknown.text);
    let a = l.funded("Freja", CARD_A, "100.00").await;
    let office = l
        .person(
            "kontoret",
            "Kontoret",
            Some(PersonRole::Office(clubs(&[CLUB]))),
            &[],
        )
        .await;
    let token = l.office_token(&[CLUB]).await;
    db::clubs::rename(&l.pool, &cli, CLUB, "Kastanjehuset")
        .await
        .expect("rename");
    let detail = db::detail(&l.pool, a).await.expect("child");
    assert_eq!(detail.club, "Kastanjehuset");
    let entry_club: String = sqlx::query_scalar("SELECT club FROM entries WHERE child_id = $1")
        .bind(a.0)
        .fetch_one(&l.pool)
        .await
        .expect("entry");
    assert_eq!(
        entry_club, "Kastanjehuset",
        "a renamed club's books carry its new name"
    );
    // Its report sums too, and a new club given the old name has none.
    l.club(CLUB).await;
    let sums: Vec<(String, i64)> = sqlx::query_as(
        "SELECT club, sum(count)::bigint FROM report_hours GROUP BY club ORDER BY club",
    )
    .fetch_all(&l.pool)
    .await
    .expect("report sums");
    assert_eq!(sums, [("Kastanjehuset".to_string(), 1)]);
    let staff: Vec<String> =
        sqlx::query_scalar("SELECT club FROM office_clubs WHERE person_id = $1")
            .bind(office.id)
            .fetch_all(&l.pool)
            .await
            .expect("staff clubs");
    assert_eq!(staff, ["Kastanjehuset"]);
    let seen = l
        .call(
            Method::GET,
            &format!("/api/v1/children/{a}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        seen.status,
        StatusCode::OK,
        "the token follows the rename: {}",
        seen.text
    );
    assert!(
        db::clubs::rename(&l.pool, &cli, "Kastanjehuset", "Egetræet")
            .await
            .is_err()
    );
    assert!(
        db::clubs::rename(&l.pool, &cli, "Bøgen", "Ny")
            .await
            .is_err()
    );
    // A mover sees only their clubs: neither a child nor a club of
    // another's is found.
    let kastanjen = Scope::Clubs(clubs(&["Kastanjehuset"]));
    let mover = Actor::Person {
        id: office.id,
        name: "Kontoret".into(),
    };
    let refused = db::move_child(&l.pool, &mover, &kastanjen, a, "Egetræet").await;
    assert!(matches!(
        refused,
        Err(db::DbError::Refused {
            code: "unknown_club",
            ..
        })
    ));
    let egetraeet = Scope::Clubs(clubs(&["Egetræet"]));
    let refused = db::move_child(&l.pool, &mover, &egetraeet, a, "Egetræet").await;
    assert!(matches!(refused, Err(db::DbError::NotFound(_))));
    let both = Scope::Clubs(clubs(&["Egetræet", "Kastanjehuset"]));
    let moved = db::move_child(&l.pool, &mover, &both, a, "Egetræet")
        .await
        .expect("move");
    assert_eq!(moved.club, "Egetræet");
    db::move_child(&l.pool, &mover, &both, a, "Egetræet")
        .await
        .expect("moving to its own club changes nothing");
    let moves = db::children::club_changes(&l.pool, a).await.expect("moves");
    assert_eq!(moves.len(), 1);
    assert_eq!(
        (
            moves[0].from_club.as_str(),
            moves[0].to_club.as_str(),
            moves[0].by_name.as_str()
        ),
        ("Kastanjehuset", "Egetræet", "Kontoret")
    );
    let log = log_of(&l, a).await;
    let (action, who, before, after) = log.last().expect("the move");
    assert_eq!((action.as_str(), who.as_str()), ("child.move", "Kontoret"));
    assert_eq!(
        (before["club"].as_str(), after["club"].as_str()),
        (Some("Kastanjehuset"), Some("Egetræet"))
    );
    let club_rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT action, before->>'name', after->>'name' FROM office_log
         WHERE action LIKE 'club.%' ORDER BY id",
    )
    .fetch_all(&l.pool)
    .await
    .expect("club rows");
    assert_eq!(
        club_rows,
        [
            ("club.add".to_string(), None, Some(CLUB.to_string())),
            ("club.add".to_string(), None, Some("Egetræet".to_string())),
            (
                "club.rename".to_string(),
                Some(CLUB.to_string()),
                Some("Kastanjehuset".to_string())
            ),
            ("club.add".to_string(), None, Some(CLUB.to_string())),
        ]
    );
}

/// The real `klubkasse-ledger` with the database of a test.
fn ledger_command(l: &Ledger, args: &[&str]) -> std::process::Output {
    std::process::Command::new(&*klubkasse_testkit::bin::LEDGER)
        .args(args)
        .args(["--database-url", &l.url])
        .env("USER", "driftsvagt")
        .env_remove("SUDO_USER")
        .output()
        .expect("run klubkasse-ledger")
}

fn said(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr)
}

/// `klubkasse-ledger person` changes a role only with `--role`: run again
/// without it (a new e-mail, another child), office staff stay office
/// staff of their clubs; `--club` sets an office's clubs and goes only
/// with `--role office`; an issuer with a trailing slash is the same
/// broker. Each change is in the log as the command line's user's.
#[tokio::test]
async fn person_run_again_without_a_role_keeps_the_role() {
    let l = ledger().await;
    l.club("Egetræet").await;
    let a = l.enrol("Freja").await;
    let person = |extra: &[&str]| {
        let base = [
            "person",
            "--issuer",
            "https://broker.test/",
            "--subject",
            "mette",
        ];
        ledger_command(&l, &[&base[..], &["--name", "Mette"], extra].concat())
    };
    let role_of = || async {
        sqlx::query_as::<_, (String, Vec<String>)>(
            "SELECT role, ARRAY(SELECT club FROM office_clubs o WHERE o.person_id = p.id
                               ORDER BY club)
             FROM people p WHERE subject = 'mette'",
        )
        .fetch_one(&l.pool)
        .await
        .expect("the person")
    };
    let made = person(&["--role", "office", "--club", CLUB, "--club", "Egetræet"]);
    assert!(made.status.success(), "{}", said(&made));
    assert!(
        said(&made).contains("added: office staff of Egetræet, Kastanjen"),
        "{}",
        said(&made)
    );
    let again = person(&["--email", "mette@example.dk", "--child", &a.to_string()]);
    assert!(again.status.success(), "{}", said(&again));
    assert!(
        said(&again).contains("updated: office staff of"),
        "{}",
        said(&again)
    );
    assert_eq!(
        role_of().await,
        ("office".into(), vec!["Egetræet".into(), CLUB.into()])
    );
    for (args, why) in [
        (&["--club", CLUB][..], "--club goes with --role office"),
        (&["--role", "office"][..], "needs at least one --club"),
        (
            &["--role", "municipality", "--club", CLUB][..],
            "--club goes with",
        ),
        (&["--role", "office", "--club", "Bøgen"][..], "Bøgen"),
        (&["--role", "boss"][..], "invalid value"),
    ] {
        let refused = person(args);
        assert!(!refused.status.success(), "{args:?}");
        assert!(said(&refused).contains(why), "{args:?}: {}", said(&refused));
    }
    assert_eq!(role_of().await.1, vec!["Egetræet".to_string(), CLUB.into()]);
    let narrowed = person(&["--role", "office", "--club", CLUB]);
    assert!(narrowed.status.success(), "{}", said(&narrowed));
    assert_eq!(role_of().await, ("office".into(), vec![CLUB.into()]));
    let everyone = person(&["--role", "municipality"]);
    assert!(
        said(&everyone).contains("municipality"),
        "{}",
        said(&everyone)
    );
    assert_eq!(role_of().await, ("municipality".into(), vec![]));
    let parent = person(&["--role", "parent"]);
    assert!(parent.status.success());
    assert_eq!(role_of().await, ("parent".into(), vec![]));
    // Without the slash: the same person, not a second one.
    let plain = ledger_command(
        &l,
        &[
            "person",
            "--issuer",
            "https://broker.test",
            "--subject",
            "mette",
            "--name",
            "Mette",
        ],
    );
    assert!(plain.status.success(), "{}", said(&plain));
    let people: i64 = sqlx::query_scalar("SELECT count(*) FROM people")
        .fetch_one(&l.pool)
        .await
        .expect("people");
    assert_eq!(people, 1);
    let found = db::people::person_of(&l.pool, "https://broker.test///", "mette")
        .await
        .expect("lookup");
    assert!(found.is_some());
    let log: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT action, actor_kind, actor_name, after->>'role' FROM office_log
         WHERE action LIKE 'person.%' ORDER BY id",
    )
    .fetch_all(&l.pool)
    .await
    .expect("log");
    let cli = |action: &str, role: Option<&str>| {
        (
            action.to_string(),
            "command_line".to_string(),
            "driftsvagt".to_string(),
            role.map(str::to_string),
        )
    };
    assert_eq!(
        log,
        [
            cli("person.add", Some("office")),
            cli("person.update", None),
            cli("person.role", Some("office")),
            cli("person.role", Some("municipality")),
            cli("person.role", Some("parent")),
        ]
    );
}

/// `token create --label`, `token list` and `token revoke LABEL`: a label
/// is unique among live tokens (free again once revoked), the list shows
/// label, role, counter or clubs, created, last used and expiry and never
/// a token, revoke takes a label or an id; each is in the log.
#[tokio::test]
async fn tokens_are_made_listed_and_revoked_by_their_label() {
    let l = ledger().await;
    let create = |extra: &[&str]| ledger_command(&l, &[&["token", "create"][..], extra].concat());
    let counter = create(&["--label", "Kasse 1", "--role", "kiosk", "--kiosk", "k1"]);
    assert!(counter.status.success(), "{}", said(&counter));
    let kiosk_token = String::from_utf8_lossy(&counter.stdout).trim().to_string();
    let taken = create(&["--label", "Kasse 1", "--role", "admin"]);
    assert!(!taken.status.success());
    assert!(
        said(&taken).contains("«Kasse 1» exists"),
        "{}",
        said(&taken)
    );
    for (args, why) in [
        (&["--role", "admin"][..], "--label"),
        (
            &["--label", " ", "--role", "admin"][..],
            "a token needs a --label",
        ),
        (
            &["--label", "O", "--role", "office"][..],
            "at least one --club",
        ),
        (
            &["--label", "O", "--role", "office", "--club", "Bøgen"][..],
            "Bøgen",
        ),
        (
            &["--label", "O", "--role", "admin", "--club", CLUB][..],
            "only an office token",
        ),
    ] {
        let refused = create(args);
        assert!(!refused.status.success(), "{args:?}");
        assert!(said(&refused).contains(why), "{args:?}: {}", said(&refused));
    }
    let office = create(&[
        "--label",
        "Kontorets script",
        "--role",
        "office",
        "--club",
        CLUB,
    ]);
    assert!(office.status.success(), "{}", said(&office));
    let used = l
        .call(
            Method::GET,
            "/api/v1/kiosk/changes?since=0",
            Some(&kiosk_token),
            None,
        )
        .await;
    assert_eq!(used.status, StatusCode::OK);
    let list = ledger_command(&l, &["token", "list"]);
    assert!(list.status.success(), "{}", said(&list));
    let text = String::from_utf8_lossy(&list.stdout).to_string();
    let header = text.lines().next().expect("a header");
    for column in [
        "label",
        "role",
        "for",
        "created",
        "last used",
        "expires",
        "revoked",
        "id",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let line = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in\n{text}"))
            .to_string()
    };
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let kasse = line("Kasse 1");
    assert!(kasse.contains("kiosk") && kasse.contains("k1"), "{kasse}");
    assert_eq!(
        kasse.matches(&today).count(),
        2,
        "created and last used: {kasse}"
    );
    let script = line("Kontorets script");
    assert!(
        script.contains("office") && script.contains(CLUB),
        "{script}"
    );
    assert_eq!(script.matches(&today).count(), 1, "never used: {script}");
    assert!(
        !text.contains(&kiosk_token) && !text.contains(&l.admin),
        "{text}"
    );
    let revoked = ledger_command(&l, &["token", "revoke", "Kasse 1"]);
    assert!(revoked.status.success(), "{}", said(&revoked));
    let refused = l
        .call(
            Method::GET,
            "/api/v1/kiosk/changes?since=0",
            Some(&kiosk_token),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let gone = ledger_command(&l, &["token", "revoke", "Kasse 1"]);
    assert!(
        !gone.status.success(),
        "a revoked label names no live token"
    );
    assert!(
        said(&gone).contains("no token with the id or label «Kasse 1»"),
        "{}",
        said(&gone)
    );
    let again = create(&["--label", "Kasse 1", "--role", "kiosk", "--kiosk", "k1"]);
    assert!(
        again.status.success(),
        "the label is free again: {}",
        said(&again)
    );
    let list = String::from_utf8_lossy(&ledger_command(&l, &["token", "list"]).stdout).to_string();
    let revoked_line = list.lines().last().expect("the revoked one last");
    assert!(
        revoked_line.starts_with("Kasse 1") && revoked_line.matches(&today).count() == 3,
        "{list}"
    );
    let log: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT action, actor_name, coalesce(after->>'label', before->>'label') FROM office_log
         WHERE action LIKE 'token.%' AND actor_name = 'driftsvagt' ORDER BY id",
    )
    .fetch_all(&l.pool)
    .await
    .expect("log");
    let row = |action: &str, label: &str| {
        (
            action.to_string(),
            "driftsvagt".to_string(),
            Some(label.to_string()),
        )
    };
    assert_eq!(
        log,
        [
            row("token.create", "Kasse 1"),
            row("token.create", "Kontorets script"),
            row("token.revoke", "Kasse 1"),
            row("token.create", "Kasse 1"),
        ]
    );
}

/// A token's last use is written when it is a minute old or more, not on
/// every request.
#[tokio::test]
async fn a_tokens_last_use_is_written_at_most_once_a_minute() {
    let l = ledger().await;
    let last_used = || async {
        sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
            "SELECT last_used_at FROM tokens WHERE hash = $1",
        )
        .bind(klubkasse_ledger::auth::hash_token(&l.admin))
        .fetch_one(&l.pool)
        .await
        .expect("token")
    };
    assert_eq!(last_used().await, None);
    l.admin(Method::GET, "/api/v1/children", None).await;
    let first = last_used().await.expect("used");
    for _ in 0..5 {
        l.admin(Method::GET, "/api/v1/children", None).await;
    }
    assert_eq!(
        last_used().await,
        Some(first),
        "written once within the minute"
    );
    sqlx::query("UPDATE tokens SET last_used_at = now() - interval '61 seconds'")
        .execute(&l.pool)
        .await
        .expect("let a minute pass");
    let older = last_used().await.expect("used");
    l.admin(Method::GET, "/api/v1/children", None).await;
    assert!(last_used().await.expect("used") > older);
    // An expired token's attempt is no use.
    let expired = l.expired_token().await;
    l.call(Method::GET, "/api/v1/children", Some(&expired), None)
        .await;
    let untouched: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tokens WHERE expires_at < now() AND last_used_at IS NOT NULL",
    )
    .fetch_one(&l.pool)
    .await
    .expect("count");
    assert_eq!(untouched, 0);
}

/// The log's search: within the reader's clubs (the row's club then or
/// the child's now), by text, action, club and days, a page at a time.
#[tokio::test]
async fn the_log_is_searched_within_a_scope_a_page_at_a_time() {
    let l = ledger().await;
    l.club("Egetræet").await;
    let a = l.enrol("Freja").await;
    let b = l.enrol_in("Oscar", "Egetræet").await;
    for n in 0..3 {
        l.deposit(a, &format!("1{n}.00")).await;
        l.deposit(b, "5.00").await;
    }
    let search = |scope: Scope, search: Search, limit: i64| {
        let pool = l.pool.clone();
        let time_zone = l.time_zone.clone();
        async move {
            office_log::search(&pool, &scope, &time_zone, &search, limit)
                .await
                .expect("search")
        }
    };
    let kastanjen = || Scope::Clubs(clubs(&[CLUB]));
    let page = search(kastanjen(), Search::default(), 100).await;
    let (of_children, of_the_club): (Vec<_>, Vec<_>) =
        page.rows.iter().partition(|r| r.child.is_some());
    assert!(
        of_children.iter().all(|r| r.child == Some(a)),
        "only Kastanjen's"
    );
    assert_eq!(of_children.len(), 4, "enrolment and three deposits");
    assert_eq!(of_the_club.len(), 1);
    assert_eq!(of_the_club[0].action, Some(Action::ClubAdd));
    assert_eq!(of_the_club[0].club.as_deref(), Some(CLUB));
    assert_eq!(page.next, None);
    let all = search(Scope::All, Search::default(), 100).await;
    assert!(all.rows.iter().any(|r| r.action == Some(Action::ClubAdd)));
    assert!(
        all.rows
            .iter()
            .any(|r| r.action == Some(Action::TokenCreate))
    );
    assert!(
        all.rows.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );
    let by_text = Search {
        text: Some("oscar".into()),
        ..Search::default()
    };
    assert_eq!(search(Scope::All, by_text.clone(), 100).await.rows.len(), 4);
    assert!(search(kastanjen(), by_text, 100).await.rows.is_empty());
    let in_amounts = Search {
        text: Some("11.00".into()),
        ..Search::default()
    };
    assert_eq!(search(Scope::All, in_amounts, 100).await.rows.len(), 1);
    let literal = Search {
        text: Some("%".into()),
        ..Search::default()
    };
    assert!(search(Scope::All, literal, 100).await.rows.is_empty());
    let deposits_of_egetraeet = Search {
        action: Some(Action::MoneyDeposit),
        club: Some("Egetræet".into()),
        ..Search::default()
    };
    let rows = search(Scope::All, deposits_of_egetraeet, 100).await.rows;
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.child_name.as_deref() == Some("Oscar"))
    );
    let today = l.today().await;
    let yesterday = today.pred_opt().expect("a day before");
    let before_today = Search {
        to: Some(yesterday),
        ..Search::default()
    };
    assert!(search(Scope::All, before_today, 100).await.rows.is_empty());
    let since_today = Search {
        from: Some(today),
        to: Some(today),
        ..Search::default()
    };
    assert_eq!(
        search(Scope::All, since_today, 100).await.rows.len(),
        all.rows.len()
    );
    let mut seen = Vec::new();
    let mut next = None;
    loop {
        let page = search(
            Scope::All,
            Search {
                before_id: next,
                ..Search::default()
            },
            3,
        )
        .await;
        assert!(page.rows.len() <= 3);
        seen.extend(page.rows.iter().map(|r| r.id));
        match page.next {
            Some(id) => next = Some(id),
            None => break,
        }
    }
    assert_eq!(seen, all.rows.iter().map(|r| r.id).collect::<Vec<_>>());
    // The new club's staff see a moved child's whole history; the old
    // club's what happened while it was theirs, and the move.
    let both = Scope::Clubs(clubs(&[CLUB, "Egetræet"]));
    let office = Actor::Person {
        id: Uuid::now_v7(),
        name: "Kontoret".into(),
    };
    db::move_child(&l.pool, &office, &both, b, CLUB)
        .await
        .expect("move");
    let rows = search(kastanjen(), Search::default(), 100).await.rows;
    assert_eq!(rows.iter().filter(|r| r.child == Some(b)).count(), 5);
    let egetraeet = search(Scope::Clubs(clubs(&["Egetræet"])), Search::default(), 100).await;
    let moved = egetraeet.rows.iter().filter(|r| r.child == Some(b)).count();
    assert_eq!(moved, 5, "its deposits, enrolment and the move");
    l.deposit(b, "1.00").await;
    let later = search(Scope::Clubs(clubs(&["Egetræet"])), Search::default(), 100).await;
    assert_eq!(
        later.rows.len(),
        egetraeet.rows.len(),
        "not what came after"
    );
}

/// `klubkasse-ledger club add`, `club list` and `club rename`, each in the
/// log as the command line's.
#[tokio::test]
async fn the_club_commands_add_list_and_rename() {
    let l = ledger().await;
    l.enrol("Freja").await;
    let added = ledger_command(&l, &["club", "add", " Egetræet "]);
    assert!(added.status.success(), "{}", said(&added));
    let again = ledger_command(&l, &["club", "add", "Egetræet"]);
    assert!(!again.status.success());
    assert!(
        said(&again).contains("there is a club «Egetræet» already"),
        "{}",
        said(&again)
    );
    let empty = ledger_command(&l, &["club", "add", "  "]);
    assert!(!empty.status.success() && said(&empty).contains("must not be empty"));
    let renamed = ledger_command(&l, &["club", "rename", CLUB, "Kastanjehuset"]);
    assert!(renamed.status.success(), "{}", said(&renamed));
    let unknown = ledger_command(&l, &["club", "rename", "Bøgen", "Ny"]);
    assert!(!unknown.status.success() && said(&unknown).contains("no club «Bøgen»"));
    let list = ledger_command(&l, &["club", "list"]);
    let text = String::from_utf8_lossy(&list.stdout).to_string();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["club", "children", "created"]);
    assert_eq!(rows[1][..2], ["Egetræet", "0"]);
    assert_eq!(rows[2][..2], ["Kastanjehuset", "1"]);
    let log: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, actor_name FROM office_log
         WHERE action LIKE 'club.%' AND actor_name = 'driftsvagt' ORDER BY id",
    )
    .fetch_all(&l.pool)
    .await
    .expect("log");
    let row = |action: &str| (action.to_string(), "driftsvagt".to_string());
    assert_eq!(log, [row("club.add"), row("club.rename")]);
}
