#!/usr/bin/env bash
# Run engine benchmark: what runs cost end to end over HTTP, each figure beside a
# baseline measured in the same run on the same machine.
#   (i)   runs/s of a 5-step chain of `wait` 0 steps (no I/O), RUNS runs dispatched by
#         CLIENTS threads, until all completed; beside the EventStore's own durable
#         append rate (append_bench, async window of 64 appends, new and existing
#         streams) and the events and appends each run makes;
#   (ii)  dispatch-to-completed latency, p50/p99, one client, one run at a time;
#   (iii) runs/s of a 3-step chain of http_request GETs of a local target (bench/
#         bare_server's GET /bare), beside that target's own rate with wrk alone;
#   (iv)  TIMER_RUNS runs waiting on TIMER_SECONDS timers at once, on a fresh server:
#         RSS and threads idle, all waiting, at the end; how late the waits ended.
# Nothing here is an assertion: the targets are printed next to the figures.
#
#   bench/runs.sh [BUILD_DIR]   (default: $BUILD_DIR or build-bench; built beforehand
#                                with -DLEDGERFLOW_BUILD_BENCH=ON)
# Environment:
#   RUNS=20000         (i) runs
#   CLIENTS=64         (i), (iii), (iv) dispatching threads
#   LATENCY_RUNS=1000  (ii) runs
#   HTTP_RUNS=10000    (iii) runs
#   DURATION=10s       (iii) wrk run against the target alone
#   TIMER_RUNS=10000   (iv) runs
#   TIMER_SECONDS=20   (iv) the wait (the issue says 60 s; 20 keeps the run short)
#   SERVER_THREADS=2   --threads of the servers
#   APPEND_MIN_TIME=2  append_bench --benchmark_min_time (seconds)
#   PHASES="append throughput latency http timers"   which parts to run
#   KEEP_TMP=1         keep the temporary directory (logs, data dirs)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-${BUILD_DIR:-build-bench}}
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
RUNS=${RUNS:-20000}
CLIENTS=${CLIENTS:-64}
LATENCY_RUNS=${LATENCY_RUNS:-1000}
HTTP_RUNS=${HTTP_RUNS:-10000}
DURATION=${DURATION:-10s}
TIMER_RUNS=${TIMER_RUNS:-10000}
TIMER_SECONDS=${TIMER_SECONDS:-20}
SERVER_THREADS=${SERVER_THREADS:-2}
APPEND_MIN_TIME=${APPEND_MIN_TIME:-2}
PHASES=${PHASES:-append throughput latency http timers}

LEDGERFLOW="$BUILD_DIR/app/ledgerflow"
BARE="$BUILD_DIR/bench/bare_server"
APPEND="$BUILD_DIR/bench/append_bench"
LOAD="$BUILD_DIR/bench/runs_load"
export LOAD_LUA_DIR="$ROOT/bench/wrk"

for bin in "$LEDGERFLOW" "$BARE" "$APPEND" "$LOAD"; do
  [[ -x "$bin" ]] || { echo "runs.sh: $bin not found; build with -DLEDGERFLOW_BUILD_BENCH=ON" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "runs.sh: wrk is not installed" >&2; exit 2; }
has_phase() { [[ " $PHASES " = *" $1 "* ]]; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ledgerflow-runs.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ "${KEEP_TMP:-0}" = 1 ]]; then echo "runs.sh: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/common.sh
source "$ROOT/bench/common.sh"

# start_server NAME: a fresh server on $WORK/NAME, log $WORK/NAME.log (see
# start_ledgerflow in common.sh).
start_server() {
  start_ledgerflow "$WORK/$1" "$WORK/$1.log" --threads "$SERVER_THREADS" --log-level warn
}

stop_ledgerflow() {
  kill "$LF_PID" 2>/dev/null || true
  wait "$LF_PID" 2>/dev/null || true
}

# Waits (up to 60 s) until the server's CPU time stays still over half a second
# (RocksDB's flushes and compactions after a write-heavy phase).
settle() {
  local before after
  for _ in $(seq 1 120); do
    before=$(awk '{print $14 + $15}' "/proc/$1/stat")
    sleep 0.5
    after=$(awk '{print $14 + $15}' "/proc/$1/stat")
    (( after - before <= 1 )) && return 0
  done
  echo "runs.sh: server still busy after 60 s; measuring anyway" >&2
}

