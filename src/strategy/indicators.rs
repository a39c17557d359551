//! Streaming technical indicators: O(1) work and O(window) memory per update.
//!
//! Each indicator is a plain struct fed one observation at a time with `update(x)`, which
//! returns the new value once the indicator is defined (and `None` while it warms up);
//! `value()` reads the latest value without feeding anything.
//!
//! Invariants:
//! - Inputs are `Decimal` prices. Windowed indicators keep a ring buffer ([`VecDeque`]) and
//!   running sums, so an update never rescans the window; the sums are exact in `Decimal`
//!   (prices have few decimal places), so they do not drift the way `f64` running sums do.
//! - Periods are clamped to at least 1 (a zero period would make nothing defined, or divide
//!   by zero). [`super::StrategyParams::validate`] refuses zero periods before this matters.
//! - Indicator values are not money: they only feed comparisons. That is why [`RollingStd`]
//!   may take its square root in `f64` (`rust_decimal`'s `maths` feature, which provides
//!   `MathematicalOps::sqrt`, is not enabled in this crate): the variance is computed exactly
//!   in `Decimal`, converted to `f64` for `sqrt` (correctly rounded by IEEE 754, so
//!   deterministic), and converted back.
//! - Nothing panics, whatever the input: every operation is checked. Prices that pass the
//!   door ([`crate::messages::MarketTick::check`]: at most ₹10⁹) keep squares summed over
//!   any window far from `Decimal`'s limit (±7.9·10²⁸), so in practice nothing overflows;
//!   an input whose arithmetic would overflow anyway is refused as a whole: `update`
//!   returns `None`, the indicator's state stays as it was (the input is not counted), and
//!   a warning is logged. A strategy reading `None` sends nothing.

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use std::collections::VecDeque;

/// Logs an input refused because its arithmetic overflows (see the module docs).
fn overflowed<T>(indicator: &'static str, x: Decimal) -> Option<T> {
    tracing::warn!(indicator, input = %x, "indicator arithmetic overflows: input ignored");
    None
}

/// Exponential moving average with `alpha = 2 / (period + 1)`.
///
/// The first input seeds the value with that input; then every input, the first included,
/// applies `v = alpha·x + (1 − alpha)·v` (so the first update leaves the seed unchanged, up
/// to `Decimal` rounding in the last of its 28 digits).
#[derive(Debug, Clone)]
pub struct Ema {
    alpha: Decimal,
    one_minus_alpha: Decimal,
    value: Option<Decimal>,
    count: u64,
}

impl Ema {
    /// An EMA of `period` (clamped to at least 1).
    pub fn new(period: usize) -> Self {
        let alpha = Decimal::TWO / Decimal::from(period.max(1) + 1);
        Ema {
            alpha,
            one_minus_alpha: Decimal::ONE - alpha,
            value: None,
            count: 0,
        }
    }

    /// Feeds one input; the EMA is defined from the first input on. `None` also for an
    /// input whose arithmetic overflows (ignored; see the module docs).
    pub fn update(&mut self, x: Decimal) -> Option<Decimal> {
        let previous = self.value.unwrap_or(x);
        let next = self.alpha.checked_mul(x).and_then(|a| {
            self.one_minus_alpha
                .checked_mul(previous)
                .and_then(|b| a.checked_add(b))
        });
        let Some(next) = next else {
            return overflowed("ema", x);
        };
        self.value = Some(next);
        self.count = self.count.saturating_add(1);
        self.value
    }

    /// The latest value, `None` before the first input.
    pub fn value(&self) -> Option<Decimal> {
        self.value
    }

    /// How many inputs the EMA has seen.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// A fixed-length window of the latest inputs with their running sum and sum of squares.
#[derive(Debug, Clone)]
struct Window {
    len: usize,
    items: VecDeque<Decimal>,
    sum: Decimal,
    sum_sq: Decimal,
}

impl Window {
    fn new(len: usize) -> Self {
        let len = len.max(1);
        Window {
            len,
            items: VecDeque::with_capacity(len + 1),
            sum: Decimal::ZERO,
            sum_sq: Decimal::ZERO,
        }
    }

    /// Pushes `x`, evicting the oldest input once full; `Some(true)` when the window is
    /// full. `None` (and nothing changed) if the sums would overflow.
    fn push(&mut self, x: Decimal, track_squares: bool) -> Option<bool> {
        let evicted = if self.items.len() >= self.len {
            self.items.front().copied()
        } else {
            None
        };
        // The new sums, computed before anything changes: the old input out, the new in.
        let square = |v: Decimal| {
            if track_squares {
                v.checked_mul(v)
            } else {
                Some(Decimal::ZERO)
            }
        };
        let (mut sum, mut sum_sq) = (self.sum, self.sum_sq);
        if let Some(old) = evicted {
            sum = sum.checked_sub(old)?;
            sum_sq = sum_sq.checked_sub(square(old)?)?;
        }
        sum = sum.checked_add(x)?;
        sum_sq = sum_sq.checked_add(square(x)?)?;
        if evicted.is_some() {
            self.items.pop_front();
        }
        self.items.push_back(x);
        (self.sum, self.sum_sq) = (sum, sum_sq);
        Some(self.items.len() == self.len)
    }

