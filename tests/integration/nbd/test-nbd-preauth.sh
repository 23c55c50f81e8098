#!/usr/bin/env bash
# Pre-authentication exhaustion: 70 TCP connections that never start TLS
# (more than the 64 clients the server serves, and far more than the 16 it
# lets negotiate at once) do not keep a real TLS client out.  nbdcopy
# writes and reads the disk at once, and the idle connections are the ones
# closed: the oldest at once to make room, the rest by the TLS deadline.
source "$(dirname "$0")/../lib/functions.sh"
source "$(dirname "$0")/nbd-lib.sh"
requires psktool --version
requires nbdinfo --version
requires nbdcopy --version
requires timeout --version
tmpdir
mkdir -p "$TMPDIR_TEST/tls"
psktool -u alice -p "$TMPDIR_TEST/tls/keys.psk" >/dev/null
port=$(free_port)
psk=$TMPDIR_TEST/tls/keys.psk
uri="nbds://alice@127.0.0.1:$port/d1?tls-psk-file=$psk"

start_nbd --disk d1 --size 16M --listen "127.0.0.1:$port" --tls-psk "$psk"

idle=()
for ((i = 0; i < 70; i++)); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "idle connection $i"
    idle+=("$fd")
done
# The last one greeted ("NBDMAGIC", "IHAVEOPT"): all 70 have been accepted.
read -r -N 16 -t 20 -u "${idle[69]}" greeting || fail "the 70th connection was refused or not greeted"
[[ $greeting == NBDMAGICIHAVEOPT ]] || fail "not an NBD greeting: $greeting"

head -c 4M /dev/urandom >"$TMPDIR_TEST/src.img"
out=$(timeout 30 nbdinfo "$uri") || fail "nbdinfo refused beside idle connections"
grep -q 'export-size: 16777216' <<<"$out" || fail "wrong size: $out"
timeout 30 nbdcopy "$TMPDIR_TEST/src.img" "$uri" || fail "nbdcopy write beside idle connections"
timeout 30 nbdcopy "$uri" "$TMPDIR_TEST/back.img" || fail "nbdcopy read beside idle connections"
cmp -n 4194304 "$TMPDIR_TEST/src.img" "$TMPDIR_TEST/back.img" || fail "round trip differs"

# Every idle connection is closed by the server (end of file, not our
# timeout): evicted, or at the 5 s TLS deadline.  20 s is a generous bound.
for ((i = 0; i < 70; i++)); do
    rc=0
    read -r -N 4096 -t 20 -u "${idle[i]}" _ || rc=$?
    ((rc == 1)) || fail "idle connection $i not closed (read status $rc)"
done
stop_nbd
echo PASS
