#!/usr/bin/env bash
# chatd's IRC front against ngircd (Debian's `ngircd`), one workload for both: `chatd-bench
# --protocol irc` drives each in turn, alternating chatd (one worker thread per CPU),
# chatd-1thread (server.worker_threads = 1: like ngircd, one thread) and ngircd, so that all
# see the same machine, and prints one JSON object per run with the server's name.
# SERVERS="chatd ngircd" picks which.
# Usage: scripts/compare-irc.sh [ROUNDS]   (after `cargo build --release`). ngircd runs in the
# foreground with its own configuration: no DNS or ident lookups, no command penalty
# (MaxPenaltyTime = 0), no connection limits. Its listen backlog is 10, so members connect at
# most 8 at a time (for both servers alike). ONLY=REGEX runs only matching scenarios.
set -euo pipefail
rounds=${1:-3}
bin=${BIN:-target/release}
chatd_port=${CHATD_PORT:-19167}
ngircd_port=${NGIRCD_PORT:-16667}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

cat >"$dir/ngircd.conf" <<CONF
[Global]
Name = ngircd.bench
Info = bench
Listen = 127.0.0.1
Ports = $ngircd_port
PidFile = $dir/ngircd.pid
MotdPhrase = bench
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 32
PingTimeout = 600
PongTimeout = 600
MaxPenaltyTime = 0
[Options]
DNS = no
Ident = no
PAM = no
[Operator]
Name = bench
Password = bench
CONF

wait_port() {
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

run() {
    local server=$1
    shift
    local pid port
    if [ "$server" != ngircd ]; then
        local workers=0
        [ "$server" = chatd-1thread ] && workers=1
        CHATD_SERVER__WORKER_THREADS=$workers CHATD_LIMITS__RATE=1000000 CHATD_LIMITS__BURST=1000000 CHATD_LIMITS__MAX_CONNECTIONS=100000 \
            CHATD_LIMITS__MAX_CONNECTIONS_PER_IP=1000000 CHATD_HISTORY__STORE=memory CHATD_HISTORY__REPLAY=0 \
            CHATD_WEB__ENABLED=false CHATD_CONTROL__SOCKET="$dir/chatd.sock" CHATD_LOG__LEVEL=warn \
            CHATD_IRC__LISTEN="127.0.0.1:$chatd_port" "$bin/chatd" --port 0 &
        pid=$!
        port=$chatd_port
    else
        ngircd -n -f "$dir/ngircd.conf" >/dev/null 2>&1 &
        pid=$!
        port=$ngircd_port
    fi
    wait_port "$port"
    printf '{"server":"%s","result":' "$server"
    "$bin/chatd-bench" --addr "127.0.0.1:$port" --protocol irc --server-pid "$pid" --json "$@" \
        | tr -d '\n'
    printf '}\n'
    kill -TERM "$pid"
    wait "$pid" || true
}

scenario() {
    [[ "$*" =~ ${ONLY:-.} ]] || return 0
    for _ in $(seq "$rounds"); do
        for server in ${SERVERS:-chatd chatd-1thread ngircd}; do
            run "$server" "$@"
        done
    done
}

scenario fanout --members 1000 --senders 1 --duration 5 --concurrency 8
scenario fanout --members 200 --senders 10 --rate 20 --duration 10 --concurrency 8
scenario churn --concurrency 8 --duration 5
