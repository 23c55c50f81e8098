#!/usr/bin/env bash
# test-layering.sh: scripts/check-layering.sh keeps the file order inside
# a module (src/kms, src/ecs, src/nbd): the real tree passes, and a copy of
# it fails once a file uses a function of a file above it or on its own
# level, or a file is missing from the order.
# Mentions in comments are not uses.
source "$(dirname "$0")/../lib/functions.sh"
root=$(cd "$(dirname "$0")/../../.." && pwd)
requires perl -e 1
tmpdir

bash "$root/scripts/check-layering.sh" >/dev/null || fail "the tree does not pass check-layering"

# a fresh copy of what the check reads, for each case
copy() {
    rm -rf "$TMPDIR_TEST/t"
    mkdir -p "$TMPDIR_TEST/t"
    cp -r "$root/scripts" "$root/src" "$TMPDIR_TEST/t/"
}
expect_ok() {
    bash "$TMPDIR_TEST/t/scripts/check-layering.sh" >/dev/null 2>&1 || fail "$1"
}

# a call down is fine, and so is naming an upper function in a comment
copy
printf '/* ecs__recover_disks() and ecs_open() run later */\n' >>"$TMPDIR_TEST/t/src/ecs/ecs_rows.c"
printf 'static void down(char *d) { ecs__cpy(d, 1, ""); }\n' >>"$TMPDIR_TEST/t/src/ecs/ecs_core.c"
expect_ok "a comment or a call down failed check-layering"

# one copy with every kind of breach (the check takes a while: one run)
copy
# the bottom layer calling the top one
cat >>"$TMPDIR_TEST/t/src/ecs/ecs_rows.c" <<'C'
void ecs__up(ecs *e);
void ecs__up(ecs *e)
{
    ecs__recover_disks(e);
}
C
# a public function counts as much as an m__ one
printf 'static void up(void) { (void)ecs_open; }\n' >>"$TMPDIR_TEST/t/src/ecs/ecs_keys.c"
# a new file must take its place in the order, and a listed file must exist
printf '#include "ecs/ecs_int.h"\n' >"$TMPDIR_TEST/t/src/ecs/ecs_new.c"
rm "$TMPDIR_TEST/t/src/ecs/ecs_jobs.c"
# nbd: the bytes layer calling the handshake
printf 'void nbds__up(nbds_conn *c);\nvoid nbds__up(nbds_conn *c)\n{\n    (void)nbds__handshake(c, NULL);\n}\n' \
    >>"$TMPDIR_TEST/t/src/nbd/nbds_wire.c"
# kms: two operations on one level calling each other
printf 'static void side(void) { (void)kms_describe_key; }\n' >>"$TMPDIR_TEST/t/src/kms/kms_alias.c"
out=$(bash "$TMPDIR_TEST/t/scripts/check-layering.sh" 2>&1) && fail "check-layering passed a breach"
for want in \
    "src/ecs/ecs_rows.c uses ecs__recover_disks() of ecs_disks.c, a file not below it" \
    "src/ecs/ecs_keys.c uses ecs_open() of ecs_core.c, a file not below it" \
    "src/ecs/ecs_new.c is not in the file order of src/ecs" \
    "the file order of src/ecs names ecs_jobs.c, which does not exist" \
    "src/nbd/nbds_wire.c uses nbds__handshake() of nbds_handshake.c, a file not below it" \
    "src/kms/kms_alias.c uses kms_describe_key() of kms_keys.c, a file not below it"; do
    grep -qF -- "$want" <<<"$out" || fail "check-layering said: $out; expected: $want"
done
echo "PASS"
