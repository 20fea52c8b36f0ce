#!/usr/bin/env python3
"""Shared subscriptions ($share/group/filter)."""

from harness import *

N = 30


def _members(ctx, group, filt, n, version=5, qos=1):
    out = []
    for _ in range(n):
        c = ctx.raw_connect(version)
        c.subscribe(("$share/%s/%s" % (group, filt), qos))
        out.append(c)
    return out


def _drain(clients, timeout=1.5):
    """Everything each client receives until it has been quiet for `timeout` seconds."""
    got = []
    for c in clients:
        mine = []
        while True:
            try:
                p = c.recv(timeout)
            except socket.timeout:
                break
            if p.type == PUBLISH:
                if p.qos == 1:
                    c.send(ack_packet(PUBACK, p.pid))
                mine.append(p.payload)
        got.append(mine)
    return got


@case
def each_message_to_exactly_one_member(ctx):
    t = ctx.topic("share/one")
    members = _members(ctx, "g1", t, 3)
    pub = ctx.raw_connect(5)
    for i in range(N):
        pub.publish(t, b"%d" % i, qos=1)
    got = _drain(members)
    everything = sorted(int(x) for m in got for x in m)
    assert everything == list(range(N)), "each message exactly once across the group, got %r" % got


@case
def messages_spread_over_members(ctx):
    t = ctx.topic("share/spread")
    members = _members(ctx, "g2", t, 2)
    pub = ctx.raw_connect(5)
    for i in range(N):
        pub.publish(t, b"%d" % i, qos=1)
    got = _drain(members)
    assert sum(len(m) for m in got) == N, got
    assert all(m for m in got), "all messages went to one member: %r" % [len(m) for m in got]


@case
def two_groups_each_get_every_message(ctx):
    t = ctx.topic("share/groups")
    ga = _members(ctx, "ga", t, 2)
    gb = _members(ctx, "gb", t, 2)
    plain = ctx.raw_connect(5)
    plain.subscribe((t, 1))
    pub = ctx.raw_connect(5)
    for i in range(10):
        pub.publish(t, b"%d" % i, qos=1)
    a = sorted(int(x) for m in _drain(ga) for x in m)
    b = sorted(int(x) for m in _drain(gb) for x in m)
    p = _drain([plain])[0]
    assert a == list(range(10)), "group a: %r" % a
    assert b == list(range(10)), "group b: %r" % b
    assert p == [b"%d" % i for i in range(10)], "non-shared subscriber must get all, in order: %r" % p


@case
def shared_with_wildcard_filter_and_v311_members(ctx):
    base = ctx.topic("share/wild")
    members = _members(ctx, "gw", base + "/+/temp", 2, version=4)
    pub = ctx.raw_connect(4)
    for i in range(10):
        pub.publish("%s/s%d/temp" % (base, i), b"%d" % i, qos=1)
    pub.publish(base + "/s1/humidity", b"no", qos=1)
    got = sorted(x for m in _drain(members) for x in m)
    assert got == sorted(b"%d" % i for i in range(10)), got


@case
def member_leaving_does_not_lose_messages(ctx):
    t = ctx.topic("share/leave")
    members = _members(ctx, "gl", t, 2)
    members[0].disconnect(rc=0)
    pub = ctx.raw_connect(5)
    for i in range(10):
        pub.publish(t, b"%d" % i, qos=1)
    got = _drain([members[1]])[0]
    assert sorted(int(x) for x in got) == list(range(10)), got


@case
def unsubscribe_from_shared(ctx):
    t = ctx.topic("share/unsub")
    members = _members(ctx, "gu", t, 2)
    c = members[0]
    c.send(unsubscribe_packet(99, ["$share/gu/%s" % t], version=5))
    ack = c.expect(UNSUBACK)
    assert ack.pid == 99 and ack.codes == [0], ack
    pub = ctx.raw_connect(5)
    for i in range(6):
        pub.publish(t, b"%d" % i, qos=1)
    got = _drain(members)
    assert got[0] == [], "unsubscribed member still receives: %r" % got
    assert sorted(int(x) for x in got[1]) == list(range(6)), got


@case
def mosquitto_sub_share_members(ctx):
    t = ctx.topic("share/msub")
    s1 = ctx.sub("$share/gm/" + t, qos=1)
    s2 = ctx.sub("$share/gm/" + t, qos=1)
    for i in range(10):
        ctx.pub(t, str(i), qos=1)
    sentinel_wait = time.monotonic() + WAIT
    while len(s1.messages) + len(s2.messages) < 10 and time.monotonic() < sentinel_wait:
        s1._pump(0.1)
        s2._pump(0.1)
    got = sorted(int(m["payload"]) for m in s1.messages + s2.messages)
    assert got == list(range(10)), got


if __name__ == "__main__":
    run()
