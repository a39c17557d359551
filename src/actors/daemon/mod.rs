//! The daemon's supervision tree, started in this order (with `service.threads = "own"`,
//! the feed's supervisor's children on a thread of their own; everything else on the main
//! thread: [`threads`]):
//!
//! ```text
//! root (one_for_one)
//! ├── infrastructure (one_for_one): producer
//! ├── broker_watch (no restarts: its failure is the root giving up, exit 3)
//! ├── services (one_for_one): strategy_runner, risk_manager, paper_execution,
//! │                           zerodha_execution, portfolio_manager
//! ├── consumers (one_for_one): consumer.<service> for each service above that reads
//! │                            topics other than ticks, then consumer.ticks
//! └── feed (one_for_one): tick_producer, market_feed
//! ```
//!
//! Ticks are read once per process: `consumer.ticks` (group `ticks.<services>`, see
//! [`tick_group`]) decodes each tick once and hands it to every service here that takes
//! ticks; the record is complete when all of them have handled it. Ticks are published by
//! a producer of their own (`kafka.tick_linger_ms`: ticks batch, signals and orders go at
//! once). The market feed follows `market.subscriptions` (strategies' runtime
//! subscriptions) by itself, from the beginning, per process: no consumer here.
//!
//! The broker watch ([`crate::streaming::watch`]) probes the broker and reads the
//! producer's deliveries ([`BrokerHealth`], also read by readiness); a broker unavailable
//! longer than `kafka.unavailable_exit_secs` fails it, and with no restart budget that
//! ends the process with exit 3. The producer exists before anything publishes; each service exists before the
//! consumer that feeds it; the feed starts last, once everything downstream runs. A
//! producer restart needs no cascade: a consumer whose outputs fail rewinds to the first
//! record not fully delivered (`streaming::consumer`).
//!
//! `run --services a,b` ([`ServiceSet`]) runs a subset, so services can be spread over
//! processes sharing the broker and consumer groups. Each execution service runs only when
//! its broker is in `brokers.enabled`. Zerodha execution shares [`TradingHolds`] with the
//! risk manager (it holds zerodha HALTED until its start-up reconciliation succeeds), pulls
//! the risk manager's kill switch on a Kite token error (when both run in this process),
//! and receives the ticker's order updates from the market feed (likewise).

pub mod catalog;
pub mod threads;
pub mod wiring;

use threads::Threads;
use wiring::{Built, Host, Wiring};
pub(crate) mod routes;
mod selection;
pub(crate) mod services;

pub use selection::ServiceSet;

use super::event_hub;
use super::market_feed::{self, FeedHealth, KiteOrderUpdate, MarketFeed, MarketFeedArgs};
use super::paper_execution::PaperExecution;
use super::portfolio_manager::PortfolioManager;
use super::risk_manager::{RiskManager, TradingHolds};
use super::strategy_runner::StrategyRunner;
use super::zerodha_execution::ZerodhaExecution;
use crate::kite::rest::KiteClient;
use crate::market::instruments::InstrumentRegistry;
use crate::settings::Settings;
use crate::store::Store;
use crate::streaming::consumer::{ConsumerActor, ConsumerArgs};
use crate::streaming::retry::Backoff;
use crate::streaming::watch::BrokerWatch;
use crate::streaming::{BrokerHealth, KafkaConnection, ProducerActor, ProducerHandle};
use crate::supervision::{RestartPolicy, RestartStrategy, SupervisorSpec};
use actix::{Addr, ArbiterHandle, Recipient};
use std::sync::Arc;

/// Names of the daemon's supervisors and actors.
pub const ROOT: &str = "root";
pub const INFRASTRUCTURE: &str = "infrastructure";
pub const PRODUCER: &str = "producer";
/// The trading services' supervisor.
pub const SERVICES: &str = "services";
/// The consumers' supervisor.
pub const CONSUMERS: &str = "consumers";
/// The market feed's supervisor (its worker is `market_feed`).
pub const FEED_SUPERVISOR: &str = "feed";
/// The broker watch, directly under the root.
pub const BROKER_WATCH: &str = "broker_watch";
/// The process's tick consumer (`consumer.ticks`) and its thread.
pub const TICKS: &str = "ticks";
/// The ticks' own producer, under the feed's supervisor.
pub const TICK_PRODUCER: &str = "tick_producer";

