#!/usr/bin/env bash
# run.sh: build idverify, start `idverify fake-org` on a free loopback port with enough records
# to page, install jsforce (npm), run check.js against the org, and stop the org.
# RECORDS overrides the generated records (default 2500).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
records=${RECORDS:-2500}
work=$(mktemp -d "${TMPDIR:-/tmp}/idverify-jsforce.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "== build idverify"
(cd "$root" && go build -o "$work/idverify" ./cmd/idverify)

echo "== start the fake org (--records $records)"
: >"$work/org.log"
"$work/idverify" fake-org --addr 127.0.0.1:0 --seed demo --records "$records" >"$work/org.log" 2>&1 &
pid=$!
url=""
for _ in $(seq 1 600); do
  url=$(sed -n 's/^  login URL: *\(http:\/\/[^ ]*\).*/\1/p' "$work/org.log" | head -n1)
  [ -n "$url" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then cat "$work/org.log"; echo "fake org exited"; exit 1; fi
  sleep 0.1
done
if [ -z "$url" ]; then cat "$work/org.log"; echo "fake org did not start"; exit 1; fi
echo "fake org at $url"

echo "== npm"
cd "$here"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

echo "== jsforce check"
LOGIN_URL="$url" RECORDS="$records" node check.js
