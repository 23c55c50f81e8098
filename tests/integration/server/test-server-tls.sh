#!/usr/bin/env bash
# The API over HTTPS: the first start makes a self-signed certificate
# (key 0600) whose public key the CLI profile pins; TLS 1.2 and 1.3 are
# served and 1.1 refused; the CLI trusts the pin or a CA file, and refuses
# another pin or CA; SIGHUP serves new certificate files without a restart
# and keeps the old ones when the new are bad; plain HTTP is refused off
# loopback unless asked for; oversized requests get the API's JSON 414/431.
source "$(dirname "$0")/../lib/functions.sh"
requires curl --version
requires openssl version
requires gnutls-cli --version
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)
crt=$data/tls/api.crt
key=$data/tls/api.key

start_server

[[ $(stat -c %a "$key") == 600 ]] || fail "the TLS key is not 0600"
[[ $(stat -c %a "$data/tls") == 700 ]] || fail "the TLS directory is not 0700"

# pin FILE: libcurl's sha256// pin of a certificate's public key
pin() {
    openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64
}
# served: the SHA-256 fingerprint of the certificate the server presents
served() {
    openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256; }

profile=$HOME/.sealdisk/profile
grep -qx "endpoint = https://127.0.0.1:$port" "$profile" || fail "the profile's endpoint: $(grep endpoint "$profile")"
grep -qx "tls_pin = sha256//$(pin "$crt")" "$profile" || fail "the profile pins another key"
grep -q "pin=sha256//$(pin "$crt")" "$TMPDIR_TEST/log" || fail "the pin is not logged"

