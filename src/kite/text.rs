//! The ticker's JSON text frames: what the client asks (subscribe, unsubscribe, mode) and
//! what the server says besides market data (order updates, errors, messages).

use crate::messages::TickMode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// Kite's name for a mode.
pub fn mode_name(mode: TickMode) -> &'static str {
    match mode {
        TickMode::Ltp => "ltp",
        TickMode::Quote => "quote",
        TickMode::Full => "full",
    }
}

fn parse_mode(name: &str) -> Option<TickMode> {
    match name {
        "ltp" => Some(TickMode::Ltp),
        "quote" => Some(TickMode::Quote),
        "full" => Some(TickMode::Full),
        _ => None,
    }
}

/// A client → server request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Subscribe(Vec<u32>),
    Unsubscribe(Vec<u32>),
    Mode(TickMode, Vec<u32>),
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("not a JSON request: {0}")]
    Json(String),
    #[error("unknown action `{0}` (expected subscribe, unsubscribe or mode)")]
    Action(String),
    #[error("malformed `{action}` value: {reason}")]
    Value { action: String, reason: String },
}

#[derive(Serialize, Deserialize)]
struct Wire {
    a: String,
    v: Value,
}

impl Request {
    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        let wire = match self {
            Request::Subscribe(tokens) => Wire {
                a: "subscribe".into(),
                v: Value::from(tokens.clone()),
            },
            Request::Unsubscribe(tokens) => Wire {
                a: "unsubscribe".into(),
                v: Value::from(tokens.clone()),
            },
            Request::Mode(mode, tokens) => Wire {
                a: "mode".into(),
                v: Value::Array(vec![
                    Value::from(mode_name(*mode)),
                    Value::from(tokens.clone()),
                ]),
            },
        };
        // Cannot fail: a string and a JSON value.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parses a client request (the simulator's side).
    ///
    /// # Errors
    /// Not JSON, an unknown action, or a value of the wrong shape.
    pub fn parse(text: &str) -> Result<Request, RequestError> {
        let wire: Wire =
            serde_json::from_str(text).map_err(|e| RequestError::Json(e.to_string()))?;
        let bad = |reason: &str| RequestError::Value {
            action: wire.a.clone(),
            reason: reason.to_owned(),
        };
        let tokens = |v: &Value| -> Option<Vec<u32>> {
            v.as_array()?
                .iter()
                .map(|t| t.as_u64().and_then(|t| u32::try_from(t).ok()))
                .collect()
        };
        match wire.a.as_str() {
            "subscribe" => Ok(Request::Subscribe(
                tokens(&wire.v).ok_or_else(|| bad("expected an array of tokens"))?,
            )),
            "unsubscribe" => Ok(Request::Unsubscribe(
                tokens(&wire.v).ok_or_else(|| bad("expected an array of tokens"))?,
            )),
            "mode" => {
                let parts = wire
                    .v
                    .as_array()
                    .filter(|p| p.len() == 2)
                    .ok_or_else(|| bad("expected [mode, [tokens]]"))?;
                let mode = parts[0]
                    .as_str()
                    .and_then(parse_mode)
                    .ok_or_else(|| bad("mode must be ltp, quote or full"))?;
                let list = tokens(&parts[1]).ok_or_else(|| bad("expected an array of tokens"))?;
                Ok(Request::Mode(mode, list))
            }
            other => Err(RequestError::Action(other.to_owned())),
        }
    }
}

/// An order update pushed on the ticker (`{"type": "order", "data": {...}}`). Kept as the
/// raw object: the execution side reads the fields it needs (prices exactly, from the text).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderUpdate {
    pub data: Map<String, Value>,
}

impl OrderUpdate {
    fn text(&self, field: &str) -> Option<&str> {
        self.data.get(field).and_then(Value::as_str)
    }
    pub fn order_id(&self) -> Option<&str> {
        self.text("order_id")
    }
    pub fn status(&self) -> Option<&str> {
        self.text("status")
    }
    /// Our client order id, when the order was placed by this engine.
    pub fn tag(&self) -> Option<&str> {
        self.text("tag")
    }
}

/// A server → client text frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerText {
    Order(OrderUpdate),
    Error(String),
    Message(Value),
}

impl ServerText {
    /// Parses a server text frame.
    ///
    /// # Errors
    /// Not JSON, no `type`, or an `order` without an object `data`.
    pub fn parse(text: &str) -> Result<ServerText, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .ok_or("no `type` field")?;
        match kind {
            "order" => value
                .get("data")
                .and_then(Value::as_object)
                .map(|data| ServerText::Order(OrderUpdate { data: data.clone() }))
                .ok_or_else(|| "order update without an object `data`".to_owned()),
            "error" => Ok(ServerText::Error(
                value
                    .get("data")
                    .map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_owned))
                    .unwrap_or_default(),
            )),
            _ => Ok(ServerText::Message(value)),
        }
    }

    /// The JSON of an error frame (the simulator's side).
    pub fn error_json(message: &str) -> String {
        serde_json::json!({"type": "error", "data": message}).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_in_kites_wire_format() {
        let cases = [
            (
                Request::Subscribe(vec![738561, 256265]),
                r#"{"a":"subscribe","v":[738561,256265]}"#,
            ),
            (
                Request::Unsubscribe(vec![1]),
                r#"{"a":"unsubscribe","v":[1]}"#,
            ),
            (
                Request::Mode(TickMode::Full, vec![738561]),
                r#"{"a":"mode","v":["full",[738561]]}"#,
            ),
        ];
        for (request, json) in cases {
            assert_eq!(request.to_json(), json);
            assert_eq!(Request::parse(json), Ok(request));
        }
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        let cases = [
            ("nope", "not a JSON request"),
            (r#"{"a":"dance","v":[]}"#, "unknown action `dance`"),
            (
                r#"{"a":"subscribe","v":["x"]}"#,
                "expected an array of tokens",
            ),
            (
                r#"{"a":"mode","v":["deep",[1]]}"#,
                "mode must be ltp, quote or full",
            ),
            (r#"{"a":"mode","v":["full"]}"#, "expected [mode, [tokens]]"),
        ];
        for (text, expected) in cases {
            let err = Request::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn server_text_frames_are_classified() {
        let order = r#"{"type":"order","data":{"order_id":"1","status":"COMPLETE","tag":"ap1"}}"#;
        let ServerText::Order(update) = ServerText::parse(order).unwrap() else {
            panic!("not an order");
        };
        assert_eq!(
            (update.order_id(), update.status(), update.tag()),
            (Some("1"), Some("COMPLETE"), Some("ap1"))
        );
        assert_eq!(
            ServerText::parse(r#"{"type":"error","data":"bad token"}"#),
            Ok(ServerText::Error("bad token".into()))
        );
        assert!(matches!(
            ServerText::parse(r#"{"type":"message","data":1}"#),
            Ok(ServerText::Message(_))
        ));
        assert!(ServerText::parse("{}").is_err());
        assert!(ServerText::parse(r#"{"type":"order","data":[]}"#).is_err());
    }
}
