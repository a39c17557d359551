//! DLQ replay.
