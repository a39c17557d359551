//! [`AlertService`]: the tasks that take raised alerts and deliver them.
//!
//! ```text
//! raise ─try_send─▶ [queue] ─▶ router (kinds, dedup) ─try_send─▶ [queue] ─▶ telegram task
//!                                                     └─try_send─▶ [queue] ─▶ webhook task
//! ```
//!
//! The router never waits on a target. It applies each target's rate limit as it queues
//! (and queues the summary of what a limit held back as soon as the window allows, on a
//! timer of its own), so a target's bounded queue receives at most `max_per_minute`
//! messages a minute and overflows (dropped and counted) only when the target is stuck.
//! Each target's task delivers one message at a time, in order, with retries; a limit
//! applied at queueing time means a target that was stuck may deliver its backlog faster
//! than the limit once it recovers (bounded by the queue). Stopping closes the queues and gives the tasks a grace
//! period to deliver what they hold (an escalation's alert should reach the chat before
//! the process exits), then abandons the rest.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::deliver::{self, DeliveryPolicy, Target, TelegramTarget, WebhookTarget};
use super::format::Outgoing;
use super::policy::{Deduper, RateLimiter};
use super::{Alert, AlertKind, AlertSender, Outcome, count};
use crate::settings::AlertsSettings;

/// Alerts the raise queue holds before dropping; far beyond any real burst, and small
/// enough that a storm costs little memory.
pub const QUEUE: usize = 1_024;

/// Least a target's queue holds while it delivers (or retries) an earlier message.
pub const TARGET_QUEUE: usize = 64;

/// Everything the dispatcher needs.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Kinds sent; empty sends every kind.
    pub kinds: Vec<AlertKind>,
    pub dedup_window: Duration,
    pub max_per_minute: u32,
    /// The rate limit's window: a minute, shortened only by tests.
    pub rate_window: Duration,
    pub delivery: DeliveryPolicy,
    pub telegram: Option<TelegramTarget>,
    pub webhook: Option<WebhookTarget>,
    /// Names the process in every message (`service.instance_id`).
    pub source: String,
    /// Capacity of the raise queue.
    pub queue: usize,
}

impl DispatcherConfig {
    /// The configuration of `[alerts]`; `source` names the process in messages.
    pub fn from_settings(s: &AlertsSettings, source: &str) -> Self {
        DispatcherConfig {
            kinds: s.kinds.clone(),
            dedup_window: s.dedup_window(),
            max_per_minute: s.max_per_minute,
            rate_window: Duration::from_secs(60),
            delivery: DeliveryPolicy {
                attempts: s.attempts,
                backoff_initial: Duration::from_secs(1),
                backoff_max: Duration::from_secs(30),
                timeout: s.request_timeout(),
            },
            telegram: s.telegram.enabled.then(|| TelegramTarget {
                api_url: s.telegram.api_url.clone(),
                bot_token: s.telegram.bot_token.clone(),
                chat_id: s.telegram.chat_id.trim().to_owned(),
            }),
            webhook: s.webhook.enabled.then(|| WebhookTarget {
                url: s.webhook.url.clone(),
                headers: s
                    .webhook
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }),
            source: source.to_owned(),
            queue: QUEUE,
        }
    }

    fn targets(&self) -> Vec<Target> {
        let telegram = self.telegram.clone().map(Target::Telegram);
        let webhook = self.webhook.clone().map(Target::Webhook);
        telegram.into_iter().chain(webhook).collect()
    }
}

/// Why the dispatcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    #[error("cannot build the alerts' HTTP client: {0}")]
    Client(String),
}

/// The running dispatcher. Dropping it abandons undelivered alerts; prefer
/// [`stop`](Self::stop).
pub struct AlertService {
    sender: AlertSender,
    router: JoinHandle<()>,
    targets: Vec<JoinHandle<()>>,
}

impl AlertService {
    /// Starts the router and one task per target on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// The HTTP client could not be built (the TLS backend failed to initialise).
    pub fn start(config: DispatcherConfig) -> Result<AlertService, AlertsError> {
        let client = reqwest::Client::builder()
            .timeout(config.delivery.timeout)
            .build()
            .map_err(|e| AlertsError::Client(e.without_url().to_string()))?;
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        // The router admits at most `max_per_minute` messages (and a summary) per window
        // into a target's queue, so this capacity overflows only when the target is
        // slower than the limit (stuck or down): then alerts are dropped and counted.
        let capacity = (config.max_per_minute as usize).max(TARGET_QUEUE) + 1;
        let mut lanes = Vec::new();
        let mut targets = Vec::new();
        for target in config.targets() {
            let (queue, target_rx) = mpsc::channel(capacity);
            lanes.push(Lane {
                name: target.name(),
                limiter: RateLimiter::new(config.max_per_minute, config.rate_window),
                queue,
            });
            let task = TargetTask {
                target,
                client: client.clone(),
                policy: config.delivery.clone(),
                source: config.source.clone(),
            };
            targets.push(tokio::spawn(task.run(target_rx)));
        }
        let router = Router {
            kinds: config.kinds.clone(),
            deduper: Deduper::new(config.dedup_window),
            lanes,
        };
        Ok(AlertService {
            sender: AlertSender { tx },
            router: tokio::spawn(router.run(rx)),
            targets,
        })
    }

