//! A restart of the paper venue, made invisible: which orders the last life left open, and
//! in what state, derived from what it recorded and published.
//!
//! Sources (see `docs/TRADING.md`, "Paper venue"):
//! - the journal: one [`JournalEntry`] per placement (index `paper:orders`), the events
//!   the placement produced and, since entries carry it, the submission time;
//! - the order topics: fills (`paper.orders.filled`: those on later ticks are only
//!   there), failures (`paper.orders.failed`: every end), and the `Submitted` envelopes
//!   (`paper.orders.submitted`), whose time is the submission time of journal entries
//!   written before entries carried it;
//! - the trigger records ([`TriggerRecord`], index `paper:triggers`): stops that had
//!   triggered and were still open — nothing else says so.
//!
//! Rules ([`restoration`]): an order is open if its placement was `Submitted`, no
//! failure ended it and its fills (the highest cumulative quantity of any of its fills,
//! journaled or published) are short of its quantity. It comes back with that filled
//! quantity, the number of its fills (so fill ids go on from there), the brokerage they
//! paid (the cap is per order), its submission time (its timeout and session close) and
//! whether it had triggered. An open order whose submission time is unknown cannot be
//! timed and is cancelled instead ([`ORPHAN_MESSAGE`]), the one case of the old rule that
//! cancelled every order left resting.
//!
//! Pure: no store, no topics, no clock; the actor reads them and calls this.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::charges::Product;
use super::expiry::Contract;
use crate::messages::{OrderFailed, OrderFailureKind, OrderFilled, OrderSubmitted, VenueEvent};

/// The message of the cancellation of an open order that cannot be restored.
pub const ORPHAN_MESSAGE: &str =
    "the paper venue restarted and cannot restore this order (its submission time is unknown)";

/// One placement as the journal holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    /// When the order was submitted (the signal's time); `None` in entries written before
    /// entries carried it.
    pub submitted_at: Option<DateTime<Utc>>,
    /// What the placement produced, in order.
    pub events: Vec<VenueEvent>,
    /// The validated signal's ids, so a restart can publish a journaled event that never
    /// got out under the id it would have had; `None` in entries written before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<crate::messages::Lineage>,
    /// The product the order was placed as; `None` in entries written before (every
    /// order was then `paper.product`) and for a placement refused outright.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Product>,
    /// The future or option the order is in, so a restart can settle a position in it
    /// after the day's instrument master no longer lists it; `None` for anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
}

impl JournalEntry {
    /// An entry's stored text, in either shape it has had: an object, or (before the
    /// submission time was recorded) the bare list of events.
    ///
    /// # Errors
    /// The text is neither shape.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        // Told apart by the first character rather than by an untagged enum: serde's
        // buffering of untagged content loses the events' decimal strings.
        if json.trim_start().starts_with('[') {
            let events = serde_json::from_str(json)?;
            return Ok(JournalEntry {
                submitted_at: None,
                events,
                cause: None,
                product: None,
                contract: None,
            });
        }
        serde_json::from_str(json)
    }

    /// The entry's stored text.
    ///
    /// # Errors
    /// An event does not serialise (it always does: plain data).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// A stop that triggered and stayed open, as recorded for a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerRecord {
    pub client_order_id: String,
    pub triggered_at: DateTime<Utc>,
}

/// An order the last life left open, as it is put back.
#[derive(Debug, Clone, PartialEq)]
pub struct RestingOrder {
    /// Its placement.
    pub submitted: OrderSubmitted,
    /// When it was submitted: its timeout and session close count from here.
    pub submitted_at: DateTime<Utc>,
    /// How much it had filled.
    pub filled: u32,
    /// How many fills that took (the next fill id is `{client order id}-{fills + 1}`).
    pub fills: u32,
    /// The brokerage its fills paid (the brokerage cap is per order).
    pub brokerage_paid: Decimal,
    /// Its stop had triggered.
    pub triggered: bool,
    /// The product it was placed as, when its journal entry says.
    pub product: Option<Product>,
}

