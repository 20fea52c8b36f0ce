"""Shared harness for Urbis's black-box MQTT tests.

Every NN-area.py file imports this module, declares cases with @case and calls
run().  A file runs against the real `urbis` binary (`--urbis PATH`, which is
how CTest calls it) or, to check that the tests themselves are right, against
Mosquitto 2.0.11 (`--peer mosquitto`).  Cases for Urbis-only features are
skipped on the peer.

What the harness gives a case (the `ctx` argument):
  ctx.broker            the file's shared broker, started on first use
  ctx.new_broker(...)   a broker with its own config, stopped when the case ends
  ctx.topic(name)       a topic unique to this run, so cases never see each other
  ctx.raw(...)          a byte-level MQTT client (RawClient)
  ctx.sub(...)          a background mosquitto_sub (MosquittoSub)
  ctx.pub(...)          a mosquitto_pub run to completion
  ctx.node(...)         an MQTT.js client driven line by line (NodeClient)
Everything a case opens is closed when the case ends, whatever happened.

Negative assertions ("X is not delivered") are made with a sentinel: publish a
marker after X on the same path and check that X did not arrive before the
marker.  Timing is never asserted; timeouts only bound how long we wait.

Python 3 standard library only.
"""

import argparse
import json
import os
import pwd
import queue
import random
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MOSQUITTO = "/usr/sbin/mosquitto"
WAIT = 10.0  # default upper bound for anything we wait for, in seconds

# ---------------------------------------------------------------------------
# MQTT constants
# ---------------------------------------------------------------------------

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP = 8, 9, 10, 11, 12, 13
DISCONNECT, AUTH = 14, 15
PACKET_NAMES = {1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC",
                6: "PUBREL", 7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK",
                10: "UNSUBSCRIBE", 11: "UNSUBACK", 12: "PINGREQ", 13: "PINGRESP",
                14: "DISCONNECT", 15: "AUTH"}

# Property identifiers (MQTT 5 section 2.2.2.2) and their wire types.
P_PAYLOAD_FORMAT, P_MESSAGE_EXPIRY, P_CONTENT_TYPE = 1, 2, 3
P_RESPONSE_TOPIC, P_CORRELATION_DATA, P_SUBSCRIPTION_ID = 8, 9, 11
P_SESSION_EXPIRY, P_ASSIGNED_CLIENT_ID, P_SERVER_KEEP_ALIVE = 17, 18, 19
P_AUTH_METHOD, P_AUTH_DATA, P_REQUEST_PROBLEM_INFO = 21, 22, 23
P_WILL_DELAY, P_REQUEST_RESPONSE_INFO, P_RESPONSE_INFO = 24, 25, 26
P_SERVER_REFERENCE, P_REASON_STRING, P_RECEIVE_MAXIMUM = 28, 31, 33
P_TOPIC_ALIAS_MAXIMUM, P_TOPIC_ALIAS, P_MAXIMUM_QOS = 34, 35, 36
P_RETAIN_AVAILABLE, P_USER_PROPERTY, P_MAXIMUM_PACKET_SIZE = 37, 38, 39
P_WILDCARD_SUB_AVAILABLE, P_SUB_ID_AVAILABLE, P_SHARED_SUB_AVAILABLE = 40, 41, 42

_PROP_TYPES = {1: "byte", 2: "u32", 3: "str", 8: "str", 9: "bin", 11: "varint",
               17: "u32", 18: "str", 19: "u16", 21: "str", 22: "bin", 23: "byte",
               24: "u32", 25: "byte", 26: "str", 28: "str", 31: "str", 33: "u16",
               34: "u16", 35: "u16", 36: "byte", 37: "byte", 38: "pair", 39: "u32",
               40: "byte", 41: "byte", 42: "byte"}

# Reason codes used by the tests.
RC_SUCCESS = 0x00
RC_DISCONNECT_WITH_WILL = 0x04
RC_UNSPECIFIED = 0x80
RC_MALFORMED = 0x81
RC_PROTOCOL_ERROR = 0x82
RC_CLIENT_ID_NOT_VALID = 0x85
RC_BAD_USER_OR_PASSWORD = 0x86
RC_NOT_AUTHORIZED = 0x87
RC_SERVER_SHUTTING_DOWN = 0x8B
RC_KEEP_ALIVE_TIMEOUT = 0x8D
RC_SESSION_TAKEN_OVER = 0x8E
RC_TOPIC_NAME_INVALID = 0x90
RC_RECEIVE_MAX_EXCEEDED = 0x93
RC_TOPIC_ALIAS_INVALID = 0x94
RC_PACKET_TOO_LARGE = 0x95
RC_MESSAGE_RATE_TOO_HIGH = 0x96
RC_QUOTA_EXCEEDED = 0x97
RC_UNSUPPORTED_PROTOCOL_VERSION = 0x84
RC_CONNECTION_RATE_EXCEEDED = 0x9F


