//! The sample derivatives of the embedded registry: NIFTY and NIFTY BANK futures and
//! options for the next expiries after a date, in Kite's conventions, so the default run
//! (simulator, paper) can trade options on any day without downloading the master.
//!
//! Decisions, written down because a sample must not pass for the real thing:
//! - Expiries follow NSE's 2026 calendar rule without holidays: NIFTY options expire
//!   weekly on Tuesday (the next two weeks, plus this and next month's last Tuesday);
//!   NIFTY BANK has monthly contracts only (last Tuesday). Futures are monthly (two).
//! - Strikes: 41 around a fixed centre (NIFTY 26,000 step 50; NIFTY BANK 59,000 step 100),
//!   the same every day, so a contract keeps its token from one day to the next.
//! - Lot sizes 65 (NIFTY) and 30 (BANKNIFTY), tick size 0.05 — the 2026 values, but the
//!   real master is the source: run `alpha-panda instruments sync` before trading live.
//! - Tradingsymbols as Kite writes them: weekly `NIFTY26D0826000CE` (year, month as
//!   1-9/O/N/D, day), monthly `NIFTY26DEC26000CE`, futures `NIFTY26DECFUT`.
//! - Tokens are built from the contract (underlying, expiry, type, strike), in segment 2
//!   (NFO), so they never collide and never change for a contract.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rust_decimal::Decimal;

use super::instruments::{
    EMBEDDED_CSV, EMBEDDED_SOURCE, Instrument, InstrumentError, InstrumentKind, InstrumentRegistry,
};

impl InstrumentRegistry {
    /// The built-in registry for the IST trading date of now: [`EMBEDDED_CSV`] and the
    /// sample derivatives of [`embedded_on`](Self::embedded_on).
    ///
    /// # Errors
    ///
    /// [`InstrumentError::Line`] if the embedded file is malformed (a build defect, caught by
    /// the tests).
    pub fn embedded() -> Result<Self, InstrumentError> {
        Self::embedded_on(super::MarketCalendar::ist_date(chrono::Utc::now()))
    }

    /// The built-in registry as it would be on `date`: the equities and indices of
    /// [`EMBEDDED_CSV`], then NIFTY and NIFTY BANK futures and options of the next
    /// expiries on or after `date` ([`super::sample::derivatives`]).
    ///
    /// # Errors
    ///
    /// As [`embedded`](Self::embedded).
    pub fn embedded_on(date: NaiveDate) -> Result<Self, InstrumentError> {
        let mut registry = Self::parse(EMBEDDED_CSV, EMBEDDED_SOURCE)?;
        for instrument in derivatives(date) {
            let source = format!("{EMBEDDED_SOURCE} (sample {})", instrument.symbol);
            registry
                .add(instrument)
                .map_err(|message| InstrumentError::Line {
                    source,
                    line: 0,
                    message,
                })?;
        }
        Ok(registry)
    }
}

/// Kite's segment number of NFO (`instrument_token & 0xFF`).
pub const NFO_SEGMENT: u32 = 2;

/// One underlying of the sample.
struct Underlying {
    /// Kite's `name` of its derivatives.
    name: &'static str,
    /// A number for the token (1..=3).
    id: u32,
    centre: i64,
    step: i64,
    lot_size: u32,
    weekly: bool,
}

const UNDERLYINGS: [Underlying; 2] = [
    Underlying {
        name: "NIFTY",
        id: 1,
        centre: 26_000,
        step: 50,
        lot_size: 65,
        weekly: true,
    },
    Underlying {
        name: "BANKNIFTY",
        id: 2,
        centre: 59_000,
        step: 100,
        lot_size: 30,
        weekly: false,
    },
];

/// Strikes each side of the centre.
const STRIKES_EACH_SIDE: i64 = 20;

