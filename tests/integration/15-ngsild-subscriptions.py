#!/usr/bin/env python3
"""NGSI-LD subscriptions against the real binary: a subscription created over
/ngsi-ld/v1/subscriptions gets a notification (POSTed to a small HTTP receiver
run here on 127.0.0.1) for every matching entity change, in the order of the
changes; a receiver that was down gets the notification once it is back
(retry), with the subscription's status showing the failure meanwhile; the
subscription and its counters survive a restart; bad documents are refused
with a ProblemDetails naming the member.

Urbis-only: Mosquitto has no NGSI-LD API."""

import http.server
import json
import queue
import threading
import urllib.error
import urllib.parse
import urllib.request

from harness import *

API = "/ngsi-ld/v1"


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST: (path, headers, JSON body)."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.received = queue.Queue()
        self.server = None

    def start(self):
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                received.put((self.path, dict(self.headers), json.loads(body.decode())))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def url(self, path="/notify"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def next(self, timeout=WAIT * 3):
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no notification within %ss" % timeout)


def request(b, method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    h = {"Content-Type": "application/json"} if body is not None else {}
    h.update(headers or {})
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (b.http_port, path), data=data, method=method,
                                 headers=h)
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            raw = r.read().decode()
            return r.status, dict(r.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read().decode()
        return e.code, dict(e.headers), json.loads(raw) if raw else None


def q(s):
    return urllib.parse.quote(s, safe="")


def create_entity(b, entity, tenant=None):
    status, _, body = request(b, "POST", API + "/entities", entity,
                              {"NGSILD-Tenant": tenant} if tenant else None)
    assert status == 201, (status, body)


def update_attrs(b, eid, attrs):
    status, _, body = request(b, "PATCH", API + "/entities/%s/attrs" % q(eid), attrs)
    assert status == 204, (status, body)


def subscribe(b, sub, tenant=None):
    status, headers, body = request(b, "POST", API + "/subscriptions", sub,
                                    {"NGSILD-Tenant": tenant} if tenant else None)
    assert status == 201, (status, body)
    assert headers["Location"] == API + "/subscriptions/" + sub["id"], headers
    # no body, so no Content-Type claiming JSON
    assert "Content-Type" not in headers, headers
    return sub["id"]


def get_subscription(b, sid):
    status, _, body = request(b, "GET", API + "/subscriptions/" + q(sid))
    assert status == 200, (status, body)
    return body


def require_routes(b):
    """Skips while `urbis serve` does not register the NGSI-LD entity and
    subscription routes yet: the router's own 404 (about:blank) means no such
    route, unlike an NGSI-LD ResourceNotFound from the routes themselves."""
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
    for path in (API + "/subscriptions/urn:ngsi-ld:Probe:none", API + "/entities/urn:ngsi-ld:Probe:none"):
        status, _, p = request(b, "GET", path)
        if status == 404 and isinstance(p, dict) and p.get("type") == "about:blank":
            raise Skip("NGSI-LD routes are not wired into urbis serve (%s)" % path)


def sensor(eid, t):
    return {"id": eid, "type": "Sensor", "temperature": {"type": "Property", "value": t}}


@case(urbis_only=True)
def notification_for_matching_changes_in_order(ctx):
    b = ctx.broker
    require_routes(b)
    r = Receiver().start()
    try:
        sid = subscribe(b, {"id": "urn:ngsi-ld:Subscription:order-" + ctx.run_id, "type": "Subscription",
                            "entities": [{"type": "Sensor", "idPattern": ctx.run_id}],
                            "watchedAttributes": ["temperature"],
                            "notification": {"format": "keyValues", "endpoint": {"uri": r.url()}}})
        eid = "urn:ngsi-ld:Sensor:%s" % ctx.run_id
        create_entity(b, sensor(eid, 0))
        for t in range(1, 11):
            update_attrs(b, eid, {"temperature": {"type": "Property", "value": t}})
        # Changes waiting behind a notification in flight may come coalesced,
        # several entities in one notification's "data", still in order.
        seen = []
        notifications = 0
        while len(seen) < 11:
            path, headers, n = r.next()
            notifications += 1
            assert path == "/notify", path
            assert n["type"] == "Notification" and n["subscriptionId"] == sid, n
            assert n["id"].startswith("urn:ngsi-ld:Notification:"), n
            for e in n["data"]:
                assert e["id"] == eid, n
                seen.append(e["temperature"])
        assert seen == list(range(11)), seen
        # timesSent counts notifications, not entities.
        deadline = time.monotonic() + WAIT
        while True:
            s = get_subscription(b, sid)
            if s["notification"].get("timesSent") == notifications:
                break
            assert time.monotonic() < deadline, (notifications, s["notification"])
            time.sleep(0.05)
        assert s["status"] == "active", s
        assert s["notification"]["status"] == "ok", s["notification"]
        # A change the subscription does not watch is not notified: the next one that is comes first.
        status, _, body = request(b, "POST", API + "/entities/%s/attrs" % q(eid),
                                  {"humidity": {"type": "Property", "value": 50}})
        assert status == 204, (status, body)
        update_attrs(b, eid, {"temperature": {"type": "Property", "value": 99}})
        _, _, n = r.next()
        assert n["data"][0]["temperature"] == 99, n
    finally:
        r.stop()


@case(urbis_only=True)
def receiver_down_then_up_gets_the_notification(ctx):
    b = ctx.broker
    require_routes(b)
    r = Receiver()  # not started yet: the port refuses connections
    sid = subscribe(b, {"id": "urn:ngsi-ld:Subscription:retry-" + ctx.run_id, "type": "Subscription",
                        "entities": [{"type": "Sensor", "id": "urn:ngsi-ld:Sensor:retry-" + ctx.run_id}],
                        "notification": {"endpoint": {"uri": r.url("/late")}}})
    create_entity(b, sensor("urn:ngsi-ld:Sensor:retry-" + ctx.run_id, 7))
    deadline = time.monotonic() + WAIT * 3
    while True:
        n = get_subscription(b, sid)["notification"]
        if n.get("status") == "failed":
            break
        assert time.monotonic() < deadline, n
        time.sleep(0.1)
    assert n["timesFailed"] >= 1 and "lastFailure" in n, n
    r.start()
    try:
        path, _, body = r.next()
        assert path == "/late", path
        assert body["data"][0]["temperature"]["value"] == 7, body
        deadline = time.monotonic() + WAIT
        while get_subscription(b, sid)["notification"].get("status") != "ok":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        r.stop()


@case(urbis_only=True)
def subscription_survives_restart(ctx):
    b = ctx.new_broker()
    require_routes(b)
    r = Receiver().start()
    try:
        sid = subscribe(b, {"id": "urn:ngsi-ld:Subscription:restart", "type": "Subscription",
                            "entities": [{"type": "Sensor"}], "q": "temperature>10",
                            "notification": {"endpoint": {"uri": r.url()}}}, tenant="city-a")
        create_entity(b, sensor("urn:ngsi-ld:Sensor:r1", 20), tenant="city-a")
        r.next()
        b.restart()
        status, _, body = request(b, "GET", API + "/subscriptions/" + q(sid), headers={"NGSILD-Tenant": "city-a"})
        assert status == 200, (status, body)
        assert body["q"] == "temperature>10", body
        assert body["notification"]["timesSent"] >= 1, body["notification"]
        create_entity(b, sensor("urn:ngsi-ld:Sensor:r2", 5), tenant="city-a")   # q does not match
        create_entity(b, sensor("urn:ngsi-ld:Sensor:r3", 30), tenant="city-a")
        # Delivery is at least once: r1 may come again if the restart came
        # between its arrival and the notifier recording the success.
        while True:
            _, headers, n = r.next()
            ids = [e["id"] for e in n["data"]]
            assert "urn:ngsi-ld:Sensor:r2" not in ids, n
            if ids != ["urn:ngsi-ld:Sensor:r1"]:
                break
        assert ids == ["urn:ngsi-ld:Sensor:r3"], n
        assert headers.get("NGSILD-Tenant") == "city-a", headers
    finally:
        r.stop()


@case(urbis_only=True)
def crud_and_errors(ctx):
    b = ctx.broker
    require_routes(b)
    base = {"type": "Subscription", "entities": [{"type": "Sensor"}],
            "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}}
    sid = "urn:ngsi-ld:Subscription:crud-" + ctx.run_id
    subscribe(b, dict(base, id=sid))
    status, _, body = request(b, "POST", API + "/subscriptions", dict(base, id=sid))
    assert status == 409 and body["type"].endswith("/AlreadyExists"), (status, body)
    bad = dict(base, entities=[{"id": "urn:x:1"}])
    status, _, body = request(b, "POST", API + "/subscriptions", bad)
    assert status == 400 and body["type"].endswith("/BadRequestData"), (status, body)
    assert "entities[0].type" in body["detail"], body
    bad = dict(base, notification={"endpoint": {"uri": "nowhere"}})
    status, _, body = request(b, "POST", API + "/subscriptions", bad)
    assert status == 400 and "notification.endpoint.uri" in body["detail"], (status, body)
    status, _, body = request(b, "PATCH", API + "/subscriptions/" + q(sid), {"isActive": False, "throttling": 5})
    assert status == 204, (status, body)
    s = get_subscription(b, sid)
    assert s["status"] == "paused" and s["throttling"] == 5, s
    status, headers, body = request(b, "GET", API + "/subscriptions?count=true&limit=1")
    assert status == 200 and len(body) == 1 and int(headers["NGSILD-Results-Count"]) >= 1, (status, headers, body)
    status, _, body = request(b, "GET", API + "/subscriptions", headers={"NGSILD-Tenant": "no-such-" + ctx.run_id})
    assert status == 404 and body["type"].endswith("/NonexistentTenant"), (status, body)
    status, _, _ = request(b, "DELETE", API + "/subscriptions/" + q(sid))
    assert status == 204
    status, _, body = request(b, "GET", API + "/subscriptions/" + q(sid))
    assert status == 404 and body["type"].endswith("/ResourceNotFound"), (status, body)


if __name__ == "__main__":
    run()
