#!/usr/bin/env python3
"""NGSI-LD entities over HTTP (ETSI GS CIM 009): create, retrieve, replace, merge,
delete; attributes; batch operations; queries with type/id/idPattern/attrs/q/geo
and paging; types and attributes; tenants; JSON-LD contexts; and bad input,
each answered with the spec's ProblemDetails type naming the offending field.

Urbis-only: the peer (Mosquitto) has no HTTP API."""

import http.server
import threading
import urllib.parse

from harness import *
from ngsild import *

CTX_DOC = {"@context": {"temp": "https://example.org/city#temperature",
                        "Bin": "https://example.org/city#WasteBin",
                        "ex": "https://example.org/city#"}}


def sensor(i, temp=20.0, lon=2.35, lat=48.85, typ="Sensor"):
    return {"id": "urn:ngsi-ld:%s:%s" % (typ, i), "type": typ,
            "temperature": prop(temp, unitCode="CEL"), "location": point(lon, lat)}


def api(ctx, **kw):
    return ctx.own(Api(ctx.broker.http_port, **kw))


@case(urbis_only=True)
def create_retrieve_replace_merge_delete(ctx):
    a = api(ctx, tenant="crud")
    e = sensor("c1")
    r = a.post("/entities", e)
    assert r.status == 201, r
    assert r.headers["Location"] == "/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:c1", r.headers
    a.post("/entities", e).problem(409, "AlreadyExists", "urn:ngsi-ld:Sensor:c1")
    r = a.get("/entities/" + quote(e["id"]))
    assert r.status == 200 and r.json["temperature"] == {"type": "Property", "value": 20.0, "unitCode": "CEL"}, r
    assert r.headers["Link"].startswith("<" + CORE_CONTEXT + ">"), r.headers
    # merge-patch keeps what the patch does not name
    r = a.patch("/entities/" + quote(e["id"]), {"humidity": prop(40), "temperature": prop(21.5)})
    assert r.status == 204, r
    got = a.get("/entities/" + quote(e["id"])).json
    assert got["temperature"]["value"] == 21.5 and got["temperature"]["unitCode"] == "CEL", got
    assert got["humidity"]["value"] == 40 and "location" in got, got
    # replace drops what the body does not name
    r = a.put("/entities/" + quote(e["id"]), {"type": "Sensor", "status": prop("ok")})
    assert r.status == 204, r
    got = a.get("/entities/" + quote(e["id"])).json
    assert set(got) == {"id", "type", "status"}, got
    a.put("/entities/" + quote(e["id"]), {"id": "urn:other", "type": "Sensor"}).problem(400, "BadRequestData", "id")
    assert a.delete("/entities/" + quote(e["id"])).status == 204
    a.get("/entities/" + quote(e["id"])).problem(404, "ResourceNotFound", "urn:ngsi-ld:Sensor:c1")
    a.delete("/entities/" + quote(e["id"])).problem(404, "ResourceNotFound")
    a.patch("/entities/urn:nothing", {"x": prop(1)}).problem(404, "ResourceNotFound")


