//! `breakout`: a long-only channel breakout (Donchian), written as a user's own strategy
//! kind on the public API only (`alpha_panda::strategy`).
//!
//! Per instrument, from the last price of each tick:
//! - the entry channel is the highest last price of the `lookback` ticks *before* this one;
//!   the exit channel is the lowest of the `exit_lookback` ticks before it;
//! - flat, and the price closes above the entry channel → BUY `quantity` at market;
//! - long, and the price closes below the exit channel → SELL the whole position.
//!
//! Invariants (the same rules the built-in kinds keep):
//! - It decides from the real position ([`StrategyContext::position`]: the sum of its
//!   fills), never from what it sent; an order refused by risk or failed at the venue leaves
//!   the position as it was, so a later tick whose condition holds tries again.
//! - After a refusal it waits before trying that instrument again: 1 s of tick time,
//!   doubling on each further refusal up to 60 s, reset by a fill ([`Retry`], fed by
//!   [`Strategy::on_order_ended`] and [`Strategy::on_fill`]). A refusal that keeps holding
//!   (trading halted, a position limit) is then not retried on every tick.
//! - At most one order per instrument is in flight: while one is pending the channels are
//!   updated and nothing is sent.
//! - It holds `0..=quantity`: a short, or more than `quantity` (left from a run with other
//!   settings), is brought back into that range first, whatever the channels say. A partly
//!   filled entry (`0 < position < quantity`) is held, and the exit sells all of it.
//! - Warm-up: it enters only once `lookback` ticks of the instrument were seen, and exits
//!   only once `exit_lookback` were. After a restart the channels warm up again from live
//!   ticks while the position and the orders in flight are the real ones from the start.
//!
//! Each channel is a monotonic deque: amortised O(1) per tick, at most `lookback` prices
//! kept per instrument.

use alpha_panda::messages::{MarketTick, OrderFilled, Side};
use alpha_panda::strategy::{
    Decision, OrderEnded, OrderIntent, ParamsError, Retry, Strategy, StrategyContext,
    StrategyParams,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::{HashMap, VecDeque};

/// The kind name the factory is registered under (`params = { kind = "breakout", .. }`).
pub const KIND: &str = "breakout";

/// Longest channel, in ticks: bounds the memory kept per instrument (two deques of at most
/// this many prices).
pub const MAX_LOOKBACK: usize = 100_000;

/// `[strategies.<id>.params]` of the `breakout` kind (besides `kind`). A misspelt or extra
/// field is refused, with a "did you mean" hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakoutParams {
    /// Ticks of the entry channel (1..=[`MAX_LOOKBACK`]).
    pub lookback: usize,
    /// Ticks of the exit channel (1..=[`MAX_LOOKBACK`]); usually shorter than `lookback`,
    /// so a failed breakout is left quickly.
    pub exit_lookback: usize,
    /// Units bought on an entry (at least 1).
    pub quantity: u32,
}

impl BreakoutParams {
    /// Every range problem, as `(field, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for (field, value) in [
            ("lookback", self.lookback),
            ("exit_lookback", self.exit_lookback),
        ] {
            if !(1..=MAX_LOOKBACK).contains(&value) {
                problems.push((
                    field.to_owned(),
                    format!("must be between 1 and {MAX_LOOKBACK} (got {value})"),
                ));
            }
        }
        if self.quantity == 0 {
            problems.push(("quantity".to_owned(), "must be positive (got 0)".to_owned()));
        }
        problems
    }
}

/// The factory registered with `Daemon::builder().strategy(KIND, factory)`: called once per
/// (strategy id, broker) at start, on every restart of the strategy runner, and by
/// `config check`.
///
/// # Errors
/// Every problem with `params`, each naming its field (`lookback: expected an integer,
/// got "x"`, `quantity: must be positive (got 0)`).
pub fn factory(params: &StrategyParams) -> Result<Box<dyn Strategy>, ParamsError> {
    let params: BreakoutParams = params.parse()?;
    ParamsError::check(params.problems())?;
    Ok(Box::new(BreakoutStrategy::new(params)))
}

/// The `breakout` strategy; see the module docs.
#[derive(Debug, Clone)]
pub struct BreakoutStrategy {
    params: BreakoutParams,
    channels: HashMap<u32, Channel>,
    backoff: Retry,
}

impl BreakoutStrategy {
    pub fn new(params: BreakoutParams) -> Self {
        BreakoutStrategy {
            params,
            channels: HashMap::new(),
            backoff: Retry::default(),
        }
    }
}

