#!/bin/sh
# Messages per second with a receipt for every message, for each store of
# the tracker, beside the memory store, in one run. Machine-readable.
#
#   sh bench/track_bench.sh [BUILD_DIR [LUA_BIN]]    (default build/lua5.4 lua5.4)
#
# bench/client_load.lua sends TRACK_BENCH_COUNT messages (default 5000)
# through a window of 100 to bin/smpp-sim --throttle 0, each asking for a
# receipt, and waits until every receipt has come matched to its message:
# the tracker writes each accepted id and looks each receipt up (and keeps
# the message's outcome) in its store. TRACK_BENCH_ROUNDS rounds (default
# 3), the stores interleaved. Prints
#   run track <store> round=I msgs_per_s=N cpu_us_per_msg=X
#   bench track <store> msgs_per_s=N cpu_us_per_msg=X   (best rate, lowest CPU)
#   ratio track <store>/memory msgs_per_s=R
# for the stores memory, sqlite (a file in a temporary directory) and
# redis (Debian's redis-server on loopback).
set -u

BUILD_DIR=${1:-build/lua5.4}
LUA_BIN=${2:-lua5.4}
ROUNDS=${TRACK_BENCH_ROUNDS:-3}
COUNT=${TRACK_BENCH_COUNT:-5000}
NODE=${NODE:-node}
REDIS=${REDIS_SERVER:-/usr/bin/redis-server}

case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$(pwd)/$BUILD_DIR ;; esac
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)

BENCH_NAME=bench/track_bench.sh
. bench/lib.sh
TMP=$(mktemp -d "${TMPDIR:-/tmp}/track_bench.XXXXXX") || fail "mktemp failed"
LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
LUA_CPATH="$BUILD_DIR/?.so;;"
export LUA_PATH LUA_CPATH
[ -x "$REDIS" ] || fail "$REDIS not found (Debian: redis-server)"

"$LUA_BIN" bin/smpp-sim --port 0 --throttle 0 --account test:test >"$TMP/sim.out" 2>"$TMP/sim.err" &
SIM_PID=$!
REDIS_PORT=$("$LUA_BIN" -e 'local l = assert(require("smpp.core").tcp_listen("127.0.0.1", 0)) print(l:port()) l:close()') ||
    fail "no free port for redis-server"
"$REDIS" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    --loglevel warning >"$TMP/redis.out" 2>&1 &
REDIS_PID=$!
PIDS="$SIM_PID $REDIS_PID"
SIM_PORT=$(port_of "$TMP/sim.out" "$SIM_PID") || fail "bin/smpp-sim did not start: $(cat "$TMP/sim.err")"
sleep 0.5
kill -0 "$REDIS_PID" 2>/dev/null || fail "redis-server did not start: $(cat "$TMP/redis.out")"
echo "# track: $COUNT messages with receipts per run, window 100, $ROUNDS rounds; smpp-sim :$SIM_PORT, redis :$REDIS_PORT"

r=1
while [ $r -le "$ROUNDS" ]; do
    for store in memory sqlite redis; do
        case $store in
            memory) arg=memory ;;
            sqlite) arg="sqlite:$TMP/track-$r.db" ;;
            redis) arg="redis:$REDIS_PORT" ;;
        esac
        out=$("$LUA_BIN" bench/client_load.lua "$SIM_PORT" "$COUNT" 100 receipts track "$arg") ||
            fail "$store: the client failed: $out"
        rate=$(echo "$out" | sed -n 's/.* msgs_per_s=\([0-9][0-9]*\).*/\1/p')
        cpu=$(echo "$out" | sed -n 's/.* cpu_us_per_msg=\([0-9.][0-9.]*\).*/\1/p')
        [ -n "$rate" ] && [ -n "$cpu" ] || fail "$store: no figures in: $out"
        echo "run track $store round=$r msgs_per_s=$rate cpu_us_per_msg=$cpu"
    done
    r=$((r + 1))
done | tee "$TMP/runs"
[ -s "$TMP/runs" ] || exit 1
awk '
    $1 == "run" && $2 == "track" {
        split($5, a, "="); split($6, b, "=")
        if (a[2] + 0 > best[$3]) best[$3] = a[2] + 0
        if (!($3 in low) || b[2] + 0 < low[$3]) low[$3] = b[2] + 0
    }
    END {
        n = split("memory sqlite redis", order, " ")
        for (i = 1; i <= n; i++) {
            s = order[i]
            printf "bench track %s msgs_per_s=%d cpu_us_per_msg=%.2f\n", s, best[s], low[s]
        }
        for (i = 2; i <= n; i++) {
            s = order[i]
            printf "ratio track %s/memory msgs_per_s=%.3f\n", s, best[s] / best["memory"]
        }
    }' "$TMP/runs"
