#!/usr/bin/env bash
# A captured signed request cannot be replayed, neither against the server
# that served it nor after a restart (the nonces are kept in the store);
# a request with a fresh nonce still passes after the restart.
source "$(dirname "$0")/../lib/functions.sh"
requires curl --version
sys_python
tmpdir
sign=$(dirname "$0")/../lib/sign_v1.py
data=$TMPDIR_TEST/data
port=$(free_port)

start_server --api-tls off
akid=$(sed -n 's/^access_key_id = //p' "$HOME/.sealdisk/profile")
SD_SECRET=$(sed -n 's/^access_key_secret = //p' "$HOME/.sealdisk/profile")
export SD_SECRET
[[ -n $akid && -n $SD_SECRET ]] || fail "no AccessKey in the profile"

url=$("$py" "$sign" "127.0.0.1:$port" "$akid" DescribeRegions 2014-05-26 nonce-captured)
[[ $(http_call "$url") == 200 ]] || fail "the signed request failed: $(http_call "$url")"
[[ $(http_call "$url") == "400 SignatureNonceUsed" ]] || fail "a replay was not refused: $(http_call "$url")"

kill -TERM "$pid"
wait "$pid" || fail "server exited non-zero on SIGTERM"
start_server --api-tls off
r=$(http_call "$url")
[[ $r == "400 SignatureNonceUsed" ]] || fail "a replay after a restart was not refused: $r"
url2=$("$py" "$sign" "127.0.0.1:$port" "$akid" DescribeRegions 2014-05-26 nonce-fresh)
r=$(http_call "$url2")
[[ $r == 200 ]] || fail "a fresh nonce after the restart failed: $r"
echo PASS
