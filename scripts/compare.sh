#!/usr/bin/env bash
# Runs the benchmark scenarios of docs/PERFORMANCE.md against two chatd builds, alternating
# A, B, A, B, ... so that both see the same machine, and prints one JSON object per run with
# the build's label. Usage: scripts/compare.sh DIR_A DIR_B [ROUNDS]   (each DIR holds a release
# `chatd`; DIR_B's `chatd-bench` drives both). For before/after numbers of a change: build the
# old commit, copy target/release/chatd somewhere, build the new one, and compare the two.
# ONLY=REGEX runs only the scenarios whose arguments match, e.g. ONLY=churn.
set -euo pipefail
a=$1
b=$2
rounds=${3:-3}
port=${PORT:-19100}
bench="$b/chatd-bench"

run() {
    local label=$1 dir=$2
    shift 2
    CHATD_LIMITS__RATE=1000000 CHATD_LIMITS__BURST=1000000 CHATD_LIMITS__MAX_CONNECTIONS=100000 \
        CHATD_CONTROL__SOCKET="/tmp/chatd-compare-$port.sock" CHATD_LOG__LEVEL=warn "$dir/chatd" --port "$port" &
    local pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    printf '{"build":"%s","result":' "$label"
    "$bench" --addr "127.0.0.1:$port" --server-pid "$pid" --json "$@" | tr -d '\n'
    printf '}\n'
    kill -TERM "$pid"
    wait "$pid" || true
}

scenario() {
    [[ "$*" =~ ${ONLY:-.} ]] || return 0
    for _ in $(seq "$rounds"); do
        run A "$a" "$@"
        run B "$b" "$@"
    done
}

scenario fanout --members 1000 --senders 1 --duration 5
scenario fanout --members 1000 --senders 10 --rate 20 --duration 10
scenario fanout --members 200 --senders 10 --rate 20 --duration 10
scenario churn --concurrency 8 --duration 5
scenario connections --sessions 1000 --room-size 1000
scenario connections --sessions 5000 --room-size 100 --hold 3
scenario connections --sessions 19000 --room-size 100 --hold 3
