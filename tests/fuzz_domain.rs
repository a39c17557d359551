//! Property tests of the domain: arbitrary ticks (extreme decimals, zero, negative,
//! crossed books), fills and signals through every pure entry point, asserting that nothing
//! panics and that the tick door ([`MarketTick::check`]) says what it lets through.
//!
//! Two kinds of input:
//! - "door" inputs, what reaches a service in production: ticks that pass
//!   [`MarketTick::check`], fills and signals that pass their payload's `validate`. A panic
//!   on one of these is a bug in the module that panicked.
//! - "any" inputs: every field arbitrary, `Decimal::MAX` and `Decimal::MIN` included. The
//!   strategies and the tick door must survive these too.
//!
//! Each property runs a fixed number of cases from a fixed seed (no regression files are
//! written), so a run is repeatable and takes a few seconds.

use alpha_panda::backtest::engine::{self, RunOptions};
use alpha_panda::backtest::ticks::{self, TickOptions};
use alpha_panda::market::instruments::InstrumentRegistry;
use alpha_panda::messages::{
    Broker, DecodeError, DepthLevel, Envelope, EventType, Fees, MAX_PRICE, MarketDepth, MarketTick,
    Ohlc, OrderFilled, OrderRef, OrderType, Payload, Side, TickMode, TradingSignal, Validity,
    decode, encode,
};
use alpha_panda::paper::{PaperConfig, PaperVenue};
use alpha_panda::portfolio::Book;
use alpha_panda::risk::{BrokerRisk, RiskLimits};
use alpha_panda::settings::Settings;
use alpha_panda::strategy::harness::Harness;
use alpha_panda::strategy::kinds::BUILTIN_KINDS;
use alpha_panda::strategy::{StrategyParams, StrategyRegistry};
use chrono::{DateTime, TimeZone, Utc};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::io::Write;

/// Cases per property: enough to hit the extremes every run, a few seconds in all.
const CASES: u32 = 256;

/// A runner with a fixed seed and no regression files.
fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
}

/// Runs `property` over `strategy`; a failure (or panic) reports the minimal input.
fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner(cases).run(&strategy, property) {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------

/// Any decimal at all: the full 96-bit range at every scale, and the edges.
fn any_decimal() -> BoxedStrategy<Decimal> {
    prop_oneof![
        3 => (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0..=28u32)
            .prop_map(|(lo, mid, hi, negative, scale)| {
                Decimal::from_parts(lo, mid, hi, negative, scale)
            }),
        3 => (any::<i64>(), 0..=28u32).prop_map(|(m, s)| Decimal::new(m, s)),
        1 => prop_oneof![
            Just(Decimal::MAX),
            Just(Decimal::MIN),
            Just(Decimal::ZERO),
            Just(Decimal::NEGATIVE_ONE),
            Just(Decimal::new(1, 28)),
            Just(MAX_PRICE),
            Just(MAX_PRICE + Decimal::new(1, 2)),
        ],
        3 => door_price(),
    ]
    .boxed()
}

/// A price the door lets in: paise from 0.01 to the ceiling (₹10⁹), small ones likelier.
fn door_price() -> BoxedStrategy<Decimal> {
    prop_oneof![
        3 => (1i64..=1_000_000).prop_map(|p| Decimal::new(p, 2)),
        1 => (1i64..=100_000_000_000).prop_map(|p| Decimal::new(p, 2)),
        1 => Just(MAX_PRICE),
        1 => Just(Decimal::new(1, 2)),
    ]
    .boxed()
}

fn any_quantity() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 0u32..=1_000, 1 => any::<u32>(), 1 => Just(u32::MAX)]
}

fn any_level() -> impl Strategy<Value = DepthLevel> {
    (any_quantity(), any_decimal(), any::<u16>()).prop_map(|(quantity, price, orders)| DepthLevel {
        quantity,
        price,
        orders,
    })
}

fn mode() -> impl Strategy<Value = TickMode> {
    prop_oneof![
        Just(TickMode::Ltp),
        Just(TickMode::Quote),
        Just(TickMode::Full)
    ]
}

