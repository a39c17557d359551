//! Control over HTTP, behind the bearer token: the kill switch
//! (`POST /api/v1/trading/{broker}/{halt|reduce|resume|flatten}`) and the strategy switch
//! (`POST /api/v1/strategies/{id}/{disable|enable}[?broker=]`).
//!
//! Kill switch checks, in order, each failure answering at once and changing nothing:
//! 1. the control endpoints are on (`api.control_token` set), else 503
//!    `control_token is not set`;
//! 2. the client's address is not locked out, else 429 with `Retry-After` (5 failed
//!    attempts within 60 s lock it out for 60 s, whatever the token; `api/lockout.rs`);
//! 3. `Authorization: Bearer <token>` matches, else 401 with `WWW-Authenticate: Bearer`;
//! 4. the action is `halt`, `reduce` or `resume`, else 404;
//! 5. the broker is known (else 400) and enabled (else 404);
//! 6. the risk manager runs in this process, else 503.
//!
//! Then the risk manager is sent [`SetTradingState`] and the answer is the state it
//! reports in force; its refusal, or no answer within 10 s, is a 503. `flatten` sends it
//! [`Flatten`] instead: REDUCING, and market orders closing every open position of the
//! broker; the answer is `{"broker", "state": "REDUCING", "orders": n}` (orders sent now;
//! those already in flight toward closing are not sent twice). Refused (503) while a
//! hold keeps the broker HALTED.
//!
//! Strategy switch checks, in the same spirit:
//! 1. to 3. as above (503, 429, 401);
//! 4. the action is `disable` or `enable`, else 404;
//! 5. the strategy is configured, else 404;
//! 6. `?broker=` (optional: absent means every broker the strategy runs on) is known
//!    (else 400) and enabled (else 404);
//! 7. the body is empty or `{"reason": "..."}` (at most 500 chars), else 400;
//! 8. the strategy runs: enabled in the configuration and on that broker, else 404;
//! 9. the strategy runner runs in this process, else 503.
//!
//! Then the runner is sent [`SetStrategyEnabled`]; the answer is
//! `{"id": ..., "by_broker": [...]}` with the live view of each switched (strategy, broker),
//! as `GET /api/v1/strategies` shows it. The runner not knowing the strategy is a 404, no
//! answer within 10 s a 503. Enabling also clears the failure count, so a strategy
//! disabled for failing gets [`MAX_FAILURES`] fresh chances.
//!
//! Invariants: authentication comes before anything that depends on the path, query or
//! body, so an unauthenticated caller learns nothing about brokers or strategies. The
//! token is compared in constant time: both sides are hashed with SHA-256 first and the
//! fixed-size digests compared with [`subtle::ConstantTimeEq`], so neither the content
//! nor the length of the expected token shows in the timing. The token is never logged;
//! every change is logged at warn; refusals of authentication are logged per address and
//! window (the first failure, the lockout with its count, the end of a lockout with the
//! number of 429s), never once per attempt, and counted in
//! `alpha_panda_api_control_refused_total{reason}`.
//!
//! [`MAX_FAILURES`]: crate::actors::strategy_runner::MAX_FAILURES

use std::time::Duration;

use actix_web::http::header::AUTHORIZATION;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::errors::ApiError;
use super::lockout::{Admission, Lockout, MAX_FAILURES, Note, WINDOW};
use super::routes::{BrokerQuery, broker_filter};
use super::strategies::BrokerEntry;
use super::{ApiState, StrategyInfo};
use crate::actors::risk_manager::{Flatten, SetTradingState};
use crate::actors::strategy_runner::SetStrategyEnabled;
use crate::messages::Broker;
use crate::risk::TradingState;
use crate::settings::Secret;
use crate::telemetry::metrics::{self, ControlRefusal};
use std::net::{IpAddr, Ipv4Addr};

/// Longest the risk manager may take to answer (it saves the state before answering).
const KILL_SWITCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest the strategy runner may take to answer a switch.
const STRATEGY_SWITCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest reason an operator may give, in chars (it goes to logs and the live view).
const MAX_REASON_CHARS: usize = 500;

