//! E-mail to parents (the low-balance warning) behind [`Mailer`]: an SMTP
//! relay plugs in there. [`TestOutbox`] keeps what was sent, for the tests
//! and the demo; [`LogMailer`] only writes it to the log.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use crate::AppState;
use crate::db::portal as queries;
use klubkasse_core::domain::ChildId;
use klubkasse_core::i18n::fill;

use super::layout::Lang;

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

/// No mail server: the mail goes to the log, so the office can see what
/// parents would have been told.
#[derive(Debug, Default, Clone)]
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            tracing::info!(to = %mail.to, subject = %mail.subject, "mail (no mail server set up)");
            Ok(())
        })
    }
}

/// Sends the low-balance warnings now due for these children. Called
/// after money left their cards; a failure is logged, never the caller's.
pub async fn warn_low_balance(state: &AppState, children: &[ChildId]) {
    let Some(portal) = state.portal.as_deref() else {
        return;
    };
    let due = match queries::claim_low_balance(&state.pool, children).await {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "could not look for low balances");
            return;
        }
    };
    // A parent's language is not known yet: the mail is in Danish.
    let lang = Lang::DA;
    for warning in due {
        let (balance, threshold) = (warning.balance.to_string(), warning.threshold.to_string());
        let url = format!("{}/portal", portal.public_url);
        let values = [
            ("name", warning.child_name.as_str()),
            ("balance", balance.as_str()),
            ("threshold", threshold.as_str()),
            ("url", url.as_str()),
        ];
        let mail = Mail {
            to: warning.email.clone(),
            subject: fill(lang.t("portal.mail.low_balance_subject"), &values),
            body: fill(lang.t("portal.mail.low_balance_body"), &values),
        };
        if let Err(e) = portal.mailer.send(&mail).await {
            tracing::warn!(error = %e, child = %warning.child, "low-balance mail not sent");
        }
    }
}
