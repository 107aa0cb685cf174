//! The office log as the office reads it: who changed what and when,
//! searched by text, action, club and days, newest first, a page at a
//! time; only the clubs the reader works for (every club for the
//! municipality).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::PortalError;
use super::layout::{self, Lang, filled};
use super::session::{Asked, Office};
use crate::AppState;
use crate::db::clubs;
use crate::db::office_log::{self, Action, Actor, LogRow, Search};
use klubkasse_core::domain::Money;

/// Rows on a page.
const PAGE: i64 = 50;

/// The search form's fields, as the address carries them; an empty or
/// unreadable field matches everything.
#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    q: Option<String>,
    action: Option<String>,
    club: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

impl LogQuery {
    fn search(&self) -> Search {
        Search {
            // Longer is not a search anyone types; it only makes the query slow.
            text: filled(&self.q).map(|q| q.chars().take(100).collect()),
            action: filled(&self.action).and_then(Action::parse),
            club: filled(&self.club).map(str::to_string),
            from: layout::search_day(&self.from),
            to: layout::search_day(&self.to),
            before_id: filled(&self.before).and_then(|b| b.parse().ok()),
        }
    }

    /// The address of the page of rows older than `before`, same search.
    fn older(&self, before: i64) -> String {
        let before = before.to_string();
        layout::search_link(
            "/portal/office/log",
            &[
                ("q", filled(&self.q)),
                ("action", filled(&self.action)),
                ("club", filled(&self.club)),
                ("from", filled(&self.from)),
                ("to", filled(&self.to)),
                ("before", Some(before.as_str())),
            ],
        )
    }
}

pub fn action_text(lang: Lang, action: Action) -> &'static str {
    match action {
        Action::ChildEnrol => lang.t("portal.office_log.child_enrol"),
        Action::ChildImport => lang.t("portal.office_log.child_import"),
        Action::ChildMove => lang.t("portal.office_log.child_move"),
        Action::ChildRename => lang.t("portal.office_log.child_rename"),
        Action::ChildSettings => lang.t("portal.office_log.child_settings"),
        Action::ChildLeft => lang.t("portal.office_log.child_left"),
        Action::CardHandOut => lang.t("portal.office_log.card_hand_out"),
        Action::CardBlock => lang.t("portal.office_log.card_block"),
        Action::CardUnblock => lang.t("portal.office_log.card_unblock"),
        Action::CardOrder => lang.t("portal.office_log.card_order"),
        Action::CardOrderStatus => lang.t("portal.office_log.card_order_status"),
        Action::MoneyDeposit => lang.t("portal.office_log.money_deposit"),
        Action::MoneyWithdrawal => lang.t("portal.office_log.money_withdrawal"),
        Action::CorrectionRefund => lang.t("portal.office_log.correction_refund"),
        Action::CorrectionAdjustment => lang.t("portal.office_log.correction_adjustment"),
        Action::PayoutRequest => lang.t("portal.office_log.payout_request"),
        Action::PayoutPaid => lang.t("portal.office_log.payout_paid"),
        Action::PayoutRejected => lang.t("portal.office_log.payout_rejected"),
        Action::SupportAnswer => lang.t("portal.office_log.support_answer"),
        Action::PersonAdd => lang.t("portal.office_log.person_add"),
        Action::PayerAdd => lang.t("portal.office_log.payer_add"),
        Action::PayerRemove => lang.t("portal.office_log.payer_remove"),
        Action::PayerLetter => lang.t("portal.office_log.payer_letter"),
        Action::PayerLink => lang.t("portal.office_log.payer_link"),
        Action::PersonUpdate => lang.t("portal.office_log.person_update"),
        Action::PersonRole => lang.t("portal.office_log.person_role"),
        Action::ClubAdd => lang.t("portal.office_log.club_add"),
        Action::ClubRename => lang.t("portal.office_log.club_rename"),
        Action::TokenCreate => lang.t("portal.office_log.token_create"),
        Action::TokenRevoke => lang.t("portal.office_log.token_revoke"),
        Action::FlagHandled => lang.t("portal.office_log.flag_handled"),
    }
}

