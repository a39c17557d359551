//! The actor shell around the configured strategies.

use super::{MAX_FAILURES, SERVICE};
use crate::actors::supervisor::handling;
use crate::messages::{Broker, MarketTick, TradingSignal};
use crate::strategy::{SignalIntent, Strategy};
use crate::streaming::consumer::{Completion, Deliver, HandlerResult};
use crate::streaming::{ProducerHandle, Stream, Topic};
use crate::telemetry::metrics;
use actix::prelude::*;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// One configured strategy instance and where its signals go.
pub struct StrategySlot {
    pub id: String,
    pub brokers: Vec<Broker>,
    pub tokens: Vec<u32>,
    pub strategy: Box<dyn Strategy>,
}

struct Running {
    slot: StrategySlot,
    failures: u32,
    disabled: Option<String>,
}

pub struct StrategyRunner {
    running: Vec<Running>,
    by_token: HashMap<u32, Vec<usize>>,
    producer: ProducerHandle,
}

crate::supervised!(StrategyRunner);

impl StrategyRunner {
    pub fn new(slots: Vec<StrategySlot>, producer: ProducerHandle) -> Self {
        let mut by_token: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, slot) in slots.iter().enumerate() {
            for token in &slot.tokens {
                by_token.entry(*token).or_default().push(i);
            }
        }
        StrategyRunner {
            running: slots
                .into_iter()
                .map(|slot| Running {
                    slot,
                    failures: 0,
                    disabled: None,
                })
                .collect(),
            by_token,
            producer,
        }
    }
}

impl Actor for StrategyRunner {
    type Context = Context<Self>;
}

impl Handler<Deliver<MarketTick>> for StrategyRunner {
    type Result = HandlerResult;

    fn handle(&mut self, delivery: Deliver<MarketTick>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<MarketTick>>();
        let tick = &delivery.envelope;
        let Some(indexes) = self.by_token.get(&tick.data.token) else {
            return Ok(Completion::done());
        };
        let mut deliveries = Vec::new();
        for &i in indexes {
            let Some(run) = self.running.get_mut(i) else {
                continue;
            };
            if run.disabled.is_some() {
                continue;
            }
            let strategy = &mut run.slot.strategy;
            match catch_unwind(AssertUnwindSafe(|| strategy.on_tick(&tick.data, tick.ts))) {
                Ok(intent) => {
                    run.failures = 0;
                    let Some(intent) = intent else { continue };
                    for broker in &run.slot.brokers {
                        let signal = signal(&run.slot.id, *broker, &tick.data, intent.clone());
                        let discriminator = format!("{}/{broker}", run.slot.id);
                        let envelope = tick.child(signal, SERVICE, &discriminator, tick.ts);
                        tracing::info!(
                            strategy = %run.slot.id, %broker, token = tick.data.token,
                            side = ?envelope.data.side, quantity = envelope.data.quantity,
                            correlation_id = %envelope.correlation_id, "signal"
                        );
                        deliveries.push(
                            self.producer.publish_envelope(
                                Topic::of(*broker, Stream::SignalsRaw),
                                &envelope,
                            ),
                        );
                        metrics::signal_emitted(*broker);
                    }
                }
                Err(panic) => {
                    run.failures += 1;
                    let text = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "(non-string panic)".into());
                    tracing::error!(strategy = %run.slot.id, failures = run.failures, panic = %text, "strategy panicked");
                    if run.failures >= MAX_FAILURES {
                        tracing::error!(strategy = %run.slot.id, "strategy DISABLED after {MAX_FAILURES} consecutive failures");
                        run.disabled = Some(text);
                    }
                }
            }
        }
        Ok(Completion::after(deliveries))
    }
}

fn signal(id: &str, broker: Broker, tick: &MarketTick, intent: SignalIntent) -> TradingSignal {
    TradingSignal {
        strategy_id: id.to_owned(),
        broker,
        token: tick.token,
        symbol: tick
            .symbol
            .clone()
            .unwrap_or_else(|| tick.token.to_string()),
        side: intent.side,
        quantity: intent.quantity,
        order_type: intent.order_type,
        price: intent.price,
        trigger_price: intent.trigger_price,
        validity: intent.validity,
        reference_price: tick.last_price,
        reason: intent.reason,
    }
}

/// Each strategy: enabled, or disabled with the panic that disabled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerStatus {
    pub strategies: Vec<(String, Option<String>)>,
}

#[derive(Debug, Message)]
#[rtype(result = "RunnerStatus")]
pub struct GetRunnerStatus;

impl Handler<GetRunnerStatus> for StrategyRunner {
    type Result = MessageResult<GetRunnerStatus>;
    fn handle(&mut self, _: GetRunnerStatus, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(RunnerStatus {
            strategies: self
                .running
                .iter()
                .map(|r| (r.slot.id.clone(), r.disabled.clone()))
                .collect(),
        })
    }
}
