//! Pushes that meet: concurrent retries, a cut connection, and what
//! changes while a push waits for a child's lock.

use axum::http::Method;
use klubkasse_core::domain::Money;
use klubkasse_core::protocol::{Flag, PushResult};
use klubkasse_ledger::auth::TokenRole;
use klubkasse_testkit::ledger::*;

use super::common::*;

/// Over a real socket: a push whose connection is cut halfway through the
/// body records nothing; a push whose connection closes before the answer
/// is recorded whole or not at all; the retry makes every sale count once.
#[tokio::test]
async fn a_batch_retried_after_the_connection_was_cut_is_counted_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = ledger().await;
    let a = l.funded("Freja", CARD_A, "100").await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = l.app.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let entries: Vec<_> = (0..10).map(|_| sale(a, CARD_A, "k1", 100, 1)).collect();
    let body = serde_json::to_vec(&batch(&entries)).expect("json");
    let head = format!(
        "POST /api/v1/kiosk/entries HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {kiosk}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // Cut halfway through the body.
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream
        .write_all(&body[..body.len() / 2])
        .await
        .expect("write");
    drop(stream);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(l.entry_count().await, 1, "only the deposit");
    // Sent whole, but the answer is never read.
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(&body).await.expect("write");
    stream.shutdown().await.expect("shutdown");
    drop(stream);
    // The server may finish that push or drop it with the connection; either
    // way all of the batch or none of it is recorded, never a part.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let after_cut = l.entry_count().await;
    assert!(after_cut == 1 || after_cut == 11, "{after_cut} entries");
    // The retry, read to the end.
    let mut answer = String::new();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(&body).await.expect("write");
    stream.read_to_string(&mut answer).await.expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let json = &answer[answer.find("\r\n\r\n").expect("body") + 4..];
    let result: PushResult = serde_json::from_str(json).expect("PushResult");
    let new = result.results.iter().filter(|r| r.new).count();
    assert_eq!(new, if after_cut == 1 { 10 } else { 0 }, "{json}");
    assert_eq!(l.entry_count().await, 11);
    assert_eq!(l.balance(a).await, Money::kroner(90));
}

/// A push reads a child's cards and recorded entries before it waits for
/// the child's lock. What another writer changes meanwhile (here: records
/// the batch's first sale, as a concurrent retry of the batch would, and
/// blocks the card, each with a new change number for the child, as every
/// writer gives) is seen once the push has the lock.
#[tokio::test]
async fn what_changes_while_a_push_waits_for_the_lock_is_seen() {
    let l = ledger().await;
    let a = l.funded("Freja", CARD_A, "100").await;
    let kiosk = l.token(TokenRole::Kiosk, Some("k1"), &[]).await;
    let entries = [
        sale(a, CARD_A, "k1", 1000, 1),
        sale(a, CARD_A, "k1", 1000, 1),
    ];

    let mut writer = l.pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM children WHERE id = $1 FOR UPDATE")
        .bind(a.0)
        .execute(&mut *writer)
        .await
        .expect("lock");
    let l2 = klubkasse_testkit::ledger::Ledger {
        app: l.app.clone(),
        pool: l.pool.clone(),
        admin: String::new(),
        url: l.url.clone(),
        time_zone: l.time_zone.clone(),
    };
    let body = batch(&entries);
    let push = tokio::spawn(async move {
        push_result(
            &l2.call(
                Method::POST,
                "/api/v1/kiosk/entries",
                Some(&kiosk),
                Some(body),
            )
            .await,
        )
    });
    // Until the push waits for the lock, having read what it reads before.
    loop {
        let waiting: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock')",
        )
        .fetch_one(&l.pool)
        .await
        .expect("waiting");
        if waiting {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    sqlx::query(
        "INSERT INTO entries (id, child_id, kind, amount, at, counter, club, card_uid,
                              lines, balance_after)
         SELECT $1, id, 'sale', -10, now(), 'k1', club, $2, '[]', 90 FROM children WHERE id = $3",
    )
    .bind(entries[0].id)
    .bind(CARD_A)
    .bind(a.0)
    .execute(&mut *writer)
    .await
    .expect("the first sale");
    sqlx::query("UPDATE cards SET state = 'blocked' WHERE uid = $1")
        .bind(CARD_A)
        .execute(&mut *writer)
        .await
        .expect("block");
    sqlx::query(
        "WITH top AS (UPDATE change_counter SET value = value + 1 RETURNING value)
         UPDATE children SET balance = 90, change_seq = top.value FROM top WHERE id = $1",
    )
    .bind(a.0)
    .execute(&mut *writer)
    .await
    .expect("bump");
    writer.commit().await.expect("commit");

    let result = push.await.expect("push");
    let answers: Vec<_> = result
        .results
        .iter()
        .map(|r| (r.new, r.flags.clone(), r.balance))
        .collect();
    assert_eq!(
        answers,
        vec![
            (false, vec![], Money::kroner(90)),
            (true, vec![Flag::CardBlocked], Money::kroner(80)),
        ]
    );
    assert_eq!(
        l.balance_and_sum(a).await,
        (Money::kroner(80), Money::kroner(80))
    );
}
