//! The fake's `GET /instruments`: a generated instrument master in Kite's 12 columns, or
//! whatever the test scripts ([`MasterReply`]).
//!
//! The generated master is deterministic for a (row count, date): the embedded registry
//! of that date first (the equities, NIFTY 50 and NIFTY BANK with their sample futures
//! and options, so the default settings resolve against it), then synthetic indices
//! with their derivatives (FINNIFTY and MIDCPNIFTY monthly on NFO, SENSEX weekly on
//! BFO), then synthetic stocks (`SYNAAA`, `SYNAAB`, ...) listed on NSE and BSE with
//! three monthly futures and 21 strikes of calls and puts per expiry on NFO, until the
//! row count is reached. That is ~130 rows a stock, so 100,000 rows span some 750
//! underlyings and several expiries each — the shape of Kite's real master.
//!
//! Invariants of a generated master: it parses with
//! [`InstrumentRegistry::parse`]; tokens are `id << 8 | segment` with Kite's segment
//! numbers (NSE 1, NFO 2, BSE 4, BFO 5, INDICES 9) and synthetic ids from
//! [`FIRST_SYNTHETIC_ID`], so none collides with the embedded rows; `exchange:symbol`
//! is unique. A bare synthetic stock symbol is ambiguous (NSE and BSE), as in Kite's.

use chrono::{Duration, NaiveDate, Weekday};
use flate2::Compression;
use flate2::write::GzEncoder;
use rust_decimal::Decimal;
use std::io::Write as _;
use std::sync::Arc;

use super::FakeKite;
use super::reply::RawBody;

use crate::market::instruments::{HEADER, Instrument, InstrumentKind, InstrumentRegistry};
use crate::market::sample::{last_weekday_of_month, next_weekday, tradingsymbol};

/// Rows of the generated master unless the test says otherwise: about Kite's size.
pub const DEFAULT_MASTER_ROWS: usize = 100_000;

/// The first id of a synthetic row (ids below are the embedded rows' exchange tokens).
pub const FIRST_SYNTHETIC_ID: u32 = 100_000;

/// Strikes each side of a synthetic underlying's centre.
const STRIKES_EACH_SIDE: i64 = 10;

/// What `GET /instruments` answers (after the usual header, token and scripted-failure
/// checks; `fail_next_gets` makes it a 5xx).
#[derive(Debug, Clone, PartialEq)]
pub enum MasterReply {
    /// [`generated_master`] of `rows` rows for `date` (`None`: today in IST), gzipped
    /// with `Content-Encoding: gzip`. The default, with [`DEFAULT_MASTER_ROWS`].
    Generated {
        rows: usize,
        date: Option<NaiveDate>,
    },
    /// This CSV text, gzipped with `Content-Encoding: gzip` (a malformed master).
    Csv(String),
    /// These bytes as they are (a truncated gzip, plain CSV), with or without
    /// `Content-Encoding: gzip`.
    Raw { body: Vec<u8>, gzip_header: bool },
}

impl Default for MasterReply {
    fn default() -> Self {
        MasterReply::Generated {
            rows: DEFAULT_MASTER_ROWS,
            date: None,
        }
    }
}

/// The scripted reply and the last generated master, gzipped (generating and compressing
/// 100k rows takes a moment; a test that syncs twice is served the same bytes).
#[derive(Default)]
pub(super) struct Master {
    reply: MasterReply,
    generated: Option<(usize, NaiveDate, Arc<Vec<u8>>)>,
}

