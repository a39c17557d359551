//! Kite's error answers, typed by what the caller must do.
//!
//! Kite's envelope says `error_type` (`InputException`, `TokenException`, ...); the HTTP
//! status says whether the request was definitively refused. Both are kept: execution
//! decides by [`KiteError::rejects_order`] (a 4xx other than 429 means "not placed, never
//! will be") and [`KiteError::outcome_unknown`] (no answer, or a 5xx: the order may or
//! may not exist at Kite until `GET /orders` says). Messages are Kite's own words or the
//! transport's; neither ever carries the access token (it travels only in a header).

use thiserror::Error;

/// A failed Kite request.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KiteError {
    /// 400 `InputException`: a missing or invalid parameter.
    #[error("Kite refused the input (HTTP {status}): {message}")]
    Input { status: u16, message: String },
    /// 403 `TokenException`: the access token is wrong or expired (log in again).
    #[error("Kite refused the access token (HTTP {status}): {message}")]
    Token { status: u16, message: String },
    /// 403 `PermissionException`: the account may not do this.
    #[error("Kite denied permission (HTTP {status}): {message}")]
    Permission { status: u16, message: String },
    /// `OrderException`: the order was refused (4xx) or failed at the OMS (5xx).
    #[error("Kite order error (HTTP {status}): {message}")]
    Order { status: u16, message: String },
    /// 429: too many requests; nothing happened.
    #[error("Kite rate limit (HTTP 429): {message}")]
    RateLimited { message: String },
    /// No usable answer: connection failure or timeout (`status` None), or a 502/503
    /// `DataException`/`NetworkException` from Kite.
    #[error("Kite network error{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Network {
        status: Option<u16>,
        message: String,
    },
    /// Anything else: an unexpected status or error type, or an answer that does not
    /// parse.
    #[error("unexpected Kite answer{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Unknown {
        status: Option<u16>,
        message: String,
    },
}

impl KiteError {
    /// Maps an error envelope (or a bare status) to its kind.
    pub fn from_answer(status: u16, error_type: Option<&str>, message: String) -> KiteError {
        match (status, error_type) {
            (429, _) => KiteError::RateLimited { message },
            (_, Some("PermissionException")) => KiteError::Permission { status, message },
            // Every other 403 (TokenException, TwoFAException, UserException, ...) means the
            // session is not usable: treat it as a token error, which halts trading.
            (403, _) | (_, Some("TokenException")) => KiteError::Token { status, message },
            (_, Some("InputException")) => KiteError::Input { status, message },
            (_, Some("OrderException")) => KiteError::Order { status, message },
            (_, Some("NetworkException" | "DataException")) | (502..=504, _) => {
                KiteError::Network {
                    status: Some(status),
                    message,
                }
            }
            (400, None) => KiteError::Input { status, message },
            _ => KiteError::Unknown {
                status: Some(status),
                message,
            },
        }
    }

    /// The HTTP status Kite answered with; `None` when there was no answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            KiteError::Input { status, .. }
            | KiteError::Token { status, .. }
            | KiteError::Permission { status, .. }
            | KiteError::Order { status, .. } => Some(*status),
            KiteError::RateLimited { .. } => Some(429),
            KiteError::Network { status, .. } | KiteError::Unknown { status, .. } => *status,
        }
    }

    /// Kite's (or the transport's) own words.
    pub fn message(&self) -> &str {
        match self {
            KiteError::Input { message, .. }
            | KiteError::Token { message, .. }
            | KiteError::Permission { message, .. }
            | KiteError::Order { message, .. }
            | KiteError::RateLimited { message }
            | KiteError::Network { message, .. }
            | KiteError::Unknown { message, .. } => message,
        }
    }

    /// A definitive refusal: a 4xx other than 429. The request had no effect and
    /// repeating it will not change that.
    pub fn rejects_order(&self) -> bool {
        matches!(self.status(), Some(s) if (400..500).contains(&s) && s != 429)
    }

    /// No answer, or a 5xx: a placement may or may not have happened.
    pub fn outcome_unknown(&self) -> bool {
        self.status().is_none_or(|s| s >= 500)
    }

    /// The access token is no longer accepted: trading must stop until a new login.
    pub fn is_token_error(&self) -> bool {
        matches!(self, KiteError::Token { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_answers_by_status_and_error_type() {
        let cases = [
            (400, Some("InputException"), "input", true, false),
            (400, Some("OrderException"), "order", true, false),
            (403, Some("TokenException"), "token", true, false),
            (403, Some("PermissionException"), "permission", true, false),
            (403, Some("TwoFAException"), "token", true, false),
            (403, Some("GeneralException"), "token", true, false),
            (429, Some("NetworkException"), "rate", false, false),
            (500, Some("OrderException"), "order", false, true),
            (502, Some("DataException"), "network", false, true),
            (503, None, "network", false, true),
            (418, None, "unknown", true, false),
        ];
        for (status, kind, name, rejects, unknown) in cases {
            let e = KiteError::from_answer(status, kind, "m".into());
            let shown = format!("{e:?}").to_lowercase();
            assert!(shown.starts_with(name), "{status} {kind:?}: {shown}");
            assert_eq!(e.rejects_order(), rejects, "{status} {kind:?}");
            assert_eq!(e.outcome_unknown(), unknown, "{status} {kind:?}");
        }
        let timeout = KiteError::Network {
            status: None,
            message: "no answer within 5000 ms".into(),
        };
        assert!(timeout.outcome_unknown() && !timeout.rejects_order());
        assert_eq!(
            timeout.to_string(),
            "Kite network error: no answer within 5000 ms"
        );
        assert!(KiteError::from_answer(403, Some("TokenException"), "x".into()).is_token_error());
    }
}
