#!/usr/bin/env bash
# Root keys through the real server: a file key is created 0600 at the
# first start; a different key file, a wrong passphrase or a missing one
# stops the server with a clear error and leaves the database unchanged;
# the passphrase is accepted from the environment and from a descriptor.
source "$(dirname "$0")/../lib/functions.sh"
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}

start_stop() { # start_stop DATA [args...]: starts, waits, SIGTERMs; fails if it does not run
    local data=$1 port
    shift
    port=$(free_port)
    "$bin" server --data-dir "$data" --listen "127.0.0.1:$port" "$@" 2>>"$TMPDIR_TEST/log" &
    local pid=$!
    wait_for_port "$port" || { kill $pid 2>/dev/null; fail "server did not start: $(tail -3 "$TMPDIR_TEST/log")"; }
    kill -TERM $pid
    wait $pid || fail "server exited non-zero"
}

must_refuse() { # must_refuse WHY DATA [args...]
    local why=$1 data=$2
    shift 2
    if "$bin" server --data-dir "$data" --listen "127.0.0.1:$(free_port)" "$@" 2>"$TMPDIR_TEST/refused"; then
        fail "server started with $why"
    fi
}

# file root key
data=$TMPDIR_TEST/file
start_stop "$data"
[[ $(stat -c %a "$data/root.key") == 600 ]] || fail "root.key is not 0600"
[[ $(stat -c %s "$data/root.key") == 32 ]] || fail "root.key is not 32 bytes"
sum=$(sha256sum "$data/meta.db" | cut -d' ' -f1)
head -c 32 /dev/urandom >"$TMPDIR_TEST/other.key"
chmod 600 "$TMPDIR_TEST/other.key"
must_refuse "another root key file" "$data" --root-key-file "$TMPDIR_TEST/other.key"
grep -q 'root key does not match this data directory' "$TMPDIR_TEST/refused" || fail "unclear error: $(cat "$TMPDIR_TEST/refused")"
[[ $(sha256sum "$data/meta.db" | cut -d' ' -f1) == "$sum" ]] || fail "the database changed"
start_stop "$data"

# passphrase root key
data=$TMPDIR_TEST/pass
SEALDISK_ROOT_PASSPHRASE='correct horse battery staple' start_stop "$data" --root-key passphrase
[[ -f $data/root.salt && ! -f $data/root.key ]] || fail "expected a salt and no key file"
SEALDISK_ROOT_PASSPHRASE='wrong horse battery staple' must_refuse "a wrong passphrase" "$data" --root-key passphrase
grep -q 'root key does not match' "$TMPDIR_TEST/refused" || fail "unclear error: $(cat "$TMPDIR_TEST/refused")"
must_refuse "no passphrase" "$data" --root-key passphrase
grep -q 'SEALDISK_ROOT_PASSPHRASE is not set' "$TMPDIR_TEST/refused" || fail "unclear error: $(cat "$TMPDIR_TEST/refused")"
printf 'correct horse battery staple\n' >"$TMPDIR_TEST/pass.txt"
start_stop "$data" --root-key passphrase --passphrase-fd 3 3<"$TMPDIR_TEST/pass.txt"
# the other provider's flags: refused, naming how to give the right one,
# and no second root key is written (server and account create alike)
must_refuse "no --root-key passphrase on a passphrase directory" "$data"
grep -q 'uses a passphrase root key' "$TMPDIR_TEST/refused" || fail "unclear error: $(cat "$TMPDIR_TEST/refused")"
grep -q 'SEALDISK_ROOT_PASSPHRASE' "$TMPDIR_TEST/refused" || fail "how to give it is not said: $(cat "$TMPDIR_TEST/refused")"
if "$bin" account create tenant1 --data-dir "$data" >"$TMPDIR_TEST/acct" 2>"$TMPDIR_TEST/refused"; then
    fail "account create ran on a passphrase directory without the passphrase"
fi
grep -q 'uses a passphrase root key' "$TMPDIR_TEST/refused" || fail "unclear error: $(cat "$TMPDIR_TEST/refused")"
[[ ! -e $data/root.key ]] || fail "a root.key was written beside root.salt"
# positive twin: with the passphrase, account create works
SEALDISK_ROOT_PASSPHRASE='correct horse battery staple' "$bin" account create tenant1 --data-dir "$data" \
    --root-key passphrase >"$TMPDIR_TEST/acct" 2>>"$TMPDIR_TEST/log" || fail "account create with the passphrase failed"
grep -q '"AccessKeyId"' "$TMPDIR_TEST/acct" || fail "no AccessKey: $(cat "$TMPDIR_TEST/acct")"
SEALDISK_ROOT_PASSPHRASE='x' must_refuse "--root-key passphrase on a key-file directory" "$TMPDIR_TEST/file" --root-key passphrase
grep -q 'uses a root key file' "$TMPDIR_TEST/refused" || fail "unclear error: $(cat "$TMPDIR_TEST/refused")"
[[ ! -e $TMPDIR_TEST/file/root.salt ]] || fail "a root.salt was written beside root.key"
# the passphrase never reaches the logs
if grep -q 'horse' "$TMPDIR_TEST/log"; then
    fail "the passphrase appears in the log"
fi
echo PASS
