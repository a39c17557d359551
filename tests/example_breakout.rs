//! The `breakout` example strategy (examples/breakout) beyond its unit tests: in the
//! daemon's own strategy runner actor with a probe as its producer, and in a backtest of a
//! generated tick file through the same engine as `backtest`.
//!
//! The strategy module is compiled into this test as it is into the example binary, so its
//! own unit tests run here too.

#[path = "../examples/breakout/strategy.rs"]
mod strategy;

use actix::prelude::*;
use alpha_panda::Daemon;
use alpha_panda::actors::strategy_runner::{
    GetRunnerStatus, RunnerArgs, StrategyRunner, StrategySlot,
};
use alpha_panda::backtest::engine::{self, RunOptions};
use alpha_panda::backtest::report::Outcome;
use alpha_panda::backtest::synthetic::{self, SyntheticOptions};
use alpha_panda::backtest::ticks::{self, TickOptions};
use alpha_panda::market::instruments::InstrumentRegistry;
use alpha_panda::messages::{
    Broker, Envelope, Fees, MarketTick, OrderFilled, OrderRef, RecordOrigin, Side, TradingSignal,
    client_order_id_of_signal, decode,
};
use alpha_panda::settings::Settings;
use alpha_panda::strategy::StrategyParams;
use alpha_panda::streaming::ProducerHandle;
use alpha_panda::streaming::consumer::Deliver;
use alpha_panda::streaming::producer::Publish;
use alpha_panda::testkit::Probe;
use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

const RELIANCE: u32 = 738_561;
const STRATEGY: &str = "breakout_1";
/// How long a message may take to reach a probe.
const WAIT: Duration = Duration::from_secs(5);
/// How long nothing must arrive for "nothing was published".
const QUIET: Duration = Duration::from_millis(150);

fn price(text: &str) -> Decimal {
    text.parse().expect("a decimal literal")
}

fn start() -> DateTime<Utc> {
    // Monday 2026-11-02 09:30 IST.
    Utc.with_ymd_and_hms(2026, 11, 2, 4, 0, 0)
        .single()
        .expect("a valid time")
}

/// The runner with one `breakout` slot (lookback 3, exit 2, quantity 10) on paper for
/// RELIANCE, publishing to a probe.
fn runner() -> (Addr<StrategyRunner>, Probe<Publish>) {
    let params = StrategyParams::from_toml(
        "kind = \"breakout\"\nlookback = 3\nexit_lookback = 2\nquantity = 10",
    )
    .expect("valid TOML");
    let producer = Probe::<Publish>::acking_producer();
    let runner = StrategyRunner::new(RunnerArgs {
        slots: vec![StrategySlot {
            id: STRATEGY.into(),
            broker: Broker::Paper,
            tokens: vec![RELIANCE],
            strategy: strategy::factory(&params).expect("valid params"),
        }],
        producer: ProducerHandle::new(producer.recipient()),
        // No Kafka: start with an empty ledger and take the outcomes as messages.
        history: None,
        unanswered_after: Duration::from_secs(120),
    })
    .start();
    (runner, producer)
}

/// The `n`th tick of the script (one a second), as the market feed publishes it.
fn deliver_tick(n: i64, last: &str) -> Deliver<MarketTick> {
    let mut tick = MarketTick::ltp(RELIANCE, price(last));
    tick.symbol = Some("RELIANCE".into());
    Deliver {
        envelope: Envelope::root(tick, "market_feed", start() + Span::seconds(n)),
        origin: RecordOrigin {
            topic: "market.ticks".into(),
            partition: 0,
            offset: n,
        },
    }
}

/// Sends a tick and waits for the runner's answer and its publications' acknowledgements.
async fn send_tick(runner: &Addr<StrategyRunner>, n: i64, last: &str) -> uuid::Uuid {
    let deliver = deliver_tick(n, last);
    let id = deliver.envelope.id;
    let completion = runner
        .send(deliver)
        .await
        .expect("runner alive")
        .expect("tick handled");
    for delivery in completion.deliveries {
        delivery.await.expect("the probe acknowledges");
    }
    id
}

