#!/bin/sh
# Our client against our simulator and against node-smpp's SMSC, and the
# node-smpp client against node-smpp's SMSC, in the same run; TLS against
# plain; receipts for every message; memory per idle session; throttle
# accuracy. Machine-readable.
#
#   sh bench/client_bench.sh [BUILD_DIR [LUA_BIN]]    (default build/lua5.4 lua5.4)
#
# Loopback throughput: CLIENT_BENCH_COUNT submit_sm (default 50000, 13-octet
# text) through a window of 100, CLIENT_BENCH_ROUNDS rounds (default 3) of
#   ours_to_sim        bench/client_load.lua -> bin/smpp-sim --throttle 0
#   ours_to_node       bench/client_load.lua -> spec/interop/smsc.js (send_many)
#   ours_to_node_spawn the same, 100 smpp.spawn coroutines calling client:send
#   node_to_node       bench/node/client.js  -> spec/interop/smsc.js
#   ours_to_node_receipts / node_to_node_receipts   every message with a receipt
#   ours_to_sim_tls    the first over TLS (a throwaway certificate)
#   ours_to_sim_receipts   every message with a receipt (against node_to_node_receipts)
#   loopback_w100      bench/loopback.c: the same octets, length-prefixed, no codec
# and one message at a time (window 1, a fifth as many):
#   ours_to_node_loop  a top-level loop of client:send -> spec/interop/smsc.js
#   node_to_node_loop  bench/node/client.js with a window of 1
#   ours_to_sim_loop   a top-level loop of client:send -> bin/smpp-sim, timed:
#                      client:send to its return, median and 99th percentile
#   loopback_w1        bench/loopback.c with a window of 1: its round trip
# Each run prints   run client <case> round=I msgs_per_s=N cpu_us_per_msg=X [rtt_us_p50=X rtt_us_p99=Y]
# (client's CPU, user+system, per message), then per case the best rate, the
# lowest CPU and the lowest latencies:
#                    bench client <case> msgs_per_s=N cpu_us_per_msg=X [rtt_us_p50=X rtt_us_p99=Y]
# Memory: CLIENT_BENCH_SESSIONS (default 1000) idle bound sessions in one
# process:           bench client idle_sessions n=N rss_kib_per_session=X  (target <= 32)
# Throttle: 50/s for 20 s (CLIENT_BENCH_THROTTLE_S: 1000 messages) against --throttle 50:
#                    bench client throttle rate=50 seconds=S sent=N refused_0x58=N achieved=F
#   (achieved: the rate reached over 50/s; target: no 0x58 and achieved >= 0.99)
# and the ratios, each of like with like, and their targets:
#   ratio client cpu send_many/node=R          ours_to_node / node_to_node             <= 0.2
#   ratio client cpu spawn/node=R              ours_to_node_spawn / node_to_node       <= 0.2
#   ratio client cpu loop/node_loop=R          ours_to_node_loop / node_to_node_loop   <= 0.2
#   ratio client cpu receipts/node_receipts=R  ours_to_node_receipts / node_to_node_receipts <= 0.2
#   ratio client ours_to_sim/loopback msgs_per_s=R                                     >= 0.25
#   ratio client latency p50 ours/loopback=R, p99 ours/loopback=R  ours_to_sim_loop / loopback_w1 <= 1.5
#   ratio client pair ours_to_sim/node_to_node msgs_per_s=R  (each client with its own SMSC) >= 4
#   ratio client tls/plain msgs_per_s=R                                                >= 0.7
#   ratio client pair receipts ours/node msgs_per_s=R  (ours_to_sim_receipts / node_to_node_receipts) >= 4
#   target ... ok|MISSED
# Exit status 0 when everything ran (a missed target is only reported).
set -u

BUILD_DIR=${1:-build/lua5.4}
LUA_BIN=${2:-lua5.4}
ROUNDS=${CLIENT_BENCH_ROUNDS:-3}
COUNT=${CLIENT_BENCH_COUNT:-50000}
SESSIONS=${CLIENT_BENCH_SESSIONS:-1000}
THROTTLE_S=${CLIENT_BENCH_THROTTLE_S:-20}
NODE=${NODE:-node}
LOOP_COUNT=$((COUNT / 5))
CC=${CC:-cc}

case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$(pwd)/$BUILD_DIR ;; esac
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)

