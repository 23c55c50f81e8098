#!/usr/bin/env bash
# An encrypted disk over NBD: what qemu-io writes reads back through the
# server, the plaintext marker never reaches the store's files, and the
# disk reopened with another key reads something else.
source "$(dirname "$0")/../lib/functions.sh"
source "$(dirname "$0")/nbd-lib.sh"
requires qemu-io --version
tmpdir
sock=$TMPDIR_TEST/s.sock
uri="nbd+unix:///e1?socket=$sock"
head -c 32 /dev/urandom >"$TMPDIR_TEST/dk"
head -c 32 /dev/urandom >"$TMPDIR_TEST/other"

start_nbd --disk e1 --size 16M --key-file "$TMPDIR_TEST/dk" --socket "$sock"
marker=SEALDISK-PLAINTEXT-MARKER-0123456789
printf '%s' "$marker" >"$TMPDIR_TEST/m"
for i in $(seq 1 100); do cat "$TMPDIR_TEST/m"; done | head -c 4096 >"$TMPDIR_TEST/m4k"
qemu-io -f raw "$uri" -c 'write -P 0x61 0 64k' >/dev/null || fail "write"
qemu-io -f raw "$uri" -c "write -s $TMPDIR_TEST/m4k 1M 4k" >/dev/null || fail "marker write"
qemu-io -f raw "$uri" -c 'read -P 0x61 4096 61440' | grep -q 'read 61440' || fail "read back"
stop_nbd
if grep -rqa "$marker" "$TMPDIR_TEST/store"; then
    fail "plaintext marker found in the store"
fi

start_nbd --disk e1 --key-file "$TMPDIR_TEST/other" --socket "$sock"
out=$(qemu-io -f raw "$uri" -c 'read -P 0x61 4096 4096' 2>&1 || true)
grep -qi 'verification failed' <<<"$out" || fail "another key read the plaintext: $out"
stop_nbd
echo PASS