/// The whole fill of the order the signal `signal` became, as paper execution publishes it.
fn deliver_fill(
    signal: &Envelope<TradingSignal>,
    at: i64,
    fill_price: &str,
) -> Deliver<OrderFilled> {
    let s = &signal.data;
    let client_order_id = client_order_id_of_signal(signal.id);
    let fill = OrderFilled {
        order: OrderRef {
            client_order_id: client_order_id.clone(),
            broker_order_id: None,
            strategy_id: s.strategy_id.clone(),
            broker: s.broker,
            token: s.token,
            symbol: s.symbol.clone(),
            side: s.side,
        },
        fill_id: format!("{client_order_id}-1"),
        quantity: s.quantity,
        price: price(fill_price),
        fees: Fees::default(),
        cumulative_quantity: s.quantity,
        order_quantity: s.quantity,
        filled_at: start() + Span::seconds(at),
    };
    Deliver {
        envelope: Envelope::root(fill, "paper_execution", start() + Span::seconds(at)),
        origin: RecordOrigin {
            topic: "paper.orders.filled".into(),
            partition: 0,
            offset: 0,
        },
    }
}

fn signal_of(published: &Publish) -> (String, Envelope<TradingSignal>) {
    let record = &published.0;
    let envelope = decode::<TradingSignal>(&record.value).expect("a trading signal");
    (record.topic.clone(), envelope)
}

/// (position, orders in flight) of RELIANCE as the runner shows it in `/api/v1/strategies`.
async fn book(runner: &Addr<StrategyRunner>) -> (i64, usize) {
    let status = runner.send(GetRunnerStatus).await.expect("runner alive");
    let view = status
        .strategies
        .iter()
        .find(|s| s.strategy_id == STRATEGY)
        .expect("the breakout slot");
    view.instruments
        .iter()
        .find(|i| i.token == RELIANCE)
        .map_or((0, 0), |i| (i.position, i.pending.len()))
}

#[actix::test]
async fn in_the_runner_it_signals_the_breakout_waits_for_the_fill_then_signals_the_exit() {
    let (runner, mut producer) = runner();
    // Warm-up: the 3-tick channel is not defined before the 4th tick.
    for (n, last) in [(0, "100"), (1, "101"), (2, "102")] {
        send_tick(&runner, n, last).await;
    }
    producer.expect_no_msg(QUIET).await;

    // 103 closes above the 3-tick high (102): BUY 10 from flat, on paper.
    let tick_id = send_tick(&runner, 3, "103").await;
    let (topic, entry) = signal_of(&producer.expect_msg(WAIT).await);
    assert_eq!(topic, "paper.signals.raw");
    let s = &entry.data;
    assert_eq!(
        (s.strategy_id.as_str(), s.broker, s.token, s.symbol.as_str()),
        (STRATEGY, Broker::Paper, RELIANCE, "RELIANCE")
    );
    assert_eq!((s.side, s.quantity, s.position), (Side::Buy, 10, 0));
    assert_eq!(s.reference_price, price("103"));
    assert_eq!(s.reason, "breakout: 103 above the 3-tick high 102");
    assert_eq!(entry.causation_id, Some(tick_id));
    assert_eq!(book(&runner).await, (0, 1));

    // The order is in flight: a higher high, then a collapse below the exit channel,
    // publish nothing.
    send_tick(&runner, 4, "104").await;
    send_tick(&runner, 5, "90").await;
    producer.expect_no_msg(QUIET).await;

    // The fill comes back: long 10, nothing in flight.
    runner
        .send(deliver_fill(&entry, 6, "103.05"))
        .await
        .expect("runner alive")
        .expect("fill handled");
    assert_eq!(book(&runner).await, (10, 0));
    producer.expect_no_msg(QUIET).await;

    // 89 closes below the 2-tick low (90): SELL the 10, carrying the position it held.
    send_tick(&runner, 7, "89").await;
    let (topic, exit) = signal_of(&producer.expect_msg(WAIT).await);
    assert_eq!(topic, "paper.signals.raw");
    assert_eq!(
        (exit.data.side, exit.data.quantity, exit.data.position),
        (Side::Sell, 10, 10)
    );
    assert_eq!(exit.data.reason, "breakdown: 89 below the 2-tick low 90");
    assert_eq!(book(&runner).await, (10, 1));
    producer.expect_no_msg(QUIET).await;
}

