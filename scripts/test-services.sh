#!/usr/bin/env bash
# Ensures the services the tests need are installed and running on loopback, then runs the
# command given as arguments with their addresses in the environment, then stops what it
# started. Used by scripts/test.sh (and so by .ci/run).
#
#   Redis:  127.0.0.1:6379 if already answering; otherwise installed from apt when missing
#           and started on 127.0.0.1:${ALPHA_PANDA_TEST_REDIS_PORT:-6390}.
#   Broker: tansu ${TANSU_VERSION}: the first found on PATH, in ~/.cargo/bin or prebuilt in
#           ../shared/bin beside the checkout; else installed once with cargo (10-27 minutes),
#           started on 127.0.0.1:${ALPHA_PANDA_TEST_KAFKA_PORT:-19092} with in-memory storage.
#
# Exports ALPHA_PANDA_TEST_REDIS_URL and ALPHA_PANDA_TEST_KAFKA_BROKERS for the tests.
set -euo pipefail

TANSU_VERSION=0.6.0
KAFKA_PORT=${ALPHA_PANDA_TEST_KAFKA_PORT:-19092}
REDIS_PORT=${ALPHA_PANDA_TEST_REDIS_PORT:-6390}
STATE_DIR=${TMPDIR:-/tmp}/alpha-panda-test-services
mkdir -p "$STATE_DIR"
started_pids=()

log() { echo "[test-services] $*" >&2; }

cleanup() {
  for pid in "${started_pids[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

wait_for_port() { # host port what
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  log "$3 did not start listening on $1:$2"; return 1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Redis -------------------------------------------------------------------------------
if [ -n "${ALPHA_PANDA_TEST_REDIS_URL:-}" ]; then
  log "using Redis at the given ALPHA_PANDA_TEST_REDIS_URL"
elif command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  export ALPHA_PANDA_TEST_REDIS_URL=redis://127.0.0.1:6379
  log "using the running Redis on 127.0.0.1:6379"
else
  if ! command -v redis-server >/dev/null; then
    log "installing redis-server from apt"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$STATE_DIR" --logfile "$STATE_DIR/redis.log" &
  started_pids+=($!)
  wait_for_port 127.0.0.1 "$REDIS_PORT" redis
  export ALPHA_PANDA_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
  log "started Redis on 127.0.0.1:$REDIS_PORT"
fi

# --- Kafka-protocol broker (tansu) -------------------------------------------------------
if [ -n "${ALPHA_PANDA_TEST_KAFKA_BROKERS:-}" ]; then
  log "using the broker at the given ALPHA_PANDA_TEST_KAFKA_BROKERS"
else
  # The first tansu of the right version: on PATH, cargo's bin, or the workplace's prebuilt
  # copy beside the checkout (../shared/bin) — building it takes 10-27 minutes.
  TANSU=""
  for candidate in "$(command -v tansu || true)" "$HOME/.cargo/bin/tansu" \
      "$(dirname "$0")/../../shared/bin/tansu" /work/shared/bin/tansu; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
        && "$candidate" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
      TANSU=$candidate; break
    fi
  done
  if [ -z "$TANSU" ]; then
    log "installing tansu $TANSU_VERSION with cargo (once; about ten minutes)"
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql
    TANSU="$HOME/.cargo/bin/tansu"
  fi
  # A broker left over from an interrupted run would hold the port.
  if (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; then
    log "port $KAFKA_PORT busy; set ALPHA_PANDA_TEST_KAFKA_PORT or stop what holds it"; exit 1
  fi
  RUST_LOG=warn "$TANSU" broker --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --storage-engine memory://tansu/ >"$STATE_DIR/tansu.log" 2>&1 &
  started_pids+=($!)
  wait_for_port 127.0.0.1 "$KAFKA_PORT" tansu
  export ALPHA_PANDA_TEST_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
  # Fault tests start brokers of their own (tests/common/faults.rs) with the same binary.
  export ALPHA_PANDA_TEST_TANSU=$TANSU
  log "started tansu $TANSU_VERSION on 127.0.0.1:$KAFKA_PORT"
fi

"$@"