impl Master {
    /// The body of `GET /instruments` on IST date `today`.
    pub(super) fn body(&mut self, today: NaiveDate) -> RawBody {
        let (gzip_header, bytes) = match &self.reply {
            MasterReply::Generated { rows, date } => {
                let (rows, date) = (*rows, date.unwrap_or(today));
                let bytes = match &self.generated {
                    Some((r, d, bytes)) if (*r, *d) == (rows, date) => Arc::clone(bytes),
                    _ => {
                        let bytes = Arc::new(gzip(generated_master(rows, date).as_bytes()));
                        self.generated = Some((rows, date, Arc::clone(&bytes)));
                        bytes
                    }
                };
                (true, bytes)
            }
            MasterReply::Csv(text) => (true, Arc::new(gzip(text.as_bytes()))),
            MasterReply::Raw { body, gzip_header } => (*gzip_header, Arc::new(body.clone())),
        };
        RawBody {
            content_type: "text/csv",
            gzip_header,
            bytes,
        }
    }
}

impl FakeKite {
    /// What `GET /instruments` answers from now on (default: [`MasterReply::default`]).
    pub fn serve_instruments(&self, reply: MasterReply) {
        self.script(|state| {
            state.master.reply = reply;
            Ok(())
        });
    }
}

/// `bytes` gzipped (fast level: the fake serves megabytes per test).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// A master of exactly `rows` instruments (header not counted) for `date`, in Kite's
/// CSV format with `\n` line ends. See the module docs for what it holds.
pub fn generated_master(rows: usize, date: NaiveDate) -> String {
    let mut out = String::with_capacity(rows * 72);
    out.push_str(&HEADER.join(","));
    out.push('\n');
    let mut written = 0;
    let mut push = |instrument: &Instrument, out: &mut String| {
        if written < rows {
            out.push_str(&instrument.to_csv_row());
            out.push('\n');
            written += 1;
        }
        written < rows
    };
    // Unreachable failure: the embedded registry is checked by its own tests.
    let embedded = InstrumentRegistry::embedded_on(date).unwrap_or_default();
    for instrument in embedded.iter() {
        if !push(instrument, &mut out) {
            return out;
        }
    }
    let mut ids = FIRST_SYNTHETIC_ID..;
    for index in INDICES {
        for instrument in index.rows(date, &mut ids) {
            if !push(&instrument, &mut out) {
                return out;
            }
        }
    }
    for n in 0.. {
        for instrument in stock(n, date, &mut ids) {
            if !push(&instrument, &mut out) {
                return out;
            }
        }
    }
    out
}

/// Kite's segment numbers (`instrument_token & 0xFF`).
const NSE: u32 = 1;
const NFO: u32 = 2;
const BSE: u32 = 4;
const BFO: u32 = 5;
const INDICES_SEGMENT: u32 = 9;

/// A synthetic index and its derivatives.
struct Index {
    /// The index row's tradingsymbol.
    symbol: &'static str,
    /// Kite's `name` of its derivatives.
    underlying: &'static str,
    /// The exchange of the index row and of its derivatives (`NFO` or `BFO`).
    exchange: &'static str,
    derivatives: &'static str,
    centre: i64,
    step: i64,
    lot_size: u32,
    /// Weekly options on this weekday (besides the monthly contracts).
    weekly: Option<Weekday>,
}

const INDICES: [Index; 3] = [
    Index {
        symbol: "NIFTY FIN SERVICE",
        underlying: "FINNIFTY",
        exchange: "NSE",
        derivatives: "NFO",
        centre: 27_000,
        step: 50,
        lot_size: 60,
        weekly: None,
    },
    Index {
        symbol: "NIFTY MID SELECT",
        underlying: "MIDCPNIFTY",
        exchange: "NSE",
        derivatives: "NFO",
        centre: 13_000,
        step: 25,
        lot_size: 120,
        weekly: None,
    },
    Index {
        symbol: "SENSEX",
        underlying: "SENSEX",
        exchange: "BSE",
        derivatives: "BFO",
        centre: 85_000,
        step: 100,
        lot_size: 20,
        weekly: Some(Weekday::Thu),
    },
];

