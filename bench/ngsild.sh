#!/usr/bin/env bash
# NGSI-LD API throughput and latency with durable writes and HTTP keep-alive,
# driven by wrk (Debian package). Seeds ENTITIES Sensor entities spread over a
# ~20 x 18 km area, then runs, for DURATION seconds each:
#   patch   single-entity PATCH /entities/{id}/attrs (2 attributes), random ids
#   upsert  batch upsert of BATCH entities per request (updates of existing ones)
#   get     GET /entities/{id}, random ids
#   query   type + q + geo-near (300 m) query around random points, with 4
#           connections: its latency is the figure (not a saturated queue's)
# Every write is acknowledged after its SQLite commit (the durability promise).
#
# Builds nothing: expects build/urbis (or $URBIS).
# Usage: bench/ngsild.sh [--duration S] [--entities N] [--connections C] [--batch B]
#                        [--only "patch upsert get query"] [--allocator system|jemalloc]
set -euo pipefail
cd "$(dirname "$0")/.."
URBIS=${URBIS:-build/urbis}
DURATION=10
ENTITIES=100000
CONNECTIONS=32
BATCH=100
ONLY="patch upsert get query"
ALLOCATOR=system
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --entities) ENTITIES="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --batch) BATCH="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --allocator) ALLOCATOR="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is missing: run scripts/install-deps.sh" >&2; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() { [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

mqtt=$(free_port); http=$(free_port)
"$URBIS" serve --data "$work/data" --mqtt "127.0.0.1:$mqtt" --http "127.0.0.1:$http" --allow-anonymous \
  --allocator "$ALLOCATOR" --log-level warn > "$work/urbis.log" 2>&1 &
pid=$!
wait_port "$http"

echo "seeding $ENTITIES entities ..."
python3 - "$http" "$ENTITIES" <<'PY'
import http.client, json, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
for start in range(0, n, 500):
    batch = []
    for i in range(start, min(n, start + 500)):
        batch.append({"id": "urn:ngsi-ld:Sensor:%d" % i, "type": "Sensor",
                      "temperature": {"type": "Property", "value": i % 40, "unitCode": "CEL"},
                      "location": {"type": "GeoProperty", "value": {"type": "Point",
                                   "coordinates": [2.25 + (i % 300) * 0.001, 48.80 + (i // 300) * 0.0005]}}})
    c.request("POST", "/ngsi-ld/v1/entityOperations/upsert", json.dumps(batch), {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    assert r.status in (201, 204), r.status
PY

run() {  # name script threads [connections]
  local out
  out=$(ENTITIES=$ENTITIES BATCH=$BATCH BENCH_DIR=bench/ngsild wrk -t "$3" -c "${4:-$CONNECTIONS}" -d "${DURATION}s" \
        -s "bench/ngsild/$2.lua" "http://127.0.0.1:$http" | grep '^RESULT ' | cut -c8-)
  python3 - "$1" "$out" "$BATCH" <<'PY'
import json, sys
name, r, batch = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
rps = r["requests"] / (r["duration_us"] / 1e6)
per = batch if name == "upsert" else 1
unit = "entity updates/s" if name == "upsert" else "requests/s"
print("%-7s %10.0f %s   p50 %.2f ms  p99 %.2f ms  max %.1f ms  non-2xx %d  socket errors %d" % (
    name, rps * per, unit, r["p50_us"] / 1e3, r["p99_us"] / 1e3, r["max_us"] / 1e3, r["non2xx"], r["socket_errors"]))
PY
}
echo "wrk: $CONNECTIONS connections, ${DURATION}s each, $ENTITIES entities, $ALLOCATOR allocator"
for op in $ONLY; do
  case "$op" in
    query) run query query 2 4 ;;
    patch|upsert|get) run "$op" "$op" 2 ;;
    *) echo "unknown operation $op" >&2; exit 2 ;;
  esac
done
