//! A derivative's price in the simulator, from its underlying's price and the time: a
//! future at its carry, an option by Black-76 ([`super::black76`]). Pure.
//!
//! Decisions:
//! - Time runs to 15:30 IST (10:00 UTC) of the expiry date, in years of 365 days, from
//!   the tick's own time, so an option decays through the day.
//! - A future is the underlying carried at a simple annual rate:
//!   `F = S × (1 + futures_basis × T)`, and at or after expiry `F = S` (it converges).
//! - An option is valued on that same forward (so options, futures and put-call parity
//!   agree), discounted at `risk_free_rate`, with one flat `volatility` for every strike.
//!   `T` is floored at [`MIN_YEARS`] before expiry, so the last minutes stay defined; at
//!   or after expiry an option is worth its intrinsic value on the underlying.
//! - What leaves is a `Decimal` on the contract's tick grid (nearest tick), at least one
//!   tick: an exchange never prints a trade at zero, and the tick door refuses it.
//!   Floats stay inside the model.

use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::black76::{self, Inputs};
use crate::market::instruments::{Instrument, InstrumentKind};

/// Seconds in the model's year.
pub const SECS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// Shortest time to expiry the option model uses before expiry: one minute.
pub const MIN_YEARS: f64 = 60.0 / SECS_PER_YEAR;

/// The tick grid used when an instrument gives none (an index, a master without it).
pub const DEFAULT_TICK: Decimal = Decimal::from_parts(5, 0, 0, false, 2);

/// The annual rates of the derivative model (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pricing {
    /// Annual volatility of every option (0.15 is 15 %).
    pub volatility: f64,
    /// Annual risk-free rate that discounts an option's payoff.
    pub risk_free_rate: f64,
    /// Annual carry of a future over its underlying (simple, not compounded).
    pub futures_basis: f64,
}

/// What a derivative pays: a future, a call or a put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Future,
    Call,
    Put,
}

/// A future's or an option's terms, as the pricer needs them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contract {
    pub right: Right,
    /// The strike (0 for a future).
    pub strike: f64,
    /// Unix seconds of 15:30 IST on the expiry date.
    pub expires_at: i64,
    pub tick_size: Decimal,
}

/// Unix seconds of the close (15:30 IST) of `date`.
pub fn expiry_instant(date: NaiveDate) -> i64 {
    // 15:30 IST is 10:00 UTC; India keeps no daylight saving.
    date.and_time(NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default())
        .and_utc()
        .timestamp()
}

impl Contract {
    /// The terms of `instrument`, or `None` if it is not a future or an option with an
    /// expiry.
    pub fn of(instrument: &Instrument) -> Option<Contract> {
        let right = match instrument.kind {
            InstrumentKind::Future => Right::Future,
            InstrumentKind::Call => Right::Call,
            InstrumentKind::Put => Right::Put,
            _ => return None,
        };
        let tick_size = if instrument.tick_size > Decimal::ZERO {
            instrument.tick_size
        } else {
            DEFAULT_TICK
        };
        Some(Contract {
            right,
            strike: instrument.strike.to_f64().unwrap_or(0.0),
            expires_at: expiry_instant(instrument.expiry?),
            tick_size,
        })
    }

    /// Years from `now` (Unix seconds) to expiry; zero or negative once expired.
    pub fn years_to_expiry(&self, now: i64) -> f64 {
        (self.expires_at - now) as f64 / SECS_PER_YEAR
    }

    /// The model value at `now` with the underlying at `underlying`, as a float.
    pub fn value(&self, underlying: f64, now: i64, pricing: &Pricing) -> f64 {
        let years = self.years_to_expiry(now);
        let expired = years <= 0.0;
        let carried = |years: f64| underlying * (1.0 + pricing.futures_basis * years);
        match self.right {
            Right::Future if expired => underlying,
            Right::Future => carried(years),
            Right::Call if expired => (underlying - self.strike).max(0.0),
            Right::Put if expired => (self.strike - underlying).max(0.0),
            Right::Call | Right::Put => {
                let years = years.max(MIN_YEARS);
                let inputs = Inputs {
                    forward: carried(years),
                    strike: self.strike,
                    years,
                    rate: pricing.risk_free_rate,
                    volatility: pricing.volatility,
                };
                if self.right == Right::Call {
                    black76::call(&inputs)
                } else {
                    black76::put(&inputs)
                }
            }
        }
    }

    /// The price in ticks: [`value`](Self::value) to the nearest tick, at least one.
    pub fn price_ticks(&self, underlying: Decimal, now: i64, pricing: &Pricing) -> i64 {
        let tick = self.tick_size.to_f64().unwrap_or(0.05);
        let value = self.value(underlying.to_f64().unwrap_or(0.0), now, pricing);
        let ticks = (value / tick).round();
        // A NaN or an absurd value (bad settings slipped past validation) pins at one
        // tick rather than wrapping; `as` saturates, so the cast cannot panic.
        if ticks.is_finite() {
            (ticks as i64).clamp(1, MAX_TICKS)
        } else {
            1
        }
    }

