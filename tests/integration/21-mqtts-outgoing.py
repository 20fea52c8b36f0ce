#!/usr/bin/env python3
"""Urbis as an MQTT client over TLS (mqtts://), against the real binary:
NGSI-LD notifications to mqtts:// endpoints, and a [[devices.upstream]] broker
reached over mqtts://.

Urbis runs a TLS MQTT listener with a throw-away certificate (pki.py) and is
told to trust that certificate's CA for the TLS connections it opens
([outgoing_tls] ca_file). A subscription whose endpoint is
mqtts://127.0.0.1:<tls port>/<topic> delivers its notifications over TLS to
Urbis's own broker, where mosquitto_sub (also over TLS) receives them. When
Urbis does not trust the CA, the delivery fails: the subscription shows
status "failed" and a lastFailureReason naming the certificate problem, the
notification is retried, and Urbis keeps running.

Upstream: a Mosquitto with a TLS listener (same throw-away certificate) plays
a ChirpStack installation's broker; Urbis trusting the CA connects over
mqtts:// and receives what is published there; trusting another CA, it does
not connect and logs the certificate problem.

Urbis-only: Mosquitto has no NGSI-LD API."""

import json

from harness import *
from ngsild import Api, quote
from pki import make_pki

_PKI = None


def pki():
    global _PKI
    if _PKI is None:
        _PKI = make_pki()
    return _PKI


def tls_urbis(ctx, trusted_ca):
    """Urbis with a TLS MQTT listener (certificate from pki()) trusting `trusted_ca` for outgoing TLS."""
    p = pki()
    port = free_port()
    config = {"mqtt": {"tls": {"enabled": True, "listen": "127.0.0.1:%d" % port,
                               "cert_file": p["server.crt"], "key_file": p["server.key"]}},
              "outgoing_tls": {"ca_file": p[trusted_ca]}}
    b = ctx.new_broker(config=config)
    b.tls_port = port
    eventually(lambda: port_open(port), "the TLS listener on %d" % port)
    return b


def sensor(eid, t):
    return {"id": eid, "type": "Sensor", "temperature": {"type": "Property", "value": t}}


def subscribe(api, sid, eid, uri, notifier_info=None):
    endpoint = {"uri": uri}
    if notifier_info:
        endpoint["notifierInfo"] = [{"key": k, "value": v} for k, v in notifier_info.items()]
    r = api.post("/subscriptions", {"id": sid, "type": "Subscription",
                                    "entities": [{"type": "Sensor", "id": eid}],
                                    "notification": {"format": "keyValues", "endpoint": endpoint}})
    assert r.status == 201, r


def notification_status(api, sid):
    r = api.get("/subscriptions/" + quote(sid))
    assert r.status == 200, r
    return r.json["notification"]


def temperatures(messages):
    """The temperatures carried by MQTT notification messages, in order (coalesced ones included)."""
    out = []
    for m in messages:
        n = json.loads(m["payload"])
        assert n["metadata"]["Content-Type"] == "application/json", n
        out += [e["temperature"] for e in n["body"]["data"]]
    return out


def wait_temperatures(sub, pred, what):
    """Pumps mosquitto_sub until pred(temperatures received) holds; returns them."""
    deadline = time.monotonic() + WAIT * 2
    while not pred(temperatures(sub.messages)):
        assert time.monotonic() < deadline and not sub.eof, "no %s; mosquitto_sub output:\n%s" % (
            what, "\n".join(sub.log[-20:]))
        sub._pump(0.2)
    return temperatures(sub.messages)


@case(urbis_only=True)
def mqtts_notifications_reach_a_tls_subscriber(ctx):
    b = tls_urbis(ctx, trusted_ca="ca.crt")
    api = ctx.own(Api(b.http_port))
    topic = ctx.topic("notify/tls")
    sub = ctx.own(MosquittoSub(b.tls_port, topic, qos=1, extra=["--cafile", pki()["ca.crt"]]))
    eid = "urn:ngsi-ld:Sensor:tls-" + ctx.run_id
    sid = "urn:ngsi-ld:Subscription:tls-" + ctx.run_id
    # QoS 1 over MQTT 3.1.1: success means Urbis's broker acknowledged the PUBLISH.
    subscribe(api, sid, eid, "mqtts://127.0.0.1:%d/%s" % (b.tls_port, topic),
              {"MQTT-Version": "mqtt3.1.1", "MQTT-QoS": "1"})
    assert api.post("/entities", sensor(eid, 20)).status == 201
    r = api.patch("/entities/%s/attrs" % quote(eid), {"temperature": {"type": "Property", "value": 21}})
    assert r.status == 204, r
    got = wait_temperatures(sub, lambda t: len(t) >= 2, "both notifications over TLS")
    assert got == [20, 21], got
    n = eventually(lambda: (lambda s: s if s.get("status") == "ok" and s.get("timesSent", 0) >= 1 else None)(
        notification_status(api, sid)), "status ok")
    assert n.get("timesFailed", 0) == 0, n
    assert "lastFailureReason" not in n, n
    # A second subscription to the same broker shares the TLS connection and works too.
    sid2 = sid + "-2"
    subscribe(api, sid2, eid, "mqtts://127.0.0.1:%d/%s" % (b.tls_port, topic))
    r = api.patch("/entities/%s/attrs" % quote(eid), {"temperature": {"type": "Property", "value": 22}})
    assert r.status == 204, r
    wait_temperatures(sub, lambda t: t.count(22) == 2, "the update notified to both subscriptions")


