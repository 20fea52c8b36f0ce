#!/usr/bin/env bash
# End-to-end durable ingest: QoS 1 JSON measurements through the broker into
# the history and entity stores, acknowledged only after commit. Compared in
# the same run with Mosquitto's plain QoS 1 routing (which stores nothing).
#
# Builds nothing: expects build/urbis (or $URBIS).
# Usage: bench/ingest.sh [--duration S] [--publishers N]
set -euo pipefail
cd "$(dirname "$0")/.."
URBIS=${URBIS:-build/urbis}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
DURATION=10
PUBLISHERS=4
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --publishers) PUBLISHERS="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
pid=""
cleanup() { [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[sys.argv[1]])' "$1"; }

port=$(free_port); http=$(free_port)
"$URBIS" serve --data "$work/data" --mqtt "127.0.0.1:$port" --http "127.0.0.1:$http" --allow-anonymous \
  > "$work/urbis.log" 2>&1 &
pid=$!
wait_port "$port"
out=$("$URBIS" bench mqtt --json --port "$port" -q 1 -p "$PUBLISHERS" -s 0 -d "$DURATION" --json-payload \
      --topic-prefix urbis/ingest/default/BenchMeter 2>/dev/null)
urbis_acked=$(echo "$out" | field acked)
health=$(curl -s "http://127.0.0.1:$http/api/v1/health")
kill -TERM "$pid"; wait "$pid" || true; pid=""
hist_bytes=$(stat -c %s "$work/data/history.db")
stored=$(echo "$health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ingest"]["accepted"])')

port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$work/mosquitto.conf"
"$MOSQUITTO" -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
pid=$!
wait_port "$port"
out=$("$URBIS" bench mqtt --json --port "$port" -q 1 -p 1 -s 1 -d "$DURATION" 2>/dev/null)
mosq_acked=$(echo "$out" | field acked)
kill -TERM "$pid"; wait "$pid" || true; pid=""

python3 - "$urbis_acked" "$mosq_acked" "$DURATION" "$PUBLISHERS" "$stored" "$hist_bytes" "$(cat /proc/loadavg | cut -d' ' -f1)" <<'PY'
import sys
u, m, d, p, stored, hb, load = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
print("| figure | value |\n|---|---:|")
print("| Urbis: QoS 1 measurements acknowledged after commit, %s publishers | %s/s |" % (p, format(int(u / d), ",")))
print("| Mosquitto: QoS 1 messages acknowledged, 1 → 1, nothing stored | %s/s |" % format(int(m / d), ","))
print("| ratio | %.2f |" % ((u / d) / (m / d) if m else float("nan")))
print("| measurements stored (incl. warm-up) | %s |" % format(stored, ","))
print("| history.db bytes per stored measurement (with series index and idempotency keys) | %.1f |" % (hb / stored if stored else 0))
print("| load average at the end | %s |" % load)
PY
