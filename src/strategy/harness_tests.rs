//! The built-in kinds when their orders do not simply fill: refused by risk, ended by the
//! venue in every way, never answered, partly filled. Each scenario runs a seeded
//! pseudo-random walk and checks every decision against a reference model of the kinds'
//! documented rules, computed independently from the prices (the indicators themselves
//! are tested in `indicators_tests.rs`):
//!
//! - momentum `x_t / x_{t−lookback} − 1` above `threshold` enters, below `−threshold`
//!   exits; rsi enters on a cross below `oversold` and exits on a cross above
//!   `overbought`; mean_reversion enters below the lower band with RSI oversold and exits
//!   above the upper band or with RSI overbought; all three long-only in `0..=quantity`.
//! - ema_cross targets `±quantity` by the sign of fast − slow once the slow EMA is warm;
//!   once the venue refused a short (`ShortingNotAllowed`), targets below zero are flat.
//! - With an order in flight, nothing is sent. After an order ends without a full fill,
//!   the instrument waits 1 s of tick time before it trades again, doubling on each
//!   further end up to 60 s; a fill resets the wait.
//!
//! Orders that end without a fill go through the [`Harness`] (risk and venue); the
//! harness has no way to leave an order unanswered, so that case runs through [`Runner`],
//! a few lines doing what the strategy runner does with the same [`Ledger`].

use super::harness::Harness;
use super::indicators::{Bollinger, Ema, Rsi};
use super::ledger_tests::{failure_kinds, rejection_codes};
use super::{
    EndKind, Ledger, OrderEnded, OrderIntent, Strategy, StrategyContext, StrategyParams,
    StrategyRegistry,
};
use crate::messages::{
    Broker, Fees, MarketTick, OrderFailureKind, OrderFilled, OrderRef, RejectionCode, Side,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

const TOKEN: u32 = 408_065;
const QUANTITY: u32 = 10;
const WALK_TICKS: usize = 4_000;

/// The back-off after an order ends without a full fill, in ticks (the harness's clock
/// moves 1 s a tick): the first wait, and the longest.
const FIRST_WAIT: usize = 1;
const LONGEST_WAIT: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Momentum,
    MeanReversion,
    Rsi,
    EmaCross,
}

const KINDS: [Kind; 4] = [
    Kind::Momentum,
    Kind::MeanReversion,
    Kind::Rsi,
    Kind::EmaCross,
];

// The parameters of each kind, short enough to trade often on the walk.
const MOMENTUM_LOOKBACK: usize = 3;
const MOMENTUM_THRESHOLD: &str = "0.001";
const RSI_PERIOD: usize = 3;
const BB_PERIOD: usize = 5;
const BB_K: &str = "1";
const EMA_FAST: usize = 3;
const EMA_SLOW: usize = 8;

fn dec(s: &str) -> Decimal {
    s.parse().expect("literal decimal")
}

impl Kind {
    fn params(self) -> StrategyParams {
        let text = match self {
            Kind::Momentum => format!(
                "kind = \"momentum\"\nlookback = {MOMENTUM_LOOKBACK}\n\
                 threshold = \"{MOMENTUM_THRESHOLD}\"\nquantity = {QUANTITY}"
            ),
            Kind::MeanReversion => format!(
                "kind = \"mean_reversion\"\nrsi_period = {RSI_PERIOD}\noversold = 30\n\
                 overbought = 70\nbb_period = {BB_PERIOD}\nbb_k = \"{BB_K}\"\n\
                 quantity = {QUANTITY}"
            ),
            Kind::Rsi => format!(
                "kind = \"rsi\"\nperiod = {RSI_PERIOD}\noversold = 30\noverbought = 70\n\
                 quantity = {QUANTITY}"
            ),
            Kind::EmaCross => format!(
                "kind = \"ema_cross\"\nfast = {EMA_FAST}\nslow = {EMA_SLOW}\nquantity = {QUANTITY}"
            ),
        };
        StrategyParams::from_toml(&text).expect("valid params")
    }

    fn build(self) -> Box<dyn Strategy> {
        StrategyRegistry::builtin()
            .build(&self.params())
            .expect("valid params build")
    }
}

/// What the rules say about one tick, before the position is considered.
#[derive(Debug, Clone, Copy)]
enum Conditions {
    /// An indicator the kind needs is not defined yet: no decision at all.
    Warming,
    LongOnly {
        enter: bool,
        exit: bool,
    },
    /// ema_cross: the signal, −1, 0 or +1.
    Target(i64),
}

