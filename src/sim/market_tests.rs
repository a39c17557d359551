//! The simulated market's derivatives against independent recomputation: options are
//! Black-76 of the simulator's own underlying at the tick's time, futures carry their
//! basis, books and OI come in lots, and the same seed gives the same ticks.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::black76::{self, Inputs};
use super::market::{Derivatives, Market, Underlying};
use crate::kite::ticker::KiteTick;
use crate::market::instruments::{Instrument, InstrumentKind, InstrumentRegistry};
use crate::messages::TickMode;
use crate::settings::Settings;

/// A Monday; the registry's sample contracts expire on the Tuesdays after it.
fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

/// 09:30 IST of [`day`], plus `secs`.
fn at(secs: u32) -> u32 {
    let open = Utc
        .with_ymd_and_hms(2026, 6, 1, 4, 0, 0)
        .unwrap()
        .timestamp();
    u32::try_from(open).unwrap() + secs
}

fn registry() -> InstrumentRegistry {
    InstrumentRegistry::embedded_on(day()).unwrap()
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn tick(market: &mut Market, token: u32, now: u32) -> KiteTick {
    market
        .tick(token, TickMode::Full, now)
        .expect("a simulated token")
}

/// The test's own Black-76 of the option at `now` with the underlying at `spot`: time to
/// 15:30 IST of the expiry, forward carried at the basis, the default rates.
fn reference(option: &Instrument, spot: Decimal, now: u32) -> f64 {
    let p = Derivatives::default().pricing;
    let expiry = option.expiry.unwrap().and_hms_opt(15, 30, 0).unwrap();
    let expiry_utc = expiry.and_utc().timestamp() - (5 * 3600 + 30 * 60);
    let years = (expiry_utc - i64::from(now)) as f64 / (365.0 * 86_400.0);
    let spot = spot.to_f64().unwrap();
    let inputs = Inputs {
        forward: spot * (1.0 + p.futures_basis * years),
        strike: option.strike.to_f64().unwrap(),
        years,
        rate: p.risk_free_rate,
        volatility: p.volatility,
    };
    match option.kind {
        InstrumentKind::Call => black76::call(&inputs),
        _ => black76::put(&inputs),
    }
}

/// The `name` contract of `kind` at `strike` with the nearest expiry.
fn nearest<'r>(
    registry: &'r InstrumentRegistry,
    name: &str,
    kind: &InstrumentKind,
    strike: Decimal,
) -> &'r Instrument {
    registry
        .iter()
        .filter(|i| i.name == name && &i.kind == kind && i.strike == strike)
        .min_by_key(|i| i.expiry)
        .unwrap_or_else(|| panic!("{name} {kind:?} {strike}"))
}

