#!/usr/bin/env bash
# Measures cluster mode (issue #15, "Measure and report") with real
# processes on loopback: 3 NATS JetStream servers (the nats-server pinned in
# go.mod) and metricsd nodes, loaded by `metricsd bench`, every load bounded
# by its duration. Not part of CI; figures go to docs/cluster.md and
# docs/performance.md.
#
#   bench/cluster.sh ceiling    # JetStream alone: acks/s, MB/s, sync and async (bench/jsceiling)
#   bench/cluster.sh puts       # acked puts/s, p50, p99: 1 server (--in-memory, durable),
#                               # clusters of N = 1, 2, 3 nodes over 3 NATS servers
#   bench/cluster.sh capacity   # every node capped at 0.25 core (CPU cgroup), N = 1, 2, 4:
#                               # aggregate puts/s, CPU s per 1 M puts, NATS and load CPU
#   bench/cluster.sh memory     # points per node and heap bytes a point, N = 3 vs 1 server
#   bench/cluster.sh all        # the four, in this order
#
# Environment: DURATION of each measured load (10s), WARMUP before it (3s),
# CONNS connections for "puts" (64), CONNS_PER_NODE for "capacity" (32),
# PIPELINE requests in flight a connection (1), PIPELINES the depths
# "puts" runs in turn within a round (PIPELINE), KEYS (1000), POINTS for
# "memory" (300000), ROUNDS of "puts" and "capacity" (1; the rows alternate
# within a round), QUOTA a capped node's cpu.max (25000 100000),
# BASE_PORT (35000: every listener takes the next free port from there to
# BASE_PORT+999), OUT a directory to keep the raw results
# in (results.jsonl; default: the tables only), METRICSD a metricsd binary
# to measure instead of building this tree's.
#
# Every process runs in its own CPU cgroup (v2, or v1's cpu and cpuacct
# hierarchies) so that each one's CPU is read from the kernel; where
# /sys/fs/cgroup is not writable the CPU columns are empty and "capacity"
# is skipped with a message. Needs Go, python3, root for the cgroups.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 1 ] || { sed -n '2,30p' "$0" >&2; exit 2; }
mode=$1

duration=${DURATION:-10s} warmup=${WARMUP:-3s}
conns=${CONNS:-64} per_node=${CONNS_PER_NODE:-32} pipeline=${PIPELINE:-1} pipelines=${PIPELINES:-$pipeline}
keys=${KEYS:-1000} points=${POINTS:-300000} rounds=${ROUNDS:-1} mem_pipeline=${MEMORY_PIPELINE:-16}
quota=${QUOTA:-25000 100000} base=${BASE_PORT:-35000}
work=$(mktemp -d /tmp/metricsd-cbench.XXXXXX)
out=${OUT:-$work}
mkdir -p "$out"
results=$out/results.jsonl
pids=()

report() { python3 bench/cluster_report.py "$@"; }

# --- cgroups -----------------------------------------------------------------

cg_mode="" cg_v2="" cg_cpu="" cg_acct="" nats_monitor=""
cg_init() {
	local tag=metricsd-bench-$$
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		cg_v2=/sys/fs/cgroup/$tag
		if grep -qw cpu /sys/fs/cgroup/cgroup.controllers && mkdir "$cg_v2" 2>/dev/null; then
			if grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control || echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
				echo +cpu >"$cg_v2/cgroup.subtree_control" 2>/dev/null && cg_mode=v2
			fi
		fi
	elif [ -d /sys/fs/cgroup/cpu ] && [ -d /sys/fs/cgroup/cpuacct ]; then
		cg_cpu=/sys/fs/cgroup/cpu/$tag cg_acct=/sys/fs/cgroup/cpuacct/$tag
		if mkdir "$cg_cpu" 2>/dev/null && mkdir "$cg_acct" 2>/dev/null; then
			cg_mode=v1
		fi
	fi
	if [ -z "$cg_mode" ]; then
		echo "note: /sys/fs/cgroup is not writable (or has no cpu controller): no per-process CPU figures, no capacity run" >&2
	else
		echo "cgroups: $cg_mode" >&2
	fi
}

# cg_new NAME QUOTA: (re)creates cgroup NAME; QUOTA is a cpu.max value,
# "max" for no cap.
cg_new() {
	[ -n "$cg_mode" ] || return 0
	local name=$1 q=$2
	if [ "$cg_mode" = v2 ]; then
		mkdir -p "$cg_v2/$name"
		echo "$q" >"$cg_v2/$name/cpu.max"
	else
		mkdir -p "$cg_cpu/$name" "$cg_acct/$name"
		if [ "$q" = max ]; then
			echo -1 >"$cg_cpu/$name/cpu.cfs_quota_us"
		else
			echo "${q#* }" >"$cg_cpu/$name/cpu.cfs_period_us"
			echo "${q% *}" >"$cg_cpu/$name/cpu.cfs_quota_us"
		fi
	fi
}

