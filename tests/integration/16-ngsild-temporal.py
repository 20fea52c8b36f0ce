#!/usr/bin/env python3
"""NGSI-LD Temporal API: measurements published over MQTT to
urbis/ingest/<tenant>/<type>/<id> are read back as the temporal evolution of the
entity (normalized, simplified, aggregated), in their tenant, with errors that
name the offending parameter.

Urbis-only: Mosquitto has no store."""

import json
import urllib.error
import urllib.parse
import urllib.request

from harness import *

PREFIX = "urbis/ingest"
BASE = "/ngsi-ld/v1/temporal"
EID = "urn:ngsi-ld:AirQualityObserved:main-street"


def http(b, method, path, body=None, headers=None):
    url = "http://127.0.0.1:%d%s" % (b.http_port, path)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read().decode() or "null")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read().decode() or "null")


def get(b, path, headers=None):
    return http(b, "GET", path, headers=headers)


def publish_series(b, tenant="default", etype="AirQualityObserved", eid="main-street"):
    topic = "%s/%s/%s/%s" % (PREFIX, tenant, etype, eid)
    for i in range(5):
        body = {"observedAt": "2026-11-25T08:%02d:00Z" % (i * 10), "NO2": 40 + i, "status": "ok" if i % 2 else "check"}
        mosquitto_pub(b.port, topic, json.dumps(body), qos=1)


def one(eid):
    return BASE + "/entities/" + urllib.parse.quote(eid, safe="")


def require_temporal_routes(b):
    """Skips while `urbis serve` does not register the temporal routes yet: the
    router's own 404 (about:blank) means no such route, unlike an NGSI-LD
    ResourceNotFound from the routes themselves."""
    # The harness waits for the MQTT port; the HTTP listener opens just after it.
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", b.http_port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    status, _, p = get(b, one("urn:ngsi-ld:Probe:none"))
    if status == 404 and isinstance(p, dict) and p.get("type") == "about:blank":
        raise Skip("temporal routes are not wired into urbis serve")


@case(urbis_only=True)
def published_measurements_read_back_normalized(ctx):
    b = ctx.broker
    require_temporal_routes(b)
    publish_series(b)
    status, headers, e = get(b, one(EID) + "?attrs=NO2&timerel=between"
                             "&timeAt=2026-11-25T08:00:00Z&endTimeAt=2026-11-25T09:00:00Z")
    assert status == 200, (status, e)
    assert e["id"] == EID and e["type"] == "AirQualityObserved", e
    assert "status" not in e, e
    values = [(i["value"], i["observedAt"][:19]) for i in e["NO2"]]
    assert values == [(40 + i, "2026-11-25T08:%02d:00" % (i * 10)) for i in range(5)], values
    assert all(i["type"] == "Property" and i["instanceId"].startswith("urn:") for i in e["NO2"]), e["NO2"]
    assert "ngsi-ld-core-context" in headers.get("Link", ""), headers
    # lastN: the two newest, oldest first.
    status, _, e = get(b, one(EID) + "?lastN=2&attrs=NO2")
    assert [i["value"] for i in e["NO2"]] == [43, 44], e


@case(urbis_only=True)
def simplified_and_aggregated(ctx):
    b = ctx.broker
    require_temporal_routes(b)
    publish_series(b)
    status, _, e = get(b, one(EID) + "?options=temporalValues&timerel=after&timeAt=2026-11-25T08:15:00Z")
    assert status == 200, (status, e)
    assert e["NO2"]["values"] == [[42, "2026-11-25T08:20:00.000Z"], [43, "2026-11-25T08:30:00.000Z"],
                                  [44, "2026-11-25T08:40:00.000Z"]], e["NO2"]
    assert [v[0] for v in e["status"]["values"]] == ["check", "ok", "check"], e["status"]
    status, _, e = get(b, one(EID) + "?options=aggregatedValues&aggrMethods=sum,avg,max,totalCount"
                       "&aggrPeriodDuration=PT30M&timerel=between"
                       "&timeAt=2026-11-25T08:00:00Z&endTimeAt=2026-11-25T09:00:00Z&attrs=NO2")
    assert status == 200, (status, e)
    no2 = e["NO2"]
    assert no2["sum"] == [[123, "2026-11-25T08:00:00.000Z", "2026-11-25T08:30:00.000Z"],
                          [87, "2026-11-25T08:30:00.000Z", "2026-11-25T09:00:00.000Z"]], no2
    assert [r[0] for r in no2["avg"]] == [41, 43.5], no2
    assert [r[0] for r in no2["max"]] == [42, 44], no2
    assert [r[0] for r in no2["totalCount"]] == [3, 2], no2


