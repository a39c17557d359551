//! [`PaperVenue`]: a deterministic simulated exchange for one broker namespace.
//!
//! The venue turns validated signals into orders, matches them against the ticks it is
//! given, charges for every execution and keeps each strategy's cash and positions. It is
//! a plain state machine: the caller (the execution actor) feeds it signals and ticks with
//! their instants and publishes the [`VenueEvent`]s it returns.
//!
//! Lifecycle and rules:
//! - A signal Kite would refuse is refused like a Kite 4xx: one `Failed(Rejected)` and no
//!   `Submitted` (see [`admission`]): malformed (wrong broker, zero quantity, a missing
//!   or absurd price, an empty id), an index (not tradable), a MARKET order outside the
//!   normal session when market hours are enforced, a stop whose trigger is on the wrong
//!   side of the last price or an SL whose limit is on the wrong side of its trigger.
//!   Anything else is `Submitted` first; risk checks that fail afterwards (cash,
//!   shorting) follow as `Failed`, as Kite's RMS rejects a placed order. A
//!   `client_order_id` seen before is ignored (no events), so a redelivered signal does
//!   not trade twice, however long ago its order settled; a placement's events are kept
//!   for [`PaperVenue::replay`] only until the caller says they are published
//!   ([`PaperVenue::published`]; see [`placements`] for why that is enough).
//! - An order is *eligible* once `latency_ticks` later ticks of its instrument have
//!   arrived; with 0 it is worked at once against the current tick. With no tick yet it
//!   waits for the first one (market orders never use the signal's reference price).
//! - Eligible orders are worked on every tick of their instrument, in arrival order: stops
//!   trigger, then market and crossed limit orders fill (prices, the tick grid and empty
//!   sides: see `book.rs`; a marketable limit takes the touch on arrival, a resting one
//!   fills at its limit). A side the tick shows empty fills nothing: a DAY order waits
//!   for a tick with depth (or its session close / timeout).
//!   IOC fills what it can on its first eligible tick (for stops: the triggering tick) and
//!   the rest is `Failed(Expired)` with `filled_quantity`; FOK fills all of it on that tick
//!   or nothing (`Failed(Expired)`, 0 filled).
//! - With `depth_limited`, one tick fills at most what it shows on the side taken (see
//!   [`PaperConfig::depth_limited`]); the rest waits (DAY) or expires (IOC).
//! - With `partial_fills`, one tick fills a seeded draw in `1..=max(1, ⌊fraction ×
//!   remaining⌋)`. Draws happen in event order, so the same seed and inputs give the same
//!   fills (for a given `rand` version).
//! - Cash is checked at submission for buys when a price is known (limit, trigger or the
//!   current quote) and again at every execution: `quantity × price + charges > cash` is
//!   `Failed(InsufficientFunds)`. Shorting is checked likewise. Cash is not reserved for
//!   resting orders. A buy moves cash by `−(qty × price) − fees`, a sell by
//!   `+(qty × price) − fees`.
//! - Every order lives until the close of its session from the [`MarketCalendar`]: the
//!   close of the submission day if still ahead, else that of the next trading day. At or
//!   after it (on any tick, or on [`PaperVenue::on_clock`]) the order is
//!   `Failed(Expired)` with what it filled.
//! - With `order_timeout_secs` (0: never), an order still open that long after its
//!   submission time is `Failed(Cancelled)` with what it filled, on the first event (any
//!   instrument's tick, or [`PaperVenue::on_clock`]) at or after the deadline, before
//!   that tick is worked: "unfilled after paper.order_timeout_secs (30 s): cancelled".
//! - Products: an order is placed as its signal's product, else `paper.product` (its carry
//!   product made the instrument's: NRML for a derivative, CNC for an equity; see
//!   [`PaperConfig::product_for`]). A derivative as CNC, an equity as NRML and MTF
//!   anywhere are refused like Kite refuses them (see [`admission`]).
//! - With an intraday day ([`PaperVenue::with_intraday`]), the broker's own auto
//!   square-off runs inside `[broker_square_off_at, 15:30)` IST: resting MIS orders
//!   cancelled, open MIS positions (equity or F&O) closed with the auto square-off charge
//!   (see [`square_off`](super::square_off)). On a tick it runs after the tick's quote is
//!   recorded, so a position in that instrument closes at that tick's price.
//! - Charges per fill from the [`ChargeSchedule`](super::ChargeSchedule), in the column of
//!   the instrument's kind (futures, options) else of the product; with CNC, the delivery
//!   rules of [`super::delivery`] (same-day sells at the intraday STT rate, the DP charge
//!   once per scrip and day).
//! - Expiry ([`super::expiry`], with [`PaperVenue::with_derivatives`]): at the close of a
//!   contract's expiry date every open position in it is cash-settled by one fill and its
//!   open orders are cancelled; a contract past its settlement is refused. On a tick it
//!   runs before the tick's quote is recorded (the prices as they stood at the close).
//! - A restart is invisible ([`restore`]): the accounts come back from the fills, and the
//!   orders left open from the journal and the order topics, each with what it filled,
//!   its submission time and whether its stop had triggered.
//! - The venue's clock is the instants it is given (tick times; `on_clock` from the
//!   actor's wall-clock sweep in the daemon); it never reads one.
//! - Determinism: state lives in `BTreeMap`s keyed by arrival number, token or strategy;
//!   no clock is read; the only randomness is the seeded [`StdRng`].

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rust_decimal::Decimal;

