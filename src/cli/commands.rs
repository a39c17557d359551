//! What each subcommand does.

use super::instruments::registry;
use super::{Command, ConfigCommand, DlqCommand, EXIT_CONFIG, KiteSimArgs, RunArgs, TopicsCommand};
use crate::actors::daemon::{self, DaemonParts, ServiceSet};
use crate::actors::market_feed::{self, Endpoint, MarketFeedArgs};
use crate::kite::rest::KiteClient;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::Broker;
use crate::settings::Settings;
use crate::settings::{RetrySettings, Secret};
use crate::sim::{Derivatives, Simulator, SimulatorOptions};
use crate::store::{MemoryStore, RedisStore, Store};
use crate::strategy::StrategyRegistry;
use crate::streaming::retry::Backoff;
use crate::streaming::{
    EmbeddedBroker, KafkaConnection, ProducerActor, ProducerHandle, TopicMap, admin,
};
use crate::supervision::EXIT_SUPERVISION_GAVE_UP;
use anyhow::Context as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

/// `println!` that ignores a closed stdout (`alpha-panda topics list | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Bound on broker calls made by the CLI.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `command`; the answer is the process exit code.
pub(super) async fn dispatch(
    command: Command,
    settings: Settings,
    strategies: &StrategyRegistry,
) -> anyhow::Result<u8> {
    match command {
        Command::Config(ConfigCommand::Check) => {
            say!("{}", settings.to_masked_toml().trim_end());
            let registry = registry(&settings, None)?;
            let (_, resolved) = super::rules::resolve(&settings, &registry, super::rules::today())?;
            if !resolved.is_empty() {
                say!("\n# Subscription rules, resolved for today at the master's prices:");
                for line in super::rules::describe(&resolved) {
                    say!("#   {line}");
                }
            }
            Ok(0)
        }
        Command::Topics(TopicsCommand::Create) => topics_create(&settings).await.map(|()| 0),
        Command::Topics(TopicsCommand::List) => topics_list(&settings).await.map(|()| 0),
        Command::Dlq(DlqCommand::Replay(args)) => {
            super::dlq::dlq_replay(&settings, args).await.map(|()| 0)
        }
        Command::Run(args) => run(&settings, strategies, args).await,
        Command::KiteSim(args) => kite_sim(&settings, args).await.map(|()| 0),
        Command::Zerodha(command) => super::zerodha::dispatch(command, &settings).await,
        Command::Bench(args) => super::bench::run(&settings, args).await,
        Command::Backtest(args) => super::backtest::run(settings, strategies, args).await,
        Command::Record(args) => super::record::run(&settings, args).await,
        Command::Instruments(command) => super::instruments::dispatch(command, &settings).await,
        Command::History(command) => super::history::dispatch(command, &settings).await,
    }
}

