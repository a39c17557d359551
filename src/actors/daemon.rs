//! The daemon's supervision tree:
//!
//! ```text
//! root (one_for_one)
//! ├── infrastructure (rest_for_one): producer, then one consumer per service
//! ├── feed (one_for_one): market_feed
//! └── services (one_for_one): strategy_runner, risk_manager, paper_execution,
//!                             zerodha_execution, portfolio_manager
//! ```
//!
//! Each execution service runs only when its broker is in `brokers.enabled`. Zerodha
//! execution shares [`TradingHolds`] with the risk manager (it holds zerodha HALTED until
//! its start-up reconciliation succeeds), pulls the risk manager's kill switch on a Kite
//! token error, and receives the ticker's order updates from the market feed.
//!
//! `rest_for_one` under infrastructure: when the producer restarts, every consumer after it
//! restarts too. Consumers start before the services they feed; records they deliver wait
//! in the services' mailboxes (which exist from the moment the tree is built) until the
//! services run. `services` is a subset with `run --services` (issue 7).

use super::market_feed::{self, KiteOrderUpdate, MarketFeed, MarketFeedArgs};
use super::paper_execution::{self, PaperExecution, PaperExecutionArgs};
use super::portfolio_manager::{self, PortfolioArgs, PortfolioManager};
use super::risk_manager::{self, RiskManager, TradingHolds};
use super::strategy_runner::{self, StrategyRunner, StrategySlot};
use super::supervisor::{Strategy, SupervisorSpec};
use super::zerodha_execution::{self, ZerodhaExecution, ZerodhaExecutionArgs};
use crate::kite::rest::KiteClient;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{
    Broker, MarketTick, OrderFailed, OrderFilled, TradingSignal, ValidatedSignal,
};
use crate::settings::Settings;
use crate::store::Store;
use crate::streaming::consumer::{ConsumerActor, ConsumerArgs, Routes};
use crate::streaming::dedup::DedupStore;
use crate::streaming::retry::Backoff;
use crate::streaming::{KafkaConnection, ProducerActor, ProducerHandle, Stream, Topic};
use actix::{Addr, Recipient};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Names of the daemon's supervisors and actors.
pub const ROOT: &str = "root";
pub const INFRASTRUCTURE: &str = "infrastructure";
pub const PRODUCER: &str = "producer";
/// The market feed's supervisor (its worker is `market_feed`).
pub const FEED_SUPERVISOR: &str = "feed";
/// The trading services' supervisor.
pub const SERVICES: &str = "services";

/// What the tree is built from.
pub struct DaemonParts<'a> {
    pub settings: &'a Settings,
    pub connection: &'a KafkaConnection,
    /// The first producer incarnation (already connected); later ones are created fresh.
    pub producer: ProducerActor,
    /// Makes the market feed's arguments from the producer handle and where the ticker's
    /// order updates go (zerodha execution, when it runs); `None`: no feed.
    pub feed: Option<FeedFactory<'a>>,
    pub registry: &'a InstrumentRegistry,
    pub store: Arc<dyn Store>,
    pub dedup: Arc<dyn DedupStore>,
    /// The Kite REST client; required when `brokers.enabled` has `zerodha`.
    pub kite: Option<KiteClient>,
}

/// Builds the market feed's arguments (see [`DaemonParts::feed`]).
pub type FeedFactory<'a> =
    Box<dyn FnOnce(ProducerHandle, Option<Recipient<KiteOrderUpdate>>) -> MarketFeedArgs + 'a>;

/// Addresses of the services, for the API and tests.
pub struct Services {
    pub strategy_runner: Addr<StrategyRunner>,
    pub risk_manager: Addr<RiskManager>,
    pub paper_execution: Option<Addr<PaperExecution>>,
    pub zerodha_execution: Option<Addr<ZerodhaExecution>>,
    pub portfolio_manager: Addr<PortfolioManager>,
}

