//! Equity-curve figures: max drawdown, the daily-return Sharpe and Sortino ratios (none
//! below [`MIN_DAYS`] returns), and the summed curve of several strategies.
//!
//! Every curve starts at a starting equity before its first point (the cash a portfolio
//! started with, or their sum for the total). Points have non-decreasing timestamps.
//! Money stays [`Decimal`]; only the final Sharpe division and square root use `f64`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::EquityPoint;
use crate::market::hours::IST;

/// Decimal places of ratios (drawdown fraction, win rate), banker's rounding.
pub(super) const RATIO_DP: u32 = 6;

/// Trading days a year, to annualise the daily Sharpe and Sortino ratios.
const TRADING_DAYS_PER_YEAR: f64 = 252.0;

/// Fewest daily returns a Sharpe or Sortino ratio is given for. Below about a month of
/// trading days the ratio is noise (two returns gave −180 on a two-day run): the report
/// says "needs at least 20 days" instead of printing a number nobody should believe.
pub(super) const MIN_DAYS: usize = 20;

/// The largest peak-to-trough fall of a curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Drawdown {
    /// In rupees; zero when the curve never falls below a previous peak.
    pub amount: Decimal,
    /// `amount / peak` of that fall, rounded to [`RATIO_DP`]; `None` when the peak was not
    /// positive (no meaningful fraction).
    pub fraction: Option<Decimal>,
    /// When the curve touched the bottom of that fall; `None` when it never fell.
    pub trough: Option<DateTime<Utc>>,
}

/// The largest fall (in rupees) from a running peak, the peak starting at `start`. Of equal
/// falls, the first counts (its fraction is reported).
pub(super) fn max_drawdown(start: Decimal, points: &[EquityPoint]) -> Drawdown {
    let mut peak = start;
    let mut amount = Decimal::ZERO;
    let mut peak_of_amount = start;
    let mut trough = None;
    for point in points {
        if point.equity > peak {
            peak = point.equity;
            continue;
        }
        let fall = peak.saturating_sub(point.equity);
        if fall > amount {
            amount = fall;
            peak_of_amount = peak;
            trough = Some(point.ts);
        }
    }
    let fraction = if amount.is_zero() {
        Some(Decimal::ZERO)
    } else if peak_of_amount > Decimal::ZERO {
        amount
            .checked_div(peak_of_amount)
            .map(|f| f.round_dp(RATIO_DP))
    } else {
        None
    };
    Drawdown {
        amount,
        fraction,
        trough,
    }
}

/// The daily-return Sharpe and Sortino ratios of a curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct DailySharpe {
    /// IST trading days with at least one point.
    pub days: usize,
    /// `mean / sample std × √252` of the daily returns; `None` with fewer than
    /// [`MIN_DAYS`] returns, a zero standard deviation, or a day following a non-positive
    /// equity (no return).
    pub ratio: Option<f64>,
    /// `mean / downside deviation × √252`, the downside deviation being
    /// `√(Σ min(r, 0)² / n)` (target 0); `None` like `ratio`, or without a losing day.
    pub sortino: Option<f64>,
}

/// The equity of each IST day (its last point), in day order.
pub(super) fn daily_closes(points: &[EquityPoint]) -> Vec<(NaiveDate, Decimal)> {
    let mut closes: Vec<(NaiveDate, Decimal)> = Vec::new();
    for point in points {
        let day = ist_date(point.ts);
        match closes.last_mut() {
            Some((last_day, equity)) if *last_day == day => *equity = point.equity,
            _ => closes.push((day, point.equity)),
        }
    }
    closes
}

/// The IST calendar date of an instant.
pub(super) fn ist_date(ts: DateTime<Utc>) -> NaiveDate {
    ts.with_timezone(&IST).date_naive()
}

