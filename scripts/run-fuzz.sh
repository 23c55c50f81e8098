#!/usr/bin/env bash
# run-fuzz.sh BUILD_DIR [SECONDS]: replays each fuzz target's corpus and
# explores for SECONDS more (default 30), in a scratch copy so the checked-in
# corpus stays small.  A crash fails the run; its input is kept in
# BUILD_DIR/fuzz-crashes/ to be added to tests/fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: run-fuzz.sh BUILD_DIR [SECONDS]}
seconds=${2:-30}
crashes=$build/fuzz-crashes
mkdir -p "$crashes"
shopt -s nullglob
targets=("$build"/tests/fuzz/fuzz_*)
[[ ${#targets[@]} -gt 0 ]] || { echo "run-fuzz: no targets in $build/tests/fuzz" >&2; exit 1; }
for bin in "${targets[@]}"; do
    name=${bin##*/fuzz_}
    seed=tests/fuzz/corpus/$name
    dict=tests/fuzz/$name.dict
    scratch=$(mktemp -d)
    args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$crashes/$name-")
    [[ -f $dict ]] && args+=(-dict="$dict")
    echo "run-fuzz: $name for ${seconds}s"
    corpora=("$scratch")
    [[ -d $seed ]] && corpora+=("$seed")
    if ! "$bin" "${args[@]}" "${corpora[@]}" >"$build/fuzz-$name.log" 2>&1; then
        tail -40 "$build/fuzz-$name.log" >&2
        rm -rf "$scratch"
        echo "run-fuzz: $name FAILED (inputs in $crashes)" >&2
        exit 1
    fi
    grep -E 'stat::number_of_executed_units' "$build/fuzz-$name.log" || true
    rm -rf "$scratch"
done
echo "run-fuzz: ok (${#targets[@]} targets)"