#[test]
fn options_are_black_76_of_the_simulated_underlying_at_the_ticks_time() {
    let registry = registry();
    let index = registry.by_symbol("NSE:NIFTY 50").unwrap().token;
    let mut market = Market::new(&registry, 11, &Derivatives::default());
    let mut checked = 0;
    for second in 0..600 {
        market.step_all(at(second));
        if second % 60 != 0 {
            continue;
        }
        let now = at(second);
        let spot = tick(&mut market, index, now).last_price;
        let atm = (spot / d("50")).round() * d("50");
        // ITM, ATM and OTM for calls (below, at, above the spot) and for puts.
        for strike in [atm - d("300"), atm, atm + d("300")] {
            for kind in [InstrumentKind::Call, InstrumentKind::Put] {
                let option = nearest(&registry, "NIFTY", &kind, strike);
                let got = tick(&mut market, option.token, now);
                let expected = reference(option, spot, now);
                let gap = (got.last_price.to_f64().unwrap() - expected).abs();
                assert!(
                    gap <= 0.05,
                    "{} at {now}: {} vs Black-76 {expected:.4} (spot {spot})",
                    option.symbol,
                    got.last_price
                );
                assert_eq!(got.last_price % d("0.05"), Decimal::ZERO);
                assert_eq!(got.exchange_timestamp, now);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 60);
}

#[test]
fn a_future_stays_within_its_basis_of_the_underlying() {
    let registry = registry();
    let basis = Derivatives::default().pricing.futures_basis;
    let mut market = Market::new(&registry, 5, &Derivatives::default());
    let futures: Vec<&Instrument> = registry
        .iter()
        .filter(|i| i.kind == InstrumentKind::Future)
        .collect();
    assert_eq!(futures.len(), 4, "two months of NIFTY and BANKNIFTY");
    for second in 0..200 {
        market.step_all(at(second));
        for future in &futures {
            let Some(Underlying::Listed(token)) = market.underlying_of(future.token) else {
                panic!("{} has a listed underlying", future.symbol);
            };
            let spot = tick(&mut market, token, at(second)).last_price;
            let price = tick(&mut market, future.token, at(second)).last_price;
            let expiry = future.expiry.unwrap().and_hms_opt(10, 0, 0).unwrap();
            let years =
                (expiry.and_utc().timestamp() - i64::from(at(second))) as f64 / (365.0 * 86_400.0);
            let carry = spot.to_f64().unwrap() * basis * years;
            let premium = (price - spot).to_f64().unwrap();
            assert!(
                (premium - carry).abs() <= 0.025 + 1e-6,
                "{}: future {price}, spot {spot}, premium {premium} vs carry {carry}",
                future.symbol
            );
            assert!(
                premium > 0.0,
                "a positive basis puts the future above its index"
            );
        }
    }
}

#[test]
fn every_derivative_tick_passes_the_door_with_an_uncrossed_book_and_oi_in_lots() {
    let registry = registry();
    let mut market = Market::new(&registry, 3, &Derivatives::default());
    let derivatives: Vec<&Instrument> =
        registry.iter().filter(|i| i.kind.is_derivative()).collect();
    assert!(derivatives.len() > 300);
    for second in 0..30 {
        market.step_all(at(second));
        for instrument in &derivatives {
            let lot = instrument.lot_size;
            let symbol = &instrument.symbol;
            for mode in [TickMode::Ltp, TickMode::Quote] {
                let t = market.tick(instrument.token, mode, at(second)).unwrap();
                assert_eq!(t.to_market_tick(None).check(), Ok(()), "{symbol} {mode:?}");
            }
            let t = tick(&mut market, instrument.token, at(second));
            assert_eq!(t.to_market_tick(None).check(), Ok(()), "{symbol}");
            for (side, levels) in [("bid", &t.bids), ("ask", &t.asks)] {
                for level in levels.iter().filter(|l| l.quantity > 0) {
                    assert_eq!(level.quantity % lot, 0, "{symbol} {side} {level:?}");
                    let below = level.price < t.last_price;
                    assert_eq!(below, side == "bid", "{symbol} {side} {level:?}");
                }
            }
            let best_bid = t.bids[0].price;
            assert!(best_bid.is_zero() || best_bid < t.asks[0].price, "{symbol}");
            for quantity in [
                t.last_traded_quantity,
                t.volume_traded,
                t.total_buy_quantity,
                t.total_sell_quantity,
                t.oi,
                t.oi_day_high,
                t.oi_day_low,
            ] {
                assert_eq!(
                    quantity % lot,
                    0,
                    "{symbol}: {quantity} not in lots of {lot}"
                );
            }
            assert!(t.last_traded_quantity > 0 && t.oi > 0, "{symbol}");
            assert!(t.oi_day_low <= t.oi && t.oi <= t.oi_day_high, "{symbol}");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_ticks() {
    let registry = registry();
    let run = |seed: u64| {
        let mut market = Market::new(&registry, seed, &Derivatives::default());
        let tokens: Vec<u32> = registry.iter().map(|i| i.token).collect();
        let mut ticks = Vec::new();
        for second in 0..20 {
            market.step_all(at(second));
            for token in tokens.iter().step_by(7) {
                market.step(*token, at(second));
                ticks.push(tick(&mut market, *token, at(second)));
            }
        }
        ticks
    };
    assert_eq!(run(9), run(9));
    assert_ne!(run(9), run(10));
}

#[test]
fn an_option_subscribed_alone_steps_its_underlying_on_the_same_path() {
    let registry = registry();
    let index = registry.by_symbol("NSE:NIFTY 50").unwrap().token;
    let call = nearest(&registry, "NIFTY", &InstrumentKind::Call, d("26000"));
    // One market steps only the option (the open-loop pacing of a lone subscription),
    // its twin only the index: the index must take the same path in both.
    let mut alone = Market::new(&registry, 21, &Derivatives::default());
    let mut twin = Market::new(&registry, 21, &Derivatives::default());
    let mut moved = false;
    for second in 0..300 {
        let now = at(second);
        let before = tick(&mut alone, index, now).last_price;
        alone.step(call.token, now);
        twin.step(index, now);
        let spot = tick(&mut alone, index, now).last_price;
        moved |= spot != before;
        assert_eq!(
            spot,
            tick(&mut twin, index, now).last_price,
            "second {second}"
        );
        let price = tick(&mut alone, call.token, now).last_price;
        let expected = reference(call, spot, now);
        assert!(
            (price.to_f64().unwrap() - expected).abs() <= 0.05,
            "{price} vs {expected}"
        );
    }
    assert!(moved, "stepping the option moves its underlying");
}

#[test]
fn derivatives_without_their_underlying_in_the_registry_follow_a_hidden_walk() {
    let full = registry();
    let mut csv = crate::market::instruments::HEADER.join(",");
    for instrument in full.iter().filter(|i| i.name == "NIFTY") {
        csv.push('\n');
        csv.push_str(&instrument.to_csv_row());
    }
    let registry = InstrumentRegistry::parse(&csv, "NIFTY derivatives only").unwrap();
    let mut market = Market::new(&registry, 4, &Derivatives::default());
    let call = nearest(&registry, "NIFTY", &InstrumentKind::Call, d("26000"));
    let hidden = market.underlying_of(call.token);
    assert_eq!(hidden, Some(Underlying::Hidden(0)));
    market.step_all(at(0));
    let spot = market.underlying_prices(Underlying::Hidden(0)).unwrap();
    assert!(
        (spot.close - d("26000")).abs() < d("1"),
        "starts at the middle strike: {spot:?}"
    );
    let t = tick(&mut market, call.token, at(0));
    assert_eq!(t.to_market_tick(None).check(), Ok(()));
    let expected = reference(call, spot.last, at(0));
    assert!((t.last_price.to_f64().unwrap() - expected).abs() <= 0.05);
}

#[test]
fn the_default_model_is_the_default_settings() {
    let settings = Settings::load_from(None, &HashMap::new()).unwrap();
    let registry = registry();
    let from_settings = Derivatives::from_settings(&settings.simulator, &settings.fno, &registry);
    let default = Derivatives::default();
    assert_eq!(from_settings.pricing, default.pricing);
    for name in ["NIFTY", "BANKNIFTY"] {
        assert_eq!(
            from_settings.underlying_key(name),
            default.underlying_key(name)
        );
    }
    assert_eq!(
        from_settings.underlying_key("NIFTY"),
        settings.fno.underlying_key("NIFTY")
    );
}

#[test]
fn out_of_range_rates_are_named_with_their_range() {
    let env: HashMap<String, String> = [
        ("ALPHA_PANDA__SIMULATOR__VOLATILITY", "15"),
        ("ALPHA_PANDA__SIMULATOR__RISK_FREE_RATE", "-0.01"),
        ("ALPHA_PANDA__SIMULATOR__FUTURES_BASIS", "0.9"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let error = Settings::load_from(None, &env).unwrap_err().to_string();
    for expected in [
        "simulator.volatility: must be between 0.001 and 5",
        "got 15",
        "simulator.risk_free_rate: must be between 0 and 0.5",
        "simulator.futures_basis: must be between -0.5 and 0.5",
    ] {
        assert!(error.contains(expected), "{expected}: {error}");
    }
    let env: HashMap<String, String> = [("ALPHA_PANDA__SIMULATOR__VOLATILITY", "0.2")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let settings = Settings::load_from(None, &env).unwrap();
    assert_eq!(settings.simulator.volatility, d("0.2"));
}
