//! Property tests of what a user hands the program: tick files to the backtest, settings
//! files and environment variables to the settings loader. Any bytes may arrive; the
//! program must answer each with a result or an error that says what is wrong, and never
//! panic.
//!
//! - Tick files: random bytes, and a valid file (written by the repository's synthetic
//!   generator, as CSV and as the JSON lines `record` writes) with bytes flipped, lines cut,
//!   duplicated, deleted, swapped, spliced with hostile rows, JSON values replaced and times
//!   moved to the ends of the range. They go through the tick reader, and a handful through
//!   the backtest's entry point (`ticks::open_input` and `engine::run`, what the CLI calls).
//!   The reader must yield only ticks that pass the door, in time order, and at most one
//!   error, naming a line the file has; the engine must agree with the reader.
//! - Settings: TOML documents with random values (strings, extreme integers, NaN and
//!   infinite floats, arrays, nested tables) at the real settings paths (read from
//!   `config/default.toml`, so new settings are covered as they are added), and random
//!   environment variables at the same paths, through the loader `config check` uses. Every
//!   refusal is an error listing problems, each with a key and a message, and no secret
//!   value is repeated in it.
//!
//! Each property runs a fixed number of cases from a fixed seed (no regression files), so
//! a run is repeatable; the whole file takes a few seconds in a debug build.

use alpha_panda::backtest::engine::{self, RunOptions};
use alpha_panda::backtest::synthetic::{self, SyntheticOptions};
use alpha_panda::backtest::ticks::{self, TickFileError, TickOptions, TickReader};
use alpha_panda::market::instruments::InstrumentRegistry;
use alpha_panda::messages::encode;
use alpha_panda::settings::Settings;
use alpha_panda::strategy::StrategyRegistry;
use chrono::TimeZone;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rust_decimal::Decimal;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A runner with a fixed seed and no regression files.
fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]))
}

/// Runs `property` over `strategy`; a failure (or panic) reports the minimal input.
fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner(cases).run(&strategy, property) {
        panic!("{e}");
    }
}

// ---------------------------------------------------------------------------------------
// Tick files
// ---------------------------------------------------------------------------------------

const RELIANCE: u32 = 738_561;

/// Rows of the valid file: enough for the strategies of the examples to trade.
const VALID_TICKS: u64 = 200;

/// A valid CSV tick file from the repository's synthetic generator.
fn valid_csv() -> &'static [u8] {
    static CSV: OnceLock<Vec<u8>> = OnceLock::new();
    CSV.get_or_init(|| {
        let mut out = Vec::new();
        synthetic::write_csv(
            &mut out,
            SyntheticOptions {
                ticks: VALID_TICKS,
                seed: 5,
                token: RELIANCE,
                start_price: Decimal::new(250_000, 2),
                start: chrono::Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
            },
        )
        .expect("the generator writes");
        out
    })
}

/// The same ticks as JSON lines, as `alpha-panda record` writes them.
fn valid_jsonl() -> &'static [u8] {
    static JSONL: OnceLock<Vec<u8>> = OnceLock::new();
    JSONL.get_or_init(|| {
        let registry = InstrumentRegistry::embedded().expect("embedded instruments");
        let reader = TickReader::new(valid_csv(), TickOptions::with_registry(0, &registry))
            .expect("the generated file has its header");
        let mut out = Vec::new();
        for envelope in reader {
            out.extend(encode(&envelope.expect("the generated file is valid")));
            out.push(b'\n');
        }
        out
    })
}

/// Field texts that have broken parsers: signs, exponents, overflow, NUL, BOM, widths.
const NASTY_FIELDS: &[&str] = &[
    "",
    "0",
    "-1",
    "+1",
    " 1",
    "1 ",
    "0.00",
    "0.001",
    "-0.01",
    ".5",
    "5.",
    "1.2.3",
    "1e400",
    "1e-400",
    "NaN",
    "inf",
    "-inf",
    "2500.05",
    "1000000000",
    "1000000000.01",
    "999999999999.99",
    "79228162514264337593543950335",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "\0",
    "\u{feff}1",
    "\r",
    "１２３",
    "0x10",
    "\"1\"",
    "{",
    "}",
];

