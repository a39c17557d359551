//! [`OrderRecord`]: one Zerodha order's journal entry and lifecycle.

use crate::kite::orders::{Product, Variety};
use crate::kite::rest::{KiteOrder, KiteTrade, OrderParams, OrderStatus};
use crate::market::{InstrumentKind, InstrumentRegistry};
use crate::messages::{
    Broker, Envelope, OrderFailed, OrderFailureKind, OrderFilled, OrderRef, OrderSubmitted,
    OrderType, Side, ValidatedSignal, VenueEvent,
};
use crate::paper::{ChargeColumn, ChargeSchedule};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where and how a signal's order goes on Kite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTarget {
    pub exchange: String,
    pub tradingsymbol: String,
    pub product: Product,
    pub variety: Variety,
    /// The `market_protection` sent with the order: set for MARKET and SL-M orders
    /// ([`OrderTarget::protected`]), `None` otherwise (and in journal entries written
    /// before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_protection: Option<i32>,
    /// A market order sent as a LIMIT at this price instead ([`market_as_limit`]).
    #[serde(
        default,
        with = "rust_decimal::serde::str_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit_price: Option<Decimal>,
}

impl OrderTarget {
    /// The target with `protection` for an order of `order_type` that needs it (MARKET
    /// and SL-M: Kite rejects them without it since April 2026).
    pub fn protected(mut self, order_type: OrderType, protection: i32) -> Self {
        self.market_protection =
            matches!(order_type, OrderType::Market | OrderType::StopMarket).then_some(protection);
        self
    }

    /// The target of a market order sent as a LIMIT at `price` (no market protection).
    pub fn as_limit(mut self, price: Decimal) -> Self {
        self.limit_price = Some(price);
        self.market_protection = None;
        self
    }
}

/// The LIMIT price a market order goes out at: `last` ± `buffer_pct` percent (a buy above,
/// a sell below), rounded to `tick` towards `last` (a buy down, a sell up), so the order
/// stays within the buffer and on the exchange's price grid. `None` when no positive price
/// on the grid remains (a sell buffer of 100 %, a tick of zero).
pub fn market_as_limit(
    side: Side,
    last: Decimal,
    buffer_pct: Decimal,
    tick: Decimal,
) -> Option<Decimal> {
    if tick <= Decimal::ZERO {
        return None;
    }
    let factor = buffer_pct / Decimal::ONE_HUNDRED;
    let price = match side {
        Side::Buy => (last * (Decimal::ONE + factor) / tick).floor() * tick,
        Side::Sell => (last * (Decimal::ONE - factor) / tick).ceil() * tick,
    };
    (price > Decimal::ZERO).then(|| price.normalize())
}

/// The target of `signal`'s order.
///
/// # Errors
/// The instrument is unknown to the registry, or an index (not tradable).
pub fn order_target(
    signal: &ValidatedSignal,
    registry: &InstrumentRegistry,
    product: Product,
    variety: Variety,
) -> Result<OrderTarget, String> {
    let token = signal.signal.token;
    let instrument = registry
        .by_token(token)
        .ok_or_else(|| format!("instrument token {token} is not in the instrument registry"))?;
    if instrument.is_index() {
        return Err(format!(
            "{} is an index and cannot be traded",
            instrument.symbol
        ));
    }
    Ok(OrderTarget {
        exchange: instrument.exchange.clone(),
        tradingsymbol: instrument.symbol.clone(),
        product,
        variety,
        market_protection: None,
        limit_price: None,
    })
}

/// The charges column of an execution in an instrument of `kind` placed as `product`: a
/// future or an option is F&O whatever its product (NRML and MIS alike); an equity is
/// intraday for MIS, delivery otherwise.
pub fn charge_column(product: Product, kind: &InstrumentKind) -> ChargeColumn {
    ChargeColumn::of(kind, product)
}

