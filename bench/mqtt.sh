#!/usr/bin/env bash
# Whole-system MQTT benchmark: Urbis against Mosquitto on this machine.
#
# Starts each broker in turn on its own loopback port, drives it with
# `urbis bench mqtt`, samples its memory from /proc/<pid>/status, stops it by
# PID, and prints a Markdown table with every figure and the ratio
# Urbis/Mosquitto. The brokers run one after the other, never together, so
# they do not compete for the CPU with each other (they do compete with the
# load generator, which runs on the same machine: see docs/PERFORMANCE.md).
#
# Builds nothing: expects build/urbis (or $URBIS).
#
# Usage: bench/mqtt.sh [--duration S] [--only urbis|mosquitto] [--idle N] [--memory-only] [--out FILE]
#   --duration S   measured seconds per scenario (default 10, env DURATION)
#   --only X       run one broker only
#   --idle N       idle connections for the memory scenario (default 10000)
#   --memory-only  run the memory scenario (f) only, skip (a)-(e)
#   --out FILE     also keep the raw results (one JSON object per line)
# Environment: URBIS (broker binary, default build/urbis), BENCH (load generator
# binary, default $URBIS), MOSQUITTO (default /usr/sbin/mosquitto), THREADS
# (load generator threads, default 2), URBIS_THREADS (broker I/O threads,
# default 0 = one per core; set 1 to measure what the second core adds).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
URBIS="${URBIS:-$root/build/urbis}"
BENCH="${BENCH:-$URBIS}"
MOSQUITTO="${MOSQUITTO:-/usr/sbin/mosquitto}"
THREADS="${THREADS:-2}"
DURATION="${DURATION:-10}"
IDLE="${IDLE:-10000}"
ONLY=""
OUT=""
MEMORY_ONLY=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --idle) IDLE="$2"; shift 2 ;;
    --memory-only) MEMORY_ONLY=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

if [[ ! -x "$BENCH" ]]; then
  echo "load generator not found: $BENCH (build it, or set BENCH=...)" >&2
  exit 2
fi

# Both the load generator and the brokers need one descriptor per connection.
ulimit -n "$(ulimit -Hn)" || true

work="$(mktemp -d /tmp/urbis-bench-mqtt-XXXXXX)"
results="$work/results.jsonl"
: > "$results"
server_pid=""

stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
cleanup() {
  stop_server
  if [[ -n "$OUT" ]]; then cp "$results" "$OUT"; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_listening() {  # port pid
  for _ in $(seq 100); do
    kill -0 "$2" 2>/dev/null || return 1
    if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); s.connect(('127.0.0.1',$1))" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now_ms() { date +%s%3N; }

# Appends one result line: server scenario json [key=number ...]
record() {
  python3 - "$@" >> "$results" <<'EOF'
import json, sys
server, scenario, raw = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    d = json.loads(raw)
except ValueError:
    d = {"error": raw.strip()[:200] or "no output"}
for kv in sys.argv[4:]:
    k, v = kv.split("=", 1)
    d[k] = float(v)
d["server"], d["scenario"] = server, scenario
print(json.dumps(d))
EOF
}

start_urbis() {  # port
  local data="$work/urbis-data" http
  http="$(free_port)"
  mkdir -p "$data"
  "$URBIS" serve --data "$data" --mqtt "127.0.0.1:$1" --http "127.0.0.1:$http" --allow-anonymous \
    --threads "${URBIS_THREADS:-0}" > "$work/urbis.log" 2>&1 &
  server_pid=$!
}

start_mosquitto() {  # port
  # Defaults otherwise; Mosquitto 2.0 defaults that shape the results:
  # max_inflight_messages 20 (also its MQTT 5 Receive Maximum) and
  # max_queued_messages 1000 per client (QoS 1/2 beyond it are dropped).
  printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$1" > "$work/mosquitto.conf"
  "$MOSQUITTO" -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
  server_pid=$!
}

# Runs one load scenario and records it with the broker's CPU use over the
# whole run (warm-up and drain included) and the machine's load average.
scenario() {  # server-name pid scenario-id args...
  local name="$1" pid="$2" id="$3"; shift 3
  local t0 c0 t1 c1 out load hz
  hz="$(getconf CLK_TCK)"
  load="$(cut -d' ' -f1 /proc/loadavg)"
  t0="$(now_ms)"; c0="$(cpu_ticks "$pid")"
  out="$("$BENCH" bench mqtt --json --threads "$THREADS" "$@" 2>>"$work/bench.log" || true)"
  t1="$(now_ms)"; c1="$(cpu_ticks "$pid")"
  record "$name" "$id" "$out" \
    "server_cpu_pct=$(( (c1 - c0) * 1000 * 100 / hz / (t1 - t0 > 0 ? t1 - t0 : 1) ))" "loadavg_before=$load"
}

run_server() {  # name
  local name="$1" port
  port="$(free_port)"
  echo "== $name on 127.0.0.1:$port" >&2
  "start_$name" "$port"
  if ! wait_listening "$port" "$server_pid"; then
    echo "   $name did not start; its columns will read n/a (log: $(tail -n 3 "$work/$name.log" 2>/dev/null | tr '\n' ' '))" >&2
    record "$name" "start" '{"error":"server did not start"}'
    stop_server
    return 0
  fi
  sleep 0.5
  local pid="$server_pid"

  # (f) memory: idle, then holding $IDLE idle connections.
  record "$name" "rss_idle" "{\"rss_kib\": $(rss_kib "$pid")}"
  echo "   (f) $IDLE idle clients" >&2
  local hold=$((DURATION > 5 ? DURATION : 5))
  : > "$work/idle.err"
  "$BENCH" bench mqtt --json --threads "$THREADS" --port "$port" --idle-clients "$IDLE" --duration "$hold" \
    > "$work/idle.json" 2> "$work/idle.err" &
  local bench_pid=$!
  for _ in $(seq 600); do
    grep -q '^idle:' "$work/idle.err" && break
    kill -0 "$bench_pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep 2  # let the broker settle after the connection burst
  local rss_busy
  rss_busy="$(rss_kib "$pid")"
  wait "$bench_pid" || true
  local idle_json
  idle_json="$(tail -n 1 "$work/idle.json")"
  record "$name" "rss_idle_clients" "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]) if sys.argv[1] else {}; d["rss_kib"]=int(sys.argv[2]); print(json.dumps(d))' "$idle_json" "$rss_busy")"
  sleep 1
  if [[ -n "$MEMORY_ONLY" ]]; then
    stop_server
    return 0
  fi

  local common=(--port "$port" --duration "$DURATION" --warmup 1 --topic-prefix "bench/$name")
  echo "   (a) QoS 0, 1 -> 1, 32 B, max rate" >&2
  scenario "$name" "$pid" a "${common[@]}" -q 0 -p 1 -s 1 --payload-size 32
  echo "   (b) QoS 1, 1 -> 1, 32 B, max rate" >&2
  scenario "$name" "$pid" b "${common[@]}" -q 1 -p 1 -s 1 --payload-size 32
  echo "   (c) QoS 1, 4 -> 4 (every subscriber gets every message), 32 B, max rate" >&2
  scenario "$name" "$pid" c "${common[@]}" -q 1 -p 4 -s 4 --payload-size 32
  echo "   (d) QoS 0, 1 -> 1, 1 KiB, max rate" >&2
  scenario "$name" "$pid" d "${common[@]}" -q 0 -p 1 -s 1 --payload-size 1024
  echo "   (e) QoS 1, 1 -> 1, 32 B, fixed 10,000 msg/s" >&2
  scenario "$name" "$pid" e "${common[@]}" -q 1 -p 1 -s 1 --payload-size 32 --rate 10000
  record "$name" "rss_after" "{\"rss_kib\": $(rss_kib "$pid")}"
  stop_server
}

for s in urbis mosquitto; do
  if [[ -z "$ONLY" || "$ONLY" == "$s" ]]; then run_server "$s"; fi
done

python3 "$here/mqtt_report.py" "$results" \
  --duration "$DURATION" --idle "$IDLE" --threads "$THREADS" --bench "$BENCH"