/// JSON values put in place of an envelope's fields.
fn nasty_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let times = [
        "2026-11-02T03:45:00Z",
        "+262142-12-31T23:59:59Z",
        "-262143-01-01T00:00:00Z",
        "2262-04-11T23:47:16.854775807Z",
        "2262-04-11T23:47:16.854775808Z",
        "1677-09-21T00:12:43.145224192Z",
        "1677-09-21T00:12:43.145224191Z",
        "0000-01-01T00:00:00Z",
        "2026-13-45T25:61:61Z",
        "1970-01-01T00:00:00+14:00",
    ];
    prop_oneof![
        prop::sample::select(NASTY_FIELDS).prop_map(|s| Value::String(s.to_owned())),
        prop::sample::select(times.to_vec()).prop_map(|s| Value::String(s.to_owned())),
        prop_oneof![
            Just(json!(u64::MAX)),
            Just(json!(i64::MIN)),
            Just(json!(-1)),
            Just(json!(0)),
            Just(json!(1e308)),
            Just(json!(4_294_967_296u64)),
        ],
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        Just(json!([])),
        Just(json!({})),
        Just(json!({"quantity": 1, "price": "1", "orders": 1})),
        Just(
            json!([{"quantity": u32::MAX, "price": "79228162514264337593543950335", "orders": 65535}])
        ),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

/// A hostile CSV-like row: fields from [`NASTY_FIELDS`] or random text, any count.
fn nasty_row() -> impl Strategy<Value = Vec<u8>> {
    let field = prop_oneof![
        3 => prop::sample::select(NASTY_FIELDS).prop_map(str::to_owned),
        1 => "\\PC{0,10}",
        1 => Just(RELIANCE.to_string()),
        1 => (1_793_591_100_000_000_000i64..i64::MAX).prop_map(|t| t.to_string()),
    ];
    prop_oneof![
        4 => vec(field, 0..8).prop_map(|fields| fields.join(",").into_bytes()),
        1 => vec(any::<u8>(), 0..80),
    ]
}

/// One edit of a tick file. Positions are indices resolved against the file as it is
/// when the edit applies.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        at: Index,
        bit: u8,
    },
    SetByte {
        at: Index,
        byte: u8,
    },
    Truncate {
        at: Index,
    },
    DuplicateLine {
        line: Index,
    },
    DeleteLine {
        line: Index,
    },
    SwapLines {
        a: Index,
        b: Index,
    },
    SpliceLine {
        at: Index,
        text: Vec<u8>,
    },
    /// Replace a leaf of a JSON line (a line that does not parse is left alone).
    JsonLeaf {
        line: Index,
        leaf: Index,
        value: serde_json::Value,
    },
    /// Move every CSV time so the first is `start` (gaps kept, times may overflow).
    RebaseTimes {
        start: i64,
    },
    /// Move every JSON line's times (envelope and exchange) so the first is `start`
    /// seconds from the epoch, gaps kept.
    RebaseJsonTimes {
        start: i64,
    },
    /// Append a line with no line ending.
    Tail {
        text: Vec<u8>,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let starts = prop_oneof![
        Just(0i64),
        Just(1),
        Just(i64::MAX - 1_000_000_000_000),
        Just(i64::MAX - 10),
        0..i64::MAX,
    ];
    prop_oneof![
        3 => (any::<Index>(), 0..8u8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte { at, byte }),
        1 => any::<Index>().prop_map(|at| Mutation::Truncate { at }),
        2 => any::<Index>().prop_map(|line| Mutation::DuplicateLine { line }),
        2 => any::<Index>().prop_map(|line| Mutation::DeleteLine { line }),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        3 => (any::<Index>(), nasty_row()).prop_map(|(at, text)| Mutation::SpliceLine { at, text }),
        4 => (any::<Index>(), any::<Index>(), nasty_json())
            .prop_map(|(line, leaf, value)| Mutation::JsonLeaf { line, leaf, value }),
        2 => starts.prop_map(|start| Mutation::RebaseTimes { start }),
        2 => edge_secs().prop_map(|start| Mutation::RebaseJsonTimes { start }),
        1 => nasty_row().prop_map(|text| Mutation::Tail { text }),
    ]
}

fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// The leaves of a JSON value, as mutable references in a stable order.
fn leaves(value: &mut serde_json::Value) -> Vec<&mut serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map.values_mut().flat_map(leaves).collect(),
        serde_json::Value::Array(items) => items.iter_mut().flat_map(leaves).collect(),
        leaf => vec![leaf],
    }
}

