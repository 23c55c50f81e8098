#!/usr/bin/env bash
# The ECS side of the CLI: `sealdisk ecs <Action>`, the R12 warning before
# DisableKey, `sealdisk verify-encryption` (R16) and
# `sealdisk ecs bulk-encrypt-system-disks` (R15), with the data checked
# through the disks' NBD exports when qemu-io is there.
source "$(dirname "$0")/../lib/functions.sh"
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)

start_server --regions cn-shanghai

# jget FILE EXPR: a value out of a JSON response
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

"$bin" kms CreateKey >"$TMPDIR_TEST/key" || fail "CreateKey"
key=$(jget "$TMPDIR_TEST/key" 'd["KeyMetadata"]["KeyId"]')
"$bin" ram CreateRole --RoleName AliyunECSDiskEncryptDefaultRole \
    --AssumeRolePolicyDocument '{"Statement":[]}' >/dev/null || fail "CreateRole"
"$bin" ecs RunInstances --SystemDisk.Size 20 --DataDisk.1.Size 20 --DataDisk.1.Encrypted true \
    --DataDisk.1.KMSKeyId "$key" >"$TMPDIR_TEST/run" || fail "RunInstances: $(cat "$TMPDIR_TEST/run")"
inst=$(jget "$TMPDIR_TEST/run" 'd["InstanceIdSets"]["InstanceIdSet"][0]')

# R12: the CLI lists what depends on a key (an image too) and asks before
# disabling it; with no terminal to ask, only --yes goes ahead
"$bin" ecs DescribeDisks --InstanceId "$inst" --DiskType data >"$TMPDIR_TEST/dd" || fail "DescribeDisks"
"$bin" ecs CreateSnapshot --DiskId "$(jget "$TMPDIR_TEST/dd" 'd["Disks"]["Disk"][0]["DiskId"]')" \
    >"$TMPDIR_TEST/s12" || fail "CreateSnapshot"
"$bin" ecs CreateImage --SnapshotId "$(jget "$TMPDIR_TEST/s12" 'd["SnapshotId"]')" >"$TMPDIR_TEST/i12" ||
    fail "CreateImage"
img12=$(jget "$TMPDIR_TEST/i12" 'd["ImageId"]')
set +e
"$bin" kms DisableKey --KeyId "$key" </dev/null >/dev/null 2>"$TMPDIR_TEST/warn"; rc_ask=$?
set -e
[[ $rc_ask == 2 ]] || fail "DisableKey of a used key without --yes exits $rc_ask"
grep -q "WARNING: 4 resources depend on $key" "$TMPDIR_TEST/warn" || fail "no R12 warning: $(cat "$TMPDIR_TEST/warn")"
grep -q "Instance *$inst" "$TMPDIR_TEST/warn" || fail "the running instance is not listed"
grep -q "Image *$img12" "$TMPDIR_TEST/warn" || fail "the encrypted image is not listed"
grep -q "give --yes" "$TMPDIR_TEST/warn" || fail "--yes is not named: $(cat "$TMPDIR_TEST/warn")"
"$bin" kms DescribeKey --KeyId "$key" >"$TMPDIR_TEST/desc"
[[ $(jget "$TMPDIR_TEST/desc" 'd["KeyMetadata"]["KeyState"]') == Enabled ]] || fail "disabled without --yes"
"$bin" kms DisableKey --KeyId "$key" --yes >/dev/null 2>"$TMPDIR_TEST/warn" || fail "DisableKey --yes"
"$bin" kms DescribeKey --KeyId "$key" >"$TMPDIR_TEST/desc"
[[ $(jget "$TMPDIR_TEST/desc" 'd["KeyMetadata"]["KeyState"]') == Disabled ]] || fail "--yes did not disable"
"$bin" kms EnableKey --KeyId "$key" >/dev/null || fail "EnableKey"

# R16: verified, and everything put back
"$bin" verify-encryption --InstanceId "$inst" 2>"$TMPDIR_TEST/verify" ||
    fail "verify-encryption failed: $(cat "$TMPDIR_TEST/verify")"
