#!/usr/bin/env python3
"""Ingest: JSON measurements published to urbis/ingest/<tenant>/<type>/<id> change the
entity's current state and its history, a QoS 1 PUBACK comes only after commit, a
payload that does not decode is refused with 0x99, and no acknowledged measurement
is lost or stored twice across kill -9 (the durability promise).

Urbis-only: Mosquitto has no store."""

import json
import random
import threading
import urllib.error
import urllib.parse
import urllib.request

from harness import *

PREFIX = "urbis/ingest"


def http_get(b, path):
    url = "http://127.0.0.1:%d%s" % (b.http_port, path)
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode() or "{}")


def history(b, entity, attr, tenant=""):
    """Every point, page by page: one answer holds at most 100,000 (a fast
    machine stores more than that in the kill -9 case)."""
    points, start = [], None
    while True:
        params = {"tenant": tenant} if tenant else {}
        if start is not None:
            params["from"] = str(start)
        q = "?" + urllib.parse.urlencode(params) if params else ""
        status, body = http_get(b, "/api/v1/history/%s/%s%s" % (urllib.parse.quote(entity, safe=""), attr, q))
        assert status == 200, (status, body)
        page = body["points"]
        points += page
        if len(page) < 100000:
            return points
        start = page[-1][0] + 1  # times are epoch ms here; the next page starts after the last one


@case(urbis_only=True)
def mosquitto_pub_changes_state_and_history(ctx):
    b = ctx.broker
    topic = "%s/default/AirQualityObserved/main-street" % PREFIX
    mosquitto_pub(b.port, topic, json.dumps({"observedAt": "2026-11-25T08:15:00Z", "NO2": 41, "PM10": 18.5}), qos=1)
    mosquitto_pub(b.port, topic, json.dumps({"observedAt": "2026-11-25T08:30:00Z", "NO2": 44.5}), qos=1)
    eid = "urn:ngsi-ld:AirQualityObserved:main-street"
    status, e = http_get(b, "/api/v1/entities/" + urllib.parse.quote(eid, safe=""))
    assert status == 200, (status, e)
    assert e["id"] == eid and e["type"] == "AirQualityObserved", e
    assert e["NO2"]["value"] == 44.5, e["NO2"]
    assert e["NO2"]["observedAt"].startswith("2026-11-25T08:30:00"), e["NO2"]
    assert e["PM10"]["value"] == 18.5, e
    assert history(b, eid, "NO2") == [[1795594500000, 41], [1795595400000, 44.5]]
    # Late data goes to history, in order, and does not replace the newer state.
    mosquitto_pub(b.port, topic, json.dumps({"observedAt": "2026-11-25T08:20:00Z", "NO2": 1}), qos=1)
    assert [p[1] for p in history(b, eid, "NO2")] == [41, 1, 44.5]
    status, e = http_get(b, "/api/v1/entities/" + urllib.parse.quote(eid, safe=""))
    assert e["NO2"]["value"] == 44.5, e["NO2"]


@case(urbis_only=True)
def tenants_are_separate(ctx):
    b = ctx.broker
    mosquitto_pub(b.port, PREFIX + "/city-a/ParkingSpot/p1", '{"status":"free"}', qos=1)
    eid = "urn:ngsi-ld:ParkingSpot:p1"
    assert [p[1] for p in history(b, eid, "status", tenant="city-a")] == ["free"]
    assert history(b, eid, "status") == []
    status, _ = http_get(b, "/api/v1/entities/" + urllib.parse.quote(eid, safe=""))
    assert status == 404


@case(urbis_only=True)
def bad_payload_refused_with_0x99(ctx):
    c = ctx.raw_connect(5)
    ack = c.publish(PREFIX + "/default/T/x", b"not json", qos=1)
    assert ack.rc == 0x99, "expected PUBACK 0x99 payload format invalid, got %r" % ack
    ack = c.publish(PREFIX + "/default/T", b'{"a":1}', qos=1)
    assert ack.rc == 0x99, ack
    # The connection and the broker carry on.
    ack = c.publish(PREFIX + "/default/T/x", b'{"a":1}', qos=1)
    assert ack.rc in (0, 0x10), ack


