#!/usr/bin/env bash
# HTTP load benchmark: Ledgerflow's durable workflow creates and its GETs, each beside
# a bare Pistache route measured in the same run (bench/bare_server.cc: same Pistache,
# same thread count, same keep-alive fix, no routing/auth/storage). Reports req/s,
# latency percentiles and the ratios ledgerflow / bare. A third server measures the
# floor under a durable create: the bare POST made durable by group commit alone
# (bare_server --group-commit-dir: one writer, one synced WriteBatch per group, no
# other work), reported as its own ratio to the bare POST and as ledgerflow / floor.
# Between runs it waits until no server uses CPU any more (RocksDB's flushes and
# compactions after a write run would otherwise run into the next measurement).
#
#   bench/load.sh [BUILD_DIR]        (default: $BUILD_DIR or build-bench; built beforehand
#                                     with -DLEDGERFLOW_BUILD_BENCH=ON)
# Environment:
#   DURATION=10s      length of each measured wrk run
#   WARMUP=2s         length of one warm-up run per target (0 to skip)
#   CONNECTIONS=64    wrk -c
#   WRK_THREADS=2     wrk -t
#   SERVER_THREADS=2  --threads of both servers
#   ROUNDS=1          measured rounds; with more, the median ratio is reported too
#   GET_IDS=1000      workflows created before the GET runs (GETs cycle over them)
#   LOG_LEVEL=info    --log-level of ledgerflow (info: an access-log line per request,
#                     to a file; warn: none), to measure what the access log costs
#   KEEP_TMP=1        keep the temporary directory (logs, data dir)
# Nothing here is an assertion: the targets (creates >= 0.5x bare POST, GETs >= 0.7x
# bare GET) are printed next to the measured ratios.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-${BUILD_DIR:-build-bench}}
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-2}
SERVER_THREADS=${SERVER_THREADS:-2}
ROUNDS=${ROUNDS:-1}
GET_IDS=${GET_IDS:-1000}

LEDGERFLOW="$BUILD_DIR/app/ledgerflow"
BARE="$BUILD_DIR/bench/bare_server"
export LOAD_LUA_DIR="$ROOT/bench/wrk"

for bin in "$LEDGERFLOW" "$BARE"; do
  [[ -x "$bin" ]] || { echo "load.sh: $bin not found; build with -DLEDGERFLOW_BUILD_BENCH=ON" >&2; exit 2; }
done
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "load.sh: $tool is not installed" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ledgerflow-load.XXXXXX")
PIDS=()
cleanup() {
  local pid
  if [[ -n "${WRK_PID:-}" ]]; then kill "$WRK_PID" 2>/dev/null || true; wait "$WRK_PID" 2>/dev/null || true; fi
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ "${KEEP_TMP:-0}" = 1 ]]; then
    echo "load.sh: kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

rss_mib() {  # current and peak RSS of a pid, in MiB
  awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} END {printf "%.0f/%.0f", r/1024, h/1024}' \
    "/proc/$1/status" 2>/dev/null || echo "?"
}

echo "== starting servers (threads=$SERVER_THREADS)"
"$BARE" --port 0 --threads "$SERVER_THREADS" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!
PIDS+=("$BARE_PID")
wait_for_line "$WORK/bare.log" '^listening on [0-9]+' "$BARE_PID"
BARE_PORT=$(sed -n 's/^listening on \([0-9]*\).*/\1/p' "$WORK/bare.log" | head -1)

"$BARE" --port 0 --threads "$SERVER_THREADS" --group-commit-dir "$WORK/floor" >"$WORK/floor.log" 2>&1 &
FLOOR_PID=$!
PIDS+=("$FLOOR_PID")
wait_for_line "$WORK/floor.log" '^listening on [0-9]+' "$FLOOR_PID"
FLOOR_PORT=$(sed -n 's/^listening on \([0-9]*\).*/\1/p' "$WORK/floor.log" | head -1)

start_ledgerflow "$WORK/data" "$WORK/ledgerflow.log" --threads "$SERVER_THREADS" \
  --log-level "${LOG_LEVEL:-info}"
echo "bare_server pid $BARE_PID port $BARE_PORT; group-commit floor pid $FLOOR_PID port" \
     "$FLOOR_PORT; ledgerflow pid $LF_PID port $LF_PORT"

