#!/usr/bin/env bash
# The server process: starts on a fresh data dir (0700) with the whole
# hard limit on open files, answers JSON,
# refuses a second server on the same data dir, refuses a bad config, and
# stops cleanly (exit 0) on SIGTERM and SIGINT.
source "$(dirname "$0")/../lib/functions.sh"
requires curl --version
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)

hard_nofile=$(ulimit -Hn)
[[ $hard_nofile == unlimited || $hard_nofile -gt 1024 ]] && ulimit -Sn 1024
"$bin" server --data-dir "$data" --listen "127.0.0.1:$port" 2>"$TMPDIR_TEST/log" &
pid=$!
cleanup_fn "kill $pid 2>/dev/null || true"
wait_for_port "$port" || fail "server did not listen: $(cat "$TMPDIR_TEST/log")"

[[ $(stat -c %a "$data") == 700 ]] || fail "data dir is not 0700"
# a disk with 256 snapshots holds over a thousand files: the server takes
# the whole hard limit on open files, although it was started with less
read -r soft hard < <(awk '/Max open files/ {print $4, $5}' "/proc/$pid/limits")
[[ $soft == "$hard" ]] || fail "open-files limit $soft, not the hard limit $hard"
[[ $hard_nofile != 1024 ]] || echo "note: the hard open-files limit is 1024, the raise was not exercised" >&2
[[ $(stat -c %a "$data/meta.db") == 600 ]] || fail "meta.db is not 0600"
[[ $(stat -c %a "$data/audit.log") == 600 ]] || fail "audit.log is not 0600"
"$bin" audit --data-dir "$data" >"$TMPDIR_TEST/audit" || fail "sealdisk audit failed"
if "$bin" audit --data-dir "$TMPDIR_TEST/nowhere" 2>"$TMPDIR_TEST/audit-err"; then
    fail "sealdisk audit succeeded without a log"
fi
grep -q 'cannot open the audit log' "$TMPDIR_TEST/audit-err" || fail "no reason given"

body=$(curl -s -o /dev/stdout -w '\n%{http_code}' --cacert "$data/tls/api.crt" -X POST \
    "https://127.0.0.1:$port/")
status=${body##*$'\n'}
[[ $status == 400 ]] || fail "unexpected status $status (an unsigned request)"
grep -q "MissingParameter" <<<"$body" || fail "unsigned request not refused as such: $body"
grep -q '"RequestId"' <<<"$body" || fail "no RequestId in: $body"
grep -q '"Code"' <<<"$body" || fail "no Code in: $body"

if "$bin" server --data-dir "$data" --listen "127.0.0.1:$(free_port)" 2>"$TMPDIR_TEST/second"; then
    fail "a second server started on the same data dir"
fi
grep -q 'another sealdisk server' "$TMPDIR_TEST/second" || fail "no reason given: $(cat "$TMPDIR_TEST/second")"

kill -TERM $pid
wait $pid || fail "server exited non-zero on SIGTERM"
grep -q 'stopped' "$TMPDIR_TEST/log" || fail "no orderly stop logged"

printf 'colour = blue\n' >"$TMPDIR_TEST/bad.conf"
if "$bin" server --config "$TMPDIR_TEST/bad.conf" --data-dir "$data" 2>"$TMPDIR_TEST/bad"; then
    fail "an unknown config key was accepted"
fi
grep -q "unknown key 'colour'" "$TMPDIR_TEST/bad" || fail "unhelpful error: $(cat "$TMPDIR_TEST/bad")"

"$bin" server --data-dir "$data" --listen "127.0.0.1:$port" 2>"$TMPDIR_TEST/log2" &
pid=$!
wait_for_port "$port" || fail "restart did not listen"
kill -INT $pid
wait $pid || fail "server exited non-zero on SIGINT"
echo "PASS"
