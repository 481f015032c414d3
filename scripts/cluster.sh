#!/usr/bin/env bash
# Starts a metricsd cluster on loopback for trying it out: 3 NATS JetStream
# servers (the nats-server version pinned in go.mod, built with go tool) and
# 3 metricsd nodes, prints their addresses, and stops everything on Ctrl-C.
#
#   ./scripts/cluster.sh            # ports 28001-28003 (NATS), 28101-28103 (metricsd)
#   BASE_PORT=29000 ./scripts/cluster.sh
#
# Data lives in a temporary directory that is removed at exit. Needs Go.
set -euo pipefail
cd "$(dirname "$0")/.."

base=${BASE_PORT:-28000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/metricsd-cluster.XXXXXX")
pids=()

cleanup() {
	trap - INT TERM EXIT
	echo
	echo "stopping..."
	# metricsd first (they release their partitions), then NATS.
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	rm -rf "$dir"
	echo "stopped"
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

echo "building metricsd and nats-server (the first time takes a minute)..."
go build -o "$dir/metricsd" ./cmd/metricsd
nats=$(go tool -n nats-server)

routes=""
for i in 1 2 3; do routes+="${routes:+, }nats-route://127.0.0.1:$((base + 10 + i))"; done
urls=""
for i in 1 2 3; do
	port=$((base + i))
	urls+="${urls:+,}nats://127.0.0.1:$port"
	cat >"$dir/nats$i.conf" <<CONF
server_name: nats$i
listen: 127.0.0.1:$port
jetstream { store_dir: "$dir/nats$i" }
cluster { name: metricsd, listen: 127.0.0.1:$((base + 10 + i)), routes: [$routes] }
CONF
	"$nats" -c "$dir/nats$i.conf" >"$dir/nats$i.log" 2>&1 &
	pids=("$!" "${pids[@]}")
done
for i in 1 2 3; do wait_for "$dir/nats$i.log" "Server is ready"; done

for i in 1 2 3; do
	"$dir/metricsd" serve --cluster "$urls" --node "node$i" \
		--addr "127.0.0.1:$((base + 100 + i))" --http-addr "127.0.0.1:$((base + 200 + i))" \
		>"$dir/node$i.log" 2>&1 &
	pids=("$!" "${pids[@]}")
done
for i in 1 2 3; do wait_for "$dir/node$i.log" "metricsd listening"; done

echo
echo "NATS JetStream: $urls"
for i in 1 2 3; do
	echo "node$i: protocol 127.0.0.1:$((base + 100 + i))  HTTP http://127.0.0.1:$((base + 200 + i))  log $dir/node$i.log"
done
echo
echo "try, in another terminal (a put on node1, read back on node3):"
echo "  go run ./cmd/metricsd put --addr 127.0.0.1:$((base + 101)) palm.cpu 23.7"
echo "  go run ./cmd/metricsd get --addr 127.0.0.1:$((base + 103)) '*'"
echo "  curl 'http://127.0.0.1:$((base + 202))/metrics/find?query=*'"
echo "Ctrl-C stops everything."
wait
