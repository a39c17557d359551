//! The join and percentile logic on hand-made records, the benchmark configuration, and
//! one short run on the embedded broker (structure and loss only: no timing assertions).

use super::chains::{Chains, Counts, Kind, Observation, Window};
use super::report::{HopStats, Loss};
use super::*;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{Broker, TickMode};
use crate::risk::RiskLimits;
use crate::settings::Settings;
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

const MS: i64 = 1_000_000;

fn seen(kind: Kind, correlation_id: Uuid, sent_ns: i64) -> Observation {
    Observation {
        kind,
        correlation_id,
        sent_ns,
        seen_ns: sent_ns + MS / 2,
    }
}

/// A whole chain starting at `t0`: signal +1 ms, validated +3 ms, fill +6 ms.
fn chain(t0: i64) -> (Uuid, Vec<Observation>) {
    let id = Uuid::new_v4();
    let records = vec![
        seen(Kind::Tick, id, t0),
        seen(Kind::Signal, id, t0 + MS),
        seen(Kind::Validated, id, t0 + 3 * MS),
        seen(Kind::Filled, id, t0 + 6 * MS),
    ];
    (id, records)
}

const WINDOW: Window = Window {
    start_ns: 1_000 * MS,
    end_ns: 2_000 * MS,
};

fn only_value(h: &Histogram<u64>) -> u64 {
    assert_eq!(h.len(), 1, "one sample");
    h.max()
}

#[test]
fn joins_a_chain_by_correlation_id_into_each_hop() {
    let mut chains = Chains::default();
    let (_, records) = chain(1_500 * MS);
    records.into_iter().for_each(|o| chains.observe(o));

    let l = chains.latencies(WINDOW);
    let near = |h: &Histogram<u64>, ns: i64| {
        let v = only_value(h) as i64;
        assert!((v - ns).abs() <= ns / 500, "{v} ≈ {ns}");
    };
    near(&l.tick_to_signal, MS);
    near(&l.signal_to_validated, 2 * MS);
    near(&l.validated_to_fill, 3 * MS);
    near(&l.tick_to_fill, 6 * MS);
    near(&l.tick_delivery, MS / 2);
    assert_eq!(l.ticks_in_window, 1);
}

#[test]
fn joins_records_whatever_order_they_arrive_in() {
    let mut chains = Chains::default();
    let (_, mut records) = chain(1_500 * MS);
    records.reverse();
    records.into_iter().for_each(|o| chains.observe(o));
    let l = chains.latencies(WINDOW);
    assert_eq!(l.tick_to_fill.len(), 1);
    assert_eq!(l.tick_to_signal.len(), 1);
}

#[test]
fn chains_whose_tick_was_sent_outside_the_window_are_counted_but_not_measured() {
    let mut chains = Chains::default();
    for t0 in [500 * MS, 1_200 * MS, 2_000 * MS, 2_500 * MS] {
        chain(t0).1.into_iter().for_each(|o| chains.observe(o));
    }
    let l = chains.latencies(WINDOW);
    assert_eq!(l.ticks_in_window, 1, "only the chain at 1.2 s");
    assert_eq!(l.tick_to_fill.len(), 1);
    assert_eq!(chains.counts().ticks, 4);
    assert_eq!(chains.counts().filled, 4);
}

#[test]
fn a_chain_without_its_tick_is_placed_by_its_signal() {
    let mut chains = Chains::default();
    let (_, records) = chain(1_500 * MS);
    records
        .into_iter()
        .filter(|o| o.kind != Kind::Tick)
        .for_each(|o| chains.observe(o));
    let l = chains.latencies(WINDOW);
    assert_eq!(l.ticks_in_window, 0);
    assert_eq!(l.tick_to_signal.len(), 0);
    assert_eq!(l.signal_to_validated.len(), 1);
    assert_eq!(l.validated_to_fill.len(), 1);
    assert_eq!(l.tick_to_fill.len(), 0, "no tick, no end-to-end sample");
}

#[test]
fn a_fill_caused_by_a_later_tick_joins_no_hop() {
    // A resting order filled by a tick: the fill carries that tick's correlation id.
    let mut chains = Chains::default();
    let id = Uuid::new_v4();
    chains.observe(seen(Kind::Tick, id, 1_500 * MS));
    chains.observe(seen(Kind::Filled, id, 1_502 * MS));
    let l = chains.latencies(WINDOW);
    assert_eq!(l.validated_to_fill.len(), 0);
    assert_eq!(l.tick_to_fill.len(), 0);
    assert_eq!(chains.counts().filled, 1);
}

#[test]
fn counts_every_kind_and_duplicates_and_keeps_the_first_record() {
    let mut chains = Chains::default();
    let (id, records) = chain(1_500 * MS);
    records.into_iter().for_each(|o| chains.observe(o));
    chains.observe(seen(Kind::Signal, id, 1_900 * MS));
    let other = Uuid::new_v4();
    chains.observe(seen(Kind::Tick, other, 1_600 * MS));
    chains.observe(seen(Kind::Signal, other, 1_601 * MS));
    chains.observe(seen(Kind::Rejected, other, 1_602 * MS));
    chains.observe(seen(Kind::Rejected, other, 1_603 * MS));
    chains.observe(seen(Kind::Failed, Uuid::new_v4(), 1_603 * MS));
    chains.unreadable();
    chains.reread();

    let expected = Counts {
        ticks: 2,
        signals: 2,
        validated: 1,
        rejected: 1,
        filled: 1,
        failed: 1,
        duplicates: 2,
        reread: 1,
        unreadable: 1,
    };
    assert_eq!(chains.counts(), expected);
    let l = chains.latencies(WINDOW);
    let v = only_value(&l.signal_to_validated) as i64;
    assert!(
        (v - 2 * MS).abs() <= MS / 500,
        "the first signal is kept: {v}"
    );
}