fn apply(mut file: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    let mut lines = split_lines(&file);
    match mutation {
        Mutation::FlipBit { at, bit } if !file.is_empty() => {
            let i = at.index(file.len());
            file[i] ^= 1 << bit;
            return file;
        }
        Mutation::SetByte { at, byte } if !file.is_empty() => {
            let i = at.index(file.len());
            file[i] = *byte;
            return file;
        }
        Mutation::Truncate { at } => {
            file.truncate(at.index(file.len() + 1));
            return file;
        }
        Mutation::Tail { text } => {
            file.extend(text);
            return file;
        }
        Mutation::DuplicateLine { line } if !lines.is_empty() => {
            let i = line.index(lines.len());
            lines.insert(i, lines[i].clone());
        }
        Mutation::DeleteLine { line } if !lines.is_empty() => {
            lines.remove(line.index(lines.len()));
        }
        Mutation::SwapLines { a, b } if !lines.is_empty() => {
            let (a, b) = (a.index(lines.len()), b.index(lines.len()));
            lines.swap(a, b);
        }
        Mutation::SpliceLine { at, text } => {
            let mut text = text.clone();
            text.push(b'\n');
            lines.insert(at.index(lines.len() + 1), text);
        }
        Mutation::JsonLeaf { line, leaf, value } if !lines.is_empty() => {
            let i = line.index(lines.len());
            if let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&lines[i]) {
                let mut found = leaves(&mut json);
                if !found.is_empty() {
                    let n = found.len();
                    *found[leaf.index(n)] = value.clone();
                    let mut text = serde_json::to_vec(&json).expect("a JSON value serialises");
                    text.push(b'\n');
                    lines[i] = text;
                }
            }
        }
        Mutation::RebaseTimes { start } => rebase_times(&mut lines, *start),
        Mutation::RebaseJsonTimes { start } => rebase_json_times(&mut lines, *start),
        _ => {}
    }
    lines.concat()
}

/// Moves the CSV rows' times so the first row's is `start`, keeping the gaps: valid files
/// at the ends of the representable range (or past it, where they must be refused).
fn rebase_times(lines: &mut [Vec<u8>], start: i64) {
    let time = |line: &[u8]| -> Option<i128> {
        let end = line.iter().position(|b| *b == b',')?;
        std::str::from_utf8(&line[..end]).ok()?.parse().ok()
    };
    let Some(first) = lines.iter().find_map(|l| time(l)) else {
        return;
    };
    for line in lines.iter_mut() {
        if let Some(ts) = time(line) {
            let end = line.iter().position(|b| *b == b',').unwrap_or(0);
            let moved = ts - first + i128::from(start);
            let mut text = moved.to_string().into_bytes();
            text.extend_from_slice(&line[end..]);
            *line = text;
        }
    }
}

/// Moves the JSON lines' times (`ts`, `data.exchange_timestamp`) so the first line's `ts`
/// is `start_secs` after the epoch, keeping the gaps; a time that would leave chrono's range
/// is left as it was.
fn rebase_json_times(lines: &mut [Vec<u8>], start_secs: i64) {
    use chrono::{DateTime, Utc};
    let Some(start) = DateTime::<Utc>::from_timestamp(start_secs, 0) else {
        return;
    };
    let mut first: Option<DateTime<Utc>> = None;
    for line in lines.iter_mut() {
        let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let mut moved = false;
        for pointer in ["/ts", "/data/exchange_timestamp"] {
            let Some(slot) = json.pointer_mut(pointer) else {
                continue;
            };
            let Some(ts) = slot.as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok()) else {
                continue;
            };
            let origin = *first.get_or_insert(ts);
            if let Some(new) = start.checked_add_signed(ts - origin) {
                *slot = serde_json::Value::String(new.to_rfc3339());
                moved = true;
            }
        }
        if moved {
            let mut text = serde_json::to_vec(&json).expect("a JSON value serialises");
            text.push(b'\n');
            *line = text;
        }
    }
}

