//! Derivative lookups over an [`InstrumentRegistry`]: option chains by underlying and
//! expiry, the expiry calendar as the master lists it, ATM strikes and ITM/OTM offsets.
//!
//! Everything is read from the master itself, never from a calendar of our own: the
//! expiries of an underlying are those its listed contracts carry, so a holiday-shifted
//! expiry or a new weekly series is followed without a code change.
//!
//! Decisions:
//! - An underlying is Kite's `name` of its derivatives (`NIFTY`, `BANKNIFTY`).
//! - "Weekly" choices count every option expiry on or after the day: `CurrentWeek` is the
//!   nearest, `NextWeek` the one after. "Monthly" choices count only monthly expiries:
//!   the expiries of the underlying's futures (futures are monthly on NSE and BSE), or,
//!   for an underlying listed without futures, the last option expiry of each month.
//! - The ATM strike is the listed strike nearest the underlying's price; halfway between
//!   two, the lower one. Offsets count listed strikes (`ATM+2` is two strikes up the
//!   chain, whatever the strike interval).
//! - ITM/OTM are per right: a call's OTM strikes are above ATM, a put's below.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::instruments::{Instrument, InstrumentKind, InstrumentRegistry};

/// A call or a put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Right {
    Call,
    Put,
}

impl Right {
    /// Kite's `instrument_type`: `CE` or `PE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Right::Call => "CE",
            Right::Put => "PE",
        }
    }
}

/// Which expiry of an underlying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryChoice {
    /// The nearest option expiry on or after the day.
    CurrentWeek,
    /// The option expiry after [`CurrentWeek`](Self::CurrentWeek).
    NextWeek,
    /// The nearest monthly expiry on or after the day.
    CurrentMonth,
    /// The monthly expiry after [`CurrentMonth`](Self::CurrentMonth).
    NextMonth,
    /// This date exactly.
    On(NaiveDate),
}

impl ExpiryChoice {
    /// The rule text: `current_week`, `next_week`, `current_month`, `next_month` or a date.
    pub fn name(self) -> String {
        match self {
            Self::CurrentWeek => "current_week".into(),
            Self::NextWeek => "next_week".into(),
            Self::CurrentMonth => "current_month".into(),
            Self::NextMonth => "next_month".into(),
            Self::On(date) => date.format("%Y-%m-%d").to_string(),
        }
    }
}

/// The contracts of one underlying and expiry.
#[derive(Debug, Clone, Default)]
struct Series {
    future: Option<u32>,
    /// Strike → (call token, put token).
    strikes: BTreeMap<Decimal, (Option<u32>, Option<u32>)>,
}

/// Futures and options of every underlying in a registry, by expiry and strike.
#[derive(Debug, Clone, Default)]
pub struct OptionChains {
    /// Underlying → expiry → series.
    chains: HashMap<String, BTreeMap<NaiveDate, Series>>,
}

impl OptionChains {
    /// Indexes every future and option of `registry` (one pass).
    pub fn build(registry: &InstrumentRegistry) -> Self {
        let mut chains: HashMap<String, BTreeMap<NaiveDate, Series>> = HashMap::new();
        for instrument in registry.iter() {
            let Some(expiry) = instrument.expiry else {
                continue;
            };
            if !instrument.kind.is_derivative() {
                continue;
            }
            let series = chains
                .entry(instrument.name.clone())
                .or_default()
                .entry(expiry)
                .or_default();
            match instrument.kind {
                InstrumentKind::Future => series.future = Some(instrument.token),
                InstrumentKind::Call => {
                    series.strikes.entry(instrument.strike).or_default().0 = Some(instrument.token);
                }
                InstrumentKind::Put => {
                    series.strikes.entry(instrument.strike).or_default().1 = Some(instrument.token);
                }
                _ => {}
            }
        }
        OptionChains { chains }
    }

    /// The underlyings with derivatives, sorted.
    pub fn underlyings(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.chains.keys().map(String::as_str).collect();
        out.sort_unstable();
        out
    }

