#!/usr/bin/env bash
# run.sh FILE [NODE-TEST-OPTION...]: one node --test suite of the official
# SDKs against the sealdisk binary in $SEALDISK; further arguments go to
# node --test (e.g. --test-name-pattern 'R1 ' to run one rule's tests).  Skips (77) only when Node.js or the pinned
# packages are missing, saying which; `npm ci` in tests/sdk installs them.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node >/dev/null; then
    echo "SKIP: node is not installed" >&2
    exit 77
fi
if [[ ! -d node_modules/@alicloud/kms20160120 ]]; then
    echo "SKIP: the SDKs are not installed (run: npm ci --ignore-scripts in tests/sdk)" >&2
    exit 77
fi
file=$1
shift
exec node --test --test-reporter=spec "$@" "$file"
