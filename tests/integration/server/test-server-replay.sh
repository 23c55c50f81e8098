#!/usr/bin/env bash
# A captured signed request cannot be replayed, neither against the server
# that served it nor after a restart (the nonces are kept in the store);
# a request with a fresh nonce still passes after the restart.
source "$(dirname "$0")/../lib/functions.sh"
requires curl --version
# the system python: a pyenv shim in PATH takes seconds to start
py=$(command -p -v python3) || py=python3
requires "$py" --version
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
sign=$(dirname "$0")/../lib/sign_v1.py
data=$TMPDIR_TEST/data
port=$(free_port)

start() {
    "$bin" server --data-dir "$data" --listen "127.0.0.1:$port" --api-tls off >/dev/null 2>>"$TMPDIR_TEST/log" &
    pid=$!
    cleanup_fn "kill $pid 2>/dev/null || true"
    wait_for_port "$port" || fail "server did not listen: $(cat "$TMPDIR_TEST/log")"
}

# call URL: "STATUS" or "STATUS CODE" of a POST with an empty body
call() {
    local out status code
    out=$(curl -s -X POST -H 'Content-Length: 0' -w '\n%{http_code}' "$1")
    status=${out##*$'\n'}
    code=$(sed -n 's/.*"Code":"\([^"]*\)".*/\1/p' <<<"$out")
    echo "$status${code:+ $code}"
}

start
akid=$(sed -n 's/^access_key_id = //p' "$HOME/.sealdisk/profile")
SD_SECRET=$(sed -n 's/^access_key_secret = //p' "$HOME/.sealdisk/profile")
export SD_SECRET
[[ -n $akid && -n $SD_SECRET ]] || fail "no AccessKey in the profile"

url=$("$py" "$sign" "127.0.0.1:$port" "$akid" DescribeRegions 2014-05-26 nonce-captured)
[[ $(call "$url") == 200 ]] || fail "the signed request failed: $(call "$url")"
[[ $(call "$url") == "400 SignatureNonceUsed" ]] || fail "a replay was not refused: $(call "$url")"

kill -TERM "$pid"
wait "$pid" || fail "server exited non-zero on SIGTERM"
start
r=$(call "$url")
[[ $r == "400 SignatureNonceUsed" ]] || fail "a replay after a restart was not refused: $r"
url2=$("$py" "$sign" "127.0.0.1:$port" "$akid" DescribeRegions 2014-05-26 nonce-fresh)
r=$(call "$url2")
[[ $r == 200 ]] || fail "a fresh nonce after the restart failed: $r"
echo PASS
