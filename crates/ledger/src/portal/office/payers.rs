//! A child's payers on its page: the office adds one (name, e-mail, as
//! the import's columns are checked) or removes one (kept, marked
//! removed, in the office log). The office's clubs only ([`OfficeChild`]).

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;

use super::super::PortalError;
use super::super::layout::Lang;
use super::super::session::{OfficeChild, Posted};
use super::children::{back, refused};
use crate::{AppState, db, import};

#[derive(Debug, Deserialize)]
pub struct PayerForm {
    name: String,
    #[serde(default)]
    email: String,
}

pub async fn add(
    State(state): State<AppState>,
    lang: Lang,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<PayerForm>,
) -> Result<Response, PortalError> {
    let payer = match import::payer(&form.name, &form.email) {
        Ok(Some(payer)) => payer,
        Ok(None) => {
            let problem = lang.t("portal.office_children.write_the_payers_name");
            return refused(&state, lang, &office, child, problem).await;
        }
        Err(faults) => {
            let said: Vec<String> = faults.iter().map(|(_, fault)| fault.text(lang.0)).collect();
            let problem = format!(
                "{} {}",
                lang.t("portal.office_children.the_payer_was_not_added"),
                said.join("; ")
            );
            return refused(&state, lang, &office, child, &problem).await;
        }
    };
    db::payers::add_one(&state.pool, &office.session.actor(), child, &payer).await?;
    Ok(back(child))
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    payer: Uuid,
}

pub async fn remove(
    State(state): State<AppState>,
    OfficeChild { office, child }: OfficeChild,
    Posted(form): Posted<RemoveForm>,
) -> Result<Response, PortalError> {
    db::payers::remove(&state.pool, &office.session.actor(), child, form.payer).await?;
    Ok(back(child))
}
