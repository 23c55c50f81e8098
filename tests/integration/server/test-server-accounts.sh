#!/usr/bin/env bash
# `sealdisk account create` beside a running server: every account made
# while the server runs can call at once, however many there are.  (A
# database descriptor opened and closed by the store once dropped the
# server's SQLite locks, so a later process could checkpoint and delete the
# WAL under it and the server stopped seeing new AccessKeys.)
source "$(dirname "$0")/../lib/functions.sh"
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)

start_server

for n in 1 2 3 4; do
    "$bin" account create "tenant$n" --data-dir "$data" >"$TMPDIR_TEST/acct" 2>/dev/null ||
        fail "account create tenant$n failed"
    akid=$(sed -n 's/.*"AccessKeyId":"\([^"]*\)".*/\1/p' "$TMPDIR_TEST/acct")
    secret=$(sed -n 's/.*"AccessKeySecret":"\([^"]*\)".*/\1/p' "$TMPDIR_TEST/acct")
    ALIBABA_CLOUD_ACCESS_KEY_ID=$akid ALIBABA_CLOUD_ACCESS_KEY_SECRET=$secret \
        "$bin" kms ListKeys --endpoint "https://127.0.0.1:$port" >"$TMPDIR_TEST/out" 2>&1 ||
        fail "tenant$n cannot call: $(cat "$TMPDIR_TEST/out")"
    grep -q '"TotalCount": 0' "$TMPDIR_TEST/out" || fail "tenant$n sees keys: $(cat "$TMPDIR_TEST/out")"
done
# negative twin: a made-up key is still refused
if ALIBABA_CLOUD_ACCESS_KEY_ID=LTAInotakeynotakeynota ALIBABA_CLOUD_ACCESS_KEY_SECRET=x \
    "$bin" kms ListKeys --endpoint "https://127.0.0.1:$port" >/dev/null 2>"$TMPDIR_TEST/err"; then
    fail "an unknown AccessKey was accepted"
fi
grep -q InvalidAccessKeyId.NotFound "$TMPDIR_TEST/err" || fail "wrong refusal: $(cat "$TMPDIR_TEST/err")"
if "$bin" account create "tenant1" --data-dir "$data" >/dev/null 2>"$TMPDIR_TEST/dup"; then
    fail "a duplicate account name was accepted"
fi
grep -q "already exists" "$TMPDIR_TEST/dup" || fail "no reason: $(cat "$TMPDIR_TEST/dup")"
echo ok
