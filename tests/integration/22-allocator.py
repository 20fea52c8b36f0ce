#!/usr/bin/env python3
"""Allocator: `allocator = "jemalloc"` (or --allocator jemalloc) puts jemalloc in
place by re-executing the same process (same PID, so stop-by-PID still works),
the node works as usual, and a bad value stops start-up naming the key. The
default keeps the system allocator. Urbis only (Mosquitto has no such option)."""

from harness import *
from ngsild import Api, prop


def _mapped(pid, name):
    with open("/proc/%d/maps" % pid) as f:
        return any(name in line for line in f)


def _works(ctx, b):
    """A QoS 1 round trip and an NGSI-LD write and read."""
    t = ctx.topic("alloc/t")
    s = ctx.sub([t], broker=b, qos=1)
    ctx.pub(t, "hello", broker=b, qos=1)
    s.wait(1)
    assert s.payloads() == ["hello"], s.payloads()
    api = Api(b.http_port)
    eid = "urn:ngsi-ld:Thing:alloc"
    r = api.request("POST", "/entities", {"id": eid, "type": "Thing", "v": prop(7)})
    assert r.status == 201, r
    r = api.request("GET", "/entities/" + eid, params={"options": "keyValues"})
    assert r.status == 200 and r.json["v"] == 7, r
    api.close()


@case(urbis_only=True)
def jemalloc_flag_reexecutes_same_pid(ctx):
    b = ctx.new_broker(extra_args=["--allocator", "jemalloc"])
    assert _mapped(b.proc.pid, "libjemalloc"), "libjemalloc.so.2 is not mapped into pid %d" % b.proc.pid
    assert "jemalloc allocator" in b.log_tail(), b.log_tail()
    fds = [os.readlink("/proc/%d/fd/%s" % (b.proc.pid, fd)) for fd in os.listdir("/proc/%d/fd" % b.proc.pid)]
    assert not any(f.endswith("/cmdline") for f in fds), fds  # nothing of the first image stays open
    _works(ctx, b)
    b.stop()  # by the PID Popen knows: exec kept it


@case(urbis_only=True)
def jemalloc_from_config_file(ctx):
    b = ctx.new_broker(config={"allocator": "jemalloc"})
    assert _mapped(b.proc.pid, "libjemalloc")
    _works(ctx, b)


@case(urbis_only=True)
def default_is_system_allocator(ctx):
    b = ctx.new_broker()
    assert not _mapped(b.proc.pid, "libjemalloc")
    assert "system allocator" in b.log_tail(), b.log_tail()
    _works(ctx, b)


@case(urbis_only=True)
def unknown_allocator_is_refused(ctx):
    b = ctx.new_broker(config={"allocator": "tcmalloc"}, start=False)
    try:
        b.start()
        raise AssertionError("start-up accepted allocator = tcmalloc")
    except AssertionError as e:
        assert "allocator" in str(e) and "exited with 2" in str(e), str(e)


if __name__ == "__main__":
    run()
