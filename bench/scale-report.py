#!/usr/bin/env python3
"""Tables and plots of bench/scale.py's results, for docs/performance.md "Scale".

  bench/scale-report.py bench/results/scale.jsonl --plots docs/img   # markdown on stdout, SVG plots in docs/img

Only the lines without a --label (scale.py's A/B runs carry one) unless --label LABEL picks those.

For each (system, keys, value size, replicas) the last measured line wins. The plots are plain SVG (no library), one
per dimension: put throughput at 256 clients and memory per key against key count (256-byte values, 3 replicas) and
against value size, and put throughput against replica count; Synod and etcd on the same axes.
"""

import json
import math
import os
import sys

COLOURS = {"synod": "#1f6feb", "etcd": "#d1242f"}


def load(path, label=""):
    latest = {}
    with open(path) as lines:
        for line in lines:
            if line.strip():
                row = json.loads(line)
                if row.get("label", "") == label:
                    latest[(row["system"], row["keys"], row["value_bytes"], row["replicas"])] = row
    return list(latest.values())


def human_count(n):
    return f"{n // 1000000}M" if n >= 1000000 and n % 1000000 == 0 else f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def human_size(n):
    return f"{n // 1048576} MiB" if n >= 1048576 else f"{n // 1024} KiB" if n >= 1024 else f"{n} B"


def mib(kib_list):
    return max(kib_list) / 1024 if kib_list else 0


