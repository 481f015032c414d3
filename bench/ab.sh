#!/usr/bin/env bash
# Compares two metricsd binaries under the same load, turn by turn: both
# serve in memory side by side on free loopback ports, and ROUNDS times
# each gets one run of `metricsd bench` (default: the 50 x 16 put row of
# compare.sh). Alternating short runs puts whatever else the machine does on
# both alike, which a before-and-after pair of long runs does not. Prints
# both medians and the median of the per-round ratios B/A.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
#
# Knobs (environment): AB_ARGS (the bench flags, default
# "-c 50 -P 16 -n 1000000 --duration 5s"); AB_CLIENT (the binary whose
# `bench` loads both, default NEW_BINARY, so that a change to the load
# generator does not count as one to the server); AB_CLIENT_A and
# AB_CLIENT_B load one side each instead (each build with its own
# generator, as compare.sh runs it); AB_FSYNC=MODE serves each binary with
# its own data directory and --fsync MODE instead of in memory; AB_PRELOAD
# (bench flags) is run once against each server before the rounds, e.g. to
# store the 1M points that AB_ARGS="--workload getall ..." then reads.
# Not part of CI.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,19p' "$0" >&2; exit 2; }
a=$1 b=$2 rounds=${3:-8}
args=${AB_ARGS:--c 50 -P 16 -n 1000000 --duration 5s}
client_a=${AB_CLIENT_A:-${AB_CLIENT:-$b}}
client_b=${AB_CLIENT_B:-${AB_CLIENT:-$b}}
work=$(mktemp -d /tmp/metricsd-ab.XXXXXX)
pids=()
cleanup() {
	[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
	# A durable server writes its shutdown snapshot before it exits.
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

fig() { python3 "$(dirname "$0")/figures.py" "$@"; }

# serve NAME BINARY: starts BINARY in memory on a free port and sets
# addr_NAME to its address.
serve() {
	local port
	port=$(fig free-port)
	local store=(--in-memory)
	[ -z "${AB_FSYNC:-}" ] || store=(--data-dir "$work/$1.data" --fsync "$AB_FSYNC")
	"$2" serve "${store[@]}" --addr "127.0.0.1:$port" --http-addr '' >/dev/null 2>"$work/$1.log" &
	pids+=($!)
	for _ in $(seq 100); do
		grep -q 'metricsd listening' "$work/$1.log" && break
		sleep 0.1
	done
	printf -v "addr_$1" '127.0.0.1:%s' "$port"
}

# rate CLIENT ADDR: one load run of CLIENT's bench against ADDR (which
# fails on any error); prints its puts/s.
rate() {
	# shellcheck disable=SC2086 # AB_ARGS is a list of flags
	"$1" bench --addr "$2" $args --json >"$work/run.json"
	fig field "$work/run.json" ops_per_second
}

serve a "$a"
serve b "$b"
if [ -n "${AB_PRELOAD:-}" ]; then
	# shellcheck disable=SC2086 # AB_PRELOAD is a list of flags
	"$client_a" bench --addr "$addr_a" $AB_PRELOAD --json >/dev/null
	# shellcheck disable=SC2086
	"$client_b" bench --addr "$addr_b" $AB_PRELOAD --json >/dev/null
fi
ra=() rb=()
for _ in $(seq "$rounds"); do
	ra+=("$(rate "$client_a" "$addr_a")")
	rb+=("$(rate "$client_b" "$addr_b")")
done
python3 - "$a" "$b" "${ra[*]}" "${rb[*]}" <<'PY'
import statistics as st, sys
a, b = [[float(x) for x in s.split()] for s in sys.argv[3:5]]
ratios = sorted(y / x for x, y in zip(a, b))
print(f"A {sys.argv[1]}: {[round(x) for x in a]}, median {st.median(a):,.0f}")
print(f"B {sys.argv[2]}: {[round(x) for x in b]}, median {st.median(b):,.0f}")
print(f"B/A per round: median {st.median(ratios):.3f}, range {ratios[0]:.3f}-{ratios[-1]:.3f}")
PY
