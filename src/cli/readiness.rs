//! The daemon's readiness checks (`GET /health/ready`), each named in the 503 when it
//! fails:
//!
//! | check | not ready when |
//! |---|---|
//! | `actors` | an actor of the supervision tree is not running (starting, restarting, stopped) |
//! | `broker` | the broker watch's probes or the producer's deliveries have been failing (`streaming::health`) |
//! | `consumers` | a consumer has no partition assigned (starting, rebalancing, or its group lost after a broker stall), or lags more than `kafka.ready_max_lag` records |
//! | `feed` | the market feed is not connected (since when, the last error), or, connected, has had no tick for `feed.stale_after_secs` while the market is open (always, for the simulator and with `market_hours.enforce` off) |
//! | `store` | Redis does not answer a read within 1 s |
//!
//! Why: readiness is what a service manager, a load balancer or an operator's dashboard
//! polls; it must turn 503 for every fault that stops trading, and say which.

use crate::actors::daemon::Health;
use crate::market::hours::Session;
use crate::store::Store;
use crate::streaming::consumer::{ConsumerHealth, ConsumerHealthSnapshot};
use crate::supervision::{ActorState, Board};
use crate::telemetry::readiness::ReadinessCheck;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest the store probe waits.
const STORE_PROBE: Duration = Duration::from_secs(1);

/// Runs every check.
pub(super) async fn checks(
    board: Board,
    store: Arc<dyn Store>,
    health: Health,
    stale_after: Duration,
    max_lag: u64,
) -> Vec<ReadinessCheck> {
    let mut checks = vec![
        actors(&board),
        broker(&health, Instant::now()),
        consumers(&ConsumerHealth::all(), max_lag),
    ];
    checks.extend(feed(&health, Utc::now(), stale_after));
    checks.push(store_check(store).await);
    checks
}

/// Every consumer has partitions and lags at most `max_lag` records.
fn consumers(all: &[ConsumerHealthSnapshot], max_lag: u64) -> ReadinessCheck {
    let mut problems: Vec<String> = all
        .iter()
        .filter_map(|c| match (c.unassigned_for, c.total_lag) {
            (Some(without), _) => Some(format!(
                "{} has no partition assigned (for {}s)",
                c.service,
                without.as_secs()
            )),
            (None, Some(lag)) if lag > max_lag => Some(format!(
                "{} lags {lag} records (more than kafka.ready_max_lag = {max_lag})",
                c.service
            )),
            _ => None,
        })
        .collect();
    problems.sort();
    if problems.is_empty() {
        ReadinessCheck::ready("consumers", format!("{} assigned", all.len()))
    } else {
        ReadinessCheck::not_ready("consumers", problems.join("; "))
    }
}

fn feed(health: &Health, now: DateTime<Utc>, stale_after: Duration) -> Option<ReadinessCheck> {
    let (feed, calendar) = health.feed.as_ref()?;
    let market_open = calendar
        .as_ref()
        .is_none_or(|c| c.session_at(now) == Session::Normal);
    Some(feed.readiness(now, market_open, stale_after))
}

fn actors(board: &Board) -> ReadinessCheck {
    let tree = board.snapshot();
    let not_running: Vec<String> = tree
        .actors
        .iter()
        .filter(|a| a.state != ActorState::Running)
        .map(|a| format!("{} is {:?}", a.name, a.state).to_lowercase())
        .collect();
    if not_running.is_empty() {
        ReadinessCheck::ready("actors", format!("{} running", tree.actors.len()))
    } else {
        ReadinessCheck::not_ready("actors", not_running.join(", "))
    }
}

fn broker(health: &Health, now: Instant) -> ReadinessCheck {
    match health.broker.outage(now) {
        None => ReadinessCheck::ready("broker", "reachable"),
        Some(outage) => ReadinessCheck::not_ready(
            "broker",
            format!(
                "unavailable for {}s: {}",
                outage.lasted(now).as_secs(),
                outage.reason
            ),
        ),
    }
}

async fn store_check(store: Arc<dyn Store>) -> ReadinessCheck {
    match tokio::time::timeout(STORE_PROBE, store.get("health:probe")).await {
        Ok(Ok(_)) => ReadinessCheck::ready("store", "answers"),
        Ok(Err(e)) => ReadinessCheck::not_ready("store", e.to_string()),
        Err(_) => ReadinessCheck::not_ready("store", format!("no answer within {STORE_PROBE:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumer(
        service: &str,
        unassigned_secs: Option<u64>,
        lag: Option<u64>,
    ) -> ConsumerHealthSnapshot {
        ConsumerHealthSnapshot {
            service: service.into(),
            assigned_partitions: usize::from(unassigned_secs.is_none()),
            unassigned_for: unassigned_secs.map(Duration::from_secs),
            total_lag: lag,
        }
    }

    #[test]
    fn consumers_are_ready_only_assigned_and_caught_up() {
        let cases = [
            ("none yet", vec![], true, "0 assigned"),
            (
                "assigned, lag unknown",
                vec![consumer("risk_manager", None, None)],
                true,
                "1 assigned",
            ),
            (
                "at the bound",
                vec![consumer("risk_manager", None, Some(100))],
                true,
                "1 assigned",
            ),
            (
                "lagging",
                vec![consumer("risk_manager", None, Some(101))],
                false,
                "risk_manager lags 101 records (more than kafka.ready_max_lag = 100)",
            ),
            (
                "unassigned",
                vec![
                    consumer("paper_execution", Some(21), None),
                    consumer("risk_manager", None, Some(0)),
                ],
                false,
                "paper_execution has no partition assigned (for 21s)",
            ),
        ];
        for (name, all, ready, detail) in cases {
            let check = consumers(&all, 100);
            assert_eq!(
                (check.ready, check.detail.as_str()),
                (ready, detail),
                "{name}"
            );
            assert_eq!(check.name, "consumers");
        }
    }

    #[test]
    fn the_broker_check_names_the_outage_and_its_length() {
        let health = Health::default();
        let t0 = Instant::now();
        assert!(broker(&health, t0).ready);
        health
            .broker
            .probe_failed(t0, "metadata request: timed out");
        let check = broker(&health, t0 + Duration::from_secs(7));
        assert!(!check.ready);
        assert_eq!(
            check.detail,
            "unavailable for 7s: metadata request: timed out"
        );
    }
}