BENCH_NAME=bench/client_bench.sh
. bench/lib.sh
TMP=$(mktemp -d "${TMPDIR:-/tmp}/client_bench.XXXXXX") || fail "mktemp failed"
LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
LUA_CPATH="$BUILD_DIR/?.so;;"
export LUA_PATH LUA_CPATH
ulimit -n 8192 2>/dev/null || ulimit -n 4096 2>/dev/null || true

mkdir -p bench/build && $CC -O2 -std=c99 -Wall -Wextra -pedantic -o bench/build/loopback bench/loopback.c 2>"$TMP/cc.err" ||
    fail "building bench/build/loopback failed: $(cat "$TMP/cc.err")"
# the octets our client and simulator move: the bench's submit_sm and the simulator's answer
SIZES=$("$LUA_BIN" -e 'local pdu = require "smpp.pdu"
print(#pdu.encode{ command = "submit_sm", sequence_number = 1, source_addr = "12345", source_addr_ton = 0,
    source_addr_npi = 1, destination_addr = "4915112345678", dest_addr_ton = 1, dest_addr_npi = 1,
    short_message = "Hello, bench!" },
    #pdu.encode{ command = "submit_sm_resp", sequence_number = 1, message_id = "00000001" })') ||
    fail "the PDU sizes could not be computed"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$TMP/key.pem" -out "$TMP/cert.pem" \
    2>/dev/null || fail "openssl could not make a certificate"

"$LUA_BIN" bin/smpp-sim --port 0 --tls-port 0 --cert "$TMP/cert.pem" --key "$TMP/key.pem" --throttle 0 \
    --account test:test >"$TMP/sim.out" 2>"$TMP/sim.err" &
SIM_PID=$!
"$NODE" spec/interop/smsc.js >"$TMP/node.out" 2>"$TMP/node.err" &
NODE_PID=$!
PIDS="$SIM_PID $NODE_PID"
SIM_PORT=$(port_of "$TMP/sim.out" "$SIM_PID") || fail "bin/smpp-sim did not start: $(cat "$TMP/sim.err")"
TLS_PORT=$(port_of "$TMP/sim.out" "$SIM_PID" tls) || fail "bin/smpp-sim has no TLS port"
NODE_PORT=$(port_of "$TMP/node.out" "$NODE_PID") || fail "spec/interop/smsc.js did not start"
echo "# client: $COUNT submit_sm per run, window 100, $ROUNDS rounds; smpp-sim :$SIM_PORT (TLS :$TLS_PORT), node-smpp SMSC :$NODE_PORT"

# one CASE ROUND COMMAND...: runs a client, prints its run line
one() {
    c=$1 r=$2
    shift 2
    out=$("$@") || fail "$c: the client failed: $out"
    rate=$(echo "$out" | sed -n 's/.* msgs_per_s=\([0-9][0-9]*\).*/\1/p')
    cpu=$(echo "$out" | sed -n 's/.* cpu_us_per_msg=\([0-9.][0-9.]*\).*/\1/p')
    rtt=$(echo "$out" | sed -n 's/.*\( rtt_us_p50=[0-9.]* rtt_us_p99=[0-9.]*\).*/\1/p')
    [ -n "$rate" ] && [ -n "$cpu" ] || fail "$c: no figures in: $out"
    echo "run client $c round=$r msgs_per_s=$rate cpu_us_per_msg=$cpu$rtt"
}

r=1
while [ $r -le "$ROUNDS" ]; do
    one ours_to_sim $r "$LUA_BIN" bench/client_load.lua "$SIM_PORT" "$COUNT" 100
    one ours_to_node $r "$LUA_BIN" bench/client_load.lua "$NODE_PORT" "$COUNT" 100
    one ours_to_node_spawn $r "$LUA_BIN" bench/client_load.lua "$NODE_PORT" "$COUNT" 100 way spawn
    one node_to_node $r "$NODE" bench/node/client.js "$NODE_PORT" "$COUNT" 100
    one ours_to_node_receipts $r "$LUA_BIN" bench/client_load.lua "$NODE_PORT" "$COUNT" 100 receipts
    one node_to_node_receipts $r "$NODE" bench/node/client.js "$NODE_PORT" "$COUNT" 100 receipts
    one ours_to_sim_tls $r "$LUA_BIN" bench/client_load.lua "$TLS_PORT" "$COUNT" 100 tls "$TMP/cert.pem"
    one ours_to_sim_receipts $r "$LUA_BIN" bench/client_load.lua "$SIM_PORT" "$COUNT" 100 receipts
    # shellcheck disable=SC2086
    one loopback_w100 $r bench/build/loopback 100 "$COUNT" $SIZES
    one ours_to_node_loop $r "$LUA_BIN" bench/client_load.lua "$NODE_PORT" "$LOOP_COUNT" 1 way loop
    one node_to_node_loop $r "$NODE" bench/node/client.js "$NODE_PORT" "$LOOP_COUNT" 1
    one ours_to_sim_loop $r "$LUA_BIN" bench/client_load.lua "$SIM_PORT" "$LOOP_COUNT" 1 way loop
    # shellcheck disable=SC2086
    one loopback_w1 $r bench/build/loopback 1 "$LOOP_COUNT" $SIZES
    r=$((r + 1))
done >"$TMP/runs" || exit 1
cat "$TMP/runs"

# Memory: idle bound sessions in one process.
"$LUA_BIN" bin/smpp-sim --port 0 --throttle 0 --max-binds $((SESSIONS + 1)) --idle-timeout 0 --account test:test \
    >"$TMP/sim2.out" 2>"$TMP/sim2.err" &
SIM2_PID=$!
PIDS="$PIDS $SIM2_PID"
SIM2_PORT=$(port_of "$TMP/sim2.out" "$SIM2_PID") || fail "the second bin/smpp-sim did not start"
"$LUA_BIN" - "$SIM2_PORT" "$SESSIONS" >"$TMP/idle" <<'LUA' || fail "the idle sessions run failed"
local smpp = require "smpp"
local port, n = tonumber(arg[1]), tonumber(arg[2])
local function rss()
    for line in io.lines("/proc/self/status") do
        local kb = line:match("^VmRSS:%s+(%d+)")
        if kb then return tonumber(kb) end
    end
end
-- one session first, so that what every process pays once (code, modules) is not counted
local clients = { assert(smpp.connect{ port = port, system_id = "test", password = "test", enquire_link = 0 }) }
collectgarbage() collectgarbage()
local before = rss()
for i = 2, n + 1 do
    clients[i] = assert(smpp.connect{ port = port, system_id = "test", password = "test", enquire_link = 0 })
end
collectgarbage() collectgarbage()
local after = rss()
print(("bench client idle_sessions n=%d rss_kib_per_session=%.1f"):format(n, (after - before) / n))
LUA

# Throttle accuracy: 50/s for THROTTLE_S seconds against the simulator's strict 50/s.
"$LUA_BIN" bin/smpp-sim --port 0 --throttle 50 --account test:test >"$TMP/sim3.out" 2>"$TMP/sim3.err" &
SIM3_PID=$!
PIDS="$PIDS $SIM3_PID"
SIM3_PORT=$(port_of "$TMP/sim3.out" "$SIM3_PID") || fail "the third bin/smpp-sim did not start"
"$LUA_BIN" - "$SIM3_PORT" "$THROTTLE_S" >"$TMP/throttle" <<'LUA' || fail "the throttle run failed"
local smpp = require "smpp"
local loop = require "smpp.loop"
local port, seconds = tonumber(arg[1]), tonumber(arg[2])
local c = assert(smpp.connect{ port = port, system_id = "test", password = "test", throttle = 50, window = 10 })
-- 50 a second for the time given: as many messages as that allows, sent as fast as the throttle lets
local n, list = 50 * seconds, {}
for i = 1, n do list[i] = { to = tostring(i), text = "t" } end
local t0 = loop.now()
local sent, refused = 0, 0
for _, r in ipairs(c:send_many(list)) do
    if type(r[1]) == "string" then sent = sent + 1 elseif r[3] == 0x58 then refused = refused + 1 end
end
local elapsed = (loop.now() - t0) / 1000
c:close()
-- the first goes at once: n messages need (n - 1) / 50 s at exactly 50/s
print(("bench client throttle rate=50 seconds=%.2f sent=%d refused_0x58=%d achieved=%.4f"):format(
    elapsed, sent, refused, sent == n and (n - 1) / 50 / elapsed or 0))
LUA
kill "$SIM3_PID"; wait "$SIM3_PID" 2>/dev/null
THROTTLED=$(sed -n 's/.* throttled=\([0-9][0-9]*\).*/\1/p' "$TMP/sim3.out")
cat "$TMP/idle" "$TMP/throttle"
echo "bench client throttle simulator_refused_0x58=${THROTTLED:-?}"
awk -v sim_refused="${THROTTLED:-1}" '
/idle_sessions/ { split($5, kv, "="); kib = kv[2] + 0; have_kib = 1 }
/throttle rate=/ { split($7, kv, "="); refused = kv[2] + 0; split($8, kv, "="); achieved = kv[2] + 0; have_t = 1 }
END {
    printf "target client idle_session_rss<=32KiB %s\n", (have_kib && kib <= 32) ? "ok" : "MISSED"
    printf "target client throttle_no_0x58_and_99%% %s\n",
        (have_t && refused == 0 && sim_refused == 0 && achieved >= 0.99) ? "ok" : "MISSED"
}' "$TMP/idle" "$TMP/throttle"

awk '
$1 == "run" {
    c = $3
    split($5, kv, "="); rate = kv[2] + 0
    split($6, kv, "="); cpu = kv[2] + 0
    if (!(c in best) || rate > best[c]) best[c] = rate
    if (!(c in low) || cpu < low[c]) low[c] = cpu
    if (NF >= 8) {
        split($7, kv, "="); a = kv[2] + 0
        split($8, kv, "="); b = kv[2] + 0
        if (!(c in p50) || a < p50[c]) p50[c] = a
        if (!(c in p99) || b < p99[c]) p99[c] = b
    }
}
function target(name, ok) { printf "target client %s %s\n", name, ok ? "ok" : "MISSED" }
function ratio(name, r, goal, atmost) {
    printf "ratio client %s=%.3f\n", name, r
    return atmost ? r <= goal : r >= goal
}
END {
    for (c in best) {
        extra = (c in p50) ? sprintf(" rtt_us_p50=%d rtt_us_p99=%d", p50[c], p99[c]) : ""
        printf "bench client %s msgs_per_s=%d cpu_us_per_msg=%.2f%s\n", c, best[c], low[c], extra
    }
    t1 = ratio("cpu send_many/node", low["ours_to_node"] / low["node_to_node"], 0.2, 1)
    t2 = ratio("cpu spawn/node", low["ours_to_node_spawn"] / low["node_to_node"], 0.2, 1)
    t3 = ratio("cpu loop/node_loop", low["ours_to_node_loop"] / low["node_to_node_loop"], 0.2, 1)
    t4 = ratio("cpu receipts/node_receipts", low["ours_to_node_receipts"] / low["node_to_node_receipts"], 0.2, 1)
    t5 = ratio("ours_to_sim/loopback msgs_per_s", best["ours_to_sim"] / best["loopback_w100"], 0.25, 0)
    t6 = ratio("latency p50 ours/loopback", p50["ours_to_sim_loop"] / p50["loopback_w1"], 1.5, 1)
    t7 = ratio("latency p99 ours/loopback", p99["ours_to_sim_loop"] / p99["loopback_w1"], 1.5, 1)
    t8 = ratio("pair ours_to_sim/node_to_node msgs_per_s", best["ours_to_sim"] / best["node_to_node"], 4, 0)
    t9 = ratio("tls/plain msgs_per_s", best["ours_to_sim_tls"] / best["ours_to_sim"], 0.7, 0)
    t10 = ratio("pair receipts ours/node msgs_per_s", best["ours_to_sim_receipts"] / best["node_to_node_receipts"], 4, 0)
    target("cpu_send_many<=1/5_node", t1)
    target("cpu_spawn<=1/5_node", t2)
    target("cpu_loop<=1/5_node_loop", t3)
    target("cpu_receipts<=1/5_node_receipts", t4)
    target("ours_to_sim>=25%_loopback", t5)
    target("latency_p50<=1.5x_loopback", t6)
    target("latency_p99<=1.5x_loopback", t7)
    target("ours_pair>=4x_node_pair", t8)
    target("tls>=0.7x_plain", t9)
    target("receipts_pair_ours>=4x_node", t10)
}' "$TMP/runs" || fail "summarising failed"
exit 0