async fn kite_sim(settings: &Settings, args: KiteSimArgs) -> anyhow::Result<()> {
    let registry = registry(settings, args.instruments.as_deref())?;
    let options = SimulatorOptions {
        listen: args.listen,
        ticks_per_sec: args
            .ticks_per_sec
            .unwrap_or(settings.simulator.ticks_per_sec),
        seed: args.seed.unwrap_or(settings.simulator.seed),
        derivatives: Derivatives::from_settings(&settings.simulator, &settings.fno, &registry),
    };
    let sim = Simulator::start(options, &registry)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    say!(
        "Kite simulator on {} ({} instruments); Ctrl-C stops it",
        sim.url(),
        registry.len()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// A strategy trading an instrument the feed does not subscribe would never see a tick:
/// say so at start-up.
fn warn_unsubscribed_instruments(
    settings: &Settings,
    registry: &InstrumentRegistry,
    targets: &[market_feed::FeedTarget],
) {
    for (id, strategy) in settings.strategies.iter().filter(|(_, s)| s.enabled) {
        for symbol in &strategy.instruments {
            let subscribed = registry
                .by_symbol(symbol)
                .is_some_and(|i| targets.iter().any(|t| t.token == i.token));
            if !subscribed {
                tracing::warn!(strategy = %id, %symbol, "instrument not in feed.subscriptions: this strategy will get no ticks for it");
            }
        }
    }
}

/// The store (read models, order journals, risk state): in memory (`redis.url =
/// "memory"`) or Redis.
async fn store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    if settings.is_memory_store() {
        tracing::warn!(
            "redis.url = \"memory\": read models and order journals live in this process only; NOTHING IS DURABLE"
        );
        return Ok(Arc::new(MemoryStore::default()));
    }
    let r = &settings.redis;
    let (url, connect, command) = (r.url.expose(), r.connect_timeout(), r.command_timeout());
    let store = RedisStore::connect(url, connect, command)
        .await
        .context("connecting to Redis")?;
    Ok(Arc::new(store))
}

/// Where the feed connects: the configured ticker, or the built-in simulator started
/// in-process when `feed.ticker_url = "simulator"` (kept alive by the returned value).
async fn feed_endpoint(
    settings: &Settings,
    registry: &InstrumentRegistry,
) -> anyhow::Result<(Endpoint, Option<Simulator>)> {
    let feed = &settings.feed;
    if !feed.uses_simulator() {
        let credentials = settings
            .kite_credentials()
            .context("reading the Kite credentials")?;
        let endpoint = Endpoint {
            url: feed.ticker_url.clone(),
            api_key: credentials.api_key,
            access_token: credentials.access_token,
        };
        return Ok((endpoint, None));
    }
    let sim = Simulator::start(
        SimulatorOptions {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            ticks_per_sec: settings.simulator.ticks_per_sec,
            seed: settings.simulator.seed,
            derivatives: Derivatives::from_settings(&settings.simulator, &settings.fno, registry),
        },
        registry,
    )
    .await
    .context("starting the built-in Kite simulator")?;
    tracing::warn!(url = %sim.url(), "feed.ticker_url = \"simulator\": market data is SIMULATED");
    let endpoint = Endpoint {
        url: sim.url(),
        api_key: Secret::new("simulator"),
        access_token: Secret::new("simulator"),
    };
    Ok((endpoint, Some(sim)))
}

/// The market feed's arguments from `[feed]`.
fn feed_args(
    settings: &Settings,
    endpoint: Endpoint,
    targets: Vec<market_feed::FeedTarget>,
    producer: ProducerHandle,
    order_updates: Option<actix::Recipient<market_feed::KiteOrderUpdate>>,
) -> MarketFeedArgs {
    let feed = &settings.feed;
    MarketFeedArgs {
        endpoint,
        targets,
        producer,
        liveness: feed.liveness(),
        reconnect: Backoff::new(&RetrySettings {
            base_ms: feed.reconnect_initial_ms,
            factor: feed.reconnect_multiplier,
            max_ms: feed.reconnect_max_ms,
            attempts: u32::MAX,
            jitter: feed.reconnect_jitter,
        }),
        max_in_flight: feed.max_pending_ticks,
        order_updates,
        // The simulator streams at any hour; a real ticker follows the exchange.
        market_hours: settings
            .market_hours
            .enforce
            .then(|| settings.market_hours.calendar()),
    }
}

/// The Kite REST client when zerodha execution runs here (credentials from `[kite]`: settings,
/// environment or the token file), else `None`.
fn kite_client(settings: &Settings, selected: &ServiceSet) -> anyhow::Result<Option<KiteClient>> {
    if !settings.brokers.enabled.contains(&Broker::Zerodha)
        || !selected.runs(crate::actors::zerodha_execution::SERVICE)
    {
        return Ok(None);
    }
    let credentials = settings
        .kite_credentials()
        .context("reading the Kite credentials")?;
    let z = &settings.zerodha;
    if z.dry_run {
        tracing::warn!("zerodha.dry_run = true: orders are logged, NOTHING IS SENT to Kite");
    } else {
        tracing::warn!(rest_url = %settings.kite.rest_url, "zerodha is enabled: orders go to Kite with REAL MONEY");
    }
    let client = KiteClient::new(settings.kite_client_config(credentials))?;
    Ok(Some(client))
}

/// The broker to talk to: the configured one, or a fresh embedded one (kept alive by the
/// returned guard).
fn connect(settings: &Settings) -> anyhow::Result<(KafkaConnection, Option<EmbeddedBroker>)> {
    if settings.is_embedded_kafka() {
        let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics))?;
        Ok((broker.connection(&settings.kafka), Some(broker)))
    } else {
        Ok((
            KafkaConnection::new(&settings.kafka, settings.kafka.brokers.clone()),
            None,
        ))
    }
}

async fn topics_create(settings: &Settings) -> anyhow::Result<()> {
    let (connection, embedded) = connect(settings)?;
    if embedded.is_some() {
        say!("embedded broker: topics exist only inside this process");
    }
    let map = TopicMap::new(&settings.topics);
    let report = admin::ensure_topics(&connection, &map, BROKER_TIMEOUT).await?;
    for name in &report.created {
        say!("created  {name}");
    }
    for name in &report.existing {
        say!("exists   {name}");
    }
    say!(
        "{} created, {} already existed",
        report.created.len(),
        report.existing.len()
    );
    Ok(())
}

