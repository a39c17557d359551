//! OHLC candles: Kite's historical intervals, the candle file format `alpha-panda history
//! fetch` writes and `alpha-panda backtest --candles` reads, and the ticks a bar becomes.
//!
//! File format (CSV, UTF-8, `\n` line endings), one header line exactly
//! [`CSV_HEADER`] = `timestamp,token,open,high,low,close,volume,oi`, then one bar a line:
//! - `timestamp`: the bar's start, ISO-8601 in IST with its offset
//!   (`2026-01-02T09:15:00+05:30`); any offset is accepted on reading, IST is written;
//! - `token`: the Kite instrument token (non-zero);
//! - `open,high,low,close`: rupees, at most 4 decimals (CDS quotes 4), each > 0 and at most
//!   [`MAX_PRICE`], with `low ≤ open, close ≤ high`;
//! - `volume`: traded quantity in the bar (unsigned integer);
//! - `oi`: open interest at the bar's end, empty when the fetch did not ask for it.
//!
//! Rows are in strictly increasing (timestamp, token) order, so a file of one instrument has
//! strictly increasing times and a merged file is sorted with a stable tie-break. Reading
//! ([`CandleReader`]) is a stream with the tick reader's bounds (a line is at most
//! [`MAX_LINE_BYTES`]); it stops at the first bad line with an error naming the line, the
//! field and why ([`CandleFileError`]).
//!
//! Ticks of a bar ([`synthesize`]): four, at fixed times inside the bar — open at its start,
//! then the nearer of high and low to the open (a tie takes the low first), then the other,
//! then the close — at 0, ¼, ½ and ¾ of the bar's length. A `day` bar spans the normal
//! market, 09:15–15:30 IST of its date, whatever time Kite stamps it with. Volume carries no
//! look-ahead: the first three ticks carry the day's traded volume before the bar, the close
//! tick adds the bar's own.

use super::csv::{LineRead, read_bounded_line};
use super::hours::{IST, NORMAL_END, NORMAL_START};
use crate::messages::MAX_PRICE;
use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use std::fmt;
use std::io::{self, BufRead, Write};
use std::str::FromStr;
use thiserror::Error;

/// The header line of a candle file.
pub const CSV_HEADER: &str = "timestamp,token,open,high,low,close,volume,oi";

/// The longest line read (the tick reader's bound): a file with no line ending is refused.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Most decimals a candle price may carry (currency derivatives quote four).
pub const MAX_PRICE_DECIMALS: u32 = 4;

/// Kite's candle intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Interval {
    Minute,
    Minute3,
    Minute5,
    Minute10,
    Minute15,
    Minute30,
    Minute60,
    Day,
}

impl Interval {
    /// Every interval, shortest first.
    pub const ALL: [Interval; 8] = [
        Interval::Minute,
        Interval::Minute3,
        Interval::Minute5,
        Interval::Minute10,
        Interval::Minute15,
        Interval::Minute30,
        Interval::Minute60,
        Interval::Day,
    ];

    /// Kite's name (`minute`, `3minute`, …, `day`).
    pub fn name(self) -> &'static str {
        match self {
            Interval::Minute => "minute",
            Interval::Minute3 => "3minute",
            Interval::Minute5 => "5minute",
            Interval::Minute10 => "10minute",
            Interval::Minute15 => "15minute",
            Interval::Minute30 => "30minute",
            Interval::Minute60 => "60minute",
            Interval::Day => "day",
        }
    }

    /// The longest span, in days, Kite serves in one request of this interval.
    pub fn max_span_days(self) -> i64 {
        match self {
            Interval::Minute => 60,
            Interval::Minute3 | Interval::Minute5 | Interval::Minute10 => 100,
            Interval::Minute15 | Interval::Minute30 => 200,
            Interval::Minute60 => 400,
            Interval::Day => 2000,
        }
    }

    /// The bar's length; a `day` bar is the normal market (09:15–15:30, 375 minutes).
    pub fn length(self) -> Duration {
        match self {
            Interval::Minute => Duration::minutes(1),
            Interval::Minute3 => Duration::minutes(3),
            Interval::Minute5 => Duration::minutes(5),
            Interval::Minute10 => Duration::minutes(10),
            Interval::Minute15 => Duration::minutes(15),
            Interval::Minute30 => Duration::minutes(30),
            Interval::Minute60 => Duration::minutes(60),
            Interval::Day => NORMAL_END - NORMAL_START,
        }
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Interval {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Interval::ALL
            .into_iter()
            .find(|i| i.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Interval::ALL.iter().map(|i| i.name()).collect();
                format!("unknown interval {text:?}; one of {}", names.join(", "))
            })
    }
}

/// One bar of one instrument, checked: prices > 0 within the ceiling, low ≤ open, close ≤
/// high. Build with [`Candle::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candle {
    /// The bar's start.
    pub start: DateTime<Utc>,
    pub token: u32,
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
    pub volume: u64,
    /// Open interest, when asked for.
    pub oi: Option<u64>,
}

