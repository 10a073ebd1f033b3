#!/usr/bin/env bash
# A chatd cluster on loopback, measured with chatd-bench (docs/PERFORMANCE.md, "Cluster").
#
#   scripts/cluster.sh churn [NODES] [SECONDS]   connect → nick → join → message → quit, 8 in
#                                                flight, clients spread over the nodes
#   scripts/cluster.sh scale [SESSIONS]          3 nodes holding SESSIONS idle sessions (default
#                                                50,000) in rooms of 100 spread over the nodes:
#                                                setup time, RSS per node and per session, rooms
#                                                hosted per node, then a 999-member fan-out
#                                                across the three nodes while they hold them
#
# Every node is a fresh release chatd (BIN, default target/release) with its rate limit lifted
# and history in memory. One process may hold at most 20,000 file descriptors on the development
# machine, so `scale` runs three load generators side by side, each with its own third of the
# sessions (`connections --first`), each spreading its sessions over all three nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release}
mode=${1:-churn}
dir=$(mktemp -d)
pids=()
addrs=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT

start_nodes() {
    for i in $(seq 1 "$1"); do
        local seed=()
        [ "$i" -gt 1 ] && seed=(--connect 127.0.0.1:21101)
        CHATD_CLUSTER__COOKIE=bench CHATD_LIMITS__RATE=1000000 CHATD_LIMITS__BURST=1000000 \
            CHATD_LIMITS__MAX_CONNECTIONS=100000 CHATD_LIMITS__MAX_CONNECTIONS_PER_IP=1000000 \
            CHATD_LIMITS__MAX_ROOMS=100000 CHATD_HISTORY__STORE=memory CHATD_WEB__ENABLED=false \
            CHATD_IRC__ENABLED=false CHATD_CONTROL__SOCKET="$dir/n$i.sock" CHATD_LOG__LEVEL=warn \
            "$bin/chatd" --name "n$i" --port "1920$i" --dist-port "2110$i" "${seed[@]}" \
            >"$dir/n$i.log" 2>&1 &
        pids+=($!)
        addrs+=("127.0.0.1:1920$i")
        sleep 0.5
    done
    # Until the last node sees the first.
    for _ in $(seq "$(($1 > 1 ? 100 : 0))"); do
        "$bin/chatctl" --socket "$dir/n$1.sock" nodes 2>/dev/null | grep -q "n1 (up" && break
        sleep 0.1
    done
    sleep 1
}

rss() {
    for p in "${pids[@]}"; do awk '/VmRSS/{printf "%s ", $2}' "/proc/$p/status"; done
}

joined() {
    local IFS=,
    echo "$*"
}

case "$mode" in
churn)
    start_nodes "${2:-3}"
    "$bin/chatd-bench" --addr "$(joined "${addrs[@]}")" --server-pid "$(joined "${pids[@]}")" \
        --json churn --concurrency 8 --duration "${3:-5}" | tr -d '\n'
    echo
    ;;
scale)
    total=${2:-50000}
    per=$(((total + 2) / 3))
    start_nodes 3
    echo "{\"rss_kib_before\": [$(rss | sed 's/ $//; s/ /, /g')]}"
    started=$(date +%s.%N)
    for k in 0 1 2; do
        "$bin/chatd-bench" --addr "$(joined "${addrs[@]}")" --json connections --sessions "$per" \
            --first $((k * per)) --room-size 100 --concurrency 100 --hold 40 --timeout 300 \
            >"$dir/bench$k.json" &
    done
    # Until the nodes hold every session (each socket is a file descriptor).
    while :; do
        n=0
        for p in "${pids[@]}"; do n=$((n + $(ls "/proc/$p/fd" | wc -l))); done
        [ "$n" -ge $((per * 3)) ] && break
        sleep 0.5
    done
    echo "{\"all_connected_secs\": $(echo "$(date +%s.%N) - $started" | bc)}"
    sleep 5
    echo "{\"rss_kib_held\": [$(rss | sed 's/ $//; s/ /, /g')]}"
    for i in 1 2 3; do
        "$bin/chatctl" --socket "$dir/n$i.sock" status | grep -E "^(sessions|rooms_hosted) " | tr -s ' ' | tr '\n' ' '
        echo
    done
    "$bin/chatd-bench" --addr "$(joined "${addrs[@]}")" --server-pid "$(joined "${pids[@]}")" \
        --json fanout --members 999 --senders 1 --duration 5 | tr -d '\n'
    echo
    for k in 0 1 2; do
        while [ ! -s "$dir/bench$k.json" ]; do sleep 1; done
        tr -d '\n' <"$dir/bench$k.json"
        echo
    done
    ;;
*)
    echo "usage: $0 churn [NODES] [SECONDS] | scale [SESSIONS]" >&2
    exit 2
    ;;
esac
