//! The topic map: the only place that names topics, their partitioning and retention.
//!
//! Invariants:
//! - every topic name in the process comes from here ([`Topic::name`]);
//! - ticks are keyed by instrument token; signals, orders and fills by `strategy:token`,
//!   P&L snapshots by strategy, runtime subscriptions by requester (`strategy/broker`)
//!   (the key itself comes from [`crate::messages::Payload`]);
//! - `market.subscriptions` is kept forever whatever `[topics]` says: each requester's
//!   latest record is its current wish, which the feed and the runner rebuild from after
//!   a restart (see [`crate::messages::SubscriptionsChanged`]); its records are few;
//! - every topic has a dead-letter twin named `{topic}.dlq`.

use crate::messages::{Broker, EventType};
use crate::settings::TopicSettings;
use std::fmt;

/// The suffix of every dead-letter topic.
pub const DLQ_SUFFIX: &str = ".dlq";

/// A pipeline stream. Broker-scoped streams exist once per broker namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    MarketTicks,
    /// Strategies' runtime subscriptions, for the market feed.
    MarketSubscriptions,
    SignalsRaw,
    SignalsValidated,
    SignalsRejected,
    OrdersSubmitted,
    OrdersFilled,
    OrdersFailed,
    PnlSnapshots,
}

impl Stream {
    pub const ALL: [Stream; 9] = [
        Stream::MarketTicks,
        Stream::MarketSubscriptions,
        Stream::SignalsRaw,
        Stream::SignalsValidated,
        Stream::SignalsRejected,
        Stream::OrdersSubmitted,
        Stream::OrdersFilled,
        Stream::OrdersFailed,
        Stream::PnlSnapshots,
    ];

    pub fn suffix(self) -> &'static str {
        match self {
            Stream::MarketTicks => "market.ticks",
            Stream::MarketSubscriptions => "market.subscriptions",
            Stream::SignalsRaw => "signals.raw",
            Stream::SignalsValidated => "signals.validated",
            Stream::SignalsRejected => "signals.rejected",
            Stream::OrdersSubmitted => "orders.submitted",
            Stream::OrdersFilled => "orders.filled",
            Stream::OrdersFailed => "orders.failed",
            Stream::PnlSnapshots => "pnl.snapshots",
        }
    }

    /// Whether the stream exists per broker namespace (all but the `market.*` streams:
    /// one feed serves every broker).
    pub fn is_broker_scoped(self) -> bool {
        !matches!(self, Stream::MarketTicks | Stream::MarketSubscriptions)
    }

    /// The payload type carried.
    pub fn event_type(self) -> EventType {
        match self {
            Stream::MarketTicks => EventType::MarketTick,
            Stream::MarketSubscriptions => EventType::SubscriptionsChanged,
            Stream::SignalsRaw => EventType::TradingSignal,
            Stream::SignalsValidated => EventType::ValidatedSignal,
            Stream::SignalsRejected => EventType::RejectedSignal,
            Stream::OrdersSubmitted => EventType::OrderSubmitted,
            Stream::OrdersFilled => EventType::OrderFilled,
            Stream::OrdersFailed => EventType::OrderFailed,
            Stream::PnlSnapshots => EventType::PnlSnapshot,
        }
    }

    /// How records are keyed, for humans (`topics list`).
    pub fn key_description(self) -> &'static str {
        match self {
            Stream::MarketTicks => "instrument token",
            Stream::MarketSubscriptions => "strategy/broker",
            Stream::PnlSnapshots => "strategy",
            _ => "strategy:token",
        }
    }
}

/// A concrete topic: a stream, its broker namespace if scoped, and whether it is the DLQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic {
    pub stream: Stream,
    pub broker: Option<Broker>,
    pub dlq: bool,
}

impl Topic {
    /// `market.ticks`.
    pub const MARKET_TICKS: Topic = Topic {
        stream: Stream::MarketTicks,
        broker: None,
        dlq: false,
    };

    /// `market.subscriptions`.
    pub const MARKET_SUBSCRIPTIONS: Topic = Topic {
        stream: Stream::MarketSubscriptions,
        broker: None,
        dlq: false,
    };

    /// A broker-scoped stream, e.g. `Topic::of(Broker::Paper, Stream::OrdersFilled)`.
    pub fn of(broker: Broker, stream: Stream) -> Topic {
        debug_assert!(stream.is_broker_scoped());
        Topic {
            stream,
            broker: Some(broker),
            dlq: false,
        }
    }