use super::accounts::{Accounts, Execution};
mod admission;
mod clock;
mod matching;
mod placements;
mod restore;
mod settlement;

use placements::Placements;

use super::book::{Order, Pricing, Quote, failed};
use super::charges::Product;
use super::config::PaperConfig;
use super::delivery::Deliveries;
use super::expiry::Contract;
use super::square_off::SquareOffs;
use crate::market::{InstrumentRegistry, IntradayDay, MarketCalendar};
use crate::messages::{
    Broker, MarketTick, OrderFailureKind, OrderRef, OrderSubmitted, TradingSignal,
};

pub use restore::TriggeredStop;

pub use crate::messages::VenueEvent;

/// The simulated exchange. See the module documentation for its rules.
#[derive(Debug, Clone)]
pub struct PaperVenue {
    broker: Broker,
    config: PaperConfig,
    calendar: MarketCalendar,
    rng: StdRng,
    next_seq: u64,
    /// Open orders by arrival number.
    orders: BTreeMap<u64, Order>,
    /// Every client order id ever submitted or restored, and what each submission returned
    /// until it is published, so a caller whose journal write or publication failed can
    /// get them again ([`PaperVenue::replay`]) without placing the order twice.
    placements: Placements,
    quotes: BTreeMap<u32, Quote>,
    /// When each instrument's quote was set (its tick's time).
    quoted_at: BTreeMap<u32, DateTime<Utc>>,
    /// The latest instant of a tick or a submission the venue was given.
    latest_event_at: Option<DateTime<Utc>>,
    accounts: Accounts,
    /// Fills of earlier lives booked by [`PaperVenue::restore_fill`].
    restored: BTreeSet<String>,
    /// The broker's auto square-off: its day and what each day has done.
    square_offs: SquareOffs,
    /// Each instrument's symbol, from its orders and fills (the square-off's orders name
    /// it).
    symbols: BTreeMap<u32, String>,
    /// What the registry says of each instrument ([`PaperVenue::with_instruments`]).
    listings: BTreeMap<u32, Listing>,
    /// Refuse MARKET orders outside the normal session (`market_hours.enforce`).
    market_hours_enforced: bool,
    /// The delivery day of each strategy's scrips (same-day sells, the DP charge).
    deliveries: Deliveries,
    /// Stops triggered and still open since [`PaperVenue::take_triggered`] last ran.
    triggered: Vec<TriggeredStop>,
    /// Futures and options by token ([`PaperVenue::with_derivatives`], and those the
    /// journal names at a restart).
    contracts: BTreeMap<u32, Contract>,
    /// (settlement instant, token) of every contract a position was booked in and not yet
    /// settled: the settlement's due check is one look at the first.
    pending_expiries: BTreeSet<(DateTime<Utc>, u32)>,
    /// The product of orders of an earlier life whose product is not the default one for
    /// their instrument (from the journal, [`PaperVenue::learn_placement`]): a restored
    /// fill opens its position as that product.
    restored_products: BTreeMap<String, Product>,
}