/// What the last life recorded and published.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    pub journal: &'a [JournalEntry],
    pub fills: &'a [OrderFilled],
    pub failures: &'a [OrderFailed],
    /// Each order's `Submitted` envelope time on the topic.
    pub submitted_at: &'a BTreeMap<String, DateTime<Utc>>,
    /// Client order ids of the stops recorded as triggered.
    pub triggered: &'a BTreeSet<String>,
}

/// The orders to put back, and the cancellations of those that cannot be.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Restoration {
    /// In client order id order.
    pub resting: Vec<RestingOrder>,
    /// In client order id order.
    pub orphans: Vec<OrderFailed>,
}

/// What one order's fills add up to.
#[derive(Debug, Default)]
struct Filled {
    quantity: u32,
    fill_ids: BTreeSet<String>,
    brokerage: Decimal,
}

/// The orders `history` shows open; see the module documentation for the rules.
pub fn restoration(history: &History<'_>) -> Restoration {
    let journaled = || history.journal.iter().flat_map(|e| e.events.iter());
    let mut filled: BTreeMap<&str, Filled> = BTreeMap::new();
    let journaled_fills = journaled().filter_map(|e| match e {
        VenueEvent::Filled(f) => Some(f),
        _ => None,
    });
    for fill in history.fills.iter().chain(journaled_fills) {
        let entry = filled
            .entry(fill.order.client_order_id.as_str())
            .or_default();
        if entry.fill_ids.insert(fill.fill_id.clone()) {
            entry.brokerage = entry.brokerage.saturating_add(fill.fees.brokerage);
        }
        entry.quantity = entry.quantity.max(fill.cumulative_quantity);
    }
    let journaled_failures = journaled().filter_map(|e| match e {
        VenueEvent::Failed(f) => Some(f),
        _ => None,
    });
    let ended: BTreeSet<&str> = history
        .failures
        .iter()
        .chain(journaled_failures)
        .map(|f| f.order.client_order_id.as_str())
        .collect();
    let mut out = Restoration::default();
    let mut done = BTreeSet::new();
    let mut placements: Vec<(&OrderSubmitted, &JournalEntry)> = history
        .journal
        .iter()
        .flat_map(|entry| {
            entry.events.iter().filter_map(move |e| match e {
                VenueEvent::Submitted(s) => Some((s, entry)),
                _ => None,
            })
        })
        .collect();
    placements.sort_by(|a, b| a.0.order.client_order_id.cmp(&b.0.order.client_order_id));
    for (submitted, entry) in placements {
        let id = submitted.order.client_order_id.as_str();
        if ended.contains(id) || !done.insert(id) {
            continue;
        }
        let fills = filled.get(id);
        let quantity = fills.map_or(0, |f| f.quantity);
        if quantity >= submitted.quantity {
            continue;
        }
        let at = entry
            .submitted_at
            .or_else(|| history.submitted_at.get(id).copied());
        let Some(submitted_at) = at else {
            out.orphans.push(OrderFailed {
                order: submitted.order.clone(),
                quantity: submitted.quantity,
                filled_quantity: quantity,
                kind: OrderFailureKind::Cancelled,
                message: ORPHAN_MESSAGE.to_owned(),
            });
            continue;
        };
        out.resting.push(RestingOrder {
            submitted: submitted.clone(),
            submitted_at,
            filled: quantity,
            fills: fills.map_or(0, |f| u32::try_from(f.fill_ids.len()).unwrap_or(u32::MAX)),
            brokerage_paid: fills.map_or(Decimal::ZERO, |f| f.brokerage),
            triggered: history.triggered.contains(id),
            product: entry.product,
        });
    }
    out
}

#[cfg(test)]
#[path = "restore_tests.rs"]
mod tests;