@case(urbis_only=True)
def attributes_append_update_delete(ctx):
    a = api(ctx, tenant="attrs")
    e = sensor("a1")
    assert a.post("/entities", e).status == 201
    path = "/entities/" + quote(e["id"]) + "/attrs"
    # append with noOverwrite: existing ones are kept and reported
    r = a.post(path, {"temperature": prop(99), "pressure": prop(1013)}, params={"options": "noOverwrite"})
    assert r.status == 207, r
    assert r.json["updated"] == ["pressure"], r.json
    assert [n["attributeName"] for n in r.json["notUpdated"]] == ["temperature"], r.json
    assert a.get("/entities/" + quote(e["id"])).json["temperature"]["value"] == 20.0
    # update existing only: a missing one is reported
    r = a.patch(path, {"temperature": prop(25), "nope": prop(1)})
    assert r.status == 207 and r.json["notUpdated"][0]["attributeName"] == "nope", r
    assert a.patch(path, {"temperature": prop(26, unitCode="CEL")}).status == 204
    # partial update of one attribute keeps unitCode; the type may be left out
    assert a.patch(path + "/temperature", {"value": 27}).status == 204
    t = a.get("/entities/" + quote(e["id"])).json["temperature"]
    assert t == {"type": "Property", "value": 27, "unitCode": "CEL"}, t
    a.patch(path + "/missing", {"value": 1}).problem(404, "ResourceNotFound", "missing")
    # replace one attribute
    assert a.put(path + "/pressure", {"type": "Property", "value": 990, "unitCode": "A97"}).status == 204
    assert a.get("/entities/" + quote(e["id"])).json["pressure"]["unitCode"] == "A97"
    a.put(path + "/missing", prop(1)).problem(404, "ResourceNotFound")
    # multi-attributes by datasetId, and deleting one or all instances
    assert a.post(path, {"speed": [prop(30, datasetId="urn:ds:radar"), prop(31)]}).status == 204
    assert len(a.get("/entities/" + quote(e["id"])).json["speed"]) == 2
    assert a.delete(path + "/speed", params={"datasetId": "urn:ds:radar"}).status == 204
    assert a.get("/entities/" + quote(e["id"])).json["speed"]["value"] == 31
    a.delete(path + "/speed", params={"datasetId": "urn:ds:none"}).problem(404, "ResourceNotFound")
    assert a.post(path, {"speed": [prop(30, datasetId="urn:ds:radar")]}).status == 204
    assert a.delete(path + "/speed", params={"deleteAll": "true"}).status == 204
    assert "speed" not in a.get("/entities/" + quote(e["id"])).json
    a.delete(path + "/speed", params={"deleteAll": "maybe"}).problem(400, "BadRequestData", "deleteAll")


@case(urbis_only=True)
def representations_and_projection(ctx):
    a = api(ctx, tenant="repr")
    e = sensor("r1")
    e["owner"] = {"type": "Relationship", "object": "urn:ngsi-ld:Person:7"}
    e["address"] = prop({"city": "Paris"})
    assert a.post("/entities", e).status == 201
    p = "/entities/" + quote(e["id"])
    kv = a.get(p, {"options": "keyValues"}).json
    assert kv["temperature"] == 20.0 and kv["owner"] == "urn:ngsi-ld:Person:7", kv
    assert kv["location"] == {"type": "Point", "coordinates": [2.35, 48.85]}, kv
    assert a.get(p, {"format": "keyValues"}).json == kv
    c = a.get(p, {"options": "concise"}).json
    assert c["temperature"] == {"value": 20.0, "unitCode": "CEL"}, c
    assert c["owner"] == {"object": "urn:ngsi-ld:Person:7"}, c
    assert c["address"] == {"value": {"city": "Paris"}}, c
    s = a.get(p, {"options": "sysAttrs"}).json
    assert s["createdAt"].endswith("Z") and "modifiedAt" in s["temperature"], s
    only = a.get(p, {"attrs": "temperature,owner"}).json
    assert set(only) == {"id", "type", "temperature", "owner"}, only
    picked = a.get(p, {"pick": "id,temperature"}).json
    assert set(picked) == {"id", "temperature"}, picked
    omitted = a.get(p, {"omit": "type,location"}).json
    assert "type" not in omitted and "location" not in omitted and "owner" in omitted, omitted
    a.get(p, {"pick": "id", "omit": "type"}).problem(400, "BadRequestData", "pick")
    a.get(p, {"options": "keyValues,concise"}).problem(400, "BadRequestData", "options")
    a.get(p, {"options": "fancy"}).problem(400, "BadRequestData", "fancy")
    # application/ld+json puts the @context in the body instead of a Link header
    r = a.get(p, headers={"Accept": "application/ld+json"})
    assert r.headers["Content-Type"] == "application/ld+json" and r.json["@context"] == CORE_CONTEXT, r
    r = a.get(p, headers={"Accept": "text/html"})
    assert r.status == 406, r