/// What the venue needs of an instrument of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listing {
    tick_size: Decimal,
    index: bool,
    /// The master's `last_price` (0: none): a settlement's price of last resort.
    last_price: Decimal,
}

impl PaperVenue {
    /// A venue for `broker` with no orders, quotes or accounts, and a calendar closed only
    /// on weekends (see [`PaperVenue::with_calendar`]).
    pub fn new(broker: Broker, config: PaperConfig) -> Self {
        Self {
            broker,
            rng: StdRng::seed_from_u64(config.seed),
            accounts: Accounts::new(config.starting_cash),
            config,
            calendar: MarketCalendar::default(),
            next_seq: 0,
            orders: BTreeMap::new(),
            placements: Placements::default(),
            quotes: BTreeMap::new(),
            quoted_at: BTreeMap::new(),
            latest_event_at: None,
            restored: BTreeSet::new(),
            square_offs: SquareOffs::default(),
            symbols: BTreeMap::new(),
            listings: BTreeMap::new(),
            market_hours_enforced: false,
            deliveries: Deliveries::default(),
            triggered: Vec::new(),
            contracts: BTreeMap::new(),
            pending_expiries: BTreeSet::new(),
            restored_products: BTreeMap::new(),
        }
    }

    /// The same venue knowing `registry`'s instruments: prices go onto each one's tick
    /// grid, and its indices are refused. Without it, prices round to the paisa and only
    /// the token's segment tells an index.
    pub fn with_instruments(mut self, registry: &InstrumentRegistry) -> Self {
        self.listings = registry
            .iter()
            .map(|i| {
                let listing = Listing {
                    tick_size: i.tick_size,
                    index: i.is_index() || i.segment.eq_ignore_ascii_case("INDICES"),
                    last_price: i.last_price,
                };
                (i.token, listing)
            })
            .collect();
        self
    }

    /// Books an execution into the accounts, and notes when a contract it touched
    /// settles.
    fn book(&mut self, execution: &Execution<'_>) {
        self.accounts.book(execution);
        if let Some(at) = self
            .contracts
            .get(&execution.token)
            .and_then(Contract::settles_at)
        {
            self.pending_expiries.insert((at, execution.token));
        }
    }

    /// The same venue refusing MARKET orders outside the normal session (09:15–15:30 IST
    /// on trading days) when `enforced` (`market_hours.enforce`), as Kite refuses a
    /// regular order while the market is closed.
    pub fn with_market_hours(mut self, enforced: bool) -> Self {
        self.market_hours_enforced = enforced;
        self
    }

    /// How a taker in `token` is priced.
    fn pricing(&self, token: u32) -> Pricing {
        Pricing {
            at_touch: self.config.fill_at_touch,
            slippage_bps: self.config.slippage_bps,
            tick_size: self.listings.get(&token).map(|l| l.tick_size),
        }
    }

    /// The same venue modelling the broker's auto square-off of MIS positions on `day`
    /// (`market_hours.intraday_day()`; `None`: never).
    pub fn with_intraday(mut self, day: Option<IntradayDay>) -> Self {
        self.square_offs = SquareOffs::new(day);
        self
    }

    /// The same venue using `calendar` (holidays) for session closes.
    pub fn with_calendar(mut self, calendar: MarketCalendar) -> Self {
        self.calendar = calendar;
        self
    }

