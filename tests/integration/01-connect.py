#!/usr/bin/env python3
"""CONNECT handling: versions, client identifiers, keep-alive, takeover, protocol violations."""

from harness import *


@case
def v311_connect_accepted(ctx):
    c = ctx.raw(4)
    ack = c.connect(ctx.client_id("v311"))
    assert not ack.session_present, "clean session must not report a session present"
    assert len(ack.body) == 2, "a 3.1.1 CONNACK has exactly 2 bytes, got %r" % ack.body
    assert c.is_open()


@case
def v5_connect_accepted(ctx):
    c = ctx.raw(5)
    ack = c.connect(ctx.client_id("v5"))
    assert ack.rc == 0 and not ack.session_present
    # A v5 CONNACK carries a property block (possibly empty) after the reason code.
    assert len(ack.body) >= 3, "v5 CONNACK without properties length: %r" % ack.body
    assert c.is_open()


@case
def real_clients_connect_both_versions(ctx):
    t = ctx.topic("connect/real")
    s4 = ctx.sub(t, version=4)
    s5 = ctx.sub(t, version=5)
    ctx.pub(t, "from-311", version=4)
    ctx.pub(t, "from-5", version=5)
    for s in (s4, s5):
        s.wait(2)
        assert sorted(s.payloads()) == ["from-311", "from-5"], s.payloads()
    n = ctx.node(options={"protocolVersion": 5})
    ack = n.connack["connack"]
    assert ack.get("reasonCode", ack.get("returnCode", 0)) == 0, ack


@case
def v5_empty_client_id_gets_assigned_identifier(ctx):
    c = ctx.raw(5)
    ack = c.connect("")
    assigned = ack.props.get(P_ASSIGNED_CLIENT_ID)
    assert assigned, "CONNACK must carry an assigned client identifier, props=%r" % ack.props
    # Two anonymous-id clients get different identifiers and both stay connected.
    c2 = ctx.raw(5)
    ack2 = c2.connect("")
    assert ack2.props.get(P_ASSIGNED_CLIENT_ID) not in (None, assigned), (assigned, ack2.props)
    assert c.is_open() and c2.is_open()


@case
def v311_empty_client_id_with_clean_session_accepted(ctx):
    c = ctx.raw(4)
    c.connect("", clean=True)
    assert c.is_open()


@case
def v311_empty_client_id_without_clean_session_rejected(ctx):
    c = ctx.raw(4)
    ack = c.connect("", clean=False, expect_rc=None)
    assert ack.rc == 0x02, "expected return code 2 (identifier rejected), got %r" % ack
    c.wait_closed()


@case
def keep_alive_expiry_closes_and_fires_will(ctx):
    will_topic = ctx.topic("connect/ka-will")
    s = ctx.sub(will_topic)
    c = ctx.raw(4)
    c.connect(ctx.client_id("ka"), keepalive=1,
              will={"topic": will_topic, "payload": "gone", "qos": 0})
    # No traffic at all: the broker must close after 1.5 x keep-alive.
    c.wait_closed(timeout=12)
    msgs = s.wait(1)
    assert msgs[0]["payload"] == "gone", msgs


@case
def keep_alive_v5_closes_silent_client(ctx):
    c = ctx.raw(5)
    c.connect(ctx.client_id("ka5"), keepalive=1)
    got = c.wait_closed(timeout=12)
    for p in got:
        assert p.type == DISCONNECT and p.rc == RC_KEEP_ALIVE_TIMEOUT, \
            "only DISCONNECT 0x8D may precede the close, got %r" % got


@case
def keep_alive_respected_while_pinging(ctx):
    c = ctx.raw(4)
    c.connect(ctx.client_id("kaping"), keepalive=1)
    for _ in range(5):  # 2.5 s of pings at half the keep-alive: still connected
        time.sleep(0.5)
        c.send(PINGREQ_PACKET)
        c.expect(PINGRESP)


@case
def session_takeover_v311_closes_first(ctx):
    cid = ctx.client_id("takeover4")
    first = ctx.raw(4)
    first.connect(cid)
    second = ctx.raw(4)
    second.connect(cid)
    first.wait_closed()
    assert second.is_open()


