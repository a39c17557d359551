//! Tick files (placeholder; being written).
