//! `GET /portfolio/positions` and `GET /portfolio/holdings`: the account as Kite reports
//! it, computed from the fake's trades plus what a test sets (overnight positions,
//! holdings).
//!
//! Why: the engine reconciles its own book with Kite's; a fake whose positions follow its
//! trades (including untagged ones) lets tests see drift as the engine would.
//!
//! Positions, per (exchange, tradingsymbol, product), in order of first appearance
//! (overnight positions first): `net` holds the overnight quantity (counted as bought, or
//! sold when short, at its average price, and shown as `overnight_quantity`) plus every
//! trade; `day` holds only the trades (so an untraded overnight position is in `net` only).
//! Kite's formulas, with multiplier 1 and instrument_token 0:
//! - `quantity` = buy_quantity − sell_quantity; `buy_price` = buy_value / buy_quantity
//!   (0 when none), `sell_price` likewise; `average_price` = buy_price when long,
//!   sell_price when short, 0 when flat;
//! - `value` = sell_value − buy_value; `pnl` = value + quantity × last_price;
//!   `realised` = min(buy, sell quantity) × (sell_price − buy_price), rounded to 4 places;
//!   `unrealised` = pnl − realised; `m2m` = pnl and `*_m2m` = `*_value` (the overnight
//!   part is carried at its average price, which is also the `close_price`; 0 without one);
//! - `last_price`: the instrument's set last price, else its latest trade's price, else the
//!   overnight average price.
//!
//! Holdings, in the order set: `product` CNC; `opening_quantity` = quantity + t1_quantity;
//! `realised_quantity` = quantity (settled); `used_quantity` = today's CNC sells of the
//! instrument (at most the opening quantity; `quantity` itself changes only at settlement,
//! as on Kite, so the sale also shows in the positions); `close_price` = average_price (the
//! fake knows no previous close); `last_price` as above, else average_price; `pnl` =
//! (last − average) × opening quantity; `day_change` = last − close;
//! `day_change_percentage` = day_change / close × 100, rounded to 4 places; `isin` a
//! placeholder "INEFAKE" + 5 digits.
//!
//! Exact [`Decimal`]s throughout; averages are written rounded to 4 places, values exactly.

use super::FakeKite;
use super::state::{State, price_json};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// A position carried from an earlier day.
struct Overnight {
    exchange: String,
    tradingsymbol: String,
    product: String,
    /// Negative: short.
    quantity: i64,
    average_price: Decimal,
}

struct Holding {
    exchange: String,
    tradingsymbol: String,
    quantity: u64,
    t1_quantity: u64,
    average_price: Decimal,
}

/// What the test set.
#[derive(Default)]
pub(super) struct Portfolio {
    overnight: Vec<Overnight>,
    holdings: Vec<Holding>,
}

/// One side's quantity and value.
#[derive(Debug, Clone, Copy, Default)]
struct Side {
    quantity: u64,
    value: Decimal,
}

impl Side {
    fn add(&mut self, quantity: u64, price: Decimal) {
        self.quantity += quantity;
        self.value += Decimal::from(quantity) * price;
    }

    fn price(&self) -> Decimal {
        match self.quantity {
            0 => Decimal::ZERO,
            quantity => self.value / Decimal::from(quantity),
        }
    }
}

/// One position being summed.
struct Tally {
    exchange: String,
    tradingsymbol: String,
    product: String,
    overnight: i64,
    overnight_price: Option<Decimal>,
    last_trade_price: Option<Decimal>,
    buys: Side,
    sells: Side,
    day_buys: Side,
    day_sells: Side,
    traded: bool,
}

fn tally<'a>(
    tallies: &'a mut Vec<Tally>,
    exchange: &str,
    tradingsymbol: &str,
    product: &str,
) -> &'a mut Tally {
    let found = tallies.iter().position(|t| {
        t.exchange == exchange && t.tradingsymbol == tradingsymbol && t.product == product
    });
    let index = found.unwrap_or_else(|| {
        tallies.push(Tally {
            exchange: exchange.to_owned(),
            tradingsymbol: tradingsymbol.to_owned(),
            product: product.to_owned(),
            overnight: 0,
            overnight_price: None,
            last_trade_price: None,
            buys: Side::default(),
            sells: Side::default(),
            day_buys: Side::default(),
            day_sells: Side::default(),
            traded: false,
        });
        tallies.len() - 1
    });
    &mut tallies[index]
}