@case(urbis_only=True)
def replay_with_same_observed_at_is_stored_once(ctx):
    b = ctx.broker
    c = ctx.raw_connect(5)
    body = json.dumps({"observedAt": 1795594500000, "level": 3}).encode()
    for dup in (False, True, True):
        c.publish(PREFIX + "/default/WaterObserved/w1", body, qos=1, dup=dup)
    assert history(b, "urn:ngsi-ld:WaterObserved:w1", "level") == [[1795594500000, 3]]


class Publisher(threading.Thread):
    """Publishes QoS 1 measurements as fast as the broker acknowledges them,
    pipelined, and records which ones were acknowledged."""

    def __init__(self, port, n, start_seq, acked, lock, stop):
        super().__init__(daemon=True)
        self.port, self.n, self.seq = port, n, start_seq
        self.acked, self.lock, self.stop = acked, lock, stop
        self.pids = {}

    def run(self):
        try:
            c = RawClient(self.port, version=5, timeout=5)
            c.connect("crash-%d-%d" % (self.n, self.seq))
        except Exception:
            return
        topic = "%s/default/Meter/m%d" % (PREFIX, self.n)
        pid = 1
        window = 50
        try:
            while not self.stop.is_set():
                while len(self.pids) < window:
                    body = json.dumps({"observedAt": 1700000000000 + self.seq, "v": self.seq}).encode()
                    c.send(publish_packet(topic, body, 1, False, False, pid, None, 5))
                    self.pids[pid] = self.seq
                    self.seq += 1
                    pid = pid % 65535 + 1
                p = c.recv(timeout=5)
                if p.type == PUBACK and p.pid in self.pids:
                    seq = self.pids.pop(p.pid)
                    if p.rc < 0x80:
                        with self.lock:
                            self.acked[self.n].add(seq)
        except Exception:
            pass  # killed broker: the connection ends
        finally:
            c.close()


@case(urbis_only=True)
def acknowledged_measurements_survive_kill9_exactly_once(ctx):
    b = ctx.new_broker()
    clients = 3
    acked = {n: set() for n in range(clients)}
    lock = threading.Lock()
    next_seq = {n: 0 for n in range(clients)}
    rng = random.Random(20261125)
    kills = 10
    for round_ in range(kills):
        stop = threading.Event()
        pubs = [Publisher(b.port, n, next_seq[n], acked, lock, stop) for n in range(clients)]
        for p in pubs:
            p.start()
        time.sleep(rng.uniform(0.3, 1.2))
        b.kill()  # SIGKILL at a random moment, with publishes in flight
        stop.set()
        for p in pubs:
            p.join(10)
            # Resend what was in flight on the next round, like a client does:
            # the broker may have committed it without acknowledging.
            next_seq[p.n] = min(p.pids.values()) if p.pids else p.seq
        b.start()
    total = sum(len(s) for s in acked.values())
    assert total > 100, "too few acknowledged messages to prove anything: %d" % total
    for n in range(clients):
        pts = history(b, "urn:ngsi-ld:Meter:m%d" % n, "v")
        values = [p[1] for p in pts]
        dupes = len(values) - len(set(values))
        assert dupes == 0, "meter %d: %d measurements stored twice" % (n, dupes)
        missing = acked[n] - set(values)
        assert not missing, "meter %d: %d acknowledged measurements lost, e.g. %r" % (
            n, len(missing), sorted(missing)[:10])
        times = [p[0] for p in pts]
        assert times == sorted(times), "meter %d: history out of order" % n
    print("    %d acknowledged measurements over %d kill -9, all stored exactly once" % (total, kills))


if __name__ == "__main__":
    run()
