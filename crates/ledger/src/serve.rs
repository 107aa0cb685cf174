//! `klubkasse-ledger serve`: the ledger's entry point. The binary parses
//! its arguments into a [`ServeConfig`] and calls [`serve`].
//!
//! What may be served where is one pure function, [`portal_policy`]: the
//! portal's cookies are Secure, so it needs HTTPS off loopback; and the
//! built-in test payment provider takes no money, so off loopback anyone
//! logged in could top up for nothing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::portal::{self, Portal};
use crate::{AppState, MIGRATOR, Settings};

/// Who collects the parents' top-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentProviderChoice {
    /// No real money: for a portal on this machine only.
    Test,
    /// Cards (and MobilePay) through Stripe: [`PortalConfig::stripe`].
    Stripe,
}

/// Where Stripe's settings come from. The secrets are in files or the
/// environment (`STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`), never on
/// the command line, where every user of the machine sees them.
#[derive(Debug, Clone, Default)]
pub struct StripeSource {
    /// None: Stripe's own.
    pub api_url: Option<String>,
    pub secret_key_file: Option<PathBuf>,
    pub webhook_secret_file: Option<PathBuf>,
    pub publishable_key: Option<String>,
    /// Stripe's names; none: the card only.
    pub payment_methods: Vec<String>,
}

/// The parents' portal, when it is turned on.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// The address as parents' browsers reach it.
    pub public_url: String,
    pub oidc_issuer: String,
    pub oidc_client_id: String,
    pub oidc_client_secret: String,
    /// The identity token's claim with the MitID person id, if the broker sends one.
    pub oidc_stable_claim: Option<String>,
    /// CPR match, when on.
    pub cpr: Option<CprConfig>,
    pub payment_provider: Option<PaymentProviderChoice>,
    /// Used with `--payment-provider stripe`.
    pub stripe: StripeSource,
    pub limits: portal::throttle::Limits,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Parents' mail through a mail server; None: it waits in the outbox.
    pub mail: Option<MailConfig>,
}

/// The mail server parents' mail goes through.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp_url: String,
    pub password_file: Option<PathBuf>,
    pub from: String,
}

