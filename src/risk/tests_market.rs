//! The market's rules: prices on the tick grid (limit and trigger), quantities in lots,
//! and the MIS entry cutoff — before, at and after it, reducing orders, other products,
//! weekends, holidays and no intraday day — each refused with its code and the numbers.

use super::test_support::*;
use super::*;
use crate::market::{InstrumentRegistry, IntradayDay, MarketCalendar};
use crate::messages::{OrderType, Product, Rejection, RejectionCode, Side, TradingSignal};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use std::collections::BTreeMap;

/// A NIFTY future: tick 0.10, lot 25.
const FUTURE: u32 = 13_368_322;

fn registry() -> InstrumentRegistry {
    let csv = "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange\n\
               738561,2885,RELIANCE,RELIANCE INDUSTRIES,0,,0,0.05,1,EQ,NSE,NSE\n\
               13368322,52220,NIFTY26DECFUT,NIFTY,0,2026-12-29,0,0.10,25,FUT,NFO-FUT,NFO\n";
    InstrumentRegistry::parse(csv, "test").expect("test registry")
}

/// Friday 2026-11-27 is a holiday in these tests.
fn holiday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).expect("date")
}

/// Entries close at 15:00 IST (square-off 15:15, the broker's 15:20).
fn day() -> IntradayDay {
    let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("time");
    IntradayDay::new(
        hm(15, 0),
        hm(15, 15),
        hm(15, 20),
        MarketCalendar::new([holiday()]),
    )
}

/// `d` November 2026, IST.
fn ist(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    crate::market::hours::IST
        .with_ymd_and_hms(2026, 11, d, h, m, s)
        .single()
        .expect("IST instant")
        .with_timezone(&Utc)
}

/// Thursday 2026-11-26, IST.
fn thursday(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    ist(26, h, m, s)
}

/// A paper risk state under the test registry, every order MIS, entries closing at 15:00.
fn mis_risk() -> BrokerRisk {
    risk(RiskLimits::default()).with_market(
        MarketRules::new(&registry())
            .with_entry_cutoff(Some(day()), ProductRule::Fixed(Product::Mis)),
    )
}

fn rejected(code: RejectionCode, message: &str) -> Result<(), Vec<Rejection>> {
    Err(vec![Rejection {
        code,
        message: message.into(),
    }])
}

fn stop(side: Side, price: Option<&str>, trigger: &str) -> TradingSignal {
    TradingSignal {
        order_type: if price.is_some() {
            OrderType::StopLimit
        } else {
            OrderType::StopMarket
        },
        price: price.map(dec),
        trigger_price: Some(dec(trigger)),
        ..limit(side, 1, LAST)
    }
}

#[test]
fn prices_off_the_tick_grid_are_refused_with_each_price_named() {
    let grid =
        |prices: &str, verb: &str| format!("{prices} {verb} of the tick size 0.05 of RELIANCE");
    let cases = [
        ("limit on the grid", limit(Side::Buy, 1, "2450.35"), None),
        (
            "limit with trailing zeros",
            limit(Side::Buy, 1, "2450.350"),
            None,
        ),
        (
            "limit off the grid",
            limit(Side::Buy, 1, "2450.33"),
            Some(grid("limit price 2450.33", "is not a multiple")),
        ),
        (
            "SL both on the grid",
            stop(Side::Sell, Some("2440.00"), "2440.50"),
            None,
        ),
        (
            "SL trigger off the grid",
            stop(Side::Sell, Some("2440.00"), "2440.52"),
            Some(grid("trigger price 2440.52", "is not a multiple")),
        ),
        (
            "SL both off the grid",
            stop(Side::Sell, Some("2440.01"), "2440.52"),
            Some(grid(
                "limit price 2440.01 and trigger price 2440.52",
                "are not multiples",
            )),
        ),
        (
            "SL-M trigger on the grid",
            stop(Side::Sell, None, "2440.55"),
            None,
        ),
        (
            "SL-M trigger off the grid",
            stop(Side::Sell, None, "2440.56"),
            Some(grid("trigger price 2440.56", "is not a multiple")),
        ),
        // A market order has no price of its own: the price it saw is not checked.
        (
            "MARKET, reference off the grid",
            market(Side::Buy, 1, "2450.33"),
            None,
        ),
    ];
    for (name, signal, message) in cases {
        let expected = match message {
            None => Ok(()),
            Some(m) => rejected(RejectionCode::TickSize, &m),
        };
        // Before the cutoff, so only the grid decides.
        assert_eq!(
            mis_risk().check(Uuid::new_v4(), &signal, thursday(10, 30, 0)),
            expected,
            "{name}"
        );
    }
}

