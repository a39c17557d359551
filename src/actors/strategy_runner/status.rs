//! What the runner shows (`/api/v1/strategies`) and the operator's switch per strategy.

use super::StrategyRunner;
use super::actor::{Disabled, Running};
use crate::messages::{Broker, Side};
use crate::strategy::PendingOrder;
use crate::telemetry::metrics;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// One instrument as the strategy believes it (from its fills and order outcomes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstrumentView {
    pub token: u32,
    pub position: i64,
    pub pending: Vec<PendingOrder>,
}

/// The last signal a strategy sent at a broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignalView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub token: u32,
    pub side: Side,
    pub quantity: u32,
    pub reason: String,
}

/// One strategy at one broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StrategyView {
    pub strategy_id: String,
    pub broker: Broker,
    pub enabled: bool,
    /// Why it does not run: `failing` (disabled after repeated failures) or `operator`.
    pub disabled_by: Option<&'static str>,
    /// The failure or the operator's words.
    pub disabled_reason: Option<String>,
    /// Consecutive failures so far.
    pub failures: u32,
    /// Instruments with a position or an order in flight, by token.
    pub instruments: Vec<InstrumentView>,
    pub last_signal: Option<SignalView>,
}

/// Every strategy at every broker, in configuration order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunnerStatus {
    pub strategies: Vec<StrategyView>,
}

impl RunnerStatus {
    /// The views of strategies that do not run.
    pub fn disabled(&self) -> impl Iterator<Item = &StrategyView> {
        self.strategies.iter().filter(|s| !s.enabled)
    }
}

#[derive(Debug, Message)]
#[rtype(result = "RunnerStatus")]
pub struct GetRunnerStatus;

/// Disables (with a reason) or re-enables a strategy, at one broker or all of them.
/// Answers the views it changed; an unknown strategy is an error.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<StrategyView>, SwitchError>")]
pub struct SetStrategyEnabled {
    pub strategy: String,
    pub broker: Option<Broker>,
    pub enabled: bool,
    pub reason: String,
}

/// Why a strategy could not be switched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwitchError {
    /// No slot of that strategy (at that broker) runs in this runner.
    #[error("strategy {strategy:?} does not run here{}", broker.map(|b| format!(" on {b}")).unwrap_or_default())]
    NotRunning {
        strategy: String,
        broker: Option<Broker>,
    },
}

impl Running {
    fn view(&self) -> StrategyView {
        let (disabled_by, disabled_reason) = match &self.disabled {
            None => (None, None),
            Some(Disabled::Failing(r)) => (Some("failing"), Some(r.clone())),
            Some(Disabled::Operator(r)) => (Some("operator"), Some(r.clone())),
        };
        let mut instruments: Vec<InstrumentView> = self
            .ledger
            .instruments()
            .map(|(token, book)| InstrumentView {
                token,
                position: book.position,
                pending: book.pending.clone(),
            })
            .collect();
        instruments.sort_by_key(|i| i.token);
        StrategyView {
            strategy_id: self.slot.id.clone(),
            broker: self.slot.broker,
            enabled: self.disabled.is_none(),
            disabled_by,
            disabled_reason,
            failures: self.failures,
            instruments,
            last_signal: self.last_signal.as_ref().map(|s| SignalView {
                id: s.envelope.id,
                at: s.envelope.ts,
                token: s.envelope.data.token,
                side: s.envelope.data.side,
                quantity: s.envelope.data.quantity,
                reason: s.envelope.data.reason.clone(),
            }),
        }
    }
}

impl StrategyRunner {
    fn status(&self) -> RunnerStatus {
        RunnerStatus {
            strategies: self.running.iter().map(Running::view).collect(),
        }
    }
}

impl Handler<GetRunnerStatus> for StrategyRunner {
    type Result = MessageResult<GetRunnerStatus>;
    fn handle(&mut self, _: GetRunnerStatus, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.status())
    }
}

impl Handler<SetStrategyEnabled> for StrategyRunner {
    type Result = Result<Vec<StrategyView>, SwitchError>;

    fn handle(&mut self, m: SetStrategyEnabled, _ctx: &mut Self::Context) -> Self::Result {
        let mut changed = Vec::new();
        for run in self
            .running
            .iter_mut()
            .filter(|r| r.slot.id == m.strategy && m.broker.is_none_or(|b| b == r.slot.broker))
        {
            let was_disabled = run.disabled.is_some();
            if m.enabled {
                run.disabled = None;
                run.failures = 0;
            } else {
                run.disabled = Some(Disabled::Operator(m.reason.clone()));
            }
            match (was_disabled, m.enabled) {
                (true, true) => metrics::strategy_disabled_changed(-1),
                (false, false) => {
                    metrics::strategy_disabled_changed(1);
                    crate::alerts::raise(
                        crate::alerts::Alert::new(
                            crate::alerts::AlertKind::StrategyDisabled,
                            run.slot.id.as_str(),
                            format!(
                                "strategy {} disabled by an operator: {}",
                                run.slot.id, m.reason
                            ),
                        )
                        .on(run.slot.broker),
                    );
                }
                _ => {}
            }
            tracing::warn!(strategy = %run.slot.id, broker = %run.slot.broker, enabled = m.enabled, reason = %m.reason, "strategy switched by an operator");
            changed.push(run.view());
        }
        if changed.is_empty() {
            return Err(SwitchError::NotRunning {
                strategy: m.strategy,
                broker: m.broker,
            });
        }
        Ok(changed)
    }
}