/// The sample's futures and options whose expiry is on or after `date`, ordered by
/// underlying, expiry, then futures before options by strike, calls before puts.
pub fn derivatives(date: NaiveDate) -> Vec<Instrument> {
    let mut out = Vec::new();
    for underlying in &UNDERLYINGS {
        let monthly = [
            last_weekday_of_month(date, Weekday::Tue),
            last_weekday_of_month(first_of_next_month(date), Weekday::Tue),
        ];
        // This month's last Tuesday may be past: then take the two after it.
        let monthly: Vec<NaiveDate> = if monthly[0] >= date {
            monthly.to_vec()
        } else {
            let after = first_of_next_month(first_of_next_month(date));
            vec![monthly[1], last_weekday_of_month(after, Weekday::Tue)]
        };
        let mut option_expiries = monthly.clone();
        if underlying.weekly {
            let first = next_weekday(date, Weekday::Tue);
            option_expiries.extend([first, first + Duration::days(7)]);
        }
        option_expiries.sort_unstable();
        option_expiries.dedup();
        for &expiry in &option_expiries {
            let is_monthly = monthly.contains(&expiry);
            if is_monthly {
                out.push(contract(
                    underlying,
                    expiry,
                    true,
                    InstrumentKind::Future,
                    0,
                ));
            }
            for offset in -STRIKES_EACH_SIDE..=STRIKES_EACH_SIDE {
                for kind in [InstrumentKind::Call, InstrumentKind::Put] {
                    out.push(contract(underlying, expiry, is_monthly, kind, offset));
                }
            }
        }
    }
    out
}

fn contract(
    underlying: &Underlying,
    expiry: NaiveDate,
    monthly: bool,
    kind: InstrumentKind,
    offset: i64,
) -> Instrument {
    let strike = if kind.is_option() {
        underlying.centre + offset * underlying.step
    } else {
        0
    };
    let code = contract_code(underlying.id, expiry, &kind, offset);
    let symbol = tradingsymbol(underlying.name, expiry, monthly, &kind, strike);
    let segment = if kind.is_option() {
        "NFO-OPT"
    } else {
        "NFO-FUT"
    };
    Instrument {
        token: (code << 8) | NFO_SEGMENT,
        exchange_token: code,
        symbol,
        name: underlying.name.to_owned(),
        last_price: Decimal::ZERO,
        expiry: Some(expiry),
        strike: Decimal::from(strike),
        tick_size: Decimal::new(5, 2),
        lot_size: underlying.lot_size,
        kind,
        segment: segment.to_owned(),
        exchange: "NFO".to_owned(),
    }
}

/// 24 bits: underlying (2), expiry as days since 2024-01-01 (13), type (2), strike
/// offset + 20 (6) — unique per contract and stable across days.
fn contract_code(underlying: u32, expiry: NaiveDate, kind: &InstrumentKind, offset: i64) -> u32 {
    let epoch = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default();
    let days = u32::try_from((expiry - epoch).num_days()).unwrap_or(0) & 0x1FFF;
    let kind = match kind {
        InstrumentKind::Call => 1,
        InstrumentKind::Put => 2,
        _ => 0,
    };
    let offset = u32::try_from(offset + STRIKES_EACH_SIDE).unwrap_or(0) & 0x3F;
    (underlying << 21) | (days << 8) | (kind << 6) | offset
}

/// Kite's tradingsymbol of a derivative.
pub fn tradingsymbol(
    name: &str,
    expiry: NaiveDate,
    monthly: bool,
    kind: &InstrumentKind,
    strike: i64,
) -> String {
    let year = expiry.year() % 100;
    let month = expiry.format("%b").to_string().to_uppercase();
    match kind {
        InstrumentKind::Future => format!("{name}{year:02}{month}FUT"),
        _ if monthly => format!("{name}{year:02}{month}{strike}{}", kind.as_str()),
        _ => {
            let m = match expiry.month() {
                10 => 'O',
                11 => 'N',
                12 => 'D',
                n => char::from_digit(n, 10).unwrap_or('?'),
            };
            format!(
                "{name}{year:02}{m}{:02}{strike}{}",
                expiry.day(),
                kind.as_str()
            )
        }
    }
}

/// The first `weekday` on or after `date`.
pub fn next_weekday(date: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() - date.weekday().num_days_from_monday()) % 7;
    date + Duration::days(i64::from(ahead))
}

/// The last `weekday` of `date`'s month.
pub fn last_weekday_of_month(date: NaiveDate, weekday: Weekday) -> NaiveDate {
    let last = first_of_next_month(date) - Duration::days(1);
    let back = (7 + last.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
    last - Duration::days(i64::from(back))
}

fn first_of_next_month(date: NaiveDate) -> NaiveDate {
    let (year, month) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(date)
}
