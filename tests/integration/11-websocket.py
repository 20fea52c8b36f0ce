#!/usr/bin/env python3
"""MQTT over WebSocket (ws://host:httpport/mqtt) and the HTTP health endpoint.

Against the peer, Mosquitto gets a `protocol websockets` listener on the HTTP port
when it was built with WebSocket support (Debian's 2.0.11 is); otherwise the
WebSocket cases are skipped there."""

from harness import *

_WS_SUPPORT = None


def ws_broker(ctx):
    """The shared broker for urbis; for the peer, one with a websockets listener."""
    if ctx.is_urbis:
        return ctx.broker
    b = ctx.new_broker(start=False)
    b.mosquitto_lines = ["listener %d 127.0.0.1" % b.http_port, "protocol websockets"]
    try:
        b.start()
    except AssertionError as e:
        raise Skip("mosquitto without WebSocket support (%s)" % str(e).splitlines()[0])
    if "Websockets support is currently disabled" in b.log_tail():
        raise Skip("mosquitto without WebSocket support")
    return b


@case
def websocket_publish_tcp_receives(ctx):
    b = ws_broker(ctx)
    t = ctx.topic("ws/to-tcp")
    s = ctx.sub(t, broker=b, qos=1)
    n = ctx.node(url=b.ws_url, options={"protocolVersion": 5})
    n.publish(t, "over-ws", {"qos": 1})
    m = s.wait(1)[0]
    assert (m["payload"], m["qos"]) == ("over-ws", 1), m


@case
def tcp_publish_websocket_receives(ctx):
    b = ws_broker(ctx)
    t = ctx.topic("ws/from-tcp")
    n = ctx.node(url=b.ws_url, options={"protocolVersion": 4})
    n.subscribe(t, {"qos": 2})
    ctx.pub(t, "to-ws", broker=b, qos=2)
    m = n.wait_messages(1)[0]
    assert (m["payload"], m["qos"]) == ("to-ws", 2), m


@case
def websocket_retained_and_will(ctx):
    b = ws_broker(ctx)
    t = ctx.topic("ws/retained")
    wt = ctx.topic("ws/will")
    ctx.pub(t, "kept", broker=b, retain=True, qos=1)
    s = ctx.sub(wt, broker=b)
    n = ctx.node(url=b.ws_url, options={"protocolVersion": 5, "will": {"topic": wt, "payload": "ws-gone"}})
    n.subscribe(t, {"qos": 1})
    m = n.wait_messages(1)[0]
    assert (m["payload"], m["retain"]) == ("kept", True), m
    n.proc.kill()
    assert s.wait(1)[0]["payload"] == "ws-gone"


@case
def websocket_many_messages_in_order(ctx):
    b = ws_broker(ctx)
    t = ctx.topic("ws/order")
    s = ctx.sub(t, broker=b, qos=1)
    n = ctx.node(url=b.ws_url, options={"protocolVersion": 5})
    for i in range(50):
        n.publish(t, "m%d" % i, {"qos": 1}, wait=False)
    msgs = s.wait(50)
    assert [m["payload"] for m in msgs] == ["m%d" % i for i in range(50)]


@case
def websocket_large_message(ctx):
    b = ws_broker(ctx)
    t = ctx.topic("ws/large")
    n = ctx.node(url=b.ws_url, options={"protocolVersion": 5})
    n.subscribe(t, {"qos": 1})
    big = "L" * 200000  # spans many WebSocket frames / TCP segments
    ctx.raw_connect(4, broker=b).publish(t, big.encode(), qos=1)
    m = n.wait_messages(1)[0]
    assert m["payload"] == big, "payload of %d bytes came back as %d" % (len(big), len(m["payload"]))


@case(urbis_only=True)
def websocket_wrong_path_refused(ctx):
    b = ctx.broker
    n = NodeClient("ws://127.0.0.1:%d/not-mqtt" % b.http_port, {"protocolVersion": 5}, wait_connect=False)
    ctx.own(n)
    ev = n.wait_event(lambda e: e["ev"] in ("connect", "error", "close"), "connect outcome")
    assert ev["ev"] != "connect", "MQTT accepted on a path other than /mqtt"


@case(urbis_only=True)
def health_endpoint(ctx):
    status, ctype, body = http_get_json(ctx.broker.http_port, "/api/v1/health")
    assert status == 200, status
    assert "json" in ctype, ctype
    assert body.get("status") == "ok", body


@case(urbis_only=True)
def health_endpoint_while_mqtt_busy(ctx):
    t = ctx.topic("ws/busy")
    subs = [ctx.raw_connect(4) for _ in range(5)]
    for s in subs:
        s.subscribe(t)
    pub = ctx.raw_connect(4)
    for i in range(200):
        pub.send(publish_packet(t, b"%d" % i))
    status, _, body = http_get_json(ctx.broker.http_port, "/api/v1/health")
    assert status == 200 and body.get("status") == "ok", body
    for s in subs:
        assert [s.expect_publish().payload for _ in range(200)] == [b"%d" % i for i in range(200)]


if __name__ == "__main__":
    run()
