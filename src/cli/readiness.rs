//! The daemon's readiness checks (`GET /health/ready`), each named in the 503 when it
//! fails:
//!
//! | check | not ready when |
//! |---|---|
//! | `actors` | an actor of the supervision tree is not running (starting, restarting, stopped) |
//! | `broker` | the broker watch's probes or the producer's deliveries have been failing (`streaming::health`) |
//! | `store` | Redis does not answer a read within 1 s |
//!
//! Why: readiness is what a service manager, a load balancer or an operator's dashboard
//! polls; it must turn 503 for every fault that stops trading, and say which.

use crate::actors::daemon::Health;
use crate::api::ReadinessCheck;
use crate::store::Store;
use crate::supervision::{ActorState, Board};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest the store probe waits.
const STORE_PROBE: Duration = Duration::from_secs(1);

/// Runs every check.
pub(super) async fn checks(
    board: Board,
    store: Arc<dyn Store>,
    health: Health,
) -> Vec<ReadinessCheck> {
    vec![
        actors(&board),
        broker(&health, Instant::now()),
        store_check(store).await,
    ]
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
