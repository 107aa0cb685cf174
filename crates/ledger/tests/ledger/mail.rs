//! Mail that is really sent (issue 17): a mail is queued in the mail
//! outbox in the transaction of what caused it, and the sender delivers
//! it through a real mail server (aiosmtpd): once, in Danish, with the
//! child's name and balance; it waits while the mail server is away and
//! arrives once when it is back; a ledger killed with a mail queued sends
//! it after the restart.

use std::sync::Arc;
use std::time::Duration;

use klubkasse_core::domain::{ChildId, Money};
use klubkasse_ledger::db;
use klubkasse_ledger::portal::mail::smtp::SmtpMailer;
use klubkasse_ledger::portal::mail::{Mailer, Sender};
use klubkasse_testkit::ledger::*;
use klubkasse_testkit::portal::MailServer;

use super::common::push_as;

const MOR: &str = "mor@example.dk";

/// A child with 50 kr. on its card and a parent told below 30 kr.
async fn family(l: &Ledger, name: &str, card: &str, subject: &str) -> ChildId {
    let child = l.funded(name, card, "50.00").await;
    let parent = l.person(subject, "Mor", None, &[child]).await;
    db::portal::set_low_balance(
        &l.pool,
        parent.id,
        child,
        Some(Money::kroner(30)),
        Some(MOR),
    )
    .await
    .expect("the threshold");
    child
}

async fn outbox(l: &Ledger) -> Vec<(String, String, serde_json::Value, bool)> {
    sqlx::query_as(
        "SELECT to_address, kind, vars, sent_at IS NOT NULL FROM mail_outbox ORDER BY id",
    )
    .fetch_all(&l.pool)
    .await
    .expect("the outbox")
}

fn sender(l: &Ledger, mailer: Arc<dyn Mailer>) -> Sender {
    Sender {
        pool: l.pool.clone(),
        mailer,
        portal_url: "https://kasse.example.dk".into(),
        poll: Duration::from_millis(100),
        longest_pause: Duration::from_secs(1),
    }
}

#[tokio::test]
async fn a_sale_below_the_threshold_queues_one_mail_with_the_sale_and_none_when_refused() {
    let l = ledger().await;
    let freja = family(&l, "Freja", CARD_A, "mor-freja").await;
    let oscar = family(&l, "Oscar", CARD_B, "mor-oscar").await;
    push_as(&l, "k1", &[sale(freja, CARD_A, "k1", 2500, 1)]).await;
    let queued = outbox(&l).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let (to, kind, vars, sent) = &queued[0];
    assert_eq!(
        (to.as_str(), kind.as_str(), *sent),
        (MOR, "low_balance", false)
    );
    assert_eq!(vars["name"], "Freja");
    assert_eq!(vars["balance"], "25.00");
    // Once per fall below, not once per sale.
    push_as(&l, "k1", &[sale(freja, CARD_A, "k1", 100, 1)]).await;
    assert_eq!(outbox(&l).await.len(), 1);
    // A batch refused whole (an unknown child in it) queues nothing.
    let kiosk = l
        .token(klubkasse_ledger::auth::TokenRole::Kiosk, Some("k1"), &[])
        .await;
    let refused = l
        .call(
            axum::http::Method::POST,
            "/api/v1/kiosk/entries",
            Some(&kiosk),
            Some(batch(&[
                sale(oscar, CARD_B, "k1", 2500, 1),
                sale(ChildId(uuid::Uuid::now_v7()), CARD_B, "k1", 100, 1),
            ])),
        )
        .await;
    assert_eq!(refused.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(outbox(&l).await.len(), 1);
    assert_eq!(l.balance(oscar).await, Money::kroner(50));
}

/// The mail server away: the mail waits, tried again with a growing
/// pause (at most a second here, ten minutes in `serve`); back, it
/// arrives once, in Danish, with the child's name and balance.
#[tokio::test]
async fn a_mail_waits_while_the_mail_server_is_away_and_arrives_once() {
    let l = ledger().await;
    let mut server = MailServer::start();
    server.stop();
    let mailer = SmtpMailer::new(&server.url(), None, "Klubkassen <kasse@kommune.dk>")
        .expect("the mail server's settings");
    let sending = tokio::spawn(sender(&l, Arc::new(mailer)).run());
    let freja = family(&l, "Freja", CARD_A, "mor").await;
    push_as(&l, "k1", &[sale(freja, CARD_A, "k1", 2500, 1)]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (attempts, error): (i32, Option<String>) =
        sqlx::query_as("SELECT attempts, last_error FROM mail_outbox WHERE sent_at IS NULL")
            .fetch_one(&l.pool)
            .await
            .expect("the waiting mail");
    assert!(attempts >= 2, "tried {attempts} times");
    assert!(error.is_some());
    assert_eq!(db::mail::waiting(&l.pool).await.expect("waiting"), 1);

    server.resume();
    let received = server.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    let mail = &received[0];
    assert_eq!(mail.to, MOR);
    assert_eq!(mail.subject, "Lav saldo på Frejas kort");
    assert!(mail.body.contains("25,00 kr."), "{}", mail.body);
    assert!(mail.body.contains("30,00 kr."), "{}", mail.body);
    assert!(
        mail.body.contains("https://kasse.example.dk/portal"),
        "{}",
        mail.body
    );
    // Sent once, marked so.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(server.received().len(), 1);
    assert_eq!(db::mail::waiting(&l.pool).await.expect("waiting"), 0);
    sending.abort();
}

/// `klubkasse-ledger serve` killed (SIGKILL) with a mail it could not send
/// yet: started again, it sends it.
#[tokio::test]
async fn a_mail_queued_before_the_ledger_died_is_sent_after_the_restart() {
    let l = ledger().await;
    let mut server = MailServer::start();
    server.stop();
    let freja = family(&l, "Freja", CARD_A, "mor").await;
    push_as(&l, "k1", &[sale(freja, CARD_A, "k1", 2500, 1)]).await;
    let serve = |url: &str| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        std::process::Command::new(&*klubkasse_testkit::bin::LEDGER)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", &l.url])
            .args(["--portal-url", &format!("http://127.0.0.1:{port}")])
            .args([
                "--oidc-issuer",
                "http://127.0.0.1:9",
                "--oidc-client-id",
                "kk",
            ])
            .args(["--oidc-client-secret", "s", "--payment-provider", "test"])
            .args(["--smtp-url", url, "--mail-from", "kasse@kommune.dk"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start klubkasse-ledger")
    };
    let mut first = serve(&server.url());
    // It tries and fails (the server is away), then dies.
    let tried = async {
        loop {
            let failed: bool = sqlx::query_scalar("SELECT last_error IS NOT NULL FROM mail_outbox")
                .fetch_one(&l.pool)
                .await
                .expect("the mail");
            if failed {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), tried)
        .await
        .expect("the ledger tried to send");
    first.kill().expect("kill");
    first.wait().expect("dead");
    assert!(server.received().is_empty());
    server.resume();
    // The pause after a failed try may run its course (two seconds).
    let mut second = serve(&server.url());
    let received = server.wait_for(1, Duration::from_secs(30)).await;
    second.kill().expect("kill");
    let _ = second.wait();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].subject, "Lav saldo på Frejas kort");
}