echo "== creating $GET_IDS workflows for the GET runs"
create_one() {  # prints the new workflow's id
  curl -sS -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data "{\"definition\":{\"name\":\"get-target-$1\",\"steps\":[{\"id\":\"fetch\",\"type\":\"http_request\",\"config\":{\"url\":\"https://example.com/api/orders\",\"method\":\"GET\",\"headers\":{\"accept\":\"application/json\"}}},{\"id\":\"notify\",\"type\":\"http_request\",\"depends_on\":[\"fetch\"],\"config\":{\"url\":\"https://example.com/hooks/notify\",\"method\":\"POST\"}}]},\"trigger_type\":\"manual\",\"tags\":[\"bench\"],\"description\":\"GET target\"}" \
    "http://127.0.0.1:$LF_PORT/api/workflows" | grep -o '^{"id":"wf_[0-9a-f]*"' | cut -d'"' -f4
}
export -f create_one
export KEY LF_PORT
seq 1 "$GET_IDS" | xargs -P 8 -I{} bash -c 'create_one {}' >"$WORK/ids.txt"
CREATED=$(grep -c '^wf_' "$WORK/ids.txt" || true)
[[ "$CREATED" -eq "$GET_IDS" ]] || { echo "load.sh: only $CREATED of $GET_IDS creates succeeded" >&2; exit 1; }

