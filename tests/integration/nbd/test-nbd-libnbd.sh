#!/usr/bin/env bash
# libnbd's tools against nbd-serve: nbdinfo (size, flags, block sizes,
# --list, --map after writes, zeroes and trims) and an nbdcopy round trip
# over several connections (CAN_MULTI_CONN) with --flush.
source "$(dirname "$0")/../lib/functions.sh"
source "$(dirname "$0")/nbd-lib.sh"
requires nbdinfo --version
requires nbdcopy --version
tmpdir
sock=$TMPDIR_TEST/s.sock
uri="nbd+unix:///d1?socket=$sock"

start_nbd --disk d1 --size 32M --socket "$sock"
info=$(nbdinfo --json "$uri")
for want in '"export-size": 33554432' '"can_multi_conn": true' '"can_fast_zero": true' \
    '"block_size_minimum": 4096' '"block_size_preferred": 4096' \
    '"block_size_maximum": 33554432' '"is_read_only": false' '"base:allocation"'; do
    grep -q "$want" <<<"$info" || fail "nbdinfo lacks $want: $info"
done
list=$(nbdinfo --list "nbd+unix:///?socket=$sock")
grep -q 'export="d1"' <<<"$list" || fail "nbdinfo --list: $list"
if nbdinfo "nbd+unix:///nope?socket=$sock" >/dev/null 2>&1; then
    fail "an unknown export was served"
fi

map=$(nbdinfo --map "$uri")
[[ $(wc -l <<<"$map") -eq 1 ]] && grep -q 'hole,zero' <<<"$map" || fail "fresh disk map: $map"

# 0-8M random, 8-16M hole, 16-24M random then trimmed, 24-32M zero-written
head -c 32M /dev/urandom >"$TMPDIR_TEST/src.img"
dd if=/dev/zero of="$TMPDIR_TEST/src.img" bs=1M seek=8 count=8 conv=notrunc status=none
dd if=/dev/zero of="$TMPDIR_TEST/src.img" bs=1M seek=16 count=16 conv=notrunc status=none
nbdcopy --flush --connections=4 --requests=16 "$TMPDIR_TEST/src.img" "$uri" || fail "nbdcopy in"
nbdcopy --connections=4 "$uri" "$TMPDIR_TEST/back.img" || fail "nbdcopy out"
cmp "$TMPDIR_TEST/src.img" "$TMPDIR_TEST/back.img" || fail "nbdcopy round trip differs"

map=$(nbdinfo --map "$uri")
grep -qE '^ +0 +8388608 +0 +data' <<<"$map" || fail "data extent missing: $map"
grep -qE '^ +8388608 +25165824 +3 +hole,zero' <<<"$map" || fail "hole extent missing: $map"
stop_nbd
echo PASS
