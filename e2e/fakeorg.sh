# fakeorg.sh, sourced by the e2e checks' run.sh: start_fake_org RECORDS builds idverify, starts
# `idverify fake-org --seed demo --records RECORDS` on a free loopback port and sets $url (its
# login URL) and $work (a scratch directory). On exit the org is stopped and $work removed.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/idverify-e2e.XXXXXX")
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

start_fake_org() {
  local records=$1
  echo "== build idverify"
  (cd "$root" && go build -o "$work/idverify" ./cmd/idverify)
  echo "== start the fake org (--records $records)"
  "$work/idverify" fake-org --addr 127.0.0.1:0 --seed demo --records "$records" >"$work/org.log" 2>&1 &
  pid=$!
  url=""
  local deadline=$((SECONDS + 180)) # a busy machine may take a while to seed the records
  while [ "$SECONDS" -lt "$deadline" ]; do
    url=$(sed -n 's/^  login URL: *\(http:\/\/[^ ]*\).*/\1/p' "$work/org.log" | head -n1)
    [ -n "$url" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then cat "$work/org.log"; echo "fake org exited"; exit 1; fi
    sleep 0.1
  done
  if [ -z "$url" ]; then cat "$work/org.log"; echo "fake org did not start"; exit 1; fi
  echo "fake org at $url"
}

# npm_install installs the check's packages from its lock file, unless node_modules already
# holds exactly that lock's install (a stamp of the lock file's hash, written after npm ci).
npm_install() {
  local sum stamp=node_modules/.idverify-lock-sha256
  sum=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
    echo "== npm: node_modules matches package-lock.json"
    return
  fi
  echo "== npm ci"
  local start=$SECONDS
  npm ci --no-audit --no-fund --loglevel=error --fetch-retries=5 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=60000
  echo "$sum" >"$stamp"
  echo "npm ci took $((SECONDS - start))s"
}
