//! Tests of the option chains, the expiry calendar and subscription rules, on the
//! embedded sample (NIFTY weekly + monthly, BANKNIFTY monthly) of Monday 7 Dec 2026.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::chain_rule::{ChainRule, RuleInputs};
use super::derivatives::{ExpiryChoice, OptionChains, Right, intrinsic};
use super::{InstrumentKind, InstrumentRegistry};

fn date(text: &str) -> NaiveDate {
    NaiveDate::from_str(text).unwrap()
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn sample() -> (InstrumentRegistry, OptionChains) {
    let registry = InstrumentRegistry::embedded_on(date("2026-12-07")).unwrap();
    let chains = OptionChains::build(&registry);
    (registry, chains)
}

/// The symbols `rule` resolves to at `price` on 7 Dec 2026.
fn resolve(rule: &str, price: &str) -> Result<Vec<String>, String> {
    let (registry, chains) = sample();
    let rule = ChainRule::from_str(rule)?;
    let inputs = RuleInputs {
        today: date("2026-12-07"),
        price: Some(d(price)),
    };
    let tokens = rule.resolve(&chains, inputs)?;
    Ok(tokens
        .into_iter()
        .map(|t| registry.by_token(t).unwrap().symbol.clone())
        .collect())
}

#[test]
fn the_calendar_is_read_from_the_master() {
    let (_, chains) = sample();
    let today = date("2026-12-07");
    assert_eq!(chains.underlyings(), ["BANKNIFTY", "NIFTY"]);
    #[rustfmt::skip]
    let cases = [
        ("NIFTY", ExpiryChoice::CurrentWeek, Some("2026-12-08")),
        ("NIFTY", ExpiryChoice::NextWeek, Some("2026-12-15")),
        ("NIFTY", ExpiryChoice::CurrentMonth, Some("2026-12-29")),
        ("NIFTY", ExpiryChoice::NextMonth, Some("2027-01-26")),
        // BANKNIFTY has monthly contracts only: its "week" is its month.
        ("BANKNIFTY", ExpiryChoice::CurrentWeek, Some("2026-12-29")),
        ("BANKNIFTY", ExpiryChoice::NextMonth, Some("2027-01-26")),
        ("NIFTY", ExpiryChoice::On(date("2026-12-15")), Some("2026-12-15")),
        ("NIFTY", ExpiryChoice::On(date("2026-12-16")), None),
        ("FINNIFTY", ExpiryChoice::CurrentWeek, None),
    ];
    for (underlying, choice, expected) in cases {
        let found = chains.expiry(underlying, choice, today);
        assert_eq!(found, expected.map(date), "{underlying} {choice:?}");
    }
    // On the expiry day itself the contract is still current; the day after, it is gone.
    let on_expiry = chains.expiry("NIFTY", ExpiryChoice::CurrentWeek, date("2026-12-08"));
    assert_eq!(on_expiry, Some(date("2026-12-08")));
    let after = chains.expiry("NIFTY", ExpiryChoice::CurrentWeek, date("2026-12-09"));
    assert_eq!(after, Some(date("2026-12-15")));
}

#[test]
fn monthly_expiries_without_futures_are_the_last_of_each_month() {
    let (registry, _) = sample();
    // The same master with the futures left out.
    let options_only = registry
        .iter()
        .filter(|i| i.kind != InstrumentKind::Future)
        .map(|i| i.to_csv_row())
        .collect::<Vec<_>>()
        .join("\n");
    let text = format!("{}\n{options_only}\n", super::instruments::HEADER.join(","));
    let chains = OptionChains::build(&InstrumentRegistry::parse(&text, "t").unwrap());
    let months = chains.monthly_expiries("NIFTY", date("2026-12-07"));
    assert_eq!(months, [date("2026-12-29"), date("2027-01-26")]);
}

#[test]
fn atm_is_the_nearest_listed_strike_and_offsets_walk_the_chain() {
    let (_, chains) = sample();
    let expiry = date("2026-12-08");
    #[rustfmt::skip]
    let cases = [
        ("26012.40", "26000"), ("26024.99", "26000"), ("26025", "26000"),
        ("26025.05", "26050"), ("25000", "25000"), ("1", "25000"), ("99999", "27000"),
    ];
    for (price, atm) in cases {
        let found = chains.atm_strike("NIFTY", expiry, d(price));
        assert_eq!(found, Some(d(atm)), "price {price}");
    }
    let atm = d("26000");
    assert_eq!(
        chains.strike_offset("NIFTY", expiry, atm, 3),
        Some(d("26150"))
    );
    assert_eq!(
        chains.strike_offset("NIFTY", expiry, atm, -20),
        Some(d("25000"))
    );
    assert_eq!(chains.strike_offset("NIFTY", expiry, atm, -21), None);
    assert_eq!(
        chains.strike_offset("NIFTY", expiry, d("26010"), 1),
        None,
        "not listed"
    );
    let price = d("26010");
    assert_eq!(
        chains.otm_strike("NIFTY", expiry, price, Right::Call, 2),
        Some(d("26100"))
    );
    assert_eq!(
        chains.otm_strike("NIFTY", expiry, price, Right::Put, 2),
        Some(d("25900"))
    );
    assert_eq!(
        chains.itm_strike("NIFTY", expiry, price, Right::Call, 1),
        Some(d("25950"))
    );
    assert_eq!(
        chains.itm_strike("NIFTY", expiry, price, Right::Put, 1),
        Some(d("26050"))
    );
}

#[test]
fn lookups_by_underlying_expiry_strike_and_right() {
    let (registry, chains) = sample();
    let expiry = date("2026-12-29");
    let call = chains
        .option("NIFTY", expiry, d("26100"), Right::Call)
        .unwrap();
    let call = registry.by_token(call).unwrap();
    assert_eq!(call.symbol, "NIFTY26DEC26100CE");
    assert_eq!(
        (call.kind.clone(), call.strike),
        (InstrumentKind::Call, d("26100"))
    );
    let put = chains
        .option("BANKNIFTY", expiry, d("58000"), Right::Put)
        .unwrap();
    assert_eq!(
        registry.by_token(put).unwrap().symbol,
        "BANKNIFTY26DEC58000PE"
    );
    let future = chains.future("NIFTY", expiry).unwrap();
    assert_eq!(registry.by_token(future).unwrap().symbol, "NIFTY26DECFUT");
    assert_eq!(
        chains.future("NIFTY", date("2026-12-08")),
        None,
        "weeklies have no future"
    );
    assert_eq!(
        chains.option("NIFTY", expiry, d("26025"), Right::Call),
        None
    );
    assert_eq!(chains.strikes("NIFTY", expiry).len(), 41);
}

#[test]
fn intrinsic_value_per_right() {
    let k = d("26000");
    assert_eq!(intrinsic(Right::Call, k, d("26120.5")), d("120.5"));
    assert_eq!(intrinsic(Right::Call, k, d("25900")), Decimal::ZERO);
    assert_eq!(intrinsic(Right::Put, k, d("25900")), d("100"));
    assert_eq!(intrinsic(Right::Put, k, d("26000")), Decimal::ZERO);
}

#[test]
fn rules_resolve_to_the_contracts_they_name() {
    #[rustfmt::skip]
    let cases: [(&str, &str, &[&str]); 9] = [
        ("NIFTY:CE,PE:ATM:current_week", "26010", &["NIFTY26D0826000CE", "NIFTY26D0826000PE"]),
        ("NIFTY:CE:ATM±1:next_week", "26030", &["NIFTY26D1526000CE", "NIFTY26D1526050CE", "NIFTY26D1526100CE"]),
        ("nifty:pe:atm+-1:current_month", "26000", &["NIFTY26DEC25950PE", "NIFTY26DEC26000PE", "NIFTY26DEC26050PE"]),
        ("NIFTY:CE:ATM+2:current_week", "26000", &["NIFTY26D0826100CE"]),
        ("NIFTY:PE:ATM-2:current_week", "26000", &["NIFTY26D0825900PE"]),
        ("NIFTY:CE,PE:OTM1:current_week", "26000", &["NIFTY26D0825950PE", "NIFTY26D0826050CE"]),
        ("NIFTY:CE,PE:ITM1:current_week", "26000", &["NIFTY26D0825950CE", "NIFTY26D0826050PE"]),
        ("BANKNIFTY:CE:59500:current_month", "1", &["BANKNIFTY26DEC59500CE"]),
        ("BANKNIFTY:FUT:next_month", "1", &["BANKNIFTY27JANFUT"]),
    ];
    for (rule, price, expected) in cases {
        assert_eq!(resolve(rule, price).unwrap(), expected, "{rule} at {price}");
    }
    assert_eq!(
        resolve("NIFTY:CE,PE:ATM±3:current_week", "26000")
            .unwrap()
            .len(),
        14
    );
}

#[test]
fn rules_say_what_they_cannot_resolve() {
    #[rustfmt::skip]
    let cases = [
        ("FINNIFTY:CE:ATM:current_week", "26000", "FINNIFTY has no futures or options in the instrument master (underlyings: BANKNIFTY, NIFTY)"),
        ("NIFTY:CE:ATM:2026-12-16", "26000", "NIFTY lists no 2026-12-16 expiry on or after 2026-12-07 (expiries: 2026-12-08, 2026-12-15, 2026-12-29, 2027-01-26)"),
        ("NIFTY:CE:ATM+21:current_week", "26000", "NIFTY 2026-12-08: +21 strikes from ATM 26000 (price 26000) is beyond the listed strikes (25000 to 27000)"),
        ("NIFTY:CE:26025:current_week", "26000", "NIFTY 2026-12-08 lists no CE at strike 26025"),
        ("NIFTY:FUT:current_week", "26000", "NIFTY lists no future expiring 2026-12-08"),
    ];
    for (rule, price, expected) in cases {
        assert_eq!(resolve(rule, price).unwrap_err(), expected, "{rule}");
    }
    let (_, chains) = sample();
    let no_price = RuleInputs {
        today: date("2026-12-07"),
        price: None,
    };
    let rule = ChainRule::from_str("NIFTY:CE:ATM:current_week").unwrap();
    let error = rule.resolve(&chains, no_price).unwrap_err();
    assert_eq!(
        error,
        "NIFTY: the underlying's price is unknown, so ATM cannot be found"
    );
    let fixed = ChainRule::from_str("NIFTY:CE:26000:current_week").unwrap();
    assert_eq!(
        fixed.resolve(&chains, no_price).unwrap().len(),
        1,
        "a fixed strike needs no price"
    );
}

#[test]
fn rule_text_is_parsed_strictly_and_written_back() {
    for text in [
        "NIFTY:CE,PE:ATM±3:current_week",
        "NIFTY:PE:ATM-2:next_month",
        "BANKNIFTY:CE:OTM2:2026-12-29",
        "NIFTY:FUT:current_month",
        "NIFTY:CE:26000:next_week",
    ] {
        assert_eq!(ChainRule::from_str(text).unwrap().to_string(), text);
    }
    #[rustfmt::skip]
    let bad = [
        ("NIFTY:CE:ATM", "an option rule has 4 parts, got 3"),
        ("NIFTY:FUT:current_month:x", "a future rule has 3 parts, got 4"),
        ("NIFTY:CE,XE:ATM:current_week", "right \"XE\" is not CE or PE"),
        ("NIFTY:CE:ATM*3:current_week", "strikes \"ATM*3\" are not understood"),
        ("NIFTY:CE:-5:current_week", "strikes \"-5\" are not understood"),
        ("NIFTY:CE:ATM:this_week", "expiry \"this_week\" is not understood"),
        (":CE:ATM:current_week", "no underlying"),
    ];
    for (text, expected) in bad {
        let error = ChainRule::from_str(text).unwrap_err();
        assert!(error.starts_with(expected), "{text}: {error}");
    }
    assert!(ChainRule::looks_like_rule("NIFTY:CE,PE:ATM:current_week"));
    assert!(ChainRule::looks_like_rule("NIFTY:fut:current_month"));
    assert!(!ChainRule::looks_like_rule("NSE:RELIANCE"));
    assert!(!ChainRule::looks_like_rule("RELIANCE"));
    assert!(!ChainRule::looks_like_rule("NFO:NIFTY26DECFUT"));
}