fn config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/breakout.toml")
}

/// A CSV of `n` synthetic RELIANCE ticks (a seeded random walk inside market hours).
fn tick_file(dir: &Path, n: u64) -> PathBuf {
    let path = dir.join("ticks.csv");
    let file = std::fs::File::create(&path).expect("create the tick file");
    synthetic::write_csv(
        file,
        SyntheticOptions {
            ticks: n,
            seed: 7,
            token: RELIANCE,
            start_price: price("2500"),
            start: start(),
        },
    )
    .expect("write the tick file");
    path
}

/// The backtest of `ticks` with config/examples/breakout.toml and the example's registry.
async fn backtest(ticks: &Path, seed: u64) -> Outcome {
    let loaded = Settings::load_from(Some(&config()), &HashMap::new()).expect("example config");
    let settings = engine::backtest_settings(&loaded, seed);
    let instruments = InstrumentRegistry::embedded().expect("embedded instruments");
    let builder = Daemon::builder().strategy(strategy::KIND, strategy::factory);
    let reader = ticks::open(ticks, TickOptions::with_registry(seed, &instruments))
        .expect("open the tick file");
    let options = RunOptions {
        input: ticks.display().to_string(),
        seed,
        progress: Box::new(|_| {}),
    };
    let (outcome, stats) = engine::run(
        &settings,
        &instruments,
        builder.strategies(),
        reader,
        options,
    )
    .await
    .expect("the backtest runs");
    assert_eq!(stats.handler_errors, 0);
    outcome
}

#[actix::test]
async fn a_backtest_trades_within_its_range_and_a_rerun_gives_the_same_fills() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ticks = tick_file(dir.path(), 20_000);
    let outcome = backtest(&ticks, 3).await;
    assert_eq!(outcome.ticks, 20_000);
    // Only the breakout strategy runs: the defaults' examples are off in the config.
    let ids: Vec<&str> = outcome
        .strategies
        .iter()
        .map(|s| s.strategy_id.as_str())
        .collect();
    assert_eq!(ids, [STRATEGY]);
    let run = &outcome.strategies[0];
    assert!(run.fills.len() >= 2, "it traded: {} fills", run.fills.len());
    assert!(run.signals >= run.orders && run.orders >= 1);

    // The positions recomputed from the fills stay within 0..=quantity; with whole fills
    // (the default) the sides alternate, a buy of 10 from flat, a sell of 10 back.
    let mut positions: BTreeMap<u32, i64> = BTreeMap::new();
    for (i, fill) in run.fills.iter().enumerate() {
        assert_eq!(fill.order.strategy_id, STRATEGY);
        assert_eq!(fill.order.broker, Broker::Paper);
        let position = positions.entry(fill.order.token).or_default();
        let expected = if *position == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        assert_eq!((fill.order.side, fill.quantity), (expected, 10), "fill {i}");
        *position += match fill.order.side {
            Side::Buy => i64::from(fill.quantity),
            Side::Sell => -i64::from(fill.quantity),
        };
        assert!((0..=10).contains(position), "fill {i}: position {position}");
    }
    // The report's final portfolio agrees with them.
    let reported: BTreeMap<u32, i64> = run
        .final_portfolio
        .positions
        .iter()
        .filter(|p| p.quantity != 0)
        .map(|p| (p.token, p.quantity))
        .collect();
    positions.retain(|_, q| *q != 0);
    assert_eq!(reported, positions);

    // Same file, configuration and seed: the same fills, to the id and the paisa.
    let again = backtest(&ticks, 3).await;
    assert_eq!(again.strategies[0].fills, run.fills);
}
