//! Every failure of a request is a [`LedgerError`]; it answers with the
//! status it deserves and an [`ApiError`] body, and never leaks internals.
//! The one place where what the books say ([`DbError`]) becomes a status.

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::db::DbError;
use klubkasse_core::protocol::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// Missing, unknown or revoked token.
    #[error("a valid bearer token is needed")]
    Unauthorized,
    /// A known token past its `expires_at`: its holder needs a new one.
    #[error("this token has expired; ask the office for a new one")]
    TokenExpired,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request is well formed but the state of the books forbids it.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A value the ledger will not take (422).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The body or query could not be read at all, with the status axum chose.
    #[error("{message}")]
    Body { status: StatusCode, message: String },
    #[error("database: {0}")]
    Database(sqlx::Error),
}

impl From<DbError> for LedgerError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::NotFound(message) => LedgerError::NotFound(message),
            DbError::Conflict { code, message } => LedgerError::Conflict { code, message },
            DbError::Refused { code, message } => LedgerError::Invalid { code, message },
            DbError::Sqlx(error) => LedgerError::Database(error),
        }
    }
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

impl LedgerError {
    pub fn invalid(message: impl Into<String>) -> LedgerError {
        LedgerError::Invalid {
            code: "invalid_value",
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> LedgerError {
        LedgerError::Forbidden(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> LedgerError {
        LedgerError::NotFound(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            LedgerError::Unauthorized | LedgerError::TokenExpired => StatusCode::UNAUTHORIZED,
            LedgerError::Forbidden(_) => StatusCode::FORBIDDEN,
            LedgerError::NotFound(_) => StatusCode::NOT_FOUND,
            LedgerError::Conflict { .. } => StatusCode::CONFLICT,
            LedgerError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            LedgerError::Body { status, .. } => *status,
            LedgerError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            LedgerError::Unauthorized => "unauthorized",
            LedgerError::TokenExpired => "token_expired",
            LedgerError::Forbidden(_) => "forbidden",
            LedgerError::NotFound(_) => "not_found",
            LedgerError::Conflict { code, .. } | LedgerError::Invalid { code, .. } => code,
            LedgerError::Body { status, .. } if *status == StatusCode::PAYLOAD_TOO_LARGE => {
                "payload_too_large"
            }
            LedgerError::Body { .. } => "invalid_body",
            LedgerError::Database(_) => "internal",
        }
    }
}

impl IntoResponse for LedgerError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            LedgerError::Database(error) => {
                // The details are for the log, not for the caller.
                tracing::error!(%error, "database error");
                "the ledger could not complete this request; try again".to_string()
            }
            other => other.to_string(),
        };
        let body = ApiError {
            error: self.code().to_string(),
            message,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<JsonRejection> for LedgerError {
    fn from(rejection: JsonRejection) -> Self {
        LedgerError::Body {
            status: rejection.status(),
            message: rejection.body_text(),
        }
    }
}

impl From<PathRejection> for LedgerError {
    fn from(rejection: PathRejection) -> Self {
        // A path that does not parse (a malformed id) names nothing here.
        LedgerError::NotFound(rejection.body_text())
    }
}

impl From<QueryRejection> for LedgerError {
    fn from(rejection: QueryRejection) -> Self {
        LedgerError::Body {
            status: rejection.status(),
            message: rejection.body_text(),
        }
    }
}

/// `Json` whose rejections answer as [`ApiError`].
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(LedgerError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `Path` whose rejections answer as [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(LedgerError))]
pub struct ApiPath<T>(pub T);

/// `Query` whose rejections answer as [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(LedgerError))]
pub struct ApiQuery<T>(pub T);
