//! [`ApiError`]: every way a request can fail, as a status and a JSON body
//! `{"error": "..."}`.
//!
//! Classified by what the client must do: fix the request (400), authenticate (401), stop
//! asking for something that is not here (404, 405), slow down (429, after repeated
//! authentication failures), or try later / elsewhere (503). A 500 is the server's own
//! fault and is the only one logged at error: a client's mistake is not the operator's
//! problem and logs nothing here. Extractor failures (a malformed query string or path)
//! and unknown routes are answered in the same JSON shape, never actix's plain-text
//! defaults.

use actix_web::http::StatusCode;
use actix_web::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::json;
use thiserror::Error;

/// Why a request failed; the message is the `error` of the JSON body.
#[derive(Debug, Error)]
pub(crate) enum ApiError {
    /// Bad input: a parameter that is not valid (400).
    #[error("{0}")]
    BadRequest(String),
    /// No or a wrong bearer token on a control endpoint (401, `WWW-Authenticate: Bearer`).
    #[error("missing or invalid bearer token")]
    Unauthorized,
    /// No such route, broker, portfolio, strategy or action (404).
    #[error("{0}")]
    NotFound(String),
    /// Too many failed control attempts from this address: locked out for
    /// `retry_after_secs` more (429, `Retry-After`).
    #[error(
        "too many failed control attempts from this address; locked out for {retry_after_secs} s more"
    )]
    TooManyAttempts { retry_after_secs: u64 },
    /// The route exists, not with this method (405).
    #[error("method {0} is not allowed here")]
    MethodNotAllowed(String),
    /// Not available in this process or right now: store down, control endpoints off,
    /// risk manager or strategy runner elsewhere or not answering (503).
    #[error("{0}")]
    Unavailable(String),
    /// The server's own fault, e.g. an unreadable stored value (500).
    #[error("{0}")]
    Internal(String),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(message) = self {
            tracing::error!(error = %message, "HTTP API request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized => {
                response.insert_header((WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::TooManyAttempts { retry_after_secs } => {
                response.insert_header((RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        response.json(json!({ "error": self.to_string() }))
    }
}

/// The default service: any path no route matches.
pub(super) async fn no_route(req: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!("no route for {} {}", req.method(), req.path())).error_response()
}

/// The default service of a known route: a method it does not serve.
pub(super) async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    ApiError::MethodNotAllowed(req.method().to_string()).error_response()
}

/// A query string that does not deserialise is a 400 in the JSON shape.
pub(super) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|error, _req| ApiError::BadRequest(format!("bad query: {error}")).into())
}

/// A path segment that does not decode is a 400 in the JSON shape.
pub(super) fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|error, _req| ApiError::BadRequest(format!("bad path: {error}")).into())
}
