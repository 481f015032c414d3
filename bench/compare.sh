#!/usr/bin/env bash
# Compares metricsd with its peers of issue #3 on this machine: Redis 7
# (HSET, and PING as the ceiling of its network path), a course-style Python
# asyncio server (bench/course_server.py) and VictoriaMetrics (Graphite
# ingest). Each server runs on 127.0.0.1 on a free port with its data in a
# temporary directory, and is killed when the script exits. Each workload
# runs BENCH_RUNS times and the median is kept. The table goes to stdout and,
# as markdown and JSON, to bench/results/ (gitignored).
#
# Missing peers are installed from Debian (apt-get, as root); a peer that
# cannot be installed is skipped with a message. Besides the peers it needs
# only Go, python3 (standard library) and coreutils. metricsd is built from this
# repository; its load generator is `metricsd bench` (internal/loadgen).
#
# Knobs (environment):
#   BENCH_N         requests of the pipelined run (default 1000000); the
#                   1-client run gets N/30 and the 50-client run N/5
#   BENCH_DURATION  bound on each load run, any server (default 5s)
#   BENCH_STREAM_N  points of each streaming-ingest run (default 2000000)
#   BENCH_POINTS    points loaded for the memory and read-back rows
#                   (default 1000000)
#   BENCH_RUNS      runs per workload (default 3)
#   BENCH_KEYS      keys (default 1000)
# The defaults take about 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

N=${BENCH_N:-1000000}
DUR=${BENCH_DURATION:-5s}
STREAM_N=${BENCH_STREAM_N:-2000000}
POINTS=${BENCH_POINTS:-1000000}
RUNS=${BENCH_RUNS:-3}
KEYS=${BENCH_KEYS:-1000}

work=$(mktemp -d /tmp/metricsd-compare.XXXXXX)
results=$work/measurements.jsonl
outdir=$repo/bench/results
bin=$work/metricsd
fig() { python3 "$repo/bench/figures.py" "$@"; }
say() { printf '== %s\n' "$*" >&2; }

# --- processes -----------------------------------------------------------

declare -A pids=()

