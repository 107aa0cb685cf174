//! The `klubkasse-ledger` command line: what each command takes, as
//! `--help` shows it. The binary parses it and calls the library.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use klubkasse_core::domain::Money;
use uuid::Uuid;

use crate::auth;
use crate::serve::{PaymentProviderChoice, PortalConfig};

#[derive(Parser)]
#[command(
    name = "klubkasse-ledger",
    version,
    about = "The central ledger of klubkasse"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args)]
pub struct Db {
    /// postgres://user@host:port/database
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

#[derive(Subcommand)]
pub enum Command {
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
pub enum PersonRoleArg {
    Parent,
    Office,
}

/// The parents' portal: served under /portal when --portal-url is given.
#[derive(clap::Args)]
pub struct PortalArgs {
    /// The portal's address as parents' browsers reach it
    /// (https://kasse.example.dk); turns the portal on.
    #[arg(long, requires_all = ["oidc_issuer", "oidc_client_id", "oidc_client_secret"])]
    pub portal_url: Option<String>,
    /// The OpenID Connect broker's issuer URL (MitID through a broker).
    #[arg(long)]
    pub oidc_issuer: Option<String>,
    #[arg(long)]
    pub oidc_client_id: Option<String>,
    #[arg(long, env = "OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// Who collects top-ups; required with --portal-url. Only `test` is
    /// built in: it takes no money, so it is refused off loopback (anyone
    /// logged in could put money on a card for nothing). A card-payment
    /// gateway plugs in behind the same trait.
    #[arg(long, value_enum)]
    pub payment_provider: Option<PaymentProviderArg>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PaymentProviderArg {
    Test,
}

impl PortalArgs {
    /// The portal's configuration, when --portal-url turns it on.
    pub fn config(self) -> Option<PortalConfig> {
        Some(PortalConfig {
            public_url: self.portal_url?,
            oidc_issuer: self.oidc_issuer.unwrap_or_default(),
            oidc_client_id: self.oidc_client_id.unwrap_or_default(),
            oidc_client_secret: self.oidc_client_secret.unwrap_or_default(),
            payment_provider: self.payment_provider.map(|p| match p {
                PaymentProviderArg::Test => PaymentProviderChoice::Test,
            }),
        })
    }
}

#[derive(Subcommand)]
pub enum TokenCommand {
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

pub fn parse_money(text: &str) -> Result<Money, String> {
    let money = Money::parse(text).map_err(|e| e.to_string())?;
    if money.is_negative() {
        return Err("must not be negative".to_string());
    }
    Ok(money)
}
