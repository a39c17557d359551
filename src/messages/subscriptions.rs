//! Runtime subscriptions: what a strategy wants streamed besides its configured
//! instruments, on `market.subscriptions`, from the strategy runner to the market feed.
//!
//! Decisions:
//! - **A record is the requester's whole wish, not a change.** [`SubscriptionsChanged`]
//!   carries every instrument the (strategy, broker) wants right now, so the latest record
//!   of a requester is its current wish: applying a record twice, or a redelivered older
//!   one followed by the newer one, ends where the newer one says. An unsubscribe is a
//!   record without the instrument; withdrawing everything is an empty list.
//! - **Keyed by requester** (`strategy/broker`): one requester's records stay in order on
//!   one partition, so "the latest" is well defined for every reader (the feed, and the
//!   runner rebuilding after a restart).
//! - The feed trusts the symbol a record carries (the runner resolved it against the
//!   registry); a record's instruments are unique by token and sorted, so two records with
//!   the same wish are equal.

use super::common::Broker;
use super::envelope::{EventType, Payload};
use super::market::TickMode;
use serde::{Deserialize, Serialize};

/// One instrument a strategy wants streamed, in a mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WantedInstrument {
    pub token: u32,
    /// The registry's trading symbol (what ticks of it carry).
    pub symbol: String,
    pub mode: TickMode,
}

/// A strategy's runtime subscriptions at one broker changed: the whole new set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionsChanged {
    pub strategy_id: String,
    pub broker: Broker,
    /// Sorted by token, each token once; empty when the strategy wants nothing more than
    /// its configured instruments.
    pub instruments: Vec<WantedInstrument>,
}

impl SubscriptionsChanged {
    /// The requester's key: `strategy/broker`.
    pub fn requester(&self) -> String {
        requester_key(&self.strategy_id, self.broker)
    }
}

/// The key of a requester's records: `strategy/broker`.
pub fn requester_key(strategy_id: &str, broker: Broker) -> String {
    format!("{strategy_id}/{broker}")
}

impl Payload for SubscriptionsChanged {
    const TYPE: EventType = EventType::SubscriptionsChanged;
    fn partition_key(&self) -> String {
        self.requester()
    }
    fn broker(&self) -> Option<Broker> {
        Some(self.broker)
    }
    fn validate(&self) -> Result<(), String> {
        if self.strategy_id.is_empty() {
            return Err("strategy_id: must not be empty".into());
        }
        for (i, pair) in self.instruments.windows(2).enumerate() {
            if pair[0].token >= pair[1].token {
                return Err(format!(
                    "instruments[{}]: token {} is not above the previous {} (sorted, each once)",
                    i + 1,
                    pair[1].token,
                    pair[0].token
                ));
            }
        }
        if let Some(i) = self.instruments.iter().position(|w| w.symbol.is_empty()) {
            return Err(format!("instruments[{i}].symbol: must not be empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{Envelope, decode, encode};

    fn wanted(token: u32) -> WantedInstrument {
        WantedInstrument {
            token,
            symbol: format!("S{token}"),
            mode: TickMode::Full,
        }
    }

    fn changed(instruments: Vec<WantedInstrument>) -> SubscriptionsChanged {
        SubscriptionsChanged {
            strategy_id: "straddle".into(),
            broker: Broker::Paper,
            instruments,
        }
    }

    #[test]
    fn round_trips_keyed_by_requester() {
        let env = Envelope::root(changed(vec![wanted(1), wanted(2)]), "t", chrono::Utc::now());
        assert_eq!(env.key, "straddle/paper");
        assert_eq!(env.broker, Some(Broker::Paper));
        let back = decode::<SubscriptionsChanged>(&encode(&env)).unwrap();
        assert_eq!(back, env);
    }

    #[test]
    fn refuses_unsorted_duplicate_or_unnamed_instruments() {
        let cases = [
            (vec![wanted(2), wanted(1)], "instruments[1]: token 1"),
            (vec![wanted(1), wanted(1)], "instruments[1]: token 1"),
            (
                vec![WantedInstrument {
                    symbol: String::new(),
                    ..wanted(1)
                }],
                "instruments[0].symbol",
            ),
        ];
        for (instruments, expected) in cases {
            let problem = changed(instruments).validate().unwrap_err();
            assert!(problem.starts_with(expected), "{problem}");
        }
        assert!(changed(Vec::new()).validate().is_ok(), "withdrawing all");
    }
}