class Skip(Exception):
    """Raised by a case that does not apply to the broker under test."""


class Closed(Exception):
    """The peer closed the connection."""


# ---------------------------------------------------------------------------
# Encoding helpers
# ---------------------------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        if n:
            b |= 0x80
        out.append(b)
        if not n:
            return bytes(out)


def mqtt_str(s):
    b = s.encode() if isinstance(s, str) else bytes(s)
    return struct.pack("!H", len(b)) + b


def encode_props(props):
    """props: None, a dict {id: value} or a list of (id, value) (duplicates allowed).

    User properties (38) take a (key, value) pair, or a list of pairs in a dict."""
    if props is None:
        return b"\x00"
    items = list(props.items()) if isinstance(props, dict) else list(props)
    out = bytearray()
    for pid, value in items:
        kind = _PROP_TYPES[pid]
        if kind == "pair" and value and isinstance(value[0], (tuple, list)):
            for k, v in value:
                out += varint(pid) + mqtt_str(k) + mqtt_str(v)
            continue
        out += varint(pid)
        if kind == "byte":
            out += struct.pack("!B", value)
        elif kind == "u16":
            out += struct.pack("!H", value)
        elif kind == "u32":
            out += struct.pack("!I", value)
        elif kind == "varint":
            out += varint(value)
        elif kind in ("str", "bin"):
            out += mqtt_str(value)
        elif kind == "pair":
            out += mqtt_str(value[0]) + mqtt_str(value[1])
    return varint(len(out)) + bytes(out)


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def connect_packet(version=4, client_id="", clean=True, keepalive=60, username=None,
                   password=None, will=None, props=None, protocol_name="MQTT"):
    """will: dict(topic, payload, qos=0, retain=False, props=None)."""
    flags = 0x02 if clean else 0
    if will:
        flags |= 0x04 | (will.get("qos", 0) << 3) | (0x20 if will.get("retain") else 0)
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    body = mqtt_str(protocol_name) + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == 5:
        body += encode_props(props)
    body += mqtt_str(client_id)
    if will:
        if version == 5:
            body += encode_props(will.get("props"))
        payload = will.get("payload", b"")
        body += mqtt_str(will["topic"]) + mqtt_str(payload.encode() if isinstance(payload, str) else payload)
    if username is not None:
        body += mqtt_str(username)
    if password is not None:
        body += mqtt_str(password)
    return packet(CONNECT, 0, body)


