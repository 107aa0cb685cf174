//! Mail through a mail server, with lettre: `smtp://host:587` speaks
//! STARTTLS (required), `smtps://host:465` TLS from the start, and
//! `smtp://host:25?tls=none` plain text (a relay on this machine or in
//! the tests only). A user in the URL logs in with the password from
//! the file `serve --smtp-password-file` names.

use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Mail, MailError, Mailer};

/// How long one mail may take, from connecting to the server's answer.
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// Why the mail server's settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("--smtp-url «{0}»: {1}")]
    Url(String, String),
    #[error("--mail-from «{0}» is not an address (e.g. Klubkassen <kasse@kommune.dk>)")]
    From(String),
}

impl SmtpMailer {
    /// `url` as above; `password` for the URL's user; `from` the sender
    /// parents see.
    pub fn new(url: &str, password: Option<String>, from: &str) -> Result<Self, SmtpConfigError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| SmtpConfigError::Url(redacted(url), e.to_string()))?;
        if !parsed.password().unwrap_or_default().is_empty() {
            return Err(SmtpConfigError::Url(
                redacted(url),
                "put the password in --smtp-password-file, not in the URL".into(),
            ));
        }
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(parsed.clone()))
                .map_err(|e| SmtpConfigError::Url(redacted(url), e.to_string()))?
                .timeout(Some(TIMEOUT));
        if !parsed.username().is_empty() {
            let user = percent_decoded(parsed.username());
            builder = builder.credentials(Credentials::new(user, password.unwrap_or_default()));
        }
        let from = from
            .parse()
            .map_err(|_| SmtpConfigError::From(from.to_string()))?;
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
        })
    }
}

/// The URL as lettre reads it: plain `smtp://` is STARTTLS required
/// here (lettre would send in the clear); `?tls=none` is plain text.
fn lettre_url(mut url: reqwest::Url) -> String {
    if url.scheme() == "smtp" {
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        match tls.as_deref() {
            None => url.set_query(Some("tls=required")),
            Some("none") => url.set_query(None),
            Some(_) => {}
        }
    }
    url.to_string()
}

fn percent_decoded(text: &str) -> String {
    reqwest::Url::parse(&format!("x://{text}@h"))
        .ok()
        .map(|u| u.username().to_string())
        .unwrap_or_else(|| text.to_string())
}

/// The URL as a log may show it: never a password.
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("…"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(&'a self, mail: &'a Mail) -> BoxFuture<'a, Result<(), MailError>> {
        Box::pin(async move {
            let to: Mailbox = mail
                .to
                .parse()
                .map_err(|e| MailError(format!("the address «{}»: {e}", mail.to)))?;
            let message = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(&mail.subject)
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body.clone())
                .map_err(|e| MailError(e.to_string()))?;
            self.transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| MailError(e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_refused_and_never_shown() {
        let Err(e) = SmtpMailer::new("smtp://kasse:hemmelig@mail.example:587", None, "a@b.dk")
        else {
            panic!("taken");
        };
        assert!(!e.to_string().contains("hemmelig"), "{e}");
    }

    #[test]
    fn plain_smtp_means_starttls_unless_told_none() {
        let url = |text: &str| lettre_url(reqwest::Url::parse(text).unwrap());
        assert_eq!(
            url("smtp://mail.example:587"),
            "smtp://mail.example:587?tls=required"
        );
        assert_eq!(
            url("smtp://127.0.0.1:2525?tls=none"),
            "smtp://127.0.0.1:2525"
        );
        assert_eq!(url("smtps://mail.example"), "smtps://mail.example");
    }

    #[test]
    fn the_sender_must_be_an_address() {
        let made = SmtpMailer::new("smtp://mail.example:587", None, "Klubkassen");
        assert!(matches!(made, Err(SmtpConfigError::From(_))));
        let made = SmtpMailer::new("smtp://mail.example:587", None, "Klubkassen <k@kommune.dk>");
        assert!(made.is_ok());
        assert!(SmtpMailer::new("mail.example", None, "k@kommune.dk").is_err());
    }
}
