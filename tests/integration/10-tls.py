#!/usr/bin/env python3
"""MQTT over TLS: server authentication, client certificates (mTLS).

Certificates come from pki.py (the openssl CLI, in a temp dir): a CA, a server
cert for 127.0.0.1, a client cert from the CA and one from an unrelated ("rogue")
CA."""

from harness import *
from pki import make_pki

_PKI = None


def pki():
    global _PKI
    if _PKI is None:
        _PKI = make_pki(clients=True)
    return _PKI


def tls_broker(ctx, require_client_cert=False):
    p = pki()
    port = free_port()
    tls = {"enabled": True, "listen": "127.0.0.1:%d" % port, "cert_file": p["server.crt"],
           "key_file": p["server.key"]}
    mosq = ["listener %d 127.0.0.1" % port, "certfile " + p["server.crt"], "keyfile " + p["server.key"]]
    if require_client_cert:
        tls.update({"ca_file": p["ca.crt"], "require_client_cert": True})
        mosq += ["cafile " + p["ca.crt"], "require_certificate true"]
    b = ctx.new_broker(config={"mqtt": {"tls": tls}}, mosquitto=mosq)
    b.tls_port = port
    eventually(lambda: port_open(port), "the TLS listener on %d" % port)
    return b


def tls_args(ca="ca.crt", cert=None, key=None):
    p = pki()
    args = ["--cafile", p[ca]]
    if cert:
        args += ["--cert", p[cert], "--key", p[key]]
    return args


@case
def tls_publish_subscribe(ctx):
    b = tls_broker(ctx)
    t = ctx.topic("tls/ps")
    s = MosquittoSub(b.tls_port, t, qos=1, extra=tls_args())
    ctx.own(s)
    plain = ctx.sub(t, broker=b)
    mosquitto_pub(b.tls_port, t, "secret", qos=1, extra=tls_args())
    assert s.wait(1)[0]["payload"] == "secret"
    # TLS and plain TCP clients share one broker.
    assert plain.wait(1)[0]["payload"] == "secret"
    mosquitto_pub(b.port, t, "from-plain", qos=1)
    assert s.wait(2)[1]["payload"] == "from-plain"


@case
def tls_client_rejects_unknown_server_ca(ctx):
    b = tls_broker(ctx)
    r = mosquitto_pub(b.tls_port, ctx.topic("tls/x"), "x", extra=tls_args(ca="rogue.crt"), check=False)
    assert r.returncode != 0, "a client trusting another CA connected"


@case
def plain_mqtt_on_tls_port_refused(ctx):
    b = tls_broker(ctx)
    c = RawClient(b.tls_port)
    ctx.own(c)
    c.try_send(connect_packet(4, ctx.client_id("plain-on-tls")))
    try:
        got = c.wait_closed()
    except AssertionError:
        got = "open"
    assert got != "open" and not any(isinstance(x, Packet) and x.type == CONNACK for x in got), got
    assert b.alive()


@case
def mtls_without_client_cert_refused(ctx):
    b = tls_broker(ctx, require_client_cert=True)
    r = mosquitto_pub(b.tls_port, ctx.topic("tls/nocert"), "x", qos=1, extra=tls_args(), check=False)
    assert r.returncode != 0, "connected without a client certificate: %s%s" % (r.stdout, r.stderr)


@case
def mtls_with_client_cert_accepted(ctx):
    b = tls_broker(ctx, require_client_cert=True)
    t = ctx.topic("tls/cert")
    s = ctx.sub(t, broker=b)
    mosquitto_pub(b.tls_port, t, "with-cert", qos=1, extra=tls_args(cert="client.crt", key="client.key"))
    assert s.wait(1)[0]["payload"] == "with-cert"


@case
def mtls_with_rogue_client_cert_refused(ctx):
    b = tls_broker(ctx, require_client_cert=True)
    r = mosquitto_pub(b.tls_port, ctx.topic("tls/rogue"), "x", qos=1,
                      extra=tls_args(cert="rogueclient.crt", key="rogueclient.key"), check=False)
    assert r.returncode != 0, "a certificate from an unknown CA was accepted"


@case
def mqttjs_over_tls(ctx):
    b = tls_broker(ctx)
    t = ctx.topic("tls/js")
    s = ctx.sub(t, broker=b)
    with open(pki()["ca.crt"]) as f:
        ca = f.read()
    n = ctx.node(url="mqtts://127.0.0.1:%d" % b.tls_port, options={"protocolVersion": 5, "ca": ca})
    n.publish(t, "js-tls", {"qos": 1})
    assert s.wait(1)[0]["payload"] == "js-tls"


if __name__ == "__main__":
    try:
        run()
    finally:
        if _PKI:
            shutil.rmtree(_PKI["dir"], ignore_errors=True)
