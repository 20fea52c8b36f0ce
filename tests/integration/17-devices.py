#!/usr/bin/env python3
"""Devices: the registry's REST API (/api/v1/devices), per-device tokens, and the
MQTT identity of a device: user name = device id, password = token; a device
publishes only to urbis/<tenant>/<id>/up[/<format>] and subscribes only to
urbis/<tenant>/<id>/down. Wrong or revoked tokens get CONNACK 0x86 (3.1.1: 4),
disabled devices 0x87 (3.1.1: 5), foreign topics PUBACK/SUBACK 0x87. Bulk
import reports each row; `urbis device` drives the same API.

Urbis-only: Mosquitto has no device registry."""

import http.client
import json
import os
import subprocess

from harness import *

TENANT = "city"


def api(b, method, path, body=None, content_type="application/json", token=None):
    conn = http.client.HTTPConnection("127.0.0.1", b.http_port, timeout=10)
    headers = {}
    if body is not None:
        headers["Content-Type"] = content_type
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read().decode()
    conn.close()
    return r.status, (json.loads(data) if data else None), dict(r.getheaders())


def create(ctx, short, tenant=TENANT, **fields):
    did = ctx.client_id(short)
    body = {"id": did, "tenant": tenant}
    body.update(fields)
    status, d, headers = api(ctx.broker, "POST", "/api/v1/devices", body)
    assert status == 201, (status, d)
    assert headers.get("Location") == "/api/v1/devices/" + did, headers
    return d


def up(d):
    return "urbis/%s/%s/up" % (d["tenant"], d["id"])


def down(d):
    return "urbis/%s/%s/down" % (d["tenant"], d["id"])


def device_connect(ctx, d, token=None, version=5, expect_rc=0):
    c = ctx.raw(version)
    # A client id per connection: a second CONNECT must not take the first one over.
    c.connect("%s-%d" % (d["id"], len(ctx._owned)), username=d["id"], password=token or d["token"],
              expect_rc=expect_rc)
    return c


@case(urbis_only=True)
def create_then_publish_as_the_device_with_mosquitto_pub(ctx):
    d = create(ctx, "m1", name="Meter 1", location={"type": "Point", "coordinates": [7.68, 45.07]},
               tags=["water", "pole"])
    assert d["token"].startswith("udt_") and len(d["token"]) >= 26, d
    assert d["state"] == "provisioned" and d["hasToken"] is True, d
    assert d["topics"] == {"up": up(d), "down": down(d)}, d
    # The token is shown once: reading the device never returns it.
    status, got, _ = api(ctx.broker, "GET", "/api/v1/devices/" + d["id"])
    assert status == 200 and "token" not in got, got
    assert got["location"]["coordinates"] == [7.68, 45.07] and got["tags"] == ["pole", "water"], got
    sub = ctx.sub("urbis/%s/#" % TENANT, qos=1)
    for topic, payload in ((up(d), '{"v":1}'), (up(d) + "/senml", '[{"n":"v","v":1}]')):
        ctx.pub(topic, payload, qos=1, extra=["-u", d["id"], "-P", d["token"]])
    got_topics = [m["topic"] for m in sub.wait(2)]
    assert got_topics == [up(d), up(d) + "/senml"], got_topics
    status, got, _ = api(ctx.broker, "GET", "/api/v1/devices/" + d["id"])
    assert got["state"] == "active" and got["lastSeen"], got


@case(urbis_only=True)
def publishing_outside_own_up_topic_is_refused(ctx):
    a = create(ctx, "pa")
    b = create(ctx, "pb")
    c = device_connect(ctx, a)
    for topic in (up(b), down(a), up(a) + "/x/y", "urbis/other/%s/up" % a["id"], "anything"):
        ack = c.publish(topic, b"x", qos=1)
        assert ack.rc == RC_NOT_AUTHORIZED, (topic, ack)
    ack = c.publish(up(a), b'{"ok": true}', qos=1)
    assert ack.rc in (0, 0x10), ack
    assert c.is_open()
    # MQTT 3.1.1 cannot say no: the message is acknowledged and dropped.
    sub = ctx.sub(up(b))
    c3 = device_connect(ctx, a, version=4)
    c3.publish(up(b), b"forged", qos=1)
    ctx.pub(up(b), "sentinel", extra=["-u", b["id"], "-P", b["token"]])
    msgs = sub.wait(1)
    assert [m["payload"] for m in msgs] == ["sentinel"], msgs


