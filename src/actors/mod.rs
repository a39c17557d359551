//! Service actors, one module per service.

pub mod daemon;
pub mod event_hub;
pub mod market_feed;
pub mod paper_execution;
pub mod portfolio_manager;
pub mod risk_manager;
pub mod strategy_runner;

pub mod venue_events;
pub mod zerodha_execution;
