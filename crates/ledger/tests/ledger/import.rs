//! The office's import of a club's children: a Danish Excel file read as
//! it is, all rows or none, the club's scope, payers and birth dates kept,
//! the log written, and the command line's --dry-run writing nothing.

use std::collections::BTreeSet;

use klubkasse_core::i18n::Language;
use klubkasse_ledger::db::office_log::{self, Action, Search};
use klubkasse_ledger::db::{self, Actor, DbError, Scope};
use klubkasse_ledger::import;
use klubkasse_testkit::ledger::*;
use serde_json::json;

/// A file as Danish Excel saves «CSV (semikolonsepareret)»: Windows-1252,
/// `;`, CRLF, Danish headers; `bad` puts a mistake on the first row.
pub fn excel_file(children: usize, bad: bool) -> Vec<u8> {
    let mut text = String::from(
        "Navn;Fødselsdato;Betaler1_navn;Betaler1_email;Betaler2_navn;Betaler2_email\r\n",
    );
    for i in 1..=children {
        let born = if bad && i == 1 {
            "31-02-2015".to_string()
        } else {
            format!("{:02}-06-2016", i % 28 + 1)
        };
        text.push_str(&format!(
            "Søren Ærø {i};{born};Mette Ærø;mette{i}@example.dk;Bo Ærø;\r\n"
        ));
    }
    encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
}

async fn count(l: &Ledger, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&l.pool)
        .await
        .expect(sql)
}

async fn import_into(
    l: &Ledger,
    scope: &Scope,
    club: &str,
    bytes: &[u8],
) -> Result<db::children::Enrolled, DbError> {
    let rows = import::parse(bytes, l.today().await, None).expect("a good file");
    db::enrol_all(
        &l.pool,
        &Actor::command_line(),
        scope,
        club,
        &import::enrolments(&rows),
        import::source("børn.csv", bytes),
        false,
    )
    .await
}

#[tokio::test]
async fn a_danish_excel_file_of_30_children_is_enrolled_in_one_go() {
    let l = ledger().await;
    let bytes = excel_file(30, false);
    let enrolled = import_into(&l, &Scope::All, CLUB, &bytes)
        .await
        .expect("imported");
    assert_eq!(enrolled.children.len(), 30);
    assert_eq!(
        count(&l, "SELECT count(*) FROM children WHERE club = 'Kastanjen'").await,
        30
    );
    // Each has its free first card ordered, its payers and birth date.
    assert_eq!(
        count(
            &l,
            "SELECT count(*) FROM card_orders WHERE fee = 0 AND status = 'ordered'"
        )
        .await,
        30
    );
    let first = enrolled.children[0];
    let payers = db::payers::for_child(&l.pool, first).await.expect("payers");
    let names: Vec<(&str, Option<&str>)> = payers
        .iter()
        .map(|p| (p.name.as_str(), p.email.as_deref()))
        .collect();
    assert_eq!(
        names,
        [("Mette Ærø", Some("mette1@example.dk")), ("Bo Ærø", None)]
    );
    let (name, born): (String, Option<chrono::NaiveDate>) =
        sqlx::query_as("SELECT name, birth_date FROM children WHERE id = $1")
            .bind(first.0)
            .fetch_one(&l.pool)
            .await
            .expect("child");
    assert_eq!(name, "Søren Ærø 1");
    assert_eq!(born, chrono::NaiveDate::from_ymd_opt(2016, 6, 2));
    // One log row per child, one for the import, with the file's digest.
    assert_eq!(
        count(
            &l,
            "SELECT count(*) FROM office_log WHERE action = 'child.enrol'"
        )
        .await,
        30
    );
    let search = Search {
        action: Some(Action::ChildImport),
        ..Search::default()
    };
    let rows = office_log::search(&l.pool, &Scope::All, &l.time_zone, &search, 10)
        .await
        .expect("log")
        .rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].club.as_deref(), Some(CLUB));
    assert_eq!(
        rows[0].after,
        Some(
            json!({ "children": 30, "source": { "file": "børn.csv", "sha256": import::digest(&bytes) } })
        )
    );
}

#[tokio::test]
async fn a_bad_row_first_imports_nothing_and_names_its_line() {
    let err = import::parse(
        &excel_file(30, true),
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        None,
    )
    .expect_err("a bad file");
    assert_eq!(
        err.lines(Language::DA, "børn.csv"),
        ["børn.csv linje 2, kolonne Fødselsdato: «31-02-2015» er ikke en dag i kalenderen"]
    );
    // Nothing reaches the database: the check comes before it.
    let l = ledger().await;
    assert_eq!(count(&l, "SELECT count(*) FROM children").await, 0);
}

