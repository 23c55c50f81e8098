#!/usr/bin/env bash
# A new user's first commands: `sealdisk --help` and `-h` list the
# commands and exit 0; an unknown command or option still exits 2.
# `<Action> --help` lists every parameter of api_params.def with its type
# and need; a parameter the action does not take is refused unsent.
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
src=$(cd "$(dirname "$0")/../../.." && pwd)
def=$src/src/api/api_params.def

# per-action help: every row of the table for the action, type and need
"$bin" kms CreateKey --help >"$TMPDIR_TEST/ck" || fail "CreateKey --help failed"
want=$(grep -c '^API_PARAM(KMS, CreateKey,' "$def")
got=$(grep -cE '^  --[A-Z][A-Za-z.]+ +(String|Integer|Boolean|JSON) +(required|optional) +[a-zA-Z]' "$TMPDIR_TEST/ck")
[[ $got == $((want + 1)) ]] || fail "CreateKey --help lists $got parameters, the table has $want (+RegionId): $(cat "$TMPDIR_TEST/ck")"
grep -qE '^  --EnableAutomaticRotation +Boolean +optional ' "$TMPDIR_TEST/ck" || fail "no type or need in: $(cat "$TMPDIR_TEST/ck")"
"$bin" kms ScheduleKeyDeletion --help | grep -qE '^  --PendingWindowInDays +Integer +required ' ||
    fail "ScheduleKeyDeletion --help does not mark PendingWindowInDays required"
"$bin" ecs RunInstances --help | grep -qE '^  --DataDisk\.N\.Size +Integer ' || fail "RunInstances --help lacks DataDisk.N.Size"
"$bin" ecs DeleteDisk --help | grep -qE '^  --DryRun +Boolean ' || fail "ECS help lacks DryRun"
if "$bin" kms DisableKey --help | grep -q -- '--DryRun'; then
    fail "KMS help offers DryRun, which KMS does not take"
fi

# unknown parameters are refused before anything is sent (exit 2, no
# connection attempted: the endpoint below would answer exit 3)
export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIexample ALIBABA_CLOUD_ACCESS_KEY_SECRET=example
set +e
"$bin" kms DisableKey --KeyId key-1 --DryRun true --endpoint 127.0.0.1:1 >/dev/null 2>"$TMPDIR_TEST/err"; rc_dry=$?
"$bin" ecs RunInstances --DataDisk.0.Size 20 --endpoint 127.0.0.1:1 >/dev/null 2>"$TMPDIR_TEST/err0"; rc_zero=$?
"$bin" kms CreateKey --Descripton typo --endpoint 127.0.0.1:1 >/dev/null 2>&1; rc_typo=$?
# positive twins: what the table lists gets as far as the network
"$bin" kms DisableKey --KeyId key-1 --RegionId cn-hangzhou --endpoint 127.0.0.1:1 >/dev/null 2>&1; rc_ok=$?
"$bin" ecs RunInstances --DataDisk.1.Size 20 --DryRun true --endpoint 127.0.0.1:1 >/dev/null 2>&1; rc_list=$?
set -e
[[ $rc_dry == 2 ]] || fail "DisableKey --DryRun exits $rc_dry, not 2"
grep -q 'DisableKey takes no parameter --DryRun; nothing was sent' "$TMPDIR_TEST/err" || fail "refusal not explained: $(cat "$TMPDIR_TEST/err")"
[[ $rc_zero == 2 ]] || fail "DataDisk.0.Size exits $rc_zero, not 2"
[[ $rc_typo == 2 ]] || fail "a misspelt parameter exits $rc_typo, not 2"
[[ $rc_ok == 3 ]] || fail "a listed parameter was refused (exit $rc_ok)"
[[ $rc_list == 3 ]] || fail "a flattened list parameter was refused (exit $rc_list)"
echo ok
