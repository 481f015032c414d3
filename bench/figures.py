#!/usr/bin/env python3
"""Helpers of bench/compare.sh (standard library only).

  figures.py field FILE PATH          print a field of a JSON file (dotted path)
  figures.py redis-rps FILE           print the rps of redis-benchmark --csv output
  figures.py rss PID                  print a process's resident set in bytes
  figures.py cpu PID                  print a process's CPU seconds (user + system)
  figures.py free-port                print a free TCP port on 127.0.0.1
  figures.py run-cpu OUT CMD...       run CMD, write the CPU seconds it and its
                                      children used to OUT, exit with its status
  figures.py export-points FILE       count the points of a VictoriaMetrics export
  figures.py prom-sum URL METRIC      sum a metric's samples on a Prometheus text page
  figures.py fetch URL [OUT]          GET URL (into OUT), print the seconds it took
  figures.py machine                  print "N cores, CPU model, M GiB"
  figures.py dir-bytes DIR            print the bytes of the files under DIR
  figures.py settled-disk DIR URL     wait (30 s at most) until DIR holds what
                                      VictoriaMetrics at URL counts in
                                      vm_data_size_bytes and stops changing,
                                      and print DIR's bytes
  figures.py resp hset N KEYS PREFIX  write RESP HSET commands of N points to stdout
  figures.py resp hgetall KEYS PREFIX write RESP HGETALL of every key to stdout
  figures.py add FILE ROW SERVER VALUE   append one measurement (JSON lines)
  figures.py render FILE OUTDIR KEY=VALUE...  medians, ratios and targets as a
                                      table on stdout, OUTDIR/results.md and
                                      OUTDIR/results.json
"""

import csv
import json
import os
import random
import statistics
import sys
import time
import urllib.request

# Columns of the table, in order: (server id, heading).
SERVERS = [
    ("metricsd", "metricsd"),
    ("metricsd_durable", "metricsd durable (fsync 1 s)"),
    ("redis_hset", "Redis HSET"),
    ("redis_ping", "Redis PING (ceiling)"),
    ("python", "course-style Python"),
    ("vm", "VictoriaMetrics"),
]

# Columns that are metricsd itself, not peers: no ratio against them.
NOT_PEERS = {"metricsd", "metricsd_durable"}

# Rows: (id, heading, unit, better, target). A target is (peer, factor) or
# (peer, factor, row): metricsd must be at least factor x the peer (higher
# is better) or at most factor x it (lower is better), the peer's figure
# taken from row when given; peer None means an absolute bound.
ROWS = [
    ("put1", "puts/s, 1 client, no pipelining", "/s", "higher", None),
    ("put50", "puts/s, 50 clients, no pipelining", "/s", "higher", ("redis_hset", 1.0)),
    ("put50x16", "puts/s, 50 clients, 16 pipelined", "/s", "higher", ("redis_hset", 2.0)),
    ("stream_put", "points/s, acknowledged puts, 4 connections x 1024 pipelined",
     "/s", "higher", ("vm", 1.0, "stream_graphite")),
    ("stream_graphite", "points/s, Graphite plaintext, 4 connections, stored count confirmed",
     "/s", "higher", ("vm", 1.0)),
    ("bytes", "bytes per stored point (1M points): RSS growth; Redis used_memory; VM disk",
     "B", "lower", None),
    ("bytes_heap", "bytes per stored point, metricsd's own figure (Go heap in use)", "B", "lower", None),
    ("readall", "read all 1M points back (seconds)", "s", "lower", (None, 0.1)),
    ("cpu_server", "server CPU per put, 50 clients x 16 pipelined (µs)", "µs", "lower", None),
    ("cpu_client", "load generator CPU per put, same runs (µs; redis-benchmark for Redis)",
     "µs", "lower", None),
]


def field(path, dotted):
    with open(path) as f:
        v = json.load(f)
    for part in dotted.split("."):
        v = v[part]
    print(v)


