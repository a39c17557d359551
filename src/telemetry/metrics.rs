//! Process metrics in the Prometheus text exposition format.
//!
//! One process-wide registry (built on first use) holds every metric; call sites record
//! through the small typed functions below, one line each, and [`render`] writes the text
//! a scraper reads. Every name starts with `alpha_panda_`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `alpha_panda_ticks_received_total` | counter | — |
//! | `alpha_panda_ticks_conflated_total` | counter | — |
//! | `alpha_panda_signals_total` | counter | `broker` |
//! | `alpha_panda_strategy_failures_total` | counter | `broker` |
//! | `alpha_panda_strategies_disabled` | gauge | — |
//! | `alpha_panda_signals_validated_total` | counter | `broker` |
//! | `alpha_panda_signals_rejected_total` | counter | `broker`, `reason` |
//! | `alpha_panda_orders_submitted_total` | counter | `broker` |
//! | `alpha_panda_fills_total` | counter | `broker` |
//! | `alpha_panda_orders_failed_total` | counter | `broker`, `kind` |
//! | `alpha_panda_trading_state` | gauge | `broker` (0 ACTIVE, 1 REDUCING, 2 HALTED) |
//! | `alpha_panda_pnl_rupees` | gauge (float, display only) | `broker`, `strategy`, `component` (`realized`, `unrealized`, `charges`, `net`) |
//! | `alpha_panda_dlq_records_total` | counter | `topic` |
//! | `alpha_panda_dlq_write_failures_total` | counter | `topic` |
//! | `alpha_panda_handler_retries_total` | counter | `service` |
//! | `alpha_panda_actor_restarts_total` | counter | `actor`, `reason` |
//! | `alpha_panda_handler_latency_seconds` | histogram | `service`, `message` |
//! | `alpha_panda_consumer_lag` | gauge | `service`, `topic`, `partition` |
//! | `alpha_panda_reconciliation_differences` | gauge | `broker` |
//! | `alpha_panda_reconciliation_timestamp_seconds` | gauge | `broker` |
//! | `alpha_panda_feed_<counter>_total` | counter | — (one per [`FeedCounter`]) |
//! | `alpha_panda_feed_last_tick_timestamp_seconds` | gauge (float) | — (0 until the first tick) |
//! | `alpha_panda_feed_connected` | gauge | — (1 while a ticker session is up) |
//! | `alpha_panda_api_control_refused_total` | counter | `reason` (`unauthorized`, `locked_out`; both from the start) |
//! | `alpha_panda_alerts_total` | counter | `kind`, `outcome` (`sent`, `deduplicated`, `suppressed`, `failed`, `dropped`) |
//!
//! Invariants and costs:
//! - Label values come from closed sets (brokers, reason codes, failure kinds, service,
//!   topic and actor names), so the number of series stays bounded.
//! - The hot paths take no lock: the label-less tick counters and the per-broker counters
//!   are resolved once, when the registry is built, and recording is one atomic add. A
//!   labelled lookup (`*Vec::get_metric_with_label_values`) takes the vector's read lock;
//!   it is used only for rare events, and the per-record consumer metrics hand out
//!   handles ([`handler_latency_histogram`], [`consumer_lag_gauge`]) for callers to cache.
//! - A labelled series appears in the text only once it exists, so the label values a
//!   dashboard queries are declared at 0 when their owner starts (`*_started`,
//!   [`actor_registered`]): a quiet counter reads 0, not "no data". The P&L gauge has no
//!   such start: its strategies are known only from their first fill.
//! - Money is exact everywhere else; `alpha_panda_pnl_rupees` converts the portfolio's
//!   decimals to floats for display only, and nothing reads it back.
//! - Actor mailbox depth is not exposed: actix offers no way to read a mailbox's length,
//!   so there is no such metric.

use crate::messages::{Broker, OrderFailureKind, RejectionCode};
use crate::risk::TradingState;
use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::sync::LazyLock;

/// Handler latency buckets, in seconds: 50 µs to 5 s in 1–2.5–5 steps per decade.
const LATENCY_BUCKETS_SECONDS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
];

/// One handle per broker, resolved up front so recording takes no lock.
struct PerBroker {
    paper: IntCounter,
    zerodha: IntCounter,
}

impl PerBroker {
    fn get(&self, broker: Broker) -> &IntCounter {
        match broker {
            Broker::Paper => &self.paper,
            Broker::Zerodha => &self.zerodha,
        }
    }
}

