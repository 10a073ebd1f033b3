#!/usr/bin/env bash
# Runs every scenario of docs/PERFORMANCE.md, each against a fresh release chatd, and prints one
# JSON object per scenario. Usage: scripts/perf.sh [SESSIONS]   (default 19000; see the doc for
# why not 50000 on the development machine).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins >&2
bin=target/release
port=${PORT:-19000}
sessions=${1:-19000}

run() {
    CHATD_LIMITS__RATE=1000000 CHATD_LIMITS__BURST=1000000 CHATD_LIMITS__MAX_CONNECTIONS=100000 \
        CHATD_LOG__LEVEL=warn "$bin/chatd" --port "$port" &
    local pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    "$bin/chatd-bench" --addr "127.0.0.1:$port" --server-pid "$pid" --json "$@"
    kill -TERM "$pid"
    wait "$pid"
}

run connections --sessions "$sessions" --room-size 100 --hold 3
run connections --sessions 1000 --room-size 1000
run connections --sessions 10000 --room-size 10000
run fanout --members 1000 --senders 1 --duration 5
run fanout --members 1000 --senders 10 --rate 20 --duration 10
run fanout --members 200 --senders 10 --rate 20 --duration 10
run churn --concurrency 8 --duration 5
