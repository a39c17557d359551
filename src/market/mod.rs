//! Market reference data: which instruments exist and when the exchange trades.
//!
//! - [`instruments`]: the [`InstrumentRegistry`], Kite instrument tokens to symbols, tick
//!   and lot sizes, loaded from `config/instruments.csv` (embedded) or a configured file.
//! - [`hours`]: the [`MarketCalendar`], NSE/BSE sessions in IST with weekends and
//!   holidays closed, and the IST trading date of an instant.
//! - [`derivatives`]: [`OptionChains`], futures and options by underlying, expiry and
//!   strike; the expiry calendar as the master lists it; ATM, ITM and OTM strikes.
//! - [`chain_rule`]: [`ChainRule`], subscriptions written as rules
//!   (`NIFTY:CE,PE:ATM±3:current_week`), resolved against the chains at start.
//! - [`candles`]: OHLC bars: Kite's historical intervals, the candle file format, and the
//!   ticks a bar becomes in a backtest.
//! - [`bars`]: the [`bars::BarBuilder`], minute bars of a token's ticks for strategies.
//! - [`sample`]: the sample derivatives the embedded registry adds for the day.
//! - [`intraday`]: the [`IntradayDay`], the MIS deadlines (entry cutoff, square-off, the
//!   broker's own square-off) on that calendar.
//! - [`master_cache`]: the [`MasterCache`], Kite's downloaded instrument master kept on
//!   disk under its IST date, replaced only by a valid master, atomically.
//!
//! Pure domain code: no I/O beyond the instrument files (read on request, the master
//! cache written on request), no network, no clocks (but [`InstrumentRegistry::embedded`],
//! which dates its sample by today), no actors, Kafka or Redis, so the feed, the
//! simulator, risk and tests share it freely.

pub mod bars;
pub mod candles;
pub mod chain_rule;
pub(crate) mod csv;
pub mod derivatives;
pub mod hours;
pub mod instruments;
pub mod intraday;
pub mod master_cache;
pub mod sample;

#[cfg(test)]
mod derivatives_tests;
#[cfg(test)]
mod hours_tests;
#[cfg(test)]
mod instruments_tests;
#[cfg(test)]
mod master_cache_tests;

pub use chain_rule::{ChainRule, RuleInputs};
pub use derivatives::{ExpiryChoice, OptionChains, Right};
pub use hours::{MarketCalendar, Session};
pub use instruments::{Instrument, InstrumentError, InstrumentKind, InstrumentRegistry};
pub use intraday::IntradayDay;
pub use master_cache::{CacheError, CachedMaster, MasterCache, StartPlan};