/// Handles `POST /api/v1/trading/{broker}/{action}`.
pub(super) async fn set_trading_state(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ctx = &state.context;
    let (broker, action) = path.into_inner();
    authorize(&req, &ctx.control_token, &state.lockout)?;
    if action == "flatten" {
        let broker = ctx.enabled_broker(&broker)?;
        return flatten(&req, ctx, broker).await;
    }
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
    if in_force == target {
        return Ok(HttpResponse::Ok().json(json!({ "broker": broker, "state": in_force })));
    }
    // The kill switch saved what was asked, but an in-process hold (a refused Kite token,
    // a pending reconciliation) keeps the broker HALTED: say both, and why.
    Ok(HttpResponse::Ok().json(json!({
        "broker": broker,
        "state": in_force,
        "saved": target,
        "held": "an in-process hold keeps this broker HALTED: after a Kite token error until the process restarts, during the start-up reconciliation until it succeeds; the log says which",
    })))
}

/// `flatten`: REDUCING and every position closed (see the module docs).
async fn flatten(
    req: &HttpRequest,
    ctx: &super::ApiContext,
    broker: Broker,
) -> Result<HttpResponse, ApiError> {
    let Some(flatten) = &ctx.flatten else {
        return Err(ApiError::Unavailable(
            "the risk manager does not run in this process".to_owned(),
        ));
    };
    let report = match flatten
        .send(Flatten { broker })
        .timeout(KILL_SWITCH_TIMEOUT)
        .await
    {
        Ok(Ok(report)) => report,
        Ok(Err(refusal)) => {
            tracing::warn!(%broker, %refusal, "flatten refused");
            return Err(ApiError::Unavailable(refusal));
        }
        Err(error) => {
            tracing::warn!(%broker, %error, "flatten: the risk manager did not answer");
            return Err(ApiError::Unavailable(format!(
                "the risk manager did not answer: {error}"
            )));
        }
    };
    let peer = req.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    tracing::warn!(%broker, orders = report.orders, %peer, "flatten requested over the HTTP API");
    Ok(HttpResponse::Ok().json(json!({
        "broker": broker,
        "state": report.state,
        "orders": report.orders,
    })))
}

/// The body of a strategy switch: optional, and every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchBody {
    reason: Option<String>,
}

/// Handles `POST /api/v1/strategies/{id}/{action}` (see the module docs for the checks).
pub(super) async fn switch_strategy(
    req: HttpRequest,
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let ctx = &state.context;
    let (id, action) = path.into_inner();
    authorize(&req, &ctx.control_token, &state.lockout)?;
    let enabled = switch_action(&action)?;
    let config = ctx
        .strategies
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("unknown strategy {id:?}")))?;
    // Read here, not as an extractor, so a bad query is refused only after authentication.
    let query = web::Query::<BrokerQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::BadRequest(format!("bad query: {e}")))?;
    let broker = broker_filter(&state, &query.broker)?;
    let reason = switch_reason(&body, enabled)?;
    check_runs(config, broker)?;
    let Some(runner) = &ctx.strategy_runner else {
        return Err(ApiError::Unavailable(
            "the strategy runner does not run in this process".to_owned(),
        ));
    };
    let request = SetStrategyEnabled {
        strategy: id.clone(),
        broker,
        enabled,
        reason: reason.clone(),
    };
    let views = match runner
        .switch
        .send(request)
        .timeout(STRATEGY_SWITCH_TIMEOUT)
        .await
    {
        Ok(Ok(views)) => views,
        Ok(Err(refusal)) => return Err(ApiError::NotFound(refusal.to_string())),
        Err(error) => {
            tracing::warn!(strategy = %id, %action, %error, "strategy runner did not answer a switch");
            return Err(ApiError::Unavailable(format!(
                "the strategy runner did not answer: {error}"
            )));
        }
    };
    let peer = req.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    for view in &views {
        tracing::warn!(
            strategy = %view.strategy_id,
            broker = %view.broker,
            %action,
            enabled = view.enabled,
            %reason,
            %peer,
            "strategy switched over the HTTP API"
        );
    }
    let by_broker: Vec<BrokerEntry> = views
        .iter()
        .map(|v| BrokerEntry::live(v, &ctx.symbols))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "id": id, "by_broker": by_broker })))
}

/// Whether an action enables (`true`) or disables a strategy.
fn switch_action(action: &str) -> Result<bool, ApiError> {
    match action {
        "enable" => Ok(true),
        "disable" => Ok(false),
        other => Err(ApiError::NotFound(format!(
            "unknown action {other:?}; expected disable or enable"
        ))),
    }
}

