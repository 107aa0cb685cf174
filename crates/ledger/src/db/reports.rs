//! The office's reports over local days (the ledger's time zone, never
//! UTC dates): totals per club, counter and kind; what sold per item and
//! price (refunds negative); what sold per day. All from the hourly sums
//! the database keeps (migration 0010), never a scan of the entries.
//!
//! Each takes the clubs to count: `None` is every club (the municipality
//! and the API's admin token), `Some` only those (an office person's
//! clubs, or the one club asked for).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;
use sqlx::PgPool;

use super::{Result, money};
use crate::Settings;
use crate::api::{ItemRow, Report, ReportRow};
use klubkasse_core::domain::Money;

/// The first and last day of the calendar month `day` is in.
pub fn month_of(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = day.with_day(1).unwrap_or(day);
    let last = first
        .checked_add_months(Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(NaiveDate::MAX);
    (first, last)
}

/// The days as PostgreSQL takes them for timestamps. No entry lies outside
/// these years, so a report of any days reads the same, and a date typed
/// into an address (year 200000) is no error.
fn within_timestamps(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    (from.clamp(first, last), to.clamp(first, last))
}

/// The condition every report puts on the hourly sums `r`
/// (`report_hours`, `report_hour_items`, which the database keeps from
/// the entries): the hours from local midnight of `$2` to local midnight
/// after `$3` in time zone `$1` (a range of the tables' keys), in the
/// clubs `$4` (NULL: all).
const PERIOD_AND_CLUBS: &str = "r.hour >= ($2::date::timestamp AT TIME ZONE $1)
           AND r.hour < (($3::date + 1)::timestamp AT TIME ZONE $1)
           AND ($4::text[] IS NULL OR r.club = ANY($4))";

/// One query of a report, with the period's and the clubs' parameters
/// bound. Dynamic SQL here only splices [`PERIOD_AND_CLUBS`], never input.
fn query_as<T>(
    sql: &str,
    settings: &Settings,
    from: NaiveDate,
    to: NaiveDate,
    clubs: Option<&BTreeSet<String>>,
) -> sqlx::query::QueryAs<'static, sqlx::Postgres, T, sqlx::postgres::PgArguments>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let (from, to) = within_timestamps(from, to);
    let clubs: Option<Vec<String>> = clubs.map(|set| set.iter().cloned().collect());
    sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(settings.time_zone.clone())
        .bind(from)
        .bind(to)
        .bind(clubs)
}

#[derive(sqlx::FromRow)]
struct TotalRow {
    club: String,
    counter: String,
    kind: String,
    count: i64,
    total: Decimal,
}

/// Totals per club, counter and kind of entry, from `from` to `to`
/// inclusive; signed as the entries move balances (sales negative).
pub async fn totals(
    pool: &PgPool,
    settings: &Settings,
    from: NaiveDate,
    to: NaiveDate,
    clubs: Option<&BTreeSet<String>>,
) -> Result<Vec<ReportRow>> {
    let sql = format!(
        "SELECT r.club, r.counter, r.kind, sum(r.count)::bigint AS count, sum(r.total) AS total
         FROM report_hours r WHERE {PERIOD_AND_CLUBS}
         GROUP BY r.club, r.counter, r.kind ORDER BY r.club, r.counter, r.kind"
    );
    let rows: Vec<TotalRow> = query_as(&sql, settings, from, to, clubs)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| ReportRow {
            club: row.club,
            counter: row.counter,
            kind: row.kind,
            count: row.count,
            total: money(row.total),
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct ItemSumRow {
    name: Option<String>,
    unit_price: Option<Decimal>,
    count: i64,
    amount: Decimal,
}

/// What sold per item and price, sales less refunds, most money first
/// (the refunds that name no items last).
pub async fn items(
    pool: &PgPool,
    settings: &Settings,
    from: NaiveDate,
    to: NaiveDate,
    clubs: Option<&BTreeSet<String>>,
) -> Result<Vec<ItemRow>> {
    let sql = format!(
        "SELECT r.name, r.unit_price, sum(r.count)::bigint AS count, sum(r.amount) AS amount
         FROM report_hour_items r WHERE {PERIOD_AND_CLUBS}
         GROUP BY r.name, r.unit_price
         ORDER BY r.name IS NULL, sum(r.amount) DESC, r.name, r.unit_price DESC"
    );
    let rows: Vec<ItemSumRow> = query_as(&sql, settings, from, to, clubs)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| ItemRow {
            name: row.name,
            unit_price: row.unit_price.map(money),
            count: row.count,
            amount: money(row.amount),
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: NaiveDate,
    sold: Decimal,
}

/// What sold on each local day from `from` to `to` (sales less refunds,
/// positive); a day without sales is not in it.
pub async fn sales_per_day(
    pool: &PgPool,
    settings: &Settings,
    from: NaiveDate,
    to: NaiveDate,
    clubs: Option<&BTreeSet<String>>,
) -> Result<BTreeMap<NaiveDate, Money>> {
    let sql = format!(
        "SELECT (r.hour AT TIME ZONE $1)::date AS day, -sum(r.total) AS sold
         FROM report_hours r WHERE r.kind IN ('sale', 'refund') AND {PERIOD_AND_CLUBS}
         GROUP BY 1"
    );
    let rows: Vec<DayRow> = query_as(&sql, settings, from, to, clubs)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.day, money(row.sold)))
        .collect())
}

/// The report the API gives: totals and items over the days.
pub async fn report(
    pool: &PgPool,
    settings: &Settings,
    from: NaiveDate,
    to: NaiveDate,
    clubs: Option<&BTreeSet<String>>,
) -> Result<Report> {
    let rows = totals(pool, settings, from, to, clubs).await?;
    let items = items(pool, settings, from, to, clubs).await?;
    let one_club = clubs
        .filter(|set| set.len() == 1)
        .and_then(|set| set.first());
    Ok(Report {
        from,
        to,
        time_zone: settings.time_zone.clone(),
        club: one_club.cloned(),
        rows,
        items,
    })
}

/// The clubs the office can choose between: those with children.
pub async fn clubs(pool: &PgPool) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT club FROM children ORDER BY club")
            .fetch_all(pool)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_month_is_its_calendar_days() {
        assert_eq!(
            month_of(d("2024-02-14")),
            (d("2024-02-01"), d("2024-02-29"))
        );
        assert_eq!(
            month_of(d("2025-12-31")),
            (d("2025-12-01"), d("2025-12-31"))
        );
        assert_eq!(month_of(NaiveDate::MAX).1, NaiveDate::MAX);
        assert_eq!(month_of(NaiveDate::MIN).0.day(), 1);
    }

    #[test]
    fn days_far_out_become_days_postgres_can_count_from() {
        let (from, to) = within_timestamps(NaiveDate::MIN, NaiveDate::MAX);
        assert_eq!((from, to), (d("1900-01-01"), d("9999-12-31")));
        assert_eq!(
            within_timestamps(d("2025-03-01"), d("2025-03-31")),
            (d("2025-03-01"), d("2025-03-31"))
        );
    }
}