impl Index {
    fn rows(&self, date: NaiveDate, ids: &mut impl Iterator<Item = u32>) -> Vec<Instrument> {
        let id = ids.next().unwrap_or_default();
        let mut out = vec![Instrument {
            token: (id << 8) | INDICES_SEGMENT,
            exchange_token: id,
            symbol: self.symbol.to_owned(),
            name: self.symbol.to_owned(),
            last_price: Decimal::from(self.centre),
            expiry: None,
            strike: Decimal::ZERO,
            tick_size: Decimal::ZERO,
            lot_size: 0,
            kind: InstrumentKind::Index,
            segment: "INDICES".to_owned(),
            exchange: self.exchange.to_owned(),
        }];
        let series = Series {
            name: self.underlying,
            exchange: self.derivatives,
            centre: self.centre,
            step: self.step,
            lot_size: self.lot_size,
            tick_size: Decimal::new(5, 2),
        };
        let monthly = monthly_expiries(date, Weekday::Tue);
        let mut expiries: Vec<(NaiveDate, bool)> = monthly.iter().map(|&d| (d, true)).collect();
        if let Some(weekday) = self.weekly {
            let first = next_weekday(date, weekday);
            expiries.extend((0..4).map(|week| (first + Duration::days(7 * week), false)));
        }
        expiries.sort_unstable();
        for (expiry, is_monthly) in expiries {
            out.extend(series.contracts(expiry, is_monthly, ids));
        }
        out
    }
}

/// Synthetic stock number `n`: its NSE and BSE listings, then three monthly futures and
/// their options on NFO.
fn stock(n: u32, date: NaiveDate, ids: &mut impl Iterator<Item = u32>) -> Vec<Instrument> {
    let symbol = format!("SYN{}", letters(n));
    let raw = 100 + i64::from(n.wrapping_mul(7919) % 4_900);
    let step = match raw {
        ..500 => 5,
        500..2_000 => 20,
        _ => 50,
    };
    let centre = raw - raw % step;
    let tick_size = if centre >= 2_000 {
        Decimal::new(10, 2)
    } else {
        Decimal::new(5, 2)
    };
    let listing = |exchange: &str, segment: u32, id: u32| Instrument {
        token: (id << 8) | segment,
        exchange_token: id,
        symbol: symbol.clone(),
        name: format!("SYNTHETIC {symbol}"),
        last_price: Decimal::from(centre),
        expiry: None,
        strike: Decimal::ZERO,
        tick_size,
        lot_size: 1,
        kind: InstrumentKind::Equity,
        segment: exchange.to_owned(),
        exchange: exchange.to_owned(),
    };
    let mut out = vec![
        listing("NSE", NSE, ids.next().unwrap_or_default()),
        listing("BSE", BSE, ids.next().unwrap_or_default()),
    ];
    let series = Series {
        name: &symbol,
        exchange: "NFO",
        centre,
        step,
        lot_size: [250, 500, 700, 1_000, 1_200, 1_500, 125, 300][n as usize % 8],
        tick_size,
    };
    for expiry in monthly_expiries(date, Weekday::Tue) {
        out.extend(series.contracts(expiry, true, ids));
    }
    out
}

/// The derivatives of one underlying.
struct Series<'a> {
    name: &'a str,
    /// `NFO` or `BFO`.
    exchange: &'a str,
    centre: i64,
    step: i64,
    lot_size: u32,
    tick_size: Decimal,
}

impl Series<'_> {
    /// A monthly expiry's future, then every strike's call and put.
    fn contracts(
        &self,
        expiry: NaiveDate,
        monthly: bool,
        ids: &mut impl Iterator<Item = u32>,
    ) -> Vec<Instrument> {
        let mut out = Vec::new();
        if monthly {
            out.push(self.contract(expiry, true, InstrumentKind::Future, 0, ids));
        }
        for offset in -STRIKES_EACH_SIDE..=STRIKES_EACH_SIDE {
            let strike = self.centre + offset * self.step;
            for kind in [InstrumentKind::Call, InstrumentKind::Put] {
                out.push(self.contract(expiry, monthly, kind, strike, ids));
            }
        }
        out
    }

    fn contract(
        &self,
        expiry: NaiveDate,
        monthly: bool,
        kind: InstrumentKind,
        strike: i64,
        ids: &mut impl Iterator<Item = u32>,
    ) -> Instrument {
        let id = ids.next().unwrap_or_default();
        let segment = if self.exchange == "BFO" { BFO } else { NFO };
        let suffix = if kind.is_option() { "OPT" } else { "FUT" };
        Instrument {
            token: (id << 8) | segment,
            exchange_token: id,
            symbol: tradingsymbol(self.name, expiry, monthly, &kind, strike),
            name: self.name.to_owned(),
            last_price: Decimal::ZERO,
            expiry: Some(expiry),
            strike: Decimal::from(strike),
            tick_size: self.tick_size,
            lot_size: self.lot_size,
            kind,
            segment: format!("{}-{suffix}", self.exchange),
            exchange: self.exchange.to_owned(),
        }
    }
}

