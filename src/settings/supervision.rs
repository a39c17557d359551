//! `[supervision]`: the restart policies of supervised actors.
//!
//! `supervision.default` is the complete policy every supervised actor gets;
//! `supervision.actors.<name>` overrides any subset of its keys for one actor (or one
//! supervisor). [`SupervisionSettings::policy_for`] merges the two, so supervisor code
//! never sees a partial policy.
//!
//! Invariants:
//! - A [`RestartPolicy`] is always complete; a [`PolicyOverride`] is always partial and
//!   only means something merged onto a policy.
//! - Actor names are free-form and may contain dots (`consumer.strategy_runner`); the
//!   loader keeps such a name whole however it was written.
//! - Validation reports each broken rule once, at the key that causes it: a broken
//!   default under `supervision.default`, a broken override under
//!   `supervision.actors.<name>` (never the default's problem again per actor).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

use super::error::Problem;
use super::sections::named_variant;

/// Largest accepted `max_restarts`: beyond this a budget is no budget at all.
pub const MAX_RESTARTS_LIMIT: u32 = 10_000;

/// When a supervised actor is restarted after it stops (Erlang/OTP restart types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RestartType {
    /// Always restarted, whether it failed or stopped normally.
    Permanent,
    /// Restarted only after a failure; a normal stop is final.
    Transient,
    /// Never restarted.
    Temporary,
}

impl<'de> Deserialize<'de> for RestartType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let variants = [
            ("permanent", Self::Permanent),
            ("transient", Self::Transient),
            ("temporary", Self::Temporary),
        ];
        named_variant(
            deserializer,
            &variants,
            "one of permanent, transient, temporary",
        )
    }
}

/// A complete restart policy: when to restart, how often, how fast, and how long a
/// graceful stop may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartPolicy {
    /// When the actor is restarted.
    pub restart: RestartType,
    /// Restart budget: at most this many restarts within [`within_secs`](Self::within_secs),
    /// else the failure escalates to the parent supervisor. 0 escalates every failure.
    pub max_restarts: u32,
    /// Length of the restart-budget window, seconds.
    pub within_secs: u64,
    /// Delay before the first restart, milliseconds.
    pub backoff_initial_ms: u64,
    /// Cap on any restart delay, milliseconds.
    pub backoff_max_ms: u64,
    /// Growth factor between consecutive restart delays.
    pub backoff_multiplier: f64,
    /// Random spread of each delay, as a fraction of it (0..=1).
    pub jitter: f64,
    /// After running healthy this long, seconds, the backoff starts again from
    /// [`backoff_initial_ms`](Self::backoff_initial_ms).
    pub reset_after_secs: u64,
    /// Graceful stop allowance before the actor is dropped, milliseconds.
    pub stop_timeout_ms: u64,
}

impl RestartPolicy {
    /// Length of the restart-budget window.
    pub fn within(&self) -> Duration {
        Duration::from_secs(self.within_secs)
    }

    /// Delay before the first restart.
    pub fn backoff_initial(&self) -> Duration {
        Duration::from_millis(self.backoff_initial_ms)
    }

    /// Cap on any restart delay.
    pub fn backoff_max(&self) -> Duration {
        Duration::from_millis(self.backoff_max_ms)
    }

    /// Healthy running time after which the backoff starts again.
    pub fn reset_after(&self) -> Duration {
        Duration::from_secs(self.reset_after_secs)
    }

    /// Graceful stop allowance before the actor is dropped.
    pub fn stop_timeout(&self) -> Duration {
        Duration::from_millis(self.stop_timeout_ms)
    }

