//! Running the daemon's pipeline under a fixed load and measuring it.
//!
//! The pipeline is the one `alpha-panda run` starts ([`daemon::build`] with every
//! service), on a benchmark configuration derived from the given settings (see
//! [`bench_settings`]); the brokers and the store are the settings' own. The timeline:
//!
//! 1. topics exist; the measurer is assigned at the topics' ends (before any load);
//! 2. the simulator starts open loop at the requested total rate
//!    ([`crate::sim::Pacing::Total`]) on its own thread ([`super::load`]); the tree starts
//!    and its feed subscribes, which starts the load;
//! 3. warm-up (chains whose tick was sent then are not measured), then the measurement
//!    window;
//! 4. the simulator goes silent; the pipeline drains until every signal is answered and
//!    every validated signal settled and nothing moved for a moment, or a bound passes;
//! 5. the tree stops and the chains are joined into the report.

use super::BenchError;
use super::chains::{Chains, Counts, Window};
use super::cpu::{self, CpuReport};
use super::load::Load;
use super::measurer::Measurer;
use super::report::{BenchReport, Hops, Loss};
use crate::actors::daemon::{self, DaemonParts, ServiceSet};
use crate::actors::market_feed::{Endpoint, FeedTarget, KiteOrderUpdate, MarketFeedArgs};
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{Broker, TickMode};
use crate::risk::RiskLimits;
use crate::settings::StrategyParams;
use crate::settings::{RetrySettings, SIMULATOR, Secret, Settings, StrategyConfig};
use crate::sim::Simulator;
use crate::store::{MemoryStore, RedisStore, Store};
use crate::strategy::StrategyRegistry;
use crate::streaming::retry::Backoff;
use crate::streaming::{
    EmbeddedBroker, KafkaConnection, ProducerActor, ProducerHandle, TopicMap, admin,
};
use actix::Recipient;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The one strategy of the benchmark.
pub const STRATEGY_ID: &str = "bench_ema_cross";
/// Bound on broker calls made while setting up.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);
/// The pipeline counts as drained once nothing moved for this long (and it balances).
const DRAIN_QUIET: Duration = Duration::from_secs(1);
/// ... or, unbalanced, once nothing moved for this long.
const DRAIN_GIVE_UP_QUIET: Duration = Duration::from_secs(5);
/// Longest drain.
const DRAIN_MAX: Duration = Duration::from_secs(120);

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Ticks a second in total, over every subscribed instrument.
    pub rate: u32,
    pub duration: Duration,
    pub warmup: Duration,
    /// The instruments and modes; empty: every tradable registry instrument in quote mode.
    pub targets: Vec<FeedTarget>,
}

/// Every tradable (non-index) instrument of the registry, in `mode`.
pub fn all_tradable(registry: &InstrumentRegistry, mode: TickMode) -> Vec<FeedTarget> {
    registry
        .iter()
        .filter(|i| !i.is_index())
        .map(|i| FeedTarget {
            token: i.token,
            symbol: i.symbol.clone(),
            mode,
        })
        .collect()
}

/// The benchmark's configuration: `settings` with paper only, one `ema_cross` strategy
/// (the shipped example's parameters: fast 10, slow 20, 10 units) on every tradable
/// target, every risk limit off, shorts allowed, market hours off, the API off, the
/// simulator as the ticker. Brokers, store, Kafka tuning and supervision are kept.
///
/// # Errors
/// The result does not validate, or no target is tradable.
pub fn bench_settings(
    settings: &Settings,
    registry: &InstrumentRegistry,
    targets: &[FeedTarget],
) -> Result<Settings, BenchError> {
    let tradable: Vec<String> = targets
        .iter()
        .filter(|t| registry.by_symbol(&t.symbol).is_some_and(|i| !i.is_index()))
        .map(|t| t.symbol.clone())
        .collect();
    if tradable.is_empty() {
        return Err(BenchError::Setup(
            "no tradable instrument subscribed".into(),
        ));
    }
    let mut s = settings.clone();
    s.api.enabled = false;
    s.brokers.enabled = vec![Broker::Paper];
    s.market_hours.enforce = false;
    // Measured at any time of day: no MIS entry cutoff or square-off in the run.
    s.market_hours.intraday = false;
    s.risk.paper = RiskLimits::default();
    s.paper.allow_short = true;
    s.feed.ticker_url = SIMULATOR.to_owned();
    s.feed.subscriptions = targets
        .iter()
        .map(|t| format!("{}:{}", t.symbol, mode_name(t.mode)).parse())
        .collect::<Result<_, String>>()
        .map_err(BenchError::Setup)?;
    let strategy = StrategyConfig {
        enabled: true,
        brokers: vec![Broker::Paper],
        instruments: tradable,
        params: StrategyParams::new(
            "ema_cross",
            toml::toml! { fast = 10 slow = 20 quantity = 10 },
        ),
        product: None,
        variety: None,
        limit_buffer_pct: None,
    };
    s.strategies = BTreeMap::from([(STRATEGY_ID.to_owned(), strategy)]);
    s.validate().map_err(|e| BenchError::Setup(e.to_string()))?;
    Ok(s)
}

