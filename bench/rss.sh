#!/usr/bin/env bash
# Resident memory as a user sees it (VmRSS and VmHWM from /proc, not the Go
# heap), issue #10's "Measure and report". Loopback only, every load bounded
# by a request count and a duration. Not part of CI.
#
#   bench/rss.sh growth BINARY          # RSS growth a point, 1 M -> 11 M points
#   bench/rss.sh vm BINARY [SERIES] [POINTS]
#                                       # SERIES x POINTS gauge values (default
#                                       # 500000 x 100): acknowledged puts into
#                                       # metricsd with a data directory, then
#                                       # the same as Graphite lines into
#                                       # victoria-metrics; RSS after and peak
#
# RSS_ONLY=metricsd or RSS_ONLY=victoria runs one side of "vm" only.
# The server inherits the environment, so GOGC=... or GOMEMLIMIT=... in front
# of the command applies to it.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,17p' "$0" >&2; exit 2; }
mode=$1 bin=$2
work=$(mktemp -d /tmp/metricsd-rss.XXXXXX)
pids=()
cleanup() {
	[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fig() { python3 "$(dirname "$0")/figures.py" "$@"; }
status() { awk -v k="$2:" '$1 == k { print $2 * 1024 }' "/proc/$1/status"; }

# wait_log FILE TEXT: waits up to 10 s for TEXT in FILE.
wait_log() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" && return 0
		sleep 0.1
	done
	echo "no '$2' in $1" >&2
	exit 1
}

# load ADDR START N KEYS SHAPE [WORKLOAD]: N acknowledged puts (or Graphite
# lines) of KEYS keys from timestamp START; fails on any error.
load() {
	"$bin" bench --addr "$1" --workload "${6:-put}" -start "$2" -n "$3" --keys "$4" \
		--values "$5" -c 50 -P 16 --duration 30m --json >"$work/run.json"
	echo "  $(fig field "$work/run.json" ops_per_second) ops/s" >&2
}

serve() {
	local port
	port=$(fig free-port)
	"$bin" serve --addr "127.0.0.1:$port" --http-addr '' "$@" >/dev/null 2>"$work/serve.log" &
	pids+=($!)
	wait_log "$work/serve.log" 'metricsd listening'
	addr=127.0.0.1:$port
	pid=$!
}

start=$(( $(date +%s) - 100000 ))
case $mode in
growth)
	serve --in-memory
	load "$addr" "$start" 1000000 1000 random
	r1=$(status "$pid" VmRSS)
	load "$addr" $((start + 1000)) 10000000 1000 random
	r2=$(status "$pid" VmRSS)
	python3 -c "import sys; r1, r2 = int(sys.argv[1]), int(sys.argv[2]); print(f'GOGC={sys.argv[3]} GOMEMLIMIT={sys.argv[4]}: VmRSS {r1/2**20:.1f} MiB at 1M points, {r2/2**20:.1f} MiB at 11M, {(r2-r1)/10e6:.2f} bytes/point; VmHWM {int(sys.argv[5])/2**20:.1f} MiB')" \
		"$r1" "$r2" "${GOGC:-}" "${GOMEMLIMIT:-}" "$(status "$pid" VmHWM)"
	;;
vm)
	series=${3:-500000} points=${4:-100}
	n=$((series * points))
	if [ "${RSS_ONLY:-}" != victoria ]; then
		mkdir "$work/data"
		serve --data-dir "$work/data"
		load "$addr" "$start" "$n" "$series" gauge
		echo "metricsd: $series series x $points points: VmRSS $(( $(status "$pid" VmRSS) >> 20 )) MiB, VmHWM $(( $(status "$pid" VmHWM) >> 20 )) MiB"
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		pids=()
	fi
	[ "${RSS_ONLY:-}" != metricsd ] || exit 0
	http=$(fig free-port) graphite=$(fig free-port)
	victoria-metrics -httpListenAddr "127.0.0.1:$http" -graphiteListenAddr "127.0.0.1:$graphite" \
		-storageDataPath "$work/vm" -retentionPeriod 100y >"$work/vm.log" 2>&1 &
	pids+=($!)
	vmpid=$!
	wait_log "$work/vm.log" 'started VictoriaMetrics in'
	sleep 1
	"$bin" bench --addr "127.0.0.1:$graphite" --workload graphite -start "$start" -n "$n" --keys "$series" \
		--values gauge -c 50 -P 16 --duration 30m --verify-timeout 10m \
		--verify-url "http://127.0.0.1:$http/metrics" --verify-metric 'vm_rows_inserted_total{type="graphite"}' \
		--json >"$work/run.json"
	echo "  $(fig field "$work/run.json" ops_per_second) lines/s" >&2
	echo "victoria-metrics: $series series x $points points: VmRSS $(( $(status "$vmpid" VmRSS) >> 20 )) MiB, VmHWM $(( $(status "$vmpid" VmHWM) >> 20 )) MiB"
	;;
*)
	echo "unknown mode $mode" >&2
	exit 2
	;;
esac