@case(urbis_only=True)
def wrong_missing_or_unknown_credentials_are_bad_user_or_password(ctx):
    d = create(ctx, "wt")
    device_connect(ctx, d, token="udt_wrong", version=5, expect_rc=RC_BAD_USER_OR_PASSWORD)
    device_connect(ctx, d, token="udt_wrong", version=4, expect_rc=4)
    c = ctx.raw(5)
    c.connect("nopass", username=d["id"], expect_rc=RC_BAD_USER_OR_PASSWORD)
    r = ctx.pub(up(d), "x", qos=1, extra=["-u", d["id"], "-P", "nope"], check=False)
    assert r.returncode != 0, r


@case(urbis_only=True)
def revoked_token_is_refused(ctx):
    d = create(ctx, "rv")
    device_connect(ctx, d).disconnect()
    status, _, _ = api(ctx.broker, "DELETE", "/api/v1/devices/%s/token" % d["id"])
    assert status == 204
    device_connect(ctx, d, expect_rc=RC_BAD_USER_OR_PASSWORD)
    status, got, _ = api(ctx.broker, "GET", "/api/v1/devices/" + d["id"])
    assert got["hasToken"] is False, got


@case(urbis_only=True)
def rotated_token_works_and_the_old_one_stops_at_once(ctx):
    d = create(ctx, "rt")
    old_session = device_connect(ctx, d)
    status, r, _ = api(ctx.broker, "POST", "/api/v1/devices/%s/token" % d["id"])
    assert status == 200 and r["token"] != d["token"], (status, r)
    device_connect(ctx, d, expect_rc=RC_BAD_USER_OR_PASSWORD)
    c = device_connect(ctx, d, token=r["token"])
    assert c.publish(up(d), b'{"v": 1}', qos=1).rc in (0, 0x10)
    # A connection made with the old token may no longer publish.
    assert old_session.publish(up(d), b"2", qos=1).rc == RC_NOT_AUTHORIZED


@case(urbis_only=True)
def disabled_and_quarantined_devices_are_not_authorized(ctx):
    d = create(ctx, "ds")
    for state in ("disabled", "quarantined"):
        status, got, _ = api(ctx.broker, "PATCH", "/api/v1/devices/" + d["id"], {"state": state})
        assert status == 200 and got["state"] == state, (status, got)
        device_connect(ctx, d, expect_rc=RC_NOT_AUTHORIZED)
        device_connect(ctx, d, version=4, expect_rc=5)
        # A wrong token still learns nothing about the state.
        device_connect(ctx, d, token="udt_x", expect_rc=RC_BAD_USER_OR_PASSWORD)
    status, got, _ = api(ctx.broker, "PATCH", "/api/v1/devices/" + d["id"], {"state": "active"})
    assert status == 200
    device_connect(ctx, d)


@case(urbis_only=True)
def subscribe_only_to_own_down_topic(ctx):
    a = create(ctx, "sa")
    b = create(ctx, "sb")
    c = device_connect(ctx, a)
    c.subscribe((down(a), 1), expect_codes=[1])
    c.subscribe([(down(b), 1), ("urbis/%s/#" % TENANT, 0), ("#", 0), (up(a), 0)],
                expect_codes=[RC_NOT_AUTHORIZED] * 4)
    # An operator (anonymous on this test broker) sends a downlink; the device gets it.
    ctx.pub(down(a), "open-valve", qos=1)
    p = c.expect_publish()
    assert p.topic == down(a) and p.payload == b"open-valve", p