/// The documented rules of one kind, computed from the prices and the order outcomes.
struct Model {
    kind: Kind,
    prices: Vec<Decimal>,
    rsi: Rsi,
    previous_rsi: Option<Decimal>,
    bands: Bollinger,
    fast: Ema,
    slow: Ema,
    signal: i64,
    /// The back-off: the first tick that may trade, and the last wait.
    wait: Option<(usize, usize)>,
    shorts_refused: bool,
}

impl Model {
    fn new(kind: Kind) -> Self {
        Model {
            kind,
            prices: Vec::new(),
            rsi: Rsi::new(RSI_PERIOD),
            previous_rsi: None,
            bands: Bollinger::new(BB_PERIOD, dec(BB_K)),
            fast: Ema::new(EMA_FAST),
            slow: Ema::new(EMA_SLOW),
            signal: 0,
            wait: None,
            shorts_refused: false,
        }
    }

    /// The index the next tick will have.
    fn next_tick(&self) -> usize {
        self.prices.len()
    }

    fn observe(&mut self, x: Decimal) -> Conditions {
        self.prices.push(x);
        let (oversold, overbought) = (Decimal::from(30), Decimal::from(70));
        match self.kind {
            Kind::Momentum => {
                let Some(base) = self
                    .prices
                    .len()
                    .checked_sub(MOMENTUM_LOOKBACK + 1)
                    .map(|i| self.prices[i])
                else {
                    return Conditions::Warming;
                };
                let m = x / base - Decimal::ONE;
                let threshold = dec(MOMENTUM_THRESHOLD);
                Conditions::LongOnly {
                    enter: m > threshold,
                    exit: m < -threshold,
                }
            }
            Kind::Rsi => {
                let Some(current) = self.rsi.update(x) else {
                    return Conditions::Warming;
                };
                let Some(previous) = self.previous_rsi.replace(current) else {
                    return Conditions::Warming;
                };
                Conditions::LongOnly {
                    enter: previous >= oversold && current < oversold,
                    exit: previous <= overbought && current > overbought,
                }
            }
            Kind::MeanReversion => {
                let (rsi, bands) = (self.rsi.update(x), self.bands.update(x));
                if rsi.is_none() && bands.is_none() {
                    return Conditions::Warming;
                }
                let below = bands.is_some_and(|b| x < b.lower);
                let above = bands.is_some_and(|b| x > b.upper);
                Conditions::LongOnly {
                    enter: below && rsi.is_some_and(|r| r < oversold),
                    exit: above || rsi.is_some_and(|r| r > overbought),
                }
            }
            Kind::EmaCross => {
                let fast = self.fast.update(x).expect("defined from the first input");
                let slow = self.slow.update(x).expect("defined from the first input");
                if self.slow.count() < EMA_SLOW as u64 {
                    return Conditions::Warming;
                }
                self.signal = match fast.cmp(&slow) {
                    std::cmp::Ordering::Greater => 1,
                    std::cmp::Ordering::Less => -1,
                    std::cmp::Ordering::Equal => self.signal,
                };
                Conditions::Target(self.signal)
            }
        }
    }

    /// An order ended without a full fill, at the time of the last tick.
    fn ended(&mut self, kind: &EndKind) {
        let wait = self
            .wait
            .map_or(FIRST_WAIT, |(_, wait)| (wait * 2).min(LONGEST_WAIT));
        self.wait = Some((self.next_tick() - 1 + wait, wait));
        let short_refused = *kind
            == EndKind::Failed {
                failure: OrderFailureKind::ShortingNotAllowed,
            };
        if self.kind == Kind::EmaCross && short_refused {
            self.shorts_refused = true;
        }
    }

    fn filled(&mut self) {
        self.wait = None;
    }

    /// Whether the back-off lets the next tick trade.
    fn ready(&self) -> bool {
        self.wait.is_none_or(|(at, _)| self.next_tick() >= at)
    }