field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "?"}'; }
run_load() {  # run_load NAME ARGS...: sets RESULT
  local name=$1 out="$WORK/$1.txt"
  shift
  "$LOAD" --url "$LF_URL" --key "$KEY" --pid "$LF_PID" "$@" >"$out" 2>&1 ||
    { echo "runs.sh: runs_load $name failed:" >&2; cat "$out" >&2; exit 1; }
  RESULT=$(grep '^RESULT' "$out" | tail -1)
  echo "$RESULT"
}

echo "== load: $(uptime)"
declare -A APPEND_RATE=()
if has_phase append; then
  echo "== (baseline) EventStore durable appends, append_bench"
  "$APPEND" --benchmark_filter='BM_EventStoreAppendAsyncWindow/window:64/new:[01]/|BM_EventStoreAppend/real_time/threads:1$' \
    --benchmark_min_time="$APPEND_MIN_TIME" --benchmark_format=csv >"$WORK/append.csv" 2>"$WORK/append.err" ||
    { cat "$WORK/append.err" >&2; exit 1; }
  # name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,...
  for new in 0 1; do
    APPEND_RATE[$new]=$(awk -F, -v n="new:$new" 'index($1, n) {printf "%.0f", $7}' "$WORK/append.csv")
  done
  # One synced append at a time: its latency (real_time, in the unit of column 5).
  APPEND_ONE_MS=$(awk -F, '$1 ~ /^"?BM_EventStoreAppend\/real_time\/threads:1"?$/ {
    f = ($5 ~ /ns/) ? 1e-6 : ($5 ~ /us/) ? 1e-3 : ($5 ~ /ms/) ? 1 : 1000; printf "%.2f", $3 * f}' "$WORK/append.csv")
  echo "appends/s, one event each, 64 in flight: existing stream ${APPEND_RATE[0]}, new streams ${APPEND_RATE[1]};" \
       "one append at a time: ${APPEND_ONE_MS} ms each"
fi

if has_phase throughput || has_phase latency; then
  start_server lf-runs
  echo "== ledgerflow pid $LF_PID at $LF_URL"
  if has_phase throughput; then
    echo "== (i) $RUNS runs of 5 chained wait-0 steps, $CLIENTS dispatching clients"
    run_load throughput throughput --kind wait --steps 5 --runs "$RUNS" --clients "$CLIENTS"
    T_RESULT=$RESULT
    settle "$LF_PID"
  fi
  if has_phase latency; then
    echo "== (ii) $LATENCY_RUNS runs one after the other, one client"
    run_load latency latency --runs "$LATENCY_RUNS"
    L_RESULT=$RESULT
  fi
  stop_ledgerflow
fi

if has_phase http; then
  "$BARE" --port 0 --threads "$SERVER_THREADS" >"$WORK/bare.log" 2>&1 &
  BARE_PID=$!
  PIDS+=("$BARE_PID")
  wait_for_line "$WORK/bare.log" '^listening on [0-9]+' "$BARE_PID"
  BARE_PORT=$(sed -n 's/^listening on \([0-9]*\).*/\1/p' "$WORK/bare.log" | head -1)
  echo "== (iii, baseline) the target alone: wrk -t2 -c$CLIENTS -d$DURATION GET /bare"
  LOAD_PATH=/bare LOAD_IDS='' LOAD_KEY='' wrk -t2 -c"$CLIENTS" -d"$DURATION" --latency \
    -s "$ROOT/bench/wrk/get.lua" "http://127.0.0.1:$BARE_PORT" >"$WORK/wrk-target.txt" 2>&1
  TARGET_RESULT=$(grep '^RESULT' "$WORK/wrk-target.txt" | tail -1)
  echo "$TARGET_RESULT"
  start_server lf-http
  echo "== (iii) $HTTP_RUNS runs of 3 chained http_request steps against it"
  run_load http throughput --kind http --steps 3 --runs "$HTTP_RUNS" --clients "$CLIENTS" \
    --target "http://127.0.0.1:$BARE_PORT/bare"
  H_RESULT=$RESULT
  stop_ledgerflow
fi

