//! Tests of the tick file reader: both formats, every malformed case, deterministic ids.

use super::*;
use crate::messages::{Envelope, MarketTick, encode};
use chrono::{DateTime, TimeZone};
use std::io::Cursor;
use std::str::FromStr;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn options(seed: u64) -> TickOptions {
    TickOptions {
        seed,
        symbols: HashMap::from([(738561, "RELIANCE".to_owned())]),
    }
}

fn reader(text: &str, seed: u64) -> TickReader<Cursor<Vec<u8>>> {
    TickReader::new(Cursor::new(text.as_bytes().to_vec()), options(seed)).unwrap()
}

fn read_all(text: &str, seed: u64) -> Vec<Envelope<MarketTick>> {
    reader(text, seed).collect::<Result<_, _>>().unwrap()
}

/// The first error reading `text`, as (line, field, display).
fn first_error(text: &str) -> (u64, &'static str, String) {
    let result = TickReader::new(Cursor::new(text.as_bytes().to_vec()), options(0))
        .and_then(|r| r.collect::<Result<Vec<_>, _>>());
    let e = result.expect_err("the file is malformed");
    (
        e.line().expect("a line error"),
        e.field().expect("a field"),
        e.to_string(),
    )
}

const CSV: &str = "ts_ns,token,bid,ask,last\n\
    1793591100000000000,738561,2500.05,2500.10,2500.1\n\
    \n\
    1793591100150000000,408065,1510,1510.5,1510.25\r\n";

#[test]
fn csv_rows_become_full_ticks_with_one_level_a_side() {
    let mut r = reader(CSV, 7);
    assert_eq!(r.format(), TickFormat::Csv);
    let first = r.next().unwrap().unwrap();
    let second = r.next().unwrap().unwrap();
    assert!(r.next().is_none());
    assert_eq!(r.line(), 4);

    let ts = Utc.with_ymd_and_hms(2026, 11, 2, 3, 45, 0).unwrap();
    assert_eq!(first.ts, ts);
    assert_eq!(first.id, tick_id(7, 2));
    assert_eq!(first.correlation_id, first.id);
    assert_eq!(first.causation_id, None);
    assert_eq!(first.source, "backtest");
    assert_eq!(first.key, "738561");
    let tick = &first.data;
    assert_eq!(tick.token, 738561);
    assert_eq!(tick.symbol.as_deref(), Some("RELIANCE"));
    assert_eq!(tick.mode, TickMode::Full);
    assert!(tick.tradable);
    assert_eq!(tick.last_price, dec("2500.1"));
    assert_eq!(tick.best_bid(), Some(dec("2500.05")));
    assert_eq!(tick.best_ask(), Some(dec("2500.10")));
    assert_eq!(tick.exchange_timestamp, Some(ts));
    let depth = tick.depth.as_ref().unwrap();
    assert_eq!((depth.bids.len(), depth.asks.len()), (1, 1));
    assert_eq!((depth.bids[0].quantity, depth.bids[0].orders), (1, 1));
    assert_eq!(tick.volume_traded, None);
    assert_eq!(tick.ohlc, None);

    // Line 4 (a blank line 3 is skipped; CRLF is accepted); an unknown token has no symbol.
    assert_eq!(second.id, tick_id(7, 4));
    assert_eq!(second.ts, ts + chrono::Duration::milliseconds(150));
    assert_eq!(second.data.symbol, None);
    assert_eq!(second.data.best_bid(), Some(dec("1510")));
    assert_eq!(second.data.best_ask(), Some(dec("1510.5")));
    assert_eq!(second.data.last_price, dec("1510.25"));
}

#[test]
fn csv_ticks_pass_the_wire_checks() {
    for envelope in read_all(CSV, 1) {
        let again = crate::messages::decode::<MarketTick>(&encode(&envelope)).unwrap();
        assert_eq!(again, envelope);
    }
}

