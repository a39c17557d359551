//! The rules themselves: a pure function of a signal and a read-only view of the broker's
//! risk state, returning every rule the signal fails.
//!
//! Order of the reasons (stable, so callers and tests can rely on it): the trading state
//! (`trading_halted` or `trading_reducing`) first; then the day's own gate, `entry_cutoff`
//! (no new MIS exposure late in the day; see [`MarketRules`]); then what the instrument
//! allows, `tick_size`, `lot_size` and `freeze_quantity`; then the limits in
//! [`RiskLimits`] field order — `max_order_quantity`, `max_order_value`, `max_position`,
//! `max_position_value`, `max_daily_trades`, `price_band` (or `no_market_price`),
//! `daily_loss_limit`, `max_open_orders`, and the F&O limits `max_lots_per_underlying`,
//! `max_premium_at_risk`, `max_notional` (see [`fno_exposure`](super::fno_exposure)).
//!
//! Whether an order *reduces* (what REDUCING, the entry cutoff, the position limits and a
//! reached loss limit let through) is judged on the worst case: the position from fills
//! plus every order in flight on the order's side, as if they all filled. Two sells in
//! flight cannot take a long through zero, nor two buys past `max_position`.
//!
//! [`MarketRules`]: super::MarketRules
//!
//! Every message states the numbers that decided it (`order value 24503.50 exceeds
//! 20000`). Nothing here allocates unless a rule fails, and nothing panics: arithmetic on
//! hostile prices saturates (a saturated order value exceeds any limit).

use super::engine::TradingState;
use super::fno::FnoRules;
use super::fno_exposure::DerivativeExposure;
use super::limits::RiskLimits;
use super::market_rules::{off_grid, off_lot};
use super::prices::{order_price, order_value};
use crate::accounting::Net;
use crate::market::Instrument;
use crate::market::hours::IST;
use crate::messages::{Broker, Rejection, RejectionCode, Side, TradingSignal};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;

/// What the rules may read of one broker's state for one signal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) broker: Broker,
    pub(crate) state: TradingState,
    /// Why the broker is held HALTED, if it is.
    pub(crate) hold: Option<&'a str>,
    pub(crate) limits: &'a RiskLimits,
    /// The signal's (strategy, instrument) position from fills.
    pub(crate) position: i64,
    /// The same strategy's quantity in flight in the instrument on the signal's side,
    /// signed like that side (negative for sells).
    pub(crate) in_flight: i64,
    /// Validated signals of the signal's strategy on `day`.
    pub(crate) trades_today: u32,
    pub(crate) open_orders: u32,
    /// Last tick price of the signal's instrument.
    pub(crate) last_price: Option<Decimal>,
    /// A daily loss limit (the broker's or the strategy's) was reached today.
    pub(crate) loss_limit_reached: bool,
    pub(crate) day: Option<NaiveDate>,
    /// The signal's instrument (tick and lot size), if the registry knows it.
    pub(crate) instrument: Option<&'a Instrument>,
    /// Freeze quantities and slices.
    pub(crate) fno: &'a FnoRules,
    /// The broker's F&O exposure before and after the order, when it is a future or an
    /// option and an F&O limit is on.
    pub(crate) derivative: Option<DerivativeExposure<'a>>,
    /// The entry cutoff when the signal is an MIS order and MIS entries are closed at `at`.
    pub(crate) entries_closed: Option<NaiveTime>,
    /// The signal's time (see [`MarketRules`](super::MarketRules) for which clock).
    pub(crate) at: DateTime<Utc>,
}