def publish_packet(topic, payload=b"", qos=0, retain=False, dup=False, pid=None,
                   props=None, version=4):
    if isinstance(payload, str):
        payload = payload.encode()
    flags = (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = mqtt_str(topic)
    if qos:
        body += struct.pack("!H", pid if pid is not None else 1)
    if version == 5:
        body += encode_props(props)
    return packet(PUBLISH, flags, body + payload)


def subscribe_packet(pid, topics, props=None, version=4):
    """topics: list of (filter, options byte) or plain filters (QoS 0)."""
    body = struct.pack("!H", pid)
    if version == 5:
        body += encode_props(props)
    for t in topics:
        if isinstance(t, str):
            t = (t, 0)
        body += mqtt_str(t[0]) + bytes([t[1]])
    return packet(SUBSCRIBE, 2, body)


def sub_options(qos=0, no_local=False, rap=False, rh=0):
    return qos | (4 if no_local else 0) | (8 if rap else 0) | (rh << 4)


def unsubscribe_packet(pid, topics, version=4):
    body = struct.pack("!H", pid)
    if version == 5:
        body += b"\x00"
    for t in topics:
        body += mqtt_str(t)
    return packet(UNSUBSCRIBE, 2, body)


def ack_packet(ptype, pid, rc=None, version=4):
    body = struct.pack("!H", pid)
    if version == 5 and rc is not None:
        body += bytes([rc])
    return packet(ptype, 2 if ptype == PUBREL else 0, body)


def disconnect_packet(rc=None, props=None, version=4):
    if version == 5 and (rc is not None or props is not None):
        return packet(DISCONNECT, 0, bytes([rc or 0]) + encode_props(props))
    return packet(DISCONNECT, 0, b"")


PINGREQ_PACKET = packet(PINGREQ, 0, b"")


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------

def _read_varint(buf, i):
    mult, value = 1, 0
    while True:
        b = buf[i]
        i += 1
        value += (b & 0x7F) * mult
        if not b & 0x80:
            return value, i
        mult *= 128


def decode_props(buf, i):
    """Returns (dict, next index).  User properties -> list of pairs under 38,
    subscription identifiers -> list under 11."""
    length, i = _read_varint(buf, i)
    end = i + length
    props = {}
    while i < end:
        pid, i = _read_varint(buf, i)
        kind = _PROP_TYPES.get(pid)
        if kind == "byte":
            v = buf[i]
            i += 1
        elif kind == "u16":
            v = struct.unpack_from("!H", buf, i)[0]
            i += 2
        elif kind == "u32":
            v = struct.unpack_from("!I", buf, i)[0]
            i += 4
        elif kind == "varint":
            v, i = _read_varint(buf, i)
        elif kind in ("str", "bin"):
            n = struct.unpack_from("!H", buf, i)[0]
            v = bytes(buf[i + 2:i + 2 + n])
            if kind == "str":
                v = v.decode("utf-8", "replace")
            i += 2 + n
        elif kind == "pair":
            n = struct.unpack_from("!H", buf, i)[0]
            k = bytes(buf[i + 2:i + 2 + n]).decode()
            i += 2 + n
            n = struct.unpack_from("!H", buf, i)[0]
            v = (k, bytes(buf[i + 2:i + 2 + n]).decode())
            i += 2 + n
        else:
            raise ValueError("unknown property id %d" % pid)
        if pid in (P_USER_PROPERTY, P_SUBSCRIPTION_ID):
            props.setdefault(pid, []).append(v)
        else:
            props[pid] = v
    return props, end


class Packet:
    """A decoded packet.  Fields depend on the type; missing ones are None."""

    def __init__(self, ptype, flags, body, version):
        self.type, self.flags, self.body, self.version = ptype, flags, bytes(body), version
        self.rc = None
        self.props = {}
        self.pid = None
        self.session_present = None
        self.topic = self.payload = None
        self.qos = self.retain = self.dup = None
        self.codes = None
        b = self.body
        try:
            self._decode(b)
        except (IndexError, struct.error, ValueError) as e:
            raise AssertionError("cannot decode %s from broker: %r (%s)" % (self.name, b, e))

    def _decode(self, b):
        v5 = self.version == 5
        t = self.type
        if t == CONNACK:
            self.session_present = bool(b[0] & 1)
            self.rc = b[1]
            if v5 and len(b) > 2:
                self.props, _ = decode_props(b, 2)
        elif t == PUBLISH:
            self.qos = (self.flags >> 1) & 3
            self.retain = bool(self.flags & 1)
            self.dup = bool(self.flags & 8)
            n = struct.unpack_from("!H", b, 0)[0]
            self.topic = b[2:2 + n].decode("utf-8", "replace")
            i = 2 + n
            if self.qos:
                self.pid = struct.unpack_from("!H", b, i)[0]
                i += 2
            if v5:
                self.props, i = decode_props(b, i)
            self.payload = b[i:]
        elif t in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            self.pid = struct.unpack_from("!H", b, 0)[0]
            self.rc = b[2] if len(b) > 2 else 0
            if v5 and len(b) > 3:
                self.props, _ = decode_props(b, 3)
        elif t in (SUBACK, UNSUBACK):
            self.pid = struct.unpack_from("!H", b, 0)[0]
            i = 2
            if v5:
                self.props, i = decode_props(b, i)
            self.codes = list(b[i:])
        elif t == DISCONNECT:
            self.rc = b[0] if b else 0
            if v5 and len(b) > 1:
                self.props, _ = decode_props(b, 1)
        elif t == AUTH:
            self.rc = b[0] if b else 0

    @property
    def name(self):
        return PACKET_NAMES.get(self.type, "type%d" % self.type)

    def __repr__(self):
        extra = []
        for f in ("rc", "pid", "topic", "qos", "retain", "dup", "payload", "codes", "session_present"):
            v = getattr(self, f)
            if v is not None:
                extra.append("%s=%r" % (f, v))
        if self.props:
            extra.append("props=%r" % self.props)
        return "<%s %s>" % (self.name, " ".join(extra))


# ---------------------------------------------------------------------------
# Raw client
# ---------------------------------------------------------------------------

class RawClient:
    """A byte-level MQTT client: sends what it is told, reads packets, never
    acknowledges anything on its own."""

    def __init__(self, port, host="127.0.0.1", version=4, timeout=WAIT):
        self.version = version
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pending = []  # PUBLISHes that arrived while an ack was awaited
        self.closed = False
        self.next_pid = 1

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def try_send(self, data):
        """Send, ignoring errors: the broker may already have closed on us."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            raise Closed()
        self.buf += data

    def recv(self, timeout=WAIT):
        """Next packet; raises socket.timeout when none arrives in time, Closed on EOF."""
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                mult, length, i = 1, 0, 1
                complete = False
                while i < len(self.buf) and i <= 4:
                    b = self.buf[i]
                    length += (b & 0x7F) * mult
                    mult *= 128
                    i += 1
                    if not b & 0x80:
                        complete = True
                        break
                if complete and len(self.buf) >= i + length:
                    first = self.buf[0]
                    body = self.buf[i:i + length]
                    del self.buf[:i + length]
                    return Packet(first >> 4, first & 0x0F, body, self.version)
            self._fill(deadline)

    def expect(self, ptype, timeout=WAIT, skip=()):
        """Next packet, which must be of ptype.  Packets of types in skip are dropped;
        a PUBLISH arriving while an ack is awaited is kept for the next recv()."""
        deadline = time.monotonic() + timeout
        stash = []
        try:
            return self._expect(ptype, deadline, timeout, skip, stash)
        finally:
            self.pending[0:0] = stash

    def _expect(self, ptype, deadline, timeout, skip, stash):
        while True:
            try:
                p = self.recv(max(0.01, deadline - time.monotonic()))
            except socket.timeout:
                raise AssertionError("expected %s, nothing arrived in %.1fs" % (PACKET_NAMES[ptype], timeout))
            except Closed:
                raise AssertionError("expected %s, the broker closed the connection" % PACKET_NAMES[ptype])
            if p.type in skip:
                continue
            if p.type == PUBLISH and ptype != PUBLISH:
                stash.append(p)
                continue
            assert p.type == ptype, "expected %s, got %r" % (PACKET_NAMES[ptype], p)
            return p

    def wait_closed(self, timeout=WAIT):
        """Wait until the broker closes the connection; returns packets read before."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                got.append(self.recv(max(0.01, deadline - time.monotonic())))
            except Closed:
                return got
            except socket.timeout:
                raise AssertionError("connection still open after %.1fs (received %r)" % (timeout, got))

    def is_open(self, probe_timeout=0.3):
        """True when a PINGREQ is answered; used to check a connection survived."""
        if not self.try_send(PINGREQ_PACKET):
            return False
        try:
            self.expect(PINGRESP, probe_timeout + 5)
            return True
        except AssertionError:
            return False

    # --- conveniences ---

    def pid(self):
        p = self.next_pid
        self.next_pid = self.next_pid % 65535 + 1
        return p

    def connect(self, client_id="", clean=True, keepalive=60, expect_rc=0, **kw):
        """Send CONNECT and return the CONNACK.  expect_rc=None skips the check."""
        self.send(connect_packet(self.version, client_id, clean, keepalive, **kw))
        ack = self.expect(CONNACK)
        if expect_rc is not None:
            assert ack.rc == expect_rc, "CONNACK rc 0x%02x, expected 0x%02x (%r)" % (ack.rc, expect_rc, ack)
        return ack

    def subscribe(self, topics, props=None, expect_codes=None):
        pid = self.pid()
        if isinstance(topics, (str, tuple)):
            topics = [topics]
        self.send(subscribe_packet(pid, topics, props, self.version))
        ack = self.expect(SUBACK)
        assert ack.pid == pid, "SUBACK for pid %d, expected %d" % (ack.pid, pid)
        if expect_codes is None:
            expect_codes = [(t if isinstance(t, tuple) else (t, 0))[1] & 3 for t in topics]
        assert ack.codes == expect_codes, "SUBACK codes %r, expected %r" % (ack.codes, expect_codes)
        return ack

    def publish(self, topic, payload=b"", qos=0, retain=False, props=None, pid=None, dup=False):
        """Publish and finish the QoS flow from the publisher's side; returns the last ack."""
        if qos and pid is None:
            pid = self.pid()
        self.send(publish_packet(topic, payload, qos, retain, dup, pid, props, self.version))
        if qos == 1:
            return self.expect(PUBACK)
        if qos == 2:
            rec = self.expect(PUBREC)
            self.send(ack_packet(PUBREL, pid))
            return self.expect(PUBCOMP)
        return None

    def expect_publish(self, timeout=WAIT, ack=True):
        """Next PUBLISH (acknowledging QoS 1/2 unless ack=False)."""
        p = self.expect(PUBLISH, timeout)
        if ack and p.qos == 1:
            self.send(ack_packet(PUBACK, p.pid))
        elif ack and p.qos == 2:
            self.send(ack_packet(PUBREC, p.pid))
            self.expect(PUBREL)
            self.send(ack_packet(PUBCOMP, p.pid))
        return p

    def collect_until(self, topic, timeout=WAIT):
        """Receive PUBLISHes (acked) until one on `topic` arrives; returns those before it."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            p = self.expect_publish(max(0.01, deadline - time.monotonic()))
            if p.topic == topic:
                return got
            got.append(p)

    def disconnect(self, rc=None, props=None):
        self.try_send(disconnect_packet(rc, props, self.version))
        self.close()


# ---------------------------------------------------------------------------
# mosquitto_pub / mosquitto_sub
# ---------------------------------------------------------------------------

def _line_reader(stream, q):
    for line in iter(stream.readline, ""):
        q.put(line.rstrip("\n"))
    q.put(None)


class MosquittoSub:
    """mosquitto_sub in the background, printing each message as JSON (-F %j).

    Starts only after the SUBACK arrived, so a publish made afterwards is seen."""

    def __init__(self, port, topics, qos=0, version=5, client_id=None, clean=True,
                 extra=(), host="127.0.0.1", wait_suback=True):
        # stdbuf: mosquitto_sub's stdout is a pipe, so without it lines sit in stdio buffers.
        cmd = ["stdbuf", "-oL", "mosquitto_sub", "-h", host, "-p", str(port), "-V", "mqttv5" if version == 5 else "mqttv311",
               "-q", str(qos), "-d", "-F", "%j"]
        if isinstance(topics, str):
            topics = [topics]
        for t in topics:
            cmd += ["-t", t]
        if client_id:
            cmd += ["-i", client_id]
        if not clean:
            cmd += ["-c"]
        cmd += list(extra)
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace")
        self.q = queue.Queue()
        self.log = []
        self.messages = []
        self.eof = False
        threading.Thread(target=_line_reader, args=(self.proc.stdout, self.q), daemon=True).start()
        if wait_suback:
            self._wait_line(lambda l: "received SUBACK" in l, "SUBACK")

    def _pump(self, timeout):
        try:
            line = self.q.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return False
        if line is None:
            self.eof = True
            return False
        self.log.append(line)
        if line.startswith("{"):
            try:
                self.messages.append(json.loads(line))
            except ValueError:
                self.messages.append({"raw": line})
        return True

    def _wait_line(self, pred, what, timeout=WAIT):
        deadline = time.monotonic() + timeout
        start = len(self.log)
        while True:
            for l in self.log[start:]:
                if pred(l):
                    return l
            start = len(self.log)
            if self.eof or time.monotonic() > deadline:
                raise AssertionError("mosquitto_sub: no %s; output:\n%s" % (what, "\n".join(self.log[-30:])))
            self._pump(deadline - time.monotonic())

    def wait(self, n, timeout=WAIT):
        """Wait for at least n messages in total; returns the list (asserts the count)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and not self.eof and time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())
        assert len(self.messages) >= n, "mosquitto_sub %r: got %d messages, expected %d:\n%s" % (
            self.cmd[-1] if False else " ".join(self.cmd), len(self.messages), n, "\n".join(self.log[-30:]))
        return self.messages

    def until(self, topic, timeout=WAIT):
        """Messages received before the first one on `topic` (the sentinel)."""
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            while i < len(self.messages):
                if self.messages[i].get("topic") == topic:
                    return self.messages[:i]
                i += 1
            if self.eof or time.monotonic() > deadline:
                raise AssertionError("mosquitto_sub: sentinel %s never arrived; output:\n%s" % (
                    topic, "\n".join(self.log[-30:])))
            self._pump(deadline - time.monotonic())

    def payloads(self):
        return [m.get("payload") for m in self.messages]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def mosquitto_pub(port, topic, message=None, qos=0, retain=False, version=5, extra=(),
                  host="127.0.0.1", check=True, timeout=WAIT, null=False):
    cmd = ["mosquitto_pub", "-h", host, "-p", str(port), "-V", "mqttv5" if version == 5 else "mqttv311",
           "-t", topic, "-q", str(qos)]
    if null:
        cmd += ["-n"]
    elif message is not None:
        cmd += ["-m", message]
    if retain:
        cmd += ["-r"]
    cmd += list(extra)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, "%s failed (%d): %s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr)
    return r