impl Strategy for BreakoutStrategy {
    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        let params = self.params;
        let channel = self
            .channels
            .entry(tick.token)
            .or_insert_with(|| Channel::new(&params));
        // The channels of the ticks before this one: a close above its own high is not a
        // breakout.
        let (high, low) = (channel.high.value(), channel.low.value());
        channel.push(tick.last_price);
        // Indicators keep updating while an order is in flight; the decision waits for its
        // outcome (a fill, or a refusal that leaves the position as it was), then for the
        // back-off after a refusal.
        if ctx.has_pending() || !self.backoff.ready(tick.token, ctx.now) {
            return Ok(None);
        }
        Ok(decide(
            &params,
            ctx.position(),
            tick.last_price,
            Levels { high, low },
        ))
    }

    fn on_fill(&mut self, fill: &OrderFilled, _ctx: &StrategyContext<'_>) {
        self.backoff.filled(fill.order.token);
    }

    fn on_order_ended(&mut self, ended: &OrderEnded, ctx: &StrategyContext<'_>) {
        // Refused by risk, failed at the venue, or never answered: the ledger has already
        // taken it out of the pending orders; only the timing of the next try is ours.
        self.backoff.refused(ended.token, ctx.now);
    }
}

/// The channel levels a tick is compared with; `None` while warming up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// Highest last price of the `lookback` ticks before.
    pub high: Option<Decimal>,
    /// Lowest last price of the `exit_lookback` ticks before.
    pub low: Option<Decimal>,
}

/// The decision with no order in flight, from the real `position` (pure: tested as a
/// table).
pub fn decide(
    params: &BreakoutParams,
    position: i64,
    price: Decimal,
    levels: Levels,
) -> Option<OrderIntent> {
    let quantity = i64::from(params.quantity);
    if position < 0 {
        return OrderIntent::towards(position, 0, "long-only: closing a short position");
    }
    if position > quantity {
        return OrderIntent::towards(position, quantity, "long-only: above its quantity");
    }
    match levels {
        Levels {
            high: Some(high), ..
        } if position == 0 && price > high => Some(OrderIntent::market(
            Side::Buy,
            params.quantity,
            format!(
                "breakout: {price} above the {}-tick high {high}",
                params.lookback
            ),
        )),
        Levels { low: Some(low), .. } if position > 0 && price < low => OrderIntent::towards(
            position,
            0,
            format!(
                "breakdown: {price} below the {}-tick low {low}",
                params.exit_lookback
            ),
        ),
        _ => None,
    }
}

/// One instrument's entry and exit channels.
#[derive(Debug, Clone)]
struct Channel {
    high: Extreme,
    low: Extreme,
}

impl Channel {
    fn new(params: &BreakoutParams) -> Self {
        Channel {
            high: Extreme::highest(params.lookback),
            low: Extreme::lowest(params.exit_lookback),
        }
    }

    fn push(&mut self, price: Decimal) {
        self.high.push(price);
        self.low.push(price);
    }
}

/// The highest (or lowest) of the last `period` values, amortised O(1) per value: a deque
/// of the values that can still become the extreme, by arrival, each dominating the ones
/// after it.
#[derive(Debug, Clone)]
struct Extreme {
    period: u64,
    seen: u64,
    /// `true` keeps the highest, `false` the lowest.
    highest: bool,
    /// (arrival index, value); the front is the extreme of the window.
    candidates: VecDeque<(u64, Decimal)>,
}

impl Extreme {
    fn highest(period: usize) -> Self {
        Extreme::new(period, true)
    }

    fn lowest(period: usize) -> Self {
        Extreme::new(period, false)
    }

    fn new(period: usize, highest: bool) -> Self {
        Extreme {
            // usize → u64 is lossless on every platform Rust supports (≤ 64-bit).
            period: u64::try_from(period).unwrap_or(u64::MAX),
            seen: 0,
            highest,
            candidates: VecDeque::new(),
        }
    }

    /// The extreme of the last `period` values; `None` until `period` were seen.
    fn value(&self) -> Option<Decimal> {
        if self.seen < self.period {
            return None;
        }
        self.candidates.front().map(|(_, v)| *v)
    }

