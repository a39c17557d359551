//! The report's figures, per strategy and in total, computed once and rendered by every
//! output.
//!
//! Definitions (per strategy):
//! - counts: `signals`, `rejected`, `orders`, `failed_orders` as the engine counted them;
//!   `fills` is the number of fills;
//! - `turnover = Σ quantity × price` and `charges = Σ fees` over the fills;
//! - `realized_pnl` and `unrealized_pnl` from the final portfolio snapshot; `net_pnl =
//!   realized + unrealized − charges`;
//! - `starting_equity` is the starting cash; `final_equity` is the final snapshot's cash plus
//!   `Σ last_price × quantity` of its positions (the portfolio's own equity);
//! - max drawdown and daily Sharpe on the equity curve, starting at the starting cash (see
//!   [`super::curve`]);
//! - win rate `wins / closing_fills`, rounded to 6 places: a closing fill reduces or closes
//!   a position (a flip counts once), a win realizes more than the fill's fees (see
//!   [`super::replay`]); `None` without closing fills;
//! - positions: those of the final snapshot, flat ones included, listed per strategy.
//!
//! The total: counts and money summed over strategies; its curve is the sum of the
//! strategies' curves ([`super::curve::total_curve`]) starting at `n × starting_cash`, and
//! its drawdown and Sharpe are computed on that curve; its win rate pools every strategy's
//! closing fills. Positions are not netted across strategies for the total.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use super::ledger::DayFills;

use super::benchmark::{self, Benchmark};
use super::curve::{self, DailySharpe, Drawdown, RATIO_DP};
use super::daily::{self, DayRow, Exposure};
use super::ledger::{self, FillLedger};
use super::replay::{self, FillResult};
use super::timeline::Timeline;
use super::{EquityPoint, Outcome, StrategyOutcome};
use crate::messages::{Fees, OrderFilled};

/// Every figure of one strategy or of the total.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Metrics {
    pub signals: u64,
    pub rejected: u64,
    pub orders: u64,
    pub failed_orders: u64,
    pub fills: u64,
    pub turnover: Decimal,
    pub charges: Decimal,
    /// `charges` by component (brokerage, STT, exchange, SEBI, stamp duty, GST).
    pub charge_parts: Fees,
    pub realized_pnl: Decimal,
    pub unrealized_pnl: Decimal,
    pub net_pnl: Decimal,
    pub starting_equity: Decimal,
    pub final_equity: Decimal,
    pub drawdown: Drawdown,
    pub sharpe: DailySharpe,
    pub wins: u64,
    pub closing_fills: u64,
}

impl Metrics {
    /// `wins / closing_fills` rounded to 6 places; `None` without closing fills.
    pub fn win_rate(&self) -> Option<Decimal> {
        if self.closing_fills == 0 {
            return None;
        }
        Decimal::from(self.wins)
            .checked_div(Decimal::from(self.closing_fills))
            .map(|rate| rate.round_dp(RATIO_DP))
    }
}

/// One strategy's outcome with its figures and the replay of its fills.
#[derive(Debug)]
pub(super) struct StrategyReport<'a> {
    pub outcome: &'a StrategyOutcome,
    /// One per fill of `outcome.fills`, same order.
    pub fills: Vec<FillResult>,
    /// Round trips, charges by component, days and exposure of its fills.
    pub ledger: FillLedger,
    pub metrics: Metrics,
}

/// The whole report: run info (in `outcome`), each strategy, the total.
#[derive(Debug)]
pub(super) struct Report<'a> {
    pub outcome: &'a Outcome,
    pub strategies: Vec<StrategyReport<'a>>,
    /// Figures of the sum of the strategies (see the module doc).
    pub total: Metrics,
    /// The sum of the strategies' curves (see [`curve::total_curve`]).
    pub total_curve: Vec<EquityPoint>,
    /// Session time of the run: the ticks' minutes, the curves' points.
    pub timeline: Timeline,
    /// The per-day table of the total.
    pub days: Vec<DayRow>,
    pub exposure: Exposure,
    /// Buy and hold of the traded instruments with the total's starting equity.
    pub benchmark: Option<Benchmark>,
}

impl<'a> Report<'a> {
    /// Computes every figure of `outcome`.
    pub fn build(outcome: &'a Outcome) -> Self {
        let strategies: Vec<StrategyReport<'a>> = outcome
            .strategies
            .iter()
            .map(|s| strategy_report(s, outcome.starting_cash))
            .collect();
        let curves: Vec<&[EquityPoint]> = outcome
            .strategies
            .iter()
            .map(|s| s.equity.as_slice())
            .collect();
        let total_start = outcome
            .starting_cash
            .saturating_mul(Decimal::from(strategies.len()));
        let total_curve = curve::total_curve(outcome.starting_cash, &curves);
        let total = total_metrics(&strategies, total_start, &total_curve);
        let timeline = Timeline::of(
            outcome
                .first_tick
                .into_iter()
                .chain(outcome.last_tick)
                .chain(total_curve.iter().map(|p| p.ts))
                .chain(outcome.prices.iter().flat_map(|s| {
                    std::iter::once(s.first.ts).chain(s.closes.iter().map(|p| p.ts))
                })),
        );
        let mut day_fills = BTreeMap::new();
        for strategy in &strategies {
            for (date, fills) in &strategy.ledger.days {
                day_fills
                    .entry(*date)
                    .or_insert_with(DayFills::default)
                    .add(fills);
            }
        }
        let days = daily::day_rows(total_start, &total_curve, &day_fills);
        let steps: Vec<&[EquityPoint]> = strategies
            .iter()
            .map(|s| s.ledger.exposure.as_slice())
            .collect();
        let exposure = daily::exposure(&curve::total_curve(Decimal::ZERO, &steps), &timeline);
        let traded: BTreeSet<u32> = outcome
            .strategies
            .iter()
            .flat_map(|s| s.final_portfolio.positions.iter().map(|p| p.token))
            .collect();
        let traded: Vec<u32> = traded.into_iter().collect();
        let benchmark = benchmark::build(total_start, &traded, &outcome.prices, &outcome.charges);
        Self {
            outcome,
            strategies,
            total,
            total_curve,
            timeline,
            days,
            exposure,
            benchmark,
        }
    }
}

