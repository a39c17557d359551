//! The risk state in the store: writing it per record at a cost that does not grow with
//! the ids remembered, and reading it back (migrating the format of earlier versions).
//!
//! Per broker (keys from [`state_key`], [`applied_fills_key`], [`validated_key`]):
//! - `{broker}:risk`: `{"version":2,"snapshot":{…}}`, the book ([`RiskSnapshot`]), listed
//!   in [`STATE_INDEX`];
//! - `{broker}:risk:applied_fills`: the fill ids applied to that book, oldest first;
//! - `{broker}:risk:validated`: the raw signal ids it validated (counted toward its limits).
//!
//! A save writes the snapshot and appends the ids new since the last save, in one step
//! ([`Store::put_with_lists`]), so after a crash an id is remembered exactly when the book
//! counts it. Lists keep the newest [`KEPT`] ids, as [`RecentIds`] does in memory.
//!
//! A save that fails (or is dropped unfinished) leaves its ids to the next save
//! ([`Unsaved`]): a failed record is redelivered, finds its id remembered in memory and
//! would otherwise never write it; its redelivery saves again.
//! The only way an id reaches a list twice is a write that succeeded but was reported
//! failed (a timeout); reading back drops the repeat.
//!
//! Version 1 (no `version` field) embedded both id lists in the one value and was
//! rewritten whole on every save. It is read once and rewritten as version 2 when the
//! actor starts.

use super::recent::{KEPT, RecentIds};
use super::{STATE_INDEX, applied_fills_key, state_key, validated_key};
use crate::messages::Broker;
use crate::risk::RiskSnapshot;
use crate::store::{ListWrite, Store, StoreError};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use thiserror::Error;
use uuid::Uuid;

/// The format written now.
const VERSION: u32 = 2;

/// The value under [`state_key`] as written.
#[derive(Serialize)]
struct Saved<'a> {
    version: u32,
    snapshot: &'a RiskSnapshot,
}

/// The value under [`state_key`] as read: version 2, or version 1 with the ids inside.
#[derive(Deserialize)]
struct Stored {
    #[serde(default = "version_1")]
    version: u32,
    snapshot: RiskSnapshot,
    #[serde(default)]
    applied_fills: RecentIds<String>,
    #[serde(default)]
    validated: RecentIds<Uuid>,
}

fn version_1() -> u32 {
    1
}

/// One broker's state read back.
#[derive(Debug)]
pub(super) struct Restored {
    pub snapshot: RiskSnapshot,
    pub applied: RecentIds<String>,
    pub validated: RecentIds<Uuid>,
    /// It was in the version 1 format and has been rewritten.
    pub migrated: bool,
}

/// Why a broker's state could not be read back.
#[derive(Debug, Error)]
pub(super) enum LoadError {
    /// Transient: the actor must not trade on an empty book, so it fails and restarts.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Permanent: starting empty is all that is left.
    #[error("saved risk state unreadable: {0}")]
    Unreadable(#[from] serde_json::Error),
}

/// Reads `broker`'s state; `None` if nothing was saved. A version 1 value is rewritten as
/// version 2 (snapshot and both lists in one step) before it is returned.
///
/// # Errors
/// See [`LoadError`].
pub(super) async fn load(store: &dyn Store, broker: Broker) -> Result<Option<Restored>, LoadError> {
    let key = state_key(broker);
    let (fills_key, signals_key) = (applied_fills_key(broker), validated_key(broker));
    let read = store
        .get_with_lists(&key, &[&fills_key, &signals_key])
        .await?;
    let Some(json) = read.value else {
        return Ok(None);
    };
    let stored: Stored = serde_json::from_str(&json)?;
    if stored.version >= VERSION {
        let mut lists = read.lists.into_iter();
        let applied = recent(lists.next().unwrap_or_default(), Some);
        let validated = recent(lists.next().unwrap_or_default(), |id| {
            let parsed = Uuid::parse_str(&id).ok();
            if parsed.is_none() {
                tracing::warn!(%broker, id, "validated signal id unreadable; skipped");
            }
            parsed
        });
        return Ok(Some(Restored {
            snapshot: stored.snapshot,
            applied,
            validated,
            migrated: false,
        }));
    }
    let lists = vec![
        ListWrite::replace(
            fills_key,
            stored.applied_fills.iter().cloned().collect(),
            KEPT,
        ),
        ListWrite::replace(
            signals_key,
            stored.validated.iter().map(Uuid::to_string).collect(),
            KEPT,
        ),
    ];
    let value = saved_json(&stored.snapshot)?;
    store
        .put_with_lists(STATE_INDEX, &key, value, lists)
        .await?;
    Ok(Some(Restored {
        snapshot: stored.snapshot,
        applied: stored.applied_fills,
        validated: stored.validated,
        migrated: true,
    }))
}

fn recent<T: Ord + Clone>(ids: Vec<String>, parse: impl Fn(String) -> Option<T>) -> RecentIds<T> {
    let mut recent = RecentIds::default();
    for id in ids.into_iter().filter_map(parse) {
        recent.insert(id); // A repeat (see the module docs) is dropped here.
    }
    recent
}

fn saved_json(snapshot: &RiskSnapshot) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Saved {
        version: VERSION,
        snapshot,
    })
}

