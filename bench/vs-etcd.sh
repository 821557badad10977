#!/usr/bin/env bash
# Synod and etcd side by side on this machine: a 5-replica Synod cluster and a 5-member etcd cluster on 127.0.0.1,
# both with their default durability (fsync before acknowledging) and with authenticated peers (mutual TLS between
# replicas and between members, with certificates from `synod certs`), plus `synod bench-echo` (the gRPC ceiling). Every
# workload runs on each system in turn, alternating which goes first, for several rounds, all with the same load
# generator (`synod bench`); the table shows the median of the rounds. Every process it starts is stopped at the end.
#
#   bench/vs-etcd.sh                      # 3 rounds of 5 s per workload (about 8 minutes)
#   bench/vs-etcd.sh --rounds 5 --duration 10s
#   bench/vs-etcd.sh --quick              # 1 round of 2 s, to check the script works
#   bench/vs-etcd.sh --plain-peers        # both without peer TLS (Synod --insecure-peers, etcd http), for the A/B
#   bench/vs-etcd.sh --tls                # clients over TLS too, on both; a third system, synod-plain (a second Synod
#                                         # cluster serving clients in plaintext), measures what client TLS costs Synod
#   bench/vs-etcd.sh --net netns --delay 1ms   # each replica and each etcd member in a network namespace of its own
#                                         # (synod netns), every packet between two of them held 1 ms each way; needs root
#   bench/vs-etcd.sh --keys 1000000 --workloads "put:256 get:256"   # both stores first filled with a million keys;
#                                         # the resident memory of each, empty and filled, is printed with the table
#
# Options: --rounds N, --duration D (per run, e.g. 5s), --quick, --keep (keep the work directory), --out FILE (the
# table as markdown, also printed), --workloads "put:1 put:256 ..." (a subset), --plain-peers, --tls, --net netns with
# --delay D (one way, between replicas; clients in this namespace reach them undelayed). Needs root only to install
# etcd, and for --net netns. A watch workload is "watch:WATCHERS@RATE" (watchers of one prefix while RATE writes/s land; RATE 1000 if
# left out); for it the table also gives each system's resident memory (all its processes) right after the run.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
synod="$root/synod"
rounds=3
duration=5s
warmup=1s
keep=""
out=""
workloads="put:1 put:16 put:64 put:256 get:64 get:256 get-stale:64 get-stale:256 mixed:64"
plain_peers=""
client_tls=""
net=loopback
delay=0
keys=1000

while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --quick) rounds=1; duration=2s; shift ;;
    --keep) keep=yes; shift ;;
    --out) out="$2"; shift 2 ;;
    --workloads) workloads="$2"; shift 2 ;;
    --plain-peers) plain_peers=yes; shift ;;
    --tls) client_tls=yes; shift ;;
    --net) net="$2"; shift 2 ;;
    --delay) delay="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "vs-etcd: unknown option '$1'; see --help." >&2; exit 2 ;;
  esac
done
case "$rounds" in ''|*[!0-9]*|0) echo "vs-etcd: --rounds '$rounds' is not a positive whole number." >&2; exit 2 ;; esac
if [ -n "$client_tls" ] && [ -n "$plain_peers" ]; then echo "vs-etcd: give --tls or --plain-peers, not both." >&2; exit 2; fi
case "$keys" in ''|*[!0-9]*|0) echo "vs-etcd: --keys '$keys' is not a positive whole number." >&2; exit 2 ;; esac
case "$net" in loopback|netns) ;; *) echo "vs-etcd: --net '$net': use loopback or netns." >&2; exit 2 ;; esac
if [ "$net" = loopback ] && [ "$delay" != 0 ]; then echo "vs-etcd: --delay needs --net netns (loopback cannot be delayed)." >&2; exit 2; fi
if [ "$net" = netns ] && [ -n "$client_tls" ]; then echo "vs-etcd: --net netns measures peers over a shaped network; leave out --tls." >&2; exit 2; fi

