//! Runtime subscriptions end to end, in one process over the embedded broker: a strategy
//! configured on RELIANCE subscribes INFY while it runs; the request travels through
//! `market.subscriptions` to the market feed, which subscribes it on its live connection to
//! the Kite simulator; INFY's ticks reach the strategy. The subscription survives a dropped
//! connection (the new connection is subscribed to RELIANCE and INFY) and a restart of every
//! service (the feed and the runner rebuild it from the topic: the fresh strategy instance
//! is told it holds INFY and asks for nothing). Unsubscribing after the restart removes
//! INFY at the simulator.
//!
//! Every wait is on what arrived (the simulator's view of its most recent connection, the
//! strategy's own log), bounded by a deadline; nothing sleeps as synchronisation.
//!
//! The scenario runs over the embedded broker, and over the real broker too when one is
//! given (`scripts/test-services.sh cargo test --test runtime_subscriptions`): there the
//! topics are shared with other runs, so the strategy id is unique and what is read back
//! is filtered by it.

mod common;

use alpha_panda::actors::daemon::{self, DaemonParts, DaemonTree};
use alpha_panda::actors::market_feed::{self, Endpoint, MarketFeedArgs};
use alpha_panda::market::instruments::InstrumentRegistry;
use alpha_panda::messages::{MarketTick, SubscriptionsChanged, TickMode};
use alpha_panda::settings::{RetrySettings, Secret, Settings, StrategyParams};
use alpha_panda::sim::{Simulator, SimulatorOptions, SimulatorStatus};
use alpha_panda::store::MemoryStore;
use alpha_panda::strategy::{Decision, Strategy, StrategyContext, StrategyRegistry};
use alpha_panda::streaming::admin;
use alpha_panda::streaming::history::read_history;
use alpha_panda::streaming::retry::Backoff;
use alpha_panda::streaming::{EmbeddedBroker, KafkaConnection, ProducerActor, Topic, TopicMap};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

const RELIANCE: u32 = 738_561;
const INFY: u32 = 408_065;
/// The strategy kind under test.
const KIND: &str = "subscriber";
const WAIT: Duration = Duration::from_secs(60);

/// What every instance of the strategy saw, and the test's one control: unsubscribe.
#[derive(Default)]
struct Shared {
    /// Per instance (in start order): the runtime tokens its context showed on its first
    /// tick, and the tokens of every tick it got.
    instances: Mutex<Vec<(Vec<u32>, Vec<u32>)>>,
    unsubscribe: AtomicBool,
}

impl Shared {
    fn instances(&self) -> std::sync::MutexGuard<'_, Vec<(Vec<u32>, Vec<u32>)>> {
        self.instances
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// INFY ticks the latest instance got.
    fn infy_ticks(&self) -> usize {
        self.instances()
            .last()
            .map_or(0, |(_, ticks)| ticks.iter().filter(|t| **t == INFY).count())
    }
}

/// Subscribes INFY in full on its first RELIANCE tick unless its context says it already
/// holds it (a rebuilt subscription); unsubscribes it when the test asks. Never trades.
struct Subscriber {
    shared: Arc<Shared>,
    index: Option<usize>,
}

impl Strategy for Subscriber {
    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        let shared = self.shared.clone();
        let mut instances = shared.instances();
        let index = *self.index.get_or_insert_with(|| {
            let held = ctx.subscribed().iter().map(|w| w.token).collect();
            instances.push((held, Vec::new()));
            instances.len() - 1
        });
        instances[index].1.push(tick.token);
        drop(instances);
        if tick.token != RELIANCE {
            return Ok(None);
        }
        if self.shared.unsubscribe.load(Ordering::SeqCst) {
            ctx.unsubscribe("NSE:INFY")?;
        } else if !ctx.is_subscribed(INFY) {
            ctx.subscribe("NSE:INFY", TickMode::Full)?;
        }
        Ok(None)
    }
}

/// Defaults with one strategy, `id`, of the kind under test on RELIANCE.
fn settings(id: &str) -> Settings {
    let mut settings = common::settings();
    let mut config = settings
        .strategies
        .values()
        .next()
        .expect("a default strategy")
        .clone();
    config.enabled = true;
    config.instruments = vec!["RELIANCE".into()];
    config.params = StrategyParams::from_toml(&format!("kind = \"{KIND}\"")).unwrap();
    settings.strategies.clear();
    settings.strategies.insert(id.into(), config);
    settings.market_hours.intraday = false;
    settings
}

fn strategies(shared: &Arc<Shared>) -> StrategyRegistry {
    let mut registry = StrategyRegistry::builtin();
    let shared = shared.clone();
    registry.register(KIND, move |_: &StrategyParams| {
        Ok(Box::new(Subscriber {
            shared: shared.clone(),
            index: None,
        }) as Box<dyn Strategy>)
    });
    registry
}