@case
def session_takeover_v5_sends_0x8e(ctx):
    cid = ctx.client_id("takeover5")
    first = ctx.raw(5)
    first.connect(cid)
    second = ctx.raw(5)
    second.connect(cid)
    got = first.wait_closed()
    if ctx.peer:  # Mosquitto 2.0.11 closes the old connection without a DISCONNECT
        return
    assert got and got[-1].type == DISCONNECT, "first connection must get a DISCONNECT, got %r" % got
    assert got[-1].rc == RC_SESSION_TAKEN_OVER, "DISCONNECT reason %r, expected 0x8E" % got[-1]
    assert second.is_open()


@case
def unsupported_protocol_level_refused(ctx):
    c = ctx.raw(4)
    c.send(_connect_with_level(6, ctx.client_id("lvl")))
    got = c.wait_closed()
    assert got, "broker closed without CONNACK"
    ack = got[0]
    assert ack.type == CONNACK, got
    assert ack.rc in (0x01, RC_UNSUPPORTED_PROTOCOL_VERSION), \
        "expected return code 1 (3.1.1) or 0x84 (5.0), got %r" % ack


@case
def v311_protocol_name_mismatch_refused(ctx):
    # "MQTT" with level 3 is neither 3.1 (MQIsdp) nor 3.1.1: refused with return code 1.
    c = ctx.raw(4)
    c.send(_connect_with_level(3, ctx.client_id("lvl3")))
    got = c.wait_closed()
    assert not got or (got[0].type == CONNACK and got[0].rc in (0x01, RC_UNSUPPORTED_PROTOCOL_VERSION)), got


def _connect_with_level(level, client_id):
    body = mqtt_str("MQTT") + bytes([level, 0x02]) + struct.pack("!H", 30) + mqtt_str(client_id)
    return packet(CONNECT, 0, body)


@case
def second_connect_closes_v311(ctx):
    c = ctx.raw(4)
    cid = ctx.client_id("twice4")
    c.connect(cid)
    c.send(connect_packet(4, cid))
    got = c.wait_closed()
    assert not any(p.type == CONNACK for p in got), "a second CONNECT must not be acknowledged: %r" % got


@case
def second_connect_closes_v5(ctx):
    c = ctx.raw(5)
    cid = ctx.client_id("twice5")
    c.connect(cid)
    c.send(connect_packet(5, cid))
    got = c.wait_closed()
    assert not any(p.type == CONNACK for p in got), got
    for p in got:
        assert p.type == DISCONNECT and p.rc == RC_PROTOCOL_ERROR, got


@case
def first_packet_not_connect_closes(ctx):
    c = ctx.raw(4)
    c.send(publish_packet(ctx.topic("connect/early"), b"x"))
    got = c.wait_closed()
    assert not got, "nothing may be sent before CONNECT, got %r" % got
    c2 = ctx.raw(4)
    c2.send(PINGREQ_PACKET)
    assert not c2.wait_closed()


@case
def v5_connack_announces_limits(ctx):
    ctx.skip_on_peer("Mosquitto omits most CONNACK properties at their defaults")
    c = ctx.raw(5)
    ack = c.connect(ctx.client_id("props"))
    # Urbis announces the receive maximum and topic alias maximum it enforces.
    assert P_RECEIVE_MAXIMUM in ack.props, ack.props
    assert P_TOPIC_ALIAS_MAXIMUM in ack.props, ack.props


@case
def sys_topics_count_clients_and_messages(ctx):
    b = ctx.new_broker(config={"mqtt": {"sys_interval": 1}}, mosquitto=["sys_interval 1"])
    watch = ctx.raw_connect(4, broker=b)
    watch.subscribe(["$SYS/broker/clients/connected", "$SYS/broker/messages/received"])
    latest = {}

    def read_until(pred):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            p = watch.expect_publish(timeout=15)
            latest[p.topic] = int(p.payload.split()[0])
            if pred():
                return
        raise AssertionError("$SYS values never matched: %r" % latest)

    read_until(lambda: len(latest) == 2)
    base_received = latest["$SYS/broker/messages/received"]
    extra = [ctx.raw_connect(4, broker=b) for _ in range(3)]
    for i in range(10):
        extra[0].publish(ctx.topic("sys/x"), b"%d" % i, qos=1)
    read_until(lambda: latest["$SYS/broker/clients/connected"] >= 4
               and latest["$SYS/broker/messages/received"] >= base_received + 10)
    for c in extra:
        c.disconnect()
    read_until(lambda: latest["$SYS/broker/clients/connected"] == 1)


if __name__ == "__main__":
    run()
