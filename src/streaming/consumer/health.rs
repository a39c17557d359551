//! A consumer's group health: how many partitions it holds, how long it has held none,
//! and its total lag — cheap to read (atomics), for readiness and for the consumer's own
//! escalation when it stays unassigned.
//!
//! Why a registry: the supervisor builds a fresh [`super::ConsumerActor`] on every restart,
//! so whoever reads the health (readiness) cannot hold one actor's copy. Each consumer
//! registers under its service name; a restarted consumer takes over the same entry, and
//! keeps the moment its service lost its partitions, so a restart does not make a
//! consumer that has been unassigned for minutes look freshly started.
//!
//! Invariants:
//! - `unassigned_for` is `None` exactly while at least one partition is assigned;
//! - the lag is `None` while nothing is assigned or no statistics report has arrived since
//!   the last assignment (a lag from before a rebalance says nothing about now).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a consumer may have no partition before it fails (and its supervisor restarts
/// it, then escalates) when nothing else is configured (`kafka.unassigned_exit_secs`).
pub const DEFAULT_UNASSIGNED_EXIT: Duration = Duration::from_secs(120);

/// Process start, the zero of the stored instants (atomics hold no `Instant`).
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

static REGISTRY: LazyLock<Mutex<BTreeMap<String, ConsumerHealth>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

fn now_ms(now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(*EPOCH).as_millis()).unwrap_or(u64::MAX)
}

#[derive(Debug)]
struct Inner {
    service: String,
    assigned: AtomicUsize,
    /// Milliseconds after [`EPOCH`] since when nothing has been assigned (meaningful
    /// while `assigned` is 0).
    unassigned_since_ms: AtomicU64,
    /// Total lag, or -1 when unknown.
    lag: AtomicI64,
    /// False once the consumer was shut down on purpose.
    running: AtomicBool,
}

/// One consumer's health; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct ConsumerHealth(Arc<Inner>);

/// A consumer's health at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerHealthSnapshot {
    /// The consuming service (its group is `{group_prefix}.{service}`).
    pub service: String,
    /// Partitions assigned now.
    pub assigned_partitions: usize,
    /// How long it has had no partition: since it lost its last one, or since it was
    /// first created if it never had one. `None` while it has partitions.
    pub unassigned_for: Option<Duration>,
    /// Records behind the high watermarks, summed over its partitions, from the latest
    /// statistics report; `None` while unknown.
    pub total_lag: Option<u64>,
}

impl ConsumerHealth {
    /// A health entry not in the registry (tests, or a consumer nobody reads).
    pub fn new(service: &str) -> Self {
        ConsumerHealth(Arc::new(Inner {
            service: service.to_owned(),
            assigned: AtomicUsize::new(0),
            unassigned_since_ms: AtomicU64::new(now_ms(Instant::now())),
            lag: AtomicI64::new(-1),
            running: AtomicBool::new(true),
        }))
    }

    /// The registry's entry for `service`, created if missing. A consumer (re)starting
    /// takes it over: nothing is assigned to the new member yet, and the time its service
    /// has been without partitions keeps running.
    pub fn register(service: &str) -> Self {
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        let health = registry
            .entry(service.to_owned())
            .or_insert_with(|| ConsumerHealth::new(service))
            .clone();
        health.set_assigned(0, Instant::now());
        health.0.running.store(true, Ordering::Relaxed);
        health
    }

    /// Every registered consumer that has not been shut down on purpose, by service.
    pub fn all() -> Vec<ConsumerHealthSnapshot> {
        let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        registry
            .values()
            .filter(|h| h.0.running.load(Ordering::Relaxed))
            .map(|h| h.snapshot_at(now))
            .collect()
    }

    /// The registered consumer of `service`, if any.
    pub fn of(service: &str) -> Option<ConsumerHealth> {
        let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        registry.get(service).cloned()
    }

    pub fn snapshot(&self) -> ConsumerHealthSnapshot {
        self.snapshot_at(Instant::now())
    }

    pub fn snapshot_at(&self, now: Instant) -> ConsumerHealthSnapshot {
        let assigned = self.0.assigned.load(Ordering::Relaxed);
        let since = self.0.unassigned_since_ms.load(Ordering::Relaxed);
        let lag = self.0.lag.load(Ordering::Relaxed);
        ConsumerHealthSnapshot {
            service: self.0.service.clone(),
            assigned_partitions: assigned,
            unassigned_for: (assigned == 0)
                .then(|| Duration::from_millis(now_ms(now).saturating_sub(since))),
            total_lag: (assigned > 0 && lag >= 0).then_some(lag.unsigned_abs()),
        }
    }

    /// Records the assignment after a rebalance; returns the previous count.
    pub(super) fn set_assigned(&self, count: usize, now: Instant) -> usize {
        let previous = self.0.assigned.swap(count, Ordering::Relaxed);
        if count == 0 && previous > 0 {
            self.0
                .unassigned_since_ms
                .store(now_ms(now), Ordering::Relaxed);
        }
        if count != previous {
            // A lag from before the rebalance says nothing about the new assignment.
            self.0.lag.store(-1, Ordering::Relaxed);
        }
        previous
    }

    /// Records the total lag of the latest statistics report (`None`: unknown).
    pub(super) fn set_lag(&self, lag: Option<u64>) {
        let value = lag.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        self.0.lag.store(value, Ordering::Relaxed);
    }

    /// The consumer was shut down on purpose: readiness no longer expects it.
    pub(super) fn stopped(&self) {
        self.0.running.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unassigned_time_runs_from_the_loss_of_the_last_partition() {
        let h = ConsumerHealth::new("test_health_loss");
        let t0 = Instant::now();
        h.set_assigned(3, t0);
        h.set_lag(Some(12));
        let s = h.snapshot_at(t0);
        assert_eq!(
            (s.assigned_partitions, s.unassigned_for, s.total_lag),
            (3, None, Some(12))
        );
        h.set_assigned(0, t0);
        let later = h.snapshot_at(t0 + Duration::from_secs(30));
        assert_eq!(later.assigned_partitions, 0);
        assert!(
            later
                .unassigned_for
                .is_some_and(|d| d >= Duration::from_secs(29)),
            "{later:?}"
        );
        assert_eq!(later.total_lag, None, "no lag without partitions");
        h.set_assigned(2, t0);
        let back = h.snapshot_at(t0 + Duration::from_secs(31));
        assert_eq!((back.unassigned_for, back.total_lag), (None, None));
    }

    #[test]
    fn a_restarted_consumer_keeps_its_services_unassigned_time() {
        let a = ConsumerHealth::register("test_health_restart");
        let t0 = Instant::now();
        a.set_assigned(1, t0);
        a.set_assigned(0, t0);
        let b = ConsumerHealth::register("test_health_restart");
        let s = b.snapshot_at(t0 + Duration::from_secs(60));
        assert!(
            s.unassigned_for
                .is_some_and(|d| d >= Duration::from_secs(59)),
            "{s:?}"
        );
        assert!(
            ConsumerHealth::all()
                .iter()
                .any(|s| s.service == "test_health_restart")
        );
        b.stopped();
        assert!(
            !ConsumerHealth::all()
                .iter()
                .any(|s| s.service == "test_health_restart"),
            "a consumer shut down on purpose is not expected"
        );
    }
}
