#!/usr/bin/env bash
# Soak test (not part of CI): runs mixed load (1% gets by default,
# SOAK_GET_RATIO) against a real metricsd for a
# chosen duration and prints, per slice, throughput, latency, errors, the
# server's resident memory, goroutines and open connections, so leaks and
# slowdowns show as trends. Everything is on 127.0.0.1 and stops by itself.
#
#   SOAK_DURATION=10m SOAK_SLICE=30s SOAK_CONNS=50 SOAK_PIPELINE=4 scripts/soak.sh
#
# The server runs persistent (fsync=interval) in a temporary data dir.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${SOAK_DURATION:-5m}
slice=${SOAK_SLICE:-30s}
conns=${SOAK_CONNS:-50}
pipeline=${SOAK_PIPELINE:-4}
keys=${SOAK_KEYS:-1000}

to_seconds() { # 90s, 5m, 1h -> seconds
	local v=$1
	case $v in
	*h) echo $((${v%h} * 3600)) ;; *m) echo $((${v%m} * 60)) ;; *s) echo "${v%s}" ;; *) echo "$v" ;;
	esac
}
total=$(to_seconds "$duration")
step=$(to_seconds "$slice")

work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/metricsd" ./cmd/metricsd
"$work/metricsd" serve --addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --data-dir "$work/data" \
	--log-level info 2>"$work/server.log" &
server_pid=$!

addr= http=
for _ in $(seq 100); do
	addr=$(sed -n 's/.*msg="metricsd listening" addr=\([^ ]*\).*/\1/p' "$work/server.log" | head -1)
	http=$(sed -n 's/.*msg="http listening" addr=\([^ ]*\).*/\1/p' "$work/server.log" | head -1)
	[ -n "$addr" ] && [ -n "$http" ] && break
	sleep 0.1
done
[ -n "$addr" ] || { echo "server did not start:"; cat "$work/server.log"; exit 1; }

metric() { # the value of one unlabelled metric from /metrics
	curl -fsS "http://$http/metrics" | awk -v m="$1" '$1 == m && !done { print $2; done = 1 }'
}

printf '%-8s %10s %9s %9s %9s %7s %9s %10s %6s\n' elapsed ops/s p50_us p99_us max_us errors rss_MiB goroutines conns
elapsed=0
failed=0
round=0
while [ "$elapsed" -lt "$total" ]; do
	# Each slice starts its timestamps after the last slice's, as a live
	# agent's would, so that no slice rewrites the points of the one before.
	start=$((1700000000 + round * 10000000))
	round=$((round + 1))
	report=$("$work/metricsd" bench --addr "$addr" --workload mixed --get-ratio "${SOAK_GET_RATIO:-0.01}" \
		-c "$conns" -P "$pipeline" --keys "$keys" --start "$start" -n 0 --duration "${step}s" --json 2>/dev/null) || failed=1
	elapsed=$((elapsed + step))
	rss_kb=$(awk '/VmRSS/ { print $2 }' "/proc/$server_pid/status")
	python3 - "$elapsed" "$rss_kb" "$(metric go_goroutines)" "$(metric metricsd_connections_open)" <<PY
import json, sys
r = json.loads('''$report''')
lat = r.get("latency_us", {})
print("%-8s %10.0f %9s %9s %9s %7d %9.1f %10s %6s" % (
    sys.argv[1] + "s", r["ops_per_second"], lat.get("p50", "-"), lat.get("p99", "-"),
    lat.get("max", "-"), r["errors"]["total"], int(sys.argv[2]) / 1024, sys.argv[3], sys.argv[4]))
PY
done
echo
grep -E 'level=(WARN|ERROR)' "$work/server.log" | head -20 || true
exit $failed
