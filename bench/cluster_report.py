#!/usr/bin/env python3
"""Helpers of bench/cluster.sh (standard library only).

  cluster_report.py machine                      cores, CPU model, load average
  cluster_report.py balanced N P RUNDIR [-v]     exit 0 when the N nodes' logs
                                                 (RUNDIR/node*.log, debug level)
                                                 show each holding P/N partitions
                                                 (rounded either way), P in all
  cluster_report.py add RESULTS ROW ROUND N CONNS PIPELINE BENCHJSON RC \\
                        before:G=US... after:G=US...
                                                 append one load measurement: the
                                                 bench report and each cgroup's
                                                 CPU microseconds around it
  cluster_report.py heap OUT HOST:PORT,...        force a GC on each node (its
                                                 HTTP address, /debug/pprof),
                                                 then save their live heap (heap
                                                 goal and heap_alloc after the GC),
                                                 points and series to OUT (and
                                                 each heap profile beside it)
  cluster_report.py busy                         print the CPU microseconds the
                                                 whole machine has been busy
                                                 (/proc/stat: all but idle, iowait,
                                                 steal) and wall=MONOTONIC_US
  cluster_report.py published HOST:PORT           print how many messages metricsd's
                                                 streams (METRICSD_*) have taken, from
                                                 a NATS server's /jsz (0 without one)
  cluster_report.py free-port FROM TO            print the first port of FROM..TO
                                                 free to listen on 127.0.0.1
  cluster_report.py memory RESULTS KIND N POINTS BEFORE AFTER
                                                 append the memory measurement
  cluster_report.py table puts|capacity|memory RESULTS
                                                 print the Markdown table
"""

import json
import os
import re
import socket
import sys
import time
import urllib.request


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"machine: {os.cpu_count()} cores, {model}; load average {load}", file=sys.stderr)


def busy():
    with open("/proc/stat") as f:
        f = f.readline().split()
    # cpu user nice system idle iowait irq softirq steal ...: USER_HZ (100)
    # ticks; steal is time the hypervisor gave to other machines.
    ticks = [int(x) for x in f[1:8]]
    print((sum(ticks) - ticks[3] - ticks[4]) * 10_000, f"wall={time.monotonic_ns() // 1000}")


def published(monitor=""):
    if not monitor:
        print(0)
        return
    with urllib.request.urlopen(f"http://{monitor}/jsz?accounts=true&streams=true", timeout=30) as r:
        jsz = json.load(r)
    total = 0
    for acct in jsz.get("account_details") or []:
        for st in acct.get("stream_detail") or []:
            if st["name"].startswith("METRICSD_"):
                total += st["state"]["last_seq"]
    print(total)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


CLAIMED = re.compile(r'msg="cluster: partition claimed"')
GONE = re.compile(r'msg="cluster: (partition released|lost a partition\'s lease)"')


def balanced(n, parts, rundir, verbose=False):
    n, parts = int(n), int(parts)
    held = []
    for i in range(1, n + 1):
        count = 0
        try:
            with open(os.path.join(rundir, f"node{i}.log")) as f:
                for line in f:
                    if CLAIMED.search(line):
                        count += 1
                    elif GONE.search(line):
                        count -= 1
        except FileNotFoundError:
            pass
        held.append(count)
    lo, hi = parts // n, -(-parts // n)
    ok = sum(held) == parts and all(lo <= h <= hi for h in held)
    if verbose:
        print(f"partitions held: {held}, want {lo} to {hi} each, {parts} in all")
    sys.exit(0 if ok else 1)