/// Seconds from the epoch at the edges of what ticks may carry and of what chrono holds.
fn edge_secs() -> impl Strategy<Value = i64> {
    let max = chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp();
    let min = chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp();
    let last_nanos = i64::MAX / 1_000_000_000;
    let first_nanos = i64::MIN / 1_000_000_000;
    prop_oneof![
        2 => Just(0i64),
        2 => Just(last_nanos - 3_600),
        2 => Just(last_nanos),
        2 => Just(first_nanos),
        2 => Just(first_nanos + 1),
        2 => Just(max - 3_600),
        2 => Just(max - 60),
        2 => Just(min),
        1 => min..max,
    ]
}

/// A tick file that mostly still runs: a valid one, half the time with its times moved to
/// the edges of the range, then up to 2 edits that keep its shape (lines deleted or
/// repeated, one JSON value replaced), so the services see the odd values instead of the
/// reader refusing line 2.
fn runnable_file() -> impl Strategy<Value = Vec<u8>> {
    let csv_start = prop_oneof![
        Just(0i64),
        Just(1),
        Just(i64::MAX - 1_000_000_000_000),
        Just(i64::MAX - 60_000_000_000),
        0..i64::MAX,
    ];
    let edit = prop_oneof![
        1 => any::<Index>().prop_map(|line| Mutation::DuplicateLine { line }),
        1 => any::<Index>().prop_map(|line| Mutation::DeleteLine { line }),
        1 => (any::<Index>(), any::<Index>(), nasty_json())
            .prop_map(|(line, leaf, value)| Mutation::JsonLeaf { line, leaf, value }),
    ];
    let times = prop::option::of((csv_start, edge_secs()));
    (any::<bool>(), times, vec(edit, 0..3)).prop_map(|(json, times, edits)| {
        let valid = if json { valid_jsonl() } else { valid_csv() };
        let moved = match times {
            None => None,
            Some((_, secs)) if json => Some(Mutation::RebaseJsonTimes { start: secs }),
            Some((ns, _)) => Some(Mutation::RebaseTimes { start: ns }),
        };
        moved.iter().chain(&edits).fold(valid.to_vec(), apply)
    })
}

/// A tick file: a valid one (CSV or JSON lines) with 1 to 6 edits.
fn mutated_file() -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), vec(mutation(), 1..7)).prop_map(|(json, edits)| {
        let valid = if json { valid_jsonl() } else { valid_csv() };
        edits.iter().fold(valid.to_vec(), apply)
    })
}

/// Any bytes, often after a valid first line so the row parsers see them too.
fn random_file() -> impl Strategy<Value = Vec<u8>> {
    let first_line = prop_oneof![
        Just(Vec::new()),
        Just(format!("{}\n", ticks::CSV_HEADER).into_bytes()),
        Just(format!("\u{feff}{}\r\n", ticks::CSV_HEADER).into_bytes()),
        Just(b"{".to_vec()),
    ];
    (first_line, vec(any::<u8>(), 0..2048)).prop_map(|(mut head, body)| {
        head.extend(body);
        head
    })
}

/// What reading a whole file gave.
#[derive(Debug)]
struct ReadOutcome {
    ticks: u64,
    error: Option<TickFileError>,
}

/// Reads `file` to the end, checking the reader's promises on the way: every tick passes
/// the door and the time bound, times never go back, at most one error and nothing after
/// it, and the error names a line the file has.
fn read_checked(file: &[u8]) -> Result<ReadOutcome, TestCaseError> {
    let lines = u64::try_from(split_lines(file).len()).unwrap_or(u64::MAX);
    let reader = TickReader::new(Cursor::new(file), TickOptions::default());
    let mut reader = match reader {
        Ok(reader) => reader,
        Err(error) => {
            check_error(&error, lines)?;
            prop_assert_eq!(
                error.line(),
                Some(1),
                "a refused start is line 1: {}",
                error
            );
            return Ok(ReadOutcome {
                ticks: 0,
                error: Some(error),
            });
        }
    };
    let mut read = ReadOutcome {
        ticks: 0,
        error: None,
    };
    let mut last_ts = None;
    for item in reader.by_ref() {
        prop_assert!(read.error.is_none(), "an item after the error");
        match item {
            Ok(envelope) => {
                read.ticks += 1;
                prop_assert!(envelope.data.check().is_ok(), "{:?}", envelope.data);
                prop_assert!(ticks::check_time(envelope.ts).is_ok(), "{}", envelope.ts);
                prop_assert!(last_ts <= Some(envelope.ts), "time went back");
                last_ts = Some(envelope.ts);
            }
            Err(error) => {
                check_error(&error, lines)?;
                read.error = Some(error);
            }
        }
    }
    prop_assert!(reader.next().is_none(), "the reader ended");
    Ok(read)
}