# cg_join NAME: moves the calling (sub)shell into cgroup NAME.
cg_join() {
	if [ "$cg_mode" = v2 ]; then
		echo "$BASHPID" >"$cg_v2/$1/cgroup.procs"
	elif [ "$cg_mode" = v1 ]; then
		echo "$BASHPID" >"$cg_cpu/$1/cgroup.procs"
		echo "$BASHPID" >"$cg_acct/$1/cgroup.procs"
	fi
}

# cg_spawn NAME CMD...: starts CMD in the background in cgroup NAME, from
# its first instruction (a subshell joins, then execs CMD, so the pid in
# $spawned is CMD's own and is added to $pids).
cg_spawn() {
	local name=$1
	shift
	(cg_join "$name" && exec "$@") &
	spawned=$!
	pids=("$spawned" "${pids[@]}")
}

# cg_run NAME CMD...: runs CMD in cgroup NAME and waits for it.
cg_run() {
	local name=$1
	shift
	(cg_join "$name" && exec "$@")
}

# cg_usage NAME: CPU microseconds used by cgroup NAME so far (0 without
# cgroups, or before NAME exists: a single server has no NATS).
cg_usage() {
	case $cg_mode in
	v2) [ -d "$cg_v2/$1" ] || { echo 0; return; } ;;
	v1) [ -d "$cg_acct/$1" ] || { echo 0; return; } ;;
	esac
	case $cg_mode in
	v2) awk '$1 == "usage_usec" { print $2 }' "$cg_v2/$1/cpu.stat" ;;
	v1) echo $(($(cat "$cg_acct/$1/cpuacct.usage") / 1000)) ;;
	*) echo 0 ;;
	esac
}

# cg_throttled NAME: periods in which cgroup NAME was throttled (0 without cgroups).
cg_throttled() {
	case $cg_mode in
	v2) awk '$1 == "nr_throttled" { print $2 }' "$cg_v2/$1/cpu.stat" ;;
	v1) awk '$1 == "nr_throttled" { print $2 }' "$cg_cpu/$1/cpu.stat" ;;
	*) echo 0 ;;
	esac
}

cg_cleanup() {
	local d
	for d in "$cg_v2" "$cg_cpu" "$cg_acct"; do
		[ -n "$d" ] && [ -d "$d" ] || continue
		find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
		rmdir "$d" 2>/dev/null || true
	done
}

# --- processes ---------------------------------------------------------------

stop_all() {
	local pid
	# metricsd nodes first (they release their partitions), then NATS.
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
}
cleanup() {
	trap - INT TERM EXIT
	stop_all
	cg_cleanup
	rm -rf "$work" # with OUT unset, the results went there too
}
trap cleanup INT TERM EXIT

# wait_for FILE PATTERN: polls FILE for PATTERN for up to 60 s.
wait_for() {
	for _ in $(seq 600); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "timed out waiting for '$2' in $1:" >&2
	tail -n 20 "$1" >&2
	return 1
}

# pick: sets $port to the next free port of this script's range
# (BASE_PORT to BASE_PORT+999). The range lies inside Linux's ephemeral
# ports, where another process's connection may hold any one of them, so
# ports are not fixed: each listener takes the next one free.
next_port=$base
pick() {
	port=$(report free-port "$next_port" $((base + 999)))
	next_port=$((port + 1))
}

# start_nats: 3 fresh JetStream servers, cgroups nats1..nats3, uncapped.
start_nats() {
	local i routes="" client=() route=() monitor=()
	nats_urls="" nats_pids=()
	for i in 1 2 3; do
		pick; client[i]=$port
		pick; route[i]=$port
		routes+="${routes:+, }nats-route://127.0.0.1:${route[i]}"
		nats_urls+="${nats_urls:+,}nats://127.0.0.1:${client[i]}"
	done
	for i in 1 2 3; do
		mkdir -p "$run/nats$i"
		pick; monitor[i]=$port
		cat >"$run/nats$i.conf" <<CONF
server_name: nats$i
listen: 127.0.0.1:${client[i]}
http: 127.0.0.1:${monitor[i]}
jetstream { store_dir: "$run/nats$i" }
cluster { name: metricsd-bench, listen: 127.0.0.1:${route[i]}, routes: [$routes] }
CONF
		cg_new "nats$i" max
		cg_spawn "nats$i" "$nats" -c "$run/nats$i.conf" >"$run/nats$i.log" 2>&1
		nats_pids+=("$spawned")
	done
	nats_monitor=127.0.0.1:${monitor[1]}
	for i in 1 2 3; do wait_for "$run/nats$i.log" "Server is ready"; done
	for _ in $(seq 600); do
		grep -q "metadata leader" "$run"/nats?.log && return 0
		sleep 0.1
	done
	echo "no JetStream meta leader after 60 s" >&2
	return 1
}