fn strategy_report(strategy: &StrategyOutcome, starting_cash: Decimal) -> StrategyReport<'_> {
    // Streamed fills were replayed (and written to fills.csv) as they happened.
    let (fills, figures) = match &strategy.streamed {
        Some(streamed) => (Vec::new(), streamed.clone()),
        None => {
            let fills = replay::replay(strategy, starting_cash);
            let mut figures = FillFigures::default();
            for (fill, result) in strategy.fills.iter().zip(&fills) {
                figures.add(fill, result);
            }
            (fills, figures)
        }
    };
    let FillFigures {
        fills: fill_count,
        turnover,
        charges,
        wins,
        closing_fills,
        ledger,
    } = figures;
    let snapshot = &strategy.final_portfolio;
    let market_value = snapshot.positions.iter().fold(Decimal::ZERO, |sum, p| {
        sum.saturating_add(p.last_price.saturating_mul(Decimal::from(p.quantity)))
    });
    let metrics = Metrics {
        signals: strategy.signals,
        rejected: strategy.rejected,
        orders: strategy.orders,
        failed_orders: strategy.failed_orders,
        fills: fill_count,
        turnover,
        charges,
        charge_parts: ledger.charges.clone(),
        realized_pnl: snapshot.realized_pnl,
        unrealized_pnl: snapshot.unrealized_pnl,
        net_pnl: net(snapshot.realized_pnl, snapshot.unrealized_pnl, charges),
        starting_equity: starting_cash,
        final_equity: snapshot.cash.saturating_add(market_value),
        drawdown: curve::max_drawdown(starting_cash, &strategy.equity),
        sharpe: curve::daily_sharpe(starting_cash, &strategy.equity),
        wins,
        closing_fills,
    };
    StrategyReport {
        outcome: strategy,
        fills,
        ledger,
        metrics,
    }
}

fn total_metrics(
    strategies: &[StrategyReport<'_>],
    start: Decimal,
    curve: &[EquityPoint],
) -> Metrics {
    let metrics: Vec<&Metrics> = strategies.iter().map(|s| &s.metrics).collect();
    let counted = |figure: fn(&Metrics) -> u64| {
        metrics
            .iter()
            .fold(0u64, |sum, m| sum.saturating_add(figure(m)))
    };
    let summed = |figure: fn(&Metrics) -> Decimal| {
        metrics
            .iter()
            .fold(Decimal::ZERO, |sum, m| sum.saturating_add(figure(m)))
    };
    let realized_pnl = summed(|m| m.realized_pnl);
    let unrealized_pnl = summed(|m| m.unrealized_pnl);
    let charges = summed(|m| m.charges);
    let mut charge_parts = Fees::default();
    for m in &metrics {
        ledger::add_fees(&mut charge_parts, &m.charge_parts);
    }
    Metrics {
        signals: counted(|m| m.signals),
        rejected: counted(|m| m.rejected),
        orders: counted(|m| m.orders),
        failed_orders: counted(|m| m.failed_orders),
        fills: counted(|m| m.fills),
        turnover: summed(|m| m.turnover),
        charges,
        charge_parts,
        realized_pnl,
        unrealized_pnl,
        net_pnl: net(realized_pnl, unrealized_pnl, charges),
        starting_equity: start,
        final_equity: summed(|m| m.final_equity),
        drawdown: curve::max_drawdown(start, curve),
        sharpe: curve::daily_sharpe(start, curve),
        wins: counted(|m| m.wins),
        closing_fills: counted(|m| m.closing_fills),
    }
}

/// The figures of a strategy's fills, added up one fill at a time (so that a report whose
/// fills are streamed needs none of them kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FillFigures {
    pub fills: u64,
    /// `Σ quantity × price`.
    pub turnover: Decimal,
    /// `Σ fees`.
    pub charges: Decimal,
    pub wins: u64,
    pub closing_fills: u64,
    /// Round trips, charges by component, days, exposure.
    pub ledger: FillLedger,
}

impl FillFigures {
    /// Counts `fill`, whose replay gave `result`.
    pub fn add(&mut self, fill: &OrderFilled, result: &FillResult) {
        self.fills = self.fills.saturating_add(1);
        self.turnover = self
            .turnover
            .saturating_add(fill.price.saturating_mul(Decimal::from(fill.quantity)));
        self.charges = self.charges.saturating_add(fill.fees.total);
        if result.closing {
            self.closing_fills = self.closing_fills.saturating_add(1);
        }
        if result.is_win(fill) {
            self.wins = self.wins.saturating_add(1);
        }
        self.ledger.add(fill, result);
    }
}

/// `realized + unrealized − charges`.
fn net(realized: Decimal, unrealized: Decimal, charges: Decimal) -> Decimal {
    realized.saturating_add(unrealized).saturating_sub(charges)
}