# Ports of this run only, away from the defaults so a cluster someone already runs is left alone.
synod_base=17001
synod_plain_base=17011
etcd_client_base=17380
etcd_peer_base=17390
echo_port=17100

need_package() { # command, Debian package
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "vs-etcd: installing Debian's $2 (for $1)..." >&2
    if [ "$(id -u)" -ne 0 ]; then
      echo "vs-etcd: $1 is missing and installing $2 needs root; run: sudo apt-get install -y $2" >&2
      exit 1
    fi
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
  fi
}
need_package etcd etcd-server
need_package python3 python3

work="$(mktemp -d "${TMPDIR:-/var/tmp}/synod-vs-etcd.XXXXXX")"
pids=()
netns_pid=""
cleanup() {
  for pid in "${pids[@]}" $netns_pid; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}" $netns_pid; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -z "$keep" ]; then rm -rf "$work"; else echo "vs-etcd: work directory kept: $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$synod" --help >/dev/null # builds once if the sources changed, before anything is timed

echo "vs-etcd: work directory $work; logs in $work/logs" >&2
mkdir -p "$work/logs"

# Where each replica and member runs: 127.0.0.1, or with --net netns namespace i at its own address (synod netns keeps
# them, with every packet between two of them held --delay each way, until it is stopped).
host=(127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1)
in_ns() { "$@"; }
if [ "$net" = netns ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "vs-etcd: --net netns needs root (network namespaces)." >&2; exit 1; fi
  "$synod" netns --replicas 5 --delay "$delay" --json >"$work/netns.json" 2>"$work/logs/netns.log" &
  netns_pid=$!
  for _ in $(seq 1 100); do [ -s "$work/netns.json" ] && break; kill -0 "$netns_pid" 2>/dev/null || break; sleep 0.2; done
  if [ ! -s "$work/netns.json" ]; then echo "vs-etcd: synod netns did not start; see $work/logs/netns.log:" >&2; cat "$work/logs/netns.log" >&2; exit 1; fi
  for i in 1 2 3 4 5; do
    host[i]="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["addresses"][sys.argv[2]])' "$work/netns.json" "$i")"
    namespace[i]="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["namespaces"][sys.argv[2]])' "$work/netns.json" "$i")"
  done
  in_ns() { local i="$1"; shift; ip netns exec "${namespace[i]}" "$@"; }
  echo "vs-etcd: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["links"])' "$work/netns.json")" >&2
fi
run_in() { # member, command...: the command in member's namespace (--net netns) or here, replacing the background
  # subshell it is started in (`run_in ... &`), so that $! is the server's own pid and cleanup stops it
  local i="$1"; shift
  if [ "$net" = netns ]; then exec ip netns exec "${namespace[i]}" "$@"; else exec "$@"; fi
}

# etcd: five members, default durability (its WAL is fsynced before a proposal is acknowledged), its backend quota
# raised from 2 GiB to 8 GiB (its suggested maximum) so that --keys can fill it. Peers talk mutual TLS
# with certificates from `synod certs` (ECDSA P-256, SANs 127.0.0.1 and localhost), as Synod's replicas do by default.
peer_scheme=https
synod_peer_flags=()
if [ -n "$plain_peers" ]; then
  peer_scheme=http
  synod_peer_flags=(--insecure-peers)
else
  "$synod" certs --out "$work/etcd-certs" --replicas 5 --cluster vs-etcd --hosts "$(IFS=,; echo "${host[*]:1:5}")" >/dev/null
fi
client_scheme=http
etcd_client_tls() { :; }
if [ -n "$client_tls" ]; then
  # Clients over TLS to each member, with the member's certificate (SANs 127.0.0.1, localhost), as Synod's replicas do.
  client_scheme=https
  etcd_client_tls() { echo "--cert-file=$work/etcd-certs/replica-$1.pem --key-file=$work/etcd-certs/replica-$1-key.pem"; }
fi
etcd_peer_tls() { # member
  if [ -z "$plain_peers" ]; then
    echo "--peer-cert-file=$work/etcd-certs/replica-$1.pem --peer-key-file=$work/etcd-certs/replica-$1-key.pem" \
      "--peer-trusted-ca-file=$work/etcd-certs/ca.pem --peer-client-cert-auth"
  fi
}
cluster=""
etcd_endpoints=""
for i in 1 2 3 4 5; do
  cluster+="${cluster:+,}m$i=$peer_scheme://${host[i]}:$((etcd_peer_base + i))"
  etcd_endpoints+="${etcd_endpoints:+,}${host[i]}:$((etcd_client_base + i))"
done
for i in 1 2 3 4 5; do
  # shellcheck disable=SC2046 # the TLS flags are words on purpose
  run_in "$i" etcd --name "m$i" --data-dir "$work/etcd/m$i" \
    --listen-client-urls "$client_scheme://${host[i]}:$((etcd_client_base + i))" --advertise-client-urls "$client_scheme://${host[i]}:$((etcd_client_base + i))" $(etcd_client_tls "$i") \
    --listen-peer-urls "$peer_scheme://${host[i]}:$((etcd_peer_base + i))" --initial-advertise-peer-urls "$peer_scheme://${host[i]}:$((etcd_peer_base + i))" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token synod-vs-etcd $(etcd_peer_tls "$i") \
    --quota-backend-bytes 8589934592 --logger zap --log-level warn >"$work/logs/etcd-m$i.log" 2>&1 &
  pids+=($!)
done

# Synod: five replicas under `synod cluster` (which stops them when it is stopped; it makes their certificates).
synod_tls_flags=()
[ -n "$client_tls" ] && synod_tls_flags=(--tls)
synod_endpoints=""
for i in 1 2 3 4 5; do synod_endpoints+="${synod_endpoints:+,}${host[i]}:$((synod_base + i - 1))"; done
if [ "$net" = netns ]; then
  # One `synod serve` per namespace (synod cluster runs its replicas on loopback), with the certificates etcd uses.
  synod_peers=""
  for i in 1 2 3 4 5; do synod_peers+="${synod_peers:+,}$i=${host[i]}:$((synod_base + i - 1))"; done
  for i in 1 2 3 4 5; do
    peer_flags=(--insecure-peers)
    [ -z "$plain_peers" ] && peer_flags=(--peer-cert "$work/etcd-certs/replica-$i.pem" --peer-key "$work/etcd-certs/replica-$i-key.pem" --peer-ca "$work/etcd-certs/ca.pem")
    run_in "$i" "$synod" serve --id "$i" --peers "$synod_peers" --data-dir "$work/synod/r$i" --new-cluster "${peer_flags[@]}" >"$work/logs/synod-r$i.log" 2>&1 &
    pids+=($!)
  done
else
  "$synod" cluster --data-dir "$work/synod" --base-port "$synod_base" "${synod_peer_flags[@]}" "${synod_tls_flags[@]}" >"$work/logs/synod-cluster.log" 2>&1 &
  pids+=($!)
fi
systems="synod etcd"
synod_plain_endpoints=""
if [ -n "$client_tls" ]; then
  # The same Synod without client TLS, side by side: what TLS costs Synod is measured in the same rounds.
  "$synod" cluster --data-dir "$work/synod-plain" --base-port "$synod_plain_base" >"$work/logs/synod-plain-cluster.log" 2>&1 &
  pids+=($!)
  for i in 1 2 3 4 5; do synod_plain_endpoints+="${synod_plain_endpoints:+,}127.0.0.1:$((synod_plain_base + i - 1))"; done
  systems="synod etcd synod-plain"
fi

"$synod" bench-echo --listen "127.0.0.1:$echo_port" >"$work/logs/echo.log" 2>&1 &
pids+=($!)

endpoints_of() {
  case "$1" in
    synod) echo "$synod_endpoints" ;;
    synod-plain) echo "$synod_plain_endpoints" ;;
    etcd) echo "$etcd_endpoints" ;;
    echo) echo "127.0.0.1:$echo_port" ;;
  esac
}
target_of() { [ "$1" = synod-plain ] && echo synod || echo "$1"; }
tls_of() { # system: the bench's --cacert for it, with --tls
  if [ -n "$client_tls" ]; then
    case "$1" in
      synod) echo "--cacert $work/synod/certs/ca.pem" ;;
      etcd) echo "--cacert $work/etcd-certs/ca.pem" ;;
    esac
  fi
}