/// Every service, the feed configured with RELIANCE in full only.
async fn build(
    settings: &Settings,
    connection: &KafkaConnection,
    registry: &InstrumentRegistry,
    strategies: &StrategyRegistry,
    sim: &Simulator,
) -> DaemonTree {
    let targets =
        market_feed::resolve_targets(&["RELIANCE:full".parse().unwrap()], registry).unwrap();
    let producer = ProducerActor::connect(connection, Duration::from_secs(10))
        .await
        .unwrap();
    let url = sim.url();
    daemon::build(DaemonParts {
        settings,
        connection,
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
        registry,
        strategies,
        store: Arc::new(MemoryStore::default()),
        kite: None,
        services: daemon::ServiceSet::all(),
        event_hub: None,
    })
    .unwrap()
}

async fn wait_status(sim: &Simulator, what: &str, ok: impl Fn(&SimulatorStatus) -> bool) {
    let mut status = sim.status();
    tokio::time::timeout(WAIT, status.wait_for(|s| ok(s)))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the simulator never saw: {what}: {:?}",
                sim.status().borrow()
            )
        })
        .unwrap();
}

/// Polls the strategy's log (a plain Mutex: nothing to await) until `done`, bounded.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix::test]
async fn over_the_embedded_broker_a_runtime_subscription_survives_a_reconnect_and_a_restart() {
    let settings = settings("subscriber");
    let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics)).expect("embedded broker");
    let connection = broker.connection(&settings.kafka);
    scenario(&settings, connection, "subscriber").await;
}

#[actix::test]
async fn over_the_real_broker_a_runtime_subscription_survives_a_reconnect_and_a_restart() {
    let Some(brokers) = common::real_broker().map(|c| c.bootstrap_servers) else {
        return;
    };
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let id = format!("subscriber_{}", &unique[..8]);
    let mut settings = settings(&id);
    settings.kafka.group_prefix = format!("subs-{unique}");
    // tansu 0.6 cannot serve a fetch that starts inside a batch (docs/STREAMING.md).
    settings.kafka.linger_ms = 0;
    settings.kafka.fetch_wait_max_ms = 1;
    settings
        .kafka
        .client
        .insert("batch.num.messages".into(), "1".into());
    let connection = KafkaConnection::new(&settings.kafka, brokers);
    admin::ensure_topics(
        &connection,
        &TopicMap::new(&settings.topics),
        Duration::from_secs(30),
    )
    .await
    .expect("topics");
    scenario(&settings, connection, &id).await;
}

/// The story of the module docs, for the strategy `id` of `settings`.
async fn scenario(settings: &Settings, connection: KafkaConnection, id: &str) {
    let settings = settings.clone();
    let registry = InstrumentRegistry::embedded().unwrap();
    let sim = Simulator::start(
        SimulatorOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            ticks_per_sec: 20,
            seed: 5,
            derivatives: alpha_panda::sim::Derivatives::default(),
        },
        &registry,
    )
    .await
    .unwrap();
    let shared = Arc::new(Shared::default());
    let strategies = strategies(&shared);
    let both = BTreeMap::from([(RELIANCE, TickMode::Full), (INFY, TickMode::Full)]);

    let tree = build(&settings, &connection, &registry, &strategies, &sim).await;
    let root = tree.root.start().await;
    wait_status(&sim, "INFY subscribed on the live connection", |s| {
        s.accepted == 1 && s.subscriptions == both
    })
    .await;
    until("INFY ticks reach the strategy", || shared.infy_ticks() >= 3).await;
    assert_eq!(
        shared.instances()[0].0,
        Vec::<u32>::new(),
        "nothing held at first"
    );

    sim.drop_connections();
    wait_status(&sim, "the new connection subscribed to both", |s| {
        s.accepted == 2 && s.subscriptions == both
    })
    .await;
    let before = shared.infy_ticks();
    until("INFY ticks after the reconnect", || {
        shared.infy_ticks() >= before + 3
    })
    .await;
    root.shutdown().await;

    // Every service again, from the topics: nobody asks for INFY this time.
    let tree = build(&settings, &connection, &registry, &strategies, &sim).await;
    let root = tree.root.start().await;
    wait_status(&sim, "the restarted feed subscribed to both", |s| {
        s.accepted == 3 && s.subscriptions == both
    })
    .await;
    until("INFY ticks reach the new instance", || {
        shared.instances().len() == 2 && shared.infy_ticks() >= 3
    })
    .await;
    assert_eq!(
        shared.instances()[1].0,
        [INFY],
        "the runner rebuilt the instance's subscriptions"
    );

    shared.unsubscribe.store(true, Ordering::SeqCst);
    let reliance_only = BTreeMap::from([(RELIANCE, TickMode::Full)]);
    wait_status(&sim, "INFY unsubscribed on the live connection", |s| {
        s.accepted == 3 && s.subscriptions == reliance_only
    })
    .await;
    root.shutdown().await;

    // What the topic says: one record to subscribe, one to unsubscribe — the restart
    // published nothing (nothing needed correcting).
    let (records, undecodable) = tokio::task::spawn_blocking(move || {
        read_history::<SubscriptionsChanged>(
            &connection,
            &Topic::MARKET_SUBSCRIPTIONS.name(),
            Duration::from_secs(10),
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(undecodable, 0);
    let sets: Vec<Vec<u32>> = records
        .iter()
        .filter(|r| r.data.strategy_id == id)
        .map(|r| r.data.instruments.iter().map(|w| w.token).collect())
        .collect();
    assert_eq!(sets, [vec![INFY], vec![]], "{records:?}");
}
