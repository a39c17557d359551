//! The feed subscribed to a sample option of the embedded registry, as the default daemon
//! would be: the simulator prices it from its index and the feed publishes full ticks
//! with open interest and a book in lots.

use super::*;
use crate::market::instruments::{InstrumentKind, InstrumentRegistry};
use crate::messages::{MarketTick, decode};
use crate::settings::{RetrySettings, Secret};
use crate::sim::{Derivatives, Simulator, SimulatorOptions};
use crate::streaming::ProducerHandle;
use crate::streaming::producer::Publish;
use crate::streaming::retry::Backoff;
use crate::testkit::Probe;
use actix::prelude::*;
use std::time::Duration;

/// A bound on waiting, not a pause: the simulator sends 20 frames a second.
const WAIT: Duration = Duration::from_secs(20);

#[actix::test]
async fn a_subscribed_sample_option_is_published_with_oi_and_depth_in_lots() {
    let registry = InstrumentRegistry::embedded().unwrap();
    // The sample's symbols depend on the day: take the monthly NIFTY call nearest the
    // money at the latest expiry, by its key as a configuration would name it.
    let option = registry
        .iter()
        .filter(|i| i.name == "NIFTY" && i.kind == InstrumentKind::Call)
        .max_by_key(|i| {
            (
                i.expiry,
                -(i.strike - rust_decimal::Decimal::from(26_000)).abs(),
            )
        })
        .unwrap()
        .clone();
    let subscription: crate::settings::Subscription =
        format!("{}:full", option.key()).parse().unwrap();
    let targets = resolve_targets(&[subscription], &registry).unwrap();
    let sim = Simulator::start(
        SimulatorOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            ticks_per_sec: 20,
            seed: 17,
            derivatives: Derivatives::default(),
        },
        &registry,
    )
    .await
    .unwrap();
    let mut probe = Probe::<Publish>::acking_producer();
    let _feed = MarketFeed::new(MarketFeedArgs {
        endpoint: Endpoint {
            url: sim.url(),
            api_key: Secret::new("key"),
            access_token: Secret::new("token"),
        },
        targets,
        producer: ProducerHandle::new(probe.recipient()),
        liveness: Duration::from_secs(5),
        reconnect: Backoff::new(&RetrySettings {
            base_ms: 20,
            factor: 2.0,
            max_ms: 200,
            attempts: u32::MAX,
            jitter: 0.2,
        }),
        max_in_flight: 100,
        order_updates: None,
        market_hours: None,
    })
    .start();

    let mut full = 0;
    while full < 3 {
        let publish = probe.expect_msg(WAIT).await;
        let tick = decode::<MarketTick>(&publish.0.value).unwrap().data;
        assert_eq!(tick.token, option.token, "only the option is subscribed");
        assert_eq!(tick.check(), Ok(()));
        if tick.mode != TickMode::Full {
            continue; // Kite's quote mode until the mode request lands
        }
        full += 1;
        assert_eq!(tick.symbol.as_deref(), Some(option.symbol.as_str()));
        let oi = tick.oi.expect("full ticks carry OI");
        assert!(oi > 0 && oi.is_multiple_of(option.lot_size), "OI {oi}");
        let depth = tick.depth.as_ref().expect("full ticks carry depth");
        assert!(
            depth
                .bids
                .iter()
                .chain(&depth.asks)
                .all(|l| l.quantity.is_multiple_of(option.lot_size))
        );
        assert!(tick.best_bid().unwrap() < tick.best_ask().unwrap());
    }
}
