//! The actor shell around the consume loop: creates the rdkafka consumer, runs the loop
//! as a task, and stops it gracefully (drain, store, commit) on [`Shutdown`].
//!
//! It also watches the consumer's group health: while no partition is assigned it warns
//! every [`WARN_EVERY`], and past the unassigned bound it fails, so its supervisor
//! restarts it — the new member joins the group afresh, which is what gets partitions
//! back when the group lost track of this one — and escalates if that keeps happening.

use super::ConsumerStats;
use super::context::PipelineContext;
use super::dead_letter::{DeadLetters, max_record_bytes};
use super::health::{ConsumerHealth, ConsumerHealthSnapshot};
use super::meters;
use super::pipeline::{Control, Pipeline};
use super::routing::Routes;
use super::stats::Progress;
use crate::streaming::Topic;
use crate::streaming::client::KafkaConnection;
use crate::streaming::producer::ProducerHandle;
use crate::streaming::retry::Backoff;
use actix::prelude::*;
use rdkafka::consumer::{Consumer, StreamConsumer};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};

/// Everything a consumer actor needs.
pub struct ConsumerArgs {
    pub connection: KafkaConnection,
    /// Names the consumer group (`{group_prefix}.{service}`) and DLQ records.
    pub service: String,
    pub routes: Routes,
    /// Publishes DLQ records.
    pub producer: ProducerHandle,
    pub backoff: Backoff,
}

#[derive(Debug, Error)]
pub enum ConsumerError {
    #[error("cannot create the Kafka consumer for `{service}`: {reason}")]
    Create { service: String, reason: String },
    #[error("cannot subscribe `{service}` to {topics:?}: {reason}")]
    Subscribe {
        service: String,
        topics: Vec<String>,
        reason: String,
    },
}

/// Stop consuming, finish in-flight work (bounded), commit, and answer with the final
/// progress. The actor stops afterwards.
#[derive(Debug, Message)]
#[rtype(result = "Progress")]
pub struct Shutdown;

/// Where the loop stands now.
#[derive(Debug, Message)]
#[rtype(result = "Option<Progress>")]
pub struct GetProgress;

/// The consumer's group health now (assignment, time unassigned, lag).
#[derive(Debug, Message)]
#[rtype(result = "ConsumerHealthSnapshot")]
pub struct GetHealth;

/// How often the actor looks at its assignment.
const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(1);
/// How often a consumer without partitions says so.
pub const WARN_EVERY: Duration = Duration::from_secs(30);

pub struct ConsumerActor {
    pipeline: Option<Pipeline>,
    stats: Arc<ConsumerStats>,
    health: ConsumerHealth,
    /// Past this long without a partition, the actor fails.
    unassigned_exit: Duration,
    started_at: Instant,
    last_warned: Option<Instant>,
    stop: watch::Sender<bool>,
    control: mpsc::UnboundedSender<Control>,
    control_rx: Option<mpsc::UnboundedReceiver<Control>>,
    /// Answered with the final progress when the loop has drained and committed.
    waiters: Vec<oneshot::Sender<Progress>>,
    stop_requested: bool,
}

crate::supervised!(ConsumerActor);

impl ConsumerActor {
    /// Creates the rdkafka consumer and subscribes it to the routed topics.
    ///
    /// # Errors
    /// Invalid client configuration or subscription.
    pub fn new(args: ConsumerArgs) -> Result<Self, ConsumerError> {
        let group = args.connection.settings.consumer_group(&args.service);
        let mut config = args.connection.consumer_config(&group);
        // A new group that reads only ticks starts at the live end: a day of old ticks
        // replayed into the strategies would trade on stale prices. Groups that also read
        // signals, orders or fills start at the beginning, so no event is skipped.
        if args
            .routes
            .topics()
            .iter()
            .all(|t| *t == Topic::MARKET_TICKS.name())
        {
            config.set("auto.offset.reset", "latest");
        }
        // Statistics carry each partition's lag (see `meters`); a configured interval wins.
        if config.get("statistics.interval.ms").is_none() {
            config.set("statistics.interval.ms", meters::STATS_INTERVAL_MS);
        }
        let health = ConsumerHealth::register(&args.service);
        let consumer: StreamConsumer<PipelineContext> = config
            .create_with_context(PipelineContext::new(&args.service, health.clone()))
            .map_err(|e| ConsumerError::Create {
                service: args.service.clone(),
                reason: e.to_string(),
            })?;
        let topics = args.routes.topics();
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&names)
            .map_err(|e| ConsumerError::Subscribe {
                service: args.service.clone(),
                topics: topics.clone(),
                reason: e.to_string(),
            })?;
        crate::telemetry::metrics::consumer_started(&args.service, &topics);
        let dead_letters = DeadLetters {
            producer: args.producer,
            service: args.service,
            backoff: args.backoff.clone(),
            stats: Arc::new(ConsumerStats::default()),
            max_record_bytes: max_record_bytes(&args.connection.settings.client),
        };
        let mut pipeline =
            Pipeline::new(Arc::new(consumer), args.routes, dead_letters, args.backoff);
        pipeline.max_in_flight = args.connection.settings.max_in_flight_per_partition;
        let stats = pipeline.stats.clone();
        let (stop, _) = watch::channel(false);
        let (control, control_rx) = mpsc::unbounded_channel();
        Ok(ConsumerActor {
            pipeline: Some(pipeline),
            stats,
            health,
            unassigned_exit: args.connection.settings.unassigned_exit(),
            started_at: Instant::now(),
            last_warned: None,
            stop,
            control,
            control_rx: Some(control_rx),
            waiters: Vec::new(),
            stop_requested: false,
        })
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<ConsumerStats> {
        self.stats.clone()
    }

