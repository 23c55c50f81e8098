# nbd-lib.sh: helpers for the NBD interop tests (sourced after functions.sh).
#   start_nbd ARGS...  runs `sealdisk nbd-serve --store $TMPDIR_TEST/store
#                      ARGS...` in the background, waits until its pid file
#                      names it (written once its listeners are bound), and
#                      stops it on exit; sets NBD_PID and NBD_LOG.
#   stop_nbd           SIGTERM, and fails unless it exits 0.
# The wait is on the pid file, never on a line in the log: a second start
# in one test would otherwise find the first server's line.

start_nbd() {
    local bin=${SEALDISK:?SEALDISK must name the sealdisk binary} i
    NBD_LOG=$TMPDIR_TEST/nbd.log
    NBD_PIDFILE=$TMPDIR_TEST/nbd.pid
    rm -f "$NBD_PIDFILE"
    "$bin" nbd-serve --store "$TMPDIR_TEST/store" --pidfile "$NBD_PIDFILE" "$@" 2>"$NBD_LOG" &
    NBD_PID=$!
    cleanup_fn "kill $NBD_PID 2>/dev/null || true"
    for ((i = 0; i < 100; i++)); do
        if [[ -s $NBD_PIDFILE && $(<"$NBD_PIDFILE") == "$NBD_PID" ]]; then
            return 0
        fi
        kill -0 "$NBD_PID" 2>/dev/null || fail "nbd-serve exited: $(cat "$NBD_LOG")"
        sleep 0.1
    done
    fail "nbd-serve did not become ready: $(cat "$NBD_LOG")"
}

stop_nbd() {
    kill -TERM "$NBD_PID"
    wait "$NBD_PID" || fail "nbd-serve exited non-zero: $(tail -5 "$NBD_LOG")"
    [[ ! -e $NBD_PIDFILE ]] || fail "nbd-serve left its pid file behind"
}