async fn topics_list(settings: &Settings) -> anyhow::Result<()> {
    let (connection, _embedded) = connect(settings)?;
    let map = TopicMap::new(&settings.topics);
    let statuses = admin::list_topics(&connection, &map, BROKER_TIMEOUT).await?;
    say!(
        "{:<32} {:>10} {:>8} {:>14}  key",
        "topic",
        "partitions",
        "actual",
        "retention_ms"
    );
    for s in statuses {
        let actual = s
            .actual_partitions
            .map_or_else(|| "missing".to_owned(), |p| p.to_string());
        say!(
            "{:<32} {:>10} {:>8} {:>14}  {}",
            s.spec.name,
            s.spec.partitions,
            actual,
            s.spec.retention_ms,
            s.spec.topic.stream.key_description()
        );
    }
    Ok(())
}

/// SIGINT and SIGTERM, installed first thing in `run`: from then on a signal is ours
/// (a clean stop, exit 0), never the default action that kills the process mid-start.
struct Signals {
    term: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    /// The next signal's name.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}

/// The alert dispatcher ([`crate::alerts`]) and the feed's staleness watcher, when a
/// target is on.
struct Alerts {
    service: Option<crate::alerts::AlertService>,
    feed_watch: Option<tokio::task::JoinHandle<()>>,
}

impl Alerts {
    /// How long stopping waits for undelivered alerts.
    const STOP_GRACE: Duration = Duration::from_secs(10);

    fn start(settings: &Settings, health: &daemon::Health) -> anyhow::Result<Alerts> {
        if !settings.alerts.any_target() {
            return Ok(Alerts {
                service: None,
                feed_watch: None,
            });
        }
        let config = crate::alerts::DispatcherConfig::from_settings(
            &settings.alerts,
            &settings.service.instance_id,
        );
        let service = crate::alerts::AlertService::start(config).context("starting alerts")?;
        crate::alerts::install(service.sender());
        let feed_watch = health.feed.clone().map(|(feed, calendar)| {
            market_feed::stale_alert::watch(
                feed,
                calendar,
                settings.feed.stale_after(),
                market_feed::stale_alert::CHECK_EVERY,
            )
        });
        let targets: Vec<&str> = [
            settings.alerts.telegram.enabled.then_some("telegram"),
            settings.alerts.webhook.enabled.then_some("webhook"),
        ]
        .into_iter()
        .flatten()
        .collect();
        tracing::info!(targets = %targets.join(","), "alerts on");
        Ok(Alerts {
            service: Some(service),
            feed_watch,
        })
    }

    async fn stop(self) {
        if let Some(watch) = self.feed_watch {
            watch.abort();
        }
        if let Some(service) = self.service {
            crate::alerts::uninstall();
            service.stop(Self::STOP_GRACE).await;
        }
    }
}

/// What start-up made, not yet started: dropping it releases everything (the embedded
/// broker last, after every client of it).
struct Prepared {
    /// The settings with their subscription rules resolved.
    settings: Settings,
    tree: daemon::DaemonTree,
    api: Option<super::api::ApiWiring>,
    registry: InstrumentRegistry,
    store: Arc<dyn Store>,
    connection: KafkaConnection,
    _simulator: Option<Simulator>,
    embedded: Option<EmbeddedBroker>,
}

/// The daemon: topics, then the supervision tree (producer first), until a signal or
/// until the root supervisor gives up. Returns the process exit code. A signal during
/// start-up stops it there: what was made is dropped and the exit code is 0.
async fn run(
    settings: &Settings,
    strategies: &StrategyRegistry,
    args: RunArgs,
) -> anyhow::Result<u8> {
    let mut signals = Signals::install()?;
    let selected = match args.services.as_deref().map(ServiceSet::parse) {
        None => ServiceSet::all(),
        Some(Ok(set)) => set,
        Some(Err(e)) => {
            eprintln!("{e}");
            return Ok(EXIT_CONFIG);
        }
    };
    let prepared = tokio::select! {
        biased;
        signal = signals.recv() => {
            // Dropping the start-up future dropped what it had made.
            tracing::info!(signal, "signal received during start-up; stopped before running");
            return Ok(0);
        }
        prepared = prepare(settings, strategies, selected) => prepared?,
    };
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(refusal) => {
            eprintln!("invalid configuration:\n{refusal}");
            return Ok(EXIT_CONFIG);
        }
    };
    let settings = prepared.settings.clone();
    serve(&settings, prepared, &mut signals).await
}

