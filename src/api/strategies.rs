//! The strategies over HTTP: `GET /api/v1/strategies` (the configuration, joined with the
//! strategy runner's live view when the runner runs in this process) and the `strategies`
//! check of `GET /health/ready`.
//!
//! The answer is one entry per configured strategy, in id order:
//!
//! ```json
//! [{
//!   "id": "ema_cross_1", "kind": "ema_cross", "enabled": true,
//!   "brokers": ["paper"], "instruments": ["RELIANCE"],
//!   "by_broker": [{
//!     "broker": "paper",
//!     "live": {
//!       "enabled": false, "disabled_by": "failing", "disabled_reason": "panic: ...",
//!       "consecutive_failures": 3,
//!       "instruments": [{ "token": 738561, "symbol": "RELIANCE", "position": 10,
//!                         "pending": [{ "client_order_id": "...", "side": "BUY", ... }] }],
//!       "last_signal": { "id": "...", "at": "...", "token": 738561, "symbol": "RELIANCE",
//!                        "side": "BUY", "quantity": 10, "reason": "..." }
//!     },
//!     "note": null
//!   }]
//! }]
//! ```
//!
//! The top-level fields are the configuration (`enabled`: in the configuration). `by_broker`
//! has one entry per configured broker; `live` is what the runner believes (positions from
//! fills, orders in flight, last signal, whether it runs and why not: `disabled_by` is
//! `failing` or `operator`). `live` is `null` with a `note` saying why when the strategy is
//! disabled in the configuration, its broker is not enabled, the runner runs in another
//! process, or the runner did not answer within [`STATUS_TIMEOUT`]: the configuration is
//! served all the same, never an error. `symbol` is `null` for a token the API cannot
//! resolve (not among the configured instruments).
//!
//! Readiness: a strategy disabled (after failures or by an operator) does not make the
//! process not-ready. The other strategies keep trading, and a restart that re-enabled a
//! broken strategy would only make it fail again; the check stays `ready` and its detail
//! names each disabled strategy and why, e.g. `1 of 2 running; disabled:
//! ema_cross_1@paper (panic: ...)`. A runner that does not answer within 1 s is said in the
//! detail, still ready: the supervision tree's own check (`actors`) reports a runner that
//! is down. The check is there only when the runner runs here.

use std::collections::HashMap;
use std::time::Duration;

use actix::{Addr, MailboxError, Recipient};
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{ApiContext, ApiState, ReadinessCheck, StrategyInfo};
use crate::actors::strategy_runner::{
    GetRunnerStatus, InstrumentView, RunnerStatus, SetStrategyEnabled, StrategyRunner, StrategyView,
};
use crate::messages::{Broker, Side};
use crate::strategy::PendingOrder;

/// Longest `GET /api/v1/strategies` waits for the runner (its mailbox waits while it
/// rebuilds its ledgers at start).
pub(super) const STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest the readiness check waits for the runner.
const READINESS_STATUS_TIMEOUT: Duration = Duration::from_secs(1);

/// Longest a failure or an operator's reason shown in the readiness detail, in chars.
const READINESS_REASON_CHARS: usize = 120;

/// The note of a live view when the runner runs in another process.
const NOT_HERE: &str = "the strategy runner does not run in this process";

/// The strategy runner of this process, as the API talks to it.
#[derive(Clone)]
pub struct RunnerLink {
    /// Answers every strategy's live view.
    pub status: Recipient<GetRunnerStatus>,
    /// Disables and enables strategies.
    pub switch: Recipient<SetStrategyEnabled>,
}

impl RunnerLink {
    /// The link to `runner`.
    pub fn of(runner: &Addr<StrategyRunner>) -> RunnerLink {
        RunnerLink {
            status: runner.clone().recipient(),
            switch: runner.clone().recipient(),
        }
    }
}

/// One configured strategy with its per-broker live views.
#[derive(Debug, Serialize)]
struct StrategyEntry<'a> {
    #[serde(flatten)]
    config: &'a StrategyInfo,
    by_broker: Vec<BrokerEntry>,
}