/// What the tree is built from.
pub struct DaemonParts<'a> {
    pub settings: &'a Settings,
    pub connection: &'a KafkaConnection,
    /// The first producer incarnation (already connected); later ones are created fresh.
    pub producer: ProducerActor,
    /// Makes the market feed's arguments from the producer handle and where the ticker's
    /// order updates go (zerodha execution, when it runs here); `None`: no feed.
    pub feed: Option<FeedFactory<'a>>,
    pub registry: &'a InstrumentRegistry,
    /// The strategy kinds this binary knows.
    pub strategies: &'a crate::strategy::StrategyRegistry,
    pub store: Arc<dyn Store>,
    /// The Kite REST client; required when zerodha execution runs.
    pub kite: Option<KiteClient>,
    /// The services this process runs.
    pub services: ServiceSet,
    /// The API's event hub (when the API runs): where it broadcasts events, where it keeps
    /// recent orders, and this instance's id (its consumer group is per instance).
    pub event_hub: Option<EventHubParts>,
}

/// What the event hub is built with.
pub struct EventHubParts {
    pub events: tokio::sync::broadcast::Sender<event_hub::ApiEvent>,
    pub orders: event_hub::SharedOrders,
    pub instance_id: String,
}

/// Builds the market feed's arguments (see [`DaemonParts::feed`]).
pub type FeedFactory<'a> =
    Box<dyn FnOnce(ProducerHandle, Option<Recipient<KiteOrderUpdate>>) -> MarketFeedArgs + 'a>;

/// Addresses of the services this process runs, for the API and tests.
#[derive(Clone, Default)]
pub struct Services {
    pub strategy_runner: Option<Addr<StrategyRunner>>,
    pub risk_manager: Option<Addr<RiskManager>>,
    pub paper_execution: Option<Addr<PaperExecution>>,
    pub zerodha_execution: Option<Addr<ZerodhaExecution>>,
    pub portfolio_manager: Option<Addr<PortfolioManager>>,
}

/// The tree, ready to start, and the handles other parts wire themselves to.
pub struct DaemonTree {
    pub root: SupervisorSpec,
    pub producer: ProducerHandle,
    pub services: Services,
    /// Reasons other services hold a broker HALTED (shared with the risk manager).
    pub holds: TradingHolds,
    /// Every actor and supervisor name, for checking `[supervision.actors]` keys.
    pub names: Vec<String>,
    /// What readiness reads.
    pub health: Health,
    /// The services' own threads; dropping them (after the tree stopped) ends them.
    pub threads: Threads,
}

/// The shared states readiness reads (`GET /health/ready`), filled as the tree is built.
#[derive(Clone, Default)]
pub struct Health {
    /// What the broker watch and the producer's deliveries say of the broker.
    pub broker: BrokerHealth,
    /// The market feed's link and freshness, when the feed runs here; with the calendar
    /// that says when ticks must flow (`None`: at any hour, as the simulator streams).
    pub feed: Option<(FeedHealth, Option<crate::market::MarketCalendar>)>,
}

