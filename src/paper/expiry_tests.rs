//! Futures and options in the paper venue: products, the expiry settlement (values,
//! charges and P&L recomputed by hand), its price of last resort, and a restart.
//!
//! The contracts expire on Tuesday 3 March 2026 (settled at 15:30 IST); NIFTY 50 prices
//! them. Money in the assertions is recomputed here from the contract terms and KITE.md's
//! rates, not read back from the code.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use super::charges::Product;
use super::config::PaperConfig;
use super::restore::JournalEntry;
use super::testutil::{STRATEGY, checked, d, ist_on, market, untimed, venue};
use super::venue::{PaperVenue, VenueEvent};
use crate::market::InstrumentRegistry;
use crate::messages::{
    Fees, MarketTick, OrderFailureKind, OrderFilled, Side, TradingSignal, is_expiry_settlement,
};

const NIFTY: u32 = 256_265;
/// NFO tokens (segment 2).
const FUT: u32 = 0x0010_0002;
const CALL: u32 = 0x0010_0102;
const PUT: u32 = 0x0010_0202;
const INFY: u32 = 408_065;
const LOT: u32 = 65;

/// The index (master price `nifty_listed`), a future and the 26000 call and put expiring
/// on 3 March 2026, and an equity.
fn registry(nifty_listed: &str) -> InstrumentRegistry {
    let csv = format!(
        "{}\n\
         {NIFTY},1,NIFTY 50,NIFTY 50,{nifty_listed},,0,0,0,EQ,INDICES,NSE\n\
         {FUT},2,NIFTY26MARFUT,NIFTY,0,2026-03-03,0,0.05,65,FUT,NFO-FUT,NFO\n\
         {CALL},3,NIFTY2630326000CE,NIFTY,0,2026-03-03,26000,0.05,65,CE,NFO-OPT,NFO\n\
         {PUT},4,NIFTY2630326000PE,NIFTY,0,2026-03-03,26000,0.05,65,PE,NFO-OPT,NFO\n\
         {INFY},5,INFY,INFOSYS,0,,0,0.05,1,EQ,NSE,NSE",
        crate::market::instruments::HEADER.join(",")
    );
    InstrumentRegistry::parse(&csv, "test").unwrap_or_else(|e| panic!("{e}"))
}

fn underlying_key(name: &str) -> String {
    match name {
        "NIFTY" => "NSE:NIFTY 50".to_owned(),
        other => format!("NSE:{other}"),
    }
}

fn config(product: Product) -> PaperConfig {
    PaperConfig {
        product,
        allow_short: true,
        starting_cash: d("10000000"),
        ..untimed()
    }
}

fn fno_venue(product: Product) -> PaperVenue {
    let registry = registry("26000");
    venue(config(product))
        .with_instruments(&registry)
        .with_derivatives(&registry, underlying_key)
}

fn tick(token: u32, last: &str) -> MarketTick {
    MarketTick::ltp(token, d(last))
}

fn order(token: u32, side: Side, quantity: u32, product: Option<Product>) -> TradingSignal {
    let symbol = match token {
        FUT => "NIFTY26MARFUT",
        CALL => "NIFTY2630326000CE",
        PUT => "NIFTY2630326000PE",
        _ => "INFY",
    };
    TradingSignal {
        token,
        symbol: symbol.into(),
        product,
        ..market(side, quantity)
    }
}

