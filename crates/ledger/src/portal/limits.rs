//! The rules a parent sets for the counter: a daily limit, categories the
//! child may not buy, a note for staff (an allergy), and the balance
//! below which the parent gets an e-mail. The counters get them at their
//! next pull.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::PortalError;
use super::layout::{self, Lang};
use super::session::{OwnChild, Posted, Session};
use crate::api::SettingsPatch;
use crate::db::portal as queries;
use crate::{AppState, db, validate};
use klubkasse_core::domain::{ChildId, Money};

/// The categories a parent may tick: the ledger's list, those the child
/// has bought from, and those already blocked.
pub(crate) async fn categories(
    state: &AppState,
    child: ChildId,
    blocked: &[String],
) -> Result<Vec<String>, PortalError> {
    let mut all: std::collections::BTreeSet<String> = queries::categories(&state.pool)
        .await?
        .into_iter()
        .collect();
    all.extend(queries::categories_bought(&state.pool, child).await?);
    all.extend(blocked.iter().cloned());
    Ok(all.into_iter().collect())
}

#[derive(Default)]
struct Filled {
    limit: String,
    note: String,
    low: String,
    email: String,
    blocked: Vec<String>,
}

async fn draw(
    state: &AppState,
    lang: Lang,
    session: &Session,
    child: ChildId,
    filled: Option<Filled>,
    problem: Option<&str>,
    saved: bool,
) -> Result<Response, PortalError> {
    let detail = db::detail(&state.pool, child).await?;
    let filled = match filled {
        Some(filled) => filled,
        None => {
            let (low, email) = queries::low_balance(&state.pool, session.person, child).await?;
            Filled {
                limit: detail
                    .child
                    .daily_limit
                    .map(Money::danish_number)
                    .unwrap_or_default(),
                note: detail.child.note.clone().unwrap_or_default(),
                low: low.map(Money::danish_number).unwrap_or_default(),
                email: email.unwrap_or_default(),
                blocked: detail.child.blocked_categories.clone(),
            }
        }
    };
    let categories = categories(state, child, &filled.blocked).await?;
    let title = lang.t("portal.limits.limits");
    let body = html! {
        (layout::problem(problem))
        @if saved { (layout::notice(Some(lang.t("portal.limits.saved_the_counter_gets_it_at")))) }
        p { strong { (detail.child.name) } }
        form method="post" {
            (layout::csrf(session))
            label for="limit" { (lang.t("portal.limits.at_most_per_day_kr")) }
            input #limit name="limit" inputmode="decimal" value=(filled.limit)
                placeholder=(lang.t("portal.limits.no_limit"));
            fieldset {
                legend { (lang.t("portal.limits.may_not_buy")) }
                @for category in &categories {
                    label {
                        input type="checkbox" name="blocked" value=(category)
                            checked[filled.blocked.contains(category)];
                        " " (category)
                    }
                }
            }
            label for="note" { (lang.t("portal.limits.note_for_staff_e_g_an")) }
            textarea #note name="note" rows="2" maxlength="500" { (filled.note) }
            label for="low" { (lang.t("portal.limits.e_mail_me_when_the_balance")) }
            input #low name="low" inputmode="decimal" value=(filled.low)
                placeholder=(lang.t("portal.limits.no_e_mail"));
            label for="email" { (lang.t("portal.limits.your_e_mail")) }
            input #email name="email" type="email" maxlength="200" value=(filled.email);
            div.actions {
                button.primary type="submit" { (lang.t("portal.limits.save")) }
                a.button.secondary href="/portal" { (lang.t("portal.limits.back")) }
            }
        }
    };
    Ok(layout::page(lang, session, title, body).into_response())
}

pub async fn page(
    State(state): State<AppState>,
    lang: Lang,
    OwnChild { session, child }: OwnChild,
) -> Result<Response, PortalError> {
    draw(&state, lang, &session, child, None, None, false).await
}