#[test]
fn ids_are_deterministic_per_seed() {
    let ids = |seed| {
        read_all(CSV, seed)
            .into_iter()
            .map(|e| e.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(42), ids(42));
    assert_ne!(ids(42), ids(43));
    let once = ids(42);
    assert_ne!(once[0], once[1], "lines get distinct ids");
    let many: std::collections::HashSet<Uuid> = (1..=100_000).map(|l| tick_id(42, l)).collect();
    assert_eq!(many.len(), 100_000);
    assert_eq!(tick_id(42, 7).get_version_num(), 8);
}

#[test]
fn json_lines_round_trip_envelopes() {
    let ts = Utc.with_ymd_and_hms(2026, 11, 2, 4, 0, 0).unwrap();
    let mut envelopes = read_all(CSV, 3);
    envelopes.push(Envelope::root(
        MarketTick::ltp(256265, dec("24500.5")),
        "market_feed",
        ts,
    ));
    // Equal times are fine in JSON lines (several partitions may stamp the same instant).
    envelopes.push(Envelope::root(
        MarketTick::ltp(256265, dec("24501")),
        "m",
        ts,
    ));
    let mut text = String::new();
    for e in &envelopes {
        text.push_str(std::str::from_utf8(&encode(e)).unwrap());
        text.push('\n');
    }
    text.push('\n');
    let mut r = reader(&text, 99);
    assert_eq!(r.format(), TickFormat::JsonLines);
    let back: Vec<_> = r.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(
        back, envelopes,
        "ids and all are kept as written, whatever the seed"
    );
}

#[test]
fn malformed_lines_name_their_line_and_field() {
    let h = "ts_ns,token,bid,ask,last\n";
    let row = "1000,738561,10.00,10.05,10.05\n";
    let json = |tick: &str| {
        let good = encode(&Envelope::root(
            MarketTick::ltp(5, dec("1")),
            "t",
            Utc.timestamp_opt(1_000, 0).unwrap(),
        ));
        let text = String::from_utf8(good).unwrap();
        format!("{text}\n{tick}\n")
    };
    let later = Utc.timestamp_opt(2_000, 0).unwrap();
    let earlier = Utc.timestamp_opt(500, 0).unwrap();
    let tick_at = |ts| {
        String::from_utf8(encode(&Envelope::root(
            MarketTick::ltp(5, dec("1")),
            "t",
            ts,
        )))
        .unwrap()
    };
    let with_extra = tick_at(later).replacen("{", "{\"extra\":1,", 1);
    // Ticks that parse but break the price rules (MarketTick::check).
    let invalid = |edit: fn(&mut MarketTick)| {
        let mut tick = MarketTick::ltp(5, dec("100"));
        edit(&mut tick);
        String::from_utf8(encode(&Envelope::root(tick, "t", later))).unwrap()
    };
    let negative = invalid(|t| t.last_price = dec("-100.00"));
    let largest = invalid(|t| t.last_price = Decimal::MAX);
    let crossed = invalid(|t| {
        let level = |price| crate::messages::DepthLevel {
            quantity: 3,
            price,
            orders: 1,
        };
        t.depth = Some(MarketDepth {
            bids: vec![level(dec("101"))],
            asks: vec![level(dec("100"))],
        });
    });
    // The type is checked before the payload.
    let order = tick_at(later).replace("\"market_tick\"", "\"pnl_snapshot\"");
    #[rustfmt::skip]
    let cases: Vec<(&str, String, u64, &str, &str)> = vec![
        ("unknown first line", "ts,token\n1,2\n".into(), 1, "header", "expected the CSV header"),
        ("empty file", String::new(), 1, "header", "empty file"),
        ("too few fields", format!("{h}{row}1001,738561,10.00,10.05\n"), 3, "fields", "expected 5 (ts_ns,token,bid,ask,last), got 4"),
        ("too many fields", format!("{h}1,2,3,4,5,6\n"), 2, "fields", "got 6"),
        ("bad time", format!("{h}1e9,738561,10,10,10\n"), 2, "ts_ns", "\"1e9\" is not an integer"),
        ("negative time", format!("{h}-5,738561,10,10,10\n"), 2, "ts_ns", "is not an integer"),
        ("time beyond i64", format!("{h}9223372036854775808,738561,10,10,10\n"), 2, "ts_ns", "beyond the year 2262"),
        ("bad token", format!("{h}1,73x,10,10,10\n"), 2, "token", "\"73x\" is not an integer"),
        ("token beyond u32", format!("{h}1,4294967296,10,10,10\n"), 2, "token", "does not fit in 32 bits"),
        ("zero token", format!("{h}1,0,10,10,10\n"), 2, "token", "must be non-zero"),
        ("bad bid", format!("{h}{row}1001,738561,12.3x,13,13\n"), 3, "bid", "bid: \"12.3x\" is not a price"),
        ("empty ask", format!("{h}1,738561,10,,10\n"), 2, "ask", "\"\" is not a price"),
        ("three decimals", format!("{h}1,738561,10,10.055,10\n"), 2, "ask", "\"10.055\" has more than two decimals"),
        ("dot without decimals", format!("{h}1,738561,10,10,10.\n"), 2, "last", "\"10.\" is not a price"),
        ("spaces", format!("{h}1,738561, 10,10,10\n"), 2, "bid", "\" 10\" is not a price"),
        ("zero price", format!("{h}1,738561,0.00,10,10\n"), 2, "bid", "\"0.00\" is not above zero"),
        ("negative price", format!("{h}1,738561,10,10,-1.5\n"), 2, "last", "\"-1.5\" is not above zero"),
        ("crossed quote", format!("{h}1,738561,10.10,10.05,10\n"), 2, "bid", "10.10 is above ask 10.05"),
        ("price above the ceiling", format!("{h}{row}1001,738561,10,10,1000000000.05\n"), 3, "last", "\"1000000000.05\" is above the ceiling of 1000000000"),
        ("json negative price", json(&negative), 2, "envelope", "invalid `market_tick`: last_price: -100.00 is not above zero"),
        ("json largest decimal", json(&largest), 2, "envelope", "last_price: 79228162514264337593543950335 is beyond the ceiling of 1000000000"),
        ("json crossed book", json(&crossed), 2, "envelope", "depth: crossed book, best bid 101 is above best ask 100"),
        ("time repeated", format!("{h}{row}\n1000,738561,10,10,10\n"), 4, "ts_ns", "1000 is not after 1000 on line 2"),
        ("time backwards", format!("{h}{row}999,738561,10,10,10\n"), 3, "ts_ns", "999 is not after 1000 on line 2"),
        ("unknown json field", json(&with_extra), 2, "envelope", "unknown field `extra`"),
        ("not json", json("{oops"), 2, "envelope", "malformed envelope"),
        ("csv in a json file", json(row.trim_end()), 2, "envelope", "malformed envelope"),
        ("another event type", json(&order), 2, "envelope", "wrong event type: expected `market_tick`, got `pnl_snapshot`"),
        ("json time backwards", json(&tick_at(earlier)), 2, "ts", "1970-01-01T00:08:20+00:00 is before 1970-01-01T00:16:40+00:00 on line 1"),
        // Refused by the decoder itself (every record's time is checked there).
        ("json time past 2262", json(&tick_at(DateTime::<Utc>::MAX_UTC)), 2, "envelope", "ts: +262142-12-31T23:59:59.999999999+00:00 is outside the years 1677 to 2262"),
        ("json time before 1677", json(&tick_at(DateTime::<Utc>::MIN_UTC)), 2, "envelope", "is outside the years 1677 to 2262"),
    ];
    for (name, text, line, field, says) in cases {
        let (got_line, got_field, message) = first_error(&text);
        assert_eq!((got_line, got_field), (line, field), "{name}: {message}");
        assert!(message.contains(says), "{name}: {message:?} lacks {says:?}");
        assert!(
            message.starts_with(&format!("line {line}: {field}: ")),
            "{name}: {message}"
        );
    }
}

#[test]
fn reading_stops_at_the_first_error() {
    let text = "ts_ns,token,bid,ask,last\n1,5,1,1,1\n2,5,x,1,1\n3,5,1,1,1\n";
    let results: Vec<_> = reader(text, 0).collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    assert_eq!(results[1].as_ref().unwrap_err().line(), Some(3));
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_path() {
    let e = open("/nonexistent/ticks.csv", TickOptions::default())
        .err()
        .expect("no such file");
    assert!(matches!(e, TickFileError::Io { .. }));
    assert!(e.to_string().starts_with("/nonexistent/ticks.csv: "), "{e}");
}

#[test]
fn a_byte_order_mark_before_the_header_is_ignored() {
    let text = format!("\u{feff}{CSV}");
    assert_eq!(read_all(&text, 0).len(), 2);
}

#[test]
fn prices_parse_exactly() {
    for (text, want) in [
        ("1", Ok(dec("1"))),
        ("0.05", Ok(dec("0.05"))),
        ("2500.5", Ok(dec("2500.5"))),
        ("1000000000", Ok(dec("1000000000"))),
        ("1000000000.01", Err(PriceError::AboveCeiling)),
        ("999999999999.99", Err(PriceError::AboveCeiling)),
        ("1000000000000", Err(PriceError::NotAPrice)),
        ("+1", Err(PriceError::NotAPrice)),
        (".5", Err(PriceError::NotAPrice)),
        ("1.2.3", Err(PriceError::NotAPrice)),
        ("1.234", Err(PriceError::TooManyDecimals)),
        ("0", Err(PriceError::NotPositive)),
        ("-0.01", Err(PriceError::NotPositive)),
    ] {
        assert_eq!(parse_price(text.as_bytes()), want, "{text}");
    }
}

/// `--ticks /dev/zero` used to read one endless line into memory (2 GB in 5 s).
#[test]
fn an_endless_line_is_refused_once_it_passes_the_bound() {
    let endless = std::io::BufReader::new(std::io::repeat(b'0'));
    let err = TickReader::new(endless, options(1)).err().expect("refused");
    assert_eq!(err.field(), Some("line"));
    assert_eq!(
        err.to_string(),
        format!(
            "line 1: line: more than {} bytes without a line ending: not a tick file",
            MAX_LINE_BYTES
        )
    );
    let mut text = String::from("{");
    text.push_str(&"x".repeat(MAX_LINE_BYTES));
    let err = TickReader::new(std::io::Cursor::new(text.into_bytes()), options(1))
        .err()
        .expect("refused");
    assert_eq!(err.field(), Some("line"));
}

/// Opening a FIFO with no writer blocks for ever and a device never ends: both, and
/// directories, are refused by kind before anything is opened.
#[test]
fn only_regular_files_are_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("ticks.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let link = dir.path().join("link-to-fifo");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let cases = [
        (dir.path().to_owned(), "a directory"),
        (fifo, "a FIFO (named pipe)"),
        (link.clone(), "a FIFO (named pipe)"),
        (PathBuf::from("/dev/zero"), "a character device"),
        (PathBuf::from("/dev/null"), "a character device"),
    ];
    for (path, kind) in cases {
        let e = open(&path, options(0)).err().expect("refused");
        assert!(
            matches!(&e, TickFileError::NotAFile { kind: k, .. } if *k == kind),
            "{}: {e:?}",
            path.display()
        );
        assert_eq!(
            e.to_string(),
            format!(
                "{}: {kind}, not a regular file: give the path of a tick file, or `-` and pipe it in",
                path.display()
            )
        );
        let e = open_input(&path, options(0)).err().expect("refused");
        assert!(matches!(e, TickFileError::NotAFile { .. }), "{e:?}");
    }
    // A link to a regular file is that file.
    let file = dir.path().join("ticks.csv");
    std::fs::write(&file, CSV).unwrap();
    let link = dir.path().join("link-to-file");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    assert_eq!(open(&link, options(0)).unwrap().count(), 2);
    assert_eq!(open_input(&link, options(0)).unwrap().count(), 2);
}

#[test]
fn tick_times_must_fit_nanoseconds_in_64_bits() {
    let last = DateTime::from_timestamp_nanos(i64::MAX);
    let first = DateTime::from_timestamp_nanos(i64::MIN);
    assert_eq!(check_time(last), Ok(()));
    assert_eq!(check_time(first), Ok(()));
    let beyond = last + chrono::Duration::nanoseconds(1);
    let before = first - chrono::Duration::nanoseconds(1);
    for ts in [
        beyond,
        before,
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::MIN_UTC,
    ] {
        let e = check_time(ts).expect_err("out of range");
        assert!(e.contains("outside the years 1677 to 2262"), "{e}");
    }
    // The CSV's largest time is the last one allowed.
    let text = format!("{CSV_HEADER}\n{},738561,10,10,10\n", i64::MAX);
    assert_eq!(read_all(&text, 0)[0].ts, last);
}
