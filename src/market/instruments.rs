//! The instrument registry: Kite instrument tokens and their symbols, tick and lot sizes.
//!
//! Kite streams and books by `instrument_token`; people and strategies speak in symbols
//! (`RELIANCE`, `NSE:RELIANCE`). The registry maps between the two in O(1) both ways. It is
//! read from a small CSV (`config/instruments.csv`, also embedded in the binary so the
//! default run works from any working directory).
//!
//! CSV format: `#` comment lines and blank lines are skipped, then a header row
//! `instrument_token,tradingsymbol,name,exchange,segment,tick_size,lot_size`, then one
//! instrument a row. Fields may be double-quoted (`""` inside quotes is a literal quote);
//! a quote that cannot be parsed is an error, never guessed around.
//!
//! Invariants of a loaded [`InstrumentRegistry`]:
//! - every token is positive and unique; every `exchange:symbol` is unique;
//! - every tick size is a positive decimal and every lot size a positive integer;
//! - any problem with the file is an [`InstrumentError::Line`] naming the 1-based line
//!   (comment lines counted, so it matches an editor) and the column at fault.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rust_decimal::Decimal;

use super::csv::split_line;

/// The built-in registry, `config/instruments.csv`, as compiled into the binary.
pub const EMBEDDED_CSV: &str = include_str!("../../config/instruments.csv");

/// How errors in [`EMBEDDED_CSV`] name their source.
pub const EMBEDDED_SOURCE: &str = "config/instruments.csv";

/// The header row, column by column.
pub const HEADER: [&str; 7] = [
    "instrument_token",
    "tradingsymbol",
    "name",
    "exchange",
    "segment",
    "tick_size",
    "lot_size",
];

/// Kite's segment number of indices (`instrument_token & 0xFF`); indices are not tradable.
pub const INDEX_SEGMENT: u32 = 9;

/// One instrument of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    /// Kite `instrument_token`; its low byte is the segment.
    pub token: u32,
    /// Exchange trading symbol (`RELIANCE`, `NIFTY 50`).
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// `NSE`, `BSE`, ...
    pub exchange: String,
    /// Kite segment name (`NSE`, `INDICES`).
    pub segment: String,
    /// Smallest price step, rupees.
    pub tick_size: Decimal,
    /// Smallest order quantity.
    pub lot_size: u32,
}

impl Instrument {
    /// True for an index (segment 9): it has prices but cannot be traded.
    pub fn is_index(&self) -> bool {
        self.token & 0xFF == INDEX_SEGMENT
    }

    /// `"EXCHANGE:SYMBOL"`, e.g. `"NSE:RELIANCE"`: unique within a registry.
    pub fn key(&self) -> String {
        format!("{}:{}", self.exchange, self.symbol)
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
    /// The built-in registry ([`EMBEDDED_CSV`]).
    ///
    /// # Errors
    ///
    /// [`InstrumentError::Line`] if the embedded file is malformed (a build defect, caught by
    /// the tests).
    pub fn embedded() -> Result<Self, InstrumentError> {
        Self::parse(EMBEDDED_CSV, EMBEDDED_SOURCE)
    }

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

    /// Parses CSV `text`; `source` names it in errors (a path, or `config/instruments.csv`).
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
            registry
                .insert(instrument, line, &mut lines)
                .map_err(|m| fail(line, m))?;
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

    /// Adds `instrument` (read at `line`), refusing a duplicate token or key.
    fn insert(
        &mut self,
        instrument: Instrument,
        line: usize,
        lines: &mut Vec<usize>,
    ) -> Result<(), String> {
        let at = |index: &usize| lines.get(*index).copied().unwrap_or_default();
        if let Some(first) = self.by_token.get(&instrument.token) {
            let token = instrument.token;
            return Err(format!(
                "instrument_token: {token} is already on line {}",
                at(first)
            ));
        }
        let key = instrument.key();
        if let Some(first) = self.by_key.get(&key) {
            return Err(format!(
                "tradingsymbol: {key} is already on line {}",
                at(first)
            ));
        }
        let index = self.instruments.len();
        lines.push(line);
        self.by_token.insert(instrument.token, index);
        self.by_key.insert(key, index);
        self.by_symbol
            .entry(instrument.symbol.clone())
            .and_modify(|slot| *slot = None) // a second exchange: ambiguous
            .or_insert(Some(index));
        self.instruments.push(instrument);
        Ok(())
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
}

/// One data row, already split into fields; the error names the column.
fn parse_row(fields: &[String]) -> Result<Instrument, String> {
    let [token, symbol, name, exchange, segment, tick_size, lot_size] = fields else {
        return Err(format!(
            "expected {} columns ({}), got {}",
            HEADER.len(),
            HEADER.join(","),
            fields.len()
        ));
    };
    let token = positive_integer("instrument_token", token)?;
    non_empty("tradingsymbol", symbol)?;
    non_empty("exchange", exchange)?;
    let tick_size = Decimal::from_str(tick_size)
        .ok()
        .filter(|d| d.is_sign_positive() && !d.is_zero())
        .ok_or_else(|| format!("tick_size: expected a positive decimal, got {tick_size:?}"))?;
    let lot_size = positive_integer("lot_size", lot_size)?;
    Ok(Instrument {
        token,
        symbol: symbol.clone(),
        name: name.clone(),
        exchange: exchange.clone(),
        segment: segment.clone(),
        tick_size,
        lot_size,
    })
}

fn positive_integer(column: &str, text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{column}: expected a positive integer, got {text:?}"))
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
