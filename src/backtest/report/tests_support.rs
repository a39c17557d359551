//! Builders shared by the report tests.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{EquityPoint, Outcome, StrategyOutcome};
use crate::messages::{Broker, Fees, OrderFilled, OrderRef, Side};
use crate::portfolio::Portfolio;

pub const RELIANCE: u32 = 738_561;
pub const TCS: u32 = 2_953_217;

/// A decimal from its text.
pub fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn point(ts: &str, equity: &str) -> EquityPoint {
    EquityPoint {
        ts: at(ts),
        equity: d(equity),
    }
}

fn symbol_of(token: u32) -> String {
    match token {
        RELIANCE => "RELIANCE".into(),
        TCS => "TCS".into(),
        other => format!("T{other}"),
    }
}

/// A complete paper fill of `strategy`, all fees brokerage, at 09:30 IST on 2026-11-26.
pub fn fill(
    fill_id: &str,
    strategy: &str,
    token: u32,
    side: Side,
    quantity: u32,
    price: &str,
    fees: &str,
) -> OrderFilled {
    OrderFilled {
        order: OrderRef {
            client_order_id: format!("ap-{fill_id}"),
            broker_order_id: None,
            strategy_id: strategy.to_owned(),
            broker: Broker::Paper,
            token,
            symbol: symbol_of(token),
            side,
        },
        fill_id: fill_id.to_owned(),
        quantity,
        price: d(price),
        fees: Fees {
            brokerage: d(fees),
            total: d(fees),
            ..Fees::default()
        },
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: at("2026-11-26T04:00:00Z"),
    }
}

/// The starting cash of every test outcome.
pub const STARTING_CASH: &str = "100000";

/// A paper strategy whose final portfolio is its fills applied to a fresh
/// [`Portfolio`] then marked at `marks`; one order per fill, no signal counted.
pub fn strategy(
    id: &str,
    fills: Vec<OrderFilled>,
    equity: Vec<EquityPoint>,
    marks: &[(u32, &str)],
) -> StrategyOutcome {
    let mut portfolio = Portfolio::new(Broker::Paper, id, d(STARTING_CASH));
    for f in &fills {
        portfolio.apply_fill(f).unwrap();
    }
    for (token, price) in marks {
        portfolio.mark(*token, d(price));
    }
    StrategyOutcome {
        broker: Broker::Paper,
        strategy_id: id.to_owned(),
        signals: fills.len() as u64,
        rejected: 0,
        orders: fills.len() as u64,
        failed_orders: 0,
        fills,
        equity,
        final_portfolio: portfolio.snapshot(at("2026-11-26T10:00:00Z")),
    }
}

/// A strategy with an equity curve and no fills.
pub fn curve_only(id: &str, equity: Vec<EquityPoint>) -> StrategyOutcome {
    strategy(id, Vec::new(), equity, &[])
}

pub fn outcome(strategies: Vec<StrategyOutcome>) -> Outcome {
    Outcome {
        input: "ticks/2026-11-26.jsonl".to_owned(),
        seed: 42,
        ticks: 1_000,
        first_tick: Some(at("2026-11-26T03:45:00Z")),
        last_tick: Some(at("2026-11-26T10:00:00Z")),
        starting_cash: d(STARTING_CASH),
        strategies,
    }
}