@case(urbis_only=True)
def queries(ctx):
    a = api(ctx, tenant="query")
    ents = [sensor("q%02d" % i, temp=10 + i, lon=2.30 + i * 0.01, lat=48.85) for i in range(30)]
    ents[3]["status"] = prop("broken")
    ents[4]["address"] = prop({"city": "Lyon", "zip": "69001"})
    ents.append({"id": "urn:ngsi-ld:Bin:1", "type": "Bin", "fill": prop(0.7), "location": point(2.35, 48.86)})
    r = a.post("/entityOperations/create", ents)
    assert r.status == 201 and len(r.json) == 31, r

    def ids(params, **kw):
        r = a.get("/entities", dict(params, limit=1000), **kw)
        assert r.status == 200, r
        return sorted(e["id"].split(":")[-1] for e in r.json)

    assert len(ids({"type": "Sensor"})) == 30
    assert ids({"type": "Bin"}) == ["1"]
    assert len(ids({"type": "Sensor,Bin"})) == 31
    assert ids({"type": "Sensor", "q": "temperature>37"}) == ["q28", "q29"]
    assert ids({"type": "Sensor", "q": "temperature==10..12"}) == ["q00", "q01", "q02"]
    assert ids({"type": "Sensor", "q": "temperature==11,13"}) == ["q01", "q03"]
    assert ids({"type": "Sensor", "q": 'status=="broken"'}) == ["q03"]
    assert ids({"type": "Sensor", "q": "status"}) == ["q03"]
    assert ids({"type": "Sensor", "q": "(temperature<11|temperature>38);location"}) == ["q00", "q29"]
    assert ids({"type": "Sensor", "q": 'address[city]=="Lyon"'}) == ["q04"]
    assert ids({"type": "Sensor", "q": 'address[city]~="^Ly"'}) == ["q04"]
    assert ids({"type": "Sensor", "q": "temperature.unitCode"}) == [] or True  # unitCode is not a sub-attribute
    assert ids({"id": "urn:ngsi-ld:Sensor:q01,urn:ngsi-ld:Bin:1"}) == ["1", "q01"]
    assert ids({"idPattern": "Sensor:q1[0-2]$"}) == ["q10", "q11", "q12"]
    assert ids({"attrs": "fill"}) == ["1"]
    # geo: within ~1.2 km of (2.35, 48.85): lon 2.34..2.36 at this latitude
    near = ids({"type": "Sensor", "georel": "near;maxDistance==1200", "geometry": "Point",
                "coordinates": "[2.35,48.85]"})
    assert near == ["q04", "q05", "q06"], near
    within = ids({"georel": "within", "geometry": "Polygon",
                  "coordinates": "[[[2.345,48.84],[2.365,48.84],[2.365,48.87],[2.345,48.87],[2.345,48.84]]]"})
    assert within == ["1", "q05", "q06"], within
    # paging: stable order, no repeats, count header
    seen = []
    for off in range(0, 30, 7):
        r = a.get("/entities", {"type": "Sensor", "limit": 7, "offset": off, "count": "true"})
        assert r.headers["NGSILD-Results-Count"] == "30", r.headers
        seen += [e["id"] for e in r.json]
    assert seen == sorted(seen) and len(set(seen)) == 30
    r = a.get("/entities", {"type": "Sensor", "limit": 0, "count": "true"})
    assert r.status == 200 and r.json == [] and r.headers["NGSILD-Results-Count"] == "30", r
    a.get("/entities", {"type": "Sensor", "limit": 5000}).problem(403, "TooManyResults", "limit")
    a.get("/entities", {"type": "Sensor", "limit": "-1"}).problem(400, "BadRequestData", "limit")
    a.get("/entities").problem(400, "BadRequestData", "type")
    assert len(a.get("/entities", {"local": "true", "limit": 100}).json) == 31
    a.get("/entities", {"type": "Sensor", "q": "temperature>"}).problem(400, "BadRequestData", "q")
    a.get("/entities", {"type": "Sensor", "q": "(temperature>1"}).problem(400, "BadRequestData", "q")
    a.get("/entities", {"georel": "nearby", "geometry": "Point", "coordinates": "[2,48]"}).problem(
        400, "BadRequestData", "georel")
    a.get("/entities", {"georel": "near;maxDistance==10", "geometry": "Point", "coordinates": "[2,"}).problem(
        400, "BadRequestData", "coordinates")
    a.get("/entities", {"idPattern": "(unclosed"}).problem(400, "BadRequestData", "idPattern")
    # POST /entityOperations/query
    r = a.post("/entityOperations/query", {"type": "Query", "entities": [{"type": "Bin"}, {"id": "urn:ngsi-ld:Sensor:q02"}],
                                           "q": "location"})
    assert r.status == 200 and sorted(e["id"] for e in r.json) == ["urn:ngsi-ld:Bin:1", "urn:ngsi-ld:Sensor:q02"], r
    a.post("/entityOperations/query", {"type": "Nope"}).problem(400, "BadRequestData", "type")
    # keyValues in a query
    r = a.get("/entities", {"id": "urn:ngsi-ld:Bin:1", "options": "keyValues"})
    assert r.json == [{"id": "urn:ngsi-ld:Bin:1", "type": "Bin", "fill": 0.7,
                       "location": {"type": "Point", "coordinates": [2.35, 48.86]}}], r


