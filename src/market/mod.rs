//! Market reference data: which instruments exist and when the exchange trades.
//!
//! - [`instruments`]: the [`InstrumentRegistry`], Kite instrument tokens to symbols, tick
//!   and lot sizes, loaded from `config/instruments.csv` (embedded) or a configured file.
//! - [`hours`]: the [`MarketCalendar`], NSE/BSE sessions in IST with weekends and
//!   holidays closed, and the IST trading date of an instant.
//! - [`intraday`]: the [`IntradayDay`], the MIS deadlines (entry cutoff, square-off, the
//!   broker's own square-off) on that calendar.
//!
//! Pure domain code: no I/O beyond reading the instrument file on request, no clocks, no
//! actors, Kafka or Redis, so the feed, the simulator, risk and tests share it freely.

mod csv;
pub mod hours;
pub mod instruments;
pub mod intraday;
pub mod sample;

#[cfg(test)]
mod hours_tests;
#[cfg(test)]
mod instruments_tests;

pub use hours::{MarketCalendar, Session};
pub use instruments::{Instrument, InstrumentError, InstrumentKind, InstrumentRegistry};
pub use intraday::IntradayDay;
