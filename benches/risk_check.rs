//! `BrokerRisk::check` with every rule on: the risk manager's per-signal cost.
//!
//! The state is populated like a busy day (20 strategies × 50 instruments with positions,
//! 1000 instruments with last prices). Three signals: one approved (which records a daily
//! trade and an open order; the count limits are set high enough never to bind), one
//! refused by a single rule, and one refused by every rule (the worst case: eight reasons,
//! each a formatted message).
//!
//! Run: `cargo bench --bench risk_check` (add `-- approved` or `-- rejected` to filter).

use alpha_panda::messages::{
    Broker, Fees, OrderFilled, OrderRef, OrderType, Side, TradingSignal, Validity,
};
use alpha_panda::risk::{BrokerRisk, RiskLimits, TradingState};
use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::hint::black_box;

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
    risk.on_tick(TOKEN, last);
    for token in 1..1_000 {
        risk.on_tick(token, Decimal::new(10_000 + i64::from(token), 2));
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

    let mut approving = busy(u32::MAX);
    let approved = signal(Side::Buy, 10, last);
    group.bench_function("approved", |b| {
        b.iter(|| black_box(approving.check(black_box(&approved), now)).is_ok())
    });

    let mut refusing = busy(u32::MAX);
    let too_many = signal(Side::Buy, 501, last);
    group.bench_function("rejected/one_rule", |b| {
        b.iter(|| black_box(refusing.check(black_box(&too_many), now)).is_err())
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
    let _ = worst.check(&signal(Side::Sell, 1, last), now);
    worst.set_state(TradingState::Halted);
    let everything = signal(Side::Buy, 1_000, Decimal::new(300_000, 2));
    let reasons = worst.check(&everything, now).err().map_or(0, |r| r.len());
    assert_eq!(reasons, 8, "the worst case should fail every rule");
    group.bench_function("rejected/every_rule", |b| {
        b.iter(|| black_box(worst.check(black_box(&everything), now)).is_err())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
