#!/usr/bin/env python3
"""How long one replica of a filled cluster takes to serve again after a restart, and what it holds then; builds A/B.

Fill once with bench/scale.py and keep its work directory, then:

  bench/scale.py --keys 2750k --no-etcd --rounds 1 --workloads put:64 --duration 2s --snapshot-runs 1 --no-catchup --no-restart --keep
  bench/restart-probe.py --cell /var/tmp/synod-scale.XXXX/2750000-256-3 --build new=./synod \\
      --build old=/work/ab-old/synod --rounds 3 --label slices

Run each ./synod once first (./synod --version): one whose build is stale builds itself in its first timed start.

Replicas 2.. start once from copies of the kept data directories (the first build) and stay up as the quorum. Each
round starts replica 1 once per build, alternating: its data directory copied afresh from the cell, the page cache
dropped first where this runs as root (a cold restart reads its files from the device), then the times from the start to
its "serving clients" log line (files read, port open), to "installed a snapshot at slot" (state machine restored),
to "state loaded in" (the log after the snapshot applied too) and to a linearizable read answered through it alone; five seconds after that, its resident memory and its collected
heap at the last collection (dotnet_gc_last_collection_heap_size_bytes, all generations), and the time the collector
paused it for in all. Then it is stopped (by pid). With --catchup, each build also starts replica 1 empty
(--rebuild-from-peers) and is timed until it has applied up to the leader's commit index (the size of the leader's newest snapshot file
over that time is the catch-up rate; the row also has the seconds to the snapshot installed (and what its state machine took of them), to it durable, from
replica 1's log, the slots of log it then applied, and its applied slot over time). A JSON line per start goes to --out, and the medians per build are printed. Replicas only on 127.0.0.1.
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
_spec = importlib.util.spec_from_file_location("scale", os.path.join(ROOT, "bench", "scale.py"))
scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale)


class Replicas(scale.SynodCluster):
    """The cell's replicas, each started with the executable chosen for it."""

    executable = {}

    def command(self, i, first):
        return [self.executable[i]] + super().command(i, first)[1:]

    def metric_now(self, i, name):
        try:
            return self.metric(i, name)
        except OSError:
            return None


def drop_page_cache():
    if os.geteuid() != 0:
        return False
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as caches:
        caches.write("3\n")
    return True


def start_once(cluster, cell, work, label, executable, timeout):
    log_path = os.path.join(work, "logs", "synod-1.log")
    shutil.rmtree(cluster.data_dir(1), ignore_errors=True)
    shutil.copytree(os.path.join(cell, "synod", "r1"), cluster.data_dir(1))
    open(log_path, "w").close()
    dropped = drop_page_cache()
    cluster.executable[1] = executable
    started = time.time()
    cluster.start(1)
    try:
        served = scale.time_until_serving(cluster, 1, timeout)
        time.sleep(5)
        row = {"build": label, "loaded_s": scale.log_seconds(log_path, "serving clients", started),
               "restored_s": scale.log_seconds(log_path, "installed a snapshot at slot", started),
               "state_loaded_s": scale.log_seconds(log_path, "state loaded in", started),
               "served_s": round(served, 2), "rss_mib": scale.rss_kib(cluster.processes[1].pid) // 1024,
               "heap_mib": round((cluster.metric_now(1, "dotnet_gc_last_collection_heap_size_bytes") or 0) / 2**20),
               "gc_paused_s": cluster.metric_now(1, "dotnet_gc_pause_time_seconds_total"), "page_cache_dropped": dropped}
    finally:
        scale.stop(cluster.processes[1])
    for key in ("loaded_s", "restored_s", "state_loaded_s", "gc_paused_s"):
        row[key] = round(row[key], 2) if row[key] is not None else None
    return row


def catch_up_once(cluster, work, label, executable, timeout):
    """Replica 1 started empty with --rebuild-from-peers: seconds until it has applied up to the leader's commit index."""
    shutil.rmtree(cluster.data_dir(1), ignore_errors=True)
    open(os.path.join(work, "logs", "synod-1.log"), "w").close()
    leader = max(range(2, cluster.replicas + 1), key=lambda i: cluster.metric(i, "synod_leader"))
    target = cluster.metric(leader, "synod_commit_index")
    snap = os.path.join(cluster.data_dir(leader), "snap")
    size = os.path.getsize(os.path.join(snap, max(name for name in os.listdir(snap) if name.endswith(".snap"))))
    cluster.executable[1] = executable
    started, started_wall = time.monotonic(), time.time()
    log_path = os.path.join(work, "logs", "synod-1.log")
    timeline = []
    cluster.start(1, rebuild=True)
    try:
        while True:
            if cluster.processes[1].poll() is not None:
                raise RuntimeError(f"replica 1 exited while rebuilding; see {work}/logs/synod-1.log")
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"replica 1 did not catch up within {timeout} s")
            row = scale.synod_row(leader, 1)
            if row is not None and (not timeline or timeline[-1][1] != row["applied_slot"]):
                timeline.append((round(time.monotonic() - started, 2), row["applied_slot"]))
            if row is not None and row["applied_slot"] >= target:
                applied = time.monotonic() - started
                break
            time.sleep(0.1)
        time.sleep(5)
        row = {"build": label, "catchup_s": round(applied, 2), "snapshot_mib": round(size / 2**20),
               "catchup_mb_per_sec": round(size / applied / 1e6, 1),
               "installed_s": rounded(scale.log_seconds(log_path, "installed a snapshot at slot", started_wall)),
               "durable_s": rounded(scale.log_seconds(log_path, "is durable; the WAL restarts", started_wall)),
               "install_took_s": install_took(log_path),
               "log_slots": target - installed_slot(log_path), "applied_timeline": timeline, "rss_mib": scale.rss_kib(cluster.processes[1].pid) // 1024,
               "heap_mib": round((cluster.metric_now(1, "dotnet_gc_last_collection_heap_size_bytes") or 0) / 2**20),
               "gc_paused_s": cluster.metric_now(1, "dotnet_gc_pause_time_seconds_total")}
    finally:
        scale.stop(cluster.processes[1])
    return row


