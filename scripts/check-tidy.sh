#!/usr/bin/env bash
# check-tidy.sh BUILD_DIR: clang-tidy (.clang-tidy) over src/ with the
# compile database of a clang build (the gcc one carries flags clang rejects).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/asan}
[[ -f $build/compile_commands.json ]] || { echo "check-tidy: no $build/compile_commands.json" >&2; exit 1; }
mapfile -t files < <(git ls-files -- 'src/*.c')
printf '%s\n' "${files[@]}" | xargs -P 2 -n 4 clang-tidy -p "$build" --quiet 2>&1 |
    grep -vE '^[0-9]+ warnings? generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Use -system-headers' |
    tee /tmp/check-tidy.$$ || true
if grep -qE 'error:|warning:' /tmp/check-tidy.$$; then
    rm -f /tmp/check-tidy.$$
    echo "check-tidy: failed" >&2
    exit 1
fi
rm -f /tmp/check-tidy.$$
echo "check-tidy: ok (${#files[@]} files)"
