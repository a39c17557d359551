//! Strategies against hand-computed tick sequences: each sequence yields exactly the listed
//! intents, as (tick index, side, quantity), and no others.
//!
//! Every kind decides from its real position, so each sequence runs through the
//! [`Harness`] and every intent is filled at once, in full, at the tick's last price: the
//! position after an intent is then what the intent asked for, and nothing is ever
//! pending on the next tick. (What happens when an order is refused, partly filled or
//! left pending is in `harness_tests.rs`.)

use super::ema_cross::{mid_price, next_signal};
use crate::messages::{
    Broker, DepthLevel, Fees, MarketDepth, MarketTick, OrderFilled, OrderRef, OrderType, Side,
    Validity,
};
use crate::strategy::harness::Harness;
use crate::strategy::{
    Ledger, OrderIntent, Strategy, StrategyContext, StrategyParams, StrategyRegistry,
};
use chrono::{DateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use std::str::FromStr;

use Side::{Buy, Sell};

const TOKEN: u32 = 738_561;

/// One emitted intent as (tick index, side, quantity).
type Fired = (usize, Side, u32);

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("literal decimal")
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0)
        .single()
        .expect("valid timestamp")
}

fn ltp_ticks(token: u32, prices: &[i64]) -> Vec<MarketTick> {
    prices
        .iter()
        .map(|p| MarketTick::ltp(token, Decimal::from(*p)))
        .collect()
}

/// A tick with one depth level a side; `None` makes that side empty (quantity 0).
fn quote(last: &str, bid: Option<&str>, ask: Option<&str>) -> MarketTick {
    let level = |price: Option<&str>| DepthLevel {
        quantity: if price.is_some() { 10 } else { 0 },
        price: price.map_or(Decimal::ZERO, dec),
        orders: 1,
    };
    let mut tick = MarketTick::ltp(TOKEN, dec(last));
    tick.depth = Some(MarketDepth {
        bids: vec![level(bid)],
        asks: vec![level(ask)],
    });
    tick
}

fn build(params: &StrategyParams) -> Box<dyn Strategy> {
    StrategyRegistry::builtin()
        .build(params)
        .unwrap_or_else(|e| panic!("{params}: {e}"))
}

