//! klubkasse-ledger: argument parsing and wiring only; see the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use klubkasse_core::domain::Money;
use klubkasse_ledger::{AppState, MIGRATOR, Settings, auth, portal};
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "klubkasse-ledger",
    version,
    about = "The central ledger of klubkasse"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Db {
    /// postgres://user@host:port/database
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (apply migrations first with `migrate`).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        db: Db,
        /// PEM certificate chain: serve HTTPS (with --tls-key).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key for --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// No deposit takes a balance above this (kroner).
        #[arg(long, default_value = "1000.00", value_parser = parse_money)]
        balance_cap: Money,
        /// What a replacement card costs (kroner); the first card is free.
        #[arg(long, default_value = "45.00", value_parser = parse_money)]
        card_fee: Money,
        /// The clubs' time zone, for days in reports and daily limits.
        #[arg(long, default_value = "Europe/Copenhagen")]
        time_zone: String,
        #[command(flatten)]
        portal: PortalArgs,
    },
    /// Create or update the database schema.
    Migrate {
        #[command(flatten)]
        db: Db,
    },
    /// Create or revoke bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Let someone log in to the portal: a parent (with their children)
    /// or office staff, named as the login broker names them.
    Person {
        /// The broker's issuer URL, as in --oidc-issuer.
        #[arg(long)]
        issuer: String,
        /// The person's subject ("sub") at that broker.
        #[arg(long)]
        subject: String,
        #[arg(long, value_enum, default_value = "parent")]
        role: PersonRoleArg,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: Option<String>,
        /// A child of this parent (repeat for several).
        #[arg(long = "child")]
        children: Vec<Uuid>,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PersonRoleArg {
    Parent,
    Office,
}

/// The parents' portal: served under /portal when --portal-url is given.
#[derive(clap::Args)]
struct PortalArgs {
    /// The portal's address as parents' browsers reach it
    /// (https://kasse.example.dk); turns the portal on.
    #[arg(long, requires_all = ["oidc_issuer", "oidc_client_id", "oidc_client_secret"])]
    portal_url: Option<String>,
    /// The OpenID Connect broker's issuer URL (MitID through a broker).
    #[arg(long)]
    oidc_issuer: Option<String>,
    #[arg(long)]
    oidc_client_id: Option<String>,
    #[arg(long, env = "OIDC_CLIENT_SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,
    /// Who collects top-ups; required with --portal-url. Only `test` is
    /// built in: it takes no money, so it is refused off loopback (anyone
    /// logged in could put money on a card for nothing). A card-payment
    /// gateway plugs in behind the same trait.
    #[arg(long, value_enum)]
    payment_provider: Option<PaymentProviderArg>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PaymentProviderArg {
    Test,
}

impl PortalArgs {
    fn portal(self) -> Result<Option<portal::Portal>> {
        let Some(public_url) = self.portal_url else {
            return Ok(None);
        };
        let public_url = public_url.trim_end_matches('/').to_string();
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|l| public_url.starts_with(l));
        if !public_url.starts_with("https://") && !loopback {
            bail!(
                "--portal-url {public_url}: the portal needs HTTPS (its cookies are Secure); \
                 serve it with --tls-cert/--tls-key or behind an HTTPS proxy"
            );
        }
        let oidc = portal::oidc::Oidc::new(portal::oidc::OidcConfig {
            issuer: self.oidc_issuer.unwrap_or_default(),
            client_id: self.oidc_client_id.unwrap_or_default(),
            client_secret: self.oidc_client_secret.unwrap_or_default(),
            redirect_url: format!("{public_url}/portal/callback"),
        })?;
        let test = match self.payment_provider {
            None => bail!(
                "--portal-url needs --payment-provider: who collects the parents' top-ups \
                 (only `test` is built in, for a portal on this machine)"
            ),
            Some(PaymentProviderArg::Test) if !loopback => bail!(
                "--payment-provider test takes no money, so anyone logged in could top up \
                 for nothing: it is only for a portal on a loopback address, not {public_url}"
            ),
            Some(PaymentProviderArg::Test) => portal::payment::TestProvider::default(),
        };
        tracing::warn!("the portal takes payments with the test provider: no real money moves");
        Ok(Some(portal::Portal {
            oidc,
            payments: std::sync::Arc::new(test.clone()),
            test_payments: Some(test),
            mailer: std::sync::Arc::new(portal::mail::LogMailer),
            public_url,
        }))
    }
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it once; only its hash is stored.
    Create {
        #[arg(long, value_enum)]
        role: auth::TokenRole,
        /// The counter id a kiosk token speaks for.
        #[arg(long)]
        kiosk: Option<String>,
        /// A child a parent token may see (repeat for several).
        #[arg(long = "child")]
        children: Vec<Uuid>,
        /// The token stops working this long from now (90d, 12h, 30m, 2w);
        /// without it, it works until revoked.
        #[arg(long, value_parser = auth::parse_lifetime)]
        expires_in: Option<chrono::TimeDelta>,
        #[command(flatten)]
        db: Db,
    },
    /// Revoke a token by its id (printed by `token create`).
    Revoke {
        id: Uuid,
        #[command(flatten)]
        db: Db,
    },
}

fn parse_money(text: &str) -> Result<Money, String> {
    let money = Money::parse(text).map_err(|e| e.to_string())?;
    if money.is_negative() {
        return Err("must not be negative".to_string());
    }
    Ok(money)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info,sqlx=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Migrate { db } => {
            let pool = klubkasse_ledger::connect(&db.database_url)
                .await
                .context("could not connect to PostgreSQL")?;
            MIGRATOR.run(&pool).await.context("migration failed")?;
            println!("the database schema is up to date");
        }
        Command::Token { command } => token(command).await?,
        Command::Person {
            issuer,
            subject,
            role,
            name,
            email,
            children,
            db,
        } => {
            let pool = klubkasse_ledger::connect(&db.database_url)
                .await
                .context("could not connect to PostgreSQL")?;
            let role = match role {
                PersonRoleArg::Parent => portal::queries::PersonRole::Parent,
                PersonRoleArg::Office => portal::queries::PersonRole::Office,
            };
            let children: Vec<_> = children
                .into_iter()
                .map(klubkasse_core::domain::ChildId)
                .collect();
            let id = portal::queries::add_person(
                &pool,
                &issuer,
                &subject,
                role,
                &name,
                email.as_deref(),
                &children,
            )
            .await
            .context("could not add the person (are the children's ids right?)")?;
            println!("{id}");
        }
        Command::Serve {
            listen,
            db,
            tls_cert,
            tls_key,
            balance_cap,
            card_fee,
            time_zone,
            portal,
        } => {
            let portal = portal.portal()?;
            let settings = Settings {
                balance_cap,
                card_fee,
                time_zone,
            };
            let pool = klubkasse_ledger::connect(&db.database_url)
                .await
                .context("could not connect to PostgreSQL")?;
            klubkasse_ledger::check_settings(&pool, &settings)
                .await
                .with_context(|| {
                    format!(
                        "PostgreSQL does not know the time zone «{}»",
                        settings.time_zone
                    )
                })?;
            let pending = MIGRATOR
                .iter()
                .filter(|m| m.migration_type.is_up_migration())
                .count() as i64;
            let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
                .fetch_one(&pool)
                .await
                .unwrap_or(0);
            if applied < pending {
                bail!(
                    "the database schema is not up to date: run `klubkasse-ledger migrate` first"
                );
            }
            let mut state = AppState::new(pool, settings);
            if let Some(portal) = portal {
                tracing::info!(url = %portal.public_url, "serving the parents' portal under /portal");
                state = state.with_portal(portal);
            }
            let app = klubkasse_ledger::router(state);
            let handle = axum_server::Handle::new();
            tokio::spawn(shutdown_on_signal(handle.clone()));
            match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => {
                    // ring, the same provider sqlx and the kiosk use: one crypto library.
                    let _ = rustls::crypto::ring::default_provider().install_default();
                    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                        .await
                        .with_context(|| {
                            format!("could not load {} and {}", cert.display(), key.display())
                        })?;
                    tracing::info!(%listen, "serving HTTPS");
                    axum_server::bind_rustls(listen, config)
                        .handle(handle)
                        .serve(app.into_make_service())
                        .await
                        .context("the server stopped")?;
                }
                _ => {
                    tracing::info!(%listen, "serving HTTP");
                    axum_server::bind(listen)
                        .handle(handle)
                        .serve(app.into_make_service())
                        .await
                        .context("the server stopped")?;
                }
            }
        }
    }
    Ok(())
}

async fn token(command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create {
            role,
            kiosk,
            children,
            expires_in,
            db,
        } => {
            let pool = klubkasse_ledger::connect(&db.database_url)
                .await
                .context("could not connect to PostgreSQL")?;
            let made =
                auth::create_token(&pool, role, kiosk.as_deref(), &children, expires_in).await?;
            eprintln!(
                "token id {} (for `token revoke`); the token is shown only now:",
                made.id
            );
            println!("{}", made.token);
        }
        TokenCommand::Revoke { id, db } => {
            let pool = klubkasse_ledger::connect(&db.database_url)
                .await
                .context("could not connect to PostgreSQL")?;
            auth::revoke_token(&pool, id).await?;
            println!("token {id} revoked");
        }
    }
    Ok(())
}

/// Ctrl-C or SIGTERM (systemd): stop taking requests, finish the running ones.
async fn shutdown_on_signal(handle: axum_server::Handle<SocketAddr>) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    handle.graceful_shutdown(Some(Duration::from_secs(10)));
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
    handle.graceful_shutdown(Some(Duration::from_secs(10)));
}
