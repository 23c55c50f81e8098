#!/usr/bin/env bash
# bench/api/run.sh BUILD_DIR [seconds] [connections]: signed GenerateDataKey and Decrypt
# over HTTP, loaded by wrk with sign.lua (every request signed with a fresh
# nonce, as the kms20160120 SDK signs), in one run beside:
#   - the in-process ceiling (api_inproc: the same work without HTTP, one thread);
#   - a minimal libmicrohttpd server answering a fixed body (mhd_fixed).
# Prints requests/s, p99 latency and the ratios.  The server runs with the
# KMS quotas and the per-AccessKey rate off (they would cap it at 1,000/s by
# design).
# Use a release build: cmake --preset release && cmake --build build/release
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR [seconds] [connections]}
dur=${2:-10}
conns=${3:-64}
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/sealdisk
for t in wrk timeout; do command -v $t >/dev/null || { echo "run.sh: missing $t" >&2; exit 2; }; done

work=$(mktemp -d "${TMPDIR:-/tmp}/sd-api-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# load URL [env...]: "rps p99_ms non2xx"
load() {
    local url=$1 out
    out=$(timeout $((dur + 30)) wrk -t2 -c"$conns" -d"${dur}s" --latency -s "$here/sign.lua" "$url")
    awk '/Requests\/sec/ {rps=$2} / 99% / {p=$2} /Non-2xx/ {bad=$5}
         END {u=p; sub(/[a-z]+$/,"",u); if (p ~ /us$/) u/=1000; else if (p ~ /[0-9]s$/ && p !~ /ms$/) u*=1000;
              printf "%d %.2f %d\n", rps, u, bad+0}' <<<"$out"
}

export HOME=$work/home
mkdir -p "$HOME"
sp=$(port)
"$bin" server --data-dir "$work/data" --listen "127.0.0.1:$sp" --api-tls off --kms-quota-crypto 0 \
    --kms-quota-create 0 --user-rate-limit 0 >"$work/first" 2>"$work/log" &
pids+=($!)
wait_port "$sp" || { echo "server did not start: $(cat "$work/log")" >&2; exit 1; }
export SD_AKID SD_SECRET SD_KEY_ID SD_BLOB SD_ACTION
SD_AKID=$(sed -n 's/^access_key_id = //p' "$HOME/.sealdisk/profile")
SD_SECRET=$(sed -n 's/^access_key_secret = //p' "$HOME/.sealdisk/profile")
SD_KEY_ID=$("$bin" kms CreateKey | sed -n 's/.*"KeyId": "\(.*\)".*/\1/p')
SD_BLOB=$("$bin" kms GenerateDataKeyWithoutPlaintext --KeyId "$SD_KEY_ID" |
    sed -n 's/.*"CiphertextBlob": "\(.*\)".*/\1/p')

mp=$(port)
"$build/bench/api/mhd_fixed" "$mp" 2 &
pids+=($!)
wait_port "$mp"

read -r in_gdk < <("$build/bench/api/api_inproc" 3 2>/dev/null | awk '/GenerateDataKey/ {print $2}')
read -r in_dec < <("$build/bench/api/api_inproc" 3 2>/dev/null | awk '/Decrypt/ {print $2}')
SD_ACTION=GenerateDataKey
read -r fixed fixed_p99 _ < <(load "http://127.0.0.1:$mp/")
read -r gdk gdk_p99 gdk_bad < <(load "http://127.0.0.1:$sp/")
SD_ACTION=Decrypt
read -r dec dec_p99 dec_bad < <(load "http://127.0.0.1:$sp/")

printf '%-34s %10s %9s %8s\n' "row" "req/s" "p99 ms" "non-2xx"
printf '%-34s %10s %9s %8s\n' "mhd_fixed (fixed body, same lib)" "$fixed" "$fixed_p99" "-"
printf '%-34s %10s %9s %8s\n' "sealdisk GenerateDataKey (signed)" "$gdk" "$gdk_p99" "$gdk_bad"
printf '%-34s %10s %9s %8s\n' "sealdisk Decrypt (signed)" "$dec" "$dec_p99" "$dec_bad"
printf '%-34s %10s\n' "in-process GenerateDataKey (1 thr)" "$in_gdk"
printf '%-34s %10s\n' "in-process Decrypt (1 thr)" "$in_dec"
echo "results in the audit log:" $(grep -o '"Result":"[^"]*"' "$work/data/audit.log" | sort | uniq -c | tr -s ' ')
awk -v g="$gdk" -v d="$dec" -v f="$fixed" -v ig="$in_gdk" -v id="$in_dec" 'BEGIN {
    printf "ratios: GenerateDataKey/fixed %.2f, Decrypt/fixed %.2f, GenerateDataKey/in-process %.2f, Decrypt/in-process %.2f\n",
        g / f, d / f, g / ig, d / id }'