def rounded(seconds):
    return round(seconds, 2) if seconds is not None else None


def installed_slot(path):
    """The slot of the last snapshot the replica logged as installed (0 if none)."""
    with open(path) as lines:
        slots = [int(match.group(1)) for line in lines if (match := re.search(r"installed a snapshot at slot (\d+)", line))]
    return slots[-1] if slots else 0


def install_took(path):
    """The seconds the last install's state machine took once its snapshot was whole (None from a build that does not say)."""
    with open(path) as lines:
        took = [float(match.group(1)) for line in lines if (match := re.search(r"its state machine took ([0-9.]+) s", line))]
    return took[-1] if took else None


def keep_log(directory, work, name):
    if directory:
        os.makedirs(directory, exist_ok=True)
        for log in sorted(os.listdir(os.path.join(work, "logs"))):
            if log.startswith("synod-") and log.endswith(".log"):
                replica = log[len("synod-"):-len(".log")]
                shutil.copy(os.path.join(work, "logs", log), os.path.join(directory, f"{name}.log" if replica == "1" else f"{name}.r{replica}.log"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cell", required=True, help="a cell's work directory kept by bench/scale.py --keep (holds synod/r1.. and certs/)")
    parser.add_argument("--build", action="append", required=True, metavar="LABEL=EXECUTABLE",
                        help="a build to start replica 1 with (repeat for an A/B; the first also runs the other replicas)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300, help="seconds a start may take before the probe gives up")
    parser.add_argument("--catchup", action="store_true", help="also start replica 1 empty (--rebuild-from-peers) once per build and round")
    parser.add_argument("--label", default="")
    parser.add_argument("--logs", help="a directory to keep the logs in after each start: replica 1's as LABEL-ROUND-restart.log and LABEL-ROUND-catchup.log, the others' (up to then) beside it as ...rN.log")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "restart-probe.jsonl"))
    args = parser.parse_args()

    builds = [tuple(pair.split("=", 1)) for pair in args.build]
    for label, executable in builds:
        if not os.access(executable, os.X_OK):
            parser.error(f"--build {label}={executable}: not an executable file; build it first (./synod --version builds ./synod)")
    replicas = sorted(int(name[1:]) for name in os.listdir(os.path.join(args.cell, "synod")) if re.fullmatch(r"r\d+", name))
    if 1 not in replicas or len(replicas) < 3:
        parser.error(f"--cell {args.cell}: expected synod/r1, synod/r2 and synod/r3 in it")
    work = tempfile.mkdtemp(prefix="synod-restart.", dir=os.environ.get("TMPDIR", "/var/tmp"))
    os.makedirs(os.path.join(work, "logs"))
    cluster = Replicas(work, len(replicas), os.path.join(args.cell, "certs"))
    saved = os.path.join(args.cell, "synod-args.json")  # the options the cell was filled with (scale.py --synod-arg)
    if os.path.exists(saved):
        with open(saved) as options:
            Replicas.extra = json.load(options)
    rows = []
    try:
        for i in replicas[1:]:
            shutil.copytree(os.path.join(args.cell, "synod", f"r{i}"), cluster.data_dir(i))
            cluster.executable[i] = builds[0][1]
            cluster.start(i)
        scale.wait_serving(cluster, seconds=args.timeout)
        print(f"restart-probe: replicas {replicas[1:]} serving", file=sys.stderr, flush=True)
        for round_number in range(args.rounds):
            order = builds if round_number % 2 == 0 else builds[::-1]
            for label, executable in order:
                def record(row, kind):
                    row = dict(row, label=args.label, date=time.strftime("%Y-%m-%d"), round=round_number + 1)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
                    with open(args.out, "a") as out:
                        out.write(json.dumps(row) + "\n")
                    keep_log(args.logs, work, f"{label}-{round_number + 1}-{kind}")

                record(start_once(cluster, args.cell, work, label, executable, args.timeout), "restart")
                if args.catchup:
                    record(catch_up_once(cluster, work, label, executable, args.timeout), "catchup")
    finally:
        cluster.stop_all()
    for label, _ in builds:
        for kind, keys in (("restarts", ("loaded_s", "restored_s", "state_loaded_s", "served_s", "rss_mib", "heap_mib", "gc_paused_s")),
                           ("catch-ups", ("catchup_s", "installed_s", "install_took_s", "durable_s", "catchup_mb_per_sec", "rss_mib", "heap_mib", "gc_paused_s"))):
            mine = [row for row in rows if row["build"] == label and keys[0] in row]
            medians = {key: statistics.median(row[key] for row in mine if row[key] is not None)
                       for key in keys if any(row[key] is not None for row in mine)}
            if mine:
                print(f"{label}: medians of {len(mine)} {kind}: " + ", ".join(f"{key} {value:g}" for key, value in medians.items()))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
