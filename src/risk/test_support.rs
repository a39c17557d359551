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

// ---- F&O: a registry of NIFTY and BANKNIFTY contracts, their rules and prices ----

/// NIFTY 50, the price of the underlying NIFTY; the tests' last price is 26000.
pub(super) const NIFTY_INDEX: u32 = 256_265;
/// NIFTY future, lot 65; last price 26100.
pub(super) const NIFTY_FUT: u32 = 12_000_002;
/// NIFTY 26000 call, lot 65; last price 150.
pub(super) const NIFTY_CE: u32 = 12_000_258;
/// NIFTY 25500 put, lot 65; last price 120.
pub(super) const NIFTY_PE: u32 = 12_000_514;
/// BANKNIFTY future, lot 30, no freeze quantity configured; last price 59200.
pub(super) const BANK_FUT: u32 = 12_000_770;
/// NIFTY's lot size.
pub(super) const LOT: u32 = 65;
/// NIFTY's freeze quantity in these tests: 28 lots.
pub(super) const FREEZE: u32 = 1820;

/// The F&O test registry, with RELIANCE ([`TOKEN`]) as the one equity.
pub(super) fn fno_registry() -> crate::market::InstrumentRegistry {
    let csv = "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n\
               256265,1001,NIFTY 50,NIFTY 50,0,,0,0,0,EQ,INDICES,NSE\n\
               12000002,46875,NIFTY26DECFUT,NIFTY,0,2026-12-29,0,0.10,65,FUT,NFO-FUT,NFO\n\
               12000258,46876,NIFTY26DEC26000CE,NIFTY,0,2026-12-29,26000,0.05,65,CE,NFO-OPT,NFO\n\
               12000514,46877,NIFTY26DEC25500PE,NIFTY,0,2026-12-29,25500,0.05,65,PE,NFO-OPT,NFO\n\
               12000770,46878,BANKNIFTY26DECFUT,BANKNIFTY,0,2026-12-29,0,0.20,30,FUT,NFO-FUT,NFO\n\
               738561,2885,RELIANCE,RELIANCE INDUSTRIES,0,,0,0.05,1,EQ,NSE,NSE\n";
    crate::market::InstrumentRegistry::parse(csv, "test").expect("test registry")
}

/// Every test price: the index and each contract's last tick.
pub(super) const FNO_PRICES: [(u32, &str); 5] = [
    (NIFTY_INDEX, "26000"),
    (NIFTY_FUT, "26100"),
    (NIFTY_CE, "150"),
    (NIFTY_PE, "120"),
    (BANK_FUT, "59200"),
];

/// A paper risk state with `limits` under the F&O registry (NIFTY's freeze quantity
/// [`FREEZE`], `slices` slices, NIFTY priced by [`NIFTY_INDEX`]) and `prices` ticked.
pub(super) fn fno_risk(limits: RiskLimits, slices: u32, prices: &[(u32, &str)]) -> BrokerRisk {
    let fno = FnoRules::new(
        std::collections::BTreeMap::from([("NIFTY".to_owned(), FREEZE)]),
        slices,
        std::collections::BTreeMap::from([("NIFTY".to_owned(), NIFTY_INDEX)]),
    );
    let mut r = BrokerRisk::new(Broker::Paper, limits)
        .with_market(MarketRules::new(&fno_registry()).with_fno(fno));
    for (token, price) in prices {
        let _ = r.on_tick(*token, dec(price));
    }
    r
}

/// A paper LIMIT order of `strategy` on a contract of the F&O registry.
pub(super) fn contract(
    strategy: &str,
    token: u32,
    side: Side,
    quantity: u32,
    price: &str,
) -> TradingSignal {
    let symbol = fno_registry()
        .by_token(token)
        .map(|i| i.symbol.clone())
        .unwrap_or_default();
    TradingSignal {
        strategy_id: strategy.into(),
        token,
        symbol,
        ..limit(side, quantity, price)
    }
}

/// `signal` approved at [`morning`]; its signal id (its order id follows from it).
pub(super) fn approve(r: &mut BrokerRisk, signal: &TradingSignal) -> Uuid {
    let id = Uuid::new_v4();
    assert_eq!(r.check(id, signal, morning()), Ok(()), "{}", signal.reason);
    id
}

/// An execution of `quantity` at `price` of the order of `signal_id` (`signal`), its
/// `cumulative` quantity filled so far.
pub(super) fn execution(
    signal_id: Uuid,
    signal: &TradingSignal,
    quantity: u32,
    cumulative: u32,
    price: &str,
) -> OrderFilled {
    OrderFilled {
        order: OrderRef {
            client_order_id: crate::messages::client_order_id_of_signal(signal_id),
            broker_order_id: None,
            strategy_id: signal.strategy_id.clone(),
            broker: signal.broker,
            token: signal.token,
            symbol: signal.symbol.clone(),
            side: signal.side,
        },
        fill_id: format!("{signal_id}-{cumulative}"),
        quantity,
        price: dec(price),
        fees: Fees::default(),
        cumulative_quantity: cumulative,
        order_quantity: signal.quantity,
        filled_at: morning(),
    }
}

/// `strategy` holds `quantity` of `token` bought (or sold) at `price`: an order
/// approved and filled whole.
pub(super) fn hold(
    r: &mut BrokerRisk,
    strategy: &str,
    token: u32,
    side: Side,
    quantity: u32,
    price: &str,
) {
    let signal = contract(strategy, token, side, quantity, price);
    let id = approve(r, &signal);
    apply(r, &execution(id, &signal, quantity, quantity, price));
}
