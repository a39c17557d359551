//! `alpha-panda backtest`: the strategy runner, risk manager, paper execution and portfolio
//! actors of the daemon, wired to each other in-process instead of through Kafka, driven by a
//! tick file (or candle files, [`candles`]) with time taken from the ticks.

pub mod candles;
pub mod engine;
#[cfg(test)]
mod expiry_tests;
pub mod report;
pub mod sweep;
pub mod synthetic;
#[cfg(test)]
mod tests;
pub mod ticks;
