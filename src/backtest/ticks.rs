//! Tick files: the input of `alpha-panda backtest`, read as a stream (never whole: files of
//! millions of lines are normal).
//!
//! Two formats, told apart by the first line:
//! - CSV with the header line exactly `ts_ns,token,bid,ask,last`: event time in integer
//!   nanoseconds since the Unix epoch (strictly increasing), the Kite instrument token
//!   (non-zero), and prices in rupees with at most two decimals, all > 0 and at most
//!   [`MAX_PRICE`] (₹10⁹), bid ≤ ask. Each row
//!   becomes a full-mode [`MarketTick`] whose depth has one level a side at quantity 1 (the
//!   file has no sizes; the paper venue does not cap fills by displayed size, so the 1 is
//!   never a limit), `last_price` = last and `exchange_timestamp` = the event time. The
//!   envelope (source `backtest`, time = event time) has an id derived from the seed and the
//!   line number ([`tick_id`]): the same file and seed give the same ids, another seed others.
//! - JSON lines: one `market.ticks` envelope a line, exactly as on the topic (what
//!   `alpha-panda record` writes), checked by [`decode`]; times non-decreasing.
//!
//! Every tick passes the same door as on the topic ([`MarketTick::check`]: price above zero
//! and within the ceiling, depth sane, book not crossed, OHLC sane). An invalid tick is an
//! error, not a skip: a backtest that silently dropped ticks would report on a market that
//! never was, so the run stops and the trader fixes or filters the file.
//!
//! Blank lines are skipped. Reading stops at the first malformed or invalid line, with an
//! error naming the line, the field and the reason ([`TickFileError`]). Line numbers count
//! every line, from 1.
//!
//! Input bounds (any bytes at all may arrive; none may panic, exhaust memory or hang):
//! - A line is at most [`MAX_LINE_BYTES`]: the line buffer never grows past it, so a file
//!   with no line ending (`/dev/zero`, a sparse file) is refused after 1 MiB.
//! - [`open`] reads regular files only: a directory, FIFO, socket or device is refused
//!   before it is opened (opening a FIFO with no writer blocks for ever; `/dev/zero` never
//!   ends). Standard input is read only when asked for by name (`-`, [`open_input`]) and
//!   not a terminal.
//! - Tick times stay within what an `i64` of nanoseconds since the epoch holds (years 1677
//!   to 2262; [`check_time`]): the CSV format cannot say more, and the services' calendar
//!   arithmetic overflows near chrono's own limits.

use crate::market::csv::{LineRead, read_bounded_line};
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{DepthLevel, Envelope, MAX_PRICE, MarketDepth, MarketTick, TickMode, decode};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal as _};
use std::path::{Path, PathBuf};
use thiserror::Error;
use uuid::Uuid;

/// The header line of a CSV tick file.
pub const CSV_HEADER: &str = "ts_ns,token,bid,ask,last";

/// The envelope `source` of ticks read from CSV.
pub const SOURCE: &str = "backtest";

/// Namespace of the UUIDv5 tick ids. Changing it changes every backtest's ids: never change it.
const TICK_ID_NAMESPACE: Uuid = Uuid::from_u128(0x3f1e_8a47_9c02_4d6b_b5e1_72a9_0c4d_e813);

/// How far a quoted field is shown in an error before it is cut.
const QUOTE_MAX_CHARS: usize = 60;

/// The format of a tick file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickFormat {
    /// `ts_ns,token,bid,ask,last` rows.
    Csv,
    /// One `market.ticks` envelope a line.
    JsonLines,
}

/// What a CSV row does not say: the seed of the tick ids and the instruments' symbols.
#[derive(Debug, Clone, Default)]
pub struct TickOptions {
    /// Seed of the tick ids (see [`tick_id`]).
    pub seed: u64,
    /// Trading symbol by instrument token; a token not in it gets `symbol: None`.
    pub symbols: HashMap<u32, String>,
}

impl TickOptions {
    /// The symbols of every instrument in `registry`.
    pub fn with_registry(seed: u64, registry: &InstrumentRegistry) -> Self {
        let symbols = registry
            .iter()
            .map(|i| (i.token, i.symbol.clone()))
            .collect();
        TickOptions { seed, symbols }
    }
}

