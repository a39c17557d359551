//! The routing table of each service's consumer: which topics it reads and which of its
//! actor's handlers each record goes to. Built once per consumer incarnation.

use crate::actors::paper_execution::PaperExecution;
use crate::actors::portfolio_manager::PortfolioManager;
use crate::actors::risk_manager::RiskManager;
use crate::actors::strategy_runner::StrategyRunner;
use crate::actors::zerodha_execution::ZerodhaExecution;
use crate::messages::{
    Broker, MarketTick, OrderFailed, OrderFilled, TradingSignal, ValidatedSignal,
};
use crate::streaming::consumer::Routes;
use crate::streaming::{Stream, Topic};
use actix::Addr;

/// Ticks to the strategies (their orders' outcomes reach the runner through its own tail:
/// [`crate::actors::strategy_runner::outcome_routes`]).
pub fn strategy_runner(runner: &Addr<StrategyRunner>) -> Routes {
    Routes::new().route::<MarketTick>(Topic::MARKET_TICKS, runner.clone().recipient())
}

/// Ticks (price bands), raw signals, fills and failures of every broker to the risk
/// manager.
pub fn risk_manager(risk: &Addr<RiskManager>, brokers: &[Broker]) -> Routes {
    let mut routes =
        Routes::new().route::<MarketTick>(Topic::MARKET_TICKS, risk.clone().recipient());
    for b in brokers {
        routes = routes
            .route::<TradingSignal>(Topic::of(*b, Stream::SignalsRaw), risk.clone().recipient())
            .route::<OrderFilled>(
                Topic::of(*b, Stream::OrdersFilled),
                risk.clone().recipient(),
            )
            .route::<OrderFailed>(
                Topic::of(*b, Stream::OrdersFailed),
                risk.clone().recipient(),
            );
    }
    routes
}

/// Ticks (fills against resting orders) and paper's validated signals to the venue.
pub fn paper_execution(paper: &Addr<PaperExecution>) -> Routes {
    Routes::new()
        .route::<MarketTick>(Topic::MARKET_TICKS, paper.clone().recipient())
        .route::<ValidatedSignal>(
            Topic::of(Broker::Paper, Stream::SignalsValidated),
            paper.clone().recipient(),
        )
}

/// Zerodha's validated signals to live execution.
pub fn zerodha_execution(zerodha: &Addr<ZerodhaExecution>) -> Routes {
    Routes::new().route::<ValidatedSignal>(
        Topic::of(Broker::Zerodha, Stream::SignalsValidated),
        zerodha.clone().recipient(),
    )
}

/// Ticks (marks) and every broker's fills to the portfolios.
pub fn portfolio_manager(portfolio: &Addr<PortfolioManager>, brokers: &[Broker]) -> Routes {
    let mut routes =
        Routes::new().route::<MarketTick>(Topic::MARKET_TICKS, portfolio.clone().recipient());
    for b in brokers {
        routes = routes.route::<OrderFilled>(
            Topic::of(*b, Stream::OrdersFilled),
            portfolio.clone().recipient(),
        );
    }
    routes
}