struct Metrics {
    registry: Registry,
    ticks_received: IntCounter,
    ticks_conflated: IntCounter,
    signals: PerBroker,
    signals_validated: PerBroker,
    strategy_failures: PerBroker,
    strategies_disabled: IntGauge,
    signals_rejected: IntCounterVec,
    orders_submitted: PerBroker,
    fills: PerBroker,
    orders_failed: IntCounterVec,
    trading_state: IntGaugeVec,
    pnl: GaugeVec,
    dlq_records: IntCounterVec,
    dlq_write_failures: IntCounterVec,
    handler_retries: IntCounterVec,
    actor_restarts: IntCounterVec,
    handler_latency: HistogramVec,
    consumer_lag: IntGaugeVec,
    reconciliation_differences: IntGaugeVec,
    reconciliation_at: IntGaugeVec,
    feed_last_tick: Gauge,
    feed_connected: IntGauge,
    /// One counter per [`FeedCounter`], in its order.
    feed: Vec<IntCounter>,
    control_refused: IntCounterVec,
    alerts: IntCounterVec,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    // Infallible: `build` fails only for an invalid metric or label name, or for two
    // collectors registering the same name. Every name here is a fixed, distinct literal,
    // and `builds_every_metric_in_a_fresh_registry` proves they are accepted.
    build().expect("the fixed metric set registers")
});

fn build() -> prometheus::Result<Metrics> {
    let r = Registry::new();
    Ok(Metrics {
        ticks_received: counter(
            &r,
            "alpha_panda_ticks_received_total",
            "Ticks decoded from the Kite ticker and accepted for publication.",
        )?,
        ticks_conflated: counter(
            &r,
            "alpha_panda_ticks_conflated_total",
            "Ticks replaced by a newer one for the same instrument before they were published.",
        )?,
        signals: per_broker(
            &r,
            "alpha_panda_signals_total",
            "Trading signals published by the strategy runner.",
        )?,
        strategy_failures: per_broker(
            &r,
            "alpha_panda_strategy_failures_total",
            "Strategy calls that panicked or returned an error.",
        )?,
        strategies_disabled: register(
            &r,
            IntGauge::with_opts(Opts::new(
                "alpha_panda_strategies_disabled",
                "Strategy instances (per broker) that do not run: failing, or switched off.",
            ))?,
        )?,
        signals_validated: per_broker(
            &r,
            "alpha_panda_signals_validated_total",
            "Signals the risk manager approved.",
        )?,
        signals_rejected: counter_vec(
            &r,
            "alpha_panda_signals_rejected_total",
            "Signals the risk manager refused, once per reason code.",
            &["broker", "reason"],
        )?,
        orders_submitted: per_broker(
            &r,
            "alpha_panda_orders_submitted_total",
            "Orders a venue accepted.",
        )?,
        fills: per_broker(&r, "alpha_panda_fills_total", "Fills a venue reported.")?,
        orders_failed: counter_vec(
            &r,
            "alpha_panda_orders_failed_total",
            "Orders that ended without complete execution, by failure kind.",
            &["broker", "kind"],
        )?,
        trading_state: register(
            &r,
            IntGaugeVec::new(
                Opts::new(
                    "alpha_panda_trading_state",
                    "The risk manager's trading state in force: 0 ACTIVE, 1 REDUCING, 2 HALTED (a hold counts as HALTED).",
                ),
                &["broker"],
            )?,
        )?,
        pnl: register(
            &r,
            GaugeVec::new(
                Opts::new(
                    "alpha_panda_pnl_rupees",
                    "A portfolio's P&L in rupees at its last snapshot (display only: the exact figures are in the read model): realized (before charges), unrealized, charges, net.",
                ),
                &["broker", "strategy", "component"],
            )?,
        )?,
        dlq_records: counter_vec(
            &r,
            "alpha_panda_dlq_records_total",
            "Records sent to a dead-letter topic, by the topic they were consumed from.",
            &["topic"],
        )?,
        dlq_write_failures: counter_vec(
            &r,
            "alpha_panda_dlq_write_failures_total",
            "Failed attempts to write a record's dead-letter copy (retried until written), by the topic it was consumed from.",
            &["topic"],
        )?,
        handler_retries: counter_vec(
            &r,
            "alpha_panda_handler_retries_total",
            "Transient handler failures retried by a consumer.",
            &["service"],
        )?,
        actor_restarts: counter_vec(
            &r,
            "alpha_panda_actor_restarts_total",
            "Supervised actor restarts, by reason (failure, panic, exit, sibling).",
            &["actor", "reason"],
        )?,
        handler_latency: register(
            &r,
            HistogramVec::new(
                HistogramOpts::new(
                    "alpha_panda_handler_latency_seconds",
                    "Time from dispatching a consumed record to its handler until it answered.",
                )
                .buckets(LATENCY_BUCKETS_SECONDS.to_vec()),
                &["service", "message"],
            )?,
        )?,
        reconciliation_differences: register(
            &r,
            IntGaugeVec::new(
                Opts::new(
                    "alpha_panda_reconciliation_differences",
                    "Positions that differ from the broker's at the last position reconciliation.",
                ),
                &["broker"],
            )?,
        )?,
        reconciliation_at: register(
            &r,
            IntGaugeVec::new(
                Opts::new(
                    "alpha_panda_reconciliation_timestamp_seconds",
                    "Unix time of the last completed position reconciliation.",
                ),
                &["broker"],
            )?,
        )?,
        consumer_lag: register(
            &r,
            IntGaugeVec::new(
                Opts::new(
                    "alpha_panda_consumer_lag",
                    "Records between a partition's high watermark and the consumer's stored offset.",
                ),
                &["service", "topic", "partition"],
            )?,
        )?,
        feed_last_tick: register(
            &r,
            Gauge::with_opts(Opts::new(
                "alpha_panda_feed_last_tick_timestamp_seconds",
                "Unix time of the last ticker frame that carried ticks (0: none yet).",
            ))?,
        )?,
        feed_connected: register(
            &r,
            IntGauge::with_opts(Opts::new(
                "alpha_panda_feed_connected",
                "1 while a ticker WebSocket session is up and subscribed, else 0.",
            ))?,
        )?,
        feed: FeedCounter::ALL
            .iter()
            .map(|c| counter(&r, &c.metric_name(), c.help()))
            .collect::<prometheus::Result<_>>()?,
        control_refused: counter_vec(
            &r,
            "alpha_panda_api_control_refused_total",
            "Control requests refused: a missing or wrong bearer token (unauthorized), or an address locked out after repeated failures (locked_out).",
            &["reason"],
        )
        .inspect(|vec| {
            // A closed set known now: both reasons read 0 from the start, not "no data".
            for reason in ControlRefusal::ALL {
                declare(vec, &[reason.label()]);
            }
        })?,
        alerts: counter_vec(
            &r,
            "alpha_panda_alerts_total",
            "Alerts by kind and what became of them (sent, deduplicated, suppressed by the rate limit, failed delivery, dropped on a full queue).",
            &["kind", "outcome"],
        )?,
        registry: r,
    })
}

