//! The instrument registry: Kite's instrument master, by token and by symbol.
//!
//! Kite streams and books by `instrument_token`; people and strategies speak in symbols
//! (`RELIANCE`, `NSE:RELIANCE`, `NFO:NIFTY26D0826000CE`). The registry maps between the two
//! in O(1) both ways, and keeps what the market's rules need: tick size, lot size, expiry,
//! strike and instrument type. Derivative lookups (by underlying, expiry, strike and
//! right) live in [`super::derivatives`], built over a registry.
//!
//! The format is Kite's own (`GET /instruments`, see KITE.md): a header row
//! `instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,
//! lot_size,instrument_type,segment,exchange`, then one instrument a row. A file saved from
//! Kite loads as it is. Our own files may add `#` comment lines and blank lines (skipped,
//! but counted in line numbers). Fields may be double-quoted (`""` inside quotes is a
//! literal quote); a quote that cannot be parsed is an error, never guessed around.
//!
//! Invariants of a loaded [`InstrumentRegistry`]:
//! - every token is positive and unique; every `exchange:tradingsymbol` is unique;
//! - a tradable instrument has a positive tick size and lot size; an index (segment
//!   `INDICES`, token segment 9) may carry 0 for both, as Kite's master writes them;
//! - a future has an expiry; an option has an expiry and a positive strike;
//! - any problem with the file is an [`InstrumentError::Line`] naming the 1-based line
//!   (comment lines counted, so it matches an editor) and the column at fault.
//!
//! The embedded default (`config/instruments.csv`) holds the equities and the two indices;
//! `InstrumentRegistry::embedded` (in [`super::sample`]) adds NIFTY and NIFTY BANK futures
//! and options for the next expiries, so the default run trades options on any day
//! without a network.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::csv::split_line;

/// The built-in equities and indices, `config/instruments.csv`, as compiled into the binary.
pub const EMBEDDED_CSV: &str = include_str!("../../config/instruments.csv");

/// How errors in [`EMBEDDED_CSV`] name their source.
pub const EMBEDDED_SOURCE: &str = "config/instruments.csv";

/// Kite's header row, column by column.
pub const HEADER: [&str; 12] = [
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
];

/// Kite's segment number of indices (`instrument_token & 0xFF`); indices are not tradable.
pub const INDEX_SEGMENT: u32 = 9;

/// What an instrument is (Kite's `instrument_type`, with indices told apart by segment).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InstrumentKind {
    /// `EQ` outside `INDICES`: a share or an ETF.
    Equity,
    /// Segment `INDICES` (Kite writes `instrument_type` `EQ` for them): prices, no trading.
    Index,
    /// `FUT`.
    Future,
    /// `CE`: a call option.
    Call,
    /// `PE`: a put option.
    Put,
    /// Any other type Kite lists, kept as written.
    Other(String),
}

impl InstrumentKind {
    /// The kind of a row with `instrument_type` and `segment` as Kite writes them.
    pub fn of(instrument_type: &str, segment: &str) -> Self {
        if segment.eq_ignore_ascii_case("INDICES") {
            return Self::Index;
        }
        match instrument_type {
            "EQ" => Self::Equity,
            "FUT" => Self::Future,
            "CE" => Self::Call,
            "PE" => Self::Put,
            "INDEX" => Self::Index,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Kite's `instrument_type` (`EQ` for an index, as Kite writes it).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Equity | Self::Index => "EQ",
            Self::Future => "FUT",
            Self::Call => "CE",
            Self::Put => "PE",
            Self::Other(other) => other,
        }
    }

    /// A call or a put.
    pub fn is_option(&self) -> bool {
        matches!(self, Self::Call | Self::Put)
    }

    /// A future or an option.
    pub fn is_derivative(&self) -> bool {
        matches!(self, Self::Future | Self::Call | Self::Put)
    }
}

