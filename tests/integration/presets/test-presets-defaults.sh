#!/usr/bin/env bash
# Build defaults a user expects: configuring without a preset compiles no
# fault points and runs no apt-get (SD_INSTALL_DEPS is off; .ci/run
# installs the packages itself), while -DSD_INSTALL_DEPS=ON does install.
# apt-get and dpkg-query are stand-ins that record their calls and report
# every package missing, so nothing is really installed.
source "$(dirname "$0")/../lib/functions.sh"
tmpdir
src=$(cd "$(dirname "$0")/../../.." && pwd)
command -v cmake >/dev/null || fail "cmake is missing"

stubs=$TMPDIR_TEST/stubs
mkdir -p "$stubs"
printf '#!/bin/sh\necho "apt-get $*" >>"%s/calls"\nexit 0\n' "$TMPDIR_TEST" >"$stubs/apt-get"
printf '#!/bin/sh\nexit 1\n' >"$stubs/dpkg-query" # nothing is installed
printf '#!/bin/sh\nexec "$@"\n' >"$stubs/sudo"
chmod +x "$stubs"/*

configure() { # DIR ARGS...: configure the tree without a preset
    local dir=$1
    shift
    PATH="$stubs:$PATH" cmake -S "$src" -B "$dir" -DCMAKE_C_COMPILER=gcc "$@" \
        >"$dir.out" 2>&1 || true
}

configure "$TMPDIR_TEST/plain"
grep -q '^SD_FAULTS:BOOL=OFF$' "$TMPDIR_TEST/plain/CMakeCache.txt" ||
    fail "fault points are on by default: $(grep SD_FAULTS "$TMPDIR_TEST/plain/CMakeCache.txt")"
grep -q '^SD_INSTALL_DEPS:BOOL=OFF$' "$TMPDIR_TEST/plain/CMakeCache.txt" ||
    fail "SD_INSTALL_DEPS is on by default"
[[ ! -e $TMPDIR_TEST/calls ]] || fail "configuring ran: $(cat "$TMPDIR_TEST/calls")"
grep -q 'install-deps.sh' "$TMPDIR_TEST/plain.out" ||
    fail "missing packages were not named: $(cat "$TMPDIR_TEST/plain.out")"

# negative twin: asked to, configuring installs what is missing
configure "$TMPDIR_TEST/asked" -DSD_INSTALL_DEPS=ON
grep -q '^apt-get .*install' "$TMPDIR_TEST/calls" ||
    fail "-DSD_INSTALL_DEPS=ON did not install: $(cat "$TMPDIR_TEST/asked.out")"

# an optimised build refuses fault points
configure "$TMPDIR_TEST/release" -DCMAKE_BUILD_TYPE=Release -DSD_FAULTS=ON
grep -q 'SD_FAULTS is for test builds' "$TMPDIR_TEST/release.out" ||
    fail "a Release build took fault points: $(tail -5 "$TMPDIR_TEST/release.out")"
echo "PASS"
