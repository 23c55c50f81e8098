# functions.sh: shared helpers for integration tests (after nbdkit's).
#   requires CMD...   skip the test (exit 77) unless CMD runs
#   cleanup_fn CMD... run CMD on exit, last registered first
#   tmpdir            a fresh directory removed on exit, in $TMPDIR_TEST, with
#                     HOME inside it
set -euo pipefail

_cleanup_cmds=()
_run_cleanups() {
    local i
    for ((i = ${#_cleanup_cmds[@]} - 1; i >= 0; i--)); do
        eval "${_cleanup_cmds[$i]}" || true
    done
}
trap _run_cleanups EXIT

cleanup_fn() {
    _cleanup_cmds+=("$*")
}

requires() {
    if ! "$@" >/dev/null 2>&1; then
        echo "SKIP: requires '$*'" >&2
        exit 77
    fi
}

tmpdir() {
    TMPDIR_TEST=$(mktemp -d "${TMPDIR:-/tmp}/sealdisk-test.XXXXXX")
    cleanup_fn "rm -rf '$TMPDIR_TEST'"
    # a server's first start writes ~/.sealdisk/profile: never the real one
    export HOME=$TMPDIR_TEST/home
    mkdir -p "$HOME"
}

# nbdsh runs `python3 -m nbd` from PATH; use the system python that has it.
nbdsh_sys() {
    PATH="$(dirname "$(command -p -v python3)"):$PATH" nbdsh "$@"
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits up to 10 s for 127.0.0.1:PORT to accept connections.
wait_for_port() {
    local port=$1 i
    for ((i = 0; i < 100; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}
