//! The backtest engine: the daemon's strategy runner, risk manager, paper execution and
//! portfolio manager actors, started on the current actix system and wired through an
//! in-process [`Outbox`] instead of Kafka: what a service publishes stays a typed envelope
//! (nothing is serialised) and is delivered through the daemon's own routing tables.
//!
//! One tick at a time, in file order:
//! 1. the tick goes to every service that reads `market.ticks` (paper execution, risk,
//!    portfolio, then the strategies) and the engine waits for each handler's answer and
//!    for the deliveries of what it published;
//! 2. every record published meanwhile is delivered, in publication order, to the services
//!    whose routing tables ([`crate::actors::daemon::routes`]) read its topic — a signal to
//!    risk, a validated signal to paper, a fill to risk and the portfolios — and so on until
//!    nothing is left. Only then does the next tick go in.
//!
//! So a market order signalled on a tick fills on that same tick's touch, and the outcome
//! depends only on the ticks, the configuration and the seed: time is the ticks' time
//! (every service reads it from the envelopes), ids are derived from the tick ids, the paper
//! venue's draws are seeded. Differences from the daemon, each deliberate:
//! - Only the `paper` broker runs: every enabled strategy trades on paper whatever its
//!   `brokers` say; `zerodha` is never contacted.
//! - The store is in memory; nothing outlives the run. The paper order journal (read back
//!   only on restarts and redeliveries, which a backtest never has) is not kept in it, so
//!   memory does not grow with the number of orders.
//! - With `market_hours.enforce`, ticks outside the exchange's sessions (by tick time) are
//!   skipped, as the live feed is disconnected then.
//! - A handler error (the daemon would retry, then dead-letter the record) is counted and
//!   logged; the run goes on.
//! - A tick that fails the door's rules ([`MarketTick::check`]: price ≤ 0 or above the
//!   ceiling, crossed book, …) ends the run with an error naming the tick's position and
//!   the reason, where the daemon would dead-letter it: no service ever sees it. So does a
//!   tick time outside the years 1677 to 2262 ([`super::ticks::check_time`]). (The tick
//!   files' reader refuses both first, with the line number; this guards any other source.)

use super::report::{EquityPoint, FillsWriter, Outcome, PriceRecorder, StrategyOutcome};
use crate::actors::daemon;
use crate::actors::daemon::catalog;
use crate::actors::daemon::wiring::{Host, Wiring};
use crate::actors::paper_execution::{self, PaperExecution};
use crate::actors::portfolio_manager::{self, GetPortfolio, PortfolioManager};
use crate::actors::risk_manager::TradingHolds;
use crate::actors::risk_manager::{self, RiskManager};
use crate::actors::strategy_runner::{self, StrategyRunner};
use crate::market::instruments::InstrumentRegistry;
use crate::market::{MarketCalendar, Session};
use crate::messages::{
    Broker, Envelope, MarketTick, OrderFailed, OrderFilled, OrderSubmitted, PnlSnapshot,
    RecordOrigin, RejectedSignal, TradingSignal,
};
use crate::portfolio::Portfolio;
use crate::settings::Settings;
use crate::store::MemoryStore;
use crate::strategy::StrategyRegistry;
use crate::streaming::consumer::{Deliver, HandlerResult, Routes};
use crate::streaming::{Outbox, ProducerHandle, Published, Stream, Topic};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::sync::Arc;
use thiserror::Error;

/// Why a backtest could not run to the end.
#[derive(Debug, Error)]
pub enum BacktestError {
    /// The tick file (its line number is in the message).
    #[error("{0}")]
    Ticks(String),
    /// The configuration cannot run (unknown instrument, bad strategy parameters).
    #[error("configuration: {0}")]
    Config(String),
    /// Writing the streamed `fills.csv` failed.
    #[error("writing fills.csv: {0}")]
    Output(#[from] std::io::Error),
    /// An actor stopped answering (it failed).
    #[error("the {service} actor stopped: {reason}")]
    ActorStopped {
        service: &'static str,
        reason: String,
    },
}

/// What a run is given besides the ticks.
pub struct RunOptions {
    /// The tick file as named on the command line (shown in the report).
    pub input: String,
    /// Seeds the paper venue's draws (the tick reader takes it for tick ids).
    pub seed: u64,
    /// Called with the number of ticks read so far, every [`PROGRESS_EVERY`] ticks.
    pub progress: Box<dyn FnMut(u64)>,
}

/// What happened besides the report's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Ticks outside market hours (with `market_hours.enforce`), not delivered.
    pub skipped: u64,
    /// Handler errors (each logged): records the daemon would retry, then dead-letter.
    pub handler_errors: u64,
}