/// One instrument of the registry: a row of Kite's master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    /// Kite `instrument_token`; its low byte is the segment.
    pub token: u32,
    /// The exchange's own token.
    pub exchange_token: u32,
    /// Exchange trading symbol (`RELIANCE`, `NIFTY 50`, `NIFTY26D0826000CE`).
    pub symbol: String,
    /// Display name; for a derivative, its underlying as Kite names it (`NIFTY`).
    pub name: String,
    /// The last price when the master was written (0 when Kite did not fill it).
    pub last_price: Decimal,
    /// Expiry date of a future or an option.
    pub expiry: Option<NaiveDate>,
    /// Strike of an option; 0 otherwise.
    pub strike: Decimal,
    /// Smallest price step, rupees (0 for an index).
    pub tick_size: Decimal,
    /// Smallest order quantity: every order is a multiple of it (0 for an index).
    pub lot_size: u32,
    /// What it is.
    pub kind: InstrumentKind,
    /// Kite segment name (`NSE`, `INDICES`, `NFO-OPT`, `NFO-FUT`, ...).
    pub segment: String,
    /// `NSE`, `NFO`, `BSE`, `BFO`, `MCX`, ...
    pub exchange: String,
}

impl Instrument {
    /// True for an index: it has prices but cannot be traded.
    pub fn is_index(&self) -> bool {
        self.kind == InstrumentKind::Index || self.token & 0xFF == INDEX_SEGMENT
    }

    /// `"EXCHANGE:SYMBOL"`, e.g. `"NSE:RELIANCE"`: unique within a registry.
    pub fn key(&self) -> String {
        format!("{}:{}", self.exchange, self.symbol)
    }

    /// The row as Kite writes it (fields quoted where they must be), without a line end.
    pub fn to_csv_row(&self) -> String {
        let quote = |text: &str| {
            if text.contains([',', '"']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text.to_owned()
            }
        };
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            self.token,
            self.exchange_token,
            quote(&self.symbol),
            quote(&self.name),
            self.last_price.normalize(),
            self.expiry
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            self.strike.normalize(),
            self.tick_size.normalize(),
            self.lot_size,
            self.kind.as_str(),
            self.segment,
            self.exchange
        )
    }
}

/// Instruments by token and by symbol, both O(1). Iterates in file order.
#[derive(Debug, Clone, Default)]
pub struct InstrumentRegistry {
    instruments: Vec<Instrument>,
    by_token: HashMap<u32, usize>,
    /// `"NSE:RELIANCE"` to index.
    by_key: HashMap<String, usize>,
    /// Bare symbol to index; `None` when several exchanges list the symbol.
    by_symbol: HashMap<String, Option<usize>>,
}

