#!/usr/bin/env bash
# Recovery time of a metricsd binary from its write-ahead log and from a
# snapshot (issue #10's "Measure and report"). Loads SERIES x POINTS gauge
# values as acknowledged puts into a data directory (no periodic snapshot),
# kills the server with SIGKILL (so only the log holds the data) and times a
# restart until it listens; then stops that one with SIGTERM (which writes a
# snapshot and drops the log) and times a second restart. Loopback only;
# every load bounded in count and time. Not part of CI.
#
#   bench/recovery.sh BINARY [SERIES] [POINTS]     # default 500000 x 100
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
bin=$1 series=${2:-500000} points=${3:-100}
work=$(mktemp -d /tmp/metricsd-recovery.XXXXXX)
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 "$(dirname "$0")/figures.py" free-port)
addr=127.0.0.1:$port

# serve LOG: starts the server on the data directory and sets secs to the
# seconds until it logged that it listens (recovery included); bounded to
# 30 min.
serve() {
	local t0
	t0=$(date +%s.%N)
	"$bin" serve --addr "$addr" --http-addr '' --data-dir "$work/data" --snapshot-interval -1s \
		>/dev/null 2>"$1" &
	pid=$!
	for _ in $(seq 36000); do
		grep -q 'metricsd listening' "$1" && break
		kill -0 "$pid" 2>/dev/null || { cat "$1" >&2; exit 1; }
		sleep 0.05
	done
	grep -q 'metricsd listening' "$1" || { echo "no start in 30 min" >&2; exit 1; }
	secs=$(python3 -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.2f}')" "$t0")
}

serve "$work/load.log"
"$bin" bench --addr "$addr" -start $(( $(date +%s) - 100000 )) -n $((series * points)) --keys "$series" \
	--values gauge -c 50 -P 16 --duration 30m --json >"$work/run.json"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
echo "$bin: $series series x $points points, data directory $(du -sm "$work/data" | cut -f1) MB after SIGKILL"
serve "$work/log.log"
echo "  from the log: $secs s"
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
serve "$work/snap.log"
echo "  from a snapshot: $secs s (data directory $(du -sm "$work/data" | cut -f1) MB)"