/// Why a tick file cannot be read.
#[derive(Debug, Error)]
pub enum TickFileError {
    /// Opening or reading the file failed.
    /// (The I/O error is in the message, not a `source`: callers print chains.)
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },
    /// The path is not a regular file (a directory, FIFO, socket or device): refused
    /// before it is read.
    #[error("{}: {kind}, not a regular file: give the path of a tick file, or `-` and pipe it in", path.display())]
    NotAFile { path: PathBuf, kind: &'static str },
    /// `-` was given and standard input is a terminal.
    #[error("standard input (`--ticks -`) is a terminal: pipe a tick file in, or give its path")]
    Terminal,
    /// A line is malformed; `field` names the part at fault.
    #[error("line {line}: {field}: {message}")]
    Line {
        line: u64,
        field: &'static str,
        message: String,
    },
}

impl TickFileError {
    /// The line at fault, for a malformed line.
    pub fn line(&self) -> Option<u64> {
        match self {
            TickFileError::Line { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The field at fault, for a malformed line.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            TickFileError::Line { field, .. } => Some(field),
            _ => None,
        }
    }
}

fn malformed(line: u64, field: &'static str, message: String) -> TickFileError {
    TickFileError::Line {
        line,
        field,
        message,
    }
}

/// The deterministic id of the tick on `line` of a CSV file read with `seed`: a custom
/// (version 8) UUID, the seed's UUIDv5 in a fixed namespace XOR a bijective mix of the line
/// number. A SHA-1 per line (UUIDv5 of seed and line) halved the parse rate; this costs a few
/// nanoseconds and is as collision-free as random UUIDs.
pub fn tick_id(seed: u64, line: u64) -> Uuid {
    tick_id_in(&seed_namespace(seed), line)
}

pub(super) fn seed_namespace(seed: u64) -> Uuid {
    Uuid::new_v5(&TICK_ID_NAMESPACE, &seed.to_be_bytes())
}

pub(super) fn tick_id_in(namespace: &Uuid, line: u64) -> Uuid {
    let (hi, lo) = namespace.as_u64_pair();
    let bits = (u128::from(hi ^ mix64(line)) << 64) | u128::from(lo ^ mix64(!line));
    uuid::Builder::from_custom_bytes(bits.to_be_bytes()).into_uuid()
}

/// SplitMix64's finaliser: a bijection on `u64`, so distinct lines give distinct high halves.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Opens a tick file and reads its first line to learn the format.
///
/// Only a regular file (or a symbolic link to one) is read: anything else is refused before
/// it is opened, so a FIFO cannot block the open and a device cannot stream for ever.
///
/// # Errors
/// [`TickFileError::Io`] naming the path if it cannot be opened or read;
/// [`TickFileError::NotAFile`] if it is a directory, FIFO, socket or device;
/// [`TickFileError::Line`] for line 1 if it is neither the CSV header nor a JSON envelope.
pub fn open(
    path: impl AsRef<Path>,
    options: TickOptions,
) -> Result<TickReader<BufReader<File>>, TickFileError> {
    let path = path.as_ref();
    let file = open_regular(path)?;
    TickReader::start(
        BufReader::with_capacity(READ_BUFFER_BYTES, file),
        options,
        path.to_owned(),
    )
}

/// The tick input named `name` on the command line: `-` is standard input, anything else a
/// file read as by [`open`].
///
/// # Errors
/// As [`open`]; for `-`, [`TickFileError::Terminal`] when standard input is a terminal
/// (nobody types a tick file: the run would wait for ever on a forgotten pipe).
pub fn open_input(
    name: impl AsRef<Path>,
    options: TickOptions,
) -> Result<TickReader<Box<dyn BufRead>>, TickFileError> {
    let name = name.as_ref();
    if name != Path::new(STDIN_NAME) {
        let file = open_regular(name)?;
        let input: Box<dyn BufRead> = Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, file));
        return TickReader::start(input, options, name.to_owned());
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Err(TickFileError::Terminal);
    }
    let input: Box<dyn BufRead> = Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, stdin));
    TickReader::start(input, options, PathBuf::from(STDIN_NAME))
}

