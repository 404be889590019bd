#!/usr/bin/env bash
# Memory of the server over a large catalog: fills a data directory with WORKFLOWS
# workflows x VERSIONS versions through the service layer (bench/catalog_rss.cc:
# the API's own WorkflowService, appends not synced), starts `ledgerflow serve` on it,
# reads (GET by id over a random sample, lists, version lists, diffs) and reports the
# server's resident memory: VmRSS after start, and VmHWM (peak) at the end, in MiB.
# The target from the issue: under 512 MiB at 100k workflows x 5 versions, because
# read models live in RocksDB, not in memory.
#
#   bench/rss.sh [BUILD_DIR]       (default: $BUILD_DIR or build-bench)
# Environment:
#   WORKFLOWS=100000 VERSIONS=5    catalog size
#   DURATION=10s                   length of the wrk GET run
#   CONNECTIONS=64 WRK_THREADS=2 SERVER_THREADS=2
#   DATA_DIR=path                  reuse/keep this data directory (filled only if empty)
#   KEEP_TMP=1                     keep the temporary directory
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-${BUILD_DIR:-build-bench}}
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
WORKFLOWS=${WORKFLOWS:-100000}
VERSIONS=${VERSIONS:-5}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
SERVER_THREADS=${SERVER_THREADS:-2}

LEDGERFLOW="$BUILD_DIR/app/ledgerflow"
FILL="$BUILD_DIR/bench/catalog_rss"
export LOAD_LUA_DIR="$ROOT/bench/wrk"
for bin in "$LEDGERFLOW" "$FILL"; do
  [[ -x "$bin" ]] || { echo "rss.sh: $bin not found; build with -DLEDGERFLOW_BUILD_BENCH=ON" >&2; exit 2; }
done
for tool in wrk curl shuf; do
  command -v "$tool" >/dev/null || { echo "rss.sh: $tool is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ledgerflow-rss.XXXXXX")
DATA_DIR=${DATA_DIR:-$WORK/data}
SERVER_PID=
BG_PID=
cleanup() {
  if [[ -n "$BG_PID" ]]; then kill "$BG_PID" 2>/dev/null || true; wait "$BG_PID" 2>/dev/null || true; fi
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP_TMP:-0}" = 1 ]]; then echo "rss.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_bg CMD...: runs CMD in the background and waits, so that a signal stops it at once.
run_bg() {
  "$@" &
  BG_PID=$!
  local rc=0
  wait "$BG_PID" || rc=$?
  BG_PID=
  return $rc
}

mib() { awk -v k="$2" '$1 == k":" {printf "%.1f", $2/1024}' "/proc/$1/status"; }

if [[ -d "$DATA_DIR" && -n "$(ls -A "$DATA_DIR" 2>/dev/null)" && -s "$DATA_DIR.key" ]]; then
  echo "== reusing $DATA_DIR"
  KEY=$(cat "$DATA_DIR.key")
  cp "$DATA_DIR.ids" "$WORK/ids.txt"
else
  echo "== filling $WORKFLOWS workflows x $VERSIONS versions into $DATA_DIR"
  run_bg "$FILL" --data-dir "$DATA_DIR" --workflows "$WORKFLOWS" --versions "$VERSIONS" \
    --ids-out "$WORK/ids.txt" >"$WORK/fill.txt"
  cat "$WORK/fill.txt"
  KEY=$(sed -n 's/^key \(lf_.*\)/\1/p' "$WORK/fill.txt")
  if [[ "$DATA_DIR" != "$WORK/data" ]]; then
    echo "$KEY" >"$DATA_DIR.key"
    cp "$WORK/ids.txt" "$DATA_DIR.ids"
  fi
fi
[[ "$KEY" = lf_* ]] || { echo "rss.sh: no key from the fill" >&2; exit 1; }
echo "data dir size: $(du -sh "$DATA_DIR" | cut -f1)"

echo "== starting ledgerflow serve"
START=$(date +%s.%N)
"$LEDGERFLOW" serve --data-dir "$DATA_DIR" --port 0 --threads "$SERVER_THREADS" \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 1200); do
  grep -q 'listening on http://' "$WORK/server.log" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "rss.sh: server exited:" >&2; cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
grep -q 'listening on http://' "$WORK/server.log" || { echo "rss.sh: server did not start in 120 s" >&2; exit 1; }
PORT=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$WORK/server.log" | head -1)
echo "started in $(awk -v s="$START" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e-s}') s;" \
     "RSS after start: $(mib "$SERVER_PID" VmRSS) MiB"

BASE="http://127.0.0.1:$PORT"
AUTH="Authorization: Bearer $KEY"
timed_get() {  # timed_get PATH: prints "code seconds" of one GET
  curl -sS -o /dev/null -w '%{http_code} %{time_total}' -H "$AUTH" "$BASE$1"
}

echo "== lists, version lists and diffs"
shuf -n 20 "$WORK/ids.txt" >"$WORK/sample.txt"
for path in "/api/workflows?limit=50" "/api/workflows?limit=50&offset=50000" \
            "/api/workflows?limit=20&tag=odd" "/api/workflows?limit=20&q=workflow%2099999"; do
  echo "GET $path -> $(timed_get "$path")"
done
while read -r id; do
  for path in "/api/workflows/$id" "/api/workflows/$id/versions" \
              "/api/workflows/$id/versions/3" "/api/workflows/$id/diff?v1=1&v2=$VERSIONS"; do
    r=$(timed_get "$path")
    [[ "$r" = 200* ]] || echo "GET $path -> $r"
  done
done <"$WORK/sample.txt"
echo "RSS after lists: $(mib "$SERVER_PID" VmRSS) MiB"

echo "== wrk GET /api/workflows/{id} over 20000 random ids ($DURATION, -c$CONNECTIONS)"
shuf -n 20000 "$WORK/ids.txt" >"$WORK/get-ids.txt"
LOAD_PATH=/api/workflows/ LOAD_IDS="$WORK/get-ids.txt" LOAD_KEY="$KEY" \
  run_bg wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$ROOT/bench/wrk/get.lua" "$BASE" \
  >"$WORK/wrk-get.txt" 2>&1
grep '^RESULT' "$WORK/wrk-get.txt" || { cat "$WORK/wrk-get.txt"; exit 1; }
kill -0 "$SERVER_PID" 2>/dev/null || { echo "rss.sh: the server died under load" >&2; exit 1; }

TOTAL=$(curl -sS -H "$AUTH" "$BASE/api/workflows?limit=1" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
echo
echo "== summary"
if [[ -f "$WORK/fill.txt" ]]; then grep -E '^fill' "$WORK/fill.txt"; fi
echo "catalog: ${TOTAL:-?} workflows x $VERSIONS versions, data dir $(du -sh "$DATA_DIR" | cut -f1)"
echo "server RSS now: $(mib "$SERVER_PID" VmRSS) MiB; peak (VmHWM): $(mib "$SERVER_PID" VmHWM) MiB" \
     "(target: under 512 MiB)"