grep -q "result: VERIFIED" "$TMPDIR_TEST/verify" || fail "not verified: $(cat "$TMPDIR_TEST/verify")"
grep -q "CMKNotEnabled" "$TMPDIR_TEST/verify" || fail "the refusal is not shown"
"$bin" kms DescribeKey --KeyId "$key" >"$TMPDIR_TEST/desc"
[[ $(jget "$TMPDIR_TEST/desc" 'd["KeyMetadata"]["KeyState"]') == Enabled ]] || fail "key left disabled"
"$bin" ecs DescribeInstances --InstanceIds "[\"$inst\"]" >"$TMPDIR_TEST/inst"
[[ $(jget "$TMPDIR_TEST/inst" 'd["Instances"]["Instance"][0]["Status"]') == Running ]] ||
    fail "instance not running again"

# negative twin: an instance with only plain disks cannot be verified
"$bin" ecs RunInstances --SystemDisk.Size 20 >"$TMPDIR_TEST/run2" || fail "RunInstances 2"
plain=$(jget "$TMPDIR_TEST/run2" 'd["InstanceIdSets"]["InstanceIdSet"][0]')
if "$bin" verify-encryption --InstanceId "$plain" 2>"$TMPDIR_TEST/verify2"; then
    fail "verified an instance without encrypted disks"
fi
grep -q "nothing to verify" "$TMPDIR_TEST/verify2" || fail "no reason: $(cat "$TMPDIR_TEST/verify2")"

# R15: the plain instance's system disk, encrypted in bulk, data kept
sysdisk() {
    "$bin" ecs DescribeDisks --InstanceId "$1" --DiskType system >"$TMPDIR_TEST/disks"
    jget "$TMPDIR_TEST/disks" "d['Disks']['Disk'][0]['$2']"
}
have_qemu_io=0
command -v qemu-io >/dev/null && have_qemu_io=1
if [[ $have_qemu_io == 1 ]]; then
    qemu-io -f raw -c 'write -P 0x5a 1M 64k' "$(sysdisk "$plain" NbdUri)" >/dev/null ||
        fail "qemu-io write"
fi
"$bin" ecs bulk-encrypt-system-disks --InstanceIds "$plain" 2>"$TMPDIR_TEST/bulk" ||
    fail "bulk encryption failed: $(cat "$TMPDIR_TEST/bulk")"
[[ $(sysdisk "$plain" Encrypted) == True ]] || fail "system disk not encrypted: $(cat "$TMPDIR_TEST/disks")"
[[ $(sysdisk "$plain" Status) == In_use ]] || fail "system disk not attached"
if [[ $have_qemu_io == 1 ]]; then
    qemu-io -f raw -c 'read -P 0x5a 1M 64k' "$(sysdisk "$plain" NbdUri)" >/dev/null ||
        fail "the data did not survive the encryption"
else
    echo "note: qemu-io missing, data not checked" >&2
fi
# resumable: a second run finds the work done
"$bin" ecs bulk-encrypt-system-disks --InstanceIds "$plain" 2>"$TMPDIR_TEST/bulk2" || fail "rerun"
grep -q "already done" "$TMPDIR_TEST/bulk2" || fail "not resumed: $(cat "$TMPDIR_TEST/bulk2")"

# --wait: a re-encrypting CreateDisk and an ImportImage run in the
# server's background; the CLI polls them with a progress bar on stderr
"$bin" ecs CreateDisk --Size 20 >"$TMPDIR_TEST/d" || fail "CreateDisk"
"$bin" ecs CreateSnapshot --DiskId "$(jget "$TMPDIR_TEST/d" 'd["DiskId"]')" >"$TMPDIR_TEST/s" ||
    fail "CreateSnapshot"