/// Writes `snapshot` with the ids not yet written (see [`Unsaved`]), in one step.
///
/// # Errors
/// The snapshot does not serialise (it is plain data, so this does not happen in practice);
/// the store's failure is the future's.
pub(super) fn save(
    store: &dyn Store,
    unsaved: &Unsaved,
    snapshot: &RiskSnapshot,
) -> Result<BoxFuture<'static, Result<(), StoreError>>, serde_json::Error> {
    let broker = snapshot.broker;
    let value = saved_json(snapshot)?;
    let batch = unsaved.take(broker);
    let mut lists = Vec::new();
    if !batch.fills.is_empty() {
        lists.push(ListWrite::append(
            applied_fills_key(broker),
            batch.fills,
            KEPT,
        ));
    }
    if !batch.validated.is_empty() {
        lists.push(ListWrite::append(
            validated_key(broker),
            batch.validated,
            KEPT,
        ));
    }
    let write = store.put_with_lists(STATE_INDEX, &state_key(broker), value, lists);
    let settle = Settle {
        unsaved: unsaved.clone(),
        broker,
        save: batch.save,
        written: false,
    };
    Ok(Box::pin(async move {
        let result = write.await;
        settle.finish(result.is_ok());
        result
    }))
}

/// Settles a save's ids when its future ends — or is dropped unfinished, which hands them
/// back too (the write may not have happened).
struct Settle {
    unsaved: Unsaved,
    broker: Broker,
    save: u64,
    written: bool,
}

impl Settle {
    fn finish(mut self, written: bool) {
        self.written = written; // Read when `self` drops, just after.
    }
}

impl Drop for Settle {
    fn drop(&mut self) {
        self.unsaved.settle(self.broker, self.save, self.written);
    }
}

/// The kinds of ids saved beside the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Fill,
    Validated,
}

/// Ids remembered in memory whose write is not yet known to have succeeded, per broker.
/// Each save carries those no save is carrying; a failed save hands its ids back for the
/// next one, a successful one forgets them. Bounded like [`RecentIds`]: an id older than
/// the newest [`KEPT`] of its kind would be trimmed from its list anyway.
#[derive(Clone, Default)]
pub(super) struct Unsaved {
    inner: Arc<Mutex<UnsavedInner>>,
}

#[derive(Default)]
struct UnsavedInner {
    next_save: u64,
    brokers: BTreeMap<Broker, [VecDeque<Pending>; 2]>,
}

struct Pending {
    id: String,
    /// The save writing it now, if any.
    carried_by: Option<u64>,
}

/// What one save writes.
pub(super) struct Batch {
    save: u64,
    fills: Vec<String>,
    validated: Vec<String>,
}

impl Unsaved {
    /// `id` of `kind` was just remembered for `broker`: the next save writes it.
    pub fn add(&self, broker: Broker, kind: Kind, id: String) {
        self.with(|u| {
            let pending = &mut u.brokers.entry(broker).or_default()[kind as usize];
            pending.push_back(Pending {
                id,
                carried_by: None,
            });
            if pending.len() > KEPT {
                pending.pop_front();
            }
        });
    }

    /// `id` of `kind` is remembered for `broker` but not yet known to be written.
    pub fn contains(&self, broker: Broker, kind: Kind, id: &str) -> bool {
        self.with(|u| {
            u.brokers
                .get(&broker)
                .is_some_and(|p| p[kind as usize].iter().any(|p| p.id == id))
        })
    }

    /// Forgets everything (the state has just been read back from the store).
    pub fn clear(&self) {
        self.with(|u| u.brokers.clear());
    }

