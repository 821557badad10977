#!/usr/bin/env bash
# How long a new replica takes to catch up (issue 17's cost figure): a local cluster of 3 (`synod cluster`) is loaded
# to about SIZE_MB of state, then `synod cluster add --learner` adds a replica, which the running `synod cluster`
# starts with --join; it receives the state as a snapshot from a peer. Prints the state's size, the time from the
# `member add` to a learner within 100 slots of the leader, and the rate.
# Usage: bench/membership-catchup.sh [SIZE_MB (default 1000)] [VALUE_BYTES (default 64000)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
size_mb="${1:-1000}"; value="${2:-64000}"
keys=$(( size_mb * 1000 * 1000 / value ))
synod="$root/synod"
work="$(mktemp -d /tmp/synod-catchup-XXXXXX)"
cd "$work"
"$synod" cluster --replicas 3 --base-port 7201 > cluster.log 2>&1 &
cluster=$!
trap 'kill -TERM $cluster 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do grep -q "Cluster ready" cluster.log && break; sleep 1; done
echo "loading about $size_mb MB: $keys keys of $value bytes, put $keys times at random (about 63% of the keys)..."
"$synod" bench --mode put --clients 16 --key-space "$keys" --value-size "$value" --ops "$keys" --duration 30m --json > load.json
python3 -c "import json; r=json.load(open('load.json')); print(f'loaded: {r[\"ops\"]} puts at {r[\"ops_per_sec\"]:.0f}/s')" 2>/dev/null || cat load.json
start=$(date +%s.%N)
"$synod" cluster add --learner --wait-seconds 600 > add.log
end=$(date +%s.%N)
cat add.log
grep -h "installed a snapshot" synod-data/r4/replica.log || true
state=$(grep -ho "installed a snapshot at slot [0-9]* ([0-9]* keys)" synod-data/r4/replica.log | tail -1 | grep -o "([0-9]*" | tr -d "(")
python3 -c "s=$start; e=$end; mb=${state:-0}*$value/1e6; print(f'{${state:-0}} keys, {mb:.0f} MB of values: learner caught up in {e-s:.1f} s from member add, {mb/(e-s):.1f} MB/s')"
