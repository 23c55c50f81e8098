#!/usr/bin/env bash
# A per-AccessKey rate limit: one tenant flooding the server is answered
# Throttling.User (HTTP 400, as the service answers) while another
# tenant's requests still pass.
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

# one request a second, bursts of 3: far slower than any client below
"$bin" server --data-dir "$data" --listen "127.0.0.1:$port" --api-tls off --user-rate-limit 1 \
    --user-rate-burst 3 >/dev/null 2>"$TMPDIR_TEST/log" &
pid=$!
cleanup_fn "kill $pid 2>/dev/null || true"
wait_for_port "$port" || fail "server did not listen: $(cat "$TMPDIR_TEST/log")"

# call URL: "STATUS" or "STATUS CODE" of a POST with an empty body
call() {
    local out status code
    out=$(curl -s -X POST -H 'Content-Length: 0' -w '\n%{http_code}' "$1")
    status=${out##*$'\n'}
    code=$(sed -n 's/.*"Code":"\([^"]*\)".*/\1/p' <<<"$out")
    echo "$status${code:+ $code}"
}

# urls AKID SECRET NONCE...: signed DescribeRegions URLs, one per line
urls() {
    local id=$1 secret=$2
    shift 2
    SD_SECRET=$secret "$py" "$sign" "127.0.0.1:$port" "$id" DescribeRegions 2014-05-26 "$@"
}

a_id=$(sed -n 's/^access_key_id = //p' "$HOME/.sealdisk/profile")
a_secret=$(sed -n 's/^access_key_secret = //p' "$HOME/.sealdisk/profile")
"$bin" account create tenant-b --data-dir "$data" >"$TMPDIR_TEST/acct" 2>/dev/null ||
    fail "account create failed"
b_id=$(sed -n 's/.*"AccessKeyId":"\([^"]*\)".*/\1/p' "$TMPDIR_TEST/acct")
b_secret=$(sed -n 's/.*"AccessKeySecret":"\([^"]*\)".*/\1/p' "$TMPDIR_TEST/acct")
[[ -n $a_id && -n $b_id ]] || fail "no AccessKeys"

mapfile -t flood < <(urls "$a_id" "$a_secret" $(seq -f 'a-%g' 0 50))
mapfile -t other < <(urls "$b_id" "$b_secret" b-0)
# twin: the first requests of a burst pass
r=$(call "${flood[0]}")
[[ $r == 200 ]] || fail "a first request failed: $r"
throttled=
for url in "${flood[@]:1}"; do
    r=$(call "$url")
    case $r in
    200) ;;
    "400 Throttling.User") throttled=yes; break ;;
    *) fail "unexpected answer to a flood: $r" ;;
    esac
done
[[ -n $throttled ]] || fail "50 requests at once were never throttled"
r=$(call "${other[0]}")
[[ $r == 200 ]] || fail "another tenant was refused during the flood: $r"
echo PASS