    /// A validated signal becomes an order. `client_order_id` is given by the caller
    /// (derived from the signal id). Market orders fill against the current tick of the
    /// instrument, never the signal's price; with no tick yet they wait for the first one.
    /// Returns `Submitted` and any immediate fills and failures, in order.
    pub fn submit(
        &mut self,
        client_order_id: &str,
        signal: &TradingSignal,
        at: DateTime<Utc>,
    ) -> Vec<VenueEvent> {
        if !self.placements.claim(client_order_id) {
            return Vec::new();
        }
        self.saw_event_at(at);
        let events = self.place(client_order_id, signal, at);
        self.placements.placed(client_order_id, events.clone());
        events
    }

    /// The events the first submission of `client_order_id` returned, until they are
    /// [`published`](Self::published) (empty if this venue never saw it, or once they
    /// are). The order is not placed again; its later fills come from ticks.
    pub fn replay(&self, client_order_id: &str) -> Vec<VenueEvent> {
        self.placements.unpublished(client_order_id)
    }

    /// The events the submission of `client_order_id` returned are published (journaled
    /// and acknowledged): the venue no longer keeps them for [`replay`](Self::replay), a
    /// redelivery being answered from the journal. The id stays known: a duplicate signal
    /// still places nothing.
    pub fn published(&mut self, client_order_id: &str) {
        self.placements.published(client_order_id);
    }

    /// How many submissions' events are kept for [`replay`](Self::replay): those not yet
    /// [`published`](Self::published).
    pub fn unpublished_placements(&self) -> usize {
        self.placements.kept()
    }

    fn place(
        &mut self,
        client_order_id: &str,
        signal: &TradingSignal,
        at: DateTime<Utc>,
    ) -> Vec<VenueEvent> {
        let mut order_ref = OrderRef {
            client_order_id: client_order_id.to_owned(),
            broker_order_id: None,
            strategy_id: signal.strategy_id.clone(),
            broker: signal.broker,
            token: signal.token,
            symbol: signal.symbol.clone(),
            side: signal.side,
        };
        let (stage, product) = match self.admit(client_order_id, signal, at) {
            Ok(admitted) => admitted,
            Err(message) => {
                let kind = OrderFailureKind::Rejected;
                return vec![failed(order_ref, signal.quantity, 0, kind, message)];
            }
        };
        self.symbols
            .entry(signal.token)
            .or_insert_with(|| signal.symbol.clone());
        let seq = self.next_seq();
        order_ref.broker_order_id = Some(format!("paper-{seq}"));
        let mut events = vec![VenueEvent::Submitted(OrderSubmitted {
            order: order_ref.clone(),
            quantity: signal.quantity,
            order_type: signal.order_type,
            price: signal.price,
            trigger_price: signal.trigger_price,
            validity: signal.validity,
        })];
        let order = Order {
            order: order_ref,
            quantity: signal.quantity,
            filled: 0,
            stage,
            validity: signal.validity,
            ticks_seen: 0,
            resting: false,
            expires_at: self.session_end(at),
            times_out_at: self.times_out_at(at),
            fills: 0,
            brokerage_paid: Decimal::ZERO,
            product,
            column: self.column(signal.token, product),
        };
        if let Some(refusal) = self.precheck(&order) {
            events.push(refusal);
            return events;
        }
        let quote = self.quotes.get(&signal.token).copied();
        let open = match quote {
            Some(quote) if self.config.latency_ticks == 0 => {
                self.work(order, &quote, at, &mut events)
            }
            _ => Some(order),
        };
        if let Some(order) = open {
            self.orders.insert(seq, order);
        }
        events
    }