/// An empty field is "none"; anything else must be an amount of 0 or more.
pub(crate) fn optional_money(text: &str) -> Result<Option<Money>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    crate::validate::typed_kroner(text).map(Some).ok_or(())
}

#[derive(Debug, serde::Deserialize)]
pub struct LimitsForm {
    limit: String,
    note: String,
    low: String,
    email: String,
    /// One per ticked box; none ticked sends none.
    #[serde(default)]
    blocked: Vec<String>,
}

/// The daily limit and the low-balance threshold, if the form is right;
/// else what to tell the parent.
fn checked(lang: Lang, filled: &Filled) -> Result<(Option<Money>, Option<Money>), &'static str> {
    let (Ok(limit), Ok(low)) = (optional_money(&filled.limit), optional_money(&filled.low)) else {
        return Err(lang.t("portal.limits.write_amounts_as_numbers_e_g"));
    };
    if filled.email.chars().count() > 200 {
        return Err(lang.t("portal.limits.the_e_mail_address_is_too"));
    }
    if low.is_some() && !filled.email.contains('@') {
        return Err(lang.t("portal.limits.write_your_e_mail_so_that"));
    }
    Ok((limit, low))
}

pub async fn save(
    State(state): State<AppState>,
    lang: Lang,
    OwnChild { session, child }: OwnChild,
    Posted(form): Posted<LimitsForm>,
) -> Result<Response, PortalError> {
    let filled = Filled {
        limit: form.limit,
        note: form.note.trim().to_string(),
        low: form.low,
        email: form.email.trim().to_string(),
        blocked: form
            .blocked
            .into_iter()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    };
    let (limit, low) = match checked(lang, &filled) {
        Ok(amounts) => amounts,
        Err(problem) => {
            let filled = Some(filled);
            return draw(&state, lang, &session, child, filled, Some(problem), false).await;
        }
    };
    // The same checks as the office's API: lower-cased categories, no
    // control characters, the same lengths.
    let patch = validate::settings_patch(SettingsPatch {
        daily_limit: Some(limit),
        blocked_categories: Some(filled.blocked.clone()),
        note: Some(Some(filled.note.clone())),
    });
    let patch = match patch {
        Ok(patch) => patch,
        Err(e) => {
            tracing::info!(error = %e, "limits refused");
            let problem = lang.t("portal.limits.something_in_the_form_cannot_be");
            let filled = Some(filled);
            return draw(&state, lang, &session, child, filled, Some(problem), false).await;
        }
    };
    db::update_settings(&state.pool, &session.actor(), child, &patch).await?;
    // An empty e-mail field keeps the address the other children's
    // warnings use; only a threshold needs one.
    let email = (!filled.email.is_empty()).then_some(filled.email.as_str());
    queries::set_low_balance(&state.pool, session.person, child, low, email).await?;
    draw(&state, lang, &session, child, None, None, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(limit: &str, low: &str, email: &str) -> Filled {
        Filled {
            limit: limit.into(),
            low: low.into(),
            email: email.into(),
            ..Filled::default()
        }
    }

    #[test]
    fn empty_fields_are_none_and_amounts_are_danish_or_plain() {
        assert_eq!(checked(Lang::DA, &filled("", "", "")), Ok((None, None)));
        assert_eq!(
            checked(Lang::DA, &filled("20,50", "30", "a@b.dk")),
            Ok((Some(Money::from_ore(2050)), Some(Money::kroner(30))))
        );
    }

    #[test]
    fn a_bad_amount_or_a_threshold_without_an_email_is_said_so() {
        assert!(
            checked(Lang::EN, &filled("-5", "", ""))
                .unwrap_err()
                .contains("numbers")
        );
        assert!(checked(Lang::EN, &filled("tyve", "", "")).is_err());
        assert!(
            checked(Lang::EN, &filled("", "30", ""))
                .unwrap_err()
                .contains("e-mail")
        );
    }
}
