//! Chart geometry for `equity.svg`: deterministic downsampling of large curves, the mapping
//! from (session time, rupees) to pixels, and the y ticks. Floats are used for pixels only.

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::EquityPoint;
use super::timeline::Timeline;

/// Time buckets a long curve is reduced to.
pub(super) const MAX_BUCKETS: usize = 500;
/// A curve longer than this is downsampled; no drawn curve has more points.
pub(super) const MAX_POINTS: usize = 4 * MAX_BUCKETS;

/// `points` itself when it has at most [`MAX_POINTS`]; otherwise, per time bucket (the
/// curve's span cut into [`MAX_BUCKETS`] equal parts), its first, lowest, highest and last
/// points in time order, so peaks and troughs survive.
pub(super) fn downsample(points: &[EquityPoint]) -> Vec<EquityPoint> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    if points.len() <= MAX_POINTS {
        return points.to_vec();
    }
    let span_ms = i128::from(millis(last.ts - first.ts).max(0));
    let buckets = i128::try_from(MAX_BUCKETS).unwrap_or(i128::MAX);
    let mut kept = Vec::with_capacity(MAX_POINTS);
    let mut start = 0;
    let mut current_bucket = 0;
    for i in 0..=points.len() {
        let bucket = points.get(i).map(|p| {
            let offset = i128::from(millis(p.ts - first.ts).max(0));
            // `offset ≤ span`, so the bucket is below MAX_BUCKETS; never decreasing (a
            // curve with out-of-order points still yields at most MAX_BUCKETS runs).
            (offset * buckets / (span_ms + 1)).max(current_bucket)
        });
        if i > 0 && bucket != Some(current_bucket) {
            keep_extremes(&points[start..i], &mut kept);
            start = i;
        }
        if let Some(bucket) = bucket {
            current_bucket = bucket;
        }
    }
    kept
}

/// Pushes the first, lowest, highest and last points of a non-empty run, in time order.
fn keep_extremes(run: &[EquityPoint], kept: &mut Vec<EquityPoint>) {
    let mut low = 0;
    let mut high = 0;
    for (i, point) in run.iter().enumerate() {
        if point.equity < run[low].equity {
            low = i;
        }
        if point.equity > run[high].equity {
            high = i;
        }
    }
    let mut indices = [0, low, high, run.len() - 1];
    indices.sort_unstable();
    let mut previous = None;
    for i in indices {
        if previous != Some(i) {
            kept.push(run[i]);
            previous = Some(i);
        }
    }
}

/// Whole milliseconds of a duration (saturating; a backtest spans far less).
fn millis(delta: TimeDelta) -> i64 {
    delta.num_milliseconds()
}

/// A decimal as a pixel-space float.
pub(super) fn float(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

/// The plot area in pixels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Area {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

/// Maps instants (through session time, see [`Timeline`]) and rupees to pixels within an
/// [`Area`].
#[derive(Debug, Clone)]
pub(super) struct Frame<'t> {
    pub area: Area,
    pub timeline: &'t Timeline,
    /// Rupee range of the y axis (always `low < high`).
    pub low: f64,
    pub high: f64,
    /// Distance between y ticks, in rupees.
    pub step: f64,
}

impl<'t> Frame<'t> {
    /// The frame holding every value of `values` (at least one: give the starting equity).
    pub fn fit(area: Area, timeline: &'t Timeline, values: impl Iterator<Item = f64>) -> Self {
        let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let (low, high) = if low.is_finite() && high.is_finite() {
            (low, high)
        } else {
            (0.0, 0.0)
        };
        // A flat curve still gets a range (±1 rupee) so nothing divides by zero.
        let (low, high) = if high - low < 1.0 {
            let middle = (low + high) / 2.0;
            (middle - 1.0, middle + 1.0)
        } else {
            (low, high)
        };
        let step = nice_step((high - low) / 5.0);
        Self {
            area,
            timeline,
            low: (low / step).floor() * step,
            high: (high / step).ceil() * step,
            step,
        }
    }

    /// The x pixel of an instant: its session time; the middle of the area when the run
    /// has no session time.
    pub fn x(&self, ts: DateTime<Utc>) -> f64 {
        let total = self.timeline.total_ms();
        if total <= 0 {
            return self.area.left + self.area.width / 2.0;
        }
        let offset = self.timeline.position_ms(ts) as f64;
        self.area.left + offset / total as f64 * self.area.width
    }

    /// The y pixel of a rupee value (larger values higher up).
    pub fn y(&self, value: f64) -> f64 {
        self.area.top + (self.high - value) / (self.high - self.low) * self.area.height
    }

    /// The y tick values, `low` to `high` by `step`.
    pub fn y_ticks(&self) -> Vec<f64> {
        let count = ((self.high - self.low) / self.step)
            .round()
            .clamp(0.0, 50.0) as usize;
        (0..=count)
            .map(|i| self.low + i as f64 * self.step)
            .collect()
    }
}

/// 1, 2 or 5 × a power of ten, at least `raw` (and positive).
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let normalised = raw / magnitude;
    let nice = if normalised <= 1.0 {
        1.0
    } else if normalised <= 2.0 {
        2.0
    } else if normalised <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}
