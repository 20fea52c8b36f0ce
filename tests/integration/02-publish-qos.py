#!/usr/bin/env python3
"""PUBLISH end to end: QoS 0/1/2 flows, QoS downgrade, ordering, wildcard matching, $-topics."""

from harness import *


@case
def qos_levels_end_to_end_mosquitto_clients(ctx):
    t = ctx.topic("qos/e2e")
    s = ctx.sub(t, qos=2)
    for q in (0, 1, 2):
        ctx.pub(t, "q%d" % q, qos=q)
    msgs = s.wait(3)
    got = {m["payload"]: m["qos"] for m in msgs}
    assert got == {"q0": 0, "q1": 1, "q2": 2}, got


@case
def qos_levels_end_to_end_v311(ctx):
    t = ctx.topic("qos/e2e311")
    s = ctx.sub(t, qos=2, version=4)
    for q in (0, 1, 2):
        ctx.pub(t, "q%d" % q, qos=q, version=4)
    got = {m["payload"]: m["qos"] for m in s.wait(3)}
    assert got == {"q0": 0, "q1": 1, "q2": 2}, got


@case
def qos1_flow_puback_with_same_packet_id(ctx):
    t = ctx.topic("qos/flow1")
    sub = ctx.raw_connect(4)
    sub.subscribe((t, 1))
    pub = ctx.raw_connect(4)
    ack = pub.publish(t, b"one", qos=1, pid=4242)
    assert ack.pid == 4242, ack
    p = sub.expect(PUBLISH)
    assert (p.qos, p.payload, p.topic, p.retain, p.dup) == (1, b"one", t, False, False), p
    assert p.pid != 0
    sub.send(ack_packet(PUBACK, p.pid))
    assert sub.is_open()


@case
def qos2_flow_both_sides(ctx):
    t = ctx.topic("qos/flow2")
    sub = ctx.raw_connect(5)
    sub.subscribe((t, 2))
    pub = ctx.raw_connect(5)
    pub.send(publish_packet(t, b"two", qos=2, pid=77, version=5))
    rec = pub.expect(PUBREC)
    assert rec.pid == 77 and rec.rc < 0x80, rec
    # A broker may forward on PUBLISH or on PUBREL (spec 4.3.3 methods A/B): release first.
    pub.send(ack_packet(PUBREL, 77))
    comp = pub.expect(PUBCOMP)
    assert comp.pid == 77, comp
    # Exactly-once: the subscriber must get the message once, at QoS 2.
    p = sub.expect(PUBLISH)
    assert (p.qos, p.payload) == (2, b"two"), p
    sub.send(ack_packet(PUBREC, p.pid))
    rel = sub.expect(PUBREL)
    assert rel.pid == p.pid and rel.flags == 2, rel
    sub.send(ack_packet(PUBCOMP, p.pid))
    # A duplicate of the same QoS 2 publish before PUBREL would not be redelivered;
    # after PUBCOMP the packet id is free again and a new message is a new message.
    pub.publish(t, b"three", qos=2, pid=77)
    p2 = sub.expect_publish()
    assert p2.payload == b"three", p2


@case
def qos2_duplicate_before_pubrel_delivered_once(ctx):
    t = ctx.topic("qos/dup2")
    sentinel = ctx.topic("qos/dup2-end")
    sub = ctx.raw_connect(4)
    sub.subscribe([(t, 2), (sentinel, 0)])
    pub = ctx.raw_connect(4)
    pub.send(publish_packet(t, b"once", qos=2, pid=9))
    pub.expect(PUBREC)
    pub.send(publish_packet(t, b"once", qos=2, pid=9, dup=True))
    pub.expect(PUBREC)
    pub.send(ack_packet(PUBREL, 9))
    pub.expect(PUBCOMP)
    pub.publish(sentinel, b"end")
    got = [p.payload for p in sub.collect_until(sentinel)]
    assert got == [b"once"], "QoS 2 message must be delivered exactly once, got %r" % got


@case
def qos_downgraded_to_subscription_qos(ctx):
    t = ctx.topic("qos/down")
    s0 = ctx.raw_connect(4)
    s0.subscribe((t, 0))
    s1 = ctx.raw_connect(4)
    s1.subscribe((t, 1))
    ctx.pub(t, "hi", qos=2)
    p0 = s0.expect_publish()
    p1 = s1.expect_publish()
    assert p0.qos == 0 and p0.pid is None, p0
    assert p1.qos == 1, p1
    # ...and never upgraded: a QoS 0 publish arrives at QoS 0 on a QoS 1 subscription.
    ctx.pub(t, "lo", qos=0)
    assert s1.expect_publish().qos == 0


@case
def mqttjs_to_mosquitto_and_back(ctx):
    t = ctx.topic("qos/js")
    s = ctx.sub(t + "/to-sub", qos=2)
    n = ctx.node(options={"protocolVersion": 5})
    granted = n.subscribe(t + "/to-js", {"qos": 2})
    assert granted[0]["qos"] == 2, granted
    n.publish(t + "/to-sub", "js-q1", {"qos": 1})
    n.publish(t + "/to-sub", "js-q2", {"qos": 2})
    got = {m["payload"]: m["qos"] for m in s.wait(2)}
    assert got == {"js-q1": 1, "js-q2": 2}, got
    ctx.pub(t + "/to-js", "sub-q2", qos=2)
    ctx.pub(t + "/to-js", "sub-q1", qos=1)
    msgs = n.wait_messages(2)
    assert sorted((m["payload"], m["qos"]) for m in msgs) == [("sub-q1", 1), ("sub-q2", 2)], msgs


