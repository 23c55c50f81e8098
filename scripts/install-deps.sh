#!/usr/bin/env bash
# install-deps.sh: installs every Debian 12 package that building and
# testing sealdisk needs and this machine lacks.  Fast when nothing is
# missing (one dpkg query), so the build can call it on every configure.
#   --check   only report what is missing (exit 1 if anything is)
set -euo pipefail

PACKAGES=(
    # build
    build-essential cmake pkg-config
    libssl-dev libgcrypt20-dev libsqlite3-dev libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev
    # clang for the asan and fuzz presets, and the style checks
    clang clang-format clang-tidy libclang-rt-14-dev
    # data-plane interop peers and tools
    qemu-utils libnbd-bin python3-libnbd nbdkit fio gnutls-bin curl openssl
    # load generation for benchmarks, node for the SDK tests
    wrk nodejs npm
    # the PostgreSQL store: libpq, and a throw-away server for its tests (scripts/pg-dev.sh)
    libpq-dev postgresql-15 postgresql-client-15
    # the RADOS block backend: librados, and a throw-away cluster for its tests (scripts/ceph-dev.sh)
    librados-dev ceph-mon ceph-osd ceph-common
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
# A node from elsewhere on PATH is as good as Debian's nodejs and npm.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
    filtered=()
    for p in "${missing[@]}"; do
        [[ $p == nodejs || $p == npm ]] || filtered+=("$p")
    done
    missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ ${1:-} == --check ]]; then
    echo "missing Debian packages: ${missing[*]}" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-deps: run as root: apt-get install ${missing[*]}" >&2
        exit 1
    }
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
