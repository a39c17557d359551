//! Simulated ticks as a backtest file: the simulator's market ([`Market`]: walks, and
//! futures and options priced from them) stepped on a clock and written as the backtest's
//! CSV (`ts_ns,token,bid,ask,last`), so an options strategy can be backtested on the same
//! prices the default run trades.
//!
//! Decisions: the whole market steps once per interval (every derivative follows its
//! underlying's one path); each requested token gets one row per step, in the order
//! given, at the step's time plus its place in that order in nanoseconds (the backtest
//! wants strictly increasing times); the book's best levels are the row's bid and ask (an
//! instrument without depth, such as an index, writes its last price for both).

use std::io::{self, BufWriter, Write};

use chrono::{DateTime, Utc};

use super::Market;
use crate::messages::TickMode;

/// What to write.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Instruments to write, one row each per step.
    pub tokens: Vec<u32>,
    /// The first step's time.
    pub start: DateTime<Utc>,
    /// Steps to write.
    pub steps: u64,
    /// Seconds between steps (at least 1).
    pub every_secs: u32,
}

/// Writes the CSV (header, then `steps × tokens` rows); returns the rows written.
///
/// # Errors
/// The writer's errors; `InvalidInput` for a token the market does not simulate, a zero
/// interval, or a clock beyond 2106 (Kite's packets carry `u32` seconds).
pub fn write_csv(out: impl Write, market: &mut Market, options: &ExportOptions) -> io::Result<u64> {
    let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
    if options.every_secs == 0 {
        return Err(invalid("every_secs must be at least 1".into()));
    }
    if let Some(token) = options.tokens.iter().find(|t| !market.contains(**t)) {
        return Err(invalid(format!(
            "token {token} is not in the simulated registry"
        )));
    }
    let first = u32::try_from(options.start.timestamp())
        .map_err(|_| invalid("start outside Kite's u32 seconds".into()))?;
    let mut out = BufWriter::with_capacity(1 << 16, out);
    writeln!(out, "{}", crate::backtest::ticks::CSV_HEADER)?;
    let mut rows = 0;
    for step in 0..options.steps {
        let offset = u32::try_from(step)
            .ok()
            .and_then(|s| s.checked_mul(options.every_secs))
            .and_then(|s| first.checked_add(s))
            .ok_or_else(|| invalid("the clock ran past Kite's u32 seconds".into()))?;
        market.step_all(offset);
        for (nth, &token) in (0_i64..).zip(&options.tokens) {
            let Some(tick) = market.tick(token, TickMode::Full, offset) else {
                continue;
            };
            let best = |side: &[crate::kite::ticker::DepthEntry]| {
                side.first()
                    .filter(|level| level.quantity > 0)
                    .map_or(tick.last_price, |level| level.price)
            };
            let (bid, ask) = (best(&tick.bids), best(&tick.asks));
            // The backtest wants strictly increasing times: the rows of one step are a
            // nanosecond apart.
            let ns = i64::from(offset) * 1_000_000_000 + nth;
            writeln!(out, "{ns},{token},{bid},{ask},{}", tick.last_price)?;
            rows += 1;
        }
    }
    out.flush()?;
    Ok(rows)
}
