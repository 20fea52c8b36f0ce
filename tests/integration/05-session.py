#!/usr/bin/env python3
"""Persistent sessions: offline queueing, clean start, session expiry, redelivery with DUP."""

from harness import *


def _offline_publish(ctx, t, payloads, qos=1):
    pub = ctx.raw_connect(4)
    for p in payloads:
        pub.publish(t, p, qos=qos)
    pub.disconnect()


@case
def v311_persistent_session_queues_while_offline(ctx):
    cid = ctx.client_id("p311")
    t = ctx.topic("session/p311")
    c = ctx.raw(4)
    ack = c.connect(cid, clean=False)
    c.subscribe((t, 1))
    c.disconnect()
    _offline_publish(ctx, t, [b"m1", b"m2", b"m3"])
    c = ctx.raw(4)
    ack = c.connect(cid, clean=False)
    assert ack.session_present, "session must be present on reconnect: %r" % ack
    got = [c.expect_publish().payload for _ in range(3)]
    assert got == [b"m1", b"m2", b"m3"], got
    # The subscription itself survived too.
    ctx.pub(t, "live", qos=1)
    assert c.expect_publish().payload == b"live"
    c.disconnect()
    ctx.raw(4).connect(cid, clean=True)  # tidy up the session


@case
def v5_persistent_session_with_expiry(ctx):
    cid = ctx.client_id("p5")
    t = ctx.topic("session/p5")
    c = ctx.raw(5)
    c.connect(cid, clean=True, props={P_SESSION_EXPIRY: 300})
    c.subscribe((t, 1))
    c.disconnect(rc=0)
    _offline_publish(ctx, t, [b"a", b"b"])
    c = ctx.raw(5)
    ack = c.connect(cid, clean=False, props={P_SESSION_EXPIRY: 300})
    assert ack.session_present, ack
    got = [(p.payload, p.qos) for p in (c.expect_publish(), c.expect_publish())]
    assert got == [(b"a", 1), (b"b", 1)], got
    c.disconnect(rc=0, props={P_SESSION_EXPIRY: 0})


@case
def new_client_without_clean_has_no_session(ctx):
    c = ctx.raw(4)
    ack = c.connect(ctx.client_id("fresh"), clean=False)
    assert not ack.session_present, ack
    c.disconnect()
    ctx.raw(4).connect(ctx.client_id("fresh"), clean=True)


def _queued_after_reconnect(ctx, c, t):
    """Subscribe to a sentinel on a (re)connected client, return messages before it."""
    sentinel = ctx.topic("session/sentinel")
    c.subscribe(sentinel)
    ctx.pub(sentinel, "end")
    return c.collect_until(sentinel)


@case
def v311_clean_session_discards(ctx):
    cid = ctx.client_id("c311")
    t = ctx.topic("session/c311")
    c = ctx.raw(4)
    c.connect(cid, clean=False)
    c.subscribe((t, 1))
    c.disconnect()
    _offline_publish(ctx, t, [b"lost"])
    c = ctx.raw(4)
    ack = c.connect(cid, clean=True)
    assert not ack.session_present, ack
    got = _queued_after_reconnect(ctx, c, t)
    assert got == [], "clean session must discard queued messages: %r" % got
    # ...and the old subscription.
    sentinel = ctx.topic("session/sentinel")
    ctx.pub(t, "after", qos=1)
    ctx.pub(sentinel, "end2")
    assert c.collect_until(sentinel) == []


@case
def v5_clean_start_discards(ctx):
    cid = ctx.client_id("c5")
    t = ctx.topic("session/c5")
    c = ctx.raw(5)
    c.connect(cid, clean=False, props={P_SESSION_EXPIRY: 300})
    c.subscribe((t, 1))
    c.disconnect(rc=0)
    _offline_publish(ctx, t, [b"lost"])
    c = ctx.raw(5)
    ack = c.connect(cid, clean=True)
    assert not ack.session_present, ack
    assert _queued_after_reconnect(ctx, c, t) == []


@case
def v5_session_expires(ctx):
    cid = ctx.client_id("exp")
    t = ctx.topic("session/exp")
    c = ctx.raw(5)
    c.connect(cid, clean=True, props={P_SESSION_EXPIRY: 1})
    c.subscribe((t, 1))
    c.disconnect(rc=0)
    time.sleep(3.5)  # mosquitto checks expiry once per second; urbis should be at least as quick
    _offline_publish(ctx, t, [b"too-late"])
    c = ctx.raw(5)
    ack = c.connect(cid, clean=False, props={P_SESSION_EXPIRY: 0})
    assert not ack.session_present, "session must have expired: %r" % ack
    assert _queued_after_reconnect(ctx, c, t) == []