# One bench run; prints its JSON line with the system, workload and round added.
rss_mib() { # system: resident memory of all its server processes, in MiB
  local list
  case "$1" in
    etcd) list="$( (pgrep -x etcd || true) | paste -sd, -)" ;;
    synod) list="$( (pgrep -f -- "serve --id [0-9]+ " || true) | paste -sd, -)" ;;
  esac
  # shellcheck disable=SC2086
  ps -o rss= -p "${list:-0}" 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s / 1024 }' || true
}

run() { # system mode clients round
  local json rate_flags=() clients="$3"
  if [ "$2" = watch ]; then
    rate_flags=(--rate "${clients##*@}")
    [ "${clients##*@}" = "$clients" ] && rate_flags=(--rate 1000)
    clients="${clients%%@*}"
  fi
  # shellcheck disable=SC2046 # --cacert and its path are two words on purpose
  if ! json="$("$synod" bench --target "$(target_of "$1")" --endpoints "$(endpoints_of "$1")" $(tls_of "$1") --mode "$2" --clients "$clients" "${rate_flags[@]}" \
      --duration "$duration" --warmup "$warmup" --key-size 16 --value-size 256 --key-space "$keys" --json 2>>"$work/logs/bench.log")"; then
    echo "vs-etcd: synod bench --target $1 --mode $2 --clients $3 failed; see $work/logs/bench.log" >&2
    tail -5 "$work/logs/bench.log" >&2
    exit 1
  fi
  if [ "$2" = watch ]; then json="${json%\}},\"rss_mib\":$(rss_mib "$1")}"; fi
  echo "{\"system\":\"$1\",\"workload\":\"$2:$3\",\"round\":$4,\"result\":$json}" >>"$work/results.jsonl"
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("  %-5s %-14s %9.0f ops/s  p50 %7.2f ms  p99 %8.2f ms  errors %d" % (sys.argv[2], sys.argv[3], r["ops_per_sec"], r["p50_ms"], r["p99_ms"], r["errors"]))' \
    "$json" "$1" "$2:$3" >&2
}