# curl with the certificate as its CA: JSON; without it, refused
body=$(curl -s --cacert "$crt" -w '\n%{http_code}' -X POST "https://127.0.0.1:$port/")
[[ ${body##*$'\n'} == 400 ]] && grep -q '"Code":"MissingParameter"' <<<"$body" || fail "https: $body"
body=$(curl -s --cacert "$crt" -w '\n%{http_code}' -X POST "https://localhost:$port/")
[[ ${body##*$'\n'} == 400 ]] || fail "https by the name localhost: $body"
if curl -s -o /dev/null -X POST "https://127.0.0.1:$port/"; then
    fail "a self-signed certificate passed without its CA"
fi
if curl -s -o /dev/null -X POST "http://127.0.0.1:$port/"; then
    fail "plain HTTP was answered on the HTTPS port"
fi

# TLS 1.2 and 1.3 are served; 1.1 and 1.0 are not.  gnutls-cli, because
# Debian's OpenSSL (curl) will not offer versions below 1.2 at all.
tls() { gnutls-cli --x509cafile "$crt" --priority "NORMAL:-VERS-ALL:+VERS-TLS$1" -p "$port" \
    127.0.0.1 </dev/null >/dev/null 2>&1; }
for v in 1.2 1.3; do
    tls "$v" || fail "TLS $v refused"
done
for v in 1.0 1.1; do
    if tls "$v"; then
        fail "TLS $v accepted"
    fi
done

# the CLI: the profile's pin; another pin, a CA file, another CA
"$bin" kms ListKeys >/dev/null || fail "the CLI with the pinned profile failed"
other=$TMPDIR_TEST/other
mkdir -p "$other"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' -keyout "$other/key.pem" \
    -out "$other/crt.pem" 2>/dev/null || fail "openssl req"
sed "s|^tls_pin = .*|tls_pin = sha256//$(pin "$other/crt.pem")|" "$profile" >"$TMPDIR_TEST/badpin"
set +e
SEALDISK_PROFILE=$TMPDIR_TEST/badpin "$bin" kms ListKeys >/dev/null 2>"$TMPDIR_TEST/err"
rc=$?
set -e
[[ $rc == 3 ]] || fail "a mismatched pin exits $rc"
grep -qi 'pinned' "$TMPDIR_TEST/err" || fail "the pin mismatch is not named: $(cat "$TMPDIR_TEST/err")"
# a plain host:port endpoint is plain HTTP: refused, with a hint
set +e
"$bin" kms ListKeys --endpoint "127.0.0.1:$port" >/dev/null 2>"$TMPDIR_TEST/err"
rc=$?
set -e
[[ $rc == 3 ]] || fail "plain HTTP to the HTTPS server exits $rc"
grep -q 'try https://' "$TMPDIR_TEST/err" || fail "no hint: $(cat "$TMPDIR_TEST/err")"
grep -v '^tls_pin' "$profile" >"$TMPDIR_TEST/ca"
echo "ca_file = $crt" >>"$TMPDIR_TEST/ca"
SEALDISK_PROFILE=$TMPDIR_TEST/ca "$bin" kms ListKeys >/dev/null || fail "the CLI with ca_file failed"
sed "s|^ca_file = .*|ca_file = $other/crt.pem|" "$TMPDIR_TEST/ca" >"$TMPDIR_TEST/badca"
if SEALDISK_PROFILE=$TMPDIR_TEST/badca "$bin" kms ListKeys >/dev/null 2>&1; then
    fail "the CLI trusted a server its CA file did not sign"
fi

# 414 and 431 in the API's shape (curl)
long=$(head -c 40000 /dev/zero | tr '\0' a)
body=$(curl -s --cacert "$crt" -w '\n%{http_code}' -X POST "https://127.0.0.1:$port/?a=$long")
[[ ${body##*$'\n'} == 414 ]] || fail "an over-long URI: ${body##*$'\n'}"
for m in '"Code":"RequestURITooLong"' '"Message":"' '"RequestId":"'; do
    grep -q "$m" <<<"$body" || fail "414 without $m: ${body:0:200}"
done
printf 'X-Big: %s\n' "$long" >"$TMPDIR_TEST/hdr"
body=$(curl -s --cacert "$crt" -w '\n%{http_code}' -H @"$TMPDIR_TEST/hdr" -X POST "https://127.0.0.1:$port/")
[[ ${body##*$'\n'} == 431 ]] || fail "over-large headers: ${body##*$'\n'}"
for m in '"Code":"RequestHeaderFieldsTooLarge"' '"Message":"' '"RequestId":"'; do
    grep -q "$m" <<<"$body" || fail "431 without $m: ${body:0:200}"
done

# reload: bad files (a key that is not the certificate's) keep the old
# certificate; good ones are served after SIGHUP, without a restart
old=$(served)
[[ $old == "$(fpr "$crt")" ]] || fail "the served certificate is not $crt"
cp "$crt" "$TMPDIR_TEST/old.crt"
cp "$key" "$TMPDIR_TEST/old.key"
cp "$other/key.pem" "$key"
kill -HUP $pid
for ((i = 0; i < 100; i++)); do
    grep -q 'keeps its certificate' "$TMPDIR_TEST/log" && break
    sleep 0.1
done
grep -q 'keeps its certificate' "$TMPDIR_TEST/log" || fail "a bad reload was not refused"
[[ $(served) == "$old" ]] || fail "a bad reload changed the served certificate"
"$bin" kms ListKeys >/dev/null || fail "the CLI failed after a refused reload"
cp "$other/crt.pem" "$crt"
kill -HUP $pid
for ((i = 0; i < 100; i++)); do
    [[ $(served) == "$(fpr "$other/crt.pem")" ]] && break
    sleep 0.1
done
[[ $(served) == "$(fpr "$other/crt.pem")" ]] || fail "SIGHUP did not serve the new certificate"
kill -0 $pid || fail "the server is gone"
if "$bin" kms ListKeys >/dev/null 2>&1; then
    fail "the old pin still passed after the certificate changed"
fi
SEALDISK_PROFILE=$TMPDIR_TEST/badca "$bin" kms ListKeys >/dev/null || fail "the new certificate is not trusted by its CA"
kill -TERM $pid
wait $pid || fail "server exited non-zero"

# plain HTTP off loopback: refused at start, unless asked for
set +e
"$bin" server --data-dir "$data" --listen "0.0.0.0:$(free_port)" --api-tls off 2>"$TMPDIR_TEST/refused"
rc=$?
set -e
[[ $rc != 0 ]] || fail "plain HTTP on 0.0.0.0 started"
grep -q 'not a loopback address' "$TMPDIR_TEST/refused" || fail "no reason: $(cat "$TMPDIR_TEST/refused")"
p2=$(free_port)
"$bin" server --data-dir "$data" --listen "0.0.0.0:$p2" --api-tls off --api-insecure-http true \
    2>"$TMPDIR_TEST/log2" &
pid=$!
wait_for_port "$p2" || fail "api_insecure_http did not allow 0.0.0.0: $(cat "$TMPDIR_TEST/log2")"
body=$(curl -s -w '\n%{http_code}' -X POST "http://127.0.0.1:$p2/")
[[ ${body##*$'\n'} == 400 ]] || fail "plain http: $body"
kill -TERM $pid
wait $pid || fail "server exited non-zero"
echo PASS
