//! The fake's answers: Kite's success and error envelopes, and the error types and messages
//! shared by the routes.

use serde_json::{Value, json};
use std::time::Duration;

pub(super) const INPUT: &str = "InputException";
pub(super) const TOKEN: &str = "TokenException";
pub(super) const ORDER: &str = "OrderException";
pub(super) const NETWORK: &str = "NetworkException";
pub(super) const NO_ORDER: &str = "Couldn't find that `order_id`.";
/// The message of every 429, scripted or from the strict order windows.
pub const TOO_MANY_REQUESTS: &str = "Too many requests";

/// An answer: HTTP status, JSON body, and how long to hold it back.
pub(super) struct Reply {
    pub status: u16,
    pub body: Value,
    pub delay: Option<Duration>,
    /// A body that is not JSON (the instrument master): sent in place of `body`.
    pub raw: Option<RawBody>,
}

/// A non-JSON body, sent as it is.
pub(super) struct RawBody {
    pub content_type: &'static str,
    /// Adds `Content-Encoding: gzip`.
    pub gzip_header: bool,
    pub bytes: std::sync::Arc<Vec<u8>>,
}

/// A 200 with a non-JSON body.
pub(super) fn raw(body: RawBody) -> Reply {
    Reply {
        status: 200,
        body: Value::Null,
        delay: None,
        raw: Some(body),
    }
}

pub(super) fn success(data: Value) -> Reply {
    Reply {
        status: 200,
        body: json!({"status": "success", "data": data}),
        delay: None,
        raw: None,
    }
}

pub(super) fn error(status: u16, error_type: &str, message: impl Into<String>) -> Reply {
    Reply {
        status,
        body: json!({
            "status": "error",
            "message": message.into(),
            "data": null,
            "error_type": error_type,
        }),
        delay: None,
        raw: None,
    }
}

/// Kite's `error_type` for a server-side status.
pub(super) fn server_error(status: u16) -> Reply {
    let error_type = match status {
        502 => "DataException",
        503 | 504 => NETWORK,
        _ => "GeneralException",
    };
    error(status, error_type, "Fake Kite: scripted server error")
}

/// 429 NetworkException "Too many requests".
pub(super) fn too_many_requests() -> Reply {
    error(429, NETWORK, TOO_MANY_REQUESTS)
}