/// One strategy at one broker: the live view, or why there is none.
#[derive(Debug, Serialize)]
pub(super) struct BrokerEntry {
    broker: Broker,
    live: Option<LiveView>,
    note: Option<String>,
}

impl BrokerEntry {
    fn without(broker: Broker, note: impl Into<String>) -> BrokerEntry {
        BrokerEntry {
            broker,
            live: None,
            note: Some(note.into()),
        }
    }

    /// The live view the runner gave, with symbols resolved.
    pub(super) fn live(view: &StrategyView, symbols: &HashMap<u32, String>) -> BrokerEntry {
        BrokerEntry {
            broker: view.broker,
            live: Some(LiveView::new(view, symbols)),
            note: None,
        }
    }
}

/// What the runner believes of one strategy at one broker.
#[derive(Debug, Serialize)]
struct LiveView {
    enabled: bool,
    disabled_by: Option<&'static str>,
    disabled_reason: Option<String>,
    consecutive_failures: u32,
    instruments: Vec<InstrumentLive>,
    last_signal: Option<SignalLive>,
}

#[derive(Debug, Serialize)]
struct InstrumentLive {
    token: u32,
    symbol: Option<String>,
    position: i64,
    pending: Vec<PendingOrder>,
}

#[derive(Debug, Serialize)]
struct SignalLive {
    id: Uuid,
    at: DateTime<Utc>,
    token: u32,
    symbol: Option<String>,
    side: Side,
    quantity: u32,
    reason: String,
}

impl LiveView {
    fn new(view: &StrategyView, symbols: &HashMap<u32, String>) -> LiveView {
        let symbol = |token: u32| symbols.get(&token).cloned();
        let instrument = |i: &InstrumentView| InstrumentLive {
            token: i.token,
            symbol: symbol(i.token),
            position: i.position,
            pending: i.pending.clone(),
        };
        LiveView {
            enabled: view.enabled,
            disabled_by: view.disabled_by,
            disabled_reason: view.disabled_reason.clone(),
            consecutive_failures: view.failures,
            instruments: view.instruments.iter().map(instrument).collect(),
            last_signal: view.last_signal.as_ref().map(|s| SignalLive {
                id: s.id,
                at: s.at,
                token: s.token,
                symbol: symbol(s.token),
                side: s.side,
                quantity: s.quantity,
                reason: s.reason.clone(),
            }),
        }
    }
}

/// Handles `GET /api/v1/strategies`.
pub(super) async fn list(state: web::Data<ApiState>) -> HttpResponse {
    let ctx = &state.context;
    let status = match &ctx.strategy_runner {
        Some(runner) => status(runner, STATUS_TIMEOUT).await,
        None => Err(NOT_HERE.to_owned()),
    };
    HttpResponse::Ok().json(entries(ctx, status.as_ref().map_err(String::as_str)))
}

/// The runner's status, or why it is not there (a note for the answer).
async fn status(runner: &RunnerLink, timeout: Duration) -> Result<RunnerStatus, String> {
    runner
        .status
        .send(GetRunnerStatus)
        .timeout(timeout)
        .await
        .map_err(|e| match e {
            MailboxError::Timeout => {
                format!("the strategy runner did not answer within {timeout:?}")
            }
            MailboxError::Closed => "the strategy runner has stopped".to_owned(),
        })
}

/// The configuration joined with `status` (or, for every live view, the reason it is
/// missing).
fn entries<'a>(ctx: &'a ApiContext, status: Result<&RunnerStatus, &str>) -> Vec<StrategyEntry<'a>> {
    ctx.strategies
        .iter()
        .map(|config| StrategyEntry {
            config,
            by_broker: config
                .brokers
                .iter()
                .map(|&broker| broker_entry(ctx, config, broker, status))
                .collect(),
        })
        .collect()
}

