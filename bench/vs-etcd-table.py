"""Turns the JSON lines of bench/vs-etcd.sh into one markdown table: the median of the rounds per workload and system."""
import json
import statistics
import sys
from collections import defaultdict

path, rounds, duration = sys.argv[1], sys.argv[2], sys.argv[3]
peers = sys.argv[4] if len(sys.argv) > 4 else "peers over mutual TLS"
runs = defaultdict(list)
order = []
for line in open(path, encoding="utf-8"):
    row = json.loads(line)
    key = (row["workload"], row["system"])
    runs[key].append(row["result"])
    if row["workload"] not in order and row["system"] not in ("echo", "synod-plain"):
        order.append(row["workload"])


def median(workload, system, field):
    values = [r[field] for r in runs.get((workload, system), [])]
    return statistics.median(values) if values else float("nan")


def errors(workload, system):
    return sum(r["errors"] for r in runs.get((workload, system), []))


where = "" if "namespace" in peers else " on 127.0.0.1"
print(f"Median of {rounds} round(s) of {duration} per run; 16 B keys, 256 B values; 5 Synod replicas and 5 etcd members{where}, fsync on, {peers}.")
print()
print("| workload | clients | Synod ops/s | etcd ops/s | Synod / etcd | Synod p50 ms | etcd p50 ms | Synod p99 ms | etcd p99 ms | errors (Synod/etcd) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
watch = [w for w in order if w.startswith("watch:")]
order = [w for w in order if not w.startswith("watch:")]
for workload in order:
    mode, clients = workload.split(":")
    s, e = median(workload, "synod", "ops_per_sec"), median(workload, "etcd", "ops_per_sec")
    ratio = s / e if e else float("nan")
    print(f"| {mode} | {clients} | {s:,.0f} | {e:,.0f} | {ratio:.2f}x | {median(workload, 'synod', 'p50_ms'):.2f} | {median(workload, 'etcd', 'p50_ms'):.2f} "
          f"| {median(workload, 'synod', 'p99_ms'):.1f} | {median(workload, 'etcd', 'p99_ms'):.1f} | {errors(workload, 'synod')}/{errors(workload, 'etcd')} |")

if watch:
    print()
    print("Watch fan-out (`synod bench --mode watch`): watchers of one prefix, each on its own stream, while writes land at the rate asked;"
          " delivery is from the write's acknowledgement to the change's arrival at each watcher (0 when it arrived first).")
    print()
    print("| watchers | writes/s asked | writes/s (Synod / etcd) | changes delivered/s (Synod / etcd) | missing+duplicates (Synod / etcd) "
          "| delivery p50 ms (Synod / etcd) | delivery p99 ms (Synod / etcd) | RSS MiB, all replicas (Synod / etcd) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for workload in watch:
        watchers, _, rate = workload.split(":")[1].partition("@")
        pair = lambda field, fmt: f"{median(workload, 'synod', field):{fmt}} / {median(workload, 'etcd', field):{fmt}}"
        lost = lambda system: sum(r["missing"] + r["duplicates"] for r in runs.get((workload, system), []))
        print(f"| {watchers} | {rate or 1000} | {pair('writes_per_sec', ',.0f')} | {pair('ops_per_sec', ',.0f')} | {lost('synod')} / {lost('etcd')} "
              f"| {pair('p50_ms', '.1f')} | {pair('p99_ms', '.1f')} | {pair('rss_mib', ',.0f')} |")

echo = median("put:256", "echo", "ops_per_sec")
synod_put = median("put:256", "synod", "ops_per_sec")
print()
print(f"gRPC ceiling (`synod bench-echo`, put, 256 clients): {echo:,.0f} ops/s; Synod put at 256 clients is {synod_put / echo:.2f} of it.")

plain = [w for w in order if (w, "synod-plain") in runs]
if plain:
    print()
    print("What client TLS costs Synod (`--tls`): the same Synod serving clients in plaintext (synod-plain), in the same rounds.")
    print()
    print("| workload | clients | Synod TLS ops/s | Synod plaintext ops/s | TLS / plaintext | TLS p99 ms | plaintext p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for workload in plain:
        mode, clients = workload.split(":")
        t, p = median(workload, "synod", "ops_per_sec"), median(workload, "synod-plain", "ops_per_sec")
        print(f"| {mode} | {clients} | {t:,.0f} | {p:,.0f} | {t / p if p else float('nan'):.2f} | {median(workload, 'synod', 'p99_ms'):.1f} | {median(workload, 'synod-plain', 'p99_ms'):.1f} |")