    /// This policy with every key that `over` sets replaced by the override's value.
    pub fn overridden_by(&self, over: &PolicyOverride) -> RestartPolicy {
        RestartPolicy {
            restart: over.restart.unwrap_or(self.restart),
            max_restarts: over.max_restarts.unwrap_or(self.max_restarts),
            within_secs: over.within_secs.unwrap_or(self.within_secs),
            backoff_initial_ms: over.backoff_initial_ms.unwrap_or(self.backoff_initial_ms),
            backoff_max_ms: over.backoff_max_ms.unwrap_or(self.backoff_max_ms),
            backoff_multiplier: over.backoff_multiplier.unwrap_or(self.backoff_multiplier),
            jitter: over.jitter.unwrap_or(self.jitter),
            reset_after_secs: over.reset_after_secs.unwrap_or(self.reset_after_secs),
            stop_timeout_ms: over.stop_timeout_ms.unwrap_or(self.stop_timeout_ms),
        }
    }

    /// Every broken rule of this policy, all at once, keyed `{prefix}.{key}` (e.g.
    /// `prefix = "supervision.default"` gives `supervision.default.jitter`).
    pub fn problems(&self, prefix: &str) -> Vec<Problem> {
        self.broken()
            .into_iter()
            .map(|(key, message)| Problem::new(format!("{prefix}.{key}"), message))
            .collect()
    }

    /// Every broken rule as (key, message), in the order of the keys.
    fn broken(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.max_restarts > MAX_RESTARTS_LIMIT {
            let message = format!(
                "must be at most {MAX_RESTARTS_LIMIT}, got {}",
                self.max_restarts
            );
            out.push(("max_restarts", message));
        }
        if self.within_secs < 1 {
            let message = "must be at least 1, got 0: a zero period cannot count restarts";
            out.push(("within_secs", message.to_owned()));
        }
        // Upper bounds: a window or delay past these reads as a hang, and `Instant +
        // Duration` must never overflow.
        let mut at_most = |key: &'static str, value: u64, max: u64| {
            if value > max {
                out.push((key, format!("must be at most {max}, got {value}")));
            }
        };
        at_most("within_secs", self.within_secs, MAX_WINDOW_SECS);
        at_most(
            "backoff_initial_ms",
            self.backoff_initial_ms,
            MAX_BACKOFF_MS,
        );
        at_most("reset_after_secs", self.reset_after_secs, MAX_WINDOW_SECS);
        at_most("stop_timeout_ms", self.stop_timeout_ms, MAX_STOP_TIMEOUT_MS);
        if self.backoff_initial_ms < 1 {
            out.push(("backoff_initial_ms", "must be at least 1, got 0".to_owned()));
        }
        if self.backoff_max_ms < self.backoff_initial_ms {
            let message = format!(
                "must be at least backoff_initial_ms ({}), got {}",
                self.backoff_initial_ms, self.backoff_max_ms
            );
            out.push(("backoff_max_ms", message));
        } else if self.backoff_max_ms > MAX_BACKOFF_MS {
            let message = format!(
                "must be at most {MAX_BACKOFF_MS}, got {}",
                self.backoff_max_ms
            );
            out.push(("backoff_max_ms", message));
        }
        let m = self.backoff_multiplier;
        if !(m.is_finite() && m >= 1.0) {
            let message = format!("must be a finite number of at least 1.0, got {m:?}");
            out.push(("backoff_multiplier", message));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            let message = format!("must be between 0.0 and 1.0, got {:?}", self.jitter);
            out.push(("jitter", message));
        }
        if self.reset_after_secs < 1 {
            out.push(("reset_after_secs", "must be at least 1, got 0".to_owned()));
        }
        if self.stop_timeout_ms < 1 {
            out.push(("stop_timeout_ms", "must be at least 1, got 0".to_owned()));
        }
        out
    }
}

/// Longest restart window (`within_secs`, `reset_after_secs`), seconds: a day.
pub const MAX_WINDOW_SECS: u64 = 86_400;

/// Longest restart delay, milliseconds: an hour.
pub const MAX_BACKOFF_MS: u64 = 3_600_000;

/// Longest graceful stop, milliseconds: ten minutes (a service manager kills sooner).
pub const MAX_STOP_TIMEOUT_MS: u64 = 600_000;

