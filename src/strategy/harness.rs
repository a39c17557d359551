//! A pure harness for testing a strategy without actors, Kafka or a venue: feed it ticks,
//! then tell it what happened to each order (filled, partly filled, refused by risk,
//! failed at the venue) and assert the intents that came out.
//!
//! It keeps the strategy's [`Ledger`] exactly as the runner does, so a strategy that
//! behaves here behaves in the daemon and the backtest. Runtime subscriptions work as in
//! the runner: the context resolves them against the harness's registry (the embedded one
//! unless [`Harness::with_instruments`]), every change is recorded as the record the runner
//! would publish ([`Harness::published_subscriptions`]), and with [`Harness::trading`] only
//! ticks of the configured ∪ subscribed instruments reach the strategy:
//!
//! ```
//! use alpha_panda::messages::{MarketTick, Side};
//! use alpha_panda::strategy::harness::Harness;
//! use alpha_panda::strategy::{StrategyParams, StrategyRegistry};
//! use rust_decimal::Decimal;
//!
//! let params = StrategyParams::from_toml(
//!     r#"kind = "momentum"
//!        lookback = 1
//!        threshold = "0.01"
//!        quantity = 10"#,
//! ).unwrap();
//! let strategy = StrategyRegistry::builtin().build(&params).unwrap();
//! let mut h = Harness::new(strategy);
//! assert!(h.tick(&MarketTick::ltp(1, Decimal::from(100))).unwrap().is_none());
//! let buy = h.tick(&MarketTick::ltp(1, Decimal::from(110))).unwrap().unwrap();
//! assert_eq!((buy.side, buy.quantity), (Side::Buy, 10));
//! h.fill_last(10, Decimal::from(110));
//! assert_eq!(h.position(1), 10);
//! ```

use super::{
    OrderEnded, OrderIntent, PendingOrder, RuntimeSubscriptions, Strategy, StrategyContext,
    StrategyFault,
};
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{
    Broker, Fees, MarketTick, OrderFailed, OrderFailureKind, OrderFilled, OrderRef, Rejection,
    RejectionCode, SubscriptionsChanged, WantedInstrument,
};
use crate::strategy::Ledger;
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use uuid::Uuid;

/// The strategy id the harness uses.
pub const HARNESS_STRATEGY: &str = "under_test";

/// One strategy, its ledger, and every intent it sent.
pub struct Harness {
    strategy: Box<dyn Strategy>,
    ledger: Ledger,
    broker: Broker,
    now: DateTime<Utc>,
    sent: Vec<(u32, OrderIntent, Uuid)>,
    ended: Vec<OrderEnded>,
    instruments: Arc<InstrumentRegistry>,
    subscriptions: RuntimeSubscriptions,
    /// `Some`: the configured instruments; ticks of others reach the strategy only when
    /// subscribed at runtime. `None`: every tick does.
    configured: Option<BTreeSet<u32>>,
    published: Vec<SubscriptionsChanged>,
}

/// The embedded registry, parsed once per process.
fn embedded() -> Arc<InstrumentRegistry> {
    static EMBEDDED: OnceLock<Arc<InstrumentRegistry>> = OnceLock::new();
    EMBEDDED
        .get_or_init(|| Arc::new(InstrumentRegistry::embedded().unwrap_or_default()))
        .clone()
}

impl Harness {
    /// A harness on the paper broker, its clock at 2026-01-01 03:45 UTC (09:15 IST).
    pub fn new(strategy: Box<dyn Strategy>) -> Self {
        Harness {
            strategy,
            ledger: Ledger::default(),
            broker: Broker::Paper,
            now: Utc
                .with_ymd_and_hms(2026, 1, 1, 3, 45, 0)
                .single()
                .unwrap_or(DateTime::UNIX_EPOCH),
            sent: Vec::new(),
            ended: Vec::new(),
            instruments: embedded(),
            subscriptions: RuntimeSubscriptions::default(),
            configured: None,
            published: Vec::new(),
        }
    }

    /// Resolves runtime subscriptions against `registry` instead of the embedded one.
    pub fn with_instruments(mut self, registry: InstrumentRegistry) -> Self {
        self.instruments = Arc::new(registry);
        self
    }

    /// Routes ticks as the runner does for a strategy configured with `tokens`: a tick of
    /// another instrument reaches the strategy only while it is subscribed at runtime
    /// (otherwise [`Self::tick`] answers `Ok(None)` without calling it).
    pub fn trading(mut self, tokens: impl IntoIterator<Item = u32>) -> Self {
        self.configured = Some(tokens.into_iter().collect());
        self
    }

    /// Whether a tick of `token` reaches the strategy now.
    pub fn routes(&self, token: u32) -> bool {
        self.configured
            .as_ref()
            .is_none_or(|c| c.contains(&token) || self.subscriptions.contains(token))
    }

    /// The strategy's runtime subscriptions now, sorted by token.
    pub fn subscribed(&self) -> Vec<WantedInstrument> {
        self.subscriptions.wanted()
    }

    /// Every record the runner would have published to `market.subscriptions`, in order
    /// (one after each call that changed the set).
    pub fn published_subscriptions(&self) -> &[SubscriptionsChanged] {
        &self.published
    }

    /// After a call: what the runner publishes when the set changed.
    fn collect_subscriptions(&mut self) {
        if self.subscriptions.take_changed() {
            self.published.push(SubscriptionsChanged {
                strategy_id: HARNESS_STRATEGY.into(),
                broker: self.broker,
                instruments: self.subscriptions.wanted(),
            });
        }
    }

