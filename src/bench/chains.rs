//! Joining measured records into causal chains and turning them into per-hop latencies.
//!
//! A tick is a root event: its id is the correlation id of every event it causes (the
//! strategy's signal is `tick.child(..)`, the risk verdict `signal.child(..)`, the paper
//! fill `validated.child(..)`, and `Envelope::child` keeps the parent's correlation id). So
//! the records of one chain share a correlation id, and a chain holds at most one record of
//! each kind while one strategy trades one broker without partial fills; a second record
//! of a kind for a correlation id (a producer retry the broker did not deduplicate) is
//! counted as a duplicate and otherwise ignored, so the per-kind counts are distinct
//! events. (Two resting orders filled by the same tick would also count as a duplicate.)
//!
//! Every latency is `child.sent − parent.sent`, both from the `ap-sent-ns` header (the
//! wall clock of the one process that built both records). A chain is measured when its
//! tick was sent inside the measurement window (warm-up and drain are excluded); a chain
//! whose tick was not seen is placed by its signal instead. A fill of a resting order is
//! caused by a later tick, not a validated signal: it counts as a fill but joins no hop.
//! Pure: no I/O, no clocks.

use crate::messages::Broker;
use crate::streaming::{Stream, Topic};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The record kinds the benchmark reads, one topic each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Tick,
    Signal,
    Validated,
    Rejected,
    Filled,
    Failed,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Tick,
        Kind::Signal,
        Kind::Validated,
        Kind::Rejected,
        Kind::Filled,
        Kind::Failed,
    ];

    /// The topic records of this kind are read from (the paper broker's).
    pub fn topic(self) -> Topic {
        let paper = |stream| Topic::of(Broker::Paper, stream);
        match self {
            Kind::Tick => Topic::MARKET_TICKS,
            Kind::Signal => paper(Stream::SignalsRaw),
            Kind::Validated => paper(Stream::SignalsValidated),
            Kind::Rejected => paper(Stream::SignalsRejected),
            Kind::Filled => paper(Stream::OrdersFilled),
            Kind::Failed => paper(Stream::OrdersFailed),
        }
    }
}

/// One record as the measuring consumer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    pub kind: Kind,
    pub correlation_id: Uuid,
    /// When the record was built for publishing (`ap-sent-ns`), ns since the Unix epoch.
    pub sent_ns: i64,
    /// When the measuring consumer received it, ns since the Unix epoch.
    pub seen_ns: i64,
}

/// Distinct events seen per kind over the whole run (warm-up and drain included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub ticks: u64,
    pub signals: u64,
    pub validated: u64,
    pub rejected: u64,
    pub filled: u64,
    pub failed: u64,
    /// Records at a new offset whose (correlation id, kind) was seen before: the same
    /// event written twice.
    pub duplicates: u64,
    /// Records at an offset already read (the measuring consumer fetched it again);
    /// ignored.
    pub reread: u64,
    /// Records without a readable `correlation-id` or `ap-sent-ns` header.
    pub unreadable: u64,
}

impl Counts {
    fn add(&mut self, kind: Kind) {
        match kind {
            Kind::Tick => self.ticks += 1,
            Kind::Signal => self.signals += 1,
            Kind::Validated => self.validated += 1,
            Kind::Rejected => self.rejected += 1,
            Kind::Filled => self.filled += 1,
            Kind::Failed => self.failed += 1,
        }
    }
}

/// The measurement window, ns since the Unix epoch, `[start_ns, end_ns)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start_ns: i64,
    pub end_ns: i64,
}

impl Window {
    pub fn contains(&self, ns: i64) -> bool {
        (self.start_ns..self.end_ns).contains(&ns)
    }

    /// Whole seconds in the window (a last partial second is not one).
    pub fn whole_seconds(&self) -> usize {
        usize::try_from((self.end_ns - self.start_ns).max(0) / 1_000_000_000).unwrap_or(0)
    }
}

/// Latency histograms (nanoseconds) of the chains measured in a window.
#[derive(Debug, Clone)]
pub struct Latencies {
    pub tick_to_signal: Histogram<u64>,
    pub signal_to_validated: Histogram<u64>,
    pub validated_to_fill: Histogram<u64>,
    /// End to end: feed receipt → fill, through three Kafka hops.
    pub tick_to_fill: Histogram<u64>,
    /// A tick's own trip through Kafka: sent by the feed → received by the measurer.
    pub tick_delivery: Histogram<u64>,
    /// Ticks sent inside the window and seen.
    pub ticks_in_window: u64,
    /// Of those, how many were sent in each whole second of the window.
    pub ticks_by_second: Vec<u64>,
}

