//! Market reference data: which instruments exist and when the exchange trades.
//!
//! - [`instruments`]: the [`InstrumentRegistry`], Kite instrument tokens to symbols, tick
//!   and lot sizes, loaded from `config/instruments.csv` (embedded) or a configured file.
//! - [`hours`]: the [`MarketCalendar`], NSE/BSE sessions in IST with weekends and
//!   holidays closed, and the IST trading date of an instant.
//! - [`intraday`]: the [`IntradayDay`], the MIS deadlines (entry cutoff, square-off, the
//!   broker's own square-off) on that calendar.
//! - [`master_cache`]: the [`MasterCache`], Kite's downloaded instrument master kept on
//!   disk under its IST date, replaced only by a valid master, atomically.
//!
//! Pure domain code: no I/O beyond the instrument files (read on request, the master
//! cache written on request), no network, no clocks, no actors, Kafka or Redis, so the
//! feed, the simulator, risk and tests share it freely.

mod csv;
pub mod hours;
pub mod instruments;
pub mod intraday;
pub mod master_cache;
pub mod sample;

#[cfg(test)]
mod hours_tests;
#[cfg(test)]
mod instruments_tests;
#[cfg(test)]
mod master_cache_tests;

pub use hours::{MarketCalendar, Session};
pub use instruments::{Instrument, InstrumentError, InstrumentKind, InstrumentRegistry};
pub use intraday::IntradayDay;
pub use master_cache::{CacheError, CachedMaster, MasterCache, StartPlan};
