//! What happens to an order after Kite took it: limit price protection, opt-in
//! auto-execution against the last price, and trades nobody placed through the API.
//!
//! Why: existing tests script every fill by hand; a soak test needs a market that fills
//! what is marketable on its own, and reconciliation tests need trades the engine did not
//! place (Zerodha's MIS auto square-off, an RMS square-off, a manual trade in the app).
//!
//! Auto-execution ([`FakeKite::auto_execute`], off by default). One *execution step* of an
//! order, when the order is OPEN or TRIGGER PENDING (other interim statuses a test set are
//! left alone) and its instrument has a last price:
//! - SL and SL-M are triggered once the last price reaches the trigger (BUY: last ≥
//!   trigger, SELL: last ≤ trigger) or once they filled anything; untriggered, nothing
//!   happens (a triggered SL whose limit then misses is not remembered as triggered);
//! - MARKET and triggered SL-M are marketable; LIMIT and triggered SL are marketable when
//!   BUY price ≥ last or SELL price ≤ last;
//! - a marketable order fills at the last price, in one trade of
//!   `floor(unfilled × fill_fraction)` rounded down to a multiple of the lot size, at least
//!   one lot, at most the unfilled quantity.
//!
//! A step runs for an order just placed (after LPP; an IOC order then cancels what is left
//! unfilled), for an order just modified, and for every resting order of an instrument when
//! [`FakeKite::set_last_price`] sets its price (and for all orders when auto-execution is
//! turned on). So a partial fill rests, and fills further at the next price. Trades get ids
//! and timestamps as manual fills do.

use super::FakeKite;
use super::state::{FAKE_USER_ID, FakeOrder, NewOrder, State};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// The opt-in auto-execution mode (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoExecution {
    /// The share of an order's unfilled quantity one step fills, in (0, 1]; 1 fills it all.
    pub fill_fraction: Decimal,
}

impl Default for AutoExecution {
    /// Every marketable order fills completely.
    fn default() -> Self {
        AutoExecution {
            fill_fraction: Decimal::ONE,
        }
    }
}

impl AutoExecution {
    /// Each step fills `fill_fraction` of what is unfilled (rounded down to lots, at least
    /// one lot).
    pub fn partial(fill_fraction: Decimal) -> AutoExecution {
        AutoExecution { fill_fraction }
    }
}

/// The price a step fills `order` at when the last price is `last`; `None`: not marketable.
pub(super) fn fill_price(order: &FakeOrder, last: Decimal) -> Option<Decimal> {
    let buy = order.transaction_type == "BUY";
    let stop = matches!(order.order_type.as_str(), "SL" | "SL-M");
    let reached = if buy {
        last >= order.trigger_price
    } else {
        last <= order.trigger_price
    };
    if stop && order.filled_quantity == 0 && !reached {
        return None;
    }
    let marketable = match order.order_type.as_str() {
        "MARKET" | "SL-M" => true,
        _ if buy => order.price >= last,
        _ => order.price <= last,
    };
    marketable.then_some(last)
}

/// How much one step fills of `unfilled`.
pub(super) fn fill_quantity(unfilled: u64, lot_size: u64, fill_fraction: Decimal) -> u64 {
    let share = (Decimal::from(unfilled) * fill_fraction)
        .floor()
        .to_u64()
        .unwrap_or(unfilled);
    let lots = share / lot_size * lot_size;
    lots.max(lot_size).min(unfilled)
}

impl State {
    /// After an order was created and no script decided its fate: LPP, then (auto mode) a
    /// step, then IOC.
    ///
    /// # Errors
    /// Unknown order (a bug of the caller).
    pub fn settle_placed(&mut self, order_id: &str) -> Result<(), String> {
        let order = self
            .order(order_id)
            .ok_or_else(|| format!("no order {order_id}"))?;
        if let Err(message) = self.market.check_lpp(&order.terms()) {
            return self.update(order_id, |order| {
                order.status = "REJECTED".to_owned();
                order.status_message = Some(message);
                Ok(())
            });
        }
        if self.auto.is_none() {
            return Ok(());
        }
        self.execute(order_id)?;
        let unfilled_ioc = self
            .order(order_id)
            .is_some_and(|order| order.validity == "IOC" && !order.is_terminal());
        if unfilled_ioc {
            self.update(order_id, |order| {
                order.status = "CANCELLED".to_owned();
                Ok(())
            })?;
        }
        Ok(())
    }

    /// One execution step of the order (nothing when auto-execution is off).
    ///
    /// # Errors
    /// Unknown order (a bug of the caller).
    pub fn execute(&mut self, order_id: &str) -> Result<(), String> {
        let Some(auto) = self.auto else {
            return Ok(());
        };
        let order = self
            .order(order_id)
            .ok_or_else(|| format!("no order {order_id}"))?;
        if !matches!(order.status.as_str(), "OPEN" | "TRIGGER PENDING") {
            return Ok(());
        }
        let Some(last) = self
            .market
            .last_price(&order.exchange, &order.tradingsymbol)
        else {
            return Ok(());
        };
        let Some(price) = fill_price(order, last) else {
            return Ok(());
        };
        let unfilled = order.quantity.saturating_sub(order.filled_quantity);
        let lot_size = self.market.lot_size(&order.exchange, &order.tradingsymbol);
        let quantity = fill_quantity(unfilled, lot_size, auto.fill_fraction);
        self.fill(order_id, quantity, price).map(drop)
    }