fn filled(events: &[VenueEvent]) -> Vec<OrderFilled> {
    events
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Filled(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

fn round(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

fn settles() -> DateTime<Utc> {
    ist_on(3, 15, 30)
}

/// Opens `side` `quantity` of `token` at `premium` on the morning of the expiry, marks the
/// underlying at `close` at 15:29 and crosses the close with a tick of another
/// instrument; answers the entry fill and what the crossing tick produced.
fn hold_to_expiry(
    v: &mut PaperVenue,
    token: u32,
    side: Side,
    premium: &str,
    close: &str,
) -> (OrderFilled, Vec<VenueEvent>) {
    v.on_tick(&tick(token, premium), ist_on(3, 10, 0));
    let entry = filled(&checked(v.submit(
        "entry",
        &order(token, side, LOT, None),
        ist_on(3, 10, 0),
    )));
    v.on_tick(&tick(NIFTY, close), ist_on(3, 15, 29));
    let crossing = checked(v.on_tick(&tick(INFY, "1500"), ist_on(3, 15, 31)));
    (entry[0].clone(), crossing)
}

#[test]
fn options_settle_at_intrinsic_value_with_exercise_charges_and_worthless_ones_free() {
    // (case, contract, entry side, close S, value by hand per unit)
    let cases = [
        ("ITM call, long", CALL, Side::Buy, "26150.40", "150.40"),
        ("ITM put, long", PUT, Side::Buy, "25890.15", "109.85"),
        ("OTM call, long", CALL, Side::Buy, "25890.15", "0"),
        ("OTM put, long", PUT, Side::Buy, "26150.40", "0"),
        (
            "ITM call, short (assigned)",
            CALL,
            Side::Sell,
            "26150.40",
            "150.40",
        ),
        ("OTM put, short", PUT, Side::Sell, "26150.40", "0"),
    ];
    for (case, token, side, close, value) in cases {
        let mut v = fno_venue(Product::Nrml);
        let cash = v.cash(STRATEGY);
        let (entry, crossing) = hold_to_expiry(&mut v, token, side, "120.50", close);
        let settled = filled(&crossing);
        assert_eq!(settled.len(), 1, "{case}: one settlement fill");
        let s = &settled[0];
        let value = d(value);
        let exit = if side == Side::Buy {
            Side::Sell
        } else {
            Side::Buy
        };
        assert_eq!(
            (s.order.side, s.quantity, s.price, s.filled_at),
            (exit, LOT, value, settles()),
            "{case}"
        );
        assert_eq!(
            s.order.client_order_id,
            format!("expiry-20260303-{token}-{STRATEGY}")
        );
        assert!(is_expiry_settlement(&s.order.client_order_id), "{case}");
        // By hand: in the money, ₹20 close-out brokerage + 18 % GST, and for the long the
        // STT on exercise, 0.15 % of the intrinsic value × quantity; worthless: nothing.
        let expected = if value.is_zero() {
            Fees::default()
        } else {
            let stt = match exit {
                Side::Sell => round(d("0.0015") * value * Decimal::from(LOT)),
                Side::Buy => d("0"),
            };
            Fees {
                brokerage: d("20"),
                stt,
                gst: d("3.60"),
                total: d("23.60") + stt,
                ..Fees::default()
            }
        };
        assert_eq!(s.fees, expected, "{case}");
        assert_eq!(v.position(STRATEGY, token), 0, "{case}");
        // Cash: the premium paid (or received) and the value received (or paid), less
        // every charge.
        let units = Decimal::from(LOT);
        let moved = match side {
            Side::Buy => (value - entry.price) * units,
            Side::Sell => (entry.price - value) * units,
        };
        assert_eq!(
            v.cash(STRATEGY),
            cash + moved - entry.fees.total - expected.total,
            "{case}"
        );
    }
}

#[test]
fn a_long_and_a_short_future_settle_at_the_underlyings_close_not_their_own_last_price() {
    for (side, sign) in [(Side::Buy, d("1")), (Side::Sell, d("-1"))] {
        let mut v = fno_venue(Product::Nrml);
        let cash = v.cash(STRATEGY);
        let (entry, _) = {
            v.on_tick(&tick(FUT, "26012.35"), ist_on(3, 10, 0));
            let events = checked(v.submit("f", &order(FUT, side, LOT, None), ist_on(3, 10, 0)));
            (filled(&events)[0].clone(), ())
        };
        // The future's own last tick is off the index's close: the index decides.
        v.on_tick(&tick(FUT, "26105.00"), ist_on(3, 15, 28));
        v.on_tick(&tick(NIFTY, "26100.10"), ist_on(3, 15, 29));
        let settled = filled(&checked(v.on_clock(ist_on(3, 15, 30))));
        assert_eq!(settled.len(), 1, "{side:?}");
        let s = &settled[0];
        assert_eq!((s.price, s.quantity), (d("26100.10"), LOT));
        assert_eq!(
            s.fees,
            Fees::default(),
            "no STT, no brokerage at a future's settlement"
        );
        assert_eq!(v.position(STRATEGY, FUT), 0);
        // P&L: (close − entry) × 65 for the long, the opposite for the short.
        let pnl = sign * (d("26100.10") - entry.price) * Decimal::from(LOT);
        assert_eq!(v.cash(STRATEGY), cash + pnl - entry.fees.total, "{side:?}");
    }
}

#[test]
fn settlement_uses_the_prices_of_the_close_not_the_tick_that_crosses_it() {
    let mut v = fno_venue(Product::Nrml);
    v.on_tick(&tick(CALL, "120"), ist_on(3, 10, 0));
    v.submit("c", &order(CALL, Side::Buy, LOT, None), ist_on(3, 10, 0));
    v.on_tick(&tick(NIFTY, "26050"), ist_on(3, 15, 29));
    // The next day's first index tick crosses the close: the value is 26050 − 26000.
    let settled = filled(&v.on_tick(&tick(NIFTY, "26400"), ist_on(5, 9, 15)));
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].price, d("50"));
    assert_eq!(settled[0].filled_at, settles(), "dated at the settlement");
}

/// (case, ticks `(token, last)` before the close, the master's NIFTY 50 price, the value).
type Fallback<'a> = (&'a str, &'a [(u32, &'a str)], &'a str, &'a str);

