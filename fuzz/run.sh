#!/bin/sh
# Bounded libFuzzer run of every target of the C core.
#   sh fuzz/run.sh [SECONDS]     (from anywhere; default 30, split between the targets)
# Builds fuzz/build/<target> for each of TARGETS, replays the saved
# reproducers of fuzz/regressions/, seeds fuzz/build/corpus-<target>/ from
# fuzz/seeds/ (fuzz/seeds-receipt/ for fuzz_receipt, fuzz/seeds-gsm/ for
# fuzz_gsm), runs each target for an equal share of SECONDS and prints one
# line per target:  fuzz <target> runs=N secs=S exec/s=R crashes=C
# Exits non-zero when a target crashes or a regression reproducer fails.
# Crash artifacts go to fuzz/build/<target>-crash-<sha1> (and leak-, timeout-, oom-).
# Environment: CC (default clang), FUZZ_CFLAGS (added), FUZZ_ARGS (added to libFuzzer's).
set -u

secs=${1:-30}
case $secs in
'' | *[!0-9]*) echo "usage: sh fuzz/run.sh [SECONDS]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
fz=fuzz
bld=$fz/build
CC=${CC:-clang}
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=c99 -D_POSIX_C_SOURCE=200809L -Icsrc -Ifuzz"
CORE="csrc/smpp_buf.c csrc/smpp_defs.c csrc/smpp_pdu.c csrc/smpp_frame.c csrc/smpp_receipt.c \
      csrc/smpp_gsm.c csrc/smpp_text.c csrc/smpp_session.c csrc/smpp_throttle.c"
TARGETS="fuzz_decode fuzz_framer fuzz_receipt fuzz_gsm fuzz_udh fuzz_session"
# shellcheck disable=SC2086
set -- $TARGETS
per=$((secs / $#))
[ "$per" -ge 1 ] || per=1
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

mkdir -p "$bld" || exit 2
for t in $TARGETS; do
    # shellcheck disable=SC2086
    $CC $CFLAGS ${FUZZ_CFLAGS:-} -o "$bld/$t" "$fz/$t.c" $CORE || {
        echo "fuzz $t: build failed" >&2
        exit 2
    }
done

# Seeds: valid PDUs (fuzz/gen_seeds.sh writes them when missing).
if ! ls "$fz"/seeds/*.bin >/dev/null 2>&1; then
    sh "$fz/gen_seeds.sh" "$fz/seeds" || exit 2
fi
mkdir -p "$bld/corpus-fuzz_decode" "$bld/corpus-fuzz_framer"
cp "$fz"/seeds/*.bin "$bld/corpus-fuzz_decode/"
# The framer takes two control octets first (chunking pattern | max_length
# choice << 4, and a seed), then the stream: each seed alone in a few
# chunkings, and all the seeds back to back.
for s in "$fz"/seeds/*.bin; do
    b=$(basename "$s" .bin)
    for ctl in '\000\000' '\001\000' '\010\007' '\342\133'; do
        name=$(printf '%s' "$ctl" | tr -d '\\')
        { printf "$ctl"; cat "$s"; } >"$bld/corpus-fuzz_framer/seed-$b-$name"
    done
done
{ printf '\017\052'; cat "$fz"/seeds/*.bin; } >"$bld/corpus-fuzz_framer/seed-all-stream"
{ printf '\011\001'; cat "$fz"/seeds/*.bin; } >"$bld/corpus-fuzz_framer/seed-all-stream-2"
# Receipt texts as SMSCs send them; id-split-* start with the octet that splits the ids.
mkdir -p "$bld/corpus-fuzz_receipt"
cp "$fz"/seeds-receipt/* "$bld/corpus-fuzz_receipt/"
# Texts, septets with escapes and packed septets (fuzz_gsm reads each input all three ways).
mkdir -p "$bld/corpus-fuzz_gsm"
cp "$fz"/seeds-gsm/* "$bld/corpus-fuzz_gsm/"
# The session takes a control octet (role, chunk size), then a stream of PDUs.
mkdir -p "$bld/corpus-fuzz_session"
for ctl in '\000' '\001' '\016' '\377'; do
    { printf "$ctl"; cat "$fz"/seeds/*.bin; } >"$bld/corpus-fuzz_session/seed-$(printf '%s' "$ctl" | tr -d '\\')"
done
# User data headers: the UDH of each concatenation form, then some text.
mkdir -p "$bld/corpus-fuzz_udh"
printf '\005\000\003\007\002\001hello' >"$bld/corpus-fuzz_udh/udh8"
printf '\006\010\004\022\064\003\002world' >"$bld/corpus-fuzz_udh/udh16"
printf '\013\005\004\013\204\043\360\000\003\001\002\001\033\145' >"$bld/corpus-fuzz_udh/ports-concat"

status=0

# Saved reproducers: fuzz/regressions/<target>-NAME.bin (decode-*.bin are fuzz_decode inputs).
for t in $TARGETS; do
    short=${t#fuzz_}
    set -- "$fz"/regressions/"$short"-*.bin
    [ -e "$1" ] || continue
    fails=0
    for r in "$@"; do
        if ! "$bld/$t" "$r" >"$bld/$t-regression.log" 2>&1; then
            fails=$((fails + 1))
            echo "fuzz $t: reproducer $r still fails:" >&2
            grep -m1 -E 'property failed|ERROR: AddressSanitizer|runtime error' \
                "$bld/$t-regression.log" >&2
            grep -m1 -A1 'property failed' "$bld/$t-regression.log" | tail -n1 >&2
        fi
    done
    echo "fuzz $t regressions=$# failing=$fails"
    [ "$fails" -eq 0 ] || status=1
done

for t in $TARGETS; do
    log=$bld/$t.log
    before=$(ls "$bld" | grep -c -E "^$t-(crash|leak|timeout|oom)-")
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$bld/$t" -max_total_time="$per" -max_len=2048 -timeout=10 -dict="$fz/smpp.dict" \
        -artifact_prefix="$bld/$t-" -print_final_stats=1 ${FUZZ_ARGS:-} \
        "$bld/corpus-$t" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    [ "$took" -ge 1 ] || took=1
    after=$(ls "$bld" | grep -c -E "^$t-(crash|leak|timeout|oom)-")
    crashes=$((after - before))
    [ "$rc" -eq 0 ] || [ "$crashes" -gt 0 ] || crashes=1
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    [ -n "$runs" ] || runs=$(grep -o '^#[0-9]*' "$log" | tail -n1 | tr -d '#')
    [ -n "$runs" ] || runs=0
    echo "fuzz $t runs=$runs secs=$took exec/s=$((runs / took)) crashes=$crashes"
    if [ "$crashes" -gt 0 ]; then
        status=1
        grep -m1 -E 'property failed|ERROR: AddressSanitizer|ERROR: libFuzzer|runtime error' "$log" >&2
        grep -m1 -A1 'property failed' "$log" | tail -n1 >&2
        grep -E 'Test unit written to' "$log" >&2
        echo "  log: $log" >&2
    fi
done
exit $status