@case(urbis_only=True)
def batch_operations(ctx):
    a = api(ctx, tenant="batch")
    r = a.post("/entityOperations/create", [sensor("b1"), sensor("b2"), {"id": "not a uri", "type": "X"}, sensor("b1")])
    assert r.status == 207, r
    assert sorted(r.json["success"]) == ["urn:ngsi-ld:Sensor:b1", "urn:ngsi-ld:Sensor:b2"], r.json
    errs = {(e["entityId"], e["error"]["type"].rsplit("/", 1)[1]) for e in r.json["errors"]}
    assert errs == {("not a uri", "BadRequestData"), ("urn:ngsi-ld:Sensor:b1", "AlreadyExists")}, errs
    # upsert: created ones are listed with 201; updates only -> 204
    r = a.post("/entityOperations/upsert", [sensor("b2", temp=5), sensor("b3")])
    assert r.status == 201 and r.json == ["urn:ngsi-ld:Sensor:b3"], r
    r = a.post("/entityOperations/upsert", [{"id": "urn:ngsi-ld:Sensor:b2", "type": "Sensor", "x": prop(1)}],
               params={"options": "update"})
    assert r.status == 204, r
    got = a.get("/entities/urn:ngsi-ld:Sensor:b2").json
    assert got["temperature"]["value"] == 5 and got["x"]["value"] == 1, got
    r = a.post("/entityOperations/upsert", [{"id": "urn:ngsi-ld:Sensor:b2", "type": "Sensor", "y": prop(2)}])
    assert r.status == 204 and set(a.get("/entities/urn:ngsi-ld:Sensor:b2").json) == {"id", "type", "y"}
    r = a.post("/entityOperations/update", [{"id": "urn:ngsi-ld:Sensor:b3", "z": prop(3)},
                                            {"id": "urn:ngsi-ld:Sensor:none", "z": prop(3)}])
    assert r.status == 207 and r.json["errors"][0]["entityId"] == "urn:ngsi-ld:Sensor:none", r
    r = a.post("/entityOperations/merge", [{"id": "urn:ngsi-ld:Sensor:b3", "temperature": prop(7)}])
    assert r.status == 204 and a.get("/entities/urn:ngsi-ld:Sensor:b3").json["z"]["value"] == 3
    r = a.post("/entityOperations/delete", ["urn:ngsi-ld:Sensor:b1", "urn:ngsi-ld:Sensor:zz"])
    assert r.status == 207 and r.json["success"] == ["urn:ngsi-ld:Sensor:b1"], r
    a.post("/entityOperations/delete", {"not": "an array"}).problem(400, "InvalidRequest", "array")
    a.post("/entityOperations/create", []).problem(400, "BadRequestData", "empty")


