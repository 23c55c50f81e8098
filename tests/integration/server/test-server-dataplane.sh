#!/usr/bin/env bash
# Each running instance's own unix socket, DATA_DIR/nbd/<InstanceId>.sock:
# it lists and opens that instance's disks and nothing else (not another
# instance's, not another tenant's); there is no shared socket; the socket
# goes with StopInstance; DescribeInstanceDataPlane answers the owner only
# and is audited; a disk is attached to one instance (MultiAttach).
source "$(dirname "$0")/../lib/functions.sh"
requires nbdinfo --version
tmpdir
sys_python
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)

start_server --nbd-socket-mode 0660
# instance NAME [env...]: runs one; sets $NAME, NAME_disk and NAME_sock
instance() {
    local name=$1
    shift
    run_ok env "$@" "$bin" ecs RunInstances --SystemDisk.Size 1
    printf -v "$name" '%s' "$(json_get "$TMPDIR_TEST/out" 'd["InstanceIdSets"]["InstanceIdSet"][0]')"
    run_ok env "$@" "$bin" ecs DescribeInstanceDataPlane --InstanceId "${!name}"
    printf -v "${name}_disk" '%s' "$(json_get "$TMPDIR_TEST/out" 'd["Disks"]["Disk"][0]["DiskId"]')"
    printf -v "${name}_sock" '%s' "$(json_get "$TMPDIR_TEST/out" 'd["Socket"]')"
}
size() { nbdinfo --size "nbd+unix:///$2?socket=$1" 2>/dev/null; }
list() {
    nbdinfo --list --json "nbd+unix:///?socket=$1" 2>/dev/null |
        "$py" -c 'import json,sys; print(" ".join(e["export-name"] for e in json.load(sys.stdin)["exports"]))'
}

instance x
instance y
tenant_env tenantb
benv=("${tenant[@]}")
instance b "${benv[@]}"

[[ ! -e $data/nbd.sock ]] || fail "a shared socket exists"
[[ $x_sock == "$data/nbd/$x.sock" && -S $x_sock ]] || fail "x's socket is $x_sock"
[[ $(stat -c %a "$x_sock") == 660 ]] || fail "mode $(stat -c %a "$x_sock"), not nbd_socket_mode"
run_ok "$bin" ecs DescribeDisks --DiskIds "[\"$x_disk\"]"
[[ $(json_get "$TMPDIR_TEST/out" 'd["Disks"]["Disk"][0]["NbdUri"]') == "nbd+unix:///$x_disk?socket=$x_sock" ]] ||
    fail "NbdUri is not on x's socket: $(cat "$TMPDIR_TEST/out")"

[[ $(size "$x_sock" "$x_disk") == 1073741824 ]] || fail "x cannot reach its disk"
[[ $(list "$x_sock") == "$x_disk" ]] || fail "x's socket lists $(list "$x_sock")"
[[ $(list "$b_sock") == "$b_disk" ]] || fail "b's socket lists $(list "$b_sock")"
# negative twins
size "$x_sock" "$y_disk" >/dev/null && fail "x's socket opened y's disk"
size "$x_sock" "$b_disk" >/dev/null && fail "tenant a's socket opened tenant b's disk"
size "$b_sock" "$x_disk" >/dev/null && fail "tenant b's socket opened tenant a's disk"

# the credential: the owner's, audited; another tenant is told it does not exist
if env "${benv[@]}" "$bin" ecs DescribeInstanceDataPlane --InstanceId "$x" >/dev/null \
    2>"$TMPDIR_TEST/err"; then
    fail "tenant b got a's data plane"
fi
grep -q InvalidInstanceId.NotFound "$TMPDIR_TEST/err" || fail "wrong refusal: $(cat "$TMPDIR_TEST/err")"
"$bin" audit --data-dir "$data" --action DescribeInstanceDataPlane >"$TMPDIR_TEST/audit" ||
    fail "audit failed"
[[ $(grep -c "\"$x\"" "$TMPDIR_TEST/audit") == 2 ]] || fail "not audited: $(cat "$TMPDIR_TEST/audit")"
grep -q InvalidInstanceId.NotFound "$TMPDIR_TEST/audit" || fail "the refusal is not audited"

# one instance per disk
if "$bin" ecs CreateDisk --ZoneId cn-hangzhou-a --Size 1 --MultiAttach Enabled >/dev/null \
    2>"$TMPDIR_TEST/err"; then
    fail "a multi-attach disk was made"
fi
grep -q InvalidParameter.MultiAttach "$TMPDIR_TEST/err" || fail "wrong refusal: $(cat "$TMPDIR_TEST/err")"
run_ok "$bin" ecs CreateDisk --ZoneId cn-hangzhou-a --Size 1 --MultiAttach Disabled
if "$bin" ecs AttachDisk --InstanceId "$y" --DiskId "$x_disk" >/dev/null 2>"$TMPDIR_TEST/err"; then
    fail "x's disk was attached to y too"
fi
grep -q IncorrectDiskStatus "$TMPDIR_TEST/err" || fail "wrong refusal: $(cat "$TMPDIR_TEST/err")"

# StopInstance: the socket and the credential are gone
run_ok "$bin" ecs StopInstance --InstanceId "$x"
[[ ! -e $x_sock ]] || fail "x's socket outlived it"
size "$x_sock" "$x_disk" >/dev/null && fail "a stopped instance's disk was served"
if "$bin" ecs DescribeInstanceDataPlane --InstanceId "$x" >/dev/null 2>"$TMPDIR_TEST/err"; then
    fail "a stopped instance has a data plane"
fi
grep -q IncorrectInstanceStatus "$TMPDIR_TEST/err" || fail "wrong refusal: $(cat "$TMPDIR_TEST/err")"
[[ $(size "$y_sock" "$y_disk") == 1073741824 ]] || fail "y lost its disk when x stopped"
echo ok