# ---------------------------------------------------------------------------
# MQTT.js client driven over stdin/stdout (mqttjs_client.js)
# ---------------------------------------------------------------------------

class NodeClient:
    """An MQTT.js client in a node process.  Commands go as JSON lines on stdin,
    events come back as JSON lines: connect, suback, puback, message, error, close..."""

    def __init__(self, url, options=None, wait_connect=True):
        self.proc = subprocess.Popen(["node", os.path.join(HERE, "mqttjs_client.js")], cwd=HERE,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace")
        self.q = queue.Queue()
        self.events = []
        self.log = []
        self.eof = False
        self.seq = 0
        threading.Thread(target=_line_reader, args=(self.proc.stdout, self.q), daemon=True).start()
        opts = {"reconnectPeriod": 0, "connectTimeout": 8000}
        opts.update(options or {})
        self.cmd({"op": "connect", "url": url, "options": opts})
        if wait_connect:
            self.connack = self.wait_event(lambda e: e["ev"] in ("connect", "error", "close"), "connect")
            assert self.connack["ev"] == "connect", "MQTT.js failed to connect: %r\n%s" % (
                self.connack, "\n".join(self.log[-20:]))

    def cmd(self, c):
        self.proc.stdin.write(json.dumps(c) + "\n")
        self.proc.stdin.flush()

    def _pump(self, timeout):
        try:
            line = self.q.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return
        if line is None:
            self.eof = True
            return
        self.log.append(line)
        if line.startswith("{"):
            try:
                self.events.append(json.loads(line))
            except ValueError:
                pass

    def wait_event(self, pred, what, timeout=WAIT, start=0):
        deadline = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.events):
                if pred(self.events[i]):
                    return self.events[i]
                i += 1
            if self.eof or time.monotonic() > deadline:
                raise AssertionError("MQTT.js: no %s; output:\n%s" % (what, "\n".join(self.log[-30:])))
            self._pump(deadline - time.monotonic())

    def subscribe(self, topic, options=None):
        self.seq += 1
        n = self.seq
        self.cmd({"op": "subscribe", "id": n, "topic": topic, "options": options or {"qos": 0}})
        ev = self.wait_event(lambda e: e.get("id") == n and e["ev"] == "suback", "SUBACK")
        assert not ev.get("error"), "MQTT.js subscribe failed: %r" % ev
        return ev["granted"]

    def publish(self, topic, payload, options=None, wait=True):
        self.seq += 1
        n = self.seq
        self.cmd({"op": "publish", "id": n, "topic": topic, "payload": payload, "options": options or {}})
        if wait:
            ev = self.wait_event(lambda e: e.get("id") == n and e["ev"] == "published", "publish completion")
            assert not ev.get("error"), "MQTT.js publish failed: %r" % ev
            return ev

    def messages(self):
        return [e for e in self.events if e["ev"] == "message"]

    def wait_messages(self, n, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while len(self.messages()) < n and not self.eof and time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())
        msgs = self.messages()
        assert len(msgs) >= n, "MQTT.js got %d messages, expected %d:\n%s" % (len(msgs), n, "\n".join(self.log[-30:]))
        return msgs

    def until(self, topic, timeout=WAIT):
        """Messages before the first on `topic` (the sentinel)."""
        self.wait_event(lambda e: e["ev"] == "message" and e["topic"] == topic, "sentinel " + topic, timeout)
        out = []
        for m in self.messages():
            if m["topic"] == topic:
                return out
            out.append(m)

    def end(self):
        self.cmd({"op": "end"})
        self.wait_event(lambda e: e["ev"] == "ended", "end")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------
