//! Alerts where traders look: a Telegram chat and/or a generic webhook, told when
//! something needs a human (issue 19).
//!
//! Design:
//! - [`raise`] is process-wide, like [`crate::telemetry::metrics`]: a source calls
//!   `alerts::raise(Alert::new(kind, subject, message))` in one line, with no wiring through
//!   the actors. It is a `try_send` into the bounded queue of the installed dispatcher
//!   ([`install`]); with no dispatcher installed it does nothing. A full queue drops the
//!   alert and counts it (`alpha_panda_alerts_total{outcome="dropped"}`): raising never
//!   waits, so trading is never held up by a slow or dead target.
//! - The dispatcher ([`AlertService`], a tokio task per target plus one router) filters by
//!   `alerts.kinds`, deduplicates (the same kind, broker and subject at most once per
//!   `alerts.dedup_window_secs`; the next one sent says how many repeats were held back),
//!   then hands each alert to every target's own bounded queue, so a hung Telegram never
//!   delays the webhook.
//! - Each target is rate limited on its own ([`policy::RateLimiter`]: at most
//!   `alerts.max_per_minute` messages in any minute). Alerts over the limit are not lost
//!   silently: they are counted by kind, and one summary message ("N more alerts
//!   suppressed: ...") goes out as soon as the minute allows.
//! - Delivery retries a failure (no answer, a timeout, 5xx, 429 with Telegram's
//!   `retry_after`) with exponential backoff for `alerts.attempts` attempts, logging each
//!   failure at WARN; a 4xx other than 429 is not retried (it will not get better). Every
//!   text that may hold a URL goes through [`deliver`]'s masking first: the Telegram bot
//!   token is part of the request path (`/bot<TOKEN>/sendMessage`) and the webhook URL may
//!   carry a credential, so neither is ever logged.
//!
//! Invariants: `raise` never blocks and never panics; an alert is sent, deduplicated,
//! suppressed (and summarised), filtered out by `alerts.kinds`, dropped (queue full) or
//! failed (delivery gave up), and each of those except filtering is counted in
//! `alpha_panda_alerts_total{kind,outcome}`. The policy structs take the time as an
//! argument (no clock inside), so they are tested without sleeping.

mod deliver;
mod dispatcher;
mod format;
pub mod policy;

#[cfg(test)]
pub(crate) mod capture;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::messages::Broker;
use crate::telemetry::metrics;

pub use crate::settings::AlertKind;
pub use deliver::{DeliveryPolicy, TelegramTarget, WebhookTarget};
pub use dispatcher::{AlertService, AlertsError, DispatcherConfig};
pub use format::{Severity, WebhookPayload, severity};

/// One thing a human should know about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: AlertKind,
    /// The broker namespace it is about, if any.
    pub broker: Option<Broker>,
    /// What it is about within the kind (an actor, a strategy, a topic, `positions`):
    /// with the kind and broker, the deduplication key.
    pub subject: String,
    /// What happened and what to do, for a human.
    pub message: String,
    pub at: DateTime<Utc>,
}

impl Alert {
    /// An alert of `kind` about `subject`, now, with no broker.
    pub fn new(kind: AlertKind, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Alert {
            kind,
            broker: None,
            subject: subject.into(),
            message: message.into(),
            at: Utc::now(),
        }
    }

    /// The same alert about `broker`.
    pub fn on(mut self, broker: Broker) -> Self {
        self.broker = Some(broker);
        self
    }

    /// What deduplication compares.
    pub fn key(&self) -> AlertKey {
        AlertKey {
            kind: self.kind,
            broker: self.broker,
            subject: self.subject.clone(),
        }
    }
}

/// Deduplication key: kind, broker and subject (never the message, which carries
/// changing numbers).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlertKey {
    pub kind: AlertKind,
    pub broker: Option<Broker>,
    pub subject: String,
}

/// What became of an alert, as the `outcome` label of `alpha_panda_alerts_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered to a target.
    Sent,
    /// Held back as a repeat within the dedup window.
    Deduplicated,
    /// Over a target's rate limit (reported in its next summary).
    Suppressed,
    /// A target's delivery gave up.
    Failed,
    /// A queue was full.
    Dropped,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Deduplicated => "deduplicated",
            Outcome::Suppressed => "suppressed",
            Outcome::Failed => "failed",
            Outcome::Dropped => "dropped",
        }
    }
}

/// The `kind` label of the rate limiter's summary messages.
pub const SUMMARY_KIND: &str = "alerts_suppressed";

fn count(kind: &str, outcome: Outcome) {
    metrics::alert(kind, outcome.as_str());
}

/// A handle that raises alerts into one dispatcher's queue. Clones share the queue.
#[derive(Debug, Clone)]
pub struct AlertSender {
    tx: mpsc::Sender<Alert>,
}

/// Drops since the start, for logging the first and then every hundredth.
static DROPS: AtomicU64 = AtomicU64::new(0);

impl AlertSender {
    /// Queues `alert` without waiting. `false` if it was dropped (queue full, or the
    /// dispatcher stopped).
    pub fn raise(&self, alert: Alert) -> bool {
        match self.tx.try_send(alert) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(alert)) => {
                count(alert.kind.as_str(), Outcome::Dropped);
                // A storm fills the queue; one line per drop would add a log storm.
                let n = DROPS.fetch_add(1, Ordering::Relaxed);
                if n.is_multiple_of(100) {
                    tracing::warn!(kind = %alert.kind, dropped = n + 1, "alert queue full: alert dropped (trading is not held up)");
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Alerts queued and not yet taken by the dispatcher.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

/// The process's dispatcher queue, if one is installed.
static INSTALLED: RwLock<Option<AlertSender>> = RwLock::new(None);

/// Makes `sender` the target of [`raise`] (replacing any earlier one).
pub fn install(sender: AlertSender) {
    *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) = Some(sender);
}

/// Stops [`raise`] from queueing anywhere.
pub fn uninstall() {
    *INSTALLED.write().unwrap_or_else(PoisonError::into_inner) = None;
}

/// Raises `alert` to the installed dispatcher without waiting; does nothing when none is
/// installed (alerts are off, or a test or tool runs the services without them).
pub fn raise(alert: Alert) {
    #[cfg(test)]
    capture::record(&alert);
    // The lock is written only by `install`/`uninstall` (start and stop): a read here
    // never waits on trading's behalf.
    let installed = INSTALLED.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(sender) = installed.as_ref() {
        sender.raise(alert);
    }
}