/// Builds the tree.
///
/// # Errors
/// A strategy names an instrument the registry does not know or has invalid parameters;
/// the selection names an execution service whose broker is not enabled; zerodha runs
/// but no Kite client was given.
pub fn build(parts: DaemonParts<'_>) -> Result<DaemonTree, String> {
    let DaemonParts {
        settings,
        connection: kafka,
        producer: first_producer,
        feed,
        registry,
        strategies,
        store,
        kite,
        services: selected,
        event_hub: hub,
    } = parts;
    let supervision = &settings.supervision;
    catalog::check_selection(settings, &selected)?;
    let mut names: Vec<String> = [ROOT, INFRASTRUCTURE, PRODUCER, SERVICES, CONSUMERS]
        .map(str::to_owned)
        .to_vec();

    let mut infrastructure =
        SupervisorSpec::new(INFRASTRUCTURE, RestartStrategy::OneForOne, supervision);
    let connection = kafka.clone();
    let mut first = Some(first_producer);
    let broker_health = BrokerHealth::default();
    let health = broker_health.clone();
    let producer_addr = infrastructure.worker(PRODUCER, move || {
        let producer = match first.take() {
            Some(p) => p,
            None => ProducerActor::create(&connection).map_err(|e| e.to_string())?,
        };
        Ok(producer.with_health(health.clone()))
    });
    let producer = ProducerHandle::new(producer_addr.recipient());
    let holds = TradingHolds::default();

    let mut services_spec = SupervisorSpec::new(SERVICES, RestartStrategy::OneForOne, supervision);
    let mut wiring = Wiring {
        settings,
        registry,
        strategies,
        store,
        producer: producer.clone(),
        holds: holds.clone(),
        brokers: settings.brokers.enabled.clone(),
        history: Some(kafka.clone()),
        kite,
    };
    let mut services = Services::default();
    let mut threads = Threads::new(settings.service.threads);
    let mut built = Vec::new();
    for def in catalog::CATALOG
        .iter()
        .filter(|d| d.enabled(settings) && selected.runs(d.name))
    {
        if let Some(build) = def.build {
            let lane = threads.lane(def.name, def.own_thread);
            let mut host = Host::Supervised {
                spec: &mut services_spec,
                arbiter: lane.clone(),
            };
            let service = build(&mut wiring, &mut host, &mut services)?;
            built.push((def.name, lane, service));
        }
    }
    let mut consumers = consumers(settings, kafka, &producer, built, &mut threads, &mut names);
    if let Some(hub) = hub {
        add_event_hub(
            &mut services_spec,
            &mut consumers,
            settings,
            kafka,
            &producer,
            hub,
        );
        names.extend([
            event_hub::SERVICE.to_owned(),
            format!("consumer.{}", event_hub::SERVICE),
        ]);
    }

    let mut root = SupervisorSpec::new(ROOT, RestartStrategy::OneForOne, supervision);
    let mut feed_watch = None;
    root.supervisor(infrastructure);
    let (connection, health) = (kafka.clone(), broker_health.clone());
    let exit_after = settings.kafka.unavailable_exit();
    let no_restarts = RestartPolicy {
        max_restarts: 0,
        ..supervision.policy_for(BROKER_WATCH)
    };
    root.worker_with_policy(BROKER_WATCH, no_restarts, move || {
        BrokerWatch::new(&connection, health.clone(), exit_after)
    });
    names.push(BROKER_WATCH.to_owned());
    root.supervisor(services_spec);
    root.supervisor(consumers);
    if let Some(feed) = feed.filter(|_| selected.runs(market_feed::SERVICE)) {
        let order_updates = services
            .zerodha_execution
            .as_ref()
            .map(|z| z.clone().recipient());
        let mut feed_supervisor =
            SupervisorSpec::new(FEED_SUPERVISOR, RestartStrategy::OneForOne, supervision);
        let lane = catalog::service(market_feed::SERVICE)
            .and_then(|def| threads.lane(def.name, def.own_thread));
        // Ticks have a producer of their own (`kafka.tick_linger_ms`: they batch; signals
        // and orders do not), on the feed's thread: publishing a tick never leaves it.
        let (connection, health) = (kafka.clone(), broker_health.clone());
        let tick_producer = move || {
            ProducerActor::create_for_ticks(&connection)
                .map(|p| p.with_health(health.clone()))
                .map_err(|e| e.to_string())
        };
        let tick_producer = match &lane {
            Some(lane) => feed_supervisor.worker_on(TICK_PRODUCER, lane, tick_producer),
            None => feed_supervisor.worker(TICK_PRODUCER, tick_producer),
        };
        let feed_args = feed(
            ProducerHandle::new(tick_producer.recipient()),
            order_updates,
        );
        // One health handle across the feed's restarts: readiness reads it.
        let feed_health = FeedHealth::default();
        feed_watch = Some((feed_health.clone(), feed_args.market_hours.clone()));
        // Strategies' runtime subscriptions reach it through `market.subscriptions`,
        // wherever the strategy runner runs.
        let requests = kafka.clone();
        let feed = move || {
            Ok(
                MarketFeed::with_health(feed_args.clone(), feed_health.clone())
                    .with_requests(requests.clone()),
            )
        };
        match &lane {
            Some(lane) => feed_supervisor.worker_on(market_feed::SERVICE, lane, feed),
            None => feed_supervisor.worker(market_feed::SERVICE, feed),
        };
        root.supervisor(feed_supervisor);
        names.extend([
            FEED_SUPERVISOR.to_owned(),
            TICK_PRODUCER.to_owned(),
            market_feed::SERVICE.to_owned(),
        ]);
    }
    Ok(DaemonTree {
        root,
        producer,
        services,
        holds,
        names,
        health: Health {
            broker: broker_health,
            feed: feed_watch,
        },
        threads,
    })
}

