//! Builders shared by the risk tests: signals, fills, failures and instants.

use super::*;
use crate::messages::{
    Broker, Fees, OrderFailed, OrderFailureKind, OrderFilled, OrderRef, OrderType, Rejection,
    RejectionCode, Side, TradingSignal, Validity,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::str::FromStr;
pub(super) use uuid::Uuid;

pub(super) const STRATEGY: &str = "momentum";
/// RELIANCE; the tests' last price is [`LAST`].
pub(super) const TOKEN: u32 = 738_561;
pub(super) const LAST: &str = "2450.35";
/// Thursday 2026-11-26, 10:30 IST.
pub(super) const MORNING: &str = "2026-11-26T05:00:00Z";

pub(super) fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("literal decimal")
}

pub(super) fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("literal RFC 3339 instant")
}

pub(super) fn morning() -> DateTime<Utc> {
    at(MORNING)
}

/// A paper LIMIT order of `momentum` on [`TOKEN`] at `price` (also its reference price).
pub(super) fn limit(side: Side, quantity: u32, price: &str) -> TradingSignal {
    TradingSignal {
        strategy_id: STRATEGY.into(),
        broker: Broker::Paper,
        token: TOKEN,
        symbol: "RELIANCE".into(),
        side,
        quantity,
        order_type: OrderType::Limit,
        price: Some(dec(price)),
        trigger_price: None,
        validity: Validity::Day,
        reference_price: dec(price),
        reason: "test".into(),
        product: None,
        position: 0,
    }
}

/// A paper MARKET order with `reference` as the price the strategy saw.
pub(super) fn market(side: Side, quantity: u32, reference: &str) -> TradingSignal {
    TradingSignal {
        order_type: OrderType::Market,
        price: None,
        ..limit(side, quantity, reference)
    }
}

/// The same signal for another broker.
pub(super) fn on(broker: Broker, signal: TradingSignal) -> TradingSignal {
    TradingSignal { broker, ..signal }
}

/// A paper risk state with `limits` and a last price of [`LAST`] for [`TOKEN`].
pub(super) fn risk(limits: RiskLimits) -> BrokerRisk {
    let mut r = BrokerRisk::new(Broker::Paper, limits);
    let _ = r.on_tick(TOKEN, dec(LAST));
    r
}

/// A complete fill (the whole order in one execution) of `momentum` on [`TOKEN`].
pub(super) fn fill(side: Side, quantity: u32, price: &str, fees: &str) -> OrderFilled {
    fill_for(Broker::Paper, side, quantity, price, fees)
}

pub(super) fn fill_for(
    broker: Broker,
    side: Side,
    quantity: u32,
    price: &str,
    fees: &str,
) -> OrderFilled {
    OrderFilled {
        order: order_ref(broker, side),
        fill_id: format!("fill-{quantity}-{price}"),
        quantity,
        price: dec(price),
        fees: Fees {
            brokerage: dec(fees),
            total: dec(fees),
            ..Fees::default()
        },
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: morning(),
    }
}

pub(super) fn failed(broker: Broker) -> OrderFailed {
    OrderFailed {
        order: order_ref(broker, Side::Buy),
        quantity: 10,
        filled_quantity: 0,
        kind: OrderFailureKind::Rejected,
        message: "test".into(),
    }
}

fn order_ref(broker: Broker, side: Side) -> OrderRef {
    OrderRef {
        client_order_id: "order-1".into(),
        broker_order_id: None,
        strategy_id: STRATEGY.into(),
        broker,
        token: TOKEN,
        symbol: "RELIANCE".into(),
        side,
    }
}

/// Applies a fill at [`morning`], asserting it does not breach the loss limit.
pub(super) fn apply(r: &mut BrokerRisk, f: &OrderFilled) {
    assert_eq!(
        r.on_fill(f, morning()),
        Vec::new(),
        "unexpected loss-limit breach"
    );
}

/// The codes of a decision, in order (empty = approved).
pub(super) fn codes(decision: &Result<(), Vec<Rejection>>) -> Vec<RejectionCode> {
    match decision {
        Ok(()) => Vec::new(),
        Err(reasons) => reasons.iter().map(|r| r.code).collect(),
    }
}

/// Every limit on, each loose enough that [`limit`]`(Buy, 1, LAST)` passes on a fresh state.
pub(super) fn all_limits() -> RiskLimits {
    RiskLimits {
        max_order_quantity: Some(100),
        max_order_value: Some(dec("100000")),
        max_position: Some(200),
        max_daily_trades: Some(50),
        price_band_pct: Some(dec("5")),
        daily_loss_limit: Some(dec("1000")),
        max_open_orders: Some(10),
        ..RiskLimits::default()
    }
}