/// An error from a file in memory is a line error, on a line the file has, that says
/// `line N: field: reason`.
fn check_error(error: &TickFileError, lines: u64) -> Result<(), TestCaseError> {
    let (Some(line), Some(field)) = (error.line(), error.field()) else {
        return Err(TestCaseError::fail(format!("not a line error: {error:?}")));
    };
    // An empty file is refused on line 1, which it does not have.
    prop_assert!(line >= 1 && line <= lines.max(1), "line {line} of {lines}");
    let text = error.to_string();
    let prefix = format!("line {line}: {field}: ");
    prop_assert!(text.starts_with(&prefix), "{text}");
    prop_assert!(text.len() > prefix.len(), "no reason: {text}");
    Ok(())
}

#[test]
fn the_tick_reader_survives_random_bytes() {
    check(512, random_file(), |file| read_checked(&file).map(|_| ()));
}

#[test]
fn the_tick_reader_reads_or_refuses_mutated_files_naming_the_line() {
    check(512, mutated_file(), |file| read_checked(&file).map(|_| ()));
}

#[test]
fn unmutated_files_read_whole() {
    for file in [valid_csv(), valid_jsonl()] {
        let read = read_checked(file).expect("the reader's promises hold");
        assert!(read.error.is_none(), "{:?}", read.error);
        assert_eq!(read.ticks, VALID_TICKS);
    }
}

/// The settings of the runs: the backtest example (one EMA strategy that trades on every
/// crossing, risk limits off) and the defaults (the default strategies, risk limits on).
fn run_settings() -> Vec<Settings> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/backtest-ema.toml");
    [Some(example.as_path()), None]
        .into_iter()
        .map(|file| {
            let settings = Settings::load_from(file, &HashMap::new()).expect("settings load");
            engine::backtest_settings(&settings, 0)
        })
        .collect()
}

/// Mutated files through the backtest's entry point, as the CLI calls it (from a file on
/// disk, through `ticks::open_input`). The run agrees with the reader: every tick it read
/// ran, or the run ended with the reader's error.
#[test]
fn the_backtest_runs_mutated_files_to_a_report_or_the_readers_error() {
    let dir = tempfile::tempdir().unwrap();
    let settings = run_settings();
    let registry = InstrumentRegistry::embedded().unwrap();
    let strategies = StrategyRegistry::builtin();
    let which = Cell::new(0usize);
    let tally = RefCell::new(RunTally::default());
    let files = prop_oneof![1 => mutated_file(), 2 => runnable_file()];
    check(48, files, |file| {
        let path: PathBuf = dir.path().join("ticks");
        std::fs::write(&path, &file).unwrap();
        let expected = read_checked(&file)?;
        let options = TickOptions::with_registry(0, &registry);
        let reader = match ticks::open_input(&path, options) {
            Ok(reader) => reader,
            Err(e) => {
                let want = expected.error.map(|e| e.to_string());
                prop_assert_eq!(Some(e.to_string()), want);
                tally.borrow_mut().refused += 1;
                return Ok(());
            }
        };
        let options = RunOptions {
            input: "fuzz".into(),
            seed: 0,
            progress: Box::new(|_| {}),
        };
        which.set(which.get() + 1);
        let settings = &settings[which.get() % settings.len()];
        let result = actix::System::new().block_on(engine::run(
            settings,
            &registry,
            &strategies,
            reader,
            options,
        ));
        let mut tally = tally.borrow_mut();
        match (expected.error, result) {
            (None, Ok((outcome, _))) => {
                prop_assert_eq!(outcome.ticks, expected.ticks);
                tally.ran += 1;
                tally.fills += outcome
                    .strategies
                    .iter()
                    .map(|s| s.fills.len())
                    .sum::<usize>();
            }
            (Some(want), Err(got)) => {
                prop_assert_eq!(got.to_string(), want.to_string());
                tally.stopped += 1;
            }
            (want, got) => prop_assert!(
                false,
                "reader: {:?}; run: {:?}",
                want.map(|e| e.to_string()),
                got.map(|(o, _)| o.ticks).map_err(|e| e.to_string())
            ),
        }
        Ok(())
    });
    // The generators reach both outcomes: files that run (and trade), files refused in the
    // run.
    let tally = tally.into_inner();
    eprintln!("{tally:?}");
    assert!(tally.ran >= 8 && tally.fills > 0, "{tally:?}");
    assert!(tally.stopped > 0, "{tally:?}");
}