/// Highest latency a histogram tracks exactly (ten minutes); longer ones saturate.
const MAX_TRACKED_NS: u64 = 600_000_000_000;

fn histogram() -> Histogram<u64> {
    // Infallible: `new_with_bounds` fails only for low < 1, high < 2 × low or more than 5
    // significant digits, and these constants are 1, ten minutes in ns and 3.
    Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3).expect("constant histogram bounds are valid")
}

/// Records `to − from`; a negative difference (clock stepped back) counts as zero.
fn record(h: &mut Histogram<u64>, from: i64, to: i64) {
    h.saturating_record(u64::try_from(to.saturating_sub(from)).unwrap_or(0));
}

#[derive(Debug, Clone, Copy, Default)]
struct Chain {
    /// (sent, seen) of the tick.
    tick: Option<(i64, i64)>,
    signal: Option<i64>,
    validated: Option<i64>,
    rejected: Option<i64>,
    filled: Option<i64>,
    failed: Option<i64>,
}

/// Every chain seen so far, by correlation id, and the counts.
#[derive(Debug, Default)]
pub struct Chains {
    chains: HashMap<Uuid, Chain>,
    counts: Counts,
}

impl Chains {
    /// Adds one record (read once: see [`Chains::reread`]).
    pub fn observe(&mut self, o: Observation) {
        let chain = self.chains.entry(o.correlation_id).or_default();
        let first = match o.kind {
            Kind::Tick => chain.tick.is_none(),
            Kind::Signal => chain.signal.is_none(),
            Kind::Validated => chain.validated.is_none(),
            Kind::Rejected => chain.rejected.is_none(),
            Kind::Filled => chain.filled.is_none(),
            Kind::Failed => chain.failed.is_none(),
        };
        if !first {
            self.counts.duplicates += 1;
            return;
        }
        self.counts.add(o.kind);
        let sent = Some(o.sent_ns);
        match o.kind {
            Kind::Tick => chain.tick = Some((o.sent_ns, o.seen_ns)),
            Kind::Signal => chain.signal = sent,
            Kind::Validated => chain.validated = sent,
            Kind::Rejected => chain.rejected = sent,
            Kind::Filled => chain.filled = sent,
            Kind::Failed => chain.failed = sent,
        }
    }

    /// Counts a record at an offset that was read before.
    pub fn reread(&mut self) {
        self.counts.reread += 1;
    }

    /// Counts a record that could not be read.
    pub fn unreadable(&mut self) {
        self.counts.unreadable += 1;
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The latencies of the chains that started inside `window`.
    pub fn latencies(&self, window: Window) -> Latencies {
        let mut l = Latencies {
            tick_to_signal: histogram(),
            signal_to_validated: histogram(),
            validated_to_fill: histogram(),
            tick_to_fill: histogram(),
            tick_delivery: histogram(),
            ticks_in_window: 0,
            ticks_by_second: vec![0; window.whole_seconds()],
        };
        for chain in self.chains.values() {
            let tick_sent = chain.tick.map(|(sent, _)| sent);
            let Some(start) = tick_sent.or(chain.signal) else {
                continue;
            };
            if !window.contains(start) {
                continue;
            }
            if let Some((sent, seen)) = chain.tick {
                l.ticks_in_window += 1;
                let second = usize::try_from((sent - window.start_ns) / 1_000_000_000).ok();
                if let Some(n) = second.and_then(|s| l.ticks_by_second.get_mut(s)) {
                    *n += 1;
                }
                record(&mut l.tick_delivery, sent, seen);
            }
            if let (Some(t), Some(s)) = (tick_sent, chain.signal) {
                record(&mut l.tick_to_signal, t, s);
            }
            if let (Some(s), Some(v)) = (chain.signal, chain.validated) {
                record(&mut l.signal_to_validated, s, v);
            }
            if let (Some(v), Some(f)) = (chain.validated, chain.filled) {
                record(&mut l.validated_to_fill, v, f);
                if let Some(t) = tick_sent {
                    record(&mut l.tick_to_fill, t, f);
                }
            }
        }
        l
    }
}
