#!/bin/sh
# Benchmarks of the PDU codec against Debian's libsmpp34, machine-readable.
#
#   sh bench/run.sh BUILD_DIR LUA_BIN      (make bench: build/lua5.4 lua5.4)
#
# Builds bench/build/libsmpp34_bench and bench/build/codec_bench (-O2), then
# runs libsmpp34, our C codec and our Lua API interleaved, BENCH_ROUNDS rounds
# (default 3) of BENCH_SECONDS seconds per case (default 1), and prints:
#   bench <impl> <case> roundtrips_per_s=N        every raw measurement
#   median <impl> <case> roundtrips_per_s=N       the median over the rounds
#   best <impl> <case> roundtrips_per_s=N         the fastest round
#   ratio c/libsmpp34 <case>=R                    from BENCH_STAT (best|median)
#   target c/libsmpp34>=20 <case> ok|MISSED       (C >= 20x, Lua >= 3x)
# The ratios use the best round by default: on a shared (virtual) machine,
# interference only ever slows a round down, so the fastest round is the
# least disturbed one; BENCH_STAT=median uses the medians instead.
# The same PDUs (submit_sm of 72 and of 231 octets) go through all three;
# each bench checks its bytes against the same reference first.
# Then the message-text bench (bench/text_bench.lua), the simulator bench
# (bench/sim_bench.sh), the client bench (bench/client_bench.sh), the
# tracker bench (bench/track_bench.sh: receipts with each store) and the
# nginx bench (bench/ngx_bench.lua), each with its own machine-readable
# lines, ratios and targets.
# Exit status: 0 when everything built and verified (a missed target is only
# reported), non-zero when a build, a verification or a run failed.
set -u

BUILD_DIR=${1:-build/lua5.4}
LUA_BIN=${2:-lua5.4}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-1}
STAT=${BENCH_STAT:-best}
CC=${CC:-cc}
C_TARGET=20
LUA_TARGET=3

case "$BUILD_DIR" in /*) ;; *) BUILD_DIR=$(pwd)/$BUILD_DIR ;; esac
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)

case "$STAT" in best | median) ;; *) echo "bench/run.sh: BENCH_STAT must be best or median" >&2; exit 2 ;; esac

fail() {
    echo "bench/run.sh: $*" >&2
    exit 1
}

[ -f "$BUILD_DIR/smpp/core.so" ] || fail "$BUILD_DIR/smpp/core.so is missing (run make first)"
command -v "$LUA_BIN" >/dev/null 2>&1 || fail "$LUA_BIN not found"

mkdir -p bench/build || fail "cannot create bench/build"

SMPP34_FLAGS=$(pkg-config --cflags --libs libsmpp34 2>/dev/null) ||
    SMPP34_FLAGS="-I/usr/include/libsmpp34 -lsmpp34"
# shellcheck disable=SC2086
$CC -O2 -Wall -Wextra -o bench/build/libsmpp34_bench bench/libsmpp34_bench.c $SMPP34_FLAGS ||
    fail "building bench/build/libsmpp34_bench failed (is libsmpp34-dev installed?)"
$CC -O2 -Wall -Wextra -std=c99 -D_POSIX_C_SOURCE=200809L -Icsrc \
    -o bench/build/codec_bench bench/codec_bench.c \
    csrc/smpp_buf.c csrc/smpp_defs.c csrc/smpp_pdu.c csrc/smpp_frame.c ||
    fail "building bench/build/codec_bench failed"

LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;;"
LUA_CPATH="$BUILD_DIR/?.so;;"
export LUA_PATH LUA_CPATH

RESULTS=$(mktemp) || fail "mktemp failed"
OUT=$(mktemp) || fail "mktemp failed"
trap 'rm -f "$RESULTS" "$OUT"' EXIT
trap 'exit 130' INT TERM

# run IMPL COMMAND...: one bench process, both cases; its lines are kept.
run() {
    impl=$1
    shift
    "$@" >"$OUT"
    st=$?
    [ "$st" -eq 0 ] || { cat "$OUT"; fail "$impl bench failed (exit status $st)"; }
    for case in submit_sm_72 submit_sm_231; do
        grep -q "^bench $impl $case roundtrips_per_s=[0-9][0-9]*\$" "$OUT" ||
            { cat "$OUT"; fail "$impl bench printed no figure for $case"; }
    done
    cat "$OUT"
    cat "$OUT" >>"$RESULTS"
}

echo "# lua-smpp codec bench: rounds=$ROUNDS seconds_per_case=$SECS statistic=$STAT lua=$LUA_BIN"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    run libsmpp34 bench/build/libsmpp34_bench "$SECS"
    run c bench/build/codec_bench "$SECS"
    run lua "$LUA_BIN" bench/codec_bench.lua "$SECS"
    r=$((r + 1))
done

awk -v ct="$C_TARGET" -v lt="$LUA_TARGET" -v stat="$STAT" '
$1 == "bench" {
    split($4, kv, "=")
    k = $2 " " $3
    n[k]++
    v[k, n[k]] = kv[2] + 0
}
function sorted(k,    i, j, t, m) {
    m = n[k]
    for (i = 1; i <= m; i++) s[i] = v[k, i]
    for (i = 2; i <= m; i++)          # insertion sort, m is small
        for (j = i; j > 1 && s[j - 1] > s[j]; j--) { t = s[j]; s[j] = s[j - 1]; s[j - 1] = t }
    return m
}
END {
    split("submit_sm_72 submit_sm_231", cases, " ")
    split("libsmpp34 c lua", impls, " ")
    for (c = 1; c <= 2; c++)
        for (i = 1; i <= 3; i++) {
            k = impls[i] " " cases[c]
            m = sorted(k)
            med = (m % 2) ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
            printf "median %s %s roundtrips_per_s=%.0f\n", impls[i], cases[c], med
            printf "best %s %s roundtrips_per_s=%.0f\n", impls[i], cases[c], s[m]
            sel[k] = stat == "median" ? med : s[m]
        }
    for (c = 1; c <= 2; c++) {
        base = sel["libsmpp34 " cases[c]]
        rc = sel["c " cases[c]] / base
        rl = sel["lua " cases[c]] / base
        printf "ratio c/libsmpp34 %s=%.2f\n", cases[c], rc
        printf "ratio lua/libsmpp34 %s=%.2f\n", cases[c], rl
        printf "ratio c/lua %s=%.2f\n", cases[c], sel["c " cases[c]] / sel["lua " cases[c]]
        printf "target c/libsmpp34>=%s %s %s\n", ct, cases[c], (rc >= ct ? "ok" : "MISSED")
        printf "target lua/libsmpp34>=%s %s %s\n", lt, cases[c], (rl >= lt ? "ok" : "MISSED")
    }
}' "$RESULTS" || fail "summarising the results failed"

echo "# message text: split throughput against a plain-Lua encoder"
"$LUA_BIN" bench/text_bench.lua "$SECS" || fail "text bench failed"
sh bench/sim_bench.sh "$BUILD_DIR" "$LUA_BIN" || fail "simulator bench failed"
sh bench/client_bench.sh "$BUILD_DIR" "$LUA_BIN" || fail "client bench failed"
sh bench/track_bench.sh "$BUILD_DIR" "$LUA_BIN" || fail "tracker bench failed"
echo "# nginx: messages/s through HTTP into examples/openresty (smpp.ngx)"
LUA_PATH="$ROOT/lua/?.lua;$ROOT/lua/?/init.lua;$ROOT/spec/?.lua;;" "$LUA_BIN" bench/ngx_bench.lua ||
    fail "nginx bench failed"
exit 0
