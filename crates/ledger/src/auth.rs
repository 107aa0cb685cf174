//! Bearer tokens: 32 random bytes shown once as hex; only their SHA-256 is
//! stored, with a label to know the token by. Roles: `admin` (the
//! municipality: every club), `office` (some clubs), `kiosk` (one
//! counter), `parent` (only their own children). A token may expire
//! (`expires_at`, NULL = never) and may be revoked at any time.

use std::collections::BTreeSet;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::TimeDelta;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::error::{ApiPath, LedgerError, Result};
use super::{AppState, db};
use crate::db::{Actor, Scope};
use klubkasse_core::domain::ChildId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The municipality's scripts: every club.
    Admin,
    /// An office's scripts: these clubs' children only.
    Office(BTreeSet<String>),
    /// Bound to one counter: every entry it pushes must name this counter.
    Kiosk(String),
    Parent(Vec<ChildId>),
}

impl Role {
    pub fn name(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Office(_) => "office",
            Role::Kiosk(_) => "kiosk",
            Role::Parent(_) => "parent",
        }
    }

    /// The clubs an office token sees: every club for admin.
    pub fn scope(&self) -> Option<Scope> {
        match self {
            Role::Admin => Some(Scope::All),
            Role::Office(clubs) => Some(Scope::Clubs(clubs.clone())),
            Role::Kiosk(_) | Role::Parent(_) => None,
        }
    }
}

/// Who is asking, from a valid bearer token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: Uuid,
    pub label: String,
    pub role: Role,
}

impl Principal {
    /// The office of this child's club, or a parent of this child. A child
    /// outside an office token's clubs is not found, the same as one that
    /// does not exist; another's child is forbidden to a parent.
    pub async fn may_act_for(&self, pool: &PgPool, child: ChildId) -> Result<()> {
        match &self.role {
            Role::Parent(children) if children.contains(&child) => Ok(()),
            Role::Parent(_) => Err(LedgerError::forbidden("this is not one of your children")),
            Role::Kiosk(_) => Err(not_for_counters()),
            Role::Admin | Role::Office(_) => in_scope(pool, &self.role, child).await,
        }
    }

    /// What entries made by this principal name as their counter.
    pub fn counter_label(&self) -> &str {
        match &self.role {
            Role::Admin | Role::Office(_) => "office",
            Role::Kiosk(counter) => counter,
            Role::Parent(_) => "parent",
        }
    }

    /// Who made a change, for the office log.
    pub fn actor(&self) -> Actor {
        Actor::Token {
            id: self.token_id,
            label: self.label.clone(),
        }
    }
}

/// The child within an office token's scope, or "no child with id …",
/// as for an unknown child.
async fn in_scope(pool: &PgPool, role: &Role, child: ChildId) -> Result<()> {
    let scope = role.scope().ok_or_else(office_only)?;
    if db::child_in_scope(pool, &scope, child).await? {
        Ok(())
    } else {
        Err(db::children::no_child(child).into())
    }
}

pub(crate) fn admin_only() -> LedgerError {
    LedgerError::forbidden("only the municipality (an admin token) may do this")
}

pub(crate) fn office_only() -> LedgerError {
    LedgerError::forbidden("only the office (an admin or office token) may do this")
}

fn not_for_counters() -> LedgerError {
    LedgerError::forbidden("a counter may not do this; use the kiosk endpoints")
}

/// The municipality's token (operations: metrics).
pub struct Admin(pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = LedgerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let who = Principal::from_request_parts(parts, state).await?;
        match who.role {
            Role::Admin => Ok(Admin(who)),
            _ => Err(admin_only()),
        }
    }
}

/// An office's token (admin: every club; office: some), with its scope:
/// every office endpoint takes this or [`OfficeChild`], so none can forget
/// the check.
pub struct Office {
    pub who: Principal,
    pub scope: Scope,
}

impl FromRequestParts<AppState> for Office {
    type Rejection = LedgerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let who = Principal::from_request_parts(parts, state).await?;
        let scope = who.role.scope().ok_or_else(office_only)?;
        Ok(Office { who, scope })
    }
}

/// The child in the path (`{id}`), within an office token's scope.
pub struct OfficeChild {
    pub who: Principal,
    pub child: ChildId,
}

