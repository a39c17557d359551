//! The simulated market of a whole registry: a seeded walk for every equity and index
//! ([`PriceModel`]) and, for every future and option, a [`DerivativeModel`] priced from
//! its underlying's walk.
//!
//! A derivative's underlying is found by its Kite `name` (`NIFTY`): the `[fno]`
//! underlyings give the `EXCHANGE:SYMBOL` of its price instrument (`NSE:NIFTY 50`), looked
//! up in the registry. Invariants:
//! - every derivative of one underlying is priced from the same walk, so an option, its
//!   future and its index move together whichever of them are subscribed;
//! - the underlying's walk moves even when only a derivative of it is subscribed
//!   ([`Market::step_all`] steps everything; [`Market::step`] of a derivative steps its
//!   underlying first);
//! - an underlying missing from the registry (a master holding only NFO rows) gets a
//!   hidden walk of its own, started at the middle strike of its options, so its
//!   derivatives still tick (logged once per name).
//!
//! Pure (no I/O, no clock): the caller passes the time. The same seed and the same calls
//! give the same ticks.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::contract::{Contract, Pricing};
use super::derivative::{DerivativeModel, UnderlyingPrices};
use super::model::PriceModel;
use crate::kite::ticker::KiteTick;
use crate::market::instruments::{Instrument, InstrumentKind, InstrumentRegistry};
use crate::messages::TickMode;
use crate::settings::{FnoSettings, SimulatorSettings};

/// How the simulator prices derivatives: the model's rates and each underlying's price
/// instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct Derivatives {
    pub pricing: Pricing,
    /// Kite `name` of an underlying → `EXCHANGE:SYMBOL` of its price instrument.
    pub underlyings: BTreeMap<String, String>,
}

impl Default for Derivatives {
    /// The values of `config/default.toml` (`[simulator]` and `[fno.underlyings]`), for
    /// tests and tools that start a simulator without settings.
    fn default() -> Self {
        let underlyings = [("NIFTY", "NSE:NIFTY 50"), ("BANKNIFTY", "NSE:NIFTY BANK")];
        Derivatives {
            pricing: Pricing {
                volatility: 0.15,
                risk_free_rate: 0.065,
                futures_basis: 0.07,
            },
            underlyings: underlyings
                .into_iter()
                .map(|(name, key)| (name.to_owned(), key.to_owned()))
                .collect(),
        }
    }
}

impl Derivatives {
    /// The model of `[simulator]`, with the underlying of every derivative name in
    /// `registry` from `[fno]` ([`FnoSettings::underlying_key`]).
    pub fn from_settings(
        simulator: &SimulatorSettings,
        fno: &FnoSettings,
        registry: &InstrumentRegistry,
    ) -> Self {
        let underlyings = registry
            .iter()
            .filter(|i| i.kind.is_derivative())
            .map(|i| (i.name.clone(), fno.underlying_key(&i.name)))
            .collect();
        // The validated ranges are small decimals: each converts to its nearest float.
        let float = |d: Decimal| d.to_f64().unwrap_or(0.0);
        let pricing = Pricing {
            volatility: float(simulator.volatility),
            risk_free_rate: float(simulator.risk_free_rate),
            futures_basis: float(simulator.futures_basis),
        };
        Derivatives {
            pricing,
            underlyings,
        }
    }

    /// The `EXCHANGE:SYMBOL` pricing `name` (`NSE:<name>` when none is configured, as
    /// `[fno]` has it).
    pub fn underlying_key(&self, name: &str) -> String {
        self.underlyings
            .get(name)
            .cloned()
            .unwrap_or_else(|| format!("NSE:{name}"))
    }
}

/// Where a derivative's underlying walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Underlying {
    /// The walk of this registry token.
    Listed(u32),
    /// A hidden walk (the underlying is not in the registry), by index.
    Hidden(usize),
}

/// Every instrument's simulated market.
#[derive(Debug, Clone)]
pub struct Market {
    walks: HashMap<u32, PriceModel>,
    hidden: Vec<PriceModel>,
    derivatives: HashMap<u32, (DerivativeModel, Underlying)>,
    pricing: Pricing,
}

impl Market {
    /// A market of every instrument in `registry`, seeded from `seed`.
    pub fn new(registry: &InstrumentRegistry, seed: u64, derivatives: &Derivatives) -> Self {
        let mut market = Market {
            walks: HashMap::new(),
            hidden: Vec::new(),
            derivatives: HashMap::new(),
            pricing: derivatives.pricing,
        };
        let mut hidden_by_name: HashMap<&str, usize> = HashMap::new();
        for instrument in registry.iter() {
            let Some(contract) = Contract::of(instrument) else {
                let walk = PriceModel::new(instrument, seed);
                market.walks.insert(instrument.token, walk);
                continue;
            };
            let key = derivatives.underlying_key(&instrument.name);
            let underlying = match registry.by_symbol(&key) {
                Some(u) if !u.kind.is_derivative() => Underlying::Listed(u.token),
                _ => {
                    let index = *hidden_by_name.entry(&instrument.name).or_insert_with(|| {
                        tracing::warn!(name = %instrument.name, %key, "simulator: no price instrument for this underlying in the registry; its derivatives follow a hidden walk");
                        let start = hidden_start(registry, &instrument.name);
                        let stand_in = stand_in(&instrument.name, start);
                        market.hidden.push(PriceModel::new(&stand_in, seed));
                        market.hidden.len() - 1
                    });
                    Underlying::Hidden(index)
                }
            };
            let model = DerivativeModel::new(instrument, contract, seed);
            market
                .derivatives
                .insert(instrument.token, (model, underlying));
        }
        market
    }