    fn take(&self, broker: Broker) -> Batch {
        self.with(|u| {
            let save = u.next_save;
            u.next_save += 1;
            let mut batch = Batch {
                save,
                fills: Vec::new(),
                validated: Vec::new(),
            };
            let Some(kinds) = u.brokers.get_mut(&broker) else {
                return batch;
            };
            for (kind, out) in [
                (Kind::Fill, &mut batch.fills),
                (Kind::Validated, &mut batch.validated),
            ] {
                for p in kinds[kind as usize]
                    .iter_mut()
                    .filter(|p| p.carried_by.is_none())
                {
                    p.carried_by = Some(save);
                    out.push(p.id.clone());
                }
            }
            batch
        })
    }

    fn settle(&self, broker: Broker, save: u64, written: bool) {
        self.with(|u| {
            for pending in u.brokers.get_mut(&broker).into_iter().flatten() {
                if written {
                    pending.retain(|p| p.carried_by != Some(save));
                } else {
                    for p in pending.iter_mut().filter(|p| p.carried_by == Some(save)) {
                        p.carried_by = None;
                    }
                }
            }
        });
    }

    fn with<R>(&self, f: impl FnOnce(&mut UnsavedInner) -> R) -> R {
        // Every update leaves the lists whole (a push, a retain, a flag), so a lock poisoned
        // by a panic elsewhere still guards consistent data.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_save_hands_its_ids_to_the_next_one() {
        let u = Unsaved::default();
        u.add(Broker::Paper, Kind::Fill, "f1".into());
        let first = u.take(Broker::Paper);
        assert_eq!(first.fills, ["f1"]);
        u.add(Broker::Paper, Kind::Validated, "s1".into());
        // In flight: the next save does not carry f1 again.
        let second = u.take(Broker::Paper);
        assert!(second.fills.is_empty());
        assert_eq!(second.validated, ["s1"]);
        u.settle(Broker::Paper, first.save, false);
        assert!(u.contains(Broker::Paper, Kind::Fill, "f1"));
        let third = u.take(Broker::Paper);
        assert_eq!(third.fills, ["f1"]);
        u.settle(Broker::Paper, third.save, true);
        u.settle(Broker::Paper, second.save, true);
        assert!(!u.contains(Broker::Paper, Kind::Fill, "f1"));
        assert!(!u.contains(Broker::Paper, Kind::Validated, "s1"));
        assert!(!u.contains(Broker::Zerodha, Kind::Fill, "f1"));
    }

    #[test]
    fn a_save_dropped_unfinished_hands_its_ids_back() {
        let store = crate::store::MemoryStore::default();
        let u = Unsaved::default();
        let snapshot = crate::risk::BrokerRisk::new(Broker::Paper, Default::default()).snapshot();
        u.add(Broker::Paper, Kind::Fill, "f1".into());
        drop(save(&store, &u, &snapshot).unwrap());
        assert_eq!(u.take(Broker::Paper).fills, ["f1"]);
    }

    #[tokio::test]
    async fn a_finished_save_forgets_its_ids() {
        let store = crate::store::MemoryStore::default();
        let u = Unsaved::default();
        let snapshot = crate::risk::BrokerRisk::new(Broker::Paper, Default::default()).snapshot();
        u.add(Broker::Paper, Kind::Fill, "f1".into());
        save(&store, &u, &snapshot).unwrap().await.unwrap();
        assert!(!u.contains(Broker::Paper, Kind::Fill, "f1"));
        let read = store
            .get_with_lists(
                &state_key(Broker::Paper),
                &[&applied_fills_key(Broker::Paper)],
            )
            .await
            .unwrap();
        assert_eq!(read.lists[0], ["f1"]);
        let restored = load(&store, Broker::Paper).await.unwrap().unwrap();
        assert_eq!(restored.snapshot, snapshot);
        assert!(restored.applied.contains(&"f1".to_owned()) && !restored.migrated);
    }

    #[test]
    fn unsaved_ids_are_bounded_per_kind() {
        let u = Unsaved::default();
        for i in 0..=KEPT {
            u.add(Broker::Paper, Kind::Fill, i.to_string());
        }
        let batch = u.take(Broker::Paper);
        assert_eq!(batch.fills.len(), KEPT);
        assert_eq!(batch.fills.first().map(String::as_str), Some("1"));
    }
}
