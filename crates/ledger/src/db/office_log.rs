//! The office log: who changed what, when, with what was there before and
//! after. Every change a person, a token or the command line makes is
//! [`write`]n in the same transaction as the change, so the log never
//! holds a change that did not happen nor misses one that did. The
//! database refuses every UPDATE, DELETE and TRUNCATE of it (a trigger).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::clubs::Scope;
use super::{DbError, Result};
use klubkasse_core::domain::ChildId;

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Someone logged in to the portal, by their name then.
    Person { id: Uuid, name: String },
    /// A bearer token, by its label then.
    Token { id: Uuid, label: String },
    /// `klubkasse-ledger` run by hand, by the operating system's user.
    CommandLine { user: String },
}

impl Actor {
    /// The command line, as the user who runs it (the one behind sudo).
    pub fn command_line() -> Actor {
        let user = ["SUDO_USER", "USER", "LOGNAME"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "?".to_string());
        Actor::CommandLine { user }
    }

    /// The person's name, the token's label, the command line's user.
    pub fn name(&self) -> &str {
        self.columns().2
    }

    fn columns(&self) -> (&'static str, Option<Uuid>, &str) {
        match self {
            Actor::Person { id, name } => ("person", Some(*id), name),
            Actor::Token { id, label } => ("token", Some(*id), label),
            Actor::CommandLine { user } => ("command_line", None, user),
        }
    }
}

/// What was done, as a short code. Stored as [`Action::code`]; a page
/// names it in the reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    ChildEnrol,
    /// A whole file, once (each child has its own `ChildEnrol` too).
    ChildImport,
    ChildMove,
    ChildRename,
    ChildSettings,
    /// The child left: what was left requested as a payout, cards blocked.
    ChildLeft,
    CardHandOut,
    CardBlock,
    CardUnblock,
    CardOrder,
    CardOrderStatus,
    MoneyDeposit,
    MoneyWithdrawal,
    /// A counter's sale refunded by the office, with a reason.
    CorrectionRefund,
    /// Money put on or taken off by the office, with a reason.
    CorrectionAdjustment,
    PayoutRequest,
    PayoutPaid,
    PayoutRejected,
    SupportAnswer,
    PersonAdd,
    PersonUpdate,
    PersonRole,
    ClubAdd,
    ClubRename,
    TokenCreate,
    TokenRevoke,
    PayerAdd,
    PayerRemove,
    /// An activation letter made for a payer: a new code, the old voided.
    PayerLetter,
    /// A person who logged in typed a payer's code and became that payer.
    PayerLink,
    /// A counter's flag on an entry dealt with, with a comment.
    FlagHandled,
}

impl Action {
    pub const ALL: [Action; 31] = [
        Action::ChildEnrol,
        Action::ChildImport,
        Action::ChildMove,
        Action::ChildRename,
        Action::ChildSettings,
        Action::ChildLeft,
        Action::CardHandOut,
        Action::CardBlock,
        Action::CardUnblock,
        Action::CardOrder,
        Action::CardOrderStatus,
        Action::MoneyDeposit,
        Action::MoneyWithdrawal,
        Action::CorrectionRefund,
        Action::CorrectionAdjustment,
        Action::PayoutRequest,
        Action::PayoutPaid,
        Action::PayoutRejected,
        Action::SupportAnswer,
        Action::PersonAdd,
        Action::PersonUpdate,
        Action::PersonRole,
        Action::ClubAdd,
        Action::ClubRename,
        Action::TokenCreate,
        Action::TokenRevoke,
        Action::PayerAdd,
        Action::PayerRemove,
        Action::PayerLetter,
        Action::PayerLink,
        Action::FlagHandled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::ChildEnrol => "child.enrol",
            Action::ChildImport => "child.import",
            Action::ChildMove => "child.move",
            Action::ChildRename => "child.rename",
            Action::ChildSettings => "child.settings",
            Action::ChildLeft => "child.left",
            Action::CardHandOut => "card.hand_out",
            Action::CardBlock => "card.block",
            Action::CardUnblock => "card.unblock",
            Action::CardOrder => "card.order",
            Action::CardOrderStatus => "card_order.status",
            Action::MoneyDeposit => "money.deposit",
            Action::MoneyWithdrawal => "money.withdrawal",
            Action::CorrectionRefund => "correction.refund",
            Action::CorrectionAdjustment => "correction.adjustment",
            Action::PayoutRequest => "payout.request",
            Action::PayoutPaid => "payout.paid",
            Action::PayoutRejected => "payout.rejected",
            Action::SupportAnswer => "support.answer",
            Action::PersonAdd => "person.add",
            Action::PersonUpdate => "person.update",
            Action::PersonRole => "person.role",
            Action::ClubAdd => "club.add",
            Action::ClubRename => "club.rename",
            Action::TokenCreate => "token.create",
            Action::TokenRevoke => "token.revoke",
            Action::PayerAdd => "payer.add",
            Action::PayerRemove => "payer.remove",
            Action::PayerLetter => "payer.letter",
            Action::PayerLink => "payer.link",
            Action::FlagHandled => "flag.handled",
        }
    }

    pub fn parse(code: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }
}

