//! Runtime subscriptions as a strategy author sees them, through the [`Harness`]: a
//! strategy trading a NIFTY option it subscribed once it saw the index, unsubscribing it
//! after the fill; refusals; and the rules of [`RuntimeSubscriptions`] as a table.

use super::harness::{HARNESS_STRATEGY, Harness};
use super::subscriptions::{InstrumentRef, MAX_INSTRUMENTS_PER_CONNECTION};
use super::{
    Decision, OrderIntent, RuntimeSubscriptions, Strategy, StrategyContext, SubscriptionError,
};
use crate::market::instruments::{InstrumentKind, InstrumentRegistry};
use crate::messages::{Broker, MarketTick, OrderFilled, Side, TickMode, WantedInstrument};
use rust_decimal::Decimal;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const NIFTY_50: u32 = 256_265;

/// On the index's first tick, subscribes `option` in full; buys one lot on the option's
/// first tick; unsubscribes it once filled. Counts its calls.
struct OptionBuyer {
    option: String,
    token: Option<u32>,
    bought: bool,
    calls: Arc<AtomicUsize>,
}

impl Strategy for OptionBuyer {
    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if tick.token == NIFTY_50 {
            if self.token.is_none() {
                self.token = Some(ctx.subscribe(self.option.as_str(), TickMode::Full)?);
            }
            return Ok(None);
        }
        if Some(tick.token) != self.token || self.bought {
            return Ok(None);
        }
        let lot = ctx
            .instruments()
            .and_then(|r| r.by_token(tick.token))
            .map_or(1, |i| i.lot_size);
        self.bought = true;
        Ok(Some(OrderIntent::market(Side::Buy, lot, "option seen")))
    }

    fn on_fill(&mut self, fill: &OrderFilled, ctx: &StrategyContext<'_>) {
        if ctx.is_subscribed(fill.order.token) {
            // Cannot fail: a token is never unknown to unsubscribe.
            let _ = ctx.unsubscribe(fill.order.token);
        }
    }
}

/// The nearest-expiry NIFTY call at 26000 of the embedded registry (whatever today's
/// expiries are).
fn nifty_call(registry: &InstrumentRegistry) -> (u32, String, String, u32) {
    let call = registry
        .iter()
        .filter(|i| i.name == "NIFTY" && i.kind == InstrumentKind::Call)
        .filter(|i| i.strike == Decimal::from(26_000))
        .min_by_key(|i| i.expiry)
        .expect("the embedded registry has NIFTY options");
    (call.token, call.key(), call.symbol.clone(), call.lot_size)
}

#[test]
fn a_strategy_subscribes_an_option_trades_its_ticks_and_unsubscribes_after_the_fill() {
    let registry = InstrumentRegistry::embedded().unwrap();
    let (option, key, symbol, lot) = nifty_call(&registry);
    let calls = Arc::new(AtomicUsize::new(0));
    let strategy = OptionBuyer {
        option: key,
        token: None,
        bought: false,
        calls: calls.clone(),
    };
    let mut h = Harness::new(Box::new(strategy))
        .with_instruments(registry)
        .trading([NIFTY_50]);
    let option_tick = MarketTick::ltp(option, Decimal::from(120));

    assert!(!h.routes(option));
    assert_eq!(h.tick(&option_tick).unwrap(), None);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "not routed before the request"
    );

    assert_eq!(
        h.tick(&MarketTick::ltp(NIFTY_50, Decimal::from(26_010)))
            .unwrap(),
        None
    );
    let wanted = vec![WantedInstrument {
        token: option,
        symbol,
        mode: TickMode::Full,
    }];
    assert_eq!(h.subscribed(), wanted);
    let published = h.published_subscriptions();
    assert_eq!(published.len(), 1);
    assert_eq!(
        (
            published[0].strategy_id.as_str(),
            published[0].broker,
            &published[0].instruments
        ),
        (HARNESS_STRATEGY, Broker::Paper, &wanted)
    );
    assert!(h.routes(option));

    let buy = h
        .tick(&option_tick)
        .unwrap()
        .expect("the option's tick arrived");
    assert_eq!((buy.side, buy.quantity), (Side::Buy, lot));
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    h.fill_last(lot, Decimal::from(120));
    assert_eq!(h.position(option), i64::from(lot));
    assert!(h.subscribed().is_empty(), "unsubscribed on the fill");
    assert_eq!(h.published_subscriptions().len(), 2);
    assert!(h.published_subscriptions()[1].instruments.is_empty());
    assert!(!h.routes(option));
    assert_eq!(h.tick(&option_tick).unwrap(), None);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "its ticks stopped");
}

#[test]
fn an_unknown_symbol_is_an_error_the_strategy_can_raise_as_its_fault() {
    let strategy = OptionBuyer {
        option: "NFO:NIFTY99JAN99999CE".into(),
        token: None,
        bought: false,
        calls: Arc::default(),
    };
    let mut h = Harness::new(Box::new(strategy));
    let fault = h
        .tick(&MarketTick::ltp(NIFTY_50, Decimal::from(26_000)))
        .unwrap_err();
    assert_eq!(
        fault.to_string(),
        "unknown instrument `NFO:NIFTY99JAN99999CE` (not in the instrument registry)"
    );
    assert!(h.published_subscriptions().is_empty());
}

