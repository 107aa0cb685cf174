//! Bearer tokens: lifetimes, revocation, hashes only, never in the log,
//! and the real `token` command.

use axum::http::{Method, StatusCode};
use klubkasse_ledger::auth::{TokenRole, TokenSpec, create_token, parse_lifetime, revoke_token};
use klubkasse_ledger::db::Actor;
use klubkasse_testkit::ledger::*;
use uuid::Uuid;

/// `token create --expires-in`: the token works until then, and is 401
/// `token_expired` after; a token made without a lifetime never expires.
#[tokio::test]
async fn a_token_works_until_it_expires() {
    let l = ledger().await;
    let spec = TokenSpec {
        lifetime: Some(parse_lifetime("12h").expect("lifetime")),
        ..spec("twelve hours", TokenRole::Admin)
    };
    let made = create_token(&l.pool, &Actor::command_line(), &spec)
        .await
        .expect("token");
    let hours_left: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - now())::float8 / 3600 FROM tokens WHERE id = $1",
    )
    .bind(made.id)
    .fetch_one(&l.pool)
    .await
    .expect("expires_at");
    assert!((11.9..=12.0).contains(&hours_left), "{hours_left} hours");
    let never: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT expires_at FROM tokens WHERE hash = $1")
            .bind(klubkasse_ledger::auth::hash_token(&l.admin))
            .fetch_one(&l.pool)
            .await
            .expect("admin token");
    assert_eq!(never, None);
    let children = "/api/v1/children";
    let answer = l.call(Method::GET, children, Some(&made.token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    sqlx::query("UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1")
        .bind(made.id)
        .execute(&l.pool)
        .await
        .expect("let the clock run");
    let answer = l.call(Method::GET, children, Some(&made.token), None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
    assert_eq!(answer.error_code(), "token_expired");
    assert!(
        answer.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired")),
        "{}",
        answer.text
    );
}

/// `token revoke` takes effect at once: the very next request is 401.
#[tokio::test]
async fn a_revoked_token_is_refused_on_the_very_next_request() {
    let l = ledger().await;
    let spec = TokenSpec {
        kiosk: Some("k1"),
        ..spec("kasse 1", TokenRole::Kiosk)
    };
    let actor = Actor::command_line();
    let made = create_token(&l.pool, &actor, &spec).await.expect("token");
    let changes = "/api/v1/kiosk/changes?since=0";
    let answer = l.call(Method::GET, changes, Some(&made.token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let id = made.id.to_string();
    revoke_token(&l.pool, &actor, &id).await.expect("revoke");
    let answer = l.call(Method::GET, changes, Some(&made.token), None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
    assert_eq!(answer.error_code(), "unauthorized");
    // Revoking again, or a token that never was, is told apart.
    revoke_token(&l.pool, &actor, &id)
        .await
        .expect("revoke twice");
    assert!(
        revoke_token(&l.pool, &actor, &Uuid::now_v7().to_string())
            .await
            .is_err()
    );
}

/// No column of any table holds a token, in clear or as the hex of its
/// text, after tokens of every role were made and used.
#[tokio::test]
async fn tokens_are_stored_only_as_hashes() {
    let l = ledger().await;
    let a = l.enrol("Freja").await;
    let tokens = [
        l.admin.clone(),
        l.token(TokenRole::Kiosk, Some("k1"), &[]).await,
        l.token(TokenRole::Parent, None, &[a]).await,
        l.revoked_token().await,
        l.expired_token().await,
    ];
    for token in &tokens {
        l.call(Method::GET, "/api/v1/children", Some(token), None)
            .await;
    }
    let rows = klubkasse_testkit::ledger::every_row(&l.pool).await;
    assert!(
        rows.iter().any(|(t, _)| t.ends_with(".tokens")),
        "no token rows"
    );
    // A row as text shows bytea as \x and hex: raw token bytes would show too.
    for (table, row) in &rows {
        let row = row.to_lowercase();
        for token in &tokens {
            let hex_of_text = hex::encode(token.as_bytes());
            assert!(
                !row.contains(&token.to_lowercase()) && !row.contains(&hex_of_text),
                "{table} holds a token: {row}"
            );
        }
    }
}

/// The real `klubkasse-ledger serve` at RUST_LOG=trace logs every request,
/// and no token appears in anything it writes, whether valid, wrong, expired,
/// revoked or sent in a malformed header.
#[tokio::test]
async fn tokens_never_reach_the_log() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = ledger().await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let tokens = [
        l.admin.clone(),
        kiosk.clone(),
        l.revoked_token().await,
        l.expired_token().await,
        "f".repeat(64),
    ];
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port();
    let mut server = std::process::Command::new(&*klubkasse_testkit::bin::LEDGER)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", &l.url])
        .env("RUST_LOG", "trace")
        .env("NO_COLOR", "1")
        // The log goes to standard output (tracing-subscriber's default).
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start klubkasse-ledger");
    let read_all = |mut from: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            from.read_to_string(&mut text).expect("read the log");
            text
        })
    };
    let stdout = read_all(Box::new(server.stdout.take().expect("stdout")));
    let stderr = read_all(Box::new(server.stderr.take().expect("stderr")));
    let request = |path: &str, authorization: String, body: &str| {
        let head = if body.is_empty() { "GET" } else { "POST" };
        format!(
            "{head} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {authorization}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let mut requests = Vec::new();
    for token in &tokens {
        requests.push(request("/api/v1/children", format!("Bearer {token}"), ""));
        requests.push(request(
            "/api/v1/kiosk/changes?since=0",
            format!("Bearer {token}"),
            "",
        ));
        requests.push(request(
            "/api/v1/children",
            format!("Bearer {token}"),
            r#"{"name": 1}"#,
        ));
        requests.push(request("/metrics", format!("Basic {token}"), ""));
    }
    // Nor what an address carries after its path: a letter's QR code
    // (`/portal/activate?code=…`), the broker's code and state coming
    // back, a child's name searched for.
    let in_queries = ["K7QF-2M9X-PT4D", "broker-code-7f1c", "Freja+%C3%98rsted"];
    for path in [
        format!("/portal/activate?code={}", in_queries[0]),
        format!("/portal/callback?code={}&state=s", in_queries[1]),
        format!("/portal/office/children?q={}", in_queries[2]),
    ] {
        requests.push(request(&path, String::new(), ""));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut statuses = Vec::new();
    for text in &requests {
        let answer = loop {
            match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                Ok(mut stream) => {
                    stream.write_all(text.as_bytes()).await.expect("write");
                    let mut answer = String::new();
                    stream.read_to_string(&mut answer).await.expect("read");
                    break answer;
                }
                Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("the ledger did not start: {e}"),
            }
        };
        statuses.push(answer.lines().next().unwrap_or_default().to_string());
    }
    // Stop it (SIGTERM: a graceful shutdown), then read all it wrote.
    let _ = std::process::Command::new("kill")
        .arg(server.id().to_string())
        .status();
    let _ = server.wait();
    let log = stdout.join().expect("log reader") + &stderr.join().expect("log reader");
    assert_eq!(statuses.iter().filter(|s| s.contains(" 200 ")).count(), 2);
    assert!(
        log.contains("/api/v1/kiosk/changes") && log.lines().count() > requests.len(),
        "the log shows the requests at trace level:\n{log}"
    );
    assert!(log.contains("/portal/activate"), "{log}");
    for secret in in_queries {
        assert!(
            !log.contains(secret) && !log.contains("Ørsted"),
            "{secret} is in the log:\n{log}"
        );
    }
    for token in &tokens {
        assert!(
            !log.contains(token.as_str()),
            "a token is in the log:\n{log}"
        );
    }
}

/// The real `klubkasse-ledger token create --expires-in` and `token revoke`:
/// the printed token works, expires when it says, and is refused once revoked.
#[tokio::test]
async fn token_create_with_expires_in_and_revoke_from_the_command_line() {
    let l = ledger().await;
    let ledger_command = |args: &[&str]| {
        std::process::Command::new(&*klubkasse_testkit::bin::LEDGER)
            .args(args)
            .args(["--database-url", &l.url])
            .output()
            .expect("run klubkasse-ledger")
    };
    let create = ["token", "create", "--label", "script", "--role", "admin"];
    let refused = ledger_command(&[&create[..], &["--expires-in", "12x"]].concat());
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("e.g. 90d, 12h"), "{said}");
    let made = ledger_command(&[&create[..], &["--expires-in", "90d"]].concat());
    assert!(made.status.success(), "{made:?}");
    let token = String::from_utf8(made.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let said = String::from_utf8_lossy(&made.stderr);
    let id = said
        .split_whitespace()
        .nth(2)
        .expect("token id on stderr")
        .to_string();
    let days_left: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at - now())::float8 / 86400 FROM tokens WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&l.pool)
    .await
    .expect("expires_at");
    assert!((89.9..=90.0).contains(&days_left), "{days_left} days");
    let children = "/api/v1/children";
    let answer = l.call(Method::GET, children, Some(&token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let revoked = ledger_command(&["token", "revoke", &id]);
    assert!(revoked.status.success(), "{revoked:?}");
    let answer = l.call(Method::GET, children, Some(&token), None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.text);
}
