#!/usr/bin/env python3
"""What one put costs each process: CPU per put of the leader, each follower and the load generator, and bytes
allocated per put by each replica; builds A/B, and the gRPC echo ceiling beside them.

  bench/put-cost.py --build new=./synod --build old=/work/ab-old/synod --echo --rounds 3

Run each ./synod once first (./synod --version): one whose build is stale builds itself in its first timed start.

Each round runs every build in turn (and, with --echo, `synod bench-echo` with the first build), alternating: a fresh
3-replica cluster (`synod cluster`) on 127.0.0.1, --warmup of 256-client puts by a first `synod bench`, then a measured
`synod bench --mode put --clients 256` of --duration. Around the measured run it reads each replica's CPU time
(/proc/PID/stat), its allocated bytes (dotnet_gc_heap_total_allocated_bytes_total from /metrics) and the load
generator's CPU time (its whole process, start included), and divides by the puts acknowledged. Throughput alone
drifts with this machine's speed and with the batch sizes it leads to; the CPU per put of each process and the bytes
allocated per put say where a change moved the cost. The load generator runs the same code against every build, so the
replicas' CPU per put divided by its own ("replicas/client") takes out much of the machine's drift: for one build
over six rounds it moved 1.19-1.36 where the replicas' CPU per put moved 54.7-85.4 us (docs/performance.md). It does
not take out the batching a run falls into, and the client spends more per put against a cluster than against echo,
so it compares builds, not a build with echo. A JSON line per run goes to --out; the medians per build are
printed. Replicas only on 127.0.0.1; every process it starts is stopped by its pid.
"""

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def metric(port, name):
    """The first sample of a metric at a replica's /metrics, or None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + "{") or line.startswith(name + " "):
                    return float(line.split()[-1])
    except OSError:
        return None
    return None


def allocated(port):
    return metric(port, "dotnet_gc_heap_total_allocated_bytes_total")


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def replica_id(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        args = f.read().split(b"\0")
    return int(args[args.index(b"--id") + 1]) if b"--id" in args else None


def stop(process):
    """SIGTERM to a process this script started (by its pid), SIGKILL if it has not ended 30 s later."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