impl InstrumentRegistry {
    /// Reads and parses the CSV file at `path`.
    ///
    /// # Errors
    ///
    /// [`InstrumentError::Io`] if the file cannot be read; [`InstrumentError::Line`] for the
    /// first malformed line, named by the path as given.
    pub fn load(path: &Path) -> Result<Self, InstrumentError> {
        let text = std::fs::read_to_string(path).map_err(|e| InstrumentError::Io {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses CSV `text` in Kite's format; `source` names it in errors (a path, a URL, or
    /// `config/instruments.csv`).
    ///
    /// # Errors
    ///
    /// [`InstrumentError::Line`] for the first problem: a missing or wrong header, a wrong
    /// column count, a value out of its domain, a duplicate token or `exchange:symbol`, or
    /// a quote that cannot be parsed.
    pub fn parse(text: &str, source: &str) -> Result<Self, InstrumentError> {
        let fail = |line: usize, message: String| InstrumentError::Line {
            source: source.to_owned(),
            line,
            message,
        };
        let mut registry = Self::default();
        let mut lines = Vec::new(); // line number of each instrument, in order
        let mut header_seen = false;
        let mut last = 0;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            last = line;
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let fields = split_line(content).map_err(|m| fail(line, m))?;
            if !header_seen {
                if fields.iter().map(String::as_str).ne(HEADER) {
                    let message =
                        format!("header: expected {:?}, got {content:?}", HEADER.join(","));
                    return Err(fail(line, message));
                }
                header_seen = true;
                continue;
            }
            let instrument = parse_row(&fields).map_err(|m| fail(line, m))?;
            registry.insert(instrument).map_err(|m| {
                // The message names the index of the first holder; name its line instead.
                fail(line, m.replace_index_with_line(&lines))
            })?;
            lines.push(line);
        }
        if !header_seen {
            let message = format!(
                "header: expected {:?}, got the end of the file",
                HEADER.join(",")
            );
            return Err(fail(last + 1, message));
        }
        Ok(registry)
    }

    /// Adds `instrument`, refusing a duplicate token or key.
    fn insert(&mut self, instrument: Instrument) -> Result<(), Duplicate> {
        if let Some(&first) = self.by_token.get(&instrument.token) {
            return Err(Duplicate {
                column: "instrument_token",
                value: instrument.token.to_string(),
                first,
            });
        }
        let key = instrument.key();
        if let Some(&first) = self.by_key.get(&key) {
            return Err(Duplicate {
                column: "tradingsymbol",
                value: key,
                first,
            });
        }
        let index = self.instruments.len();
        self.by_token.insert(instrument.token, index);
        self.by_key.insert(key, index);
        self.by_symbol
            .entry(instrument.symbol.clone())
            .and_modify(|slot| *slot = None) // a second exchange: ambiguous
            .or_insert(Some(index));
        self.instruments.push(instrument);
        Ok(())
    }

    /// Adds `instrument` after those read (the embedded sample's derivatives).
    ///
    /// # Errors
    /// Its token or `exchange:symbol` is already listed.
    pub(super) fn add(&mut self, instrument: Instrument) -> Result<(), String> {
        self.insert(instrument).map_err(|d| d.to_string())
    }

    /// The instrument with Kite token `token`.
    pub fn by_token(&self, token: u32) -> Option<&Instrument> {
        self.by_token.get(&token).map(|&i| &self.instruments[i])
    }

    /// The instrument named `"RELIANCE"` or `"NSE:RELIANCE"` (exact, case-sensitive).
    /// A bare symbol that exists on several exchanges is ambiguous → `None`; qualify it.
    pub fn by_symbol(&self, symbol: &str) -> Option<&Instrument> {
        let index = match self.by_key.get(symbol) {
            Some(&index) => index,
            None => (*self.by_symbol.get(symbol)?)?,
        };
        self.instruments.get(index)
    }

    /// True if the bare `symbol` is listed on several exchanges, so
    /// [`by_symbol`](Self::by_symbol) needs it qualified (`NSE:X`).
    pub fn is_ambiguous(&self, symbol: &str) -> bool {
        matches!(self.by_symbol.get(symbol), Some(None))
    }

    /// Number of instruments.
    pub fn len(&self) -> usize {
        self.instruments.len()
    }

    /// True if the registry holds no instruments (a file with only a header).
    pub fn is_empty(&self) -> bool {
        self.instruments.is_empty()
    }

    /// The instruments, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Instrument> {
        self.instruments.iter()
    }

    /// The registry as a Kite-format CSV (header, then every row in order).
    pub fn to_csv(&self) -> String {
        let mut out = HEADER.join(",");
        out.push('\n');
        for instrument in &self.instruments {
            out.push_str(&instrument.to_csv_row());
            out.push('\n');
        }
        out
    }
}

/// A token or key already in the registry, at index `first`.
struct Duplicate {
    column: &'static str,
    value: String,
    first: usize,
}

impl Duplicate {
    /// `column: value is already on line N`, with the first holder's line from `lines`.
    fn replace_index_with_line(&self, lines: &[usize]) -> String {
        let line = lines.get(self.first).copied().unwrap_or_default();
        format!("{}: {} is already on line {line}", self.column, self.value)
    }
}

impl fmt::Display for Duplicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} is listed twice", self.column, self.value)
    }
}

