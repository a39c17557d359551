//! Candle input: merging a directory, the ticks of bars in time order, and the consistency
//! of a candle backtest with the tick backtest of the same synthetic market, through the
//! strategies' bar callback.

use super::*;
use crate::backtest::engine::{self, RunOptions, Streaming};
use crate::backtest::report::{self, Outcome};
use crate::backtest::synthetic::{SyntheticOptions, write_csv};
use crate::backtest::ticks::TickReader;
use crate::market::hours::IST;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::Side;
use crate::settings::{Settings, StrategyParams};
use crate::strategy::indicators::Ema;
use crate::strategy::{Decision, OrderIntent, Strategy, StrategyContext, StrategyRegistry};
use chrono::TimeZone;
use rust_decimal::Decimal;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

const RELIANCE: u32 = 738_561;

fn ist(h: u32, m: u32) -> DateTime<Utc> {
    IST.with_ymd_and_hms(2026, 11, 2, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn write(dir: &Path, name: &str, rows: &[&str]) {
    let mut text = format!("{}\n", candles::CSV_HEADER);
    for row in rows {
        writeln!(text, "{row}").unwrap();
    }
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn a_directory_is_merged_by_time_then_token_into_ticks_without_look_ahead() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "b.csv",
        &[
            "2026-11-02T09:15:00+05:30,2,50,51,49.5,50.5,10,",
            "2026-11-02T09:16:00+05:30,2,50.5,51,50,50.25,20,",
        ],
    );
    write(
        dir.path(),
        "a.csv",
        &["2026-11-02T09:15:00+05:30,1,100,100.5,99,100.25,7,900"],
    );
    // Neither hidden nor non-CSV files are read.
    std::fs::write(dir.path().join(".partial.csv"), "garbage").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "garbage").unwrap();
    let read = |seed| {
        open(
            dir.path(),
            Interval::Minute,
            TickOptions {
                seed,
                ..TickOptions::default()
            },
        )
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
    };
    let ticks = read(0);
    let shown: Vec<(DateTime<Utc>, u32, String, Option<u32>)> = ticks
        .iter()
        .map(|t| {
            (
                t.ts,
                t.data.token,
                t.data.last_price.to_string(),
                t.data.volume_traded,
            )
        })
        .collect();
    let s = |n: i64| chrono::Duration::seconds(n);
    let p = |x: &str| x.to_owned();
    assert_eq!(
        shown,
        vec![
            (ist(9, 15), 1, p("100"), Some(0)),
            (ist(9, 15), 2, p("50"), Some(0)),
            (ist(9, 15) + s(15), 1, p("100.5"), Some(0)),
            (ist(9, 15) + s(15), 2, p("49.5"), Some(0)),
            (ist(9, 15) + s(30), 1, p("99"), Some(0)),
            (ist(9, 15) + s(30), 2, p("51"), Some(0)),
            (ist(9, 15) + s(45), 1, p("100.25"), Some(7)),
            (ist(9, 15) + s(45), 2, p("50.5"), Some(10)),
            (ist(9, 16), 2, p("50.5"), Some(10)),
            (ist(9, 16) + s(15), 2, p("50"), Some(10)),
            (ist(9, 16) + s(30), 2, p("51"), Some(10)),
            (ist(9, 16) + s(45), 2, p("50.25"), Some(30)),
        ]
    );
    assert!(ticks.iter().all(|t| t.data.check().is_ok()));
    assert_eq!(ticks[0].data.oi, Some(900));
    assert_eq!(ticks[0].data.best_bid(), ticks[0].data.best_ask());
    let ids = |ticks: &[Envelope<MarketTick>]| ticks.iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(&ticks), ids(&read(0)), "same files and seed: same ids");
    assert_ne!(ids(&ticks), ids(&read(1)));
}