fn register<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> prometheus::Result<C> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

fn counter(registry: &Registry, name: &str, help: &str) -> prometheus::Result<IntCounter> {
    register(registry, IntCounter::with_opts(Opts::new(name, help))?)
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    register(registry, IntCounterVec::new(Opts::new(name, help), labels)?)
}

fn per_broker(registry: &Registry, name: &str, help: &str) -> prometheus::Result<PerBroker> {
    let vec = counter_vec(registry, name, help, &["broker"])?;
    Ok(PerBroker {
        paper: vec.get_metric_with_label_values(&[Broker::Paper.as_str()])?,
        zerodha: vec.get_metric_with_label_values(&[Broker::Zerodha.as_str()])?,
    })
}

/// Adds one to a labelled counter. The label count is fixed per call site, so the lookup
/// cannot fail; if it ever did, the event is not counted rather than panicking.
fn inc(vec: &IntCounterVec, labels: &[&str]) {
    if let Ok(counter) = vec.get_metric_with_label_values(labels) {
        counter.inc();
    }
}

/// Creates a labelled counter's series at 0 without counting (see the module docs).
fn declare(vec: &IntCounterVec, labels: &[&str]) {
    let _ = vec.get_metric_with_label_values(labels);
}

/// The restart reasons the supervision board counts.
const RESTART_REASONS: [&str; 4] = ["failure", "panic", "exit", "sibling"];

/// The risk manager judges `broker`'s signals: a rejection series per reason code.
pub fn risk_started(broker: Broker) {
    for code in RejectionCode::ALL {
        declare(&METRICS.signals_rejected, &[broker.as_str(), code.as_str()]);
    }
}

/// `broker`'s venue runs here: a failed-order series per failure kind.
pub fn venue_started(broker: Broker) {
    for kind in OrderFailureKind::ALL {
        declare(
            &METRICS.orders_failed,
            &[broker.as_str(), failure_kind_label(kind)],
        );
    }
}

/// `service`'s consumer reads `topics`: its retry series and the DLQ series of each topic.
pub fn consumer_started(service: &str, topics: &[String]) {
    declare(&METRICS.handler_retries, &[service]);
    for topic in topics {
        declare(&METRICS.dlq_records, &[topic]);
        declare(&METRICS.dlq_write_failures, &[topic]);
    }
}

/// A supervised actor joined the tree: a restart series per reason.
pub fn actor_registered(actor: &str) {
    for reason in RESTART_REASONS {
        declare(&METRICS.actor_restarts, &[actor, reason]);
    }
}