/// One change for the log: about a child (its club is looked up), a club,
/// or neither (a token, the municipality's staff).
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub action: Action,
    pub child: Option<ChildId>,
    pub club: Option<&'a str>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl<'a> Change<'a> {
    pub fn new(action: Action) -> Change<'a> {
        Change {
            action,
            child: None,
            club: None,
            before: None,
            after: None,
        }
    }

    /// About a child; the log keeps the child's club of now.
    pub fn child(action: Action, child: ChildId) -> Change<'a> {
        Change {
            child: Some(child),
            ..Change::new(action)
        }
    }

    pub fn club(action: Action, club: &'a str) -> Change<'a> {
        Change {
            club: Some(club),
            ..Change::new(action)
        }
    }

    /// In this club, rather than the child's club of now.
    pub fn in_club(self, club: &'a str) -> Change<'a> {
        Change {
            club: Some(club),
            ..self
        }
    }

    pub fn before(self, before: Value) -> Change<'a> {
        Change {
            before: Some(before),
            ..self
        }
    }

    pub fn after(self, after: Value) -> Change<'a> {
        Change {
            after: Some(after),
            ..self
        }
    }
}

/// Writes one change to the log, inside the change's own transaction.
pub async fn write(conn: &mut PgConnection, actor: &Actor, change: Change<'_>) -> Result<()> {
    let (kind, id, name) = actor.columns();
    let text = |value: &Option<Value>| value.as_ref().map(Value::to_string);
    sqlx::query(
        "INSERT INTO office_log (actor_kind, actor_id, actor_name, child_id, club, action, before, after)
         VALUES ($1, $2, $3, $4,
                 coalesce($5, (SELECT club FROM children WHERE id = $4)),
                 $6, $7::jsonb, $8::jsonb)",
    )
    .bind(kind)
    .bind(id)
    .bind(name)
    .bind(change.child.map(|c| c.0))
    .bind(change.club)
    .bind(change.action.code())
    .bind(text(&change.before))
    .bind(text(&change.after))
    .execute(conn)
    .await?;
    Ok(())
}

/// A row of the log as the office reads it.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `at` in the clubs' time zone.
    pub local_at: NaiveDateTime,
    pub actor: Actor,
    pub child: Option<ChildId>,
    /// The child's name now.
    pub child_name: Option<String>,
    pub club: Option<String>,
    /// None for a code this build does not know (a newer ledger's).
    pub action: Option<Action>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    at: DateTime<Utc>,
    local_at: NaiveDateTime,
    actor_kind: String,
    actor_id: Option<Uuid>,
    actor_name: String,
    child_id: Option<Uuid>,
    child_name: Option<String>,
    club: Option<String>,
    action: String,
    before: Option<String>,
    after: Option<String>,
}

impl From<Row> for LogRow {
    fn from(row: Row) -> LogRow {
        let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        let actor = match (row.actor_kind.as_str(), row.actor_id) {
            ("person", Some(id)) => Actor::Person {
                id,
                name: row.actor_name,
            },
            ("token", Some(id)) => Actor::Token {
                id,
                label: row.actor_name,
            },
            // The table's CHECK allows nothing else.
            _ => Actor::CommandLine {
                user: row.actor_name,
            },
        };
        LogRow {
            id: row.id,
            at: row.at,
            local_at: row.local_at,
            actor,
            child: row.child_id.map(ChildId),
            child_name: row.child_name,
            club: row.club,
            action: Action::parse(&row.action),
            before: json(row.before),
            after: json(row.after),
        }
    }
}

