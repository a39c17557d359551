//! Candle input of `alpha-panda backtest --candles FILE|DIR`: candle files
//! ([`crate::market::candles`] format, as `history fetch` writes them) turned into the same
//! `market.ticks` envelopes a tick file gives, so the same actors run on bars.
//!
//! - A DIR is every regular `*.csv` file in it (hidden files and subdirectories are
//!   skipped), read as streams and merged by bar start; bars starting at the same instant
//!   are ordered by token, then by file name, so the order never depends on the directory
//!   listing.
//! - Each bar becomes four ticks ([`crate::market::candles::synthesize`]: open, the nearer
//!   of high and low, the other, close, at 0, ¼, ½ and ¾ of the bar). The ticks of the bars
//!   that start together are emitted in time order (ties by token), so every instrument's
//!   open comes before any instrument's second tick. A tick earlier than the one before it
//!   (bars of different lengths or misaligned starts) ends the run with an error.
//! - A tick is a full-mode quote with a locked book: bid = ask = last = the price, one level
//!   a side at quantity 1 (as CSV ticks), so a market order fills at that price plus the
//!   configured slippage, after the configured latency in ticks. `volume_traded` is the
//!   instrument's traded volume of the IST day before the bar, plus the bar's own on the
//!   close tick (no look-ahead); `oi` is the bar's when the file has it.
//! - Envelope ids: the tick ids of a CSV file ([`super::ticks::tick_id`]) with the tick's
//!   sequence number (from 1) in place of the line number: same files and seed, same ids.
//! - Time is the ticks' time, so market hours, the entry cutoff and the square-off apply by
//!   bar time exactly as they do to ticks.

use super::ticks::{SOURCE, TickOptions, seed_namespace, tick_id_in};
use crate::market::candles::{self, Candle, CandleFileError, CandleReader, Interval};
use crate::messages::{DepthLevel, Envelope, MarketDepth, MarketTick, TickMode};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use thiserror::Error;
use uuid::Uuid;

/// Why candle input cannot be read.
#[derive(Debug, Error)]
pub enum CandleInputError {
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: not a regular file or directory", path.display())]
    NotAFile { path: PathBuf },
    #[error("{}: no *.csv candle files in it", path.display())]
    Empty { path: PathBuf },
    /// A file's line; `file` is set when reading a directory (its name in it).
    #[error("{}{error}", file.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
    File {
        file: Option<String>,
        error: CandleFileError,
    },
    #[error(
        "{at}: token {token}'s {role} tick is before the previous tick ({previous}): bars of different lengths or misaligned starts"
    )]
    OutOfOrder {
        at: DateTime<Utc>,
        previous: DateTime<Utc>,
        token: u32,
        role: &'static str,
    },
}

type Reader = CandleReader<BufReader<File>>;

/// One input file and its next bar.
struct Member {
    name: Option<String>,
    reader: Reader,
    head: Option<Candle>,
}

/// The ticks of a candle file or directory, in time order; ends after the first error.
pub struct CandleTicks {
    interval: Interval,
    members: Vec<Member>,
    symbols: HashMap<u32, String>,
    namespace: Uuid,
    sequence: u64,
    /// The ticks of the current group of bars, in order.
    pending: VecDeque<Envelope<MarketTick>>,
    /// The day's traded volume before the next bar, per token.
    volume: HashMap<u32, (NaiveDate, u64)>,
    last: Option<DateTime<Utc>>,
    done: bool,
}

/// Opens a candle file, or every `*.csv` file of a directory.
///
/// # Errors
/// The path cannot be read, is neither a file nor a directory, a directory holds no candle
/// file, or a file's header is wrong.
pub fn open(
    path: &Path,
    interval: Interval,
    options: TickOptions,
) -> Result<CandleTicks, CandleInputError> {
    let io = |error| CandleInputError::Io {
        path: path.to_owned(),
        error,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let files: Vec<(Option<String>, PathBuf)> = if meta.is_file() {
        vec![(None, path.to_owned())]
    } else if meta.is_dir() {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".csv") {
                continue;
            }
            if entry.path().metadata().is_ok_and(|m| m.is_file()) {
                names.push(name);
            }
        }
        names.sort();
        if names.is_empty() {
            return Err(CandleInputError::Empty {
                path: path.to_owned(),
            });
        }
        names
            .into_iter()
            .map(|n| (Some(n.clone()), path.join(n)))
            .collect()
    } else {
        return Err(CandleInputError::NotAFile {
            path: path.to_owned(),
        });
    };
    let mut members = Vec::with_capacity(files.len());
    for (name, file_path) in files {
        let file = File::open(&file_path).map_err(|error| CandleInputError::Io {
            path: file_path.clone(),
            error,
        })?;
        let reader =
            CandleReader::new(BufReader::with_capacity(1 << 16, file)).map_err(|error| {
                CandleInputError::File {
                    file: name.clone(),
                    error,
                }
            })?;
        members.push(Member {
            name,
            reader,
            head: None,
        });
    }
    let mut ticks = CandleTicks {
        interval,
        members,
        symbols: options.symbols,
        namespace: seed_namespace(options.seed),
        sequence: 0,
        pending: VecDeque::new(),
        volume: HashMap::new(),
        last: None,
        done: false,
    };
    for i in 0..ticks.members.len() {
        ticks.refill(i)?;
    }
    Ok(ticks)
}