/// How often [`RunOptions::progress`] is called.
pub const PROGRESS_EVERY: u64 = 4096;

/// The service addresses of one run.
struct Services {
    runner: Addr<StrategyRunner>,
    risk: Addr<RiskManager>,
    paper: Addr<PaperExecution>,
    portfolio: Addr<PortfolioManager>,
    /// The routing tables of the non-tick topics, in delivery order.
    routes: Vec<(&'static str, Routes)>,
}

/// The settings a backtest runs with: `settings` with only the paper broker, every enabled
/// strategy on it, and the paper venue seeded with `seed`.
pub fn backtest_settings(settings: &Settings, seed: u64) -> Settings {
    let mut s = settings.clone();
    s.brokers.enabled = vec![Broker::Paper];
    for strategy in s.strategies.values_mut() {
        strategy.brokers = vec![Broker::Paper];
    }
    s.paper.seed = seed;
    s
}

/// Runs the backtest of `ticks` (an error item ends the run with that error) on the current
/// actix system, keeping every fill in the outcome. `settings` should come from
/// [`backtest_settings`].
///
/// # Errors
/// See [`BacktestError`].
pub async fn run<E: Display>(
    settings: &Settings,
    registry: &InstrumentRegistry,
    strategies: &StrategyRegistry,
    ticks: impl Iterator<Item = Result<Envelope<MarketTick>, E>>,
    options: RunOptions,
) -> Result<(Outcome, RunStats), BacktestError> {
    let input = Input {
        writer: None,
        ticks_checked: false,
    };
    run_with(settings, registry, strategies, ticks, options, input).await
}

/// How [`run_streaming`] writes and what it may take as checked.
pub struct Streaming<'a> {
    /// The report directory: `fills.csv` is written there during the run.
    pub out: &'a std::path::Path,
    /// Every tick has passed [`MarketTick::check`] and the time check already
    /// ([`super::ticks::TickReader::checks_every_tick`]): the engine does not repeat them.
    pub ticks_checked: bool,
}

/// [`run`], streaming the fills into `fills.csv` as they happen instead of keeping them
/// (memory stays flat in run length); the outcome holds their figures.
/// [`super::report::write_all`] then writes the other files.
///
/// # Errors
/// See [`BacktestError`].
pub async fn run_streaming<E: Display>(
    settings: &Settings,
    registry: &InstrumentRegistry,
    strategies: &StrategyRegistry,
    ticks: impl Iterator<Item = Result<Envelope<MarketTick>, E>>,
    options: RunOptions,
    streaming: Streaming<'_>,
) -> Result<(Outcome, RunStats), BacktestError> {
    let writer = FillsWriter::create(streaming.out, settings.portfolio.starting_cash)?;
    let input = Input {
        writer: Some(writer),
        ticks_checked: streaming.ticks_checked,
    };
    run_with(settings, registry, strategies, ticks, options, input).await
}

/// What differs between [`run`] and [`run_streaming`].
struct Input {
    writer: Option<FillsWriter>,
    ticks_checked: bool,
}

