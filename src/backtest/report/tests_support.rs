//! Builders shared by the report tests.

use super::{EquityPoint, Outcome, StrategyOutcome};
use crate::messages::{Broker, OrderFilled, Side};
use crate::portfolio::Portfolio;

pub use crate::portfolio::tests_support::{RELIANCE, TCS, at, d};

pub fn point(ts: &str, equity: &str) -> EquityPoint {
    EquityPoint {
        ts: at(ts),
        equity: d(equity),
    }
}

/// A complete paper fill of `strategy` ([`crate::portfolio::tests_support::fill`]) with the
/// client order id `ap-{fill_id}`, prices and fees as text; all fees brokerage; at 09:30 IST
/// on 2026-11-26.
pub fn fill(
    fill_id: &str,
    strategy: &str,
    token: u32,
    side: Side,
    quantity: u32,
    price: &str,
    fees: &str,
) -> OrderFilled {
    let mut fill = crate::portfolio::tests_support::fill(
        fill_id,
        strategy,
        token,
        side,
        quantity,
        d(price),
        d(fees),
    );
    fill.order.client_order_id = format!("ap-{fill_id}");
    fill
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
        kind: "ema_cross".to_owned(),
        signals: fills.len() as u64,
        rejected: 0,
        orders: fills.len() as u64,
        failed_orders: 0,
        fills,
        streamed: None,
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
        fills_written: false,
        prices: Vec::new(),
        charges: crate::paper::charges::ChargeSchedule::default(),
    }
}
