#!/usr/bin/env bash
# The backtest throughput benchmark (docs/PERFORMANCE.md): a generated 1,000,000-tick file
# through `alpha-panda backtest` with the benchmark configuration, measuring ticks/s (the
# command's own summary) and peak memory (GNU time's maximum resident set size).
#
#   scripts/bench-backtest.sh [TICKS] [SEED]
#
# The tick file is cached in target/bench-ticks-TICKS-SEED.csv; the report goes to
# target/bench-backtest/.
set -euo pipefail
cd "$(dirname "$0")/.."
ticks="${1:-1000000}"
seed="${2:-1}"
file="target/bench-ticks-${ticks}-${seed}.csv"
cargo build --release --quiet --bin alpha-panda --example gen_ticks
if [[ ! -s "$file" ]]; then
    target/release/examples/gen_ticks --out "$file" --ticks "$ticks" --seed "$seed"
fi
if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f "peak memory: %M KiB, wall %e s" \
        target/release/alpha-panda backtest --ticks "$file" \
        --config config/examples/backtest-ema.toml --out target/bench-backtest
else
    target/release/alpha-panda backtest --ticks "$file" \
        --config config/examples/backtest-ema.toml --out target/bench-backtest
fi
