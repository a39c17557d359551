//! The routing table of each service's consumer: which topics it reads and which of its
//! actor's handlers each record goes to. Built once per consumer incarnation.
//!
//! Ticks are not here: one consumer per process reads `market.ticks` for every service
//! that takes ticks ([`ticks`]), so each tick is fetched and decoded once.

use crate::actors::paper_execution::PaperExecution;
use crate::actors::portfolio_manager::PortfolioManager;
use crate::actors::risk_manager::RiskManager;
use crate::actors::zerodha_execution::ZerodhaExecution;
use crate::messages::{
    Broker, MarketTick, OrderFailed, OrderFilled, TradingSignal, ValidatedSignal,
};
use crate::streaming::consumer::{Owner, Routes};
use crate::streaming::{Stream, Topic};
use actix::Addr;

/// Raw signals, fills and failures of every broker to the risk manager.
pub fn risk_manager(risk: &Addr<RiskManager>, brokers: &[Broker]) -> Routes {
    let mut routes = Routes::new();
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

/// Paper's validated signals to the venue.
pub fn paper_execution(paper: &Addr<PaperExecution>) -> Routes {
    Routes::new().route::<ValidatedSignal>(
        Topic::of(Broker::Paper, Stream::SignalsValidated),
        paper.clone().recipient(),
    )
}

/// The process's tick consumer: each tick, decoded once, to every service here that takes
/// ticks (the strategies; the risk manager's price bands; paper's fills against resting
/// orders; the portfolios' marks).
pub fn ticks(owners: Vec<Owner<MarketTick>>) -> Routes {
    Routes::new().fan_out(Topic::MARKET_TICKS, owners)
}

/// Zerodha's validated signals to live execution.
pub fn zerodha_execution(zerodha: &Addr<ZerodhaExecution>) -> Routes {
    Routes::new().route::<ValidatedSignal>(
        Topic::of(Broker::Zerodha, Stream::SignalsValidated),
        zerodha.clone().recipient(),
    )
}

/// Every broker's fills to the portfolios.
pub fn portfolio_manager(portfolio: &Addr<PortfolioManager>, brokers: &[Broker]) -> Routes {
    let mut routes = Routes::new();
    for b in brokers {
        routes = routes.route::<OrderFilled>(
            Topic::of(*b, Stream::OrdersFilled),
            portfolio.clone().recipient(),
        );
    }
    routes
}
