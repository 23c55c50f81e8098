#!/usr/bin/env bash
# The server's NBD over TCP: refused without TLS settings; with a PSK, a
# running instance's disk is reachable by libnbd over TLS and not in
# plaintext.
source "$(dirname "$0")/../lib/functions.sh"
requires psktool --version
requires nbdinfo --version
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)
nport=$(free_port)

if "$bin" server --data-dir "$TMPDIR_TEST/other" --listen "127.0.0.1:$(free_port)" \
    --nbd-listen "127.0.0.1:$nport" 2>"$TMPDIR_TEST/notls"; then
    fail "NBD over TCP started without TLS"
fi
grep -q "nbd_listen needs nbd_tls_psk" "$TMPDIR_TEST/notls" || fail "no reason: $(cat "$TMPDIR_TEST/notls")"

mkdir -p "$TMPDIR_TEST/tls"
psktool -u ops -p "$TMPDIR_TEST/tls/keys.psk" >/dev/null
"$bin" server --data-dir "$data" --listen "127.0.0.1:$port" --nbd-listen "127.0.0.1:$nport" \
    --nbd-tls-psk "$TMPDIR_TEST/tls/keys.psk" >/dev/null 2>"$TMPDIR_TEST/log" &
pid=$!
cleanup_fn "kill $pid 2>/dev/null || true"
wait_for_port "$port" || fail "server did not listen: $(cat "$TMPDIR_TEST/log")"
wait_for_port "$nport" || fail "no NBD TCP listener: $(cat "$TMPDIR_TEST/log")"

"$bin" ecs RunInstances --SystemDisk.Size 20 --SystemDisk.Encrypted true >"$TMPDIR_TEST/run" ||
    fail "RunInstances: $(cat "$TMPDIR_TEST/run")"
"$bin" ecs DescribeDisks >"$TMPDIR_TEST/disks"
disk=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Disks"]["Disk"][0]["DiskId"])' "$TMPDIR_TEST/disks")
out=$(nbdinfo --size "nbds://ops@127.0.0.1:$nport/$disk?tls-psk-file=$TMPDIR_TEST/tls/keys.psk") ||
    fail "nbdinfo over TLS failed"
[[ $out == 21474836480 ]] || fail "unexpected size $out"
if nbdinfo --size "nbd://127.0.0.1:$nport/$disk" >/dev/null 2>&1; then
    fail "a plaintext NBD client was served over TCP"
fi
echo ok
