//! The office's totals per club, counter and kind over local days.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::PgPool;

use super::clubs::Scope;
use super::{Result, money};
use crate::Settings;
use crate::api::{Report, ReportRow};

#[derive(sqlx::FromRow)]
struct TotalRow {
    club: String,
    counter: String,
    kind: String,
    count: i64,
    total: Decimal,
}

/// The totals of the clubs within `scope` (by the club an entry was made
/// in), of one club if asked.
pub async fn report(
    pool: &PgPool,
    settings: &Settings,
    scope: &Scope,
    from: NaiveDate,
    to: NaiveDate,
    club: Option<&str>,
) -> Result<Report> {
    let rows: Vec<TotalRow> = sqlx::query_as(
        "SELECT club, counter, kind, count(*) AS count, sum(amount) AS total FROM entries
         WHERE (at AT TIME ZONE $1)::date BETWEEN $2 AND $3
           AND ($4::text IS NULL OR club = $4) AND club_in_scope(club, $5)
         GROUP BY club, counter, kind ORDER BY club, counter, kind",
    )
    .bind(&settings.time_zone)
    .bind(from)
    .bind(to)
    .bind(club)
    .bind(scope.clubs())
    .fetch_all(pool)
    .await?;
    Ok(Report {
        from,
        to,
        time_zone: settings.time_zone.clone(),
        club: club.map(str::to_string),
        rows: rows
            .into_iter()
            .map(|row| ReportRow {
                club: row.club,
                counter: row.counter,
                kind: row.kind,
                count: row.count,
                total: money(row.total),
            })
            .collect(),
    })
}
