#!/usr/bin/env python3
"""Device ingest, black-box: a registered device publishes with mosquitto_pub
(user = device id, password = token) to urbis/<tenant>/<id>/up[/<format>]; the
payload is decoded with its profile's decoder, mapped to a Smart Data Models
entity and committed, and the NGSI-LD API shows the entity's state and history.
Also: HTTP ingest with the device token, ChirpStack v4 uplinks through the
broker (idempotent per DevEUI and frame counter, replays flagged), a site's own
profile from [devices] profiles_dir (reloaded on SIGHUP), and bad payloads that
are refused with a reason kept on the device.

Urbis-only: Mosquitto has no device registry or store."""

import base64
import http.client
import json
import os
import signal
import subprocess
import time

from harness import *
from ngsild import Api

TENANT = "city"


def api(b, method, path, body=None, content_type="application/json", token=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", b.http_port, timeout=10)
    h = dict(headers or {})
    if body is not None:
        h.setdefault("Content-Type", content_type)
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
    if token:
        h["Authorization"] = "Bearer " + token
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read().decode()
    conn.close()
    return r.status, (json.loads(data) if data else None), dict(r.getheaders())


def create(b, did, tenant=TENANT, **fields):
    body = {"id": did, "tenant": tenant}
    body.update(fields)
    status, d, _ = api(b, "POST", "/api/v1/devices", body)
    assert status == 201, (status, d)
    return d


def device(b, did):
    status, d, _ = api(b, "GET", "/api/v1/devices/" + did)
    assert status == 200, (status, d)
    return d


def up(d, fmt=None):
    return "urbis/%s/%s/up%s" % (d["tenant"], d["id"], "/" + fmt if fmt else "")


def as_device(d):
    return ["-u", d["id"], "-P", d["token"]]


def entity(b, eid, tenant=TENANT):
    r = Api(b.http_port, tenant=tenant).get("/entities/" + eid)
    return r


def history(b, eid, attrs, tenant=TENANT):
    r = Api(b.http_port, tenant=tenant).get("/temporal/entities/" + eid, params={"attrs": attrs})
    assert r.status == 200, r
    return r.json


SITE_PROFILE = """
name = "tank-level"
description = "Test site's own tank level sensor"
decoder = "json"
entity_type = "WaterObserved"
entity_id = "urn:ngsi-ld:WaterObserved:{tenant}:{device}"

[[attribute]]
reading = "lvl"
name = "height"
unit = "MTR"
scale = 0.01

[[attribute]]
reading = "pump"
name = "pumpState"
values = { "true" = "on", "false" = "off" }
"""


@case(urbis_only=True)
def mosquitto_pub_as_a_device_changes_entity_state_and_history(ctx):
    b = ctx.broker
    did = ctx.client_id("aq")
    d = create(b, did, profile="air-quality", location={"type": "Point", "coordinates": [7.68, 45.07]})
    eid = "urn:ngsi-ld:AirQualityObserved:" + did
    ctx.pub(up(d), json.dumps({"no2": 41, "pm10": 18.5, "observedAt": "2026-11-25T08:15:00Z"}), qos=1,
            extra=as_device(d))
    ctx.pub(up(d), json.dumps({"no2": 44, "observedAt": "2026-11-25T08:30:00Z"}), qos=1, extra=as_device(d))
    r = entity(b, eid)
    assert r.status == 200, r
    e = r.json
    assert e["type"] == "AirQualityObserved", e
    assert e["no2"]["value"] == 44 and e["no2"]["observedAt"] == "2026-11-25T08:30:00.000Z", e
    assert e["no2"].get("unitCode") == "GQ", e["no2"]
    assert e["pm10"]["value"] == 18.5, e
    assert e["location"]["value"] == {"type": "Point", "coordinates": [7.68, 45.07]}, e
    assert e["refDevice"]["object"] == "urn:ngsi-ld:Device:" + did, e
    h = history(b, eid, "no2")
    values = [[i["value"], i["observedAt"]] for i in h["no2"]]
    assert values == [[41, "2026-11-25T08:15:00.000Z"], [44, "2026-11-25T08:30:00.000Z"]], h
    got = device(b, did)
    assert got["state"] == "active" and got["lastSeen"], got
    # Readings the profile does not know (wrong case) store nothing, and the device says why.
    ctx.pub(up(d), json.dumps({"NO2": 41}), qos=1, extra=as_device(d))
    got = device(b, did)
    assert "no reading (NO2) is mapped by profile 'air-quality'" in got["lastError"], got


@case(urbis_only=True)
def a_bad_payload_is_refused_with_0x99_and_kept_on_the_device(ctx):
    b = ctx.broker
    d = create(b, ctx.client_id("bad"), profile="air-quality")
    c = ctx.raw(5)
    c.connect(d["id"] + "-c", username=d["id"], password=d["token"])
    ack = c.publish(up(d), b"{not json", qos=1)
    assert ack.rc == 0x99, ack
    ack = c.publish(up(d, "lpp"), b"\x01\x67", qos=1)  # truncated Cayenne LPP temperature
    assert ack.rc == 0x99, ack
    ack = c.publish(up(d, "nosuchformat"), b"{}", qos=1)
    assert ack.rc == 0x99, ack
    got = device(b, d["id"])
    assert got["errorCount"] == 3, got
    assert "nosuchformat" in got["lastError"], got
    # The connection and the path still work.
    ack = c.publish(up(d), b'{"no2": 12}', qos=1)
    assert ack.rc in (0, 0x10), ack
    assert entity(b, "urn:ngsi-ld:AirQualityObserved:" + d["id"]).json["no2"]["value"] == 12
    # MQTT 3.1.1 cannot say no: acknowledged, not stored, connection kept.
    c3 = ctx.raw(4)
    c3.connect(d["id"] + "-c3", username=d["id"], password=d["token"])
    c3.publish(up(d), b"[1,2]", qos=1)
    assert c3.is_open()
    assert device(b, d["id"])["errorCount"] == 4


@case(urbis_only=True)
def wrong_token_and_publishing_as_another_device_change_nothing(ctx):
    b = ctx.broker
    a = create(b, ctx.client_id("da"), profile="air-quality")
    v = create(b, ctx.client_id("dv"), profile="air-quality")
    r = ctx.pub(up(v), '{"no2": 999}', qos=1, extra=["-u", v["id"], "-P", a["token"]], check=False)
    assert r.returncode != 0, r
    c = ctx.raw(5)
    c.connect(a["id"] + "-x", username=a["id"], password=a["token"])
    assert c.publish(up(v), b'{"no2": 999}', qos=1).rc == 0x87
    assert entity(b, "urn:ngsi-ld:AirQualityObserved:" + v["id"]).status == 404
    assert device(b, v["id"])["state"] == "provisioned"
    # MQTT 3.1.1 cannot be told: the publishing device's last error says it.
    c3 = ctx.raw(4)
    c3.connect(a["id"] + "-x3", username=a["id"], password=a["token"])
    c3.publish("urbis/%s/%s" % (a["tenant"], a["id"]), b'{"no2": 1}', qos=1)
    got = device(b, a["id"])
    assert "not allowed to publish" in got["lastError"] and up(a) in got["lastError"], got


@case(urbis_only=True)
def cayenne_lpp_and_senml_without_a_profile_land_on_a_device_entity(ctx):
    b = ctx.broker
    d = create(b, ctx.client_id("raw"))
    path = os.path.join(b.dir, "lpp.bin")
    with open(path, "wb") as f:
        f.write(bytes([0x01, 0x67, 0x00, 0xD7, 0x02, 0x68, 0x64]))  # 21.5 °C on ch 1, 50 % RH on ch 2
    ctx.pub(up(d, "lpp"), None, qos=1, extra=as_device(d) + ["-f", path])
    senml = [{"bt": 1764000000, "n": "battery", "u": "%", "v": 87},
             {"n": "door", "vb": True, "t": 10}]
    ctx.pub(up(d, "senml"), json.dumps(senml), qos=1, extra=as_device(d))
    e = entity(b, "urn:ngsi-ld:Device:" + d["id"]).json
    assert e["type"] == "Device", e
    assert e["temperature_1"]["value"] == 21.5 and e["temperature_1"]["unitCode"] == "CEL", e
    assert e["relative_humidity_2"]["value"] == 50, e
    assert e["battery"]["value"] == 87 and e["battery"]["unitCode"] == "P1" and e["battery"]["observedAt"] == "2025-11-24T16:00:00.000Z", e
    assert e["door"]["value"] is True and e["door"]["observedAt"] == "2025-11-24T16:00:10.000Z", e


@case(urbis_only=True)
def http_ingest_with_the_device_token_answers_after_commit(ctx):
    b = ctx.broker
    d = create(b, ctx.client_id("h"), profile="air-quality")
    path = "/api/v1/devices/%s/measurements" % d["id"]
    status, r, _ = api(b, "POST", path, {"no2": 30, "o3": 61}, token=d["token"])
    assert status == 200, (status, r)
    eid = "urn:ngsi-ld:AirQualityObserved:" + d["id"]
    assert r["entity"] == eid and r["attributes"] == 2 and r["tenant"] == TENANT, r
    # 200 means committed: the entity is readable at once.
    assert entity(b, eid).json["o3"]["value"] == 61
    senml = [{"n": "no2", "v": 31, "t": 1764000000}]
    status, r, _ = api(b, "POST", path, json.dumps(senml), content_type="application/senml+json", token=d["token"])
    assert status == 200, (status, r)
    status, r, h = api(b, "POST", path, {"no2": 1}, token="udt_wrong")
    assert status == 401 and "WWW-Authenticate" in h, (status, r)
    status, r, _ = api(b, "POST", path, {"no2": 1})
    assert status == 401, (status, r)
    status, r, _ = api(b, "POST", path, "{oops", token=d["token"])
    assert status == 400 and r["field"] == "body", (status, r)
    status, r, _ = api(b, "POST", path + "?format=xml", {"no2": 1}, token=d["token"])
    assert status == 400 and r["field"] == "format", (status, r)
    status, r, _ = api(b, "POST", path, "<a/>", content_type="text/xml", token=d["token"])
    assert status == 415 and r["field"] == "Content-Type", (status, r)
    # An unknown id answers like a wrong token: ids cannot be probed.
    status, r, _ = api(b, "POST", "/api/v1/devices/nobody/measurements", {"no2": 1}, token=d["token"])
    assert status == 401, (status, r)
    # "senml+json" typed as is in a URL (its '+' arrives as a space) still names SenML.
    status, r, _ = api(b, "POST", path + "?format=senml+json", json.dumps(senml), token=d["token"])
    assert status == 200 and r["attributes"] == 1, (status, r)
    status, _, _ = api(b, "PATCH", "/api/v1/devices/" + d["id"], {"state": "disabled"})
    assert status == 200
    status, r, _ = api(b, "POST", path, {"no2": 1}, token=d["token"])
    assert status == 403 and "disabled" in r["detail"], (status, r)


def chirpstack_uplink(dev_eui, f_cnt, obj, time_iso="2026-11-25T08:15:00.000000Z", app="3b1c"):
    return json.dumps({
        "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
        "time": time_iso,
        "deviceInfo": {"tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": "City",
                       "applicationId": app, "applicationName": "Parking",
                       "deviceProfileId": "cf2aec2f-03e1-4a60-a32c-0faeef5730d8", "deviceProfileName": "PS",
                       "deviceName": "spot-17", "devEui": dev_eui},
        "devAddr": "00189440", "adr": True, "dr": 5, "fCnt": f_cnt, "fPort": 1, "confirmed": False,
        "data": base64.b64encode(b"\x01").decode(), "object": obj,
        "rxInfo": [{"gatewayId": "0016c001f153a14c", "uplinkId": 4217106255, "rssi": -36, "snr": 10.5}],
        "txInfo": {"frequency": 868100000, "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7,
                                                                    "codeRate": "CR_4_5"}}}})