echo "vs-etcd: waiting for both clusters to serve..." >&2
for system in $systems echo; do
  ok=""
  for _ in $(seq 1 60); do
    # shellcheck disable=SC2046
    if "$synod" bench --target "$(target_of "$system")" --endpoints "$(endpoints_of "$system")" $(tls_of "$system") --clients 1 --ops 1 --timeout 2 --json >/dev/null 2>&1; then ok=yes; break; fi
    sleep 1
  done
  if [ -z "$ok" ]; then echo "vs-etcd: $system did not start serving within 60 s; see $work/logs/." >&2; exit 1; fi
done

echo "vs-etcd: warming up (not counted)..." >&2
for system in $systems echo; do
  # shellcheck disable=SC2046
  "$synod" bench --target "$(target_of "$system")" --endpoints "$(endpoints_of "$system")" $(tls_of "$system") --clients 64 --duration 3s --json >/dev/null 2>>"$work/logs/bench.log"
done

memory_text=""
if [ "$keys" -gt 1000 ]; then
  # Each store filled once with every key (the runs then overwrite and read among them), its memory measured before
  # and after: what holding the keys costs, beyond the 16 + 256 bytes of each.
  for system in synod etcd; do
    empty="$(rss_mib "$system")"
    started=$(date +%s)
    # shellcheck disable=SC2046
    "$synod" bench --target "$system" --endpoints "$(endpoints_of "$system")" $(tls_of "$system") --mode put --clients 256 --duration 1s \
      --key-size 16 --value-size 256 --key-space "$keys" --fill --json >/dev/null 2>>"$work/logs/bench.log"
    sleep 5 # let a snapshot the fill started finish
    filled="$(rss_mib "$system")"
    line="$(python3 -c 'import sys; e, f, k, s = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]); print("%s: %d MiB for its 5 processes empty, %d MiB holding %d keys (filled in %d s): %.0f bytes per key per replica, %.0f beyond the 272 of key and value" % (sys.argv[5], e, f, k, s, (f - e) * 1048576 / k / 5, (f - e) * 1048576 / k / 5 - 272))' "$empty" "$filled" "$keys" "$(( $(date +%s) - started ))" "$system")"
    echo "vs-etcd: $line" >&2
    memory_text+="${memory_text:+ }$line."
  done