/// The operator's reason from an empty or `{"reason": "..."}` body, else a default.
fn switch_reason(body: &[u8], enabled: bool) -> Result<String, ApiError> {
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        SwitchBody::default()
    } else {
        serde_json::from_slice::<SwitchBody>(body).map_err(|e| {
            ApiError::BadRequest(format!(
                "body must be empty or {{\"reason\": \"...\"}}: {e}"
            ))
        })?
    };
    let reason = parsed
        .reason
        .map(|r| r.trim().to_owned())
        .unwrap_or_default();
    if reason.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::BadRequest(format!(
            "reason is longer than {MAX_REASON_CHARS} chars"
        )));
    }
    Ok(match (reason.is_empty(), enabled) {
        (false, _) => reason,
        (true, true) => "enabled over the HTTP API".to_owned(),
        (true, false) => "disabled over the HTTP API".to_owned(),
    })
}

/// Passes if the configuration runs `config` (on `broker`, when given).
fn check_runs(config: &StrategyInfo, broker: Option<Broker>) -> Result<(), ApiError> {
    if !config.enabled {
        return Err(ApiError::NotFound(format!(
            "strategy {:?} is disabled in the configuration and does not run",
            config.id
        )));
    }
    match broker {
        Some(broker) if !config.brokers.contains(&broker) => Err(ApiError::NotFound(format!(
            "strategy {:?} does not trade on {broker}",
            config.id
        ))),
        _ => Ok(()),
    }
}

/// The state an action asks for.
fn target_state(action: &str) -> Result<TradingState, ApiError> {
    match action {
        "halt" => Ok(TradingState::Halted),
        "reduce" => Ok(TradingState::Reducing),
        "resume" => Ok(TradingState::Active),
        other => Err(ApiError::NotFound(format!(
            "unknown action {other:?}; expected halt, reduce, resume or flatten"
        ))),
    }
}

/// Passes if the request carries the control token as a bearer token and its address is
/// not locked out.
///
/// # Errors
/// [`ApiError::Unavailable`] if no token is configured (the endpoints are off);
/// [`ApiError::TooManyAttempts`] if the client's address is locked out (the token is not
/// compared); [`ApiError::Unauthorized`] if the header is missing, not `Bearer`, or the
/// token differs.
fn authorize(req: &HttpRequest, expected: &Secret, lockout: &Lockout) -> Result<(), ApiError> {
    if expected.is_empty() {
        return Err(ApiError::Unavailable("control_token is not set".to_owned()));
    }
    // No peer address (only in-process test requests): one shared bucket.
    let ip = req
        .peer_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let now = std::time::Instant::now();
    match lockout.admit(ip, now) {
        Admission::LockedOut { retry_after } => {
            metrics::control_refused(ControlRefusal::LockedOut);
            // Whole seconds, rounded up: retrying after `Retry-After` must not be early.
            let retry_after_secs =
                retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            return Err(ApiError::TooManyAttempts { retry_after_secs });
        }
        Admission::Allowed(note) => log_note(note, ip, req.path()),
    }
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    match presented {
        Some(token) if tokens_match(token, expected.expose()) => {
            lockout.succeeded(ip);
            Ok(())
        }
        _ => {
            metrics::control_refused(ControlRefusal::Unauthorized);
            log_note(lockout.failed(ip, now), ip, req.path());
            Err(ApiError::Unauthorized)
        }
    }
}

/// The few lines an address's failures are worth (see `api/lockout.rs`).
fn log_note(note: Option<Note>, ip: IpAddr, path: &str) {
    match note {
        None => {}
        Some(Note::FirstFailure) => tracing::warn!(
            %ip,
            path,
            "control request refused: missing or invalid bearer token (further failures from this address are counted, not logged; {MAX_FAILURES} within {WINDOW:?} lock it out)"
        ),
        Some(Note::LockedOut { failures }) => tracing::warn!(
            %ip,
            failures,
            locked_for = ?WINDOW,
            "control requests from this address locked out after repeated invalid bearer tokens (answered 429, even with the right token)"
        ),
        Some(Note::LockoutEnded { refused }) => tracing::info!(
            %ip,
            refused,
            "control lockout of this address ended; requests refused with 429 during it"
        ),
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
