#!/usr/bin/env python3
"""Put p99 with and without snapshots under way, on a filled cluster started again from copies of its data.

Fill once with bench/scale.py and keep its work directory, then run this as often as needed (each run starts the three
replicas afresh from copies of the kept data directories, so every run begins from the same state and the same
snapshot slots):

  bench/scale.py --keys 2750k --no-etcd --rounds 1 --workloads put:64 --duration 2s --snapshot-runs 1 --no-catchup --no-restart --keep
  bench/snapshot-p99.py --cell /var/tmp/synod-scale.XXXX/2750000-256-3 --keys 2750000 --runs 60 --label mine
  bench/snapshot-p99.py --cell ... --env DOTNET_GCConserveMemory=0 --label no-compaction

It runs RUNS 2-second `synod bench --mode put --clients 64` runs and counts a run as "with a snapshot" if any replica was
serialising or writing one during it (from each replica's "snapshot at slot S written (...; B ms in all" line, as
bench/scale.py does), then prints the median p99 and rate of each kind, the worst run and the mean rate, and appends a
JSON line to --out. Every process it starts is stopped at the end (by pid). Replicas only on 127.0.0.1.
"""

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
SYNOD = os.path.join(ROOT, "synod")
_spec = importlib.util.spec_from_file_location("scale", os.path.join(ROOT, "bench", "scale.py"))
scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale)


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1)) // 1024
    except (OSError, AttributeError):
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", required=True, help="a cell's work directory kept by bench/scale.py --keep (holds synod/r1.. and certs/)")
    parser.add_argument("--keys", type=int, required=True, help="the key count the cell was filled with")
    parser.add_argument("--value-size", type=int, default=256)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--label", default="")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="environment of every replica")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "snapshot-p99.jsonl"))
    args = parser.parse_args()

    replicas = sorted(int(name[1:]) for name in os.listdir(os.path.join(args.cell, "synod")) if re.fullmatch(r"r\d+", name))
    work = tempfile.mkdtemp(prefix="synod-p99.", dir=os.environ.get("TMPDIR", "/var/tmp"))
    os.makedirs(os.path.join(work, "logs"))
    for i in replicas:
        shutil.copytree(os.path.join(args.cell, "synod", f"r{i}"), os.path.join(work, "synod", f"r{i}"))
    cluster = scale.SynodCluster(work, len(replicas), os.path.join(args.cell, "certs"))
    scale.SynodCluster.env = dict(pair.split("=", 1) for pair in args.env)
    runs, rss = [], []
    try:
        started = time.monotonic()
        for i in replicas:
            cluster.start(i)
        scale.wait_serving(cluster, seconds=300)
        print(f"snapshot-p99: serving {time.monotonic() - started:.1f} s after the start", file=sys.stderr, flush=True)
        paused = [cluster.metric(i, "dotnet_gc_pause_time_seconds_total") for i in replicas]
        for _ in range(args.runs):
            began = time.time()
            result = scale.bench(work, cluster, "put", 64, "2s", args.keys, args.value_size, filled=True)
            ended = time.time()
            paused_now = [cluster.metric(i, "dotnet_gc_pause_time_seconds_total") for i in replicas]
            # The most time one replica spent stopped by the collector during the run (gc_paused_s_*: median, worst
            # and sum over the runs).
            runs.append((began, ended, result["p99_ms"], result["ops_per_sec"], max(b - a for a, b in zip(paused, paused_now))))
            paused = paused_now
        rss = [rss_mib(cluster.processes[i].pid) for i in replicas]
    finally:
        cluster.stop_all()
    spans = [span for i in replicas for span in scale.snapshot_spans(os.path.join(work, "logs", f"synod-{i}.log"), time.time())]
    quiet = [r for r in runs if not any(start < r[1] and end > r[0] for start, end in spans)]
    during = [r for r in runs if r not in quiet]
    median = lambda rows, k: round(statistics.median(row[k] for row in rows), 1) if rows else None
    line = {"label": args.label, "date": time.strftime("%Y-%m-%d"), "keys": args.keys, "env": args.env, "runs": len(runs),
            "runs_with_snapshot": len(during), "p99_quiet_ms": median(quiet, 2), "p99_with_snapshot_ms": median(during, 2),
            "ops_quiet": median(quiet, 3), "ops_with_snapshot": median(during, 3),
            "worst_run_p99_ms": max(r[2] for r in runs), "mean_ops": round(statistics.mean(r[3] for r in runs)),
            "snapshots": len(spans), "snapshot_seconds_mean": round(statistics.mean(e - s for s, e in spans), 1) if spans else None,
            "gc_paused_s_median": round(statistics.median(r[4] for r in runs), 3), "gc_paused_s_max": round(max(r[4] for r in runs), 3),
            "gc_paused_s_sum": round(sum(r[4] for r in runs), 1),
            "rss_mib": rss, "gc_pauses_over_300ms": gc_pauses(work, replicas), "gc_kinds_over_300ms": gc_kinds(work, replicas), "leaderships": leaderships(work, replicas),
            "background_gc": background_gc(work, replicas)}
    print(json.dumps(line))
    with open(args.out, "a") as out:
        out.write(json.dumps(line) + "\n")
    shutil.rmtree(work)


def gc_pauses(work, replicas):
    """The collector's pauses over 300 ms the replicas' slow-pass warnings name (at most one line per 5 s per replica) ("garbage collection paused the process N ms"), in ms."""
    pauses = []
    for i in replicas:
        with open(os.path.join(work, "logs", f"synod-{i}.log"), errors="replace") as log:
            pauses += [int(m) for m in re.findall(r"garbage collection paused the process (\d+) ms", log.read()) if int(m) > 300]
    return sorted(pauses, reverse=True)


def gc_kinds(work, replicas):
    """The collections of 300 ms or more that slow-pass warnings name ("a full blocking collection of generation 2,
    compacting, paused 1733 ms"), counted by kind, generation and compaction."""
    kinds = {}
    for i in replicas:
        with open(os.path.join(work, "logs", f"synod-{i}.log"), errors="replace") as log:
            for kind, generation, how, ms in re.findall(r"(a full blocking|a background|an ephemeral) collection of generation (\d+), (compacting|sweeping), paused (\d+) ms", log.read()):
                if int(ms) >= 300:
                    name = f"{kind.split(' ', 1)[1]} gen{generation} {how}"
                    kinds[name] = kinds.get(name, 0) + 1
    return kinds


def background_gc(work, replicas):
    """The replicas whose full collections went to the background (serve --background-gc-heap-bytes) during the probe."""
    switched = []
    for i in replicas:
        with open(os.path.join(work, "logs", f"synod-{i}.log"), errors="replace") as log:
            if "full collections now run in the background" in log.read():
                switched.append(i)
    return switched


def leaderships(work, replicas):
    """How many times a replica became leader, the first election after the start included."""
    count = 0
    for i in replicas:
        with open(os.path.join(work, "logs", f"synod-{i}.log"), errors="replace") as log:
            count += len(re.findall(r": now leader \(ballot", log.read()))
    return count


if __name__ == "__main__":
    main()
