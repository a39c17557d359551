#!/usr/bin/env bash
# Drift between what strategies believe and what the portfolio booked, on a daemon started
# on its embedded defaults (or CONFIG): every 30 s for SECONDS (default 300), compares every
# (broker, strategy, instrument) position of `GET /api/v1/strategies` (the strategy
# runner's ledgers, from fills and order outcomes) with `GET /api/v1/positions` (the
# portfolio read model, from fills), flat positions included. A fill can be between the
# two for a moment, so a difference counts as drift only if it is still there on 5 reads
# over 5 seconds.
#
#   scripts/strategy-drift.sh [SECONDS] [CONFIG]
#
# Prints each sample and "drift: 0" (exit 0), or the differences (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
config="${2:-}"
cargo build --release --quiet --bin alpha-panda
log=$(mktemp)
args=(run)
[[ -n "$config" ]] && args=(--config "$config" run)
target/release/alpha-panda "${args[@]}" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$log"' EXIT
api=${ALPHA_PANDA_API:-http://127.0.0.1:8080}
compare() {
  python3 - "$api" <<'PY'
import json, sys, urllib.request
api = sys.argv[1]
get = lambda path: json.load(urllib.request.urlopen(api + path, timeout=5))
believed, booked = {}, {}
for s in get("/api/v1/strategies"):
    for b in s.get("by_broker", []):
        for i in ((b.get("live") or {}).get("instruments") or []):
            believed[(b["broker"], s["id"], i["token"])] = i["position"]
for p in get("/api/v1/positions"):
    booked[(p["broker"], p["strategy_id"], p["token"])] = p["quantity"]
keys = sorted(set(believed) | set(booked))
diff = [(k, believed.get(k, 0), booked.get(k, 0)) for k in keys if believed.get(k, 0) != booked.get(k, 0)]
print(json.dumps({"compared": len(keys), "positions": [[*k, booked.get(k, 0)] for k in keys],
                  "differences": [[*k, a, b] for k, a, b in diff]}))
sys.exit(1 if diff else 0)
PY
}
sample() { # one comparison that holds on one of 5 reads over 5 s
  for attempt in 1 2 3 4 5; do
    if out=$(compare); then echo "$out"; return 0; fi
    sleep 1
  done
  echo "$out"; return 1
}
elapsed=0; samples=0
while (( elapsed < seconds )); do
  sleep 30; elapsed=$((elapsed + 30))
  if ! sample; then
    echo "drift: differences persisted over 5 reads after ${elapsed} s"; exit 1
  fi
  samples=$((samples + 1))
done
echo "drift: 0 (${samples} samples over ${seconds} s, $(grep -c 'order filled' "$log") fills logged)"