/// CPR match: where the broker's claim is, and the hashes' secret.
#[derive(Debug, Clone)]
pub struct CprConfig {
    pub claim: String,
    pub scope: Option<String>,
    pub secret_file: PathBuf,
}

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub database_url: String,
    /// PEM certificate chain and key: serve HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub settings: Settings,
    pub portal: Option<PortalConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "--portal-url {0}: the portal needs HTTPS (its cookies are Secure); \
         serve it with --tls-cert/--tls-key or behind an HTTPS proxy"
    )]
    PortalNeedsHttps(String),
    #[error(
        "--portal-url needs --payment-provider: who collects the parents' top-ups \
         (`stripe`, or `test` for a portal on this machine)"
    )]
    NoPaymentProvider,
    #[error(
        "--payment-provider test takes no money, so anyone logged in could top up \
         for nothing: it is only for a portal on a loopback address, not {0}"
    )]
    TestProviderOffLoopback(String),
    #[error(
        "--listen {0}: --payment-provider test takes no money, so the ledger must \
         listen on a loopback address only (127.0.0.1 or [::1])"
    )]
    TestProviderListening(SocketAddr),
    #[error("--portal-url {0}: give only scheme, host, port and path (no user, ? or #)")]
    PortalUrl(String),
    #[error(
        "--payment-provider stripe needs {0}: without it no top-up could be paid \
         or its webhook believed"
    )]
    StripeMissing(&'static str),
    #[error("{flag} {path}: {source}")]
    StripeSecretFile {
        flag: &'static str,
        path: String,
        source: std::io::Error,
    },
    /// Says which setting, never its value.
    #[error("{0} does not look like one of Stripe's (it starts with {1})")]
    StripeMalformed(&'static str, &'static str),
    #[error(transparent)]
    Payment(#[from] portal::payment::PaymentError),
    #[error("the portal's login: {0}")]
    Login(String),
    #[error("could not connect to PostgreSQL: {0}")]
    Connect(sqlx::Error),
    #[error("«{zone}» cannot be the clubs' time zone: {source}")]
    TimeZone {
        zone: String,
        source: crate::db::TimeZoneError,
    },
    #[error("the database schema is not up to date: run `klubkasse-ledger migrate` first")]
    SchemaBehind,
    #[error("the mail server: {0}")]
    Mail(#[from] portal::mail::smtp::SmtpConfigError),
    #[error("--smtp-password-file {path}: {source}")]
    MailPassword {
        path: String,
        source: std::io::Error,
    },
    #[error("could not load {cert} and {key}: {source}")]
    Tls {
        cert: String,
        key: String,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Stopped(std::io::Error),
}

/// The portal as it may be served: its address without a trailing slash
/// and the provider that collects top-ups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalPlan {
    pub public_url: String,
    pub payment_provider: PaymentProviderChoice,
}

/// Whether the portal may be served at `public_url` with `provider`.
/// `listen`: where the ledger takes connections; the test provider wants
/// both it and the portal's address on loopback.
pub fn portal_policy(
    public_url: &str,
    listen: SocketAddr,
    provider: Option<PaymentProviderChoice>,
) -> Result<PortalPlan, ServeError> {
    let public_url = public_url.trim_end_matches('/').to_string();
    // A user, a query or a fragment would end up in the login's redirect.
    if public_url.contains(['@', '?', '#']) {
        return Err(ServeError::PortalUrl(public_url));
    }
    let loopback = is_loopback(&public_url);
    if !public_url.to_ascii_lowercase().starts_with("https://") && !loopback {
        return Err(ServeError::PortalNeedsHttps(public_url));
    }
    match provider {
        None => Err(ServeError::NoPaymentProvider),
        Some(PaymentProviderChoice::Test) if !loopback => {
            Err(ServeError::TestProviderOffLoopback(public_url))
        }
        Some(PaymentProviderChoice::Test) if !listen.ip().is_loopback() => {
            Err(ServeError::TestProviderListening(listen))
        }
        Some(payment_provider) => Ok(PortalPlan {
            public_url,
            payment_provider,
        }),
    }
}

/// An address only this machine reaches: `http://127.0.0.1`, `localhost`
/// or `[::1]`, with an optional port and path (not `127.0.0.1.example.dk`).
fn is_loopback(url: &str) -> bool {
    let url = url.to_ascii_lowercase();
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..host_end];
    let host = match authority.strip_prefix("[::1]") {
        Some(after) => return after.is_empty() || is_port(after),
        None => authority.split(':').next().unwrap_or(""),
    };
    let after = &authority[host.len()..];
    // 127.0.0.0/8 as four plain numbers (not `127.1`, not a name).
    let loopback_v4 = host.split('.').count() == 4
        && host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    (loopback_v4 || host == "localhost") && (after.is_empty() || is_port(after))
}

fn is_port(text: &str) -> bool {
    text.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// What sends the parents' mail: the portal's address for the links, and
/// the mail server with its password read from its file.
fn mail_sender(config: &MailConfig, portal_url: &str) -> Result<MailSender, ServeError> {
    let password = match &config.password_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|source| ServeError::MailPassword {
                    path: path.display().to_string(),
                    source,
                })?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
        ),
        None => None,
    };
    let mailer = portal::mail::smtp::SmtpMailer::new(&config.smtp_url, password, &config.from)?;
    Ok(MailSender {
        mailer: Arc::new(mailer),
        portal_url: portal_url.to_string(),
    })
}

struct MailSender {
    mailer: Arc<dyn portal::mail::Mailer>,
    portal_url: String,
}

