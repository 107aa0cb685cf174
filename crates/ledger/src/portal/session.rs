//! Who is logged in: a session cookie (HttpOnly, Secure, SameSite=Lax)
//! whose SHA-256 names a row in `portal_sessions`, with a CSRF token that
//! every form must carry back.
//!
//! SameSite=Lax, not Strict: the browser arrives from the login broker by
//! a cross-site redirect, and a Strict cookie set there would be withheld
//! on the first page. Cross-site POSTs get no cookie under Lax, and the
//! CSRF token stops a forged form even where a browser would send it.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::TimeDelta;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::PortalError;
use crate::AppState;
use crate::db::{self, Actor, DbError, Scope, people};
use klubkasse_core::domain::ChildId;

pub const SESSION_COOKIE: &str = "kk_session";
/// Holds the login's state while the browser is at the broker: the
/// callback must come back to the browser that started it.
pub const LOGIN_COOKIE: &str = "kk_login";

/// A session ends after this long without a request…
pub const IDLE: TimeDelta = TimeDelta::minutes(30);
/// …and this long after the login, whatever happens.
pub const LIFETIME: TimeDelta = TimeDelta::hours(12);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Parent,
    /// Office staff of some clubs (`Scope::Clubs`), or the municipality's
    /// (`Scope::All`).
    Office(Scope),
}

/// Someone logged in.
#[derive(Debug, Clone)]
pub struct Session {
    pub person: Uuid,
    pub role: Role,
    pub name: String,
    /// A parent's children; none for the office.
    pub children: Vec<ChildId>,
    pub csrf: String,
    id_hash: Vec<u8>,
}

pub fn sha256(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

/// 32 random bytes as hex: session ids, CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system's random source works");
    hex::encode(bytes)
}

/// A cookie only this site's pages get, only over HTTPS (browsers treat
/// localhost as secure, so tests on loopback keep the flag too).
pub fn cookie(name: &'static str, value: String, max_age: TimeDelta) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/portal")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age.num_seconds()))
        .build()
}

/// The removal of a cookie set by [`cookie`].
pub fn removal(name: &'static str) -> Cookie<'static> {
    let mut gone = Cookie::build((name, "")).path("/portal").build();
    gone.make_removal();
    gone
}

/// Equal in time whatever the texts: a CSRF token must not leak by timing.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (sha256(a), sha256(b));
    a.iter().zip(&b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

impl Session {
    /// Refuses a form that does not carry this session's token.
    pub fn check_csrf(&self, token: &str) -> Result<(), PortalError> {
        if same(token, &self.csrf) {
            Ok(())
        } else {
            Err(PortalError::Csrf)
        }
    }

    /// A parent's own child, or a child of the office's clubs; anything
    /// else is not found (not "forbidden": nobody learns of other
    /// children), the same as a child that does not exist.
    pub async fn may_see(&self, pool: &PgPool, child: ChildId) -> Result<(), PortalError> {
        let seen = match &self.role {
            Role::Office(scope) => db::child_in_scope(pool, scope, child).await?,
            Role::Parent => self.children.contains(&child),
        };
        seen.then_some(()).ok_or(PortalError::NotFound)
    }

    /// Who made a change, for the office log.
    pub fn actor(&self) -> Actor {
        Actor::Person {
            id: self.person,
            name: self.name.clone(),
        }
    }

    pub async fn end(&self, pool: &PgPool) -> Result<(), DbError> {
        people::end_session(pool, &self.id_hash).await
    }
}

/// Starts a session for a person; returns the cookie's value.
pub async fn begin(pool: &PgPool, person: Uuid) -> Result<String, DbError> {
    let id = random_token();
    people::begin_session(pool, &sha256(&id), person, &random_token(), LIFETIME).await?;
    Ok(id)
}

/// The session of a cookie's value, if it is live; touching it keeps it so.
async fn find(pool: &PgPool, id: &str) -> Result<Option<Session>, DbError> {
    let id_hash = sha256(id);
    let Some(row) = people::find_session(pool, &id_hash, IDLE, LIFETIME).await? else {
        return Ok(None);
    };
    let role = match row.role.as_str() {
        "office" => Role::Office(Scope::Clubs(row.clubs.into_iter().collect())),
        "municipality" => Role::Office(Scope::All),
        _ => Role::Parent,
    };
    Ok(Some(Session {
        person: row.person,
        role,
        name: row.name,
        children: row.children.into_iter().map(ChildId).collect(),
        csrf: row.csrf,
        id_hash,
    }))
}

impl FromRequestParts<AppState> for Session {
    type Rejection = PortalError;

    /// Looked up once per request, however many extractors ask.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Session, PortalError> {
        if let Some(session) = parts.extensions.get::<Session>() {
            return Ok(session.clone());
        }
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(id) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(PortalError::LoginNeeded);
        };
        let session = find(&state.pool, &id)
            .await?
            .ok_or(PortalError::LoginNeeded)?;
        parts.extensions.insert(session.clone());
        Ok(session)
    }
}

