#!/usr/bin/env bash
# A full host disk reaches an NBD client as ENOSPC ("No space left on
# device"), not EIO, and the export goes on: reads of what fit still work.
# The store lives on a 4 MiB tmpfs in a private mount namespace, which
# needs root; without it the test skips (77).
if [[ -z ${SD_ENOSPC_NS:-} ]]; then
    [[ $(id -u) == 0 ]] || { echo "SKIP: mounting a tmpfs needs root"; exit 77; }
    command -v unshare >/dev/null || { echo "SKIP: unshare missing"; exit 77; }
    SD_ENOSPC_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/../lib/functions.sh"
source "$(dirname "$0")/nbd-lib.sh"
requires qemu-io --version
tmpdir
mkdir "$TMPDIR_TEST/store"
mount -t tmpfs -o size=4m,mode=0700 tmpfs "$TMPDIR_TEST/store" || fail "cannot mount a tmpfs"
cleanup_fn "umount -l '$TMPDIR_TEST/store' 2>/dev/null || true"
sock=$TMPDIR_TEST/s.sock
uri="nbd+unix:///d1?socket=$sock"

start_nbd --disk d1 --size 64M --socket "$sock"
qemu-io -f raw "$uri" -c 'write -P 0xab 0 1M' -c flush >/dev/null || fail "a write that fits failed"
qemu-io -f raw "$uri" -c 'write -P 0xcd 1M 16M' -c flush >"$TMPDIR_TEST/out" 2>&1 || true
grep -q 'No space left on device' "$TMPDIR_TEST/out" || fail "not ENOSPC: $(cat "$TMPDIR_TEST/out")"
! grep -q 'Input/output error' "$TMPDIR_TEST/out" || fail "EIO for a full disk: $(cat "$TMPDIR_TEST/out")"
out=$(qemu-io -f raw "$uri" -c 'read -P 0xab 0 1M')
! grep -qi 'mismatch\|fail' <<<"$out" || fail "what fit does not read back: $out"
echo "PASS"