"$bin" ecs CreateDisk --SnapshotId "$(jget "$TMPDIR_TEST/s" 'd["SnapshotId"]')" --Encrypted true \
    --wait >"$TMPDIR_TEST/enc" 2>"$TMPDIR_TEST/bar" || fail "CreateDisk --wait: $(cat "$TMPDIR_TEST/bar")"
enc=$(jget "$TMPDIR_TEST/enc" 'd["DiskId"]')
grep -q "100% $enc Available" "$TMPDIR_TEST/bar" || fail "no progress bar: $(cat "$TMPDIR_TEST/bar")"
"$bin" ecs DescribeDisks --DiskIds "[\"$enc\"]" >"$TMPDIR_TEST/disks"
[[ $(jget "$TMPDIR_TEST/disks" 'd["Disks"]["Disk"][0]["Status"]') == Available ]] || fail "not Available"
# ReInitDisk of that disk re-encrypts its (plain) source again, in the
# background: the disk is ReIniting until the copy is in
"$bin" ecs ReInitDisk --DiskId "$enc" --wait >/dev/null 2>"$TMPDIR_TEST/bar" ||
    fail "ReInitDisk --wait: $(cat "$TMPDIR_TEST/bar")"
grep -q "100% $enc Available" "$TMPDIR_TEST/bar" || fail "no progress bar: $(cat "$TMPDIR_TEST/bar")"
# negative twin: a disk id that does not exist fails before any waiting
if "$bin" ecs ReInitDisk --DiskId d-aaaaaaaaaaaaaaaaaaaa --wait >"$TMPDIR_TEST/bar" 2>&1; then
    fail "ReInitDisk --wait of no disk succeeded"
fi
grep -q "InvalidDiskId.NotFound" "$TMPDIR_TEST/bar" || fail "no NotFound: $(cat "$TMPDIR_TEST/bar")"
account=$(jget "$TMPDIR_TEST/key" 'd["KeyMetadata"]["Creator"]')
mkdir -p "$data/images/$account"
truncate -s 1G "$data/images/$account/cli.raw"
"$bin" ecs ImportImage --DiskDeviceMapping.1.OSSObject cli.raw --wait >"$TMPDIR_TEST/imp" \
    2>"$TMPDIR_TEST/bar" || fail "ImportImage --wait: $(cat "$TMPDIR_TEST/bar")"
grep -q "100% $(jget "$TMPDIR_TEST/imp" 'd["ImageId"]') Available" "$TMPDIR_TEST/bar" ||
    fail "no progress bar: $(cat "$TMPDIR_TEST/bar")"
# CopyImage to another region: --wait polls the copy where it lives
img=$(jget "$TMPDIR_TEST/imp" 'd["ImageId"]')
"$bin" ecs CopyImage --ImageId "$img" --DestinationRegionId cn-shanghai --Encrypted true --wait \
    >"$TMPDIR_TEST/copy" 2>"$TMPDIR_TEST/bar" || fail "cross-region CopyImage --wait: $(cat "$TMPDIR_TEST/bar")"
copy=$(jget "$TMPDIR_TEST/copy" 'd["ImageId"]')
grep -q "100% $copy Available" "$TMPDIR_TEST/bar" || fail "no progress bar: $(cat "$TMPDIR_TEST/bar")"
"$bin" ecs DescribeImages --ImageId "$copy" --RegionId cn-shanghai >"$TMPDIR_TEST/imgs"
[[ $(jget "$TMPDIR_TEST/imgs" 'd["Images"]["Image"][0]["Status"]') == Available ]] || fail "copy not Available"
# negative twin: the copy is not in the caller's region
"$bin" ecs DescribeImages --ImageId "$copy" >"$TMPDIR_TEST/imgs"
[[ $(jget "$TMPDIR_TEST/imgs" 'd["TotalCount"]') == 0 ]] || fail "the copy is listed in the source region"
# negative twin: --wait on an action that makes nothing in the background
if "$bin" ecs DescribeRegions --wait >/dev/null 2>"$TMPDIR_TEST/bar"; then
    fail "--wait accepted for DescribeRegions"
fi
echo ok