@case(urbis_only=True)
def rest_errors_name_the_field(ctx):
    b = ctx.broker
    for body, field in (({"tenant": TENANT}, "id"), ({"id": "a/b"}, "id"), ({"id": "x", "state": "asleep"}, "state"),
                        ({"id": "x", "location": {"type": "Point", "coordinates": [500, 1]}},
                         "location.coordinates[0]"),
                        ({"id": "x", "colour": "red"}, "colour")):
        status, p, h = api(b, "POST", "/api/v1/devices", body)
        assert status == 400 and p["field"] == field, (body, status, p)
        assert h.get("Content-Type") == "application/problem+json", h
    status, p, _ = api(b, "POST", "/api/v1/devices", "{not json")
    assert status == 400 and p["field"] == "body", p
    d = create(ctx, "dup")
    status, p, _ = api(b, "POST", "/api/v1/devices", {"id": d["id"], "tenant": "elsewhere"})
    assert status == 409 and p["field"] == "id", (status, p)
    status, p, _ = api(b, "GET", "/api/v1/devices/nope-%s" % ctx.run_id)
    assert status == 404, (status, p)
    status, p, _ = api(b, "PATCH", "/api/v1/devices/" + d["id"], {"tenant": "other"})
    assert status == 400 and p["field"] == "tenant", p
    status, p, _ = api(b, "GET", "/api/v1/devices?limit=5000")
    assert status == 400 and p["field"] == "limit", p
    status, _, _ = api(b, "DELETE", "/api/v1/devices/" + d["id"])
    assert status == 204
    status, _, _ = api(b, "GET", "/api/v1/devices/" + d["id"])
    assert status == 404


