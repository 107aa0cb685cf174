//! Clubs, and the office's scope: which clubs' children someone may see.
//!
//! Office staff work for some clubs, the municipality (and an admin
//! token) for all. Whatever names a child, or something of a child's (a
//! payout, a card order, a support request, a card), is checked with
//! [`in_scope`]; lists filter with the database's `club_in_scope(club,
//! clubs)` and [`Scope::clubs`] bound as its second argument. Outside
//! the scope is "not found", the same as what does not exist.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use super::office_log::{self, Action, Actor, Change};
use super::{DbError, Result};
use klubkasse_core::domain::ChildId;

/// The clubs someone may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every club: the municipality, an admin token.
    All,
    /// These clubs only: office staff, an office token.
    Clubs(BTreeSet<String>),
}

impl Scope {
    /// The second argument of `club_in_scope`: NULL for every club.
    pub fn clubs(&self) -> Option<Vec<String>> {
        match self {
            Scope::All => None,
            Scope::Clubs(clubs) => Some(clubs.iter().cloned().collect()),
        }
    }
}

impl Scope {
    /// The clubs a report counts: the scope's, narrowed to the one club
    /// asked for if any (`None`: every club). A club outside the scope
    /// leaves none, as an unknown club would.
    pub fn narrowed(&self, club: Option<&str>) -> Option<BTreeSet<String>> {
        match (self, club) {
            (Scope::All, None) => None,
            (Scope::All, Some(club)) => Some(BTreeSet::from([club.to_string()])),
            (Scope::Clubs(clubs), None) => Some(clubs.clone()),
            (Scope::Clubs(clubs), Some(club)) => {
                Some(clubs.iter().filter(|c| *c == club).cloned().collect())
            }
        }
    }

    /// Whether `club` is one of the scope's.
    pub fn has(&self, club: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Clubs(clubs) => clubs.contains(club),
        }
    }
}

/// Whether `children` are within `scope`: every club covers anything;
/// otherwise one of the children (that exists) must be in one of its
/// clubs. A thing of several children (a parent's general question) is
/// in scope if one of them is. The one check every office page, form and
/// API route makes.
pub async fn in_scope<'e>(
    executor: impl PgExecutor<'e>,
    scope: &Scope,
    children: &[ChildId],
) -> Result<bool> {
    let Scope::Clubs(_) = scope else {
        return Ok(true);
    };
    let ids: Vec<Uuid> = children.iter().map(|c| c.0).collect();
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM children WHERE id = ANY($1) AND club_in_scope(club, $2))",
    )
    .bind(&ids)
    .bind(scope.clubs())
    .fetch_one(executor)
    .await?)
}

/// [`in_scope`] for one child.
pub async fn child_in_scope<'e>(
    executor: impl PgExecutor<'e>,
    scope: &Scope,
    child: ChildId,
) -> Result<bool> {
    in_scope(executor, scope, &[child]).await
}

pub(super) fn unknown_club(club: &str) -> DbError {
    DbError::Refused {
        code: "unknown_club",
        message: format!(
            "there is no club «{club}»; the municipality adds clubs with `klubkasse-ledger club add`"
        ),
    }
}

/// A club that exists and is within the scope, locked against a rename
/// for the rest of the transaction; else [`unknown_club`] (the same
/// answer, so a scope learns nothing of other clubs).
pub(super) async fn known_club(conn: &mut PgConnection, scope: &Scope, club: &str) -> Result<()> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT name FROM clubs WHERE name = $1 AND club_in_scope(name, $2) FOR KEY SHARE",
    )
    .bind(club)
    .bind(scope.clubs())
    .fetch_optional(&mut *conn)
    .await?;
    found.map(drop).ok_or_else(|| unknown_club(club))
}

/// Every club of a set that does not exist, for refusing all of them at once.
pub(super) async fn missing(conn: &mut PgConnection, clubs: &BTreeSet<String>) -> Result<()> {
    let names: Vec<&str> = clubs.iter().map(String::as_str).collect();
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT t.wanted FROM unnest($1::text[]) AS t(wanted)
         WHERE NOT EXISTS (SELECT 1 FROM clubs k WHERE k.name = t.wanted) ORDER BY t.wanted",
    )
    .bind(&names)
    .fetch_all(&mut *conn)
    .await?;
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(unknown_club(first)),
    }
}

/// A club as `club list` shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Club {
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub children: i64,
}

pub async fn add(pool: &PgPool, actor: &Actor, name: &str) -> Result<()> {
    let mut tx = pool.begin().await?;
    let added = sqlx::query("INSERT INTO clubs (name) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !added {
        return Err(DbError::conflict(
            "club_exists",
            format!("there is a club «{name}» already"),
        ));
    }
    let change = Change::club(Action::ClubAdd, name).after(json!({ "name": name }));
    office_log::write(&mut tx, actor, change).await?;
    tx.commit().await?;
    Ok(())
}

/// The names of the clubs within a scope, in order: what a page's choice
/// of club needs (counting the children of every club is not free at a
/// municipality's size).
pub async fn names(pool: &PgPool, scope: &Scope) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM clubs WHERE club_in_scope(name, $1) ORDER BY name")
            .bind(scope.clubs())
            .fetch_all(pool)
            .await?,
    )
}

/// The clubs within a scope, by name, with how many children each has.
pub async fn list(pool: &PgPool, scope: &Scope) -> Result<Vec<Club>> {
    Ok(sqlx::query_as(
        "SELECT k.name, k.created_at, (SELECT count(*) FROM children c WHERE c.club = k.name)
                AS children
         FROM clubs k WHERE club_in_scope(k.name, $1) ORDER BY k.name",
    )
    .bind(scope.clubs())
    .fetch_all(pool)
    .await?)
}

/// Renames a club: its children, office staff and office tokens follow
/// (ON UPDATE CASCADE), and so do its books: the club's entries, report
/// sums and moves carry the new name, so that its reports go on as one
/// club's and a new club later given the old name starts with none of
/// them. (A move is another thing: the entries stay with the club that
/// sold.) The office log keeps the names as they were.
pub async fn rename(pool: &PgPool, actor: &Actor, old: &str, new: &str) -> Result<()> {
    let mut tx = pool.begin().await?;
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM clubs WHERE name = $1)")
        .bind(new)
        .fetch_one(&mut *tx)
        .await?;
    if taken {
        return Err(DbError::conflict(
            "club_exists",
            format!("there is a club «{new}» already"),
        ));
    }
    let renamed = sqlx::query("UPDATE clubs SET name = $2 WHERE name = $1")
        .bind(old)
        .bind(new)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !renamed {
        return Err(unknown_club(old));
    }
    for books in [
        "UPDATE entries SET club = $2 WHERE club = $1",
        "UPDATE report_hours SET club = $2 WHERE club = $1",
        "UPDATE report_hour_items SET club = $2 WHERE club = $1",
        "UPDATE child_club_changes SET from_club = $2 WHERE from_club = $1",
        "UPDATE child_club_changes SET to_club = $2 WHERE to_club = $1",
    ] {
        sqlx::query(books)
            .bind(old)
            .bind(new)
            .execute(&mut *tx)
            .await?;
    }
    let change = Change::club(Action::ClubRename, new)
        .before(json!({ "name": old }))
        .after(json!({ "name": new }));
    office_log::write(&mut tx, actor, change).await?;
    tx.commit().await?;
    Ok(())
}