/// `n` ticks decoded and accepted for publication (counted once per frame).
pub fn ticks_received(n: u64) {
    METRICS.ticks_received.inc_by(n);
}

/// One tick decoded and accepted for publication.
pub fn tick_received() {
    METRICS.ticks_received.inc();
}

/// `n` unpublished ticks replaced by newer ones.
pub fn ticks_conflated(n: u64) {
    METRICS.ticks_conflated.inc_by(n);
}

/// A strategy signal published for `broker`.
pub fn signal_emitted(broker: Broker) {
    METRICS.signals.get(broker).inc();
}

/// A strategy call panicked or returned an error.
pub fn strategy_failed(broker: Broker) {
    METRICS.strategy_failures.get(broker).inc();
}

/// How many strategy instances are disabled now (a runner incarnation starts at 0).
pub fn strategies_disabled(count: usize) {
    METRICS
        .strategies_disabled
        .set(i64::try_from(count).unwrap_or(i64::MAX));
}

/// A strategy instance was disabled (+1) or enabled again (−1).
pub fn strategy_disabled_changed(by: i64) {
    METRICS.strategies_disabled.add(by);
}

/// A signal approved by the risk manager.
pub fn signal_validated(broker: Broker) {
    METRICS.signals_validated.get(broker).inc();
}

/// A signal refused for `reason` (a risk rule's stable code). A signal refused by several
/// rules counts once under each.
pub fn signal_rejected(broker: Broker, reason: &str) {
    inc(&METRICS.signals_rejected, &[broker.as_str(), reason]);
}

/// An order accepted by `broker`'s venue.
pub fn order_submitted(broker: Broker) {
    METRICS.orders_submitted.get(broker).inc();
}

/// A fill reported by `broker`'s venue.
pub fn order_filled(broker: Broker) {
    METRICS.fills.get(broker).inc();
}

/// An order that ended without complete execution.
pub fn order_failed(broker: Broker, kind: OrderFailureKind) {
    inc(
        &METRICS.orders_failed,
        &[broker.as_str(), failure_kind_label(kind)],
    );
}

/// `broker`'s trading state in force now (the kill switch, or HALTED while held).
pub fn trading_state(broker: Broker, state: TradingState) {
    if let Ok(g) = METRICS
        .trading_state
        .get_metric_with_label_values(&[broker.as_str()])
    {
        g.set(trading_state_value(state));
    }
}

/// The gauge's value: ordered by how much is blocked, so `max` over brokers is the worst.
fn trading_state_value(state: TradingState) -> i64 {
    match state {
        TradingState::Active => 0,
        TradingState::Reducing => 1,
        TradingState::Halted => 2,
    }
}

/// A portfolio's P&L figures in rupees, exact; [`pnl`] shows them as floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PnlFigures {
    /// Realized, before charges.
    pub realized: Decimal,
    pub unrealized: Decimal,
    pub charges: Decimal,
    /// `realized + unrealized − charges`, as the portfolio computes it.
    pub net: Decimal,
}

/// Shows `strategy`'s P&L on `broker` (a display gauge: floats are fine here, nothing
/// computes with them).
pub fn pnl(broker: Broker, strategy: &str, figures: &PnlFigures) {
    for (component, value) in [
        ("realized", figures.realized),
        ("unrealized", figures.unrealized),
        ("charges", figures.charges),
        ("net", figures.net),
    ] {
        if let Ok(g) =
            METRICS
                .pnl
                .get_metric_with_label_values(&[broker.as_str(), strategy, component])
        {
            g.set(value.to_f64().unwrap_or(f64::NAN));
        }
    }
}

/// A position reconciliation: `differences` found; `at` when it completed (`None`: it
/// failed, so the time of the last completed one stays).
pub fn reconciliation(
    broker: Broker,
    differences: usize,
    at: Option<chrono::DateTime<chrono::Utc>>,
) {
    let label = [broker.as_str()];
    METRICS
        .reconciliation_differences
        .with_label_values(&label)
        .set(i64::try_from(differences).unwrap_or(i64::MAX));
    if let Some(at) = at {
        METRICS
            .reconciliation_at
            .with_label_values(&label)
            .set(at.timestamp());
    }
}

/// A record consumed from `topic` sent to its dead-letter topic.
pub fn dlq_record(topic: &str) {
    inc(&METRICS.dlq_records, &[topic]);
}

/// A failed attempt to write the dead-letter copy of a record consumed from `topic`.
pub fn dlq_write_failure(topic: &str) {
    inc(&METRICS.dlq_write_failures, &[topic]);
}

/// A transient handler failure that `service`'s consumer will retry.
pub fn handler_retry(service: &str) {
    inc(&METRICS.handler_retries, &[service]);
}