@case(urbis_only=True)
def list_filters_and_pages_with_total(ctx):
    tenant = "list-" + ctx.run_id
    for i in range(7):
        create(ctx, "l%d" % i, tenant=tenant, profile="lpp" if i % 2 else "senml", tags=["pole"] if i < 3 else [],
               name="north %d" % i if i < 2 else "south")
    b = ctx.broker
    ids = []
    for offset in range(0, 10, 3):
        status, page, _ = api(b, "GET", "/api/v1/devices?tenant=%s&limit=3&offset=%d" % (tenant, offset))
        assert status == 200 and page["total"] == 7, page
        ids += [d["id"] for d in page["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 7, ids
    def total(q):
        status, page, _ = api(b, "GET", "/api/v1/devices?tenant=%s&%s" % (tenant, q))
        assert status == 200, page
        return page["total"]
    assert total("profile=lpp") == 3
    assert total("tag=pole") == 3
    assert total("name=north") == 2
    assert total("state=provisioned") == 7
    assert total("state=active") == 0


@case(urbis_only=True)
def import_csv_reports_each_row_and_tokens_work(ctx):
    t = "imp" + ctx.run_id
    csv = ("id,tenant,name,latitude,longitude,tags\n"
           "%s-1,%s,\"Main St, north\",45.07,7.68,air;street\n"
           "bad/id,%s,x,,,\n"
           "%s-3,%s,y,91,7,\n"
           "%s-4,%s,z,,,\n") % (t, t, t, t, t, t, t)
    status, rep, _ = api(ctx.broker, "POST", "/api/v1/devices/import", csv, content_type="text/csv")
    assert status == 200, (status, rep)
    assert rep["total"] == 4 and rep["created"] == 2 and rep["failed"] == 2, rep
    rows = rep["rows"]
    assert [r["row"] for r in rows] == [1, 2, 3, 4]
    assert [r["ok"] for r in rows] == [True, False, False, True], rows
    assert rows[1]["id"] == "bad/id" and rows[1]["error"].startswith("id:") and rows[1]["token"] is None, rows[1]
    assert rows[2]["error"].startswith("location.coordinates[1]"), rows[2]
    d = {"id": rows[0]["id"], "tenant": t, "token": rows[0]["token"]}
    c = device_connect(ctx, d)
    assert c.publish(up(d), b'{"v": 1}', qos=1).rc in (0, 0x10)
    status, got, _ = api(ctx.broker, "GET", "/api/v1/devices/" + d["id"])
    assert got["name"] == "Main St, north" and got["tags"] == ["air", "street"], got
    # JSON import; a duplicate is reported on its own row.
    status, rep, _ = api(ctx.broker, "POST", "/api/v1/devices/import", [{"id": t + "-9"}, {"id": t + "-1"}])
    assert status == 200 and [r["ok"] for r in rep["rows"]] == [True, False], rep
    # A misspelt column fails the whole import.
    status, p, _ = api(ctx.broker, "POST", "/api/v1/devices/import", "id,colour\nx,red\n", content_type="text/csv")
    assert status == 400 and "colour" in p["detail"], p


@case(urbis_only=True)
def devices_and_tokens_survive_a_restart(ctx):
    b = ctx.new_broker()
    status, d, _ = api(b, "POST", "/api/v1/devices", {"id": "keep-" + ctx.run_id, "tenant": TENANT})
    assert status == 201
    c = ctx.raw(5, broker=b)
    c.connect("k1", username=d["id"], password=d["token"])
    c.disconnect()
    b.restart()
    status, got, _ = api(b, "GET", "/api/v1/devices/" + d["id"])
    assert status == 200 and got["state"] == "active" and got["lastSeen"], got
    c = ctx.raw(5, broker=b)
    c.connect("k2", username=d["id"], password=d["token"])
    c2 = ctx.raw(5, broker=b)
    c2.connect("k3", username=d["id"], password="udt_wrong", expect_rc=RC_BAD_USER_OR_PASSWORD)


@case(urbis_only=True)
def admin_token_guards_the_api(ctx):
    b = ctx.new_broker(config={"http": {"admin_token": "s3cret-admin"}})
    status, p, h = api(b, "GET", "/api/v1/devices")
    assert status == 401 and "Bearer" in h.get("WWW-Authenticate", ""), (status, p, h)
    status, p, _ = api(b, "GET", "/api/v1/devices", token="wrong")
    assert status == 401
    status, d, _ = api(b, "POST", "/api/v1/devices", {"id": "g1"}, token="s3cret-admin")
    assert status == 201 and d["tenant"] == "default", d
    # Other routes are unaffected.
    status, _, _ = api(b, "GET", "/api/v1/health")
    assert status == 200


@case(urbis_only=True)
def cli_against_the_running_server(ctx):
    b = ctx.new_broker(config={"http": {"admin_token": "cli-admin"}})
    url = "http://127.0.0.1:%d" % b.http_port
    env = dict(os.environ, URBIS_ADMIN_TOKEN="cli-admin")
    def cli(*args, check=0):
        r = subprocess.run([ctx.urbis, "device"] + list(args) + ["--url", url], capture_output=True, text=True,
                           timeout=30, env=env)
        assert r.returncode == check, (args, r.returncode, r.stdout, r.stderr)
        return r.stdout + r.stderr
    out = cli("add", "cli-1", "--tenant", "ops", "--name", "Pump", "--lat", "45.1", "--lon", "7.7", "--tag", "pump")
    token = [l.split()[1] for l in out.splitlines() if l.startswith("token:")][0]
    assert token.startswith("udt_"), out
    c = ctx.raw(5, broker=b)
    c.connect("cli", username="cli-1", password=token)
    c.disconnect()
    out = cli("list")
    assert "cli-1" in out and "ops" in out and "1 of 1 devices" in out, out
    out = cli("show", "cli-1")
    assert "urbis/ops/cli-1/up" in out and "Pump" in out, out
    path = os.path.join(b.dir, "devices.csv")
    with open(path, "w") as f:
        f.write("id,tenant\ncli-2,ops\nbad id,ops\n")
    out = cli("import", path, check=1)  # one bad row: exit code 1, the rest created
    assert "1 created, 1 failed" in out and "cli-2" in out, out
    out = cli("rotate", "cli-1")
    new_token = [l.split()[1] for l in out.splitlines() if l.startswith("token:")][0]
    c = ctx.raw(5, broker=b)
    c.connect("cli", username="cli-1", password=token, expect_rc=RC_BAD_USER_OR_PASSWORD)
    c = ctx.raw(5, broker=b)
    c.connect("cli", username="cli-1", password=new_token)
    c.disconnect()
    out = cli("list", "--json")
    assert json.loads(out)["total"] == 2, out
    cli("rm", "cli-2")
    out = cli("rm", "cli-2", check=1)
    assert "404" in out, out
    # Without the admin token the server refuses, and the CLI says so.
    env.pop("URBIS_ADMIN_TOKEN")
    out = cli("list", check=1)
    assert "401" in out, out


if __name__ == "__main__":
    run()