impl FromRequestParts<AppState> for OfficeChild {
    type Rejection = LedgerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let Office { who, .. } = Office::from_request_parts(parts, state).await?;
        let ApiPath(id) = ApiPath::<Uuid>::from_request_parts(parts, state).await?;
        let child = ChildId(id);
        in_scope(&state.pool, &who.role, child).await?;
        Ok(OfficeChild { who, child })
    }
}

/// A counter's token, with the counter it speaks for: every kiosk
/// endpoint takes this.
pub struct Kiosk {
    pub counter: String,
    pub who: Principal,
}

impl FromRequestParts<AppState> for Kiosk {
    type Rejection = LedgerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let who = Principal::from_request_parts(parts, state).await?;
        match &who.role {
            Role::Kiosk(counter) => Ok(Kiosk {
                counter: counter.clone(),
                who,
            }),
            _ => Err(LedgerError::forbidden("only a counter (kiosk) may do this")),
        }
    }
}

/// The office or a parent, for what names a child only later (a card's
/// owner); the caller checks that child with [`Principal::may_act_for`].
pub struct OfficeOrParent(pub Principal);

impl FromRequestParts<AppState> for OfficeOrParent {
    type Rejection = LedgerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let who = Principal::from_request_parts(parts, state).await?;
        match who.role {
            Role::Admin | Role::Office(_) | Role::Parent(_) => Ok(OfficeOrParent(who)),
            Role::Kiosk(_) => Err(not_for_counters()),
        }
    }
}

/// The child in the path (`{id}`) and who asks for it: the office of its
/// club, or a parent of that child. Every endpoint about one child takes
/// this or [`OfficeChild`].
pub struct ChildAccess {
    pub who: Principal,
    pub child: ChildId,
}

impl ChildAccess {
    /// The role first, whatever the path or body says: a counter is
    /// refused, and a parent where `parents` is false.
    async fn of(parts: &mut Parts, state: &AppState, parents: bool) -> Result<ChildAccess> {
        let who = Principal::from_request_parts(parts, state).await?;
        match who.role {
            Role::Kiosk(_) => return Err(not_for_counters()),
            Role::Parent(_) if !parents => {
                return Err(LedgerError::forbidden(
                    "a parent's money comes through a payment (the portal's top-up), not a deposit",
                ));
            }
            _ => {}
        }
        let ApiPath(id) = ApiPath::<Uuid>::from_request_parts(parts, state).await?;
        let child = ChildId(id);
        who.may_act_for(&state.pool, child).await?;
        Ok(ChildAccess { who, child })
    }
}

impl FromRequestParts<AppState> for ChildAccess {
    type Rejection = LedgerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        ChildAccess::of(parts, state, true).await
    }
}

/// [`ChildAccess`] for the office and the municipality only: a deposit
/// is money no payment shows (cash at the office), so never a parent's.
pub struct OfficeChildAccess(pub ChildAccess);

impl FromRequestParts<AppState> for OfficeChildAccess {
    type Rejection = LedgerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        ChildAccess::of(parts, state, false)
            .await
            .map(OfficeChildAccess)
    }
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A fresh token: 32 bytes from the operating system, as 64 hex digits.
pub fn new_token() -> std::result::Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = LedgerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .ok_or(LedgerError::Unauthorized)?;
        // The scheme's name is case-insensitive (RFC 9110 §11.1).
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or(LedgerError::Unauthorized)?;
        lookup(&state.pool, token)
            .await?
            .ok_or(LedgerError::Unauthorized)
    }
}

/// The principal of a token that exists and is not revoked; an expired
/// one is [`LedgerError::TokenExpired`].
pub async fn lookup(pool: &PgPool, token: &str) -> Result<Option<Principal>> {
    let Some(row) = db::tokens::by_hash(pool, &hash_token(token)).await? else {
        return Ok(None);
    };
    if row.expired {
        return Err(LedgerError::TokenExpired);
    }
    let role = match row.role.as_str() {
        "admin" => Role::Admin,
        "office" => Role::Office(row.clubs.into_iter().collect()),
        "kiosk" => Role::Kiosk(row.kiosk.unwrap_or_default()),
        "parent" => Role::Parent(row.children.into_iter().map(ChildId).collect()),
        // The table's CHECK allows nothing else; treat it as no token.
        _ => return Ok(None),
    };
    Ok(Some(Principal {
        token_id: row.id,
        label: row.label,
        role,
    }))
}

/// The role a new token gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenRole {
    /// The municipality's scripts: every club.
    Admin,
    /// An office's scripts: the clubs given with --club.
    Office,
    Kiosk,
    Parent,
}

