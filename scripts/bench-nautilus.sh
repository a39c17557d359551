#!/usr/bin/env bash
# The backtest comparison with NautilusTrader (issue 17, docs/PERFORMANCE.md): the same
# seed-42 tick file through NautilusTrader 1.221.0's BacktestEngine (the anchor,
# ../shared/bench/nautilus_ema_cross.py, per-tick EMA 10/20 cross) and through
# `alpha-panda backtest` with config/examples/backtest-ema.toml, side by side in one run;
# checks that both made the same fills and prints one table.
#
#   scripts/bench-nautilus.sh [TICKS] [PURGE_EVERY]      (defaults 1000000 and 10000)
#
# What each side times:
# - NautilusTrader: `run_seconds`, the wall time of engine.run() only (kernel start, main
#   loop, stop); reading the CSV and building the QuoteTick objects is NOT timed.
# - alpha-panda: the backtest's own summary line, from opening the tick file to the end of
#   the run (report writing excluded): reading and parsing the CSV IS timed, as it is
#   streamed tick by tick. So our figure is the conservative one.
# Peak RSS is GNU time's maximum resident set size of each whole process (loading included).
#
# Fills are checked three ways: our fill count against Nautilus' fill count; our final
# position against Nautilus' final position; and our fills.csv (side, quantity, price, in
# order) against a reference computed from the file in Python (the anchor's float EMA
# decisions, filled at the touch: buy at ask, sell at bid).
#
# Environment: AP_BIN (our binary; default: build target/release/alpha-panda), NT_PYTHON (default ~/.cache/alpha-panda/ntvenv/bin/python; the venv is created
# and nautilus_trader==1.221.0 installed there only when missing), ANCHOR (the anchor script).
set -euo pipefail
cd "$(dirname "$0")/.."
ticks="${1:-1000000}"
purge="${2:-10000}"
anchor="${ANCHOR:-../shared/bench/nautilus_ema_cross.py}"
venv="$HOME/.cache/alpha-panda/ntvenv"
py="${NT_PYTHON:-$venv/bin/python}"
file="target/nautilus-ticks-${ticks}-42.csv"
out="target/bench-nautilus"
mkdir -p "$out"

if ! "$py" -c 'import nautilus_trader' 2>/dev/null; then
    echo "installing nautilus_trader==1.221.0 into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet nautilus_trader==1.221.0
    py="$venv/bin/python"
fi
bin="${AP_BIN:-target/release/alpha-panda}"
if [[ -z "${AP_BIN:-}" ]]; then
    cargo build --release --quiet --bin alpha-panda
fi
if [[ ! -s "$file" ]]; then
    "$py" "$anchor" --gen "$ticks" --seed 42 --out "$file" >/dev/null
fi

load_nt=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/time -f "%M" -o "$out/nt.rss" \
    "$py" "$anchor" --ticks "$file" --purge-every "$purge" >"$out/nt.json"
load_ours=$(cut -d' ' -f1-3 /proc/loadavg)
/usr/bin/time -f "%M" -o "$out/ours.rss" \
    "$bin" backtest --ticks "$file" \
    --config config/examples/backtest-ema.toml --out "$out/report" >"$out/ours.txt"

"$py" - "$file" "$out" "$load_nt" "$load_ours" <<'EOF'
import csv, json, re, sys
from decimal import Decimal

ticks_file, out, load_nt, load_ours = sys.argv[1:5]
nt = json.load(open(f"{out}/nt.json"))
nt_rss = int(open(f"{out}/nt.rss").read().split()[-1])
ours_rss = int(open(f"{out}/ours.rss").read().split()[-1])
summary = open(f"{out}/ours.txt").read()
m = re.search(r"backtest: (\d+) ticks in ([\d.]+) s \((\d+) ticks/s\).*?, (\d+) fills", summary)
if not m:
    sys.exit(f"cannot read our summary line: {summary!r}")
our_ticks, our_secs, our_rate, our_fills = int(m[1]), float(m[2]), int(m[3]), int(m[4])

# The reference fills: the anchor's decisions (float EMAs, as Nautilus computes them).
expected = []
af, as_ = 2.0 / 11.0, 2.0 / 21.0
fast = slow = 0.0
target = 0
with open(ticks_file) as f:
    reader = csv.reader(f)
    next(reader)
    for i, row in enumerate(reader):
        bid, ask = Decimal(row[2]), Decimal(row[3])
        mid = (float(row[2]) + float(row[3])) / 2.0
        if i == 0:
            fast = slow = mid
        fast = af * mid + (1.0 - af) * fast
        slow = as_ * mid + (1.0 - as_) * slow
        if i + 1 < 20:
            continue
        sig = 1 if fast > slow else (-1 if fast < slow else target)
        if sig != target:
            qty = 100 * abs(sig - target)
            expected.append(("BUY", qty, ask) if sig > 0 else ("SELL", qty, bid))
            target = sig
ref_position = 100 * target

ours = []
position = 0
with open(f"{out}/report/fills.csv", newline="") as f:
    for row in csv.DictReader(f):
        side, qty, price = row["side"], int(row["quantity"]), Decimal(row["price"])
        ours.append((side, qty, price))
        position += qty if side == "BUY" else -qty

first_diff = next((i for i, (a, b) in enumerate(zip(ours, expected)) if a != b), None)
same_sequence = first_diff is None and len(ours) == len(expected)
nt_position = Decimal(str(nt["final_position"]))
checks = {
    "fill count = Nautilus": our_fills == nt["fills"] == len(ours),
    "final position = Nautilus": Decimal(position) == nt_position,
    "fills.csv = reference (side, qty, price)": same_sequence,
    "ticks = Nautilus": our_ticks == nt["ticks"],
}
nt_rate = nt["ticks_per_sec"]
print(f"| engine | ticks | timed s | ticks/s | peak RSS MB | fills | final position | load avg (1/5/15) |")
print(f"|---|---:|---:|---:|---:|---:|---:|---|")
print(f"| NautilusTrader {nt['version']} (purge every {nt.get('purge_every')}) | {nt['ticks']} | {nt['run_seconds']:.2f} | {nt_rate:,.0f} | {nt_rss/1024:.0f} | {nt['fills']} | {nt['final_position']} | {load_nt} |")
print(f"| alpha-panda | {our_ticks} | {our_secs:.2f} | {our_rate:,} | {ours_rss/1024:.0f} | {our_fills} | {position} | {load_ours} |")
print(f"\nratio (ours / Nautilus ticks/s): {our_rate / nt_rate:.2f}x; memory ratio (Nautilus / ours): {nt_rss / ours_rss:.1f}x")
for name, ok in checks.items():
    print(f"check {name}: {'ok' if ok else 'FAILED'}")
if first_diff is not None:
    print(f"  first difference at fill {first_diff}: ours {ours[first_diff]} reference {expected[first_diff]}")
elif len(ours) != len(expected):
    print(f"  ours {len(ours)} fills, reference {len(expected)}")
sys.exit(0 if all(checks.values()) else 1)
EOF
