#!/usr/bin/env bash
# block_backend = rados: a disk made through the API keeps its bytes in the
# RADOS pool (stripes "<layer>.data.<16 hex>"), not in DATA_DIR/blocks, and
# reads back over NBD what qemu-io wrote; a cluster that cannot be reached
# stops the server at start, with a message that says so.  The cluster is
# scripts/ceph-dev.sh's, from the CTest fixture "ceph" (SD_RADOS_CONF).
source "$(dirname "$0")/../lib/functions.sh"
requires qemu-io --version
requires rados --version
[[ -n ${SD_RADOS_CONF:-} ]] || {
    echo "SKIP: no cluster (SD_RADOS_CONF; run through ctest, fixture ceph)" >&2
    exit 77
}
tmpdir
sys_python
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)
rados_ls() { rados --conf "$SD_RADOS_CONF" --id sealdisk -p sealdisk ls; }

rados_ls >"$TMPDIR_TEST/before" || fail "cannot list the pool"
start_server --block-backend rados --rados-conf "$SD_RADOS_CONF" --rados-pool sealdisk \
    --rados-id sealdisk
run_ok "$bin" ecs RunInstances --SystemDisk.Size 1
inst=$(json_get "$TMPDIR_TEST/out" 'd["InstanceIdSets"]["InstanceIdSet"][0]')
run_ok "$bin" ecs DescribeInstanceDataPlane --InstanceId "$inst"
disk=$(json_get "$TMPDIR_TEST/out" 'd["Disks"]["Disk"][0]["DiskId"]')
sock=$(json_get "$TMPDIR_TEST/out" 'd["Socket"]')
uri="nbd+unix:///$disk?socket=$sock"

qemu-io -f raw -c 'write -P 0xab 0 1M' -c 'write -P 0xcd 5M 64k' "$uri" >"$TMPDIR_TEST/qio" 2>&1 ||
    fail "write failed: $(cat "$TMPDIR_TEST/qio")"
qemu-io -f raw -r -c 'read -P 0xab 0 1M' -c 'read -P 0xcd 5M 64k' -c 'read -P 0 1M 4M' \
    "$uri" >"$TMPDIR_TEST/qio" 2>&1 || fail "read failed: $(cat "$TMPDIR_TEST/qio")"
grep -q 'verification failed' "$TMPDIR_TEST/qio" && fail "wrong data: $(cat "$TMPDIR_TEST/qio")"
# negative twin: the check sees a wrong pattern
qemu-io -f raw -r -c 'read -P 0xcd 0 4k' "$uri" >"$TMPDIR_TEST/qio" 2>&1 || true
grep -q 'verification failed' "$TMPDIR_TEST/qio" || fail "a wrong pattern passed"

# the bytes are in RADOS, not in the data directory
rados_ls >"$TMPDIR_TEST/after" || fail "cannot list the pool"
grep -qE '\.data\.[0-9a-f]{16}$' "$TMPDIR_TEST/after" || fail "no data stripe in RADOS"
[[ $(comm -13 <(sort "$TMPDIR_TEST/before") <(sort "$TMPDIR_TEST/after") | wc -l) -gt 0 ]] ||
    fail "the pool did not grow"
if ls "$data/blocks" | grep -q '\.data$'; then
    fail "layer data in $data/blocks: $(ls "$data/blocks")"
fi

# an unreachable cluster: the server refuses to start, within its timeout
printf '[global]\nmon host = v2:127.0.0.1:9\nms bind msgr1 = false\nlog file = /dev/null\n' \
    >"$TMPDIR_TEST/bad.conf"
if timeout 120 "$bin" server --data-dir "$TMPDIR_TEST/data2" --listen "127.0.0.1:$(free_port)" \
    --block-backend rados --rados-conf "$TMPDIR_TEST/bad.conf" --rados-id sealdisk \
    >/dev/null 2>"$TMPDIR_TEST/err2"; then
    fail "the server started without its cluster"
fi
grep -q 'cannot connect to the Ceph cluster' "$TMPDIR_TEST/err2" ||
    fail "unclear error: $(tail -5 "$TMPDIR_TEST/err2")"
