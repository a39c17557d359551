//! The status board: what every supervised actor is doing, for introspection and metrics.
//! Written by supervisors and child drivers, read by whoever asks for the tree.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorState {
    /// Registered, not started yet (or its factory is running).
    Starting,
    Running,
    /// Waiting out the backoff delay before a restart.
    BackingOff,
    /// Stopped so that it (or a sibling) can be restarted.
    Restarting,
    /// Stopped and not coming back (normal exit of a temporary/transient child, shutdown).
    Stopped,
    /// Failed and not coming back (its supervisor gave up, or a temporary child failed).
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Worker,
    Supervisor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastFailure {
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// One supervised actor, as the introspection answer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorInfo {
    pub name: String,
    pub parent: Option<String>,
    pub kind: ActorKind,
    pub state: ActorState,
    pub restarts_in_window: u32,
    pub restarts_total: u64,
    pub last_failure: Option<LastFailure>,
}

/// The whole tree, in start order (a supervisor before its children).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tree {
    pub actors: Vec<ActorInfo>,
    /// Restarts by (actor, reason kind): `failure`, `panic`, `exit` (a permanent child that
    /// stopped normally), `sibling` (restarted because a sibling failed).
    pub restarts: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Tree {
    pub fn get(&self, name: &str) -> Option<&ActorInfo> {
        self.actors.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Default)]
struct Inner {
    actors: Vec<ActorInfo>,
    restarts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per actor: the budget window and the restarts counted against it.
    windows: BTreeMap<String, (Duration, Vec<Instant>)>,
}

/// Shared by every supervisor and driver of one tree.
#[derive(Debug, Clone, Default)]
pub struct Board {
    inner: Arc<Mutex<Inner>>,
}

impl Board {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned board only means a panic elsewhere mid-update; the data is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn register(&self, name: &str, parent: Option<&str>, kind: ActorKind) {
        crate::telemetry::metrics::actor_registered(name);
        self.lock().actors.push(ActorInfo {
            name: name.to_owned(),
            parent: parent.map(str::to_owned),
            kind,
            state: ActorState::Starting,
            restarts_in_window: 0,
            restarts_total: 0,
            last_failure: None,
        });
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut ActorInfo)) {
        if let Some(a) = self.lock().actors.iter_mut().find(|a| a.name == name) {
            f(a);
        }
    }

    pub(super) fn set_state(&self, name: &str, state: ActorState) {
        self.update(name, |a| a.state = state);
    }

    pub(super) fn record_failure(&self, name: &str, reason: &str) {
        self.update(name, |a| {
            a.last_failure = Some(LastFailure {
                reason: reason.to_owned(),
                at: Utc::now(),
            });
        });
    }

    /// Counts a restart of `name` of `kind`; `budget` is `(now, window)` when the restart
    /// counts against the actor's own budget (not when a sibling's failure caused it).
    pub(super) fn record_restart(
        &self,
        name: &str,
        kind: &str,
        budget: Option<(Instant, Duration)>,
    ) {
        crate::telemetry::metrics::actor_restart(name, kind);
        let mut inner = self.lock();
        *inner
            .restarts
            .entry(name.to_owned())
            .or_default()
            .entry(kind.to_owned())
            .or_default() += 1;
        if let Some((at, within)) = budget {
            let entry = inner
                .windows
                .entry(name.to_owned())
                .or_insert_with(|| (within, Vec::new()));
            entry.1.push(at);
        }
        if let Some(a) = inner.actors.iter_mut().find(|a| a.name == name) {
            a.restarts_total += 1;
        }
    }

    /// A copy of the whole tree, with restarts in the window counted as of `now`.
    pub fn snapshot(&self) -> Tree {
        let now = tokio::time::Instant::now().into_std();
        let inner = self.lock();
        let mut actors = inner.actors.clone();
        for a in &mut actors {
            if let Some((within, times)) = inner.windows.get(&a.name) {
                a.restarts_in_window = times
                    .iter()
                    .filter(|t| now.saturating_duration_since(**t) < *within)
                    .count() as u32;
            }
        }
        Tree {
            actors,
            restarts: inner.restarts.clone(),
        }
    }
}
