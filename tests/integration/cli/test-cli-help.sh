#!/usr/bin/env bash
# A new user's first commands: `sealdisk --help` and `-h` list the
# commands and exit 0; an unknown command or option still exits 2.
source "$(dirname "$0")/../lib/functions.sh"
tmpdir
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}

for h in --help -h help; do
    "$bin" $h >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err" || fail "sealdisk $h exits non-zero: $(cat "$TMPDIR_TEST/err")"
    grep -q '^usage: sealdisk <command>' "$TMPDIR_TEST/out" || fail "sealdisk $h prints no usage"
    grep -qE '^  server +run' "$TMPDIR_TEST/out" || fail "sealdisk $h lists no commands"
    if grep -qE '^  (--help|-h) ' "$TMPDIR_TEST/out"; then
        fail "sealdisk $h lists its own spellings as commands"
    fi
done
"$bin" --version | grep -q '^sealdisk ' || fail "--version prints no version"

# negative twins: what is not a command is still refused, with usage exit 2
set +e
"$bin" --hlep >/dev/null 2>"$TMPDIR_TEST/err"; rc_bad=$?
"$bin" >/dev/null 2>&1; rc_none=$?
set -e
[[ $rc_bad == 2 ]] || fail "an unknown option exits $rc_bad"
grep -q "unknown command '--hlep'" "$TMPDIR_TEST/err" || fail "unknown option not named: $(cat "$TMPDIR_TEST/err")"
[[ $rc_none == 2 ]] || fail "no command exits $rc_none"
echo ok