#[tokio::test]
async fn office_staff_of_another_club_import_nothing_there() {
    let l = ledger().await;
    l.club("Bøgen").await;
    let only_b = Scope::Clubs(BTreeSet::from(["Bøgen".to_string()]));
    let err = import_into(&l, &only_b, CLUB, &excel_file(3, false))
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            DbError::Refused {
                code: "unknown_club",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(count(&l, "SELECT count(*) FROM children").await, 0);
    assert_eq!(count(&l, "SELECT count(*) FROM payers").await, 0);
    assert_eq!(
        count(
            &l,
            "SELECT count(*) FROM office_log WHERE action LIKE 'child.%'"
        )
        .await,
        0
    );
    // Their own club takes it.
    import_into(&l, &only_b, "Bøgen", &excel_file(3, false))
        .await
        .expect("their club");
    assert_eq!(
        count(&l, "SELECT count(*) FROM children WHERE club = 'Bøgen'").await,
        3
    );
}

fn ledger_cli(l: &Ledger, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_klubkasse-ledger"))
        .args(args)
        .env("DATABASE_URL", &l.url)
        .output()
        .expect("klubkasse-ledger runs")
}

#[tokio::test]
async fn the_command_line_imports_and_its_dry_run_writes_nothing() {
    let l = ledger().await;
    let dir = tempfile::TempDir::new().expect("dir");
    let file = dir.path().join("børn.csv");
    std::fs::write(&file, excel_file(30, false)).expect("file");
    let file = file.to_str().expect("utf-8 path");

    let dry = ledger_cli(&l, &["import-children", file, "--club", CLUB, "--dry-run"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(String::from_utf8_lossy(&dry.stdout).contains("30 children would be enrolled"));
    assert_eq!(count(&l, "SELECT count(*) FROM children").await, 0);
    assert_eq!(
        count(
            &l,
            "SELECT count(*) FROM office_log WHERE action LIKE 'child.%'"
        )
        .await,
        0
    );

    let unknown = ledger_cli(&l, &["import-children", file, "--club", "Egen"]);
    assert!(!unknown.status.success());

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, excel_file(30, true)).expect("file");
    let run = ledger_cli(
        &l,
        &["import-children", bad.to_str().unwrap(), "--club", CLUB],
    );
    assert!(!run.status.success());
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(
        said.contains("linje 2, kolonne Fødselsdato") && said.contains("intet blev importeret"),
        "{said}"
    );
    assert_eq!(count(&l, "SELECT count(*) FROM children").await, 0);

    let run = ledger_cli(&l, &["import-children", file, "--club", CLUB]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(count(&l, "SELECT count(*) FROM children").await, 30);
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT actor_kind, action FROM office_log WHERE action = 'child.import'")
            .fetch_all(&l.pool)
            .await
            .expect("log");
    assert_eq!(
        rows,
        [("command_line".to_string(), "child.import".to_string())]
    );
}

/// A ledger with a portal, club B, and office staff of each club.
async fn offices() -> (Ledger, Visitor, Visitor) {
    use klubkasse_ledger::Settings;
    use klubkasse_ledger::db::people::PersonRole;
    let l = ledger().await.with_portal(Settings::default());
    l.club("Bøgen").await;
    let mut staff = Vec::new();
    for (subject, club) in [("kontor-a", CLUB), ("kontor-b", "Bøgen")] {
        let role = PersonRole::Office(BTreeSet::from([club.to_string()]));
        let person = l.person(subject, subject, Some(role), &[]).await.id;
        staff.push(l.log_in(person).await);
    }
    let b = staff.pop().expect("b");
    let a = staff.pop().expect("a");
    (l, a, b)
}

/// Posts the upload (or the confirmation) as a browser does.
async fn post_import(l: &Ledger, who: &Visitor, fields: &[(&str, &[u8])]) -> Answer {
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;
    let mut fields = fields.to_vec();
    fields.push(("csrf", who.csrf.as_bytes()));
    let (content_type, body) = multipart_bytes(&fields);
    let request = Request::post("/portal/office/import")
        .header(
            "cookie",
            format!(
                "{}={}",
                klubkasse_ledger::portal::session::SESSION_COOKIE,
                who.cookie
            ),
        )
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("request");
    let response = l.app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    Answer {
        status,
        headers: Default::default(),
        body: serde_json::Value::Null,
        text: String::from_utf8_lossy(&bytes).to_string(),
    }
}

/// The hidden field `name`'s value in a page (maud escapes `&<>"`).
fn hidden(page: &str, name: &str) -> String {
    let start = page.find(&format!("name=\"{name}\" value=\"")).expect(name) + name.len() + 15;
    page[start..start + page[start..].find('"').expect("end")].to_string()
}

/// The confirmation's text, as the browser sends a textarea: CRLF.
fn content(page: &str) -> String {
    let start = page.find("name=\"content\" hidden>").expect("content") + 22;
    let text = &page[start..start + page[start..].find("</textarea>").expect("end")];
    text.strip_prefix('\n')
        .unwrap_or(text)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace('\n', "\r\n")
}

#[tokio::test]
async fn the_office_previews_then_confirms_exactly_what_was_shown() {
    let (l, a, b) = offices().await;
    // The bad file: nothing written, the line named.
    let bad = post_import(
        &l,
        &a,
        &[("club", CLUB.as_bytes()), ("file", &excel_file(30, true))],
    )
    .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert!(
        bad.text
            .contains("children.csv linje 2, kolonne Fødselsdato"),
        "{}",
        bad.text
    );
    // The good one: a preview, nothing written yet.
    let preview = post_import(
        &l,
        &a,
        &[("club", CLUB.as_bytes()), ("file", &excel_file(30, false))],
    )
    .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert!(preview.text.contains("Søren Ærø 30"));
    assert_eq!(count(&l, "SELECT count(*) FROM children").await, 0);
    let digest = hidden(&preview.text, "digest");
    let text = content(&preview.text);
    let confirm = |text: String, club: &'static str, digest: String| {
        let (l, a) = (&l, &a);
        async move {
            post_import(
                l,
                a,
                &[
                    ("club", club.as_bytes()),
                    ("file_name", b"children.csv"),
                    ("digest", digest.as_bytes()),
                    ("content", text.as_bytes()),
                ],
            )
            .await
        }
    };
    // Not what was shown: refused, nothing written.
    let forged = confirm(
        text.replace("Søren Ærø 30", "Mallory"),
        CLUB,
        digest.clone(),
    )
    .await;
    assert_eq!(forged.status, 422, "{}", forged.text);
    // Another club's staff with their own CSRF token, and A's digest: not found.
    let by_b = post_import(
        &l,
        &b,
        &[
            ("club", CLUB.as_bytes()),
            ("digest", digest.as_bytes()),
            ("content", text.as_bytes()),
        ],
    )
    .await;
    assert_eq!(by_b.status, 404, "{}", by_b.text);
    let by_b = post_import(
        &l,
        &b,
        &[("club", CLUB.as_bytes()), ("file", &excel_file(30, false))],
    )
    .await;
    assert_eq!(by_b.status, 404, "{}", by_b.text);
    assert_eq!(count(&l, "SELECT count(*) FROM children").await, 0);
    assert_eq!(
        count(
            &l,
            "SELECT count(*) FROM office_log WHERE action LIKE 'child.%'"
        )
        .await,
        0
    );

    let done = confirm(text, CLUB, digest).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(
        done.text.contains("30 børn er indmeldt i Kastanjen"),
        "{}",
        done.text
    );
    assert_eq!(
        count(&l, "SELECT count(*) FROM children WHERE club = 'Kastanjen'").await,
        30
    );
    let by: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor_kind, actor_name FROM office_log WHERE action = 'child.import'",
    )
    .fetch_all(&l.pool)
    .await
    .expect("log");
    assert_eq!(by, [("person".to_string(), "kontor-a".to_string())]);
}

#[tokio::test]
async fn a_file_too_large_is_refused_with_a_message() {
    let (l, a, _) = offices().await;
    let big = vec![b'a'; 1024 * 1024];
    let answer = post_import(&l, &a, &[("club", CLUB.as_bytes()), ("file", &big)]).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert!(
        answer.text.contains("Filen er for stor: højst 900 kB"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn one_child_on_the_form_with_payers_and_a_forged_club_refused() {
    let (l, a, b) = offices().await;
    let form = |club: &'static str, csrf: String| {
        vec![
            ("club", club.to_string()),
            ("name", "Alma Ærø".to_string()),
            ("birth_date", "24-12-2016".to_string()),
            ("payer1_name", "Mette Ærø".to_string()),
            ("payer1_email", "mette@example.dk".to_string()),
            ("csrf", csrf),
        ]
    };
    let forged = post_enrol(&l, &b, form(CLUB, b.csrf.clone())).await;
    assert_eq!(forged.status, 404, "{}", forged.text);
    assert_eq!(count(&l, "SELECT count(*) FROM children").await, 0);
    let mut bad = form(CLUB, a.csrf.clone());
    bad[2].1 = "31-02-2016".into();
    let answer = post_enrol(&l, &a, bad).await;
    assert_eq!(answer.status, 422);
    assert!(
        answer
            .text
            .contains("«31-02-2016» er ikke en dag i kalenderen"),
        "{}",
        answer.text
    );
    let answer = post_enrol(&l, &a, form(CLUB, a.csrf.clone())).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        answer.text.contains("Alma Ærø er indmeldt i Kastanjen"),
        "{}",
        answer.text
    );
    assert_eq!(
        count(
            &l,
            "SELECT count(*) FROM payers WHERE email = 'mette@example.dk'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &l,
            "SELECT count(*) FROM children WHERE birth_date = '2016-12-24'"
        )
        .await,
        1
    );
    // The payer is on the child's page at the office.
    let child: uuid::Uuid = sqlx::query_scalar("SELECT id FROM children WHERE name = 'Alma Ærø'")
        .fetch_one(&l.pool)
        .await
        .unwrap();
    let page = l
        .page(
            axum::http::Method::GET,
            &format!("/portal/office/children/{child}"),
            Some(&a),
            &[],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("Mette Ærø · mette@example.dk"),
        "{}",
        page.text
    );
}

async fn post_enrol(l: &Ledger, who: &Visitor, fields: Vec<(&'static str, String)>) -> Answer {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    l.page(
        axum::http::Method::POST,
        "/portal/office/enrol",
        Some(who),
        &fields,
    )
    .await
}