cleanup() {
	local name
	for name in "${!pids[@]}"; do
		kill "${pids[$name]}" 2>/dev/null || true
		wait "${pids[$name]}" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

# start NAME LOG CMD...: runs CMD in the background as server NAME.
start() {
	local name=$1 log=$2
	shift 2
	"$@" >"$log" 2>&1 &
	pids[$name]=$!
}

# stop NAME: kills server NAME and waits for it.
stop() {
	local name=$1
	[ -n "${pids[$name]:-}" ] || return 0
	kill "${pids[$name]}" 2>/dev/null || true
	wait "${pids[$name]}" 2>/dev/null || true
	unset "pids[$name]"
}

free_port() { fig free-port; }

# wait_port PORT NAME: waits up to 30 s for 127.0.0.1:PORT to accept.
wait_port() {
	local port=$1 name=$2
	python3 - "$port" <<'EOF' || { echo "compare: $name did not listen on port $port" >&2; return 1; }
import socket, sys, time
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# --- peers ---------------------------------------------------------------

# install_peers installs what is missing from Debian, package by package.
install_peers() {
	local missing=()
	command -v redis-server >/dev/null || missing+=(redis-server)
	command -v redis-benchmark >/dev/null || missing+=(redis-tools)
	command -v victoria-metrics >/dev/null || missing+=(victoria-metrics)
	[ ${#missing[@]} -gt 0 ] || return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		say "cannot install ${missing[*]} (needs root and apt-get); those peers are skipped"
		return 0
	fi
	say "installing ${missing[*]}"
	apt-get update -qq >&2 || true
	local pkg
	for pkg in "${missing[@]}"; do
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2 ||
			say "could not install $pkg; continuing without it"
	done
}

have_redis() { command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null && command -v redis-cli >/dev/null; }
have_vm() { command -v victoria-metrics >/dev/null; }

# --- load runs -----------------------------------------------------------

# bench ROW SERVER ARGS...: runs `metricsd bench --json ARGS` and records
# its ops_per_second, unless it reported errors.
bench() {
	local row=$1 server=$2 out=$work/bench.json
	shift 2
	if ! fig run-cpu "$work/gen.cpu" "$bin" bench --json --duration "$DUR" --keys "$KEYS" "$@" >"$out"; then
		say "$row $server: the run failed or had errors; not recorded"
		cat "$out" >&2 || true
		return 0
	fi
	fig add "$results" "$row" "$server" "$(fig field "$out" ops_per_second)"
}

# put_args ROW prints the connections, pipeline and count of a put row.
put_args() {
	case $1 in
	put1) echo "1 1 $((N / 30))" ;;
	put50) echo "50 1 $((N / 5))" ;;
	put50x16) echo "50 16 $N" ;;
	esac
}

# redis_bench ROW SERVER ARGS...: runs redis-benchmark --csv and records rps.
redis_bench() {
	local row=$1 server=$2 out=$work/redis.csv
	shift 2
	if ! fig run-cpu "$work/gen.cpu" timeout 120 redis-benchmark -h 127.0.0.1 -p "$redis_port" --csv "$@" \
		>"$out" 2>"$work/redis.err"; then
		say "$row $server: redis-benchmark failed; not recorded"
		return 0
	fi
	fig add "$results" "$row" "$server" "$(fig redis-rps "$out")"
}

# with_cpu ROW SERVER PID N CMD...: runs CMD (bench or redis_bench). In the
# 50 x 16 row it also records, when CMD recorded its run, the CPU time per
# request of the server process PID and of the load generator: N requests
# for redis-benchmark, what `metricsd bench` reports as ok otherwise (it may
# stop at BENCH_DURATION first).
with_cpu() {
	local row=$1 server=$2 pid=$3 n=$4 c0 c1 lines
	shift 4
	if [ "$row" != put50x16 ]; then
		"$@"
		return 0
	fi
	lines=$(wc -l <"$results")
	c0=$(fig cpu "$pid")
	"$@"
	c1=$(fig cpu "$pid")
	[ "$(wc -l <"$results")" -gt "$lines" ] || return 0
	[ "$n" != ok ] || n=$(fig field "$work/bench.json" ok)
	fig add "$results" cpu_server "$server" "$(python3 -c "print(($c1 - $c0) / $n * 1e6)")"
	fig add "$results" cpu_client "$server" "$(python3 -c "print($(cat "$work/gen.cpu") / $n * 1e6)")"
}

# --- metricsd ------------------------------------------------------------

# start_metricsd: a fresh in-memory metricsd on free ports; sets md_addr and,
# when serve has a Graphite port, md_graphite.
start_metricsd() {
	local port args
	port=$(free_port)
	md_addr=127.0.0.1:$port
	md_graphite=
	md_http=
	args=(serve --addr "$md_addr" --in-memory)
	local help
	help=$("$bin" serve --help 2>&1)
	if grep -q -- '-graphite-addr' <<<"$help"; then
		md_graphite=127.0.0.1:$(free_port)
		args+=(--graphite-addr "$md_graphite")
	fi
	if grep -q -- '-http-addr' <<<"$help"; then
		md_http=127.0.0.1:$(free_port)
		args+=(--http-addr "$md_http")
	fi
	start metricsd "$work/metricsd.log" "$bin" "${args[@]}"
	wait_port "$port" metricsd
	[ -z "$md_http" ] || wait_port "${md_http##*:}" "metricsd http"
}

# md_metric NAME prints the sum of metricsd's own metric NAME, or nothing
# when metricsd serves no /metrics or not that metric.
md_metric() {
	[ -n "$md_http" ] || return 0
	fig prom-sum "http://$md_http/metrics" "$1" 2>/dev/null || true
}

# metricsd_graphite_run RUN streams into a fresh server, so that a
# "get *" that confirms the count reads only this run's points.
metricsd_graphite_run() {
	start_metricsd
	if [ -z "$md_graphite" ]; then
		[ "$1" != 1 ] || say "metricsd serve has no --graphite-addr yet; its Graphite figure is skipped"
		stop metricsd
		return 0
	fi
	wait_port "${md_graphite##*:}" "metricsd graphite"
	# metricsd's own count of stored Graphite points is cheaper to poll
	# than a "get *" of every point; use it when /metrics has it.
	local verify=(--verify-addr "$md_addr")
	if [ -n "$(md_metric metricsd_graphite_points_stored_total)" ]; then
		verify=(--verify-url "http://$md_http/metrics" --verify-metric metricsd_graphite_points_stored_total)
	fi
	bench stream_graphite metricsd --workload graphite --addr "$md_graphite" \
		-c 4 -n "$STREAM_N" "${verify[@]}" --verify-timeout 60s
	stop metricsd
}

# load_and_read SERVER ADDR: loads POINTS points into a fresh protocol
# server, records its RSS growth per point, then times "get *".
load_and_read() {
	local server=$1 addr=$2 before after run out=$work/getall.json heap0=
	before=$(fig rss "${pids[$server]}")
	[ "$server" != metricsd ] || heap0=$(md_metric go_memstats_heap_inuse_bytes)
	if ! "$bin" bench --json --addr "$addr" -c 4 -P 256 -n "$POINTS" --duration 10m --keys "$KEYS" \
		--key-prefix load. >"$work/load.json"; then
		say "$server: loading $POINTS points failed; memory and read-back rows skipped"
		return 0
	fi
	after=$(fig rss "${pids[$server]}")
	fig add "$results" bytes "$server" "$(python3 -c "print(($after - $before) / $POINTS)")"
	if [ -n "$heap0" ]; then # the server's own figure: Go heap in use
		fig add "$results" bytes_heap "$server" \
			"$(python3 -c "print(($(md_metric go_memstats_heap_inuse_bytes) - $heap0) / $POINTS)")"
	fi
	for run in $(seq "$RUNS"); do
		"$bin" bench --json --addr "$addr" --workload getall -c 1 -n 1 --timeout 5m >"$out" ||
			{ say "$server: get * failed"; continue; }
		if [ "$(fig field "$out" points_read)" != "$POINTS" ]; then
			say "$server: get * read $(fig field "$out" points_read) points, want $POINTS; not recorded"
			continue
		fi
		fig add "$results" readall "$server" "$(python3 -c "print($(fig field "$out" latency_us.max) / 1e6)")"
	done
}

# --- peers' rows ---------------------------------------------------------

# start_durable: metricsd with its default durability (a data directory,
# fsync every second) on a free port; sets mdd_addr. For the put rows only:
# the figure next to the in-memory one shows what the log costs.
start_durable() {
	local port
	port=$(free_port)
	mdd_addr=127.0.0.1:$port
	start metricsd_durable "$work/metricsd-durable.log" "$bin" serve --addr "$mdd_addr" \
		--data-dir "$work/metricsd-data" --http-addr 127.0.0.1:0
	wait_port "$port" "metricsd (durable)"
}

start_python() {
	local port
	port=$(free_port)
	py_addr=127.0.0.1:$port
	start python "$work/python.log" python3 "$repo/bench/course_server.py" --port "$port"
	wait_port "$port" python
}

start_redis() {
	redis_port=$(free_port)
	mkdir -p "$work/redis"
	start redis "$work/redis.log" redis-server --bind 127.0.0.1 --port "$redis_port" --save '' \
		--appendonly no --dir "$work/redis" --daemonize no
	wait_port "$redis_port" redis
}

redis_used_memory() {
	redis-cli -h 127.0.0.1 -p "$redis_port" info memory | tr -d '\r' | sed -n 's/^used_memory://p'
}

# redis_load_and_read loads POINTS points as HSET key ts value with
# redis-cli --pipe, records used_memory growth per point, and times reading
# every key back with KEYS pipelined HGETALLs.
redis_load_and_read() {
	local before after run t0 t1
	fig resp hset "$POINTS" "$KEYS" load. >"$work/hset.resp"
	fig resp hgetall "$KEYS" load. >"$work/hgetall.resp"
	before=$(redis_used_memory)
	redis-cli -h 127.0.0.1 -p "$redis_port" --pipe <"$work/hset.resp" >"$work/pipe.log"
	after=$(redis_used_memory)
	fig add "$results" bytes redis_hset "$(python3 -c "print(($after - $before) / $POINTS)")"
	for run in $(seq "$RUNS"); do
		t0=$(date +%s.%N)
		redis-cli -h 127.0.0.1 -p "$redis_port" --pipe <"$work/hgetall.resp" >"$work/pipe.log"
		t1=$(date +%s.%N)
		fig add "$results" readall redis_hset "$(python3 -c "print($t1 - $t0)")"
	done
}

# start_vm: a fresh VictoriaMetrics; sets vm_http and vm_graphite.
start_vm() {
	vm_http=127.0.0.1:$(free_port)
	vm_graphite=127.0.0.1:$(free_port)
	rm -rf "$work/vm"
	start vm "$work/vm.log" victoria-metrics -httpListenAddr "$vm_http" -graphiteListenAddr "$vm_graphite" \
		-storageDataPath "$work/vm" -retentionPeriod 100y
	wait_port "${vm_http##*:}" victoria-metrics
	wait_port "${vm_graphite##*:}" "victoria-metrics graphite"
}

# vm_stream PREFIX N ROW: streams N Graphite lines, confirmed by VM's count
# of rows added to storage.
vm_stream() {
	bench "$3" vm --workload graphite --addr "$vm_graphite" -c 4 -n "$2" --key-prefix "$1" \
		--verify-url "http://$vm_http/metrics" --verify-metric vm_rows_added_to_storage_total \
		--verify-timeout 60s
}

# vm_disk_and_export BASE records VictoriaMetrics's disk bytes per point
# after a flush, less BASE (the size before any data), and times exporting
# every point.
vm_disk_and_export() {
	local base=$1 size run t
	fig fetch "http://$vm_http/internal/force_flush" >/dev/null
	size=$(fig settled-disk "$work/vm" "http://$vm_http/metrics")
	fig add "$results" bytes vm "$(python3 -c "print(($size - $base) / $POINTS)")"
	for run in $(seq "$RUNS"); do
		t=$(fig fetch "http://$vm_http/api/v1/export?match%5B%5D=%7B__name__%3D~%22load%5B.%5D.%2A%22%7D" \
			"$work/export.jsonl")
		if [ "$(fig export-points "$work/export.jsonl")" != "$POINTS" ]; then
			say "VictoriaMetrics export returned $(fig export-points "$work/export.jsonl") points, want $POINTS"
			continue
		fi
		fig add "$results" readall vm "$t"
	done
}

# --- phases --------------------------------------------------------------
# Peers take turns within each run, workload by workload, so that whatever
# else the machine is doing falls on all of them alike and the ratios stay
# fair even when the absolute figures move.

put_phase() {
	say "puts: metricsd, Redis, Python, $RUNS runs"
	start_metricsd
	start_durable
	start_python
	! have_redis || start_redis
	local run row c p n
	for run in $(seq "$RUNS"); do
		for row in put1 put50 put50x16; do
			read -r c p n <<<"$(put_args "$row")"
			with_cpu "$row" metricsd "${pids[metricsd]}" ok \
				bench "$row" metricsd --addr "$md_addr" -c "$c" -P "$p" -n "$n" --key-prefix "$row.r$run."
			with_cpu "$row" metricsd_durable "${pids[metricsd_durable]}" ok \
				bench "$row" metricsd_durable --addr "$mdd_addr" -c "$c" -P "$p" -n "$n" --key-prefix "$row.r$run."
			with_cpu "$row" python "${pids[python]}" ok \
				bench "$row" python --addr "$py_addr" -c "$c" -P "$p" -n "$n" --key-prefix "$row.r$run."
			have_redis || continue
			with_cpu "$row" redis_hset "${pids[redis]}" "$n" \
				redis_bench "$row" redis_hset -c "$c" -P "$p" -n "$n" -r "$KEYS" \
				hset 'bench:__rand_int__' __rand_int__ __rand_int__
			[ "$row" = put1 ] || with_cpu "$row" redis_ping "${pids[redis]}" "$n" \
				redis_bench "$row" redis_ping -c "$c" -P "$p" -n "$n" -t ping_mbulk
		done
	done
	stop metricsd
	stop metricsd_durable
	stop python
	stop redis
}

stream_phase() {
	say "streaming ingest: metricsd puts and Graphite, VictoriaMetrics Graphite, $RUNS runs"
	! have_vm || start_vm
	local run
	for run in $(seq "$RUNS"); do
		start_metricsd
		bench stream_put metricsd --addr "$md_addr" -c 4 -P 1024 -n "$STREAM_N" --key-prefix "sr$run."
		stop metricsd
		metricsd_graphite_run "$run"
		! have_vm || vm_stream "gr$run." "$STREAM_N" stream_graphite
	done
	stop vm
}

memory_phase() {
	say "memory and read-back of $POINTS points: metricsd"
	start_metricsd
	load_and_read metricsd "$md_addr"
	stop metricsd
	say "memory and read-back: Python"
	start_python
	load_and_read python "$py_addr"
	stop python
	if have_redis; then
		say "memory and read-back: Redis"
		start_redis
		redis_load_and_read
		stop redis
	fi
	if have_vm; then
		say "disk and export: VictoriaMetrics"
		start_vm
		local base
		base=$(fig dir-bytes "$work/vm")
		vm_stream load. "$POINTS" vm_load # not a row of the table: only loads
		vm_disk_and_export "$base"
		stop vm
	fi
}

# --- main ----------------------------------------------------------------

main() {
	install_peers
	have_redis || say "Redis is not installed; its columns stay empty"
	have_vm || say "VictoriaMetrics is not installed; its column stays empty"
	say "building metricsd"
	go build -o "$bin" ./cmd/metricsd
	: >"$results"
	local load0
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	put_phase
	stream_phase
	memory_phase
	mkdir -p "$outdir"
	local machine
	machine=$(fig machine)
	cp "$results" "$outdir/measurements.jsonl"
	fig render "$results" "$outdir" "date=$(date -u +%Y-%m-%dT%H:%MZ)" "machine=$machine" "runs=$RUNS" \
		"load=$load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after" \
		"commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
		"command=BENCH_N=$N BENCH_DURATION=$DUR BENCH_STREAM_N=$STREAM_N BENCH_POINTS=$POINTS BENCH_RUNS=$RUNS bench/compare.sh"
}

main "$@"