    /// The order the rules give under `conditions` for the real `position`, when the
    /// instrument may trade (nothing in flight, no back-off).
    fn decide(&self, conditions: Conditions, position: i64) -> Option<(Side, u32)> {
        let q = i64::from(QUANTITY);
        let towards = |target: i64| {
            let difference = target - position;
            let quantity = u32::try_from(difference.unsigned_abs()).expect("small");
            match difference {
                0 => None,
                d if d > 0 => Some((Side::Buy, quantity)),
                _ => Some((Side::Sell, quantity)),
            }
        };
        match conditions {
            Conditions::Warming => None,
            Conditions::LongOnly { .. } if position < 0 => towards(0),
            Conditions::LongOnly { .. } if position > q => towards(q),
            Conditions::LongOnly { enter: true, .. } if position == 0 => towards(q),
            Conditions::LongOnly { exit: true, .. } if position > 0 => towards(0),
            Conditions::LongOnly { .. } => None,
            Conditions::Target(signal) if self.shorts_refused => towards((q * signal).max(0)),
            Conditions::Target(signal) => towards(q * signal),
        }
    }
}

/// A deterministic generator (Knuth's MMIX LCG), so every run sees the same walk.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let at = self.below(u64::try_from(items.len()).expect("small"));
        items[usize::try_from(at).expect("small")]
    }
}

/// A random walk around 1000 rupees in 10-paise steps, with a drift that changes every
/// 40 ticks (so there are trends to follow and reversals to fade).
fn walk(seed: u64, len: usize) -> Vec<Decimal> {
    let mut rng = Lcg(seed);
    let mut paise: i64 = 100_000;
    let mut drift = 0;
    (0..len)
        .map(|i| {
            if i % 40 == 0 {
                drift = i64::try_from(rng.below(5)).expect("small") - 2;
            }
            let noise = i64::try_from(rng.below(7)).expect("small") - 3;
            paise = (paise + 10 * (noise + drift)).max(10_000);
            Decimal::new(paise, 2)
        })
        .collect()
}

/// How an order ends without a (full) fill.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Risk(RejectionCode),
    Venue(OrderFailureKind),
    Unanswered,
}

impl Ending {
    fn kind(self) -> EndKind {
        match self {
            Ending::Risk(code) => EndKind::RejectedByRisk { codes: vec![code] },
            Ending::Venue(failure) => EndKind::Failed { failure },
            Ending::Unanswered => EndKind::Unanswered,
        }
    }
}

/// A strategy with its ledger, as the strategy runner holds it.
trait Venue {
    fn tick(&mut self, tick: &MarketTick) -> Option<OrderIntent>;
    fn position(&self) -> i64;
    /// (quantity, filled) of the order in flight, if any.
    fn in_flight(&self) -> Option<(u32, u32)>;
    fn fill(&mut self, quantity: u32);
    fn end(&mut self, ending: Ending);
    fn ended(&self) -> &[OrderEnded];
}

impl Venue for Harness {
    fn tick(&mut self, tick: &MarketTick) -> Option<OrderIntent> {
        Harness::tick(self, tick).expect("built-in kinds do not fail")
    }

    fn position(&self) -> i64 {
        Harness::position(self, TOKEN)
    }

    fn in_flight(&self) -> Option<(u32, u32)> {
        let pending = self.pending(TOKEN);
        assert!(pending.len() <= 1, "more than one in flight: {pending:?}");
        pending.first().map(|o| (o.quantity, o.filled))
    }

    fn fill(&mut self, quantity: u32) {
        self.fill_last(quantity, Decimal::ONE_HUNDRED);
    }

    fn end(&mut self, ending: Ending) {
        match ending {
            Ending::Risk(code) => self.reject_last(code),
            Ending::Venue(kind) => self.fail_last(kind),
            Ending::Unanswered => panic!("the harness cannot leave an order unanswered"),
        }
    }

    fn ended(&self) -> &[OrderEnded] {
        Harness::ended(self)
    }
}

/// What the strategy runner does for one (strategy, broker), reduced to one instrument:
/// send intents into the ledger, apply fills, and expire orders nobody answered. Its
/// clock, like the harness's, moves 1 s a tick.
struct Runner {
    strategy: Box<dyn Strategy>,
    ledger: Ledger,
    now: DateTime<Utc>,
    sent: u128,
    ended: Vec<OrderEnded>,
}

impl Runner {
    fn new(strategy: Box<dyn Strategy>) -> Self {
        Runner {
            strategy,
            ledger: Ledger::default(),
            now: Utc
                .with_ymd_and_hms(2026, 11, 26, 4, 0, 0)
                .single()
                .expect("valid timestamp"),
            sent: 0,
            ended: Vec::new(),
        }
    }
}

