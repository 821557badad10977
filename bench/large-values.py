#!/usr/bin/env python3
"""Large values side by side: does one leader keep its quorum, and how fast are puts, Synod against etcd.

For each load (clients x value size) and round, a fresh 3-replica cluster of each system (Synod: `synod serve` per
replica, mutual TLS peers, defaults; etcd: the same as bench/scale.py), one `synod bench --mode put` run over 200 keys,
then the role changes during the run (Synod: synod_role_changes_total summed over the replicas, the first election
excluded; etcd: etcd_server_leader_changes_seen_total) and Synod's snapshots written. Rounds alternate which system
goes first. One JSON line per run on stdout.

  bench/large-values.py                                  # 1x1MiB, 16x1MiB, 64x64KiB; 2 rounds of 15 s
  bench/large-values.py --loads 1x1MiB --rounds 1 --duration 5s --no-etcd
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import scale  # noqa: E402  (the cluster classes and the bench runner)


def load(text):
    clients, value = text.split("x", 1)
    return int(clients), scale.size(value)


def run(system, clients, value_bytes, duration, replicas=3):
    work = tempfile.mkdtemp(prefix="synod-large.", dir=os.environ.get("TMPDIR", "/var/tmp"))
    os.makedirs(os.path.join(work, "logs"))
    certs = os.path.join(work, "certs")
    subprocess.run([scale.SYNOD, "certs", "--out", certs, "--replicas", str(replicas), "--cluster", "large"], check=True, capture_output=True)
    cluster = (scale.SynodCluster if system == "synod" else scale.EtcdCluster)(work, replicas, certs)

    def changes():
        if system == "synod":
            return sum(cluster.metric(i, "synod_role_changes_total") for i in range(1, replicas + 1))
        total = 0.0
        for i in range(1, replicas + 1):
            with urllib.request.urlopen(f"http://127.0.0.1:{scale.ETCD_CLIENT_BASE + i}/metrics", timeout=5) as answer:
                for line in answer.read().decode().splitlines():
                    if line.startswith("etcd_server_leader_changes_seen_total"):
                        total += float(line.split()[-1])
        return total

    try:
        cluster.start_all()
        scale.wait_serving(cluster)
        time.sleep(1)
        before = changes()
        try:
            result = scale.bench(work, cluster, "put", clients, duration, 200, value_bytes, timeout="10s")
        except RuntimeError as failure:
            result = {"error": str(failure)}
        line = {"system": system, "clients": clients, "value_bytes": value_bytes, "ops_per_sec": result.get("ops_per_sec"),
                "p50_ms": result.get("p50_ms"), "p99_ms": result.get("p99_ms"), "errors": result.get("errors"),
                "role_changes": changes() - before, "error": result.get("error")}
        if system == "synod":
            line["snapshots"] = sum(cluster.metric(i, "synod_snapshots_written_total") for i in range(1, replicas + 1))
        return line
    finally:
        cluster.stop_all()
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loads", default="1x1MiB,16x1MiB,64x64KiB", help="CLIENTSxVALUE, comma-separated")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", default="15s")
    parser.add_argument("--no-etcd", dest="etcd", action="store_false")
    args = parser.parse_args()
    if args.etcd and shutil.which("etcd") is None:
        parser.error("etcd is missing: sudo apt-get install -y etcd-server (or --no-etcd)")
    subprocess.run([scale.SYNOD, "--help"], check=True, stdout=subprocess.DEVNULL)  # builds once, before anything is timed
    for round_number in range(args.rounds):
        for text in args.loads.split(","):
            clients, value_bytes = load(text)
            systems = ["synod", "etcd"] if args.etcd else ["synod"]
            for system in systems if round_number % 2 == 0 else reversed(systems):
                line = run(system, clients, value_bytes, args.duration)
                line["round"] = round_number + 1
                print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