fn portal(config: PortalConfig, listen: SocketAddr) -> Result<Portal, ServeError> {
    let plan = portal_policy(&config.public_url, listen, config.payment_provider)?;
    let oidc = portal::oidc::Oidc::new(portal::oidc::OidcConfig {
        issuer: config.oidc_issuer,
        client_id: config.oidc_client_id,
        client_secret: config.oidc_client_secret,
        redirect_url: format!("{}/portal/callback", plan.public_url),
        stable_claim: config.oidc_stable_claim,
        cpr_claim: config.cpr.as_ref().map(|c| c.claim.clone()),
        cpr_scope: config.cpr.as_ref().and_then(|c| c.scope.clone()),
    })
    .map_err(|e| ServeError::Login(e.to_string()))?;
    let cpr_key = config
        .cpr
        .as_ref()
        .map(|c| crate::cpr::CprKey::read(&c.secret_file))
        .transpose()
        .map_err(|e| ServeError::Login(e.to_string()))?;
    let (payments, test_payments): (Arc<dyn portal::payment::PaymentProvider>, _) = match plan
        .payment_provider
    {
        PaymentProviderChoice::Test => {
            tracing::warn!("the portal takes payments with the test provider: no real money moves");
            let test = portal::payment::TestProvider::default();
            (Arc::new(test.clone()), Some(test))
        }
        PaymentProviderChoice::Stripe => {
            let env = |name: &str| std::env::var(name).ok();
            let stripe = stripe_config(&config.stripe, env)?;
            tracing::info!(api = %stripe.api_url, methods = ?stripe.payment_methods,
                    "the portal takes payments through Stripe");
            (Arc::new(portal::stripe::StripeProvider::new(stripe)?), None)
        }
    };
    Ok(Portal {
        oidc,
        payments,
        test_payments,
        cpr_key,
        public_url: plan.public_url,
        limits: config.limits,
        login_starts: Default::default(),
        trusted_proxies: config.trusted_proxies.clone(),
        mail_server: config.mail.is_some(),
    })
}

/// Stripe's settings with its secrets read: each from its file, or else
/// from the environment (`env`), checked for the shape Stripe gives them.
pub fn stripe_config(
    source: &StripeSource,
    env: impl Fn(&str) -> Option<String>,
) -> Result<portal::stripe::StripeConfig, ServeError> {
    let secret = |flag: &'static str, file: &Option<PathBuf>, var: &'static str| {
        let text = match file {
            Some(path) => {
                std::fs::read_to_string(path).map_err(|source| ServeError::StripeSecretFile {
                    flag,
                    path: path.display().to_string(),
                    source,
                })?
            }
            None => env(var).unwrap_or_default(),
        };
        let text = text.trim().to_string();
        if text.is_empty() {
            return Err(ServeError::StripeMissing(if file.is_some() {
                flag
            } else {
                var
            }));
        }
        Ok(text)
    };
    let secret_key = secret(
        "--stripe-secret-key-file",
        &source.secret_key_file,
        "STRIPE_SECRET_KEY",
    )?;
    // A restricted key (rk_) works as well, with the PaymentIntents right.
    if !secret_key.starts_with("sk_") && !secret_key.starts_with("rk_") {
        return Err(ServeError::StripeMalformed("the secret key", "sk_ or rk_"));
    }
    let webhook_secret = secret(
        "--stripe-webhook-secret-file",
        &source.webhook_secret_file,
        "STRIPE_WEBHOOK_SECRET",
    )?;
    if !webhook_secret.starts_with("whsec_") {
        return Err(ServeError::StripeMalformed("the webhook secret", "whsec_"));
    }
    let publishable_key = source
        .publishable_key
        .clone()
        .ok_or(ServeError::StripeMissing("--stripe-publishable-key"))?;
    if !publishable_key.starts_with("pk_") {
        return Err(ServeError::StripeMalformed(
            "--stripe-publishable-key",
            "pk_",
        ));
    }
    let payment_methods = if source.payment_methods.is_empty() {
        vec!["card".to_string()]
    } else {
        source.payment_methods.clone()
    };
    Ok(portal::stripe::StripeConfig {
        api_url: source
            .api_url
            .as_deref()
            .unwrap_or(portal::stripe::API_URL)
            .trim_end_matches('/')
            .to_string(),
        secret_key,
        publishable_key,
        webhook_secret,
        payment_methods,
    })
}

/// Every hour, the people a first login made who never became anyone's
/// parent go (`db::people::forget_unlinked`).
async fn forget_unlinked_people(pool: sqlx::PgPool) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        match crate::db::people::forget_unlinked(&pool, crate::db::people::UNLINKED_KEPT).await {
            Ok(0) => {}
            Ok(gone) => tracing::info!(gone, "forgot people who never became a parent"),
            Err(e) => tracing::warn!(error = %e, "could not forget unlinked people"),
        }
    }
}