/// What the runs of the backtest property came to.
#[derive(Debug, Default)]
struct RunTally {
    /// Refused when opened (line 1): rare, the reader's own properties cover it.
    refused: u32,
    /// Ended by the reader's error.
    stopped: u32,
    /// Ran to the end.
    ran: u32,
    /// Fills of the runs to the end.
    fills: usize,
}

// ---------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------

/// Every settings path in `config/default.toml`: the tables (`kafka`, `strategies.x.params`)
/// and the values under them (`kafka.linger_ms`), plus a strategy of one's own.
fn settings_paths() -> &'static [Vec<String>] {
    static PATHS: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let mut paths = Vec::new();
        collect_paths(defaults(), &mut Vec::new(), &mut paths);
        for extra in [
            "strategies.fuzz.enabled",
            "strategies.fuzz.brokers",
            "strategies.fuzz.instruments",
            "strategies.fuzz.params.kind",
            "strategies.fuzz.params.fast",
            "strategies.fuzz.params.lookback",
            "risk.paper.max_position",
            "kafka.client.\"sasl.password\"",
            "no_such_section.key",
        ] {
            paths.push(
                extra
                    .split('.')
                    .map(|s| s.trim_matches('"').to_owned())
                    .collect(),
            );
        }
        paths
    })
}

/// `config/default.toml`, read when the test runs (another change may add settings).
fn defaults() -> &'static toml::Table {
    static DEFAULTS: OnceLock<toml::Table> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let text = std::fs::read_to_string(path).expect("config/default.toml");
        toml::from_str(&text).expect("the defaults parse")
    })
}

/// The default value at `path`, if there is one.
fn default_at(path: &[String]) -> Option<&'static toml::Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(defaults().get(first)?, |value, key| value.get(key))
}

/// A value near `value`, of its kind: the default itself, one off, scaled up or down,
/// negated, zero, the extreme; a flipped flag; an empty or repeated list.
fn perturb(value: &toml::Value, how: u8) -> toml::Value {
    use toml::Value;
    match value {
        Value::Integer(n) => Value::Integer(match how % 8 {
            0 => *n,
            1 => n.saturating_add(1),
            2 => n.saturating_sub(1),
            3 => n.saturating_mul(1000),
            4 => n.saturating_neg(),
            5 => 0,
            6 => i64::MAX,
            _ => n / 2,
        }),
        Value::Float(x) => Value::Float(match how % 6 {
            0 => *x,
            1 => -x,
            2 => x * 1e6,
            3 => 0.0,
            4 => f64::NAN,
            _ => f64::INFINITY,
        }),
        Value::Boolean(b) => Value::Boolean(*b != how.is_multiple_of(2)),
        Value::Array(items) => Value::Array(match how % 3 {
            0 => items.clone(),
            1 => Vec::new(),
            _ => items.iter().chain(items).cloned().collect(),
        }),
        Value::String(text) => Value::String(match how % 4 {
            0 | 1 => text.clone(),
            2 => String::new(),
            _ => text.to_uppercase(),
        }),
        other => other.clone(),
    }
}

fn collect_paths(table: &toml::Table, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (key, value) in table {
        prefix.push(key.clone());
        out.push(prefix.clone());
        if let toml::Value::Table(inner) = value {
            collect_paths(inner, prefix, out);
        }
        prefix.pop();
    }
}

/// Secrets' paths, and the markers their random values carry (never to be echoed).
const SECRET_PATHS: &[&str] = &[
    "redis.url",
    "kite.api_key",
    "kite.api_secret",
    "kite.access_token",
    "api.control_token",
    "kafka.client.sasl.password",
];
const SECRET_MARKER: &str = "S3cr3tV4lue";
/// A number given where a secret goes (a type error must not quote it either).
const SECRET_NUMBER: i64 = 73_519_846_201;

/// `value` marked as a secret's: a string gets the marker, a number becomes the secret
/// number; other kinds carry nothing to echo.
fn as_secret(value: toml::Value) -> toml::Value {
    match value {
        toml::Value::String(s) => toml::Value::String(format!("{s}{SECRET_MARKER}")),
        toml::Value::Integer(_) => toml::Value::Integer(SECRET_NUMBER),
        other => other,
    }
}