/// Every rule `signal` fails under `ctx`, in the stable order above. Empty = approved.
pub(crate) fn evaluate(ctx: &Context<'_>, signal: &TradingSignal) -> Vec<Rejection> {
    let mut out = Vec::new();
    let mut fail = |code: RejectionCode, message: String| out.push(Rejection { code, message });
    let limits = ctx.limits;
    let worst = Net {
        quantity: ctx.position.saturating_add(ctx.in_flight),
        cost_basis: Decimal::ZERO,
    };
    let reduces = worst.is_reduced_by(signal.side, signal.quantity);
    let after = worst.after(signal.side, signal.quantity);
    let now = PositionText(ctx);

    match ctx.state {
        TradingState::Halted => fail(
            RejectionCode::TradingHalted,
            match ctx.hold {
                Some(reason) => format!("trading on {} is HALTED: {reason}", ctx.broker),
                None => format!("trading on {} is HALTED", ctx.broker),
            },
        ),
        TradingState::Reducing if !reduces => fail(
            RejectionCode::TradingReducing,
            format!(
                "trading on {} is REDUCING and {} moves position {now} to {after}, not toward zero",
                ctx.broker,
                signed(signal),
            ),
        ),
        TradingState::Active | TradingState::Reducing => {}
    }

    if let Some(cutoff) = ctx.entries_closed
        && !reduces
    {
        let local = ctx.at.with_timezone(&IST);
        fail(
            RejectionCode::EntryCutoff,
            format!(
                "MIS entries closed at {} IST on {}: order {} at {} IST moves position {now} \
                 to {after}, not toward zero",
                cutoff.format("%H:%M"),
                local.date_naive(),
                signed(signal),
                local.format("%H:%M:%S"),
            ),
        );
    }

    if let Some(instrument) = ctx.instrument {
        if let Some(message) = off_grid(signal, instrument) {
            fail(RejectionCode::TickSize, message);
        }
        if let Some(message) = off_lot(signal, instrument) {
            fail(RejectionCode::LotSize, message);
        }
        if let Some(message) = ctx.fno.unsliceable(signal, instrument) {
            fail(RejectionCode::FreezeQuantity, message);
        }
    }

    if let Some(max) = limits.max_order_quantity
        && signal.quantity > max
    {
        fail(
            RejectionCode::MaxOrderQuantity,
            format!("order quantity {} exceeds {max}", signal.quantity),
        );
    }

    if let Some(max) = limits.max_order_value {
        let value = order_value(signal);
        if value > max {
            fail(
                RejectionCode::MaxOrderValue,
                format!("order value {value} exceeds {max}"),
            );
        }
    }

    if let Some(max) = limits.max_position
        && !reduces
        && after.unsigned_abs() > u64::from(max)
    {
        fail(
            RejectionCode::MaxPosition,
            format!(
                "position after the order {after} exceeds ±{max} (now {now}, order {})",
                signed(signal)
            ),
        );
    }

    if let Some(max) = limits.max_position_value
        && !reduces
    {
        let value = order_price(signal).saturating_mul(Decimal::from(after.unsigned_abs()));
        if value > max {
            fail(
                RejectionCode::MaxPositionValue,
                format!(
                    "position value after the order {value} ({after} at {}) exceeds {max} \
                     (now {now}, order {})",
                    order_price(signal),
                    signed(signal)
                ),
            );
        }
    }

    if let Some(max) = limits.max_daily_trades
        && ctx.trades_today >= max
    {
        let day = ctx.day.map(|d| d.to_string()).unwrap_or_default();
        fail(
            RejectionCode::MaxDailyTrades,
            format!(
                "strategy {} already has {} validated signals on {day} (IST), the limit is {max}",
                signal.strategy_id, ctx.trades_today
            ),
        );
    }

    if let Some(pct) = limits.price_band_pct {
        match ctx.last_price {
            None => fail(
                RejectionCode::NoMarketPrice,
                format!(
                    "no last price for token {} ({}); the price band needs one",
                    signal.token, signal.symbol
                ),
            ),
            Some(last) => {
                if let Some(message) = price_band(signal, last, pct) {
                    fail(RejectionCode::PriceBand, message);
                }
            }
        }
    }

    if ctx.loss_limit_reached && !reduces {
        let day = ctx.day.map(|d| d.to_string()).unwrap_or_default();
        fail(
            RejectionCode::DailyLossLimit,
            format!(
                "a daily loss limit of {} was reached on {day} (IST): {} moves position \
                 {now} to {after}, not toward zero; only reducing orders pass until the next day",
                signal.strategy_id,
                signed(signal)
            ),
        );
    }

    if let Some(max) = limits.max_open_orders
        && ctx.open_orders >= max
    {
        fail(
            RejectionCode::MaxOpenOrders,
            format!(
                "{} open orders on {}, the limit is {max}",
                ctx.open_orders, ctx.broker
            ),
        );
    }

    if let Some(exposure) = ctx.derivative
        && !reduces
    {
        for (code, message) in exposure.breaches(limits) {
            fail(code, message);
        }
    }

    out
}

/// The position from fills, with what is in flight on the order's side when any:
/// `100` or `100 (-40 in flight)`. Formats only when a message is written.
struct PositionText<'a, 'b>(&'a Context<'b>);

impl std::fmt::Display for PositionText<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.in_flight {
            0 => write!(f, "{}", self.0.position),
            pending => write!(f, "{} ({pending:+} in flight)", self.0.position),
        }
    }
}

/// `None` if every price of the signal (limit and trigger; the reference price when it has
/// neither) lies within ±`pct` % of `last`, bounds included; else the reason.
fn price_band(signal: &TradingSignal, last: Decimal, pct: Decimal) -> Option<String> {
    let prices = [
        ("limit price", signal.price),
        ("trigger price", signal.trigger_price),
        (
            "reference price",
            (signal.price.is_none() && signal.trigger_price.is_none())
                .then_some(signal.reference_price),
        ),
    ];
    // |p − last| × 100 ≤ last × pct, without dividing.
    let allowed = last.saturating_mul(pct);
    let outside: Vec<String> = prices
        .into_iter()
        .filter_map(|(label, price)| price.map(|p| (label, p)))
        .filter(|(_, p)| {
            p.saturating_sub(last)
                .abs()
                .saturating_mul(Decimal::ONE_HUNDRED)
                > allowed
        })
        .map(|(label, p)| format!("{label} {p}"))
        .collect();
    if outside.is_empty() {
        return None;
    }
    let half_width = allowed
        .checked_div(Decimal::ONE_HUNDRED)
        .unwrap_or(Decimal::MAX);
    Some(format!(
        "{} not within ±{pct}% of last price {last} ({} to {})",
        outside.join(" and "),
        last.saturating_sub(half_width).normalize(),
        last.saturating_add(half_width).normalize(),
    ))
}

/// The order as a signed quantity: `+100` for a buy, `-100` for a sell.
fn signed(signal: &TradingSignal) -> String {
    match signal.side {
        Side::Buy => format!("+{}", signal.quantity),
        Side::Sell => format!("-{}", signal.quantity),
    }
}