    fn mean(&self) -> Option<Decimal> {
        self.sum.checked_div(Decimal::from(self.len))
    }
}

/// Simple moving average over the last `period` inputs; defined once the window is full.
#[derive(Debug, Clone)]
pub struct Sma {
    window: Window,
    value: Option<Decimal>,
}

impl Sma {
    /// An SMA over `period` inputs (clamped to at least 1).
    pub fn new(period: usize) -> Self {
        Sma {
            window: Window::new(period),
            value: None,
        }
    }

    /// Feeds one input; `None` until `period` inputs have been seen, or if the input
    /// overflows the running sum (ignored).
    pub fn update(&mut self, x: Decimal) -> Option<Decimal> {
        let Some(full) = self.window.push(x, false) else {
            return overflowed("sma", x);
        };
        if full {
            self.value = self.window.mean();
        }
        self.value
    }

    /// The latest value, `None` while warming up.
    pub fn value(&self) -> Option<Decimal> {
        self.value
    }
}

/// Mean and population standard deviation of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeanStd {
    pub mean: Decimal,
    pub std: Decimal,
}

/// Rolling mean and population standard deviation over the last `period` inputs, from a
/// running sum and sum of squares: `var = Σx²/n − (Σx/n)²` (clamped at 0 against rounding).
#[derive(Debug, Clone)]
pub struct RollingStd {
    window: Window,
    value: Option<MeanStd>,
}

impl RollingStd {
    /// A rolling standard deviation over `period` inputs (clamped to at least 1).
    pub fn new(period: usize) -> Self {
        RollingStd {
            window: Window::new(period),
            value: None,
        }
    }

    /// Feeds one input; `None` until `period` inputs have been seen, or if the input
    /// overflows the running sums (ignored).
    pub fn update(&mut self, x: Decimal) -> Option<MeanStd> {
        let Some(full) = self.window.push(x, true) else {
            return overflowed("rolling_std", x);
        };
        if full {
            let Some(value) = self.mean_std() else {
                return overflowed("rolling_std", x);
            };
            self.value = Some(value);
        }
        self.value
    }

    fn mean_std(&self) -> Option<MeanStd> {
        let mean = self.window.mean()?;
        let variance = (self
            .window
            .sum_sq
            .checked_div(Decimal::from(self.window.len))?)
        .checked_sub(mean.checked_mul(mean)?)?;
        Some(MeanStd {
            mean,
            std: sqrt(variance.max(Decimal::ZERO)),
        })
    }

    /// The latest value, `None` while warming up.
    pub fn value(&self) -> Option<MeanStd> {
        self.value
    }
}

/// Square root through `f64` (see the module docs); 0 for a value `f64` cannot carry.
fn sqrt(x: Decimal) -> Decimal {
    x.to_f64()
        .and_then(|f| Decimal::from_f64(f.sqrt()))
        .unwrap_or(Decimal::ZERO)
}

/// Bollinger bands: `middle ± k·std` of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bands {
    pub lower: Decimal,
    pub middle: Decimal,
    pub upper: Decimal,
}

/// Bollinger bands over the last `period` inputs with width `k` standard deviations.
#[derive(Debug, Clone)]
pub struct Bollinger {
    std: RollingStd,
    k: Decimal,
    value: Option<Bands>,
}

impl Bollinger {
    /// Bands over `period` inputs (clamped to at least 1), `k` deviations wide each side.
    pub fn new(period: usize, k: Decimal) -> Self {
        Bollinger {
            std: RollingStd::new(period),
            k,
            value: None,
        }
    }

    /// Feeds one input; `None` until `period` inputs have been seen, or if the input
    /// overflows (ignored).
    pub fn update(&mut self, x: Decimal) -> Option<Bands> {
        let MeanStd { mean, std } = self.std.update(x)?;
        let bands = self.k.checked_mul(std).and_then(|width| {
            Some(Bands {
                lower: mean.checked_sub(width)?,
                middle: mean,
                upper: mean.checked_add(width)?,
            })
        });
        let Some(bands) = bands else {
            return overflowed("bollinger", x);
        };
        self.value = Some(bands);
        self.value
    }

    /// The latest bands, `None` while warming up.
    pub fn value(&self) -> Option<Bands> {
        self.value
    }
}

