#!/usr/bin/env bash
# The typed client end to end: starts the real server on an ephemeral port over a new
# data directory, lints the OpenAPI document it serves (redocly with redocly.yaml: the
# recommended rules but no-ambiguous-paths; no error, no warning), generates the TypeScript types from it (openapi-typescript),
# compiles the client and its scenarios with tsc --strict (no casts, no any) and runs
# them against the server.
#   typescript_client_test.sh LEDGERFLOW_BINARY CLIENT_SOURCE_DIR WORK_DIR
set -euo pipefail
binary=$1 source=$2 work=$3

if [ ! -x "$source/node_modules/.bin/tsc" ]; then
  echo "the client's npm packages are missing: run scripts/dev test (npm ci in $source)" >&2
  exit 1
fi

rm -rf "$work" && mkdir -p "$work"
data=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$data"
}
trap cleanup EXIT

"$binary" serve --data-dir "$data/db" --port 0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
url=
for _ in $(seq 1 200); do
  url=$(grep -o 'listening on http://[0-9.:]*' "$work/server.out" 2>/dev/null | head -1 | cut -d' ' -f3 || true)
  [ -n "$url" ] && break
  sleep 0.05
done
[ -n "$url" ] || { echo "the server did not start" >&2; cat "$work/server.out" "$work/server.err" >&2; exit 1; }
key=$(grep -o 'lf_key_[a-z0-9_]*' "$work/server.out" | head -1)

curl -sf "$url/api/openapi.json" -o "$work/openapi.json"

# The document, as a new user's tooling sees it.
lint=$("$source/node_modules/.bin/redocly" lint --config "$source/redocly.yaml" "$work/openapi.json" 2>&1) || {
  echo "$lint" >&2; exit 1; }
if grep -qiE 'warning|error' <<<"$(grep -v 'API description is valid' <<<"$lint")"; then
  echo "$lint" >&2
  echo "redocly lint reported problems" >&2
  exit 1
fi

# No casts and no any in the client's own code: the generated types must be enough.
if grep -nE '\bas [A-Za-z{(\[]|\bany\b|@ts-(ignore|expect-error|nocheck)|(^|[=(,:?]|return)\s*<[A-Za-z]+>' \
     "$source"/src/*.ts | grep -vE '^\S+:[0-9]+:\s*//'; then
  echo "casts or any in the client's code" >&2
  exit 1
fi

cp -r "$source/src" "$source/tsconfig.json" "$source/package.json" "$work/"
ln -s "$source/node_modules" "$work/node_modules"
rm -rf "$work/src/generated"
(cd "$work" && ./node_modules/.bin/openapi-typescript openapi.json --default-non-nullable false \
   -o src/generated/api.ts >/dev/null && ./node_modules/.bin/tsc -p tsconfig.json --strict)

for scenario in "$work"/dist/*scenario.js; do
  LEDGERFLOW_URL=$url LEDGERFLOW_API_KEY=$key node "$scenario"
done