/// The client's address: logins and wrong activation codes are counted
/// per address. The connection's, unless that is a proxy named with
/// `--trusted-proxy`: then the nearest address in `X-Forwarded-For` that
/// is not one of those proxies (what comes before it, the client may
/// have written itself). 0.0.0.0 when there is no socket (the router in
/// tests).
pub struct ClientAddress(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let connected = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        let proxies = state
            .portal
            .as_ref()
            .map_or(&[][..], |p| p.trusted_proxies.as_slice());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        Ok(ClientAddress(client_address(
            connected, &forwarded, proxies,
        )))
    }
}

/// Walks `X-Forwarded-For` from the right while the hop is a trusted
/// proxy; an address that cannot be read there ends the walk at the
/// last trusted hop (it came from someone we cannot vouch for). Every
/// address is taken as IPv4 when it is one (`::ffff:10.0.0.2`, as a
/// dual-stack listener sees an IPv4 proxy, is the proxy `10.0.0.2`), and
/// a hop may carry its port (`203.0.113.7:4711`, `[2001:db8::7]:4711`),
/// as some proxies write it.
pub fn client_address(
    connected: std::net::IpAddr,
    forwarded: &str,
    proxies: &[std::net::IpAddr],
) -> std::net::IpAddr {
    let trusted = |address: std::net::IpAddr| {
        proxies
            .iter()
            .any(|p| p.to_canonical() == address.to_canonical())
    };
    let hop = |text: &str| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
    };
    let mut client = connected;
    let mut hops = forwarded
        .rsplit(',')
        .map(str::trim)
        .filter(|h| !h.is_empty());
    while trusted(client) {
        match hops.next().and_then(hop) {
            Some(hop) => client = hop,
            None => break,
        }
    }
    client.to_canonical()
}

/// A child named in the path that the logged-in person may see: a
/// parent's own child, or a child of the office's clubs. Every page about
/// a child takes this, so none can forget the check.
pub struct OwnChild {
    pub session: Session,
    pub child: ChildId,
}

impl FromRequestParts<AppState> for OwnChild {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<OwnChild, PortalError> {
        let session = Session::from_request_parts(parts, state).await?;
        let Path(child) = Path::<ChildId>::from_request_parts(parts, state)
            .await
            .map_err(|_| PortalError::NotFound)?;
        session.may_see(&state.pool, child).await?;
        Ok(OwnChild { session, child })
    }
}

/// Office staff, with the clubs they may see: every office page takes
/// this, so none can forget the check. A parent gets "not found".
pub struct Office {
    pub session: Session,
    pub scope: Scope,
}

impl FromRequestParts<AppState> for Office {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Office, PortalError> {
        let session = Session::from_request_parts(parts, state).await?;
        match session.role.clone() {
            Role::Office(scope) => Ok(Office { session, scope }),
            Role::Parent => Err(PortalError::NotFound),
        }
    }
}

impl Office {
    /// Something of one or more children (a payout, an order, a
    /// question), found by `children` (None: it does not exist): not
    /// found unless within the office's clubs.
    pub async fn may_see(
        &self,
        pool: &PgPool,
        children: Option<Vec<ChildId>>,
    ) -> Result<(), PortalError> {
        let children = children.ok_or(PortalError::NotFound)?;
        if db::in_scope(pool, &self.scope, &children).await? {
            Ok(())
        } else {
            Err(PortalError::NotFound)
        }
    }
}

/// The municipality's staff (every club): the pages that manage people,
/// clubs and counter tokens take this. Office staff of some clubs and
/// parents get "not found", as for a page that does not exist.
pub struct Municipality {
    pub session: Session,
}

impl FromRequestParts<AppState> for Municipality {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Municipality, PortalError> {
        let session = Session::from_request_parts(parts, state).await?;
        match session.role {
            Role::Office(Scope::All) => Ok(Municipality { session }),
            _ => Err(PortalError::NotFound),
        }
    }
}

/// A child named in the path that office staff may see (of their clubs):
/// every office page about one child takes this. Another club's child is
/// "not found", the same as one that does not exist.
pub struct OfficeChild {
    pub office: Office,
    pub child: ChildId,
}

impl FromRequestParts<AppState> for OfficeChild {
    type Rejection = PortalError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<OfficeChild, PortalError> {
        let office = Office::from_request_parts(parts, state).await?;
        let Path(child) = Path::<ChildId>::from_request_parts(parts, state)
            .await
            .map_err(|_| PortalError::NotFound)?;
        office.may_see(&state.pool, Some(vec![child])).await?;
        Ok(OfficeChild { office, child })
    }
}