fn mode_name(mode: TickMode) -> &'static str {
    match mode {
        TickMode::Ltp => "ltp",
        TickMode::Quote => "quote",
        TickMode::Full => "full",
    }
}

/// Runs the benchmark; see the module docs.
///
/// # Errors
/// Set-up failed (configuration, brokers, store, simulator), the measurer failed, or the
/// supervision tree gave up during the run.
pub async fn run(settings: &Settings, options: BenchOptions) -> Result<BenchReport, BenchError> {
    let registry = registry(settings)?;
    let targets = if options.targets.is_empty() {
        all_tradable(&registry, TickMode::Quote)
    } else {
        options.targets.clone()
    };
    let settings = bench_settings(settings, &registry, &targets)?;
    let (connection, _embedded) = connect(&settings)?;
    admin::ensure_topics(
        &connection,
        &TopicMap::new(&settings.topics),
        BROKER_TIMEOUT,
    )
    .await
    .map_err(|e| BenchError::Kafka(format!("creating topics: {e}")))?;
    let measurer = Measurer::start(&connection, BROKER_TIMEOUT).await?;
    let parts = Parts {
        settings: &settings,
        connection: &connection,
        registry: &registry,
        targets: &targets,
        options: &options,
    };
    let timeline = load_pipeline(&parts, &measurer).await?;
    let chains = measurer.stop()?;
    Ok(report(&parts, &timeline, &chains))
}

/// What a run is made of.
struct Parts<'a> {
    settings: &'a Settings,
    connection: &'a KafkaConnection,
    registry: &'a InstrumentRegistry,
    targets: &'a [FeedTarget],
    options: &'a BenchOptions,
}

/// Starts the load and the tree, drives the timeline, stops the tree.
async fn load_pipeline(p: &Parts<'_>, measurer: &Measurer) -> Result<Timeline, BenchError> {
    let producer = ProducerActor::connect(p.connection, BROKER_TIMEOUT)
        .await
        .map_err(|e| BenchError::Kafka(e.to_string()))?;
    let store = store(p.settings).await?;
    let load = Load::start(p.registry, p.options.rate, p.settings.simulator.seed).await?;
    let sim = load.simulator();
    let (url, targets) = (sim.url(), p.targets.to_vec());
    let tree = daemon::build(DaemonParts {
        settings: p.settings,
        connection: p.connection,
        producer,
        feed: Some(Box::new(|handle, order_updates| {
            feed_args(p.settings, url, targets, handle, order_updates)
        })),
        registry: p.registry,
        strategies: &StrategyRegistry::builtin(),
        store,
        kite: None,
        services: ServiceSet::all(),
        event_hub: None,
    })
    .map_err(BenchError::Setup)?;
    let conflated_before = ticks_conflated();
    let mut root = tree.root.start().await;
    let timeline = tokio::select! {
        t = drive(sim, measurer, p.options) => Ok(t),
        outcome = root.wait() => Err(BenchError::GaveUp(format!("{outcome:?}"))),
    };
    root.shutdown().await;
    timeline.map(|t| Timeline {
        conflated: ticks_conflated().saturating_sub(conflated_before),
        ..t
    })
}

/// The report of a finished run.
fn report(p: &Parts<'_>, timeline: &Timeline, chains: &Chains) -> BenchReport {
    let latencies = chains.latencies(timeline.window);
    let counts = chains.counts();
    let secs = p.options.duration.as_secs_f64();
    BenchReport {
        broker: p.settings.kafka.brokers.clone(),
        rate_requested: p.options.rate,
        duration_secs: secs,
        warmup_secs: p.options.warmup.as_secs_f64(),
        instruments: p.targets.len(),
        ticks_sent: timeline.sent_in_window,
        ticks_seen: latencies.ticks_in_window,
        ticks_per_sec: if secs > 0.0 {
            latencies.ticks_in_window as f64 / secs
        } else {
            0.0
        },
        ticks_sent_total: timeline.sent_total,
        counts,
        hops: Hops::of(&latencies),
        loss: Loss::of(&counts, timeline.sent_total, timeline.conflated),
        drain_secs: timeline.drain.as_secs_f64(),
        slowest_second: latencies.ticks_by_second.iter().copied().min(),
        fastest_second: latencies.ticks_by_second.iter().copied().max(),
        cpu: timeline.cpu.clone(),
    }
}