/// One consumer per built service that reads topics, each with its routing table (in the
/// catalog's order), on its service's thread when it has one.
fn consumers(
    settings: &Settings,
    kafka: &KafkaConnection,
    producer: &ProducerHandle,
    built: Vec<(&'static str, Option<ArbiterHandle>, Built)>,
    threads: &mut Threads,
    names: &mut Vec<String>,
) -> SupervisorSpec {
    let mut spec =
        SupervisorSpec::new(CONSUMERS, RestartStrategy::OneForOne, &settings.supervision);
    let mut tick_owners = Vec::new();
    for (service, lane, built) in built {
        names.push(service.to_owned());
        if let Some(ticks) = built.ticks {
            tick_owners.push((service, ticks));
        }
        let Some(routes) = built.consumer else {
            continue;
        };
        let (connection, producer) = (kafka.clone(), producer.clone());
        let backoff = Backoff::new(&settings.retry);
        let name = format!("consumer.{service}");
        let consumer = move || {
            ConsumerActor::new(ConsumerArgs {
                connection: connection.clone(),
                service: service.into(),
                routes: routes(),
                producer: producer.clone(),
                backoff: backoff.clone(),
            })
            .map_err(|e| e.to_string())
        };
        match lane {
            Some(lane) => spec.worker_on(&name, &lane, consumer),
            None => spec.worker(&name, consumer),
        };
        names.push(name);
    }
    if !tick_owners.is_empty() {
        // With its services (see `threads` for why).
        let lane = threads.lane(TICKS, false);
        let group = tick_group(tick_owners.iter().map(|(name, _)| *name));
        let (connection, producer) = (kafka.clone(), producer.clone());
        let backoff = Backoff::new(&settings.retry);
        let consumer = move || {
            ConsumerActor::new(ConsumerArgs {
                connection: connection.clone(),
                service: group.clone(),
                routes: routes::ticks(tick_owners.clone()),
                producer: producer.clone(),
                backoff: backoff.clone(),
            })
            .map_err(|e| e.to_string())
        };
        let name = format!("consumer.{TICKS}");
        match lane {
            Some(lane) => spec.worker_on(&name, &lane, consumer),
            None => spec.worker(&name, consumer),
        };
        names.push(name);
    }
    spec
}

/// The tick consumer's group, without the prefix (`ticks.<services>`, sorted, `+`-joined):
/// named by the services it feeds, so processes running the same services split the tick
/// partitions, and a process with other services reads every tick for them. A service run
/// in several processes must therefore run with the same tick-taking companions in each
/// (docs/ARCHITECTURE.md).
pub fn tick_group<'a>(services: impl IntoIterator<Item = &'a str>) -> String {
    let mut names: Vec<&str> = services.into_iter().collect();
    names.sort_unstable();
    format!("{TICKS}.{}", names.join("+"))
}

/// The event hub and its consumer, whose group is this instance's own
/// (`{group_prefix}.event_hub.{instance_id}`): every API instance sees every event.
fn add_event_hub(
    services: &mut SupervisorSpec,
    consumers: &mut SupervisorSpec,
    settings: &Settings,
    kafka: &KafkaConnection,
    producer: &ProducerHandle,
    hub: EventHubParts,
) {
    let EventHubParts {
        events,
        orders,
        instance_id,
    } = hub;
    let addr = services.worker(event_hub::SERVICE, move || {
        Ok(event_hub::EventHub::new(events.clone(), orders.clone()))
    });
    let (connection, producer) = (kafka.clone(), producer.clone());
    let backoff = Backoff::new(&settings.retry);
    let brokers = settings.brokers.enabled.clone();
    let group = format!("{}.{instance_id}", event_hub::SERVICE);
    consumers.worker(&format!("consumer.{}", event_hub::SERVICE), move || {
        ConsumerActor::new(ConsumerArgs {
            connection: connection.clone(),
            service: group.clone(),
            routes: event_hub::routes(&addr, &brokers),
            producer: producer.clone(),
            backoff: backoff.clone(),
        })
        .map_err(|e| e.to_string())
    });
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
