#!/usr/bin/env bash
# The CLI keeps text intact: a non-ASCII Description set through it comes
# back through `sealdisk kms DescribeKey` byte for byte, and a response
# whose strings use \u escapes (a surrogate pair included) is printed, and
# its error Message reported, as the UTF-8 they stand for, never as '?'.
# A response that is not valid JSON (a lone surrogate) is printed as it came.
source "$(dirname "$0")/../lib/functions.sh"
requires python3 --version
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
data=$TMPDIR_TEST/data
port=$(free_port)
desc='Schlüssel ✓ 😀'

"$bin" server --data-dir "$data" --listen "127.0.0.1:$port" >"$TMPDIR_TEST/first" 2>"$TMPDIR_TEST/log" &
pid=$!
cleanup_fn "kill $pid 2>/dev/null || true"
wait_for_port "$port" || fail "server did not listen: $(cat "$TMPDIR_TEST/log")"

"$bin" kms CreateKey --Description "$desc" >"$TMPDIR_TEST/key" || fail "CreateKey failed"
key=$(sed -n 's/.*"KeyId": "\([^"]*\)".*/\1/p' "$TMPDIR_TEST/key" | head -1)
[[ $key == key-* ]] || fail "no KeyId in: $(cat "$TMPDIR_TEST/key")"
"$bin" kms DescribeKey --KeyId "$key" >"$TMPDIR_TEST/desc" || fail "DescribeKey failed"
grep -qF "\"Description\": \"$desc\"" "$TMPDIR_TEST/desc" ||
    fail "the Description did not come back intact: $(cat "$TMPDIR_TEST/desc")"
# negative twin: another key's Description is not this one
"$bin" kms CreateKey --Description "Schlussel" >"$TMPDIR_TEST/key2" || fail "CreateKey failed"
key2=$(sed -n 's/.*"KeyId": "\([^"]*\)".*/\1/p' "$TMPDIR_TEST/key2" | head -1)
"$bin" kms DescribeKey --KeyId "$key2" >"$TMPDIR_TEST/desc2" || fail "DescribeKey failed"
if grep -qF "$desc" "$TMPDIR_TEST/desc2"; then
    fail "DescribeKey of another key shows this key's Description"
fi
kill "$pid"
wait "$pid" 2>/dev/null || true

# A server that escapes what it sends: the answers are fixed per action.
stub_port=$(free_port)
cat >"$TMPDIR_TEST/stub.py" <<'PY'
import http.server, sys
ANSWERS = {
    "DescribeKey": (200, r'{"RequestId":"r-1","KeyMetadata":{"Description":"Schl\u00fcssel \u2713 \ud83d\ude00"}}'),
    "Encrypt": (400, r'{"RequestId":"r-2","Code":"Rejected.Disabled","Message":"Schl\u00fcssel \ud83d\ude00 is disabled"}'),
    "ListKeys": (200, r'{"RequestId":"r-3","Note":"lone \ud83d here"}'),
}
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, body = ANSWERS.get(self.headers.get("x-acs-action"), (404, "{}"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$TMPDIR_TEST/stub.py" "$stub_port" 2>"$TMPDIR_TEST/stub.log" &
stub=$!
cleanup_fn "kill $stub 2>/dev/null || true"
wait_for_port "$stub_port" || fail "the stub did not listen: $(cat "$TMPDIR_TEST/stub.log")"
export SEALDISK_ENDPOINT=127.0.0.1:$stub_port
export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIstub ALIBABA_CLOUD_ACCESS_KEY_SECRET=stub-secret

"$bin" kms DescribeKey --KeyId key-x >"$TMPDIR_TEST/escaped" || fail "DescribeKey (stub) failed"
grep -qF "\"Description\": \"$desc\"" "$TMPDIR_TEST/escaped" ||
    fail "\\u escapes were not decoded: $(cat "$TMPDIR_TEST/escaped")"
set +e
"$bin" kms Encrypt --KeyId key-x --Plaintext aGk= >/dev/null 2>"$TMPDIR_TEST/err"
rc=$?
set -e
[[ $rc == 1 ]] || fail "an API error exits $rc, not 1"
grep -qF "ERROR: Rejected.Disabled: Schlüssel 😀 is disabled (HTTP 400)" "$TMPDIR_TEST/err" ||
    fail "the error Message lost its text: $(cat "$TMPDIR_TEST/err")"
# negative twin: invalid JSON (a lone surrogate) is printed as it came, not repaired
"$bin" kms ListKeys >"$TMPDIR_TEST/lone" || fail "ListKeys (stub) failed"
grep -qF '{"RequestId":"r-3","Note":"lone \ud83d here"}' "$TMPDIR_TEST/lone" ||
    fail "a body that is not JSON was altered: $(cat "$TMPDIR_TEST/lone")"
echo "PASS"