    fn push(&mut self, x: Decimal) {
        // A value no better than `x` that arrived before it can never be the extreme again.
        while let Some(&(_, last)) = self.candidates.back() {
            let beaten = if self.highest { last <= x } else { last >= x };
            if !beaten {
                break;
            }
            self.candidates.pop_back();
        }
        self.candidates.push_back((self.seen, x));
        self.seen += 1;
        let oldest = self.seen.saturating_sub(self.period);
        while self.candidates.front().is_some_and(|(i, _)| *i < oldest) {
            self.candidates.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alpha_panda::messages::{OrderFailureKind, RejectionCode};
    use alpha_panda::strategy::harness::Harness;

    const RELIANCE: u32 = 738_561;
    const INFY: u32 = 408_065;

    fn price(text: &str) -> Decimal {
        text.parse().expect("a decimal literal")
    }

    fn params(lookback: usize, exit_lookback: usize, quantity: u32) -> BreakoutParams {
        BreakoutParams {
            lookback,
            exit_lookback,
            quantity,
        }
    }

    /// `lookback = 3`, `exit_lookback = 2`, `quantity = 10`.
    fn harness() -> Harness {
        let params = StrategyParams::from_toml(
            "kind = \"breakout\"\nlookback = 3\nexit_lookback = 2\nquantity = 10",
        )
        .expect("valid TOML");
        Harness::new(factory(&params).expect("valid params"))
    }

    fn tick(h: &mut Harness, token: u32, last: &str) -> Option<OrderIntent> {
        h.tick(&MarketTick::ltp(token, price(last)))
            .expect("breakout never faults")
    }

    /// Feeds the warm-up 100, 101, 102 (nothing may trade on them).
    fn warm_up(h: &mut Harness, token: u32) {
        for last in ["100", "101", "102"] {
            assert_eq!(tick(h, token, last), None, "warm-up tick {last}");
        }
    }

    fn side_and_quantity(intent: Option<OrderIntent>) -> Option<(Side, u32)> {
        intent.map(|i| (i.side, i.quantity))
    }

    #[test]
    fn enters_above_the_channel_high_and_exits_below_the_exit_low() {
        let mut h = harness();
        warm_up(&mut h, RELIANCE);
        // The 3-tick high is 102: 101.5 is inside the channel, 102 only touches it.
        assert_eq!(tick(&mut h, RELIANCE, "101.5"), None);
        assert_eq!(tick(&mut h, RELIANCE, "102"), None);
        let buy = tick(&mut h, RELIANCE, "102.5").expect("a breakout");
        assert_eq!((buy.side, buy.quantity), (Side::Buy, 10));
        assert_eq!(buy.reason, "breakout: 102.5 above the 3-tick high 102");
        // Nothing assumed until the fill.
        assert_eq!(h.position(RELIANCE), 0);
        h.fill_last(10, price("102.55"));
        assert_eq!(h.position(RELIANCE), 10);
        assert!(h.pending(RELIANCE).is_empty());
        // Long: a new high is no second entry; the 2-tick low is now 102.
        assert_eq!(tick(&mut h, RELIANCE, "104"), None);
        assert_eq!(tick(&mut h, RELIANCE, "103"), None);
        // The 2-tick low is 103: 102.9 closes below it.
        let sell = tick(&mut h, RELIANCE, "102.9").expect("a breakdown");
        assert_eq!((sell.side, sell.quantity), (Side::Sell, 10));
        assert_eq!(sell.reason, "breakdown: 102.9 below the 2-tick low 103");
        h.fill_last(10, price("102.85"));
        assert_eq!(h.position(RELIANCE), 0);
        assert_eq!(h.sent().len(), 2);
    }

    #[test]
    fn no_second_order_while_one_is_pending() {
        let mut h = harness();
        warm_up(&mut h, RELIANCE);
        assert!(tick(&mut h, RELIANCE, "103").is_some());
        // Further breakouts, then a collapse below the exit channel: the entry is still in
        // flight, so nothing more goes out.
        for last in ["104", "105", "90"] {
            assert_eq!(tick(&mut h, RELIANCE, last), None, "tick {last}");
        }
        assert_eq!(h.pending(RELIANCE).len(), 1);
        assert_eq!(h.sent().len(), 1);
        // Filled late, at 103: the position is long and the price (89) below the 2-tick low
        // (90): the exit goes out on the next tick.
        h.fill_last(10, price("103"));
        assert_eq!(
            side_and_quantity(tick(&mut h, RELIANCE, "89")),
            Some((Side::Sell, 10))
        );
    }

    #[test]
    fn a_refused_entry_leaves_the_position_flat_and_a_later_breakout_enters_again() {
        // (case, how the entry is refused)
        type Refuse = fn(&mut Harness);
        let cases: [(&str, Refuse); 4] = [
            ("risk: max position", |h| {
                h.reject_last(RejectionCode::MaxPosition)
            }),
            ("risk: trading halted", |h| {
                h.reject_last(RejectionCode::TradingHalted)
            }),
            ("venue: insufficient funds", |h| {
                h.fail_last(OrderFailureKind::InsufficientFunds)
            }),
            ("venue: rejected", |h| {
                h.fail_last(OrderFailureKind::Rejected)
            }),
        ];
        for (case, refuse) in cases {
            let mut h = harness();
            warm_up(&mut h, RELIANCE);
            assert!(tick(&mut h, RELIANCE, "103").is_some(), "{case}");
            refuse(&mut h);
            assert_eq!(h.position(RELIANCE), 0, "{case}");
            assert!(h.pending(RELIANCE).is_empty(), "{case}");
            assert_eq!(h.ended().len(), 1, "{case}");
            // 103 is now the channel high: 102.5 and 103 are no breakout ...
            assert_eq!(tick(&mut h, RELIANCE, "102.5"), None, "{case}");
            assert_eq!(tick(&mut h, RELIANCE, "103"), None, "{case}");
            // ... a close above it is, and it enters with the full quantity again.
            assert_eq!(
                side_and_quantity(tick(&mut h, RELIANCE, "103.5")),
                Some((Side::Buy, 10)),
                "{case}"
            );
            h.fill_last(10, price("103.5"));
            assert_eq!(h.position(RELIANCE), 10, "{case}");
        }
    }

    #[test]
    fn a_refusal_that_keeps_holding_is_retried_after_a_doubling_delay_and_a_fill_resets_it() {
        let mut h = harness();
        warm_up(&mut h, RELIANCE);
        assert!(tick(&mut h, RELIANCE, "103").is_some());
        h.fill_last(10, price("103"));
        // Trading halted: every exit is refused. The price keeps falling (always below the
        // exit channel); the harness clock moves 1 s a tick, so the tries come after 1, 2, 4
        // and 8 s.
        let mut fired = Vec::new();
        for second in 0..16 {
            let last = Decimal::from(90 - second);
            if h.tick(&MarketTick::ltp(RELIANCE, last))
                .expect("no fault")
                .is_some()
            {
                fired.push(second);
                h.reject_last(RejectionCode::TradingHalted);
            }
        }
        assert_eq!(fired, [0, 1, 3, 7, 15]);
        assert_eq!(h.position(RELIANCE), 10);
        // 16 s after the last refusal the exit goes out again, and this time it fills.
        for second in 16..31 {
            let last = Decimal::from(90 - second);
            assert_eq!(
                h.tick(&MarketTick::ltp(RELIANCE, last)).expect("no fault"),
                None
            );
        }
        assert!(tick(&mut h, RELIANCE, "59").is_some());
        h.fill_last(10, price("59"));
        assert_eq!(h.position(RELIANCE), 0);
        // The fill reset the delay: a refused entry (62 above the 3-tick high 61) is
        // retried 1 s later, not 32 s.
        assert!(tick(&mut h, RELIANCE, "62").is_some());
        h.reject_last(RejectionCode::MaxOpenOrders);
        assert!(tick(&mut h, RELIANCE, "63").is_some());
    }

    #[test]
    fn a_partly_filled_entry_that_ends_is_held_then_sold_whole() {
        let mut h = harness();
        warm_up(&mut h, RELIANCE);
        assert!(tick(&mut h, RELIANCE, "103").is_some());
        h.fill_last(4, price("103"));
        h.fail_last(OrderFailureKind::Cancelled);
        assert_eq!(h.position(RELIANCE), 4);
        // Long 4 of 10: no top-up on a new high, the exit sells the 4.
        assert_eq!(tick(&mut h, RELIANCE, "110"), None);
        assert_eq!(
            side_and_quantity(tick(&mut h, RELIANCE, "100")),
            Some((Side::Sell, 4))
        );
    }

    #[test]
    fn instruments_have_their_own_channels_and_positions() {
        let mut h = harness();
        warm_up(&mut h, RELIANCE);
        // INFY's first ticks: no channel yet, whatever RELIANCE did.
        assert_eq!(tick(&mut h, INFY, "1500"), None);
        assert!(tick(&mut h, RELIANCE, "103").is_some());
        h.fill_last(10, price("103"));
        assert_eq!(tick(&mut h, INFY, "1501"), None);
        assert_eq!(tick(&mut h, INFY, "1502"), None);
        let infy = tick(&mut h, INFY, "1503").expect("INFY's own breakout");
        assert_eq!((infy.side, infy.quantity), (Side::Buy, 10));
        assert_eq!((h.position(RELIANCE), h.position(INFY)), (10, 0));
        assert_eq!(h.pending(INFY).len(), 1);
        assert!(h.pending(RELIANCE).is_empty());
    }

    #[test]
    fn decide_table() {
        let p = params(20, 10, 10);
        // Levels (entry high, exit low): warming up, entry channel only, both.
        let none = (None, None);
        let high_only = (Some("100"), None);
        let both = (Some("100"), Some("95"));
        let buy = |q| Some((Side::Buy, q));
        let sell = |q| Some((Side::Sell, q));
        // (case, position, price, levels, expected side and quantity)
        let cases = [
            ("warming up: no levels", 0, "200", none, None),
            ("entry channel only", 0, "101", high_only, buy(10)),
            ("flat, above the high", 0, "101", both, buy(10)),
            ("flat, at the high", 0, "100", both, None),
            ("flat, below the low", 0, "90", both, None),
            ("long, above the high", 10, "101", both, None),
            ("long, at the low", 10, "95", both, None),
            ("long, below the low", 10, "94", both, sell(10)),
            ("long, exit channel warming up", 10, "1", high_only, None),
            ("partly long, below the low", 3, "94", both, sell(3)),
            ("short: closed first", -5, "101", both, buy(5)),
            ("short, warming up: closed", -5, "101", none, buy(5)),
            ("above quantity: back to it", 25, "101", both, sell(15)),
        ];
        for (case, position, last, (high, low), expected) in cases {
            let levels = Levels {
                high: high.map(price),
                low: low.map(price),
            };
            let got = side_and_quantity(decide(&p, position, price(last), levels));
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn extremes_follow_a_sliding_window() {
        let mut high = Extreme::highest(3);
        let mut low = Extreme::lowest(3);
        // (value pushed, highest and lowest of the last 3 after it)
        let steps = [
            ("5", None, None),
            ("3", None, None),
            ("4", Some("5"), Some("3")),
            ("1", Some("4"), Some("1")),
            ("2", Some("4"), Some("1")),
            ("2", Some("2"), Some("1")),
            ("7", Some("7"), Some("2")),
        ];
        for (x, highest, lowest) in steps {
            high.push(price(x));
            low.push(price(x));
            assert_eq!(high.value(), highest.map(price), "highest after {x}");
            assert_eq!(low.value(), lowest.map(price), "lowest after {x}");
        }
    }

    /// The factory's refusal of `params` (besides `kind = "breakout"`), as `field: message`.
    fn refusal(params: &str) -> Vec<String> {
        let text = format!("kind = \"breakout\"\n{params}");
        let params = StrategyParams::from_toml(&text).expect("valid TOML");
        match factory(&params) {
            Ok(_) => panic!("built: {text}"),
            Err(e) => e
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect(),
        }
    }

    #[test]
    fn params_errors_name_the_field() {
        // (params, every problem)
        let cases: [(&str, &[&str]); 5] = [
            (
                "lookback = \"x\"\nexit_lookback = 10\nquantity = 10",
                &["lookback: expected an integer, got \"x\""],
            ),
            ("lookback = 20\nexit_lookback = 10", &["quantity: missing"]),
            (
                "lookback = 0\nexit_lookback = 10\nquantity = 10",
                &["lookback: must be between 1 and 100000 (got 0)"],
            ),
            (
                "lookback = 20\nexit_lookback = 100001\nquantity = 0",
                &[
                    "exit_lookback: must be between 1 and 100000 (got 100001)",
                    "quantity: must be positive (got 0)",
                ],
            ),
            (
                "lookback = 20\nexit_lookback = 10\nquantity = -1",
                &["quantity: expected a non-negative integer, got -1"],
            ),
        ];
        for (params, expected) in cases {
            assert_eq!(refusal(params), expected.to_vec(), "{params}");
        }
    }

    #[test]
    fn a_misspelt_field_is_refused_with_a_hint() {
        let got = refusal("lookback = 20\nexit_lookback = 10\nquantity = 10\nlookbak = 5");
        assert_eq!(got.len(), 1, "{got:?}");
        // The message names the field; `deny_unknown_fields` is what makes it an error.
        assert!(got[0].contains("unknown field `lookbak`"), "{got:?}");
        assert!(got[0].ends_with("; did you mean `lookback`?"), "{got:?}");
    }

    #[test]
    fn valid_params_build_and_strings_read_as_numbers() {
        // From the environment every value is a string: "20" reads as 20.
        let params = StrategyParams::from_toml(
            "kind = \"breakout\"\nlookback = \"20\"\nexit_lookback = 10\nquantity = 1",
        )
        .expect("valid TOML");
        let parsed: BreakoutParams = params.parse().expect("parses");
        assert_eq!(parsed, self::params(20, 10, 1));
        assert!(parsed.problems().is_empty());
        assert!(factory(&params).is_ok());
    }
}
