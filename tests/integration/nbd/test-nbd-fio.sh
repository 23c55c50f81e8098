#!/usr/bin/env bash
# fio's nbd engine (libnbd) with several jobs, queue depth 16 and crc32c
# verification: concurrent in-flight requests on several connections must
# all land and read back intact.
source "$(dirname "$0")/../lib/functions.sh"
source "$(dirname "$0")/nbd-lib.sh"
requires fio --version
if ! fio --enghelp 2>/dev/null | grep -qw nbd; then
    echo "SKIP: this fio has no nbd engine" >&2
    exit 77
fi
tmpdir
sock=$TMPDIR_TEST/s.sock

start_nbd --disk d1 --size 64M --socket "$sock"
fio --name=verify --ioengine=nbd --uri="nbd+unix:///d1?socket=$sock" --rw=randwrite \
    --bsrange=4k-256k --bs_unaligned=0 --blockalign=4k --iodepth=16 --numjobs=2 \
    --offset_increment=32M --size=32M --verify=crc32c --verify_fatal=1 \
    --do_verify=1 --output="$TMPDIR_TEST/fio.out" ||
    fail "fio failed: $(cat "$TMPDIR_TEST/fio.out")"
grep -q 'err= 0' "$TMPDIR_TEST/fio.out" || fail "fio reported errors: $(cat "$TMPDIR_TEST/fio.out")"
stop_nbd
echo PASS