    /// The dead-letter twin.
    pub fn dlq(self) -> Topic {
        Topic { dlq: true, ..self }
    }

    /// The Kafka topic name.
    pub fn name(&self) -> String {
        let base = match self.broker {
            Some(b) => format!("{b}.{}", self.stream.suffix()),
            None => self.stream.suffix().to_owned(),
        };
        if self.dlq {
            format!("{base}{DLQ_SUFFIX}")
        } else {
            base
        }
    }

    /// Parses a topic name this map produces.
    pub fn parse(name: &str) -> Option<Topic> {
        TopicMap::all_topics()
            .into_iter()
            .find(|t| t.name() == name)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// `retention_ms` of a topic kept forever.
pub const KEEP_FOREVER: i64 = -1;

/// What to create for a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub topic: Topic,
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    /// `-1` keeps records forever.
    pub retention_ms: i64,
}

/// Every topic of the system with its creation parameters.
#[derive(Debug, Clone)]
pub struct TopicMap {
    specs: Vec<TopicSpec>,
}

impl TopicMap {
    /// Builds the map from `[topics]` settings.
    pub fn new(settings: &TopicSettings) -> TopicMap {
        let specs = Self::all_topics()
            .into_iter()
            .map(|topic| {
                let ticks = topic.stream == Stream::MarketTicks;
                TopicSpec {
                    topic,
                    name: topic.name(),
                    // A DLQ has the partitions of its source so a replay keeps key order.
                    partitions: if ticks {
                        settings.tick_partitions
                    } else {
                        settings.default_partitions
                    },
                    replication_factor: settings.replication_factor,
                    retention_ms: match (topic.dlq, topic.stream) {
                        (true, _) => settings.dlq_retention_ms,
                        (false, Stream::MarketTicks) => settings.tick_retention_ms,
                        // The current wishes live in it (see the module docs).
                        (false, Stream::MarketSubscriptions) => KEEP_FOREVER,
                        (false, _) => settings.default_retention_ms,
                    },
                }
            })
            .collect();
        TopicMap { specs }
    }

    /// Every topic: each stream (per broker where scoped) and its DLQ.
    pub fn all_topics() -> Vec<Topic> {
        let mut out = Vec::new();
        for stream in Stream::ALL {
            let brokers: Vec<Option<Broker>> = if stream.is_broker_scoped() {
                Broker::ALL.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
            for broker in brokers {
                let topic = Topic {
                    stream,
                    broker,
                    dlq: false,
                };
                out.push(topic);
                out.push(topic.dlq());
            }
        }
        out
    }

    pub fn specs(&self) -> &[TopicSpec] {
        &self.specs
    }

    /// The spec of one topic.
    pub fn spec(&self, topic: Topic) -> Option<&TopicSpec> {
        self.specs.iter().find(|s| s.topic == topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_scheme() {
        assert_eq!(Topic::MARKET_TICKS.name(), "market.ticks");
        assert_eq!(Topic::MARKET_TICKS.dlq().name(), "market.ticks.dlq");
        assert_eq!(Topic::MARKET_SUBSCRIPTIONS.name(), "market.subscriptions");
        assert_eq!(
            Topic::of(Broker::Paper, Stream::SignalsRaw).name(),
            "paper.signals.raw"
        );
        assert_eq!(
            Topic::of(Broker::Zerodha, Stream::OrdersFilled)
                .dlq()
                .name(),
            "zerodha.orders.filled.dlq"
        );
        assert_eq!(
            Topic::of(Broker::Paper, Stream::PnlSnapshots).name(),
            "paper.pnl.snapshots"
        );
    }

    #[test]
    fn every_topic_has_a_dlq_and_names_are_unique_and_parse_back() {
        let topics = TopicMap::all_topics();
        // market.ticks, market.subscriptions + 7 broker streams x 2 brokers, each with a
        // DLQ.
        assert_eq!(topics.len(), (2 + 7 * 2) * 2);
        let mut names: Vec<String> = topics.iter().map(Topic::name).collect();
        for t in &topics {
            assert_eq!(Topic::parse(&t.name()), Some(*t));
            if !t.dlq {
                assert!(names.contains(&t.dlq().name()));
            }
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), topics.len());
        assert_eq!(Topic::parse("nope"), None);
    }
}