/// The kind of the instrument Kite names `tradingsymbol` on `exchange`, as its master
/// writes it: on a derivatives exchange (NFO, BFO, MCX, CDS, BCD) every contract's
/// tradingsymbol ends in `FUT`, `CE` or `PE`; anything else is taken for an equity. For an
/// order record, which keeps the tradingsymbol but not the registry's row.
pub fn kind_of_symbol(exchange: &str, tradingsymbol: &str) -> InstrumentKind {
    const DERIVATIVE_EXCHANGES: [&str; 5] = ["NFO", "BFO", "MCX", "CDS", "BCD"];
    if !DERIVATIVE_EXCHANGES.contains(&exchange) {
        return InstrumentKind::Equity;
    }
    if tradingsymbol.ends_with("FUT") {
        InstrumentKind::Future
    } else if tradingsymbol.ends_with("CE") {
        InstrumentKind::Call
    } else if tradingsymbol.ends_with("PE") {
        InstrumentKind::Put
    } else {
        InstrumentKind::Other(String::new())
    }
}

/// Whether the order reached Kite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Placement {
    /// Journaled and about to be (or being) sent; if found like this later, the outcome
    /// is unknown until Kite's order book says.
    Claimed { since: DateTime<Utc> },
    /// Known not to have reached Kite (rate limited until the retries ran out): may be
    /// sent.
    NotSent,
    /// Kite has it.
    Placed { broker_order_id: String },
    /// Never sent: refused by Kite (4xx), by us (cannot be expressed on Kite), or a dry
    /// run.
    NotPlaced,
}

/// How the order ended; set once every event up to it was produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Complete,
    Failed {
        kind: OrderFailureKind,
        message: String,
    },
}

/// One order's journal entry. Serialised into the store under
/// `zerodha:order:{client_order_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub client_order_id: String,
    /// The cause of every event of this order (their ids derive from its id).
    pub signal: Envelope<ValidatedSignal>,
    pub target: OrderTarget,
    pub placement: Placement,
    /// `orders.submitted` was produced.
    pub submitted: bool,
    /// Kite trade ids already turned into fills, in order.
    pub fills: Vec<String>,
    pub filled_quantity: u32,
    /// Brokerage charged on earlier fills (the cap is per order).
    pub brokerage_paid: Decimal,
    pub outcome: Option<Outcome>,
    /// When Kite was first known to hold it (our clock): the order timeout counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_at: Option<DateTime<Utc>>,
    /// We asked Kite to cancel it; its cancellation then carries this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<CancelRequest>,
}

/// A cancellation we asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub at: DateTime<Utc>,
    pub reason: String,
}

impl OrderRecord {
    /// A record claimed at `now`, before anything is sent.
    pub fn new(
        client_order_id: String,
        signal: Envelope<ValidatedSignal>,
        target: OrderTarget,
        now: DateTime<Utc>,
    ) -> OrderRecord {
        OrderRecord {
            client_order_id,
            signal,
            target,
            placement: Placement::Claimed { since: now },
            submitted: false,
            fills: Vec::new(),
            filled_quantity: 0,
            brokerage_paid: Decimal::ZERO,
            outcome: None,
            placed_at: None,
            cancel: None,
        }
    }

    /// The store key of `client_order_id`'s record.
    pub fn key(client_order_id: &str) -> String {
        format!("{}:order:{client_order_id}", Broker::Zerodha)
    }

    /// Ended, with every event produced: nothing more will happen to it.
    pub fn is_settled(&self) -> bool {
        self.outcome.is_some()
    }

    pub fn broker_order_id(&self) -> Option<&str> {
        match &self.placement {
            Placement::Placed { broker_order_id } => Some(broker_order_id),
            _ => None,
        }
    }

