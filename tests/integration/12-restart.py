#!/usr/bin/env python3
"""Restart: retained messages and persistent sessions (subscriptions, queued QoS 1)
survive SIGTERM + restart on the same data dir; acknowledged QoS 1 survives kill -9;
SIGTERM exits 0 and tells MQTT 5 clients DISCONNECT 0x8B.

Mosquitto keeps retained messages and sessions across a clean restart too, so most
cases also run against the peer."""

from harness import *


def _retained(ctx, b, t):
    sentinel = ctx.topic("restart/sentinel")
    c = ctx.raw_connect(4, broker=b)
    c.subscribe(sentinel)
    c.subscribe(t)
    mosquitto_pub(b.port, sentinel, "end")
    got = c.collect_until(sentinel)
    c.close()
    return [(p.topic, p.payload, p.retain) for p in got]


@case
def retained_survive_restart(ctx):
    b = ctx.new_broker()
    base = ctx.topic("restart/ret")
    ctx.pub(base + "/a", "alpha", broker=b, retain=True, qos=1)
    ctx.pub(base + "/b", "beta", broker=b, retain=True, qos=1)
    ctx.pub(base + "/c", "gone", broker=b, retain=True, qos=1)
    ctx.pub(base + "/c", broker=b, retain=True, qos=1, null=True)
    ctx.pub(base + "/a", "alpha2", broker=b, retain=True, qos=1)
    b.restart()
    got = sorted(_retained(ctx, b, base + "/#"))
    assert got == [(base + "/a", b"alpha2", True), (base + "/b", b"beta", True)], got


@case
def session_and_queued_qos1_survive_restart(ctx):
    b = ctx.new_broker()
    cid = ctx.client_id("persist")
    t = ctx.topic("restart/queued")
    c = ctx.raw(5, broker=b)
    c.connect(cid, props={P_SESSION_EXPIRY: 3600})
    c.subscribe((t, 1), props={P_SUBSCRIPTION_ID: 5})
    c.disconnect(rc=0)
    pub = ctx.raw_connect(5, broker=b)
    for i in range(5):
        pub.publish(t, b"q%d" % i, qos=1)  # acknowledged: must not be lost
    pub.disconnect(rc=0)
    b.restart()
    c = ctx.raw(5, broker=b)
    ack = c.connect(cid, clean=False, props={P_SESSION_EXPIRY: 3600})
    if ctx.peer and not ack.session_present:
        raise Skip("mosquitto 2.0.11 does not restore MQTT 5 sessions from its persistence file")
    assert ack.session_present, "session lost across restart: %r" % ack
    got = [c.expect_publish() for _ in range(5)]
    assert [p.payload for p in got] == [b"q%d" % i for i in range(5)], got
    assert all(p.qos == 1 for p in got), got
    # The subscription (with its identifier) survived as well.
    ctx.pub(t, "after", broker=b, qos=1)
    p = c.expect_publish()
    assert p.payload == b"after" and p.props.get(P_SUBSCRIPTION_ID) == [5], p
    c.disconnect(rc=0, props={P_SESSION_EXPIRY: 0})


@case
def v311_session_survives_restart(ctx):
    b = ctx.new_broker()
    cid = ctx.client_id("p311")
    t = ctx.topic("restart/p311")
    c = ctx.raw(4, broker=b)
    c.connect(cid, clean=False)
    c.subscribe((t, 1))
    c.disconnect()
    b.restart()
    ctx.pub(t, "after-restart", broker=b, qos=1)
    c = ctx.raw(4, broker=b)
    assert c.connect(cid, clean=False).session_present
    assert c.expect_publish().payload == b"after-restart"


@case
def unacked_inflight_redelivered_after_restart(ctx):
    b = ctx.new_broker()
    cid = ctx.client_id("inflight")
    t = ctx.topic("restart/inflight")
    c = ctx.raw(4, broker=b)
    c.connect(cid, clean=False)
    c.subscribe((t, 1))
    ctx.pub(t, "unacked", broker=b, qos=1)
    first = c.expect_publish(ack=False)
    c.close()
    b.restart()
    c = ctx.raw(4, broker=b)
    c.connect(cid, clean=False)
    p = c.expect(PUBLISH)
    assert p.payload == b"unacked" and p.qos == 1, p
    assert p.dup, "redelivery after restart must set DUP: %r" % p
    c.send(ack_packet(PUBACK, p.pid))


@case(urbis_only=True)
def acknowledged_qos1_survives_kill9(ctx):
    b = ctx.new_broker()
    cid = ctx.client_id("k9")
    t = ctx.topic("restart/k9")
    c = ctx.raw(5, broker=b)
    c.connect(cid, props={P_SESSION_EXPIRY: 3600})
    c.subscribe((t, 1))
    c.disconnect(rc=0)
    ctx.pub(t + "-ret", "retained-k9", broker=b, retain=True, qos=1)
    pub = ctx.raw_connect(5, broker=b)
    for i in range(20):
        pub.publish(t, b"k%d" % i, qos=1)
    b.kill()
    b.start()
    c = ctx.raw(5, broker=b)
    assert c.connect(cid, clean=False, props={P_SESSION_EXPIRY: 3600}).session_present
    got = []
    try:
        for _ in range(20):
            got.append(c.expect_publish().payload)
    except AssertionError:
        pass
    assert got == [b"k%d" % i for i in range(20)], \
        "20 QoS 1 messages were acknowledged before kill -9, %d delivered after restart: %r" % (len(got), got)
    assert _retained(ctx, b, t + "-ret") == [(t + "-ret", b"retained-k9", True)]


@case
def sigterm_exits_zero_and_disconnects_v5_with_0x8b(ctx):
    b = ctx.new_broker()
    c5 = ctx.raw_connect(5, broker=b)
    c4 = ctx.raw_connect(4, broker=b)
    b.stop()  # asserts exit code 0 for urbis
    got5 = c5.wait_closed()
    got4 = c4.wait_closed()
    assert not got4, "3.1.1 clients are just closed: %r" % got4
    if ctx.peer and not got5:
        return  # Mosquitto 2.0.11 closes v5 clients without a DISCONNECT on SIGTERM
    assert got5 and got5[-1].type == DISCONNECT and got5[-1].rc == RC_SERVER_SHUTTING_DOWN, \
        "expected DISCONNECT 0x8B, got %r" % got5


@case
def will_sent_on_shutdown(ctx):
    # On a server shutdown the connection ends without DISCONNECT from the client:
    # the will of a connected client is published (to persistent subscribers).
    b = ctx.new_broker()
    wt = ctx.topic("restart/will")
    w = ctx.raw(4, broker=b)
    w.connect(ctx.client_id("will-watch"), clean=False)
    w.subscribe((wt, 1))
    w.disconnect()
    c = ctx.raw(4, broker=b)
    c.connect(ctx.client_id("will-owner"), will={"topic": wt, "payload": "server-down", "qos": 1})
    b.restart()
    w = ctx.raw(4, broker=b)
    w.connect(ctx.client_id("will-watch"), clean=False)
    w.subscribe(ctx.topic("restart/will-end"))
    ctx.pub(ctx.topic("restart/will-end"), "end", broker=b)
    got = [p.payload for p in w.collect_until(ctx.topic("restart/will-end"))]
    assert got == [b"server-down"], "will on shutdown: %r" % got


@case(urbis_only=True)
def health_ok_after_restart(ctx):
    b = ctx.new_broker()
    b.restart()
    status, _, body = http_get_json(b.http_port, "/api/v1/health")
    assert status == 200 and body.get("status") == "ok", body


if __name__ == "__main__":
    run()
