#!/usr/bin/env bash
# The whole data path under the key rules, with real clients: a pattern
# written with qemu-io into an encrypted system disk is snapshotted (R3),
# cloned (R4), imaged, copied encrypted under another CMK (R7), booted as a
# new instance's system disk, read back with nbdcopy, and found nowhere in
# the data directory.  Then R14: the KMS calls disk management makes count
# against the region's KMS quota.
source "$(dirname "$0")/../integration/lib/functions.sh"
requires qemu-io --version
requires nbdcopy --version
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)

"$bin" server --data-dir "$data" --listen "127.0.0.1:$port" >/dev/null 2>"$TMPDIR_TEST/log" &
pid=$!
cleanup_fn "kill $pid 2>/dev/null || true"
wait_for_port "$port" || fail "server did not listen: $(cat "$TMPDIR_TEST/log")"

j() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
call() { local out=$TMPDIR_TEST/out; "$bin" "$@" >"$out" || fail "$* failed: $(cat "$out")"; }

call kms CreateKey --Description first;  keya=$(j "$TMPDIR_TEST/out" 'd["KeyMetadata"]["KeyId"]')
call kms CreateKey --Description second; keyb=$(j "$TMPDIR_TEST/out" 'd["KeyMetadata"]["KeyId"]')
call ram CreateRole --RoleName AliyunECSDiskEncryptDefaultRole --AssumeRolePolicyDocument '{}'

# an instance whose 1 GiB system disk is encrypted under key A
call ecs RunInstances --SystemDisk.Size 1 --SystemDisk.Encrypted true --SystemDisk.KMSKeyId "$keya"
inst=$(j "$TMPDIR_TEST/out" 'd["InstanceIdSets"]["InstanceIdSet"][0]')
call ecs DescribeDisks --InstanceId "$inst"
disk=$(j "$TMPDIR_TEST/out" 'd["Disks"]["Disk"][0]["DiskId"]')
uri=$(j "$TMPDIR_TEST/out" 'd["Disks"]["Disk"][0]["NbdUri"]')
[[ $(j "$TMPDIR_TEST/out" 'd["Disks"]["Disk"][0]["KMSKeyId"]') == "$keya" ]] || fail "not under key A"
qemu-io -f raw -c 'write -P 0xa7 4M 1M' "$uri" >/dev/null || fail "qemu-io write"
call ecs StopInstance --InstanceId "$inst"

# R3: the snapshot keeps key A; R4: a disk from it too, with the data
call ecs CreateSnapshot --DiskId "$disk"; snap=$(j "$TMPDIR_TEST/out" 'd["SnapshotId"]')
call ecs DescribeSnapshots --SnapshotIds "[\"$snap\"]"
[[ $(j "$TMPDIR_TEST/out" 'd["Snapshots"]["Snapshot"][0]["KMSKeyId"]') == "$keya" ]] || fail "R3"
call ecs CreateDisk --SnapshotId "$snap"; clone=$(j "$TMPDIR_TEST/out" 'd["DiskId"]')
call ecs DescribeDisks --DiskIds "[\"$clone\"]"
[[ $(j "$TMPDIR_TEST/out" 'd["Disks"]["Disk"][0]["KMSKeyId"]') == "$keya" ]] || fail "R4"

# R7: an image of it, copied encrypted under key B (in the background:
# --wait polls it with a progress bar until it is Available)
call ecs CreateImage --SnapshotId "$snap"; img=$(j "$TMPDIR_TEST/out" 'd["ImageId"]')
"$bin" ecs CopyImage --ImageId "$img" --Encrypted true --KMSKeyId "$keyb" --wait \
    >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/bar" || fail "CopyImage --wait: $(cat "$TMPDIR_TEST/bar")"
grep -q '100% .* Available' "$TMPDIR_TEST/bar" || fail "no progress bar: $(cat "$TMPDIR_TEST/bar")"
copy=$(j "$TMPDIR_TEST/out" 'd["ImageId"]')
call ecs DescribeImages --ImageId "$copy"
status=$(j "$TMPDIR_TEST/out" 'd["Images"]["Image"][0]["Status"]')
[[ $status == Available ]] || fail "the copy ended $status"

# a new instance from the copy: its system disk is under key B
call ecs RunInstances --ImageId "$copy"
inst2=$(j "$TMPDIR_TEST/out" 'd["InstanceIdSets"]["InstanceIdSet"][0]')
call ecs DescribeDisks --InstanceId "$inst2"
[[ $(j "$TMPDIR_TEST/out" 'd["Disks"]["Disk"][0]["KMSKeyId"]') == "$keyb" ]] || fail "R7: not under key B"
uri2=$(j "$TMPDIR_TEST/out" 'd["Disks"]["Disk"][0]["NbdUri"]')
nbdcopy "$uri2" "$TMPDIR_TEST/read.raw" || fail "nbdcopy"
python3 - "$TMPDIR_TEST/read.raw" <<'PY' || fail "the pattern did not come back"
import sys
with open(sys.argv[1], 'rb') as f:
    f.seek(4 << 20)
    assert f.read(1 << 20) == b'\xa7' * (1 << 20)
PY
rm -f "$TMPDIR_TEST/read.raw"
# ... and nowhere at rest: every file of the data directory, searched
python3 - "$data" <<'PY' || fail "plaintext found in the data directory"
import os, sys
needle = b'\xa7' * 4096
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(root, name)
        try:
            with open(path, 'rb') as f:
                blob = f.read()
        except OSError:
            continue
        if needle in blob:
            sys.exit(f'found in {path}')
PY

# R14: over the region's KMS quota, disk creation is throttled too
kill $pid; wait $pid 2>/dev/null || true
port=$(free_port)
"$bin" server --data-dir "$data" --listen "127.0.0.1:$port" --kms-quota-crypto 1 \
    >/dev/null 2>>"$TMPDIR_TEST/log" &
pid=$!
cleanup_fn "kill $pid 2>/dev/null || true"
wait_for_port "$port" || fail "server did not restart"
throttled=0
for i in 1 2 3 4 5 6; do
    if ! "$bin" ecs CreateDisk --Size 1 --Encrypted true --endpoint "https://127.0.0.1:$port" \
        >/dev/null 2>"$TMPDIR_TEST/err$i"; then
        grep -q Throttling "$TMPDIR_TEST/err$i" && throttled=$((throttled + 1))
    fi
done
((throttled > 0)) || fail "R14: six data keys in a row were not throttled at 1 per second"
echo ok
