#!/usr/bin/env python3
"""How Synod's and etcd's cost grows with their data, side by side on this machine.

For every cell of the matrix (key count x value size x replicas) it starts a fresh Synod cluster (`synod serve` per
replica, peers over mutual TLS, default durability) and a fresh etcd cluster of the same size (peers over mutual TLS,
backend quota 8 GiB), fills both with the same generator (`synod bench --fill`), then measures, alternating which
system goes first in each round:

  - resident memory per replica, empty and filled, and the bytes per key beyond the key and value themselves;
  - put and linearizable get throughput, p50 and p99 at 64 and 256 clients;
  - Synod's snapshots (from its /metrics): how long one takes, its size, and the put p99 of the 2-second runs during
    which a replica took one against the runs during which none did;
  - restart to serving: replica 1 killed (SIGKILL) and started again, until a linearizable read through it alone is
    answered (Synod: `synod get --node 1`; etcd: its /health, which needs the member to reach its leader);
  - catch-up (Synod): replica 1's data directory lost, started with --rebuild-from-peers, until it votes again;
    the snapshot it installed over that time gives bytes per second.

Every result is a JSON line in --out (default bench/results/scale.jsonl, appended); bench/scale-report.py turns them
into the tables and plots of docs/performance.md "Scale". Every process it starts is stopped at the end.

  bench/scale.py --keys 1k,100k,1M                 # 256-byte values, 3 replicas
  bench/scale.py --keys 100k --value-sizes 16,256,4KiB --replicas 3,5,7
  bench/scale.py --keys 1k --quick                 # one short round: check the script works

Needs root only to install etcd. Key counts and value sizes take k/M and KiB/MiB suffixes.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
SYNOD = os.path.join(ROOT, "synod")
KEY_BYTES = 16

SYNOD_BASE = 17201  # client and peer port of replica i: SYNOD_BASE + i - 1
SYNOD_HTTP_BASE = 17301
ETCD_CLIENT_BASE = 17401
ETCD_PEER_BASE = 17501


def log(text):
    print(f"scale: {text}", file=sys.stderr, flush=True)


def count(text):
    match = re.fullmatch(r"(\d+)([kKmM]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a count (1000, 100k, 1M)")
    return int(match.group(1)) * {"": 1, "k": 1000, "K": 1000, "m": 1000000, "M": 1000000}[match.group(2)]


def size(text):
    match = re.fullmatch(r"(\d+)\s*(B|KiB|MiB)?", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"'{text}' is not a size (16, 256B, 4KiB, 1MiB)")
    return int(match.group(1)) * {None: 1, "B": 1, "KiB": 1024, "MiB": 1024 * 1024}[match.group(2)]


def listing(parse):
    return lambda text: [parse(part) for part in text.split(",") if part.strip()]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def dir_bytes(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(folder, name))
            except OSError:
                pass
    return total


def stop(process, grace=10.0):
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Cluster:
    """Replicas 1..n of one system; each a process of ours, stopped by pid."""

    name = ""

    def __init__(self, work, replicas, certs):
        self.work = work
        self.replicas = replicas
        self.certs = certs
        self.processes = {}

    def start_all(self):
        for i in range(1, self.replicas + 1):
            self.start(i, fresh=True)

    def stop_all(self):
        for process in self.processes.values():
            stop(process)

    def kill(self, i):
        process = self.processes[i]
        process.kill()
        process.wait()

    def memory_kib(self):
        return [rss_kib(p.pid) for p in self.processes.values()]

    def open_log(self, i):
        return open(os.path.join(self.work, "logs", f"{self.name}-{i}.log"), "a")


class SynodCluster(Cluster):
    name = "synod"
    env = {}
    extra = []  # more `synod serve` options (--synod-arg), the same for every replica and start

    def endpoints(self):
        return ",".join(f"127.0.0.1:{SYNOD_BASE + i - 1}" for i in range(1, self.replicas + 1))

    def data_dir(self, i):
        return os.path.join(self.work, "synod", f"r{i}")

    def command(self, i, first):
        peers = ",".join(f"{j}=127.0.0.1:{SYNOD_BASE + j - 1}" for j in range(1, self.replicas + 1))
        return [SYNOD, "serve", "--id", str(i), "--peers", peers, "--data-dir", self.data_dir(i),
                "--http", f"127.0.0.1:{SYNOD_HTTP_BASE + i - 1}",
                "--peer-cert", f"{self.certs}/replica-{i}.pem", "--peer-key", f"{self.certs}/replica-{i}-key.pem",
                "--peer-ca", f"{self.certs}/ca.pem"] + self.extra + first

    def start(self, i, fresh=False, rebuild=False):
        first = ["--new-cluster"] if fresh else ["--rebuild-from-peers"] if rebuild else []
        self.processes[i] = subprocess.Popen(self.command(i, first), stdout=self.open_log(i), stderr=subprocess.STDOUT,
                                             env=dict(os.environ, **self.env))

    def metrics(self, i):
        with urllib.request.urlopen(f"http://127.0.0.1:{SYNOD_HTTP_BASE + i - 1}/metrics", timeout=5) as answer:
            return answer.read().decode()

    def metric(self, i, name):
        """The sum of every series of metric NAME on replica i (0 when it has none)."""
        total = 0.0
        for line in self.metrics(i).splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def read_through(self, i, timeout):
        """Whether a linearizable read through replica i alone is answered (found or not found)."""
        result = subprocess.run([SYNOD, "get", "scale-probe", "--node", str(i), "--endpoints", self.endpoints(),
                                 "--timeout", f"{timeout}s"], capture_output=True)
        return result.returncode in (0, 3)


class EtcdCluster(Cluster):
    name = "etcd"

    def endpoints(self):
        return ",".join(f"127.0.0.1:{ETCD_CLIENT_BASE + i}" for i in range(1, self.replicas + 1))

    def data_dir(self, i):
        return os.path.join(self.work, "etcd", f"m{i}")

    def start(self, i, fresh=False, rebuild=False):
        cluster = ",".join(f"m{j}=https://127.0.0.1:{ETCD_PEER_BASE + j}" for j in range(1, self.replicas + 1))
        command = ["etcd", "--name", f"m{i}", "--data-dir", self.data_dir(i),
                   "--listen-client-urls", f"http://127.0.0.1:{ETCD_CLIENT_BASE + i}",
                   "--advertise-client-urls", f"http://127.0.0.1:{ETCD_CLIENT_BASE + i}",
                   "--listen-peer-urls", f"https://127.0.0.1:{ETCD_PEER_BASE + i}",
                   "--initial-advertise-peer-urls", f"https://127.0.0.1:{ETCD_PEER_BASE + i}",
                   "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", "synod-scale",
                   "--peer-cert-file", f"{self.certs}/replica-{i}.pem", "--peer-key-file", f"{self.certs}/replica-{i}-key.pem",
                   "--peer-trusted-ca-file", f"{self.certs}/ca.pem", "--peer-client-cert-auth",
                   "--quota-backend-bytes", str(8 * 1024 ** 3), "--logger", "zap", "--log-level", "warn"]
        self.processes[i] = subprocess.Popen(command, stdout=self.open_log(i), stderr=subprocess.STDOUT)

    def read_through(self, i, timeout):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ETCD_CLIENT_BASE + i}/health", timeout=timeout) as answer:
                return json.loads(answer.read()).get("health") == "true"
        except (OSError, ValueError):
            return False


def bench(work, cluster, mode, clients, duration, keys, value_bytes, fill=False, ops=None, timeout=None, warmup=None, filled=False):
    command = [SYNOD, "bench", "--target", cluster.name, "--endpoints", cluster.endpoints(), "--mode", mode,
               "--clients", str(clients), "--duration", duration, "--key-size", str(KEY_BYTES),
               "--value-size", str(value_bytes), "--key-space", str(keys), "--json"]
    if fill:
        command.append("--fill")
    if filled:
        command.append("--filled")  # every key was put by the cell's fill: a read run does not put them again
    if ops is not None:
        command += ["--ops", str(ops)]
    if timeout is not None:
        command += ["--timeout", timeout]
    if warmup is not None:
        command += ["--warmup", warmup]
    with open(os.path.join(work, "logs", "bench.log"), "a") as errors:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=errors, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"synod bench --target {cluster.name} --mode {mode} --clients {clients} failed "
                           f"(exit {result.returncode}); see {work}/logs/bench.log")
    return json.loads(result.stdout)


def wait_serving(cluster, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            bench(cluster.work, cluster, "put", 1, "1s", 1, 16, ops=1, timeout="2s")
            return
        except RuntimeError:
            time.sleep(1)
    raise RuntimeError(f"{cluster.name} did not serve within {seconds} s; see {cluster.work}/logs/")


def time_until_serving(cluster, i, seconds=300):
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if cluster.processes[i].poll() is not None:
            raise RuntimeError(f"{cluster.name} replica {i} exited while starting; see {cluster.work}/logs/")
        if cluster.read_through(i, 2):
            return time.monotonic() - started
        time.sleep(0.05)
    raise RuntimeError(f"{cluster.name} replica {i} did not serve within {seconds} s of its restart")


def synod_row(i, of):
    """Replica OF's row as replica i's dashboard API shows it (None while i does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{SYNOD_HTTP_BASE + i - 1}/api/cluster", timeout=2) as answer:
            view = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    return next((row for row in view["replicas"] if row["id"] == of and row["up"]), None)


def log_time(line, near):
    """The time.time() of a server log line (local time of day, HH:MM:SS.mmm, no date): on the day before, of or after
    NEAR, whichever puts it closest to NEAR (a run may cross midnight); None if the line has no such stamp."""
    match = re.match(r"(\d\d):(\d\d):(\d\d)(\.\d{3})", line)
    if not match:
        return None
    hour, minute, second = (int(match.group(k)) for k in (1, 2, 3))
    day = time.localtime(near)
    stamps = [time.mktime((day.tm_year, day.tm_mon, day.tm_mday + shift, hour, minute, second, 0, 0, -1)) + float(match.group(4))
              for shift in (-1, 0, 1)]
    return min(stamps, key=lambda stamp: abs(stamp - near))


def log_seconds(path, text, after):
    """Seconds from AFTER (a time.time()) to the first line of the log at PATH that contains TEXT and was written after it."""
    with open(path) as lines:
        for line in lines:
            stamp = log_time(line, after) if text in line else None
            if stamp is not None and stamp >= after - 0.001:
                return stamp - after
    return None


def snapshot_spans(path, near):
    """(start, end) as time.time() of every snapshot the replica logged at PATH as written (NEAR: a time.time() within a
    day of them). A snapshot still being taken has no such line yet, so runs at the very end may be counted as quiet."""
    spans = []
    with open(path) as lines:
        for line in lines:
            match = re.search(r"snapshot at slot \d+ written \(\d+ bytes; \d+ ms to serialise and (\d+) ms in all", line)
            end = log_time(line, near) if match else None
            if end is not None:
                spans.append((end - int(match.group(1)) / 1000, end))
    return spans


def measure_cell(args, work, keys, value_bytes, replicas, out):
    cell = {"keys": keys, "value_bytes": value_bytes, "replicas": replicas, "label": args.label,
            "data_bytes_per_key": KEY_BYTES + value_bytes, "date": time.strftime("%Y-%m-%d")}
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(os.path.join(work, "logs"))
    certs = os.path.join(work, "certs")
    subprocess.run([SYNOD, "certs", "--out", certs, "--replicas", str(replicas), "--cluster", "scale"],
                   check=True, stdout=subprocess.DEVNULL)
    SynodCluster.env = dict(pair.split("=", 1) for pair in args.synod_env)
    SynodCluster.extra = list(args.synod_arg)
    if args.synod_arg:
        cell["synod_args"] = list(args.synod_arg)
    with open(os.path.join(work, "synod-args.json"), "w") as saved:  # bench/restart-probe.py starts the cell's replicas so too
        json.dump(list(args.synod_arg), saved)
    systems = [SynodCluster(work, replicas, certs)] + ([EtcdCluster(work, replicas, certs)] if args.etcd else [])
    try:
        for system in systems:
            system.start_all()
        for system in systems:
            wait_serving(system)
        time.sleep(2)
        rows = {}
        for system in systems:
            row = rows[system.name] = {}
            row["rss_empty_kib"] = system.memory_kib()
            started = time.monotonic()
            fill = bench(work, system, "put", 256, "1s", keys, value_bytes, fill=True, timeout="60s")
            row["fill_seconds"] = round(time.monotonic() - started, 1)
            row["fill_errors"] = fill.get("fill_errors", fill["errors"])  # the fill's own (older builds: the 1-s run after it)
            log(f"{system.name}: {keys} keys of {KEY_BYTES}+{value_bytes} B filled in {row['fill_seconds']} s")
        time.sleep(args.settle)
        for system in systems:
            row = rows[system.name]
            row["rss_filled_kib"] = system.memory_kib()
            row["disk_bytes"] = [dir_bytes(system.data_dir(i)) for i in range(1, replicas + 1)]
            grown = statistics.median(f - e for f, e in zip(row["rss_filled_kib"], row["rss_empty_kib"])) * 1024
            row["bytes_per_key"] = round(grown / keys, 1)
            row["overhead_bytes_per_key"] = round(grown / keys - KEY_BYTES - value_bytes, 1)
            log(f"{system.name}: {row['bytes_per_key']:.0f} bytes per key per replica "
                f"({row['overhead_bytes_per_key']:.0f} beyond key and value); disk {max(row['disk_bytes']) / 2**20:.0f} MiB")
        runs = []
        for round_ in range(1, args.rounds + 1):
            for workload in args.workloads:
                mode, clients = workload.split(":")
                order = systems if round_ % 2 else list(reversed(systems))
                for system in order:
                    result = bench(work, system, mode, int(clients), args.duration, keys, value_bytes, warmup="1s", filled=True)
                    runs.append({"system": system.name, "workload": workload, "round": round_,
                                 "ops_per_sec": result["ops_per_sec"], "p50_ms": result["p50_ms"],
                                 "p99_ms": result["p99_ms"], "errors": result["errors"]})
                    log(f"  {system.name:5} {workload:8} {result['ops_per_sec']:9.0f} ops/s  p50 {result['p50_ms']:7.2f} ms"
                        f"  p99 {result['p99_ms']:8.2f} ms  errors {result['errors']}")
        for system in systems:
            row = rows[system.name]
            for workload in args.workloads:
                mine = [r for r in runs if r["system"] == system.name and r["workload"] == workload]
                row[workload] = {"ops_per_sec": statistics.median(r["ops_per_sec"] for r in mine),
                                 "p99_ms": statistics.median(r["p99_ms"] for r in mine)}
        synod = systems[0]
        if args.snapshots:
            row = rows["synod"]
            quiet, during = [], []
            paused = [synod.metric(i, "dotnet_gc_pause_time_seconds_total") for i in range(1, replicas + 1)]
            gc_quiet, gc_during = [], []
            measured = []
            for _ in range(args.snapshot_runs):
                began = time.time()
                result = bench(work, synod, "put", 64, "2s", keys, value_bytes, filled=True)
                ended = time.time()
                paused_now = [synod.metric(i, "dotnet_gc_pause_time_seconds_total") for i in range(1, replicas + 1)]
                measured.append((began, ended, result["p99_ms"], max(b - a for a, b in zip(paused, paused_now))))
                paused = paused_now
            # A run is "with a snapshot" if any replica was serialising or writing one during it (from each replica's
            # "snapshot at slot S written (...; B ms in all" line), not only if one finished in it: a snapshot of a large
            # state takes many runs, and those before its end were counted as quiet.
            busy = [span for i in range(1, replicas + 1) for span in snapshot_spans(os.path.join(work, "logs", f"synod-{i}.log"), time.time())]
            for began, ended, p99, longest in measured:
                overlaps = any(start < ended and end > began for start, end in busy)
                (during if overlaps else quiet).append(p99)
                (gc_during if overlaps else gc_quiet).append(longest)
            # The most time one replica spent paused for garbage collection in a run, median over the runs.
            row["gc_pause_quiet_s"] = round(statistics.median(gc_quiet), 3) if gc_quiet else None
            row["gc_pause_during_snapshot_s"] = round(statistics.median(gc_during), 3) if gc_during else None
            seconds = sum(synod.metric(i, "synod_snapshot_duration_seconds_sum") for i in range(1, replicas + 1))
            taken = sum(synod.metric(i, "synod_snapshot_duration_seconds_count") for i in range(1, replicas + 1))
            row["snapshots_taken"] = int(taken)
            row["snapshot_seconds_mean"] = round(seconds / taken, 3) if taken else None
            row["snapshot_bytes"] = int(max(synod.metric(i, "synod_snapshot_size_bytes") for i in range(1, replicas + 1)))
            row["put64_p99_quiet_ms"] = statistics.median(quiet) if quiet else None
            row["put64_p99_during_snapshot_ms"] = statistics.median(during) if during else None
            row["runs_quiet"], row["runs_during_snapshot"] = len(quiet), len(during)
            # Every run's p99 too: the target is about the median, but a user meets the worst runs.
            row["put64_p99_quiet_runs_ms"], row["put64_p99_during_snapshot_runs_ms"] = quiet, during
            log(f"synod: {int(taken)} snapshots, {row['snapshot_seconds_mean']} s each, {row['snapshot_bytes'] / 2**20:.0f} MiB; put:64 p99 "
                f"{row['put64_p99_quiet_ms']} ms in {len(quiet)} quiet runs (worst {max(quiet, default=None)}), "
                f"{row['put64_p99_during_snapshot_ms']} ms in {len(during)} with a snapshot (worst {max(during, default=None)}); "
                f"GC pauses of the most paused replica per run {row['gc_pause_quiet_s']} s quiet, {row['gc_pause_during_snapshot_s']} s with a snapshot")
        if args.restart:
            for system in systems:
                system.kill(1)
                restarted = time.time()
                system.start(1)
                seconds = time_until_serving(system, 1)
                rows[system.name]["restart_seconds"] = round(seconds, 2)
                detail = ""
                if system.name == "synod":
                    # "serving clients": files read and the port open (restart_loaded_seconds, so named in earlier lines);
                    # "installed a snapshot": the state machine restored from the snapshot read, which comes after it.
                    opened = log_seconds(os.path.join(work, "logs", "synod-1.log"), "serving clients", restarted)
                    restored = log_seconds(os.path.join(work, "logs", "synod-1.log"), "installed a snapshot at slot", restarted)
                    rows["synod"]["restart_loaded_seconds"] = round(opened, 2) if opened is not None else None
                    rows["synod"]["restart_restored_seconds"] = round(restored, 2) if restored is not None else None
                    detail = f" (files read and port open after {opened} s, state restored after {restored} s)"
                log(f"{system.name}: replica 1 killed and started again: a read through it answered after {seconds:.2f} s{detail}")
        if args.catchup:
            stop(synod.processes[1])
            shutil.rmtree(synod.data_dir(1))
            leader = max(range(2, replicas + 1), key=lambda i: synod.metric(i, "synod_leader"))
            target = synod.metric(leader, "synod_commit_index")
            installed = synod.metric(leader, "synod_snapshot_size_bytes")
            started = time.monotonic()
            synod.start(1, rebuild=True)
            applied_at = None
            while True:
                if synod.processes[1].poll() is not None:
                    raise RuntimeError(f"synod replica 1 exited while rebuilding; see {work}/logs/synod-1.log")
                if time.monotonic() - started > 600:
                    raise RuntimeError("synod replica 1 did not catch up within 600 s")
                row = synod_row(leader, 1)
                if row is not None and applied_at is None and row["applied_slot"] >= target:
                    applied_at = time.monotonic() - started
                if row is not None and applied_at is not None and not row["rebuilding"]:
                    break
                time.sleep(0.1)
            seconds = time.monotonic() - started
            row = rows["synod"]
            row["catchup_seconds"] = round(applied_at, 2)
            row["catchup_voting_seconds"] = round(seconds, 2)
            row["catchup_snapshot_bytes"] = int(installed)
            row["catchup_mb_per_sec"] = round(installed / applied_at / 1e6, 1)
            log(f"synod: an empty replica 1 applied up to the leader's commit index {int(target)} after {applied_at:.2f} s "
                f"({installed / 2**20:.0f} MiB snapshot, {installed / applied_at / 1e6:.0f} MB/s), voting again after {seconds:.2f} s")
        for name, row in rows.items():
            with open(out, "a") as results:
                results.write(json.dumps(dict(cell, system=name, **row)) + "\n")
    finally:
        for system in systems:
            system.stop_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=listing(count), default=[1000], help="key counts, comma-separated (1k,100k,1M)")
    parser.add_argument("--value-sizes", type=listing(size), default=[256], help="value sizes (16,256,4KiB,64KiB,1MiB)")
    parser.add_argument("--replicas", type=listing(int), default=[3], help="replica counts (3,5,7)")
    parser.add_argument("--workloads", default="put:64 put:256 get:64 get:256")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", default="5s", help="each measured run (5s)")
    parser.add_argument("--settle", type=float, default=10, help="seconds after the fill before memory is read")
    parser.add_argument("--snapshot-runs", type=int, default=20, help="2-second put runs to catch snapshots in")
    parser.add_argument("--no-etcd", dest="etcd", action="store_false", help="Synod alone")
    parser.add_argument("--no-snapshots", dest="snapshots", action="store_false")
    parser.add_argument("--no-restart", dest="restart", action="store_false")
    parser.add_argument("--no-catchup", dest="catchup", action="store_false")
    parser.add_argument("--synod-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for every synod serve (for an A/B of a runtime setting)")
    parser.add_argument("--synod-arg", action="append", default=[], metavar="OPTION",
                        help="one more option for every synod serve, e.g. --synod-arg=--quota-bytes=936000000 (repeat it)")
    parser.add_argument("--label", default="", help="a label written into every result line (for an A/B)")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s, 3 snapshot runs")
    parser.add_argument("--keep", action="store_true", help="keep each cell's work directory")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "scale.jsonl"))
    args = parser.parse_args()
    args.workloads = args.workloads.split()
    if args.quick:
        args.rounds, args.duration, args.snapshot_runs, args.settle = 1, "2s", 3, 3
    for replicas in args.replicas:
        if not 1 <= replicas <= 9:
            parser.error(f"--replicas {replicas}: give 1 to 9")
    if args.etcd and shutil.which("etcd") is None:
        if os.geteuid() != 0:
            parser.error("etcd is missing and installing it needs root: sudo apt-get install -y etcd-server (or --no-etcd)")
        log("installing Debian's etcd-server...")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "etcd-server"], check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    subprocess.run([SYNOD, "--help"], check=True, stdout=subprocess.DEVNULL)  # builds once, before anything is timed
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    base = tempfile.mkdtemp(prefix="synod-scale.", dir=os.environ.get("TMPDIR", "/var/tmp"))
    log(f"work directory {base}; results appended to {args.out}")
    try:
        for replicas in args.replicas:
            for value_bytes in args.value_sizes:
                for keys in args.keys:
                    log(f"cell: {keys} keys of {KEY_BYTES}+{value_bytes} B, {replicas} replicas")
                    measure_cell(args, os.path.join(base, f"{keys}-{value_bytes}-{replicas}"), keys, value_bytes, replicas, args.out)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    main()