@case(urbis_only=True)
def untrusted_broker_certificate_is_a_reported_failure(ctx):
    # Urbis trusts only the rogue CA, which did not sign its own listener's certificate.
    b = tls_urbis(ctx, trusted_ca="rogue.crt")
    api = ctx.own(Api(b.http_port))
    topic = ctx.topic("notify/untrusted")
    sub = ctx.own(MosquittoSub(b.tls_port, topic, qos=1, extra=["--cafile", pki()["ca.crt"]]))
    eid = "urn:ngsi-ld:Sensor:untrusted-" + ctx.run_id
    sid = "urn:ngsi-ld:Subscription:untrusted-" + ctx.run_id
    subscribe(api, sid, eid, "mqtts://127.0.0.1:%d/%s" % (b.tls_port, topic))
    assert api.post("/entities", sensor(eid, 5)).status == 201
    n = eventually(lambda: (lambda s: s if s.get("status") == "failed" else None)(notification_status(api, sid)),
                   "the subscription to show the failed delivery", timeout=WAIT * 2)
    assert n["timesFailed"] >= 1 and "lastFailure" in n, n
    reason = n.get("lastFailureReason", "")
    assert "certificate verify failed" in reason, n
    assert "127.0.0.1:%d" % b.tls_port in reason, n
    # Retried, like any failure, and still failing for the same reason.
    eventually(lambda: notification_status(api, sid)["timesFailed"] >= 2, "a retry", timeout=WAIT * 2)
    assert not sub.messages, sub.messages
    assert b.alive()
    # The same notification over plain mqtt:// to the same broker works: only TLS trust was missing.
    sid2 = sid + "-plain"
    subscribe(api, sid2, eid, "mqtt://127.0.0.1:%d/%s" % (b.port, topic))
    r = api.patch("/entities/%s/attrs" % quote(eid), {"temperature": {"type": "Property", "value": 6}})
    assert r.status == 204, r
    wait_temperatures(sub, lambda t: 6 in t, "the notification over plain mqtt://")


def tls_mosquitto(ctx):
    """A separate Mosquitto (the 'ChirpStack' broker) with a plain and a TLS listener."""
    p = pki()
    tls_port = free_port()
    m = Broker(ctx, name="chirpstack", mosquitto=["listener %d 127.0.0.1" % tls_port,
                                                   "certfile " + p["server.crt"], "keyfile " + p["server.key"]])
    m.kind = "mosquitto"
    ctx._brokers.append(m)
    m.start()
    m.tls_port = tls_port
    eventually(lambda: port_open(tls_port), "mosquitto's TLS listener on %d" % tls_port)
    return m


def urbis_with_tls_upstream(ctx, m, trusted_ca, scheme="mqtts"):
    e = {"url": "%s://127.0.0.1:%d" % (scheme, m.tls_port), "client_id": ctx.client_id("tls-bridge")}
    b = Broker(ctx, config={"devices": {"upstream": [e]}, "outgoing_tls": {"ca_file": pki()[trusted_ca]}})
    b.kind = "urbis"
    ctx._brokers.insert(0, b)  # stopped before the upstream broker at case end
    return b.start()


def upstream(b):
    return http_get_json(b.http_port, "/api/v1/health")[2]["upstream"][0]


@case(urbis_only=True)
def upstream_broker_over_tls(ctx):
    m = tls_mosquitto(ctx)
    for scheme in ("mqtts", "ssl"):
        b = urbis_with_tls_upstream(ctx, m, "ca.crt", scheme)
        eventually(lambda: upstream(b)["connected"], "Urbis connected to the upstream broker over TLS", timeout=30)
        # An uplink for a device Urbis does not know: received over TLS, then refused (and acknowledged).
        before = upstream(b)
        mosquitto_pub(m.port, "application/1/device/%s/event/up" % ("00" * 8), '{"fCnt": 1}', qos=1)
        eventually(lambda: upstream(b)["received"] == before["received"] + 1, "the uplink received over TLS")
        b.stop()
        ctx._brokers.remove(b)
        b.cleanup()


@case(urbis_only=True)
def untrusted_upstream_broker_is_not_connected(ctx):
    m = tls_mosquitto(ctx)
    b = urbis_with_tls_upstream(ctx, m, "rogue.crt")
    eventually(lambda: "certificate verify failed" in b.log_tail(), "the certificate problem in the log", timeout=30)
    assert not upstream(b)["connected"], upstream(b)
    assert "cannot connect" in b.log_tail(), b.log_tail()
    assert b.alive()


if __name__ == "__main__":
    run()