/// A bar's prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ohlc {
    pub open: Decimal,
    pub high: Decimal,
    pub low: Decimal,
    pub close: Decimal,
}

impl Candle {
    /// A checked candle.
    ///
    /// # Errors
    /// The field at fault and why: a zero token, a price ≤ 0 or above [`MAX_PRICE`], or
    /// OHLC out of order.
    pub fn new(
        start: DateTime<Utc>,
        token: u32,
        prices: Ohlc,
        volume: u64,
        oi: Option<u64>,
    ) -> Result<Candle, (&'static str, String)> {
        if token == 0 {
            return Err(("token", "0 is not an instrument token".into()));
        }
        let Ohlc {
            open,
            high,
            low,
            close,
        } = prices;
        for (field, price) in [
            ("open", open),
            ("high", high),
            ("low", low),
            ("close", close),
        ] {
            if price <= Decimal::ZERO {
                return Err((field, format!("{price} is not above zero")));
            }
            if price > MAX_PRICE {
                return Err((field, format!("{price} is above the ceiling {MAX_PRICE}")));
            }
        }
        if low > open.min(close) {
            return Err(("low", format!("{low} is above the open or close")));
        }
        if high < open.max(close) {
            return Err(("high", format!("{high} is below the open or close")));
        }
        Ok(Candle {
            start,
            token,
            open,
            high,
            low,
            close,
            volume,
            oi,
        })
    }

    /// The row of this candle in the file format (no line ending).
    pub fn csv_row(&self) -> String {
        let oi = self.oi.map(|v| v.to_string()).unwrap_or_default();
        format!(
            "{},{},{},{},{},{},{},{oi}",
            ist_timestamp(self.start),
            self.token,
            self.open.normalize(),
            self.high.normalize(),
            self.low.normalize(),
            self.close.normalize(),
            self.volume
        )
    }
}

/// `2026-01-02T09:15:00+05:30`.
pub fn ist_timestamp(at: DateTime<Utc>) -> String {
    at.with_timezone(&IST)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Writes a candle file: the header, then `candles` (the caller keeps their order).
///
/// # Errors
/// The writer's.
pub fn write_csv<'a>(
    mut out: impl Write,
    candles: impl IntoIterator<Item = &'a Candle>,
) -> io::Result<()> {
    writeln!(out, "{CSV_HEADER}")?;
    for candle in candles {
        writeln!(out, "{}", candle.csv_row())?;
    }
    out.flush()
}

/// Why a candle file cannot be read.
#[derive(Debug, Error)]
pub enum CandleFileError {
    /// Reading failed.
    #[error("reading: {0}")]
    Io(io::Error),
    /// A line is malformed; `field` names the part at fault.
    #[error("line {line}: {field}: {message}")]
    Line {
        line: u64,
        field: &'static str,
        message: String,
    },
}

impl CandleFileError {
    /// The line at fault, for a malformed line.
    pub fn line(&self) -> Option<u64> {
        match self {
            CandleFileError::Line { line, .. } => Some(*line),
            CandleFileError::Io(_) => None,
        }
    }

    /// The field at fault, for a malformed line.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            CandleFileError::Line { field, .. } => Some(field),
            CandleFileError::Io(_) => None,
        }
    }
}

fn malformed(line: u64, field: &'static str, message: impl Into<String>) -> CandleFileError {
    CandleFileError::Line {
        line,
        field,
        message: message.into(),
    }
}

/// A streaming reader of a candle file: an iterator of checked candles that ends after the
/// first error.
pub struct CandleReader<R: BufRead> {
    input: R,
    buf: Vec<u8>,
    line: u64,
    previous: Option<(DateTime<Utc>, u32, u64)>,
    done: bool,
}

impl<R: BufRead> CandleReader<R> {
    /// Reads the header line.
    ///
    /// # Errors
    /// Line 1 is not [`CSV_HEADER`] (an empty input included), or reading failed.
    pub fn new(input: R) -> Result<Self, CandleFileError> {
        let mut reader = CandleReader {
            input,
            buf: Vec::new(),
            line: 0,
            previous: None,
            done: false,
        };
        if !reader.read_line()? || reader.buf != CSV_HEADER.as_bytes() {
            return Err(malformed(
                1,
                "header",
                format!("expected exactly `{CSV_HEADER}`"),
            ));
        }
        Ok(reader)
    }

    fn read_line(&mut self) -> Result<bool, CandleFileError> {
        let read = read_bounded_line(&mut self.input, &mut self.buf, MAX_LINE_BYTES)
            .map_err(CandleFileError::Io)?;
        match read {
            LineRead::End => return Ok(false),
            LineRead::Line | LineRead::TooLong => self.line += 1,
        }
        if read == LineRead::TooLong {
            return Err(malformed(
                self.line,
                "line",
                format!("more than {MAX_LINE_BYTES} bytes without a line ending"),
            ));
        }
        Ok(true)
    }