@case
def mqttjs_v311(ctx):
    t = ctx.topic("qos/js311")
    a = ctx.node(options={"protocolVersion": 4})
    a.subscribe(t, {"qos": 1})
    b = ctx.node(options={"protocolVersion": 4})
    b.publish(t, "hello 3.1.1", {"qos": 1})
    m = a.wait_messages(1)[0]
    assert (m["topic"], m["payload"], m["qos"]) == (t, "hello 3.1.1", 1), m


@case
def order_kept_per_publisher(ctx):
    t = ctx.topic("qos/order")
    for qos in (0, 1, 2):
        sub = ctx.raw_connect(4)
        sub.subscribe((t, 2))
        pub = ctx.raw_connect(4)
        n = 60
        # Pipelined in windows of 10 unacknowledged messages (below any receive maximum).
        for w in range(0, n, 10):
            for i in range(w, w + 10):
                pub.send(publish_packet(t, b"%d" % i, qos=qos, pid=i + 1))
            for _ in range(10 if qos else 0):
                ack = pub.expect(PUBREC if qos == 2 else PUBACK, skip=(PUBCOMP,))
                if qos == 2:  # a broker may forward only on PUBREL
                    pub.send(ack_packet(PUBREL, ack.pid))
        got = []
        try:
            for _ in range(n):
                got.append(sub.expect_publish().payload)
        except AssertionError as e:
            raise AssertionError("QoS %d: %s after %r" % (qos, e, got))
        assert got == [b"%d" % i for i in range(n)], "QoS %d order: %r" % (qos, got)
        sub.close()
        pub.close()


def _matches(ctx, filt, topics):
    """Which of `topics` a subscriber to `filt` receives (sentinel-bounded)."""
    sentinel = ctx.topic("match/sentinel")
    sub = ctx.raw_connect(4)
    sub.subscribe([(filt, 0), (sentinel, 0)])
    pub = ctx.raw_connect(4)
    for t in topics:
        pub.publish(t, t.encode(), qos=1)
    pub.publish(sentinel, b"end", qos=1)
    got = [p.topic for p in sub.collect_until(sentinel)]
    sub.close()
    pub.close()
    return got


@case
def single_level_wildcard(ctx):
    p = ctx.topic("m1")
    topics = [p + "/a/b/c", p + "/a/c", p + "/a/b/d", p + "/a/b/c/d", p + "/a//c", p + "/x/y/c"]
    got = _matches(ctx, p + "/a/+/c", topics)
    assert got == [p + "/a/b/c", p + "/a//c"], got
    got = _matches(ctx, p + "/+/+/c", topics)
    assert got == [p + "/a/b/c", p + "/a//c", p + "/x/y/c"], got


@case
def multi_level_wildcard(ctx):
    p = ctx.topic("m2")
    topics = [p + "/a", p + "/a/b", p + "/a/b/c", p + "/ab", p + "/b/a"]
    got = _matches(ctx, p + "/a/#", topics)
    # '#' also matches the parent level itself.
    assert got == [p + "/a", p + "/a/b", p + "/a/b/c"], got
    got = _matches(ctx, p + "/+/#", topics)
    assert got == topics, got


@case
def dollar_topics_not_matched_by_top_level_wildcards(ctx):
    # $SYS is the $-topic every broker publishes (clients may be refused $-topics).
    b = ctx.new_broker(config={"mqtt": {"sys_interval": 1}}, mosquitto=["sys_interval 1"])
    sentinel = ctx.topic("dollar/sentinel")
    hash_sub = ctx.raw_connect(4, broker=b)
    hash_sub.subscribe("#")
    plus_sub = ctx.raw_connect(4, broker=b)
    plus_sub.subscribe([("+/broker/#", 0), (sentinel, 0)])
    exact = ctx.raw_connect(4, broker=b)
    exact.subscribe("$SYS/#")
    # Wait for a fresh $SYS publication (not only the retained ones sent on subscribe).
    deadline = time.monotonic() + 15
    while True:
        p = exact.expect_publish(timeout=15)
        assert p.topic.startswith("$SYS/"), p
        if not p.retain or time.monotonic() > deadline:
            break
    assert not p.retain, "no live $SYS publication within 15 s"
    mosquitto_pub(b.port, sentinel, "end")
    for s, name in ((hash_sub, "#"), (plus_sub, "+/broker/#")):
        before = s.collect_until(sentinel)
        leaked = [x.topic for x in before if x.topic.startswith("$")]
        assert not leaked, "'%s' matched $-topics %r" % (name, leaked[:5])


@case
def overlapping_subscriptions_deliver_once_per_client(ctx):
    # MQTT 5 allows one copy per matching subscription or a single copy; Urbis
    # promises one copy at the highest QoS (what most users expect).
    t = ctx.topic("overlap/a/b")
    sub = ctx.raw_connect(4)
    sub.subscribe([(ctx.topic("overlap/#"), 0), (ctx.topic("overlap/a/+"), 1)])
    sentinel = ctx.topic("overlap/z")
    ctx.pub(t, "m", qos=1)
    ctx.pub(sentinel, "end", qos=1)
    before = sub.collect_until(sentinel)
    assert [p.payload for p in before] == [b"m"], before
    assert before[0].qos == 1, before


if __name__ == "__main__":
    run()
