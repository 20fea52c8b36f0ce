#!/usr/bin/env python3
"""Will messages: sent on abnormal close, not on DISCONNECT, v5 0x04, will delay."""

from harness import *


def _will_watcher(ctx, name):
    """A subscriber on a will topic and a sentinel; returns (client, will topic, sentinel)."""
    wt = ctx.topic("will/%s" % name)
    sentinel = ctx.topic("will/%s-end" % name)
    c = ctx.raw_connect(4)
    c.subscribe([(wt, 1), (sentinel, 0)])
    return c, wt, sentinel


@case
def will_sent_on_abnormal_close(ctx):
    w, wt, _ = _will_watcher(ctx, "abnormal")
    c = ctx.raw(4)
    c.connect(ctx.client_id("w1"), will={"topic": wt, "payload": "offline", "qos": 1})
    c.close()  # TCP close without DISCONNECT
    p = w.expect_publish()
    assert (p.topic, p.payload, p.qos) == (wt, b"offline", 1), p


@case
def will_retained_is_stored(ctx):
    wt = ctx.topic("will/retained")
    c = ctx.raw(4)
    c.connect(ctx.client_id("wr"), will={"topic": wt, "payload": "lost", "retain": True})
    c.close()
    # Once fired, a retained will is what a later subscriber finds.
    eventually(lambda: _first_retained(ctx, wt) == b"lost", "retained will")


def _first_retained(ctx, t):
    sentinel = ctx.topic("will/probe-end")
    s = RawClient(ctx.broker.port)
    try:
        s.connect(ctx.client_id("probe"))
        s.subscribe([(sentinel, 0)])
        s.subscribe(t)
        mosquitto_pub(ctx.broker.port, sentinel, "x")
        got = s.collect_until(sentinel)
        return got[0].payload if got else None
    finally:
        s.close()


@case
def no_will_after_disconnect(ctx):
    w, wt, sentinel = _will_watcher(ctx, "clean")
    c = ctx.raw(4)
    c.connect(ctx.client_id("w2"), will={"topic": wt, "payload": "should-not"})
    c.disconnect()
    time.sleep(0.5)  # let the broker process the close; the sentinel bounds the check
    ctx.pub(sentinel, "end")
    got = w.collect_until(sentinel)
    assert got == [], "will published after a normal DISCONNECT: %r" % got


@case
def no_will_after_v5_disconnect_0x00(ctx):
    w, wt, sentinel = _will_watcher(ctx, "clean5")
    c = ctx.raw(5)
    c.connect(ctx.client_id("w3"), will={"topic": wt, "payload": "should-not"})
    c.disconnect(rc=0)
    time.sleep(0.5)
    ctx.pub(sentinel, "end")
    assert w.collect_until(sentinel) == []


@case
def v5_disconnect_with_will_0x04(ctx):
    w, wt, _ = _will_watcher(ctx, "rc04")
    c = ctx.raw(5)
    c.connect(ctx.client_id("w4"), will={"topic": wt, "payload": "asked", "qos": 1,
                                         "props": {P_CONTENT_TYPE: "text/plain"}})
    c.disconnect(rc=RC_DISCONNECT_WITH_WILL)
    p = w.expect_publish()
    assert p.payload == b"asked", p


@case
def will_properties_passed_through(ctx):
    wt = ctx.topic("will/props")
    w = ctx.raw_connect(5)
    w.subscribe(wt)
    c = ctx.raw(5)
    c.connect(ctx.client_id("wp"), will={"topic": wt, "payload": "p", "props": [
        (P_CONTENT_TYPE, "text/plain"), (P_USER_PROPERTY, ("site", "north"))]})
    c.close()
    p = w.expect_publish()
    assert p.props.get(P_CONTENT_TYPE) == "text/plain", p
    assert p.props.get(P_USER_PROPERTY) == [("site", "north")], p


@case
def will_delay_fires_after_interval(ctx):
    w, wt, sentinel = _will_watcher(ctx, "delay")
    c = ctx.raw(5)
    c.connect(ctx.client_id("wd"), props={P_SESSION_EXPIRY: 60},
              will={"topic": wt, "payload": "late", "props": {P_WILL_DELAY: 3}})
    c.close()
    # Not at once: a message published right after the close arrives first.
    ctx.pub(sentinel, "end")
    early = w.collect_until(sentinel)
    assert early == [], "delayed will sent immediately: %r" % early
    p = w.expect_publish(timeout=15)
    assert p.payload == b"late", p


@case
def will_delay_cancelled_by_reconnect(ctx):
    w, wt, sentinel = _will_watcher(ctx, "cancel")
    cid = ctx.client_id("wc")
    c = ctx.raw(5)
    c.connect(cid, props={P_SESSION_EXPIRY: 60},
              will={"topic": wt, "payload": "must-not", "props": {P_WILL_DELAY: 3}})
    c.close()
    again = ctx.raw(5)
    again.connect(cid, clean=False, props={P_SESSION_EXPIRY: 60})
    time.sleep(4.5)  # past the will delay; nothing may have been published
    ctx.pub(sentinel, "end")
    got = w.collect_until(sentinel)
    assert got == [], "will sent although the client reconnected within the delay: %r" % got
    again.disconnect(rc=0, props={P_SESSION_EXPIRY: 0})


@case
def will_fires_on_protocol_error_close(ctx):
    w, wt, _ = _will_watcher(ctx, "proto")
    c = ctx.raw(4)
    c.connect(ctx.client_id("wpe"), will={"topic": wt, "payload": "broken"})
    c.send(b"\xf0\x00")  # reserved packet type 15 in 3.1.1: a protocol violation
    c.wait_closed()
    assert w.expect_publish().payload == b"broken"


@case
def mqttjs_will(ctx):
    wt = ctx.topic("will/js")
    s = ctx.sub(wt, qos=1)
    n = ctx.node(options={"protocolVersion": 5, "clientId": ctx.client_id("jsw"),
                          "will": {"topic": wt, "payload": "js-gone", "qos": 1}})
    n.proc.kill()  # the process dies: the socket closes without DISCONNECT
    assert s.wait(1)[0]["payload"] == "js-gone"


if __name__ == "__main__":
    run()