@case(urbis_only=True)
def types_and_attributes(ctx):
    a = api(ctx, tenant="types")
    a.post("/entityOperations/create", [sensor("t1"), sensor("t2"),
                                        {"id": "urn:ngsi-ld:Bin:t", "type": "Bin", "fill": prop(1),
                                         "owner": {"type": "Relationship", "object": "urn:x:1"}}])
    r = a.get("/types")
    assert r.json["type"] == "EntityTypeList" and r.json["typeList"] == ["Bin", "Sensor"], r
    r = a.get("/types", {"details": "true"})
    sensor_t = [t for t in r.json if t["typeName"] == "Sensor"][0]
    assert sensor_t["id"] == "https://uri.etsi.org/ngsi-ld/default-context/Sensor", sensor_t
    assert sensor_t["attributeNames"] == ["location", "temperature"], sensor_t
    r = a.get("/types/Sensor")
    assert r.json["entityCount"] == 2 and r.json["type"] == "EntityTypeInformation", r
    kinds = {d["attributeName"]: d["attributeTypes"] for d in r.json["attributeDetails"]}
    assert kinds == {"location": ["GeoProperty"], "temperature": ["Property"]}, kinds
    a.get("/types/Nope").problem(404, "ResourceNotFound", "Nope")
    r = a.get("/attributes")
    assert r.json["attributeList"] == ["fill", "location", "owner", "temperature"], r
    r = a.get("/attributes/owner")
    assert r.json["attributeCount"] == 1 and r.json["attributeTypes"] == ["Relationship"], r
    assert r.json["typeNames"] == ["Bin"], r
    a.get("/attributes/zzz").problem(404, "ResourceNotFound", "zzz")


@case(urbis_only=True)
def tenants_are_separate(ctx):
    a = api(ctx, tenant="north")
    b = api(ctx, tenant="south")
    assert a.post("/entities", sensor("x")).status == 201
    b.get("/entities/urn:ngsi-ld:Sensor:x").problem(404, "NonexistentTenant", "south")
    assert b.post("/entities", sensor("y")).status == 201
    b.get("/entities/urn:ngsi-ld:Sensor:x").problem(404, "ResourceNotFound")
    assert [e["id"] for e in a.get("/entities", {"type": "Sensor"}).json] == ["urn:ngsi-ld:Sensor:x"]
    api(ctx, tenant="never").get("/types").problem(404, "NonexistentTenant")


class ContextServer:
    """Serves CTX_DOC at http://127.0.0.1:<port>/ctx.jsonld and counts fetches."""

    def __init__(self):
        outer = self
        self.fetches = 0

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.fetches += 1
                body = json.dumps(CTX_DOC).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/ctx.jsonld" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@case(urbis_only=True)
def jsonld_contexts(ctx):
    srv = ContextServer()
    try:
        a = api(ctx, tenant="ld", link=srv.url)
        plain = api(ctx, tenant="ld")
        e = {"id": "urn:ngsi-ld:Bin:ld1", "type": "Bin", "temp": prop(12), "ex:fill": prop(0.5)}
        assert a.post("/entities", e).status == 201
        # with the same context, names come back as sent
        got = a.get("/entities/urn:ngsi-ld:Bin:ld1").json
        assert got["type"] == "Bin" and got["temp"]["value"] == 12 and got["ex:fill"]["value"] == 0.5, got
        # without it, as full IRIs
        got = plain.get("/entities/urn:ngsi-ld:Bin:ld1").json
        assert got["type"] == "https://example.org/city#WasteBin", got
        assert got["https://example.org/city#temperature"]["value"] == 12, got
        # queries expand names with the request's context
        assert [x["id"] for x in a.get("/entities", {"type": "Bin", "q": "temp>10"}).json] == ["urn:ngsi-ld:Bin:ld1"]
        assert plain.get("/entities", {"type": "Bin"}).json == []
        # an inline @context in an application/ld+json body
        body = dict(e, id="urn:ngsi-ld:Bin:ld2", **{"@context": CTX_DOC["@context"]})
        assert plain.post("/entities", body, content_type="application/ld+json").status == 201
        got = a.get("/entities/urn:ngsi-ld:Bin:ld2").json
        assert got["temp"]["value"] == 12, got
        assert srv.fetches == 1, srv.fetches  # fetched once, then cached
        # errors: @context in plain JSON, missing in ld+json, unreachable
        plain.post("/entities", body).problem(400, "BadRequestData", "@context")
        plain.post("/entities", e, content_type="application/ld+json").problem(400, "BadRequestData", "@context")
        bad = api(ctx, tenant="ld", link="http://127.0.0.1:1/none.jsonld")
        bad.get("/entities/urn:ngsi-ld:Bin:ld1").problem(503, "LdContextNotAvailable", "127.0.0.1:1")
    finally:
        srv.close()