    /// True if `token` is simulated (it is in the registry).
    pub fn contains(&self, token: u32) -> bool {
        self.walks.contains_key(&token) || self.derivatives.contains_key(&token)
    }

    /// Where the derivative `token`'s underlying walks (`None` for a non-derivative).
    pub fn underlying_of(&self, token: u32) -> Option<Underlying> {
        self.derivatives.get(&token).map(|(_, u)| *u)
    }

    /// One step of the whole market at `now` (Unix seconds): every walk, then every
    /// derivative's trade at its new model price.
    pub fn step_all(&mut self, now: u32) {
        self.walks.values_mut().for_each(PriceModel::step);
        self.hidden.iter_mut().for_each(PriceModel::step);
        for (model, underlying) in self.derivatives.values_mut() {
            if let Some(prices) = prices(&self.walks, &self.hidden, *underlying) {
                model.step(&prices, i64::from(now), &self.pricing);
            }
        }
    }

    /// One step of `token` alone: a derivative steps its underlying first, so the
    /// underlying moves even when nothing else of it is subscribed.
    pub fn step(&mut self, token: u32, now: u32) {
        if let Some(walk) = self.walks.get_mut(&token) {
            walk.step();
            return;
        }
        let Some((model, underlying)) = self.derivatives.get_mut(&token) else {
            return;
        };
        let walk = match *underlying {
            Underlying::Listed(t) => self.walks.get_mut(&t),
            Underlying::Hidden(i) => self.hidden.get_mut(i),
        };
        if let Some(walk) = walk {
            walk.step();
            model.step(&walk_prices(walk), i64::from(now), &self.pricing);
        }
    }

    /// `token`'s packet for `mode` at `now` (Unix seconds); `None` for an unknown token.
    pub fn tick(&mut self, token: u32, mode: TickMode, now: u32) -> Option<KiteTick> {
        if let Some(walk) = self.walks.get_mut(&token) {
            return Some(walk.tick(mode, now));
        }
        let (model, underlying) = self.derivatives.get_mut(&token)?;
        let prices = prices(&self.walks, &self.hidden, *underlying)?;
        Some(model.tick(mode, &prices, now, &self.pricing))
    }

    /// The current prices of a walk: a listed token's, or a hidden one's.
    pub fn underlying_prices(&self, underlying: Underlying) -> Option<UnderlyingPrices> {
        prices(&self.walks, &self.hidden, underlying)
    }
}

fn prices(
    walks: &HashMap<u32, PriceModel>,
    hidden: &[PriceModel],
    underlying: Underlying,
) -> Option<UnderlyingPrices> {
    let walk = match underlying {
        Underlying::Listed(token) => walks.get(&token),
        Underlying::Hidden(index) => hidden.get(index),
    };
    walk.map(walk_prices)
}

fn walk_prices(walk: &PriceModel) -> UnderlyingPrices {
    UnderlyingPrices {
        last: walk.last_price(),
        open: walk.open_price(),
        close: walk.close_price(),
    }
}

/// Where a hidden underlying starts: the middle strike of its options, else a future's
/// registry price, else zero (the walk then draws a price).
fn hidden_start(registry: &InstrumentRegistry, name: &str) -> Decimal {
    let of_name = || registry.iter().filter(move |i| i.name == name);
    let mut strikes: Vec<Decimal> = of_name()
        .filter(|i| i.kind.is_option() && i.strike > Decimal::ZERO)
        .map(|i| i.strike)
        .collect();
    strikes.sort_unstable();
    if let Some(middle) = strikes.get(strikes.len() / 2) {
        return *middle;
    }
    of_name()
        .map(|i| i.last_price)
        .find(|p| *p > Decimal::ZERO)
        .unwrap_or(Decimal::ZERO)
}

/// An instrument standing in for a hidden underlying: never sent, it only seeds and
/// shapes the walk (the token is a hash of the name, for the seed).
fn stand_in(name: &str, start: Decimal) -> Instrument {
    // FNV-1a: stable across runs and platforms, unlike the standard hasher.
    let token = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    Instrument {
        token,
        exchange_token: 0,
        symbol: name.to_owned(),
        name: name.to_owned(),
        last_price: start,
        expiry: None,
        strike: Decimal::ZERO,
        tick_size: super::contract::DEFAULT_TICK,
        lot_size: 1,
        kind: InstrumentKind::Equity,
        segment: "NSE".to_owned(),
        exchange: "NSE".to_owned(),
    }
}
