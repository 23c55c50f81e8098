#!/usr/bin/env bash
# `sealdisk gc`: refuses while a server runs on the data dir; with
# --dry-run lists orphan block objects (layers no row names, as a killed
# job leaves) and removes nothing; without it removes exactly those; and a
# server start reclaims them by itself.  Files of other shapes stay.
source "$(dirname "$0")/../lib/functions.sh"
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
blocks=$data/blocks
port=$(free_port)
orphan=0123456789abcdef0123456789abcdef

start() {
    "$bin" server --data-dir "$data" --listen "127.0.0.1:$port" 2>>"$TMPDIR_TEST/log" &
    pid=$!
    cleanup_fn "kill $pid 2>/dev/null || true"
    wait_for_port "$port" || fail "server did not listen: $(cat "$TMPDIR_TEST/log")"
}
stop() {
    kill -TERM "$pid"
    wait "$pid" || fail "server exited non-zero"
}
plant() {
    head -c 8192 /dev/urandom >"$blocks/$orphan.data"
    : >"$blocks/$orphan.map"
    echo keep >"$blocks/notes.data"
}

start
plant
set +e
"$bin" gc --data-dir "$data" --dry-run >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err"
st=$?
set -e
[[ $st == 3 ]] || fail "gc ran beside a server (exit $st)"
grep -q 'in use by another process' "$TMPDIR_TEST/err" || fail "no reason: $(cat "$TMPDIR_TEST/err")"
[[ -f $blocks/$orphan.data ]] || fail "gc beside a server removed an object"
stop

"$bin" gc --data-dir "$data" --dry-run >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err" || fail "dry run failed: $(cat "$TMPDIR_TEST/err")"
grep -q "^would-remove $orphan.data [0-9]" "$TMPDIR_TEST/out" || fail "dry run did not list .data: $(cat "$TMPDIR_TEST/out")"
grep -q "^would-remove $orphan.map " "$TMPDIR_TEST/out" || fail "dry run did not list .map"
[[ $(wc -l <"$TMPDIR_TEST/out") == 2 ]] || fail "dry run listed more: $(cat "$TMPDIR_TEST/out")"
[[ -f $blocks/$orphan.data && -f $blocks/$orphan.map ]] || fail "dry run removed something"

"$bin" gc --data-dir "$data" >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err" || fail "gc failed: $(cat "$TMPDIR_TEST/err")"
grep -q "^removed $orphan.data" "$TMPDIR_TEST/out" || fail "gc did not say what it removed"
[[ ! -e $blocks/$orphan.data && ! -e $blocks/$orphan.map ]] || fail "gc left the orphans"
[[ -f $blocks/notes.data && -f $blocks/block.db ]] || fail "gc removed what is no layer object"
"$bin" gc --data-dir "$data" --dry-run >"$TMPDIR_TEST/out" || fail "second dry run failed"
[[ ! -s $TMPDIR_TEST/out ]] || fail "orphans after gc: $(cat "$TMPDIR_TEST/out")"

# the server reclaims at start
plant
start
[[ ! -e $blocks/$orphan.data && ! -e $blocks/$orphan.map ]] || fail "start left the orphans"
[[ -f $blocks/notes.data ]] || fail "start removed what is no layer object"
stop
echo "PASS"