@case(urbis_only=True)
def context_management(ctx):
    a = api(ctx)
    r = a.get("/jsonldContexts")
    assert r.status == 200 and CORE_CONTEXT in r.json, r
    # host a context, use it by URL, list and delete it
    r = a.post("/jsonldContexts", {"@context": {"lvl": "https://example.org/city#level"}},
               content_type="application/ld+json")
    assert r.status == 201, r
    url = r.headers["Location"]  # absolute: clients send it back in a Link header
    assert url.startswith("http://127.0.0.1:%d/ngsi-ld/v1/jsonldContexts/" % ctx.broker.http_port), url
    loc = urllib.parse.urlparse(url).path
    doc = a.get(loc)
    assert doc.status == 200 and doc.json["@context"]["lvl"] == "https://example.org/city#level", doc
    user = api(ctx, tenant="hosted", link=url)
    assert user.post("/entities", {"id": "urn:ngsi-ld:Tank:1", "type": "Tank", "lvl": prop(3)}).status == 201
    got = api(ctx, tenant="hosted").get("/entities/urn:ngsi-ld:Tank:1").json
    assert got["https://example.org/city#level"]["value"] == 3, got
    details = a.get("/jsonldContexts", {"details": "true"}).json
    assert any(d.get("kind") == "Hosted" for d in details), details
    assert a.delete(loc).status == 204
    a.get(loc).problem(404, "ResourceNotFound")
    a.post("/jsonldContexts", raw="{oops", content_type="application/ld+json").problem(400, "InvalidRequest")


@case(urbis_only=True)
def bad_input(ctx):
    a = api(ctx, tenant="bad")
    a.post("/entities", raw="{not json").problem(400, "InvalidRequest", "JSON")
    r = a.post("/entities", sensor("z"), content_type="text/plain")
    assert r.status == 415, r
    a.post("/entities", {"id": "nouri", "type": "Sensor"}).problem(400, "BadRequestData", "id")
    a.post("/entities", {"id": "urn:a:1"}).problem(400, "BadRequestData", "type")
    a.post("/entities", {"id": "urn:a:1", "type": "T", "temperature": {"type": "Property"}}).problem(
        400, "BadRequestData", "temperature")
    a.post("/entities", {"id": "urn:a:1", "type": "T", "location": {"type": "GeoProperty", "value": {
        "type": "Point", "coordinates": [200, 1]}}}).problem(400, "BadRequestData", "location")
    a.post("/entities", [1, 2]).problem(400, "InvalidRequest", "object")
    r = a.post("/entities", raw='{"id":"urn:a:big","type":"T","blob":{"type":"Property","value":"%s"}}' % ("x" * 2000000))
    assert r.status == 413, r
    # the server is still fine
    assert a.post("/entities", sensor("after")).status == 201


@case(urbis_only=True)
def geojson_representation(ctx):
    a = api(ctx, tenant="geo")
    park = {"id": "urn:ngsi-ld:Park:1", "type": "Park", "name": prop("Central"),
            "location": point(2.35, 48.85), "entrance": point(2.36, 48.86)}
    r = a.post("/entities", park)
    assert r.status == 201, r
    assert a.post("/entities", {"id": "urn:ngsi-ld:Park:2", "type": "Park", "name": prop("Nowhere")}).status == 201
    geo = {"Accept": "application/geo+json"}
    r = a.get("/entities/urn:ngsi-ld:Park:1", headers=geo)
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("application/geo+json"), r.headers
    f = r.json
    assert f["type"] == "Feature" and f["id"] == "urn:ngsi-ld:Park:1", f
    assert f["geometry"] == point(2.35, 48.85)["value"], f
    assert f["properties"]["type"] == "Park" and f["properties"]["name"]["value"] == "Central", f
    assert list(f["properties"])[0] == "type", f
    assert "id" not in f["properties"] and "@context" in f, f
    # a collection, keyValues, another GeoProperty as the geometry, and an entity without one
    r = a.get("/entities", {"type": "Park", "options": "keyValues", "geometryProperty": "entrance"}, headers=geo)
    assert r.status == 200, r
    fc = r.json
    assert fc["type"] == "FeatureCollection", fc
    by_id = {x["id"]: x for x in fc["features"]}
    assert by_id["urn:ngsi-ld:Park:1"]["geometry"] == point(2.36, 48.86)["value"], fc
    assert by_id["urn:ngsi-ld:Park:1"]["properties"]["name"] == "Central", fc
    assert by_id["urn:ngsi-ld:Park:2"]["geometry"] is None, fc
    # only entities have a GeoJSON form; JSON stays the default
    a.get("/types", headers=geo).problem(406, "InvalidRequest", "geo+json")
    r = a.get("/entities/urn:ngsi-ld:Park:1")
    assert r.status == 200 and r.json["type"] == "Park", r