/// A supervised actor restarted; `reason` is the board's kind (failure, panic, exit,
/// sibling).
pub fn actor_restart(actor: &str, reason: &str) {
    inc(&METRICS.actor_restarts, &[actor, reason]);
}

/// How long `service`'s handler took to answer a `message_type` record.
pub fn handler_latency(service: &str, message_type: &str, seconds: f64) {
    if let Some(h) = handler_latency_histogram(service, message_type) {
        h.observe(seconds);
    }
}

/// The latency histogram for one (service, message type), for a caller that records
/// every record and caches the handle (observing through it takes no lock).
pub fn handler_latency_histogram(service: &str, message_type: &str) -> Option<Histogram> {
    METRICS
        .handler_latency
        .get_metric_with_label_values(&[service, message_type])
        .ok()
}

/// Sets `service`'s lag on one partition of `topic`.
pub fn consumer_lag(service: &str, topic: &str, partition: i32, lag: i64) {
    if let Some(g) = consumer_lag_gauge(service, topic, partition) {
        g.set(lag);
    }
}

/// The lag gauge for one (service, topic, partition), for a caller that caches it.
pub fn consumer_lag_gauge(service: &str, topic: &str, partition: i32) -> Option<IntGauge> {
    METRICS
        .consumer_lag
        .get_metric_with_label_values(&[service, topic, &partition.to_string()])
        .ok()
}

/// The market feed's counters (`FeedStats` in `actors/market_feed`), each exposed as
/// `alpha_panda_feed_<name>_total`. A closed set, so every one is registered up front and
/// recording is one atomic add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedCounter {
    /// WebSocket sessions established (the handshake completed).
    Connects,
    /// Dials that failed: refused, or no TCP connection or handshake within the timeout.
    ConnectFailures,
    /// Sessions that ended (or dials that failed), each followed by a reconnect.
    Disconnects,
    Heartbeats,
    /// Binary frames carrying packets.
    Frames,
    /// Ticks decoded.
    Ticks,
    /// Frames that could not be read (binary or text).
    MalformedFrames,
    /// Packets skipped inside otherwise readable frames.
    PacketErrors,
    /// Ticks replaced by a newer one for the same instrument before publication.
    Conflated,
    Published,
    PublishFailures,
    OrderUpdates,
    /// Error messages from the ticker.
    ServerErrors,
    /// Valid packets for instruments this feed did not subscribe (not published).
    Unsubscribed,
    /// Ticks that failed the tick checks (not published).
    Invalid,
    /// Runtime subscription wishes that changed what the feed streams.
    SubscriptionChanges,
    /// Runtime subscription wishes refused: the union would pass one connection's limit.
    SubscriptionsRefused,
}

impl FeedCounter {
    /// Every counter, in registration order.
    pub const ALL: [FeedCounter; 17] = [
        FeedCounter::Connects,
        FeedCounter::ConnectFailures,
        FeedCounter::Disconnects,
        FeedCounter::Heartbeats,
        FeedCounter::Frames,
        FeedCounter::Ticks,
        FeedCounter::MalformedFrames,
        FeedCounter::PacketErrors,
        FeedCounter::Conflated,
        FeedCounter::Published,
        FeedCounter::PublishFailures,
        FeedCounter::OrderUpdates,
        FeedCounter::ServerErrors,
        FeedCounter::Unsubscribed,
        FeedCounter::Invalid,
        FeedCounter::SubscriptionChanges,
        FeedCounter::SubscriptionsRefused,
    ];