fi

: >"$work/results.jsonl"
for round in $(seq 1 "$rounds"); do
  echo "vs-etcd: round $round of $rounds" >&2
  for workload in $workloads; do
    mode="${workload%%:*}"
    clients="${workload##*:}"
    if [ $((round % 2)) -eq 1 ]; then order="$systems"; else order="$(echo "$systems" | tr ' ' '\n' | tac | paste -sd' ')"; fi
    for system in $order; do run "$system" "$mode" "$clients" "$round"; done
  done
  run echo put 256 "$round"
done

peers_text="peers over mutual TLS"
[ -n "$plain_peers" ] && peers_text="peers over plain TCP (--plain-peers)"
[ -n "$client_tls" ] && peers_text="peers over mutual TLS, clients over TLS (--tls)"
[ "$net" = netns ] && peers_text="$peers_text; each replica in a network namespace, $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["links"].split("peer links ")[-1].rstrip(")"))' "$work/netns.json") one way between replicas (synod netns)"
[ "$keys" -ne 1000 ] && peers_text="$peers_text; $keys keys of 16 + 256 B in each store"
table="$(python3 "$root/bench/vs-etcd-table.py" "$work/results.jsonl" "$rounds" "$duration" "$peers_text")"
[ -n "$memory_text" ] && table="$table"$'\n\n'"Resident memory: $memory_text"
echo
echo "$table"
if [ "$net" = netns ]; then
  # The physical floor of a 1-client put: one round trip to a majority (ping between two namespaces, through the same
  # switch) plus one fsync (the WAL's batch-of-1 p50 on this disk).
  rtt_ms="$(in_ns 1 ping -c 20 -i 0.05 -q "${host[2]}" | awk -F/ '/^rtt/ { print $5 }')"
  fsync_us="$("$synod" bench-wal --seconds 1 --dir "$work" 2>/dev/null | awk '/^wal batch 1 / { print $(NF-2) }')"
  floor="$(python3 - "$work/results.jsonl" "$rtt_ms" "$fsync_us" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rtt, fsync = float(sys.argv[2]), float(sys.argv[3]) / 1000
floor = rtt + fsync
text = f"Floor of a 1-client put: round trip {rtt:.2f} ms (ping, median) + one fsync {fsync:.2f} ms = {floor:.2f} ms."
for system in ("synod", "etcd"):
    p50 = [r["result"]["p50_ms"] for r in rows if r["system"] == system and r["workload"] == "put:1"]
    if p50:
        m = statistics.median(p50)
        text += f" {system} put:1 p50 {m:.2f} ms ({m / floor:.2f}x the floor)."
print(text)
PY
)"
  table="$table"$'\n\n'"$floor"
  echo "$floor"
fi
if [ -n "$out" ]; then echo "$table" >"$out"; echo "vs-etcd: table written to $out" >&2; fi