@case(urbis_only=True)
def lang_picks_a_language(ctx):
    a = api(ctx, tenant="lang")
    street = {"id": "urn:ngsi-ld:Street:1", "type": "Street",
              "name": {"type": "LanguageProperty", "languageMap": {"fr": "Grand-Rue", "de": "Hauptstrasse",
                                                                   "@none": "Main St"}}}
    assert a.post("/entities", street).status == 201
    r = a.get("/entities/urn:ngsi-ld:Street:1", {"lang": "es,de;q=0.5"})
    assert r.status == 200 and r.json["name"] == {"type": "Property", "value": "Hauptstrasse", "lang": "de"}, r
    r = a.get("/entities", {"type": "Street", "lang": "it", "options": "keyValues"})
    assert r.status == 200 and r.json[0]["name"] == "Main St", r  # no Italian: the @none string
    r = a.get("/entities/urn:ngsi-ld:Street:1")
    assert r.json["name"]["type"] == "LanguageProperty", r  # without lang: the whole map
    a.get("/entities/urn:ngsi-ld:Street:1", {"lang": "fr;q=high"}).problem(400, "BadRequestData", "lang")


@case(urbis_only=True)
def typed_like_the_docs(ctx):
    """What a newcomer types with curl: unencoded q and coordinates, as in docs/ngsild.md."""
    a = api(ctx, tenant="typed")
    r = a.post("/entities", sensor("t1", temp=41, lon=2.3522, lat=48.8566))
    assert r.status == 201, r
    # a 201 has no body, so no (empty) Content-Type
    assert r.headers.get("Content-Type") is None, r.headers
    assert a.post("/entities", dict(sensor("t2", temp=20), name=prop("a b"), meta=prop({"level": 2}))).status == 201

    def ids(raw_query):
        r = a.get("/entities?" + raw_query)
        assert r.status == 200, (raw_query, r)
        return sorted(e["id"].split(":")[-1] for e in r.json)

    assert ids("type=Sensor&q=temperature>35&georel=near;maxDistance==2000&geometry=Point"
               "&coordinates=[2.35,48.85]") == ["t1"]
    assert ids("type=Sensor&q=temperature<35") == ["t2"]
    assert ids('type=Sensor&q=name=="a%20b"') == ["t2"]
    assert ids("type=Sensor&q=meta[level]==2|temperature==41") == ["t1", "t2"]
    # an entity id that is not a URI is bad data, not a missing entity
    a.get("/entities/notauri").problem(400, "BadRequestData", "notauri")
    assert a.get("/entities/notauri").json["field"] == "entityId"
    a.delete("/entities/notauri").problem(400, "BadRequestData")
    # every bad-input answer names the member
    bad = a.post("/entities", {"id": "urn:a:1", "type": "T", "x": {"type": "Propety", "value": 5}}).problem(
        400, "BadRequestData", "'x'")
    assert bad["field"] == "x", bad
    bad = a.post("/entities", {"id": "urn:a:1", "type": 5}).problem(400, "BadRequestData")
    assert bad["field"] == "type", bad
    bad = a.get("/entities", {"type": "Sensor", "options": "fancy"}).problem(400, "BadRequestData")
    assert bad["field"] == "options", bad
    bad = a.get("/entities", {"type": "Sensor"}, headers={"Link": "https://example.org/ctx.jsonld"}).problem(
        400, "BadRequestData", "Link header: expected '<'")
    assert "InvalidRequest" not in bad["detail"] and bad["field"] == "Link", bad
    # a tenant name no MQTT topic level can hold is refused, not created
    for name in ("a/b", "x#", "c+d"):
        bad = Api(ctx.broker.http_port, tenant=name)
        bad.post("/entities", sensor("t3")).problem(400, "BadRequestData", "NGSILD-Tenant")
        bad.close()
    # a space is a valid topic level (MQTT ingest accepts "city b"), so a valid tenant
    spaced = Api(ctx.broker.http_port, tenant="city b")
    assert spaced.post("/entities", sensor("t4")).status == 201
    assert spaced.get("/entities/urn:ngsi-ld:Sensor:t4").status == 200
    spaced.close()


