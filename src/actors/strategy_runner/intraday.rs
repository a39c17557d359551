//! The intraday (MIS) day in the runner: each slot whose positions are MIS flattens them
//! when the square-off is due, and holds back its strategy's decisions that would open or
//! grow an MIS position once entries are closed (risk would refuse them with
//! `entry_cutoff`; the runner does not even try).
//!
//! - Which positions are MIS: a slot's product ([`IntradayArgs::products`]): paper's
//!   `paper.product`, a Zerodha slot's configured product (the strategy's `product`, else
//!   `zerodha.product`). The ledger does not know a product per position, so a strategy
//!   that sends some intents with another product than its slot's is squared off by its
//!   slot's product; the entry hold-back reads an intent's own product where it has one
//!   (both venues place an order as its signal's product when it names one).
//! - The clock ([`RunnerClock`]): on a tick, the tick envelope's timestamp — the tick
//!   file's event time in the backtest, the feed's receipt wall clock in the daemon, the
//!   same time risk judges the signal's entry cutoff by, so a redelivered tick is decided
//!   the same way. In the daemon a timer also reads the wall clock (every second), so a
//!   slot whose instruments stop ticking is still squared off. A closing order needs a
//!   price reference: the timer uses the last tick of the instrument this incarnation has
//!   seen, and leaves an instrument it has never seen a tick of until its first tick.
//! - Windows ([`IntradayDay`]): entries closed in `[entry_cutoff, 15:30)`, square-off due
//!   in `[square_off_at, 15:30)`, trading days only. Outside them everything is as on any
//!   other tick: the next trading day starts normally.
//! - Disabled slots (failing, or by an operator) are squared off too: their positions are
//!   real and the broker would charge for flattening them.

use super::StrategyRunner;
use super::actor::{Running, send_signal};
use crate::market::IntradayDay;
use crate::messages::{Broker, Envelope, MarketTick, Product, TradingSignal};
use crate::strategy::square_off::opens_or_grows;
use crate::streaming::ProducerHandle;
use crate::streaming::producer::PendingDelivery;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How often the daemon's timer looks at the wall clock.
pub const WALL_CLOCK_EVERY: Duration = Duration::from_secs(1);

/// A source of the current time.
pub type Now = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What time the runner's intraday decisions are taken on.
#[derive(Clone)]
pub enum RunnerClock {
    /// The ticks' timestamps only (the backtest replays days in seconds; actor tests).
    Ticks,
    /// The ticks' timestamps, and `now()` every `every` by a timer (the daemon).
    Wall { every: Duration, now: Now },
}

impl RunnerClock {
    /// The system clock, looked at every [`WALL_CLOCK_EVERY`].
    pub fn wall() -> Self {
        RunnerClock::Wall {
            every: WALL_CLOCK_EVERY,
            now: Arc::new(Utc::now),
        }
    }
}

impl std::fmt::Debug for RunnerClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunnerClock::Ticks => f.write_str("Ticks"),
            RunnerClock::Wall { every, .. } => write!(f, "Wall(every {every:?})"),
        }
    }
}

/// How the runner follows the intraday day (see the module docs).
#[derive(Debug, Clone)]
pub struct IntradayArgs {
    /// The deadlines; `None` (`market_hours.intraday = false`): no square-off and no
    /// hold-back.
    pub day: Option<IntradayDay>,
    /// The product of each slot's positions, by (strategy id, broker); a slot not listed
    /// is never squared off.
    pub products: HashMap<(String, Broker), Product>,
    pub clock: RunnerClock,
}

impl IntradayArgs {
    /// No intraday day: what [`StrategyRunner::new`] starts with.
    pub fn off() -> Self {
        IntradayArgs {
            day: None,
            products: HashMap::new(),
            clock: RunnerClock::Ticks,
        }
    }
}

/// The runner's intraday state.
pub(super) struct Intraday {
    day: Option<IntradayDay>,
    clock: RunnerClock,
    /// The last tick of each instrument (wall clock only: the timer's price reference).
    last_ticks: HashMap<u32, Envelope<MarketTick>>,
}

/// What the intraday day says at one tick.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Windows {
    pub square_off: bool,
    pub entries_closed: bool,
}

impl Intraday {
    pub(super) fn off() -> Self {
        Intraday {
            day: None,
            clock: RunnerClock::Ticks,
            last_ticks: HashMap::new(),
        }
    }

    /// The windows at `tick`'s time; remembers the tick for the timer.
    pub(super) fn at_tick(&mut self, tick: &Envelope<MarketTick>) -> Windows {
        let Some(day) = &self.day else {
            return Windows::default();
        };
        if matches!(self.clock, RunnerClock::Wall { .. }) {
            self.last_ticks.insert(tick.data.token, tick.clone());
        }
        Windows {
            square_off: day.square_off_due(tick.ts).is_some(),
            entries_closed: day.entries_closed(tick.ts),
        }
    }
}

