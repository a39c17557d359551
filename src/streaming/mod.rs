//! Kafka plumbing.