/// True if `text` repeats a secret's value.
fn echoes_secret(text: &str) -> bool {
    text.contains(SECRET_MARKER) || text.contains(&SECRET_NUMBER.to_string())
}

/// A settings path: one of `config/default.toml`'s, a secret's a fifth of the time.
fn settings_path() -> impl Strategy<Value = Vec<String>> {
    let secret = prop::sample::select(SECRET_PATHS).prop_map(|p| {
        // `kafka.client` entries are dotted librdkafka names: one key.
        match p.strip_prefix("kafka.client.") {
            Some(name) => vec!["kafka".into(), "client".into(), name.into()],
            None => p.split('.').map(str::to_owned).collect(),
        }
    });
    let any_path = any::<Index>().prop_map(|at| {
        let paths = settings_paths();
        paths[at.index(paths.len())].clone()
    });
    prop_oneof![4 => any_path, 1 => secret]
}

fn is_secret(path: &[String]) -> bool {
    SECRET_PATHS.contains(&path.join(".").as_str())
}

fn scalar() -> impl Strategy<Value = toml::Value> {
    use toml::Value;
    prop_oneof![
        2 => prop::sample::select(NASTY_FIELDS).prop_map(|s| Value::String(s.to_owned())),
        1 => "\\PC{0,24}".prop_map(Value::String),
        1 => prop::sample::select(vec![
            "off", "none", "embedded", "memory", "simulator", "redis://", "redis://:@",
            "kafka://", "127.0.0.1:99999", "RELIANCE:full", "NSE:INFY", "paper", "zerodha",
            "ema_cross", "momentum", "human", "json", "info,=", "[", "true", "09:15",
            "25:00", "2026-02-30", "0 0 * * *", "lz4",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        2 => prop_oneof![
            Just(0i64), Just(-1), Just(1), Just(i64::MAX), Just(i64::MIN),
            Just(4_294_967_296), Just(4_294_967_296_000), Just(65_536), Just(100_001),
            Just(i64::from(i32::MAX)), any::<i64>(),
        ]
        .prop_map(Value::Integer),
        1 => prop_oneof![
            Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0),
            Just(1e308), Just(5e-324), Just(0.5), any::<f64>(),
        ]
        .prop_map(Value::Float),
        1 => any::<bool>().prop_map(Value::Boolean),
        1 => Just(Value::Datetime("1979-05-27T07:32:00Z".parse().expect("a TOML datetime"))),
    ]
}

fn toml_value() -> impl Strategy<Value = toml::Value> {
    scalar().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            vec(("[a-z_]{1,10}", inner), 1..4)
                .prop_map(|entries| toml::Value::Table(entries.into_iter().collect())),
        ]
    })
}

/// Sets `value` at `path` in `table`, making tables on the way (over whatever was there).
fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut here = table;
    for key in parents {
        let slot = here
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !slot.is_table() {
            *slot = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = slot else {
            unreachable!("made a table just above");
        };
        here = next;
    }
    here.insert(last.clone(), value);
}