/// A form posted from one of the logged-in person's pages: its CSRF
/// token is checked before anything reads the rest. Every form handler
/// takes this, so none can forget the check.
pub struct Posted<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = PortalError;

    async fn from_request(request: Request, state: &AppState) -> Result<Posted<T>, PortalError> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        let bytes = form_bytes(body).await?;
        let fields: Vec<(String, String)> =
            serde_html_form::from_bytes(&bytes).map_err(|_| PortalError::Csrf)?;
        let token = fields
            .iter()
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value.as_str())
            .unwrap_or("");
        session.check_csrf(token)?;
        // No page of ours sends a NUL or other control character (but
        // the line breaks and tabs of a text): the database would refuse
        // a NUL halfway, and the others only hide what is stored.
        if let Some((name, _)) = fields.iter().find(|(_, value)| {
            value
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        }) {
            return Err(PortalError::BadForm(format!(
                "a control character in {name:?}"
            )));
        }
        serde_html_form::from_bytes(&bytes)
            .map(Posted)
            .map_err(|e| PortalError::BadForm(e.to_string()))
    }
}

/// A form's body, at most [`FORM_BYTES`].
async fn form_bytes(body: axum::body::Body) -> Result<axum::body::Bytes, PortalError> {
    axum::body::to_bytes(body, FORM_BYTES)
        .await
        .map_err(|_| PortalError::FormTooLarge)
}

/// A form sent by someone not logged in (the language switch): no
/// session, so no token to check.
pub async fn form<T: serde::de::DeserializeOwned>(
    body: axum::body::Body,
) -> Result<T, PortalError> {
    let bytes = form_bytes(body).await?;
    serde_html_form::from_bytes(&bytes).map_err(|e| PortalError::BadForm(e.to_string()))
}

/// A page's query string, read as the portal's own links write it. One
/// they never write (`page=abc`, typed by hand) is a bad address, said in
/// the portal's languages rather than in the framework's English.
pub struct Asked<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Asked<T> {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Asked<T>, PortalError> {
        serde_html_form::from_str(parts.uri.query().unwrap_or(""))
            .map(Asked)
            .map_err(|e| PortalError::BadAddress(e.to_string()))
    }
}

/// A form with nothing but its token (log out, mark as paid).
#[derive(Debug, serde::Deserialize)]
pub struct NoFields {}

/// The largest form: a support request's 5,000 characters and then some.
const FORM_BYTES: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::client_address;
    use std::net::IpAddr;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn the_client_is_the_nearest_address_no_trusted_proxy_wrote() {
        let proxy = ip("10.0.0.2");
        let parent = ip("203.0.113.7");
        // Direct: the header is the client's own words, not believed.
        assert_eq!(client_address(parent, "198.51.100.1", &[proxy]), parent);
        // Through our proxy: what it saw.
        assert_eq!(client_address(proxy, "203.0.113.7", &[proxy]), parent);
        // A forged first hop stays the client's words: the proxy's is last.
        assert_eq!(
            client_address(proxy, "198.51.100.1, 203.0.113.7", &[proxy]),
            parent
        );
        // Two proxies of ours in a row.
        let inner = ip("10.0.0.3");
        assert_eq!(
            client_address(inner, "203.0.113.7, 10.0.0.2", &[proxy, inner]),
            parent
        );
        // No header, or garbage in it: the proxy, not a made-up address.
        assert_eq!(client_address(proxy, "", &[proxy]), proxy);
        assert_eq!(client_address(proxy, "not-an-address", &[proxy]), proxy);
        // No proxy trusted: the connection.
        assert_eq!(client_address(proxy, "203.0.113.7", &[]), proxy);
    }

    #[test]
    fn a_dual_stack_listener_and_hops_with_ports_name_the_same_client() {
        let proxy = ip("10.0.0.2");
        let parent = ip("203.0.113.7");
        // An IPv4 proxy as a listener on [::] sees it.
        let mapped = ip("::ffff:10.0.0.2");
        assert_eq!(client_address(mapped, "203.0.113.7", &[proxy]), parent);
        assert_eq!(client_address(proxy, "203.0.113.7", &[mapped]), parent);
        // A direct IPv4 client of such a listener is that IPv4 address.
        assert_eq!(client_address(ip("::ffff:203.0.113.7"), "", &[]), parent);
        // Hops with their ports.
        assert_eq!(client_address(proxy, "203.0.113.7:4711", &[proxy]), parent);
        assert_eq!(
            client_address(proxy, "[2001:db8::7]:4711", &[proxy]),
            ip("2001:db8::7")
        );
        assert_eq!(
            client_address(proxy, "::ffff:203.0.113.7", &[proxy]),
            parent
        );
    }
}
