//! [`Slice`]: one Kite order of a signal's order — the whole order, or one slice of it
//! above the freeze quantity — and the journal format of the records written before
//! orders were sliced.

use super::OrderRecord;
use super::target::OrderTarget;
use crate::messages::{Envelope, OrderFailureKind, ValidatedSignal};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Whether a Kite order reached Kite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Placement {
    /// Journaled and about to be (or being) sent; if found like this later, the outcome
    /// is unknown until Kite's order book says.
    Claimed { since: DateTime<Utc> },
    /// Known not to have reached Kite: may be sent (a slice planned and not sent yet).
    NotSent,
    /// Kite has it.
    Placed { broker_order_id: String },
    /// Never sent: refused by Kite (4xx), by us (cannot be expressed on Kite, too old,
    /// after an earlier slice was refused), or a dry run.
    NotPlaced,
}

/// How an order (or one of its slices) ended; set once every event up to it was produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Complete,
    Failed {
        kind: OrderFailureKind,
        message: String,
    },
}

/// A cancellation we asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// One Kite order of a record, followed by its tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// Kite's `tag`: the record's client order id when the order is not sliced, else
    /// [`slice_tag`](super::slice_tag).
    pub tag: String,
    pub quantity: u32,
    pub placement: Placement,
    /// Kite trade ids already turned into fills, in order.
    pub fills: Vec<String>,
    pub filled_quantity: u32,
    /// Brokerage charged on its earlier fills (the cap is per executed Kite order).
    pub brokerage_paid: Decimal,
    /// When Kite was first known to hold it (our clock): the order timeout counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_at: Option<DateTime<Utc>>,
    /// We asked Kite to cancel it; its cancellation then carries this reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<CancelRequest>,
    /// How it ended, once Kite's view (or our refusal) says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Outcome>,
}

impl Slice {
    pub(super) fn new(tag: String, quantity: u32, placement: Placement) -> Slice {
        Slice {
            tag,
            quantity,
            placement,
            fills: Vec::new(),
            filled_quantity: 0,
            brokerage_paid: Decimal::ZERO,
            placed_at: None,
            cancel: None,
            end: None,
        }
    }

    pub fn broker_order_id(&self) -> Option<&str> {
        match &self.placement {
            Placement::Placed { broker_order_id } => Some(broker_order_id),
            _ => None,
        }
    }

    pub fn is_ended(&self) -> bool {
        self.end.is_some()
    }

    /// Sent, its outcome unknown until Kite's order book says.
    pub fn is_unknown(&self) -> bool {
        !self.is_ended() && matches!(self.placement, Placement::Claimed { .. })
    }

    /// Whether it should be cancelled at `now` for having rested unfilled longer than
    /// `timeout`: at Kite, not ended, and not already asked to cancel within the last
    /// `retry` (a cancel that got no effect — a lost answer, a 429 — is asked again).
    pub fn cancel_due(&self, now: DateTime<Utc>, timeout: Duration, retry: Duration) -> bool {
        let (Some(placed_at), None) = (self.placed_at, &self.end) else {
            return false;
        };
        if self.broker_order_id().is_none() || timeout.is_zero() {
            return false;
        }
        let elapsed = |since: DateTime<Utc>, span: Duration| {
            chrono::TimeDelta::from_std(span).is_ok_and(|span| now - since >= span)
        };
        elapsed(placed_at, timeout)
            && self
                .cancel
                .as_ref()
                .is_none_or(|asked| elapsed(asked.at, retry))
    }
}

/// The journal entry as stored: the current shape (`slices`), or the shape written before
/// orders were sliced, whose one Kite order's state sat at the top level. Both read into
/// an [`OrderRecord`], so an upgrade finds every open and settled order it wrote before.
#[derive(Deserialize)]
pub(super) struct RecordJson {
    client_order_id: String,
    signal: Envelope<ValidatedSignal>,
    target: OrderTarget,
    #[serde(default)]
    slices: Option<Vec<Slice>>,
    submitted: bool,
    #[serde(default)]
    filled_quantity: u32,
    outcome: Option<Outcome>,
    // The one Kite order of a record written before slicing.
    #[serde(default)]
    placement: Option<Placement>,
    #[serde(default)]
    fills: Vec<String>,
    #[serde(default)]
    brokerage_paid: Decimal,
    #[serde(default)]
    placed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    cancel: Option<CancelRequest>,
}

impl From<RecordJson> for OrderRecord {
    fn from(json: RecordJson) -> OrderRecord {
        let slices = json.slices.unwrap_or_else(|| {
            // Missing in a pre-slicing entry only if it is damaged: "may be at Kite" is
            // the assumption that never sends it again.
            let placement = json.placement.unwrap_or(Placement::Claimed {
                since: json.signal.ts,
            });
            vec![Slice {
                tag: json.client_order_id.clone(),
                quantity: json.signal.data.signal.quantity,
                placement,
                fills: json.fills,
                filled_quantity: json.filled_quantity,
                brokerage_paid: json.brokerage_paid,
                placed_at: json.placed_at,
                cancel: json.cancel,
                end: json.outcome.clone(),
            }]
        });
        OrderRecord {
            client_order_id: json.client_order_id,
            signal: json.signal,
            target: json.target,
            slices,
            submitted: json.submitted,
            filled_quantity: json.filled_quantity,
            outcome: json.outcome,
        }
    }
}