impl CandleTicks {
    fn refill(&mut self, i: usize) -> Result<(), CandleInputError> {
        let member = &mut self.members[i];
        member.head = member
            .reader
            .next()
            .transpose()
            .map_err(|error| CandleInputError::File {
                file: member.name.clone(),
                error,
            })?;
        Ok(())
    }

    /// The bars that start next (every file's bars at the earliest start), by token then
    /// file order.
    fn next_group(&mut self) -> Result<Vec<Candle>, CandleInputError> {
        let Some(start) = self
            .members
            .iter()
            .filter_map(|m| m.head.as_ref())
            .map(|c| c.start)
            .min()
        else {
            return Ok(Vec::new());
        };
        let mut group = Vec::new();
        for i in 0..self.members.len() {
            while self.members[i]
                .head
                .as_ref()
                .is_some_and(|c| c.start == start)
            {
                if let Some(candle) = self.members[i].head.take() {
                    group.push(candle);
                }
                self.refill(i)?;
            }
        }
        // Stable: equal tokens keep file order.
        group.sort_by_key(|c| c.token);
        Ok(group)
    }

    fn fill_pending(&mut self) -> Result<(), CandleInputError> {
        let group = self.next_group()?;
        let mut ticks = Vec::with_capacity(group.len() * 4);
        for candle in &group {
            let day = candles::bar_start(candle, self.interval)
                .with_timezone(&crate::market::hours::IST)
                .date_naive();
            let before = match self.volume.get(&candle.token) {
                Some(&(d, v)) if d == day => v,
                _ => 0,
            };
            let after = before.saturating_add(candle.volume);
            self.volume.insert(candle.token, (day, after));
            for (k, bar_tick) in candles::synthesize(candle, self.interval)
                .into_iter()
                .enumerate()
            {
                let volume = if k == 3 { after } else { before };
                ticks.push((bar_tick, candle.token, volume, candle.oi));
            }
        }
        // Stable: a token's own ticks keep their order.
        ticks.sort_by_key(|(t, token, ..)| (t.at, *token));
        for (bar_tick, token, volume, oi) in ticks {
            if let Some(previous) = self.last
                && bar_tick.at < previous
            {
                return Err(CandleInputError::OutOfOrder {
                    at: bar_tick.at,
                    previous,
                    token,
                    role: bar_tick.role,
                });
            }
            self.last = Some(bar_tick.at);
            self.sequence += 1;
            let level = |price| DepthLevel {
                quantity: 1,
                price,
                orders: 1,
            };
            let tick = MarketTick {
                symbol: self.symbols.get(&token).cloned(),
                mode: TickMode::Full,
                exchange_timestamp: Some(bar_tick.at),
                volume_traded: Some(u32::try_from(volume).unwrap_or(u32::MAX)),
                oi: oi.map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
                depth: Some(MarketDepth {
                    bids: vec![level(bar_tick.price)],
                    asks: vec![level(bar_tick.price)],
                }),
                ..MarketTick::ltp(token, bar_tick.price)
            };
            let id = tick_id_in(&self.namespace, self.sequence);
            self.pending
                .push_back(Envelope::root_with_id(tick, SOURCE, bar_tick.at, id));
        }
        Ok(())
    }
}

impl Iterator for CandleTicks {
    type Item = Result<Envelope<MarketTick>, CandleInputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(tick) = self.pending.pop_front() {
                return Some(Ok(tick));
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.fill_pending() {
                self.done = true;
                return Some(Err(e));
            }
            if self.pending.is_empty() {
                self.done = true;
            }
        }
    }
}

/// Minute candles of a tick stream (a test and tooling helper): each IST minute's ticks of
/// a token become one bar of their last prices (open the first, close the last), volume 0
/// (tick files carry none). Bars come in (start, token) order.
pub fn minute_candles<'a>(
    ticks: impl IntoIterator<Item = &'a MarketTick>,
    times: impl IntoIterator<Item = DateTime<Utc>>,
) -> Vec<Candle> {
    use std::collections::BTreeMap;
    let mut bars: BTreeMap<(DateTime<Utc>, u32), candles::Ohlc> = BTreeMap::new();
    for (tick, at) in ticks.into_iter().zip(times) {
        let secs = at.timestamp().div_euclid(60) * 60;
        let Some(start) = DateTime::from_timestamp(secs, 0) else {
            continue;
        };
        let p = tick.last_price;
        bars.entry((start, tick.token))
            .and_modify(|b| {
                b.high = b.high.max(p);
                b.low = b.low.min(p);
                b.close = p;
            })
            .or_insert(candles::Ohlc {
                open: p,
                high: p,
                low: p,
                close: p,
            });
    }
    bars.into_iter()
        .filter_map(|((start, token), ohlc)| Candle::new(start, token, ohlc, 0, None).ok())
        .collect()
}

#[cfg(test)]
#[path = "candles_tests.rs"]
mod tests;