/// The live view of `config` at `broker`, or why there is none: not run by the
/// configuration first, then the runner's absence, then the runner not knowing it.
fn broker_entry(
    ctx: &ApiContext,
    config: &StrategyInfo,
    broker: Broker,
    status: Result<&RunnerStatus, &str>,
) -> BrokerEntry {
    if !config.enabled {
        return BrokerEntry::without(broker, "disabled in the configuration");
    }
    if !ctx.brokers.contains(&broker) {
        return BrokerEntry::without(broker, format!("broker {broker} is not enabled"));
    }
    let status = match status {
        Ok(status) => status,
        Err(note) => return BrokerEntry::without(broker, note),
    };
    let view = status
        .strategies
        .iter()
        .find(|v| v.strategy_id == config.id && v.broker == broker);
    match view {
        Some(view) => BrokerEntry::live(view, &ctx.symbols),
        None => BrokerEntry::without(broker, "the strategy runner here does not run it"),
    }
}

/// The `strategies` readiness check, when the runner runs here: its detail names the
/// disabled strategies; not ready while one is disabled for failing (a fault the
/// operator must see: that strategy no longer trades), ready when every disabled one was
/// disabled by an operator (a decision, not a fault) or the runner is slow to answer.
pub(super) async fn readiness(runner: Option<&RunnerLink>) -> Option<ReadinessCheck> {
    let runner = runner?;
    let check = match status(runner, READINESS_STATUS_TIMEOUT).await {
        Ok(status) => {
            let detail = readiness_detail(&status);
            if status.disabled().any(|s| s.disabled_by == Some("failing")) {
                ReadinessCheck::not_ready("strategies", detail)
            } else {
                ReadinessCheck::ready("strategies", detail)
            }
        }
        Err(note) => ReadinessCheck::ready("strategies", note),
    };
    Some(check)
}

/// `N running`, or `R of N running; disabled: id@broker (why); ...`.
fn readiness_detail(status: &RunnerStatus) -> String {
    let total = status.strategies.len();
    let disabled: Vec<String> = status
        .disabled()
        .map(|s| {
            let reason = s.disabled_reason.as_deref().unwrap_or_default();
            let reason = shortened(reason, READINESS_REASON_CHARS);
            match s.disabled_by {
                // A failure already reads `panic: ...` or `error: ...`.
                Some("failing") => format!("{}@{} ({reason})", s.strategy_id, s.broker),
                _ => format!("{}@{} (operator: {reason})", s.strategy_id, s.broker),
            }
        })
        .collect();
    if disabled.is_empty() {
        return format!("{total} running");
    }
    format!(
        "{} of {total} running; disabled: {}",
        total - disabled.len(),
        disabled.join("; ")
    )
}

/// `text` cut to at most `max` chars, with `...` when cut.
fn shortened(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn view(id: &str, disabled: Option<(&'static str, &str)>) -> StrategyView {
        StrategyView {
            strategy_id: id.to_owned(),
            broker: Broker::Paper,
            enabled: disabled.is_none(),
            disabled_by: disabled.map(|d| d.0),
            disabled_reason: disabled.map(|d| d.1.to_owned()),
            failures: 0,
            instruments: Vec::new(),
            last_signal: None,
        }
    }

    #[test]
    fn readiness_detail_names_each_disabled_strategy_and_why() {
        let long = "x".repeat(200);
        let cases = [
            (
                vec![view("a", None), view("b", None)],
                "2 running".to_owned(),
            ),
            (
                vec![view("a", Some(("failing", "panic: boom"))), view("b", None)],
                "1 of 2 running; disabled: a@paper (panic: boom)".to_owned(),
            ),
            (
                vec![
                    view("a", Some(("failing", "error: bad"))),
                    view("b", Some(("operator", "maintenance"))),
                ],
                "0 of 2 running; disabled: a@paper (error: bad); b@paper (operator: maintenance)"
                    .to_owned(),
            ),
            (
                vec![view("a", Some(("failing", &long)))],
                format!("0 of 1 running; disabled: a@paper ({}...)", "x".repeat(120)),
            ),
        ];
        for (strategies, expected) in cases {
            let status = RunnerStatus { strategies };
            assert_eq!(readiness_detail(&status), expected);
        }
    }

    #[test]
    fn shortened_cuts_at_a_char_boundary() {
        assert_eq!(shortened("abc", 3), "abc");
        assert_eq!(shortened("abcd", 3), "abc...");
        assert_eq!(shortened("ééé", 2), "éé...");
    }
}