def redis_rps(path):
    with open(path) as f:
        rows = [r for r in csv.reader(f) if r and r[0] != "test"]
    print(rows[-1][1])


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                print(int(line.split()[1]) * 1024)
                return
    raise SystemExit(f"no VmRSS for pid {pid}")


def export_points(path):
    n = 0
    with open(path) as f:
        for line in f:
            if line.strip():
                n += len(json.loads(line)["values"])
    print(n)


def prom_sum(url, metric):
    """The sum of metric's samples (every label set) at url, or None."""
    total, found = 0.0, False
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if not line or line.startswith("#"):
                continue
            series, _, value = line.rpartition(" ")
            if series.split("{", 1)[0] == metric:
                total += float(value)
                found = True
    return total if found else None


def fetch(url, out=os.devnull):
    """GETs url into out and prints the seconds from request to last byte."""
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=300) as r, open(out, "wb") as f:
        while chunk := r.read(1 << 20):
            f.write(chunk)
    print(f"{time.monotonic() - t0:.6f}")


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        kib = int(f.readline().split()[1])
    print(f"{os.cpu_count()} cores, {model}, {kib / (1 << 20):.0f} GiB")


def dir_bytes(path):
    n = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                n += os.lstat(os.path.join(root, f)).st_size
            except FileNotFoundError:
                pass  # a part merged away while walking
    return n


def settled_disk(path, url):
    """VictoriaMetrics writes in-memory parts to disk some seconds after
    /internal/force_flush; wait (30 s at most) until the directory holds at
    least the data size VictoriaMetrics reports and has stopped changing,
    then print its size."""
    deadline = time.monotonic() + 30
    prev, size = -1, dir_bytes(path)
    while time.monotonic() < deadline:
        want = prom_sum(url, "vm_data_size_bytes") or 0
        if size >= want and size == prev:
            break
        time.sleep(0.5)
        prev, size = size, dir_bytes(path)
    print(size)