/// One data row, already split into fields; the error names the column.
fn parse_row(fields: &[String]) -> Result<Instrument, String> {
    let [
        token,
        exchange_token,
        symbol,
        name,
        last_price,
        expiry,
        strike,
        tick_size,
        lot_size,
        instrument_type,
        segment,
        exchange,
    ] = fields
    else {
        return Err(format!(
            "expected {} columns ({}), got {}",
            HEADER.len(),
            HEADER.join(","),
            fields.len()
        ));
    };
    let token = positive_integer("instrument_token", token)?;
    let exchange_token = exchange_token
        .parse::<u32>()
        .map_err(|_| format!("exchange_token: expected an integer, got {exchange_token:?}"))?;
    non_empty("tradingsymbol", symbol)?;
    non_empty("exchange", exchange)?;
    non_empty("instrument_type", instrument_type)?;
    let kind = InstrumentKind::of(instrument_type, segment);
    let index = kind == InstrumentKind::Index || token & 0xFF == INDEX_SEGMENT;
    let last_price = decimal_at_least_zero("last_price", last_price)?;
    let expiry = match expiry.as_str() {
        "" => None,
        text => Some(
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| format!("expiry: expected YYYY-MM-DD or empty, got {text:?}"))?,
        ),
    };
    let strike = decimal_at_least_zero("strike", strike)?;
    let tick_size = decimal_at_least_zero("tick_size", tick_size)?;
    let lot_size = lot_size
        .parse::<u32>()
        .map_err(|_| format!("lot_size: expected an integer, got {lot_size:?}"))?;
    if !index && tick_size.is_zero() {
        return Err("tick_size: a tradable instrument needs a positive tick size, got 0".into());
    }
    if !index && lot_size == 0 {
        return Err("lot_size: a tradable instrument needs a positive lot size, got 0".into());
    }
    if kind.is_derivative() && expiry.is_none() {
        return Err(format!("expiry: a {} needs an expiry date", kind.as_str()));
    }
    if kind.is_option() && strike.is_zero() {
        return Err(format!(
            "strike: a {} needs a positive strike",
            kind.as_str()
        ));
    }
    Ok(Instrument {
        token,
        exchange_token,
        symbol: symbol.clone(),
        name: name.clone(),
        last_price,
        expiry,
        strike,
        tick_size,
        lot_size,
        kind,
        segment: segment.clone(),
        exchange: exchange.clone(),
    })
}

fn positive_integer(column: &str, text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{column}: expected a positive integer, got {text:?}"))
}

/// A decimal ≥ 0; an empty field is 0 (Kite leaves some blank).
fn decimal_at_least_zero(column: &str, text: &str) -> Result<Decimal, String> {
    if text.is_empty() {
        return Ok(Decimal::ZERO);
    }
    Decimal::from_str(text)
        .ok()
        .filter(|d| !d.is_sign_negative())
        .ok_or_else(|| format!("{column}: expected a decimal ≥ 0, got {text:?}"))
}

fn non_empty(column: &str, text: &str) -> Result<(), String> {
    if text.is_empty() {
        Err(format!("{column}: must not be empty"))
    } else {
        Ok(())
    }
}

/// Why the instrument registry could not be loaded.
///
/// `Display` and `Error` are written by hand: `thiserror` treats a field named `source`
/// as the underlying error, and here it is the name of the file.
#[derive(Debug)]
pub enum InstrumentError {
    /// The file could not be read.
    Io {
        /// The file, as given.
        path: PathBuf,
        /// What the operating system said.
        reason: String,
    },
    /// A line of the CSV is wrong. Displays as `source:line: message`, e.g.
    /// `config/instruments.csv:7: tick_size: expected a positive decimal, got "abc"`.
    Line {
        /// The file (path as given, or `config/instruments.csv` for the embedded one).
        source: String,
        /// 1-based line number, comment lines counted.
        line: usize,
        /// What is wrong, starting with the column when one is at fault.
        message: String,
    },
}

impl fmt::Display for InstrumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, reason } => {
                write!(
                    f,
                    "cannot read instrument file {}: {reason}",
                    path.display()
                )
            }
            Self::Line {
                source,
                line,
                message,
            } => write!(f, "{source}:{line}: {message}"),
        }
    }
}

impl std::error::Error for InstrumentError {}