    /// The placement request.
    pub fn params(&self) -> OrderParams {
        let s = &self.signal.data.signal;
        OrderParams {
            variety: self.target.variety,
            exchange: self.target.exchange.clone(),
            tradingsymbol: self.target.tradingsymbol.clone(),
            side: s.side,
            quantity: s.quantity,
            product: self.target.product,
            order_type: self.sent_order_type(),
            price: self.sent_price(),
            trigger_price: s.trigger_price,
            validity: s.validity,
            tag: self.client_order_id.clone(),
            market_protection: self.target.market_protection,
        }
    }

    fn order_ref(&self) -> OrderRef {
        let s = &self.signal.data.signal;
        OrderRef {
            client_order_id: self.client_order_id.clone(),
            broker_order_id: self.broker_order_id().map(str::to_owned),
            strategy_id: s.strategy_id.clone(),
            broker: Broker::Zerodha,
            token: s.token,
            symbol: s.symbol.clone(),
            side: s.side,
        }
    }

    fn quantity(&self) -> u32 {
        self.signal.data.signal.quantity
    }

    /// Kite accepted the order as `broker_order_id` at `now`.
    pub fn placed(&mut self, broker_order_id: &str, now: DateTime<Utc>) -> Vec<VenueEvent> {
        self.placement = Placement::Placed {
            broker_order_id: broker_order_id.to_owned(),
        };
        self.placed_at.get_or_insert(now);
        self.submitted_event().into_iter().collect()
    }

    /// Whether the order should be cancelled at `now` for having rested unfilled longer
    /// than `timeout`: at Kite, not ended, and not already asked to cancel within the last
    /// `retry` (a cancel that got no effect — a lost answer, a 429 — is asked again).
    pub fn cancel_due(&self, now: DateTime<Utc>, timeout: Duration, retry: Duration) -> bool {
        let (Some(placed_at), None) = (self.placed_at, &self.outcome) else {
            return false;
        };
        if self.broker_order_id().is_none() || timeout.is_zero() {
            return false;
        }
        let elapsed = |since: DateTime<Utc>, span: Duration| {
            chrono::TimeDelta::from_std(span).is_ok_and(|span| now - since >= span)
        };
        elapsed(placed_at, timeout)
            && self
                .cancel
                .as_ref()
                .is_none_or(|asked| elapsed(asked.at, retry))
    }

    /// The order was definitively not placed (Kite's 4xx, our own refusal, a dry run, or
    /// no trace of it at Kite long after its answer was lost): it fails with `kind`.
    pub fn not_placed(&mut self, kind: OrderFailureKind, message: &str) -> Vec<VenueEvent> {
        self.placement = Placement::NotPlaced;
        self.fail(kind, message).into_iter().collect()
    }

    /// Applies Kite's view of the order (from `GET /orders` or an order update) and its
    /// trades, returning the events not produced before: the submission, each new fill in
    /// execution order, then the failure if it ended without filling completely. When
    /// Kite reports more filled than the trades explain, the outcome waits for the
    /// missing trades ([`Self::needs_trades`]).
    pub fn apply(
        &mut self,
        order: &KiteOrder,
        trades: &[KiteTrade],
        charges: &ChargeSchedule,
        now: DateTime<Utc>,
    ) -> Vec<VenueEvent> {
        if self.is_settled() {
            return Vec::new();
        }
        let mut events = Vec::new();
        if self.broker_order_id() != Some(order.order_id.as_str()) {
            self.placement = Placement::Placed {
                broker_order_id: order.order_id.clone(),
            };
        }
        self.placed_at.get_or_insert(now);
        events.extend(self.submitted_event());
        let mut new: Vec<&KiteTrade> = trades
            .iter()
            .filter(|t| t.order_id == order.order_id && !self.fills.contains(&t.trade_id))
            .collect();
        new.sort_by(|a, b| (a.executed_at(), &a.trade_id).cmp(&(b.executed_at(), &b.trade_id)));
        for trade in new {
            if let Some(fill) = self.fill(trade, charges, now) {
                events.push(VenueEvent::Filled(fill));
            }
        }
        if self.filled_quantity < order.filled_quantity {
            return events;
        }
        match order.status() {
            OrderStatus::Complete if self.filled_quantity >= self.quantity() => {
                self.outcome = Some(Outcome::Complete);
            }
            OrderStatus::Cancelled => {
                let kite = order.status_message.clone();
                let message = match (&self.cancel, kite) {
                    (Some(asked), _) => asked.reason.clone(),
                    (None, Some(kite)) => kite,
                    (None, None) => "cancelled".into(),
                };
                events.extend(self.fail(OrderFailureKind::Cancelled, &message));
            }
            OrderStatus::Rejected => {
                let message = order
                    .status_message
                    .clone()
                    .unwrap_or_else(|| "rejected".into());
                events.extend(self.fail(OrderFailureKind::Rejected, &message));
            }
            _ => {}
        }
        events
    }