/// The tree, ready to start, and the handles other parts wire themselves to.
pub struct DaemonTree {
    pub root: SupervisorSpec,
    pub producer: ProducerHandle,
    pub services: Services,
    /// Every actor and supervisor name, for checking `[supervision.actors]` keys.
    pub names: Vec<String>,
}

/// Builds the tree.
///
/// # Errors
/// A strategy names an instrument the registry does not know, or has invalid parameters.
pub fn build(mut parts: DaemonParts<'_>) -> Result<DaemonTree, String> {
    let settings = parts.settings;
    let supervision = &settings.supervision;
    let brokers: Vec<Broker> = settings.brokers.enabled.clone();
    let mut names = vec![
        ROOT.to_owned(),
        INFRASTRUCTURE.to_owned(),
        PRODUCER.to_owned(),
    ];

    let mut infrastructure = SupervisorSpec::new(INFRASTRUCTURE, Strategy::RestForOne, supervision);
    let connection = parts.connection.clone();
    let mut first = Some(parts.producer);
    let producer_addr = infrastructure.worker(PRODUCER, move || match first.take() {
        Some(p) => Ok(p),
        None => ProducerActor::create(&connection).map_err(|e| e.to_string()),
    });
    let producer = ProducerHandle::new(producer_addr.recipient());

    // Services (addresses first: the consumers route to them).
    let mut services_spec = SupervisorSpec::new(SERVICES, Strategy::OneForOne, supervision);
    let slots_config = strategy_slots(settings, parts.registry)?;
    let runner_producer = producer.clone();
    let runner = services_spec.worker(strategy_runner::SERVICE, move || {
        let slots = slots_config
            .iter()
            .map(|f| f())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StrategyRunner::new(slots, runner_producer.clone()))
    });
    let limits: BTreeMap<Broker, _> = brokers
        .iter()
        .map(|b| (*b, settings.risk.limits(*b).clone()))
        .collect();
    let holds = TradingHolds::default();
    let (risk_producer, risk_store, risk_holds) =
        (producer.clone(), parts.store.clone(), holds.clone());
    let risk = services_spec.worker(risk_manager::SERVICE, move || {
        Ok(
            RiskManager::new(limits.clone(), risk_producer.clone(), risk_store.clone())
                .with_holds(risk_holds.clone()),
        )
    });
    let paper = brokers.contains(&Broker::Paper).then(|| {
        let args = PaperExecutionArgs {
            config: settings.paper.clone(),
            producer: producer.clone(),
            dedup: parts.dedup.clone(),
            dedup_ttl: settings.dedup.ttl(),
        };
        services_spec.worker(paper_execution::SERVICE, move || {
            Ok(PaperExecution::new(args.clone()))
        })
    });
    let zerodha = match (brokers.contains(&Broker::Zerodha), parts.kite.take()) {
        (false, _) => None,
        (true, None) => {
            return Err("brokers.enabled has zerodha but no Kite client was given".into());
        }
        (true, Some(client)) => {
            let wiring = ZerodhaWiring {
                client,
                producer: producer.clone(),
                holds,
                kill_switch: risk.clone().recipient(),
                registry: Arc::new(parts.registry.clone()),
                store: parts.store.clone(),
            };
            zerodha_execution::hold_until_reconciled(&wiring.holds);
            let args = zerodha_args(settings, wiring);
            Some(services_spec.worker(zerodha_execution::SERVICE, move || {
                Ok(ZerodhaExecution::new(args.clone()))
            }))
        }
    };
    let portfolio_args = PortfolioArgs {
        producer: producer.clone(),
        store: parts.store.clone(),
        starting_cash: settings.portfolio.starting_cash,
        snapshot_interval: settings.portfolio.snapshot_interval(),
        history: Some((parts.connection.clone(), brokers.clone())),
    };
    let portfolio = services_spec.worker(portfolio_manager::SERVICE, move || {
        Ok(PortfolioManager::new(portfolio_args.clone()))
    });

    // One consumer per service, each with its routing table.
    let consumer = |service: &'static str, routes: Arc<dyn Fn() -> Routes>| {
        let connection = parts.connection.clone();
        let producer = producer.clone();
        let backoff = Backoff::new(&settings.retry);
        move || {
            ConsumerActor::new(ConsumerArgs {
                connection: connection.clone(),
                service: service.into(),
                routes: routes(),
                producer: producer.clone(),
                backoff: backoff.clone(),
            })
            .map_err(|e| e.to_string())
        }
    };
    let r = runner.clone();
    add_consumer(
        &mut infrastructure,
        &mut names,
        strategy_runner::SERVICE,
        consumer(
            strategy_runner::SERVICE,
            Arc::new(move || {
                Routes::new().route::<MarketTick>(Topic::MARKET_TICKS, r.clone().recipient())
            }),
        ),
    );
    let (r, bs) = (risk.clone(), brokers.clone());
    add_consumer(
        &mut infrastructure,
        &mut names,
        risk_manager::SERVICE,
        consumer(
            risk_manager::SERVICE,
            Arc::new(move || {
                let mut routes =
                    Routes::new().route::<MarketTick>(Topic::MARKET_TICKS, r.clone().recipient());
                for b in &bs {
                    routes = routes
                        .route::<TradingSignal>(
                            Topic::of(*b, Stream::SignalsRaw),
                            r.clone().recipient(),
                        )
                        .route::<OrderFilled>(
                            Topic::of(*b, Stream::OrdersFilled),
                            r.clone().recipient(),
                        )
                        .route::<OrderFailed>(
                            Topic::of(*b, Stream::OrdersFailed),
                            r.clone().recipient(),
                        );
                }
                routes
            }),
        ),
    );
    if let Some(p) = &paper {
        let p = p.clone();
        add_consumer(
            &mut infrastructure,
            &mut names,
            paper_execution::SERVICE,
            consumer(
                paper_execution::SERVICE,
                Arc::new(move || {
                    Routes::new()
                        .route::<MarketTick>(Topic::MARKET_TICKS, p.clone().recipient())
                        .route::<ValidatedSignal>(
                            Topic::of(Broker::Paper, Stream::SignalsValidated),
                            p.clone().recipient(),
                        )
                }),
            ),
        );
    }
    if let Some(z) = &zerodha {
        let z = z.clone();
        add_consumer(
            &mut infrastructure,
            &mut names,
            zerodha_execution::SERVICE,
            consumer(
                zerodha_execution::SERVICE,
                Arc::new(move || {
                    Routes::new().route::<ValidatedSignal>(
                        Topic::of(Broker::Zerodha, Stream::SignalsValidated),
                        z.clone().recipient(),
                    )
                }),
            ),
        );
    }
    let (r, bs) = (portfolio.clone(), brokers.clone());
    add_consumer(
        &mut infrastructure,
        &mut names,
        portfolio_manager::SERVICE,
        consumer(
            portfolio_manager::SERVICE,
            Arc::new(move || {
                let mut routes =
                    Routes::new().route::<MarketTick>(Topic::MARKET_TICKS, r.clone().recipient());
                for b in &bs {
                    routes = routes.route::<OrderFilled>(
                        Topic::of(*b, Stream::OrdersFilled),
                        r.clone().recipient(),
                    );
                }
                routes
            }),
        ),
    );

    let mut root = SupervisorSpec::new(ROOT, Strategy::OneForOne, supervision);
    root.supervisor(infrastructure);
    if let Some(feed) = parts.feed {
        let order_updates = zerodha.as_ref().map(|z| z.clone().recipient());
        let feed_args = feed(producer.clone(), order_updates);
        let mut feed_supervisor =
            SupervisorSpec::new(FEED_SUPERVISOR, Strategy::OneForOne, supervision);
        feed_supervisor.worker(market_feed::SERVICE, move || {
            Ok(MarketFeed::new(feed_args.clone()))
        });
        root.supervisor(feed_supervisor);
        names.extend([FEED_SUPERVISOR.to_owned(), market_feed::SERVICE.to_owned()]);
    }
    root.supervisor(services_spec);
    names.push(SERVICES.to_owned());
    names.extend(
        [
            strategy_runner::SERVICE,
            risk_manager::SERVICE,
            portfolio_manager::SERVICE,
        ]
        .map(str::to_owned),
    );
    if paper.is_some() {
        names.push(paper_execution::SERVICE.to_owned());
    }
    if zerodha.is_some() {
        names.push(zerodha_execution::SERVICE.to_owned());
    }
    Ok(DaemonTree {
        root,
        producer,
        services: Services {
            strategy_runner: runner,
            risk_manager: risk,
            paper_execution: paper,
            zerodha_execution: zerodha,
            portfolio_manager: portfolio,
        },
        names,
    })
}

