#!/usr/bin/env bash
# pg-dev.sh: a throw-away PostgreSQL 15 cluster for tests and development.
#   pg-dev.sh start DIR   initdb into DIR/data (unless it is there) and start
#                         it, listening only on a unix socket in DIR; prints
#                         the store URL for sealdisk (`store_url`)
#   pg-dev.sh url DIR     prints that URL again
#   pg-dev.sh stop DIR    stops it (fast shutdown) and removes DIR
# The cluster trusts local connections (it listens on no TCP port and its
# socket directory is 0700), so the URL carries no password.  PostgreSQL
# refuses to run as root: as root, DIR is given to the `postgres` user
# (Debian's package makes it) and the server runs as that user.
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
[[ -n $bindir && -x $bindir/pg_ctl ]] || {
    echo "pg-dev: PostgreSQL 15 is not installed (apt-get install postgresql-15)" >&2
    exit 1
}
cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || {
    echo "usage: pg-dev.sh start|url|stop DIR" >&2
    exit 2
}
user=sealdisk
db=sealdisk

# as_owner CMD...: runs CMD as the cluster's owner
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

url() {
    echo "postgresql:///$db?host=$dir&user=$user"
}

case $cmd in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    chmod 700 "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$dir"
        runuser -u postgres -- test -w "$dir" || {
            echo "pg-dev: the postgres user cannot reach $dir: make its parents searchable (chmod o+x)" >&2
            exit 1
        }
    fi
    if [[ ! -f $dir/data/PG_VERSION ]]; then
        as_owner "$bindir/initdb" -D "$dir/data" -U "$user" --auth=trust -E UTF8 \
            --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
            cat "$dir/initdb.log" >&2
            exit 1
        }
    fi
    # -w waits until the server accepts connections, not on a log line
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses='' -k $dir -c fsync=on" start >/dev/null || {
            cat "$dir/server.log" >&2
            exit 1
        }
    fi
    if ! as_owner "$bindir/psql" -h "$dir" -U "$user" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
        as_owner "$bindir/createdb" -h "$dir" -U "$user" "$db"
    fi
    url
    ;;
url)
    dir=$(cd "$dir" && pwd)
    url
    ;;
stop)
    [[ -d $dir ]] || exit 0
    if [[ -f $dir/data/postmaster.pid ]]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: pg-dev.sh start|url|stop DIR" >&2
    exit 2
    ;;
esac