#[test]
fn quantities_must_be_whole_lots() {
    let future = |quantity| TradingSignal {
        token: FUTURE,
        symbol: "NIFTY26DECFUT".into(),
        ..limit(Side::Buy, quantity, "24500.10")
    };
    let lots = |q: u32, near: &str| {
        format!("quantity {q} is not a multiple of the lot size 25 of NFO:NIFTY26DECFUT ({near})")
    };
    let cases = [
        (25, None),
        (75, None),
        (1, Some(lots(1, "1 lot = 25"))),
        (30, Some(lots(30, "1 lot = 25, 2 lots = 50"))),
        (49, Some(lots(49, "1 lot = 25, 2 lots = 50"))),
        (80, Some(lots(80, "3 lots = 75, 4 lots = 100"))),
    ];
    for (quantity, message) in cases {
        let expected = match message {
            None => Ok(()),
            Some(m) => rejected(RejectionCode::LotSize, &m),
        };
        assert_eq!(
            mis_risk().check(Uuid::new_v4(), &future(quantity), thursday(10, 30, 0)),
            expected,
            "quantity {quantity}"
        );
    }
    // The equity's lot is 1: any quantity.
    assert_eq!(
        mis_risk().check(Uuid::new_v4(), &limit(Side::Buy, 7, LAST), morning()),
        Ok(())
    );
}

#[test]
fn an_instrument_the_registry_does_not_know_has_no_grid_to_check() {
    let unknown = TradingSignal {
        token: 1,
        symbol: "UNKNOWN".into(),
        ..limit(Side::Buy, 3, "100.03")
    };
    assert_eq!(
        mis_risk().check(Uuid::new_v4(), &unknown, morning()),
        Ok(())
    );
}

/// A cutoff case: the position before, the order, the time, and the verdict.
struct CutoffCase {
    name: &'static str,
    /// Filled before the order: (side, quantity), or flat.
    held: Option<(Side, u32)>,
    order: TradingSignal,
    at: DateTime<Utc>,
    message: Option<&'static str>,
}

#[test]
fn mis_entries_are_refused_from_the_cutoff_to_the_close_and_reductions_pass() {
    let buy = |q| limit(Side::Buy, q, LAST);
    let sell = |q| limit(Side::Sell, q, LAST);
    let cases = [
        CutoffCase {
            name: "a second before the cutoff",
            held: None,
            order: buy(10),
            at: thursday(14, 59, 59),
            message: None,
        },
        CutoffCase {
            name: "at the cutoff",
            held: None,
            order: buy(10),
            at: thursday(15, 0, 0),
            message: Some(
                "MIS entries closed at 15:00 IST on 2026-11-26: order +10 at 15:00:00 IST \
                 moves position 0 to 10, not toward zero",
            ),
        },
        CutoffCase {
            name: "after the cutoff, a short entry",
            held: None,
            order: sell(10),
            at: thursday(15, 5, 12),
            message: Some(
                "MIS entries closed at 15:00 IST on 2026-11-26: order -10 at 15:05:12 IST \
                 moves position 0 to -10, not toward zero",
            ),
        },
        CutoffCase {
            name: "growing a long",
            held: Some((Side::Buy, 60)),
            order: buy(1),
            at: thursday(15, 29, 59),
            message: Some(
                "MIS entries closed at 15:00 IST on 2026-11-26: order +1 at 15:29:59 IST \
                 moves position 60 to 61, not toward zero",
            ),
        },
        CutoffCase {
            name: "flipping a long through zero",
            held: Some((Side::Buy, 60)),
            order: sell(61),
            at: thursday(15, 10, 0),
            message: Some(
                "MIS entries closed at 15:00 IST on 2026-11-26: order -61 at 15:10:00 IST \
                 moves position 60 to -1, not toward zero",
            ),
        },
        CutoffCase {
            name: "closing a long",
            held: Some((Side::Buy, 60)),
            order: sell(60),
            at: thursday(15, 10, 0),
            message: None,
        },
        CutoffCase {
            name: "reducing a short",
            held: Some((Side::Sell, 60)),
            order: buy(10),
            at: thursday(15, 10, 0),
            message: None,
        },
        CutoffCase {
            name: "at the close: the intraday day is over",
            held: None,
            order: buy(10),
            at: thursday(15, 30, 0),
            message: None,
        },
        CutoffCase {
            name: "Saturday afternoon",
            held: None,
            order: buy(10),
            at: ist(28, 15, 10, 0),
            message: None,
        },
        CutoffCase {
            name: "a holiday afternoon",
            held: None,
            order: buy(10),
            at: ist(27, 15, 10, 0),
            message: None,
        },
    ];
    for case in cases {
        let mut r = mis_risk();
        if let Some((side, quantity)) = case.held {
            apply(&mut r, &fill(side, quantity, LAST, "0"));
        }
        let expected = match case.message {
            None => Ok(()),
            Some(m) => rejected(RejectionCode::EntryCutoff, m),
        };
        assert_eq!(
            r.check(Uuid::new_v4(), &case.order, case.at),
            expected,
            "{}",
            case.name
        );
    }
}