/// Relative strength index with Wilder's smoothing over `period` changes.
///
/// The first `period` changes seed the average gain and loss with their simple means; each
/// later change applies `avg = (avg·(n − 1) + x) / n`. The value is
/// `100·avg_gain / (avg_gain + avg_loss)`, which equals `100 − 100 / (1 + RS)`; it is 100
/// when there were only gains and 50 when the price never moved. Defined once `period`
/// changes (`period + 1` inputs) have been seen.
#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    period_dec: Decimal,
    previous: Option<Decimal>,
    changes: usize,
    avg_gain: Decimal,
    avg_loss: Decimal,
    value: Option<Decimal>,
}

impl Rsi {
    /// An RSI over `period` changes (clamped to at least 1).
    pub fn new(period: usize) -> Self {
        let period = period.max(1);
        Rsi {
            period,
            period_dec: Decimal::from(period),
            previous: None,
            changes: 0,
            avg_gain: Decimal::ZERO,
            avg_loss: Decimal::ZERO,
            value: None,
        }
    }

    /// Feeds one input; `None` until `period` changes have been seen, or if the input's
    /// arithmetic overflows (ignored: the next change is measured from the input before).
    pub fn update(&mut self, x: Decimal) -> Option<Decimal> {
        let Some(previous) = self.previous else {
            self.previous = Some(x);
            return None;
        };
        let Some(step) = self.step(previous, x) else {
            return overflowed("rsi", x);
        };
        self.previous = Some(x);
        (self.avg_gain, self.avg_loss, self.changes) = (step.avg_gain, step.avg_loss, step.changes);
        if step.value.is_some() {
            self.value = step.value;
        }
        step.value
    }

    /// The state after the change from `previous` to `x`, computed without touching `self`.
    fn step(&self, previous: Decimal, x: Decimal) -> Option<RsiStep> {
        let change = x.checked_sub(previous)?;
        let gain = change.max(Decimal::ZERO);
        let loss = (-change).max(Decimal::ZERO);
        let (mut avg_gain, mut avg_loss, mut changes) =
            (self.avg_gain, self.avg_loss, self.changes);
        if changes < self.period {
            // Warm-up: accumulate sums, then turn them into the seed means.
            avg_gain = avg_gain.checked_add(gain)?;
            avg_loss = avg_loss.checked_add(loss)?;
            changes += 1;
            if changes < self.period {
                return Some(RsiStep {
                    avg_gain,
                    avg_loss,
                    changes,
                    value: None,
                });
            }
            avg_gain = avg_gain.checked_div(self.period_dec)?;
            avg_loss = avg_loss.checked_div(self.period_dec)?;
        } else {
            let keep = self.period_dec - Decimal::ONE;
            let smooth = |avg: Decimal, x: Decimal| {
                avg.checked_mul(keep)?
                    .checked_add(x)?
                    .checked_div(self.period_dec)
            };
            avg_gain = smooth(avg_gain, gain)?;
            avg_loss = smooth(avg_loss, loss)?;
        }
        let total = avg_gain.checked_add(avg_loss)?;
        let value = if total.is_zero() {
            Decimal::from(50)
        } else {
            Decimal::ONE_HUNDRED
                .checked_mul(avg_gain)?
                .checked_div(total)?
        };
        Some(RsiStep {
            avg_gain,
            avg_loss,
            changes,
            value: Some(value),
        })
    }

    /// The latest value, `None` while warming up.
    pub fn value(&self) -> Option<Decimal> {
        self.value
    }
}

/// [`Rsi`]'s state after one change.
struct RsiStep {
    avg_gain: Decimal,
    avg_loss: Decimal,
    changes: usize,
    value: Option<Decimal>,
}

/// Rate of change over `lookback` inputs: `x_t / x_{t−lookback} − 1`.
///
/// Defined once `lookback + 1` inputs have been seen; undefined (`None`) while the price
/// `lookback` inputs ago is zero.
#[derive(Debug, Clone)]
pub struct Momentum {
    window: VecDeque<Decimal>,
    span: usize,
    value: Option<Decimal>,
}

impl Momentum {
    /// Momentum over `lookback` inputs (clamped to at least 1).
    pub fn new(lookback: usize) -> Self {
        let span = lookback.max(1) + 1;
        Momentum {
            window: VecDeque::with_capacity(span + 1),
            span,
            value: None,
        }
    }

    /// Feeds one input; `None` while warming up, when the base price is zero, or when the
    /// ratio is beyond `Decimal`'s range.
    pub fn update(&mut self, x: Decimal) -> Option<Decimal> {
        self.window.push_back(x);
        if self.window.len() > self.span {
            self.window.pop_front();
        }
        if self.window.len() < self.span {
            return None;
        }
        self.value = self
            .window
            .front()
            .and_then(|base| x.checked_div(*base))
            .and_then(|ratio| ratio.checked_sub(Decimal::ONE));
        self.value
    }

    /// The latest value, `None` while warming up.
    pub fn value(&self) -> Option<Decimal> {
        self.value
    }
}