async fn run_with<E: Display>(
    settings: &Settings,
    registry: &InstrumentRegistry,
    strategies: &StrategyRegistry,
    ticks: impl Iterator<Item = Result<Envelope<MarketTick>, E>>,
    mut options: RunOptions,
    input: Input,
) -> Result<(Outcome, RunStats), BacktestError> {
    let outbox = Outbox::default();
    let services = start(settings, registry, strategies, &outbox)?;
    let tick_routes: [(&'static str, Recipient<Deliver<MarketTick>>); 4] = [
        (paper_execution::SERVICE, services.paper.clone().recipient()),
        (risk_manager::SERVICE, services.risk.clone().recipient()),
        (
            portfolio_manager::SERVICE,
            services.portfolio.clone().recipient(),
        ),
        (
            strategy_runner::SERVICE,
            services.runner.clone().recipient(),
        ),
    ];
    let calendar = settings
        .market_hours
        .enforce
        .then(|| settings.market_hours.calendar());
    let mut tally = Tally::new(settings, input.writer);
    let ticks_topic = Topic::MARKET_TICKS.name();
    let mut read: u64 = 0;
    for tick in ticks {
        let tick = tick.map_err(|e| BacktestError::Ticks(e.to_string()))?;
        if let Some(e) = tally.write_error.take() {
            return Err(BacktestError::Output(e));
        }
        read += 1;
        if !input.ticks_checked {
            tick.data
                .check()
                .map_err(|problem| BacktestError::Ticks(format!("tick {read}: {problem}")))?;
            super::ticks::check_time(tick.ts)
                .map_err(|reason| BacktestError::Ticks(format!("tick {read}: ts: {reason}")))?;
        }
        if read.is_multiple_of(PROGRESS_EVERY) {
            (options.progress)(read);
        }
        if calendar
            .as_ref()
            .is_some_and(|c: &MarketCalendar| c.session_at(tick.ts) == Session::Closed)
        {
            tally.skipped += 1;
            continue;
        }
        tally.saw(tick.ts);
        tally.prices.saw(
            tick.data.token,
            tick.data.symbol.as_deref(),
            tick.ts,
            tick.data.last_price,
        );
        let deliver = Deliver {
            envelope: tick,
            origin: RecordOrigin {
                topic: ticks_topic.clone(),
                partition: 0,
                offset: i64::try_from(read).unwrap_or(i64::MAX),
            },
        };
        // Every service is sent the tick before any answer is awaited (one scheduler pass);
        // the last one takes the original instead of a clone.
        let [first, second, third, (last_service, last)] = &tick_routes;
        let requests = [
            (first.0, first.1.send(deliver.clone())),
            (second.0, second.1.send(deliver.clone())),
            (third.0, third.1.send(deliver.clone())),
            (*last_service, last.send(deliver)),
        ];
        for (service, request) in requests {
            let result = request.await.map_err(|e| stopped(service, e))?;
            settle(service, result, &mut tally).await;
        }
        deliver_published(&services, &outbox, &mut tally).await;
    }
    (options.progress)(read);
    tally.ticks = read;
    finish(settings, &services, tally, options).await
}

fn stopped(service: &'static str, e: MailboxError) -> BacktestError {
    BacktestError::ActorStopped {
        service,
        reason: e.to_string(),
    }
}

/// Starts the four services on the current arbiter, publishing to `outbox`.
fn start(
    settings: &Settings,
    registry: &InstrumentRegistry,
    strategies: &StrategyRegistry,
    outbox: &Outbox,
) -> Result<Services, BacktestError> {
    let mut wiring = Wiring {
        settings,
        registry,
        strategies,
        // Nothing in a backtest reads the paper journal (no restart, no redelivery) or the
        // portfolio read model (the report asks the portfolio manager): neither is kept.
        store: Arc::new(MemoryStore::write_only(&[
            paper_execution::JOURNAL_INDEX.to_owned(),
            portfolio_manager::portfolio_index(Broker::Paper),
        ])),
        producer: ProducerHandle::in_process(outbox.clone()),
        holds: TradingHolds::default(),
        brokers: vec![Broker::Paper],
        history: None,
        kite: None,
    };
    let mut addresses = daemon::Services::default();
    // The daemon's consumers' routing tables, in the catalog's order, then what services
    // follow by themselves in the daemon (the runner's outcomes).
    let mut routes: Vec<(&'static str, Routes)> = Vec::new();
    let mut in_process = Vec::new();
    for def in catalog::CATALOG
        .iter()
        .filter(|d| d.in_backtest && d.enabled(settings))
    {
        let Some(build) = def.build else { continue };
        let built =
            build(&mut wiring, &mut Host::Direct, &mut addresses).map_err(BacktestError::Config)?;
        routes.extend(built.consumer.map(|r| (def.name, r())));
        in_process.extend(built.in_process.map(|r| (def.name, r())));
    }
    routes.extend(in_process);
    let missing = |service: &'static str| BacktestError::ActorStopped {
        service,
        reason: "not built (its broker is not enabled)".into(),
    };
    let runner = addresses
        .strategy_runner
        .ok_or_else(|| missing(strategy_runner::SERVICE))?;
    let risk = addresses
        .risk_manager
        .ok_or_else(|| missing(risk_manager::SERVICE))?;
    let paper = addresses
        .paper_execution
        .ok_or_else(|| missing(paper_execution::SERVICE))?;
    let portfolio = addresses
        .portfolio_manager
        .ok_or_else(|| missing(portfolio_manager::SERVICE))?;
    Ok(Services {
        runner,
        risk,
        paper,
        portfolio,
        routes,
    })
}

/// Waits for the deliveries of what a handler published; a handler error is counted.
async fn settle(service: &'static str, result: HandlerResult, tally: &mut Tally) {
    match result {
        Ok(completion) => {
            for delivery in completion.deliveries {
                // In-process publications are acknowledged at once; what can fail here is a
                // store write (the order journal, the risk state, the read model).
                if let Err(e) = delivery.await {
                    tally.handler_error(service, &e.to_string());
                }
            }
        }
        Err(e) => tally.handler_error(service, &e.to_string()),
    }
}

/// Delivers everything published, in publication order, until nothing is left.
async fn deliver_published(services: &Services, outbox: &Outbox, tally: &mut Tally) {
    loop {
        let batch = outbox.take();
        if batch.is_empty() {
            return;
        }
        for published in batch {
            match published {
                Published::Envelope { topic, envelope } => {
                    tally.observe(topic, &*envelope);
                    let name = topic.name();
                    for (service, routes) in &services.routes {
                        let origin = RecordOrigin {
                            topic: name.clone(),
                            partition: 0,
                            offset: 0,
                        };
                        match routes.deliver_envelope(&*envelope, origin) {
                            None => {}
                            Some(Err(e)) => tally.handler_error(service, &e),
                            Some(Ok(request)) => settle(service, request.await, tally).await,
                        }
                    }
                }
                Published::Record(record) => {
                    for (service, routes) in &services.routes {
                        let origin = RecordOrigin {
                            topic: record.topic.clone(),
                            partition: 0,
                            offset: 0,
                        };
                        match routes.deliver(&record.value, origin) {
                            None => {}
                            Some(Err(e)) => tally.handler_error(service, &e.to_string()),
                            Some(Ok(request)) => settle(service, request.await, tally).await,
                        }
                    }
                }
            }
        }
    }
}

/// The outcome, with each strategy's final portfolio asked of the portfolio manager.
async fn finish(
    settings: &Settings,
    services: &Services,
    tally: Tally,
    options: RunOptions,
) -> Result<(Outcome, RunStats), BacktestError> {
    let stats = RunStats {
        skipped: tally.skipped,
        handler_errors: tally.handler_errors,
    };
    if let Some(e) = tally.write_error {
        return Err(BacktestError::Output(e));
    }
    let fills_written = tally.writer.is_some();
    let mut figures = match tally.writer {
        Some(writer) => writer.finish()?,
        None => BTreeMap::new(),
    };
    let at = tally.last_tick.unwrap_or(DateTime::UNIX_EPOCH);
    let mut strategies = Vec::new();
    let ids: Vec<(String, String)> = settings
        .strategies
        .iter()
        .filter(|(_, s)| s.enabled)
        .map(|(id, s)| (id.clone(), s.params.kind().to_owned()))
        .collect();
    let mut by_strategy = tally.strategies;
    for (id, kind) in ids {
        let portfolio = services
            .portfolio
            .send(GetPortfolio {
                broker: Broker::Paper,
                strategy: id.clone(),
            })
            .await
            .map_err(|e| stopped(portfolio_manager::SERVICE, e))?
            .unwrap_or_else(|| Portfolio::new(Broker::Paper, &id, tally.starting_cash));
        let mut t = by_strategy.remove(&id).unwrap_or_default();
        let streamed = fills_written.then(|| {
            figures
                .remove(&(Broker::Paper, id.clone()))
                .unwrap_or_default()
        });
        let final_portfolio = portfolio.snapshot(at);
        t.equity.push(EquityPoint {
            ts: at,
            equity: portfolio.equity(),
        });
        strategies.push(StrategyOutcome {
            broker: Broker::Paper,
            strategy_id: id,
            kind,
            signals: t.signals,
            rejected: t.rejected,
            orders: t.orders,
            failed_orders: t.failed_orders,
            fills: t.fills,
            streamed,
            equity: t.equity,
            final_portfolio,
        });
    }
    let outcome = Outcome {
        input: options.input,
        seed: options.seed,
        ticks: tally.ticks,
        first_tick: tally.first_tick,
        last_tick: tally.last_tick,
        starting_cash: tally.starting_cash,
        strategies,
        fills_written,
        prices: tally.prices.finish(),
        charges: settings.paper.charges.clone(),
    };
    Ok((outcome, stats))
}

/// What one strategy's records said during the run.
#[derive(Default)]
struct StrategyTally {
    signals: u64,
    rejected: u64,
    orders: u64,
    failed_orders: u64,
    fills: Vec<OrderFilled>,
    equity: Vec<EquityPoint>,
}

/// Everything observed on the bus, per strategy.
struct Tally {
    starting_cash: rust_decimal::Decimal,
    strategies: BTreeMap<String, StrategyTally>,
    ticks: u64,
    skipped: u64,
    handler_errors: u64,
    first_tick: Option<DateTime<Utc>>,
    last_tick: Option<DateTime<Utc>>,
    /// Where fills go when they are streamed instead of kept.
    writer: Option<FillsWriter>,
    /// The first failed write of `writer` (the run then ends with it).
    write_error: Option<std::io::Error>,
    /// Each instrument's first tick and minute closes (the report's benchmark and axis).
    prices: PriceRecorder,
}

impl Tally {
    fn new(settings: &Settings, writer: Option<FillsWriter>) -> Self {
        Tally {
            writer,
            write_error: None,
            prices: PriceRecorder::default(),
            starting_cash: settings.portfolio.starting_cash,
            strategies: BTreeMap::new(),
            ticks: 0,
            skipped: 0,
            handler_errors: 0,
            first_tick: None,
            last_tick: None,
        }
    }

    fn saw(&mut self, ts: DateTime<Utc>) {
        self.first_tick.get_or_insert(ts);
        self.last_tick = Some(ts);
    }

    fn handler_error(&mut self, service: &str, error: &str) {
        self.handler_errors += 1;
        tracing::warn!(
            service,
            error,
            "handler failed; the daemon would retry, then dead-letter the record"
        );
    }

    fn strategy(&mut self, id: &str) -> &mut StrategyTally {
        // Looked up first: the id is copied only for a strategy's first record.
        if !self.strategies.contains_key(id) {
            self.strategies
                .insert(id.to_owned(), StrategyTally::default());
        }
        // Infallible: inserted just above when missing.
        self.strategies.get_mut(id).expect("present")
    }

    /// Streams `fill` or keeps it for the report.
    fn fill(&mut self, fill: &OrderFilled) {
        match &mut self.writer {
            Some(writer) => {
                if self.write_error.is_none()
                    && let Err(e) = writer.push(fill)
                {
                    self.write_error = Some(e);
                }
            }
            None => {
                let fill = fill.clone();
                self.strategy(&fill.order.strategy_id).fills.push(fill);
            }
        }
    }

    /// Counts a published envelope; fills (unless streamed) and P&L snapshots are kept for
    /// the report.
    fn observe(&mut self, topic: Topic, envelope: &(dyn Any + Send)) {
        if topic.broker != Some(Broker::Paper) || topic.dlq {
            return;
        }
        match topic.stream {
            Stream::SignalsRaw => {
                if let Some(e) = envelope.downcast_ref::<Envelope<TradingSignal>>() {
                    self.strategy(&e.data.strategy_id).signals += 1;
                }
            }
            Stream::SignalsRejected => {
                if let Some(e) = envelope.downcast_ref::<Envelope<RejectedSignal>>() {
                    self.strategy(&e.data.signal.strategy_id).rejected += 1;
                }
            }
            Stream::OrdersSubmitted => {
                if let Some(e) = envelope.downcast_ref::<Envelope<OrderSubmitted>>() {
                    self.strategy(&e.data.order.strategy_id).orders += 1;
                }
            }
            Stream::OrdersFailed => {
                if let Some(e) = envelope.downcast_ref::<Envelope<OrderFailed>>() {
                    self.strategy(&e.data.order.strategy_id).failed_orders += 1;
                }
            }
            Stream::OrdersFilled => {
                if let Some(e) = envelope.downcast_ref::<Envelope<OrderFilled>>() {
                    self.fill(&e.data);
                }
            }
            Stream::PnlSnapshots => {
                if let Some(e) = envelope.downcast_ref::<Envelope<PnlSnapshot>>() {
                    let p = &e.data;
                    let equity = self
                        .starting_cash
                        .checked_add(p.realized_pnl)
                        .and_then(|e| e.checked_add(p.unrealized_pnl))
                        .and_then(|e| e.checked_sub(p.fees));
                    // Beyond `Decimal`'s range no point is meaningful: the curve skips it.
                    let Some(equity) = equity else {
                        tracing::warn!(strategy = %p.strategy_id, "equity out of decimal range; point skipped");
                        return;
                    };
                    let point = EquityPoint {
                        ts: p.as_of,
                        equity,
                    };
                    self.strategy(&p.strategy_id).equity.push(point);
                }
            }
            Stream::MarketTicks | Stream::MarketSubscriptions | Stream::SignalsValidated => {}
        }
    }
}
