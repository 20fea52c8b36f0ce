#!/usr/bin/env python3
"""Turns bench/mqtt.sh raw results (one JSON object per line) into a Markdown table.

Each line carries "server" (urbis or mosquitto), "scenario" (a..e, rss_idle,
rss_idle_clients, rss_after) and the fields `urbis bench mqtt --json` prints.
Missing figures (a broker that did not start, a run that failed) print as n/a.
"""
import argparse
import json
import platform
import subprocess
import sys

SCENARIOS = {
    "a": "(a) QoS 0, 1 → 1, 32 B, max rate",
    "b": "(b) QoS 1, 1 → 1, 32 B, max rate",
    "c": "(c) QoS 1, 4 → 4 fan-in, 32 B, max rate",
    "d": "(d) QoS 0, 1 → 1, 1 KiB, max rate",
    "e": "(e) QoS 1, 1 → 1, 32 B, 10,000 msg/s",
}

# (field, label, format) for the load scenarios; latency only where it means
# something (at max rate it mostly measures the broker's queue length).
LOAD_ROWS = {
    "a": [("publish_rate", "published msg/s ↑", "int"), ("receive_rate", "received msg/s ↑", "int"),
          ("lost_pct", "lost % ↓", "pct")],
    "b": [("publish_rate", "published (acked) msg/s ↑", "int"), ("receive_rate", "received msg/s ↑", "int"),
          ("lost_pct", "lost % ↓", "pct"), ("latency_p50_us", "latency p50 µs ↓", "int"),
          ("latency_p99_us", "latency p99 µs ↓", "int")],
    "c": [("publish_rate", "published (acked) msg/s ↑", "int"), ("receive_rate", "received msg/s ↑", "int"),
          ("lost_pct", "lost % ↓", "pct"), ("latency_p50_us", "latency p50 µs ↓", "int"),
          ("latency_p99_us", "latency p99 µs ↓", "int")],
    "d": [("publish_rate", "published msg/s ↑", "int"), ("receive_rate", "received msg/s ↑", "int"),
          ("lost_pct", "lost % ↓", "pct")],
    "e": [("publish_rate", "published msg/s", "int"), ("lost_pct", "lost % ↓", "pct"),
          ("latency_p50_us", "latency p50 µs ↓", "int"), ("latency_p90_us", "latency p90 µs ↓", "int"),
          ("latency_p99_us", "latency p99 µs ↓", "int"), ("latency_max_us", "latency max µs ↓", "int")],
}


def fmt(v, kind):
    if v is None:
        return "n/a"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "pct":
        return f"{v:.3f}"
    if kind == "mib":
        return f"{v / 1024:.1f}"
    if kind == "load":
        return f"{v:.1f}"
    if kind == "kib":
        return f"{v:.2f}"
    return str(v)


def ratio(u, m):
    if u is None or m is None or m == 0:
        return "n/a"
    return f"{u / m:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--duration", default="?")
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--threads", default="2")
    ap.add_argument("--bench", default="urbis")
    a = ap.parse_args()

    data = {}
    with open(a.results) as f:
        for line in f:
            line = line.strip()
            if line:
                d = json.loads(line)
                data[(d["server"], d["scenario"])] = d

    def get(server, scenario, field):
        d = data.get((server, scenario))
        if not d or "error" in d:
            return None
        return d.get(field)

    rows = []
    for sc, rdefs in LOAD_ROWS.items():
        for field, label, kind in rdefs:
            u, m = get("urbis", sc, field), get("mosquitto", sc, field)
            rows.append((SCENARIOS[sc], label, fmt(u, kind), fmt(m, kind), ratio(u, m)))
        # Where the CPU went: a generator near 100 % x threads, or a high load
        # average from other work, means the figure understates the broker.
        for field, label in (("server_cpu_pct", "broker CPU % (of one core)"),
                             ("bench_cpu_pct", "load generator CPU %"),
                             ("loadavg_before", "machine load average before")):
            u, m = get("urbis", sc, field), get("mosquitto", sc, field)
            kind = "load" if field == "loadavg_before" else "int"
            rows.append((SCENARIOS[sc], label, fmt(u, kind), fmt(m, kind), "—"))

    def per_conn(server):
        idle, busy = get(server, "rss_idle", "rss_kib"), get(server, "rss_idle_clients", "rss_kib")
        n = get(server, "rss_idle_clients", "connected")
        if idle is None or busy is None or not n:
            return None
        return (busy - idle) / n

    mem = "(f) memory (VmRSS)"
    for scenario, label in (("rss_idle", "idle, no clients, MiB ↓"),
                            ("rss_idle_clients", f"{a.idle:,} idle clients, MiB ↓"),
                            ("rss_after", "after scenarios a–e, MiB ↓")):
        u, m = get("urbis", scenario, "rss_kib"), get("mosquitto", scenario, "rss_kib")
        rows.append((mem, label, fmt(u, "mib"), fmt(m, "mib"), ratio(u, m)))
    u, m = per_conn("urbis"), per_conn("mosquitto")
    rows.append((mem, "per idle connection, KiB ↓", fmt(u, "kib"), fmt(m, "kib"), ratio(u, m)))
    u, m = get("urbis", "rss_idle_clients", "connected"), get("mosquitto", "rss_idle_clients", "connected")
    rows.append((mem, "idle clients connected", fmt(u, "int"), fmt(m, "int"), ratio(u, m)))

    try:
        cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        cpu = "?"
    print(f"MQTT broker benchmark — {platform.node()}, {cpu} CPUs, {platform.release()}; "
          f"{a.duration} s per scenario, load generator `{a.bench} bench mqtt` with {a.threads} threads "
          f"on the same machine. ↑ higher is better, ↓ lower is better.\n")
    print("| scenario | figure | Urbis | Mosquitto | Urbis/Mosquitto |")
    print("|---|---|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join(r) + " |")

    errors = [(k, d["error"]) for k, d in data.items() if "error" in d]
    for (server, scenario), e in errors:
        print(f"\n- {server} {scenario}: {e}", file=sys.stdout)
    for (server, scenario), d in sorted(data.items()):
        if d.get("connection_errors"):
            print(f"\n- {server} {scenario}: {d['connection_errors']} connection error(s) during the run")


if __name__ == "__main__":
    main()