/// Any tick: every price arbitrary, up to six levels a side, crossed or not.
fn any_tick() -> impl Strategy<Value = MarketTick> {
    (
        (0u32..4, mode(), any_decimal()),
        option::of((vec(any_level(), 0..=6), vec(any_level(), 0..=6))),
        option::of((any_decimal(), any_decimal(), any_decimal(), any_decimal())),
        (option::of(any_decimal()), option::of(any_decimal())),
        (option::of(any_quantity()), option::of(any_quantity())),
    )
        .prop_map(
            |((token, mode, last), depth, ohlc, (change, average), (ltq, volume))| MarketTick {
                mode,
                depth: depth.map(|(bids, asks)| MarketDepth { bids, asks }),
                ohlc: ohlc.map(|(open, high, low, close)| Ohlc {
                    open,
                    high,
                    low,
                    close,
                }),
                change,
                average_traded_price: average,
                last_traded_quantity: ltq,
                volume_traded: volume,
                ..MarketTick::ltp(token, last)
            },
        )
}

/// A tick the door lets in: positive prices within the ceiling, quoted bids falling below
/// quoted asks, a sane day range. (Filtered through the door as a last word.)
fn door_tick() -> impl Strategy<Value = MarketTick> {
    (
        (1u32..4, mode(), door_price()),
        option::of((vec(door_price(), 0..=10), vec(any_quantity(), 10))),
        option::of(vec(door_price(), 4)),
        option::of(door_price()),
    )
        .prop_map(|((token, mode, last), book, day, average)| {
            let depth = book.map(|(mut prices, quantities)| {
                prices.sort();
                let asks_from = prices.len() / 2;
                let level = |(price, quantity): (&Decimal, &u32)| DepthLevel {
                    quantity: *quantity,
                    price: *price,
                    orders: 1,
                };
                let mut bids: Vec<DepthLevel> = prices[..asks_from]
                    .iter()
                    .zip(&quantities)
                    .map(level)
                    .collect();
                bids.reverse();
                let asks = prices[asks_from..]
                    .iter()
                    .zip(&quantities[5..])
                    .map(level)
                    .collect();
                MarketDepth { bids, asks }
            });
            let ohlc = day.map(|mut p| {
                let close = p[3];
                p[..3].sort();
                Ohlc {
                    low: p[0],
                    open: p[1],
                    high: p[2],
                    close,
                }
            });
            MarketTick {
                mode,
                depth,
                ohlc,
                change: ohlc.map(|o| last - o.close),
                average_traded_price: average,
                ..MarketTick::ltp(token, last)
            }
        })
        .prop_filter("passes the door", |t| t.check().is_ok())
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn order_type() -> impl Strategy<Value = OrderType> {
    prop_oneof![
        Just(OrderType::Market),
        Just(OrderType::Limit),
        Just(OrderType::StopLimit),
        Just(OrderType::StopMarket),
    ]
}

fn validity() -> impl Strategy<Value = Validity> {
    prop_oneof![
        Just(Validity::Day),
        Just(Validity::Ioc),
        Just(Validity::Fok)
    ]
}

fn strategy_id() -> impl Strategy<Value = String> {
    prop_oneof![Just("s1".to_owned()), Just("s2".to_owned())]
}

/// An instant between 1970 and the end of 9999 (what RFC 3339 can carry), mostly in 2026.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    let base = Utc
        .with_ymd_and_hms(2026, 11, 2, 4, 0, 0)
        .unwrap()
        .timestamp();
    prop_oneof![
        4 => (0i64..2_000_000).prop_map(move |s| base + s),
        1 => 0i64..=253_402_300_799,
    ]
    .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

/// Any signal, prices arbitrary (a signal's door checks only that limit and trigger
/// prices are positive where its type needs them).
fn any_signal(
    price: impl Strategy<Value = Decimal> + Clone,
) -> impl Strategy<Value = TradingSignal> {
    (
        (
            strategy_id(),
            1u32..4,
            side(),
            any_quantity(),
            order_type(),
            validity(),
        ),
        (option::of(price.clone()), option::of(price.clone()), price),
        any::<i64>(),
    )
        .prop_map(
            |(
                (strategy_id, token, side, quantity, order_type, validity),
                (p, trigger, reference),
                position,
            )| {
                TradingSignal {
                    strategy_id,
                    broker: Broker::Paper,
                    token,
                    symbol: token.to_string(),
                    side,
                    quantity,
                    order_type,
                    price: p,
                    trigger_price: trigger,
                    validity,
                    reference_price: reference,
                    reason: "fuzz".into(),
                    product: None,
                    position,
                }
            },
        )
}

fn fees(part: impl Strategy<Value = Decimal> + Clone) -> impl Strategy<Value = Fees> {
    (vec(part, 6), any::<bool>()).prop_map(|(p, consistent)| {
        let total = if consistent {
            p.iter()
                .try_fold(Decimal::ZERO, |s, v| s.checked_add(*v))
                .unwrap_or(Decimal::MAX)
        } else {
            p[0]
        };
        Fees {
            brokerage: p[0],
            stt: p[1],
            exchange_txn: p[2],
            sebi: p[3],
            stamp_duty: p[4],
            gst: p[5],
            total,
        }
    })
}

/// Any fill of order `o{n}`, prices and fees arbitrary.
fn any_fill(
    price: impl Strategy<Value = Decimal> + Clone,
    fee: impl Strategy<Value = Decimal> + Clone,
) -> impl Strategy<Value = OrderFilled> {
    (
        (strategy_id(), 1u32..4, side(), 0u8..6),
        (any_quantity(), any_quantity(), any_quantity()),
        price,
        fees(fee),
        instant(),
    )
        .prop_map(
            |(
                (strategy_id, token, side, n),
                (quantity, cumulative, order_quantity),
                price,
                fees,
                filled_at,
            )| {
                OrderFilled {
                    order: OrderRef {
                        client_order_id: format!("o{n}"),
                        broker_order_id: None,
                        strategy_id,
                        broker: Broker::Paper,
                        token,
                        symbol: token.to_string(),
                        side,
                    },
                    fill_id: format!("o{n}-{cumulative}"),
                    quantity,
                    price,
                    fees,
                    cumulative_quantity: cumulative,
                    order_quantity,
                    filled_at,
                }
            },
        )
}

/// A fill the door lets in: one that passes `OrderFilled::validate`, at a door price with
/// plausible fees.
/// A fill its door (`OrderFilled::validate`) lets in: quantities consistent, plausible fees,
/// at a price from `price` (the door only asks that it be positive).
fn door_fill(price: BoxedStrategy<Decimal>) -> BoxedStrategy<OrderFilled> {
    let fee = (0i64..=100_000_000).prop_map(|p| Decimal::new(p, 2));
    (any_fill(price, fee), 1u32..=1_000, 0u32..=1_000)
        .prop_map(|(mut f, quantity, more)| {
            f.quantity = quantity;
            f.cumulative_quantity = quantity;
            f.order_quantity = quantity + more;
            let p = [
                f.fees.brokerage,
                f.fees.stt,
                f.fees.exchange_txn,
                f.fees.sebi,
                f.fees.stamp_duty,
                f.fees.gst,
            ];
            f.fees.total = p.iter().sum();
            f
        })
        .prop_filter("passes the door", |f| f.validate().is_ok())
        .boxed()
}

/// A signal its door (`TradingSignal::validate`) lets in, prices from `price`.
fn door_signal(price: BoxedStrategy<Decimal>) -> BoxedStrategy<TradingSignal> {
    any_signal(price)
        .prop_filter("passes the door", |s| s.validate().is_ok())
        .boxed()
}

// ---------------------------------------------------------------------------------------
// The door
// ---------------------------------------------------------------------------------------

#[test]
fn the_tick_door_never_panics_and_lets_through_only_sane_prices() {
    check(CASES * 4, any_tick(), |tick| {
        let verdict = tick.check();
        let bytes = encode(&Envelope::root(tick.clone(), "fuzz", Utc::now()));
        let decoded = decode::<MarketTick>(&bytes);
        match verdict {
            Ok(()) => {
                prop_assert!(tick.last_price > Decimal::ZERO && tick.last_price <= MAX_PRICE);
                if let (Some(bid), Some(ask)) = (tick.best_bid(), tick.best_ask()) {
                    prop_assert!(bid <= ask, "crossed book let through: {bid} > {ask}");
                }
                let depth = tick.depth.iter().flat_map(|d| d.bids.iter().chain(&d.asks));
                for level in depth {
                    prop_assert!(level.price >= Decimal::ZERO && level.price <= MAX_PRICE);
                }
                prop_assert_eq!(decoded.map(|e| e.data), Ok(tick));
            }
            Err(problem) => {
                prop_assert_eq!(
                    decoded.map(|_| ()),
                    Err(DecodeError::Invalid {
                        event_type: EventType::MarketTick,
                        reason: problem.to_string(),
                    })
                );
            }
        }
        Ok(())
    });
}

#[test]
fn generated_door_ticks_pass_the_door() {
    // The generator of "door" ticks must not be all filtered away, or the properties
    // below would test little.
    check(CASES, door_tick(), |tick| {
        prop_assert_eq!(tick.check(), Ok(()));
        Ok(())
    });
}

#[test]
fn the_fill_and_signal_doors_never_panic() {
    check(
        CASES,
        (
            any_fill(any_decimal(), any_decimal()),
            any_signal(any_decimal()),
        ),
        |(fill, signal)| {
            let _ = fill.validate();
            let _ = signal.validate();
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------
// Strategies (owned here): no panic on any tick, any fill
// ---------------------------------------------------------------------------------------

/// Each built-in kind with short warm-ups, as TOML.
fn builtin_params_toml(kind: &str) -> &'static str {
    match kind {
        "momentum" => "kind = \"momentum\"\nlookback = 2\nthreshold = \"0.001\"\nquantity = 10",
        "mean_reversion" => {
            "kind = \"mean_reversion\"\nrsi_period = 2\noversold = 30\noverbought = 70\n\
             bb_period = 3\nbb_k = \"1\"\nquantity = 10"
        }
        "rsi" => "kind = \"rsi\"\nperiod = 2\noversold = 30\noverbought = 70\nquantity = 10",
        "ema_cross" => "kind = \"ema_cross\"\nfast = 2\nslow = 3\nquantity = 10",
        other => panic!("no fuzz parameters for the built-in kind `{other}`"),
    }
}

fn builtin_params(kind: &str) -> StrategyParams {
    StrategyParams::from_toml(builtin_params_toml(kind)).unwrap()
}

/// What happens to the order a tick's intent sent.
#[derive(Debug, Clone)]
enum OrderOutcome {
    Fill(u32, Decimal),
    Fail,
    Nothing,
}

fn outcome(price: impl Strategy<Value = Decimal>) -> impl Strategy<Value = OrderOutcome> {
    prop_oneof![
        2 => (any_quantity(), price).prop_map(|(q, p)| OrderOutcome::Fill(q, p)),
        1 => Just(OrderOutcome::Fail),
        1 => Just(OrderOutcome::Nothing),
    ]
}

fn run_strategy(kind: &str, steps: Vec<(MarketTick, OrderOutcome)>) -> Result<(), TestCaseError> {
    let strategy = StrategyRegistry::builtin()
        .build(&builtin_params(kind))
        .unwrap();
    let mut h = Harness::new(strategy);
    for (tick, outcome) in steps {
        let intent = h.tick(&tick);
        prop_assert!(intent.is_ok(), "{kind}: a built-in kind failed: {intent:?}");
        if intent.ok().flatten().is_some() {
            match outcome {
                OrderOutcome::Fill(quantity, price) => h.fill_last(quantity, price),
                OrderOutcome::Fail => {
                    h.fail_last(alpha_panda::messages::OrderFailureKind::Rejected)
                }
                OrderOutcome::Nothing => {}
            }
        }
    }
    Ok(())
}

#[test]
fn every_builtin_strategy_survives_any_ticks_and_fills() {
    for kind in BUILTIN_KINDS {
        check(
            CASES,
            vec((any_tick(), outcome(any_decimal())), 1..40),
            |steps| run_strategy(kind, steps),
        );
    }
}

#[test]
fn every_builtin_strategy_survives_door_ticks_at_the_extremes() {
    // Door ticks from one token, so that the indicators warm up and trade.
    let steps = vec((door_tick(), outcome(door_price())), 1..60)
        .prop_map(|steps| {
            steps
                .into_iter()
                .map(|(mut t, o)| {
                    t.token = 1;
                    (t, o)
                })
                .collect::<Vec<_>>()
        })
        .boxed();
    for kind in BUILTIN_KINDS {
        check(CASES, steps.clone(), |steps| run_strategy(kind, steps));
    }
}

// ---------------------------------------------------------------------------------------
// Others' domain modules: risk, portfolio, paper venue
// ---------------------------------------------------------------------------------------

#[allow(clippy::needless_update)] // other limits may come; they stay off
fn limits() -> impl Strategy<Value = RiskLimits> {
    (
        option::of(1u32..=u32::MAX),
        option::of(door_price()),
        option::of(1u32..=u32::MAX),
        option::of(1u32..=u32::MAX),
        option::of((1i64..=10_000).prop_map(|p| Decimal::new(p, 2))),
        option::of(door_price()),
        option::of(1u32..=u32::MAX),
    )
        .prop_map(|(q, v, p, t, band, loss, open)| RiskLimits {
            max_order_quantity: q,
            max_order_value: v,
            max_position: p,
            max_daily_trades: t,
            price_band_pct: band,
            daily_loss_limit: loss,
            max_open_orders: open,
            ..RiskLimits::default()
        })
}

/// One call into a domain object.
#[derive(Debug, Clone)]
enum Event {
    Tick(MarketTick, DateTime<Utc>),
    Signal(TradingSignal, DateTime<Utc>),
    Fill(OrderFilled, DateTime<Utc>),
}

/// Up to 40 calls, each a tick, a signal or a fill from the generators given.
fn events(
    tick: BoxedStrategy<MarketTick>,
    signal: BoxedStrategy<TradingSignal>,
    fill: BoxedStrategy<OrderFilled>,
) -> impl Strategy<Value = Vec<Event>> {
    vec(
        prop_oneof![
            (tick, instant()).prop_map(|(t, at)| Event::Tick(t, at)),
            (signal, instant()).prop_map(|(s, at)| Event::Signal(s, at)),
            (fill, instant()).prop_map(|(f, at)| Event::Fill(f, at)),
        ],
        1..40,
    )
}

/// What reaches a service in production: ticks, signals and fills that pass their doors.
fn door_events() -> impl Strategy<Value = Vec<Event>> {
    events(
        door_tick().boxed(),
        door_signal(door_price()),
        door_fill(door_price()),
    )
}

/// Every field arbitrary: ticks at any decimal, crossed, zero or negative; fills and signals
/// at any price, quantity and fees, valid or not.
fn any_events() -> impl Strategy<Value = Vec<Event>> {
    events(
        any_tick().boxed(),
        any_signal(any_decimal()).boxed(),
        any_fill(any_decimal(), any_decimal()).boxed(),
    )
}

fn risk_sees(risk: &mut BrokerRisk, events: Vec<Event>) {
    for event in events {
        match event {
            Event::Tick(t, _) => {
                let _ = risk.on_tick(t.token, t.last_price);
            }
            Event::Signal(s, at) => {
                let _ = risk.check(uuid::Uuid::new_v4(), &s, at);
            }
            Event::Fill(f, at) => {
                let _ = risk.on_fill(&f, at);
            }
        }
    }
}

#[test]
fn risk_survives_door_ticks_signals_and_fills() {
    check(CASES, (limits(), door_events()), |(limits, events)| {
        risk_sees(&mut BrokerRisk::new(Broker::Paper, limits), events);
        Ok(())
    });
}

#[test]
fn risk_survives_any_ticks_signals_and_fills() {
    check(CASES, (limits(), any_events()), |(limits, events)| {
        risk_sees(&mut BrokerRisk::new(Broker::Paper, limits), events);
        Ok(())
    });
}

fn portfolio_sees(book: &mut Book, events: Vec<Event>) {
    for event in events {
        match event {
            Event::Tick(t, _) => {
                book.mark(t.token, t.last_price);
            }
            Event::Signal(..) => {}
            Event::Fill(f, _) => {
                let _ = book.apply_fill(&f);
            }
        }
    }
}

#[test]
fn portfolio_survives_door_fills_and_marks() {
    let cash = prop_oneof![door_price(), Just(Decimal::ZERO), Just(Decimal::new(1, 15))];
    check(CASES, (cash, door_events()), |(cash, events)| {
        portfolio_sees(&mut Book::new(cash), events);
        Ok(())
    });
}

#[test]
fn portfolio_survives_any_fills_and_marks() {
    check(CASES, (any_decimal(), any_events()), |(cash, events)| {
        portfolio_sees(&mut Book::new(cash), events);
        Ok(())
    });
}

fn paper_config() -> impl Strategy<Value = PaperConfig> {
    (
        any::<bool>(),
        any::<bool>(),
        (0i64..=10_000).prop_map(|b| Decimal::new(b, 2)),
    )
        .prop_map(|(allow_short, partial_fills, slippage_bps)| PaperConfig {
            allow_short,
            partial_fills,
            slippage_bps,
            ..PaperConfig::default()
        })
}

fn paper_sees(venue: &mut PaperVenue, events: Vec<Event>) {
    for (n, event) in events.into_iter().enumerate() {
        match event {
            Event::Tick(t, at) => {
                venue.on_tick(&t, at);
            }
            Event::Signal(s, at) => {
                venue.submit(&format!("ap{n}"), &s, at);
            }
            Event::Fill(f, _) => {
                venue.restore_fill(&f);
            }
        }
    }
}

#[test]
fn paper_venue_survives_door_ticks_signals_and_restored_fills() {
    check(
        CASES,
        (paper_config(), door_events()),
        |(config, events)| {
            paper_sees(&mut PaperVenue::new(Broker::Paper, config), events);
            Ok(())
        },
    );
}

#[test]
fn paper_venue_survives_any_ticks() {
    let events = events(
        any_tick().boxed(),
        door_signal(door_price()),
        door_fill(door_price()),
    );
    check(CASES, (paper_config(), events), |(config, events)| {
        paper_sees(&mut PaperVenue::new(Broker::Paper, config), events);
        Ok(())
    });
}

#[test]
fn paper_venue_survives_signals_their_door_lets_in_at_any_price() {
    let events = events(
        door_tick().boxed(),
        door_signal(any_decimal()),
        door_fill(door_price()),
    );
    check(CASES, (paper_config(), events), |(config, events)| {
        paper_sees(&mut PaperVenue::new(Broker::Paper, config), events);
        Ok(())
    });
}

#[test]
fn paper_venue_survives_restored_fills_their_door_lets_in_at_any_price() {
    let events = events(
        door_tick().boxed(),
        door_signal(door_price()),
        door_fill(any_decimal()),
    );
    check(CASES, (paper_config(), events), |(config, events)| {
        paper_sees(&mut PaperVenue::new(Broker::Paper, config), events);
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// The backtest end to end on generated tick files
// ---------------------------------------------------------------------------------------

const RELIANCE: u32 = 738_561;

/// Every built-in kind on RELIANCE with short warm-ups, default risk limits, paper venue
/// with shorting, no market hours.
fn backtest_settings(dir: &std::path::Path) -> Settings {
    let mut toml =
        String::from("[market_hours]\nenforce = false\n\n[paper]\nallow_short = true\n\n");
    for id in ["momentum_1", "ema_cross_1"] {
        toml.push_str(&format!("[strategies.{id}]\nenabled = false\n\n"));
    }
    for kind in BUILTIN_KINDS {
        toml.push_str(&format!(
            "[strategies.fuzz_{kind}]\nenabled = true\nbrokers = [\"paper\"]\n\
             instruments = [\"RELIANCE\"]\n[strategies.fuzz_{kind}.params]\n{}\n\n",
            builtin_params_toml(kind)
        ));
    }
    let path = dir.join("fuzz.toml");
    std::fs::write(&path, toml).unwrap();
    let settings = Settings::load_from(Some(&path), &HashMap::new()).expect("fuzz settings");
    engine::backtest_settings(&settings, 0)
}

/// A CSV row's prices: any two-decimal price (bid ≤ ask), or, rarely, a malformed one.
fn csv_row() -> impl Strategy<Value = (u64, String, String, String)> {
    let paise = prop_oneof![4 => 1i64..=1_000_000, 1 => 1i64..=100_000_000_000];
    let rupees = |p: i64| format!("{}.{:02}", p / 100, p % 100);
    let good = (paise.clone(), paise.clone(), paise).prop_map(move |(a, b, last)| {
        let (bid, ask) = (a.min(b), a.max(b));
        (rupees(bid), rupees(ask), rupees(last))
    });
    let bad = (
        prop_oneof![
            Just("-100.00"),
            Just("0"),
            Just("1000000000.01"),
            Just("79228162514264337593543950335")
        ],
        0..3usize,
    )
        .prop_map(|(bad, at)| {
            let mut row = ["10.00".to_owned(), "10.05".to_owned(), "10.05".to_owned()];
            row[at] = bad.to_owned();
            let [b, a, l] = row;
            (b, a, l)
        });
    (1u64..=5_000_000_000, prop_oneof![20 => good, 1 => bad])
        .prop_map(|(gap_ns, (bid, ask, last))| (gap_ns, bid, ask, last))
}

#[test]
fn the_backtest_runs_any_generated_tick_file_to_a_report_or_a_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let settings = backtest_settings(dir.path());
    let registry = InstrumentRegistry::embedded().unwrap();
    let strategies = StrategyRegistry::builtin();
    let start_ns: u64 = 1_793_591_100_000_000_000; // 2026-11-02 03:45 UTC
    check(32, vec(csv_row(), 1..80), |rows| {
        let path = dir.path().join("ticks.csv");
        let mut file = std::fs::File::create(&path).unwrap();
        writeln!(file, "{}", ticks::CSV_HEADER).unwrap();
        let mut ts = start_ns;
        let mut first_bad: Option<usize> = None;
        for (i, (gap, bid, ask, last)) in rows.iter().enumerate() {
            ts += gap;
            writeln!(file, "{ts},{RELIANCE},{bid},{ask},{last}").unwrap();
            let parses = |p: &String| {
                p.parse::<Decimal>()
                    .is_ok_and(|d| d > Decimal::ZERO && d <= MAX_PRICE)
            };
            if first_bad.is_none() && !(parses(bid) && parses(ask) && parses(last)) {
                first_bad = Some(i + 2);
            }
        }
        drop(file);
        let reader = ticks::open(&path, TickOptions::with_registry(0, &registry)).unwrap();
        let options = RunOptions {
            input: "fuzz".into(),
            seed: 0,
            progress: Box::new(|_| {}),
        };
        let result = actix::System::new().block_on(engine::run(
            &settings,
            &registry,
            &strategies,
            reader,
            options,
        ));
        match (first_bad, result) {
            (None, Ok((outcome, _))) => prop_assert_eq!(outcome.ticks, rows.len() as u64),
            (Some(line), Err(e)) => {
                let e = e.to_string();
                prop_assert!(e.starts_with(&format!("line {line}: ")), "{e}");
            }
            (bad, other) => prop_assert!(false, "bad line {bad:?}, run {:?}", other.map(|_| ())),
        }
        Ok(())
    });
}
