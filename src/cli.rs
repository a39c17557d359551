//! The `alpha-panda` command line. Start-up glue only: errors are `anyhow` here and mapped
//! to documented exit codes.
//!
//! Exit codes: 0 success; 1 runtime failure (broker, store, replay); 2 invalid configuration
//! or usage; 3 the root supervisor gave up (`run`: a restart budget was exhausted — let the
//! service manager restart the process).

mod api;
mod backtest;
mod bench;
mod check;
mod commands;
mod dlq;
mod history;
mod instruments;
mod readiness;
mod record;
mod rules;
#[cfg(test)]
mod rules_tests;
mod sweep;
mod zerodha;

use crate::settings::{Settings, SettingsError};
use crate::strategy::StrategyRegistry;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for a runtime failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for invalid configuration or usage.
pub const EXIT_CONFIG: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "alpha-panda",
    version,
    about = "Actor-based algorithmic trading daemon for Indian markets (Zerodha Kite) over Kafka.",
    long_about = "Actor-based algorithmic trading daemon for Indian markets (Zerodha Kite) over Kafka.\n\n\
        Configuration: the embedded defaults (config/default.toml) < --config FILE < environment \
        variables ALPHA_PANDA__SECTION__KEY. With no configuration everything runs in-process \
        (embedded broker, in-memory store); nothing is durable then."
)]
pub struct Cli {
    /// TOML file layered over the embedded defaults.
    #[arg(long, global = true, env = "ALPHA_PANDA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon under its supervision tree until SIGINT/SIGTERM (exit 0) or until the
    /// root supervisor gives up (exit 3).
    Run(RunArgs),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Create or list the Kafka topics of the topic map.
    #[command(subcommand)]
    Topics(TopicsCommand),
    /// Dead-letter queue tools.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Serve Kite's ticker protocol from a seeded price model (development and tests).
    KiteSim(KiteSimArgs),
    /// Zerodha's daily login: print the login URL, exchange the request token.
    #[command(subcommand)]
    Zerodha(zerodha::ZerodhaCommand),
    /// Run the pipeline under a fixed tick rate and print per-hop latency (p50, p99,
    /// p99.9, max), throughput and loss as JSON.
    Bench(bench::BenchArgs),
    /// Runs the strategies, risk manager, paper venue and portfolios on a tick file (time
    /// taken from the ticks) and writes a report.
    Backtest(backtest::BacktestArgs),
    /// Writes the running system's `market.ticks` to a JSON-lines file (a backtest input).
    Record(record::RecordArgs),
    /// Kite's instrument master: download, validate and cache it.
    #[command(subcommand)]
    Instruments(instruments::InstrumentsCommand),
    /// Kite's historical candles: fetch them into candle files (backtest --candles).
    #[command(subcommand)]
    History(history::HistoryCommand),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run only these services (comma-separated; the list is the service catalog's).
    /// Processes running the same service share its consumer group and split its
    /// partitions. Default: all.
    #[arg(long, value_name = "LIST", help = services_help())]
    pub services: Option<String>,
}

/// `--services`' help, naming every service of the catalog.
fn services_help() -> String {
    let names: Vec<&str> = crate::actors::daemon::catalog::names().collect();
    format!(
        "Run only these services (comma-separated): {}. Processes running the same service \
         share its consumer group and split its partitions. Default: all.",
        names.join(", ")
    )
}

#[derive(Debug, Args)]
pub struct KiteSimArgs {
    /// Address to listen on, e.g. 127.0.0.1:9100.
    #[arg(long)]
    pub listen: std::net::SocketAddr,
    /// Instrument CSV (default: `[instruments] path`, else the built-in list).
    #[arg(long, value_name = "FILE")]
    pub instruments: Option<PathBuf>,
    /// Ticks per second per subscribed instrument (default: `[simulator] ticks_per_sec`).
    #[arg(long)]
    pub ticks_per_sec: Option<u32>,
    /// Seed of the price model (default: `[simulator] seed`).
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings with secrets masked, or every problem found (exit 2).
    Check,
}

#[derive(Debug, Subcommand)]
pub enum TopicsCommand {
    /// Create every topic that is missing; existing topics are left alone.
    Create,
    /// List every topic of the map: partitions (expected and actual), key, retention.
    List,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Re-publish each DLQ record's original key and bytes to the topic it came from.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The DLQ topic, e.g. `paper.orders.filled.dlq`.
    #[arg(long)]
    pub topic: String,
    /// Report what would be replayed; publish and commit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replay at most this many records.
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Parses the command line and runs it with the built-in strategy kinds.
pub fn main() -> ExitCode {
    main_with(&StrategyRegistry::builtin())
}

/// Parses the command line and runs it with the strategy kinds of `strategies` (a user's
/// binary adds its own through [`crate::Daemon::builder`]).
pub fn main_with(strategies: &StrategyRegistry) -> ExitCode {
    let cli = Cli::parse();
    let path = cli.config.as_deref();
    let loaded = match cli.command {
        Command::Zerodha(_) => Settings::load_for_login(path),
        // What `run` needs beyond the settings (the instrument registry, librdkafka's
        // consent to the client properties) is checked before anything starts, and
        // `config check` checks the same, so it refuses whatever `run` would.
        Command::Run(_) | Command::Config(_) => Settings::load_checked(path, |s| {
            let mut problems = strategies.problems(&s.strategies);
            problems.extend(check::problems(s));
            problems
        }),
        _ => Settings::load_checked(path, |s| strategies.problems(&s.strategies)),
    };
    let settings = match loaded {
        Ok(s) => s,
        Err(e) => return config_error(&e),
    };
    let level = match &cli.command {
        Command::Backtest(args) => args.log_level.clone(),
        _ => settings.log.level.clone(),
    };
    crate::telemetry::init(settings.log.format, &level);
    let system = actix::System::new();
    let result = system.block_on(commands::dispatch(cli.command, settings, strategies));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn config_error(e: &SettingsError) -> ExitCode {
    eprintln!("invalid configuration:\n{e}");
    ExitCode::from(EXIT_CONFIG)
}
