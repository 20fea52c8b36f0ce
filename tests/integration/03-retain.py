#!/usr/bin/env python3
"""Retained messages: set, replace, clear, delivery on subscribe, v5 retain handling and RAP."""

from harness import *


def _retained_on_subscribe(ctx, filt, version=4, opts=0, client=None):
    """Subscribe to filt (and a sentinel) and return the PUBLISHes sent before the sentinel."""
    sentinel = ctx.topic("retain/sentinel-%d" % random.randrange(1 << 30))
    c = client or ctx.raw_connect(version)
    c.subscribe([(sentinel, 0)])
    c.subscribe([(filt, opts)])
    ctx.pub(sentinel, "end")
    return c.collect_until(sentinel)


@case
def retained_delivered_on_subscribe_with_flag(ctx):
    t = ctx.topic("retain/set")
    ctx.pub(t, "v1", retain=True, qos=1)
    got = _retained_on_subscribe(ctx, t)
    assert [(p.payload, p.retain) for p in got] == [(b"v1", True)], got


@case
def retained_with_mosquitto_sub(ctx):
    t = ctx.topic("retain/msub")
    ctx.pub(t, "kept", retain=True, qos=1, version=4)
    s = ctx.sub(t, version=4)
    m = s.wait(1)[0]
    assert (m["payload"], m["retain"]) == ("kept", 1), m


@case
def retained_replaced(ctx):
    t = ctx.topic("retain/replace")
    ctx.pub(t, "old", retain=True, qos=1)
    ctx.pub(t, "new", retain=True, qos=1)
    got = _retained_on_subscribe(ctx, t)
    assert [p.payload for p in got] == [b"new"], got


@case
def retained_cleared_by_empty_payload(ctx):
    t = ctx.topic("retain/clear")
    ctx.pub(t, "soon gone", retain=True, qos=1)
    ctx.pub(t, retain=True, qos=1, null=True)
    got = _retained_on_subscribe(ctx, t)
    assert got == [], "cleared retained message still delivered: %r" % got


@case
def retained_clear_is_forwarded_to_live_subscribers(ctx):
    t = ctx.topic("retain/clear-live")
    c = ctx.raw_connect(4)
    c.subscribe(t)
    ctx.pub(t, retain=True, qos=1, null=True)
    p = c.expect_publish()
    assert p.payload == b"", p


@case
def live_delivery_clears_retain_flag_without_rap(ctx):
    t = ctx.topic("retain/live")
    c4 = ctx.raw_connect(4)
    c4.subscribe(t)
    c5 = ctx.raw_connect(5)
    c5.subscribe((t, sub_options(0)))
    ctx.pub(t, "live", retain=True, qos=1)
    for c in (c4, c5):
        p = c.expect_publish()
        assert p.payload == b"live" and p.retain is False, \
            "a message for an existing subscription must arrive with retain=0: %r" % p
    ctx.pub(t, retain=True, null=True, qos=1)


@case
def wildcard_subscribe_gets_all_matching_retained(ctx):
    base = ctx.topic("retain/wild")
    for name in ("a", "b", "c/d"):
        ctx.pub(base + "/" + name, name, retain=True, qos=1)
    ctx.pub(ctx.topic("retain/wildother"), "no", retain=True, qos=1)
    got = _retained_on_subscribe(ctx, base + "/#")
    assert sorted(p.payload for p in got) == [b"a", b"b", b"c/d"], got
    assert all(p.retain for p in got), got
    got = _retained_on_subscribe(ctx, base + "/+")
    assert sorted(p.payload for p in got) == [b"a", b"b"], got


@case
def retained_qos_is_min_of_publish_and_subscription(ctx):
    t = ctx.topic("retain/qos")
    ctx.pub(t, "q2", retain=True, qos=2)
    got = _retained_on_subscribe(ctx, t, opts=1)
    assert [(p.payload, p.qos) for p in got] == [(b"q2", 1)], got


@case
def v5_retain_handling_0_sends_on_every_subscribe(ctx):
    t = ctx.topic("retain/rh0")
    ctx.pub(t, "r", retain=True, qos=1)
    c = ctx.raw_connect(5)
    assert [p.payload for p in _retained_on_subscribe(ctx, t, 5, sub_options(rh=0), c)] == [b"r"]
    assert [p.payload for p in _retained_on_subscribe(ctx, t, 5, sub_options(rh=0), c)] == [b"r"]


@case
def v5_retain_handling_1_only_for_new_subscription(ctx):
    t = ctx.topic("retain/rh1")
    ctx.pub(t, "r", retain=True, qos=1)
    c = ctx.raw_connect(5)
    first = _retained_on_subscribe(ctx, t, 5, sub_options(rh=1), c)
    assert [p.payload for p in first] == [b"r"], first
    again = _retained_on_subscribe(ctx, t, 5, sub_options(rh=1), c)
    assert again == [], "retain handling 1 re-sent retained on an existing subscription: %r" % again


@case
def v5_retain_handling_2_never_sends(ctx):
    t = ctx.topic("retain/rh2")
    ctx.pub(t, "r", retain=True, qos=1)
    got = _retained_on_subscribe(ctx, t, 5, sub_options(rh=2))
    assert got == [], got


@case
def v5_retain_as_published(ctx):
    t = ctx.topic("retain/rap")
    rap = ctx.raw_connect(5)
    rap.subscribe((t, sub_options(rap=True)))
    norap = ctx.raw_connect(5)
    norap.subscribe((t, sub_options(rap=False)))
    ctx.pub(t, "kept", retain=True, qos=1)
    ctx.pub(t, "plain", retain=False, qos=1)
    a = [(p.payload, p.retain) for p in (rap.expect_publish(), rap.expect_publish())]
    b = [(p.payload, p.retain) for p in (norap.expect_publish(), norap.expect_publish())]
    assert a == [(b"kept", True), (b"plain", False)], a
    assert b == [(b"kept", False), (b"plain", False)], b


@case
def mqttjs_retained(ctx):
    t = ctx.topic("retain/js")
    n = ctx.node(options={"protocolVersion": 5})
    n.publish(t, "from-js", {"qos": 1, "retain": True})
    m = ctx.node(options={"protocolVersion": 5})
    m.subscribe(t, {"qos": 1})
    msg = m.wait_messages(1)[0]
    assert (msg["payload"], msg["retain"]) == ("from-js", True), msg


if __name__ == "__main__":
    run()
