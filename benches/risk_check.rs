//! `BrokerRisk::check` with every rule on: the risk manager's per-signal cost.
//!
//! The state is populated like a busy day (20 strategies × 50 instruments with positions,
//! 1000 instruments with last prices). Three signals, each a new raw signal (a known one
//! only looks its verdict up): one approved (which records a daily trade and an order in
//! flight, on a fresh copy of the state each time; the count limits never bind), one
//! refused by a single rule, and one refused by every rule (the worst case: eight reasons,
//! each a formatted message).
//!
//! Also the whole [`RiskManager`] actor with an in-memory store (which now holds only the
//! kill switch; nothing is saved per record): `risk_manager/record_when_full` and
//! `risk_manager/run_10k_each` (10,000 fills and 10,000 signals, interleaved, from an
//! empty state).
//!
//! Run: `cargo bench --bench risk_check` (add `-- approved`, `-- rejected` or
//! `-- risk_manager` to filter).

use actix::prelude::*;
use alpha_panda::actors::risk_manager::RiskManager;
use alpha_panda::messages::{
    Broker, Envelope, Fees, OrderFilled, OrderRef, OrderType, RecordOrigin, Side, TradingSignal,
    Validity,
};
use alpha_panda::risk::{BrokerRisk, RiskLimits, TradingState};
use alpha_panda::store::MemoryStore;
use alpha_panda::streaming::ProducerHandle;
use alpha_panda::streaming::consumer::Deliver;
use alpha_panda::streaming::producer::{Delivered, Publish, PublishError};
use chrono::{DateTime, TimeZone, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const TOKEN: u32 = 738_561;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 5, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn limits(count_limit: u32) -> RiskLimits {
    RiskLimits {
        max_order_quantity: Some(500),
        max_order_value: Some(Decimal::new(1_000_000, 0)),
        max_position: Some(1_000),
        max_daily_trades: Some(count_limit),
        price_band_pct: Some(Decimal::new(5, 0)),
        daily_loss_limit: Some(Decimal::new(50_000, 0)),
        max_open_orders: Some(count_limit),
        ..RiskLimits::default()
    }
}

fn signal(side: Side, quantity: u32, price: Decimal) -> TradingSignal {
    TradingSignal {
        strategy_id: "strategy-07".into(),
        broker: Broker::Paper,
        token: TOKEN,
        symbol: "RELIANCE".into(),
        side,
        quantity,
        order_type: OrderType::Limit,
        price: Some(price),
        trigger_price: None,
        validity: Validity::Day,
        reference_price: price,
        reason: "bench".into(),
        product: None,
        position: 0,
    }
}

fn fill(strategy: usize, token: u32, quantity: u32, price: Decimal) -> OrderFilled {
    OrderFilled {
        order: OrderRef {
            client_order_id: format!("o-{strategy}-{token}"),
            broker_order_id: None,
            strategy_id: format!("strategy-{strategy:02}"),
            broker: Broker::Paper,
            token,
            symbol: "X".into(),
            side: Side::Buy,
        },
        fill_id: format!("f-{strategy}-{token}"),
        quantity,
        price,
        fees: Fees::default(),
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: at(),
    }
}

/// A paper state with every rule on, prices for 1000 instruments and 1000 positions.
fn busy(count_limit: u32) -> BrokerRisk {
    let mut risk = BrokerRisk::new(Broker::Paper, limits(count_limit));
    let last = Decimal::new(245_035, 2);
    let _ = risk.on_tick(TOKEN, last);
    for token in 1..1_000 {
        let _ = risk.on_tick(token, Decimal::new(10_000 + i64::from(token), 2));
    }
    for strategy in 0..20 {
        for token in (1..50).chain([TOKEN]) {
            let _ = risk.on_fill(&fill(strategy, token, 100, last), at());
        }
    }
    risk
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("risk_check");
    group.throughput(Throughput::Elements(1));
    let now = at();
    let last = Decimal::new(245_035, 2);

    // Each iteration a new raw signal (a known one would only look its verdict up) on a
    // fresh copy of the state (approving records an order in flight).
    let approving = busy(u32::MAX);
    let approved = signal(Side::Buy, 10, last);
    group.bench_function("approved", |b| {
        b.iter_batched_ref(
            || approving.clone(),
            |risk| black_box(risk.check(Uuid::new_v4(), black_box(&approved), now)).is_ok(),
            BatchSize::LargeInput,
        )
    });

    let mut refusing = busy(u32::MAX);
    let too_many = signal(Side::Buy, 501, last);
    group.bench_function("rejected/one_rule", |b| {
        b.iter(|| black_box(refusing.check(Uuid::new_v4(), black_box(&too_many), now)).is_err())
    });

    // Halted after a loss, both count limits reached, a price far outside the band.
    // Long 100 throughout: buy 2000, sell 2000 at 2000.00 (a loss of 900700.00, which
    // halts), then one reducing order approved to reach both count limits of 1.
    let mut worst = busy(1);
    let _ = worst.on_fill(&fill(7, TOKEN, 2_000, last), now);
    let mut loss = fill(7, TOKEN, 2_000, Decimal::new(2_000, 0));
    loss.order.side = Side::Sell;
    let _ = worst.on_fill(&loss, now);
    worst.set_state(TradingState::Active);
    let _ = worst.check(Uuid::new_v4(), &signal(Side::Sell, 1, last), now);
    worst.set_state(TradingState::Halted);
    let everything = signal(Side::Buy, 1_000, Decimal::new(300_000, 2));
    let reasons = worst
        .check(Uuid::new_v4(), &everything, now)
        .err()
        .map_or(0, |r| r.len());
    assert_eq!(reasons, 8, "the worst case should fail every rule");
    group.bench_function("rejected/every_rule", |b| {
        b.iter(|| black_box(worst.check(Uuid::new_v4(), black_box(&everything), now)).is_err())
    });
    group.finish();
}

/// A producer that acknowledges and forgets (a probe would keep every record).
struct Acker;

impl Actor for Acker {
    type Context = Context<Self>;
}

impl Handler<Publish> for Acker {
    type Result = Result<Delivered, PublishError>;
    fn handle(&mut self, _: Publish, _: &mut Self::Context) -> Self::Result {
        Ok(Delivered {
            partition: 0,
            offset: 0,
        })
    }
}

fn origin() -> RecordOrigin {
    RecordOrigin {
        topic: "bench".into(),
        partition: 0,
        offset: 0,
    }
}

/// A risk manager for paper with no limits (every signal is validated and remembered).
fn risk_manager() -> Addr<RiskManager> {
    let producer = ProducerHandle::new(Acker.start().recipient());
    let limits = BTreeMap::from([(Broker::Paper, RiskLimits::default())]);
    RiskManager::new(limits, producer, Arc::new(MemoryStore::default())).start()
}

/// Record `n`: a fill with a new fill id when even, a new raw signal when odd; awaited
/// with its outputs and its save.
async fn feed(risk: &Addr<RiskManager>, n: u64) {
    let completion = if n.is_multiple_of(2) {
        let mut f = fill(7, TOKEN, 1, Decimal::new(245_035, 2));
        f.fill_id = format!("fill-{n}");
        let d = Deliver {
            envelope: Envelope::root(f, "bench", at()),
            origin: origin(),
        };
        risk.send(d).await
    } else {
        let d = Deliver {
            envelope: Envelope::root(signal(Side::Buy, 1, Decimal::ONE), "bench", at()),
            origin: origin(),
        };
        risk.send(d).await
    };
    if let Ok(Ok(c)) = completion {
        let _ = futures::future::try_join_all(c.deliveries).await;
    }
}

fn bench_actor(c: &mut Criterion) {
    let mut group = c.benchmark_group("risk_manager");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    let system = actix::System::new();

    // Past the bound of 5,000 remembered ids of each kind.
    let full = system.block_on(async {
        let risk = risk_manager();
        for n in 0..12_000 {
            feed(&risk, n).await;
        }
        risk
    });
    let mut next = 12_000;
    group.throughput(Throughput::Elements(1));
    group.bench_function("record_when_full", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    feed(&full, next).await;
                    next += 1;
                }
                start.elapsed()
            })
        })
    });

    group.throughput(Throughput::Elements(20_000));
    group.bench_function("run_10k_each", |b| {
        b.iter_custom(|iters| {
            system.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let risk = risk_manager();
                    let start = Instant::now();
                    for n in 0..20_000 {
                        feed(&risk, n).await;
                    }
                    total += start.elapsed();
                }
                total
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench, bench_actor);
criterion_main!(benches);
