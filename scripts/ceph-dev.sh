#!/usr/bin/env bash
# ceph-dev.sh: a throw-away one-host Ceph cluster (one mon, one memstore
# OSD) for tests and development of the RADOS block backend.
#   ceph-dev.sh start DIR   creates the cluster in DIR (which must not hold
#                           one already) and starts it; prints the conf path
#   ceph-dev.sh conf DIR    prints the path of its ceph.conf again
#   ceph-dev.sh stop DIR    stops both daemons, waits until they are gone and
#                           removes DIR
# Everything listens on 127.0.0.1 only (the mon on a free port, the OSD on
# one the kernel picks).  cephx is on: DIR/keyring holds the keys, and the
# conf names it, so `rados --conf DIR/ceph.conf --id sealdisk -p sealdisk`
# works.  The pool `sealdisk` has size 1; client.sealdisk may use only it.
# start returns once a test object was written and read back, not on any
# log line.  No ceph-mgr: RADOS I/O does not need one.
set -Eeuo pipefail

POOL=sealdisk
CLIENT=sealdisk

cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || {
    echo "usage: ceph-dev.sh start|conf|stop DIR" >&2
    exit 2
}

# stop_daemons: kills the daemons whose pidfiles are in DIR/run and waits
# until they are gone (memstore has nothing to flush, so SIGKILL loses nothing
# a throw-away cluster needs)
stop_daemons() {
    local f pid
    for f in "$dir"/run/*.pid; do
        [[ -f $f ]] || continue
        pid=$(<"$f")
        [[ $pid =~ ^[0-9]+$ ]] || continue
        kill -KILL "$pid" 2>/dev/null || true
    done
    for f in "$dir"/run/*.pid; do
        [[ -f $f ]] || continue
        pid=$(<"$f")
        [[ $pid =~ ^[0-9]+$ ]] || continue
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "ceph-dev: process $pid did not exit" >&2
            return 1
        fi
    done
}

# free_port: a TCP port on 127.0.0.1 nobody listens on
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % 20000))
        if ! ss -Hltn "sport = :$p" | grep -q .; then
            echo "$p"
            return 0
        fi
    done
    echo "ceph-dev: no free port" >&2
    return 1
}

# cadm CMD...: runs a ceph CLI command as client.admin with a bounded wait
cadm() {
    timeout 60 "$@" --conf "$dir/ceph.conf" --id admin
}

start() {
    local port fsid
    for t in ceph-mon ceph-osd ceph ceph-authtool monmaptool rados uuidgen ss; do
        command -v "$t" >/dev/null || {
            echo "ceph-dev: $t is missing (bash scripts/install-deps.sh)" >&2
            exit 1
        }
    done
    if [[ -e $dir/ceph.conf ]]; then
        echo "ceph-dev: $dir already holds a cluster (stop it first)" >&2
        exit 1
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    chmod 700 "$dir"
    mkdir -p "$dir/run" "$dir/log" "$dir/mon" "$dir/osd"
    trap 'stop_daemons || true; echo "ceph-dev: start failed; logs in $dir/log" >&2' ERR

    port=$(free_port)
    fsid=$(uuidgen)
    cat >"$dir/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$port
public network = 127.0.0.0/8
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $dir/keyring
run dir = $dir/run
log file = $dir/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = 2147483648
osd data = $dir/osd/\$id
mon data = $dir/mon/\$id
client mount timeout = 30
[mon]
auth allow insecure global id reclaim = false
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
[osd]
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
EOF
    ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' \
        --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
    chmod 600 "$dir/keyring"

    # An explicit monmap: the mon then binds exactly the address clients use.
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$dir/monmap" >/dev/null
    ceph-mon --conf "$dir/ceph.conf" --id a --mkfs --monmap "$dir/monmap" \
        --keyring "$dir/keyring" >"$dir/log/mkfs-mon.log" 2>&1
    ceph-mon --conf "$dir/ceph.conf" --id a 2>>"$dir/log/daemons.log"
    cadm ceph osd create >/dev/null
    cadm ceph auth get-or-create osd.0 osd 'allow *' mon 'allow profile osd' >>"$dir/keyring"
    mkdir -p "$dir/osd/0"
    ceph-osd --conf "$dir/ceph.conf" --id 0 --mkfs >"$dir/log/mkfs-osd.log" 2>&1
    cadm ceph osd crush add osd.0 1 root=default >/dev/null 2>&1
    ceph-osd --conf "$dir/ceph.conf" --id 0 2>>"$dir/log/daemons.log"
    cadm ceph osd pool create "$POOL" 8 >/dev/null 2>&1
    cadm ceph auth get-or-create "client.$CLIENT" mon 'allow r' \
        osd "allow rwx pool=$POOL" >>"$dir/keyring"

    # Ready means a client can write and read an object, not a log line.
    echo ready >"$dir/probe.in"
    for _ in $(seq 300); do
        if timeout 10 rados --conf "$dir/ceph.conf" --id "$CLIENT" -p "$POOL" \
            put ceph-dev-probe "$dir/probe.in" 2>/dev/null &&
            timeout 10 rados --conf "$dir/ceph.conf" --id "$CLIENT" -p "$POOL" \
                get ceph-dev-probe "$dir/probe.out" 2>/dev/null &&
            cmp -s "$dir/probe.in" "$dir/probe.out"; then
            rados --conf "$dir/ceph.conf" --id "$CLIENT" -p "$POOL" rm ceph-dev-probe
            rm -f "$dir/probe.in" "$dir/probe.out"
            trap - ERR
            echo "$dir/ceph.conf"
            return 0
        fi
        sleep 0.2
    done
    echo "ceph-dev: the cluster did not accept I/O" >&2
    false
}

case $cmd in
start)
    start
    ;;
conf)
    dir=$(cd "$dir" && pwd)
    [[ -f $dir/ceph.conf ]] || {
        echo "ceph-dev: no cluster in $dir" >&2
        exit 1
    }
    echo "$dir/ceph.conf"
    ;;
stop)
    [[ -d $dir ]] || exit 0
    stop_daemons
    rm -rf "$dir"
    ;;
*)
    echo "usage: ceph-dev.sh start|conf|stop DIR" >&2
    exit 2
    ;;
esac