def resp(cmd, args):
    def command(*words):
        parts = [f"*{len(words)}\r\n"]
        for w in words:
            parts.append(f"${len(w)}\r\n{w}\r\n")
        return "".join(parts)

    out = sys.stdout
    if cmd == "hset":
        n, keys, prefix = int(args[0]), int(args[1]), args[2]
        width = len(str(keys - 1))
        rng = random.Random(1)
        start = 1_700_000_000
        buf = []
        for i in range(n):
            key = f"{prefix}{i % keys:0{width}d}"
            value = f"{rng.randrange(10000) / 100}"
            buf.append(command("HSET", key, str(start + i // keys), value))
            if len(buf) == 10000:
                out.write("".join(buf))
                buf = []
        out.write("".join(buf))
    elif cmd == "hgetall":
        keys, prefix = int(args[0]), args[1]
        width = len(str(keys - 1))
        out.write("".join(command("HGETALL", f"{prefix}{k:0{width}d}") for k in range(keys)))
    else:
        raise SystemExit(f"unknown resp command {cmd}")


def cpu(pid):
    """CPU seconds of process pid: utime + stime of /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    print((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))


def free_port():
    """A port on 127.0.0.1 that nothing listens on right now."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def run_cpu(out, cmd):
    """Runs cmd and writes the CPU seconds its process tree used to out."""
    import resource
    import subprocess
    status = subprocess.call(cmd)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        f.write(f"{usage.ru_utime + usage.ru_stime}\n")
    sys.exit(status)


def add(path, row, server, value):
    with open(path, "a") as f:
        f.write(json.dumps({"row": row, "server": server, "value": float(value)}) + "\n")


def fmt(v, unit):
    if v is None:
        return ""
    if unit == "/s":
        return f"{v:,.0f}"
    if unit == "s":
        return f"{v:.3f} s"
    if unit == "µs":
        return f"{v:.2f} µs"
    return f"{v:.1f}"


def render(path, outdir, meta):
    runs = {}
    with open(path) as f:
        for line in f:
            m = json.loads(line)
            runs.setdefault((m["row"], m["server"]), []).append(m["value"])
    medians = {key: statistics.median(v) for key, v in runs.items()}
    table = []
    for row_id, heading, unit, better, target in ROWS:
        cells = {s: medians[(row_id, s)] for s, _ in SERVERS if (row_id, s) in medians}
        table.append(judge(row_id, heading, unit, better, target, cells, runs, medians))
    doc = {"meta": meta, "rows": table}
    with open(f"{outdir}/results.json", "w") as f:
        json.dump(doc, f, indent=2)
    md = markdown(table, meta)
    with open(f"{outdir}/results.md", "w") as f:
        f.write(md)
    print(md)


def judge(row_id, heading, unit, better, target, cells, runs, medians):
    """One row: medians, metricsd's ratio to each peer, and its target."""
    me = cells.get("metricsd")
    ratios = {s: me / v for s, v in cells.items() if s not in NOT_PEERS and me and v}
    verdict, goal = None, ""
    if target is not None:
        peer, factor, peer_row = (*target, row_id)[:3]
        bound = factor
        if peer is not None:
            theirs = medians.get((peer_row, peer))
            bound = theirs * factor if theirs else None
            if theirs and me and peer_row != row_id:
                ratios[peer] = me / theirs
        word = "≥" if better == "higher" else "≤"
        goal = f"{word} {factor}" + ("" if peer is None else f" × {dict(SERVERS)[peer]}")
        if peer_row != row_id:
            goal += " (its figure in the Graphite row)"
        if me is not None and bound is not None:
            verdict = me >= bound if better == "higher" else me <= bound
    return {
        "id": row_id, "work": heading, "unit": unit, "better": better,
        "median": cells, "runs": {s: runs[(row_id, s)] for s in cells},
        "metricsd_ratio": ratios, "target": goal, "met": verdict,
    }


def markdown(table, meta):
    lines = [f"Measured {meta.get('date', '?')} on {meta.get('machine', '?')} "
             f"(load average {meta.get('load', '?')}), commit {meta.get('commit', '?')}; "
             f"median of {meta.get('runs', '?')} runs; ratio = metricsd / peer.",
             f"Command: `{meta.get('command', '?')}`", ""]
    head = ["work"] + [h for _, h in SERVERS] + ["metricsd / peer", "target", "met"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for r in table:
        if not r["median"]:
            continue  # e.g. a metricsd feature that does not exist yet
        cells = [fmt(r["median"].get(s), r["unit"]) for s, _ in SERVERS]
        ratio = ", ".join(f"{v:.2f}× {dict(SERVERS)[s]}" for s, v in r["metricsd_ratio"].items())
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        lines.append("| " + " | ".join([r["work"]] + cells + [ratio, r["target"], met]) + " |")
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "field":
        field(*args)
    elif cmd == "redis-rps":
        redis_rps(*args)
    elif cmd == "rss":
        rss(*args)
    elif cmd == "cpu":
        cpu(*args)
    elif cmd == "free-port":
        free_port()
    elif cmd == "run-cpu":
        run_cpu(args[0], args[1:])
    elif cmd == "export-points":
        export_points(*args)
    elif cmd == "prom-sum":
        v = prom_sum(*args)
        if v is None:
            raise SystemExit(f"no {args[1]} at {args[0]}")
        print(v)
    elif cmd == "fetch":
        fetch(*args)
    elif cmd == "machine":
        machine()
    elif cmd == "dir-bytes":
        print(dir_bytes(*args))
    elif cmd == "settled-disk":
        settled_disk(*args)
    elif cmd == "resp":
        resp(args[0], args[1:])
    elif cmd == "add":
        add(*args)
    elif cmd == "render":
        render(args[0], args[1], dict(kv.split("=", 1) for kv in args[2:]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