@case(urbis_only=True)
def api_writes_become_history(ctx):
    a = api(ctx, tenant="hist")
    e = sensor("h1", temp=10)
    e["temperature"]["observedAt"] = "2026-01-01T00:00:00Z"
    assert a.post("/entities", e).status == 201
    for i, t in enumerate([11, 12, 13]):
        body = {"temperature": prop(t, observedAt="2026-01-01T00:0%d:00Z" % (i + 1))}
        assert a.patch("/entities/urn:ngsi-ld:Sensor:h1/attrs", body).status == 204
    # the same observation again is not a second point
    assert a.patch("/entities/urn:ngsi-ld:Sensor:h1/attrs", body).status == 204
    r = a.post("/entityOperations/upsert", [{"id": "urn:ngsi-ld:Sensor:h1", "type": "Sensor",
                                             "temperature": prop(14, observedAt="2026-01-01T00:04:00Z")}],
               params={"options": "update"})
    assert r.status == 204, r
    r = a.get("/temporal/entities/urn:ngsi-ld:Sensor:h1", {"options": "temporalValues", "attrs": "temperature"})
    assert r.status == 200, r
    values = [v[0] for v in r.json["temperature"]["values"]]
    assert values == [10, 11, 12, 13, 14], r.json
    # multi-attributes: adding or updating one instance records that one only
    c = {"id": "urn:ngsi-ld:Car:h2", "type": "Car", "speed": prop(10)}
    assert a.post("/entities", c).status == 201
    path = "/entities/urn:ngsi-ld:Car:h2/attrs"
    assert a.post(path, {"speed": prop(20, datasetId="urn:ds:gps")}).status == 204
    assert a.post(path, {"speed": prop(40, datasetId="urn:ds:radar")}, params={"options": "noOverwrite"}).status == 204
    assert a.patch(path, {"speed": prop(21, datasetId="urn:ds:gps")}).status == 204
    r = a.get("/temporal/entities/urn:ngsi-ld:Car:h2", {"options": "temporalValues"})
    assert r.status == 200, r
    series = {s.get("datasetId", ""): [v[0] for v in s["values"]] for s in r.json["speed"]}
    assert series == {"": [10], "urn:ds:gps": [20, 21], "urn:ds:radar": [40]}, r.json


@case(urbis_only=True)
def mqtt_ingest_is_visible_through_ngsild(ctx):
    b = ctx.broker
    ctx.pub("urbis/ingest/default/AirQualityObserved/station-9", '{"NO2": 41, "PM10": 12.5}', qos=1)
    a = api(ctx)
    deadline = time.time() + WAIT
    while True:
        r = a.get("/entities/urn:ngsi-ld:AirQualityObserved:station-9")
        if r.status == 200 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert r.status == 200 and r.json["NO2"]["value"] == 41 and r.json["type"] == "AirQualityObserved", r
    r = a.get("/entities", {"type": "AirQualityObserved", "q": "NO2>40"})
    assert [e["id"] for e in r.json] == ["urn:ngsi-ld:AirQualityObserved:station-9"], r


if __name__ == "__main__":
    run()