# Brokers
# ---------------------------------------------------------------------------

def port_open(port, host="127.0.0.1"):
    """True when something accepts TCP connections on host:port."""
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def to_toml(d, path=""):
    """A small TOML writer: nested dicts are tables, lists of dicts arrays of tables."""
    lines = []
    scalars = [(k, v) for k, v in d.items() if not isinstance(v, dict)
               and not (isinstance(v, list) and v and isinstance(v[0], dict))]
    if path and scalars:
        lines.append("[%s]" % path)
    for k, v in scalars:
        lines.append("%s = %s" % (k, toml_value(v)))
    for k, v in d.items():
        sub = "%s.%s" % (path, k) if path else k
        if isinstance(v, dict):
            lines.append("")
            lines.append(to_toml(v, sub))
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                lines.append("")
                lines.append("[[%s]]" % sub)
                for ik, iv in item.items():
                    lines.append("%s = %s" % (ik, toml_value(iv)))
    return "\n".join(lines)


class Broker:
    """One broker process (urbis or mosquitto) on free 127.0.0.1 ports with its own data dir.

    config: dict turned into urbis's TOML file (e.g. {"mqtt": {"max_packet_size": 100}}).
    mosquitto: extra lines for mosquitto.conf when running against the peer.
    anonymous: pass --allow-anonymous (urbis) / allow_anonymous true (mosquitto)."""

    def __init__(self, ctx, config=None, mosquitto=(), anonymous=True, extra_args=(), name="broker"):
        self.ctx = ctx
        self.kind = "mosquitto" if ctx.peer else "urbis"
        self.config = config
        self.mosquitto_lines = list(mosquitto)
        self.anonymous = anonymous
        self.extra_args = list(extra_args)
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="urbis-it-")
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir)
        self.port = free_port()
        self.http_port = free_port()
        self.proc = None
        self.runs = 0
        self.exit_codes = []

    @property
    def url(self):
        return "mqtt://127.0.0.1:%d" % self.port

    @property
    def ws_url(self):
        return "ws://127.0.0.1:%d/mqtt" % self.http_port

    def _command(self):
        if self.kind == "urbis":
            cmd = [self.ctx.urbis, "serve", "--data", self.data_dir,
                   "--mqtt", "127.0.0.1:%d" % self.port, "--http", "127.0.0.1:%d" % self.http_port]
            if self.config:
                path = os.path.join(self.dir, "urbis.toml")
                with open(path, "w") as f:
                    f.write(to_toml(self.config) + "\n")
                cmd += ["--config", path]
            if self.anonymous:
                cmd += ["--allow-anonymous"]
            if self.ctx.args.log_level:
                cmd += ["--log-level", self.ctx.args.log_level]
            return cmd + self.extra_args
        conf = ["listener %d 127.0.0.1" % self.port,
                "allow_anonymous %s" % ("true" if self.anonymous else "false"),
                "persistence true",
                "persistence_location %s/" % self.data_dir,
                "log_dest stderr",
                "log_type all",
                # Started as root, mosquitto would drop to user "mosquitto" and fail to
                # write its persistence file in our temp dir.
                "user %s" % pwd.getpwuid(os.getuid()).pw_name]
        conf += self.mosquitto_lines
        path = os.path.join(self.dir, "mosquitto.conf")
        with open(path, "w") as f:
            f.write("\n".join(conf) + "\n")
        return [MOSQUITTO, "-c", path]

    def start(self):
        cmd = self._command()
        self.runs += 1
        self.log_path = os.path.join(self.dir, "stderr.%d.log" % self.runs)
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited with %d at start (%s)\n%s" % (
                    self.kind, self.proc.returncode, " ".join(cmd), self.log_tail()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                # The HTTP listener opens after the MQTT one: wait for it too.
                if self.kind == "urbis" and (self.config or {}).get("http", {}).get("enabled", True):
                    socket.create_connection(("127.0.0.1", self.http_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("%s did not accept on port %d\n%s" % (self.kind, self.port, self.log_tail()))
                time.sleep(0.05)
        return self

    def stop(self, check=True, sig=signal.SIGTERM):
        """Stop by PID (SIGTERM, SIGKILL after 10 s); checks a clean exit 0 for urbis."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        killed = False
        try:
            rc = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            killed = True
        self.log_file.close()
        self.exit_codes.append(rc)
        if check and sig == signal.SIGTERM:
            assert not killed, "%s did not exit within 10s of SIGTERM\n%s" % (self.kind, self.log_tail())
            assert rc == 0, "%s exited with %d after SIGTERM, expected 0\n%s" % (self.kind, rc, self.log_tail())
        return rc

    def kill(self):
        """SIGKILL: an unclean stop (the crash case)."""
        return self.stop(check=False, sig=signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=60):
        try:
            with open(self.log_path, errors="replace") as f:
                lines = f.readlines()
            return "".join(lines[-n:])
        except (OSError, AttributeError):
            return ""

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------

CASES = []


def case(fn=None, *, urbis_only=False):
    """Declare a test case; urbis_only cases are skipped against the peer."""
    def deco(f):
        CASES.append((f.__name__, f, urbis_only))
        return f
    return deco(fn) if fn else deco


class Context:
    def __init__(self, args):
        self.args = args
        self.peer = args.peer
        self.urbis = os.path.abspath(args.urbis) if args.urbis else None
        self.run_id = "".join(random.choice(string.ascii_lowercase) for _ in range(6))
        self._broker = None
        self._owned = []
        self._brokers = []

    @property
    def is_urbis(self):
        return not self.peer

    def skip_on_peer(self, why):
        if self.peer:
            raise Skip(why)

    @property
    def broker(self):
        if self._broker is None:
            self._broker = Broker(self, config=self.args_config()).start()
        if not self._broker.alive():
            raise AssertionError("the shared broker is not running (exit code %r)\n%s" % (
                self._broker.proc.returncode, self._broker.log_tail()))
        return self._broker

    def args_config(self):
        return None

    def new_broker(self, config=None, mosquitto=(), anonymous=True, start=True, extra_args=()):
        b = Broker(self, config=config, mosquitto=mosquitto, anonymous=anonymous, extra_args=extra_args)
        self._brokers.append(b)
        return b.start() if start else b

    def own(self, obj):
        self._owned.append(obj)
        return obj

    def topic(self, name):
        return "it/%s/%s" % (self.run_id, name)

    def client_id(self, name):
        return "it-%s-%s" % (self.run_id, name)

    def raw(self, version=4, broker=None, port=None):
        b = broker or (None if port else self.broker)
        return self.own(RawClient(port or b.port, version=version))

    def raw_connect(self, version=4, client_id=None, broker=None, **kw):
        c = self.raw(version, broker)
        c.connect(client_id if client_id is not None else self.client_id("raw%d" % len(self._owned)), **kw)
        return c

    def sub(self, topics, broker=None, **kw):
        b = broker or self.broker
        return self.own(MosquittoSub(b.port, topics, **kw))

    def pub(self, topic, message=None, broker=None, **kw):
        b = broker or self.broker
        return mosquitto_pub(b.port, topic, message, **kw)

    def node(self, url=None, broker=None, options=None, **kw):
        b = broker or self.broker
        return self.own(NodeClient(url or b.url, options, **kw))

    def end_case(self, failed):
        logs = []
        for o in reversed(self._owned):
            try:
                o.close()
            except Exception:
                pass
        self._owned = []
        for b in self._brokers:
            try:
                b.stop(check=True)
            except AssertionError as e:
                if not failed:
                    logs.append(str(e))
            if failed:
                logs.append("--- %s (case broker) log tail ---\n%s" % (b.kind, b.log_tail()))
            b.cleanup()
        self._brokers = []
        if failed and self._broker is not None:
            logs.append("--- %s (shared broker) log tail ---\n%s" % (self._broker.kind, self._broker.log_tail(30)))
        return logs

    def shutdown(self):
        if self._broker is not None:
            try:
                self._broker.stop(check=True)
            finally:
                self._broker.cleanup()


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--urbis", help="path to the urbis binary")
    p.add_argument("--peer", choices=["mosquitto"], help="run against a reference broker instead")
    p.add_argument("-k", help="run only cases whose name contains this")
    p.add_argument("--log-level", default=None, help="urbis --log-level")
    args = p.parse_args()
    if not args.urbis and not args.peer:
        p.error("give --urbis PATH or --peer mosquitto")
    return args


def run():
    args = parse_args()
    ctx = Context(args)
    target = "mosquitto 2.0.11 (peer)" if ctx.peer else ctx.urbis
    script = os.path.basename(sys.argv[0])
    print("%s against %s" % (script, target), flush=True)
    failures, passed, skipped = [], 0, 0
    for name, fn, urbis_only in CASES:
        if args.k and args.k not in name:
            continue
        if urbis_only and ctx.peer:
            print("SKIP %s (Urbis-only feature)" % name, flush=True)
            skipped += 1
            continue
        t0 = time.monotonic()
        failed, detail = False, ""
        try:
            fn(ctx)
        except Skip as e:
            print("SKIP %s (%s)" % (name, e), flush=True)
            skipped += 1
            ctx.end_case(False)
            continue
        except Exception:
            failed = True
            detail = traceback.format_exc()
        logs = ctx.end_case(failed)
        if logs and not failed:
            failed = True
            detail = "broker did not stop cleanly"
        if failed:
            failures.append(name)
            print("FAIL %s (%.1fs)\n%s" % (name, time.monotonic() - t0, detail), flush=True)
            for l in logs:
                print(l, flush=True)
        else:
            passed += 1
            print("PASS %s (%.1fs)" % (name, time.monotonic() - t0), flush=True)
    try:
        ctx.shutdown()
    except AssertionError as e:
        failures.append("shared broker shutdown")
        print("FAIL shared broker shutdown\n%s" % e, flush=True)
    print("%s: %d passed, %d failed, %d skipped%s" % (
        script, passed, len(failures), skipped, (": " + ", ".join(failures)) if failures else ""), flush=True)
    sys.exit(1 if failures else 0)


def http_get_json(port, path, timeout=WAIT):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), json.loads(r.read().decode())


def eventually(pred, what, timeout=WAIT, interval=0.1):
    """Poll pred() until it is truthy; its value is returned.  Bounded, never asserted on time."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)
