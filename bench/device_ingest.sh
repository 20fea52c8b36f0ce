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

run() {  # format topic-template -> acknowledged messages
  "$URBIS" bench mqtt --json --port "$port" -q 1 -p "$PUBLISHERS" -s 0 -d "$DURATION" \
    --payload-format "$1" --topic-template "$2" 2>/dev/null | field acked
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
h=$(health)
kill -TERM "$pid"; wait "$pid" || true; pid=""

args=(raw "${rate[raw]}")
for f in $FORMATS; do args+=("$f" "${rate[$f]}"); done
python3 - "$DURATION" "$PUBLISHERS" "$h" "$(cut -d' ' -f1 /proc/loadavg)" "${args[@]}" <<'PY'
import json, sys
d, p, health, load = float(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
pairs = list(zip(sys.argv[5::2], sys.argv[6::2]))
raw = int(pairs[0][1]) / d
print("| path (QoS 1, %s publishers, one reading per message) | acknowledged/s | vs raw ingest |" % p)
print("|---|---:|---:|")
for name, acked in pairs:
    r = int(acked) / d
    label = "raw ingest (urbis/ingest, no device)" if name == "raw" else "device, " + name
    print("| %s | %s | %.0f%% |" % (label, format(int(r), ","), 100 * r / raw if raw else 0))
di = health.get("device_ingest", {})
print("\ndevice ingest: accepted %s, rejected %s, empty %s; load average at the end %s" % (
    di.get("accepted"), di.get("rejected"), di.get("empty"), load))
PY
