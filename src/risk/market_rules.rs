//! [`MarketRules`]: what the market itself demands of a broker's orders, beside the limits
//! the operator configures ([`RiskLimits`](super::RiskLimits)): prices on the instrument's
//! tick grid, quantities in whole lots, derivative orders no larger than their freeze
//! quantity × the slices allowed ([`FnoRules`]), and no new MIS exposure once the
//! intraday entry cutoff has passed.
//!
//! Round or refuse: risk refuses, it never rounds. A validated signal is the strategy's own
//! intent, approved unchanged; a price quietly moved by risk would be an order the strategy
//! did not decide and its ledger does not know. The place a price could be put on the grid
//! is where an intent becomes a signal (`OrderIntent::into_signal`), which does not know the
//! instrument's tick today; the built-in strategy kinds send market orders, whose price
//! Zerodha execution puts on the grid itself (`zerodha::market_as_limit`: a buy down, a
//! sell up). A strategy that sends LIMIT or SL orders rounds its prices to the tick (a buy
//! down, a sell up: never a worse price) before it sends them; an off-grid price is refused
//! here with `tick_size` and the numbers, where the exchange would refuse it later.
//!
//! Which clock the entry cutoff reads: the signal's own timestamp (its envelope's `ts`,
//! which the strategy runner copies from the tick it decided on): the tick file's event
//! time in the backtest, the feed's receipt wall clock in the daemon. A redelivered signal
//! is therefore judged by when it was decided, the same way every time.
//!
//! Invariants: pure (no clock is read, no I/O); an instrument the registry does not know
//! has no grid to check (the runner refuses to start a strategy on one); without an
//! intraday day (`market_hours.intraday = false`) nothing is cut off.

use super::fno::FnoRules;
use crate::market::{Instrument, InstrumentRegistry, IntradayDay};
use crate::messages::{Product, TradingSignal};
use chrono::{DateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// How a broker decides the Kite product of a signal's order, as its venue does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductRule {
    /// Every order is this product, whatever the signal says.
    Fixed(Product),
    /// The signal's own product, else its strategy's configured one, else `default`: how
    /// Zerodha execution places an order (`Settings::order_kind`), and the paper venue
    /// (no strategy listed, `paper.product` the default).
    PerStrategy {
        by_strategy: BTreeMap<String, Product>,
        default: Product,
    },
}

impl ProductRule {
    /// The product `signal`'s order will be placed as.
    pub fn product_of(&self, signal: &TradingSignal) -> Product {
        match self {
            ProductRule::Fixed(product) => *product,
            ProductRule::PerStrategy {
                by_strategy,
                default,
            } => signal.product.unwrap_or_else(|| {
                by_strategy
                    .get(&signal.strategy_id)
                    .copied()
                    .unwrap_or(*default)
            }),
        }
    }
}

/// The market's rules for one broker: the instruments' grids and its MIS entry cutoff.
/// The default has neither (no market rule applies).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MarketRules {
    /// Instruments by token, shared between the brokers.
    instruments: Arc<HashMap<u32, Instrument>>,
    /// The intraday day and how this broker's products are decided; `None` = no cutoff.
    cutoff: Option<(IntradayDay, ProductRule)>,
    /// Freeze quantities, slices and the underlyings' price instruments.
    fno: FnoRules,
}

impl MarketRules {
    /// The tick and lot rules of every instrument in `registry`, no cutoff yet.
    pub fn new(registry: &InstrumentRegistry) -> Self {
        MarketRules {
            instruments: Arc::new(registry.iter().map(|i| (i.token, i.clone())).collect()),
            cutoff: None,
            fno: FnoRules::default(),
        }
    }

    /// These rules with the entry cutoff of `day` for the MIS orders `products` decides;
    /// `day` = `None` (no intraday day) turns the cutoff off.
    pub fn with_entry_cutoff(mut self, day: Option<IntradayDay>, products: ProductRule) -> Self {
        self.cutoff = day.map(|day| (day, products));
        self
    }

    /// These rules with `fno`'s freeze quantities, slices and underlying prices.
    pub fn with_fno(mut self, fno: FnoRules) -> Self {
        self.fno = fno;
        self
    }

    /// The F&O rules.
    pub(crate) fn fno(&self) -> &FnoRules {
        &self.fno
    }

    /// The instrument of `token`, if known.
    pub(crate) fn instrument(&self, token: u32) -> Option<&Instrument> {
        self.instruments.get(&token)
    }

    /// The cutoff time when `signal` is an MIS order and MIS entries are closed at `at`.
    pub(crate) fn entries_closed(
        &self,
        signal: &TradingSignal,
        at: DateTime<Utc>,
    ) -> Option<NaiveTime> {
        let (day, products) = self.cutoff.as_ref()?;
        (products.product_of(signal) == Product::Mis && day.entries_closed(at))
            .then_some(day.entry_cutoff)
    }
}

/// `None` if the limit and trigger prices of `signal` (those it has) are multiples of the
/// tick size of `instrument`; else the reason, naming every price off the grid.
pub(crate) fn off_grid(signal: &TradingSignal, instrument: &Instrument) -> Option<String> {
    let tick = instrument.tick_size;
    // A tick of zero (the registry refuses one) has no multiples to be on: refused.
    let on_grid = |p: Decimal| p.checked_rem(tick).is_some_and(|r| r.is_zero());
    let off: Vec<String> = [
        ("limit price", signal.price),
        ("trigger price", signal.trigger_price),
    ]
    .into_iter()
    .filter_map(|(label, price)| {
        price
            .filter(|p| !on_grid(*p))
            .map(|p| format!("{label} {p}"))
    })
    .collect();
    let verb = match off.len() {
        0 => return None,
        1 => "is not a multiple",
        _ => "are not multiples",
    };
    Some(format!(
        "{} {verb} of the tick size {tick} of {}",
        off.join(" and "),
        instrument.symbol
    ))
}

/// `None` if `signal`'s quantity is a whole number of `instrument`'s lots; else the reason,
/// naming the lot size and the whole lots on either side of the quantity.
pub(crate) fn off_lot(signal: &TradingSignal, instrument: &Instrument) -> Option<String> {
    let (quantity, lot) = (signal.quantity, instrument.lot_size);
    if lot == 0 {
        // Kite writes lot 0 for an index: nothing of it can be ordered.
        return Some(format!(
            "quantity {quantity} cannot be ordered: {} has no lot size (an index is not traded)",
            instrument.key()
        ));
    }
    if quantity.is_multiple_of(lot) {
        return None;
    }
    let below = quantity / lot;
    let lots = |n: u32| {
        let units = u64::from(n) * u64::from(lot);
        match n {
            1 => format!("1 lot = {units}"),
            n => format!("{n} lots = {units}"),
        }
    };
    let near = match below {
        0 => lots(1),
        n => format!("{}, {}", lots(n), lots(n + 1)),
    };
    Some(format!(
        "quantity {quantity} is not a multiple of the lot size {lot} of {} ({near})",
        instrument.key()
    ))
}
