//! `Strategy::on_tick` of each strategy kind on a pre-generated random-walk tick stream,
//! with its [`Ledger`] as the strategy runner keeps it.
//!
//! The stream interleaves 8 instruments (so the per-token state map is exercised), each a
//! seeded random walk in 0.05 ticks around 1000 with one depth level a side (so
//! `ema_cross` takes the bid/ask mid). Every intent is sent into the ledger and filled at
//! once in full, so the strategy keeps trading and never waits on an order in flight: the
//! measurement is the steady state, intents and their ledger bookkeeping included.
//! Strategies and ledgers keep their state across iterations. Throughput is in elements
//! (ticks per second).
//!
//! Run: `cargo bench --bench strategy_step` (add `-- ema_cross` etc. to filter).

use alpha_panda::messages::{
    Broker, DepthLevel, Fees, MarketDepth, MarketTick, OrderFilled, OrderRef, TickMode,
    client_order_id_of_signal,
};
use alpha_panda::strategy::{
    Ledger, OrderIntent, Strategy, StrategyContext, StrategyParams, StrategyRegistry,
};
use chrono::{DateTime, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use std::hint::black_box;
use uuid::Uuid;

const TICKS: usize = 10_000;
const TOKENS: usize = 8;
const STRATEGY: &str = "bench";

fn ts() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0)
        .single()
        .expect("valid timestamp")
}

/// Seeded random walks, one per token, interleaved round-robin.
fn random_walk_ticks() -> Vec<MarketTick> {
    let mut rng = StdRng::seed_from_u64(42);
    // Prices in paise (1/100 rupee) moving by −1..=+1 ticks of 5 paise.
    let mut paise = [100_000_i64; TOKENS];
    let level = |p: i64| DepthLevel {
        quantity: 100,
        price: Decimal::new(p, 2),
        orders: 1,
    };
    let mut ticks = Vec::with_capacity(TICKS);
    for _ in 0..TICKS / TOKENS {
        for (token, price) in (1_u32..).zip(paise.iter_mut()) {
            *price = (*price + 5 * rng.random_range(-1..=1_i64)).max(100);
            let mut tick = MarketTick::ltp(token, Decimal::new(*price, 2));
            tick.mode = TickMode::Full;
            tick.depth = Some(MarketDepth {
                bids: vec![level(*price - 5)],
                asks: vec![level(*price + 5)],
            });
            ticks.push(tick);
        }
    }
    ticks
}

fn strategies() -> Vec<(&'static str, StrategyParams)> {
    [
        (
            "momentum",
            "kind = \"momentum\"\nlookback = 20\nthreshold = \"0.0002\"\nquantity = 10",
        ),
        (
            "rsi",
            "kind = \"rsi\"\nperiod = 14\noversold = 30\noverbought = 70\nquantity = 10",
        ),
        (
            "mean_reversion",
            "kind = \"mean_reversion\"\nrsi_period = 14\noversold = 30\noverbought = 70\n\
             bb_period = 20\nbb_k = \"2\"\nquantity = 10",
        ),
        (
            "ema_cross",
            "kind = \"ema_cross\"\nfast = 10\nslow = 20\nquantity = 100",
        ),
    ]
    .into_iter()
    .map(|(name, text)| (name, StrategyParams::from_toml(text).expect("valid params")))
    .collect()
}

/// One strategy and its ledger; every intent is sent and filled at once.
struct Slot {
    strategy: Box<dyn Strategy>,
    ledger: Ledger,
    at: DateTime<Utc>,
    sent: u128,
}

impl Slot {
    fn new(params: &StrategyParams) -> Self {
        Slot {
            strategy: StrategyRegistry::builtin()
                .build(params)
                .expect("valid params build"),
            ledger: Ledger::default(),
            at: ts(),
            sent: 0,
        }
    }

    /// One tick; whether an intent came out.
    fn step(&mut self, tick: &MarketTick) -> bool {
        let ctx = StrategyContext::new(self.at, STRATEGY, Broker::Paper, tick.token, &self.ledger);
        let intent = self
            .strategy
            .on_tick(tick, &ctx)
            .expect("built-in kinds do not fail");
        match intent {
            Some(intent) => {
                self.send_and_fill(tick, &intent);
                true
            }
            None => false,
        }
    }

    fn send_and_fill(&mut self, tick: &MarketTick, intent: &OrderIntent) {
        self.sent += 1;
        let signal_id = Uuid::from_u128(self.sent);
        let position = self.ledger.position(tick.token);
        let signal = intent
            .clone()
            .into_signal(STRATEGY, Broker::Paper, tick, position);
        self.ledger.sent(signal_id, &signal, self.at);
        let fill = OrderFilled {
            order: OrderRef {
                client_order_id: client_order_id_of_signal(signal_id),
                broker_order_id: None,
                strategy_id: STRATEGY.into(),
                broker: Broker::Paper,
                token: tick.token,
                symbol: String::new(),
                side: intent.side,
            },
            fill_id: self.sent.to_string(),
            quantity: intent.quantity,
            price: tick.last_price,
            fees: Fees::default(),
            cumulative_quantity: intent.quantity,
            order_quantity: intent.quantity,
            filled_at: self.at,
        };
        self.ledger.filled(&fill);
    }
}

fn bench_on_tick(c: &mut Criterion) {
    let ticks = random_walk_ticks();
    let mut group = c.benchmark_group("strategy_step");
    group.throughput(Throughput::Elements(ticks.len() as u64));
    for (name, params) in strategies() {
        let mut slot = Slot::new(&params);
        let intents = ticks.iter().filter(|t| slot.step(t)).count();
        eprintln!("{name}: {intents} intents over {} ticks", ticks.len());
        group.bench_function(name, |b| {
            b.iter(|| {
                for tick in &ticks {
                    black_box(slot.step(black_box(tick)));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_on_tick);
criterion_main!(benches);