#[test]
fn with_no_tick_of_the_index_a_same_expiry_future_then_the_master_price_stand_in() {
    // (case, ticks before the close, master price of NIFTY 50, the call's value by hand)
    let cases: [Fallback; 3] = [
        ("the future's last price", &[(FUT, "26080")], "26000", "80"),
        ("the master's index price", &[], "26075.50", "75.50"),
        (
            "the index itself first",
            &[(FUT, "26080"), (NIFTY, "26020")],
            "0",
            "20",
        ),
    ];
    for (case, ticks, listed, value) in cases {
        let registry = registry(listed);
        let mut v = venue(config(Product::Nrml))
            .with_instruments(&registry)
            .with_derivatives(&registry, underlying_key);
        v.on_tick(&tick(CALL, "90"), ist_on(3, 10, 0));
        v.submit("c", &order(CALL, Side::Buy, LOT, None), ist_on(3, 10, 0));
        for &(token, price) in ticks {
            v.on_tick(&tick(token, price), ist_on(3, 15, 0));
        }
        let settled = filled(&v.on_clock(settles()));
        assert_eq!(settled.len(), 1, "{case}");
        assert_eq!(settled[0].price, d(value), "{case}");
    }
    // Nothing known of the underlying at all: the contract's own last price.
    let mut v = fno_venue(Product::Nrml);
    let unpriced = registry("0");
    v = v.with_derivatives(&unpriced, |_| "NSE:NOWHERE".to_owned());
    v.on_tick(&tick(CALL, "90"), ist_on(3, 10, 0));
    v.submit("c", &order(CALL, Side::Buy, LOT, None), ist_on(3, 10, 0));
    v.on_tick(&tick(CALL, "61.25"), ist_on(3, 15, 29));
    let settled = filled(&v.on_clock(settles()));
    assert_eq!(
        settled.iter().map(|f| f.price).collect::<Vec<_>>(),
        [d("61.25")]
    );
}