/// Who, as the log names them: a person by name, a token by its label,
/// the command line by the operating system's user.
pub fn actor_text(lang: Lang, actor: &Actor) -> String {
    match actor {
        Actor::Person { name, .. } => name.clone(),
        Actor::Token { label, .. } => format!("{} «{label}»", lang.t("portal.office_log.token")),
        Actor::CommandLine { user } => {
            format!("{} ({user})", lang.t("portal.office_log.command_line"))
        }
    }
}

/// The fields that hold amounts, shown the Danish way.
const AMOUNTS: [&str; 6] = [
    "amount",
    "balance",
    "fee",
    "daily_limit",
    "low_balance",
    "refunded",
];

fn value_text(key: &str, value: &Value) -> String {
    match value {
        Value::Null => "–".to_string(),
        Value::String(text) if AMOUNTS.contains(&key) => Money::parse(text)
            .map(|m| m.to_string())
            .unwrap_or_else(|_| text.clone()),
        Value::String(text) => text.clone(),
        Value::Array(items) if items.is_empty() => "–".to_string(),
        Value::Array(items) => items
            .iter()
            .map(|item| value_text(key, item))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// What a row changed: each field of `after` with what it was before,
/// where that differs (a new thing shows only what it is).
pub fn changes(row: &LogRow) -> Vec<(String, Option<String>, String)> {
    let empty = serde_json::Map::new();
    let before = row
        .before
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let after = row
        .after
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut lines: Vec<_> = after
        .iter()
        .filter(|(key, value)| before.get(*key) != Some(*value))
        .map(|(key, value)| {
            let was = before.get(key).map(|b| value_text(key, b));
            (key.clone(), was, value_text(key, value))
        })
        .collect();
    // What only the before holds (a revoked token's label) says what it was about.
    lines.extend(
        before
            .iter()
            .filter(|(key, _)| !after.contains_key(*key))
            .map(|(key, value)| (key.clone(), None, value_text(key, value))),
    );
    lines
}

/// One row of the log as a table row (the log page, a child's page).
pub(crate) fn row(lang: Lang, row: &LogRow) -> Markup {
    html! {
        tr data-log=(row.id) {
            td { (row.local_at.format("%d.%m.%Y %H:%M")) }
            td { (actor_text(lang, &row.actor)) }
            td {
                @match row.action {
                    Some(action) => { (action_text(lang, action)) }
                    None => { (lang.t("portal.office_log.other")) }
                }
                @if let Some(child) = &row.child_name { br; strong { (child) } }
                @if let Some(club) = &row.club { br; span.muted { (club) } }
            }
            td {
                @for (key, was, now) in changes(row) {
                    div.muted {
                        (key) ": "
                        @if let Some(was) = was { (was) " → " }
                        (now)
                    }
                }
            }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    Office { session, scope }: Office,
    Asked(query): Asked<LogQuery>,
) -> Result<Response, PortalError> {
    let search = query.search();
    let time_zone = &state.settings.time_zone;
    let page = office_log::search(&state.pool, &scope, time_zone, &search, PAGE).await?;
    let clubs = clubs::names(&state.pool, &scope).await?;
    let title = lang.t("portal.office_log.office_log");
    let text = search.text.clone().unwrap_or_default();
    let body = html! {
        p { a href="/portal/office" { (lang.t("portal.office_log.back_to_the_office")) } }
        form.card method="get" action="/portal/office/log" {
            label for="q" { (lang.t("portal.office_log.search")) }
            input #q name="q" value=(text) maxlength="100"
                placeholder=(lang.t("portal.office_log.name_card_amount"));
            label for="action" { (lang.t("portal.office_log.what")) }
            select #action name="action" {
                option value="" { (lang.t("portal.office_log.everything")) }
                @for action in Action::ALL {
                    option value=(action.code()) selected[search.action == Some(action)] {
                        (action_text(lang, action))
                    }
                }
            }
            label for="club" { (lang.t("portal.office_log.club")) }
            select #club name="club" {
                option value="" { (lang.t("portal.office_log.every_club")) }
                @for club in &clubs {
                    option value=(club) selected[search.club.as_ref() == Some(club)] {
                        (club)
                    }
                }
            }
            label for="from" { (lang.t("portal.office_log.from")) }
            input #from type="date" name="from" value=[search.from];
            label for="to" { (lang.t("portal.office_log.to")) }
            input #to type="date" name="to" value=[search.to];
            div.actions { button.primary type="submit" { (lang.t("portal.office_log.show")) } }
        }
        @if page.rows.is_empty() {
            p.muted { (lang.t("portal.office_log.nothing_found")) }
        } @else {
            table {
                thead { tr {
                    th { (lang.t("portal.office_log.when")) }
                    th { (lang.t("portal.office_log.who")) }
                    th { (lang.t("portal.office_log.what")) }
                    th { (lang.t("portal.office_log.changed")) }
                } }
                tbody { @for r in &page.rows { (row(lang, r)) } }
            }
        }
        div.actions {
            @if search.before_id.is_some() {
                a.button.secondary href="/portal/office/log" { (lang.t("portal.office_log.newest")) }
            }
            @if let Some(next) = page.next {
                a.button.secondary href=(query.older(next)) rel="next" {
                    (lang.t("portal.office_log.older"))
                }
            }
        }
    };
    Ok(layout::page(lang, &session, title, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn logged(before: Option<Value>, after: Option<Value>) -> LogRow {
        LogRow {
            id: 1,
            at: chrono::Utc::now(),
            local_at: chrono::Utc::now().naive_utc(),
            actor: Actor::CommandLine { user: "x".into() },
            child: None,
            child_name: None,
            club: None,
            action: Some(Action::ChildSettings),
            before,
            after,
        }
    }

    #[test]
    fn a_change_shows_what_differs_with_amounts_the_danish_way() {
        let row = logged(
            Some(json!({"daily_limit": null, "note": "nødder", "blocked_categories": []})),
            Some(
                json!({"daily_limit": "1234.50", "note": "nødder", "blocked_categories": ["slik", "mad"]}),
            ),
        );
        assert_eq!(
            changes(&row),
            vec![
                (
                    "blocked_categories".into(),
                    Some("–".into()),
                    "slik, mad".into()
                ),
                (
                    "daily_limit".into(),
                    Some("–".into()),
                    "1.234,50 kr.".into()
                ),
            ]
        );
        let made = logged(None, Some(json!({"name": "Freja", "club": "Kastanjen"})));
        assert_eq!(
            changes(&made),
            vec![
                ("club".into(), None, "Kastanjen".into()),
                ("name".into(), None, "Freja".into()),
            ]
        );
        let revoked = logged(
            Some(json!({"label": "Kasse 1"})),
            Some(json!({"revoked_at": "x"})),
        );
        assert_eq!(changes(&revoked).len(), 2);
    }

    #[test]
    fn the_older_page_keeps_the_search() {
        let query = LogQuery {
            q: Some("Freja Ø".into()),
            action: Some("card.block".into()),
            club: Some(" ".into()),
            ..LogQuery::default()
        };
        assert_eq!(
            query.older(42),
            "/portal/office/log?q=Freja+%C3%98&action=card.block&before=42"
        );
        let search = query.search();
        assert_eq!(search.action, Some(Action::CardBlock));
        assert_eq!(search.club, None);
        let odd = LogQuery {
            action: Some("drop.table".into()),
            from: Some("2026-13-01".into()),
            before: Some("x".into()),
            ..LogQuery::default()
        };
        let search = odd.search();
        assert!(search.action.is_none() && search.from.is_none() && search.before_id.is_none());
    }
}
