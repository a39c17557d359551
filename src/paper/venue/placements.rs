//! What the venue remembers of the orders it placed, and for how long.
//!
//! Two guarantees, with memory that does not grow with what they no longer need:
//! - **Never placed twice.** Every client order id the venue ever placed or restored is
//!   remembered for the venue's life, so a duplicate signal — even for an order settled
//!   long ago — places nothing. The engine's ids (`ap` and 18 lowercase hex digits, see
//!   [`client_order_id`](crate::messages::client_order_id)) are kept as integers (16 bytes
//!   each in a hash set, instead of a `String` in a tree: about a fifth of the memory);
//!   any other id (a restored order named otherwise, tests) is kept as it is.
//! - **Answered again until published.** A placement's events are kept only until the
//!   caller says they are published ([`PaperVenue::published`](super::PaperVenue::published):
//!   the execution actor, once every delivery of them is acknowledged), so a caller whose
//!   journal write or publication failed gets exactly the same events again
//!   ([`PaperVenue::replay`](super::PaperVenue::replay)). After that the journal has them
//!   (it is written before anything is published) and a redelivery is answered from it;
//!   the venue answers a duplicate with nothing. Keeping them for the venue's life cost
//!   about 560 bytes per order (25–33 MB of a 1,000,000-tick backtest's 45,501 orders).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::messages::VenueEvent;

/// The order ids a venue placed and the events of its placements not yet published.
#[derive(Debug, Clone, Default)]
pub(super) struct Placements {
    /// Engine ids, as the integer their hex digits spell. Only membership is asked, never
    /// the order, so a hash set keeps the venue deterministic.
    engine_ids: HashSet<u128>,
    /// Every other id.
    other_ids: BTreeSet<String>,
    /// What each placement returned, until it is known published.
    unpublished: BTreeMap<String, Vec<VenueEvent>>,
}

impl Placements {
    /// Remembers `client_order_id`; answers whether it is new.
    pub(super) fn claim(&mut self, client_order_id: &str) -> bool {
        match engine_id(client_order_id) {
            Some(n) => self.engine_ids.insert(n),
            None => {
                !self.other_ids.contains(client_order_id)
                    && self.other_ids.insert(client_order_id.to_owned())
            }
        }
    }

    /// Keeps what the placement of `client_order_id` returned until it is published.
    pub(super) fn placed(&mut self, client_order_id: &str, events: Vec<VenueEvent>) {
        self.unpublished.insert(client_order_id.to_owned(), events);
    }

    /// The events of `client_order_id`'s placement if not yet published (else empty).
    pub(super) fn unpublished(&self, client_order_id: &str) -> Vec<VenueEvent> {
        self.unpublished
            .get(client_order_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The placement of `client_order_id` is published: its events are let go; its id
    /// stays claimed.
    pub(super) fn published(&mut self, client_order_id: &str) {
        self.unpublished.remove(client_order_id);
    }

    /// How many placements' events are kept.
    pub(super) fn kept(&self) -> usize {
        self.unpublished.len()
    }
}

/// The integer an engine id (`ap` and exactly 18 lowercase hex digits) spells; `None` for
/// any other id. Only lowercase digits are taken, so two different ids never give the
/// same integer.
fn engine_id(client_order_id: &str) -> Option<u128> {
    let hex = client_order_id.strip_prefix("ap")?;
    let lower_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    if hex.len() != 18 || !hex.as_bytes().iter().all(lower_hex) {
        return None;
    }
    u128::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_ids_are_integers_and_other_ids_are_kept_as_they_are() {
        let cases = [
            ("ap0123456789abcdef01", Some(0x0123456789abcdef01)),
            ("ap0123456789ABCDEF01", None),
            ("ap0123456789abcdef0", None),
            ("ap0123456789abcdef012", None),
            ("ap+123456789abcdef01", None),
            ("autosq-20261126-1-s1", None),
            ("o1", None),
        ];
        for (id, expected) in cases {
            assert_eq!(engine_id(id), expected, "{id}");
        }
    }

    #[test]
    fn an_id_is_claimed_once_whatever_its_form() {
        let mut p = Placements::default();
        for id in ["ap0123456789abcdef01", "ap0123456789ABCDEF01", "o1"] {
            assert!(p.claim(id), "{id} is new");
            assert!(!p.claim(id), "{id} again");
        }
    }
}
