//! The buy-and-hold benchmark: what the starting cash would have made by buying the traded
//! instruments at the first tick and holding them to the last.
//!
//! Rules:
//! - the instruments are those the strategies traded (every position of their final
//!   portfolios, flat ones included) that have prices in the run;
//! - the cash is the total's starting equity (`strategies × starting cash`), split equally;
//!   each share buys the most whole units it can at the instrument's first tick's last
//!   price *including* the buy's charges; what is left stays as cash;
//! - charges are the paper venue's delivery (CNC) column, whatever the instrument — a
//!   benchmark held for days is a delivery trade; the sale at the last tick's price pays
//!   the delivery sell charges and one DP charge per scrip;
//! - the curve marks the holdings at each minute's last price; its last point is the value
//!   after the sale's charges (what the investor would have in hand).
//!
//! Prices come from [`PriceRecorder`], which the engine feeds every tick: per instrument
//! the first tick and the last price of each minute, so a long run keeps about 375 points
//! per instrument and day.

use std::collections::BTreeMap;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rust_decimal::Decimal;

use super::EquityPoint;
use crate::messages::{Fees, Side};
use crate::paper::charges::{ChargeColumn, ChargeSchedule, FillCharge};

/// A price at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricePoint {
    pub ts: DateTime<Utc>,
    pub price: Decimal,
}

/// One instrument's prices during the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceSeries {
    pub token: u32,
    pub symbol: String,
    /// The first tick.
    pub first: PricePoint,
    /// The last tick of each minute that had one, in time order (the run's last tick is the
    /// last one).
    pub closes: Vec<PricePoint>,
}

/// Collects each instrument's [`PriceSeries`] from the ticks of a run.
#[derive(Debug, Default)]
pub struct PriceRecorder {
    series: BTreeMap<u32, PriceSeries>,
}

impl PriceRecorder {
    /// Records the last price of a tick of `token`.
    pub fn saw(&mut self, token: u32, symbol: Option<&str>, ts: DateTime<Utc>, price: Decimal) {
        let point = PricePoint { ts, price };
        let series = self.series.entry(token).or_insert_with(|| PriceSeries {
            token,
            symbol: symbol.map_or_else(|| token.to_string(), str::to_owned),
            first: point,
            closes: Vec::new(),
        });
        match series.closes.last_mut() {
            Some(last) if same_minute(last.ts, ts) => *last = point,
            _ => series.closes.push(point),
        }
    }

    /// Every instrument's series, by token.
    pub fn finish(self) -> Vec<PriceSeries> {
        self.series.into_values().collect()
    }
}

fn same_minute(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    let minute = TimeDelta::minutes(1);
    a.duration_trunc(minute).ok() == b.duration_trunc(minute).ok()
}

/// One instrument of the benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Holding {
    pub token: u32,
    pub symbol: String,
    pub quantity: u32,
    pub entry_price: Decimal,
    pub exit_price: Decimal,
    pub buy_charges: Fees,
    pub sell_charges: Fees,
}

/// The benchmark's figures and curve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Benchmark {
    pub holdings: Vec<Holding>,
    pub start: Decimal,
    /// Cash not invested (the shares' remainders).
    pub cash_left: Decimal,
    /// After the sale's charges.
    pub final_value: Decimal,
    pub charges: Decimal,
    pub curve: Vec<EquityPoint>,
}

