//! The ledger's HTTP API as the counter uses it.

use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use klubkasse_core::domain::Entry;
use klubkasse_core::protocol::{ApiError, CardAction, Changes, PushBatch, PushResult};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Worth trying again: no connection, a timeout, a 5xx.
    #[error("the ledger cannot be reached: {0}")]
    Unreachable(String),
    /// The ledger said no (4xx). Trying the same again will not help;
    /// the office must look. Nothing is dropped meanwhile.
    #[error("the ledger refused it ({status}): {message}")]
    Refused {
        status: u16,
        error: String,
        message: String,
    },
    #[error("the ledger's answer made no sense: {0}")]
    BadAnswer(String),
    #[error("the ledger's certificate authority cannot be used: {0}")]
    BadCertificate(String),
    #[error("the ledger's address «{0}» is not an http(s) URL")]
    BadUrl(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl SyncError {
    pub fn is_refusal(&self) -> bool {
        matches!(self, SyncError::Refused { .. })
    }
}

#[derive(Clone)]
pub struct LedgerClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for LedgerClient {
    // Never the token: it must not reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl LedgerClient {
    /// `ca_pem`: trust only this certificate authority (a ledger with its
    /// own certificate); without it, the system's.
    pub fn new(
        base: &str,
        token: String,
        timeout: Duration,
        ca_pem: Option<&[u8]>,
    ) -> Result<LedgerClient, SyncError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(SyncError::BadUrl(base));
        }
        // One crypto library in the build: ring, as sqlx and rustls use.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout);
        if let Some(pem) = ca_pem {
            let ca = reqwest::Certificate::from_pem(pem)
                .map_err(|e| SyncError::BadCertificate(e.to_string()))?;
            builder = builder.tls_certs_only([ca]);
        }
        let http = builder
            .build()
            .map_err(|e| SyncError::BadCertificate(e.to_string()))?;
        Ok(LedgerClient { http, base, token })
    }

    /// Sends entries; the ledger records each once, however often sent.
    pub async fn push(&self, entries: &[Entry]) -> Result<PushResult, SyncError> {
        let batch = PushBatch {
            entries: entries.to_vec(),
        };
        let request = self
            .http
            .post(self.url("/api/v1/kiosk/entries"))
            .json(&batch);
        let (status, body) = self.exchange(request).await?;
        decode_push_answer(status, &body, entries.len())
    }

    pub async fn changes(&self, since: i64, limit: u32) -> Result<Changes, SyncError> {
        let request = self
            .http
            .get(self.url("/api/v1/kiosk/changes"))
            .query(&[("since", since.to_string()), ("limit", limit.to_string())]);
        self.send(request).await
    }

    pub async fn card_action(&self, action: &CardAction) -> Result<(), SyncError> {
        let request = self.http.post(self.url("/api/v1/kiosk/cards")).json(action);
        let _: serde_json::Value = self.send(request).await?;
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, SyncError> {
        let (status, body) = self.exchange(request).await?;
        decode_answer(status, &body)
    }

    /// The status and body of the ledger's answer, whatever they say.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Vec<u8>), SyncError> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| SyncError::Unreachable(without_url(e)))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| SyncError::Unreachable(without_url(e)))?;
        Ok((status, body.to_vec()))
    }
}

/// What an answer of the ledger means: `T` for a 2xx, a refusal for a 4xx
/// (with the ledger's [`ApiError`] where it sent one), worth a retry for a
/// 5xx or 429. Kept apart from the HTTP exchange so it can be fuzzed.
pub fn decode_answer<T: DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, SyncError> {
    let status = StatusCode::from_u16(status)
        .map_err(|_| SyncError::BadAnswer(format!("HTTP status {status}")))?;
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Err(SyncError::Unreachable(format!("HTTP {status}")));
    }
    if !status.is_success() {
        let error: ApiError = serde_json::from_slice(body).unwrap_or(ApiError {
            error: "unknown".into(),
            message: String::from_utf8_lossy(body).chars().take(200).collect(),
        });
        return Err(SyncError::Refused {
            status: status.as_u16(),
            error: error.error,
            message: error.message,
        });
    }
    serde_json::from_slice(body).map_err(|e| SyncError::BadAnswer(e.to_string()))
}

/// The answer to a push of `sent` entries: one result per entry.
pub fn decode_push_answer(status: u16, body: &[u8], sent: usize) -> Result<PushResult, SyncError> {
    let result: PushResult = decode_answer(status, body)?;
    if result.results.len() != sent {
        return Err(SyncError::BadAnswer(format!(
            "{} results for {sent} entries",
            result.results.len()
        )));
    }
    Ok(result)
}

/// reqwest's errors carry the URL; the reason is enough, and shorter.
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "no connection"
    } else {
        "the connection failed"
    };
    format!("{kind} ({})", e.without_url())
}
