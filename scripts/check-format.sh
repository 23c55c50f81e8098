#!/usr/bin/env bash
# check-format.sh: every tracked C source is clang-formatted (.clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -- '*.c' '*.h')
[[ ${#files[@]} -gt 0 ]] || exit 0
clang-format --dry-run -Werror "${files[@]}"
echo "check-format: ok (${#files[@]} files)"