/// What zerodha execution is wired to.
struct ZerodhaWiring {
    client: KiteClient,
    producer: ProducerHandle,
    holds: TradingHolds,
    kill_switch: Recipient<risk_manager::SetTradingState>,
    registry: Arc<InstrumentRegistry>,
    store: Arc<dyn Store>,
}

/// Zerodha execution's arguments from the settings.
fn zerodha_args(settings: &Settings, wiring: ZerodhaWiring) -> ZerodhaExecutionArgs {
    let z = &settings.zerodha;
    ZerodhaExecutionArgs {
        client: wiring.client,
        dry_run: z.dry_run,
        registry: wiring.registry,
        order_kinds: settings
            .strategies
            .keys()
            .map(|id| (id.clone(), settings.order_kind(id)))
            .collect(),
        default_kind: (z.product, z.variety),
        charges: settings.paper.charges.clone(),
        producer: wiring.producer,
        store: wiring.store,

        holds: wiring.holds,
        kill_switch: Some(wiring.kill_switch),
        poll_interval: z.poll_interval(),
        settle: z.settle(),
        max_signal_age: z.max_signal_age(),
        reconcile_retry_initial: z.poll_interval(),
        reconcile_retry_max: std::time::Duration::from_secs(30),
    }
}

fn add_consumer(
    infrastructure: &mut SupervisorSpec,
    names: &mut Vec<String>,
    service: &str,
    factory: impl FnMut() -> Result<ConsumerActor, String> + 'static,
) {
    let name = format!("consumer.{service}");
    infrastructure.worker(&name, factory);
    names.push(name);
}