fn tallies(state: &State) -> Vec<Tally> {
    let mut tallies = Vec::new();
    for o in &state.portfolio.overnight {
        let t = tally(&mut tallies, &o.exchange, &o.tradingsymbol, &o.product);
        t.overnight = o.quantity;
        t.overnight_price = Some(o.average_price);
        let side = if o.quantity > 0 {
            &mut t.buys
        } else {
            &mut t.sells
        };
        side.add(o.quantity.unsigned_abs(), o.average_price);
    }
    for trade in state.trades() {
        let Some(order) = state.order(&trade.order_id) else {
            continue; // Unreachable: trades are only made for existing orders.
        };
        let t = tally(
            &mut tallies,
            &order.exchange,
            &order.tradingsymbol,
            &order.product,
        );
        let (side, day) = match order.transaction_type.as_str() {
            "BUY" => (&mut t.buys, &mut t.day_buys),
            _ => (&mut t.sells, &mut t.day_sells),
        };
        side.add(trade.quantity, trade.price);
        day.add(trade.quantity, trade.price);
        t.last_trade_price = Some(trade.price);
        t.traded = true;
    }
    tallies
}

fn average(price: Decimal) -> Value {
    price_json(price.round_dp(4))
}

fn position_json(t: &Tally, overnight: i64, buys: Side, sells: Side, last: Decimal) -> Value {
    let quantity = i128::from(buys.quantity) - i128::from(sells.quantity);
    let (buy_price, sell_price) = (buys.price(), sells.price());
    let average_price = match quantity {
        q if q > 0 => buy_price,
        q if q < 0 => sell_price,
        _ => Decimal::ZERO,
    };
    let value = sells.value - buys.value;
    let pnl = value + Decimal::from(quantity) * last;
    let matched = Decimal::from(buys.quantity.min(sells.quantity));
    let realised = (matched * (sell_price - buy_price)).round_dp(4);
    let (day_buys, day_sells) = (t.day_buys, t.day_sells);
    json!({
        "tradingsymbol": t.tradingsymbol,
        "exchange": t.exchange,
        "instrument_token": 0,
        "product": t.product,
        "quantity": quantity,
        "overnight_quantity": overnight,
        "multiplier": 1,
        "average_price": average(average_price),
        "close_price": price_json(t.overnight_price.unwrap_or_default()),
        "last_price": price_json(last),
        "value": price_json(value),
        "pnl": price_json(pnl),
        "m2m": price_json(pnl),
        "unrealised": price_json(pnl - realised),
        "realised": price_json(realised),
        "buy_quantity": buys.quantity,
        "buy_price": average(buy_price),
        "buy_value": price_json(buys.value),
        "buy_m2m": price_json(buys.value),
        "sell_quantity": sells.quantity,
        "sell_price": average(sell_price),
        "sell_value": price_json(sells.value),
        "sell_m2m": price_json(sells.value),
        "day_buy_quantity": day_buys.quantity,
        "day_buy_price": average(day_buys.price()),
        "day_buy_value": price_json(day_buys.value),
        "day_sell_quantity": day_sells.quantity,
        "day_sell_price": average(day_sells.price()),
        "day_sell_value": price_json(day_sells.value),
    })
}

/// The `data` of `GET /portfolio/positions`.
pub(super) fn positions_json(state: &State) -> Value {
    let tallies = tallies(state);
    let last = |t: &Tally| {
        state
            .market
            .last_price(&t.exchange, &t.tradingsymbol)
            .or(t.last_trade_price)
            .or(t.overnight_price)
            .unwrap_or_default()
    };
    let net: Vec<Value> = tallies
        .iter()
        .map(|t| position_json(t, t.overnight, t.buys, t.sells, last(t)))
        .collect();
    let day: Vec<Value> = tallies
        .iter()
        .filter(|t| t.traded)
        .map(|t| position_json(t, 0, t.day_buys, t.day_sells, last(t)))
        .collect();
    json!({"net": net, "day": day})
}

