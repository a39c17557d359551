//! The actor shell: messages in, the core's async steps out, a poll timer.

use super::core::{Core, ZerodhaStats};
use super::positions::PositionReport;
use crate::actors::market_feed::KiteOrderUpdate;
use crate::actors::risk_manager::{SetTradingState, TradingHolds};
use crate::kite::orders::{Product, Variety};
use crate::kite::rest::{KiteClient, KiteOrder};
use crate::market::InstrumentRegistry;
use crate::messages::{OrderType, TradingSignal, ValidatedSignal};
use crate::paper::ChargeSchedule;
use crate::settings::FnoSettings;
use crate::store::Store;
use crate::streaming::ProducerHandle;
use crate::streaming::consumer::{Deliver, HandlerResult};
use crate::supervision::HandlingFuture;
use crate::zerodha::{OrderTarget, SliceRules, market_as_limit, plan_slices};
use actix::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Everything the actor needs; cloned into each incarnation.
#[derive(Clone)]
pub struct ZerodhaExecutionArgs {
    pub client: KiteClient,
    /// Log each order's request instead of sending it; send nothing else either.
    pub dry_run: bool,
    pub registry: Arc<InstrumentRegistry>,
    /// Product and variety per strategy id; strategies not listed use `default_kind`.
    pub order_kinds: BTreeMap<String, (Product, Variety)>,
    pub default_kind: (Product, Variety),
    /// `zerodha.market_protection`, sent with every MARKET and SL-M order.
    pub market_protection: i32,
    /// Strategies whose MARKET orders go out as LIMIT orders: the buffer in percent of the
    /// signal's last price (`strategies.<id>.limit_buffer_pct`).
    pub limit_buffers: BTreeMap<String, Decimal>,
    /// Charges estimated on each fill (Kite's trades carry none).
    pub charges: ChargeSchedule,
    /// Freeze quantities and `max_slices`: how an order above the freeze is sliced.
    pub fno: FnoSettings,
    pub producer: ProducerHandle,
    pub store: Arc<dyn Store>,
    /// Where the reconciliation hold is set.
    pub holds: TradingHolds,
    /// The risk manager's kill switch, pulled on a token error.
    pub kill_switch: Option<Recipient<SetTradingState>>,
    /// How often in-flight orders are polled.
    pub poll_interval: Duration,
    /// How long an order whose placement answer was lost may be missing from Kite's
    /// order book before it is declared not placed.
    pub settle: Duration,
    /// Oldest a validated signal may be when its order would be sent.
    pub max_signal_age: Duration,
    /// An order open at Kite this long after its placement is cancelled (zero: never).
    pub order_timeout: Duration,
    /// How often the account's positions are reconciled with Kite's.
    pub reconcile_interval: Duration,
    /// Backoff of the start-up reconciliation's retries.
    pub reconcile_retry_initial: Duration,
    pub reconcile_retry_max: Duration,
}

impl ZerodhaExecutionArgs {
    /// The product and variety of a signal's order: the product the strategy asked for
    /// in its intent, else its configured one; the configured variety.
    pub(super) fn order_kind(&self, signal: &TradingSignal) -> (Product, Variety) {
        let (product, variety) = self
            .order_kinds
            .get(&signal.strategy_id)
            .copied()
            .unwrap_or(self.default_kind);
        (signal.product.unwrap_or(product), variety)
    }

    /// How a signal's order goes out: a MARKET order of a strategy with a limit buffer as a
    /// LIMIT at the signal's last price ± the buffer on the instrument's tick grid; else
    /// with market protection where Kite demands it.
    ///
    /// # Errors
    /// No positive limit price on the grid (the signal cannot become an order).
    pub(super) fn shape(
        &self,
        target: OrderTarget,
        signal: &TradingSignal,
    ) -> Result<OrderTarget, String> {
        let buffer = self.limit_buffers.get(&signal.strategy_id);
        match (signal.order_type, buffer) {
            (OrderType::Market, Some(buffer)) => {
                // The registry knows every instrument a target was made for; NSE's grid else.
                let tick = self
                    .registry
                    .by_token(signal.token)
                    .map_or(Decimal::new(5, 2), |i| i.tick_size);
                let price = market_as_limit(signal.side, signal.reference_price, *buffer, tick)
                    .ok_or_else(|| {
                        format!(
                            "no positive limit price {buffer}% from {} on a {tick} grid",
                            signal.reference_price
                        )
                    })?;
                Ok(target.as_limit(price))
            }
            (order_type, _) => Ok(target.protected(order_type, self.market_protection)),
        }
    }