/// The columns of a [`Row`]; `$1` is the clubs' time zone.
const SELECT: &str = "SELECT l.id, l.at, l.at AT TIME ZONE $1 AS local_at, l.actor_kind, l.actor_id, l.actor_name, l.child_id,
        c.name AS child_name, l.club, l.action, l.before::text AS before, l.after::text AS after
    FROM office_log l LEFT JOIN children c ON c.id = l.child_id";

/// A child's part of the log, newest first, at most `limit` rows. The
/// caller has checked the child is in the reader's scope.
pub async fn for_child(
    pool: &PgPool,
    time_zone: &str,
    child: ChildId,
    limit: i64,
) -> Result<Vec<LogRow>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE l.child_id = $2 ORDER BY l.id DESC LIMIT $3"
    )))
    .bind(time_zone)
    .bind(child.0)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(LogRow::from).collect())
}

/// What to look for in the log; every field left out matches everything.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// In the actor's name, the child's name, the club, the action's code,
    /// and what was before and after (case-insensitive).
    pub text: Option<String>,
    pub action: Option<Action>,
    /// The club of the row then, or the child's club now.
    pub club: Option<String>,
    /// Local days in `time_zone`, inclusive.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Rows older than this id: the next page.
    pub before_id: Option<i64>,
}

/// A page of the log, newest first.
#[derive(Debug, Clone)]
pub struct Page {
    pub rows: Vec<LogRow>,
    /// `before_id` for the next page, if there is one.
    pub next: Option<i64>,
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub(super) fn like(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The log within a scope, searched, a page of `limit` rows. A row is in
/// the scope when its club then or its child's club now is: the staff of
/// a child's new club see its whole history, those of its old club what
/// happened while it was theirs. Rows of no club (tokens, the
/// municipality's staff) only every club's scope sees.
pub async fn search(
    pool: &PgPool,
    scope: &Scope,
    time_zone: &str,
    search: &Search,
    limit: i64,
) -> Result<Page> {
    if !(1..=500).contains(&limit) {
        return Err(DbError::refused("a page of the log is 1 to 500 rows"));
    }
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT}
         WHERE (club_in_scope(l.club, $2) OR club_in_scope(c.club, $2))
           AND ($3::text IS NULL OR l.actor_name ILIKE $3 OR c.name ILIKE $3 OR l.club ILIKE $3
                OR l.action ILIKE $3 OR l.before::text ILIKE $3 OR l.after::text ILIKE $3)
           AND ($4::text IS NULL OR l.action = $4)
           AND ($5::text IS NULL OR l.club = $5 OR c.club = $5)
           AND ($6::date IS NULL OR (l.at AT TIME ZONE $1)::date >= $6)
           AND ($7::date IS NULL OR (l.at AT TIME ZONE $1)::date <= $7)
           AND ($8::bigint IS NULL OR l.id < $8)
         ORDER BY l.id DESC LIMIT $9"
    )))
    .bind(time_zone)
    .bind(scope.clubs())
    .bind(search.text.as_deref().map(like))
    .bind(search.action.map(Action::code))
    .bind(search.club.as_deref())
    .bind(search.from)
    .bind(search.to)
    .bind(search.before_id)
    .bind(limit + 1)
    .fetch_all(pool)
    .await?;
    let mut rows: Vec<LogRow> = rows.into_iter().map(LogRow::from).collect();
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(Page { rows, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_code_of_its_own_that_parses_back() {
        let codes: std::collections::BTreeSet<_> = Action::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(codes.len(), Action::ALL.len());
        for action in Action::ALL {
            assert_eq!(Action::parse(action.code()), Some(action));
            let (kind, what) = action.code().split_once('.').expect("kind.what");
            assert!(!kind.is_empty() && !what.is_empty());
        }
        assert_eq!(Action::parse("child"), None);
    }

    #[test]
    fn like_patterns_match_the_text_literally() {
        assert_eq!(like("50%_a\\b"), "%50\\%\\_a\\\\b%");
        assert_eq!(like(""), "%%");
    }
}
