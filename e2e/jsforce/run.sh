#!/usr/bin/env bash
# run.sh: start `idverify fake-org` with enough records to page, install jsforce from the lock
# file, run check.js against the org, and stop the org. RECORDS overrides the generated records
# (default 2500).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../fakeorg.sh"
records=${RECORDS:-2500}
start_fake_org "$records"
cd "$here"
npm_install
echo "== jsforce check"
LOGIN_URL="$url" RECORDS="$records" node check.js
