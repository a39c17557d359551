//! The benchmark's answer, serialised as JSON: what was asked, what was achieved, each
//! hop's latency percentiles and every count that tells whether something was lost.

use super::chains::{Counts, Latencies};
use super::cpu::CpuReport;
use hdrhistogram::Histogram;
use serde::Serialize;

/// One hop's latency distribution, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HopStats {
    pub count: u64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

impl HopStats {
    /// The percentiles of a histogram of nanoseconds (all zero when it is empty).
    pub fn of(h: &Histogram<u64>) -> Self {
        let us = |ns: u64| ns as f64 / 1_000.0;
        if h.is_empty() {
            return HopStats {
                count: 0,
                p50_us: 0.0,
                p99_us: 0.0,
                p999_us: 0.0,
                max_us: 0.0,
            };
        }
        HopStats {
            count: h.len(),
            p50_us: us(h.value_at_quantile(0.50)),
            p99_us: us(h.value_at_quantile(0.99)),
            p999_us: us(h.value_at_quantile(0.999)),
            max_us: us(h.max()),
        }
    }
}

/// Per-hop latencies of the chains whose tick was sent in the measurement window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Hops {
    /// Feed receipt (tick built) → signal built by the strategy runner: one Kafka hop.
    pub tick_to_signal: HopStats,
    /// Signal → validated signal built by the risk manager: one Kafka hop.
    pub signal_to_validated: HopStats,
    /// Validated signal → fill built by paper execution: one Kafka hop.
    pub validated_to_fill: HopStats,
    /// End to end: feed receipt → fill, three Kafka hops.
    pub tick_to_fill: HopStats,
    /// A tick from the feed to the measuring consumer: one Kafka hop with no handler.
    pub tick_delivery: HopStats,
}

impl Hops {
    pub fn of(l: &Latencies) -> Self {
        Hops {
            tick_to_signal: HopStats::of(&l.tick_to_signal),
            signal_to_validated: HopStats::of(&l.signal_to_validated),
            validated_to_fill: HopStats::of(&l.validated_to_fill),
            tick_to_fill: HopStats::of(&l.tick_to_fill),
            tick_delivery: HopStats::of(&l.tick_delivery),
        }
    }
}

/// What went in and did not come out, over the whole run (warm-up included), after the
/// pipeline drained, from the distinct events seen. Zero everywhere means nothing was
/// lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Loss {
    /// Ticks the simulator sent minus ticks seen on `market.ticks`.
    pub ticks: i64,
    /// Of those, ticks the feed replaced by a newer tick of the same instrument before
    /// publishing (its latest-wins buffer; process-wide counter).
    pub ticks_conflated: u64,
    /// Signals seen minus signals answered (validated + rejected).
    pub signals: i64,
    /// Validated signals seen minus orders settled (filled + failed).
    pub orders: i64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// `"embedded"` or the bootstrap brokers.
    pub broker: String,
    /// Ticks a second asked of the simulator (total over the instruments).
    pub rate_requested: u32,
    pub duration_secs: f64,
    pub warmup_secs: f64,
    /// Instruments subscribed (the rate is spread over them round-robin).
    pub instruments: usize,
    /// Ticks the simulator sent during the measurement window.
    pub ticks_sent: u64,
    /// Ticks sent by the feed during the window and seen on `market.ticks`.
    pub ticks_seen: u64,
    /// `ticks_seen / duration_secs`.
    pub ticks_per_sec: f64,
    /// Ticks the simulator sent over the whole run.
    pub ticks_sent_total: u64,
    /// Records seen per topic over the whole run.
    pub counts: Counts,
    pub hops: Hops,
    pub loss: Loss,
    /// Seconds the pipeline took to drain after the load stopped (bounded).
    pub drain_secs: f64,
    /// Ticks seen of those sent in the window's slowest and fastest whole second: a
    /// sustained rate holds in every second, not only on average.
    pub slowest_second: Option<u64>,
    pub fastest_second: Option<u64>,
    /// CPU over the window (Linux): each core, this process, its threads by name.
    pub cpu: Option<CpuReport>,
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Loss {
    /// The losses implied by `counts`, `sent` ticks and `conflated` ones.
    pub fn of(counts: &Counts, sent: u64, conflated: u64) -> Self {
        Loss {
            ticks: signed(sent) - signed(counts.ticks),
            ticks_conflated: conflated,
            signals: signed(counts.signals) - signed(counts.validated + counts.rejected),
            orders: signed(counts.validated) - signed(counts.filled + counts.failed),
        }
    }
}
