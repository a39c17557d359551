//! The fake's market: each instrument's tick size, lot size, freeze quantity and last
//! price, and the limit price protection (LPP) band — the checks Kite and the exchange
//! apply to an order's numbers.
//!
//! Why: an engine must put prices on the tick grid, size in lots and, since April 2026, keep
//! limit prices near the market (KITE.md). A fake that accepts any number hides those bugs
//! until the real broker refuses the order.
//!
//! Rules (the wording is Kite-like and chosen here; tests match it exactly):
//! - Derivatives: an order on NFO or BFO needs its contract set with
//!   [`FakeKite::set_instrument`] (a contract's lot is never 1, so the default would hide a
//!   quantity in units that should be in lots), else 400 InputException
//!   [`UNKNOWN_CONTRACT`]. Checked first.
//! - Lot: `quantity` must be a multiple of the lot size, else 400 InputException
//!   "Quantity should be a multiple of lot size 75."
//! - Freeze: with a freeze quantity set ([`FakeKite::set_freeze_quantity`]), `quantity`
//!   must not exceed it, else 400 InputException [`freeze_quantity_message`] ("Quantity
//!   exceeds the freeze limit of 1800 for this instrument. ..."). Kite's own words for this
//!   refusal were not found; these are ours. Placement and modify alike.
//! - Tick: `price`, then `trigger_price`, when not 0, must be multiples of the tick size,
//!   else 400 InputException "Tick size for this script is 0.05. Kindly enter a price in
//!   multiples of tick size for this script." (the tick written as its normalized decimal).
//! - LPP: only with a reference price (set with [`FakeKite::set_last_price`]), only for LIMIT
//!   and SL orders (their limit `price`; triggers and market orders are not checked). The
//!   price must lie within reference × (1 ± band / 100), bounds included. Outside, the
//!   exchange refuses it with [`LPP_REJECTION`] (the words users report, which read like a
//!   circuit-limit error): a placement is accepted and the order is REJECTED with that
//!   status_message (the exchange refuses after Kite took the request); a modify answers
//!   400 OrderException with the same message and changes nothing.
//!
//! Defaults: tick 0.05, lot 1, no freeze quantity for any instrument not set (NFO and BFO
//! have no defaults: their contracts must be set); band 5 % (tight on purpose: the
//! real bands are wider, up to ±40 % for options, and an engine whose buffers pass 5 %
//! passes them); no reference price, hence no LPP check. Quantities are in units, as on
//! NSE/NFO.

use super::FakeKite;
use super::state::{FakeOrder, NewOrder};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The tick size of an instrument nobody set: 0.05.
pub const DEFAULT_TICK_SIZE: Decimal = Decimal::from_parts(5, 0, 0, false, 2);
/// The lot size of an instrument nobody set.
pub const DEFAULT_LOT_SIZE: u64 = 1;
/// The LPP band until [`FakeKite::set_lpp_band_pct`]: ±5 % of the reference price.
pub const DEFAULT_LPP_BAND_PCT: Decimal = Decimal::from_parts(5, 0, 0, false, 0);
/// The status_message (placement) or error message (modify) of an LPP refusal.
pub const LPP_REJECTION: &str =
    "Price exceeds circuit limits for the instrument. Place an order within the daily range.";

/// The refusal of a price off the tick grid.
pub fn tick_size_message(tick_size: Decimal) -> String {
    format!(
        "Tick size for this script is {}. Kindly enter a price in multiples of tick size for \
         this script.",
        tick_size.normalize()
    )
}

/// The refusal of an order on a derivatives exchange for a contract nobody set.
pub const UNKNOWN_CONTRACT: &str =
    "The instrument you are placing an order for has either expired or does not exist.";

/// Exchanges whose contracts come in lots: an order there needs its contract set.
const DERIVATIVES_EXCHANGES: [&str; 2] = ["NFO", "BFO"];

/// The refusal of a quantity above the instrument's freeze quantity.
pub fn freeze_quantity_message(freeze_quantity: u64) -> String {
    format!(
        "Quantity exceeds the freeze limit of {freeze_quantity} for this instrument. Place a \
         smaller order, or slice it into orders of at most the freeze quantity."
    )
}

