//! Mail to parents, really sent. Every mail is queued in the mail outbox
//! ([`db::mail`]) in the transaction of what caused it; [`Sender`] writes
//! out what is due in the reader's language and sends it through a
//! [`Mailer`] (a mail server: [`smtp::SmtpMailer`]), with retries and a
//! growing pause, and marks it sent. Without a mail server set up, mails
//! wait in the outbox and the office's start page says how many.
//! [`TestOutbox`] keeps what was sent, for the tests.

pub mod smtp;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use klubkasse_core::domain::Money;
use klubkasse_core::i18n::{Language, fill};
use sqlx::PgPool;

use super::layout::Lang;
use crate::db::mail::{MailKind, Queued};
use crate::db::{self, DbError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the mail could not be sent: {0}")]
pub struct MailError(pub String);

pub trait Mailer: Send + Sync {
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>>;
}

/// Keeps every mail in memory.
#[derive(Debug, Default, Clone)]
pub struct TestOutbox {
    sent: Arc<Mutex<Vec<Mail>>>,
}

impl TestOutbox {
    pub fn sent(&self) -> Vec<Mail> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Mailer for TestOutbox {
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            self.sent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(mail.clone());
            Ok(())
        })
    }
}

/// A queued mail written out: its kind's texts in its language, filled
/// with its values and the portal's address. None for a kind or values
/// this build cannot write (the mail stays in the outbox, marked so).
pub fn write_out(queued: &Queued, portal_url: &str) -> Option<Mail> {
    let kind = MailKind::parse(&queued.kind)?;
    let lang = Lang(Language::parse(&queued.language).unwrap_or_default());
    let text = |key: &str| queued.vars.get(key).and_then(|v| v.as_str());
    let amount = |key: &str| Money::parse(text(key)?).ok().map(|m| m.to_string());
    let url = format!("{portal_url}/portal");
    let mut values: Vec<(&str, String)> = vec![("url", url)];
    // The catalogue's keys of its subject and body, and the values they name.
    let (subject, body, keys): (&str, &str, &[&str]) = match kind {
        MailKind::LowBalance => (
            "portal.mail.low_balance_subject",
            "portal.mail.low_balance_body",
            &["name", "balance", "threshold"],
        ),
        MailKind::PayoutPaid => (
            "portal.mail.payout_paid_subject",
            "portal.mail.payout_paid_body",
            &["name", "amount"],
        ),
        MailKind::PayoutRejected => (
            "portal.mail.payout_rejected_subject",
            "portal.mail.payout_rejected_body",
            &["name", "amount"],
        ),
        MailKind::CardOrderSent => (
            "portal.mail.card_order_sent_subject",
            "portal.mail.card_order_sent_body",
            &["name"],
        ),
        MailKind::SupportAnswered => (
            "portal.mail.support_answered_subject",
            "portal.mail.support_answered_body",
            &["subject"],
        ),
        MailKind::ActivationLetter => (
            "portal.letter.mail_subject",
            "portal.letter.mail_body",
            &["payer", "child", "club", "fee", "date", "link", "code"],
        ),
        MailKind::AutoTopupDone => (
            "portal.mail.auto_topup_done_subject",
            "portal.mail.auto_topup_done_body",
            &["name", "amount", "balance"],
        ),
        MailKind::AutoTopupDeclined => (
            "portal.mail.auto_topup_declined_subject",
            "portal.mail.auto_topup_declined_body",
            &["name", "amount"],
        ),
        MailKind::AutoTopupAuthentication => (
            "portal.mail.auto_topup_authentication_subject",
            "portal.mail.auto_topup_authentication_body",
            &["name", "amount"],
        ),
    };
    for key in keys {
        let value = match *key {
            "balance" | "threshold" | "amount" | "fee" => amount(key)?,
            _ => text(key)?.to_string(),
        };
        values.push((key, value));
    }
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Some(Mail {
        to: queued.to_address.clone(),
        subject: fill(lang.t(subject), &values),
        body: fill(lang.t(body), &values),
    })
}

/// Sends what the outbox holds, for as long as the ledger runs.
pub struct Sender {
    pub pool: PgPool,
    pub mailer: Arc<dyn Mailer>,
    /// The portal's address, for the links in the mails.
    pub portal_url: String,
    /// How often to look when nothing was due.
    pub poll: Duration,
    /// The longest pause before a mail is tried again.
    pub longest_pause: Duration,
}