/// Start-up up to, not including, starting the supervision tree: the broker and its
/// topics, the first producer, the registry, the feed's endpoint, the store, the tree.
/// Cancellable at every await. `Ok(Err(..))` is a configuration refusal (exit 2).
async fn prepare(
    settings: &Settings,
    strategies: &StrategyRegistry,
    selected: ServiceSet,
) -> anyhow::Result<Result<Prepared, String>> {
    let (connection, embedded) = connect(settings)?;
    let map = TopicMap::new(&settings.topics);
    let report = admin::ensure_topics(&connection, &map, BROKER_TIMEOUT)
        .await
        .context("creating topics")?;
    tracing::info!(
        created = report.created.len(),
        existing = report.existing.len(),
        "topics ready"
    );
    // Fail fast, with the reason, if no producer can be made or the brokers do not answer.
    let producer = ProducerActor::connect(&connection, BROKER_TIMEOUT)
        .await
        .context("starting the producer")?;
    let registry = super::instruments::registry_for_run(settings).await?;
    // Rules become contracts once, here: everything after sees plain symbols.
    let live = super::rules::live_prices(settings).await;
    let today = super::rules::today();
    let resolved = match super::rules::resolve_at(settings, &registry, today, &live) {
        Ok((resolved, rules)) => {
            super::rules::log(&rules);
            resolved
        }
        Err(e) => return Ok(Err(e.to_string())),
    };
    let settings = &resolved;
    if settings.instruments.kite_master {
        // Checked here, on the master just loaded or downloaded (the check before start
        // leaves them to this point when the master is to be refreshed).
        let problems = super::check::registry_problems_in(settings, &registry);
        if !problems.is_empty() {
            return Ok(Err(
                crate::settings::SettingsError::new(problems).to_string()
            ));
        }
    }
    let targets = market_feed::resolve_targets(&settings.feed.subscriptions, &registry)
        .map_err(anyhow::Error::msg)?;
    warn_unsubscribed_instruments(settings, &registry, &targets);
    let (endpoint, simulator) = feed_endpoint(settings, &registry).await?;
    let store = store(settings).await?;
    let api = settings.api.enabled.then(super::api::ApiWiring::new);
    let tree = daemon::build(DaemonParts {
        settings,
        connection: &connection,
        producer,
        feed: Some(Box::new(|handle, order_updates| {
            feed_args(settings, endpoint, targets, handle, order_updates)
        })),
        registry: &registry,
        strategies,
        store: store.clone(),
        kite: kite_client(settings, &selected)?,
        services: selected,
        event_hub: api.as_ref().map(|a| a.hub(settings)),
    })
    .map_err(anyhow::Error::msg)?;
    let unknown = daemon::unknown_policy_names(settings, &tree.names);
    if !unknown.is_empty() {
        let lines: Vec<String> = unknown
            .iter()
            .map(|name| {
                format!(
                    "supervision.actors.{name}: names no actor of this process (actors: {})",
                    tree.names.join(", ")
                )
            })
            .collect();
        return Ok(Err(lines.join("\n")));
    }
    Ok(Ok(Prepared {
        settings: resolved.clone(),
        tree,
        api,
        registry,
        store,
        connection,
        _simulator: simulator,
        embedded,
    }))
}

/// Starts the tree and the API and runs until a signal (exit 0) or until the root
/// supervisor gives up (exit 3).
async fn serve(
    settings: &Settings,
    prepared: Prepared,
    signals: &mut Signals,
) -> anyhow::Result<u8> {
    let Prepared {
        settings: _,
        tree,
        api,
        registry,
        store,
        connection,
        _simulator,
        embedded,
    } = prepared;
    let actors = tree.names.join(",");
    let services = tree.services;
    let tree_health = tree.health;
    // Before the tree, so that what happens while it starts (a reconciliation
    // difference, a refused token) is told too.
    let alerts = Alerts::start(settings, &tree_health)?;
    let mut root = tree.root.start().await;
    let api = match api {
        Some(api) => Some(
            api.serve(
                settings,
                &registry,
                &services,
                &tree_health,
                root.board(),
                store,
            )
            .await?,
        ),
        None => None,
    };
    tracing::info!(brokers = %connection.bootstrap_servers, %actors, "running until SIGINT/SIGTERM");
    let code = tokio::select! {
        signal = signals.recv() => {
            tracing::info!(signal, "signal received; stopping");
            None
        }
        outcome = root.wait() => {
            tracing::error!(?outcome, "the root supervisor gave up; exiting for the service manager to restart us");
            Some(EXIT_SUPERVISION_GAVE_UP)
        }
    };
    if let Some(api) = api {
        api.stop().await;
    }
    let code = match code {
        Some(code) => code,
        None => {
            root.shutdown().await;
            0
        }
    };
    // After the tree stopped: an escalation's alert is on its way to the chat.
    alerts.stop().await;
    // The embedded broker must outlive every client of it: a client that sees it go logs
    // "AllBrokersDown" at ERROR on what is a clean stop, and stopped actors drop their
    // clients on their own arbiters, after `shutdown` returns. Nothing of it is durable
    // and the process exits next, so it is left for the exit to tear down.
    drop((root, services, tree_health, connection));
    std::mem::forget(embedded);
    Ok(code)
}
