//! Probe actors.
