//! One child as the office sees it: found by name, card UID or club, and
//! its page: balance, entries with items and flags, cards and card orders
//! (their forms: [`super::cards`]), parents, limits and note, name and
//! club, and its part of the office log. Everything is of the office's
//! clubs only ([`OfficeChild`]); every change goes through a `db` function
//! that writes the office log in the change's own transaction.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::super::PortalError;
use super::super::history::{self, items_text, kind_text, notes_text};
use super::super::layout::{self, Lang, filled};
use super::super::limits::{categories, optional_money};
use super::super::office_log;
use super::super::session::{Asked, Office, OfficeChild, Posted, Session};
use super::money;
use crate::api::{MAX_NAME, OrderStatus, SettingsPatch};
use crate::db::{self, ChildSearch, DbError, portal as queries};
use crate::{AppState, validate};
use klubkasse_core::domain::{CardState, ChildId, Money};

/// Children on one page of the search.
const PAGE: i64 = 50;
/// The newest rows of the child's part of the log on its page.
const LOG_ROWS: i64 = 50;
/// The newest sales the refund form offers.
const REFUNDABLE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    club: Option<String>,
    page: Option<i64>,
}

/// The address of another page of the same search.
fn page_link(query: &SearchQuery, page: i64) -> String {
    let page = page.to_string();
    layout::search_link(
        "/portal/office/children",
        &[
            ("q", filled(&query.q)),
            ("club", filled(&query.club)),
            ("page", Some(page.as_str())),
        ],
    )
}

pub async fn search(
    State(state): State<AppState>,
    lang: Lang,
    Office { session, scope }: Office,
    Asked(query): Asked<SearchQuery>,
) -> Result<Response, PortalError> {
    let clubs = db::clubs::names(&state.pool, &scope).await?;
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
    let search = ChildSearch {
        text: filled(&query.q),
        club: filled(&query.club),
        offset: (page - 1) * PAGE,
    };
    let (children, more) = db::search_children(&state.pool, &scope, &search, PAGE).await?;
    let title = lang.t("portal.office_children.find_a_child");
    let body = html! {
        form.card method="get" action="/portal/office/children" {
            label for="q" { (lang.t("portal.office_children.name_or_card")) }
            input #q name="q" value=(search.text.unwrap_or("")) maxlength="100";
            label for="club" { (lang.t("portal.office_children.club")) }
            select #club name="club" {
                option value="" { (lang.t("portal.office_children.every_club")) }
                @for club in &clubs {
                    option value=(club) selected[search.club == Some(club.as_str())] { (club) }
                }
            }
            div.actions { button.primary type="submit" { (lang.t("portal.office_children.search")) } }
        }
        @if children.is_empty() {
            p.muted { (lang.t("portal.office_children.no_child_found")) }
        } @else {
            table {
                thead { tr {
                    th { (lang.t("portal.office_children.name")) }
                    th { (lang.t("portal.office_children.club")) }
                    th.amount { (lang.t("portal.office_children.balance")) }
                } }
                tbody {
                    @for child in &children {
                        tr data-child=(child.id) {
                            td {
                                a href={ "/portal/office/children/" (child.id) } { (child.name) }
                                @if child.closed_at.is_some() { " " span.notice data-closed { (lang.t("portal.leave.closed")) } }
                            }
                            td { (child.club) }
                            td.amount { (child.balance) }
                        }
                    }
                }
            }
        }
        (layout::pager(lang, page, more, |page| page_link(&query, page)))
        p { a href="/portal/office" { (lang.t("portal.office_log.back_to_the_office")) } }
    };
    Ok(layout::page(lang, &session, title, body).into_response())
}

/// The entries' days: the last four weeks unless asked for others.
#[derive(Debug, Default, Deserialize)]
pub struct Range {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    /// What a form just did ([`super::money`]), said at the top.
    done: Option<String>,
}

fn order_status_text(lang: Lang, status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Ordered => lang.t("portal.card.ordered"),
        OrderStatus::Sent => lang.t("portal.card.sent"),
        OrderStatus::HandedOut => lang.t("portal.card.handed_out"),
    }
}

pub(super) fn flag_text(lang: Lang, flag: &str) -> &'static str {
    match flag {
        "overdraft" => lang.t("portal.office_children.flag_overdraft"),
        "card_blocked" => lang.t("portal.office_children.flag_card_blocked"),
        "daily_limit_exceeded" => lang.t("portal.office_children.flag_daily_limit"),
        "category_blocked" => lang.t("portal.office_children.flag_category_blocked"),
        "unknown_card" => lang.t("portal.office_children.flag_unknown_card"),
        "refund_exceeds_sale" => lang.t("portal.office_children.flag_refund_exceeds_sale"),
        _ => lang.t("portal.office_children.flag_other"),
    }
}

