//! The office's view: payout requests to pay, card orders to post and
//! hand out, parents' questions to answer, and this month's money by club
//! (the day's and month's reports: [`reports`]; enrolling children one
//! at a time, [`enrol`], or from a file, [`import`]), each of the clubs the
//! person works for only. What names a payout, an order or a question of
//! another club's child is "not found". One child's page and its forms:
//! [`children`], [`cards`], [`payers`] and their activation [`letters`]
//! (a whole club's too), and its cash and corrections:
//! [`money`]. What counters flagged: [`flags`]. The municipality's pages
//! for people, clubs and tokens: [`people`], [`tokens`].

pub mod cards;
pub mod children;
pub mod enrol;
pub mod flags;
pub mod import;
pub mod letters;
pub mod money;
pub mod payers;
pub mod people;
pub mod reports;
pub mod tokens;

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::PortalError;
use super::layout::{self, Lang};
use super::session::{Asked, NoFields, Office, Posted};
use crate::db::{Scope, payments, portal as queries};
use crate::{AppState, db};
use klubkasse_core::domain::Money;
use klubkasse_core::i18n::fill;

/// Rows of each of the start page's lists on one page.
const PAGE: i64 = 50;

/// The page of each list the start page shows (the first: 1).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Pages {
    payouts: Option<i64>,
    orders: Option<i64>,
    questions: Option<i64>,
}

/// Which of the start page's lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Payouts,
    Orders,
    Questions,
}

impl Pages {
    fn of(self, list: List) -> i64 {
        let page = match list {
            List::Payouts => self.payouts,
            List::Orders => self.orders,
            List::Questions => self.questions,
        };
        page.unwrap_or(1).clamp(1, 100_000)
    }

    fn window(self, list: List) -> db::Window {
        db::Window::page(self.of(list), PAGE)
    }

    /// The start page with `list` at page `page`, the others as they are.
    fn link(self, list: List, page: i64) -> String {
        let [payouts, orders, questions] = [List::Payouts, List::Orders, List::Questions]
            .map(|l| if l == list { page } else { self.of(l) }.to_string());
        layout::search_link(
            "/portal/office",
            &[
                ("payouts", Some(payouts.as_str())),
                ("orders", Some(orders.as_str())),
                ("questions", Some(questions.as_str())),
            ],
        )
    }