# run_wrk NAME DURATION SCRIPT PORT [VAR=VALUE...]: one wrk run; sets RESULT to its
# RESULT line. wrk runs in the background so that a signal stops the script at once.
WRK_PID=
run_wrk() {
  local name=$1 duration=$2 script=$3 port=$4
  shift 4
  local out="$WORK/wrk-$name.txt"
  env "$@" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$duration" --timeout 10s --latency \
    -s "$ROOT/bench/wrk/$script" "http://127.0.0.1:$port" >"$out" 2>&1 &
  WRK_PID=$!
  local rc=0
  wait "$WRK_PID" || rc=$?
  WRK_PID=
  if [[ $rc -ne 0 ]]; then
    echo "load.sh: wrk failed for $name:" >&2
    cat "$out" >&2
    exit 1
  fi
  RESULT=$(grep '^RESULT' "$out" | tail -1)
  [[ -n "$RESULT" ]] || { echo "load.sh: no RESULT from wrk for $name:" >&2; cat "$out" >&2; exit 1; }
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

declare -A TARGET_ARGS=(
  [bare_get]="get.lua $BARE_PORT LOAD_PATH=/bare LOAD_IDS= LOAD_KEY="
  [lf_get]="get.lua $LF_PORT LOAD_PATH=/api/workflows/ LOAD_IDS=$WORK/ids.txt LOAD_KEY=$KEY"
  [bare_post]="post.lua $BARE_PORT LOAD_PATH=/bare LOAD_KEY="
  [floor_post]="post.lua $FLOOR_PORT LOAD_PATH=/bare LOAD_KEY="
  [lf_post]="post.lua $LF_PORT LOAD_PATH=/api/workflows LOAD_KEY=$KEY"
)
ORDER=(bare_get lf_get bare_post floor_post lf_post)

# Waits (up to 60 s) until the servers' background work (RocksDB flushes and
# compactions after a write run) is done, so that it does not run into the next
# measurement: their CPU time must stay still over half a second.
cpu_ticks() { awk '{s += $14 + $15} END {print s}' "$@" 2>/dev/null; }
settle() {
  local stats=() pid before after
  for pid in "$BARE_PID" "$FLOOR_PID" "$LF_PID"; do stats+=("/proc/$pid/stat"); done
  for _ in $(seq 1 120); do
    before=$(cpu_ticks "${stats[@]}")
    sleep 0.5
    after=$(cpu_ticks "${stats[@]}")
    (( after - before <= 1 )) && return 0
  done
  echo "load.sh: servers still busy after 60 s; measuring anyway" >&2
}

check_alive() {
  local pid
  for pid in "$BARE_PID" "$FLOOR_PID" "$LF_PID"; do
    kill -0 "$pid" 2>/dev/null || { echo "load.sh: server pid $pid died; see $WORK (KEEP_TMP=1)" >&2; KEEP_TMP=1; exit 1; }
  done
}

# Workflows in the catalog: the GET targets plus every successful create so far (the
# lf_get rows show it, since GETs read RocksDB and the catalog grows with each round).
CATALOG=$GET_IDS
count_creates() { CATALOG=$(( CATALOG + $(field "$1" requests) - $(field "$1" non2xx) )); }

if [[ "$WARMUP" != 0 && "$WARMUP" != 0s ]]; then
  echo "== warm-up ($WARMUP each)"
  for target in "${ORDER[@]}"; do
    # shellcheck disable=SC2086
    run_wrk "warmup-$target" "$WARMUP" ${TARGET_ARGS[$target]}
    if [[ "$target" = lf_post ]]; then count_creates "$RESULT"; fi
    settle
  done
  check_alive
fi

declare -a POST_RATIOS=() GET_RATIOS=() FLOOR_RATIOS=() OVER_FLOOR_RATIOS=()
printf '\n%-6s %-10s %10s %9s %9s %9s %8s %7s %9s\n' round target req/s p50_ms p99_ms max_ms non2xx sockerr catalog
for round in $(seq 1 "$ROUNDS"); do
  declare -A RPS=()
  for target in "${ORDER[@]}"; do
    # shellcheck disable=SC2086
    run_wrk "r$round-$target" "$DURATION" ${TARGET_ARGS[$target]}
    r=$RESULT
    RPS[$target]=$(field "$r" rps)
    sockerr=$(( $(field "$r" connect_err) + $(field "$r" read_err) + $(field "$r" write_err) + $(field "$r" timeouts) ))
    catalog=-
    if [[ "$target" = lf_* ]]; then catalog=$CATALOG; fi
    printf '%-6s %-10s %10s %9s %9s %9s %8s %7s %9s\n' "$round" "$target" "${RPS[$target]}" \
      "$(field "$r" p50_ms)" "$(field "$r" p99_ms)" "$(field "$r" max_ms)" "$(field "$r" non2xx)" \
      "$sockerr" "$catalog"
    if [[ "$target" = lf_post ]]; then count_creates "$r"; fi
    check_alive
    settle
  done
  POST_RATIOS+=("$(awk -v a="${RPS[lf_post]}" -v b="${RPS[bare_post]}" 'BEGIN {printf "%.2f", a/b}')")
  GET_RATIOS+=("$(awk -v a="${RPS[lf_get]}" -v b="${RPS[bare_get]}" 'BEGIN {printf "%.2f", a/b}')")
  FLOOR_RATIOS+=("$(awk -v a="${RPS[floor_post]}" -v b="${RPS[bare_post]}" 'BEGIN {printf "%.2f", a/b}')")
  OVER_FLOOR_RATIOS+=("$(awk -v a="${RPS[lf_post]}" -v b="${RPS[floor_post]}" 'BEGIN {printf "%.2f", a/b}')")
  echo "round $round: durable POST /api/workflows = ${POST_RATIOS[-1]}x bare POST;" \
       "GET /api/workflows/{id} = ${GET_RATIOS[-1]}x bare GET;" \
       "group-commit floor = ${FLOOR_RATIOS[-1]}x bare POST (creates = ${OVER_FLOOR_RATIOS[-1]}x floor)"
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
POST_MED=$(median "${POST_RATIOS[@]}")
GET_MED=$(median "${GET_RATIOS[@]}")
FLOOR_MED=$(median "${FLOOR_RATIOS[@]}")
OVER_FLOOR_MED=$(median "${OVER_FLOOR_RATIOS[@]}")
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r >= t ? "meets" : "BELOW") " the " t "x target"}'; }

WORKFLOWS=$(curl -sS -H "Authorization: Bearer $KEY" "http://127.0.0.1:$LF_PORT/api/workflows?limit=1" |
  sed -n 's/.*"total":\([0-9]*\).*/\1/p')
echo
echo "== summary ($ROUNDS round(s), median; -c$CONNECTIONS -t$WRK_THREADS, $DURATION each, server threads $SERVER_THREADS)"
echo "durable creates / bare POST: ${POST_MED}x ($(verdict "$POST_MED" 0.5))"
echo "GET by id / bare GET:        ${GET_MED}x ($(verdict "$GET_MED" 0.7))"
echo "group-commit floor / bare POST: ${FLOOR_MED}x; durable creates / floor: ${OVER_FLOOR_MED}x"
echo "ledgerflow RSS now/peak MiB: $(rss_mib "$LF_PID") after ${WORKFLOWS:-?} workflows;" \
     "bare_server: $(rss_mib "$BARE_PID")"
if grep -Eiq 'threw|error|abort' "$WORK/ledgerflow.log"; then
  echo "ledgerflow log has errors:"
  grep -Ei 'threw|error|abort' "$WORK/ledgerflow.log" | head -20
fi