#[test]
fn a_negative_difference_counts_as_zero() {
    let mut chains = Chains::default();
    let id = Uuid::new_v4();
    chains.observe(seen(Kind::Tick, id, 1_500 * MS));
    chains.observe(seen(Kind::Signal, id, 1_499 * MS));
    let l = chains.latencies(WINDOW);
    assert_eq!(only_value(&l.tick_to_signal), 0);
}

#[test]
fn hop_stats_give_the_percentiles_in_microseconds() {
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000_000, 3).unwrap();
    for us in 1..=1_000u64 {
        h.record(us * 1_000).unwrap();
    }
    let s = HopStats::of(&h);
    assert_eq!(s.count, 1_000);
    let near = |got: f64, want: f64| assert!((got - want).abs() <= want / 500.0, "{got} ≈ {want}");
    near(s.p50_us, 500.0);
    near(s.p99_us, 990.0);
    near(s.p999_us, 999.0);
    near(s.max_us, 1_000.0);

    let empty = Histogram::<u64>::new(3).unwrap();
    assert_eq!(HopStats::of(&empty).count, 0);
    assert_eq!(HopStats::of(&empty).p99_us, 0.0);
}

#[test]
fn loss_is_what_went_in_minus_what_came_out() {
    let counts = Counts {
        ticks: 95,
        signals: 10,
        validated: 7,
        rejected: 2,
        filled: 6,
        failed: 0,
        ..Counts::default()
    };
    let loss = Loss::of(&counts, 100, 4);
    assert_eq!(
        loss,
        Loss {
            ticks: 5,
            ticks_conflated: 4,
            signals: 1,
            orders: 1
        }
    );
    let none = Counts {
        ticks: 100,
        signals: 9,
        validated: 7,
        rejected: 2,
        filled: 6,
        failed: 1,
        ..counts
    };
    assert_eq!(Loss::of(&none, 100, 0), Loss::default());
}

fn default_settings() -> Settings {
    Settings::load_from(None, &HashMap::new()).expect("the defaults load")
}

#[test]
fn bench_settings_run_one_ema_cross_on_paper_without_limits() {
    let registry = InstrumentRegistry::embedded().unwrap();
    let targets = all_tradable(&registry, TickMode::Quote);
    assert!(targets.len() > 20, "the embedded registry's equities");
    let s = bench_settings(&default_settings(), &registry, &targets).unwrap();
    assert_eq!(s.brokers.enabled, vec![Broker::Paper]);
    assert_eq!(s.risk.paper, RiskLimits::default());
    assert!(s.paper.allow_short && !s.market_hours.enforce && !s.api.enabled);
    assert_eq!(s.strategies.len(), 1);
    let strategy = &s.strategies[runner::STRATEGY_ID];
    assert_eq!(strategy.instruments.len(), targets.len());
    assert_eq!(strategy.params.kind(), "ema_cross");
}

#[test]
fn bench_settings_refuse_a_subscription_with_nothing_tradable() {
    let registry = InstrumentRegistry::embedded().unwrap();
    let nifty: crate::settings::Subscription = "NIFTY 50:ltp".parse().unwrap();
    let targets = crate::actors::market_feed::resolve_targets(&[nifty], &registry).unwrap();
    assert!(matches!(
        bench_settings(&default_settings(), &registry, &targets),
        Err(BenchError::Setup(_))
    ));
}

#[actix::test]
async fn a_short_run_on_the_embedded_broker_sees_every_tick_and_loses_nothing() {
    let mut settings = default_settings();
    settings.log.level = "warn".into();
    let options = BenchOptions {
        rate: 500,
        duration: Duration::from_secs(2),
        warmup: Duration::from_secs(1),
        targets: Vec::new(),
    };
    let report = run(&settings, options).await.expect("the benchmark runs");

    assert_eq!(report.broker, "embedded");
    assert_eq!(report.rate_requested, 500);
    assert!(report.instruments > 20);
    assert!(report.ticks_sent > 0 && report.ticks_seen > 0, "{report:?}");
    assert!(report.ticks_sent_total >= report.ticks_sent);
    assert_eq!(report.counts.ticks, report.ticks_sent_total, "{report:?}");
    // `ticks_conflated` is a process-wide counter that other tests' feeds also move.
    let Loss {
        ticks,
        signals,
        orders,
        ..
    } = report.loss;
    assert_eq!((ticks, signals, orders), (0, 0, 0), "{report:?}");
    let c = report.counts;
    assert_eq!(c.duplicates + c.reread + c.unreadable, 0, "{c:?}");
    assert_eq!(report.hops.tick_delivery.count, report.ticks_seen);
    let json = serde_json::to_value(&report).unwrap();
    for hop in [
        "tick_to_signal",
        "signal_to_validated",
        "validated_to_fill",
        "tick_to_fill",
    ] {
        for field in ["count", "p50_us", "p99_us", "p999_us", "max_us"] {
            assert!(json["hops"][hop][field].is_number(), "hops.{hop}.{field}");
        }
    }
    for field in ["ticks", "ticks_conflated", "signals", "orders"] {
        assert!(json["loss"][field].is_number(), "loss.{field}");
    }
}