if has_phase timers; then
  start_server lf-timers
  echo "== (iv) $TIMER_RUNS runs waiting on ${TIMER_SECONDS} s timers, fresh server pid $LF_PID"
  run_load timers timers --runs "$TIMER_RUNS" --seconds "$TIMER_SECONDS" --clients "$CLIENTS" --workflows 10
  W_RESULT=$RESULT
  stop_ledgerflow
fi

echo
echo "== summary (machine load at the end: $(uptime | sed 's/.*load average/load average/'))"
if [[ -n "${T_RESULT:-}" ]]; then
  rps=$(field "$T_RESULT" runs_per_s)
  epr=$(field "$T_RESULT" events_per_run)
  apr=$(field "$T_RESULT" appends_per_run)
  echo "(i)   $rps runs/s (target >= 2000), $epr events and $apr appends per run:" \
       "$(awk -v r="$rps" -v e="$epr" 'BEGIN {printf "%.0f", r * e}') events/s," \
       "$(awk -v r="$rps" -v a="$apr" 'BEGIN {printf "%.0f", r * a}') appends/s;" \
       "dispatch alone $(field "$T_RESULT" dispatch_per_s)/s; server $(field "$T_RESULT" cpu_us_per_run) us CPU per run"
  if [[ -n "${APPEND_RATE[1]:-}" ]]; then
    echo "      appends per second the runs made / EventStore appends (new streams): " \
         "$(ratio "$(awk -v r="$rps" -v a="$apr" 'BEGIN {print r * a}')" "${APPEND_RATE[1]}")x;" \
         "runs/s / (append rate / appends per run): $(ratio "$rps" "$(awk -v b="${APPEND_RATE[1]}" -v a="$apr" 'BEGIN {print b / a}')")x"
  fi
fi
if [[ -n "${L_RESULT:-}" ]]; then
  echo "(ii)  dispatch to completed: p50 $(field "$L_RESULT" p50_ms) ms (target < 5)," \
       "p99 $(field "$L_RESULT" p99_ms) ms (target < 20); as recorded by the run: p50" \
       "$(field "$L_RESULT" recorded_p50_ms) ms, p99 $(field "$L_RESULT" recorded_p99_ms) ms;" \
       "the dispatch's answer alone p50 $(field "$L_RESULT" dispatch_answer_p50_ms) ms"
  if [[ -n "${APPEND_ONE_MS:-}" ]]; then
    echo "      a run is two synced appends one after the other (the dispatch, then the engine's):" \
         "2 x ${APPEND_ONE_MS} ms = $(awk -v a="$APPEND_ONE_MS" 'BEGIN {printf "%.2f", 2 * a}') ms;" \
         "p50 / that: $(ratio "$(field "$L_RESULT" p50_ms)" "$(awk -v a="$APPEND_ONE_MS" 'BEGIN {print 2 * a}')")x"
  fi
fi
if [[ -n "${H_RESULT:-}" ]]; then
  hrps=$(field "$H_RESULT" runs_per_s)
  trps=$(field "$TARGET_RESULT" rps)
  echo "(iii) $hrps runs/s of 3 HTTP steps = $(awk -v r="$hrps" 'BEGIN {printf "%.0f", 3 * r}') requests/s;" \
       "the target alone $trps req/s: $(ratio "$(awk -v r="$hrps" 'BEGIN {print 3 * r}')" "$trps")x"
fi
if [[ -n "${W_RESULT:-}" ]]; then
  echo "(iv)  $(field "$W_RESULT" runs) runs waiting: RSS $(field "$W_RESULT" idle_rss_mib) MiB idle ->" \
       "$(field "$W_RESULT" waiting_rss_mib) MiB all waiting (peak $(field "$W_RESULT" peak_rss_mib); target < 256);" \
       "threads $(field "$W_RESULT" idle_threads) -> $(field "$W_RESULT" waiting_threads) -> $(field "$W_RESULT" end_threads);" \
       "late after the deadline p50 $(field "$W_RESULT" late_p50_ms) ms, p99 $(field "$W_RESULT" late_p99_ms) ms," \
       "max $(field "$W_RESULT" late_max_ms) ms"
fi
for log in "$WORK"/lf-*.log; do
  [[ -e "$log" ]] || continue
  if grep -Eiq 'threw|error|abort' "$log"; then
    echo "$(basename "$log") has errors:"
    grep -Ei 'threw|error|abort' "$log" | head -20
  fi
done