type SlotFactory = Box<dyn Fn() -> Result<StrategySlot, String>>;

/// One factory per enabled strategy (a restart builds fresh strategy state).
fn strategy_slots(
    settings: &Settings,
    registry: &InstrumentRegistry,
) -> Result<Vec<SlotFactory>, String> {
    let mut out: Vec<SlotFactory> = Vec::new();
    for (id, config) in settings.strategies.iter().filter(|(_, c)| c.enabled) {
        let mut tokens = Vec::new();
        for symbol in &config.instruments {
            let instrument = registry.by_symbol(symbol).ok_or_else(|| {
                format!("strategies.{id}.instruments: unknown instrument `{symbol}`")
            })?;
            tokens.push(instrument.token);
        }
        let brokers: Vec<Broker> = config
            .brokers
            .iter()
            .copied()
            .filter(|b| settings.brokers.enabled.contains(b))
            .collect();
        // Fail at start-up, not at the first restart.
        crate::strategy::try_build(id, &config.params).map_err(|e| e.to_string())?;
        let (id, params) = (id.clone(), config.params.clone());
        out.push(Box::new(move || {
            Ok(StrategySlot {
                id: id.clone(),
                brokers: brokers.clone(),
                tokens: tokens.clone(),
                strategy: crate::strategy::try_build(&id, &params).map_err(|e| e.to_string())?,
            })
        }));
    }
    Ok(out)
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