#[test]
fn the_cutoff_applies_to_mis_orders_only_and_not_without_an_intraday_day() {
    let late = thursday(15, 10, 0);
    let zerodha = |by_strategy: &[(&str, Product)], default| ProductRule::PerStrategy {
        by_strategy: by_strategy
            .iter()
            .map(|(id, p)| ((*id).to_owned(), *p))
            .collect(),
        default,
    };
    let asking = |product| TradingSignal {
        product,
        ..limit(Side::Buy, 10, LAST)
    };
    let cases = [
        (
            "paper, every order CNC",
            Some(day()),
            ProductRule::Fixed(Product::Cnc),
            asking(None),
            true,
        ),
        (
            "paper, every order MIS: the signal's own product does not change the venue's",
            Some(day()),
            ProductRule::Fixed(Product::Mis),
            asking(Some(Product::Cnc)),
            false,
        ),
        (
            "zerodha, the strategy's product CNC",
            Some(day()),
            zerodha(&[(STRATEGY, Product::Cnc)], Product::Mis),
            asking(None),
            true,
        ),
        (
            "zerodha, another strategy's product CNC, the default MIS",
            Some(day()),
            zerodha(&[("other", Product::Cnc)], Product::Mis),
            asking(None),
            false,
        ),
        (
            "zerodha, the signal asks for NRML over the strategy's MIS",
            Some(day()),
            zerodha(&[(STRATEGY, Product::Mis)], Product::Mis),
            asking(Some(Product::Nrml)),
            true,
        ),
        (
            "zerodha, the signal asks for MIS over the strategy's CNC",
            Some(day()),
            zerodha(&[(STRATEGY, Product::Cnc)], Product::Cnc),
            asking(Some(Product::Mis)),
            false,
        ),
        (
            "no intraday day (market_hours.intraday = false)",
            None,
            ProductRule::Fixed(Product::Mis),
            asking(None),
            true,
        ),
    ];
    for (name, day, products, signal, passes) in cases {
        let rules = MarketRules::new(&registry()).with_entry_cutoff(day, products);
        let mut r = BrokerRisk::new(signal.broker, RiskLimits::default()).with_market(rules);
        let got = r.check(Uuid::new_v4(), &signal, late);
        assert_eq!(got.is_ok(), passes, "{name}: {got:?}");
        if !passes {
            assert_eq!(codes(&got), [RejectionCode::EntryCutoff], "{name}");
        }
    }
}

#[test]
fn the_product_rule_follows_each_venue() {
    let rule = ProductRule::PerStrategy {
        by_strategy: BTreeMap::from([(STRATEGY.to_owned(), Product::Cnc)]),
        default: Product::Mis,
    };
    let with = |id: &str, product| TradingSignal {
        strategy_id: id.into(),
        product,
        ..limit(Side::Buy, 1, LAST)
    };
    assert_eq!(rule.product_of(&with(STRATEGY, None)), Product::Cnc);
    assert_eq!(rule.product_of(&with("other", None)), Product::Mis);
    assert_eq!(
        rule.product_of(&with(STRATEGY, Some(Product::Nrml))),
        Product::Nrml
    );
    let paper = ProductRule::Fixed(Product::Mis);
    assert_eq!(
        paper.product_of(&with(STRATEGY, Some(Product::Cnc))),
        Product::Mis
    );
}

#[test]
fn market_rules_come_after_the_trading_state_and_before_the_limits_and_record_nothing() {
    let mut r = mis_risk();
    r.limits = RiskLimits {
        max_order_quantity: Some(20),
        ..RiskLimits::default()
    };
    r.set_state(TradingState::Reducing);
    let future = TradingSignal {
        token: FUTURE,
        symbol: "NIFTY26DECFUT".into(),
        ..limit(Side::Buy, 30, "24500.15")
    };
    let got = r.check(Uuid::new_v4(), &future, thursday(15, 1, 0));
    assert_eq!(
        codes(&got),
        [
            RejectionCode::TradingReducing,
            RejectionCode::EntryCutoff,
            RejectionCode::TickSize,
            RejectionCode::LotSize,
            RejectionCode::MaxOrderQuantity,
        ]
    );
    assert_eq!((r.daily_trades(STRATEGY), r.open_orders()), (0, 0));
}

#[test]
fn a_state_rebuilt_from_its_fills_applies_the_market_rules_it_is_given() {
    let mut original = mis_risk();
    apply(&mut original, &fill(Side::Buy, 60, LAST, "0"));
    let rules = original.market.clone();
    let mut restored =
        BrokerRisk::new(crate::messages::Broker::Paper, RiskLimits::default()).with_market(rules);
    let _ = restored.on_tick(TOKEN, dec(LAST));
    apply(&mut restored, &fill(Side::Buy, 60, LAST, "0"));
    assert_eq!(restored, original);
    let late = thursday(15, 10, 0);
    assert_eq!(
        codes(&restored.check(Uuid::new_v4(), &limit(Side::Buy, 1, LAST), late)),
        [RejectionCode::EntryCutoff]
    );
    assert_eq!(
        restored.check(Uuid::new_v4(), &limit(Side::Sell, 60, LAST), late),
        Ok(())
    );
}