impl Venue for Runner {
    fn tick(&mut self, tick: &MarketTick) -> Option<OrderIntent> {
        self.now += Duration::seconds(1);
        let ctx = StrategyContext::new(self.now, "s1", Broker::Paper, TOKEN, &self.ledger);
        let intent = self.strategy.on_tick(tick, &ctx).expect("no fault")?;
        self.sent += 1;
        let position = self.ledger.position(TOKEN);
        let signal = intent
            .clone()
            .into_signal("s1", Broker::Paper, tick, position);
        self.ledger
            .sent(Uuid::from_u128(self.sent), &signal, self.now);
        Some(intent)
    }

    fn position(&self) -> i64 {
        self.ledger.position(TOKEN)
    }

    fn in_flight(&self) -> Option<(u32, u32)> {
        let pending = self.ledger.pending(TOKEN);
        assert!(pending.len() <= 1, "more than one in flight: {pending:?}");
        pending.first().map(|o| (o.quantity, o.filled))
    }

    fn fill(&mut self, quantity: u32) {
        let order = self.ledger.pending(TOKEN)[0].clone();
        let fill = OrderFilled {
            order: OrderRef {
                client_order_id: order.client_order_id.clone(),
                broker_order_id: None,
                strategy_id: "s1".into(),
                broker: Broker::Paper,
                token: TOKEN,
                symbol: "SYM".into(),
                side: order.side,
            },
            fill_id: format!("{}-{}", order.client_order_id, order.filled + quantity),
            quantity,
            price: Decimal::ONE_HUNDRED,
            fees: Fees::default(),
            cumulative_quantity: order.filled + quantity,
            order_quantity: order.quantity,
            filled_at: self.now,
        };
        if self.ledger.filled(&fill).is_some() {
            let ctx = StrategyContext::new(self.now, "s1", Broker::Paper, TOKEN, &self.ledger);
            self.strategy.on_fill(&fill, &ctx);
        }
    }

    fn end(&mut self, ending: Ending) {
        assert!(matches!(ending, Ending::Unanswered), "{ending:?}");
        // The runner's timeout passed: every order sent before now without an answer.
        for ended in self.ledger.expire_unanswered(TOKEN, self.now) {
            let ctx = StrategyContext::new(self.now, "s1", Broker::Paper, TOKEN, &self.ledger);
            self.strategy.on_order_ended(&ended, &ctx);
            self.ended.push(ended);
        }
    }

    fn ended(&self) -> &[OrderEnded] {
        &self.ended
    }
}

/// A venue and the model of its kind, told the same events.
struct Scenario<'v> {
    venue: &'v mut dyn Venue,
    model: Model,
}

impl<'v> Scenario<'v> {
    fn new(kind: Kind, venue: &'v mut dyn Venue) -> Self {
        Scenario {
            venue,
            model: Model::new(kind),
        }
    }

    /// Feeds one tick and checks the decision against the model; returns the conditions
    /// and the intent as (side, quantity).
    fn tick(&mut self, x: Decimal) -> (Conditions, Option<(Side, u32)>) {
        let position = self.venue.position();
        let may_trade = self.venue.in_flight().is_none() && self.model.ready();
        let conditions = self.model.observe(x);
        let expected = if may_trade {
            self.model.decide(conditions, position)
        } else {
            None
        };
        let got = self
            .venue
            .tick(&MarketTick::ltp(TOKEN, x))
            .map(|i| (i.side, i.quantity));
        assert_eq!(
            got,
            expected,
            "{:?} at tick #{} ({x}): {conditions:?}, position {position}, may trade {may_trade}",
            self.model.kind,
            self.model.prices.len() - 1,
        );
        (conditions, got)
    }

    fn fill(&mut self, quantity: u32) {
        self.venue.fill(quantity);
        self.model.filled();
    }

    /// Ends the order in flight; the orders that did end, as the model sees them.
    fn end(&mut self, ending: Ending) -> Vec<OrderEnded> {
        let before = self.venue.ended().len();
        self.venue.end(ending);
        let ended = self.venue.ended()[before..].to_vec();
        for order in &ended {
            self.model.ended(&order.kind);
        }
        ended
    }
}

