//! The `klubkasse-ledger` command line: what each command takes, as
//! `--help` shows it. The binary parses it and calls the library.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::collections::BTreeSet;

use chrono::{DateTime, Local, Utc};
use clap::{Parser, Subcommand};
use klubkasse_core::domain::Money;
use uuid::Uuid;

use crate::api::MAX_NAME;
use crate::db::clubs::Club;
use crate::db::people::{PersonRole, PersonSaved};
use crate::db::tokens::TokenInfo;
use crate::portal::throttle::Limits;
use crate::serve::{CprConfig, MailConfig, PaymentProviderChoice, PortalConfig, StripeSource};
use crate::{auth, validate};

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

// `serve`'s options make it the largest by far; the command is parsed
// once, at start, so its size costs nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
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
        /// How many days an activation letter's code works.
        #[arg(long, default_value = "60", value_parser = clap::value_parser!(u32).range(1..=365))]
        code_days: u32,
        /// At most this many automatic top-ups of a child a calendar month.
        #[arg(long, default_value = "4", value_parser = clap::value_parser!(u32).range(0..=31))]
        auto_topups_per_month: u32,
        /// Boxed: the portal's options outweigh every other command's.
        #[command(flatten)]
        portal: Box<PortalArgs>,
    },
    /// Create or update the database schema.
    Migrate {
        #[command(flatten)]
        db: Db,
    },
    /// Create, list or revoke bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Let someone log in to the portal: a parent (with their children),
    /// office staff (for their clubs) or the municipality (every club),
    /// named as the login broker names them. Run again for the same
    /// person, it updates the name, e-mail and children, and changes the
    /// role only with --role.
    Person {
        /// The broker's issuer URL, as in --oidc-issuer (a trailing slash
        /// makes no difference).
        #[arg(long)]
        issuer: String,
        /// The person's subject ("sub") at that broker.
        #[arg(long)]
        subject: String,
        /// Sets the role; without it a new person is a parent and an
        /// existing one keeps the role and clubs they have.
        #[arg(long, value_enum)]
        role: Option<PersonRoleArg>,
        /// A club of office staff (with --role office; repeat for several).
        #[arg(long = "club")]
        clubs: Vec<String>,
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
    /// Enrol a club's children from a CSV file (columns: README «Office»):
    /// every line checked first, then all written in one transaction, or
    /// nothing. Each child's first card is ordered, free.
    ImportChildren {
        file: PathBuf,
        /// The club every child of the file joins.
        #[arg(long)]
        club: String,
        /// Check everything, the club too, and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The clubs' time zone: no birth date is after its today.
        #[arg(long, default_value = "Europe/Copenhagen")]
        time_zone: String,
        /// The secret (a file of at least 32 bytes) that custody holders'
        /// CPR numbers (`betaler1_cpr`) are hashed with: the one `serve
        /// --cpr-secret-file` reads. Without it a CPR column is refused.
        #[arg(long)]
        cpr_secret_file: Option<PathBuf>,
        #[command(flatten)]
        db: Db,
    },
    /// The clubs: office staff and office tokens work for some of them.
    Club {
        #[command(subcommand)]
        command: ClubCommand,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PersonRoleArg {
    Parent,
    /// Office staff of the clubs given with --club.
    Office,
    /// Every club's office (what an admin token is for scripts).
    Municipality,
}

#[derive(Subcommand)]
pub enum ClubCommand {
    /// Add a club, so that children can be enrolled in it.
    Add {
        name: String,
        #[command(flatten)]
        db: Db,
    },
    /// List the clubs, with how many children each has.
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Rename a club: its children, office staff, tokens and books
    /// (entries, report sums) follow; the office log keeps the old name.
    Rename {
        old: String,
        new: String,
        #[command(flatten)]
        db: Db,
    },
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
    /// The identity token's claim that names a person whatever the
    /// broker (`mitid.uuid` at Signaturgruppen, `uuid` at Idura): kept
    /// and matched, so a new broker's `sub` finds the same person.
    #[arg(long)]
    pub oidc_stable_claim: Option<String>,
    /// CPR match (off unless given, with --cpr-secret-file): the identity
    /// token's claim with the parent's CPR number (`dk.cpr` at
    /// Signaturgruppen's broker, `cprNumberIdentifier` at Idura). A login
    /// whose number a custody holder of the import has is linked to
    /// each such child at once, with no code.
    #[arg(long, requires = "cpr_secret_file")]
    pub cpr_claim: Option<String>,
    /// The scope that asks the broker for the CPR claim (`ssn`).
    #[arg(long, requires = "cpr_claim")]
    pub cpr_scope: Option<String>,
    /// A file of at least 32 secret bytes: CPR numbers are kept only as
    /// HMAC-SHA-256 under it. Give `import-children` the same file.
    #[arg(long, requires = "cpr_claim")]
    pub cpr_secret_file: Option<PathBuf>,
    /// Who collects top-ups; required with --portal-url. `stripe`: cards
    /// (and MobilePay) through Stripe (README «Stripe»). `test` takes no
    /// money, so it is refused off loopback (anyone logged in could put
    /// money on a card for nothing).
    #[arg(long, value_enum)]
    pub payment_provider: Option<PaymentProviderArg>,
    /// A file holding Stripe's secret key (sk_live_…); else the
    /// environment's STRIPE_SECRET_KEY.
    #[arg(long)]
    pub stripe_secret_key_file: Option<PathBuf>,
    /// A file holding the webhook's signing secret (whsec_…); else the
    /// environment's STRIPE_WEBHOOK_SECRET.
    #[arg(long)]
    pub stripe_webhook_secret_file: Option<PathBuf>,
    /// Stripe's publishable key (pk_live_…), given to Stripe.js on the pay
    /// page: not a secret.
    #[arg(long)]
    pub stripe_publishable_key: Option<String>,
    /// Stripe's address; for tests against localstripe only.
    #[arg(long)]
    pub stripe_api_url: Option<String>,
    /// How parents may pay: `card`, and `mobilepay` once it is turned on
    /// in Stripe's dashboard.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "card")]
    pub stripe_payment_methods: Vec<StripeMethodArg>,
    /// Logins one address may start a minute; more get a page saying to
    /// wait (behind a proxy every parent has the proxy's address).
    #[arg(long, default_value_t = Limits::default().logins_per_minute,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub logins_per_minute: u32,
    /// Logins under way (at the broker) at most, for everyone together:
    /// each takes a row for up to 10 minutes.
    #[arg(long, default_value_t = Limits::default().pending_logins,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub pending_logins: u32,
    /// A reverse proxy in front of the ledger (its address as the ledger
    /// sees it; repeat for each): the client's address is then read from
    /// the `X-Forwarded-For` it writes, so that login and code limits
    /// count parents, not the proxy.
    #[arg(long = "trusted-proxy")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Messages to the office one person may send an hour.
    #[arg(long, default_value_t = Limits::default().questions_per_hour,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub questions_per_hour: u32,
    /// The mail server parents' mail goes through: smtp://[USER@]HOST:587
    /// (STARTTLS), smtps://[USER@]HOST:465 (TLS). Without it, mails wait
    /// in the outbox and the office's start page says how many.
    #[arg(long, requires_all = ["portal_url", "mail_from"])]
    pub smtp_url: Option<String>,
    /// A file holding the password of --smtp-url's user.
    #[arg(long, requires = "smtp_url")]
    pub smtp_password_file: Option<PathBuf>,
    /// The sender parents see, e.g. "Klubkassen <kasse@kommune.dk>".
    #[arg(long, requires = "smtp_url")]
    pub mail_from: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PaymentProviderArg {
    Stripe,
    Test,
}

/// Stripe's payment methods the pay page offers.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum StripeMethodArg {
    Card,
    Mobilepay,
}

impl PortalArgs {
    /// The portal's configuration, when --portal-url turns it on.
    pub fn config(self) -> Option<PortalConfig> {
        Some(PortalConfig {
            public_url: self.portal_url?,
            oidc_issuer: self.oidc_issuer.unwrap_or_default(),
            oidc_client_id: self.oidc_client_id.unwrap_or_default(),
            oidc_client_secret: self.oidc_client_secret.unwrap_or_default(),
            oidc_stable_claim: self.oidc_stable_claim,
            cpr: self.cpr_claim.map(|claim| CprConfig {
                claim,
                scope: self.cpr_scope,
                secret_file: self.cpr_secret_file.unwrap_or_default(),
            }),
            payment_provider: self.payment_provider.map(|p| match p {
                PaymentProviderArg::Test => PaymentProviderChoice::Test,
                PaymentProviderArg::Stripe => PaymentProviderChoice::Stripe,
            }),
            stripe: StripeSource {
                api_url: self.stripe_api_url,
                secret_key_file: self.stripe_secret_key_file,
                webhook_secret_file: self.stripe_webhook_secret_file,
                publishable_key: self.stripe_publishable_key,
                payment_methods: self
                    .stripe_payment_methods
                    .into_iter()
                    .map(|m| match m {
                        StripeMethodArg::Card => "card",
                        StripeMethodArg::Mobilepay => "mobilepay",
                    })
                    .map(String::from)
                    .collect(),
            },
            limits: Limits {
                logins_per_minute: self.logins_per_minute,
                pending_logins: self.pending_logins,
                questions_per_hour: self.questions_per_hour,
            },
            trusted_proxies: self.trusted_proxies,
            mail: self.smtp_url.map(|smtp_url| MailConfig {
                smtp_url,
                password_file: self.smtp_password_file,
                from: self.mail_from.unwrap_or_default(),
            }),
        })
    }
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once; only its hash is stored.
    Create {
        /// What to know the token by in `token list`, `token revoke` and
        /// the office log: unique among tokens not revoked.
        #[arg(long)]
        label: String,
        #[arg(long, value_enum)]
        role: auth::TokenRole,
        /// The counter id a kiosk token speaks for.
        #[arg(long)]
        kiosk: Option<String>,
        /// A child a parent token may see (repeat for several).
        #[arg(long = "child")]
        children: Vec<Uuid>,
        /// A club an office token may see (repeat for several).
        #[arg(long = "club")]
        clubs: Vec<String>,
        /// The token stops working this long from now (90d, 12h, 30m, 2w);
        /// without it, it works until revoked.
        #[arg(long, value_parser = auth::parse_lifetime)]
        expires_in: Option<chrono::TimeDelta>,
        #[command(flatten)]
        db: Db,
    },
    /// List every token: label, role, counter or clubs, created, last
    /// used, expiry, revoked. Never the token: only its hash is stored.
    List {
        #[command(flatten)]
        db: Db,
    },
    /// Revoke a token by its label or its id (printed by `token create`).
    Revoke {
        label_or_id: String,
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

/// Why a `person` or `club` command cannot run as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgsError {
    #[error("--role office needs at least one --club NAME")]
    ClubNeeded,
    #[error("--club goes with --role office (it sets the clubs of office staff)")]
    ClubNotAllowed,
    #[error("a club's name: {0}")]
    ClubName(String),
}

/// The role `person` sets: none unless `--role` is given.
pub fn person_role(
    role: Option<PersonRoleArg>,
    clubs: Vec<String>,
) -> Result<Option<PersonRole>, ArgsError> {
    let clubs: BTreeSet<String> = clubs
        .iter()
        .map(|c| club_name(c))
        .collect::<Result<_, _>>()?;
    match (role, clubs.is_empty()) {
        (Some(PersonRoleArg::Office), true) => Err(ArgsError::ClubNeeded),
        (Some(PersonRoleArg::Office), false) => Ok(Some(PersonRole::Office(clubs))),
        (_, false) => Err(ArgsError::ClubNotAllowed),
        (Some(PersonRoleArg::Parent), true) => Ok(Some(PersonRole::Parent)),
        (Some(PersonRoleArg::Municipality), true) => Ok(Some(PersonRole::Municipality)),
        (None, true) => Ok(None),
    }
}

/// A club's name as the ledger takes it: trimmed, 1 to 100 characters.
pub fn club_name(name: &str) -> Result<String, ArgsError> {
    validate::text("the name", name, MAX_NAME).map_err(|e| ArgsError::ClubName(e.to_string()))
}

fn role_text(role: &PersonRole) -> String {
    match role {
        PersonRole::Parent => "parent".to_string(),
        PersonRole::Office(clubs) => {
            let clubs: Vec<&str> = clubs.iter().map(String::as_str).collect();
            format!("office staff of {}", clubs.join(", "))
        }
        PersonRole::Municipality => "municipality (every club)".to_string(),
    }
}

/// What `person` says it did.
pub fn person_saved(saved: &PersonSaved) -> String {
    let done = if saved.created { "added" } else { "updated" };
    format!("{done}: {}", role_text(&saved.role))
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| {
        at.with_timezone(&Local)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    })
    .unwrap_or_else(|| "-".to_string())
}

/// Columns padded to their widest cell, separated by two spaces.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `token list`: live tokens first; times in the machine's time zone.
pub fn token_table(tokens: &[TokenInfo]) -> String {
    let rows = tokens
        .iter()
        .map(|t| {
            let scope = match t.role.as_str() {
                "kiosk" => t.kiosk.clone().unwrap_or_default(),
                "office" => t.clubs.join(", "),
                "parent" => format!("{} children", t.children),
                _ => "every club".to_string(),
            };
            vec![
                t.label.clone(),
                t.role.clone(),
                scope,
                when(Some(t.created_at)),
                when(t.last_used_at),
                when(t.expires_at),
                when(t.revoked_at),
                t.id.to_string(),
            ]
        })
        .collect();
    let header = [
        "label",
        "role",
        "for",
        "created",
        "last used",
        "expires",
        "revoked",
        "id",
    ];
    table(&header, rows)
}

/// `club list`.
pub fn club_table(clubs: &[Club]) -> String {
    let rows = clubs
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.children.to_string(),
                when(Some(c.created_at)),
            ]
        })
        .collect();
    table(&["club", "children", "created"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_only_when_asked_and_clubs_only_for_office_staff() {
        let clubs = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(person_role(None, vec![]), Ok(None));
        assert_eq!(
            person_role(Some(PersonRoleArg::Parent), vec![]),
            Ok(Some(PersonRole::Parent))
        );
        assert_eq!(
            person_role(Some(PersonRoleArg::Office), clubs(&[" A ", "B", "A"])),
            Ok(Some(PersonRole::Office(
                ["A", "B"].map(String::from).into_iter().collect()
            )))
        );
        assert_eq!(
            person_role(Some(PersonRoleArg::Office), vec![]),
            Err(ArgsError::ClubNeeded)
        );
        for role in [
            None,
            Some(PersonRoleArg::Parent),
            Some(PersonRoleArg::Municipality),
        ] {
            assert_eq!(
                person_role(role, clubs(&["A"])),
                Err(ArgsError::ClubNotAllowed)
            );
        }
        assert!(matches!(
            person_role(Some(PersonRoleArg::Office), clubs(&["  "])),
            Err(ArgsError::ClubName(_))
        ));
    }

    #[test]
    fn automatic_top_ups_a_month_are_four_unless_told() {
        let per_month = |extra: &[&str]| {
            let mut args = vec![
                "klubkasse-ledger",
                "serve",
                "--database-url",
                "postgres://x",
            ];
            args.extend_from_slice(extra);
            match Cli::try_parse_from(args).map(|cli| cli.command) {
                Ok(Command::Serve {
                    auto_topups_per_month,
                    ..
                }) => Ok(auto_topups_per_month),
                Ok(_) => unreachable!("serve parses as serve"),
                Err(e) => Err(e.kind()),
            }
        };
        assert_eq!(per_month(&[]), Ok(4));
        assert_eq!(per_month(&["--auto-topups-per-month", "0"]), Ok(0));
        assert_eq!(per_month(&["--auto-topups-per-month", "31"]), Ok(31));
        for refused in ["32", "-1", "fire"] {
            assert!(
                per_month(&["--auto-topups-per-month", refused]).is_err(),
                "{refused}"
            );
        }
    }

    #[test]
    fn tables_line_their_columns_up() {
        let text = table(
            &["a", "bb"],
            vec![vec!["ååå".into(), "x".into()], vec!["b".into(), "".into()]],
        );
        assert_eq!(text, "a    bb\nååå  x\nb\n");
    }
}
