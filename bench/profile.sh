#!/usr/bin/env bash
# Profiles metricsd and its load generator, each in its own process, under
# the 50 clients x 16 pipelined put load of bench/compare.sh: the split of
# each process's CPU between its own code, the kernel's TCP path and the Go
# runtime, which in-process Go profiles can't show apart. Uses perf (Debian
# package linux-perf, installed when missing and root), and writes
#   $out/server.txt, $out/client.txt   perf reports, children and self
#   $out/server.data, $out/client.data perf recordings
#   $out/bench.json                    the load generator's report
#   $out/cpu.txt                       each process's CPU time per put
# Not part of CI. Knobs (environment): PROFILE_OUT (default
# bench/results/profile), PROFILE_SECONDS (default 4), PROFILE_ARGS (extra
# `metricsd bench` flags, default "-c 50 -P 16").
set -euo pipefail
cd "$(dirname "$0")/.."
out=${PROFILE_OUT:-bench/results/profile}
secs=${PROFILE_SECONDS:-4}
args=${PROFILE_ARGS:--c 50 -P 16}
mkdir -p "$out"
work=$(mktemp -d /tmp/metricsd-profile.XXXXXX)
server=""
cleanup() {
	[ -z "$server" ] || kill "$server" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

if ! command -v perf >/dev/null; then
	[ "$(id -u)" = 0 ] || { echo "profile: perf is missing (Debian: linux-perf)" >&2; exit 1; }
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >&2
fi
fig() { python3 bench/figures.py "$@"; }
go build -o "$work/metricsd" ./cmd/metricsd
port=$(fig free-port)
http=$(fig free-port)
"$work/metricsd" serve --in-memory --addr "127.0.0.1:$port" --http-addr "127.0.0.1:$http" 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do grep -q 'metricsd listening' "$work/server.log" && break; sleep 0.1; done

# The run lasts past the recording: it starts a second before it, lasts
# long enough for perf to start and stop around it, and is
# bounded by duration, not count.
# shellcheck disable=SC2086 # PROFILE_ARGS is a list of flags
"$work/metricsd" bench --addr "127.0.0.1:$port" $args -n 0 --duration "$((secs + 5))s" --json >"$out/bench.json" &
client=$!
sleep 1

# sample prints the CPU seconds of the server and of the client and the
# requests the server has answered (all puts in this load).
sample() {
	echo "$(fig cpu "$server") $(fig cpu "$client") $(fig prom-sum "http://127.0.0.1:$http/metrics" metricsd_requests_total)"
}
before=$(sample)
perf record -g -p "$server" -o "$out/server.data" -- sleep "$secs" 2>/dev/null &
recorders=$!
perf record -g -p "$client" -o "$out/client.data" -- sleep "$secs" 2>/dev/null &
recorders="$recorders $!"
# shellcheck disable=SC2086 # two pids
wait $recorders
after=$(sample)
wait "$client"
python3 - "$before" "$after" >"$out/cpu.txt" <<'PY'
import sys
b, a = [[float(x) for x in arg.split()] for arg in sys.argv[1:3]]
puts = a[2] - b[2]
for name, i in (("server", 0), ("load generator", 1)):
    print(f"{name}: {(a[i] - b[i]) / puts * 1e6:.2f} µs of CPU per put ({puts:.0f} puts while recording, perf running)")
PY
cat "$out/cpu.txt"
# top N FILE: the first N rows of a perf report, without its comments.
top() { grep -v -e '^#' -e '^$' "$2" | sed -n "1,$1p"; }
for side in server client; do
	perf report -i "$out/$side.data" --stdio --children --sort sym -g none >"$work/children" 2>/dev/null
	perf report -i "$out/$side.data" --stdio --no-children --sort sym -g none >"$work/self" 2>/dev/null
	{
		echo "# $side: CPU including callees (top 60)"
		top 60 "$work/children"
		echo "# $side: CPU in the function itself (top 40)"
		top 40 "$work/self"
	} >"$out/$side.txt"
done
echo "puts/s $(fig field "$out/bench.json" ops_per_second), errors $(fig field "$out/bench.json" errors.total)"
echo "profiles in $out/server.txt and $out/client.txt"