#[test]
fn orders_in_a_contract_end_at_its_expiry_and_new_ones_are_refused() {
    let mut v = fno_venue(Product::Nrml);
    v.on_tick(&tick(CALL, "120"), ist_on(3, 10, 0));
    v.submit("c", &order(CALL, Side::Buy, LOT, None), ist_on(3, 10, 0));
    let low = TradingSignal {
        order_type: crate::messages::OrderType::Limit,
        price: Some(d("10")),
        ..order(CALL, Side::Buy, LOT, None)
    };
    v.submit("low", &low, ist_on(3, 10, 1));
    assert_eq!(v.open_orders(), 1, "the limit rests");
    v.on_tick(&tick(NIFTY, "26010"), ist_on(3, 15, 29));
    let events = checked(v.on_clock(settles()));
    let ended: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Failed(f) => Some(f.order.client_order_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(ended, ["low"], "{events:?}");
    assert_eq!(filled(&events).len(), 1, "and the position settles");
    assert_eq!(v.open_orders(), 0);
    // Afterwards the contract is refused, with the reason.
    let refused = v.submit("late", &order(CALL, Side::Buy, LOT, None), ist_on(4, 9, 20));
    let [VenueEvent::Failed(f)] = &refused[..] else {
        panic!("refused: {refused:?}");
    };
    assert_eq!(f.kind, OrderFailureKind::Rejected);
    assert!(f.message.contains("expired on 2026-03-03"), "{}", f.message);
}

#[test]
fn products_pass_through_and_the_wrong_one_for_the_instrument_is_refused() {
    let mut v = fno_venue(Product::Cnc);
    v.on_tick(&tick(CALL, "120"), ist_on(2, 10, 0));
    v.on_tick(&tick(INFY, "1500"), ist_on(2, 10, 0));
    let reason = |events: Vec<VenueEvent>| match events.first() {
        Some(VenueEvent::Failed(f)) => Some(f.message.clone()),
        _ => None,
    };
    let cnc_option = v.submit(
        "a",
        &order(CALL, Side::Buy, LOT, Some(Product::Cnc)),
        ist_on(2, 10, 1),
    );
    assert!(
        reason(cnc_option).is_some_and(|m| m.starts_with("product CNC refused")),
        "CNC for an option"
    );
    let nrml_equity = v.submit(
        "b",
        &order(INFY, Side::Buy, 1, Some(Product::Nrml)),
        ist_on(2, 10, 1),
    );
    assert!(reason(nrml_equity).is_some_and(|m| m.contains("NRML is for futures and options")));
    let mtf = v.submit(
        "c",
        &order(INFY, Side::Buy, 1, Some(Product::Mtf)),
        ist_on(2, 10, 1),
    );
    assert!(reason(mtf).is_some_and(|m| m.contains("MTF")));
    // paper.product = CNC carries a derivative as NRML and an equity as CNC.
    assert_eq!(
        v.product_of(&order(CALL, Side::Buy, LOT, None)),
        Ok(Product::Nrml)
    );
    assert_eq!(
        v.product_of(&order(INFY, Side::Buy, 1, None)),
        Ok(Product::Cnc)
    );
    assert_eq!(
        v.product_of(&order(CALL, Side::Buy, LOT, Some(Product::Mis))),
        Ok(Product::Mis)
    );
}

#[test]
fn mis_options_follow_the_brokers_square_off_and_nrml_ones_stay() {
    use crate::market::{IntradayDay, MarketCalendar};
    let time = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
    let day = IntradayDay::new(
        time(15, 0),
        time(15, 15),
        time(15, 20),
        MarketCalendar::default(),
    );
    let mut v = fno_venue(Product::Nrml).with_intraday(Some(day));
    v.on_tick(&tick(CALL, "120"), ist_on(2, 10, 0));
    v.on_tick(&tick(PUT, "80"), ist_on(2, 10, 0));
    v.submit(
        "m",
        &order(CALL, Side::Buy, LOT, Some(Product::Mis)),
        ist_on(2, 10, 1),
    );
    v.submit("n", &order(PUT, Side::Buy, LOT, None), ist_on(2, 10, 1));
    let events = checked(v.on_tick(&tick(CALL, "125"), ist_on(2, 15, 20)));
    let closed = filled(&events);
    assert_eq!(closed.len(), 1, "only the MIS option: {events:?}");
    assert_eq!((closed[0].order.token, closed[0].price), (CALL, d("125")));
    // Options charges (flat ₹20, 0.15 % STT on the premium sold, exchange 0.03503 %) plus
    // the ₹50 square-off charge, GST on brokerage + exchange + SEBI.
    let premium = d("125") * Decimal::from(LOT);
    let exchange = round(d("0.0003503") * premium);
    let sebi = round(d("10") * premium / d("10000000"));
    let brokerage = d("70");
    let stt = round(d("0.0015") * premium);
    let gst = round(d("0.18") * (brokerage + exchange + sebi));
    assert_eq!(
        closed[0].fees.total,
        brokerage + stt + exchange + sebi + gst
    );
    assert_eq!(
        (v.position(STRATEGY, CALL), v.position(STRATEGY, PUT)),
        (0, 65)
    );
}

/// A settlement is booked once across a restart; a position whose expiry passed while the
/// venue was down is settled at its first event with the price it knows then (the
/// master's), in a contract the day's master no longer lists (the journal names it).
#[test]
fn a_settlement_is_booked_once_across_restarts_and_an_expiry_missed_while_down_is_settled_at_start()
{
    let mut first = fno_venue(Product::Nrml);
    first.on_tick(&tick(CALL, "120"), ist_on(3, 10, 0));
    let signal = order(CALL, Side::Buy, LOT, None);
    let placed = first.submit("c", &signal, ist_on(3, 10, 0));
    let entry = JournalEntry {
        submitted_at: Some(ist_on(3, 10, 0)),
        events: placed.clone(),
        cause: None,
        product: first.product_of(&signal).ok(),
        contract: first.contract(CALL).cloned(),
    };
    assert!(entry.contract.is_some(), "the journal names the contract");
    let mut fills = filled(&placed);
    first.on_tick(&tick(NIFTY, "26040"), ist_on(3, 15, 29));
    fills.extend(filled(&first.on_clock(settles())));
    assert_eq!(fills.len(), 2, "entry and settlement");

    // Restarted after the settlement was published: nothing is settled again.
    let mut second = fno_venue(Product::Nrml);
    second.learn_placement(&entry);
    for f in &fills {
        assert!(second.restore_fill(f));
    }
    assert_eq!(second.position(STRATEGY, CALL), 0);
    assert!(filled(&second.on_clock(ist_on(4, 9, 15))).is_empty());
    assert_eq!(second.cash(STRATEGY), first.cash(STRATEGY));

    // Down over the close (the settlement never happened): the next morning's master no
    // longer lists the contract and prices NIFTY 50 at its close, 26033.35.
    let next_day = registry_without_contracts("26033.35");
    let mut third = venue(config(Product::Nrml))
        .with_instruments(&next_day)
        .with_derivatives(&next_day, underlying_key);
    third.learn_placement(&entry);
    assert!(third.restore_fill(&fills[0]));
    let settled = filled(&checked(third.on_clock(ist_on(4, 9, 0))));
    assert_eq!(
        settled
            .iter()
            .map(|f| (f.price, f.filled_at))
            .collect::<Vec<_>>(),
        [(d("33.35"), settles())]
    );
    assert_eq!(
        settled[0].fill_id, fills[1].fill_id,
        "the same settlement, by id"
    );
    assert!(third.on_clock(ist_on(4, 9, 1)).is_empty(), "once");
}

fn registry_without_contracts(nifty_listed: &str) -> InstrumentRegistry {
    let csv = format!(
        "{}\n{NIFTY},1,NIFTY 50,NIFTY 50,{nifty_listed},,0,0,0,EQ,INDICES,NSE",
        crate::market::instruments::HEADER.join(",")
    );
    InstrumentRegistry::parse(&csv, "test").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn contracts_come_from_the_registry_with_their_underlying_and_future() {
    let registry = registry("26000");
    let contracts = super::expiry::contracts(&registry, underlying_key);
    let expiry = NaiveDate::from_ymd_opt(2026, 3, 3);
    let call = &contracts[&CALL];
    assert_eq!(
        (Some(call.expiry), call.strike, call.underlying, call.future),
        (expiry, d("26000"), Some(NIFTY), Some(FUT))
    );
    assert_eq!(contracts[&FUT].future, Some(FUT));
    assert!(!contracts.contains_key(&INFY) && !contracts.contains_key(&NIFTY));
    assert_eq!(call.settles_at(), Some(settles()));
}
