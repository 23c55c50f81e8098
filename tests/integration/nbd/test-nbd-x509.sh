#!/usr/bin/env bash
# NBD over TCP with x509 certificates (certtool from gnutls-bin makes a CA
# and a server certificate): nbdinfo and qemu-img trust the CA and connect;
# a client that does not trust it is refused.
source "$(dirname "$0")/../lib/functions.sh"
source "$(dirname "$0")/nbd-lib.sh"
requires certtool --version
requires nbdinfo --version
requires qemu-img --version
tmpdir
d=$TMPDIR_TEST
printf 'cn = sealdisk test CA\nca\ncert_signing_key\nexpiration_days = 2\n' >"$d/ca.info"
printf 'cn = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n' >"$d/srv.info"
certtool --generate-privkey --outfile "$d/ca-key.pem" 2>/dev/null
certtool --generate-self-signed --load-privkey "$d/ca-key.pem" --template "$d/ca.info" \
    --outfile "$d/ca-cert.pem" 2>/dev/null
certtool --generate-privkey --outfile "$d/server-key.pem" 2>/dev/null
certtool --generate-certificate --load-ca-certificate "$d/ca-cert.pem" \
    --load-ca-privkey "$d/ca-key.pem" --load-privkey "$d/server-key.pem" \
    --template "$d/srv.info" --outfile "$d/server-cert.pem" 2>/dev/null
mkdir -p "$d/client" "$d/stranger"
cp "$d/ca-cert.pem" "$d/client/"
certtool --generate-privkey --outfile "$d/other-key.pem" 2>/dev/null
certtool --generate-self-signed --load-privkey "$d/other-key.pem" --template "$d/ca.info" \
    --outfile "$d/stranger/ca-cert.pem" 2>/dev/null
port=$(free_port)

start_nbd --disk d1 --size 16M --listen "127.0.0.1:$port" --tls-cert "$d/server-cert.pem" \
    --tls-key "$d/server-key.pem"
out=$(nbdinfo "nbds://127.0.0.1:$port/d1?tls-certificates=$d/client") || fail "nbdinfo x509"
grep -q 'with TLS' <<<"$out" || fail "not TLS: $out"
qemu-img info --object "tls-creds-x509,id=tls0,dir=$d/client,endpoint=client" \
    --image-opts "driver=nbd,host=127.0.0.1,port=$port,export=d1,tls-creds=tls0" |
    grep -q '16 MiB' || fail "qemu-img x509"
if nbdinfo "nbds://127.0.0.1:$port/d1?tls-certificates=$d/stranger" >/dev/null 2>&1; then
    fail "a client that does not trust the CA connected"
fi
stop_nbd
echo PASS
