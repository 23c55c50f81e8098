#!/usr/bin/env bash
# The first start of a server: it creates the root account and an
# AccessKey, prints them once on stdout, and writes the CLI profile (0600)
# with the same credentials; a restart prints nothing.  The AccessKey
# secret reaches neither the log nor the database or its WAL.  Each
# database's migrations are logged once; an existing data directory that
# others can read is made 0700 like a fresh one.
source "$(dirname "$0")/../lib/functions.sh"
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data

run_once() { # run_once OUT ERR: start, wait, stop
    local port pid
    port=$(free_port)
    "$bin" server --data-dir "$data" --listen "127.0.0.1:$port" >"$1" 2>"$2" &
    pid=$!
    wait_for_port "$port" || { kill $pid 2>/dev/null; fail "server did not start: $(tail -3 "$2")"; }
    kill -INT $pid
    wait $pid || fail "server exited non-zero"
    echo "$port"
}

mkdir -m 0755 "$data"
port=$(run_once "$TMPDIR_TEST/out1" "$TMPDIR_TEST/err1")
[[ $(stat -c %a "$data") == 700 ]] || fail "the existing data directory was left $(stat -c %a "$data")"
grep -q 'data directory was mode 0755; now 0700' "$TMPDIR_TEST/err1" || fail "the mode change is not logged"
# one line per database, naming it
[[ $(grep -c "schema migrated db=$data/meta.db " "$TMPDIR_TEST/err1") == 1 ]] ||
    fail "meta.db migrations not logged once: $(grep store: "$TMPDIR_TEST/err1")"
if grep 'store:' "$TMPDIR_TEST/err1" | cut -d' ' -f2- | sort | uniq -d | grep -q .; then
    fail "a store line is logged twice"
fi
id=$(sed -n 's/^  AccessKeyId: *//p' "$TMPDIR_TEST/out1")
secret=$(sed -n 's/^  AccessKeySecret: *//p' "$TMPDIR_TEST/out1")
[[ $id =~ ^LTAI[A-Za-z0-9]{20}$ ]] || fail "no AccessKeyId printed: $(cat "$TMPDIR_TEST/out1")"
[[ ${#secret} -ge 20 ]] || fail "no AccessKeySecret printed"

profile=$HOME/.sealdisk/profile
[[ -f $profile ]] || fail "no CLI profile"
[[ $(stat -c %a "$profile") == 600 ]] || fail "the profile is not 0600"
grep -qx "access_key_id = $id" "$profile" || fail "the profile has another key id"
grep -qx "access_key_secret = $secret" "$profile" || fail "the profile has another secret"
grep -qx "endpoint = https://127.0.0.1:$port" "$profile" || fail "the profile has another endpoint"
grep -q '^tls_pin = sha256//' "$profile" || fail "the profile pins no certificate"

# the secret is nowhere but stdout and the profile
if grep -q -- "$secret" "$TMPDIR_TEST/err1"; then
    fail "the secret is in the log"
fi
for f in "$data"/meta.db "$data"/meta.db-wal; do
    [[ -f $f ]] || continue
    if grep -qa -- "$secret" "$f"; then
        fail "the secret is in $f"
    fi
done
grep -q "$id" "$TMPDIR_TEST/err1" || fail "the key id should be logged (the negative twin)"

run_once "$TMPDIR_TEST/out2" "$TMPDIR_TEST/err2" >/dev/null
# negative twins: a restart migrates nothing and changes no mode
if grep -q 'schema migrated\|data directory was mode' "$TMPDIR_TEST/err2"; then
    fail "a restart logged: $(cat "$TMPDIR_TEST/err2")"
fi
[[ ! -s $TMPDIR_TEST/out2 ]] || fail "a restart printed credentials again: $(cat "$TMPDIR_TEST/out2")"
grep -qx "access_key_id = $id" "$profile" || fail "a restart changed the profile"
echo PASS
