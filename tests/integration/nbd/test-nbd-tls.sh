#!/usr/bin/env bash
# NBD over TCP requires TLS: PSK keys from psktool work with libnbd
# (nbdinfo, nbdcopy) and qemu (tls-creds-psk); a plaintext client is
# refused (ERR_TLS_REQD), and so is a client with the wrong key.
source "$(dirname "$0")/../lib/functions.sh"
source "$(dirname "$0")/nbd-lib.sh"
requires psktool --version
requires nbdinfo --version
requires qemu-img --version
tmpdir
mkdir -p "$TMPDIR_TEST/tls" "$TMPDIR_TEST/bad"
psktool -u alice -p "$TMPDIR_TEST/tls/keys.psk" >/dev/null
psktool -u alice -p "$TMPDIR_TEST/bad/keys.psk" >/dev/null
port=$(free_port)
psk=$TMPDIR_TEST/tls/keys.psk

start_nbd --disk d1 --size 16M --listen "127.0.0.1:$port" --tls-psk "$psk"
out=$(nbdinfo "nbds://alice@127.0.0.1:$port/d1?tls-psk-file=$psk") || fail "nbdinfo over TLS"
grep -q 'with TLS' <<<"$out" || fail "not TLS: $out"
grep -q 'export-size: 16777216' <<<"$out" || fail "wrong size: $out"

if nbdinfo "nbd://127.0.0.1:$port/d1" >"$TMPDIR_TEST/plain" 2>&1; then
    fail "a plaintext client was served"
fi
if nbdinfo "nbds://alice@127.0.0.1:$port/d1?tls-psk-file=$TMPDIR_TEST/bad/keys.psk" \
    >"$TMPDIR_TEST/badkey" 2>&1; then
    fail "a client with the wrong key was served"
fi
if nbdinfo "nbds://mallory@127.0.0.1:$port/d1?tls-psk-file=$psk" >/dev/null 2>&1; then
    fail "an unknown identity was served"
fi

head -c 4M /dev/urandom >"$TMPDIR_TEST/src.img"
qimg=(--object "tls-creds-psk,id=tls0,dir=$TMPDIR_TEST/tls,username=alice,endpoint=client")
img="driver=nbd,host=127.0.0.1,port=$port,export=d1,tls-creds=tls0"
qemu-img info "${qimg[@]}" --image-opts "$img" | grep -q '16 MiB' || fail "qemu-img info over TLS"
qemu-img convert -n "${qimg[@]}" -f raw "$TMPDIR_TEST/src.img" --target-image-opts "$img" ||
    fail "qemu-img convert over TLS"
nbdcopy "nbds://alice@127.0.0.1:$port/d1?tls-psk-file=$psk" "$TMPDIR_TEST/back.img" ||
    fail "nbdcopy over TLS"
cmp -n 4194304 "$TMPDIR_TEST/src.img" "$TMPDIR_TEST/back.img" || fail "TLS round trip differs"
stop_nbd
echo PASS