/// Part of a [`RestartPolicy`]: the keys one actor sets differently from the default.
/// Unset keys are `None` and are left out when serialised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverride {
    /// See [`RestartPolicy::restart`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartType>,
    /// See [`RestartPolicy::max_restarts`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_restarts: Option<u32>,
    /// See [`RestartPolicy::within_secs`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_secs: Option<u64>,
    /// See [`RestartPolicy::backoff_initial_ms`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_initial_ms: Option<u64>,
    /// See [`RestartPolicy::backoff_max_ms`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_max_ms: Option<u64>,
    /// See [`RestartPolicy::backoff_multiplier`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_multiplier: Option<f64>,
    /// See [`RestartPolicy::jitter`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<f64>,
    /// See [`RestartPolicy::reset_after_secs`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_after_secs: Option<u64>,
    /// See [`RestartPolicy::stop_timeout_ms`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout_ms: Option<u64>,
}

impl PolicyOverride {
    /// True if this override sets the policy key `key` (a [`RestartPolicy`] field name).
    fn sets(&self, key: &str) -> bool {
        match key {
            "restart" => self.restart.is_some(),
            "max_restarts" => self.max_restarts.is_some(),
            "within_secs" => self.within_secs.is_some(),
            "backoff_initial_ms" => self.backoff_initial_ms.is_some(),
            "backoff_max_ms" => self.backoff_max_ms.is_some(),
            "backoff_multiplier" => self.backoff_multiplier.is_some(),
            "jitter" => self.jitter.is_some(),
            "reset_after_secs" => self.reset_after_secs.is_some(),
            "stop_timeout_ms" => self.stop_timeout_ms.is_some(),
            _ => false,
        }
    }
}

/// `[supervision]`: the default restart policy and per-actor overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisionSettings {
    /// `[supervision.default]`: the policy of every actor without an override.
    pub default: RestartPolicy,
    /// `[supervision.actors.<name>]`: overrides by actor or supervisor name
    /// (`producer`, `consumer.strategy_runner`, `services`, ...).
    #[serde(default)]
    pub actors: BTreeMap<String, PolicyOverride>,
}

impl SupervisionSettings {
    /// The policy of `actor`: the default merged with the actor's override, if any.
    /// Names match exactly, case included (`consumer.strategy_runner` does not inherit
    /// `consumer`; names set from the environment are lowercase).
    pub fn policy_for(&self, actor: &str) -> RestartPolicy {
        match self.actors.get(actor) {
            Some(over) => self.default.overridden_by(over),
            None => self.default.clone(),
        }
    }

    /// Every broken rule: the default's under `supervision.default`, then each
    /// override's under `supervision.actors.<name>`, keyed by the overridden key that
    /// breaks the merged policy.
    pub(super) fn problems(&self) -> Vec<Problem> {
        let mut out = self.default.problems("supervision.default");
        for (name, over) in &self.actors {
            if name.trim().is_empty() {
                out.push(Problem::new(
                    "supervision.actors",
                    "actor names must not be empty",
                ));
            }
            let merged = self.default.overridden_by(over);
            let prefix = format!("supervision.actors.{name}");
            for (key, message) in merged.broken() {
                if over.sets(key) {
                    out.push(Problem::new(format!("{prefix}.{key}"), message));
                } else if key == "backoff_max_ms" && over.sets("backoff_initial_ms") {
                    // The inherited cap is fine on its own; the override's start is not.
                    let message = format!(
                        "must be at most backoff_max_ms ({}, from supervision.default), got {}",
                        merged.backoff_max_ms, merged.backoff_initial_ms
                    );
                    out.push(Problem::new(
                        format!("{prefix}.backoff_initial_ms"),
                        message,
                    ));
                }
                // Otherwise the rule breaks on inherited values alone: already reported
                // under supervision.default.
            }
        }
        out
    }
}
