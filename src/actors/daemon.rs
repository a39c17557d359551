//! The daemon's supervision tree:
//!
//! ```text
//! root (one_for_one)
//! ├── infrastructure (rest_for_one): producer, then the consumers
//! ├── feed (one_for_one): market_feed, the Kite ticker feed
//! └── one supervisor per service (added as the services land)
//! ```
//!
//! `rest_for_one` under infrastructure: when the producer restarts, every consumer after
//! it restarts too, so none keeps a handle to a producer incarnation that is gone.

use super::market_feed::{self, MarketFeed, MarketFeedArgs};
use super::supervisor::{Strategy, SupervisorSpec};
use crate::settings::Settings;
use crate::streaming::{KafkaConnection, ProducerActor, ProducerHandle};

/// Names of the daemon's supervisors and actors.
pub const ROOT: &str = "root";
pub const INFRASTRUCTURE: &str = "infrastructure";
pub const PRODUCER: &str = "producer";
/// The market feed's supervisor (its worker is `market_feed`).
pub const FEED_SUPERVISOR: &str = "feed";

/// The tree, ready to start, and the handles other parts wire themselves to.
pub struct DaemonTree {
    pub root: SupervisorSpec,
    pub producer: ProducerHandle,
    /// Every actor and supervisor name, for checking `[supervision.actors]` keys.
    pub names: Vec<String>,
}

/// Builds the tree. `producer` is the first incarnation (already connected); later ones
/// are created fresh by the factory. `feed` makes the market feed's arguments from the
/// producer handle.
pub fn build(
    settings: &Settings,
    connection: &KafkaConnection,
    producer: ProducerActor,
    feed: impl FnOnce(ProducerHandle) -> MarketFeedArgs,
) -> DaemonTree {
    let supervision = &settings.supervision;
    let mut infrastructure = SupervisorSpec::new(INFRASTRUCTURE, Strategy::RestForOne, supervision);
    let connection = connection.clone();
    let mut first = Some(producer);
    let producer_addr = infrastructure.worker(PRODUCER, move || match first.take() {
        Some(p) => Ok(p),
        None => ProducerActor::create(&connection).map_err(|e| e.to_string()),
    });
    let producer = ProducerHandle::new(producer_addr.recipient());

    let feed_args = feed(producer.clone());
    let mut feed_supervisor =
        SupervisorSpec::new(FEED_SUPERVISOR, Strategy::OneForOne, supervision);
    feed_supervisor.worker(market_feed::SERVICE, move || {
        Ok(MarketFeed::new(feed_args.clone()))
    });

    let mut root = SupervisorSpec::new(ROOT, Strategy::OneForOne, supervision);
    root.supervisor(infrastructure);
    root.supervisor(feed_supervisor);
    let names = [
        ROOT,
        INFRASTRUCTURE,
        PRODUCER,
        FEED_SUPERVISOR,
        market_feed::SERVICE,
    ]
    .map(str::to_owned)
    .to_vec();
    DaemonTree {
        root,
        producer,
        names,
    }
}

/// `[supervision.actors.<name>]` entries that name no actor of the tree (a typo would
/// otherwise silently keep the default policy).
pub fn unknown_policy_names(settings: &Settings, names: &[String]) -> Vec<String> {
    settings
        .supervision
        .actors
        .keys()
        .filter(|k| !names.contains(k))
        .cloned()
        .collect()
}