#[test]
fn a_bad_line_in_a_directory_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "good.csv",
        &["2026-11-02T09:15:00+05:30,2,50,51,49.5,50.5,10,"],
    );
    write(
        dir.path(),
        "bad.csv",
        &[
            "2026-11-02T09:15:00+05:30,1,100,100.5,99,100.25,7,",
            "2026-11-02T09:16:00+05:30,1,100,99,99,100.25,7,",
        ],
    );
    let results: Vec<_> = open(dir.path(), Interval::Minute, TickOptions::default())
        .unwrap()
        .collect();
    let e = results.last().unwrap().as_ref().unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad.csv: line 3: high: 99 is below the open or close"
    );
    let empty = tempfile::tempdir().unwrap();
    let e = open(empty.path(), Interval::Minute, TickOptions::default())
        .err()
        .unwrap();
    assert!(e.to_string().contains("no *.csv candle files"), "{e}");
}

/// EMA crossover on minute closes (periods 2 and 5, 10 units a side) through the bar
/// callback: the runner calls it with each completed minute bar at the first tick of the
/// next minute, on a tick market and on the bars of that market alike. Every bar it sees
/// goes to `seen`.
struct MinuteCloseEma {
    fast: Ema,
    slow: Ema,
    target: i64,
    seen: Arc<Mutex<Vec<Candle>>>,
}

impl Strategy for MinuteCloseEma {
    fn on_tick(&mut self, _tick: &MarketTick, _ctx: &StrategyContext<'_>) -> Decision {
        Ok(None)
    }

    fn on_bar(&mut self, bar: &Candle, ctx: &StrategyContext<'_>) -> Decision {
        self.seen.lock().unwrap().push(bar.clone());
        let fast = self.fast.update(bar.close);
        let slow = self.slow.update(bar.close);
        if self.slow.count() < 5 {
            return Ok(None);
        }
        if let (Some(f), Some(s)) = (fast, slow) {
            self.target = match f.cmp(&s) {
                std::cmp::Ordering::Greater => 10,
                std::cmp::Ordering::Less => -10,
                std::cmp::Ordering::Equal => self.target,
            };
        }
        if ctx.has_pending() {
            return Ok(None);
        }
        Ok(OrderIntent::towards(
            ctx.position(),
            self.target,
            "minute close EMA",
        ))
    }
}

fn settings() -> Settings {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/backtest-ema.toml");
    let mut s = Settings::load_from(Some(&path), &HashMap::new()).unwrap();
    let params: StrategyParams = toml::from_str("kind = \"minute_close_ema\"").unwrap();
    s.strategies.get_mut("ema_bench").unwrap().params = params;
    engine::backtest_settings(&s, 7)
}

fn strategies(seen: &Arc<Mutex<Vec<Candle>>>) -> StrategyRegistry {
    let mut registry = StrategyRegistry::builtin();
    let seen = seen.clone();
    registry.register("minute_close_ema", move |_: &StrategyParams| {
        let strategy = MinuteCloseEma {
            fast: Ema::new(2),
            slow: Ema::new(5),
            target: 0,
            seen: seen.clone(),
        };
        Ok(Box::new(strategy) as Box<dyn Strategy>)
    });
    registry
}

/// The synthetic market (about 50 minutes of RELIANCE quotes) as tick file bytes.
fn market() -> Vec<u8> {
    let mut bytes = Vec::new();
    let options = SyntheticOptions {
        ticks: 30_000,
        seed: 11,
        token: RELIANCE,
        start_price: Decimal::new(2_500, 0),
        start: ist(9, 15),
    };
    write_csv(&mut bytes, options).unwrap();
    bytes
}

/// Runs one backtest of `ticks`, writes its report into `out` and returns the outcome and
/// the bars the strategy saw.
async fn backtest(
    ticks: impl Iterator<Item = Result<Envelope<MarketTick>, String>>,
    out: &Path,
) -> (Outcome, Vec<Candle>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let registry = InstrumentRegistry::embedded().unwrap();
    let options = RunOptions {
        input: "market".into(),
        seed: 7,
        progress: Box::new(|_| {}),
    };
    let streaming = Streaming {
        out,
        ticks_checked: false,
    };
    let (outcome, stats) = engine::run_streaming(
        &settings(),
        &registry,
        &strategies(&seen),
        ticks,
        options,
        streaming,
    )
    .await
    .unwrap();
    assert_eq!(stats.handler_errors, 0);
    report::write_all(&outcome, out).unwrap();
    let seen = seen.lock().unwrap().clone();
    (outcome, seen)
}