/// The refusal of a quantity that is not a whole number of lots.
pub fn lot_size_message(lot_size: u64) -> String {
    format!("Quantity should be a multiple of lot size {lot_size}.")
}

/// The numbers of an order the market checks (of a new order or of a modified one).
pub(super) struct Terms<'a> {
    pub exchange: &'a str,
    pub tradingsymbol: &'a str,
    pub order_type: &'a str,
    pub quantity: u64,
    pub price: Decimal,
    pub trigger_price: Decimal,
}

macro_rules! terms_of {
    ($order:ident) => {
        Terms {
            exchange: &$order.exchange,
            tradingsymbol: &$order.tradingsymbol,
            order_type: &$order.order_type,
            quantity: $order.quantity,
            price: $order.price,
            trigger_price: $order.trigger_price,
        }
    };
}

impl FakeOrder {
    /// The numbers the market checks.
    pub(super) fn terms(&self) -> Terms<'_> {
        terms_of!(self)
    }
}

impl NewOrder {
    /// The numbers the market checks.
    pub(super) fn terms(&self) -> Terms<'_> {
        terms_of!(self)
    }
}

type Key = (String, String);

fn key(exchange: &str, tradingsymbol: &str) -> Key {
    (exchange.to_owned(), tradingsymbol.to_owned())
}

#[derive(Debug, Clone, Copy)]
struct Instrument {
    tick_size: Decimal,
    lot_size: u64,
    /// The largest quantity one order may have; `None`: no limit.
    freeze_quantity: Option<u64>,
}

/// Instruments, last prices and the LPP band.
pub(super) struct Market {
    instruments: HashMap<Key, Instrument>,
    last_prices: HashMap<Key, Decimal>,
    lpp_band_pct: Decimal,
}

impl Default for Market {
    fn default() -> Self {
        Market {
            instruments: HashMap::new(),
            last_prices: HashMap::new(),
            lpp_band_pct: DEFAULT_LPP_BAND_PCT,
        }
    }
}

impl Market {
    fn instrument(&self, exchange: &str, tradingsymbol: &str) -> Instrument {
        self.instruments
            .get(&key(exchange, tradingsymbol))
            .copied()
            .unwrap_or(Instrument {
                tick_size: DEFAULT_TICK_SIZE,
                lot_size: DEFAULT_LOT_SIZE,
                freeze_quantity: None,
            })
    }

    pub fn lot_size(&self, exchange: &str, tradingsymbol: &str) -> u64 {
        self.instrument(exchange, tradingsymbol).lot_size
    }

    pub fn last_price(&self, exchange: &str, tradingsymbol: &str) -> Option<Decimal> {
        self.last_prices.get(&key(exchange, tradingsymbol)).copied()
    }

    /// `GET /quote/ltp`'s data for the `i` parameters of `query`: each instrument with a
    /// last price (set by [`FakeKite::set_last_price`]), keyed as asked; others absent.
    pub fn ltp_json(&self, query: &[(String, String)]) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for (_, asked) in query.iter().filter(|(name, _)| name == "i") {
            let Some((exchange, tradingsymbol)) = asked.split_once(':') else {
                continue;
            };
            if let Some(price) = self.last_price(exchange, tradingsymbol) {
                out.insert(
                    asked.clone(),
                    serde_json::json!({ "instrument_token": 0, "last_price": super::state::price_json(price) }),
                );
            }
        }
        serde_json::Value::Object(out)
    }

    /// A derivative's contract is known, then lot, freeze, price tick, trigger tick.
    ///
    /// # Errors
    /// [`UNKNOWN_CONTRACT`], [`lot_size_message`], [`freeze_quantity_message`] or
    /// [`tick_size_message`] (a 400 InputException).
    pub fn check_grid(&self, terms: &Terms<'_>) -> Result<(), String> {
        let key = key(terms.exchange, terms.tradingsymbol);
        if DERIVATIVES_EXCHANGES.contains(&terms.exchange) && !self.instruments.contains_key(&key) {
            return Err(UNKNOWN_CONTRACT.to_owned());
        }
        let instrument = self.instrument(terms.exchange, terms.tradingsymbol);
        if !terms.quantity.is_multiple_of(instrument.lot_size) {
            return Err(lot_size_message(instrument.lot_size));
        }
        if let Some(freeze) = instrument.freeze_quantity.filter(|f| terms.quantity > *f) {
            return Err(freeze_quantity_message(freeze));
        }
        for price in [terms.price, terms.trigger_price] {
            if !price.is_zero() && !(price % instrument.tick_size).is_zero() {
                return Err(tick_size_message(instrument.tick_size));
            }
        }
        Ok(())
    }

    /// Limit price protection of a LIMIT or SL order's price.
    ///
    /// # Errors
    /// [`LPP_REJECTION`] when the price lies outside the band around the reference price.
    pub fn check_lpp(&self, terms: &Terms<'_>) -> Result<(), String> {
        if !matches!(terms.order_type, "LIMIT" | "SL") {
            return Ok(());
        }
        let Some(reference) = self.last_price(terms.exchange, terms.tradingsymbol) else {
            return Ok(());
        };
        let band = reference * self.lpp_band_pct / Decimal::ONE_HUNDRED;
        if terms.price < reference - band || terms.price > reference + band {
            return Err(LPP_REJECTION.to_owned());
        }
        Ok(())
    }
}