def add(results, row, rnd, n, conns, pipeline, bench, rc, before, after):
    def groups(arg, prefix):
        assert arg.startswith(prefix), arg
        out = {}
        for kv in arg[len(prefix):].split():
            k, v = kv.split("=", 1)
            out[k] = int(v)
        return out

    b, a = groups(before, "before:"), groups(after, "after:")
    try:
        with open(bench) as f:
            rep = json.load(f)
    except (OSError, ValueError):
        rep = {}
    elapsed = rep.get("elapsed_seconds") or 0
    ok = rep.get("ok", 0)
    # CPU is read around the run (the bench process's start and exit
    # included), so cores are CPU over that same wall time.
    machine = (a.pop("machine") - b.pop("machine")) / 1e6
    wall = (a.pop("wall") - b.pop("wall")) / 1e6
    msgs = a.pop("msgs", 0) - b.pop("msgs", 0)
    cpu = {k: (a[k] - b[k]) / 1e6 for k in a if not k.startswith("throttled.")}
    nodes = {k: v for k, v in cpu.items() if k.startswith("node")}
    nats = sum(v for k, v in cpu.items() if k.startswith("nats"))
    lat = rep.get("latency_us") or {}
    m = {
        "row": row, "round": int(rnd), "nodes": int(n), "connections": int(conns),
        "pipeline": int(pipeline), "exit": int(rc), "ok": ok,
        "errors": (rep.get("errors") or {}).get("total"),
        "first_error": (rep.get("errors") or {}).get("first"),
        "elapsed_s": elapsed, "puts_per_s": rep.get("ops_per_second", 0),
        "p50_ms": lat.get("p50", 0) / 1000, "p99_ms": lat.get("p99", 0) / 1000,
        "cpu_s": cpu,
        "metricsd_cpu_s_per_1M": sum(nodes.values()) / ok * 1e6 if ok else None,
        "metricsd_cores": sum(nodes.values()) / wall,
        "nats_cores": nats / wall,
        "nats_cpu_s_per_1M": nats / ok * 1e6 if ok else None,
        "load_cores": cpu.get("load", 0) / wall,
        "machine_busy_cores": machine / wall,
        "messages": msgs,
        "points_per_message": ok / msgs if msgs > 0 else None,
        "cpu_wall_s": wall,
        "throttled_periods": {k[len("throttled."):]: a[k] - b[k] for k in a if k.startswith("throttled.")},
        "loadavg": loadavg(),
    }
    with open(results, "a") as f:
        f.write(json.dumps(m) + "\n")
    print(f"  {row} (round {rnd}): {m['puts_per_s']:,.0f} puts/s, p50 {m['p50_ms']:.2f} ms, "
          f"p99 {m['p99_ms']:.2f} ms, errors {m['errors']}, metricsd {m['metricsd_cores'] or 0:.2f} cores, "
          f"NATS {m['nats_cores'] or 0:.2f} cores, load generator {m['load_cores'] or 0:.2f} cores, "
          f"machine busy {m['machine_busy_cores'] or 0:.2f} of {os.cpu_count()} cores",
          file=sys.stderr)


