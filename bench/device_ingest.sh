#!/usr/bin/env bash
# Device ingest, end to end through the broker: QoS 1 payloads from registered
# devices in each format (flat JSON, SenML JSON, SenML CBOR, Cayenne LPP,
# ChirpStack v4 uplinks), decoded, mapped to their entity and committed before
# the PUBACK. Compared in the same run, on the same server, with the raw ingest
# path (urbis/ingest/..., one reading per message, no device, no decoder), which
# is the storage ingest rate the devices issue measures against (target: within
# 25%).
#
# Builds nothing: expects build/urbis (or $URBIS).
# Usage: bench/device_ingest.sh [--duration S] [--publishers N] [--formats "json lpp ..."]
set -euo pipefail
cd "$(dirname "$0")/.."
URBIS=${URBIS:-build/urbis}
DURATION=8
PUBLISHERS=4
FORMATS="json senml+json senml+cbor lpp chirpstack"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --publishers) PUBLISHERS="$2"; shift 2 ;;
    --formats) FORMATS="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
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
health() { curl -s "http://127.0.0.1:$http/api/v1/health"; }

port=$(free_port); http=$(free_port)
"$URBIS" serve --data "$work/data" --mqtt "127.0.0.1:$port" --http "127.0.0.1:$http" --allow-anonymous \
  > "$work/urbis.log" 2>&1 &
pid=$!
wait_port "$port"; wait_port "$http"

# Devices: per format and publisher; the JSON and SenML ones use the shipped
# air-quality profile (no2 -> no2 in µg/m³), Cayenne LPP and ChirpStack devices
# have none (every reading kept under its own name on a Device entity).
create() {
  curl -sf -o /dev/null -X POST "http://127.0.0.1:$http/api/v1/devices" -H 'Content-Type: application/json' \
    -d "{\"id\":\"$1\",\"profile\":\"$2\"}"
}
for i in $(seq 0 $((PUBLISHERS - 1))); do
  for f in json senml+json senml+cbor; do create "bench-${f/+/-}-$i" air-quality; done
  create "bench-lpp-$i" ""
  create "$(printf '0000bbbb%08x' "$i")" ""
done

# CPU time (user + system, clock ticks) the server has used so far: the cost
# per message is the difference over a run divided by the messages, which the
# load generator sharing the cores does not distort the way it does the rate.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
run() {  # format topic-template -> "acknowledged cpu-ticks"
  local before after acked
  before=$(cpu_ticks)
  acked=$("$URBIS" bench mqtt --json --port "$port" -q 1 -p "$PUBLISHERS" -s 0 -d "$DURATION" \
    --payload-format "$1" --topic-template "$2" 2>/dev/null | field acked)
  after=$(cpu_ticks)
  echo "$acked $((after - before))"
}

declare -A rate
rate[raw]=$(run ingest "urbis/ingest/default/BenchMeter/{i}")
for f in $FORMATS; do
  case "$f" in
    chirpstack) t="application/bench/device/{eui}/event/up" ;;
    lpp) t="urbis/default/bench-lpp-{i}/up/lpp" ;;
    *) t="urbis/default/bench-${f/+/-}-{i}/up/${f/+/-}" ;;
  esac
  rate[$f]=$(run "$f" "$t")
done
hz=$(getconf CLK_TCK)
h=$(health)
kill -TERM "$pid"; wait "$pid" || true; pid=""

args=(raw ${rate[raw]})
for f in $FORMATS; do args+=("$f" ${rate[$f]}); done
python3 - "$DURATION" "$PUBLISHERS" "$h" "$(cut -d' ' -f1 /proc/loadavg)" "$hz" "${args[@]}" <<'PY'
import json, sys
d, p, health, load, hz = float(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], int(sys.argv[5])
rows = [(sys.argv[i], int(sys.argv[i + 1]), int(sys.argv[i + 2])) for i in range(6, len(sys.argv), 3)]
raw_rate = rows[0][1] / d
raw_cpu = rows[0][2] / hz / rows[0][1] if rows[0][1] else 0
print("| path (QoS 1, %s publishers, one reading per message) | acknowledged/s | vs raw | server CPU µs/message | vs raw |" % p)
print("|---|---:|---:|---:|---:|")
for name, acked, ticks in rows:
    r = acked / d
    cpu = ticks / hz / acked if acked else 0
    label = "raw ingest (urbis/ingest, no device)" if name == "raw" else "device, " + name
    print("| %s | %s | %.0f%% | %.1f | %.0f%% |" % (label, format(int(r), ","), 100 * r / raw_rate if raw_rate else 0,
                                               cpu * 1e6, 100 * cpu / raw_cpu if raw_cpu else 0))
di = health.get("device_ingest", {})
print("\ndevice ingest: accepted %s, rejected %s, empty %s; load average at the end %s" % (
    di.get("accepted"), di.get("rejected"), di.get("empty"), load))
PY
