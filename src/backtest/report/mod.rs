//! Backtest outputs (placeholder; being written).