def cell_table(rows, title, vary, label):
    systems = sorted({r["system"] for r in rows}, key=lambda s: s != "synod")
    cells = sorted({r[vary] for r in rows})
    out = [f"**{title}**", "",
           "| " + label + " | system | put 64 ops/s (p99 ms) | put 256 ops/s (p99 ms) | get 64 ops/s (p99 ms) | get 256 ops/s (p99 ms)"
           " | RSS per replica filled | bytes/key beyond data | disk per replica | restart to serving |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for value in cells:
        for system in systems:
            row = next((r for r in rows if r[vary] == value and r["system"] == system), None)
            if row is None:
                continue
            runs = []
            for workload in ("put:64", "put:256", "get:64", "get:256"):
                w = row.get(workload)
                runs.append(f"{w['ops_per_sec']:,.0f} ({w['p99_ms']:.1f})" if w else "-")
            shown = human_count(value) if vary == "keys" else human_size(value) if vary == "value_bytes" else str(value)
            restart = f"{row['restart_seconds']:.2f} s" if "restart_seconds" in row else "-"
            out.append(f"| {shown} | {system} | " + " | ".join(runs) +
                       f" | {mib(row['rss_filled_kib']):,.0f} MiB | {row['overhead_bytes_per_key']:,.0f} |"
                       f" {max(row['disk_bytes']) / 1048576:,.0f} MiB | {restart} |")
    ratios = []
    for value in cells:
        synod = next((r for r in rows if r[vary] == value and r["system"] == "synod"), None)
        etcd = next((r for r in rows if r[vary] == value and r["system"] == "etcd"), None)
        if synod and etcd and "put:256" in synod and "put:256" in etcd:
            shown = human_count(value) if vary == "keys" else human_size(value) if vary == "value_bytes" else str(value)
            memory = (synod["bytes_per_key"] / etcd["bytes_per_key"]) if etcd["bytes_per_key"] > 0 else float("nan")
            ratios.append(f"{shown}: put 256 {synod['put:256']['ops_per_sec'] / etcd['put:256']['ops_per_sec']:.2f}x etcd,"
                          f" memory per key {memory:.2f}x etcd's")
    if ratios:
        out += ["", "Synod against etcd — " + "; ".join(ratios) + "."]
    out += ["", measured_on(r for r in rows if r[vary] in cells)]
    return "\n".join(out)


def measured_on(rows):
    """The days the rows of a table were measured on, so that a table mixing old and new cells says so."""
    return "Measured on " + ", ".join(sorted({r.get("date", "an unrecorded day")[:10] for r in rows})) + "."


def snapshot_table(rows):
    synod = sorted((r for r in rows if r["system"] == "synod" and r.get("snapshot_bytes")),
                   key=lambda r: (r["replicas"], r["value_bytes"], r["keys"]))
    if not synod:
        return ""
    out = ["**Snapshots, restart and catch-up (Synod)**", "",
           "| keys | value | replicas | snapshot size | snapshot takes | put 64 p99 quiet | put 64 p99 during a snapshot |"
           " restart to serving | empty replica caught up | catch-up rate |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in synod:
        def ms(key):
            return f"{r[key]:.1f} ms" if r.get(key) is not None else "none caught"
        catchup = f"{r['catchup_seconds']:.2f} s" if "catchup_seconds" in r else "-"
        rate = f"{r['catchup_mb_per_sec']:.0f} MB/s" if "catchup_mb_per_sec" in r else "-"
        taken = f"{r['snapshot_seconds_mean']:.2f} s" if r.get("snapshot_seconds_mean") is not None else "-"
        restart = f"{r['restart_seconds']:.2f} s" if "restart_seconds" in r else "-"
        out.append(f"| {human_count(r['keys'])} | {human_size(r['value_bytes'])} | {r['replicas']} |"
                   f" {r['snapshot_bytes'] / 1048576:,.0f} MiB | {taken} | {ms('put64_p99_quiet_ms')} ({r['runs_quiet']} runs) |"
                   f" {ms('put64_p99_during_snapshot_ms')} ({r['runs_during_snapshot']} runs) |"
                   f" {restart} | {catchup} | {rate} |")
    out += ["", measured_on(synod)]
    return "\n".join(out)


def svg_plot(path, title, xlabel, ylabel, series, xlog=True, ylog=False, xticks=None):
    """A line chart: series is {name: [(x, y), ...]}."""
    width, height, left, right, top, bottom = 560, 340, 70, 20, 40, 50
    points = [p for line in series.values() for p in line if p[1] is not None and p[1] > 0]
    if not points:
        return False
    fx = (lambda v: math.log10(v)) if xlog else (lambda v: v)
    fy = (lambda v: math.log10(v)) if ylog else (lambda v: v)
    xs, ys = [fx(p[0]) for p in points], [fy(p[1]) for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = (min(ys), max(ys)) if ylog else (0, max(ys) * 1.1)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y1 = y0 + 1

    def px(v):
        return left + (fx(v) - x0) / (x1 - x0) * (width - left - right)

    def py(v):
        return height - bottom - (fy(v) - y0) / (y1 - y0) * (height - top - bottom)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
             f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">{xlabel}</text>',
             f'<text x="16" y="{height / 2}" text-anchor="middle" transform="rotate(-90 16 {height / 2})">{ylabel}</text>']
    for x, label in (xticks or []):
        parts.append(f'<text x="{px(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{label}</text>')
        parts.append(f'<line x1="{px(x):.1f}" y1="{height - bottom}" x2="{px(x):.1f}" y2="{height - bottom + 4}" stroke="black"/>')
    for i in range(5):
        value = (y0 + (y1 - y0) * i / 4)
        shown = 10 ** value if ylog else value
        y = height - bottom - i / 4 * (height - top - bottom)
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{shown:,.0f}</text>')
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
    for n, (name, line) in enumerate(series.items()):
        line = sorted(p for p in line if p[1] is not None and p[1] > 0)
        colour = COLOURS.get(name.split()[0], "#555")
        dash = ' stroke-dasharray="5,4"' if " get " in f" {name} " else ""  # gets dashed, beside the same system's puts
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="' +
                     " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in line) + '"/>')
        for x, y in line:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        parts.append(f'<text x="{left + 10}" y="{top + 14 + 16 * n}" fill="{colour}">{name}</text>')
    parts.append("</svg>")
    with open(path, "w") as svg:
        svg.write("\n".join(parts) + "\n")
    return True


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: bench/scale-report.py RESULTS.jsonl [--plots DIR] [--label LABEL]")
    rows = load(sys.argv[1], sys.argv[sys.argv.index("--label") + 1] if "--label" in sys.argv else "")
    plots = sys.argv[sys.argv.index("--plots") + 1] if "--plots" in sys.argv else None
    by_keys = [r for r in rows if r["value_bytes"] == 256 and r["replicas"] == 3]
    # Value sizes, each at the key count it was measured with (256 B at 100k keys, beside 16 B and 4 KiB).
    by_value = [r for r in rows if r["replicas"] == 3 and (r["value_bytes"] != 256 or r["keys"] == 100000)]
    by_replicas = [r for r in rows if r["value_bytes"] == 256 and r["keys"] == 100000]
    sections = []
    if by_keys:
        sections.append(cell_table(by_keys, "Key count (256-byte values, 3 replicas)", "keys", "keys"))
    if len({r["value_bytes"] for r in by_value}) > 1:
        sections.append(cell_table(by_value, "Value size (3 replicas; key count in the result lines)", "value_bytes", "value"))
    if len({r["replicas"] for r in by_replicas}) > 1:
        sections.append(cell_table(by_replicas, "Replicas (100k keys of 256 B)", "replicas", "replicas"))
    sections.append(snapshot_table(rows))
    print("\n\n".join(s for s in sections if s))
    if plots:
        os.makedirs(plots, exist_ok=True)
        systems = sorted({r["system"] for r in rows}, key=lambda s: s != "synod")
        ticks = [(k, human_count(k)) for k in sorted({r["keys"] for r in by_keys})]
        svg_plot(os.path.join(plots, "scale-put-by-keys.svg"), "Put throughput against key count (256 B values, 3 replicas)",
                 "keys held", "ops/s", {f"{s} put 256": [(r["keys"], r.get("put:256", {}).get("ops_per_sec")) for r in by_keys if r["system"] == s] for s in systems} |
                 {f"{s} get 256": [(r["keys"], r.get("get:256", {}).get("ops_per_sec")) for r in by_keys if r["system"] == s] for s in systems}, xticks=ticks)
        svg_plot(os.path.join(plots, "scale-memory-by-keys.svg"), "Resident memory per replica against key count (256 B values)",
                 "keys held", "MiB per replica", {s: [(r["keys"], mib(r["rss_filled_kib"])) for r in by_keys if r["system"] == s] for s in systems},
                 ylog=True, xticks=ticks)
        vticks = [(v, human_size(v)) for v in sorted({r["value_bytes"] for r in by_value})]
        svg_plot(os.path.join(plots, "scale-put-by-value.svg"), "Put throughput against value size (256 clients, 3 replicas)",
                 "value size", "MB/s of values written",
                 {s: [(r["value_bytes"], r.get("put:256", {}).get("ops_per_sec", 0) * r["value_bytes"] / 1e6) for r in by_value if r["system"] == s] for s in systems},
                 ylog=True, xticks=vticks)
        svg_plot(os.path.join(plots, "scale-memory-by-value.svg"), "Memory per key beyond key and value, against value size",
                 "value size", "bytes per key", {s: [(r["value_bytes"], r["overhead_bytes_per_key"]) for r in by_value if r["system"] == s] for s in systems},
                 ylog=True, xticks=vticks)
        rticks = [(n, str(n)) for n in sorted({r["replicas"] for r in by_replicas})]
        svg_plot(os.path.join(plots, "scale-put-by-replicas.svg"), "Put throughput against replicas (100k keys of 256 B)",
                 "replicas", "ops/s", {f"{s} put 256": [(r["replicas"], r.get("put:256", {}).get("ops_per_sec")) for r in by_replicas if r["system"] == s] for s in systems},
                 xlog=False, xticks=rticks)


if __name__ == "__main__":
    main()