/// One order ends without a (further) fill after `fill_first` units of it filled:
/// nothing is sent while it is in flight (even on ticks whose conditions hold), the end
/// leaves the position where the fills put it, and the strategy sends again at the first
/// later tick whose conditions hold for that position once the back-off has passed.
fn order_ends_then_is_sent_again(
    kind: Kind,
    venue: &mut dyn Venue,
    ending: Ending,
    fill_first: u32,
) {
    let case = format!("{kind:?}, {ending:?}, {fill_first} filled first");
    let mut s = Scenario::new(kind, venue);
    let mut prices = walk(7, WALK_TICKS).into_iter();
    let mut next = || {
        prices
            .next()
            .unwrap_or_else(|| panic!("{case}: walk too short"))
    };

    // 1. The first order, at the first tick whose conditions hold.
    let (side, _) = loop {
        if let (_, Some(intent)) = s.tick(next()) {
            break intent;
        }
    };
    if fill_first > 0 {
        s.fill(fill_first);
    }
    let held = match side {
        Side::Buy => i64::from(fill_first),
        Side::Sell => -i64::from(fill_first),
    };
    assert_eq!(s.venue.position(), held, "{case}");
    assert!(s.venue.in_flight().is_some(), "{case}: not in flight");

    // 2. In flight: nothing is sent, also on ticks where it would be without the order.
    let (mut ticks, mut would_send) = (0, 0);
    while ticks < 3 || would_send == 0 {
        let (conditions, got) = s.tick(next());
        assert_eq!(got, None, "{case}: sent while an order is in flight");
        would_send += usize::from(s.model.decide(conditions, held).is_some());
        ticks += 1;
    }

    // 3. The order ends: the position is where the fills put it, nothing is in flight.
    let ended = s.end(ending);
    assert_eq!(
        s.venue.position(),
        held,
        "{case}: the end moved the position"
    );
    assert_eq!(s.venue.in_flight(), None, "{case}: in flight after its end");
    assert_eq!(ended.len(), 1, "{case}: {ended:?}");
    assert_eq!(ended[0].kind, ending.kind(), "{case}");
    assert_eq!(ended[0].order.filled, fill_first, "{case}");

    // 4. Sent again at the first tick that may trade and whose conditions hold (every
    //    tick is checked against the model).
    let again = loop {
        if let (_, Some(intent)) = s.tick(next()) {
            break intent;
        }
    };
    assert!(again.1 > 0, "{case}");
    assert!(s.venue.in_flight().is_some(), "{case}: not in flight");
}

#[test]
fn every_kind_fires_on_the_walk() {
    // Guards the scenarios below: the walk gives each kind entries and exits to follow.
    for kind in KINDS {
        let mut h = Harness::new(kind.build());
        let mut s = Scenario::new(kind, &mut h);
        let mut sides = Vec::new();
        for x in walk(7, WALK_TICKS) {
            if let (_, Some((side, quantity))) = s.tick(x) {
                s.fill(quantity);
                sides.push(side);
            }
        }
        let buys = sides.iter().filter(|s| **s == Side::Buy).count();
        let sells = sides.len() - buys;
        assert!(
            buys >= 5 && sells >= 5,
            "{kind:?}: {buys} buys, {sells} sells"
        );
    }
}

#[test]
fn a_risk_rejection_leaves_the_position_and_the_kind_sends_again() {
    for kind in KINDS {
        for code in rejection_codes() {
            let mut h = Harness::new(kind.build());
            order_ends_then_is_sent_again(kind, &mut h, Ending::Risk(code), 0);
        }
    }
}

#[test]
fn every_venue_failure_leaves_the_position_and_the_kind_sends_again() {
    for kind in KINDS {
        for failure in failure_kinds() {
            for fill_first in [0, QUANTITY / 2] {
                let mut h = Harness::new(kind.build());
                order_ends_then_is_sent_again(kind, &mut h, Ending::Venue(failure), fill_first);
            }
        }
    }
}

#[test]
fn an_unanswered_order_leaves_the_position_and_the_kind_sends_again() {
    for kind in KINDS {
        let mut runner = Runner::new(kind.build());
        order_ends_then_is_sent_again(kind, &mut runner, Ending::Unanswered, 0);
    }
}

