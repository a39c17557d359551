//! The consumer's librdkafka context: rebalance hooks (commit before a revocation, tell
//! the loop which partitions to forget, keep [`ConsumerHealth`] and the log up to date)
//! and statistics (lag gauges and the health's total lag).
//!
//! Why the loss and the recovery are logged here: the rebalance callbacks are the only
//! place that sees the assignment change, and an operator must be able to tell from the
//! log when a consumer lost its partitions and when it got them back (a broker stall made
//! consumers silent for minutes).
//!
//! What a broker stall does (seen against tansu 0.6 with librdkafka's `cgrp` debug log):
//! the session times out on the client, the assignment is revoked as lost, and the client
//! rejoins as a new member as soon as the broker answers. Usually it has its partitions
//! back within seconds. Sometimes the broker's group never completes a rebalance again
//! (every SyncGroup answered "rebalance in progress", then "unknown member"), for fresh
//! members too; then only the escalation helps: the actor fails past its unassigned bound,
//! and repeated failures exhaust its supervisor's budget (exit 3).

use super::health::ConsumerHealth;
use super::meters;
use super::stats::Partition;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Unassigned longer than this, a consumer getting partitions again is logged as a
/// recovery (a normal rebalance takes well under it).
pub(super) const LOSS_WORTH_LOGGING: Duration = Duration::from_secs(15);

pub struct PipelineContext {
    revoked: Mutex<Vec<Partition>>,
    /// Labels the lag gauges and the log lines.
    service: String,
    health: ConsumerHealth,
}

impl PipelineContext {
    pub fn new(service: &str, health: ConsumerHealth) -> Self {
        PipelineContext {
            revoked: Mutex::new(Vec::new()),
            service: service.to_owned(),
            health,
        }
    }

    pub(super) fn take_revoked(&self) -> Vec<Partition> {
        self.revoked
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }

    fn assigned_now(consumer: &BaseConsumer<Self>, fallback: usize) -> usize {
        consumer.assignment().map_or(fallback, |a| a.count())
    }
}

impl ClientContext for PipelineContext {
    // Replaces the default, which would log every report at info.
    fn stats_raw(&self, statistics: &[u8]) {
        if let Some(lag) = meters::report_lag(&self.service, statistics) {
            self.health.set_lag(lag);
        }
    }
}

impl ConsumerContext for PipelineContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            if consumer.assignment_lost() {
                // The session ended without us (a broker stall): another member may own
                // these partitions already, and a synchronous commit to a coordinator
                // that does not answer would block this thread (and every actor on it).
                tracing::warn!(service = %self.service, partitions = tpl.count(), "assignment lost (group session expired); rejoining without committing");
            } else if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
                // Commit what is complete before another member takes these partitions.
                tracing::debug!(error = %e, "commit on revoke (nothing stored, or failed)");
            }
            if let Ok(mut revoked) = self.revoked.lock() {
                revoked.extend(
                    tpl.elements()
                        .iter()
                        .map(|e| (e.topic().to_owned(), e.partition())),
                );
            }
            tracing::info!(service = %self.service, partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let now = Instant::now();
        match rebalance {
            Rebalance::Assign(tpl) => {
                // A partition paused before it was revoked must not stay paused when it
                // comes back: the loop forgot it.
                if let Err(e) = consumer.resume(tpl) {
                    tracing::debug!(error = %e, "resume on assign");
                }
                let before = self.health.snapshot_at(now);
                let count = Self::assigned_now(consumer, tpl.count());
                self.health.set_assigned(count, now);
                let assigned: Vec<String> = tpl
                    .elements()
                    .iter()
                    .map(|e| format!("{}:{}", e.topic(), e.partition()))
                    .collect();
                match before.unassigned_for {
                    Some(without) if without >= LOSS_WORTH_LOGGING && count > 0 => {
                        tracing::warn!(service = %self.service, partitions = count, ?without, assigned = %assigned.join(","), "consumer has partitions again");
                    }
                    _ => {
                        tracing::info!(service = %self.service, partitions = tpl.count(), assigned = %assigned.join(","), "partitions assigned");
                    }
                }
            }
            Rebalance::Revoke(_) => {
                let count = Self::assigned_now(consumer, 0);
                if self.health.set_assigned(count, now) > 0 && count == 0 {
                    tracing::info!(service = %self.service, "consumer has no partitions; waiting for the group to assign some");
                }
            }
            Rebalance::Error(e) => {
                tracing::warn!(service = %self.service, error = %e, "rebalance failed");
            }
        }
    }
}