impl FakeKite {
    /// Sets an instrument's tick size and lot size (others keep 0.05 and 1), keeping a
    /// freeze quantity set before.
    ///
    /// # Panics
    /// A tick size that is not > 0, or a lot size of 0.
    pub fn set_instrument(
        &self,
        exchange: &str,
        tradingsymbol: &str,
        tick_size: Decimal,
        lot_size: u64,
    ) {
        self.script(|state| {
            if tick_size <= Decimal::ZERO || lot_size == 0 {
                return Err(format!(
                    "bad instrument {exchange}:{tradingsymbol}: tick {tick_size}, lot {lot_size}"
                ));
            }
            let instruments = &mut state.market.instruments;
            let freeze_quantity = instruments
                .get(&key(exchange, tradingsymbol))
                .and_then(|i| i.freeze_quantity);
            let instrument = Instrument {
                tick_size,
                lot_size,
                freeze_quantity,
            };
            instruments.insert(key(exchange, tradingsymbol), instrument);
            Ok(())
        });
    }

    /// Sets the freeze quantity of an instrument set with [`FakeKite::set_instrument`]:
    /// an order (or a modification) for more is refused.
    ///
    /// # Panics
    /// The instrument was not set, or a freeze quantity of 0.
    pub fn set_freeze_quantity(&self, exchange: &str, tradingsymbol: &str, freeze_quantity: u64) {
        self.script(|state| {
            let instrument = state
                .market
                .instruments
                .get_mut(&key(exchange, tradingsymbol))
                .ok_or_else(|| format!("set_instrument {exchange}:{tradingsymbol} first"))?;
            if freeze_quantity == 0 {
                return Err(format!(
                    "bad freeze quantity 0 for {exchange}:{tradingsymbol}"
                ));
            }
            instrument.freeze_quantity = Some(freeze_quantity);
            Ok(())
        });
    }

    /// Sets an instrument's last price: the LPP reference, the `last_price` of positions and
    /// holdings, and — with auto-execution on — the price resting orders now fill at if it
    /// makes them marketable.
    ///
    /// # Panics
    /// A price that is not > 0.
    pub fn set_last_price(&self, exchange: &str, tradingsymbol: &str, price: Decimal) {
        self.script(|state| {
            if price <= Decimal::ZERO {
                return Err(format!(
                    "bad last price {price} for {exchange}:{tradingsymbol}"
                ));
            }
            state
                .market
                .last_prices
                .insert(key(exchange, tradingsymbol), price);
            state.execute_resting(Some((exchange, tradingsymbol)))
        });
    }

    /// Sets the LPP band, in percent of the reference price (default 5).
    ///
    /// # Panics
    /// A negative band.
    pub fn set_lpp_band_pct(&self, band_pct: Decimal) {
        self.script(|state| {
            if band_pct.is_sign_negative() {
                return Err(format!("bad LPP band {band_pct} %"));
            }
            state.market.lpp_band_pct = band_pct;
            Ok(())
        });
    }
}