@case(urbis_only=True)
def query_by_type_in_a_tenant(ctx):
    b = ctx.broker
    require_temporal_routes(b)
    publish_series(b, tenant="city-a", etype="NoiseLevel", eid="n1")
    publish_series(b, tenant="city-a", etype="NoiseLevel", eid="n2")
    status, headers, arr = get(b, BASE + "/entities?type=NoiseLevel&attrs=NO2&lastN=1&count=true",
                               headers={"NGSILD-Tenant": "city-a"})
    assert status == 200, (status, arr)
    assert [e["id"] for e in arr] == ["urn:ngsi-ld:NoiseLevel:n1", "urn:ngsi-ld:NoiseLevel:n2"], arr
    assert all(len(e["NO2"]) == 1 and e["NO2"][0]["value"] == 44 for e in arr), arr
    assert headers.get("NGSILD-Results-Count") == "2", headers
    # The default tenant does not see them; an unknown tenant is an error.
    status, _, arr = get(b, BASE + "/entities?type=NoiseLevel")
    assert status == 200 and arr == [], (status, arr)
    status, _, p = get(b, BASE + "/entities?type=NoiseLevel", headers={"NGSILD-Tenant": "nowhere"})
    assert status == 404 and p["type"].endswith("NonexistentTenant"), (status, p)
    # The same through the POST query.
    status, _, arr = http(b, "POST", BASE + "/entityOperations/query?options=temporalValues",
                          {"type": "Query", "entities": [{"type": "NoiseLevel"}], "attrs": ["NO2"],
                           "temporalQ": {"timerel": "before", "timeAt": "2026-11-25T08:15:00Z"}},
                          headers={"NGSILD-Tenant": "city-a", "Content-Type": "application/json"})
    assert status == 200, (status, arr)
    assert [len(e["NO2"]["values"]) for e in arr] == [2, 2], arr


@case(urbis_only=True)
def errors_name_the_parameter(ctx):
    b = ctx.broker
    require_temporal_routes(b)
    publish_series(b)
    cases = [
        ("?timerel=between&timeAt=2026-11-25T08:00:00Z", 400, "BadRequestData", "endTimeAt"),
        ("?timerel=after", 400, "BadRequestData", "timeAt"),
        ("?timerel=soon&timeAt=2026-11-25T08:00:00Z", 400, "BadRequestData", "timerel"),
        ("?timerel=between&timeAt=2026-11-25T09:00:00Z&endTimeAt=2026-11-25T08:00:00Z", 400, "BadRequestData",
         "endTimeAt"),
        ("?options=aggregatedValues&aggrMethods=median", 400, "BadRequestData", "aggrMethods"),
        ("?options=aggregatedValues&aggrMethods=sum&aggrPeriodDuration=hourly", 400, "BadRequestData",
         "aggrPeriodDuration"),
        ("?lastN=zero", 400, "BadRequestData", "lastN"),
    ]
    for query, code, kind, field in cases:
        status, headers, p = get(b, one(EID) + query)
        assert status == code, (query, status, p)
        assert p["type"] == "https://uri.etsi.org/ngsi-ld/errors/" + kind, (query, p)
        assert p.get("field") == field, (query, p)
        assert headers.get("Content-Type", "").startswith("application/problem+json"), headers
    status, _, p = get(b, one("urn:ngsi-ld:AirQualityObserved:nowhere"))
    assert status == 404 and p["type"].endswith("ResourceNotFound"), (status, p)


if __name__ == "__main__":
    run()
