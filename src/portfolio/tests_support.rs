//! Builders shared by the portfolio tests.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::messages::{Broker, Fees, OrderFilled, OrderRef, Side};

pub const RELIANCE: u32 = 738_561;
pub const TCS: u32 = 2_953_217;
pub const INFY: u32 = 408_065;

/// A decimal from its text (tests only).
pub fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn symbol_of(token: u32) -> String {
    match token {
        RELIANCE => "RELIANCE".into(),
        TCS => "TCS".into(),
        INFY => "INFY".into(),
        other => format!("T{other}"),
    }
}

/// A complete fill of a `quantity` order on the paper broker; `fees` all brokerage.
pub fn fill(
    fill_id: &str,
    strategy: &str,
    token: u32,
    side: Side,
    quantity: u32,
    price: Decimal,
    fees: Decimal,
) -> OrderFilled {
    OrderFilled {
        order: OrderRef {
            client_order_id: format!("co-{fill_id}"),
            broker_order_id: Some(format!("bo-{fill_id}")),
            strategy_id: strategy.to_owned(),
            broker: Broker::Paper,
            token,
            symbol: symbol_of(token),
            side,
        },
        fill_id: fill_id.to_owned(),
        quantity,
        price,
        fees: Fees {
            brokerage: fees,
            total: fees,
            ..Fees::default()
        },
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: at("2026-11-26T04:00:00Z"),
    }
}

/// [`fill`] on another broker.
pub fn fill_on(broker: Broker, mut fill: OrderFilled) -> OrderFilled {
    fill.order.broker = broker;
    fill
}
