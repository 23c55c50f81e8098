#!/usr/bin/env bash
# run.sh: our NBD server beside qemu-nbd (raw, and LUKS aes-xts-plain64)
# through /work/shared/bench/peers.sh (see its README): ours encrypted
# (AES-256-XTS, 4096-byte sectors) and unencrypted, each a fresh 2 GiB disk
# in a block store on tmpfs, served on a unix socket by `sealdisk
# nbd-serve` from a release build.
#   bench/nbd/run.sh [--quick] [peers.sh options...]
# Environment: SEALDISK (default build/release/sealdisk), PEERS (default
# /work/shared/bench/peers.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "${SEALDISK:-build/release/sealdisk}")
peers=${PEERS:-/work/shared/bench/peers.sh}
[[ -x $bin ]] || { echo "run.sh: build $bin first (cmake --preset release)" >&2; exit 1; }
work=$(mktemp -d /dev/shm/sd-nbd-bench.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 32 /dev/urandom >"$work/dk"

serve() { # name extra-args...
    local name=$1
    shift
    printf 'rm -rf %q; exec %q nbd-serve --store %q --disk %q --size 2G --socket %q %s' \
        "$work/$name" "$bin" "$work/$name" "$name" "$work/$name.sock" "$*"
}

# not exec: the EXIT trap must run to free the disks on tmpfs
"$peers" --peers qemu-raw,qemu-luks \
    --target "nbd+unix:///ours-xts?socket=$work/ours-xts.sock" --target-name ours-xts \
    --target-cmd "$(serve ours-xts --key-file "$work/dk")" \
    --target "nbd+unix:///ours-plain?socket=$work/ours-plain.sock" --target-name ours-plain \
    --target-cmd "$(serve ours-plain)" "$@"
