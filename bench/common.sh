# shellcheck shell=bash
# Shell functions shared by the bench scripts (sourced, not run).

# wait_for_line FILE REGEX PID: waits up to 30 s for a line of FILE to match; exits the
# script (showing FILE) if the process PID ends first or the time runs out.
wait_for_line() {
  local file=$1 regex=$2 pid=$3 me=${0##*/}
  for _ in $(seq 1 300); do
    if grep -Eq "$regex" "$file" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$me: server exited early; its output:" >&2
      cat "$file" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$me: timed out waiting for /$regex/ in $file" >&2
  exit 1
}

# start_ledgerflow DATA_DIR LOG [FLAGS...]: `$LEDGERFLOW serve` on a free port in the
# background, returning once it listens; sets LF_PID (also added to PIDS), LF_PORT,
# LF_URL and KEY (the owner key that a new data directory prints).
start_ledgerflow() {
  local data=$1 log=$2 me=${0##*/}
  shift 2
  "$LEDGERFLOW" serve --data-dir "$data" --port 0 "$@" >"$log" 2>&1 &
  LF_PID=$!
  PIDS+=("$LF_PID")
  wait_for_line "$log" 'listening on http://[^:]+:[0-9]+' "$LF_PID"
  LF_PORT=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$log" | head -1)
  # shellcheck disable=SC2034  # for the scripts that source this file
  LF_URL="http://127.0.0.1:$LF_PORT"
  KEY=$(awk '/Owner API key/ {getline; gsub(/ /, ""); print; exit}' "$log")
  [[ "$KEY" = lf_* ]] || { echo "$me: no owner key in the server output" >&2; cat "$log" >&2; exit 1; }
}