/// Today's CNC sells of an instrument.
fn cnc_sold(state: &State, exchange: &str, tradingsymbol: &str) -> u64 {
    state
        .trades()
        .iter()
        .filter(|trade| {
            state.order(&trade.order_id).is_some_and(|o| {
                o.exchange == exchange
                    && o.tradingsymbol == tradingsymbol
                    && o.product == "CNC"
                    && o.transaction_type == "SELL"
            })
        })
        .map(|trade| trade.quantity)
        .sum()
}

/// The `data` of `GET /portfolio/holdings`.
pub(super) fn holdings_json(state: &State) -> Value {
    let holdings = state.portfolio.holdings.iter().enumerate().map(|(i, h)| {
        let opening = h.quantity + h.t1_quantity;
        let last = state
            .market
            .last_price(&h.exchange, &h.tradingsymbol)
            .unwrap_or(h.average_price);
        let close = h.average_price;
        let day_change = last - close;
        let day_change_pct = match close.is_zero() {
            true => Decimal::ZERO,
            false => (day_change / close * Decimal::ONE_HUNDRED).round_dp(4),
        };
        json!({
            "tradingsymbol": h.tradingsymbol,
            "exchange": h.exchange,
            "instrument_token": 0,
            "isin": format!("INEFAKE{:05}", i + 1),
            "product": "CNC",
            "price": 0,
            "quantity": h.quantity,
            "t1_quantity": h.t1_quantity,
            "realised_quantity": h.quantity,
            "opening_quantity": opening,
            "used_quantity": cnc_sold(state, &h.exchange, &h.tradingsymbol).min(opening),
            "collateral_quantity": 0,
            "collateral_type": "",
            "authorised_quantity": 0,
            "discrepancy": false,
            "average_price": average(h.average_price),
            "last_price": price_json(last),
            "close_price": price_json(close),
            "pnl": price_json((last - h.average_price) * Decimal::from(opening)),
            "day_change": price_json(day_change),
            "day_change_percentage": price_json(day_change_pct),
        })
    });
    Value::Array(holdings.collect())
}

impl FakeKite {
    /// Sets the position carried into today for (exchange, tradingsymbol, product):
    /// negative is short; 0 removes it. It shows in `net`, not in `day`.
    pub fn set_overnight_position(
        &self,
        exchange: &str,
        tradingsymbol: &str,
        product: &str,
        quantity: i64,
        average_price: Decimal,
    ) {
        self.script(|state| {
            let overnight = &mut state.portfolio.overnight;
            overnight.retain(|o| {
                (
                    o.exchange.as_str(),
                    o.tradingsymbol.as_str(),
                    o.product.as_str(),
                ) != (exchange, tradingsymbol, product)
            });
            if quantity != 0 {
                overnight.push(Overnight {
                    exchange: exchange.to_owned(),
                    tradingsymbol: tradingsymbol.to_owned(),
                    product: product.to_owned(),
                    quantity,
                    average_price,
                });
            }
            Ok(())
        });
    }

    /// Sets a delivery holding: `quantity` settled, `t1_quantity` bought but not yet
    /// settled; both 0 removes it.
    pub fn set_holding(
        &self,
        exchange: &str,
        tradingsymbol: &str,
        quantity: u64,
        t1_quantity: u64,
        average_price: Decimal,
    ) {
        self.script(|state| {
            let holdings = &mut state.portfolio.holdings;
            let found = holdings
                .iter()
                .position(|h| h.exchange == exchange && h.tradingsymbol == tradingsymbol);
            let holding = Holding {
                exchange: exchange.to_owned(),
                tradingsymbol: tradingsymbol.to_owned(),
                quantity,
                t1_quantity,
                average_price,
            };
            match (found, quantity + t1_quantity) {
                (Some(i), 0) => drop(holdings.remove(i)),
                (Some(i), _) => holdings[i] = holding,
                (None, 0) => {}
                (None, _) => holdings.push(holding),
            }
            Ok(())
        });
    }
}
