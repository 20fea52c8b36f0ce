#!/usr/bin/env bash
# NGSI-LD notification latency: RATE entity updates/s (batch upserts of BATCH
# entities every BATCH/RATE s) each matching one subscription, notified over
# MQTT through Urbis's own broker to mosquitto_sub, which stamps each arrival.
# Latency = arrival - the entity's modifiedAt (its commit time, ms), so it
# covers matching, rendering, the notifier, the MQTT hop and the receiver.
#
# Builds nothing: expects build/urbis (or $URBIS).
# Usage: bench/ngsild_notify.sh [--duration S] [--rate N] [--batch B]
set -euo pipefail
cd "$(dirname "$0")/.."
URBIS=${URBIS:-build/urbis}
DURATION=10
RATE=5000
BATCH=50
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --batch) BATCH="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
pid=""; sub=""
cleanup() {
  [[ -n "$sub" ]] && kill "$sub" 2>/dev/null
  [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

mqtt=$(free_port); http=$(free_port)
"$URBIS" serve --data "$work/data" --mqtt "127.0.0.1:$mqtt" --http "127.0.0.1:$http" --allow-anonymous \
  --log-level warn > "$work/urbis.log" 2>&1 &
pid=$!
wait_port "$http"
mosquitto_sub -h 127.0.0.1 -p "$mqtt" -t bench/notify -q 1 -F '%U %p' > "$work/arrivals" &
sub=$!
sleep 0.5
python3 - "$http" "$mqtt" "$DURATION" "$RATE" "$BATCH" "$work/arrivals" <<'PY'
import http.client, json, os, sys, time
QOS = os.environ.get("QOS", "1")
port, mqtt, duration, rate, batch, arrivals = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
c = http.client.HTTPConnection("127.0.0.1", port)
def call(method, path, body):
    c.request(method, path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse(); data = r.read()
    assert r.status < 300, (r.status, data)
n = max(batch, 1000)
for s in range(0, n, 500):
    call("POST", "/ngsi-ld/v1/entityOperations/upsert",
         [{"id": "urn:ngsi-ld:Sensor:%d" % i, "type": "Sensor", "temperature": {"type": "Property", "value": 0}}
          for i in range(s, min(n, s + 500))])
call("POST", "/ngsi-ld/v1/subscriptions", {
    "id": "urn:ngsi-ld:Subscription:bench", "type": "Subscription", "entities": [{"type": "Sensor"}],
    "watchedAttributes": ["temperature"],
    "notification": {"format": "keyValues", "sysAttrs": True, "attributes": ["temperature"],
                     "endpoint": {"uri": "mqtt://127.0.0.1:%d/bench/notify" % mqtt,
                                  "notifierInfo": [{"key": "MQTT-QoS", "value": QOS}]}}})
time.sleep(0.5)
interval = batch / rate
start = time.monotonic(); sent = 0; k = 0; late = 0
while time.monotonic() - start < duration:
    due = start + k * interval
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    elif now - due > interval:
        late += 1
    ents = [{"id": "urn:ngsi-ld:Sensor:%d" % ((k * batch + j) % n), "type": "Sensor",
             "temperature": {"type": "Property", "value": k}} for j in range(batch)]
    call("POST", "/ngsi-ld/v1/entityOperations/upsert?options=update", ents)
    sent += batch; k += 1
elapsed = time.monotonic() - start
time.sleep(3)
lat = []
messages = 0
for line in open(arrivals):
    t, _, payload = line.partition(" ")
    try:
        body = json.loads(payload)["body"]
    except ValueError:
        continue
    messages += 1
    for e in body["data"]:
        m = e["modifiedAt"]  # 2026-11-26T01:02:03.456Z
        ts = time.mktime(time.strptime(m[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone + int(m[20:23]) / 1000
        lat.append((float(t) - ts) * 1000)
lat.sort()
def pct(p): return lat[min(len(lat) - 1, int(len(lat) * p / 100))] if lat else float("nan")
print("updates sent %d in %.1f s (%.0f/s, %d batches late); entity changes notified %d, in %d notifications"
      % (sent, elapsed, sent / elapsed, late, len(lat), messages))
print("latency commit -> arrival: p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.1f ms" % (
    pct(50), pct(90), pct(99), lat[-1] if lat else float("nan")))
PY