    /// The counter's name, as the feed's stats call it.
    pub fn name(self) -> &'static str {
        match self {
            FeedCounter::Connects => "connects",
            FeedCounter::ConnectFailures => "connect_failures",
            FeedCounter::Disconnects => "disconnects",
            FeedCounter::Heartbeats => "heartbeats",
            FeedCounter::Frames => "frames",
            FeedCounter::Ticks => "ticks",
            FeedCounter::MalformedFrames => "malformed_frames",
            FeedCounter::PacketErrors => "packet_errors",
            FeedCounter::Conflated => "conflated",
            FeedCounter::Published => "published",
            FeedCounter::PublishFailures => "publish_failures",
            FeedCounter::OrderUpdates => "order_updates",
            FeedCounter::ServerErrors => "server_errors",
            FeedCounter::Unsubscribed => "unsubscribed",
            FeedCounter::Invalid => "invalid",
            FeedCounter::SubscriptionChanges => "subscription_changes",
            FeedCounter::SubscriptionsRefused => "subscriptions_refused",
        }
    }

    /// `alpha_panda_feed_<name>_total`.
    pub fn metric_name(self) -> String {
        format!("alpha_panda_feed_{}_total", self.name())
    }

    fn help(self) -> &'static str {
        match self {
            FeedCounter::Connects => "Ticker WebSocket sessions established.",
            FeedCounter::ConnectFailures => {
                "Ticker dials that failed: refused, or no TCP connection or WebSocket handshake within the timeout."
            }
            FeedCounter::Disconnects => {
                "Ticker sessions ended or dials failed, each followed by a reconnect (after the backoff)."
            }
            FeedCounter::Heartbeats => "Ticker heartbeat frames.",
            FeedCounter::Frames => "Ticker binary frames carrying packets.",
            FeedCounter::Ticks => "Ticks decoded from the ticker.",
            FeedCounter::MalformedFrames => {
                "Ticker frames (binary or text) that could not be read."
            }
            FeedCounter::PacketErrors => "Malformed packets skipped inside readable ticker frames.",
            FeedCounter::Conflated => {
                "Ticks replaced by a newer one for the same instrument before publication."
            }
            FeedCounter::Published => {
                "Ticks published to market.ticks (acknowledged by the broker)."
            }
            FeedCounter::PublishFailures => "Ticks the broker did not accept (not retried).",
            FeedCounter::OrderUpdates => "Order updates received on the ticker.",
            FeedCounter::ServerErrors => "Error messages sent by the ticker.",
            FeedCounter::Unsubscribed => {
                "Valid packets for instruments this feed did not subscribe (dropped, not published)."
            }
            FeedCounter::Invalid => "Ticks refused by the tick checks (dropped, not published).",
            FeedCounter::SubscriptionChanges => {
                "Runtime subscription requests that changed what the feed streams."
            }
            FeedCounter::SubscriptionsRefused => {
                "Runtime subscription requests refused: more instruments than one ticker connection carries (3000)."
            }
        }
    }
}

/// Adds `n` to one of the market feed's counters.
pub fn feed_count(counter: FeedCounter, n: u64) {
    // `feed` holds one handle per `ALL` entry, in declaration order, so the discriminant
    // is the index (`feed_counters_are_indexed_by_discriminant`).
    if let Some(c) = METRICS.feed.get(counter as usize) {
        c.inc_by(n);
    }
}

/// A ticker frame carrying ticks arrived at `at` (the hot path: one atomic store).
pub fn feed_ticked(at: chrono::DateTime<chrono::Utc>) {
    // Milliseconds as f64 are exact far beyond any date this runs on.
    METRICS
        .feed_last_tick
        .set(at.timestamp_millis() as f64 / 1000.0);
}

/// Whether a ticker session is up now.
pub fn feed_connected(up: bool) {
    METRICS.feed_connected.set(i64::from(up));
}

/// Why a control request was refused (`alpha_panda_api_control_refused_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRefusal {
    /// Missing or wrong bearer token (401).
    Unauthorized,
    /// The client's address is locked out after repeated failures (429).
    LockedOut,
}

impl ControlRefusal {
    const ALL: [ControlRefusal; 2] = [ControlRefusal::Unauthorized, ControlRefusal::LockedOut];

    fn label(self) -> &'static str {
        match self {
            ControlRefusal::Unauthorized => "unauthorized",
            ControlRefusal::LockedOut => "locked_out",
        }
    }
}

/// A control request was refused.
pub fn control_refused(reason: ControlRefusal) {
    inc(&METRICS.control_refused, &[reason.label()]);
}

/// An alert of `kind` (a closed set: the alert kinds and the summary) ended as `outcome`.
pub fn alert(kind: &str, outcome: &str) {
    inc(&METRICS.alerts, &[kind, outcome]);
}

/// Every metric in the Prometheus text exposition format (version 0.0.4).
pub fn render() -> String {
    TextEncoder::new()
        .encode_to_string(&METRICS.registry.gather())
        .unwrap_or_else(|e| {
            // Only a malformed family fails to encode; ours are all well-formed.
            tracing::warn!(error = %e, "metrics: cannot encode the registry");
            String::new()
        })
}

