#!/usr/bin/env bash
# Write throughput while a replica is replaced (issue 17's cost figure): a local cluster of 3, a put load measured in
# consecutive windows, and, from the middle window on, `synod member replace` of one follower by a new replica 4 that
# joins with `serve --join`. Prints one line per window (ops/s, p99) and which windows the replace spanned.
# Usage: bench/membership-replace.sh [WINDOWS (default 14)] [WINDOW (default 2s)] [CLIENTS (default 64)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
windows="${1:-14}"; window="${2:-2s}"; clients="${3:-64}"; start=$(( windows / 2 ))
synod="$root/synod"
work="$(mktemp -d /tmp/synod-replace-XXXXXX)"
cd "$work"
"$synod" cluster --replicas 3 --base-port 7101 > cluster.log 2>&1 &
cluster=$!
trap 'kill -TERM $cluster ${joiner:-} 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do grep -q "Cluster ready" cluster.log && break; sleep 1; done
eps=127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103
"$synod" certs --out synod-data/certs --add 4 > /dev/null
leader=$("$synod" member list --json --endpoints "$eps" | python3 -c 'import json,sys; print([m["id"] for m in json.load(sys.stdin) if m["leader"]][0])')
old=$(( leader == 1 ? 2 : 1 ))
for w in $(seq 1 "$windows"); do
  if [ "$w" -eq "$start" ]; then
    ( "$synod" member replace "$old" 4=127.0.0.1:7104 --endpoints "$eps" > replace.log 2>&1; echo "replace done in window $(cat window)" >> replace.log ) &
    sleep 0.5
    "$synod" serve --id 4 --join "$eps" --listen 127.0.0.1:7104 --data-dir synod-data/r4 --cluster-token "$(cat synod-data/cluster-token)" \
      --peer-cert synod-data/certs/replica-4.pem --peer-key synod-data/certs/replica-4-key.pem --peer-ca synod-data/certs/ca.pem > r4.log 2>&1 &
    joiner=$!
  fi
  echo "$w" > window
  "$synod" bench --endpoints "$eps" --mode put --clients "$clients" --duration "$window" --json 2>/dev/null \
    | python3 -c "import json,sys; r=json.load(sys.stdin); print(f'window $w: {r[\"ops_per_sec\"]:.0f} puts/s, p99 {r[\"p99_ms\"]:.1f} ms, errors {r.get(\"errors\",0)}')"
done
cat replace.log
