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
echo "loading about $size_mb MB: $keys keys of $value bytes, each put about 3 times at random..."
"$synod" bench --mode put --clients 16 --key-space "$keys" --value-size "$value" --ops $(( keys * 3 )) --duration 30m --json > load.json
python3 -c "import json; r=json.load(open('load.json')); print(f'loaded: {r[\"ops\"]} puts at {r[\"ops_per_sec\"]:.0f}/s')" 2>/dev/null || cat load.json
state=$("$synod" status --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(max(x.get("keys",0) for x in r))')
echo "keys held: $state (about $(( state * value / 1000000 )) MB of values)"
start=$(date +%s.%N)
"$synod" cluster add --learner --wait-seconds 600 > add.log
end=$(date +%s.%N)
cat add.log
python3 -c "s=$start; e=$end; mb=$state*$value/1e6; print(f'learner caught up in {e-s:.1f} s from member add: {mb/(e-s):.0f} MB/s of values')"
grep -h "snapshot" synod-data/r4/replica.log | head -5 || true