#[test]
fn a_partly_filled_order_is_answered_and_never_expires() {
    for kind in KINDS {
        let mut runner = Runner::new(kind.build());
        let mut s = Scenario::new(kind, &mut runner);
        let mut prices = walk(7, WALK_TICKS).into_iter();
        while s.tick(prices.next().expect("fires")).1.is_none() {}
        s.fill(1);
        for _ in 0..5 {
            s.tick(prices.next().expect("long walk"));
        }
        assert!(s.end(Ending::Unanswered).is_empty(), "{kind:?}");
        assert_eq!(s.venue.in_flight(), Some((QUANTITY, 1)), "{kind:?}");
        assert_eq!(s.venue.position().abs(), 1, "{kind:?}");
    }
}

#[test]
fn each_further_refusal_doubles_the_wait_up_to_a_minute_and_a_fill_resets_it() {
    // ema_cross wants its target on every tick once warm, so the ticks between its
    // orders are exactly the waits: each order ends at once (at the time of the tick that
    // sent it), and the next goes out when the wait has passed.
    let mut h = Harness::new(Kind::EmaCross.build());
    let mut sent_at = Vec::new();
    for (i, x) in (0..2_000).map(|i| Decimal::from(100 + i)).enumerate() {
        let Some(intent) = Venue::tick(&mut h, &MarketTick::ltp(TOKEN, x)) else {
            continue;
        };
        assert_eq!(intent.side, Side::Buy);
        sent_at.push(i);
        if sent_at.len() == 10 {
            // The 10th order fills in part before the venue cancels it: the fill resets
            // the wait, so its end waits the first wait again.
            h.fill_last(4, x);
            h.fail_last(OrderFailureKind::Cancelled);
        } else {
            h.reject_last(RejectionCode::MaxOpenOrders);
        }
        if sent_at.len() == 12 {
            break;
        }
    }
    assert_eq!(sent_at[0], EMA_SLOW - 1, "the first order once warm");
    let waits: Vec<usize> = sent_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60, 1, 2]);
    assert_eq!((FIRST_WAIT, LONGEST_WAIT), (waits[0], waits[6]));
    // The partial fill stays; the strategy then buys only the rest of its target.
    assert_eq!(h.position(TOKEN), 4);
    let quantities: Vec<u32> = h.sent().iter().map(|(_, i)| i.quantity).collect();
    assert_eq!(quantities[9..], [QUANTITY, QUANTITY - 4, QUANTITY - 4]);
}

/// Feeds a rising price until an intent comes out, as (side, quantity).
fn rise(h: &mut Harness) -> Option<(Side, u32)> {
    (100..150)
        .find_map(|p| Venue::tick(h, &MarketTick::ltp(TOKEN, Decimal::from(p))))
        .map(|i| (i.side, i.quantity))
}

/// Feeds `price` until an intent comes out (at most 50 ticks), as (side, quantity).
fn feed(h: &mut Harness, price: i64) -> Option<(Side, u32)> {
    (0..50)
        .find_map(|_| Venue::tick(h, &MarketTick::ltp(TOKEN, Decimal::from(price))))
        .map(|i| (i.side, i.quantity))
}

#[test]
fn ema_cross_goes_flat_instead_of_short_once_the_venue_refuses_shorts() {
    let mut h = Harness::new(Kind::EmaCross.build());
    // Rising: long.
    assert_eq!(rise(&mut h), Some((Side::Buy, QUANTITY)));
    h.fill_last(QUANTITY, Decimal::from(110));
    // A collapse: the flip to short is refused by the venue; the long stays.
    assert_eq!(feed(&mut h, 50), Some((Side::Sell, 2 * QUANTITY)));
    h.fail_last(OrderFailureKind::ShortingNotAllowed);
    assert_eq!(h.position(TOKEN), i64::from(QUANTITY));
    // Still below: it now only exits the long.
    assert_eq!(feed(&mut h, 50), Some((Side::Sell, QUANTITY)));
    h.fill_last(QUANTITY, Decimal::from(50));
    assert_eq!(h.position(TOKEN), 0);
    assert_eq!(feed(&mut h, 50), None, "flat is the target below zero");
    // Up again: long; down again: back to flat, never short.
    assert_eq!(feed(&mut h, 200), Some((Side::Buy, QUANTITY)));
    h.fill_last(QUANTITY, Decimal::from(200));
    assert_eq!(feed(&mut h, 10), Some((Side::Sell, QUANTITY)));
    h.fill_last(QUANTITY, Decimal::from(10));
    assert_eq!(h.position(TOKEN), 0);
}

