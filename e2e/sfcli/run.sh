#!/usr/bin/env bash
# run.sh: start `idverify fake-org`, install the Salesforce CLI (npm @salesforce/cli) from the
# lock file, run check.js (the CLI's commands against the org), and stop the org. The CLI runs
# with its own HOME in the scratch directory, so no real login or setting of the user's is
# touched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../fakeorg.sh"
start_fake_org 0
cd "$here"
npm_install
echo "== Salesforce CLI check"
mkdir -p "$work/home"
HOME="$work/home" PATH="$here/node_modules/.bin:$PATH" LOGIN_URL="$url" \
  SF_DISABLE_TELEMETRY=true SF_AUTOUPDATE_DISABLE=true SF_HIDE_RELEASE_NOTES=true \
  SF_SKIP_NEW_VERSION_CHECK=true SF_USE_GENERIC_UNIX_KEYCHAIN=true SF_DISABLE_LOG_FILE=true \
  node check.js
