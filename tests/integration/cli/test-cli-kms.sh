#!/usr/bin/env bash
# `sealdisk kms <Action>`: uses the profile the server wrote, signs V3 by
# default and v1 on request, prints the response JSON, exits 1 with the
# error's Code and Message, lists every KMS action of the server's table in
# --help, and what it did shows in `sealdisk audit`.
source "$(dirname "$0")/../lib/functions.sh"
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
src=$(cd "$(dirname "$0")/../../.." && pwd)
data=$TMPDIR_TEST/data
port=$(free_port)

"$bin" server --data-dir "$data" --listen "127.0.0.1:$port" >"$TMPDIR_TEST/first" 2>"$TMPDIR_TEST/log" &
pid=$!
cleanup_fn "kill $pid 2>/dev/null || true"
wait_for_port "$port" || fail "server did not listen: $(cat "$TMPDIR_TEST/log")"

# value NAME FILE: a top-level string member of a JSON response
value() { sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p" "$2" | head -1; }

"$bin" kms CreateKey --Description "from the cli" >"$TMPDIR_TEST/key" || fail "CreateKey failed"
key=$(value KeyId "$TMPDIR_TEST/key")
[[ $key == key-* ]] || fail "no KeyId in: $(cat "$TMPDIR_TEST/key")"

for sig in v3 v1; do
    "$bin" kms GenerateDataKey --KeyId "$key" --EncryptionContext '{"disk":"d-1"}' \
        --signature $sig >"$TMPDIR_TEST/gdk" || fail "GenerateDataKey ($sig) failed"
    blob=$(value CiphertextBlob "$TMPDIR_TEST/gdk")
    plain=$(value Plaintext "$TMPDIR_TEST/gdk")
    "$bin" kms Decrypt --CiphertextBlob "$blob" --EncryptionContext '{"disk":"d-1"}' \
        --signature $sig >"$TMPDIR_TEST/dec" || fail "Decrypt ($sig) failed"
    [[ $(value Plaintext "$TMPDIR_TEST/dec") == "$plain" ]] || fail "Decrypt ($sig) gave another key"
    # negative twin: the wrong context is refused with the API's Code
    if "$bin" kms Decrypt --CiphertextBlob "$blob" --signature $sig >/dev/null 2>"$TMPDIR_TEST/err"; then
        fail "Decrypt without the context succeeded ($sig)"
    fi
    grep -q '^ERROR: InvalidParameter: ' "$TMPDIR_TEST/err" || fail "no Code on stderr: $(cat "$TMPDIR_TEST/err")"
done

# a parameter DisableKey does not take is refused, and the key stays enabled
if "$bin" kms DisableKey --KeyId "$key" --DryRun true >/dev/null 2>&1; then
    fail "DisableKey --DryRun was sent"
fi
"$bin" kms DescribeKey --KeyId "$key" | grep -q '"KeyState": "Enabled"' || fail "a refused DisableKey disabled the key"

set +e
"$bin" kms DisableKey --KeyId "$key" >/dev/null || fail "DisableKey failed"
"$bin" kms Encrypt --KeyId "$key" --Plaintext aGk= >/dev/null 2>"$TMPDIR_TEST/err"
rc=$?
set -e
[[ $rc == 1 ]] || fail "an API error exits $rc, not 1"
grep -q 'Rejected.Disabled' "$TMPDIR_TEST/err" || fail "the reason is not named: $(cat "$TMPDIR_TEST/err")"

set +e
"$bin" kms NoSuchAction 2>"$TMPDIR_TEST/err"; rc_action=$?
"$bin" kms ListKeys --endpoint 127.0.0.1:1 >/dev/null 2>&1; rc_down=$?
HOME=$TMPDIR_TEST/nowhere "$bin" kms ListKeys >/dev/null 2>"$TMPDIR_TEST/noprof"; rc_noprof=$?
set -e
[[ $rc_action == 2 ]] || fail "an unknown action exits $rc_action"
[[ $rc_down == 3 ]] || fail "an unreachable server exits $rc_down"
[[ $rc_noprof == 2 ]] || fail "missing credentials exit $rc_noprof"

"$bin" kms --help >"$TMPDIR_TEST/help"
want=$(grep -c '^API_ACTION(KMS,' "$src/src/api/api_actions.def")
got=$(grep -cE '^  [A-Z][A-Za-z]+ ' "$TMPDIR_TEST/help")
[[ $want == "$got" ]] || fail "--help lists $got actions, the table has $want"

"$bin" audit --data-dir "$data" --action Decrypt >"$TMPDIR_TEST/audit"
[[ $(grep -c '"Result":"OK"' "$TMPDIR_TEST/audit") == 2 ]] || fail "audit: $(cat "$TMPDIR_TEST/audit")"
[[ $(grep -c '"Result":"InvalidParameter"' "$TMPDIR_TEST/audit") == 2 ]] || fail "audit misses failures"
grep -q "\"KeyId\":\"$key\"" "$TMPDIR_TEST/audit" || fail "audit lines lack the key id"
if grep -q "$plain" "$data/audit.log"; then
    fail "a data key reached the audit log"
fi
echo ok
