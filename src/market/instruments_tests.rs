//! Tests of the instrument registry: Kite's format, the embedded sample, lookups, and
//! every bad row.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::instruments::{EMBEDDED_SOURCE, HEADER};
use super::{InstrumentError, InstrumentKind, InstrumentRegistry};

/// An equity row in Kite's format.
fn equity(token: u32, symbol: &str, exchange: &str, tick: &str, lot: &str) -> String {
    format!(
        "{token},{},{symbol},{symbol} LTD,0,,0,{tick},{lot},EQ,{exchange},{exchange}",
        token >> 8
    )
}

/// A file with a comment, a blank line, the header (line 3) and RELIANCE (line 4), then
/// `rows` from line 5 on.
fn file_with(rows: &[&str]) -> String {
    let mut text = format!(
        "# test registry\n\n{}\n738561,2885,RELIANCE,RELIANCE INDUSTRIES,0,,0,0.05,1,EQ,NSE,NSE\n",
        HEADER.join(",")
    );
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

fn error_of(text: &str) -> String {
    match InstrumentRegistry::parse(text, "test.csv") {
        Ok(registry) => panic!("expected an error, got {} instruments", registry.len()),
        Err(error) => error.to_string(),
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::from_str(text).unwrap()
}

#[test]
fn kites_own_example_rows_load_as_kite_writes_them() {
    // The two rows KITE.md quotes from GET /instruments, verbatim.
    let text = format!(
        "{}\n408065,1594,INFY,INFOSYS,0,,,0.05,1,EQ,NSE,NSE\n\
         5720578,22346,NIFTY159500CE,,23.0,2015-12-31,9500,0.05,75,CE,NFO-OPT,NFO\n",
        HEADER.join(",")
    );
    let registry = InstrumentRegistry::parse(&text, "kite.csv").unwrap();
    let infy = registry.by_symbol("NSE:INFY").unwrap();
    assert_eq!(infy.kind, InstrumentKind::Equity);
    assert_eq!((infy.expiry, infy.strike), (None, Decimal::ZERO));
    let call = registry.by_token(5_720_578).unwrap();
    assert_eq!(call.exchange_token, 22_346);
    assert_eq!(call.key(), "NFO:NIFTY159500CE");
    assert_eq!(call.kind, InstrumentKind::Call);
    assert_eq!(call.expiry, Some(date("2015-12-31")));
    assert_eq!(call.strike, Decimal::from(9500));
    assert_eq!(call.last_price, Decimal::from_str("23.0").unwrap());
    assert_eq!((call.lot_size, call.segment.as_str()), (75, "NFO-OPT"));
}

#[test]
fn embedded_registry_holds_the_equities_indices_and_sample_derivatives() {
    let registry = InstrumentRegistry::embedded_on(date("2026-12-07")).unwrap();
    let cash: Vec<_> = registry.iter().filter(|i| i.exchange == "NSE").collect();
    assert_eq!(cash.len(), 28);
    let indices: Vec<&str> = cash
        .iter()
        .filter(|i| i.is_index())
        .map(|i| i.symbol.as_str())
        .collect();
    assert_eq!(indices, ["NIFTY 50", "NIFTY BANK"]);
    for instrument in registry.iter() {
        let says_index = instrument.segment == "INDICES";
        assert_eq!(instrument.is_index(), says_index, "{instrument:?}");
    }
    let derivatives: Vec<_> = registry.iter().filter(|i| i.exchange == "NFO").collect();
    assert!(derivatives.iter().all(|i| i.kind.is_derivative()));
    assert!(
        derivatives
            .iter()
            .all(|i| i.expiry.is_some_and(|e| e >= date("2026-12-07")))
    );
    // Tuesday 8 Dec is the first weekly NIFTY expiry; 29 Dec the monthly.
    let weekly = registry.by_symbol("NFO:NIFTY26D0826000CE").unwrap();
    assert_eq!(weekly.expiry, Some(date("2026-12-08")));
    assert_eq!((weekly.lot_size, weekly.name.as_str()), (65, "NIFTY"));
    let monthly = registry.by_symbol("NFO:NIFTY26DEC26000PE").unwrap();
    assert_eq!(monthly.expiry, Some(date("2026-12-29")));
    assert_eq!(monthly.kind, InstrumentKind::Put);
    let future = registry.by_symbol("NFO:BANKNIFTY27JANFUT").unwrap();
    assert_eq!(future.expiry, Some(date("2027-01-26")));
}

#[test]
fn a_sample_contract_keeps_its_token_from_one_day_to_the_next() {
    let monday = InstrumentRegistry::embedded_on(date("2026-12-07")).unwrap();
    let friday = InstrumentRegistry::embedded_on(date("2026-12-11")).unwrap();
    let on = |r: &InstrumentRegistry| r.by_symbol("NFO:NIFTY26DEC26000CE").map(|i| i.token);
    assert!(on(&monday).is_some());
    assert_eq!(on(&monday), on(&friday));
    // The weekly of the 8th has expired by Friday.
    assert!(friday.by_symbol("NFO:NIFTY26D0826000CE").is_none());
}

#[test]
fn the_registry_writes_back_what_it_read() {
    let registry = InstrumentRegistry::embedded_on(date("2026-12-07")).unwrap();
    let again = InstrumentRegistry::parse(&registry.to_csv(), "again.csv").unwrap();
    assert_eq!(again.len(), registry.len());
    assert!(registry.iter().zip(again.iter()).all(|(a, b)| a == b));
}

#[test]
fn embedded_lookups_by_token_and_symbol() {
    let registry = InstrumentRegistry::embedded().unwrap();
    let reliance = registry.by_token(738_561).unwrap();
    assert_eq!(reliance.symbol, "RELIANCE");
    assert_eq!(reliance.name, "RELIANCE INDUSTRIES");
    assert_eq!(reliance.tick_size, Decimal::from_str("0.05").unwrap());
    assert_eq!(reliance.lot_size, 1);
    assert_eq!(reliance.key(), "NSE:RELIANCE");
    assert!(!reliance.is_index());

    #[rustfmt::skip]
    let cases = [
        ("RELIANCE", Some(738_561)),
        ("NSE:RELIANCE", Some(738_561)),
        ("NIFTY 50", Some(256_265)),
        ("NSE:NIFTY 50", Some(256_265)),
        ("M&M", Some(519_937)),
        ("reliance", None),
        ("BSE:RELIANCE", None),
        ("NIFTY", None),
        ("", None),
    ];
    for (symbol, token) in cases {
        let found = registry.by_symbol(symbol).map(|i| i.token);
        assert_eq!(found, token, "{symbol:?}");
    }
    assert!(registry.by_symbol("NIFTY 50").unwrap().is_index());
    assert!(registry.by_token(1).is_none());
}

#[test]
fn bare_symbol_on_two_exchanges_is_ambiguous() {
    let text = file_with(&[&equity(500_325, "RELIANCE", "BSE", "0.05", "1")]);
    let registry = InstrumentRegistry::parse(&text, "test.csv").unwrap();
    assert_eq!(registry.len(), 2);
    assert!(registry.by_symbol("RELIANCE").is_none());
    assert!(registry.is_ambiguous("RELIANCE"));
    assert_eq!(registry.by_symbol("NSE:RELIANCE").unwrap().token, 738_561);
    assert_eq!(registry.by_symbol("BSE:RELIANCE").unwrap().token, 500_325);
}

#[test]
fn quoted_fields_and_crlf_line_endings_are_read() {
    let text =
        file_with(&["\"256265\",1001,\"NIFTY 50\",\"NIFTY \"\"50\"\"\",0,,0,0,0,EQ,INDICES,NSE"])
            .replace('\n', "\r\n");
    let registry = InstrumentRegistry::parse(&text, "test.csv").unwrap();
    let nifty = registry.by_symbol("NIFTY 50").unwrap();
    assert_eq!(
        (nifty.token, nifty.name.as_str(), nifty.is_index()),
        (256_265, "NIFTY \"50\"", true)
    );
    assert_eq!(nifty.kind, InstrumentKind::Index);
}

#[test]
fn header_only_file_is_an_empty_registry() {
    let text = format!("{}\n", HEADER.join(","));
    let registry = InstrumentRegistry::parse(&text, "test.csv").unwrap();
    assert!(registry.is_empty() && registry.iter().next().is_none());
}

#[test]
fn each_bad_row_names_its_line_and_column() {
    #[rustfmt::skip]
    let cases = [
        ("1,0,A,A,0,,0,0.05,1,EQ,NSE", "test.csv:5: expected 12 columns (instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,instrument_type,segment,exchange), got 11"),
        ("1,0,A,A,0,,0,0.05,1,EQ,NSE,NSE,x", "test.csv:5: expected 12 columns"),
        ("x,0,A,A,0,,0,0.05,1,EQ,NSE,NSE", r#"test.csv:5: instrument_token: expected a positive integer, got "x""#),
        ("0,0,A,A,0,,0,0.05,1,EQ,NSE,NSE", r#"instrument_token: expected a positive integer, got "0""#),
        ("4294967296,0,A,A,0,,0,0.05,1,EQ,NSE,NSE", r#"instrument_token: expected a positive integer, got "4294967296""#),
        ("1,y,A,A,0,,0,0.05,1,EQ,NSE,NSE", r#"exchange_token: expected an integer, got "y""#),
        ("1,0,,A,0,,0,0.05,1,EQ,NSE,NSE", "test.csv:5: tradingsymbol: must not be empty"),
        ("1,0,A,A,0,,0,0.05,1,EQ,NSE,", "test.csv:5: exchange: must not be empty"),
        ("1,0,A,A,0,,0,0.05,1,,NSE,NSE", "test.csv:5: instrument_type: must not be empty"),
        ("1,0,A,A,-1,,0,0.05,1,EQ,NSE,NSE", r#"last_price: expected a decimal ≥ 0, got "-1""#),
        ("1,0,A,A,0,31-12-2026,0,0.05,1,EQ,NSE,NSE", r#"expiry: expected YYYY-MM-DD or empty, got "31-12-2026""#),
        ("1,0,A,A,0,,abc,0.05,1,EQ,NSE,NSE", r#"strike: expected a decimal ≥ 0, got "abc""#),
        ("1,0,A,A,0,,0,abc,1,EQ,NSE,NSE", r#"tick_size: expected a decimal ≥ 0, got "abc""#),
        ("1,0,A,A,0,,0,0,1,EQ,NSE,NSE", "tick_size: a tradable instrument needs a positive tick size, got 0"),
        ("1,0,A,A,0,,0,-0.05,1,EQ,NSE,NSE", r#"tick_size: expected a decimal ≥ 0, got "-0.05""#),
        ("1,0,A,A,0,,0,0.05,0,EQ,NSE,NSE", "lot_size: a tradable instrument needs a positive lot size, got 0"),
        ("1,0,A,A,0,,0,0.05,1.5,EQ,NSE,NSE", r#"lot_size: expected an integer, got "1.5""#),
        ("2,0,NIFTYX,NIFTY,0,,0,0.05,65,FUT,NFO-FUT,NFO", "expiry: a FUT needs an expiry date"),
        ("2,0,NIFTYX,NIFTY,0,2026-12-29,0,0.05,65,CE,NFO-OPT,NFO", "strike: a CE needs a positive strike"),
        ("738561,0,X,X,0,,0,0.05,1,EQ,NSE,NSE", "test.csv:5: instrument_token: 738561 is already on line 4"),
        ("2,0,RELIANCE,R,0,,0,0.05,1,EQ,NSE,NSE", "test.csv:5: tradingsymbol: NSE:RELIANCE is already on line 4"),
        ("1,0,\"A,A,0,,0,0.05,1,EQ,NSE,NSE", "test.csv:5: field 3: unterminated quote"),
        ("1,0,A\"B,A,0,,0,0.05,1,EQ,NSE,NSE", "test.csv:5: field 3: a quote inside an unquoted field"),
    ];
    for (row, expected) in cases {
        let found = error_of(&file_with(&[row]));
        assert!(found.contains(expected), "{row:?}: {found}");
        assert!(found.starts_with("test.csv:5: "), "{row:?}: {found}");
    }
}

#[test]
fn an_index_may_carry_zero_tick_and_lot_as_kite_writes_it() {
    let text = file_with(&["256265,1001,NIFTY 50,NIFTY 50,0,,0,0,0,EQ,INDICES,NSE"]);
    let registry = InstrumentRegistry::parse(&text, "test.csv").unwrap();
    let nifty = registry.by_token(256_265).unwrap();
    assert!(nifty.is_index());
    assert_eq!((nifty.tick_size, nifty.lot_size), (Decimal::ZERO, 0));
}

#[test]
fn a_bad_row_after_good_ones_names_its_own_line() {
    let good = equity(1, "A", "NSE", "0.05", "1");
    let bad = equity(2, "B", "NSE", "abc", "1");
    let text = file_with(&[&good, "# note", &bad]);
    let error = InstrumentRegistry::parse(&text, EMBEDDED_SOURCE).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"config/instruments.csv:7: tick_size: expected a decimal ≥ 0, got "abc""#
    );
    let InstrumentError::Line { source, line, .. } = error else {
        panic!("expected a line error, got {error:?}");
    };
    assert_eq!((source.as_str(), line), ("config/instruments.csv", 7));
}

#[test]
fn missing_or_wrong_header_names_its_line() {
    let expected = format!("header: expected {:?}, got", HEADER.join(","));
    #[rustfmt::skip]
    let cases = [
        ("", "test.csv:1: ", "the end of the file"),
        ("# only a comment\n\n", "test.csv:3: ", "the end of the file"),
        ("# c\n738561,2885,RELIANCE,R,0,,0,0.05,1,EQ,NSE,NSE\n", "test.csv:2: ", "\"738561,2885"),
        // The 7-column format of earlier versions is refused, naming the header it wants.
        ("instrument_token,tradingsymbol,name,exchange,segment,tick_size,lot_size\n", "test.csv:1: ", "\"instrument_token,tradingsymbol"),
    ];
    for (text, at, got) in cases {
        let found = error_of(text);
        let ok = found.starts_with(&format!("{at}{expected} {got}"));
        assert!(ok, "{text:?}: {found}");
    }
}

#[test]
fn load_reads_a_file_and_reports_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("instruments.csv");
    std::fs::write(
        &path,
        file_with(&[&equity(408_065, "INFY", "NSE", "0.05", "1")]),
    )
    .unwrap();
    let registry = InstrumentRegistry::load(&path).unwrap();
    assert_eq!(registry.by_symbol("INFY").unwrap().token, 408_065);

    std::fs::write(
        &path,
        file_with(&[&equity(408_065, "INFY", "NSE", "x", "1")]),
    )
    .unwrap();
    let error = InstrumentRegistry::load(&path).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("{}:5: tick_size", path.display())),
        "{error}"
    );

    let missing = dir.path().join("nope.csv");
    let error = InstrumentRegistry::load(&missing).unwrap_err();
    assert!(matches!(error, InstrumentError::Io { .. }), "{error:?}");
    let shown = error.to_string();
    assert!(
        shown.starts_with("cannot read instrument file") && shown.contains("nope.csv"),
        "{shown}"
    );
}