/// The failure kind as it is written on the wire (its serde name).
fn failure_kind_label(kind: OrderFailureKind) -> &'static str {
    match kind {
        OrderFailureKind::Rejected => "rejected",
        OrderFailureKind::Cancelled => "cancelled",
        OrderFailureKind::Expired => "expired",
        OrderFailureKind::InsufficientFunds => "insufficient_funds",
        OrderFailureKind::ShortingNotAllowed => "shorting_not_allowed",
        OrderFailureKind::NotPlaced => "not_placed",
        OrderFailureKind::RateLimited => "rate_limited",
        OrderFailureKind::Stale => "stale",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The registry is process-wide and other tests record into it concurrently: each test
    // uses label values of its own, or asserts only what concurrency cannot change.

    fn has_line(text: &str, line: &str) -> bool {
        text.lines().any(|l| l == line)
    }

    #[test]
    fn builds_every_metric_in_a_fresh_registry() {
        let fresh = build().map(|m| m.registry.gather());
        let text = fresh
            .and_then(|families| TextEncoder::new().encode_to_string(&families))
            .unwrap_or_default();
        // Declared at build: the closed set of refusal reasons, at 0.
        for reason in ["unauthorized", "locked_out"] {
            let line = format!("alpha_panda_api_control_refused_total{{reason=\"{reason}\"}} 0");
            assert!(has_line(&text, &line), "missing {line}");
        }
    }

    #[test]
    fn counts_ticks_without_labels() {
        let received = METRICS.ticks_received.get();
        let conflated = METRICS.ticks_conflated.get();
        ticks_received(3);
        tick_received();
        ticks_conflated(2);
        assert!(METRICS.ticks_received.get() >= received + 4);
        assert!(METRICS.ticks_conflated.get() >= conflated + 2);
        let text = render();
        assert!(text.contains("\nalpha_panda_ticks_received_total "));
        assert!(text.contains("\nalpha_panda_ticks_conflated_total "));
        assert!(text.contains("# TYPE alpha_panda_ticks_received_total counter"));
    }

    #[test]
    fn counts_signals_and_orders_per_broker() {
        let before = METRICS.fills.get(Broker::Zerodha).get();
        signal_emitted(Broker::Paper);
        signal_validated(Broker::Paper);
        order_submitted(Broker::Zerodha);
        order_filled(Broker::Zerodha);
        assert!(METRICS.fills.get(Broker::Zerodha).get() > before);
        let text = render();
        for prefix in [
            "alpha_panda_signals_total{broker=\"paper\"} ",
            "alpha_panda_signals_total{broker=\"zerodha\"} ",
            "alpha_panda_signals_validated_total{broker=\"paper\"} ",
            "alpha_panda_orders_submitted_total{broker=\"zerodha\"} ",
            "alpha_panda_fills_total{broker=\"zerodha\"} ",
        ] {
            assert!(text.contains(prefix), "missing {prefix}");
        }
    }

    #[test]
    fn labels_rejections_by_reason_and_failures_by_kind() {
        signal_rejected(Broker::Zerodha, "test_only_reason");
        signal_rejected(Broker::Zerodha, "test_only_reason");
        order_failed(Broker::Paper, OrderFailureKind::InsufficientFunds);
        let text = render();
        assert!(has_line(
            &text,
            "alpha_panda_signals_rejected_total{broker=\"zerodha\",reason=\"test_only_reason\"} 2"
        ));
        assert!(text.contains(
            "alpha_panda_orders_failed_total{broker=\"paper\",kind=\"insufficient_funds\"} "
        ));
    }

    #[test]
    fn failure_kind_labels_are_the_wire_names() {
        for kind in OrderFailureKind::ALL {
            let wire = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(wire, format!("\"{}\"", failure_kind_label(kind)));
        }
    }

    #[test]
    fn labels_dlq_retries_and_restarts() {
        dlq_record("test.metrics.topic");
        dlq_write_failure("test.metrics.topic");
        handler_retry("test_metrics_service");
        handler_retry("test_metrics_service");
        actor_restart("test_metrics_actor", "panic");
        let text = render();
        assert!(has_line(
            &text,
            "alpha_panda_dlq_records_total{topic=\"test.metrics.topic\"} 1"
        ));
        assert!(has_line(
            &text,
            "alpha_panda_dlq_write_failures_total{topic=\"test.metrics.topic\"} 1"
        ));
        assert!(has_line(
            &text,
            "alpha_panda_handler_retries_total{service=\"test_metrics_service\"} 2"
        ));
        assert!(has_line(
            &text,
            "alpha_panda_actor_restarts_total{actor=\"test_metrics_actor\",reason=\"panic\"} 1"
        ));
    }

    #[test]
    fn buckets_handler_latency_from_50_microseconds() {
        handler_latency("test_latency_service", "market_tick", 0.000_3);
        if let Some(h) = handler_latency_histogram("test_latency_service", "market_tick") {
            h.observe(4.0);
        }
        let text = render();
        let series = "message=\"market_tick\",service=\"test_latency_service\"";
        for (le, count) in [("0.00005", 0), ("0.00025", 0), ("0.0005", 1), ("5", 2)] {
            let line = format!(
                "alpha_panda_handler_latency_seconds_bucket{{{series},le=\"{le}\"}} {count}"
            );
            assert!(has_line(&text, &line), "missing {line}");
        }
        assert!(has_line(
            &text,
            &format!("alpha_panda_handler_latency_seconds_count{{{series}}} 2")
        ));
    }

    #[test]
    fn exposes_every_feed_counter() {
        for c in FeedCounter::ALL {
            feed_count(c, 1);
        }
        let text = render();
        for c in FeedCounter::ALL {
            let name = c.metric_name();
            assert!(
                text.contains(&format!("# TYPE {name} counter")),
                "missing {name}"
            );
            let value = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.parse::<u64>().ok());
            assert!(value >= Some(1), "{name}: {value:?}");
        }
        for (i, c) in FeedCounter::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "{c:?} is at its discriminant");
        }
        let names: std::collections::BTreeSet<&str> =
            FeedCounter::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), FeedCounter::ALL.len(), "distinct names");
    }

    #[test]
    fn counts_refused_control_requests_by_reason() {
        control_refused(ControlRefusal::Unauthorized);
        control_refused(ControlRefusal::LockedOut);
        let text = render();
        for reason in ["unauthorized", "locked_out"] {
            let prefix = format!("alpha_panda_api_control_refused_total{{reason=\"{reason}\"}} ");
            assert!(text.contains(&prefix), "missing {prefix}");
        }
    }

    #[test]
    fn declares_the_series_a_dashboard_queries_at_zero() {
        consumer_started("test_declared_service", &["test.declared.topic".to_owned()]);
        actor_registered("test_declared_actor");
        risk_started(Broker::Zerodha);
        venue_started(Broker::Zerodha);
        let text = render();
        let mut lines = vec![
            "alpha_panda_handler_retries_total{service=\"test_declared_service\"} 0".to_owned(),
            "alpha_panda_dlq_records_total{topic=\"test.declared.topic\"} 0".to_owned(),
            "alpha_panda_dlq_write_failures_total{topic=\"test.declared.topic\"} 0".to_owned(),
        ];
        for reason in RESTART_REASONS {
            lines.push(format!(
                "alpha_panda_actor_restarts_total{{actor=\"test_declared_actor\",reason=\"{reason}\"}} 0"
            ));
        }
        for line in lines {
            assert!(has_line(&text, &line), "missing {line}");
        }
        // Other tests may count into these (shared label values): present is what matters.
        for code in RejectionCode::ALL {
            let prefix = format!(
                "alpha_panda_signals_rejected_total{{broker=\"zerodha\",reason=\"{code}\"}} "
            );
            assert!(text.contains(&prefix), "missing {prefix}");
        }
        for kind in OrderFailureKind::ALL {
            let prefix = format!(
                "alpha_panda_orders_failed_total{{broker=\"zerodha\",kind=\"{}\"}} ",
                failure_kind_label(kind)
            );
            assert!(text.contains(&prefix), "missing {prefix}");
        }
    }

    #[test]
    fn shows_pnl_per_component_as_floats() {
        let figures = PnlFigures {
            realized: Decimal::new(12_345, 1),
            unrealized: Decimal::new(-250, 2),
            charges: Decimal::new(4_075, 2),
            net: Decimal::new(1_190_250, 3),
        };
        pnl(Broker::Paper, "test_metrics_strategy", &figures);
        let text = render();
        for (component, value) in [
            ("realized", "1234.5"),
            ("unrealized", "-2.5"),
            ("charges", "40.75"),
            ("net", "1190.25"),
        ] {
            let line = format!(
                "alpha_panda_pnl_rupees{{broker=\"paper\",component=\"{component}\",strategy=\"test_metrics_strategy\"}} {value}"
            );
            assert!(has_line(&text, &line), "missing {line}");
        }
    }

    #[test]
    fn trading_state_values_order_by_what_is_blocked() {
        assert_eq!(trading_state_value(TradingState::Active), 0);
        assert_eq!(trading_state_value(TradingState::Reducing), 1);
        assert_eq!(trading_state_value(TradingState::Halted), 2);
        // Actor tests set the brokers' states concurrently: the family is what is checked.
        trading_state(Broker::Paper, TradingState::Active);
        assert!(render().contains("# TYPE alpha_panda_trading_state gauge"));
    }

    #[test]
    fn exposes_the_feed_gauges_from_the_start() {
        // The feed's own tests set these concurrently; their presence (registered without
        // labels, so present before any tick) is what a test here can hold.
        let text = render();
        assert!(text.contains("# TYPE alpha_panda_feed_last_tick_timestamp_seconds gauge"));
        assert!(text.contains("# TYPE alpha_panda_feed_connected gauge"));
    }

    #[test]
    fn sets_consumer_lag_per_partition() {
        consumer_lag("test_lag_service", "test.lag.topic", 3, 42);
        consumer_lag("test_lag_service", "test.lag.topic", 3, 7);
        assert!(has_line(
            &render(),
            "alpha_panda_consumer_lag{partition=\"3\",service=\"test_lag_service\",topic=\"test.lag.topic\"} 7"
        ));
    }
}