    /// A tick at `at`: first ends the orders whose session has closed or whose timeout
    /// has passed by `at` and settles the contracts expired by `at`, then records the instrument's price, runs the broker's
    /// square-off if due, and works the instrument's eligible orders in arrival order
    /// (triggering stops, filling market and crossed limit orders, ending IOC/FOK). A tick
    /// whose last price is not in `(0, MAX_PRICE]` only advances the clock.
    pub fn on_tick(&mut self, tick: &MarketTick, at: DateTime<Utc>) -> Vec<VenueEvent> {
        self.saw_event_at(at);
        let mut events = self.end_due_orders(at);
        // Before the tick's price is recorded: a contract settles at the prices of its
        // close, never at a later tick's.
        self.settle_expired(at, &mut events);
        let Some(quote) = Quote::of(tick) else {
            self.broker_square_off(at, &mut events);
            return events;
        };
        self.quotes.insert(tick.token, quote);
        self.quoted_at.insert(tick.token, at);
        self.broker_square_off(at, &mut events);
        let of_token: Vec<u64> = self
            .orders
            .iter()
            .filter(|(_, o)| o.order.token == tick.token)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in of_token {
            let Some(mut order) = self.orders.remove(&seq) else {
                continue;
            };
            order.ticks_seen = order.ticks_seen.saturating_add(1);
            let open = if order.ticks_seen < self.config.latency_ticks {
                Some(order)
            } else {
                self.work(order, &quote, at, &mut events)
            };
            if let Some(order) = open {
                self.orders.insert(seq, order);
            }
        }
        events
    }

    /// The next arrival number.
    fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        seq
    }

    /// The strategy's cash: `starting_cash` until it first trades.
    pub fn cash(&self, strategy: &str) -> Decimal {
        self.accounts.cash(strategy)
    }

    /// The strategy's signed position in the instrument (negative when short).
    pub fn position(&self, strategy: &str, token: u32) -> i64 {
        self.accounts.position(strategy, token)
    }

    /// How many orders are open (resting, waiting for a tick or a trigger).
    pub fn open_orders(&self) -> usize {
        self.orders.len()
    }

    /// The last price the venue saw for `token`.
    /// The time of the tick that set `token`'s quote, if any.
    pub fn quoted_at(&self, token: u32) -> Option<DateTime<Utc>> {
        self.quoted_at.get(&token).copied()
    }

    /// The latest instant of a tick or a submission given to the venue (`on_clock` does
    /// not count): the time the ticks live in.
    pub fn latest_event_at(&self) -> Option<DateTime<Utc>> {
        self.latest_event_at
    }

    /// May a wall clock reading `now` stand in for the ticks' clock ([`Self::on_clock`])?
    /// Only while the two agree: no tick or submission seen yet, or the latest on the same
    /// IST date as `now`. Ticks of another time (a replay, event-time ticks fed to the
    /// daemon's tree) are then never overtaken by today's wall clock, which would expire,
    /// time out or square off in the middle of their day.
    pub fn wall_clock_agrees(&self, now: DateTime<Utc>) -> bool {
        self.latest_event_at
            .is_none_or(|latest| MarketCalendar::ist_date(latest) == MarketCalendar::ist_date(now))
    }

    fn saw_event_at(&mut self, at: DateTime<Utc>) {
        if self.latest_event_at.is_none_or(|latest| latest < at) {
            self.latest_event_at = Some(at);
        }
    }

    pub fn last_price(&self, token: u32) -> Option<Decimal> {
        self.quotes.get(&token).map(|q| q.last)
    }

    /// The venue's broker namespace.
    pub fn broker(&self) -> Broker {
        self.broker
    }

    /// The submission-time risk refusal of `order`, if any.
    fn precheck(&self, order: &Order) -> Option<VenueEvent> {
        let quote = self.quotes.get(&order.order.token);
        let price = order.estimate(quote, &self.pricing(order.order.token));
        self.accounts
            .refusal(&self.config, order, order.quantity, price)
    }

    /// When an order submitted at `at` times out (`None`: never).
    fn times_out_at(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.config
            .order_timeout()
            .and_then(|timeout| TimeDelta::from_std(timeout).ok())
            .and_then(|timeout| at.checked_add_signed(timeout))
    }

    /// The close an order submitted at `at` expires at: today's if still ahead, else the
    /// next trading day's.
    fn session_end(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let cal = &self.calendar;
        cal.session_close(at)
            .filter(|close| *close > at)
            .or_else(|| cal.session_close(cal.next_open(at)))
    }
}