#[test]
fn ema_cross_still_shorts_after_other_refusals() {
    // Only the venue's ShortingNotAllowed turns shorts off: after any other end of a
    // flip, the next order is a flip again.
    let others = failure_kinds()
        .into_iter()
        .filter(|k| *k != OrderFailureKind::ShortingNotAllowed);
    for failure in others {
        let mut h = Harness::new(Kind::EmaCross.build());
        assert_eq!(rise(&mut h), Some((Side::Buy, QUANTITY)));
        h.fill_last(QUANTITY, Decimal::from(110));
        assert_eq!(feed(&mut h, 50), Some((Side::Sell, 2 * QUANTITY)));
        h.fail_last(failure);
        assert_eq!(
            feed(&mut h, 50),
            Some((Side::Sell, 2 * QUANTITY)),
            "{failure:?}"
        );
    }
    let mut h = Harness::new(Kind::EmaCross.build());
    assert_eq!(rise(&mut h), Some((Side::Buy, QUANTITY)));
    h.fill_last(QUANTITY, Decimal::from(110));
    assert_eq!(feed(&mut h, 50), Some((Side::Sell, 2 * QUANTITY)));
    h.reject_last(RejectionCode::MaxPosition);
    assert_eq!(feed(&mut h, 50), Some((Side::Sell, 2 * QUANTITY)));
}

/// Statistics of a random run, to check it exercised what it should.
#[derive(Debug, Default)]
struct Tally {
    intents: usize,
    ended: usize,
    partial_fills: usize,
}

/// Over a long walk, each order in flight is, tick by tick, filled in full, filled in
/// part, rejected by risk, ended by the venue, or left waiting, at random. Every decision
/// matches the model; the position always equals the sum of the fills given; long-only
/// kinds never sell more than they hold and stay in `0..=quantity`; ema_cross stays within
/// ±quantity.
fn random_outcomes(kind: Kind, seed: u64) -> Tally {
    let mut rng = Lcg(seed ^ 0x9E37_79B9_7F4A_7C15);
    let mut h = Harness::new(kind.build());
    let mut s = Scenario::new(kind, &mut h);
    let mut tally = Tally::default();
    let mut filled_total: i64 = 0;
    let mut side = Side::Buy;
    let q = i64::from(QUANTITY);
    for x in walk(seed, WALK_TICKS) {
        if let Some((quantity, filled)) = s.venue.in_flight() {
            let sign = if side == Side::Buy { 1 } else { -1 };
            let remaining = quantity - filled;
            match rng.below(10) {
                0..=2 => {
                    s.fill(remaining);
                    filled_total += sign * i64::from(remaining);
                }
                3 | 4 if remaining >= 2 => {
                    let part =
                        1 + u32::try_from(rng.below(u64::from(remaining - 1))).expect("small");
                    s.fill(part);
                    filled_total += sign * i64::from(part);
                    tally.partial_fills += 1;
                }
                5 if filled == 0 => {
                    s.end(Ending::Risk(rng.pick(&rejection_codes())));
                }
                5 | 6 => {
                    s.end(Ending::Venue(rng.pick(&failure_kinds())));
                }
                _ => {}
            }
        }
        let position = s.venue.position();
        assert_eq!(position, filled_total, "{kind:?}: not the sum of fills");
        if kind == Kind::EmaCross {
            assert!(position.abs() <= q, "{kind:?}: position {position}");
        } else {
            assert!((0..=q).contains(&position), "{kind:?}: position {position}");
        }
        if let (_, Some((sent_side, quantity))) = s.tick(x) {
            tally.intents += 1;
            side = sent_side;
            if kind != Kind::EmaCross && side == Side::Sell {
                assert!(
                    i64::from(quantity) <= position,
                    "{kind:?}: sells {quantity} holding {position}"
                );
            }
        }
    }
    tally.ended = s.venue.ended().len();
    tally
}

#[test]
fn random_refusals_and_partial_fills_keep_positions_in_bounds() {
    for kind in KINDS {
        for seed in [1, 2, 3] {
            let tally = random_outcomes(kind, seed);
            assert!(
                tally.intents >= 20 && tally.ended >= 5 && tally.partial_fills >= 5,
                "{kind:?} seed {seed}: too little exercised: {tally:?}"
            );
        }
    }
}