/// The name that means standard input on the command line.
pub const STDIN_NAME: &str = "-";

/// Bytes read from the file at a time.
const READ_BUFFER_BYTES: usize = 1 << 16;

/// Opens `path` if it is a regular file. The kind is checked by path first (a `stat` never
/// blocks, where opening a FIFO waits for a writer) and again on the open file, in case the
/// path was replaced in between.
fn open_regular(path: &Path) -> Result<File, TickFileError> {
    let io = |error| TickFileError::Io {
        path: path.to_owned(),
        error,
    };
    let kind = std::fs::metadata(path).map_err(io)?.file_type();
    if !kind.is_file() {
        return Err(not_a_file(path, kind));
    }
    let file = File::open(path).map_err(io)?;
    let kind = file.metadata().map_err(io)?.file_type();
    if !kind.is_file() {
        return Err(not_a_file(path, kind));
    }
    Ok(file)
}

fn not_a_file(path: &Path, kind: std::fs::FileType) -> TickFileError {
    TickFileError::NotAFile {
        path: path.to_owned(),
        kind: file_kind(kind),
    }
}

/// What a file that is not a regular file is, for the error.
fn file_kind(kind: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// See [`crate::messages::check_time`] (one rule for every way a time enters).
pub use crate::messages::check_time;

/// The last tick accepted, for the time-order check.
#[derive(Debug, Clone, Copy)]
struct Previous {
    ts_ns: i64,
    ts: DateTime<Utc>,
    line: u64,
}

/// The longest line a tick file may have, in bytes: a JSON envelope with five depth levels
/// a side is under 2 KB.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Reads envelopes from a tick file, one line at a time, reusing one line buffer. Yields
/// `Err` at most once, then ends.
pub struct TickReader<R: BufRead> {
    input: R,
    /// Named in I/O errors (`<input>` when not read from a file).
    path: PathBuf,
    format: TickFormat,
    seed_namespace: Uuid,
    symbols: HashMap<u32, String>,
    buf: Vec<u8>,
    line: u64,
    /// The first line (a JSON envelope) is in `buf`, not yet yielded.
    pending: bool,
    previous: Option<Previous>,
    done: bool,
}

impl<R: BufRead> TickReader<R> {
    /// Whether every tick this reader yields has passed [`MarketTick::check`] and
    /// [`check_time`] here (CSV rows: yes, with their line numbers; JSON envelopes are
    /// checked for their time only), so that the engine need not check them again.
    pub fn checks_every_tick(&self) -> bool {
        matches!(self.format, TickFormat::Csv)
    }

    /// A reader of `input`, which must start with the CSV header or a JSON envelope.
    ///
    /// # Errors
    /// As [`open`].
    pub fn new(input: R, options: TickOptions) -> Result<Self, TickFileError> {
        Self::start(input, options, PathBuf::from("<input>"))
    }

    fn start(input: R, options: TickOptions, path: PathBuf) -> Result<Self, TickFileError> {
        let mut reader = TickReader {
            input,
            path,
            format: TickFormat::Csv,
            seed_namespace: seed_namespace(options.seed),
            symbols: options.symbols,
            buf: Vec::with_capacity(1024),
            line: 0,
            pending: false,
            previous: None,
            done: false,
        };
        let expected = format!(
            "expected the CSV header `{CSV_HEADER}` or a JSON envelope (a line starting with `{{`)"
        );
        if !reader.read_line()? {
            return Err(malformed(1, "header", format!("empty file: {expected}")));
        }
        // A UTF-8 byte order mark is not part of the first line's text.
        if reader.buf.starts_with(b"\xEF\xBB\xBF") {
            reader.buf.drain(..3);
        }
        if reader.buf == CSV_HEADER.as_bytes() {
            reader.format = TickFormat::Csv;
        } else if reader.buf.starts_with(b"{") {
            reader.format = TickFormat::JsonLines;
            reader.pending = true;
        } else {
            return Err(malformed(
                1,
                "header",
                format!("{expected}, got {}", quote(&reader.buf)),
            ));
        }
        Ok(reader)
    }

    /// The format, from the first line.
    pub fn format(&self) -> TickFormat {
        self.format
    }

    /// The number of the last line read (0 before any).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Reads the next line into `buf` without its line ending; false at the end. A line
    /// longer than [`MAX_LINE_BYTES`] is refused as soon as that many bytes have come
    /// without a line ending (`--ticks /dev/zero` used to grow the buffer without bound).
    fn read_line(&mut self) -> Result<bool, TickFileError> {
        let read =
            read_bounded_line(&mut self.input, &mut self.buf, MAX_LINE_BYTES).map_err(|error| {
                TickFileError::Io {
                    path: self.path.clone(),
                    error,
                }
            })?;
        match read {
            LineRead::End => return Ok(false),
            LineRead::Line | LineRead::TooLong => self.line += 1,
        }
        if read == LineRead::TooLong {
            return Err(malformed(
                self.line,
                "line",
                format!("more than {MAX_LINE_BYTES} bytes without a line ending: not a tick file"),
            ));
        }
        Ok(true)
    }

    /// The next tick, `None` at the end of the file.
    fn advance(&mut self) -> Result<Option<Envelope<MarketTick>>, TickFileError> {
        loop {
            if !std::mem::take(&mut self.pending) && !self.read_line()? {
                return Ok(None);
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return match self.format {
                TickFormat::Csv => self.csv_tick().map(Some),
                TickFormat::JsonLines => self.json_tick().map(Some),
            };
        }
    }

    fn csv_tick(&mut self) -> Result<Envelope<MarketTick>, TickFileError> {
        let line = self.line;
        let row = parse_row(&self.buf, line)?;
        if let Some(prev) = self.previous
            && row.ts_ns <= prev.ts_ns
        {
            return Err(malformed(
                line,
                "ts_ns",
                format!(
                    "{} is not after {} on line {} (times must strictly increase)",
                    row.ts_ns, prev.ts_ns, prev.line
                ),
            ));
        }
        let ts = DateTime::from_timestamp_nanos(row.ts_ns);
        self.previous = Some(Previous {
            ts_ns: row.ts_ns,
            ts,
            line,
        });
        let level = |price| DepthLevel {
            quantity: 1,
            price,
            orders: 1,
        };
        let tick = MarketTick {
            symbol: self.symbols.get(&row.token).cloned(),
            mode: TickMode::Full,
            exchange_timestamp: Some(ts),
            depth: Some(MarketDepth {
                bids: vec![level(row.bid)],
                asks: vec![level(row.ask)],
            }),
            // Tradable, no volumes, OHLC, open interest or trade time: the row has none.
            ..MarketTick::ltp(row.token, row.last)
        };
        // The row's own checks cover today's rules; this keeps the file's door the topic's
        // if the rule book grows.
        tick.check()
            .map_err(|problem| malformed(line, "tick", problem.to_string()))?;
        let id = tick_id_in(&self.seed_namespace, line);
        Ok(Envelope::root_with_id(tick, SOURCE, ts, id))
    }

    fn json_tick(&mut self) -> Result<Envelope<MarketTick>, TickFileError> {
        let line = self.line;
        let envelope = decode::<MarketTick>(&self.buf)
            .map_err(|e| malformed(line, "envelope", e.to_string()))?;
        check_time(envelope.ts).map_err(|reason| malformed(line, "ts", reason))?;
        if let Some(prev) = self.previous
            && envelope.ts < prev.ts
        {
            return Err(malformed(
                line,
                "ts",
                format!(
                    "{} is before {} on line {} (times must not decrease)",
                    envelope.ts.to_rfc3339(),
                    prev.ts.to_rfc3339(),
                    prev.line
                ),
            ));
        }
        self.previous = Some(Previous {
            ts_ns: 0,
            ts: envelope.ts,
            line,
        });
        Ok(envelope)
    }
}

impl<R: BufRead> Iterator for TickReader<R> {
    type Item = Result<Envelope<MarketTick>, TickFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.advance() {
            Ok(Some(envelope)) => Some(Ok(envelope)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// One CSV row, checked field by field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Row {
    ts_ns: i64,
    token: u32,
    bid: Decimal,
    ask: Decimal,
    last: Decimal,
}

const FIELDS: usize = 5;

fn parse_row(text: &[u8], line: u64) -> Result<Row, TickFileError> {
    let mut fields: [&[u8]; FIELDS] = [&[]; FIELDS];
    let mut count = 0;
    for field in text.split(|&b| b == b',') {
        if let Some(slot) = fields.get_mut(count) {
            *slot = field;
        }
        count += 1;
    }
    if count != FIELDS {
        return Err(malformed(
            line,
            "fields",
            format!("expected {FIELDS} ({CSV_HEADER}), got {count}"),
        ));
    }
    let [ts_ns, token, bid, ask, last] = fields;
    let integer = |field: &'static str, text: &[u8]| {
        parse_digits(text)
            .ok_or_else(|| malformed(line, field, format!("{} is not an integer", quote(text))))
    };
    let ts_ns = i64::try_from(integer("ts_ns", ts_ns)?).map_err(|_| {
        malformed(
            line,
            "ts_ns",
            format!("{} is beyond the year 2262", quote(ts_ns)),
        )
    })?;
    let token_text = token;
    let token = u32::try_from(integer("token", token)?).map_err(|_| {
        malformed(
            line,
            "token",
            format!("{} does not fit in 32 bits", quote(token_text)),
        )
    })?;
    if token == 0 {
        return Err(malformed(line, "token", "must be non-zero".into()));
    }
    let price = |field: &'static str, text: &[u8]| {
        parse_price(text).map_err(|e| malformed(line, field, e.describe(text)))
    };
    let (bid, ask, last) = (price("bid", bid)?, price("ask", ask)?, price("last", last)?);
    if bid > ask {
        return Err(malformed(line, "bid", format!("{bid} is above ask {ask}")));
    }
    Ok(Row {
        ts_ns,
        token,
        bid,
        ask,
        last,
    })
}

/// Unsigned decimal digits only (no sign, no spaces); `None` if empty, other or too large.
fn parse_digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Why a field is not a price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PriceError {
    NotAPrice,
    TooManyDecimals,
    NotPositive,
    AboveCeiling,
}

impl PriceError {
    fn describe(self, text: &[u8]) -> String {
        let text = quote(text);
        match self {
            PriceError::NotAPrice => format!("{text} is not a price"),
            PriceError::TooManyDecimals => format!("{text} has more than two decimals"),
            PriceError::NotPositive => format!("{text} is not above zero"),
            PriceError::AboveCeiling => format!("{text} is above the ceiling of {MAX_PRICE}"),
        }
    }
}

/// Integer digits a price may have: far above any rupee price, far below `i64` overflow.
const PRICE_MAX_INTEGER_DIGITS: usize = 12;

/// `123`, `123.4` or `123.45` (rupees); a leading `-` parses, to be refused as not positive.
fn parse_price(text: &[u8]) -> Result<Decimal, PriceError> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (integer, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], Some(&digits[dot + 1..])),
        None => (digits, None),
    };
    if integer.len() > PRICE_MAX_INTEGER_DIGITS {
        return Err(PriceError::NotAPrice);
    }
    let whole = parse_digits(integer).ok_or(PriceError::NotAPrice)?;
    let (fraction, scale) = match fraction {
        None => (0, 0),
        Some(f) => {
            let value = parse_digits(f).ok_or(PriceError::NotAPrice)?;
            if f.len() > 2 {
                return Err(PriceError::TooManyDecimals);
            }
            (value, f.len() as u32)
        }
    };
    // At most 12 + 2 digits: fits an i64 with room to spare.
    let mantissa = (whole * 10u64.pow(scale) + fraction) as i64;
    if negative || mantissa == 0 {
        return Err(PriceError::NotPositive);
    }
    let price = Decimal::new(mantissa, scale);
    if price > MAX_PRICE {
        return Err(PriceError::AboveCeiling);
    }
    Ok(price)
}

/// A field as shown in an error: quoted, cut at [`QUOTE_MAX_CHARS`].
fn quote(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    match text.char_indices().nth(QUOTE_MAX_CHARS) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
#[path = "ticks_tests.rs"]
mod tests;