/// A claimed mail is held this long: a sender that dies while sending
/// leaves it to be tried again then.
const HOLD: Duration = Duration::from_secs(120);
/// Mails sent in one round.
const ROUND: i64 = 20;

impl Sender {
    pub async fn run(self) {
        loop {
            match self.send_due().await {
                Ok(sent) if sent > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the mail outbox could not be read"),
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// One round: the mails due now, each sent and marked, or marked to
    /// be tried again. How many were due.
    pub async fn send_due(&self) -> Result<usize, DbError> {
        let due = db::mail::claim(&self.pool, ROUND, HOLD).await?;
        for queued in &due {
            let Some(mail) = write_out(queued, &self.portal_url) else {
                // Not for this build to write: kept, not tried again soon.
                let problem = format!("a mail of kind {:?} cannot be written", queued.kind);
                tracing::error!(id = queued.id, "{problem}");
                db::mail::mark_failed(&self.pool, queued.id, &problem, self.longest_pause).await?;
                continue;
            };
            match self.mailer.send(&mail).await {
                Ok(()) => db::mail::mark_sent(&self.pool, queued.id).await?,
                Err(e) => {
                    let pause = pause_after(queued.attempts, self.longest_pause);
                    tracing::warn!(id = queued.id, attempts = queued.attempts, error = %e,
                        "mail not sent; tried again in {} s", pause.as_secs());
                    db::mail::mark_failed(&self.pool, queued.id, &e.to_string(), pause).await?;
                }
            }
        }
        Ok(due.len())
    }
}

/// The pause after a mail's `attempts`-th failed try: 2, 4, 8 … seconds,
/// at most `longest`.
pub fn pause_after(attempts: i32, longest: Duration) -> Duration {
    let doubled = 1u64 << attempts.clamp(1, 20);
    Duration::from_secs(doubled).min(longest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn queued(kind: &str, language: &str, vars: serde_json::Value) -> Queued {
        Queued {
            id: 1,
            to_address: "mor@example.dk".into(),
            kind: kind.into(),
            language: language.into(),
            vars,
            attempts: 1,
        }
    }

    #[test]
    fn a_low_balance_mail_in_danish_names_the_child_and_the_amounts() {
        let vars = json!({"name": "Åse", "balance": "25.00", "threshold": "30.00"});
        let mail = write_out(&queued("low_balance", "da", vars), "https://kk.example").unwrap();
        assert_eq!(mail.to, "mor@example.dk");
        assert_eq!(mail.subject, "Lav saldo på Åses kort");
        assert!(mail.body.contains("25,00 kr."), "{}", mail.body);
        assert!(mail.body.contains("30,00 kr."), "{}", mail.body);
        assert!(
            mail.body.contains("https://kk.example/portal"),
            "{}",
            mail.body
        );
    }

    #[test]
    fn every_kind_is_written_in_every_language() {
        let vars = json!({"name": "Åse", "balance": "1.00", "threshold": "2.00",
                          "amount": "3.00", "subject": "Kort", "payer": "Mor", "child": "Åse",
                          "club": "Kastanjen", "fee": "45.00", "date": "01.02.2027",
                          "link": "https://k/portal/activate?code=X", "code": "ABCD-EFGH-JKLM"});
        for kind in MailKind::ALL {
            for lang in ["da", "en"] {
                let mail = write_out(&queued(kind.as_str(), lang, vars.clone()), "u").unwrap();
                assert!(
                    !mail.subject.contains('{'),
                    "{kind:?} {lang}: {}",
                    mail.subject
                );
                assert!(!mail.body.contains('{'), "{kind:?} {lang}: {}", mail.body);
            }
        }
    }

    #[test]
    fn an_unknown_kind_or_missing_value_is_not_written() {
        assert!(write_out(&queued("spam", "da", json!({})), "u").is_none());
        assert!(write_out(&queued("low_balance", "da", json!({"name": "Å"})), "u").is_none());
    }

    #[test]
    fn the_pause_doubles_up_to_the_longest() {
        let longest = Duration::from_secs(600);
        assert_eq!(pause_after(1, longest), Duration::from_secs(2));
        assert_eq!(pause_after(3, longest), Duration::from_secs(8));
        assert_eq!(pause_after(30, longest), longest);
        assert_eq!(pause_after(0, longest), Duration::from_secs(2));
    }
}
