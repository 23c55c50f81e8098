#!/usr/bin/env bash
# The server's NBD over TCP: always TLS, and each running instance has its
# own PSK identity, from DescribeInstanceDataPlane.  With it libnbd reaches
# that instance's disks and nothing else; another instance's identity,
# another tenant's, a plaintext client, a stopped instance's old key and
# the shared PSK files of earlier versions all reach nothing.
source "$(dirname "$0")/../lib/functions.sh"
requires nbdinfo --version
sys_python
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)
nport=$(free_port)

# a shared PSK file would let one key open every tenant's disks: refused
printf 'ops:%064d\n' 0 >"$TMPDIR_TEST/keys.psk"
if "$bin" server --data-dir "$TMPDIR_TEST/other" --listen "127.0.0.1:$(free_port)" \
    --nbd-listen "127.0.0.1:$nport" --nbd-tls-psk "$TMPDIR_TEST/keys.psk" 2>"$TMPDIR_TEST/old"; then
    fail "a shared PSK file was accepted"
fi
grep -q "each running instance has its own TLS PSK" "$TMPDIR_TEST/old" ||
    fail "no reason: $(cat "$TMPDIR_TEST/old")"

start_server --nbd-listen "127.0.0.1:$nport"
wait_for_port "$nport" || fail "no NBD TCP listener: $(cat "$TMPDIR_TEST/log")"
# instance NAME [env...]: runs one; sets $NAME to its id and NAME_disk to its disk
instance() {
    local name=$1
    shift
    run_ok env "$@" "$bin" ecs RunInstances --SystemDisk.Size 1 --SystemDisk.Encrypted true
    printf -v "$name" '%s' "$(json_get "$TMPDIR_TEST/out" 'd["InstanceIdSets"]["InstanceIdSet"][0]')"
    run_ok env "$@" "$bin" ecs DescribeInstanceDataPlane --InstanceId "${!name}"
    printf -v "${name}_disk" '%s' "$(json_get "$TMPDIR_TEST/out" 'd["Disks"]["Disk"][0]["DiskId"]')"
    json_get "$TMPDIR_TEST/out" 'd["PskIdentity"] + ":" + d["PskKey"]' >"$TMPDIR_TEST/$name.psk"
    [[ $(json_get "$TMPDIR_TEST/out" 'd["TcpAddress"]') == "127.0.0.1:$nport" ]] ||
        fail "TcpAddress: $(cat "$TMPDIR_TEST/out")"
    [[ $(json_get "$TMPDIR_TEST/out" 'len(d["PskKey"])') == 64 ]] || fail "not a 256-bit PSK"
}
# size NAME DISK: nbdinfo --size over TLS as instance NAME
size() {
    local id
    id=$(cut -d: -f1 "$TMPDIR_TEST/$1.psk")
    nbdinfo --size "nbds://$id@127.0.0.1:$nport/$2?tls-psk-file=$TMPDIR_TEST/$1.psk" 2>/dev/null
}
list() {
    local id
    id=$(cut -d: -f1 "$TMPDIR_TEST/$1.psk")
    nbdinfo --list --json "nbds://$id@127.0.0.1:$nport/?tls-psk-file=$TMPDIR_TEST/$1.psk" 2>/dev/null |
        "$py" -c 'import json,sys; print(" ".join(e["export-name"] for e in json.load(sys.stdin)["exports"]))'
}

instance x
instance y
tenant_env tenantb
benv=("${tenant[@]}")
instance b "${benv[@]}"

[[ $(size x "$x_disk") == 1073741824 ]] || fail "x cannot reach its own disk over TLS"
[[ $(list x) == "$x_disk" ]] || fail "x's identity lists $(list x), not only $x_disk"
[[ $(list b) == "$b_disk" ]] || fail "b's identity lists $(list b), not only $b_disk"
# negative twins: other instances' and tenants' disks are not there
size x "$y_disk" >/dev/null && fail "x's identity opened y's disk"
size b "$x_disk" >/dev/null && fail "tenant b's identity opened tenant a's disk"
size y "$b_disk" >/dev/null && fail "tenant a's identity opened tenant b's disk"
nbdinfo --size "nbd://127.0.0.1:$nport/$x_disk" >/dev/null 2>&1 &&
    fail "a plaintext NBD client was served over TCP"
sed 's/:.*/:'"$(printf '%064d' 0)"'/' "$TMPDIR_TEST/x.psk" >"$TMPDIR_TEST/wrong.psk"
nbdinfo --size "nbds://$(cut -d: -f1 "$TMPDIR_TEST/x.psk")@127.0.0.1:$nport/$x_disk?tls-psk-file=$TMPDIR_TEST/wrong.psk" \
    >/dev/null 2>&1 && fail "x's identity with a wrong key was served"

# StopInstance destroys the identity: the old key reaches nothing, even
# after a restart (which makes a new one)
run_ok "$bin" ecs StopInstance --InstanceId "$x"
size x "$x_disk" >/dev/null && fail "a stopped instance's key still works"
run_ok "$bin" ecs StartInstance --InstanceId "$x"
size x "$x_disk" >/dev/null && fail "the last start's key works after a restart"
run_ok "$bin" ecs DescribeInstanceDataPlane --InstanceId "$x"
json_get "$TMPDIR_TEST/out" 'd["PskIdentity"] + ":" + d["PskKey"]' >"$TMPDIR_TEST/x.psk"
[[ $(size x "$x_disk") == 1073741824 ]] || fail "the new identity does not work"

# the keys were handed out audited, and are written nowhere
"$bin" audit --data-dir "$data" --action DescribeInstanceDataPlane >"$TMPDIR_TEST/audit" ||
    fail "audit failed"
grep -q "\"$x\"" "$TMPDIR_TEST/audit" || fail "not audited: $(cat "$TMPDIR_TEST/audit")"
for n in x y b; do
    key=$(cut -d: -f2 "$TMPDIR_TEST/$n.psk")
    if grep -rqi "$key" "$data" "$TMPDIR_TEST/log"; then
        fail "$n's PSK was written to disk or the log"
    fi
done
echo ok