def scrape(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def heap(out, https):
    nodes = []
    for i, addr in enumerate(https.split(","), 1):
        http = "http://" + addr
        # The profile forces a GC first; it is kept beside OUT, for
        # go tool pprof -diff_base.
        with open(f"{out.removesuffix('.json')}-node{i}.pb.gz", "wb") as f:
            f.write(scrape(http + "/debug/pprof/heap?gc=1"))
        vals = {}
        for line in scrape(http + "/metrics").decode().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in ("go_memstats_heap_alloc_bytes", "go_memstats_next_gc_bytes",
                                                 "go_gc_gogc_percent", "metricsd_points", "metricsd_series"):
                vals[parts[0]] = float(parts[1])
        nodes.append(vals)
    with open(out, "w") as f:
        json.dump(nodes, f)


def memory(results, kind, n, points, before, after):
    with open(before) as f:
        b = json.load(f)
    with open(after) as f:
        a = json.load(f)
    total = sum(x["metricsd_points"] for x in a)
    per = []
    for x, y in zip(b, a):
        # The live heap at the forced GC: the heap goal that GC set is
        # live × (1 + GOGC/100) plus the same factor of stacks and globals,
        # which do not change here. heap_alloc would also count what the
        # node allocated between that GC and the scrape (a cluster node's
        # heartbeats and consumers never rest).
        factor = 1 + y["go_gc_gogc_percent"] / 100
        grown = (y["go_memstats_next_gc_bytes"] - x["go_memstats_next_gc_bytes"]) / factor
        alloc_grown = y["go_memstats_heap_alloc_bytes"] - x["go_memstats_heap_alloc_bytes"]
        added = y["metricsd_points"] - x["metricsd_points"]
        pts = y["metricsd_points"]
        per.append({"points": pts, "series": y["metricsd_series"], "points_added": added, "heap_growth": grown,
                    "heap_alloc_growth": alloc_grown,
                    "bytes_per_point": grown / added if added else None,
                    "share_vs_fair": pts / (total / len(a)) - 1 if total else None})
    m = {"row": "memory-" + kind, "nodes": int(n), "sent": int(points), "stored": total, "per_node": per,
         "loadavg": loadavg()}
    with open(results, "a") as f:
        f.write(json.dumps(m) + "\n")


def free_port(lo, hi):
    for port in range(int(lo), int(hi) + 1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        print(port)
        return
    print(f"no free port in {lo}..{hi}", file=sys.stderr)
    sys.exit(1)


def fmt(v, spec=",.0f"):
    return "-" if v is None else format(v, spec)


def table(kind, results):
    rows = []
    with open(results) as f:
        for line in f:
            rows.append(json.loads(line))
    if kind == "puts":
        puts_table([r for r in rows if not r["row"].startswith(("capped-", "memory-"))])
    elif kind == "capacity":
        capacity_table([r for r in rows if r["row"].startswith("capped-")])
    else:
        memory_table([r for r in rows if r["row"].startswith("memory-")])


def puts_table(rows):
    print("| round | target | connections × pipeline | acked puts/s | ratio to 1 server in memory | p50 ms | p99 ms | errors "
          "| points a message | metricsd cores | NATS cores | load gen cores | machine busy cores | load avg |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    base = {(r["round"], r["pipeline"]): r["puts_per_s"] for r in rows if r["row"] == "single-memory"}
    for r in rows:
        ref = base.get((r["round"], r["pipeline"]))
        ratio = r["puts_per_s"] / ref if ref else None
        print(f"| {r['round']} | {r['row']} | {r['connections']} × {r['pipeline']} | {fmt(r['puts_per_s'])} | {fmt(ratio, '.3f')} | {r['p50_ms']:.2f} "
              f"| {r['p99_ms']:.2f} | {r['errors']} | {fmt(r.get('points_per_message'), '.1f')} "
              f"| {fmt(r['metricsd_cores'], '.2f')} "
              f"| {fmt(r['nats_cores'], '.2f')} | {fmt(r['load_cores'], '.2f')} "
              f"| {fmt(r.get('machine_busy_cores'), '.2f')} | {r['loadavg']:.1f} |")


def capacity_table(rows):
    print("| round | nodes (0.25 core each) | acked puts/s | × N=1 | target | metricsd CPU s / 1 M puts "
          "| vs N=1 | metricsd cores | throttled periods | NATS cores | NATS CPU s / 1 M | points a message | load gen cores | machine busy cores | p50 ms | p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    one = {r["round"]: r for r in rows if r["nodes"] == 1}
    targets = {1: None, 2: 1.6, 4: 3.2}
    for r in rows:
        ref = one.get(r["round"])
        x = r["puts_per_s"] / ref["puts_per_s"] if ref and ref["puts_per_s"] else None
        t = targets.get(r["nodes"])
        target = "-" if t is None or x is None else f"≥ {t} {'met' if x >= t else 'NOT met'}"
        c1 = ref and ref["metricsd_cpu_s_per_1M"]
        cpu_vs = r["metricsd_cpu_s_per_1M"] / c1 - 1 if c1 and r["metricsd_cpu_s_per_1M"] else None
        thr = sum(r["throttled_periods"].values())
        print(f"| {r['round']} | {r['nodes']} | {fmt(r['puts_per_s'])} | {fmt(x, '.2f')} | {target} "
              f"| {fmt(r['metricsd_cpu_s_per_1M'], '.1f')} | {fmt(cpu_vs * 100 if cpu_vs is not None else None, '+.1f')} % "
              f"| {fmt(r['metricsd_cores'], '.2f')} | {thr} | {fmt(r['nats_cores'], '.2f')} "
              f"| {fmt(r['nats_cpu_s_per_1M'], '.1f')} | {fmt(r.get('points_per_message'), '.1f')} "
              f"| {fmt(r['load_cores'], '.2f')} "
              f"| {fmt(r.get('machine_busy_cores'), '.2f')} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |")


def memory_table(rows):
    print("| target | points stored | node | points | vs total/N | series | points added (last step) "
          "| live heap growth (last step) | bytes / point |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        for i, p in enumerate(r["per_node"], 1):
            share = p["share_vs_fair"]
            print(f"| {r['row']} | {fmt(r['stored'])} | node{i} | {fmt(p['points'])} "
                  f"| {fmt(share * 100 if share is not None else None, '+.1f')} % | {fmt(p['series'])} "
                  f"| {fmt(p['points_added'])} | {fmt(p['heap_growth'] / 2**20, '.2f')} MiB "
                  f"| {fmt(p['bytes_per_point'], '.2f')} |")


def main(argv):
    cmds = {"machine": machine, "balanced": balanced, "add": add, "heap": heap,
            "memory": memory, "table": table, "free-port": free_port, "busy": busy,
            "published": published}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    args = argv[2:]
    if argv[1] == "balanced" and args and args[-1] == "-v":
        cmds["balanced"](*args[:-1], verbose=True)
    else:
        cmds[argv[1]](*args)


if __name__ == "__main__":
    main(sys.argv)
