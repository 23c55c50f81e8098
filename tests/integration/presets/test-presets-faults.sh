#!/usr/bin/env bash
# Fault points are in test builds only: the binary of a build with
# SD_FAULTS (dev, asan, fuzz presets) has sd_fault_hit and reads
# SEALDISK_FAULTS; the release preset's binary has neither.
source "$(dirname "$0")/../lib/functions.sh"
bin=${SEALDISK:?SEALDISK must name the sealdisk binary}
faults=${SD_FAULTS:?SD_FAULTS must say whether this build has fault points}
command -v nm >/dev/null || fail "nm (binutils) is missing"

has=no
if nm "$bin" | grep -qw sd_fault_hit || grep -qa SEALDISK_FAULTS "$bin"; then
    has=yes
fi
case $faults in
ON | on | 1 | TRUE | true)
    [[ $has == yes ]] || fail "a build with SD_FAULTS=$faults has no fault points" ;;
*)
    [[ $has == no ]] || fail "a build with SD_FAULTS=$faults has fault points" ;;
esac
echo "PASS"