    /// The group health, shared (also reachable as [`ConsumerHealth::of`] by service).
    pub fn health(&self) -> ConsumerHealth {
        self.health.clone()
    }

    /// Overrides how long the consumer may have no partition before it fails (default:
    /// `kafka.unassigned_exit_secs`).
    #[must_use]
    pub fn with_unassigned_exit(mut self, bound: Duration) -> Self {
        self.unassigned_exit = bound;
        self
    }

    /// Warns while unassigned; fails past the bound. The bound runs from this actor's
    /// start at the earliest, so a restarted consumer gets its full chance to join.
    fn check_assignment(&mut self, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let health = self.health.snapshot_at(now);
        let Some(unassigned_for) = health.unassigned_for else {
            self.last_warned = None;
            return;
        };
        let own = unassigned_for.min(now.saturating_duration_since(self.started_at));
        if own > self.unassigned_exit {
            tracing::error!(service = %health.service, ?unassigned_for, bound = ?self.unassigned_exit, "consumer has had no partition past its bound; restarting it to rejoin the group");
            crate::supervision::fail::<Self>(
                ctx,
                format!(
                    "consumer `{}` had no partition for {unassigned_for:?} (bound {:?})",
                    health.service, self.unassigned_exit
                ),
            );
            return;
        }
        let due = self
            .last_warned
            .is_none_or(|at| now.saturating_duration_since(at) >= WARN_EVERY);
        if unassigned_for >= WARN_EVERY && due {
            self.last_warned = Some(now);
            tracing::warn!(service = %health.service, ?unassigned_for, restart_after = ?self.unassigned_exit, "consumer has no partitions assigned");
        }
    }
}

impl Actor for ConsumerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let (Some(pipeline), Some(control_rx)) = (self.pipeline.take(), self.control_rx.take())
        else {
            return;
        };
        let stop = self.stop.subscribe();
        ctx.run_interval(HEALTH_CHECK_EVERY, |act, ctx| {
            if !act.stop_requested {
                act.check_assignment(ctx);
            }
        });
        // The loop runs as its own task so that a stop of this actor still lets it drain and
        // commit; the actor watches it, and a loop that ends unasked (or panics) is a failure
        // of this actor — never a consumer that looks alive but consumes nothing.
        let running = actix::spawn(pipeline.run(stop, control_rx));
        ctx.spawn(
            running
                .into_actor(self)
                .map(|joined, act, ctx| match joined {
                    Ok(progress) => {
                        for waiter in act.waiters.drain(..) {
                            let _ = waiter.send(progress.clone());
                        }
                        if act.stop_requested {
                            ctx.stop();
                        } else {
                            crate::supervision::fail::<Self>(
                                ctx,
                                "consume loop ended unexpectedly",
                            );
                        }
                    }
                    Err(e) => {
                        crate::supervision::fail::<Self>(ctx, format!("consume loop panicked: {e}"))
                    }
                }),
        );
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        let _ = self.stop.send(true);
        Running::Stop
    }
}

impl Handler<Shutdown> for ConsumerActor {
    type Result = ResponseFuture<Progress>;

    fn handle(&mut self, _: Shutdown, _ctx: &mut Self::Context) -> Self::Result {
        self.stop_requested = true;
        self.health.stopped();
        let _ = self.stop.send(true);
        let (tx, rx) = oneshot::channel();
        self.waiters.push(tx);
        let stats = self.stats.snapshot();
        Box::pin(async move {
            rx.await.unwrap_or(Progress {
                stats,
                ..Progress::default()
            })
        })
    }
}

impl Handler<GetProgress> for ConsumerActor {
    type Result = ResponseFuture<Option<Progress>>;

    fn handle(&mut self, _: GetProgress, _ctx: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let sent = self.control.send(Control::Progress(tx)).is_ok();
        Box::pin(async move { if sent { rx.await.ok() } else { None } })
    }
}

impl Handler<GetHealth> for ConsumerActor {
    type Result = MessageResult<GetHealth>;

    fn handle(&mut self, _: GetHealth, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.health.snapshot())
    }
}