    /// Links to the page before and after `list`'s, where there is one.
    fn nav(self, lang: Lang, list: List, more: bool) -> maud::Markup {
        layout::pager(lang, self.of(list), more, |page| self.link(list, page))
    }
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    Office { session, scope }: Office,
    Asked(pages): Asked<Pages>,
) -> Result<Response, PortalError> {
    let payouts =
        payments::waiting_payouts(&state.pool, &scope, pages.window(List::Payouts)).await?;
    let orders = queries::open_orders(&state.pool, &scope, pages.window(List::Orders)).await?;
    let support =
        queries::support_for_office(&state.pool, &scope, pages.window(List::Questions)).await?;
    let today = queries::today(&state.pool, &state.settings.time_zone).await?;
    let first = today.with_day(1).unwrap_or(today);
    let report = db::reports::report(
        &state.pool,
        &state.settings,
        first,
        today,
        scope.narrowed(None).as_ref(),
    )
    .await?;
    let mut sales: BTreeMap<String, Money> = BTreeMap::new();
    for row in report
        .rows
        .iter()
        .filter(|r| r.kind == "sale" || r.kind == "refund")
    {
        *sales.entry(row.club.clone()).or_insert(Money::ZERO) -= row.total;
    }
    // Mails wait when no mail server is set up or it does not answer.
    let mails_waiting = db::mail::waiting(&state.pool).await?;
    let clubs = db::clubs::list(&state.pool, &scope).await?;
    let title = lang.t("portal.office.the_office");
    let body = html! {
        @if mails_waiting > 0 {
            p.notice data-mails-waiting {
                (fill(lang.t("portal.office.mails_waiting"), &[("count", &mails_waiting.to_string())]))
            }
        }
        p {
            a href="/portal/office/children" { (lang.t("portal.office_children.find_a_child")) }
            " · "
            a href="/portal/office/enrol" { (lang.t("portal.enrol.title")) }
            " · "
            a href="/portal/office/flags" { (lang.t("portal.flags.flags")) }
            " · "
            a href="/portal/office/log" { (lang.t("portal.office.office_log")) }
            @if scope == Scope::All {
                " · "
                a href="/portal/office/people" { (lang.t("portal.people.people_and_clubs")) }
                " · "
                a href="/portal/office/tokens" { (lang.t("portal.tokens.counter_tokens")) }
            }
        }
        section.card #club-letters {
            h2 { (lang.t("portal.letter.letters")) }
            p.muted { (lang.t("portal.letter.what_letters_do")) }
            form method="post" action="/portal/office/letters" {
                (layout::csrf(&session))
                label for="letters-club" { (lang.t("portal.letter.club")) }
                select #letters-club name="club" {
                    @for club in &clubs { option value=(club.name) { (club.name) } }
                }
                " " (letters::language_choice(lang))
                div.actions { button.secondary type="submit" { (lang.t("portal.letter.print_club")) } }
            }
        }
        section.card {
            h2 { (lang.t("portal.office.withdrawals_waiting")) }
            @if payouts.rows.is_empty() { p.muted { (lang.t("portal.office.none")) } }
            @for p in &payouts.rows {
                form method="post" action={ "/portal/office/payouts/" (p.id) } data-payout {
                    (layout::csrf(&session))
                    p { strong { (p.amount) } " · " (p.child_name) " · " (p.parent_name)
                        " · " (lang.t("portal.office.account")) (p.bank_account) }
                    button.primary type="submit" { (lang.t("portal.office.mark_as_paid_out")) }
                    " "
                    button.secondary type="submit" formaction={ "/portal/office/payouts/" (p.id) "/reject" } {
                        (lang.t("portal.office.reject_and_put_the_money_back"))
                    }
                }
            }
            (pages.nav(lang, List::Payouts, payouts.more))
        }
        section.card {
            h2 { (lang.t("portal.office.card_orders")) }
            @if orders.rows.is_empty() { p.muted { (lang.t("portal.office.none")) } }
            @for o in &orders.rows {
                form method="post" action={ "/portal/office/orders/" (o.id) } data-order {
                    (layout::csrf(&session))
                    p { strong { a href={ "/portal/office/children/" (o.child_id) } { (o.child_name) } } " · " (o.created_at.format("%d.%m.%Y")) " · "
                        (if o.status == "sent" { lang.t("portal.office.sent") } else { lang.t("portal.office.ordered") })
                        @if o.address.is_none() { " · " (lang.t("portal.office.first_card_handed_out_at_the")) }
                        @if let Some(a) = &o.address { br; span.muted { (a) } } }
                    @if o.status == "ordered" {
                        button.primary type="submit" name="status" value="sent" { (lang.t("portal.office.mark_sent")) }
                    }
                    // Handing out records the card: its UID is typed here.
                    label for={ "uid-" (o.id) } { (lang.t("portal.office_children.card_uid")) }
                    input id={ "uid-" (o.id) } name="uid" maxlength="40" autocomplete="off";
                    button.secondary type="submit" name="status" value="handed_out" { (lang.t("portal.office.mark_handed_out")) }
                }
            }
            (pages.nav(lang, List::Orders, orders.more))
        }
        section.card {
            h2 { (lang.t("portal.office.requests")) }
            @if support.rows.is_empty() { p.muted { (lang.t("portal.office.none")) } }
            @for s in &support.rows {
                div data-support {
                    p { strong { (s.subject) } " · " (s.parent_name)
                        @if let Some(c) = &s.child_name { " · " (c) } }
                    p { (s.body) }
                    @match &s.answer {
                        Some(answer) => { p.notice { (answer) } }
                        None => {
                            form method="post" action={ "/portal/office/support/" (s.id) } {
                                (layout::csrf(&session))
                                label for={ "answer-" (s.id) } { (lang.t("portal.office.answer")) }
                                textarea id={ "answer-" (s.id) } name="answer" rows="3" required maxlength="5000" {}
                                div.actions { button.primary type="submit" { (lang.t("portal.office.send_answer")) } }
                            }
                        }
                    }
                }
            }
            (pages.nav(lang, List::Questions, support.more))
        }
        section.card {
            h2 { (lang.t("portal.office.sales_this_month_by_club")) }
            @if sales.is_empty() { p.muted { (lang.t("portal.office.no_sales_yet")) } }
            @else { (layout::bars(sales.iter().map(|(club, total)| (club.as_str(), *total)))) }
            p { a href="/portal/office/reports" { (lang.t("portal.reports.reports")) } }
        }
    };
    Ok(layout::page(lang, &session, title, body).into_response())
}

pub async fn payout_rejected(
    State(state): State<AppState>,
    office: Office,
    Path(id): Path<Uuid>,
    Posted(NoFields {}): Posted<NoFields>,
) -> Result<Response, PortalError> {
    decide_payout(&state, &office, id, false).await
}

pub async fn payout_paid(
    State(state): State<AppState>,
    office: Office,
    Path(id): Path<Uuid>,
    Posted(NoFields {}): Posted<NoFields>,
) -> Result<Response, PortalError> {
    decide_payout(&state, &office, id, true).await
}

/// A payout of one of the office's children paid out, or rejected (the
/// money goes back on the card); another club's is not found.
async fn decide_payout(
    state: &AppState,
    office: &Office,
    id: Uuid,
    paid: bool,
) -> Result<Response, PortalError> {
    let child = payments::payout_child(&state.pool, id).await?;
    office.may_see(&state.pool, child.map(|c| vec![c])).await?;
    let actor = office.session.actor();
    if paid {
        payments::mark_payout_paid(&state.pool, &actor, id).await?;
    } else {
        payments::reject_payout(&state.pool, &actor, id).await?;
    }
    Ok(Redirect::to("/portal/office").into_response())
}

#[derive(Debug, Deserialize)]
pub struct AnswerForm {
    answer: String,
}

pub async fn answer(
    State(state): State<AppState>,
    office: Office,
    Path(id): Path<Uuid>,
    Posted(form): Posted<AnswerForm>,
) -> Result<Response, PortalError> {
    let children = queries::support_children(&state.pool, id).await?;
    office.may_see(&state.pool, children).await?;
    let answer = form.answer.trim();
    if !answer.is_empty() && answer.chars().count() <= 5000 {
        queries::answer_support(&state.pool, &office.session.actor(), id, answer).await?;
    }
    Ok(Redirect::to("/portal/office").into_response())
}