/// Serves the ledger until Ctrl-C or SIGTERM. The portal's configuration
/// is checked before the database is touched.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let mail = match &config.portal {
        Some(PortalConfig {
            mail: Some(mail),
            public_url,
            ..
        }) => Some(mail_sender(mail, public_url.trim_end_matches('/'))?),
        _ => None,
    };
    let portal = config
        .portal
        .map(|p| portal(p, config.listen))
        .transpose()?;
    let pool = crate::connect(&config.database_url)
        .await
        .map_err(ServeError::Connect)?;
    crate::db::check_time_zone(&pool, &config.settings.time_zone)
        .await
        .map_err(|source| ServeError::TimeZone {
            zone: config.settings.time_zone.clone(),
            source,
        })?;
    if !crate::db::schema_is_current(&pool, &MIGRATOR).await {
        return Err(ServeError::SchemaBehind);
    }
    match mail {
        Some(mail) => {
            let sender = portal::mail::Sender {
                pool: pool.clone(),
                mailer: mail.mailer,
                portal_url: mail.portal_url,
                poll: Duration::from_secs(5),
                longest_pause: Duration::from_secs(600),
            };
            tokio::spawn(sender.run());
        }
        None => {
            tracing::warn!("no mail server set up (--smtp-url): parents' mail waits in the outbox")
        }
    }
    if portal.is_some() {
        tokio::spawn(forget_unlinked_people(pool.clone()));
    }
    if let Some(portal) = &portal
        && portal.payments.saves_cards()
    {
        let charger = portal::auto_topup::Charger {
            pool: pool.clone(),
            provider: portal.payments.clone(),
            poll: Duration::from_secs(2),
        };
        tokio::spawn(charger.run());
    }
    let mut state = AppState::new(pool, config.settings);
    if let Some(portal) = portal {
        tracing::info!(url = %portal.public_url, "serving the parents' portal under /portal");
        state = state.with_portal(portal);
    }
    // With the caller's address: the portal's limits count per address.
    let app = crate::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    tokio::spawn(shutdown_on_signal(handle.clone()));
    let listen = config.listen;
    match config.tls {
        Some((cert, key)) => {
            // ring, the same provider sqlx and the kiosk use: one crypto library.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|source| ServeError::Tls {
                    cert: cert.display().to_string(),
                    key: key.display().to_string(),
                    source,
                })?;
            tracing::info!(%listen, "serving HTTPS");
            axum_server::bind_rustls(listen, tls)
                .handle(handle)
                .serve(app)
                .await
        }
        None => {
            tracing::info!(%listen, "serving HTTP");
            axum_server::bind(listen).handle(handle).serve(app).await
        }
    }
    .map_err(ServeError::Stopped)
}