    fn advance(&mut self) -> Result<Option<Candle>, CandleFileError> {
        loop {
            if !self.read_line()? {
                return Ok(None);
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = self.line;
            let text =
                std::str::from_utf8(&self.buf).map_err(|_| malformed(line, "line", "not UTF-8"))?;
            let candle = parse_row(text, line)?;
            if let Some((ts, token, at)) = self.previous
                && (candle.start, candle.token) <= (ts, token)
            {
                return Err(malformed(
                    line,
                    "timestamp",
                    format!(
                        "({}, {}) is not after ({}, {token}) on line {at} (rows must be in strictly increasing time, token order)",
                        ist_timestamp(candle.start),
                        candle.token,
                        ist_timestamp(ts)
                    ),
                ));
            }
            self.previous = Some((candle.start, candle.token, line));
            return Ok(Some(candle));
        }
    }
}

impl<R: BufRead> Iterator for CandleReader<R> {
    type Item = Result<Candle, CandleFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.advance();
        if !matches!(next, Ok(Some(_))) {
            self.done = true;
        }
        next.transpose()
    }
}

/// One row, field by field.
fn parse_row(text: &str, line: u64) -> Result<Candle, CandleFileError> {
    let fields: Vec<&str> = text.split(',').collect();
    if fields.len() != 8 {
        return Err(malformed(
            line,
            "line",
            format!("{} fields, expected 8 ({CSV_HEADER})", fields.len()),
        ));
    }
    let start = parse_timestamp(fields[0]).map_err(|m| malformed(line, "timestamp", m))?;
    let token = fields[1]
        .parse::<u32>()
        .map_err(|_| malformed(line, "token", format!("{:?} is not a token", fields[1])))?;
    let price = |i: usize, field: &'static str| {
        parse_price(fields[i]).map_err(|m| malformed(line, field, m))
    };
    let prices = Ohlc {
        open: price(2, "open")?,
        high: price(3, "high")?,
        low: price(4, "low")?,
        close: price(5, "close")?,
    };
    let count = |i: usize, field: &'static str| {
        fields[i].parse::<u64>().map_err(|_| {
            malformed(
                line,
                field,
                format!("{:?} is not an unsigned integer", fields[i]),
            )
        })
    };
    let volume = count(6, "volume")?;
    let oi = match fields[7] {
        "" => None,
        _ => Some(count(7, "oi")?),
    };
    Candle::new(start, token, prices, volume, oi).map_err(|(field, m)| malformed(line, field, m))
}

/// An ISO-8601 time with an offset (`2026-01-02T09:15:00+05:30`), or Kite's own
/// (`2026-01-02T09:15:00+0530`).
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::<FixedOffset>::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z"))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("{text:?} is not an ISO-8601 time with an offset (2026-01-02T09:15:00+05:30)")
        })
}

/// A price: a plain decimal, > 0, at most [`MAX_PRICE_DECIMALS`] decimals and [`MAX_PRICE`].
pub fn parse_price(text: &str) -> Result<Decimal, String> {
    let shown: String = text.chars().take(40).collect();
    let plain = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let price = plain
        .then(|| Decimal::from_str(text).ok())
        .flatten()
        .ok_or_else(|| format!("{shown:?} is not a price"))?;
    if price.scale() > MAX_PRICE_DECIMALS {
        return Err(format!(
            "{shown:?} has more than {MAX_PRICE_DECIMALS} decimals"
        ));
    }
    Ok(price)
}

/// One tick synthesised from a bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarTick {
    pub at: DateTime<Utc>,
    pub price: Decimal,
    /// Which of the bar's prices it is: `open`, `high`, `low` or `close`.
    pub role: &'static str,
}

/// The four ticks of `candle` of `interval`, in the module's documented order and times.
pub fn synthesize(candle: &Candle, interval: Interval) -> [BarTick; 4] {
    let start = bar_start(candle, interval);
    let quarter = interval.length() / 4;
    let high_first = (candle.high - candle.open) < (candle.open - candle.low);
    let (second, third) = if high_first {
        (("high", candle.high), ("low", candle.low))
    } else {
        (("low", candle.low), ("high", candle.high))
    };
    let tick = |k: i32, (role, price): (&'static str, Decimal)| BarTick {
        at: start + quarter * k,
        price,
        role,
    };
    [
        tick(0, ("open", candle.open)),
        tick(1, second),
        tick(2, third),
        tick(3, ("close", candle.close)),
    ]
}

/// When the bar's trading starts: its stamp, but 09:15 IST of its IST date for a `day` bar.
pub fn bar_start(candle: &Candle, interval: Interval) -> DateTime<Utc> {
    if interval != Interval::Day {
        return candle.start;
    }
    let date = candle.start.with_timezone(&IST).date_naive();
    let open = NaiveDateTime::new(date, NORMAL_START);
    open.and_local_timezone(IST)
        .single()
        .map_or(candle.start, |t| t.with_timezone(&Utc))
}

#[cfg(test)]
#[path = "candles_tests.rs"]
mod tests;