    /// One step for every order of the instrument (`None`: of every instrument), in
    /// creation order.
    ///
    /// # Errors
    /// As [`State::execute`].
    pub fn execute_resting(&mut self, instrument: Option<(&str, &str)>) -> Result<(), String> {
        let ids: Vec<String> = self
            .orders()
            .filter(|order| {
                instrument.is_none_or(|(exchange, symbol)| {
                    order.exchange == exchange && order.tradingsymbol == symbol
                })
            })
            .map(|order| order.order_id.clone())
            .collect();
        ids.iter().try_for_each(|id| self.execute(id))
    }
}

/// The side of an external trade.
fn side(side: &str) -> Result<String, String> {
    match side {
        "BUY" | "SELL" => Ok(side.to_owned()),
        other => Err(format!("bad side {other:?}: BUY or SELL")),
    }
}

/// `placed_by` of Zerodha's own MIS auto square-off orders.
pub const AUTO_SQUARE_OFF_PLACED_BY: &str = "ADMINSQF";

/// A trade nobody placed through the API.
pub struct ExternalTrade<'a> {
    pub exchange: &'a str,
    pub tradingsymbol: &'a str,
    pub product: &'a str,
    /// "BUY" or "SELL".
    pub side: &'a str,
    pub quantity: u64,
    pub price: Decimal,
    /// [`FAKE_USER_ID`] for a manual trade in the Kite app, [`AUTO_SQUARE_OFF_PLACED_BY`]
    /// for the auto square-off, anything else (e.g. "ADMINRMS") for other square-offs.
    pub placed_by: &'a str,
}

impl FakeKite {
    /// Turns auto-execution on (see the module doc); marketable resting orders take a step
    /// at once.
    pub fn auto_execute(&self, mode: AutoExecution) {
        self.script(|state| {
            if mode.fill_fraction <= Decimal::ZERO || mode.fill_fraction > Decimal::ONE {
                return Err(format!("bad fill fraction {}", mode.fill_fraction));
            }
            state.auto = Some(mode);
            state.execute_resting(None)
        });
    }

    /// Turns auto-execution off: fills are scripted by hand again.
    pub fn stop_auto_execution(&self) {
        self.script(|state| {
            state.auto = None;
            Ok(())
        });
    }

    /// A manual trade in the Kite app: an untagged MARKET order placed by
    /// [`FAKE_USER_ID`], COMPLETE in one trade. Returns (order_id, trade_id).
    ///
    /// # Panics
    /// A side other than "BUY"/"SELL", or a zero quantity.
    pub fn external_trade(
        &self,
        exchange: &str,
        tradingsymbol: &str,
        product: &str,
        side: &str,
        quantity: u64,
        price: Decimal,
    ) -> (String, String) {
        self.external(ExternalTrade {
            exchange,
            tradingsymbol,
            product,
            side,
            quantity,
            price,
            placed_by: FAKE_USER_ID,
        })
    }

    /// Zerodha's auto square-off of an open MIS position: as [`FakeKite::external_trade`],
    /// product MIS, placed by [`AUTO_SQUARE_OFF_PLACED_BY`].
    ///
    /// # Panics
    /// As [`FakeKite::external_trade`].
    pub fn auto_square_off(
        &self,
        exchange: &str,
        tradingsymbol: &str,
        side: &str,
        quantity: u64,
        price: Decimal,
    ) -> (String, String) {
        self.external(ExternalTrade {
            exchange,
            tradingsymbol,
            product: "MIS",
            side,
            quantity,
            price,
            placed_by: AUTO_SQUARE_OFF_PLACED_BY,
        })
    }

    /// Any untagged trade: an order with no tag and no form, COMPLETE in one trade at
    /// `price` (no tick, lot, LPP or rate check: it did not come through the API). Shows
    /// in `GET /orders`, `GET /trades` and the positions. Returns (order_id, trade_id).
    ///
    /// # Panics
    /// As [`FakeKite::external_trade`].
    pub fn external(&self, trade: ExternalTrade<'_>) -> (String, String) {
        self.script(|state| {
            let transaction_type = side(trade.side)?;
            if trade.quantity == 0 {
                return Err("an external trade needs a quantity".to_owned());
            }
            let order_id = state.create(NewOrder {
                variety: "regular".to_owned(),
                exchange: trade.exchange.to_owned(),
                tradingsymbol: trade.tradingsymbol.to_owned(),
                transaction_type,
                order_type: "MARKET".to_owned(),
                product: trade.product.to_owned(),
                validity: "DAY".to_owned(),
                validity_ttl: None,
                quantity: trade.quantity,
                disclosed_quantity: 0,
                price: Decimal::ZERO,
                trigger_price: Decimal::ZERO,
                market_protection: 0,
                tag: None,
                placed_by: trade.placed_by.to_owned(),
                form: Vec::new(),
            });
            let trade_id = state.fill(&order_id, trade.quantity, trade.price)?;
            Ok((order_id, trade_id))
        })
    }
}