def bench(exe, args, timeout):
    """Runs `synod bench` and returns (its JSON, its CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([exe, "bench", "--json"] + args, capture_output=True, text=True, timeout=timeout)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"synod bench failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(done.stdout.strip().splitlines()[-1]), cpu


def run_synod(label, exe, work, args):
    data = os.path.join(work, f"{label}-{int(time.time() * 1000)}")
    os.makedirs(data)
    log = open(os.path.join(data, "cluster.log"), "w")
    cluster = subprocess.Popen([exe, "cluster", "--replicas", "3", "--data-dir", data, "--base-port", str(args.base_port),
                                "--http-base-port", str(args.base_port + 1000)], stdout=log, stderr=subprocess.STDOUT,
                               cwd=work)
    try:
        deadline = time.time() + 60
        while subprocess.run([exe, "put", "--data-dir", data, "put-cost", "ready"], capture_output=True).returncode != 0:
            if time.time() > deadline:
                raise RuntimeError(f"the cluster in {data} did not take a put within 60 s")
            time.sleep(0.5)
        load = ["--data-dir", data, "--mode", "put", "--clients", "256"]
        bench(exe, load + ["--duration", args.warmup], 120)
        replicas = {replica_id(p): p for p in children(cluster.pid)}
        cpu0 = {i: cpu_seconds(p) for i, p in replicas.items()}
        alloc0 = {i: allocated(args.base_port + 1000 + i - 1) for i in replicas}
        result, client_cpu = bench(exe, load + ["--duration", args.duration], 120)
        cpu1 = {i: cpu_seconds(p) for i, p in replicas.items()}
        alloc1 = {i: allocated(args.base_port + 1000 + i - 1) for i in replicas}
        leader = next((i for i in replicas if metric(args.base_port + 1000 + i - 1, "synod_leader") == 1), None)
        ops = result["ops"]
        row = {"build": label, "target": "synod", "ops": ops, "ops_per_sec": result["ops_per_sec"], "p99_ms": result["p99_ms"],
               "client_us_per_put": client_cpu * 1e6 / ops, "leader": leader, "replicas": {}}
        for i in sorted(replicas):
            used = alloc1[i] - alloc0[i] if alloc0[i] is not None and alloc1[i] is not None else None
            row["replicas"][i] = {"us_per_put": (cpu1[i] - cpu0[i]) * 1e6 / ops,
                                  "bytes_per_put": used / ops if used is not None else None}
        return row
    finally:
        stop(cluster)
        log.close()


def run_echo(exe, work, args):
    port = args.base_port + 90
    echo = subprocess.Popen([exe, "bench-echo", "--listen", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=work)
    try:
        time.sleep(2)
        load = ["--target", "echo", "--endpoints", f"127.0.0.1:{port}", "--mode", "put", "--clients", "256"]
        bench(exe, load + ["--duration", args.warmup], 120)
        before = cpu_seconds(echo.pid)
        result, client_cpu = bench(exe, load + ["--duration", args.duration], 120)
        ops = result["ops"]
        return {"build": "echo", "target": "echo", "ops": ops, "ops_per_sec": result["ops_per_sec"], "p99_ms": result["p99_ms"],
                "client_us_per_put": client_cpu * 1e6 / ops, "server_us_per_put": (cpu_seconds(echo.pid) - before) * 1e6 / ops}
    finally:
        stop(echo)


def describe(row):
    if row["target"] == "echo":
        return (f"{row['build']:>8}: {row['ops_per_sec']:9,.0f} puts/s  server {row['server_us_per_put']:5.1f} us/put"
                f"  client {row['client_us_per_put']:5.1f}  server/client {relative(row):.3f}")
    parts = []
    for i, r in sorted(row["replicas"].items(), key=lambda kv: int(kv[0])):
        role = "L" if row["leader"] is not None and int(i) == int(row["leader"]) else "F"
        alloc = f", {r['bytes_per_put']:,.0f} B" if r["bytes_per_put"] is not None else ""
        parts.append(f"r{i}{role} {r['us_per_put']:5.1f} us{alloc}")
    total = sum(r["us_per_put"] for r in row["replicas"].values())
    return (f"{row['build']:>8}: {row['ops_per_sec']:9,.0f} puts/s  replicas {total:5.1f} us/put ({'; '.join(parts)})"
            f"  client {row['client_us_per_put']:5.1f}  replicas/client {relative(row):.3f}")


def relative(row):
    """The servers' CPU per put over the load generator's: the replicas' for a build, the echo server's for echo."""
    servers = row["server_us_per_put"] if row["target"] == "echo" else sum(r["us_per_put"] for r in row["replicas"].values())
    return servers / row["client_us_per_put"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="append", required=True, metavar="LABEL=PATH",
                        help="a synod executable to measure, with its label (give two or more to compare)")
    parser.add_argument("--echo", action="store_true", help="measure `synod bench-echo` (the gRPC ceiling) in each round too")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", default="10s", help="puts before measuring, on each fresh cluster (default 10s)")
    parser.add_argument("--duration", default="10s", help="the measured run (default 10s)")
    parser.add_argument("--base-port", type=int, default=7101)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "put-cost.jsonl"))
    parser.add_argument("--label", default="", help="recorded with every row")
    args = parser.parse_args()
    builds = []
    for spec in args.build:
        label, sep, path = spec.partition("=")
        if not sep or not label or not os.access(path, os.X_OK):
            sys.exit(f"put-cost: --build '{spec}' is not LABEL=PATH of an executable synod.")
        builds.append((label, os.path.abspath(path)))
    if args.rounds < 1:
        sys.exit(f"put-cost: --rounds {args.rounds} must be 1 or more.")

    work = tempfile.mkdtemp(prefix="synod-put-cost.")
    rows = []
    with open(args.out, "a") as out:
        for round_ in range(1, args.rounds + 1):
            order = builds if round_ % 2 == 1 else list(reversed(builds))
            for label, exe in order:
                row = run_synod(label, exe, work, args)
                row.update({"round": round_, "label": args.label, "date": time.strftime("%Y-%m-%d %H:%M:%S")})
                rows.append(row)
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(f"round {round_} {describe(row)}", flush=True)
            if args.echo:
                row = run_echo(builds[0][1], work, args)
                row.update({"round": round_, "label": args.label, "date": time.strftime("%Y-%m-%d %H:%M:%S")})
                rows.append(row)
                out.write(json.dumps(row) + "\n")
                out.flush()
                print(f"round {round_} {describe(row)}", flush=True)

    print("medians:")
    for label in [b[0] for b in builds] + (["echo"] if args.echo else []):
        mine = [r for r in rows if r["build"] == label]
        rate = statistics.median(r["ops_per_sec"] for r in mine)
        client = statistics.median(r["client_us_per_put"] for r in mine)
        if label == "echo":
            print(f"  echo: {rate:,.0f} puts/s, server {statistics.median(r['server_us_per_put'] for r in mine):.1f} us/put, client {client:.1f}")
            continue
        total = statistics.median(sum(x["us_per_put"] for x in r["replicas"].values()) for r in mine)
        leader_alloc = [x["bytes_per_put"] for r in mine for i, x in r["replicas"].items()
                        if r["leader"] is not None and int(i) == int(r["leader"]) and x["bytes_per_put"] is not None]
        follower_alloc = [x["bytes_per_put"] for r in mine for i, x in r["replicas"].items()
                          if r["leader"] is not None and int(i) != int(r["leader"]) and x["bytes_per_put"] is not None]
        allocs = (f", allocated {statistics.median(leader_alloc):,.0f} B/put at the leader and {statistics.median(follower_alloc):,.0f} at a follower"
                  if leader_alloc and follower_alloc else "")
        print(f"  {label}: {rate:,.0f} puts/s, the replicas {total:.1f} us of CPU per put, client {client:.1f}{allocs}")
        print(f"  {label}: replicas/client {statistics.median(relative(r) for r in mine):.3f}"
              f" (rounds {', '.join(f'{relative(r):.3f}' for r in mine)})")
    if args.echo:
        print(f"  echo: server/client {statistics.median(relative(r) for r in rows if r['build'] == 'echo'):.3f}"
              f" (rounds {', '.join(f'{relative(r):.3f}' for r in rows if r['build'] == 'echo')})")
        echo_rates = {r["round"]: r["ops_per_sec"] for r in rows if r["build"] == "echo"}
        for label in [b[0] for b in builds]:
            ratios = [r["ops_per_sec"] / echo_rates[r["round"]] for r in rows if r["build"] == label and r["round"] in echo_rates]
            print(f"  {label} / echo, per round: {', '.join(f'{x:.2f}' for x in ratios)}")
    if not os.environ.get("PUT_COST_KEEP"):
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