/// What happened when, as the run saw it.
struct Timeline {
    window: Window,
    sent_in_window: u64,
    sent_total: u64,
    drain: Duration,
    /// Ticks the feed conflated during the run.
    conflated: u64,
    /// CPU over the measurement window.
    cpu: Option<CpuReport>,
}

/// Warm-up, measurement window, silence, drain.
async fn drive(sim: &Simulator, measurer: &Measurer, options: &BenchOptions) -> Timeline {
    tokio::time::sleep(options.warmup).await;
    let (start_ns, sent_at_start, cpu_at_start) = (now_ns(), sim.ticks_sent(), cpu::sample());
    tokio::time::sleep(options.duration).await;
    let (end_ns, sent_at_end, cpu_at_end) = (now_ns(), sim.ticks_sent(), cpu::sample());
    sim.set_silent(true);
    let drain = drain(measurer).await;
    Timeline {
        window: Window { start_ns, end_ns },
        sent_in_window: sent_at_end.saturating_sub(sent_at_start),
        sent_total: sim.ticks_sent(),
        drain,
        conflated: 0,
        cpu: cpu_at_start
            .zip(cpu_at_end)
            .map(|(a, b)| cpu::between(&a, &b)),
    }
}

/// Waits until the pipeline has drained (see [`DRAIN_QUIET`] and its siblings).
async fn drain(measurer: &Measurer) -> Duration {
    let begin = Instant::now();
    let mut last = measurer.counts();
    let mut quiet_since = Instant::now();
    while begin.elapsed() < DRAIN_MAX {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = measurer.counts();
        if now != last {
            last = now;
            quiet_since = Instant::now();
            continue;
        }
        let quiet = quiet_since.elapsed();
        if (balanced(&now) && quiet >= DRAIN_QUIET) || quiet >= DRAIN_GIVE_UP_QUIET {
            break;
        }
    }
    begin.elapsed()
}

/// Every signal answered and every validated signal settled.
fn balanced(c: &Counts) -> bool {
    c.signals == c.validated + c.rejected && c.validated == c.filled + c.failed
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The process-wide count of ticks the feed conflated (from the metrics exposition).
fn ticks_conflated() -> u64 {
    crate::telemetry::metrics::render()
        .lines()
        .find_map(|l| l.strip_prefix("alpha_panda_ticks_conflated_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

fn registry(settings: &Settings) -> Result<InstrumentRegistry, BenchError> {
    settings
        .instruments
        .load_registry()
        .map_err(|e| BenchError::Setup(e.to_string()))
}

/// The configured brokers, or a fresh embedded one (kept alive by the returned guard).
fn connect(settings: &Settings) -> Result<(KafkaConnection, Option<EmbeddedBroker>), BenchError> {
    if settings.is_embedded_kafka() {
        let broker = EmbeddedBroker::start(&TopicMap::new(&settings.topics))
            .map_err(|e| BenchError::Kafka(e.to_string()))?;
        Ok((broker.connection(&settings.kafka), Some(broker)))
    } else {
        let brokers = settings.kafka.brokers.clone();
        Ok((KafkaConnection::new(&settings.kafka, brokers), None))
    }
}

/// The store `redis.url` names (memory or Redis), as `run` makes it.
async fn store(settings: &Settings) -> Result<Arc<dyn Store>, BenchError> {
    if settings.is_memory_store() {
        return Ok(Arc::new(MemoryStore::default()));
    }
    let r = &settings.redis;
    let store = RedisStore::connect(r.url.expose(), r.connect_timeout(), r.command_timeout())
        .await
        .map_err(|e| BenchError::Store(e.to_string()))?;
    Ok(Arc::new(store))
}

/// The feed's arguments from `[feed]`, pointed at the simulator's `url`.
fn feed_args(
    settings: &Settings,
    url: String,
    targets: Vec<FeedTarget>,
    producer: ProducerHandle,
    order_updates: Option<Recipient<KiteOrderUpdate>>,
) -> MarketFeedArgs {
    let feed = &settings.feed;
    MarketFeedArgs {
        endpoint: Endpoint {
            url,
            api_key: Secret::new("simulator"),
            access_token: Secret::new("simulator"),
        },
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
        // The benchmark streams at any hour.
        market_hours: None,
    }
}