# serve NAME QUOTA ARGS...: starts `metricsd serve ARGS` as NAME (log
# $run/NAME.log) in cgroup NAME capped at QUOTA on the next free ports, and
# waits until it listens; adds its addresses to $addrs and $https. A port
# found free can still be taken before the server binds it: then it tries
# again on other ports, up to 5 times.
serve() {
	local name=$1 q=$2 attempt a h
	shift 2
	cg_new "$name" "$q"
	for attempt in 1 2 3 4 5; do
		pick; a=127.0.0.1:$port
		pick; h=127.0.0.1:$port
		cg_spawn "$name" "$bin" serve "$@" --addr "$a" --http-addr "$h" >"$run/$name.log" 2>&1
		for _ in $(seq 600); do
			if grep -q "metricsd listening" "$run/$name.log"; then
				addrs+="${addrs:+,}$a" https+="${https:+,}$h"
				return 0
			fi
			grep -q "metricsd failed" "$run/$name.log" && break
			sleep 0.1
		done
		grep -q "address already in use" "$run/$name.log" || break
		wait "$spawned" 2>/dev/null || true
		echo "  $name: a port was in use; starting it again ($attempt)" >&2
		sleep 1
	done
	echo "$name did not start:" >&2
	tail -n 20 "$run/$name.log" >&2
	return 1
}

# start_nodes N QUOTA: N cluster nodes, node$i in cgroup node$i capped at
# QUOTA; waits until they have shared the 64 partitions out.
start_nodes() {
	local n=$1 q=$2 i
	addrs="" https="" node_names=()
	for i in $(seq "$n"); do
		serve "node$i" "$q" --cluster "$nats_urls" --node "node$i" --pprof --log-level debug
		node_names+=("node$i")
	done
	wait_balanced "$n"
}

# wait_balanced N: polls the nodes' logs until each holds 64/N partitions
# (rounded either way), counted from its claims and releases, for 60 s.
wait_balanced() {
	local n=$1
	for _ in $(seq 600); do
		report balanced "$n" 64 "$run" && return 0
		sleep 0.1
	done
	echo "the partitions did not balance over $n nodes in 60 s" >&2
	report balanced "$n" 64 "$run" -v >&2 || true
	return 1
}

# start_single KIND: one server without a cluster, cgroup node1, uncapped:
# KIND is "memory" (--in-memory) or "durable" (a data directory, the
# default --fsync interval).
start_single() {
	local flags=(--in-memory)
	[ "$1" = memory ] || { mkdir -p "$run/data"; flags=(--data-dir "$run/data"); }
	addrs="" https="" node_names=(node1)
	serve node1 max "${flags[@]}" --pprof
}

# fresh: stops everything and empties the run directory.
fresh() {
	stop_all
	nats_monitor=""
	next_port=$base
	rm -rf "$run"
	mkdir -p "$run"
}

# load ROW NODES CONNS: a warm-up, then the measured `metricsd bench` put
# run from cgroup "load" against $addrs, each cgroup's CPU read around it;
# appends one JSON line to $results.
load() {
	local row=$1 n=$2 c=$3 name before=() after=() groups=(load nats1 nats2 nats3) rc=0
	for name in "${node_names[@]}"; do groups+=("$name"); done
	cg_new load max
	cg_run load "$bin" bench --addr "$addrs" --workload put -c "$c" -P "$pipeline" --keys "$keys" \
		-n 0 --duration "$warmup" --json >"$run/warmup.json" || true
	for name in "${groups[@]}"; do before+=("$name=$(cg_usage "$name")"); done
	for name in "${node_names[@]}"; do before+=("throttled.$name=$(cg_throttled "$name")"); done
	before+=("machine=$(report busy)" "msgs=$(report published "$nats_monitor")")
	cg_run load "$bin" bench --addr "$addrs" --workload put -c "$c" -P "$pipeline" --keys "$keys" \
		-n 0 --duration "$duration" --json >"$run/bench.json" || rc=$?
	after+=("machine=$(report busy)" "msgs=$(report published "$nats_monitor")")
	for name in "${groups[@]}"; do after+=("$name=$(cg_usage "$name")"); done
	for name in "${node_names[@]}"; do after+=("throttled.$name=$(cg_throttled "$name")"); done
	report add "$results" "$row" "$r" "$n" "$c" "$pipeline" "$run/bench.json" "$rc" \
		"before:${before[*]}" "after:${after[*]}"
}

