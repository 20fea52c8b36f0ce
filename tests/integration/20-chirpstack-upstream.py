#!/usr/bin/env python3
"""ChirpStack uplinks from an upstream broker, black-box: a real Mosquitto on a
free 127.0.0.1 port plays the broker a ChirpStack v4 installation ships; Urbis
is started with [[devices.upstream]] pointing at it, subscribes as an MQTT
client with a persistent session, and ingests every
application/<app>/device/<devEUI>/event/up published there (mosquitto_pub -q 1)
like an uplink published to its own broker. Also: Urbis started while that
broker is down connects once it is up; the broker restarted -> Urbis
reconnects and continues; uplinks published while Urbis was stopped are
ingested after it restarts; a refused uplink (unknown device) is acknowledged
and not delivered again.

Urbis-only: Mosquitto has no upstream bridge into a device registry."""

import base64
import http.client
import json

from harness import *
from ngsild import Api

TENANT = "city"
UP_WAIT = 40.0  # reconnects back off up to 60 s; the first retries come after 1, 2, 4, 8 s


def api(b, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", b.http_port, timeout=10)
    h = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = conn.getresponse()
    data = r.read().decode()
    conn.close()
    return r.status, (json.loads(data) if data else None)


def chirpstack_uplink(dev_eui, f_cnt, obj, time_iso):
    """A ChirpStack v4 'up' event as its MQTT integration publishes it (the fields Urbis reads, and some it does not)."""
    return json.dumps({
        "deduplicationId": "3ac7e3c4-4401-4b8d-9386-a5c902f9%04d" % f_cnt,
        "time": time_iso,
        "deviceInfo": {"tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": "City",
                       "applicationId": "3b1c", "applicationName": "Parking",
                       "deviceProfileName": "PS", "deviceName": "spot-17", "devEui": dev_eui},
        "devAddr": "00189440", "fCnt": f_cnt, "fPort": 1, "confirmed": False,
        "data": base64.b64encode(b"\x01").decode(), "object": obj,
        "rxInfo": [{"gatewayId": "0016c001f153a14c", "rssi": -36, "snr": 10.5}]})


def topic(eui):
    return "application/3b1c/device/%s/event/up" % eui


def new_eui(ctx, n):
    return "0004a30b%02x%06x" % (n, hash(ctx.run_id) & 0xFFFFFF)


def chirpstack_broker(ctx, start=True):
    """The 'ChirpStack' Mosquitto: persistence on, so sessions survive its restart. Stopped by PID at case end."""
    m = Broker(ctx, name="chirpstack")
    m.kind = "mosquitto"
    ctx._brokers.append(m)
    return m.start() if start else m


def urbis_with_upstream(ctx, m, **entry):
    e = {"url": "mqtt://127.0.0.1:%d" % m.port, "client_id": ctx.client_id("bridge")}
    e.update(entry)
    b = Broker(ctx, config={"devices": {"upstream": [e]}})
    b.kind = "urbis"
    ctx._brokers.insert(0, b)  # stopped before the upstream broker at case end
    return b.start()


def upstream(b):
    return http_get_json(b.http_port, "/api/v1/health")[2]["upstream"][0]


def wait_connected(b, reconnects=None):
    def up():
        u = upstream(b)
        return u["connected"] and (reconnects is None or u["reconnects"] >= reconnects)
    eventually(up, "Urbis connected to the upstream broker", timeout=UP_WAIT)


def register(b, eui):
    status, d = api(b, "POST", "/api/v1/devices", {"id": eui, "tenant": TENANT})
    assert status == 201, (status, d)


def entity(b, eui):
    return Api(b.http_port, tenant=TENANT).get("/entities/urn:ngsi-ld:Device:" + eui)


def wait_value(b, eui, attr, value):
    def check():
        r = entity(b, eui)
        return r.status == 200 and r.json.get(attr, {}).get("value") == value and r.json
    return eventually(check, "%s.%s == %r in Urbis" % (eui, attr, value), timeout=UP_WAIT)


@case(urbis_only=True)
def an_uplink_published_to_the_chirpstack_broker_becomes_an_entity(ctx):
    m = chirpstack_broker(ctx)
    b = urbis_with_upstream(ctx, m)
    wait_connected(b)
    eui = new_eui(ctx, 1)
    register(b, eui)
    mosquitto_pub(m.port, topic(eui), chirpstack_uplink(eui, 7, {"occupied": True}, "2026-11-25T08:15:00Z"), qos=1)
    e = wait_value(b, eui, "occupied", True)
    assert e["type"] == "Device", e
    assert e["occupied"]["observedAt"] == "2026-11-25T08:15:00.000Z", e
    assert e["refDevice"]["object"] == "urn:ngsi-ld:Device:" + eui, e
    # Another tenant does not see it.
    assert Api(b.http_port, tenant="elsewhere").get("/entities/urn:ngsi-ld:Device:" + eui).status == 404
    # The counters follow the commit (the entity can be read a moment before).
    eventually(lambda: upstream(b)["stored"] == 1, "stored counted")
    u = upstream(b)
    assert u["received"] == 1 and u["refused"] == 0 and u["failed"] == 0, u


@case(urbis_only=True)
def a_refused_uplink_is_acknowledged_and_not_delivered_again(ctx):
    m = chirpstack_broker(ctx)
    b = urbis_with_upstream(ctx, m)
    wait_connected(b)
    unknown = "ffffffff%08x" % (hash(ctx.run_id) & 0xFFFFFFFF)
    mosquitto_pub(m.port, topic(unknown), chirpstack_uplink(unknown, 1, {"x": 1}, "2026-11-25T08:00:00Z"), qos=1)
    eventually(lambda: upstream(b)["refused"] == 1, "the unknown device's uplink refused")
    # A restart reconnects to the same session: had the refusal not been
    # acknowledged, the uplink would arrive again before the next one.
    b.restart()
    wait_connected(b)
    eui = new_eui(ctx, 2)
    register(b, eui)
    mosquitto_pub(m.port, topic(eui), chirpstack_uplink(eui, 1, {"occupied": False}, "2026-11-25T08:01:00Z"), qos=1)
    wait_value(b, eui, "occupied", False)
    eventually(lambda: upstream(b)["stored"] == 1, "stored counted")
    u = upstream(b)
    assert u["received"] == 1 and u["refused"] == 0, u


@case(urbis_only=True)
def urbis_started_while_the_chirpstack_broker_is_down_connects_when_it_comes_up(ctx):
    m = chirpstack_broker(ctx, start=False)
    b = urbis_with_upstream(ctx, m)
    assert upstream(b)["connected"] is False
    eui = new_eui(ctx, 3)
    register(b, eui)
    m.start()
    wait_connected(b)
    mosquitto_pub(m.port, topic(eui), chirpstack_uplink(eui, 3, {"occupied": True}, "2026-11-25T09:00:00Z"), qos=1)
    wait_value(b, eui, "occupied", True)
    assert b.alive()


@case(urbis_only=True)
def the_chirpstack_broker_restarted_urbis_reconnects_and_continues(ctx):
    m = chirpstack_broker(ctx)
    b = urbis_with_upstream(ctx, m)
    wait_connected(b)
    eui = new_eui(ctx, 4)
    register(b, eui)
    mosquitto_pub(m.port, topic(eui), chirpstack_uplink(eui, 1, {"occupied": True}, "2026-11-25T10:00:00Z"), qos=1)
    wait_value(b, eui, "occupied", True)
    m.restart()
    wait_connected(b, reconnects=1)
    mosquitto_pub(m.port, topic(eui), chirpstack_uplink(eui, 2, {"occupied": False}, "2026-11-25T10:05:00Z"), qos=1)
    wait_value(b, eui, "occupied", False)


@case(urbis_only=True)
def uplinks_published_while_urbis_was_stopped_are_ingested_after_it_restarts(ctx):
    m = chirpstack_broker(ctx)
    b = urbis_with_upstream(ctx, m)
    wait_connected(b)
    eui = new_eui(ctx, 5)
    register(b, eui)
    b.stop()
    # The broker queues them in Urbis's persistent session.
    mosquitto_pub(m.port, topic(eui), chirpstack_uplink(eui, 1, {"count": 1}, "2026-11-25T11:00:00Z"), qos=1)
    mosquitto_pub(m.port, topic(eui), chirpstack_uplink(eui, 2, {"count": 2}, "2026-11-25T11:01:00Z"), qos=1)
    b.start()
    wait_value(b, eui, "count", 2)
    r = Api(b.http_port, tenant=TENANT).get("/temporal/entities/urn:ngsi-ld:Device:" + eui, params={"attrs": "count"})
    assert r.status == 200, r
    assert [i["value"] for i in r.json["count"]] == [1, 2], r.json


if __name__ == "__main__":
    run()
