#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every test against real Redis and a real
# Kafka-protocol broker (installed and started when missing; see test-services.sh).
# CI=true makes a missing service a failure rather than a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=${CI:-true}
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# Chromium, Node.js and playwright-core for the dashboard's browser test, and its
# JavaScript unit tests.
scripts/browser-deps.sh
# The options example's binary, which the e2e test of the example runs.
cargo build --example options
exec scripts/test-services.sh cargo test --all-targets
