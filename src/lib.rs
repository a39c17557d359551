//! alpha-panda: an actor-based algorithmic trading daemon for Indian markets.
//!
//! Map of the tree:
//!
//! - [`settings`]: the one typed configuration (`config/default.toml` < file < environment),
//!   validated at start-up.
//! - [`messages`]: the typed vocabulary carried on Kafka — the [`messages::Envelope`] and
//!   every payload (ticks, signals, orders, fills, P&L, DLQ records).
//! - [`market`]: market reference data — the instrument registry (Kite tokens, symbols,
//!   tick and lot sizes), the cache of Kite's instrument master, NSE/BSE market hours
//!   in IST, and OHLC candles (the candle file format, the ticks of a bar, bars of
//!   ticks). Pure domain code.
//! - [`portfolio`]: portfolio accounting — average-cost netting positions, cash, charges,
//!   realized/unrealized P&L per (broker, strategy), fills applied once. Pure domain code.
//! - [`risk`]: the risk engine — per-broker limits, positions and kill switch; every rule a
//!   signal fails, with stable reason codes. Pure domain code.
//! - [`streaming`]: everything Kafka — the topic map (the only place that names topics), the
//!   producer actor, the consumer actor with its routing table, retries and DLQ, dedup stores,
//!   the embedded broker and topic administration.
//! - [`strategy`]: trading strategies as pure domain code — the [`strategy::Strategy`]
//!   contract (ticks, fills and order outcomes in, order intents out; positions derived
//!   from events by the [`strategy::Ledger`]), the kind registry, the built-in kinds
//!   (`momentum`, `mean_reversion`, `rsi`, `ema_cross`), indicators and a test harness.
//! - [`actors`]: one module per service actor.
//! - [`supervision`]: the generic supervision machinery (child specs, restart strategies,
//!   budgets, backoff, escalation, panic capture, the status board); not a service.
//! - [`paper`]: the paper venue — a deterministic simulated exchange that fills validated
//!   signals against ticks with slippage, latency, partial fills and Zerodha's charges.
//! - [`kite`]: Zerodha Kite wire protocols — the ticker's binary frame codec (decode
//!   without allocating, encode for the simulator), its text frames, and the Kite Connect
//!   REST client (orders, portfolio, session, the instrument master, historical candles)
//!   with its typed errors and rate limits.
//! - [`zerodha`]: live execution on Zerodha as pure domain code — the order journal
//!   record and the lifecycle that turns Kite's answers and order book into order events.
//! - [`api`]: the daemon's HTTP API — health and readiness probes, Prometheus metrics,
//!   portfolios, positions, orders, strategies, the supervision tree, the kill switch
//!   (bearer token) and live events over Server-Sent Events.
//! - [`bench`]: `alpha-panda bench` — the pipeline under a fixed open-loop tick rate, with
//!   per-hop and end-to-end latency (HDR histograms over the `ap-sent-ns` record headers),
//!   throughput and loss.
//! - [`testkit`] (feature `testkit`): probe actors for mailbox assertions in actor tests.
//! - [`alerts`]: alerts where traders look — a Telegram chat and a webhook, told of a
//!   HALTED broker, a loss limit, a refused Kite token, restarts, a stale feed, DLQ
//!   records...; raised in one non-blocking line from anywhere, deduplicated and rate
//!   limited by a dispatcher the daemon starts.
//! - [`cli`] and [`telemetry`]: the binary's glue; [`Daemon`]: the same command line for a
//!   user's own binary with its own strategy kinds.

pub mod accounting;
pub mod actors;
pub mod alerts;
pub mod api;
pub mod backtest;
pub mod bench;
pub mod cli;
mod daemon;
pub mod kite;
pub mod market;
pub mod messages;
pub mod paper;
pub mod portfolio;
pub mod risk;
pub mod settings;
pub mod sim;
pub mod store;
pub mod strategy;
pub mod streaming;
pub mod supervision;
pub mod telemetry;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod zerodha;

pub use daemon::{Daemon, DaemonBuilder};
