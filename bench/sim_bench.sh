#!/bin/sh
# Our SMSC simulator (bin/smpp-sim) against a node-smpp server, driven by the
# same node-smpp client, machine-readable.
#
#   sh bench/sim_bench.sh [BUILD_DIR [LUA_BIN]]     (default build/lua5.4 lua5.4)
#
# Starts bin/smpp-sim --throttle 0 (A) and spec/interop/smsc.js (B) on
# 127.0.0.1, then runs bench/node/client.js (node-smpp 0.5.1 from
# spec/interop/node_modules) against A and B alternately, SIM_BENCH_ROUNDS
# rounds (default 3): each run binds as transceiver, sends SIM_BENCH_COUNT
# submit_sm (default 50000, 13-octet short_message) through a window of
# SIM_BENCH_WINDOW outstanding (default 100), and unbinds. Measured per run:
# messages/s on the client (wall time, first submit to last response) and the
# server's CPU time (utime+stime from /proc/PID/stat, all its threads, read
# before and after the client run) per message. Prints:
#   run sim <case> round=I msgs_per_s=N server_cpu_us_per_msg=X   every run
#   bench sim <case> msgs_per_s=N server_cpu_us_per_msg=X   best rate, lowest CPU
#   ratio sim cpu_per_msg ours/node=R
#   target sim ours_cpu<=1/5_node ok|MISSED
# with <case> node_client_to_our_sim (A) and node_client_to_node_server (B).
# Exit status: 0 when everything ran (a missed target is only reported),
# non-zero when a server or a client failed. Every process it starts is
# stopped by its pid.
set -u

BUILD_DIR=${1:-build/lua5.4}
LUA_BIN=${2:-lua5.4}
ROUNDS=${SIM_BENCH_ROUNDS:-3}
COUNT=${SIM_BENCH_COUNT:-50000}
WINDOW=${SIM_BENCH_WINDOW:-100}
NODE=${NODE:-node}
TARGET=5 # ours must need at most 1/TARGET of node's CPU per message

case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$(pwd)/$BUILD_DIR ;; esac
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)

BENCH_NAME=bench/sim_bench.sh
. bench/lib.sh
command -v "$LUA_BIN" >/dev/null 2>&1 || fail "$LUA_BIN not found"
[ -r /proc/self/stat ] || fail "/proc is needed to read CPU times"
HZ=$(getconf CLK_TCK) || fail "getconf CLK_TCK failed"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sim_bench.XXXXXX") || fail "mktemp failed"
LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
LUA_CPATH="$BUILD_DIR/?.so;;"
export LUA_PATH LUA_CPATH

# utime+stime (clock ticks) of process $1, all threads; fields 14 and 15,
# counted after the ")" closing the command name
cpu_ticks() {
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    set -- $s
    shift 11
    echo $(($1 + $2))
}

"$LUA_BIN" bin/smpp-sim --host 127.0.0.1 --port 0 --throttle 0 --account test:test \
    >"$TMP/sim.out" 2>"$TMP/sim.err" &
SIM_PID=$!
PIDS="$SIM_PID"
"$NODE" spec/interop/smsc.js >"$TMP/node.out" 2>"$TMP/node.err" &
NODE_PID=$!
PIDS="$SIM_PID $NODE_PID"
SIM_PORT=$(port_of "$TMP/sim.out" "$SIM_PID") || { cat "$TMP/sim.err" >&2; fail "bin/smpp-sim did not start"; }
NODE_PORT=$(port_of "$TMP/node.out" "$NODE_PID") || { cat "$TMP/node.err" >&2; fail "spec/interop/smsc.js did not start"; }

echo "# simulator: node-smpp client -> bin/smpp-sim (pid $SIM_PID, port $SIM_PORT) and -> node-smpp server (pid $NODE_PID, port $NODE_PORT)"
echo "# $COUNT submit_sm per run, window $WINDOW, $ROUNDS rounds, CLK_TCK=$HZ"

# run CASE PID PORT ROUND
run() {
    before=$(cpu_ticks "$2") || fail "$1: server pid $2 is gone"
    out=$("$NODE" bench/node/client.js "$3" "$COUNT" "$WINDOW") || fail "$1: the client failed"
    after=$(cpu_ticks "$2") || fail "$1: server pid $2 is gone after the run"
    rate=$(echo "$out" | sed -n 's/.* msgs_per_s=\([0-9][0-9]*\).*/\1/p')
    [ -n "$rate" ] || fail "$1: no rate in the client's output: $out"
    awk -v c="$1" -v r="$4" -v rate="$rate" -v t=$((after - before)) -v hz="$HZ" -v n="$COUNT" \
        'BEGIN { printf "run sim %s round=%d msgs_per_s=%d server_cpu_us_per_msg=%.2f\n", c, r, rate, t / hz * 1e6 / n }'
}

r=1
while [ $r -le "$ROUNDS" ]; do
    run node_client_to_our_sim "$SIM_PID" "$SIM_PORT" $r
    run node_client_to_node_server "$NODE_PID" "$NODE_PORT" $r
    r=$((r + 1))
done >"$TMP/runs" || exit 1
cat "$TMP/runs"

# stop both servers: each must exit 0 having answered every submit
kill "$SIM_PID" "$NODE_PID"
wait "$SIM_PID"; SIM_RC=$?
wait "$NODE_PID"; NODE_RC=$?
PIDS=
[ "$SIM_RC" -eq 0 ] || { cat "$TMP/sim.err" >&2; fail "bin/smpp-sim exited $SIM_RC"; }
[ "$NODE_RC" -eq 0 ] || { cat "$TMP/node.err" >&2; fail "spec/interop/smsc.js exited $NODE_RC"; }
TOTAL=$((ROUNDS * COUNT))
grep -q " submits=$TOTAL " "$TMP/sim.out" || fail "bin/smpp-sim did not count $TOTAL submits: $(tail -n 1 "$TMP/sim.out")"
grep -q "submits=$TOTAL " "$TMP/node.out" || fail "the node server did not count $TOTAL submits: $(tail -n 1 "$TMP/node.out")"
echo "# $(tail -n 1 "$TMP/sim.out")"

awk -v target="$TARGET" '
$1 == "run" {
    c = $3
    split($5, kv, "="); rate = kv[2] + 0
    split($6, kv, "="); cpu = kv[2] + 0
    if (!(c in best) || rate > best[c]) best[c] = rate
    if (!(c in low) || cpu < low[c]) low[c] = cpu
}
END {
    a = "node_client_to_our_sim"; b = "node_client_to_node_server" # ours, node
    if (!(a in best) || !(b in best)) exit 1
    printf "bench sim %s msgs_per_s=%d server_cpu_us_per_msg=%.2f\n", a, best[a], low[a]
    printf "bench sim %s msgs_per_s=%d server_cpu_us_per_msg=%.2f\n", b, best[b], low[b]
    if (low[b] <= 0) exit 1
    r = low[a] / low[b]
    printf "ratio sim cpu_per_msg ours/node=%.3f\n", r
    printf "ratio sim msgs_per_s ours/node=%.3f\n", best[a] / best[b]
    printf "target sim ours_cpu<=1/%d_node %s\n", target, (r <= 1 / target ? "ok" : "MISSED")
}' "$TMP/runs" || fail "summarising the results failed"
exit 0