    /// The quantity of each Kite order `signal` becomes (one entry: not sliced).
    ///
    /// # Errors
    /// The instrument is unknown, or the plan refuses the quantity (see [`plan_slices`]).
    pub(super) fn slices(&self, signal: &TradingSignal) -> Result<Vec<u32>, String> {
        let instrument = self.registry.by_token(signal.token).ok_or_else(|| {
            format!(
                "instrument token {} is not in the instrument registry",
                signal.token
            )
        })?;
        plan_slices(signal.quantity, &SliceRules::of(instrument, &self.fno))
            .map_err(|why| format!("{}: {why}", instrument.key()))
    }

    pub(super) fn settle_delta(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::from_std(self.settle).unwrap_or(chrono::TimeDelta::MAX)
    }
}

pub struct ZerodhaExecution {
    core: Rc<Core>,
}

crate::supervised!(ZerodhaExecution);

impl ZerodhaExecution {
    pub fn new(args: ZerodhaExecutionArgs) -> Self {
        ZerodhaExecution {
            core: Core::new(args),
        }
    }
}

impl Actor for ZerodhaExecution {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let core = self.core.clone();
        ctx.spawn(
            async move {
                core.clone().reconcile().await;
                core.reconcile_positions(false).await;
            }
            .into_actor(self),
        );
        ctx.run_interval(self.core.args.poll_interval, |act, ctx| {
            ctx.spawn(act.core.clone().poll().into_actor(act));
        });
        ctx.run_interval(self.core.args.reconcile_interval, |act, ctx| {
            ctx.spawn(
                act.core
                    .clone()
                    .reconcile_positions(false)
                    .into_actor(act)
                    .map(|_, _, _| ()),
            );
        });
    }
}

impl Handler<Deliver<ValidatedSignal>> for ZerodhaExecution {
    type Result = ResponseActFuture<Self, HandlerResult>;

    fn handle(&mut self, d: Deliver<ValidatedSignal>, _ctx: &mut Self::Context) -> Self::Result {
        let fut = self.core.clone().on_signal(d.envelope).into_actor(self);
        Box::pin(HandlingFuture::<Deliver<ValidatedSignal>, _>::new(fut))
    }
}

impl Handler<KiteOrderUpdate> for ZerodhaExecution {
    type Result = ();

    fn handle(&mut self, m: KiteOrderUpdate, ctx: &mut Self::Context) {
        let data = serde_json::Value::Object(m.0.data);
        match serde_json::from_value::<KiteOrder>(data) {
            Ok(order) => {
                ctx.spawn(self.core.clone().on_update(order).into_actor(self));
            }
            Err(e) => tracing::warn!(error = %e, "unreadable Kite order update ignored"),
        }
    }
}

/// Reconciles positions with Kite now, after any that is running (before the start-up
/// reconciliation: answers the last report).
#[derive(Debug, Message)]
#[rtype(result = "PositionReport")]
pub struct ReconcilePositions;

impl Handler<ReconcilePositions> for ZerodhaExecution {
    type Result = ResponseActFuture<Self, PositionReport>;

    fn handle(&mut self, _m: ReconcilePositions, _ctx: &mut Self::Context) -> Self::Result {
        Box::pin(self.core.clone().reconcile_positions(true).into_actor(self))
    }
}

/// The actor's counters.
#[derive(Debug, Message)]
#[rtype(result = "ZerodhaStats")]
pub struct GetZerodhaStats;

impl Handler<GetZerodhaStats> for ZerodhaExecution {
    type Result = MessageResult<GetZerodhaStats>;

    fn handle(&mut self, _m: GetZerodhaStats, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.core.stats())
    }
}
