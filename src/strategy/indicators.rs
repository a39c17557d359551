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
//! - `Decimal` arithmetic panics only on overflow past ±7.9e28; inputs are assumed to be
//!   prices well under 1e12 so that squares summed over a window stay far from it.

use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use std::collections::VecDeque;

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

    /// Feeds one input; the EMA is defined from the first input on.
    pub fn update(&mut self, x: Decimal) -> Option<Decimal> {
        let previous = self.value.unwrap_or(x);
        let next = self.alpha * x + self.one_minus_alpha * previous;
        self.value = Some(next);
        self.count += 1;
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

    /// Pushes `x`, evicting the oldest input once full; true when the window is full.
    fn push(&mut self, x: Decimal, track_squares: bool) -> bool {
        self.items.push_back(x);
        self.sum += x;
        if track_squares {
            self.sum_sq += x * x;
        }
        if self.items.len() > self.len
            && let Some(old) = self.items.pop_front()
        {
            self.sum -= old;
            if track_squares {
                self.sum_sq -= old * old;
            }
        }
        self.items.len() == self.len
    }

    fn mean(&self) -> Decimal {
        self.sum / Decimal::from(self.len)
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

    /// Feeds one input; `None` until `period` inputs have been seen.
    pub fn update(&mut self, x: Decimal) -> Option<Decimal> {
        if self.window.push(x, false) {
            self.value = Some(self.window.mean());
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

    /// Feeds one input; `None` until `period` inputs have been seen.
    pub fn update(&mut self, x: Decimal) -> Option<MeanStd> {
        if self.window.push(x, true) {
            let mean = self.window.mean();
            let variance = self.window.sum_sq / Decimal::from(self.window.len) - mean * mean;
            self.value = Some(MeanStd {
                mean,
                std: sqrt(variance.max(Decimal::ZERO)),
            });
        }
        self.value
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

    /// Feeds one input; `None` until `period` inputs have been seen.
    pub fn update(&mut self, x: Decimal) -> Option<Bands> {
        if let Some(MeanStd { mean, std }) = self.std.update(x) {
            let width = self.k * std;
            self.value = Some(Bands {
                lower: mean - width,
                middle: mean,
                upper: mean + width,
            });
        }
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

    /// Feeds one input; `None` until `period` changes have been seen.
    pub fn update(&mut self, x: Decimal) -> Option<Decimal> {
        let previous = self.previous.replace(x)?;
        let change = x - previous;
        let gain = change.max(Decimal::ZERO);
        let loss = (-change).max(Decimal::ZERO);
        if self.changes < self.period {
            // Warm-up: accumulate sums, then turn them into the seed means.
            self.avg_gain += gain;
            self.avg_loss += loss;
            self.changes += 1;
            if self.changes < self.period {
                return None;
            }
            self.avg_gain /= self.period_dec;
            self.avg_loss /= self.period_dec;
        } else {
            let keep = self.period_dec - Decimal::ONE;
            self.avg_gain = (self.avg_gain * keep + gain) / self.period_dec;
            self.avg_loss = (self.avg_loss * keep + loss) / self.period_dec;
        }
        let total = self.avg_gain + self.avg_loss;
        self.value = Some(if total.is_zero() {
            Decimal::from(50)
        } else {
            Decimal::ONE_HUNDRED * self.avg_gain / total
        });
        self.value
    }

    /// The latest value, `None` while warming up.
    pub fn value(&self) -> Option<Decimal> {
        self.value
    }
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

    /// Feeds one input; `None` while warming up or when the base price is zero.
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
            .map(|ratio| ratio - Decimal::ONE);
        self.value
    }

    /// The latest value, `None` while warming up.
    pub fn value(&self) -> Option<Decimal> {
        self.value
    }
}
