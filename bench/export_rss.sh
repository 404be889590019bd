#!/usr/bin/env bash
# Memory of exporting an organisation's history: fills EVENTS/5 workflows x 5 versions
# (about EVENTS events) through the service layer, then measures peak RSS of
#   - `ledgerflow export --org bench` (the CLI, to /dev/null) and `ledgerflow verify --file`,
#   - the server while `GET /api/audit/events?format=ndjson` streams everything to curl,
# next to the server's RSS just after start (the baseline of the same run). An export
# that buffered the history would grow with EVENTS; a streamed one stays flat.
#
#   bench/export_rss.sh [BUILD_DIR]     (default: $BUILD_DIR or build-bench)
# Environment: EVENTS=100000, DATA_DIR=path (reuse), KEEP_TMP=1
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-${BUILD_DIR:-build-bench}}
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
EVENTS=${EVENTS:-100000}
LEDGERFLOW="$BUILD_DIR/app/ledgerflow"
FILL="$BUILD_DIR/bench/catalog_rss"
for bin in "$LEDGERFLOW" "$FILL"; do
  [[ -x "$bin" ]] || { echo "export_rss.sh: $bin not found; build with -DLEDGERFLOW_BUILD_BENCH=ON" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ledgerflow-export.XXXXXX")
DATA_DIR=${DATA_DIR:-$WORK/data}
SERVER_PID=
cleanup() {
  [[ -n "$SERVER_PID" ]] && { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
  if [[ "${KEEP_TMP:-0}" = 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# peak_kib CMD...: runs CMD with stdout to /dev/null, prints its peak RSS in KiB.
peak_kib() {
  /usr/bin/time -f "%M" -o "$WORK/time.out" "$@" > /dev/null
  cat "$WORK/time.out"
}
mib() { echo $(( ($1 + 512) / 1024 )); }

if [[ ! -d "$DATA_DIR" ]] || [[ -z "$(ls -A "$DATA_DIR" 2>/dev/null)" ]]; then
  echo "== filling $((EVENTS / 5)) workflows x 5 versions (org bench)"
  start=$(date +%s)
  "$FILL" --data-dir "$DATA_DIR" --workflows $((EVENTS / 5)) --versions 5 --org bench > /dev/null
  echo "   filled in $(( $(date +%s) - start )) s"
fi

echo "== CLI"
"$LEDGERFLOW" export --data-dir "$DATA_DIR" --org bench > "$WORK/events.ndjson"
lines=$(wc -l < "$WORK/events.ndjson")
export_peak=$(peak_kib "$LEDGERFLOW" export --data-dir "$DATA_DIR" --org bench)
verify_peak=$(peak_kib "$LEDGERFLOW" verify --file "$WORK/events.ndjson")
help_peak=$(peak_kib "$LEDGERFLOW" verify --data-dir "$DATA_DIR")
echo "   exported $lines events ($(( $(stat -c %s "$WORK/events.ndjson") / 1048576 )) MiB)"

echo "== server"
KEY=$("$LEDGERFLOW" keys create --data-dir "$DATA_DIR" --org bench --role viewer)
"$LEDGERFLOW" serve --data-dir "$DATA_DIR" --port 0 > "$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do grep -q "listening on" "$WORK/serve.log" && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$WORK/serve.log" | head -1)
rss_start=$(awk '/VmRSS/ {print $2}' /proc/$SERVER_PID/status)
streamed=$(curl -s -H "Authorization: Bearer $KEY" "$URL/api/audit/events?format=ndjson" | wc -l)
server_peak=$(awk '/VmHWM/ {print $2}' /proc/$SERVER_PID/status)

echo
printf '%-44s %10s\n' "what" "MiB"
printf '%-44s %10s\n' "CLI export --org ($lines events), peak" "$(mib "$export_peak")"
printf '%-44s %10s\n' "CLI verify --file, peak" "$(mib "$verify_peak")"
printf '%-44s %10s\n' "CLI verify of the data dir, peak" "$(mib "$help_peak")"
printf '%-44s %10s\n' "server after start (baseline)" "$(mib "$rss_start")"
printf '%-44s %10s\n' "server peak after NDJSON export ($streamed lines)" "$(mib "$server_peak")"
echo "export size / server peak growth: $(( $(stat -c %s "$WORK/events.ndjson") / 1024 )) KiB exported, $(( server_peak - rss_start )) KiB grown"
