//! The actor shell around the consume loop: creates the rdkafka consumer, runs the loop
//! as a task, and stops it gracefully (drain, store, commit) on [`Shutdown`].

use super::ConsumerStats;
use super::meters;
use super::pipeline::{Control, Pipeline, PipelineContext, Progress};
use super::routing::Routes;
use crate::streaming::Topic;
use crate::streaming::client::KafkaConnection;
use crate::streaming::producer::ProducerHandle;
use crate::streaming::retry::Backoff;
use actix::prelude::*;
use rdkafka::consumer::{Consumer, StreamConsumer};
use std::sync::Arc;
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

pub struct ConsumerActor {
    pipeline: Option<Pipeline>,
    stats: Arc<ConsumerStats>,
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
        let consumer: StreamConsumer<PipelineContext> = config
            .create_with_context(PipelineContext::new(&args.service))
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
        let mut pipeline = Pipeline::new(
            Arc::new(consumer),
            args.routes,
            args.producer,
            args.backoff,
            args.service,
        );
        pipeline.max_in_flight = args.connection.settings.max_in_flight_per_partition;
        let stats = pipeline.stats.clone();
        let (stop, _) = watch::channel(false);
        let (control, control_rx) = mpsc::unbounded_channel();
        Ok(ConsumerActor {
            pipeline: Some(pipeline),
            stats,
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
}

impl Actor for ConsumerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let (Some(pipeline), Some(control_rx)) = (self.pipeline.take(), self.control_rx.take())
        else {
            return;
        };
        let stop = self.stop.subscribe();
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
