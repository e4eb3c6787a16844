# Shared by bench/sim_bench.sh and bench/client_bench.sh (sourced, after
# BENCH_NAME, BUILD_DIR and NODE are set and the current directory is the
# project's top): the processes to stop on exit, failing, waiting for a
# server's port, and the checks before a run.

PIDS= TMP=
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    PIDS=
    [ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
    echo "$BENCH_NAME: $*" >&2
    exit 1
}

# port_of FILE PID [tls]: waits for "...listening on 127.0.0.1:PORT" (or, with
# tls, "...TLS on port PORT") in FILE while PID lives, and prints the port
port_of() {
    i=0
    while [ $i -lt 50 ]; do
        if [ "${3:-}" = tls ]; then
            p=$(sed -n 's/.*TLS on port \([0-9][0-9]*\).*/\1/p' "$1")
        else
            p=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1")
        fi
        [ -n "$p" ] && { echo "$p"; return 0; }
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

[ -f "$BUILD_DIR/smpp/core.so" ] || fail "$BUILD_DIR/smpp/core.so is missing (run make first)"
command -v "$NODE" >/dev/null 2>&1 || fail "$NODE not found"
[ -d spec/interop/node_modules/smpp ] || fail "spec/interop/node_modules/smpp is missing"
