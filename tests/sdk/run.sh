#!/usr/bin/env bash
# run.sh FILE: one node --test suite of the official SDKs against the
# sealdisk binary in $SEALDISK.  Skips (77) only when Node.js or the pinned
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
exec node --test --test-reporter=spec "$1"
