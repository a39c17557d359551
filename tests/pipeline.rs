//! The whole pipeline in one process over the embedded broker: simulator ticks → market
//! feed → strategy runner → risk manager → paper execution → portfolio manager. The
//! portfolio must equal a recomputation from the `paper.orders.filled` topic.

mod common;

use alpha_panda::actors::daemon::{self, DaemonParts};
use alpha_panda::actors::market_feed::{self, Endpoint, MarketFeedArgs};
use alpha_panda::actors::portfolio_manager::GetPortfolio;
use alpha_panda::market::instruments::InstrumentRegistry;
use alpha_panda::messages::{Broker, OrderFilled};
use alpha_panda::portfolio::recompute;
use alpha_panda::settings::{RetrySettings, Secret};
use alpha_panda::sim::{Derivatives, Simulator, SimulatorOptions};
use alpha_panda::store::MemoryStore;
use alpha_panda::strategy::StrategyRegistry;
use alpha_panda::streaming::history::read_history;
use alpha_panda::streaming::retry::Backoff;
use alpha_panda::streaming::{EmbeddedBroker, ProducerActor, Stream, Topic, TopicMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[actix::test]
async fn simulated_ticks_become_fills_and_the_portfolio_equals_a_recomputation_from_the_fills() {
    let mut settings = common::settings();
    settings.strategies.retain(|id, _| id == "ema_cross_1");
    let strategy = settings
        .strategies
        .get_mut("ema_cross_1")
        .expect("default strategy");
    strategy.instruments = vec!["RELIANCE".into()];
    settings.portfolio.snapshot_interval_ms = 100;
    // Wall-clock time of day must not matter here (MIS entry cutoff, square-off).
    settings.market_hours.intraday = false;
    let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics)).expect("embedded broker");
    let connection = broker.connection(&settings.kafka);
    let registry = InstrumentRegistry::embedded().unwrap();
    let sim = Simulator::start(
        SimulatorOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            ticks_per_sec: 50,
            seed: 3,
            derivatives: Derivatives::default(),
        },
        &registry,
    )
    .await
    .unwrap();
    let targets =
        market_feed::resolve_targets(&["RELIANCE:full".parse().unwrap()], &registry).unwrap();
    let producer = ProducerActor::connect(&connection, Duration::from_secs(10))
        .await
        .unwrap();
    let url = sim.url();
    let tree = daemon::build(DaemonParts {
        settings: &settings,
        connection: &connection,
        producer,
        feed: Some(Box::new(move |handle, order_updates| MarketFeedArgs {
            endpoint: Endpoint {
                url,
                api_key: Secret::new("k"),
                access_token: Secret::new("t"),
            },
            targets,
            producer: handle,
            liveness: Duration::from_secs(5),
            reconnect: Backoff::new(&RetrySettings {
                base_ms: 50,
                factor: 2.0,
                max_ms: 500,
                attempts: u32::MAX,
                jitter: 0.2,
            }),
            max_in_flight: 1000,
            order_updates,
            market_hours: None,
        })),
        registry: &registry,
        strategies: &StrategyRegistry::builtin(),
        store: Arc::new(MemoryStore::default()),
        kite: None,
        services: daemon::ServiceSet::all(),
        event_hub: None,
    })
    .unwrap();
    let portfolio = tree
        .services
        .portfolio_manager
        .clone()
        .expect("every service runs");
    let root = tree.root.start().await;
    let ask = || {
        portfolio.send(GetPortfolio {
            broker: Broker::Paper,
            strategy: "ema_cross_1".into(),
        })
    };

    // Wait (bounded) until the pipeline has produced a few fills.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if ask().await.unwrap().is_some_and(|p| p.fill_count() >= 3) {
            break;
        }
        assert!(Instant::now() < deadline, "no fills within 90 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Stop the market, then let every fill on the topic reach the portfolio.
    sim.set_silent(true);
    let topic = Topic::of(Broker::Paper, Stream::OrdersFilled).name();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (fills, live) = loop {
        let c = connection.clone();
        let t = topic.clone();
        let (envelopes, undecodable) = tokio::task::spawn_blocking(move || {
            read_history::<OrderFilled>(&c, &t, Duration::from_secs(10))
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(undecodable, 0);
        let live = ask().await.unwrap().unwrap();
        if live.fill_count() == envelopes.len() {
            break (
                envelopes
                    .into_iter()
                    .map(|e| e.data)
                    .collect::<Vec<OrderFilled>>(),
                live,
            );
        }
        assert!(
            Instant::now() < deadline,
            "portfolio never caught up with the fills topic"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let book = recompute(&fills, &[], settings.portfolio.starting_cash);
    let expected = book
        .get(Broker::Paper, "ema_cross_1")
        .expect("recomputed portfolio");
    assert_eq!(live.realized_pnl(), expected.realized_pnl());
    assert_eq!(live.cash(), expected.cash());
    assert_eq!(live.charges(), expected.charges());
    let quantity = |p: &alpha_panda::portfolio::Portfolio| {
        p.positions()
            .map(|x| (x.token, x.quantity))
            .collect::<Vec<_>>()
    };
    assert_eq!(quantity(&live), quantity(expected));
    assert!(fills.iter().all(|f| f.order.strategy_id == "ema_cross_1"));
    root.shutdown().await;
}
