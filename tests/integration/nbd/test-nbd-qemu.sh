#!/usr/bin/env bash
# qemu's NBD client against nbd-serve: qemu-img info/convert/compare and
# qemu-io write/read patterns, including unaligned I/O (qemu honours the
# advertised 4096 minimum with its own read-modify-write), zeroes and
# discard, and data that survives a server restart.
source "$(dirname "$0")/../lib/functions.sh"
source "$(dirname "$0")/nbd-lib.sh"
requires qemu-img --version
requires qemu-io --version
tmpdir
sock=$TMPDIR_TEST/s.sock
uri="nbd+unix:///d1?socket=$sock"

start_nbd --disk d1 --size 64M --socket "$sock"
info=$(qemu-img info --output=json "$uri")
grep -q '"virtual-size": 67108864' <<<"$info" || fail "qemu-img info: $info"

qemu-io -f raw "$uri" \
    -c 'write -P 0xab 0 1M' -c 'write -P 0xcd 4M 512k' -c 'write -P 0x11 1000 100' \
    -c 'write -z 8M 1M' -c 'discard 12M 1M' -c flush >/dev/null || fail "qemu-io writes"
out=$(qemu-io -f raw "$uri" \
    -c 'read -P 0xab 0 1000' -c 'read -P 0x11 1000 100' -c 'read -P 0xab 1100 1047476' \
    -c 'read -P 0xcd 4M 512k' -c 'read -P 0 2M 1M' -c 'read -P 0 8M 1M' -c 'read -P 0 60M 4M')
! grep -qi 'mismatch\|fail' <<<"$out" || fail "qemu-io read back: $out"

head -c 16M /dev/urandom >"$TMPDIR_TEST/src.img"
truncate -s 64M "$TMPDIR_TEST/src.img"
qemu-img convert -n -f raw -O raw "$TMPDIR_TEST/src.img" "$uri" || fail "qemu-img convert in"
qemu-img compare -f raw -F raw "$TMPDIR_TEST/src.img" "$uri" || fail "compare after convert"
qemu-img convert -f raw -O qcow2 "$uri" "$TMPDIR_TEST/out.qcow2" || fail "qemu-img convert out"
qemu-img compare -f raw -F qcow2 "$TMPDIR_TEST/src.img" "$TMPDIR_TEST/out.qcow2" ||
    fail "compare after convert out"

stop_nbd
start_nbd --disk d1 --socket "$sock" --readonly
qemu-img compare -f raw -F raw "$TMPDIR_TEST/src.img" "$uri" || fail "data lost over a restart"
if qemu-io -f raw "$uri" -c 'write -P 1 0 4k' >"$TMPDIR_TEST/ro" 2>&1 &&
    ! grep -qi 'denied\|read-only\|not permitted' "$TMPDIR_TEST/ro"; then
    fail "a write to a read-only export succeeded: $(cat "$TMPDIR_TEST/ro")"
fi
stop_nbd
echo PASS
