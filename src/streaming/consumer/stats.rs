//! The consumer's outcome counters and progress, shared with whoever reads them (metrics,
//! tests, `GetProgress`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// A topic and partition.
pub type Partition = (String, i32);

/// Counters of every outcome. Shared with whoever wants to read them (metrics, tests).
#[derive(Debug, Default)]
pub struct ConsumerStats {
    pub received: AtomicU64,
    pub handled: AtomicU64,
    pub completed: AtomicU64,
    pub retries: AtomicU64,
    /// Records written to their DLQ (every chunk acknowledged); never attempts.
    pub dead_lettered: AtomicU64,
    /// DLQ writes that failed and were tried again.
    pub dlq_write_failures: AtomicU64,
    pub delivery_failures: AtomicU64,
    pub rewinds: AtomicU64,
    pub receive_errors: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub received: u64,
    pub handled: u64,
    pub completed: u64,
    pub retries: u64,
    pub dead_lettered: u64,
    pub dlq_write_failures: u64,
    pub delivery_failures: u64,
    pub rewinds: u64,
    pub receive_errors: u64,
}

impl ConsumerStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            received: g(&self.received),
            handled: g(&self.handled),
            completed: g(&self.completed),
            retries: g(&self.retries),
            dead_lettered: g(&self.dead_lettered),
            dlq_write_failures: g(&self.dlq_write_failures),
            delivery_failures: g(&self.delivery_failures),
            rewinds: g(&self.rewinds),
            receive_errors: g(&self.receive_errors),
        }
    }
}

pub(super) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Where the loop stands: per partition, the last offset stored for commit, how many
/// records are in the window, and how many wait (parked) behind a record being retried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub stored: HashMap<Partition, i64>,
    pub in_window: HashMap<Partition, usize>,
    pub parked: HashMap<Partition, usize>,
    pub stats: StatsSnapshot,
}