def health(b):
    return http_get_json(b.http_port, "/api/v1/health")[2]


@case(urbis_only=True)
def chirpstack_uplinks_through_the_broker_are_idempotent_and_replays_flagged(ctx):
    b = ctx.broker
    eui = "0004a30b001c%04x" % (hash(ctx.run_id) & 0xFFFF)
    create(b, eui)
    topic = "application/3b1c/device/%s/event/up" % eui
    eid = "urn:ngsi-ld:Device:" + eui
    ctx.pub(topic, chirpstack_uplink(eui, 10, {"occupied": True}), qos=1)
    # The network server redelivers the same uplink: stored once.
    ctx.pub(topic, chirpstack_uplink(eui, 10, {"occupied": True}), qos=1)
    ctx.pub(topic, chirpstack_uplink(eui, 11, {"occupied": False}, "2026-11-25T08:16:00Z"), qos=1)
    e = entity(b, eid)
    assert e.status == 200, e
    assert e.json["occupied"]["value"] is False, e.json
    # The default tenant is "default" in NGSI-LD too, as in the topics.
    d0 = create(b, ctx.client_id("d0"), tenant="default")
    ctx.pub(up(d0), '{"v": 3}', qos=1, extra=as_device(d0))
    for t in (None, "default"):
        r = Api(b.http_port, tenant=t).get("/entities/urn:ngsi-ld:Device:" + d0["id"])
        assert r.status == 200 and r.json["v"]["value"] == 3, (t, r)
    h = history(b, eid, "occupied")
    assert [i["value"] for i in h["occupied"]] == [True, False], h
    alerts_before = health(b)["device_ingest"]["lorawan_alerts"]
    # An old frame again, later: a replay, flagged (and still stored).
    ctx.pub(topic, chirpstack_uplink(eui, 5, {"occupied": True}, "2026-11-25T08:20:00Z"), qos=1)
    assert health(b)["device_ingest"]["lorawan_alerts"] == alerts_before + 1
    # The uplink taught Urbis the device's ChirpStack application: a downlink
    # needs no applicationId and becomes a ChirpStack enqueue there.
    sub = ctx.sub("application/3b1c/device/%s/command/down" % eui, qos=1)
    status, cmd, _ = api(b, "POST", "/api/v1/devices/%s/commands" % eui, {"data": "AQI=", "fPort": 2})
    assert status == 202, (status, cmd)
    got = json.loads(sub.wait(1)[0]["payload"])
    assert got["devEui"] == eui and got["data"] == "AQI=" and got["fPort"] == 2, got
    # An unknown DevEUI is refused, not stored.
    c = ctx.raw(5)
    c.connect("cs-" + ctx.run_id)
    ack = c.publish("application/3b1c/device/ffffffffffffffff/event/up",
                    chirpstack_uplink("ffffffffffffffff", 1, {"x": 1}).encode(), qos=1)
    assert ack.rc == 0x87, ack