    /// Sets the clock: the next tick comes one second after `now`.
    pub fn set_time(&mut self, now: DateTime<Utc>) {
        self.now = now - chrono::Duration::seconds(1);
    }

    /// Feeds one tick (the clock advances a second); an intent is recorded as sent, its
    /// order pending until [`Self::fill_last`], [`Self::reject_last`] or
    /// [`Self::fail_last`].
    ///
    /// # Errors
    /// The strategy's own fault.
    pub fn tick(&mut self, tick: &MarketTick) -> Result<Option<OrderIntent>, StrategyFault> {
        self.now += chrono::Duration::seconds(1);
        if !self.routes(tick.token) {
            return Ok(None);
        }
        let ctx = StrategyContext::new(
            self.now,
            HARNESS_STRATEGY,
            self.broker,
            tick.token,
            &self.ledger,
        )
        .with_subscriptions(&self.instruments, &self.subscriptions);
        let decided = self.strategy.on_tick(tick, &ctx);
        self.collect_subscriptions();
        let intent = decided?;
        if let Some(intent) = &intent {
            let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, &self.sent.len().to_le_bytes());
            let position = self.ledger.position(tick.token);
            let signal = intent
                .clone()
                .into_signal(HARNESS_STRATEGY, self.broker, tick, position);
            self.ledger.sent(id, &signal, self.now);
            self.sent.push((tick.token, intent.clone(), id));
        }
        Ok(intent)
    }

    /// Every intent sent so far, with its instrument.
    pub fn sent(&self) -> Vec<(u32, OrderIntent)> {
        self.sent.iter().map(|(t, i, _)| (*t, i.clone())).collect()
    }

    /// Orders that ended without a full fill, in order.
    pub fn ended(&self) -> &[OrderEnded] {
        &self.ended
    }

    /// The real position in `token`.
    pub fn position(&self, token: u32) -> i64 {
        self.ledger.position(token)
    }

    /// The orders of `token` in flight.
    pub fn pending(&self, token: u32) -> &[PendingOrder] {
        self.ledger.pending(token)
    }

    /// Fills `quantity` more of the last order sent at `price`.
    pub fn fill_last(&mut self, quantity: u32, price: Decimal) {
        let Some(order) = self.last_pending() else {
            return;
        };
        let (token, pending) = order;
        let fill = OrderFilled {
            order: self.order_ref(token, &pending),
            fill_id: format!(
                "{}-{}",
                pending.client_order_id,
                pending.filled.saturating_add(quantity)
            ),
            quantity,
            price,
            fees: Fees::default(),
            cumulative_quantity: pending.filled.saturating_add(quantity),
            order_quantity: pending.quantity,
            filled_at: self.now,
        };
        if self.ledger.filled(&fill).is_some() {
            let ctx =
                StrategyContext::new(self.now, HARNESS_STRATEGY, self.broker, token, &self.ledger)
                    .with_subscriptions(&self.instruments, &self.subscriptions);
            self.strategy.on_fill(&fill, &ctx);
            self.collect_subscriptions();
        }
    }

    /// The risk manager refuses the last order sent.
    pub fn reject_last(&mut self, code: RejectionCode) {
        let Some((_, pending)) = self.last_pending() else {
            return;
        };
        let reasons = [Rejection {
            code,
            message: format!("refused by the harness ({code})"),
        }];
        let ended = self.ledger.rejected(
            pending.signal_id,
            reasons.iter().map(|r| r.code).collect(),
            reasons[0].message.clone(),
        );
        self.announce(ended);
    }

    /// The venue ends the last order sent with `kind` (partial fills before stay).
    pub fn fail_last(&mut self, kind: OrderFailureKind) {
        let Some((token, pending)) = self.last_pending() else {
            return;
        };
        let failed = OrderFailed {
            order: self.order_ref(token, &pending),
            quantity: pending.quantity,
            filled_quantity: pending.filled,
            kind,
            message: format!("ended by the harness ({kind:?})"),
        };
        let ended = self.ledger.failed(&failed);
        self.announce(ended);
    }

    /// Nothing ever answers the last order sent: it ends as unanswered, as the runner ends
    /// it once its timeout passed (unless a venue acknowledged or filled it).
    pub fn unanswered_last(&mut self) {
        let Some((token, pending)) = self.last_pending() else {
            return;
        };
        let after_it = pending.sent_at + chrono::Duration::nanoseconds(1);
        let ended = self.ledger.expire_unanswered(token, after_it);
        for ended in ended {
            self.announce(Some(ended));
        }
    }

    fn announce(&mut self, ended: Option<OrderEnded>) {
        if let Some(ended) = ended {
            let ctx = StrategyContext::new(
                self.now,
                HARNESS_STRATEGY,
                self.broker,
                ended.token,
                &self.ledger,
            )
            .with_subscriptions(&self.instruments, &self.subscriptions);
            self.strategy.on_order_ended(&ended, &ctx);
            self.collect_subscriptions();
            self.ended.push(ended);
        }
    }

    fn last_pending(&self) -> Option<(u32, PendingOrder)> {
        self.sent.iter().rev().find_map(|(token, _, id)| {
            self.ledger
                .pending(*token)
                .iter()
                .find(|o| o.signal_id == *id)
                .map(|o| (*token, o.clone()))
        })
    }

    fn order_ref(&self, token: u32, pending: &PendingOrder) -> OrderRef {
        OrderRef {
            client_order_id: pending.client_order_id.clone(),
            broker_order_id: None,
            strategy_id: HARNESS_STRATEGY.into(),
            broker: self.broker,
            token,
            symbol: token.to_string(),
            side: pending.side,
        }
    }
}