    /// A handle raising into this dispatcher (give it to [`super::install`]).
    pub fn sender(&self) -> AlertSender {
        self.sender.clone()
    }

    /// Closes the queue (this handle's sender; uninstall it first if installed) and waits
    /// up to `grace` for what was raised to be delivered; abandons the rest.
    pub async fn stop(self, grace: Duration) {
        let AlertService {
            sender,
            router,
            targets,
        } = self;
        drop(sender);
        let aborts: Vec<_> = std::iter::once(router.abort_handle())
            .chain(targets.iter().map(JoinHandle::abort_handle))
            .collect();
        let all = async {
            let _ = router.await;
            for t in targets {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(
                ?grace,
                "alerts not all delivered before the stop's grace ran out; the rest are abandoned"
            );
            for abort in aborts {
                abort.abort();
            }
        }
    }
}

/// Filters, deduplicates, rate-limits per target and fans out.
struct Router {
    kinds: Vec<AlertKind>,
    deduper: Deduper,
    lanes: Vec<Lane>,
}

/// One target as the router sees it: its rate limit and its queue.
struct Lane {
    name: &'static str,
    limiter: RateLimiter,
    queue: mpsc::Sender<Outgoing>,
}

impl Lane {
    fn push(&self, outgoing: Outgoing) {
        let kind = outgoing.kind();
        if let Err(e) = self.queue.try_send(outgoing) {
            count(kind, Outcome::Dropped);
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "its queue is full (it is slow or down)",
                mpsc::error::TrySendError::Closed(_) => "it stopped",
            };
            tracing::warn!(to = self.name, kind, "alert dropped for this target: {why}");
        }
    }

    /// Queues the summary of what the limit held back, if one is owed and a slot is free.
    fn flush_summary(&mut self, now: Instant) {
        if let Some(suppressed) = self.limiter.take_summary(now.into_std()) {
            self.push(Outgoing::Summary {
                suppressed,
                at: Utc::now(),
            });
        }
    }
}

impl Router {
    async fn run(mut self, mut rx: mpsc::Receiver<Alert>) {
        loop {
            let now = Instant::now();
            let summary_at = self
                .lanes
                .iter_mut()
                .filter_map(|l| l.limiter.summary_at(now.into_std()))
                .min()
                .map(Instant::from_std);
            let next = match summary_at {
                None => rx.recv().await,
                Some(at) => tokio::select! {
                    next = rx.recv() => next,
                    _ = tokio::time::sleep_until(at) => {
                        self.flush_summaries();
                        continue;
                    }
                },
            };
            let Some(alert) = next else {
                // Stopping: what is owed is reported if the limit allows it now.
                self.flush_summaries();
                return;
            };
            self.route(alert);
        }
    }

    fn flush_summaries(&mut self) {
        let now = Instant::now();
        for lane in &mut self.lanes {
            lane.flush_summary(now);
        }
    }

    fn route(&mut self, alert: Alert) {
        if !(self.kinds.is_empty() || self.kinds.contains(&alert.kind)) {
            return;
        }
        let kind = alert.kind;
        let now = Instant::now();
        let Some(repeats) = self.deduper.admit(&alert.key(), now.into_std()) else {
            count(kind.as_str(), Outcome::Deduplicated);
            return;
        };
        for lane in &mut self.lanes {
            // What was held back is reported before anything newer.
            lane.flush_summary(now);
            if lane.limiter.admit(kind, now.into_std()) {
                lane.push(Outgoing::Alert {
                    alert: alert.clone(),
                    repeats,
                });
            } else {
                count(kind.as_str(), Outcome::Suppressed);
            }
        }
    }
}

/// One target's deliveries, one at a time, in the order queued.
struct TargetTask {
    target: Target,
    client: reqwest::Client,
    policy: DeliveryPolicy,
    source: String,
}

impl TargetTask {
    async fn run(self, mut rx: mpsc::Receiver<Outgoing>) {
        while let Some(outgoing) = rx.recv().await {
            self.send(&outgoing).await;
        }
    }

    async fn send(&self, outgoing: &Outgoing) {
        let delivered = deliver::deliver(
            &self.client,
            &self.target,
            outgoing,
            &self.source,
            &self.policy,
        )
        .await;
        match delivered {
            Ok(()) => count(outgoing.kind(), Outcome::Sent),
            Err(e) => {
                count(outgoing.kind(), Outcome::Failed);
                tracing::warn!(to = self.target.name(), url = %self.target.shown_url(), kind = outgoing.kind(), error = %e, "alert not delivered: given up");
            }
        }
    }
}
