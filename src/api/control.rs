//! The kill switch over HTTP: `POST /api/v1/trading/{broker}/{halt|reduce|resume}`.
//!
//! Checks, in order, each failure answering at once and changing nothing:
//! 1. the control endpoints are on (`api.control_token` set), else 503
//!    `control_token is not set`;
//! 2. `Authorization: Bearer <token>` matches, else 401 with `WWW-Authenticate: Bearer`;
//! 3. the action is `halt`, `reduce` or `resume`, else 404;
//! 4. the broker is known (else 400) and enabled (else 404);
//! 5. the risk manager runs in this process, else 503.
//!
//! Then the risk manager is sent [`SetTradingState`] and the answer is the state it
//! reports in force; its refusal, or no answer within 10 s, is a 503.
//!
//! Invariants: authentication comes before anything that depends on the path, so an
//! unauthenticated caller learns nothing about brokers. The token is compared in constant
//! time: both sides are hashed with SHA-256 first and the fixed-size digests compared with
//! [`subtle::ConstantTimeEq`], so neither the content nor the length of the expected token
//! shows in the timing. The token is never logged; every change and every refusal of
//! authentication is logged at warn.

use std::time::Duration;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ApiState;
use super::errors::ApiError;
use crate::actors::risk_manager::SetTradingState;
use crate::risk::TradingState;
use crate::settings::Secret;

/// Longest the risk manager may take to answer (it saves the state before answering).
const KILL_SWITCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Handles `POST /api/v1/trading/{broker}/{action}`.
pub(super) async fn set_trading_state(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ctx = &state.context;
    let (broker, action) = path.into_inner();
    authorize(&req, &ctx.control_token)?;
    let target = target_state(&action)?;
    let broker = ctx.enabled_broker(&broker)?;
    let Some(kill_switch) = &ctx.kill_switch else {
        return Err(ApiError::Unavailable(
            "the risk manager does not run in this process".to_owned(),
        ));
    };
    let answer = kill_switch
        .send(SetTradingState {
            broker,
            state: target,
        })
        .timeout(KILL_SWITCH_TIMEOUT)
        .await;
    let in_force = match answer {
        Ok(Ok(in_force)) => in_force,
        Ok(Err(refusal)) => {
            tracing::warn!(%broker, requested = %target, %refusal, "kill switch refused");
            return Err(ApiError::Unavailable(refusal));
        }
        Err(error) => {
            tracing::warn!(%broker, requested = %target, %error, "kill switch did not answer");
            return Err(ApiError::Unavailable(format!(
                "the risk manager did not answer: {error}"
            )));
        }
    };
    let peer = req.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    tracing::warn!(
        %broker,
        state = %in_force,
        %action,
        %peer,
        "trading state set over the HTTP API"
    );
    Ok(HttpResponse::Ok().json(json!({ "broker": broker, "state": in_force })))
}

/// The state an action asks for.
fn target_state(action: &str) -> Result<TradingState, ApiError> {
    match action {
        "halt" => Ok(TradingState::Halted),
        "reduce" => Ok(TradingState::Reducing),
        "resume" => Ok(TradingState::Active),
        other => Err(ApiError::NotFound(format!(
            "unknown action {other:?}; expected halt, reduce or resume"
        ))),
    }
}

/// Passes if the request carries the control token as a bearer token.
///
/// # Errors
/// [`ApiError::Unavailable`] if no token is configured (the endpoints are off);
/// [`ApiError::Unauthorized`] if the header is missing, not `Bearer`, or the token differs.
fn authorize(req: &HttpRequest, expected: &Secret) -> Result<(), ApiError> {
    if expected.is_empty() {
        return Err(ApiError::Unavailable("control_token is not set".to_owned()));
    }
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    match presented {
        Some(token) if tokens_match(token, expected.expose()) => Ok(()),
        _ => {
            let peer = req.peer_addr().map(|a| a.to_string()).unwrap_or_default();
            tracing::warn!(
                path = req.path(),
                %peer,
                "control request refused: missing or invalid bearer token"
            );
            Err(ApiError::Unauthorized)
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Constant-time equality of two tokens of any lengths: SHA-256 digests compared with
/// `ct_eq`, so the time taken depends on neither content nor length of `expected`.
fn tokens_match(presented: &str, expected: &str) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    presented.as_slice().ct_eq(expected.as_slice()).into()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn bearer_token_reads_the_scheme_case_insensitively() {
        let cases = [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("abc", None),
        ];
        for (header, expected) in cases {
            assert_eq!(bearer_token(header), expected, "{header:?}");
        }
    }

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(tokens_match("s3cret-token", "s3cret-token"));
        assert!(!tokens_match("s3cret-toke", "s3cret-token"));
        assert!(!tokens_match("s3cret-tokenX", "s3cret-token"));
        assert!(!tokens_match("", "s3cret-token"));
        assert!(!tokens_match("S3CRET-TOKEN", "s3cret-token"));
    }
}