/// The child's address in the office.
pub(super) fn page_of(child: ChildId) -> String {
    format!("/portal/office/children/{child}")
}

/// The child's page again, saying what was wrong with the form sent.
pub(super) async fn refused(
    state: &AppState,
    lang: Lang,
    office: &Office,
    child: ChildId,
    problem: &str,
) -> Result<Response, PortalError> {
    draw(state, lang, office, child, &Range::default(), Some(problem)).await
}

/// The child's page, with a problem of a form said at the top.
pub(super) async fn draw(
    state: &AppState,
    lang: Lang,
    office: &Office,
    child: ChildId,
    range: &Range,
    problem: Option<&str>,
) -> Result<Response, PortalError> {
    let session: &Session = &office.session;
    let detail = db::detail(&state.pool, child).await?;
    let today = queries::today(&state.pool, &state.settings.time_zone).await?;
    let (from, to) = history::period(range.from, range.to, today);
    let lines = queries::history(&state.pool, child, from, to, &state.settings.time_zone).await?;
    let parents = queries::parents_of(&state.pool, child).await?;
    // Who pays, as enrolment or the import named them (not logins).
    let payers = db::payers::for_child(&state.pool, child).await?;
    let mail_server = state.portal.as_ref().is_some_and(|p| p.mail_server);
    let activated = db::activation::activated(&state.pool, child).await?;
    let log =
        db::office_log::for_child(&state.pool, &state.settings.time_zone, child, LOG_ROWS).await?;
    let clubs = db::clubs::names(&state.pool, &office.scope).await?;
    let categories = categories(state, child, &detail.child.blocked_categories).await?;
    let sales =
        db::refundable_sales(&state.pool, &state.settings.time_zone, child, REFUNDABLE).await?;
    let done = range
        .done
        .as_deref()
        .and_then(|d| money::done_text(lang, d));
    let fee = if detail.orders.is_empty() {
        Money::ZERO
    } else {
        state.settings.card_fee
    };
    let form = |tail: &str| format!("{}/{tail}", page_of(child));
    let closed_at = match detail.closed_at {
        Some(at) => Some(queries::local_time(&state.pool, at, &state.settings.time_zone).await?),
        None => None,
    };
    let title = detail.child.name.as_str();
    let body = html! {
        (layout::problem(problem))
        (layout::notice(done))
        section.card data-summary {
            p { (lang.t("portal.office_children.club")) ": " strong { (detail.club) } }
            p { (lang.t("portal.office_children.balance")) ": " strong data-balance { (detail.balance) } }
            @if let Some(at) = closed_at {
                p.notice data-closed {
                    (lang.t("portal.leave.the_child_has_left")) " "
                    (at.format("%d.%m.%Y %H:%M"))
                    @if let Some(by) = &detail.closed_by { " · " (by) }
                }
            }
        }
        (money::forms(lang, session, child, &sales))
        section.card #cards {
            h2 { (lang.t("portal.office_children.cards")) }
            @if detail.cards.is_empty() { p.muted { (lang.t("portal.office_children.no_cards")) } }
            @for card in &detail.cards {
                form method="post" data-card=(card.uid)
                    action=(form(if card.state == CardState::Active { "cards/block" } else { "cards/unblock" })) {
                    (layout::csrf(session))
                    input type="hidden" name="uid" value=(card.uid);
                    p { strong { (card.uid) } " · "
                        (if card.state == CardState::Active { lang.t("portal.overview.active") } else { lang.t("portal.overview.blocked") }) }
                    @if card.state == CardState::Active {
                        button.secondary type="submit" { (lang.t("portal.office_children.block")) }
                    } @else {
                        button.secondary type="submit" { (lang.t("portal.office_children.unblock")) }
                    }
                }
            }
            form method="post" action=(form("cards")) #hand-out {
                (layout::csrf(session))
                label for="uid" { (lang.t("portal.office_children.hand_out_a_card_uid")) }
                input #uid name="uid" required maxlength="40" autocomplete="off";
                div.actions { button.primary type="submit" { (lang.t("portal.office_children.hand_out")) } }
            }
        }
        section.card #orders {
            h2 { (lang.t("portal.office.card_orders")) }
            @if detail.orders.is_empty() { p.muted { (lang.t("portal.office.none")) } }
            @else {
                table { tbody {
                    @for order in &detail.orders {
                        tr data-order=(order.id) {
                            td { (order.created_at.format("%d.%m.%Y")) }
                            td { (order_status_text(lang, order.status)) }
                            td { @if let Some(uid) = &order.card { (uid) } }
                            td.amount { (order.fee) }
                        }
                    }
                } }
            }
            h3 { (lang.t("portal.card.order_a_new_card")) }
            p { (lang.t("portal.card.ordering_blocks_the_old_card")) }
            p data-fee { (lang.t("portal.card.price")) strong { (fee) } }
            form method="post" action=(form("card-order")) {
                (layout::csrf(session))
                input type="hidden" name="fee" value=(fee.to_plain_string());
                input type="hidden" name="order" value=(Uuid::now_v7());
                label for="address" { (lang.t("portal.office_children.address_or_office")) }
                textarea #address name="address" rows="2" required maxlength="300" {}
                div.actions { button.secondary type="submit" { (lang.t("portal.card.order_for")) (fee) } }
            }
        }
        section.card #parents {
            h2 { (lang.t("portal.office_children.parents")) }
            @if parents.is_empty() { p.muted { (lang.t("portal.office_children.no_parents")) } }
            ul { @for parent in &parents {
                li { (parent.name) @if let Some(email) = &parent.email { " · " (email) } }
            } }
            h3 { (lang.t("portal.office_children.payers")) }
            @if payers.is_empty() { p.muted { (lang.t("portal.office_children.no_payers")) } }
            ul #payers { @for payer in &payers {
                li data-payer=(payer.id) {
                    (payer.name) @if let Some(email) = &payer.email { " · " (email) }
                    " · "
                    @if activated.contains(&payer.id) {
                        span data-activated { (lang.t("portal.letter.activated")) }
                    } @else {
                        span.muted { (lang.t("portal.letter.not_activated")) }
                    }
                    // A new letter voids the code the payer had.
                    form.inline method="post" action=(form("letters")) data-letter {
                        (layout::csrf(session))
                        input type="hidden" name="payer" value=(payer.id);
                        " " (super::letters::language_choice(lang))
                        " " button.secondary type="submit" { (lang.t("portal.letter.print_letter")) }
                        @if payer.email.is_some() && mail_server {
                            " " button.secondary type="submit" formaction=(form("letters/mail")) data-mail {
                                (lang.t("portal.letter.mail_letter"))
                            }
                        }
                    }
                    form.inline method="post" action=(form("payers/remove")) {
                        (layout::csrf(session))
                        input type="hidden" name="payer" value=(payer.id);
                        " " button.secondary type="submit" { (lang.t("portal.office_children.remove")) }
                    }
                }
            } }
            @if !payers.is_empty() {
                form method="post" action=(form("letters")) #letters {
                    (layout::csrf(session))
                    (super::letters::language_choice(lang))
                    " " button.secondary type="submit" { (lang.t("portal.letter.print_all_payers")) }
                }
            }
            form method="post" action=(form("payers")) #add-payer {
                (layout::csrf(session))
                label for="payer-name" { (lang.t("portal.enrol.payer_name")) }
                input #payer-name name="name" required maxlength="100";
                label for="payer-email" { (lang.t("portal.enrol.payer_email")) }
                input #payer-email name="email" type="email" maxlength="254";
                div.actions { button.secondary type="submit" { (lang.t("portal.office_children.add_payer")) } }
            }
        }
        section.card #limits {
            h2 { (lang.t("portal.limits.limits")) }
            form method="post" action=(form("limits")) {
                (layout::csrf(session))
                label for="limit" { (lang.t("portal.limits.at_most_per_day_kr")) }
                input #limit name="limit" inputmode="decimal"
                    value=(detail.child.daily_limit.map(Money::danish_number).unwrap_or_default())
                    placeholder=(lang.t("portal.limits.no_limit"));
                fieldset {
                    legend { (lang.t("portal.limits.may_not_buy")) }
                    @for category in &categories {
                        label {
                            input type="checkbox" name="blocked" value=(category)
                                checked[detail.child.blocked_categories.contains(category)];
                            " " (category)
                        }
                    }
                }
                label for="note" { (lang.t("portal.office_children.note")) }
                textarea #note name="note" rows="2" maxlength="500" { (detail.child.note.clone().unwrap_or_default()) }
                div.actions { button.primary type="submit" { (lang.t("portal.limits.save")) } }
            }
        }
        section.card #name-and-club {
            h2 { (lang.t("portal.office_children.name_and_club")) }
            form method="post" action=(form("name")) {
                (layout::csrf(session))
                label for="name" { (lang.t("portal.office_children.name")) }
                input #name name="name" required maxlength="100" value=(detail.child.name);
                div.actions { button.secondary type="submit" { (lang.t("portal.office_children.rename")) } }
            }
            form method="post" action=(form("club")) {
                (layout::csrf(session))
                label for="move-to" { (lang.t("portal.office_children.move_to_club")) }
                select #move-to name="club" {
                    @for club in &clubs {
                        option value=(club) selected[*club == detail.club] { (club) }
                    }
                }
                div.actions { button.secondary type="submit" { (lang.t("portal.office_children.move")) } }
            }
        }
        section.card #entries {
            h2 { (lang.t("portal.history.history")) }
            form method="get" action=(page_of(child)) {
                label for="from" { (lang.t("portal.history.from")) }
                input #from type="date" name="from" value=(from);
                label for="to" { (lang.t("portal.history.to")) }
                input #to type="date" name="to" value=(to);
                div.actions { button.secondary type="submit" { (lang.t("portal.history.show")) } }
            }
            (entries(lang, &lines))
        }
        @let closed = detail.closed_at.is_some();
        // Closed with money on it again (its payout rejected): paid out the same way.
        @if !closed || detail.balance > Money::ZERO {
            section.card #leave {
                @if closed {
                    h2 { (lang.t("portal.leave.pay_out_what_is_left")) }
                    p { (lang.t("portal.leave.money_back_on_a_closed_account")) }
                } @else {
                    h2 { (lang.t("portal.leave.child_leaves")) }
                    p { (lang.t("portal.leave.what_leaving_does")) }
                }
                form method="post" action=(form("leave")) {
                    (layout::csrf(session))
                    input type="hidden" name="payout" value=(Uuid::now_v7());
                    @if detail.balance > Money::ZERO {
                        p { (lang.t("portal.leave.paid_out")) strong data-left { (detail.balance) } }
                        @if payers.is_empty() { p.muted { (lang.t("portal.leave.no_payer")) } }
                        label for="payer" { (lang.t("portal.leave.to_payer")) }
                        select #payer name="payer" required {
                            @for payer in &payers { option value=(payer.id) { (payer.name) } }
                        }
                        label for="account" { (lang.t("portal.leave.bank_account")) }
                        input #account name="account" required maxlength="40" autocomplete="off";
                    }
                    div.actions {
                        button.secondary type="submit" {
                            @if closed { (lang.t("portal.leave.ask_the_payout")) } @else { (lang.t("portal.leave.close_the_account")) }
                        }
                    }
                }
            }
        }
        section.card #log {
            h2 { (lang.t("portal.office.office_log")) }
            @if log.is_empty() { p.muted { (lang.t("portal.office_log.nothing_found")) } }
            @else {
                table {
                    thead { tr {
                        th { (lang.t("portal.office_log.when")) }
                        th { (lang.t("portal.office_log.who")) }
                        th { (lang.t("portal.office_log.what")) }
                        th { (lang.t("portal.office_log.changed")) }
                    } }
                    tbody { @for row in &log { (office_log::row(lang, row)) } }
                }
            }
        }
        p { a href="/portal/office/children" { (lang.t("portal.office_children.find_a_child")) } }
    };
    Ok(layout::page(lang, session, title, body).into_response())
}

