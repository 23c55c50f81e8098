#!/usr/bin/env bash
# Start-up order: the API's address is claimed before the data directory
# is touched, and the first start prints its secret and writes the CLI
# profile only once everything else has started.  A taken port or a bad
# data-plane setting therefore leaves no data directory, no profile and
# no printed secret behind, and the error names the real address.
source "$(dirname "$0")/../lib/functions.sh"
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
profile=$HOME/.sealdisk/profile

# a port someone else holds
port=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(120)' "$port" &
holder=$!
cleanup_fn "kill $holder 2>/dev/null || true"
wait_for_port "$port" || fail "the port holder did not listen"
if "$bin" server --data-dir "$data" --listen "127.0.0.1:$port" >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err"; then
    fail "the server started on a taken port"
fi
grep -q "cannot listen on 127.0.0.1:$port: the address is in use" "$TMPDIR_TEST/err" ||
    fail "the address is not named: $(cat "$TMPDIR_TEST/err")"
if grep -q 'port 0' "$TMPDIR_TEST/err"; then
    fail "the error names port 0: $(cat "$TMPDIR_TEST/err")"
fi
[[ ! -e $data ]] || fail "the data directory was made before the bind"
[[ ! -e $profile && ! -s $TMPDIR_TEST/out ]] || fail "a profile or a secret came out of a failed start"

# a data-plane setting that cannot work: refused, nothing printed or written
if "$bin" server --data-dir "$data" --listen "127.0.0.1:$(free_port)" --nbd-listen "127.0.0.1:$(free_port)" \
    --nbd-tls-psk "$TMPDIR_TEST/missing.psk" >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err"; then
    fail "the server started with a missing PSK file"
fi
[[ ! -e $profile && ! -s $TMPDIR_TEST/out ]] || fail "a failed start printed a secret or wrote a profile"

# plain HTTP off loopback: refused before the data directory is touched
rm -rf "$data"
if "$bin" server --data-dir "$data" --listen "0.0.0.0:$(free_port)" --api-tls off \
    >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err"; then
    fail "the server served plain HTTP on 0.0.0.0"
fi
grep -q 'refusing plain HTTP on 0.0.0.0' "$TMPDIR_TEST/err" || fail "no reason: $(cat "$TMPDIR_TEST/err")"
[[ ! -e $data ]] || fail "the data directory was made before plain HTTP was refused"

# a certificate whose key does not match: refused before the first start
# prints a secret or writes a profile
mkdir -p "$TMPDIR_TEST/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=a -days 1 \
    -keyout "$TMPDIR_TEST/tls/a.key" -out "$TMPDIR_TEST/tls/a.crt" 2>/dev/null || fail "openssl a"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=b -days 1 \
    -keyout "$TMPDIR_TEST/tls/b.key" -out "$TMPDIR_TEST/tls/b.crt" 2>/dev/null || fail "openssl b"
if "$bin" server --data-dir "$data" --listen "127.0.0.1:$(free_port)" \
    --api-tls-cert "$TMPDIR_TEST/tls/a.crt" --api-tls-key "$TMPDIR_TEST/tls/b.key" \
    >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err"; then
    fail "the server started with a key that is not its certificate's"
fi
[[ ! -e $profile && ! -s $TMPDIR_TEST/out ]] || fail "a mismatched certificate still printed a secret"
rm -rf "$data"

# positive twin: port 0 binds a free port, and the profile names it
"$bin" server --data-dir "$data" --listen 127.0.0.1:0 >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err" &
pid=$!
cleanup_fn "kill $pid 2>/dev/null || true"
for ((i = 0; i < 100; i++)); do
    [[ -s $profile ]] && break
    sleep 0.1
done
[[ -s $profile ]] || fail "no profile: $(cat "$TMPDIR_TEST/err")"
endpoint=$(sed -n 's/^endpoint = //p' "$profile")
[[ $endpoint =~ ^https://127\.0\.0\.1:[1-9][0-9]*$ ]] || fail "the profile's endpoint is $endpoint"
wait_for_port "${endpoint##*:}" || fail "nothing answers at the profile's endpoint $endpoint"
grep -q '^  AccessKeySecret:' "$TMPDIR_TEST/out" || fail "the first start printed no secret"
echo PASS