impl StrategyRunner {
    /// Follows the intraday day as `args` says (the daemon and the backtest pass the
    /// settings'; without it a runner never squares off).
    pub fn with_intraday(mut self, args: IntradayArgs) -> Self {
        for run in &mut self.running {
            run.product = args
                .products
                .get(&(run.slot.id.clone(), run.slot.broker))
                .copied();
        }
        self.intraday = Intraday {
            day: args.day,
            clock: args.clock,
            last_ticks: HashMap::new(),
        };
        self
    }

    /// On the wall clock, starts the timer. Its first run comes after the rebuild: the
    /// rebuild holds the context (`ctx.wait`), timers included.
    pub(super) fn start_clock(&mut self, ctx: &mut Context<Self>) {
        if self.intraday.day.is_none() {
            return;
        }
        if let RunnerClock::Wall { every, .. } = self.intraday.clock {
            ctx.run_interval(every, |act, ctx| act.on_clock(ctx));
        }
    }

    /// The timer: squares off every MIS position whose instrument has a last tick.
    fn on_clock(&mut self, ctx: &mut Context<Self>) {
        let RunnerClock::Wall { now, .. } = &self.intraday.clock else {
            return;
        };
        let now = now();
        if self
            .intraday
            .day
            .as_ref()
            .and_then(|d| d.square_off_due(now))
            .is_none()
        {
            return;
        }
        let deadline = self.deadline(now);
        let mut deliveries = Vec::new();
        for run in &mut self.running {
            if !run.is_mis() {
                continue;
            }
            let open: Vec<u32> = run
                .ledger
                .instruments()
                .filter(|(_, book)| book.position != 0)
                .map(|(token, _)| token)
                .collect();
            for token in open {
                let Some(tick) = self.intraday.last_ticks.get(&token) else {
                    continue;
                };
                run.expire(token, deadline, now);
                deliveries.extend(square_off(run, &self.producer, tick, now));
            }
        }
        // An order that expired above was announced to its strategy, which may have
        // changed its subscriptions.
        deliveries.extend(self.publish_subscriptions(None, now));
        if deliveries.is_empty() {
            return;
        }
        // No consumer waits for these: a failed publish leaves the order pending until
        // it expires as unanswered, and then it is sent again.
        ctx.spawn(
            async move {
                for delivery in deliveries {
                    if let Err(e) = delivery.await {
                        tracing::error!(error = %e, "publishing a square-off signal failed");
                    }
                }
            }
            .into_actor(self),
        );
    }

    /// Orders sent before this went unanswered (a timeout too long to subtract: never).
    pub(super) fn deadline(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(self.unanswered_after)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl Running {
    /// Its positions are MIS.
    pub(super) fn is_mis(&self) -> bool {
        self.product == Some(Product::Mis)
    }

    /// A signal this slot's strategy decided would open or grow an MIS position.
    pub(super) fn opens_mis(&self, signal: &TradingSignal) -> bool {
        // Both venues place an order as the signal's own product, else the slot's.
        let product = signal.product.or(self.product);
        product == Some(Product::Mis)
            && opens_or_grows(&self.ledger, signal.token, signal.side, signal.quantity)
    }
}

/// Sends the closing order of the slot's uncovered position in `tick`'s instrument (a
/// child of `tick`, decided at `at`), unless nothing is uncovered or the back-off after a
/// failed closing order holds.
pub(super) fn square_off(
    run: &mut Running,
    producer: &ProducerHandle,
    tick: &Envelope<MarketTick>,
    at: DateTime<Utc>,
) -> Option<PendingDelivery> {
    let token = tick.data.token;
    let intent = run.square_off.closing(&run.ledger, token, at)?;
    let position = run.ledger.position(token);
    let signal = intent.into_signal(&run.slot.id, run.slot.broker, &tick.data, position);
    tracing::info!(
        strategy = %run.slot.id, broker = %run.slot.broker, token, position,
        side = ?signal.side, quantity = signal.quantity, "intraday square-off: closing an MIS position"
    );
    // The decision time in the id: a retry on the same last tick is another order.
    let discriminator = format!(
        "{}/{}/square-off/{}",
        run.slot.id,
        run.slot.broker,
        at.timestamp_millis()
    );
    let (client_order_id, delivery) = send_signal(run, producer, tick, signal, &discriminator, at);
    run.square_off.sent(client_order_id);
    Some(delivery)
}
