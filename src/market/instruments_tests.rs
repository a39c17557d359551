//! Tests of the instrument registry: the embedded file, lookups, and every bad row.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::instruments::{EMBEDDED_SOURCE, HEADER};
use super::{InstrumentError, InstrumentRegistry};

/// A file with a comment, a blank line, the header (line 3) and RELIANCE (line 4), then
/// `rows` from line 5 on.
fn file_with(rows: &[&str]) -> String {
    let mut text = format!(
        "# test registry\n\n{}\n738561,RELIANCE,RELIANCE INDUSTRIES,NSE,NSE,0.05,1\n",
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

#[test]
fn embedded_registry_loads_all_28_instruments() {
    let registry = InstrumentRegistry::embedded().unwrap();
    assert_eq!(registry.len(), 28);
    assert!(!registry.is_empty());
    assert!(registry.iter().all(|i| i.exchange == "NSE"));
    let indices: Vec<&str> = registry
        .iter()
        .filter(|i| i.is_index())
        .map(|i| i.symbol.as_str())
        .collect();
    assert_eq!(indices, ["NIFTY 50", "NIFTY BANK"]);
    for instrument in registry.iter() {
        let says_index = instrument.segment == "INDICES";
        assert_eq!(instrument.is_index(), says_index, "{instrument:?}");
    }
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
    let text = file_with(&["500325,RELIANCE,RELIANCE INDUSTRIES,BSE,BSE,0.05,1"]);
    let registry = InstrumentRegistry::parse(&text, "test.csv").unwrap();
    assert_eq!(registry.len(), 2);
    assert!(registry.by_symbol("RELIANCE").is_none());
    assert!(registry.is_ambiguous("RELIANCE"));
    assert_eq!(registry.by_symbol("NSE:RELIANCE").unwrap().token, 738_561);
    assert_eq!(registry.by_symbol("BSE:RELIANCE").unwrap().token, 500_325);
}

#[test]
fn quoted_fields_and_crlf_line_endings_are_read() {
    let text = file_with(&["\"256265\",\"NIFTY 50\",\"NIFTY \"\"50\"\"\",NSE,INDICES,0.05,1"])
        .replace('\n', "\r\n");
    let registry = InstrumentRegistry::parse(&text, "test.csv").unwrap();
    let nifty = registry.by_symbol("NIFTY 50").unwrap();
    assert_eq!(
        (nifty.token, nifty.name.as_str(), nifty.is_index()),
        (256_265, "NIFTY \"50\"", true)
    );
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
        ("1,A,A,NSE,NSE,0.05", "test.csv:5: expected 7 columns (instrument_token,tradingsymbol,name,exchange,segment,tick_size,lot_size), got 6"),
        ("1,A,A,NSE,NSE,0.05,1,x", "test.csv:5: expected 7 columns"),
        ("x,A,A,NSE,NSE,0.05,1", r#"test.csv:5: instrument_token: expected a positive integer, got "x""#),
        ("0,A,A,NSE,NSE,0.05,1", r#"test.csv:5: instrument_token: expected a positive integer, got "0""#),
        ("-5,A,A,NSE,NSE,0.05,1", r#"test.csv:5: instrument_token: expected a positive integer, got "-5""#),
        ("4294967296,A,A,NSE,NSE,0.05,1", r#"instrument_token: expected a positive integer, got "4294967296""#),
        (",A,A,NSE,NSE,0.05,1", r#"test.csv:5: instrument_token: expected a positive integer, got """#),
        ("1,,A,NSE,NSE,0.05,1", "test.csv:5: tradingsymbol: must not be empty"),
        ("1,A,A,,NSE,0.05,1", "test.csv:5: exchange: must not be empty"),
        ("1,A,A,NSE,NSE,abc,1", r#"test.csv:5: tick_size: expected a positive decimal, got "abc""#),
        ("1,A,A,NSE,NSE,0,1", r#"test.csv:5: tick_size: expected a positive decimal, got "0""#),
        ("1,A,A,NSE,NSE,-0.05,1", r#"test.csv:5: tick_size: expected a positive decimal, got "-0.05""#),
        ("1,A,A,NSE,NSE,0.05,0", r#"test.csv:5: lot_size: expected a positive integer, got "0""#),
        ("1,A,A,NSE,NSE,0.05,1.5", r#"test.csv:5: lot_size: expected a positive integer, got "1.5""#),
        ("738561,X,X,NSE,NSE,0.05,1", "test.csv:5: instrument_token: 738561 is already on line 4"),
        ("2,RELIANCE,R,NSE,NSE,0.05,1", "test.csv:5: tradingsymbol: NSE:RELIANCE is already on line 4"),
        ("1,\"A,A,NSE,NSE,0.05,1", "test.csv:5: field 2: unterminated quote"),
        ("1,A\"B,A,NSE,NSE,0.05,1", "test.csv:5: field 2: a quote inside an unquoted field"),
    ];
    for (row, expected) in cases {
        let found = error_of(&file_with(&[row]));
        assert!(found.contains(expected), "{row:?}: {found}");
        assert!(found.starts_with("test.csv:5: "), "{row:?}: {found}");
    }
}

#[test]
fn a_bad_row_after_good_ones_names_its_own_line() {
    let text = file_with(&["1,A,A,NSE,NSE,0.05,1", "# note", "2,B,B,NSE,NSE,abc,1"]);
    let error = InstrumentRegistry::parse(&text, EMBEDDED_SOURCE).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"config/instruments.csv:7: tick_size: expected a positive decimal, got "abc""#
    );
    let InstrumentError::Line { source, line, .. } = error else {
        panic!("expected a line error, got {error:?}");
    };
    assert_eq!((source.as_str(), line), ("config/instruments.csv", 7));
}

#[test]
fn missing_or_wrong_header_names_its_line() {
    let expected = r#"header: expected "instrument_token,tradingsymbol,name,exchange,segment,tick_size,lot_size", got"#;
    #[rustfmt::skip]
    let cases = [
        ("", "test.csv:1: ", "the end of the file"),
        ("# only a comment\n\n", "test.csv:3: ", "the end of the file"),
        ("# c\n738561,RELIANCE,R,NSE,NSE,0.05,1\n", "test.csv:2: ", "\"738561,RELIANCE"),
        ("token,symbol,name,exchange,segment,tick_size,lot_size\n", "test.csv:1: ", "\"token,symbol"),
        ("instrument_token,tradingsymbol,name,exchange,segment,tick_size\n", "test.csv:1: ", "\"instrument_token"),
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
    std::fs::write(&path, file_with(&["408065,INFY,INFOSYS,NSE,NSE,0.05,1"])).unwrap();
    let registry = InstrumentRegistry::load(&path).unwrap();
    assert_eq!(registry.by_symbol("INFY").unwrap().token, 408_065);

    std::fs::write(&path, file_with(&["408065,INFY,INFOSYS,NSE,NSE,x,1"])).unwrap();
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
