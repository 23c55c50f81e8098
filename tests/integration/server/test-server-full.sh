#!/usr/bin/env bash
# A full host disk reaches API clients as HTTP 507 InsufficientStorage,
# not InternalError, and the server goes on once there is room again.
# The data dir is a 24 MiB tmpfs in a private mount namespace, which needs
# root; without it the test skips (77).
if [[ -z ${SD_FULL_NS:-} ]]; then
    [[ $(id -u) == 0 ]] || { echo "SKIP: mounting a tmpfs needs root"; exit 77; }
    command -v unshare >/dev/null || { echo "SKIP: unshare missing"; exit 77; }
    SD_FULL_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/../lib/functions.sh"
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)
export HOME=$TMPDIR_TEST/home # the profile the first start writes
mkdir -p "$data" "$HOME"
mount -t tmpfs -o size=24m,mode=0700 tmpfs "$data" || fail "cannot mount a tmpfs"
cleanup_fn "umount -l '$data' 2>/dev/null || true"

"$bin" server --data-dir "$data" --listen "127.0.0.1:$port" >"$TMPDIR_TEST/first" 2>"$TMPDIR_TEST/log" &
pid=$!
cleanup_fn "kill $pid 2>/dev/null || true"
wait_for_port "$port" || fail "server did not listen: $(cat "$TMPDIR_TEST/log")"

"$bin" kms CreateKey --Description roomy >/dev/null || fail "CreateKey with room failed"
head -c 64M /dev/zero >"$data/filler" 2>/dev/null || true
full=0
for i in $(seq 1 50); do
    if ! "$bin" kms CreateKey --Description "full $i $(head -c 3000 /dev/zero | tr '\0' x)" \
        >/dev/null 2>"$TMPDIR_TEST/err"; then
        full=1
        break
    fi
done
[[ $full == 1 ]] || fail "no request failed on a full disk"
grep -q '^ERROR: InsufficientStorage: ' "$TMPDIR_TEST/err" || fail "not InsufficientStorage: $(cat "$TMPDIR_TEST/err")"
rm -f "$data/filler"
"$bin" kms CreateKey --Description "room again" >/dev/null || fail "CreateKey after making room failed"
kill -TERM $pid
wait $pid || fail "server exited non-zero"
echo "PASS"