@case
def v5_session_expiry_zero_ends_at_disconnect(ctx):
    cid = ctx.client_id("exp0")
    c = ctx.raw(5)
    c.connect(cid, clean=True)  # no Session Expiry Interval: 0
    c.subscribe((ctx.topic("session/exp0"), 1))
    c.disconnect(rc=0)
    c = ctx.raw(5)
    ack = c.connect(cid, clean=False)
    assert not ack.session_present, ack


@case
def v5_disconnect_can_shorten_expiry(ctx):
    cid = ctx.client_id("expd")
    c = ctx.raw(5)
    c.connect(cid, clean=True, props={P_SESSION_EXPIRY: 300})
    c.subscribe((ctx.topic("session/expd"), 1))
    c.disconnect(rc=0, props={P_SESSION_EXPIRY: 0})
    c = ctx.raw(5)
    ack = c.connect(cid, clean=False, props={P_SESSION_EXPIRY: 300})
    assert not ack.session_present, ack
    c.disconnect(rc=0, props={P_SESSION_EXPIRY: 0})


@case
def unacked_qos1_redelivered_with_dup(ctx):
    for version in (4, 5):
        cid = ctx.client_id("dup%d" % version)
        t = ctx.topic("session/dup%d" % version)
        props = {P_SESSION_EXPIRY: 300} if version == 5 else None
        c = ctx.raw(version)
        c.connect(cid, clean=True, props=props)
        if version == 4:  # 3.1.1: the session must persist, so reconnect with clean=0
            c.close()
            c = ctx.raw(version)
            c.connect(cid, clean=False)
        c.subscribe((t, 1))
        ctx.pub(t, "needs-ack", qos=1)
        first = c.expect_publish(ack=False)  # never acknowledged
        assert not first.dup, first
        c.close()
        c = ctx.raw(version)
        ack = c.connect(cid, clean=False, props=props)
        assert ack.session_present, ack
        again = c.expect(PUBLISH)
        assert again.payload == b"needs-ack" and again.dup, \
            "v%d: unacknowledged QoS 1 must be resent with DUP=1, got %r" % (version, again)
        assert again.pid == first.pid, (first, again)
        c.send(ack_packet(PUBACK, again.pid))
        c.disconnect(rc=0, props={P_SESSION_EXPIRY: 0} if version == 5 else None)
        ctx.raw(version).connect(cid, clean=True)


@case
def unacked_qos1_after_ack_not_redelivered(ctx):
    cid = ctx.client_id("acked")
    t = ctx.topic("session/acked")
    c = ctx.raw(4)
    c.connect(cid, clean=False)
    c.subscribe((t, 1))
    ctx.pub(t, "done", qos=1)
    c.expect_publish(ack=True)
    assert c.is_open()  # the PUBACK was processed before the close
    c.disconnect()
    c = ctx.raw(4)
    c.connect(cid, clean=False)
    assert _queued_after_reconnect(ctx, c, t) == []
    c.disconnect()
    ctx.raw(4).connect(cid, clean=True)


@case
def qos2_pubrel_resent_after_reconnect(ctx):
    cid = ctx.client_id("rel")
    t = ctx.topic("session/rel")
    c = ctx.raw(4)
    c.connect(cid, clean=False)
    c.subscribe((t, 2))
    ctx.pub(t, "two", qos=2)
    p = c.expect(PUBLISH)
    c.send(ack_packet(PUBREC, p.pid))
    c.expect(PUBREL)
    c.close()  # no PUBCOMP
    c = ctx.raw(4)
    c.connect(cid, clean=False)
    rel = c.expect(PUBREL)
    assert rel.pid == p.pid, (p, rel)
    c.send(ack_packet(PUBCOMP, rel.pid))
    # The message itself is not delivered a second time.
    assert _queued_after_reconnect(ctx, c, t) == []
    c.disconnect()
    ctx.raw(4).connect(cid, clean=True)


@case
def mosquitto_sub_persistent_session(ctx):
    cid = ctx.client_id("msub")
    t = ctx.topic("session/msub")
    s = ctx.sub(t, qos=1, client_id=cid, clean=False, version=4)
    s.close()
    for i in range(3):
        ctx.pub(t, "off-%d" % i, qos=1, version=4)
    s = ctx.sub(t, qos=1, client_id=cid, clean=False, version=4, wait_suback=False)
    assert [m["payload"] for m in s.wait(3)] == ["off-0", "off-1", "off-2"]
    s.close()
    ctx.raw(4).connect(cid, clean=True)


if __name__ == "__main__":
    run()