# --- the measurements -----------------------------------------------------------

ceiling() {
	fresh
	start_nats
	echo "== JetStream alone: R3 file streams on 3 servers, 64 publishers (bench/jsceiling)"
	cg_new load max
	cg_run load "$jsceiling" --urls "$nats_urls" --duration "$duration" \
		--pids "$(IFS=,; echo "${nats_pids[*]}")" | tee "$out/ceiling.txt"
	fresh
}

puts() {
	local r n p
	echo "== acknowledged puts: $conns connections x ${pipelines// /, } pipelined, $duration each"
	for r in $(seq "$rounds"); do
		for p in $pipelines; do
			pipeline=$p
			fresh; start_single memory; load single-memory 1 "$conns"
			fresh; start_single durable; load single-durable 1 "$conns"
			for n in 1 2 3; do
				fresh; start_nats; start_nodes "$n" max; load "cluster-$n" "$n" "$conns"
			done
		done
		fresh
	done
	pipeline=${PIPELINE:-1}
	report table puts "$results"
}

capacity() {
	local r n
	if [ -z "$cg_mode" ]; then
		echo "== capacity: skipped, /sys/fs/cgroup is not writable here" >&2
		return 0
	fi
	echo "== capacity: each node capped at cpu.max \"$quota\", $per_node connections a node x $pipeline pipelined, $duration each"
	for r in $(seq "$rounds"); do
		for n in 1 2 4; do
			fresh; start_nats; start_nodes "$n" "$quota"; load "capped-$n" "$n" $((n * per_node))
		done
		fresh
	done
	report table capacity "$results"
}

# memory: in-order puts into KEYS keys (every put a new point), to one
# server and to 3 nodes through node1 only (so node2 and node3 hold only
# what their partitions' engines keep, node1 the write path's buffers
# besides), in three steps: a quarter of POINTS, another quarter, then the
# other half; each node's points and live heap (after a forced GC) after
# the second and third steps. Bytes a point is the heap growth of the third
# step over the points it added on that node, as bench/rss.sh's growth
# figure, so that the costs a node pays once (series, key cache, buffers,
# which the first two steps have grown) drop out. 100 connections own
# 1/100 of the keys each, so with POINTS a multiple of 4 × 100 × KEYS / 100
# every key gets the same rounds and each step's timestamps follow the
# last's: every put is a new point. Each connection keeps MEMORY_PIPELINE
# puts in flight (this is not a latency figure; a session answers in order).
memory() {
	local kind n r=1 quarter=$((points / 4)) start
	start=$(($(date +%s) - points / keys - 10))
	echo "== memory: $points points over $keys keys, 1 server --in-memory vs 3 nodes (puts through node1)"
	for kind in single cluster; do
		fresh
		if [ $kind = single ]; then start_single memory; n=1; else start_nats; start_nodes 3 max; n=3; fi
		cg_new load max
		addrs=${addrs%%,*} # node1's
		put_step 0 "$quarter"
		put_step "$quarter" "$quarter"
		report heap "$out/heap-$kind-before.json" "$https"
		put_step $((2 * quarter)) $((points - 2 * quarter))
		report heap "$out/heap-$kind-after.json" "$https"
		report memory "$results" "$kind" "$n" "$points" "$out/heap-$kind-before.json" "$out/heap-$kind-after.json"
	done
	fresh
	report table memory "$results"
}

# put_step DONE N: N in-order puts to $addrs following DONE earlier ones.
put_step() {
	cg_run load "$bin" bench --addr "$addrs" --workload put -c 100 -P "$mem_pipeline" --keys "$keys" \
		-n "$2" -start $((start + $1 / keys)) --duration 30m --json >"$run/step.json"
}

cg_init
echo "building metricsd, nats-server and jsceiling..." >&2
bin=$work/metricsd jsceiling=$work/jsceiling run=$work/run
if [ -n "${METRICSD:-}" ]; then cp "$METRICSD" "$bin"; else go build -o "$bin" ./cmd/metricsd; fi
go build -o "$jsceiling" ./bench/jsceiling
nats=$(go tool -n nats-server)
report machine
case $mode in
ceiling | puts | capacity | memory) "$mode" ;;
all) ceiling; puts; capacity; memory ;;
*) sed -n '2,30p' "$0" >&2; exit 2 ;;
esac