@case(urbis_only=True)
def a_site_profile_is_used_and_reloaded_on_sighup(ctx):
    base = ctx.new_broker(start=False)
    pdir = os.path.join(base.dir, "profiles")
    os.makedirs(pdir)
    b = ctx.new_broker(config={"devices": {"profiles_dir": pdir}})
    d = create(b, ctx.client_id("tank"), profile="tank-level")
    path = "/api/v1/devices/%s/measurements" % d["id"]
    # The profile does not exist yet: refused, and the device says why.
    status, r, _ = api(b, "POST", path, {"lvl": 250, "pump": True}, token=d["token"])
    assert status == 400 and "tank-level" in r["detail"], (status, r)
    with open(os.path.join(pdir, "tank.toml"), "w") as f:
        f.write(SITE_PROFILE)
    b.proc.send_signal(signal.SIGHUP)
    eventually(lambda: api(b, "GET", "/api/v1/profiles/tank-level")[0] == 200, "profile loaded after SIGHUP")
    status, r, _ = api(b, "POST", path, {"lvl": 250, "pump": True, "junk": 1}, token=d["token"])
    assert status == 200 and r["attributes"] == 2 and r["dropped"] == 1, (status, r)
    e = entity(b, "urn:ngsi-ld:WaterObserved:%s:%s" % (TENANT, d["id"])).json
    assert e["height"]["value"] == 2.5 and e["height"]["unitCode"] == "MTR", e
    assert e["pumpState"]["value"] == "on", e
    # A broken file on the next reload keeps the set that works.
    with open(os.path.join(pdir, "broken.toml"), "w") as f:
        f.write('name = "x"\nunknown_key = 1\n')
    b.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    status, r, _ = api(b, "POST", path, {"lvl": 100}, token=d["token"])
    assert status == 200, (status, r)
    assert b.alive()


if __name__ == "__main__":
    run()
