#!/usr/bin/env python3
"""Device downlink commands: POST /api/v1/devices/{id}/commands queues a command
(durable before the 202), the broker publishes it to urbis/<tenant>/<id>/down
with QoS 1 (or, for a LoRaWAN device, a ChirpStack v4 enqueue message to
application/<app>/device/<devEui>/command/down), and the API shows its status:
queued while the device is not subscribed, sent once a session of the device
took it. Queued commands go out when the device subscribes; an operator's
wildcard subscription does not count as delivery. Bad bodies are 400 naming the
member, unknown devices 404, too many queued 429, cancel 204/409; the history
survives a restart.

Urbis-only: Mosquitto has no device registry."""

import base64
import http.client
import json
import subprocess
import time

from harness import *

TENANT = "city"


def api(b, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", b.http_port, timeout=10)
    headers = {}
    if body is not None:
        headers["Content-Type"] = "application/json"
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read().decode()
    conn.close()
    return r.status, (json.loads(data) if data else None), dict(r.getheaders())


def create(ctx, b, did, tenant=TENANT, **fields):
    body = {"id": did, "tenant": tenant}
    body.update(fields)
    status, d, _ = api(b, "POST", "/api/v1/devices", body)
    assert status == 201, (status, d)
    return d


def down(d):
    return "urbis/%s/%s/down" % (d["tenant"], d["id"])


def send(b, d, body):
    status, c, h = api(b, "POST", "/api/v1/devices/%s/commands" % d["id"], body)
    assert status == 202, (status, c)
    assert h.get("Location") == "/api/v1/devices/%s/commands/%s" % (d["id"], c["id"]), h
    assert c["status"] == "queued" and c["deviceId"] == d["id"], c
    return c


def get(b, d, c):
    status, got, _ = api(b, "GET", "/api/v1/devices/%s/commands/%s" % (d["id"], c["id"]))
    assert status == 200, (status, got)
    return got


def wait_for(what, pred, timeout=WAIT):
    """Polls pred() until it returns something true; an upper bound, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def wait_status(b, d, c, status):
    return wait_for("command %s to be %s" % (c["id"], status),
                    lambda: (lambda g: g if g["status"] == status else None)(get(b, d, c)))


def device_sub(ctx, b, d, **kw):
    return ctx.sub(down(d), broker=b, qos=1, extra=["-u", d["id"], "-P", d["token"]], **kw)


@case(urbis_only=True)
def online_device_receives_the_command_and_it_becomes_sent(ctx):
    b = ctx.broker
    d = create(ctx, b, ctx.client_id("valve"))
    sub = device_sub(ctx, b, d)
    c = send(b, d, {"payload": {"valve": "open", "level": 21.5}})
    msgs = sub.wait(1)
    assert msgs[0]["topic"] == down(d) and msgs[0]["qos"] == 1, msgs
    assert json.loads(msgs[0]["payload"]) == {"valve": "open", "level": 21.5}, msgs
    got = wait_status(b, d, c, "sent")
    assert got["transport"] == "mqtt" and got["topic"] == down(d) and got["attempts"] >= 1, got
    assert got["error"] is None and got["statusAt"] and got["expiresAt"], got
    # Raw bytes given as base64 arrive as they are.
    c2 = send(b, d, {"data": base64.b64encode(b"\x01\x02hi").decode()})
    msgs = sub.wait(2)
    assert msgs[1]["payload"] == "\x01\x02hi", msgs
    wait_status(b, d, c2, "sent")


@case(urbis_only=True)
def offline_device_gets_queued_commands_when_it_subscribes(ctx):
    b = ctx.broker
    d = create(ctx, b, ctx.client_id("lamp"))
    # An operator watching every topic of the tenant gets copies, but that is not delivery.
    watcher = ctx.sub("urbis/%s/#" % TENANT, broker=b, qos=1)
    c1 = send(b, d, {"payload": "on"})
    c2 = send(b, d, {"payload": "dim"})
    got = wait_for("a first attempt", lambda: (lambda g: g if g["attempts"] >= 1 else None)(get(b, d, c1)))
    assert got["status"] == "queued" and "subscribe" in got["error"], got
    assert watcher.wait(1)[0]["payload"] == '"on"'
    assert get(b, d, c2)["status"] == "queued"
    sub = device_sub(ctx, b, d)
    msgs = sub.wait(2)
    assert [m["payload"] for m in msgs[:2]] == ['"on"', '"dim"'], msgs
    wait_status(b, d, c1, "sent")
    wait_status(b, d, c2, "sent")


@case(urbis_only=True)
def persistent_session_takes_the_command_while_offline(ctx):
    b = ctx.broker
    d = create(ctx, b, ctx.client_id("meter"))
    cid = d["id"] + "-s"
    c = ctx.raw(4)
    c.connect(cid, clean=False, username=d["id"], password=d["token"])
    c.subscribe([(down(d), 1)])
    c.disconnect()
    cmd = send(b, d, {"payload": {"read": True}})
    got = wait_status(b, d, cmd, "sent")
    assert got["error"] is None, got
    c = ctx.raw(4)
    c.connect(cid, clean=False, username=d["id"], password=d["token"])
    p = c.expect_publish()
    assert p.topic == down(d) and json.loads(p.payload) == {"read": True}, p


@case(urbis_only=True)
def bad_requests_name_the_field(ctx):
    b = ctx.broker
    d = create(ctx, b, ctx.client_id("bad"))
    path = "/api/v1/devices/%s/commands" % d["id"]
    for body, field in (({}, "payload"), ({"colour": "red"}, "colour"), ({"data": "!!"}, "data"),
                        ({"payload": 1, "data": "AA=="}, "data"), ({"payload": 1, "fPort": 0}, "fPort"),
                        ({"payload": 1, "ttl": -1}, "ttl"), ({"payload": 1, "confirmed": "yes"}, "confirmed"),
                        ({"payload": 1, "devEui": "xyz"}, "devEui"), ("{not json", "body")):
        status, p, h = api(b, "POST", path, body)
        assert status == 400 and p["field"] == field, (body, status, p)
        assert h.get("Content-Type") == "application/problem+json", h
    status, p, _ = api(b, "POST", "/api/v1/devices/nope-%s/commands" % ctx.run_id, {"payload": 1})
    assert status == 404, (status, p)
    status, p, _ = api(b, "GET", "/api/v1/devices/nope-%s/commands" % ctx.run_id)
    assert status == 404, (status, p)
    status, p, _ = api(b, "GET", path + "/00000000-0000-4000-8000-000000000000")
    assert status == 404, (status, p)
    status, p, _ = api(b, "GET", path + "?limit=5000")
    assert status == 400 and p["field"] == "limit", p
    # A LoRaWAN device whose id is not a DevEUI needs one.
    l = create(ctx, b, ctx.client_id("lora"), tags=["lorawan"])
    status, p, _ = api(b, "POST", "/api/v1/devices/%s/commands" % l["id"], {"payload": 1})
    assert status == 400 and p["field"] == "devEui", p


@case(urbis_only=True)
def cancel_while_queued_and_list_newest_first(ctx):
    b = ctx.broker
    d = create(ctx, b, ctx.client_id("cx"))
    c1 = send(b, d, {"payload": 1})
    c2 = send(b, d, {"payload": 2})
    c3 = send(b, d, {"payload": 3})
    status, page, _ = api(b, "GET", "/api/v1/devices/%s/commands?limit=2" % d["id"])
    assert status == 200 and page["total"] == 3, page
    assert [c["id"] for c in page["items"]] == [c3["id"], c2["id"]], page
    status, page, _ = api(b, "GET", "/api/v1/devices/%s/commands?limit=2&offset=2" % d["id"])
    assert [c["id"] for c in page["items"]] == [c1["id"]], page
    status, _, _ = api(b, "DELETE", "/api/v1/devices/%s/commands/%s" % (d["id"], c2["id"]))
    assert status == 204
    status, _, _ = api(b, "GET", "/api/v1/devices/%s/commands/%s" % (d["id"], c2["id"]))
    assert status == 404
    sub = device_sub(ctx, b, d)
    assert [m["payload"] for m in sub.wait(2)[:2]] == ["1", "3"], sub.messages
    wait_status(b, d, c3, "sent")
    status, p, _ = api(b, "DELETE", "/api/v1/devices/%s/commands/%s" % (d["id"], c3["id"]))
    assert status == 409 and p["field"] == "status", (status, p)


@case(urbis_only=True)
def too_many_queued_commands_is_429(ctx):
    b = ctx.broker
    d = create(ctx, b, ctx.client_id("full"))
    for i in range(100):
        send(b, d, {"payload": i})
    status, p, _ = api(b, "POST", "/api/v1/devices/%s/commands" % d["id"], {"payload": "one too many"})
    assert status == 429 and p["field"] == "commands", (status, p)


@case(urbis_only=True)
def expired_command_is_not_sent(ctx):
    b = ctx.broker
    d = create(ctx, b, ctx.client_id("ttl"))
    c = send(b, d, {"payload": "late", "ttl": 1})
    wait_status(b, d, c, "expired")
    sub = device_sub(ctx, b, d)
    c2 = send(b, d, {"payload": "fresh"})
    wait_status(b, d, c2, "sent")
    # The expired one never reaches the device: the first message is the fresh one.
    assert sub.wait(1)[0]["payload"] == '"fresh"', sub.messages


@case(urbis_only=True)
def history_and_queue_survive_a_restart(ctx):
    b = ctx.new_broker()
    d = create(ctx, b, "keep-" + ctx.run_id)
    sub = device_sub(ctx, b, d)
    c1 = send(b, d, {"payload": "before"})
    sub.wait(1)
    wait_status(b, d, c1, "sent")
    sub.close()
    c2 = send(b, d, {"payload": "while away"})
    b.restart()
    status, page, _ = api(b, "GET", "/api/v1/devices/%s/commands" % d["id"])
    assert status == 200 and page["total"] == 2, page
    assert [(c["id"], c["status"]) for c in page["items"]] == [(c2["id"], "queued"), (c1["id"], "sent")], page
    sub = device_sub(ctx, b, d)
    assert sub.wait(1)[0]["payload"] == '"while away"', sub.messages
    wait_status(b, d, c2, "sent")


@case(urbis_only=True)
def lorawan_command_is_a_chirpstack_enqueue(ctx):
    r = subprocess.run([ctx.urbis, "passwd"], input="cs-secret\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r
    hash_ = [l for l in r.stdout.split() if l.startswith("$pbkdf2")][0]
    b = ctx.new_broker(config={"mqtt": {
        "users": [{"name": "chirpstack", "password_hash": hash_}],
        "acl": [{"user": "chirpstack", "pattern": "application/#", "access": "readwrite"}]}})
    d = create(ctx, b, "00112233445566AA", tags=["lorawan"])
    ns = ctx.sub("application/+/device/+/command/down", broker=b, qos=1,
                 extra=["-u", "chirpstack", "-P", "cs-secret"])
    c = send(b, d, {"data": base64.b64encode(b"\x01\x02\x03").decode(), "fPort": 10, "confirmed": True,
                    "applicationId": "4f6c0a8e-app"})
    assert c["transport"] == "lorawan" and c["devEui"] == "00112233445566aa", c
    m = ns.wait(1)[0]
    assert m["topic"] == "application/4f6c0a8e-app/device/00112233445566aa/command/down", m
    body = json.loads(m["payload"])
    assert body == {"id": c["id"], "devEui": "00112233445566aa", "confirmed": True, "fPort": 10,
                    "data": "AQID"}, body
    got = wait_status(b, d, c, "sent")
    assert got["applicationId"] == "4f6c0a8e-app", got
    # Without an application id (none given, none learned from an uplink) it waits and says why.
    d2 = create(ctx, b, "00112233445566BB", tags=["lorawan"])
    c2 = send(b, d2, {"payload": {"on": True}})
    got = wait_for("a reason", lambda: (lambda g: g if g["error"] else None)(get(b, d2, c2)))
    assert got["status"] == "queued" and "applicationId" in got["error"], got


if __name__ == "__main__":
    run()