/// A settings document: 1 to 7 values at real paths (secrets marked), as TOML text,
/// sometimes with a byte set at random so the TOML parser sees broken text too.
fn settings_document() -> impl Strategy<Value = String> {
    // Half the values are near the default of their path (edges of the ranges), half
    // anything at all.
    let entry = (settings_path(), toml_value(), prop::option::of(any::<u8>()));
    let corrupt = prop::option::weighted(0.15, (any::<Index>(), any::<u8>()));
    (vec(entry, 1..8), corrupt).prop_map(|(entries, corrupt)| {
        let mut doc = toml::Table::new();
        for (path, random, near) in entries {
            let value = match (near, default_at(&path)) {
                (Some(how), Some(default)) => perturb(default, how),
                _ => random,
            };
            let value = if is_secret(&path) {
                as_secret(value)
            } else {
                value
            };
            set_path(&mut doc, &path, value);
        }
        let mut text = toml::to_string(&doc).unwrap_or_default();
        if let Some((at, byte)) = corrupt {
            let mut bytes = text.into_bytes();
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}

/// A refusal lists problems, each naming a key and saying something, and repeats no secret.
fn check_refusal(error: &alpha_panda::settings::SettingsError) -> Result<(), TestCaseError> {
    prop_assert!(!error.problems.is_empty(), "an error without problems");
    for problem in &error.problems {
        prop_assert!(!problem.key.trim().is_empty(), "no key: {:?}", problem);
        prop_assert!(
            !problem.message.trim().is_empty(),
            "no message: {:?}",
            problem
        );
    }
    let text = error.to_string();
    prop_assert!(!echoes_secret(&text), "a secret echoed: {}", text);
    Ok(())
}

/// Random settings files through the loader `config check` uses (with the built-in
/// strategies' checks); an accepted one is also printed as `config check` prints it.
#[test]
fn the_settings_loader_answers_any_settings_file_with_settings_or_problems() {
    let dir = tempfile::tempdir().unwrap();
    let strategies = StrategyRegistry::builtin();
    let registry = InstrumentRegistry::embedded().unwrap();
    let (accepted, refused) = (Cell::new(0u32), Cell::new(0u32));
    check(256, settings_document(), |text| {
        let path = dir.path().join("fuzz.toml");
        std::fs::write(&path, &text).unwrap();
        match Settings::load_checked(Some(&path), |s| strategies.problems(&s.strategies)) {
            Ok(settings) => {
                accepted.set(accepted.get() + 1);
                let printed = settings.to_masked_toml();
                prop_assert!(!echoes_secret(&printed), "a secret printed: {}", printed);
                // What `config check` accepts, a run must be able to build: the backtest
                // starts the daemon's strategy, risk, paper and portfolio services from it
                // (a strategy window of 2^42 ticks used to abort on allocation there).
                let reader = TickReader::new(valid_csv(), TickOptions::default())
                    .expect("the generated file has its header")
                    .take(20);
                let options = RunOptions {
                    input: "fuzz".into(),
                    seed: 0,
                    progress: Box::new(|_| {}),
                };
                let settings = engine::backtest_settings(&settings, 0);
                // An error (an instrument the registry lacks) is an answer; a panic is not.
                let _ = actix::System::new().block_on(engine::run(
                    &settings,
                    &registry,
                    &strategies,
                    reader,
                    options,
                ));
            }
            Err(error) => {
                refused.set(refused.get() + 1);
                check_refusal(&error)?;
            }
        }
        Ok(())
    });
    eprintln!(
        "settings files: {} accepted, {} refused",
        accepted.get(),
        refused.get()
    );
    assert!(
        accepted.get() > 0 && refused.get() > 0,
        "the documents reach both answers"
    );
}

/// Random environment variables at the real paths (`ALPHA_PANDA__SECTION__KEY`), as the
/// loader reads them, over no file.
#[test]
fn the_settings_loader_answers_any_environment_with_settings_or_problems() {
    let name = |path: &[String]| {
        let mut name = String::from("ALPHA_PANDA");
        for key in path {
            name.push_str("__");
            name.push_str(&key.to_ascii_uppercase().replace('.', "__"));
        }
        name
    };
    let value = prop_oneof![
        3 => prop::sample::select(NASTY_FIELDS).prop_map(str::to_owned),
        1 => "\\PC{0,24}",
        1 => Just("a,b,,c".to_owned()),
        1 => Just(" , ".to_owned()),
        1 => any::<i64>().prop_map(|n| n.to_string()),
    ];
    let (accepted, refused) = (Cell::new(0u32), Cell::new(0u32));
    check(256, vec((settings_path(), value), 1..6), |entries| {
        let mut env = HashMap::new();
        for (path, value) in entries {
            let value = match is_secret(&path) {
                true => format!("{value}{SECRET_MARKER}"),
                false => value,
            };
            env.insert(name(&path), value);
        }
        match Settings::load_from(None, &env) {
            Ok(settings) => {
                accepted.set(accepted.get() + 1);
                let printed = settings.to_masked_toml();
                prop_assert!(!echoes_secret(&printed), "a secret printed: {}", printed);
            }
            Err(error) => {
                refused.set(refused.get() + 1);
                check_refusal(&error)?;
            }
        }
        Ok(())
    });
    eprintln!(
        "environments: {} accepted, {} refused",
        accepted.get(),
        refused.get()
    );
    assert!(
        accepted.get() > 0 && refused.get() > 0,
        "the variables reach both answers"
    );
}
