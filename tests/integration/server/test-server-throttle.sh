#!/usr/bin/env bash
# A per-AccessKey rate limit: one tenant flooding the server is answered
# Throttling.User (HTTP 400, as the service answers) while another
# tenant's requests still pass.
source "$(dirname "$0")/../lib/functions.sh"
requires curl --version
sys_python
tmpdir
sign=$(dirname "$0")/../lib/sign_v1.py
data=$TMPDIR_TEST/data
port=$(free_port)

# one request a second, bursts of 3: far slower than any client below
start_server --api-tls off --user-rate-limit 1 --user-rate-burst 3

# urls AKID SECRET NONCE...: signed DescribeRegions URLs, one per line
urls() {
    local id=$1 secret=$2
    shift 2
    SD_SECRET=$secret "$py" "$sign" "127.0.0.1:$port" "$id" DescribeRegions 2014-05-26 "$@"
}

a_id=$(sed -n 's/^access_key_id = //p' "$HOME/.sealdisk/profile")
a_secret=$(sed -n 's/^access_key_secret = //p' "$HOME/.sealdisk/profile")
tenant_env tenant-b
b_id=$(json_get "$TMPDIR_TEST/acct" 'd["AccessKeyId"]')
b_secret=$(json_get "$TMPDIR_TEST/acct" 'd["AccessKeySecret"]')
[[ -n $a_id && -n $b_id ]] || fail "no AccessKeys"

mapfile -t flood < <(urls "$a_id" "$a_secret" $(seq -f 'a-%g' 0 50))
mapfile -t other < <(urls "$b_id" "$b_secret" b-0)
# twin: the first requests of a burst pass
r=$(http_call "${flood[0]}")
[[ $r == 200 ]] || fail "a first request failed: $r"
throttled=
for url in "${flood[@]:1}"; do
    r=$(http_call "$url")
    case $r in
    200) ;;
    "400 Throttling.User") throttled=yes; break ;;
    *) fail "unexpected answer to a flood: $r" ;;
    esac
done
[[ -n $throttled ]] || fail "50 requests at once were never throttled"
r=$(http_call "${other[0]}")
[[ $r == 200 ]] || fail "another tenant was refused during the flood: $r"
echo PASS
