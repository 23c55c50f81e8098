# functions.sh: shared helpers for integration tests (after nbdkit's).
#   requires CMD...   skip the test (exit 77) unless CMD runs
#   cleanup_fn CMD... run CMD on exit, last registered first
#   tmpdir            a fresh directory removed on exit, in $TMPDIR_TEST, with
#                     HOME inside it
#   start_server ARG... the server on $data and 127.0.0.1:$port, in the
#                     background ($pid), waited for and killed on exit
#   sys_python        $py: the system python3
#   run_ok CMD...     CMD's stdout in $TMPDIR_TEST/out; the test fails if it does
#   json_get FILE EXPR  a Python expression over the JSON document d in FILE
#   http_call URL     "STATUS" or "STATUS CODE" of an empty POST to URL
#   tenant_env NAME   a new account NAME's AccessKey as env assignments in $tenant
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

# Waits up to 30 s (a loaded machine starts slowly) for 127.0.0.1:PORT to
# accept connections.
wait_for_port() {
    local port=$1 i
    for ((i = 0; i < 300; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# start_server ARG...: `$SEALDISK server --data-dir $data --listen
# 127.0.0.1:$port ARG...` in the background: its stdout in
# $TMPDIR_TEST/server.out, its stderr appended to $TMPDIR_TEST/log.  Sets
# $pid, kills the server on exit and returns once the API port answers: the
# server writes the CLI profile before it listens, so the profile is there.
start_server() {
    "${SEALDISK:?SEALDISK must name the sealdisk binary}" server --data-dir "${data:?}" \
        --listen "127.0.0.1:${port:?}" "$@" >"$TMPDIR_TEST/server.out" 2>>"$TMPDIR_TEST/log" &
    pid=$!
    cleanup_fn "kill $pid 2>/dev/null || true"
    wait_for_port "$port" || fail "server did not listen: $(tail -20 "$TMPDIR_TEST/log")"
}

# sys_python: sets $py to the system python3 (a version manager's shim in
# PATH costs seconds per call).
sys_python() {
    py=$(command -p -v python3) || py=python3
    requires "$py" --version
}

# run_ok CMD...: runs CMD with its stdout in $TMPDIR_TEST/out; fails the test
# with that output when CMD fails.
run_ok() {
    "$@" >"$TMPDIR_TEST/out" || fail "$* failed: $(cat "$TMPDIR_TEST/out")"
}

# json_get FILE EXPR: prints the Python expression EXPR over the JSON
# document d read from FILE (sys_python first).
json_get() {
    "$py" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

# http_call URL: "STATUS", or "STATUS CODE" when the answer has a Code, of a
# POST with an empty body.
http_call() {
    local out status code
    out=$(curl -s -X POST -H 'Content-Length: 0' -w '\n%{http_code}' "$1")
    status=${out##*$'\n'}
    code=$(sed -n 's/.*"Code":"\([^"]*\)".*/\1/p' <<<"$out")
    echo "$status${code:+ $code}"
}

# tenant_env NAME: creates account NAME in $data and sets the array $tenant
# to its AccessKey as environment assignments for `env`.
tenant_env() {
    "$SEALDISK" account create "$1" --data-dir "$data" >"$TMPDIR_TEST/acct" 2>/dev/null ||
        fail "account create $1 failed"
    tenant=("ALIBABA_CLOUD_ACCESS_KEY_ID=$(json_get "$TMPDIR_TEST/acct" 'd["AccessKeyId"]')"
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET=$(json_get "$TMPDIR_TEST/acct" 'd["AccessKeySecret"]')")
}
