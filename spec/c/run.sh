#!/bin/sh
# Builds and runs the C unit tests of the core, spec/c/test_*.c.
#   sh spec/c/run.sh            (from anywhere)
# Each test is compiled with -std=c99 -Wall -Wextra -pedantic -Werror and the
# csrc/ files it needs (below; by default every csrc/smpp_*.c), with clang and
# -fsanitize=address,undefined when clang is there (else cc, no sanitizers; CC
# picks another compiler), into build/spec-c/, then run. Prints each test's
# "N passed, N failed" line; exits non-zero when a build or a test fails.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
bld=build/spec-c
mkdir -p "$bld" || exit 2

if [ -z "${CC:-}" ] && command -v clang >/dev/null 2>&1; then
    CC=clang
fi
CC=${CC:-cc}
CFLAGS="-std=c99 -Wall -Wextra -pedantic -Werror -D_POSIX_C_SOURCE=200809L -Icsrc -g -O1"
case $($CC --version 2>/dev/null | head -n1) in
*clang*)
    CFLAGS="$CFLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined"
    CFLAGS="$CFLAGS -fno-omit-frame-pointer"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    ;;
esac

# The csrc/ files a test links (smpp_buf.c needs smpp_pdu.h's SMPP_ENOMEM,
# hence the codec).
sources() {
    case $1 in
    test_gsm) echo csrc/smpp_gsm.c csrc/smpp_buf.c csrc/smpp_defs.c csrc/smpp_pdu.c ;;
    test_net) echo csrc/smpp_net.c ;;
    test_receipt) echo csrc/smpp_receipt.c csrc/smpp_text.c csrc/smpp_gsm.c csrc/smpp_buf.c csrc/smpp_defs.c csrc/smpp_pdu.c ;;
    test_throttle) echo csrc/smpp_throttle.c ;;
    test_tls) echo csrc/smpp_tls.c ;;
    *) echo csrc/smpp_*.c ;;
    esac
}

# The link flags a test needs beyond libc: OpenSSL where smpp_tls.c is linked;
# test_alloc counts the core's calls to the allocator.
libs() {
    case " $(sources "$1") " in
    *" csrc/smpp_tls.c "*) echo -lssl -lcrypto ;;
    esac
    [ "$1" = test_alloc ] && echo -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
}

status=0
ran=0
for src in spec/c/test_*.c; do
    [ -e "$src" ] || continue
    t=$(basename "$src" .c)
    # shellcheck disable=SC2046,SC2086
    if ! $CC $CFLAGS -o "$bld/$t" "$src" $(sources "$t") $(libs "$t"); then
        echo "$t: build failed" >&2
        status=1
        continue
    fi
    ran=$((ran + 1))
    "$bld/$t" || { echo "$t: FAILED (exit $?)" >&2; status=1; }
done
[ "$ran" -gt 0 ] || { echo "spec/c: no test ran" >&2; status=1; }
exit $status
