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
//! Invariants: at most one probe is in flight; a probe runs on the blocking pool, never on
//! the actor's thread. Once it gives up the process exits 3 within [`STOP_GRACE`] of that,
//! even if the orderly stop hangs on the broken broker.

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
        let topic = crate::streaming::Topic::MARKET_TICKS.name();
        let asked = tokio::task::spawn_blocking(move || {
            // One topic's metadata, not every topic's: cheaper, and a request for all
            // topics to a broker restarted empty crashed librdkafka's metadata cache
            // (SIGSEGV in rd_kafka_metadata_cache_find, librdkafka 2.x with tansu 0.6).
            client
                .client()
                .fetch_metadata(Some(&topic), Timeout::After(PROBE_TIMEOUT))
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
            exit_if_the_stop_hangs();
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

/// Longest the orderly stop after giving up may take before the process exits 3 anyway.
pub const STOP_GRACE: Duration = Duration::from_secs(30);

/// The orderly stop that follows giving up closes every Kafka client, and against a broken
/// broker librdkafka's close can block the threads the actors (and their stop timeouts)
/// run on. Exit 3 is the promise to the service manager, so a thread of its own keeps it
/// after [`STOP_GRACE`]: what is not stopped by then ends as in a crash, which every
/// service survives (journals, rebuilds from the topics).
fn exit_if_the_stop_hangs() {
    let spawned = std::thread::Builder::new()
        .name("exit-watchdog".into())
        .spawn(|| {
            std::thread::sleep(STOP_GRACE);
            tracing::error!(
                grace_secs = STOP_GRACE.as_secs(),
                "the stop after giving up did not finish in time; exiting 3 now"
            );
            std::process::exit(i32::from(crate::supervision::EXIT_SUPERVISION_GAVE_UP));
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the exit watchdog; the stop may hang");
    }
}

impl Actor for BrokerWatch {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.probe(ctx);
        ctx.run_interval(PROBE_EVERY, |act, ctx| act.probe(ctx));
    }
}
