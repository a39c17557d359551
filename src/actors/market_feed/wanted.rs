//! What the feed streams: the configured instruments (`feed.subscriptions`) ∪ every
//! requester's latest runtime wish (`market.subscriptions`,
//! [`SubscriptionsChanged`]), and the ticker requests that move a connection from what it
//! was sent to that.
//!
//! Invariants and decisions:
//! - Each requester (`strategy/broker`) has one wish, replaced whole by its next record, so
//!   applying records is idempotent and the set after a restart is the fold of the topic.
//! - A token wanted in several modes is streamed in the richest (full ⊃ quote ⊃ ltp): every
//!   field a poorer mode has is in the richer tick. A token stops being streamed only when
//!   neither the configuration nor any requester wants it, so one strategy's unsubscribe
//!   never takes another's (or the configuration's) instrument away.
//! - A wish that would make the union larger than `limit` (Kite: 3000 instruments per
//!   connection) is refused whole: the requester keeps its previous wish, and the caller
//!   logs and counts the refusal. A wish that does not grow the union is always taken (so
//!   withdrawing works even when the configuration alone passes the limit).
//! - Requests: unsubscribe what went, subscribe what came, then set the mode of everything
//!   new or whose mode changed (Kite starts a new subscription in quote mode).

use super::FeedTarget;
use crate::kite::text::Request;
use crate::messages::{SubscriptionsChanged, TickMode};
use std::collections::BTreeMap;

/// Streamed instruments by token.
pub type Targets = BTreeMap<u32, FeedTarget>;

/// What applying one wish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The union changed: the connection must follow.
    Changed,
    /// Taken, but the union is the same (another requester or the configuration already
    /// streams it, or the same wish again).
    Unchanged,
    /// The union would pass the limit: the requester's previous wish stands.
    Refused { wanted: usize, limit: usize },
}

/// The configured instruments and every requester's wish.
#[derive(Debug, Clone)]
pub struct WantedSet {
    configured: Vec<FeedTarget>,
    requested: BTreeMap<String, Vec<FeedTarget>>,
    limit: usize,
    union: Targets,
}

impl WantedSet {
    /// Only the configured instruments, at most `limit` streamed in all.
    pub fn new(configured: Vec<FeedTarget>, limit: usize) -> Self {
        let union = union(&configured, &BTreeMap::new());
        WantedSet {
            configured,
            requested: BTreeMap::new(),
            limit,
            union,
        }
    }

    /// Replaces the wish of the record's requester with the record's.
    pub fn apply(&mut self, change: &SubscriptionsChanged) -> Applied {
        let mut requested = self.requested.clone();
        let wish: Vec<FeedTarget> = change
            .instruments
            .iter()
            .map(|w| FeedTarget {
                token: w.token,
                symbol: w.symbol.clone(),
                mode: w.mode,
            })
            .collect();
        if wish.is_empty() {
            requested.remove(&change.requester());
        } else {
            requested.insert(change.requester(), wish);
        }
        let next = union(&self.configured, &requested);
        if next.len() > self.limit && next.len() > self.union.len() {
            return Applied::Refused {
                wanted: next.len(),
                limit: self.limit,
            };
        }
        self.requested = requested;
        if next == self.union {
            return Applied::Unchanged;
        }
        self.union = next;
        Applied::Changed
    }

    /// Everything to stream now.
    pub fn targets(&self) -> &Targets {
        &self.union
    }
}

fn union(configured: &[FeedTarget], requested: &BTreeMap<String, Vec<FeedTarget>>) -> Targets {
    let mut out = Targets::new();
    for target in configured.iter().chain(requested.values().flatten()) {
        out.entry(target.token)
            .and_modify(|t| {
                if rank(target.mode) > rank(t.mode) {
                    t.mode = target.mode;
                }
            })
            .or_insert_with(|| target.clone());
    }
    out
}

fn rank(mode: TickMode) -> u8 {
    match mode {
        TickMode::Ltp => 0,
        TickMode::Quote => 1,
        TickMode::Full => 2,
    }
}