/// The last `weekday` of this month (if not past) and of the following months: three.
fn monthly_expiries(date: NaiveDate, weekday: Weekday) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(3);
    let mut month = date;
    while out.len() < 3 {
        let expiry = last_weekday_of_month(month, weekday);
        if expiry >= date {
            out.push(expiry);
        }
        // A day in the first week of the next month.
        month = last_weekday_of_month(month, weekday) + Duration::days(7);
    }
    out
}

/// `n` as three or more letters, `AAA`, `AAB`, ... (base 26, most significant first).
fn letters(mut n: u32) -> String {
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    while n > 0 {
        out.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, 12).unwrap()
    }

    #[test]
    fn generates_exactly_the_rows_asked_and_they_parse() {
        for rows in [0, 5, 1_000, 20_000] {
            let text = generated_master(rows, date());
            assert_eq!(text.lines().count(), rows + 1, "{rows} rows and the header");
            let registry = InstrumentRegistry::parse(&text, "generated").unwrap();
            assert_eq!(registry.len(), rows);
        }
    }

    #[test]
    fn is_deterministic_and_spans_exchanges_underlyings_and_expiries() {
        let text = generated_master(20_000, date());
        assert_eq!(text, generated_master(20_000, date()));
        let registry = InstrumentRegistry::parse(&text, "generated").unwrap();
        let count = |f: &dyn Fn(&Instrument) -> bool| registry.iter().filter(|i| f(i)).count();
        for exchange in ["NSE", "BSE", "NFO", "BFO"] {
            assert!(count(&|i| i.exchange == exchange) > 0, "{exchange}");
        }
        let underlyings: std::collections::HashSet<&str> = registry
            .iter()
            .filter(|i| i.kind.is_derivative())
            .map(|i| i.name.as_str())
            .collect();
        assert!(underlyings.len() > 100, "{} underlyings", underlyings.len());
        let sensex_expiries: std::collections::HashSet<_> = registry
            .iter()
            .filter(|i| i.name == "SENSEX" && i.kind.is_option())
            .map(|i| i.expiry)
            .collect();
        assert!(sensex_expiries.len() >= 6, "weekly and monthly");
        // The embedded rows come first, unchanged.
        let embedded = InstrumentRegistry::embedded_on(date()).unwrap();
        for instrument in embedded.iter() {
            assert_eq!(registry.by_token(instrument.token), Some(instrument));
        }
        assert!(registry.is_ambiguous("SYNAAB"), "listed on NSE and BSE");
    }

    #[test]
    fn letters_count_in_base_26() {
        assert_eq!(letters(0), "AAA");
        assert_eq!(letters(1), "AAB");
        assert_eq!(letters(26), "ABA");
        assert_eq!(letters(26 * 26 * 26), "BAAA");
    }

    #[test]
    fn monthly_expiries_skip_a_past_one() {
        let after = NaiveDate::from_ymd_opt(2026, 5, 27).unwrap(); // after 26 May
        let expiries = monthly_expiries(after, Weekday::Tue);
        assert_eq!(
            expiries,
            [(2026, 6, 30), (2026, 7, 28), (2026, 8, 25)]
                .map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
        );
    }
}
