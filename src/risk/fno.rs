//! [`FnoRules`]: what the market demands of futures and options orders beyond tick and lot
//! sizes, from configuration (`[fno]`, which the daemon turns into these rules with the
//! instrument registry): each underlying's freeze quantity, how many slices one order may
//! become, and which instrument prices each underlying.
//!
//! Freeze quantity: the exchange accepts at most an underlying's freeze quantity in one
//! order; Zerodha execution slices a larger order into at most `max_slices` orders (Kite
//! allows 10). An order above freeze quantity × `max_slices` cannot be placed even sliced,
//! so it is refused here (`freeze_quantity`), reducing or not: the exchange would refuse it
//! anyway, and a strategy that must close more sends several orders. An order above the
//! freeze quantity but within the slices passes; execution slices it.
//!
//! Invariants: pure data, no I/O. Only futures and options are checked, by their
//! underlying (`Instrument::name`); an underlying with no freeze quantity configured has
//! no freeze rule.

use crate::market::Instrument;
use crate::messages::TradingSignal;
use std::collections::BTreeMap;

/// Kite's auto-slicing limit, the default of `max_slices`.
const KITE_MAX_SLICES: u32 = 10;

/// The F&O rules of one market; the default has no freeze quantities and no underlying
/// prices (no freeze rule; options' notional at their strike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnoRules {
    /// Largest single order quantity per underlying (Kite's `name`: `NIFTY`), units.
    freeze_quantities: BTreeMap<String, u32>,
    /// Most orders one signal may be sliced into.
    max_slices: u32,
    /// The token of the instrument whose last price is each underlying's price.
    underlying_tokens: BTreeMap<String, u32>,
}

impl Default for FnoRules {
    fn default() -> Self {
        FnoRules {
            freeze_quantities: BTreeMap::new(),
            max_slices: KITE_MAX_SLICES,
            underlying_tokens: BTreeMap::new(),
        }
    }
}

impl FnoRules {
    /// Rules with `freeze_quantities` (units per underlying), `max_slices` (at least 1; 0
    /// is read as 1: one order is never less than itself) and the price instrument of
    /// each underlying, by token.
    pub fn new(
        freeze_quantities: BTreeMap<String, u32>,
        max_slices: u32,
        underlying_tokens: BTreeMap<String, u32>,
    ) -> Self {
        FnoRules {
            freeze_quantities,
            max_slices: max_slices.max(1),
            underlying_tokens,
        }
    }

    /// The token whose last price is `underlying`'s price, if one is known.
    pub(crate) fn underlying_token(&self, underlying: &str) -> Option<u32> {
        self.underlying_tokens.get(underlying).copied()
    }

    /// `None` if `signal`'s order can be placed in at most `max_slices` orders of at most
    /// the freeze quantity of `instrument`'s underlying (or `instrument` is no future or
    /// option, or its underlying has no freeze quantity); else the reason, with the numbers.
    pub(crate) fn unsliceable(
        &self,
        signal: &TradingSignal,
        instrument: &Instrument,
    ) -> Option<String> {
        if !instrument.kind.is_derivative() {
            return None;
        }
        let freeze = self.freeze_quantities.get(&instrument.name).copied()?;
        let most = u64::from(freeze) * u64::from(self.max_slices);
        (u64::from(signal.quantity) > most).then(|| {
            format!(
                "quantity {} of {} exceeds {most}, the most one order can be sliced into: \
                 {} slices (fno.max_slices) of the freeze quantity {freeze} of {}",
                signal.quantity,
                instrument.key(),
                self.max_slices,
                instrument.name
            )
        })
    }
}