/// The requests that move a connection subscribed to `sent` to `wanted` (from nothing:
/// the whole subscription of a fresh connection).
pub fn changes(sent: &Targets, wanted: &Targets) -> Vec<Request> {
    let gone: Vec<u32> = sent
        .keys()
        .filter(|t| !wanted.contains_key(t))
        .copied()
        .collect();
    let came: Vec<u32> = wanted
        .keys()
        .filter(|t| !sent.contains_key(t))
        .copied()
        .collect();
    let mut by_mode: BTreeMap<u8, (TickMode, Vec<u32>)> = BTreeMap::new();
    for target in wanted.values() {
        if sent
            .get(&target.token)
            .is_some_and(|s| s.mode == target.mode)
        {
            continue;
        }
        by_mode
            .entry(rank(target.mode))
            .or_insert((target.mode, Vec::new()))
            .1
            .push(target.token);
    }
    let mut requests = Vec::new();
    if !gone.is_empty() {
        requests.push(Request::Unsubscribe(gone));
    }
    if !came.is_empty() {
        requests.push(Request::Subscribe(came));
    }
    requests.extend(
        by_mode
            .into_values()
            .map(|(mode, tokens)| Request::Mode(mode, tokens)),
    );
    requests
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{Broker, WantedInstrument};

    fn target(token: u32, mode: TickMode) -> FeedTarget {
        FeedTarget {
            token,
            symbol: format!("S{token}"),
            mode,
        }
    }

    fn wish(strategy: &str, instruments: &[(u32, TickMode)]) -> SubscriptionsChanged {
        SubscriptionsChanged {
            strategy_id: strategy.into(),
            broker: Broker::Paper,
            instruments: instruments
                .iter()
                .map(|(token, mode)| WantedInstrument {
                    token: *token,
                    symbol: format!("S{token}"),
                    mode: *mode,
                })
                .collect(),
        }
    }

    fn modes(set: &WantedSet) -> Vec<(u32, TickMode)> {
        set.targets().values().map(|t| (t.token, t.mode)).collect()
    }

    use TickMode::{Full, Ltp, Quote};

    #[test]
    fn the_union_keeps_what_anyone_still_wants_in_the_richest_mode() {
        let mut set = WantedSet::new(vec![target(1, Quote)], 10);
        assert_eq!(
            set.apply(&wish("a", &[(1, Full), (2, Ltp)])),
            Applied::Changed
        );
        assert_eq!(set.apply(&wish("b", &[(2, Quote)])), Applied::Changed);
        assert_eq!(modes(&set), [(1, Full), (2, Quote)]);
        // a withdraws: 1 stays (configured, back to quote), 2 stays (b) in b's mode.
        assert_eq!(set.apply(&wish("a", &[])), Applied::Changed);
        assert_eq!(modes(&set), [(1, Quote), (2, Quote)]);
        // The same wish again changes nothing.
        assert_eq!(set.apply(&wish("b", &[(2, Quote)])), Applied::Unchanged);
        assert_eq!(set.apply(&wish("b", &[])), Applied::Changed);
        assert_eq!(modes(&set), [(1, Quote)]);
    }

    #[test]
    fn a_wish_past_the_limit_is_refused_whole_and_the_previous_one_stands() {
        let mut set = WantedSet::new(vec![target(1, Quote)], 3);
        assert_eq!(set.apply(&wish("a", &[(2, Ltp)])), Applied::Changed);
        let refused = set.apply(&wish("a", &[(2, Ltp), (3, Ltp), (4, Ltp)]));
        assert_eq!(
            refused,
            Applied::Refused {
                wanted: 4,
                limit: 3
            }
        );
        assert_eq!(modes(&set), [(1, Quote), (2, Ltp)]);
        // Shrinking is always taken.
        assert_eq!(set.apply(&wish("a", &[])), Applied::Changed);
        assert_eq!(modes(&set), [(1, Quote)]);
    }

    #[test]
    fn requests_unsubscribe_what_went_subscribe_what_came_and_set_changed_modes() {
        let sent: Targets = [target(1, Full), target(2, Quote), target(3, Ltp)]
            .into_iter()
            .map(|t| (t.token, t))
            .collect();
        let wanted: Targets = [target(1, Full), target(2, Full), target(4, Ltp)]
            .into_iter()
            .map(|t| (t.token, t))
            .collect();
        assert_eq!(
            changes(&sent, &wanted),
            vec![
                Request::Unsubscribe(vec![3]),
                Request::Subscribe(vec![4]),
                Request::Mode(Ltp, vec![4]),
                Request::Mode(Full, vec![2]),
            ]
        );
        assert!(changes(&wanted, &wanted).is_empty());
        assert_eq!(
            changes(&Targets::new(), &wanted),
            vec![
                Request::Subscribe(vec![1, 2, 4]),
                Request::Mode(Ltp, vec![4]),
                Request::Mode(Full, vec![1, 2]),
            ]
        );
    }
}
