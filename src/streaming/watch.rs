//! The broker watch: probes the broker every [`PROBE_EVERY`] (a metadata request bounded by
//! [`PROBE_TIMEOUT`]) into the shared [`BrokerHealth`], logs when an outage starts and
//! ends, and fails once the outage (probes or deliveries, see [`BrokerHealth`]) has lasted
//! `kafka.unavailable_exit_secs`.
//!
//! Why fail: a daemon that cannot reach its broker trades blind — ticks are not
//! published, orders and fills go nowhere — and librdkafka keeps retrying quietly. The
//! daemon places the watch under the root supervisor with a budget of no restarts, so its
//! failure is the root giving up: everything stops in order and the process exits 3 for
//! its service manager to restart (docs/SUPERVISION.md).
//!
//! Invariant: at most one probe is in flight; a probe runs on the blocking pool, never on
//! the actor's thread.

use super::client::KafkaConnection;
use super::health::BrokerHealth;
use crate::supervision::fail;
use actix::prelude::*;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::util::Timeout;
use std::time::{Duration, Instant};

/// How often the broker is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);
/// Longest a probe waits for the broker's answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub struct BrokerWatch {
    client: std::sync::Arc<BaseProducer>,
    brokers: String,
    health: BrokerHealth,
    exit_after: Duration,
    probing: bool,
    /// Whether an outage has been logged (so its start and end are logged once each).
    reported: bool,
}

crate::supervised!(BrokerWatch);

impl BrokerWatch {
    /// # Errors
    /// The client configuration is invalid.
    pub fn new(
        connection: &KafkaConnection,
        health: BrokerHealth,
        exit_after: Duration,
    ) -> Result<BrokerWatch, String> {
        let client: BaseProducer = connection
            .producer_config()
            .create()
            .map_err(|e| format!("creating the broker watch's client: {e}"))?;
        Ok(BrokerWatch {
            client: std::sync::Arc::new(client),
            brokers: connection.bootstrap_servers.clone(),
            health,
            exit_after,
            probing: false,
            reported: false,
        })
    }

    fn probe(&mut self, ctx: &mut Context<Self>) {
        if self.probing {
            return;
        }
        self.probing = true;
        let client = self.client.clone();
        let asked = tokio::task::spawn_blocking(move || {
            client
                .client()
                .fetch_metadata(None, Timeout::After(PROBE_TIMEOUT))
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        ctx.spawn(asked.into_actor(self).map(|answer, act, ctx| {
            act.probing = false;
            let now = Instant::now();
            match answer {
                Ok(Ok(())) => act.health.probe_ok(now),
                Ok(Err(e)) => act
                    .health
                    .probe_failed(now, format!("metadata request: {e}")),
                Err(e) => act.health.probe_failed(now, format!("probe task: {e}")),
            }
            act.judge(ctx, now);
        }));
    }

    fn judge(&mut self, ctx: &mut Context<Self>, now: Instant) {
        let Some(outage) = self.health.outage(now) else {
            if self.reported {
                self.reported = false;
                tracing::info!(brokers = %self.brokers, "broker available again");
            }
            return;
        };
        let lasted = outage.lasted(now);
        if !self.reported {
            self.reported = true;
            tracing::warn!(brokers = %self.brokers, reason = %outage.reason, exit_after_secs = self.exit_after.as_secs(), "broker unavailable; readiness fails, and the daemon exits 3 if it lasts");
        }
        if lasted >= self.exit_after {
            tracing::error!(brokers = %self.brokers, lasted_secs = lasted.as_secs(), reason = %outage.reason, "broker unavailable longer than kafka.unavailable_exit_secs; giving up");
            fail::<Self>(
                ctx,
                format!(
                    "broker unavailable for {}s (kafka.unavailable_exit_secs = {}): {}",
                    lasted.as_secs(),
                    self.exit_after.as_secs(),
                    outage.reason
                ),
            );
        }
    }
}

impl Actor for BrokerWatch {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.probe(ctx);
        ctx.run_interval(PROBE_EVERY, |act, ctx| act.probe(ctx));
    }
}