/// Ctrl-C or SIGTERM (systemd): stop taking requests, finish the running ones.
async fn shutdown_on_signal(handle: axum_server::Handle<SocketAddr>) {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
    tracing::info!("shutting down");
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: Option<PaymentProviderChoice> = Some(PaymentProviderChoice::Test);

    fn local() -> SocketAddr {
        "127.0.0.1:8080".parse().unwrap()
    }

    #[test]
    fn the_test_provider_is_for_loopback_only() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://[::1]:8080",
            "http://localhost",
            "http://LOCALHOST:8080",
            "http://127.0.0.2:8080",
        ] {
            let plan = portal_policy(url, local(), TEST).unwrap();
            assert_eq!(plan.public_url, url.trim_end_matches('/'));
        }
    }

    #[test]
    fn off_loopback_the_portal_needs_https_and_a_provider_that_takes_money() {
        let https = ServeError::PortalNeedsHttps(String::new());
        let money = ServeError::TestProviderOffLoopback(String::new());
        let url = ServeError::PortalUrl(String::new());
        for (url, expected) in [
            ("https://kasse.example.dk", &money),
            ("https://127.0.0.1.example.dk", &money),
            ("https://localhost.example.dk:443", &money),
            ("http://kasse.example.dk", &https),
            ("http://127.0.0.1.example.dk", &https),
            ("http://127.0.0.1.nip.io:8080", &https),
            ("http://localhost.evil.example", &https),
            ("http://128.0.0.1:8080", &https),
            ("http://localhost.example.dk", &https),
            ("http://localhost@evil.example", &url),
            ("kasse.example.dk", &https),
            ("http://localhost.", &https),
            ("http://[::ffff:127.0.0.1]", &https),
            ("HTTPS://kasse.example.dk", &money),
            ("http://127.0.0.1:8080@evil.example", &url),
            ("http://user@127.0.0.1", &url),
            ("http://127.0.0.1:8080#@evil.example", &url),
            ("https://kasse.example.dk/?next=evil", &url),
        ] {
            let refusal = portal_policy(url, local(), TEST).expect_err(url);
            assert_eq!(
                std::mem::discriminant(&refusal),
                std::mem::discriminant(expected),
                "{url}: {refusal}"
            );
        }
    }

    #[test]
    fn the_test_provider_needs_a_ledger_that_listens_on_loopback_only() {
        for listen in ["0.0.0.0:8080", "192.0.2.2:8080", "[::]:8080"] {
            let refusal =
                portal_policy("http://127.0.0.1:8080", listen.parse().unwrap(), TEST).unwrap_err();
            assert!(
                matches!(refusal, ServeError::TestProviderListening(_)),
                "{listen}: {refusal}"
            );
        }
        assert!(portal_policy("http://[::1]:8080", "[::1]:8080".parse().unwrap(), TEST).is_ok());
    }

    #[test]
    fn a_portal_needs_a_payment_provider() {
        assert!(matches!(
            portal_policy("http://127.0.0.1:8080", local(), None),
            Err(ServeError::NoPaymentProvider)
        ));
    }

    #[test]
    fn stripe_needs_its_secrets_from_a_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "sk_test_123\n").unwrap();
        let hook = dir.path().join("hook");
        std::fs::write(&hook, "whsec_abc\n").unwrap();
        let source = StripeSource {
            publishable_key: Some("pk_test_1".into()),
            ..Default::default()
        };
        let none = |_: &str| None;
        let both = |name: &str| match name {
            "STRIPE_SECRET_KEY" => Some("sk_test_env".to_string()),
            "STRIPE_WEBHOOK_SECRET" => Some("whsec_env".to_string()),
            _ => None,
        };
        let from_env = stripe_config(&source, both).unwrap();
        assert_eq!(from_env.secret_key, "sk_test_env");
        assert_eq!(from_env.webhook_secret, "whsec_env");
        assert_eq!(from_env.api_url, "https://api.stripe.com");
        assert_eq!(from_env.payment_methods, ["card"]);
        let files = StripeSource {
            secret_key_file: Some(key.clone()),
            webhook_secret_file: Some(hook.clone()),
            api_url: Some("http://127.0.0.1:8420/".into()),
            payment_methods: vec!["card".into(), "mobilepay".into()],
            ..source.clone()
        };
        let from_files = stripe_config(&files, both).unwrap();
        assert_eq!(from_files.secret_key, "sk_test_123");
        assert_eq!(from_files.webhook_secret, "whsec_abc");
        assert_eq!(from_files.api_url, "http://127.0.0.1:8420");
        assert_eq!(from_files.payment_methods, ["card", "mobilepay"]);
        // Printed, the configuration shows no secret.
        let printed = format!("{from_files:?}");
        assert!(!printed.contains("sk_test_123") && !printed.contains("whsec_abc"));
        let only_key = |name: &str| (name == "STRIPE_SECRET_KEY").then(|| "sk_test_1".to_string());
        let missing = [
            (stripe_config(&source, none), "STRIPE_SECRET_KEY"),
            (stripe_config(&source, only_key), "STRIPE_WEBHOOK_SECRET"),
            (
                stripe_config(
                    &StripeSource {
                        publishable_key: None,
                        ..source.clone()
                    },
                    both,
                ),
                "--stripe-publishable-key",
            ),
        ];
        for (refusal, what) in missing {
            assert!(
                matches!(&refusal, Err(ServeError::StripeMissing(w)) if *w == what),
                "{what}: {refusal:?}"
            );
        }
        let wrong = |name: &str| match name {
            "STRIPE_SECRET_KEY" => Some("whsec_swapped".to_string()),
            _ => Some("sk_test_swapped".to_string()),
        };
        let refusal = stripe_config(&source, wrong).unwrap_err();
        assert!(matches!(refusal, ServeError::StripeMalformed(..)));
        assert!(!refusal.to_string().contains("swapped"), "{refusal}");
        let gone = StripeSource {
            secret_key_file: Some(dir.path().join("nowhere")),
            ..source
        };
        assert!(matches!(
            stripe_config(&gone, both),
            Err(ServeError::StripeSecretFile { .. })
        ));
    }

    #[test]
    fn the_address_loses_its_trailing_slash() {
        let plan = portal_policy("http://127.0.0.1:8080/", local(), TEST).unwrap();
        assert_eq!(plan.public_url, "http://127.0.0.1:8080");
    }
}