    /// Kite says more is filled than the trades we have explain: fetch its trades.
    pub fn needs_trades(&self, order: &KiteOrder) -> bool {
        order.filled_quantity > self.filled_quantity
    }

    /// The order type sent to Kite: the signal's, or LIMIT for a market order sent as one.
    fn sent_order_type(&self) -> OrderType {
        match self.target.limit_price {
            Some(_) => OrderType::Limit,
            None => self.signal.data.signal.order_type,
        }
    }

    /// The price sent to Kite.
    fn sent_price(&self) -> Option<Decimal> {
        self.target.limit_price.or(self.signal.data.signal.price)
    }

    /// The submission, the first time the order is known to be at Kite.
    fn submitted_event(&mut self) -> Option<VenueEvent> {
        if self.submitted || self.broker_order_id().is_none() {
            return None;
        }
        self.submitted = true;
        let s = &self.signal.data.signal;
        Some(VenueEvent::Submitted(OrderSubmitted {
            order: self.order_ref(),
            quantity: s.quantity,
            order_type: self.sent_order_type(),
            price: self.sent_price(),
            trigger_price: s.trigger_price,
            validity: s.validity,
        }))
    }

    fn fill(
        &mut self,
        trade: &KiteTrade,
        charges: &ChargeSchedule,
        now: DateTime<Utc>,
    ) -> Option<OrderFilled> {
        let cumulative = self.filled_quantity.checked_add(trade.quantity)?;
        if trade.quantity == 0 || cumulative > self.quantity() {
            tracing::error!(order = %self.client_order_id, trade = %trade.trade_id, quantity = trade.quantity, filled = self.filled_quantity, ordered = self.quantity(), "Kite trade does not fit the order; not booked");
            return None;
        }
        let side = self.signal.data.signal.side;
        let kind = kind_of_symbol(&self.target.exchange, &self.target.tradingsymbol);
        let column = charge_column(self.target.product, &kind);
        let fees = charges.charges_for_fill(
            column,
            side,
            trade.quantity,
            trade.average_price,
            self.brokerage_paid,
        );
        self.brokerage_paid += fees.brokerage;
        self.filled_quantity = cumulative;
        self.fills.push(trade.trade_id.clone());
        Some(OrderFilled {
            order: self.order_ref(),
            fill_id: format!("zerodha:{}", trade.trade_id),
            quantity: trade.quantity,
            price: trade.average_price,
            fees,
            cumulative_quantity: cumulative,
            order_quantity: self.quantity(),
            filled_at: trade.executed_at().unwrap_or(now),
        })
    }

    fn fail(&mut self, kind: OrderFailureKind, message: &str) -> Option<VenueEvent> {
        self.outcome = Some(Outcome::Failed {
            kind,
            message: message.to_owned(),
        });
        // A fully filled order cannot fail (Kite reports such an order COMPLETE).
        (self.filled_quantity < self.quantity()).then(|| {
            VenueEvent::Failed(OrderFailed {
                order: self.order_ref(),
                quantity: self.quantity(),
                filled_quantity: self.filled_quantity,
                kind,
                message: message.to_owned(),
            })
        })
    }
}