/// A registry of `n` equities with tokens 1..=n, symbols `S1`...
fn registry_of(n: u32) -> InstrumentRegistry {
    let mut csv = String::from(
        "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n",
    );
    for t in 1..=n {
        csv.push_str(&format!("{t},{t},S{t},S{t},0,,0,0.05,1,EQ,NSE,NSE\n"));
    }
    InstrumentRegistry::parse(&csv, "test").unwrap()
}

#[test]
fn requests_change_the_set_only_when_they_change_it() {
    let registry = registry_of(3);
    let subs = RuntimeSubscriptions::default();
    let sym = |s: &str| InstrumentRef::from(s);
    // (case, request, answer, changed, tokens after)
    type Request<'a> = Box<dyn Fn(&RuntimeSubscriptions) -> Result<u32, SubscriptionError> + 'a>;
    type Case<'a> = (
        &'static str,
        Request<'a>,
        Result<u32, SubscriptionError>,
        bool,
        Vec<u32>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "subscribe by symbol",
            Box::new(|s| s.subscribe(&registry, sym("S1"), TickMode::Quote)),
            Ok(1),
            true,
            vec![1],
        ),
        (
            "the same again",
            Box::new(|s| s.subscribe(&registry, sym("NSE:S1"), TickMode::Quote)),
            Ok(1),
            false,
            vec![1],
        ),
        (
            "another mode",
            Box::new(|s| s.subscribe(&registry, 1.into(), TickMode::Full)),
            Ok(1),
            true,
            vec![1],
        ),
        (
            "by token",
            Box::new(|s| s.subscribe(&registry, 3.into(), TickMode::Ltp)),
            Ok(3),
            true,
            vec![1, 3],
        ),
        (
            "unknown token",
            Box::new(|s| s.subscribe(&registry, 9.into(), TickMode::Ltp)),
            Err(SubscriptionError::Unknown(InstrumentRef::Token(9))),
            false,
            vec![1, 3],
        ),
        (
            "unsubscribe what is not subscribed",
            Box::new(|s| s.unsubscribe(&registry, sym("S2")).map(|()| 0)),
            Ok(0),
            false,
            vec![1, 3],
        ),
        (
            "unsubscribe an unknown symbol",
            Box::new(|s| s.unsubscribe(&registry, sym("NOPE")).map(|()| 0)),
            Err(SubscriptionError::Unknown(sym("NOPE"))),
            false,
            vec![1, 3],
        ),
        (
            "unsubscribe",
            Box::new(|s| s.unsubscribe(&registry, 1.into()).map(|()| 0)),
            Ok(0),
            true,
            vec![3],
        ),
    ];
    for (case, request, answer, changed, tokens) in cases {
        assert_eq!(request(&subs), answer, "{case}");
        assert_eq!(subs.take_changed(), changed, "{case}");
        assert_eq!(subs.tokens(), tokens, "{case}");
    }
}

#[test]
fn a_slot_holds_at_most_one_connections_worth_of_runtime_instruments() {
    let limit = u32::try_from(MAX_INSTRUMENTS_PER_CONNECTION).unwrap();
    let registry = registry_of(limit + 1);
    let subs = RuntimeSubscriptions::default();
    for t in 1..=limit {
        subs.subscribe(&registry, t.into(), TickMode::Ltp).unwrap();
    }
    let refused = subs.subscribe(&registry, (limit + 1).into(), TickMode::Ltp);
    assert_eq!(
        refused,
        Err(SubscriptionError::TooMany {
            instrument: InstrumentRef::Token(limit + 1),
            wanted: MAX_INSTRUMENTS_PER_CONNECTION + 1,
        })
    );
    // A subscribed one may still change its mode.
    assert_eq!(subs.subscribe(&registry, 1.into(), TickMode::Full), Ok(1));
    assert_eq!(subs.tokens().len(), MAX_INSTRUMENTS_PER_CONNECTION);
}

#[test]
fn a_restored_set_drops_what_the_registry_no_longer_knows() {
    let registry = registry_of(2);
    let wanted = |token: u32| WantedInstrument {
        token,
        symbol: format!("S{token}"),
        mode: TickMode::Quote,
    };
    let subs = RuntimeSubscriptions::restored(vec![wanted(1), wanted(7)]);
    assert!(!subs.take_changed(), "restoring is not a change");
    assert_eq!(subs.retain_known(&registry), [wanted(7)]);
    assert!(subs.take_changed());
    assert_eq!(subs.wanted(), [wanted(1)]);
}

#[test]
fn a_context_without_subscriptions_refuses_them() {
    let ledger = super::Ledger::default();
    let ctx = StrategyContext::new(chrono::Utc::now(), "s", Broker::Paper, 1, &ledger);
    assert_eq!(
        ctx.subscribe(1, TickMode::Ltp),
        Err(SubscriptionError::NotAvailable)
    );
    assert!(!ctx.is_subscribed(1) && ctx.subscribed().is_empty());
    assert!(ctx.instruments().is_none());
}