impl TokenRole {
    fn as_str(self) -> &'static str {
        match self {
            TokenRole::Admin => "admin",
            TokenRole::Office => "office",
            TokenRole::Kiosk => "kiosk",
            TokenRole::Parent => "parent",
        }
    }
}

/// A token to make.
#[derive(Debug, Clone)]
pub struct TokenSpec<'a> {
    /// What `token list` and the office log call it: 1 to 100 characters,
    /// unique among tokens not revoked, not a UUID (`token revoke` takes
    /// either).
    pub label: &'a str,
    pub role: TokenRole,
    /// The counter a kiosk token speaks for.
    pub kiosk: Option<&'a str>,
    /// The children a parent token may see.
    pub children: &'a [Uuid],
    /// The clubs an office token may see.
    pub clubs: &'a [String],
    /// The token expires that long from now; `None` never.
    pub lifetime: Option<TimeDelta>,
}

/// What `token create` made: the token is shown once and never again.
#[derive(Debug)]
pub struct NewToken {
    pub id: Uuid,
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a token needs a --label (1 to 100 characters, not a UUID, no control characters)")]
    LabelNeeded,
    #[error("a kiosk token needs --kiosk COUNTER-ID (1 to 100 letters, digits, spaces and -_.)")]
    KioskIdNeeded,
    #[error("only a kiosk token takes --kiosk")]
    KioskIdNotAllowed,
    #[error("a parent token needs at least one --child ID")]
    ChildNeeded,
    #[error("only a parent token takes --child")]
    ChildNotAllowed,
    #[error("an office token needs at least one --club NAME")]
    ClubNeeded,
    #[error("only an office token takes --club")]
    ClubNotAllowed,
    #[error("no token with the id or label «{0}»")]
    UnknownToken(String),
    #[error(transparent)]
    Insert(#[from] db::tokens::InsertError),
    #[error(transparent)]
    Lifetime(#[from] LifetimeError),
    #[error("the operating system gave no random bytes: {0}")]
    Random(getrandom::Error),
    #[error("database: {0}")]
    Database(#[from] db::DbError),
}

/// Why `--expires-in` was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifetimeError {
    #[error("«{0}» is not a lifetime: write a whole number and a unit, e.g. 90d, 12h, 30m or 2w")]
    Unreadable(String),
    #[error("a token lifetime must be at least one minute and at most {MAX_LIFETIME_DAYS} days")]
    OutOfRange,
}

/// Ten years: longer is "never", which is the default anyway.
pub const MAX_LIFETIME_DAYS: i64 = 3650;

/// `90d`, `12h`, `30m`, `2w`: how long a new token stays valid.
pub fn parse_lifetime(text: &str) -> Result<TimeDelta, LifetimeError> {
    let text = text.trim();
    let unreadable = || LifetimeError::Unreadable(text.to_string());
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(unreadable)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| unreadable())?;
    let minutes_per_unit = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 24 * 60,
        "w" => 7 * 24 * 60,
        _ => return Err(unreadable()),
    };
    let minutes = number
        .checked_mul(minutes_per_unit)
        .filter(|m| (1..=MAX_LIFETIME_DAYS * 24 * 60).contains(m))
        .ok_or(LifetimeError::OutOfRange)?;
    Ok(TimeDelta::minutes(minutes))
}

/// The label, trimmed, if it is one a token may have.
fn label(text: &str) -> Result<&str, TokenError> {
    let text = text.trim();
    let fits = (1..=100).contains(&text.chars().count())
        && !text.chars().any(char::is_control)
        && Uuid::parse_str(text).is_err();
    fits.then_some(text).ok_or(TokenError::LabelNeeded)
}

/// A counter's id as its config, its entries and the office's lists
/// carry it: 1 to 100 letters, digits, spaces and `-_.`, so that no quote
/// breaks the config line shown with the token and no control or
/// direction character hides which counter sold.
fn kiosk_id_fits(id: &str) -> bool {
    let id = id.trim();
    (1..=100).contains(&id.chars().count())
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'))
}

