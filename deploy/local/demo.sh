#!/usr/bin/env bash
# `make run`: two workers on one accelerated service clock, a simulated month of café traffic,
# a live view, a summary. The workers keep serving the summary's URLs until Ctrl-C
# (DEMO_KEEP_SERVING=0 stops them right after the summary). Ctrl-C at any point stops cleanly.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
LOGS=.local/run
mkdir -p "$LOGS"

export BONUS_KAFKA_BOOTSTRAP=${BONUS_KAFKA_BOOTSTRAP:-127.0.0.1:9092}
export BONUS_REDIS_URL=${BONUS_REDIS_URL:-redis://127.0.0.1:6379/0}
export BONUS_RULES_FILE=${BONUS_RULES_FILE:-deploy/rules.example.yaml}
# A month in about three minutes, starting in the winter-drinks season of the example rules.
export BONUS_CLOCK_START=${BONUS_CLOCK_START:-2026-12-01T00:00:00+03:00}
export BONUS_CLOCK_SPEED=${BONUS_CLOCK_SPEED:-14400}
# The anchor lies a few seconds ahead, so that the month starts about when the workers are up.
export BONUS_CLOCK_ANCHOR=${BONUS_CLOCK_ANCHOR:-$(( $(date +%s) + 10 ))}
# Every run is its own simulated month: its own Redis key space, the same topics.
export BONUS_REDIS_KEY_PREFIX=${BONUS_REDIS_KEY_PREFIX:-demo${BONUS_CLOCK_ANCHOR}:}
DURATION=${DEMO_DURATION:-P30D}
CUSTOMERS=${DEMO_CUSTOMERS:-200}

pids=()
stop_workers() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo "stopping workers ${pids[*]}"
    kill -TERM "${pids[@]}" 2>/dev/null
    for _ in $(seq 1 30); do
      alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ $alive -eq 0 ] && break
      sleep 1
    done
    kill -KILL "${pids[@]}" 2>/dev/null
    wait 2>/dev/null
  fi
}
trap 'stop_workers; exit 130' INT TERM
trap stop_workers EXIT

$BIN/bonus rules check "$BONUS_RULES_FILE" || exit 1
$BIN/bonus topics create > "$LOGS/topics.log" 2>&1 || { cat "$LOGS/topics.log"; exit 1; }

for n in 1 2; do
  port=$((6065 + n))
  BONUS_WEB_PORT=$port $BIN/bonus worker > "$LOGS/worker-$n.log" 2>&1 &
  pids+=($!)
  echo "worker $n: pid $!, http://127.0.0.1:$port (/healthz, /metrics, /customers/<id>), log $LOGS/worker-$n.log"
done
echo "clock: $BONUS_CLOCK_START at x$BONUS_CLOCK_SPEED; Redis keys ${BONUS_REDIS_KEY_PREFIX}*"

for _ in $(seq 1 60); do
  $BIN/python - <<'PY' 2>/dev/null && break
import urllib.request
for port in (6066, 6067):
    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
PY
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "a worker died at start; see $LOGS/"; tail -5 "$LOGS"/worker-*.log; exit 1; }
  done
  sleep 1
done

BONUS_WEB_PORT=6066 $BIN/bonus demo --duration "$DURATION" --customers "$CUSTOMERS"
status=$?
if [ "${DEMO_KEEP_SERVING:-1}" = "1" ] && [ -t 0 ]; then
  echo "The workers keep serving the URLs above; Ctrl-C stops them (Kafka and Redis stay up: make stop)."
  while true; do sleep 3600; done
fi
exit $status