/// Daily returns `equity_d / equity_{d−1} − 1` (`start` before the first day), then their
/// Sharpe ratio. Mean and variance are computed in [`Decimal`] so equal returns give a
/// variance of exactly zero (no float noise turned into a huge ratio).
pub(super) fn daily_sharpe(start: Decimal, points: &[EquityPoint]) -> DailySharpe {
    let closes = daily_closes(points);
    let days = closes.len();
    let mut returns = Vec::with_capacity(days);
    let mut previous = start;
    for &(_, equity) in &closes {
        let ratio = if previous > Decimal::ZERO {
            equity.checked_div(previous)
        } else {
            None
        };
        let Some(daily) = ratio.and_then(|r| r.checked_sub(Decimal::ONE)) else {
            return DailySharpe {
                days,
                ratio: None,
                sortino: None,
            };
        };
        returns.push(daily);
        previous = equity;
    }
    let enough = returns.len() >= MIN_DAYS;
    DailySharpe {
        days,
        ratio: enough.then(|| sharpe(&returns)).flatten(),
        sortino: enough.then(|| sortino(&returns)).flatten(),
    }
}

/// `mean / √(Σ min(r, 0)² / n) × √252`; `None` without returns or without a negative one.
pub(super) fn sortino(returns: &[Decimal]) -> Option<f64> {
    if returns.is_empty() {
        return None;
    }
    let n = Decimal::from(returns.len());
    let sum = returns
        .iter()
        .try_fold(Decimal::ZERO, |sum, r| sum.checked_add(*r))?;
    let mean = sum.checked_div(n)?;
    let squares = returns
        .iter()
        .filter(|r| r.is_sign_negative())
        .try_fold(Decimal::ZERO, |sum, r| sum.checked_add(r.checked_mul(*r)?))?;
    let downside = squares.checked_div(n)?;
    if downside <= Decimal::ZERO {
        return None;
    }
    let ratio = mean.to_f64()? / downside.to_f64()?.sqrt() * TRADING_DAYS_PER_YEAR.sqrt();
    ratio.is_finite().then_some(ratio)
}

/// `mean / sample standard deviation × √252`; `None` below 2 returns or at zero deviation.
pub(super) fn sharpe(returns: &[Decimal]) -> Option<f64> {
    if returns.len() < 2 {
        return None;
    }
    let n = Decimal::from(returns.len());
    let sum = returns
        .iter()
        .try_fold(Decimal::ZERO, |sum, r| sum.checked_add(*r))?;
    let mean = sum.checked_div(n)?;
    let squares = returns.iter().try_fold(Decimal::ZERO, |sum, r| {
        let deviation = r.checked_sub(mean)?;
        sum.checked_add(deviation.checked_mul(deviation)?)
    })?;
    let variance = squares.checked_div(n - Decimal::ONE)?;
    if variance <= Decimal::ZERO {
        return None;
    }
    let deviation = variance.to_f64()?.sqrt();
    let ratio = mean.to_f64()? / deviation * TRADING_DAYS_PER_YEAR.sqrt();
    ratio.is_finite().then_some(ratio)
}

/// The sum of several curves, each a step function holding its last value (`start` before
/// its first point): one point per distinct timestamp, at the sum after every point at that
/// timestamp. Empty when every curve is.
pub(super) fn total_curve(start: Decimal, curves: &[&[EquityPoint]]) -> Vec<EquityPoint> {
    let mut current = vec![start; curves.len()];
    let mut sum = current
        .iter()
        .fold(Decimal::ZERO, |sum, v| sum.saturating_add(*v));
    let mut next = vec![0usize; curves.len()];
    // Min-heap of each curve's next timestamp; ties broken by curve index (deterministic).
    let mut heads: BinaryHeap<Reverse<(DateTime<Utc>, usize)>> = curves
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.first().map(|p| Reverse((p.ts, i))))
        .collect();
    let mut total = Vec::with_capacity(curves.iter().map(|c| c.len()).max().unwrap_or(0));
    while let Some(&Reverse((ts, _))) = heads.peek() {
        while let Some(&Reverse((head_ts, i))) = heads.peek() {
            if head_ts != ts {
                break;
            }
            heads.pop();
            let curve = curves[i];
            let mut j = next[i];
            while j < curve.len() && curve[j].ts <= ts {
                j += 1;
            }
            // `j > next[i]`: the head popped was `curve[next[i]]`, whose ts is `ts`.
            let value = curve[j - 1].equity;
            sum = sum.saturating_sub(current[i]).saturating_add(value);
            current[i] = value;
            next[i] = j;
            if let Some(point) = curve.get(j) {
                heads.push(Reverse((point.ts, i)));
            }
        }
        total.push(EquityPoint { ts, equity: sum });
    }
    total
}
