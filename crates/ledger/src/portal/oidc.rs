//! Login through an OpenID Connect broker (MitID is reached this way):
//! the authorization-code flow with PKCE and a nonce, for a confidential
//! client (client id and secret).
//!
//! The broker's metadata and keys are fetched on the first login, not at
//! start: a ledger must serve the counters even while the broker is away.
//! They are fetched again when a token's signature does not check out: the
//! broker may have rotated its keys. A fetch has a time limit and holds
//! no lock while it waits: a broker that hangs costs each login at most
//! that long, side by side, and logins with the metadata kept do not wait
//! for a fetch at all.

use std::collections::HashMap;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    HttpRequest, HttpResponse, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse,
    TokenResponse,
};
use std::sync::Mutex;
use std::time::Duration;

use crate::cpr::Cpr;

/// Where the broker is and who we are to it.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Where the broker sends the browser back: `…/portal/callback`.
    pub redirect_url: String,
    /// The identity token's claim that names the person across brokers
    /// (`mitid.uuid` at Signaturgruppen, `uuid` at Idura); None: the
    /// broker sends none, and people are known by issuer and subject only.
    pub stable_claim: Option<String>,
    /// CPR match: the claim with the person's CPR number (`dk.cpr` at
    /// Signaturgruppen, `cprNumberIdentifier` at Idura) and the scope that
    /// asks for it (`ssn`); None: off.
    pub cpr_claim: Option<String>,
    pub cpr_scope: Option<String>,
}

/// Every claim of the identity token beyond the standard ones, so that
/// the claims a broker names as it likes (`mitid.uuid`) can be read.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct OtherClaims(HashMap<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

impl OtherClaims {
    /// A claim's value as text: a string only. A number would compare
    /// equal to another claim's string, and a CPR number sent as one has
    /// lost its leading zero; either is no identity to match on.
    fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(_) => {
                tracing::warn!(
                    claim = name,
                    "the broker sent this claim as a number: not used"
                );
                None
            }
            _ => None,
        }
        .filter(|t| !t.trim().is_empty())
    }
}

type TokenFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// openidconnect's `CoreClient`, keeping the claims it would drop.
type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<TokenFields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the login service at {issuer} cannot be reached or answered wrongly: {detail}")]
    Discovery { issuer: String, detail: String },
    #[error("the login service's answer was not accepted: {0}")]
    Exchange(String),
    #[error("the login service's identity token was not valid: {0}")]
    IdToken(String),
    #[error("the login configuration is wrong: {0}")]
    Config(String),
}

/// A login under way: the browser goes to `url`; the rest waits for it.
pub struct Started {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Who the broker says logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// The stable claim's value, when the configuration names one and
    /// the broker sent it.
    pub stable_id: Option<String>,
    /// The CPR claim's number, with CPR match on.
    pub cpr: Option<Cpr>,
}

pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    /// The metadata last fetched; locked only to read or replace it.
    metadata: Mutex<Option<CoreProviderMetadata>>,
}

/// How long one call to the broker may take: a login waits no longer.
pub const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

/// The broker's HTTP calls, through the reqwest the rest of the ledger
/// uses (no redirects: the OpenID spec forbids following them here).
async fn send(http: reqwest::Client, request: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let answer = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut response = HttpResponse::new(Vec::new());
    *response.status_mut() = answer.status();
    *response.headers_mut() = answer.headers().clone();
    *response.body_mut() = answer.bytes().await?.to_vec();
    Ok(response)
}

impl Oidc {
    /// The broker's address, as the people it logs in are known by.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    pub fn new(config: OidcConfig) -> Result<Oidc, OidcError> {
        Oidc::with_timeout(config, BROKER_TIMEOUT)
    }

    /// [`Oidc::new`] with another time limit for each call to the broker.
    pub fn with_timeout(config: OidcConfig, timeout: Duration) -> Result<Oidc, OidcError> {
        RedirectUrl::new(config.redirect_url.clone())
            .map_err(|e| OidcError::Config(format!("redirect url {}: {e}", config.redirect_url)))?;
        IssuerUrl::new(config.issuer.clone())
            .map_err(|e| OidcError::Config(format!("issuer url {}: {e}", config.issuer)))?;
        // One crypto library in the build: ring, as sqlx and the kiosk use.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| OidcError::Config(e.to_string()))?;
        Ok(Oidc {
            config,
            http,
            metadata: Mutex::new(None),
        })
    }

    /// The broker's metadata and keys: kept, or fetched anew if `fresh`.
    /// Two logins may fetch at once; both answers are the broker's, and
    /// the later replaces the earlier.
    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, OidcError> {
        let kept = self.kept().clone();
        if let Some(metadata) = kept.filter(|_| !fresh) {
            return Ok(metadata);
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Config(e.to_string()))?;
        let http = |r| send(self.http.clone(), r);
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| OidcError::Discovery {
                issuer: self.config.issuer.clone(),
                detail: error_chain(&e),
            })?;
        *self.kept() = Some(metadata.clone());
        Ok(metadata)
    }

    /// The kept metadata, locked for a moment (never across an await).
    fn kept(&self) -> std::sync::MutexGuard<'_, Option<CoreProviderMetadata>> {
        self.metadata.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn client(&self, fresh: bool) -> Result<Client, OidcError> {
        let metadata = self.metadata(fresh).await?;
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| OidcError::Config(e.to_string()))?;
        Ok(Client::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// Where to send the browser, with a fresh state, nonce and PKCE pair.
    pub async fn start(&self) -> Result<Started, OidcError> {
        let client = self.client(false).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .add_scopes(self.config.cpr_scope.clone().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Trades the code the browser brought back for the verified identity.
    pub async fn finish(
        &self,
        code: String,
        nonce: String,
        pkce_verifier: String,
    ) -> Result<Identity, OidcError> {
        let client = self.client(false).await?;
        let http = |r| send(self.http.clone(), r);
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&http)
            .await
            .map_err(|e| OidcError::Exchange(error_chain(&e)))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| OidcError::IdToken("the answer had no identity token".into()))?;
        let nonce = Nonce::new(nonce);
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            Err(first) => {
                // Perhaps new keys: fetch them once and check again.
                tracing::info!(error = %first, "identity token not accepted; fetching the broker's keys again");
                let client = self.client(true).await?;
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| OidcError::IdToken(error_chain(&e)))?
                    .clone()
            }
        };
        Ok(Identity {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string()),
            email: claims.email().map(|e| e.to_string()),
            stable_id: self
                .config
                .stable_claim
                .as_deref()
                .and_then(|name| claims.additional_claims().text(name)),
            cpr: self
                .config
                .cpr_claim
                .as_deref()
                .and_then(|name| claims.additional_claims().text(name))
                .and_then(|number| Cpr::parse(&number)),
        })
    }
}

/// An error with its causes, so the log says what went wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_is_read_as_a_string_only() {
        let claims: OtherClaims = serde_json::from_value(serde_json::json!({
            "uuid": "7f1c", "cpr": 102031234, "empty": " ", "list": ["a"]
        }))
        .unwrap();
        assert_eq!(claims.text("uuid").as_deref(), Some("7f1c"));
        // A CPR number as a JSON number has lost its leading zero.
        assert_eq!(claims.text("cpr"), None);
        assert_eq!(claims.text("empty"), None);
        assert_eq!(claims.text("list"), None);
        assert_eq!(claims.text("missing"), None);
    }
}