/// The benchmark of `start` rupees over the `traded` tokens; `None` when none of them has
/// prices (or nothing could be bought).
pub(super) fn build(
    start: Decimal,
    traded: &[u32],
    prices: &[PriceSeries],
    schedule: &ChargeSchedule,
) -> Option<Benchmark> {
    let series: Vec<&PriceSeries> = prices
        .iter()
        .filter(|s| traded.contains(&s.token) && s.first.price > Decimal::ZERO)
        .collect();
    if series.is_empty() || start <= Decimal::ZERO {
        return None;
    }
    let share = start.checked_div(Decimal::from(series.len()))?;
    let mut cash_left = start;
    let mut charges = Decimal::ZERO;
    let mut holdings = Vec::with_capacity(series.len());
    for s in &series {
        let (quantity, buy_charges) = units_for(share, s.first.price, schedule);
        let cost = s.first.price.saturating_mul(Decimal::from(quantity));
        cash_left = cash_left
            .saturating_sub(cost)
            .saturating_sub(buy_charges.total);
        let exit_price = s.closes.last().map_or(s.first.price, |p| p.price);
        let sell_charges = if quantity == 0 {
            Fees::default()
        } else {
            schedule.fill_charges(&FillCharge {
                dp_charge: true,
                ..FillCharge::plain(ChargeColumn::Delivery, Side::Sell, quantity, exit_price)
            })
        };
        charges = charges
            .saturating_add(buy_charges.total)
            .saturating_add(sell_charges.total);
        holdings.push(Holding {
            token: s.token,
            symbol: s.symbol.clone(),
            quantity,
            entry_price: s.first.price,
            exit_price,
            buy_charges,
            sell_charges,
        });
    }
    if holdings.iter().all(|h| h.quantity == 0) {
        return None;
    }
    let curve = curve(cash_left, &holdings, &series);
    let sold = holdings.iter().fold(cash_left, |sum, h| {
        sum.saturating_add(h.exit_price.saturating_mul(Decimal::from(h.quantity)))
            .saturating_sub(h.sell_charges.total)
    });
    Some(Benchmark {
        holdings,
        start,
        cash_left,
        final_value: sold,
        charges,
        curve: with_last(curve, sold),
    })
}

/// The most whole units of `price` that `share` pays for with the delivery buy charges,
/// and those charges.
fn units_for(share: Decimal, price: Decimal, schedule: &ChargeSchedule) -> (u32, Fees) {
    let most = share
        .checked_div(price)
        .map(|q| q.floor())
        .and_then(|q| u32::try_from(q).ok())
        .unwrap_or(0);
    let mut quantity = most;
    // Charges are a fraction of a percent: a few steps down at most.
    while quantity > 0 {
        let fees = schedule.charges(ChargeColumn::Delivery, Side::Buy, quantity, price);
        let cost = price
            .saturating_mul(Decimal::from(quantity))
            .saturating_add(fees.total);
        if cost <= share {
            return (quantity, fees);
        }
        quantity -= 1;
    }
    (0, Fees::default())
}

/// The holdings' value plus the cash at every minute close of any of them (each instrument
/// at its entry price before its first tick).
fn curve(cash: Decimal, holdings: &[Holding], series: &[&PriceSeries]) -> Vec<EquityPoint> {
    let Some(begin) = series.iter().map(|s| s.first.ts).min() else {
        return Vec::new();
    };
    let steps: Vec<Vec<EquityPoint>> = holdings
        .iter()
        .zip(series)
        .map(|(h, s)| {
            let quantity = Decimal::from(h.quantity);
            let entry = EquityPoint {
                ts: begin,
                equity: h.entry_price.saturating_mul(quantity),
            };
            std::iter::once(entry)
                .chain(s.closes.iter().map(|p| EquityPoint {
                    ts: p.ts,
                    equity: p.price.saturating_mul(quantity),
                }))
                .collect()
        })
        .collect();
    let refs: Vec<&[EquityPoint]> = steps.iter().map(Vec::as_slice).collect();
    let mut points = super::curve::total_curve(Decimal::ZERO, &refs);
    for point in &mut points {
        point.equity = point.equity.saturating_add(cash);
    }
    points
}

/// `curve` with its last point's value replaced by `value` (the sale's proceeds).
fn with_last(mut curve: Vec<EquityPoint>, value: Decimal) -> Vec<EquityPoint> {
    if let Some(last) = curve.last_mut() {
        last.equity = value;
    }
    curve
}

#[cfg(test)]
#[path = "tests_benchmark.rs"]
mod tests;