    /// The price as a `Decimal` on the tick grid (see [`price_ticks`](Self::price_ticks)).
    pub fn price(&self, underlying: Decimal, now: i64, pricing: &Pricing) -> Decimal {
        Decimal::from(self.price_ticks(underlying, now, pricing)) * self.tick_size
    }
}

/// Most ticks a price may have: far above any price and far inside `Decimal`'s range.
const MAX_TICKS: i64 = 1 << 48;

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    const PRICING: Pricing = Pricing {
        volatility: 0.15,
        risk_free_rate: 0.065,
        futures_basis: 0.07,
    };

    fn contract(right: Right, strike: f64) -> Contract {
        Contract {
            right,
            strike,
            expires_at: expiry_instant(NaiveDate::from_ymd_opt(2026, 12, 29).unwrap()),
            tick_size: d("0.05"),
        }
    }

    #[test]
    fn the_expiry_is_half_past_three_in_india() {
        let at = expiry_instant(NaiveDate::from_ymd_opt(2026, 12, 29).unwrap());
        let utc = chrono::DateTime::from_timestamp(at, 0).unwrap();
        assert_eq!(utc.to_rfc3339(), "2026-12-29T10:00:00+00:00");
    }

    #[test]
    fn a_future_carries_its_basis_and_converges_at_expiry() {
        let future = contract(Right::Future, 0.0);
        let thirty_days_before = future.expires_at - 30 * 86_400;
        // 26000 × (1 + 0.07 × 30/365) = 26149.589…, nearest tick 26149.60.
        let expected = 26_000.0 * (1.0 + 0.07 * 30.0 / 365.0);
        let got = future.price(d("26000"), thirty_days_before, &PRICING);
        assert_eq!(got, d("26149.60"), "{expected}");
        assert_eq!(
            future.price(d("26000"), future.expires_at, &PRICING),
            d("26000")
        );
        assert_eq!(
            future.price(d("26000"), future.expires_at + 3_600, &PRICING),
            d("26000")
        );
    }

    #[test]
    fn an_option_is_black_76_on_the_carried_forward_rounded_to_the_tick() {
        let now = contract(Right::Call, 0.0).expires_at - 7 * 86_400;
        let years = 7.0 / 365.0;
        let forward = 26_000.0 * (1.0 + 0.07 * years);
        for strike in [25_500.0, 26_000.0, 26_500.0] {
            let inputs = Inputs {
                forward,
                strike,
                years,
                rate: 0.065,
                volatility: 0.15,
            };
            for (right, reference) in [
                (Right::Call, black76::call(&inputs)),
                (Right::Put, black76::put(&inputs)),
            ] {
                let got = contract(right, strike).price(d("26000"), now, &PRICING);
                let gap = (got.to_f64().unwrap() - reference).abs();
                assert!(
                    gap <= 0.025 + 1e-9,
                    "{right:?} {strike}: {got} vs {reference}"
                );
                assert_eq!(got % d("0.05"), Decimal::ZERO, "on the grid: {got}");
            }
        }
    }

    #[test]
    fn an_option_is_at_least_one_tick_and_intrinsic_at_expiry() {
        let far_otm = contract(Right::Call, 40_000.0);
        let now = far_otm.expires_at - 86_400;
        assert_eq!(far_otm.price(d("26000"), now, &PRICING), d("0.05"));
        let call = contract(Right::Call, 25_900.0);
        let put = contract(Right::Put, 25_900.0);
        for after in [0, 1, 86_400] {
            let at = call.expires_at + after;
            assert_eq!(call.price(d("26000.30"), at, &PRICING), d("100.30"));
            assert_eq!(put.price(d("26000.30"), at, &PRICING), d("0.05"));
        }
    }

    #[test]
    fn the_last_minute_before_expiry_is_priced_with_the_floor() {
        let call = contract(Right::Call, 26_000.0);
        let one_second_before = call.expires_at - 1;
        let at_floor = call.expires_at - 60;
        assert_eq!(
            call.value(26_000.0, one_second_before, &PRICING),
            call.value(26_000.0, at_floor, &PRICING)
        );
        assert!(call.value(26_000.0, one_second_before, &PRICING) > 0.0);
    }

    #[test]
    fn contracts_come_from_derivatives_only() {
        let registry = crate::market::InstrumentRegistry::embedded().unwrap();
        for instrument in registry.iter() {
            let contract = Contract::of(instrument);
            assert_eq!(
                contract.is_some(),
                instrument.kind.is_derivative(),
                "{}",
                instrument.symbol
            );
            if let Some(c) = contract {
                assert_eq!(c.strike, instrument.strike.to_f64().unwrap());
            }
        }
    }
}
