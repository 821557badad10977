#!/usr/bin/env bash
# What the operator's HTTP endpoint costs (issue 19): put throughput at 256 clients on a 5-replica `synod cluster`
# started without --http (no request interceptor, no exporter) and with it (the interceptor times every request; the
# owner loop publishes the gauges' view every 200 ms; no scraper or dashboard attached), in alternating rounds so that
# the machine's drift falls on both. Usage: bench/metrics-cost.sh [ROUNDS] [DURATION]   (defaults: 3 rounds, 10s)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-3}"
duration="${2:-10s}"
synod="$root/synod"
work="$(mktemp -d /tmp/synod-metrics-cost.XXXXXX)"
pid=""
cleanup() { if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

"$synod" --help >/dev/null   # build once, outside the measurement
run() { # $1: label, $2: http base port (0: none)
  local dir="$work/$1" port=17301
  rm -rf "$dir"; mkdir -p "$dir"
  (cd "$dir" && exec "$synod" cluster --base-port "$port" --http-base-port "$2" >"$dir/cluster.out" 2>&1) &
  pid=$!
  for _ in $(seq 1 120); do grep -q "Ctrl-C stops" "$dir/cluster.out" 2>/dev/null && break; sleep 0.5; done
  local endpoints; endpoints="$(seq -s, -f "127.0.0.1:%g" "$port" $((port + 4)))"
  local ops; ops="$("$synod" bench --endpoints "$endpoints" --mode put --clients 256 --duration "$duration" --warmup 2s --json | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["ops_per_sec"]))')"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  echo "$ops"
}

printf "%-6s %12s %12s %7s\n" round "no --http" "--http" ratio
for r in $(seq 1 "$rounds"); do
  off="$(run off 0)"
  on="$(run on 18301)"
  printf "%-6s %12s %12s %7.3f\n" "$r" "$off" "$on" "$(python3 -c "print($on/$off)")"
done
