//! klubkasse-ledger: argument parsing and wiring only; see the library.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use klubkasse_ledger::cli::{Cli, Command, PersonRoleArg, TokenCommand};
use klubkasse_ledger::serve::{ServeConfig, serve};
use klubkasse_ledger::{MIGRATOR, Settings, auth, db};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info,sqlx=warn".into()),
        )
        .init();
    // One plain message, never a backtrace: read by whoever runs the server.
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("klubkasse-ledger: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
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
                PersonRoleArg::Parent => db::people::PersonRole::Parent,
                PersonRoleArg::Office => db::people::PersonRole::Office,
            };
            let children: Vec<_> = children
                .into_iter()
                .map(klubkasse_core::domain::ChildId)
                .collect();
            let id = db::people::add_person(
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
            serve(ServeConfig {
                listen,
                database_url: db.database_url,
                tls: tls_cert.zip(tls_key),
                settings: Settings {
                    balance_cap,
                    card_fee,
                    time_zone,
                },
                portal: portal.config(),
            })
            .await?
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
