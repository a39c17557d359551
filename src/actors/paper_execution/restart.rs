//! The paper venue's start after a restart: read what the last life recorded (the journal
//! and the trigger records in the store) and published (the order topics), rebuild the
//! accounts from the fills and put back the orders it left open
//! ([`crate::paper::restoration`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::messages::{Broker, Lineage, OrderFailed, OrderFilled, OrderSubmitted};
use crate::paper::{History, JournalEntry, PaperVenue, Restoration, TriggerRecord, restoration};
use crate::store::Store;
use crate::streaming::history::{HistoryError, read_history};
use crate::streaming::{KafkaConnection, Stream, Topic};

/// The store index of paper placements.
pub const JOURNAL_INDEX: &str = "paper:orders";

/// The store index of the trigger records of paper stops ([`TriggerRecord`]).
pub const TRIGGER_INDEX: &str = "paper:triggers";

/// The store key of the journal entry of `client_order_id`: the events its placement
/// produced and when ([`JournalEntry`]).
pub fn journal_key(client_order_id: &str) -> String {
    format!("paper:order:{client_order_id}")
}

/// The store key of the trigger record of the stop `client_order_id`.
pub fn trigger_key(client_order_id: &str) -> String {
    format!("paper:trigger:{client_order_id}")
}

/// What the order topics hold, in partition-then-offset order.
pub(super) struct Topics {
    pub fills: Vec<OrderFilled>,
    pub failures: Vec<OrderFailed>,
    /// Each order's `Submitted` envelope time.
    pub submitted_at: BTreeMap<String, DateTime<Utc>>,
}

/// Reads the paper order topics to their ends (blocking: run it off the actor's thread).
///
/// # Errors
/// Metadata, watermarks or fetches failed within `timeout`.
pub(super) fn read_topics(
    connection: &KafkaConnection,
    timeout: std::time::Duration,
) -> Result<Topics, HistoryError> {
    let topic = |s| Topic::of(Broker::Paper, s).name();
    let fills = read_history::<OrderFilled>(connection, &topic(Stream::OrdersFilled), timeout)?.0;
    let failures =
        read_history::<OrderFailed>(connection, &topic(Stream::OrdersFailed), timeout)?.0;
    let submitted =
        read_history::<OrderSubmitted>(connection, &topic(Stream::OrdersSubmitted), timeout)?.0;
    Ok(Topics {
        fills: fills.into_iter().map(|e| e.data).collect(),
        failures: failures.into_iter().map(|e| e.data).collect(),
        submitted_at: submitted
            .into_iter()
            .map(|e| (e.data.order.client_order_id, e.ts))
            .collect(),
    })
}

/// What the store holds: every journal entry and the ids of the stops recorded as
/// triggered.
pub(super) struct Recorded {
    pub journal: Vec<JournalEntry>,
    pub triggered: BTreeSet<String>,
}

/// Reads the journal and the trigger records.
///
/// # Errors
/// The store cannot answer, or an entry is unreadable (the venue must not guess).
pub(super) async fn read_store(store: Arc<dyn Store>) -> Result<Recorded, String> {
    let mut journal = Vec::new();
    for (key, json) in read_index(&store, JOURNAL_INDEX).await? {
        let entry = JournalEntry::from_json(&json)
            .map_err(|e| format!("journal entry {key} is unreadable: {e}"))?;
        journal.push(entry);
    }
    let mut triggered = BTreeSet::new();
    for (key, json) in read_index(&store, TRIGGER_INDEX).await? {
        let record = serde_json::from_str::<TriggerRecord>(&json)
            .map_err(|e| format!("trigger record {key} is unreadable: {e}"))?;
        triggered.insert(record.client_order_id);
    }
    Ok(Recorded { journal, triggered })
}

/// Every `(key, value)` of `index` (keys listed with no value are skipped).
async fn read_index(store: &Arc<dyn Store>, index: &str) -> Result<Vec<(String, String)>, String> {
    let keys = store.members(index).await.map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(value) = store.get(&key).await.map_err(|e| e.to_string())? {
            out.push((key, value));
        }
    }
    Ok(out)
}

/// What a restore leaves to publish.
pub(super) struct Restored {
    /// Cancellations of the orders that cannot be restored.
    pub orphans: Vec<OrderFailed>,
    /// Fills a placement journaled whose publication never got out (the last life died
    /// first), with their validated signal's ids and time when the entry kept them:
    /// published at start, so no later failure of their order precedes them.
    pub unpublished: Vec<Unpublished>,
}

/// A journaled fill that never got out, and its validated signal's ids and time when the
/// journal entry kept them.
pub(super) struct Unpublished {
    pub fill: OrderFilled,
    pub cause: Option<(Lineage, DateTime<Utc>)>,
}

/// Rebuilds `venue` from `topics` and `recorded`: books every fill into the accounts, then
/// puts back the orders left open. Answers what is left to publish. A position in a
/// contract that expired while the venue was down is then still open; the venue settles
/// it at its first event (a tick, or the daemon's first wall-clock sweep) with the prices
/// it knows ([`crate::paper::expiry`]).
pub(super) fn restore(venue: &mut PaperVenue, topics: &Topics, recorded: &Recorded) -> Restored {
    // The contracts and products the journal names first: the fills open their positions
    // as those products, in contracts that still settle when the master no longer lists
    // them.
    for entry in &recorded.journal {
        venue.learn_placement(entry);
    }
    let booked = topics
        .fills
        .iter()
        .filter(|f| venue.restore_fill(f))
        .count();
    // Fills a placement journaled but whose publication never got out are not on the
    // topic: book them too (once: by fill id), and publish them.
    let unpublished: Vec<Unpublished> = recorded
        .journal
        .iter()
        .flat_map(|entry| {
            let cause = entry.cause.zip(entry.submitted_at);
            entry.events.iter().filter_map(move |e| match e {
                crate::messages::VenueEvent::Filled(f) => Some((f, cause)),
                _ => None,
            })
        })
        .filter(|(f, _)| venue.restore_fill(f))
        .map(|(f, cause)| Unpublished {
            fill: f.clone(),
            cause,
        })
        .collect();
    let journaled = unpublished.len();
    let Restoration {
        resting,
        mut orphans,
    } = restoration(&History {
        journal: &recorded.journal,
        fills: &topics.fills,
        failures: &topics.failures,
        submitted_at: &topics.submitted_at,
        triggered: &recorded.triggered,
    });
    let open = resting.len();
    let refused = venue.restore_orders(resting);
    let restored = open.saturating_sub(refused.len());
    orphans.extend(refused);
    tracing::info!(
        fills = booked.saturating_add(journaled),
        orders = restored,
        cancelled = orphans.len(),
        "paper venue restored: accounts from its fills, open orders from its journal"
    );
    Restored {
        orphans,
        unpublished,
    }
}
