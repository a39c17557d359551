//! The options example strategy (examples/options) in a backtest on simulator ticks: the
//! simulator's NIFTY 50 walk and the ATM call and put priced from it (Black-76), written as
//! a tick file for one trading day before the weekly expiry, then the same engine as
//! `backtest` with config/examples/options.toml and an entry window. The strategy's own
//! unit tests run here too (the module is compiled into this test).

#[path = "../examples/options/strategy.rs"]
mod strategy;

use alpha_panda::Daemon;
use alpha_panda::backtest::engine::{self, RunOptions};
use alpha_panda::backtest::report::Outcome;
use alpha_panda::backtest::ticks::{self, TickOptions};
use alpha_panda::market::InstrumentRegistry;
use alpha_panda::market::hours::IST;
use alpha_panda::messages::Side;
use alpha_panda::settings::{Settings, master_price};
use alpha_panda::sim::export::{self, ExportOptions};
use alpha_panda::sim::{Derivatives, Market};
use alpha_panda::strategy::StrategyParams;
use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Monday 7 Dec 2026: NIFTY's weekly options expire on Tuesday the 8th.
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).expect("a date")
}

fn d(text: &str) -> Decimal {
    text.parse().expect("a decimal")
}

fn paisa(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// KITE.md's options schedule for one fill: ₹20 brokerage, STT 0.15 % of the premium on a
/// sell, exchange 0.03503 %, SEBI ₹10 a crore, stamp 0.003 % on a buy, GST 18 % on
/// brokerage + exchange + SEBI; each rounded to the paisa.
fn option_charges(side: Side, quantity: u32, premium: Decimal) -> Decimal {
    let turnover = Decimal::from(quantity) * premium;
    let brokerage = d("20");
    let stt = if side == Side::Sell {
        paisa(turnover * d("0.0015"))
    } else {
        Decimal::ZERO
    };
    let stamp = if side == Side::Buy {
        paisa(turnover * d("0.00003"))
    } else {
        Decimal::ZERO
    };
    let exchange = paisa(turnover * d("0.0003503"));
    let sebi = paisa(turnover * d("0.000001"));
    let gst = paisa((brokerage + exchange + sebi) * d("0.18"));
    brokerage + stt + stamp + exchange + sebi + gst
}

/// The example's settings with an entry window (09:20–14:00 IST) and a 15:10 exit, its
/// rules resolved for [`day`] on the embedded registry of that day.
fn settings(registry: &InstrumentRegistry) -> Settings {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/options.toml");
    let mut loaded = Settings::load_from(Some(&config), &HashMap::new()).expect("example config");
    let straddle = loaded.strategies.get_mut("straddle_1").expect("straddle_1");
    straddle.params = StrategyParams::from_toml(
        "kind = \"short_straddle\"\nlots = 2\nstop_loss_pct = \"30\"\n\
         entry_from = \"09:20\"\nentry_until = \"14:00\"\nexit_at = \"15:10\"",
    )
    .expect("params");
    let (resolved, _) = loaded
        .resolve_rules(registry, day(), &master_price)
        .expect("the rules resolve");
    resolved
}

/// The simulator's ticks of the index and the two legs, one a second, 09:15–15:25 IST.
fn tick_file(dir: &Path, registry: &InstrumentRegistry, legs: &[u32]) -> PathBuf {
    let nifty = registry.by_symbol("NSE:NIFTY 50").expect("NIFTY 50").token;
    let mut market = Market::new(registry, 11, &Derivatives::default());
    let start = IST
        .from_local_datetime(&day().and_hms_opt(9, 15, 0).expect("09:15"))
        .single()
        .expect("a time")
        .with_timezone(&Utc);
    let mut tokens = vec![nifty];
    tokens.extend_from_slice(legs);
    let path = dir.join("ticks.csv");
    let file = std::fs::File::create(&path).expect("create the tick file");
    let options = ExportOptions {
        tokens,
        start,
        steps: 6 * 3600 + 10 * 60,
        every_secs: 1,
    };
    export::write_csv(file, &mut market, &options).expect("write the ticks");
    path
}

async fn backtest(settings: &Settings, registry: &InstrumentRegistry, ticks: &Path) -> Outcome {
    let settings = engine::backtest_settings(settings, 5);
    let builder = Daemon::builder().strategy(strategy::KIND, strategy::factory);
    let reader = ticks::open(ticks, TickOptions::with_registry(5, registry)).expect("open");
    let options = RunOptions {
        input: ticks.display().to_string(),
        seed: 5,
        progress: Box::new(|_| {}),
    };
    let (outcome, stats) = engine::run(&settings, registry, builder.strategies(), reader, options)
        .await
        .expect("the backtest runs");
    assert_eq!(stats.handler_errors, 0);
    outcome
}

#[actix::test]
async fn a_backtest_on_simulator_ticks_sells_both_legs_in_lots_and_buys_them_back_at_exit() {
    let registry = InstrumentRegistry::embedded_on(day()).expect("the registry of the day");
    let settings = settings(&registry);
    let legs: Vec<u32> = settings.strategies["straddle_1"]
        .instruments
        .iter()
        .map(|s| registry.by_symbol(s).expect("a resolved leg").token)
        .collect();
    let symbols: Vec<&str> = legs
        .iter()
        .map(|t| registry.by_token(*t).map_or("", |i| i.symbol.as_str()))
        .collect();
    assert_eq!(
        symbols,
        ["NIFTY26D0826000CE", "NIFTY26D0826000PE"],
        "ATM at 26000"
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let ticks = tick_file(dir.path(), &registry, &legs);
    let outcome = backtest(&settings, &registry, &ticks).await;
    let run = outcome
        .strategies
        .iter()
        .find(|s| s.strategy_id == "straddle_1")
        .expect("the straddle ran");

    // Each leg: one sell of 2 lots (130) inside the window, one buy back of 130 (the stop
    // or the 15:10 exit). The index is never traded.
    let mut charges = Decimal::ZERO;
    let mut cash_flow = Decimal::ZERO;
    for leg in &legs {
        let fills: Vec<_> = run.fills.iter().filter(|f| f.order.token == *leg).collect();
        let sides: Vec<(Side, u32)> = fills.iter().map(|f| (f.order.side, f.quantity)).collect();
        assert_eq!(sides, [(Side::Sell, 130), (Side::Buy, 130)], "leg {leg}");
        let sold_at = fills[0].filled_at.with_timezone(&IST).time();
        assert!(sold_at >= chrono::NaiveTime::from_hms_opt(9, 20, 0).expect("09:20"));
        for fill in &fills {
            let expected = option_charges(fill.order.side, fill.quantity, fill.price);
            assert_eq!(fill.fees.total, expected, "charges of {fill:?}");
            charges += fill.fees.total;
            let value = Decimal::from(fill.quantity) * fill.price;
            cash_flow += if fill.order.side == Side::Sell {
                value
            } else {
                -value
            };
        }
    }
    assert_eq!(run.fills.len(), 4, "only the two legs traded");
    // Flat at the end: the realized P&L is the premium kept (charges are booked apart),
    // and the cash is the starting cash plus the premium kept less every charge.
    let book = &run.final_portfolio;
    assert!(
        book.positions.iter().all(|p| p.quantity == 0),
        "{:?}",
        book.positions
    );
    assert_eq!(book.fees, charges);
    assert_eq!(book.realized_pnl, cash_flow);
    assert_eq!(book.cash, outcome.starting_cash + cash_flow - charges);

    // Same ticks, configuration and seed: the same fills, to the id and the paisa.
    let again = backtest(&settings, &registry, &ticks).await;
    let again = again
        .strategies
        .iter()
        .find(|s| s.strategy_id == "straddle_1")
        .expect("the straddle ran again");
    assert_eq!(again.fills, run.fills);
}
