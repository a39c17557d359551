//! The daemon's supervision tree:
//!
//! ```text
//! root (one_for_one)
//! ├── infrastructure (rest_for_one): producer, then the consumers
//! └── one supervisor per service (added as the services land)
//! ```
//!
//! `rest_for_one` under infrastructure: when the producer restarts, every consumer after
//! it restarts too, so none keeps a handle to a producer incarnation that is gone.

use super::supervisor::{Strategy, SupervisorSpec};
use crate::settings::Settings;
use crate::streaming::{KafkaConnection, ProducerActor, ProducerHandle};

/// Names of the supervisors of the daemon's tree.
pub const ROOT: &str = "root";
pub const INFRASTRUCTURE: &str = "infrastructure";
pub const PRODUCER: &str = "producer";

/// The tree, ready to start, and the handles other parts wire themselves to.
pub struct DaemonTree {
    pub root: SupervisorSpec,
    pub producer: ProducerHandle,
    /// Every actor and supervisor name, for checking `[supervision.actors]` keys.
    pub names: Vec<String>,
}

/// Builds the tree. `producer` is the first incarnation (already connected); later ones
/// are created fresh by the factory.
pub fn build(
    settings: &Settings,
    connection: &KafkaConnection,
    producer: ProducerActor,
) -> DaemonTree {
    let supervision = &settings.supervision;
    let mut infrastructure = SupervisorSpec::new(INFRASTRUCTURE, Strategy::RestForOne, supervision);
    let connection = connection.clone();
    let mut first = Some(producer);
    let producer_addr = infrastructure.worker(PRODUCER, move || match first.take() {
        Some(p) => Ok(p),
        None => ProducerActor::create(&connection).map_err(|e| e.to_string()),
    });
    let mut root = SupervisorSpec::new(ROOT, Strategy::OneForOne, supervision);
    root.supervisor(infrastructure);
    let names = vec![
        ROOT.to_owned(),
        INFRASTRUCTURE.to_owned(),
        PRODUCER.to_owned(),
    ];
    DaemonTree {
        root,
        producer: ProducerHandle::new(producer_addr.recipient()),
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