fn params(text: &str) -> StrategyParams {
    StrategyParams::from_toml(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Feeds one tick; an intent (which must be a DAY market order) is filled at once in full
/// at the tick's last price.
fn step(h: &mut Harness, tick: &MarketTick) -> Option<(Side, u32)> {
    let intent = h.tick(tick).expect("built-in kinds do not fail")?;
    assert_market_day(&intent);
    let before = h.position(tick.token);
    h.fill_last(intent.quantity, tick.last_price);
    let signed = match intent.side {
        Buy => i64::from(intent.quantity),
        Sell => -i64::from(intent.quantity),
    };
    assert_eq!(h.position(tick.token), before + signed, "{intent:?}");
    assert!(h.pending(tick.token).is_empty(), "{intent:?}");
    Some((intent.side, intent.quantity))
}

/// Feeds the ticks in order through a fresh instance, filling every intent.
fn run(params: &StrategyParams, ticks: &[MarketTick]) -> Vec<Fired> {
    let mut h = Harness::new(build(params));
    ticks
        .iter()
        .enumerate()
        .filter_map(|(i, tick)| step(&mut h, tick).map(|(side, qty)| (i, side, qty)))
        .collect()
}

fn assert_market_day(intent: &OrderIntent) {
    assert_eq!(intent.order_type, OrderType::Market, "{intent:?}");
    assert_eq!(intent.validity, Validity::Day, "{intent:?}");
    assert_eq!(
        (intent.price, intent.trigger_price, intent.product),
        (None, None, None),
        "{intent:?}"
    );
    assert!(!intent.reason.is_empty(), "{intent:?}");
}

fn momentum(lookback: usize, threshold: &str, quantity: u32) -> StrategyParams {
    params(&format!(
        "kind = \"momentum\"\nlookback = {lookback}\nthreshold = \"{threshold}\"\n\
         quantity = {quantity}"
    ))
}

fn rsi(period: usize, quantity: u32) -> StrategyParams {
    params(&format!(
        "kind = \"rsi\"\nperiod = {period}\noversold = 30\noverbought = 70\nquantity = {quantity}"
    ))
}

fn mean_reversion(bb_period: usize, bb_k: &str, quantity: u32) -> StrategyParams {
    params(&format!(
        "kind = \"mean_reversion\"\nrsi_period = 2\noversold = 30\noverbought = 70\n\
         bb_period = {bb_period}\nbb_k = \"{bb_k}\"\nquantity = {quantity}"
    ))
}

fn ema_cross(fast: usize, slow: usize, quantity: u32) -> StrategyParams {
    params(&format!(
        "kind = \"ema_cross\"\nfast = {fast}\nslow = {slow}\nquantity = {quantity}"
    ))
}

fn intents_of(params: &StrategyParams, prices: &[i64]) -> Vec<Fired> {
    run(params, &ltp_ticks(TOKEN, prices))
}

#[test]
fn momentum_buys_above_threshold_and_sells_below_minus_threshold_when_long() {
    // lookback 2, threshold 0.05:
    // #2 106/100 − 1 = 0.06 > 0.05, flat → BUY     #3 110/100 − 1 = 0.10, already long
    // #4 100/106 − 1 = −0.057 < −0.05, long → SELL #5 95/110 − 1 = −0.14, already flat
    // #6 90/100 − 1 = −0.10, flat                  #7 100/95 − 1 = 0.053 → BUY
    // #8 110/90 − 1 = 0.22, already long
    let prices = [100, 100, 106, 110, 100, 95, 90, 100, 110];
    assert_eq!(
        intents_of(&momentum(2, "0.05", 10), &prices),
        vec![(2, Buy, 10), (4, Sell, 10), (7, Buy, 10)]
    );
}

#[test]
fn rsi_strategy_table() {
    // period 2, oversold 30, overbought 70 (values from the indicator test):
    let cases: [(&str, &[i64], Vec<Fired>); 2] = [
        (
            // RSI: #2 100, #3 33.3, #4 20 (crosses below 30, flat → BUY), #5 11.1,
            // #6 80.5 (crosses above 70, long → SELL), #7 gain 2.0625 loss 4.5 → 31.4,
            // #8 gain 1.03125 loss 4.25 → 19.5 (crosses below → BUY)
            "buy on the cross below, sell on the cross above",
            &[100, 102, 104, 100, 98, 96, 104, 96, 92],
            vec![(4, Buy, 7), (6, Sell, 7), (8, Buy, 7)],
        ),
        (
            // RSI: #2 0 (first value: no cross), #3 gain 4 loss 1 → 80 (cross above while
            // flat: nothing), #4 gain 2 loss 4.5 → 30.8, #5 gain 1 loss 4.25 → 19.0 → BUY
            "no buy on the first value, no sell while flat",
            &[100, 98, 96, 104, 96, 92],
            vec![(5, Buy, 7)],
        ),
    ];
    for (case, prices, want) in cases {
        assert_eq!(intents_of(&rsi(2, 7), prices), want, "{case}");
    }
}

#[test]
fn mean_reversion_table() {
    // RSI period 2, oversold 30, overbought 70 throughout.
    let cases: [(&str, StrategyParams, &[i64], Vec<Fired>); 4] = [
        (
            // bands over 3, k 1:
            // #3 [100 100 94] mean 98, var (4+4+16)/3 = 8, std 2.83, lower 95.17; 94 below,
            //    RSI gain 0 loss 3 → 0 < 30 → BUY
            // #4 [100 94 93] upper 98.76; RSI 0 → hold
            // #5 [94 93 97] mean 94.67, std 1.70, upper 96.37; 97 above → SELL although
            //    RSI is gain 2 loss 1 → 66.7, not overbought
            "buy below the band with RSI oversold, sell above the band alone",
            mean_reversion(3, "1", 5),
            &[100, 100, 100, 94, 93, 97],
            vec![(3, Buy, 5), (5, Sell, 5)],
        ),
        (
            // bands over 5, k 1.5:
            // #5 [100×4 90] mean 98, std 4, lower 92; 90 below, RSI 0 → BUY
            // #6 RSI gain 0.5 loss 2.5 → 16.7; #7 gain 2.25 loss 1.25 → 64.3
            // #8 RSI gain 2.125 loss 0.625 → 77.3 > 70 → SELL although
            //    [100 90 91 95 97] mean 94.6, std 3.72, upper 100.18 is above 97
            "sell on RSI overbought alone",
            mean_reversion(5, "1.5", 5),
            &[100, 100, 100, 100, 100, 90, 91, 95, 97],
            vec![(5, Buy, 5), (8, Sell, 5)],
        ),
        (
            // bands over 3, k 1: #5 [130 140 125] mean 131.67, std 6.24, lower 125.43;
            // 125 below, but RSI gain 5 loss 7.5 → 40 ≥ 30 → no BUY
            "below the band without RSI oversold does not buy",
            mean_reversion(3, "1", 5),
            &[100, 110, 120, 130, 140, 125],
            vec![],
        ),
        (
            // bands over 3, k 1.5: #4 [98 97 96] mean 97, std 0.816, lower 95.78; 96 is
            // inside although RSI is 0 → no BUY
            "RSI oversold inside the band does not buy",
            mean_reversion(3, "1.5", 5),
            &[100, 99, 98, 97, 96],
            vec![],
        ),
    ];
    for (case, params, prices, want) in cases {
        assert_eq!(intents_of(&params, prices), want, "{case}");
    }
}

#[test]
fn ema_cross_first_signal_is_exactly_the_slow_th_input() {
    // fast 10, slow 20: with a rising price fast > slow from the 2nd input, but signals
    // start when the slow EMA has seen 20 inputs, i.e. tick #19; a falling price shorts.
    let rising: Vec<i64> = (100..125).collect();
    let falling: Vec<i64> = (100..125).rev().collect();
    assert_eq!(
        intents_of(&ema_cross(10, 20, 100), &rising),
        vec![(19, Buy, 100)]
    );
    assert_eq!(
        intents_of(&ema_cross(10, 20, 100), &falling),
        vec![(19, Sell, 100)]
    );
}

#[test]
fn ema_cross_trades_quantity_from_flat_then_twice_it_on_each_flip() {
    // #0..#19 at 100: both EMAs stay exactly 100, equal → signal unchanged (0), no order.
    // #20 110: fast 100 + (2/11)·10 = 101.82, slow 100 + (2/21)·10 = 100.95 → +1, BUY 100
    // #21 90: fast 101.82 − (2/11)·11.82 = 99.67, slow 100.95 − (2/21)·10.95 = 99.91
    //         → −1, SELL 200 (from +100 to −100)
    // #22 110: fast 99.67 + (2/11)·10.33 = 101.55, slow 99.91 + (2/21)·10.09 = 100.87
    //         → +1, BUY 200
    // #23.. 110: fast stays above slow → no more orders
    let mut prices = vec![100; 20];
    prices.extend([110, 90, 110]);
    prices.extend([110; 10]);
    assert_eq!(
        intents_of(&ema_cross(10, 20, 100), &prices),
        vec![(20, Buy, 100), (21, Sell, 200), (22, Buy, 200)]
    );
}

#[test]
fn ema_cross_keeps_the_signal_when_the_emas_are_equal() {
    // (previous signal, fast, slow, next signal)
    let cases = [
        (0, "100", "100", 0),
        (1, "100", "100", 1),
        (-1, "100", "100", -1),
        (-1, "100.0001", "100", 1),
        (1, "99.9999", "100", -1),
        (0, "99", "100", -1),
    ];
    for (previous, fast, slow, want) in cases {
        assert_eq!(
            next_signal(previous, dec(fast), dec(slow)),
            want,
            "{previous} {fast} {slow}"
        );
    }
}

#[test]
fn ema_cross_mid_uses_best_bid_and_ask_when_both_present() {
    // (tick, mid)
    let cases = [
        (quote("500", Some("99.95"), Some("100.05")), "100"),
        (quote("500", Some("99.95"), None), "500"),
        (quote("500", None, Some("100.05")), "500"),
        (MarketTick::ltp(TOKEN, dec("500")), "500"),
    ];
    for (tick, want) in cases {
        assert_eq!(mid_price(&tick), Some(dec(want)), "{:?}", tick.depth);
    }
    let largest = Decimal::MAX.to_string();
    let beyond = quote("500", Some(&largest), Some(&largest));
    assert_eq!(
        mid_price(&beyond),
        None,
        "bid + ask overflows: no mid, no panic"
    );
}

#[test]
fn ema_cross_trades_on_the_mid_not_the_last_price() {
    // The last price rises every tick but the mid stays 100 for 20 ticks: the EMAs of the
    // mid are equal, so no order; the mid then jumps to 110 → BUY 100 at #20.
    let mut ticks: Vec<MarketTick> = (0..20)
        .map(|i| quote(&(100 + i).to_string(), Some("99.95"), Some("100.05")))
        .collect();
    ticks.push(quote("90", Some("109.95"), Some("110.05")));
    assert_eq!(run(&ema_cross(10, 20, 100), &ticks), vec![(20, Buy, 100)]);
}

#[test]
fn instruments_are_isolated_when_ticks_interleave() {
    let a: &[i64] = &[100, 102, 104, 100, 98, 96, 104, 96, 92, 100, 106, 110, 100];
    let b: &[i64] = &[100, 100, 106, 110, 100, 95, 90, 100, 110, 120, 90, 80, 70];
    let mut long_a: Vec<i64> = (100..125).collect();
    long_a.extend([90, 80, 130, 140, 60]);
    let long_b: Vec<i64> = (100..130).rev().collect();
    let cases: [(StrategyParams, &[i64], &[i64]); 4] = [
        (momentum(2, "0.05", 10), a, b),
        (rsi(2, 7), a, b),
        (mean_reversion(3, "1", 5), a, b),
        (ema_cross(10, 20, 100), &long_a, &long_b),
    ];
    for (params, prices_a, prices_b) in cases {
        let (ta, tb) = (ltp_ticks(1, prices_a), ltp_ticks(2, prices_b));
        let alone_a = run(&params, &ta);
        let alone_b = run(&params, &tb);
        assert!(
            !alone_a.is_empty() && !alone_b.is_empty(),
            "{params}: sequences should trade"
        );

        // Interleave a0 b0 a1 b1 ...; record each intent under its token's own tick index.
        let mut h = Harness::new(build(&params));
        let (mut got_a, mut got_b) = (Vec::new(), Vec::new());
        for i in 0..ta.len().max(tb.len()) {
            for (ticks, got) in [(&ta, &mut got_a), (&tb, &mut got_b)] {
                if let Some(tick) = ticks.get(i)
                    && let Some((side, quantity)) = step(&mut h, tick)
                {
                    got.push((i, side, quantity));
                }
            }
        }
        assert_eq!(got_a, alone_a, "{params} token 1");
        assert_eq!(got_b, alone_b, "{params} token 2");
    }
}

/// A ledger holding `position` in [`TOKEN`] from a fill of an order it never saw sent
/// (as after a restart), with nothing pending.
fn ledger_holding(position: i64) -> Ledger {
    let mut ledger = Ledger::default();
    if position == 0 {
        return ledger;
    }
    let quantity = u32::try_from(position.unsigned_abs()).expect("small position");
    let fill = OrderFilled {
        order: OrderRef {
            client_order_id: "ap-before-restart".into(),
            broker_order_id: None,
            strategy_id: "s1".into(),
            broker: Broker::Paper,
            token: TOKEN,
            symbol: "RELIANCE".into(),
            side: if position > 0 { Buy } else { Sell },
        },
        fill_id: "t1".into(),
        quantity,
        price: Decimal::ONE_HUNDRED,
        fees: Fees::default(),
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: at(),
    };
    ledger.filled(&fill).expect("a new fill counts");
    assert_eq!(ledger.position(TOKEN), position);
    assert!(ledger.pending(TOKEN).is_empty());
    ledger
}

/// The first intent of a fresh instance over `prices`, with the ledger fixed at `position`.
fn first_intent_holding(params: &StrategyParams, position: i64, prices: &[i64]) -> Option<Fired> {
    let ledger = ledger_holding(position);
    let mut strategy = build(params);
    ltp_ticks(TOKEN, prices)
        .iter()
        .enumerate()
        .find_map(|(i, tick)| {
            let ctx = StrategyContext::new(at(), "s1", Broker::Paper, TOKEN, &ledger);
            let intent = strategy.on_tick(tick, &ctx).expect("no fault")?;
            assert_market_day(&intent);
            Some((i, intent.side, intent.quantity))
        })
}

/// (case, params, position held, prices, first intent).
type HoldingCase<'a> = (&'a str, StrategyParams, i64, &'a [i64], Option<Fired>);

#[test]
fn kinds_decide_from_the_ledgers_position_not_from_what_they_sent() {
    // (Replaces the test of the removed `Strategy::id`: the id now comes with the
    // context, and what a kind holds comes from the ledger.)
    // The position comes from fills the strategy never asked for (an instance rebuilt after
    // a restart sees the real position at once). Long-only kinds bring a position outside
    // 0..=quantity back into it on their first defined tick, whatever the signal; inside
    // it, the position decides between entering and exiting.
    let flat_prices: &[i64] = &[100, 100, 100, 100, 100, 100];
    let momentum_up: &[i64] = &[100, 100, 106, 110];
    let momentum_down: &[i64] = &[100, 100, 94];
    let ema_up: Vec<i64> = (100..125).collect();
    let ema_down: Vec<i64> = (100..125).rev().collect();
    let cases: Vec<HoldingCase<'_>> = vec![
        (
            "momentum short → buys back to flat",
            momentum(2, "0.05", 10),
            -4,
            flat_prices,
            Some((2, Buy, 4)),
        ),
        (
            "momentum above its quantity → sells down to it",
            momentum(2, "0.05", 10),
            25,
            flat_prices,
            Some((2, Sell, 15)),
        ),
        (
            "momentum already long does not buy again",
            momentum(2, "0.05", 10),
            10,
            momentum_up,
            None,
        ),
        (
            "momentum partly long sells all it holds on the exit",
            momentum(2, "0.05", 10),
            3,
            momentum_down,
            Some((2, Sell, 3)),
        ),
        (
            // RSI(2) is first defined at #2; the kind decides from the 2nd value on.
            "rsi short → buys back to flat once it can decide",
            rsi(2, 7),
            -2,
            flat_prices,
            Some((3, Buy, 2)),
        ),
        (
            "mean_reversion above its quantity → sells down to it",
            mean_reversion(3, "1", 5),
            8,
            flat_prices,
            Some((2, Sell, 3)),
        ),
        (
            "ema_cross long from before → flips with the real difference",
            ema_cross(10, 20, 100),
            300,
            &ema_down,
            Some((19, Sell, 400)),
        ),
        (
            "ema_cross already at its target sends nothing",
            ema_cross(10, 20, 100),
            100,
            &ema_up,
            None,
        ),
        (
            "ema_cross short of its target buys the rest",
            ema_cross(10, 20, 100),
            40,
            &ema_up,
            Some((19, Buy, 60)),
        ),
    ];
    for (case, params, position, prices, want) in cases {
        assert_eq!(
            first_intent_holding(&params, position, prices),
            want,
            "{case}"
        );
    }
}

#[test]
fn reasons_show_any_decimal_without_panicking() {
    use super::fixed;
    // (value, decimals, shown)
    let cases = [
        (dec("0.012345"), 4, "0.0123"),
        (dec("-1.5"), 2, "-1.50"),
        (Decimal::MAX, 4, "79228162514264337593543950335"),
        (Decimal::MIN, 2, "-79228162514264337593543950335"),
        (
            dec("123456789012345678901234.5678"),
            4,
            "123456789012345678901234.5678",
        ),
    ];
    for (value, dp, shown) in cases {
        assert_eq!(fixed(value, dp), shown, "{value}");
    }
}