/// Every file of a report directory, by name.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// (side, quantity, price, minute of the fill) of each fill in fills.csv.
fn fills(dir: &Path) -> Vec<(Side, u32, Decimal, String)> {
    let text = std::fs::read_to_string(dir.join("fills.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{name} in {header:?}"))
    };
    let (ts, side, qty, price) = (col("time"), col("side"), col("quantity"), col("price"));
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let side = if f[side].eq_ignore_ascii_case("buy") {
                Side::Buy
            } else {
                Side::Sell
            };
            (
                side,
                f[qty].parse().unwrap(),
                f[price].parse().unwrap(),
                f[ts][..16].to_owned(),
            )
        })
        .collect()
}

#[actix::test]
async fn a_candle_backtest_agrees_with_the_tick_backtest_of_the_same_market_and_repeats_byte_for_byte()
 {
    let bytes = market();
    // The minute bars of the same market, written and read back as a candle file.
    let registry = InstrumentRegistry::embedded().unwrap();
    let envelopes: Vec<Envelope<MarketTick>> =
        TickReader::new(bytes.as_slice(), TickOptions::with_registry(7, &registry))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let bars = minute_candles(
        envelopes.iter().map(|e| &e.data),
        envelopes.iter().map(|e| e.ts),
    );
    let dir = tempfile::tempdir().unwrap();
    let candle_file = dir.path().join("reliance.csv");
    candles::write_csv(std::fs::File::create(&candle_file).unwrap(), &bars).unwrap();
    let candle_input = || {
        open(
            &candle_file,
            Interval::Minute,
            TickOptions::with_registry(7, &registry),
        )
        .unwrap()
        .map(|t| t.map_err(|e| e.to_string()))
    };

    let out = |name: &str| dir.path().join(name);
    let (ticks_a, tick_bars) =
        backtest(envelopes.clone().into_iter().map(Ok), &out("ticks-a")).await;
    backtest(envelopes.into_iter().map(Ok), &out("ticks-b")).await;
    let (candles_a, candle_bars) = backtest(candle_input(), &out("candles-a")).await;
    backtest(candle_input(), &out("candles-b")).await;

    // Deterministic: the same input twice gives the same report files, byte for byte.
    assert_eq!(files(&out("ticks-a")), files(&out("ticks-b")));
    assert_eq!(files(&out("candles-a")), files(&out("candles-b")));
    assert_eq!(candles_a.ticks, 4 * bars.len() as u64);

    // The bar callback saw every bar but the last (never completed), exactly, on both runs.
    assert_eq!(tick_bars, bars[..bars.len() - 1]);
    assert_eq!(candle_bars, tick_bars);

    // Consistent: the same decisions (count, side, quantity, minute) ...
    let (by_tick, by_bar) = (fills(&out("ticks-a")), fills(&out("candles-a")));
    assert!(
        by_tick.len() >= 4,
        "the market must make the strategy trade: {by_tick:?}"
    );
    let decisions = |f: &[(Side, u32, Decimal, String)]| {
        f.iter()
            .map(|(s, q, _, m)| (*s, *q, m.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(decisions(&by_tick), decisions(&by_bar));
    // ... at prices at most the widest spread (₹0.15) apart: the tick run fills at the
    // touch of the minute's first tick, the candle run at that tick's last price (the open).
    let tolerance = Decimal::new(15, 2);
    for (t, b) in by_tick.iter().zip(&by_bar) {
        assert!((t.2 - b.2).abs() <= tolerance, "{t:?} vs {b:?}");
    }
    // So realized P&L differs by at most tolerance × the quantity traded.
    let traded: u32 = by_tick.iter().map(|f| f.1).sum();
    let pnl = |o: &Outcome| o.strategies[0].final_portfolio.realized_pnl;
    let gap = (pnl(&ticks_a) - pnl(&candles_a)).abs();
    assert!(
        gap <= tolerance * Decimal::from(traded),
        "P&L {} vs {}",
        pnl(&ticks_a),
        pnl(&candles_a)
    );
}