    /// Every expiry of `underlying` (futures or options), ascending.
    pub fn expiries(&self, underlying: &str) -> Vec<NaiveDate> {
        self.chains
            .get(underlying)
            .map(|c| c.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The expiries of `underlying` that have options, on or after `today`, ascending.
    pub fn option_expiries(&self, underlying: &str, today: NaiveDate) -> Vec<NaiveDate> {
        self.series_from(underlying, today)
            .filter(|(_, s)| !s.strikes.is_empty())
            .map(|(d, _)| d)
            .collect()
    }

    /// The monthly expiries of `underlying` on or after `today`, ascending (see the module
    /// docs for what counts as monthly).
    pub fn monthly_expiries(&self, underlying: &str, today: NaiveDate) -> Vec<NaiveDate> {
        let futures: Vec<NaiveDate> = self
            .series_from(underlying, today)
            .filter(|(_, s)| s.future.is_some())
            .map(|(d, _)| d)
            .collect();
        if !futures.is_empty() {
            return futures;
        }
        let mut last_of_month: BTreeMap<(i32, u32), NaiveDate> = BTreeMap::new();
        for date in self.option_expiries(underlying, today) {
            last_of_month.insert((date.year(), date.month()), date);
        }
        last_of_month.into_values().collect()
    }

    /// The expiry `choice` names for `underlying` on `today`, if the master lists it.
    pub fn expiry(
        &self,
        underlying: &str,
        choice: ExpiryChoice,
        today: NaiveDate,
    ) -> Option<NaiveDate> {
        match choice {
            ExpiryChoice::CurrentWeek => self.option_expiries(underlying, today).first().copied(),
            ExpiryChoice::NextWeek => self.option_expiries(underlying, today).get(1).copied(),
            ExpiryChoice::CurrentMonth => self.monthly_expiries(underlying, today).first().copied(),
            ExpiryChoice::NextMonth => self.monthly_expiries(underlying, today).get(1).copied(),
            ExpiryChoice::On(date) => self
                .chains
                .get(underlying)
                .and_then(|c| c.contains_key(&date).then_some(date)),
        }
    }

    /// The listed strikes of `underlying` at `expiry`, ascending.
    pub fn strikes(&self, underlying: &str, expiry: NaiveDate) -> Vec<Decimal> {
        self.series(underlying, expiry)
            .map(|s| s.strikes.keys().copied().collect())
            .unwrap_or_default()
    }

    /// The token of the option (`underlying`, `expiry`, `strike`, `right`).
    pub fn option(
        &self,
        underlying: &str,
        expiry: NaiveDate,
        strike: Decimal,
        right: Right,
    ) -> Option<u32> {
        let (call, put) = self.series(underlying, expiry)?.strikes.get(&strike)?;
        match right {
            Right::Call => *call,
            Right::Put => *put,
        }
    }

    /// The token of the future of `underlying` expiring on `expiry`.
    pub fn future(&self, underlying: &str, expiry: NaiveDate) -> Option<u32> {
        self.series(underlying, expiry)?.future
    }

    /// The listed strike nearest `price` (halfway: the lower).
    pub fn atm_strike(
        &self,
        underlying: &str,
        expiry: NaiveDate,
        price: Decimal,
    ) -> Option<Decimal> {
        let strikes = self.strikes(underlying, expiry);
        let above = strikes.partition_point(|s| *s < price);
        let lower = above.checked_sub(1).and_then(|i| strikes.get(i));
        match (lower, strikes.get(above)) {
            (Some(low), Some(high)) => Some(if price - low <= high - price {
                *low
            } else {
                *high
            }),
            (Some(only), None) | (None, Some(only)) => Some(*only),
            (None, None) => None,
        }
    }

    /// The strike `steps` listed strikes above (`steps > 0`) or below `strike`; `None` past
    /// either end of the chain or for a strike that is not listed.
    pub fn strike_offset(
        &self,
        underlying: &str,
        expiry: NaiveDate,
        strike: Decimal,
        steps: i64,
    ) -> Option<Decimal> {
        let strikes = self.strikes(underlying, expiry);
        let at = strikes.binary_search(&strike).ok()?;
        let to = i64::try_from(at).ok()?.checked_add(steps)?;
        strikes.get(usize::try_from(to).ok()?).copied()
    }

    /// The strike `n` strikes out of the money from ATM for `right` (above for a call,
    /// below for a put); `n = 0` is ATM.
    pub fn otm_strike(
        &self,
        underlying: &str,
        expiry: NaiveDate,
        price: Decimal,
        right: Right,
        n: i64,
    ) -> Option<Decimal> {
        let atm = self.atm_strike(underlying, expiry, price)?;
        let steps = match right {
            Right::Call => n,
            Right::Put => -n,
        };
        self.strike_offset(underlying, expiry, atm, steps)
    }

    /// The strike `n` strikes in the money from ATM for `right` (below for a call, above
    /// for a put).
    pub fn itm_strike(
        &self,
        underlying: &str,
        expiry: NaiveDate,
        price: Decimal,
        right: Right,
        n: i64,
    ) -> Option<Decimal> {
        self.otm_strike(underlying, expiry, price, right, -n)
    }

    fn series(&self, underlying: &str, expiry: NaiveDate) -> Option<&Series> {
        self.chains.get(underlying)?.get(&expiry)
    }

    fn series_from<'a>(
        &'a self,
        underlying: &str,
        today: NaiveDate,
    ) -> impl Iterator<Item = (NaiveDate, &'a Series)> + 'a {
        self.chains
            .get(underlying)
            .into_iter()
            .flat_map(move |c| c.range(today..).map(|(d, s)| (*d, s)))
    }
}

/// Intrinsic value of an option of `right` at `strike` when the underlying is at `price`.
pub fn intrinsic(right: Right, strike: Decimal, price: Decimal) -> Decimal {
    match right {
        Right::Call => (price - strike).max(Decimal::ZERO),
        Right::Put => (strike - price).max(Decimal::ZERO),
    }
}

/// The right of an option instrument; `None` for anything else.
pub fn right_of(instrument: &Instrument) -> Option<Right> {
    match instrument.kind {
        InstrumentKind::Call => Some(Right::Call),
        InstrumentKind::Put => Some(Right::Put),
        _ => None,
    }
}
