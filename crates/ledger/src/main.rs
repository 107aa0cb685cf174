//! klubkasse-ledger: argument parsing and wiring only; see the library.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use klubkasse_core::i18n::Language;
use klubkasse_ledger::cli::{self, Cli, ClubCommand, Command, TokenCommand};
use klubkasse_ledger::db::Actor;
use klubkasse_ledger::serve::{ServeConfig, serve};
use klubkasse_ledger::{MIGRATOR, Settings, auth, db, import};

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
            let pool = connect(&db).await?;
            MIGRATOR.run(&pool).await.context("migration failed")?;
            println!("the database schema is up to date");
        }
        Command::Token { command } => token(command).await?,
        Command::Person {
            issuer,
            subject,
            role,
            clubs,
            name,
            email,
            children,
            db,
        } => {
            let pool = connect(&db).await?;
            let role = cli::person_role(role, clubs)?;
            let children: Vec<_> = children
                .into_iter()
                .map(klubkasse_core::domain::ChildId)
                .collect();
            let person = db::people::PersonSpec {
                issuer: &issuer,
                subject: &subject,
                name: &name,
                email: email.as_deref(),
                children: &children,
                role,
            };
            let saved = db::people::add_person(&pool, &Actor::command_line(), &person)
                .await
                .context("could not add the person")?;
            eprintln!("{}", cli::person_saved(&saved));
            println!("{}", saved.id);
        }
        Command::Club { command } => club(command).await?,
        Command::ImportChildren {
            file,
            club,
            dry_run,
            time_zone,
            cpr_secret_file,
            db,
        } => {
            let cpr = cpr_secret_file
                .as_deref()
                .map(klubkasse_ledger::cpr::CprKey::read)
                .transpose()?;
            import_children(&file, club.trim(), dry_run, &time_zone, cpr.as_ref(), &db).await?
        }
        Command::Serve {
            listen,
            db,
            tls_cert,
            tls_key,
            balance_cap,
            card_fee,
            time_zone,
            code_days,
            auto_topups_per_month,
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
                    code_lifetime: chrono::TimeDelta::days(code_days.into()),
                    auto_topups_per_month,
                },
                portal: portal.config(),
            })
            .await?
        }
    }
    Ok(())
}

async fn connect(db: &cli::Db) -> Result<sqlx::PgPool> {
    klubkasse_ledger::connect(&db.database_url)
        .await
        .context("could not connect to PostgreSQL")
}

async fn token(command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create {
            label,
            role,
            kiosk,
            children,
            clubs,
            expires_in,
            db,
        } => {
            let pool = connect(&db).await?;
            let spec = auth::TokenSpec {
                label: &label,
                role,
                kiosk: kiosk.as_deref(),
                children: &children,
                clubs: &clubs,
                lifetime: expires_in,
            };
            let made = auth::create_token(&pool, &Actor::command_line(), &spec).await?;
            eprintln!(
                "token id {} «{}» (revoke it by either); the token is shown only now:",
                made.id,
                label.trim()
            );
            println!("{}", made.token);
        }
        TokenCommand::List { db } => {
            let pool = connect(&db).await?;
            let all = db::tokens::list(&pool, db::Window::everything()).await?;
            print!("{}", cli::token_table(&all.rows));
        }
        TokenCommand::Revoke { label_or_id, db } => {
            let pool = connect(&db).await?;
            let token = auth::revoke_token(&pool, &Actor::command_line(), &label_or_id).await?;
            println!("token «{}» ({}) revoked", token.label, token.id);
        }
    }
    Ok(())
}

/// `import-children`: the whole file checked before the database is asked.
async fn import_children(
    file: &std::path::Path,
    club: &str,
    dry_run: bool,
    time_zone: &str,
    cpr: Option<&klubkasse_ledger::cpr::CprKey>,
    db: &cli::Db,
) -> Result<()> {
    let bytes =
        std::fs::read(file).with_context(|| format!("{} cannot be read", file.display()))?;
    let name = file.display().to_string();
    let pool = connect(db).await?;
    // The clubs' today, as the office's upload has it: a child born this
    // morning in Copenhagen is not born tomorrow in UTC's eyes.
    db::check_time_zone(&pool, time_zone)
        .await
        .with_context(|| format!("«{time_zone}» cannot be the clubs' time zone"))?;
    let today = db::portal::today(&pool, time_zone).await?;
    let rows = import::parse(&bytes, today, cpr)
        .map_err(|e| anyhow::anyhow!(e.message(Language::DA, &name)))?;
    let enrolled = db::enrol_all(
        &pool,
        &Actor::command_line(),
        &db::Scope::All,
        club,
        &import::enrolments(&rows),
        import::source(&name, &bytes),
        dry_run,
    )
    .await?;
    let count = enrolled.children.len();
    if enrolled.written {
        println!("{count} children enrolled in «{club}», each with a first card ordered");
    } else {
        println!("dry run: {count} children would be enrolled in «{club}»; nothing was written");
    }
    Ok(())
}

async fn club(command: ClubCommand) -> Result<()> {
    let actor = Actor::command_line();
    match command {
        ClubCommand::Add { name, db } => {
            let name = cli::club_name(&name)?;
            db::clubs::add(&connect(&db).await?, &actor, &name).await?;
            println!("club «{name}» added");
        }
        ClubCommand::List { db } => {
            let clubs = db::clubs::list(&connect(&db).await?, &db::Scope::All).await?;
            print!("{}", cli::club_table(&clubs));
        }
        ClubCommand::Rename { old, new, db } => {
            let new = cli::club_name(&new)?;
            db::clubs::rename(&connect(&db).await?, &actor, old.trim(), &new).await?;
            println!("club «{}» is now «{new}»", old.trim());
        }
    }
    Ok(())
}