/// The entries, newest first, with what was bought and what the counter
/// noticed.
fn entries(lang: Lang, lines: &[queries::HistoryLine]) -> Markup {
    html! {
        @if lines.is_empty() {
            p.muted { (lang.t("portal.history.nothing_in_this_period")) }
        } @else {
            table {
                thead { tr {
                    th { (lang.t("portal.history.when")) }
                    th { (lang.t("portal.history.what")) }
                    th.amount { (lang.t("portal.history.amount")) }
                    th.amount { (lang.t("portal.history.balance")) }
                } }
                tbody {
                    @for line in lines.iter().rev() {
                        tr data-entry {
                            td { (line.at.format("%d.%m. %H:%M")) }
                            td {
                                (kind_text(lang, &line.kind))
                                @if !line.items.is_empty() { br; span.muted data-items { (items_text(line)) } }
                                @if let Some(notes) = notes_text(lang, line) { br; span.muted data-note { (notes) } }
                                @for flag in &line.flags { br; span.notice data-flag=(flag) { (flag_text(lang, flag)) } }
                                @if let Some(h) = &line.handling { br; (super::flags::handling(lang, h)) }
                                @else if !line.flags.is_empty() { br; a href="/portal/office/flags" { (lang.t("portal.flags.to_handle")) } }
                            }
                            td.amount { (line.amount) }
                            td.amount { (line.balance_after) }
                        }
                    }
                }
            }
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Asked(range): Asked<Range>,
) -> Result<Response, PortalError> {
    draw(&state, lang, &office, child, &range, None).await
}

/// After a change: the child's page, so a reload does not post again.
pub(super) fn back(child: ChildId) -> Response {
    Redirect::to(&page_of(child)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct LimitsForm {
    limit: String,
    note: String,
    /// One per ticked box; none ticked sends none.
    #[serde(default)]
    blocked: Vec<String>,
}

pub async fn save_limits(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<LimitsForm>,
) -> Result<Response, PortalError> {
    let Ok(limit) = optional_money(&form.limit) else {
        let problem = lang.t("portal.limits.write_amounts_as_numbers_e_g");
        return refused(&state, lang, &office, child, problem).await;
    };
    let note = form.note.trim().to_string();
    let blocked = form
        .blocked
        .into_iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    // The same checks as the parents' page and the office's API.
    let patch = validate::settings_patch(SettingsPatch {
        daily_limit: Some(limit),
        blocked_categories: Some(blocked),
        note: Some((!note.is_empty()).then_some(note)),
    });
    let Ok(patch) = patch else {
        let problem = lang.t("portal.limits.something_in_the_form_cannot_be");
        return refused(&state, lang, &office, child, problem).await;
    };
    db::update_settings(&state.pool, &office.session.actor(), child, &patch).await?;
    Ok(back(child))
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    name: String,
}

pub async fn rename(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<NameForm>,
) -> Result<Response, PortalError> {
    let Ok(name) = validate::text("name", &form.name, MAX_NAME) else {
        let problem = lang.t("portal.office_children.write_a_name");
        return refused(&state, lang, &office, child, problem).await;
    };
    db::rename_child(&state.pool, &office.session.actor(), child, &name).await?;
    Ok(back(child))
}

#[derive(Debug, Deserialize)]
pub struct ClubForm {
    club: String,
}

pub async fn move_to(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<ClubForm>,
) -> Result<Response, PortalError> {
    let actor = office.session.actor();
    match db::move_child(&state.pool, &actor, &office.scope, child, &form.club).await {
        Ok(_) if office.scope.has(&form.club) => Ok(back(child)),
        // Moved out of the person's clubs: the child is no longer theirs to see.
        Ok(_) => Ok(Redirect::to("/portal/office/children").into_response()),
        Err(DbError::Refused {
            code: "unknown_club",
            ..
        }) => {
            let problem = lang.t("portal.office_children.no_such_club");
            refused(&state, lang, &office, child, problem).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct LeaveForm {
    /// The form's id for the payout: sent twice, asked once.
    payout: Uuid,
    /// Only when there is money left.
    payer: Option<Uuid>,
    #[serde(default)]
    account: String,
}

/// The child leaves: the balance asked as a payout to the chosen payer,
/// the cards blocked, the account closed, in one transaction.
pub async fn leave(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<LeaveForm>,
) -> Result<Response, PortalError> {
    let pay_to = match (form.payer, validate::bank_account(&form.account)) {
        (Some(payer), Some(account)) => Some(db::leaving::PayTo {
            payer,
            bank_account: account,
        }),
        _ => None,
    };
    let actor = office.session.actor();
    match db::leaving::leave(&state.pool, &actor, child, pay_to, form.payout).await {
        Ok(_) => Ok(back(child)),
        Err(DbError::Conflict {
            code: "payer_needed",
            ..
        }) => {
            let problem = lang.t("portal.leave.choose_a_payer_and_account");
            refused(&state, lang, &office, child, problem).await
        }
        // A payer of another child or one removed: this child has no such payer.
        Err(DbError::NotFound(_)) => {
            let problem = lang.t("portal.leave.choose_a_payer_and_account");
            refused(&state, lang, &office, child, problem).await
        }
        Err(DbError::Conflict {
            code: "id_in_use", ..
        }) => {
            let problem = lang.t("portal.office_money.form_used");
            refused(&state, lang, &office, child, problem).await
        }
        Err(e) => Err(e.into()),
    }
}
