//! Whether the broker is there: what the broker watch's probes and the producer's
//! deliveries have seen, shared by readiness and the escalation to exit 3.
//!
//! Why two sources: a probe (a metadata request every few seconds) sees a broker that is
//! down or frozen within seconds, while a delivery fails only after
//! `kafka.message_timeout_ms`; but a broker that answers metadata and refuses every record
//! (killed and restarted empty, topics gone) is seen only by the deliveries.
//!
//! Invariant: the broker counts as unavailable from the first failure after the last
//! success of either source until that source succeeds again; `since` never moves while
//! the failures go on, so the outage's length is measured from its start. A run of
//! delivery failures also ends when no delivery has failed for [`DELIVERY_QUIET`]: with
//! nothing published (a quiet market) there is no evidence either way, and the probes
//! speak for the broker.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A run of delivery failures with no failure for this long is over.
pub const DELIVERY_QUIET: Duration = Duration::from_secs(30);

/// One source's run of failures.
#[derive(Debug, Clone, Default)]
struct Failing {
    /// The first failure after the last success; `None`: the last outcome was a success.
    since: Option<Instant>,
    /// The latest failure.
    last: Option<Instant>,
    reason: String,
}

impl Failing {
    fn ok(&mut self) {
        self.since = None;
    }

    fn failed(&mut self, at: Instant, reason: String) {
        self.since.get_or_insert(at);
        self.last = Some(at);
        self.reason = reason;
    }

    /// The run going on at `now`, if any (`quiet`: how long without a failure ends it).
    fn outage(&self, now: Instant, quiet: Option<Duration>) -> Option<Outage> {
        let since = self.since?;
        let over = quiet
            .zip(self.last)
            .is_some_and(|(q, last)| now.saturating_duration_since(last) > q);
        (!over).then(|| Outage {
            since,
            reason: self.reason.clone(),
        })
    }
}

#[derive(Debug, Default)]
struct State {
    probe: Failing,
    delivery: Failing,
    /// When the last probe succeeded (`None`: none yet).
    last_probe_ok: Option<Instant>,
}

/// The shared view; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct BrokerHealth(Arc<Mutex<State>>);

/// The broker unavailable: since when and the latest reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub since: Instant,
    pub reason: String,
}

impl Outage {
    /// How long it has lasted at `now`.
    pub fn lasted(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.since)
    }
}

impl BrokerHealth {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update is a single assignment: a panic cannot leave it half done.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A metadata probe answered.
    pub fn probe_ok(&self, at: Instant) {
        let mut s = self.state();
        s.probe.ok();
        s.last_probe_ok = Some(at);
    }

    /// A metadata probe failed or timed out.
    pub fn probe_failed(&self, at: Instant, reason: impl Into<String>) {
        self.state().probe.failed(at, reason.into());
    }

    /// A record was acknowledged.
    pub fn delivery_ok(&self) {
        self.state().delivery.ok();
    }

    /// A record failed for a reason that is the broker's (not the record's).
    pub fn delivery_failed(&self, at: Instant, reason: impl Into<String>) {
        self.state().delivery.failed(at, reason.into());
    }

    /// The outage going on at `now`, if any: the earlier of the two sources' runs.
    pub fn outage(&self, now: Instant) -> Option<Outage> {
        let s = self.state();
        [
            s.probe.outage(now, None),
            s.delivery.outage(now, Some(DELIVERY_QUIET)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|o| o.since)
    }

    /// When the last probe answered.
    pub fn last_probe_ok(&self) -> Option<Instant> {
        self.state().last_probe_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_runs_from_its_first_failure_until_that_source_succeeds() {
        let h = BrokerHealth::default();
        let t0 = Instant::now();
        assert_eq!(h.outage(t0), None, "nothing seen yet is no outage");
        h.probe_ok(t0);
        h.probe_failed(t0 + Duration::from_secs(2), "timed out");
        h.probe_failed(t0 + Duration::from_secs(4), "refused");
        let outage = h.outage(t0 + Duration::from_secs(5)).expect("an outage");
        assert_eq!(
            outage.since,
            t0 + Duration::from_secs(2),
            "since the first failure"
        );
        assert_eq!(outage.reason, "refused", "the latest reason");
        assert_eq!(
            outage.lasted(t0 + Duration::from_secs(7)),
            Duration::from_secs(5)
        );
        h.probe_ok(t0 + Duration::from_secs(6));
        assert_eq!(h.outage(t0 + Duration::from_secs(6)), None);
    }

    #[test]
    fn deliveries_failing_are_an_outage_even_while_probes_answer() {
        let h = BrokerHealth::default();
        let t0 = Instant::now();
        h.delivery_failed(t0, "unknown topic");
        h.probe_ok(t0 + Duration::from_secs(1));
        let now = t0 + Duration::from_secs(2);
        assert_eq!(
            h.outage(now).map(|o| o.reason),
            Some("unknown topic".to_owned())
        );
        h.delivery_ok();
        assert_eq!(h.outage(now), None);
    }

    #[test]
    fn the_earlier_of_two_failing_sources_dates_the_outage() {
        let h = BrokerHealth::default();
        let t0 = Instant::now();
        h.delivery_failed(t0 + Duration::from_secs(3), "timed out");
        h.probe_failed(t0 + Duration::from_secs(1), "refused");
        let now = t0 + Duration::from_secs(4);
        assert_eq!(
            h.outage(now).map(|o| o.since),
            Some(t0 + Duration::from_secs(1))
        );
    }

    #[test]
    fn delivery_failures_stop_counting_once_nothing_has_failed_for_a_while() {
        let h = BrokerHealth::default();
        let t0 = Instant::now();
        h.delivery_failed(t0, "timed out");
        assert!(h.outage(t0 + DELIVERY_QUIET).is_some(), "still recent");
        assert_eq!(
            h.outage(t0 + DELIVERY_QUIET + Duration::from_secs(1)),
            None,
            "a quiet market is no evidence of an outage"
        );
        h.probe_failed(t0, "refused");
        assert!(
            h.outage(t0 + Duration::from_secs(3600)).is_some(),
            "failing probes go on counting"
        );
    }
}