/// Makes a token, in the office log as `actor`'s.
pub async fn create_token(
    pool: &PgPool,
    actor: &Actor,
    spec: &TokenSpec<'_>,
) -> Result<NewToken, TokenError> {
    let label = label(spec.label)?;
    if let Some(lifetime) = spec.lifetime
        && !(TimeDelta::minutes(1)..=TimeDelta::days(MAX_LIFETIME_DAYS)).contains(&lifetime)
    {
        return Err(LifetimeError::OutOfRange.into());
    }
    let role = spec.role;
    match (role, spec.kiosk) {
        (TokenRole::Kiosk, None) => return Err(TokenError::KioskIdNeeded),
        (TokenRole::Kiosk, Some(k)) if !kiosk_id_fits(k) => return Err(TokenError::KioskIdNeeded),
        (TokenRole::Kiosk, Some(_)) => {}
        (_, Some(_)) => return Err(TokenError::KioskIdNotAllowed),
        _ => {}
    }
    match (role, spec.children.is_empty()) {
        (TokenRole::Parent, true) => return Err(TokenError::ChildNeeded),
        (TokenRole::Parent, false) | (_, true) => {}
        (_, false) => return Err(TokenError::ChildNotAllowed),
    }
    match (role, spec.clubs.is_empty()) {
        (TokenRole::Office, true) => return Err(TokenError::ClubNeeded),
        (TokenRole::Office, false) | (_, true) => {}
        (_, false) => return Err(TokenError::ClubNotAllowed),
    }
    let token = new_token().map_err(TokenError::Random)?;
    let id = Uuid::now_v7();
    let row = db::tokens::NewTokenRow {
        id,
        hash: &hash_token(&token),
        label,
        role: role.as_str(),
        kiosk: spec.kiosk.map(str::trim),
        lifetime: spec.lifetime,
        children: spec.children,
        clubs: spec.clubs,
    };
    db::tokens::insert(pool, actor, &row).await?;
    Ok(NewToken { id, token })
}

/// Revokes a token by its id or its label; what it was, for the answer.
pub async fn revoke_token(
    pool: &PgPool,
    actor: &Actor,
    label_or_id: &str,
) -> Result<db::tokens::TokenInfo, TokenError> {
    let label_or_id = label_or_id.trim();
    db::tokens::revoke(pool, actor, label_or_id)
        .await?
        .ok_or_else(|| TokenError::UnknownToken(label_or_id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_in_minutes_hours_days_and_weeks() {
        assert_eq!(parse_lifetime("90d"), Ok(TimeDelta::days(90)));
        assert_eq!(parse_lifetime("12h"), Ok(TimeDelta::hours(12)));
        assert_eq!(parse_lifetime("30m"), Ok(TimeDelta::minutes(30)));
        assert_eq!(parse_lifetime(" 2w "), Ok(TimeDelta::weeks(2)));
        assert_eq!(parse_lifetime("3650d"), Ok(TimeDelta::days(3650)));
    }

    #[test]
    fn a_label_is_short_printable_text_and_not_an_id() {
        assert_eq!(label("  Kastanjen kasse 1 ").unwrap(), "Kastanjen kasse 1");
        for bad in [
            "",
            "   ",
            "a\u{7}b",
            &"x".repeat(101),
            &Uuid::now_v7().to_string(),
        ] {
            assert!(label(bad).is_err(), "{bad:?}");
        }
        assert!(label(&"å".repeat(100)).is_ok());
    }

    #[test]
    fn a_counter_id_is_letters_digits_spaces_and_dashes() {
        for good in [
            "k1",
            " Kastanjen disk 2 ",
            "skovly_kasse.3",
            &"ø".repeat(100),
        ] {
            assert!(kiosk_id_fits(good), "{good:?}");
        }
        for bad in [
            "",
            "  ",
            "k\u{0}1",
            "k\t1",
            "k\u{202e}1",
            "k\"1",
            "k=1\n[x]",
            &"k".repeat(101),
        ] {
            assert!(!kiosk_id_fits(bad), "{bad:?}");
        }
    }

    #[test]
    fn unreadable_and_absurd_lifetimes_are_refused() {
        for text in ["", "d", "90", "90 d", "-1d", "1.5h", "12x", "1dd", "h12"] {
            assert_eq!(
                parse_lifetime(text),
                Err(LifetimeError::Unreadable(text.trim().to_string())),
                "{text:?}"
            );
        }
        for text in ["0m", "0d", "3651d", "99999999999999999w"] {
            assert!(parse_lifetime(text).is_err(), "{text:?}");
        }
        assert_eq!(parse_lifetime("3651d"), Err(LifetimeError::OutOfRange));
    }
}
